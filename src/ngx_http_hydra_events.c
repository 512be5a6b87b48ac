
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_events.h"
#include "ngx_http_hydra_api.h"
#include "ngx_http_hydra_reply.h"


ngx_int_t
ngx_http_hydra_events_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_http_hydra_scope_e          scope;
    ngx_http_hydra_peer_binding_t  *binding;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra events \"%V\"", &r->args);

    if (!(r->method & NGX_HTTP_GET)) {
        return ngx_http_hydra_error(r, NGX_HTTP_NOT_ALLOWED,
                                    "%V /ws: only GET opens a WebSocket",
                                    &r->method_name);
    }

    binding = NULL;
    rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    scope = ngx_http_hydra_scope(r, &binding, &rc);

    switch (scope) {

    case NGX_HTTP_HYDRA_SCOPE_ONE:

        /*
         * One repo: the handshake, the frames and the close go through
         * the hydra_pass location untouched, as to the repo itself.
         */

        if (r->headers_in.upgrade == NULL) {
            return ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                        "/ws is a WebSocket: "
                                        "send Upgrade: websocket");
        }

        return ngx_http_hydra_redirect(r, binding);

    case NGX_HTTP_HYDRA_SCOPE_ALL:
        return ngx_http_hydra_error(r, NGX_HTTP_NOT_IMPLEMENTED,
                                    "the all-repos event stream is not "
                                    "built yet: use /ws?repo=<repo>");

    default: /* NGX_HTTP_HYDRA_SCOPE_ERROR */
        return rc;
    }
}
