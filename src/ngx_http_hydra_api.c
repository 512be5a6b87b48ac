
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_api.h"
#include "ngx_http_hydra_shm.h"
#include "ngx_http_hydra_upstream.h"
#include "ngx_http_hydra_aggregate.h"
#include "ngx_http_hydra_reply.h"
#include "ngx_http_hydra_sessions.h"
#include "hydra_args.h"
#include "hydra_json.h"


static ngx_int_t ngx_http_hydra_repos(ngx_http_request_t *r);
static ngx_int_t ngx_http_hydra_bind(ngx_http_request_t *r, u_char *slug,
    size_t len, ngx_http_hydra_peer_binding_t **binding);


static ngx_str_t  ngx_http_hydra_repos_uri = ngx_string("/api/repos");


ngx_int_t
ngx_http_hydra_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_http_hydra_scope_e          scope;
    ngx_http_hydra_loc_conf_t      *hlcf;
    ngx_http_hydra_peer_binding_t  *binding;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra api \"%V?%V\"", &r->uri, &r->args);

    /*
     * hydra_read_only: a dashboard to look at, not to drive.  Only the
     * method counts (never a header that claims another), and it is
     * refused here, before any repo or the supervisor can see it.
     */

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hydra_module);

    if (hlcf->read_only
        && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_OPTIONS)))
    {
        return ngx_http_hydra_error(r, NGX_HTTP_FORBIDDEN,
                                    "read-only: %V %V is refused "
                                    "(hydra_read_only)",
                                    &r->method_name, &r->uri);
    }

    if (r->uri.len == ngx_http_hydra_repos_uri.len
        && ngx_strncmp(r->uri.data, ngx_http_hydra_repos_uri.data,
                       r->uri.len) == 0
        && (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        return ngx_http_hydra_repos(r);
    }

    /* with sessions files, sessions are read, never asked of a repo */

    if (ngx_http_hydra_sessions_wanted(r)) {
        return ngx_http_hydra_sessions_handler(r);
    }

    binding = NULL;
    rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    scope = ngx_http_hydra_scope(r, &binding, &rc);

    switch (scope) {

    case NGX_HTTP_HYDRA_SCOPE_ONE:

        /*
         * Only /ws?repo=X tunnels.  An Upgrade (h2c, websocket) asked of
         * an /api/ path is not passed on, as nginx itself ignores h2c: a
         * repo answering 101 would give the client a raw connection past
         * everything in front of it (hydra_read_only, auth_request).
         * Emptied, $http_upgrade sends nothing; unset, $hydra_connection
         * asks for no upgrade.
         */

        if (r->headers_in.upgrade != NULL) {
            r->headers_in.upgrade->value.len = 0;
            r->headers_in.upgrade = NULL;
        }

        return ngx_http_hydra_redirect(r, binding);

    case NGX_HTTP_HYDRA_SCOPE_ALL:
        return ngx_http_hydra_aggregate_handler(r);

    default: /* NGX_HTTP_HYDRA_SCOPE_ERROR */
        return rc;
    }
}


static ngx_int_t
ngx_http_hydra_repos(ngx_http_request_t *r)
{
    yajl_gen                     g;
    ngx_int_t                    rc;
    hydra_json_registry_t        snap;
    ngx_http_hydra_main_conf_t  *hmcf;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);

    if (ngx_http_hydra_snapshot(hmcf, r->pool, &snap) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    g = ngx_http_hydra_yajl_gen(r);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (hydra_json_repos(g, &snap) != HYDRA_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hydra: yajl_gen failed writing /api/repos");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hydra_send_gen(r, NGX_HTTP_OK, g);
}


/*
 * Which repo the request is for, from its "repo" argument: one bound
 * repo, all of them, or an error already answered (rc).
 */

ngx_http_hydra_scope_e
ngx_http_hydra_scope(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t **binding, ngx_int_t *rc)
{
    u_char                     *slug;
    size_t                      len;
    hydra_arg_t                 arg;
    ngx_http_hydra_loc_conf_t  *hlcf;

    hydra_args_find((const char *) r->args.data, r->args.len, "repo", &arg);

    if (arg.differ) {
        *rc = ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                   "repo is given more than once");
        return NGX_HTTP_HYDRA_SCOPE_ERROR;
    }

    if (arg.count > 0) {
        slug = ngx_pnalloc(r->pool, arg.value_len + 1);
        if (slug == NULL) {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_HTTP_HYDRA_SCOPE_ERROR;
        }

        len = hydra_args_unescape((char *) slug, arg.value, arg.value_len);

        /* "?repo=" and "?repo=__all__" both mean every repo */

        if (len > 0 && !hydra_slug_is_all((const char *) slug, len)) {
            /* an error answered by bind can be NGX_OK too: see binding */

            *rc = ngx_http_hydra_bind(r, slug, len, binding);

            return (*binding != NULL) ? NGX_HTTP_HYDRA_SCOPE_ONE
                                      : NGX_HTTP_HYDRA_SCOPE_ERROR;
        }
    }

    /* no "repo" at all: the default repo, when there is one */

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hydra_module);

    if (arg.count == 0 && hlcf->default_repo.len) {
        *rc = ngx_http_hydra_bind(r, hlcf->default_repo.data,
                                  hlcf->default_repo.len, binding);

        return (*binding != NULL) ? NGX_HTTP_HYDRA_SCOPE_ONE
                                  : NGX_HTTP_HYDRA_SCOPE_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        *rc = ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                   "%V %V requires a specific repo (?repo=)",
                                   &r->method_name, &r->uri);
        return NGX_HTTP_HYDRA_SCOPE_ERROR;
    }

    return NGX_HTTP_HYDRA_SCOPE_ALL;
}


/*
 * Resolves a decoded slug to a running repo and binds the request to it
 * (*binding set), or answers the error (*binding left NULL).
 */

static ngx_int_t
ngx_http_hydra_bind(ngx_http_request_t *r, u_char *slug, size_t len,
    ngx_http_hydra_peer_binding_t **binding)
{
    size_t                          i;
    hydra_find_e                    found;
    ngx_http_hydra_zone_t          *zone;
    ngx_http_hydra_main_conf_t     *hmcf;
    ngx_http_hydra_peer_binding_t  *b;

    if (!hydra_slug_valid((const char *) slug, len)) {
        return ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                    "invalid repo slug");
    }

    b = ngx_palloc(r->pool, sizeof(ngx_http_hydra_peer_binding_t));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);
    zone = hmcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    found = hydra_registry_find(&zone->sh->registry, (const char *) slug,
                                len, &i);

    if (found == HYDRA_FIND_OK) {
        ngx_http_hydra_binding_set(b, &zone->sh->registry.repos[i]);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    switch (found) {

    case HYDRA_FIND_NONE:
        return ngx_http_hydra_error(r, NGX_HTTP_NOT_FOUND,
                                    "unknown repo: %*s", len, slug);

    case HYDRA_FIND_AMBIGUOUS:
        return ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                    "ambiguous repo: %*s names several "
                                    "repos, use owner/name", len, slug);

    default: /* HYDRA_FIND_OK */
        break;
    }

    if (!b->running) {
        return ngx_http_hydra_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "repo %V is not running", &b->key);
    }

    *binding = b;

    return NGX_OK;
}


/*
 * Passthrough: an internal redirect of the same method, body and headers
 * into the hydra_pass location.
 */

ngx_int_t
ngx_http_hydra_redirect(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t *binding)
{
    ngx_str_t  uri, args;

    if (ngx_http_hydra_pass_target(r, &uri, &args) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hydra_bind_redirect(r, binding) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra pass to %V: \"%V?%V\"", &binding->addr.name,
                   &uri, &args);

    /* NGX_DONE: the content phase's finalization balances the redirect */

    return ngx_http_internal_redirect(r, &uri, &args);
}


/*
 * Where a request goes in the hydra_pass location, "/_hydra/" +
 * "api/pipeline" (the prefix ends with "/"), and its arguments without
 * "repo": for a passthrough and for every subrequest of a view alike.
 */

ngx_int_t
ngx_http_hydra_pass_target(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_str_t *args)
{
    u_char                     *p;
    ngx_http_hydra_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hydra_module);

    uri->data = ngx_pnalloc(r->pool, hlcf->pass.len + r->uri.len);
    args->data = ngx_pnalloc(r->pool, r->args.len + 1);
    if (uri->data == NULL || args->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(uri->data, hlcf->pass.data, hlcf->pass.len);
    p = ngx_cpymem(p, r->uri.data + 1, r->uri.len - 1);
    uri->len = p - uri->data;

    args->len = hydra_args_strip((char *) args->data,
                                 (const char *) r->args.data, r->args.len,
                                 "repo");

    return NGX_OK;
}
