
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The hydra_api content handler: /api/repos from the registry, ?repo=X
 * passed through to X, and the errors of a request that names no
 * reachable repo.
 */


#ifndef _NGX_HTTP_HYDRA_API_H_INCLUDED_
#define _NGX_HTTP_HYDRA_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_hydra_api_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HYDRA_API_H_INCLUDED_ */
