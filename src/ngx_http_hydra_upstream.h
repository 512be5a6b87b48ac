
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * How a request reaches the repo it is bound to: the hydra_balancer of an
 * upstream block hands nginx's proxy the bound repo's address, so the
 * user's proxy_* directives and upstream keepalive apply; and the
 * $hydra_upstream and $hydra_connection variables.
 */


#ifndef _NGX_HTTP_HYDRA_UPSTREAM_H_INCLUDED_
#define _NGX_HTTP_HYDRA_UPSTREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"


char *ngx_http_hydra_balancer(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_hydra_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_hydra_bind_redirect(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t *binding);
ngx_http_hydra_peer_binding_t *ngx_http_hydra_redirect_binding(
    ngx_http_request_t *r);


#endif /* _NGX_HTTP_HYDRA_UPSTREAM_H_INCLUDED_ */
