
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The capture filters: a subrequest of an aggregated view writes its
 * status and body into its slot instead of to the client, whatever its
 * size up to hydra_max_response_size, and whether nginx buffered it in
 * memory or in a temporary file.
 */


#ifndef _NGX_HTTP_HYDRA_CAPTURE_H_INCLUDED_
#define _NGX_HTTP_HYDRA_CAPTURE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_hydra_capture_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_HYDRA_CAPTURE_H_INCLUDED_ */
