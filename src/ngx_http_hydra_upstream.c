
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_upstream.h"


typedef struct {
    ngx_addr_t                   addr;
} ngx_http_hydra_balancer_peer_t;


static ngx_int_t ngx_http_hydra_balancer_init(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_hydra_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_hydra_balancer_get(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_hydra_balancer_free(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
static ngx_int_t ngx_http_hydra_upstream_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hydra_connection_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_hydra_vars[] = {

    { ngx_string("hydra_upstream"), NULL,
      ngx_http_hydra_upstream_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hydra_connection"), NULL,
      ngx_http_hydra_connection_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* hydra_balancer, in an upstream block: the module picks the peer */

char *
ngx_http_hydra_balancer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_upstream_server_t    *us;
    ngx_http_upstream_srv_conf_t  *uscf;

    uscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_upstream_module);

    /*
     * nginx refuses an upstream block without a server; the peers come
     * from the registry, so the block gets one placeholder of no address
     * that nothing reads once the balancer is ours.
     */

    if (uscf->servers == NULL || uscf->servers->nelts > 0) {
        return "must be the only peer source of its upstream block";
    }

    us = ngx_array_push(uscf->servers);
    if (us == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(us, sizeof(ngx_http_upstream_server_t));
    ngx_str_set(&us->name, "hydra");

    if (uscf->peer.init_upstream) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "load balancing method redefined");
    }

    uscf->peer.init_upstream = ngx_http_hydra_balancer_init;
    uscf->flags = NGX_HTTP_UPSTREAM_CREATE;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_hydra_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t         *var, *v;
    ngx_http_hydra_main_conf_t  *hmcf;

    for (v = ngx_http_hydra_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hydra_module);

    hmcf->upstream_index = ngx_http_get_variable_index(cf,
                                               &ngx_http_hydra_vars[0].name);
    if (hmcf->upstream_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Binds the main request to a repo before its internal redirect into
 * the hydra_pass location.  The redirect clears module contexts but not
 * variables, so the binding rides in $hydra_upstream's slot: its value
 * is the binding's own name buffer, and it is marked cacheable (which
 * the variable never is when computed) to tell it from a stale value.
 */

ngx_int_t
ngx_http_hydra_bind_redirect(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t *binding)
{
    ngx_http_variable_value_t   *v;
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);

    v = &r->variables[hmcf->upstream_index];

    v->data = binding->addr.name.data;
    v->len = binding->addr.name.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->escape = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hydra_balancer_init(ngx_conf_t *cf, ngx_http_upstream_srv_conf_t *us)
{
    us->peer.init = ngx_http_hydra_balancer_init_peer;

    return NGX_OK;
}


/*
 * A subrequest's binding is in its context; a passthrough's in the
 * variable slot.  A request bound to nothing (one that reached the
 * internal location some other way) is refused.
 */

static ngx_int_t
ngx_http_hydra_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_http_hydra_ctx_t            *ctx;
    ngx_http_hydra_peer_binding_t   *binding;
    ngx_http_hydra_balancer_peer_t  *peer;

    peer = ngx_palloc(r->pool, sizeof(ngx_http_hydra_balancer_peer_t));
    if (peer == NULL) {
        return NGX_ERROR;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hydra_module);

    if (ctx != NULL && ctx->binding != NULL) {
        peer->addr = ctx->binding->addr;

        /*
         * An aggregated view's subrequest is not the connection's active
         * request: buffered, its answer would go to a temporary file and
         * reach the capture filter only once whole.  Unbuffered, every
         * read reaches it, so an answer too big ends as soon as it is.
         */

        if (ctx->slot != NULL) {
            r->upstream->buffering = 0;
        }

    } else {
        binding = ngx_http_hydra_redirect_binding(r);

        if (binding == NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "hydra balancer: request is bound to no repo");
            return NGX_ERROR;
        }

        peer->addr = binding->addr;
    }

    r->upstream->peer.data = peer;
    r->upstream->peer.get = ngx_http_hydra_balancer_get;
    r->upstream->peer.free = ngx_http_hydra_balancer_free;
    r->upstream->peer.tries = 1;

    return NGX_OK;
}


/* a passthrough's binding, from the variable slot; NULL: none */

ngx_http_hydra_peer_binding_t *
ngx_http_hydra_redirect_binding(ngx_http_request_t *r)
{
    ngx_http_variable_value_t   *v;
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);

    if (hmcf->upstream_index == NGX_CONF_UNSET || r->variables == NULL) {
        return NULL;
    }

    v = &r->variables[hmcf->upstream_index];

    if (!v->valid || v->no_cacheable || v->not_found) {
        return NULL;
    }

    /* the slot's value is the name inside the binding we put there */

    return (ngx_http_hydra_peer_binding_t *)
               (v->data - offsetof(ngx_http_hydra_peer_binding_t, name));
}


static ngx_int_t
ngx_http_hydra_balancer_get(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_hydra_balancer_peer_t  *peer = data;

    pc->sockaddr = peer->addr.sockaddr;
    pc->socklen = peer->addr.socklen;
    pc->name = &peer->addr.name;
    pc->cached = 0;
    pc->connection = NULL;

    return NGX_OK;
}


static void
ngx_http_hydra_balancer_free(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    pc->tries = 0;
}


static ngx_int_t
ngx_http_hydra_upstream_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_hydra_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hydra_module);

    if (ctx == NULL || ctx->binding == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ctx->binding->addr.name.data;
    v->len = ctx->binding->addr.name.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* "upgrade" for a WebSocket handshake, else "" so keepalive can work */

static ngx_int_t
ngx_http_hydra_connection_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (r->headers_in.upgrade != NULL) {
        v->data = (u_char *) "upgrade";
        v->len = sizeof("upgrade") - 1;

    } else {
        v->data = (u_char *) "";
        v->len = 0;
    }

    return NGX_OK;
}
