
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The filters that give a passthrough whose repo did not answer (502,
 * 504 made by nginx itself) a JSON body naming the repo instead of
 * nginx's HTML error page.
 */


#ifndef _NGX_HTTP_HYDRA_UNREACHABLE_H_INCLUDED_
#define _NGX_HTTP_HYDRA_UNREACHABLE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_hydra_unreachable_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_HYDRA_UNREACHABLE_H_INCLUDED_ */
