
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


#include "ngx_http_hydra_module.h"


typedef enum {
    NGX_HTTP_HYDRA_SCOPE_ONE = 0,          /* bound to one repo */
    NGX_HTTP_HYDRA_SCOPE_ALL,              /* every repo */
    NGX_HTTP_HYDRA_SCOPE_ERROR             /* answered already */
} ngx_http_hydra_scope_e;


ngx_int_t ngx_http_hydra_api_handler(ngx_http_request_t *r);
ngx_http_hydra_scope_e ngx_http_hydra_scope(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t **binding, ngx_int_t *rc);
ngx_int_t ngx_http_hydra_redirect(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t *binding);
ngx_int_t ngx_http_hydra_pass_target(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_str_t *args);


#endif /* _NGX_HTTP_HYDRA_API_H_INCLUDED_ */
