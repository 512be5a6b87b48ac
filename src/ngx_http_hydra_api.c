
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
#include "hydra_args.h"
#include "hydra_json.h"


#define NGX_HTTP_HYDRA_ERROR_SIZE   (HYDRA_SLUG_MAX + 128)


typedef enum {
    NGX_HTTP_HYDRA_SCOPE_ONE = 0,
    NGX_HTTP_HYDRA_SCOPE_ALL,
    NGX_HTTP_HYDRA_SCOPE_ERROR
} ngx_http_hydra_scope_e;


static ngx_int_t ngx_http_hydra_repos(ngx_http_request_t *r);
static ngx_http_hydra_scope_e ngx_http_hydra_scope(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t **binding, ngx_int_t *rc);
static ngx_int_t ngx_http_hydra_bind(ngx_http_request_t *r, u_char *slug,
    size_t len, ngx_http_hydra_peer_binding_t **binding);
static ngx_int_t ngx_http_hydra_pass(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t *binding);
static ngx_int_t ngx_http_hydra_aggregate(ngx_http_request_t *r);
static ngx_int_t ngx_http_hydra_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *fmt, ...);
static ngx_int_t ngx_http_hydra_send_json(ngx_http_request_t *r,
    ngx_uint_t status, const u_char *json, size_t len);
static yajl_gen ngx_http_hydra_yajl_gen(ngx_http_request_t *r);
static void ngx_http_hydra_yajl_gen_cleanup(void *data);


static ngx_str_t  ngx_http_hydra_repos_uri = ngx_string("/api/repos");


ngx_int_t
ngx_http_hydra_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_http_hydra_scope_e          scope;
    ngx_http_hydra_peer_binding_t  *binding;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra api \"%V?%V\"", &r->uri, &r->args);

    if (r->uri.len == ngx_http_hydra_repos_uri.len
        && ngx_strncmp(r->uri.data, ngx_http_hydra_repos_uri.data,
                       r->uri.len) == 0
        && (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        return ngx_http_hydra_repos(r);
    }

    binding = NULL;
    rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    scope = ngx_http_hydra_scope(r, &binding, &rc);

    switch (scope) {

    case NGX_HTTP_HYDRA_SCOPE_ONE:
        return ngx_http_hydra_pass(r, binding);

    case NGX_HTTP_HYDRA_SCOPE_ALL:
        return ngx_http_hydra_aggregate(r);

    default: /* NGX_HTTP_HYDRA_SCOPE_ERROR */
        return rc;
    }
}


static ngx_int_t
ngx_http_hydra_repos(ngx_http_request_t *r)
{
    size_t                       len;
    yajl_gen                     g;
    ngx_int_t                    rc;
    const u_char                *json;
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

    if (hydra_json_repos(g, &snap) != HYDRA_OK
        || yajl_gen_get_buf(g, &json, &len) != yajl_gen_status_ok)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hydra: yajl_gen failed writing /api/repos");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hydra_send_json(r, NGX_HTTP_OK, json, len);
}


/*
 * Which repo the request is for, from its "repo" argument: one bound
 * repo, all of them, or an error already answered (rc).
 */

static ngx_http_hydra_scope_e
ngx_http_hydra_scope(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t **binding, ngx_int_t *rc)
{
    u_char       *slug;
    size_t        len;
    hydra_arg_t   arg;

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
    ngx_int_t                       running;
    hydra_find_e                    found;
    hydra_repo_t                   *repo;
    ngx_http_hydra_zone_t          *zone;
    ngx_http_hydra_main_conf_t     *hmcf;
    ngx_http_hydra_peer_binding_t  *b;

    if (!hydra_slug_valid((const char *) slug, len)) {
        return ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                    "invalid repo slug");
    }

    b = ngx_pcalloc(r->pool, sizeof(ngx_http_hydra_peer_binding_t));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->addr.sockaddr = ngx_palloc(r->pool, sizeof(ngx_sockaddr_t));
    b->addr.name.data = ngx_pnalloc(r->pool, HYDRA_ADDR_SIZE);
    b->key.data = ngx_pnalloc(r->pool, HYDRA_NAME_SIZE);

    if (b->addr.sockaddr == NULL || b->addr.name.data == NULL
        || b->key.data == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);
    zone = hmcf->shm_zone->data;
    running = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    found = hydra_registry_find(&zone->sh->registry, (const char *) slug,
                                len, &i);

    if (found == HYDRA_FIND_OK) {
        repo = &zone->sh->registry.repos[i];
        running = repo->spec.running && repo->spec.port != 0;

        b->id = repo->id;
        ngx_memcpy(b->addr.sockaddr, &repo->spec.sockaddr,
                   repo->spec.socklen);
        b->addr.socklen = repo->spec.socklen;
        b->addr.name.len = ngx_strlen(repo->addr_text);
        ngx_memcpy(b->addr.name.data, repo->addr_text, b->addr.name.len);
        b->key.len = ngx_strlen(repo->key);
        ngx_memcpy(b->key.data, repo->key, b->key.len);
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

    if (!running) {
        return ngx_http_hydra_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "repo %V is not running", &b->key);
    }

    *binding = b;

    return NGX_OK;
}


/*
 * Passthrough: an internal redirect of the same method, body and headers
 * into the hydra_pass location, with "repo" stripped from the arguments
 * (a per-repo dashboard filters sessions on it exactly).
 */

static ngx_int_t
ngx_http_hydra_pass(ngx_http_request_t *r,
    ngx_http_hydra_peer_binding_t *binding)
{
    u_char                     *p;
    ngx_str_t                   uri, args;
    ngx_http_hydra_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hydra_module);

    uri.len = hlcf->pass.len + r->uri.len;
    uri.data = ngx_pnalloc(r->pool, uri.len);
    if (uri.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* "/_hydra/" + "api/pipeline": the pass prefix ends with "/" */

    p = ngx_cpymem(uri.data, hlcf->pass.data, hlcf->pass.len);
    p = ngx_cpymem(p, r->uri.data + 1, r->uri.len - 1);
    uri.len = p - uri.data;

    args.data = ngx_pnalloc(r->pool, r->args.len + 1);
    if (args.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    args.len = hydra_args_strip((char *) args.data, (const char *) r->args.data,
                                r->args.len, "repo");

    if (ngx_http_hydra_bind_redirect(r, binding) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra pass to %V: \"%V?%V\"", &binding->addr.name,
                   &uri, &args);

    /* NGX_DONE: the content phase's finalization balances the redirect */

    return ngx_http_internal_redirect(r, &uri, &args);
}


/* the aggregated views come with their merge rules; until then: 400 */

static ngx_int_t
ngx_http_hydra_aggregate(ngx_http_request_t *r)
{
    return ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                "%V has no merge rule: add ?repo=",
                                &r->uri);
}


/*
 * Answers {"error": "...", "repos": [keys]}: a client told what is wrong
 * is also told which repos exist.
 */

static ngx_int_t
ngx_http_hydra_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    u_char                      *p;
    size_t                       len;
    va_list                      args;
    yajl_gen                     g;
    ngx_int_t                    rc;
    const u_char                *json;
    hydra_json_registry_t        snap;
    ngx_http_hydra_main_conf_t  *hmcf;
    u_char                       msg[NGX_HTTP_HYDRA_ERROR_SIZE];

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);

    if (ngx_http_hydra_snapshot(hmcf, r->pool, &snap) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    g = ngx_http_hydra_yajl_gen(r);
    if (g == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (hydra_json_error(g, (const char *) msg, &snap) != HYDRA_OK
        || yajl_gen_get_buf(g, &json, &len) != yajl_gen_status_ok)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hydra: yajl_gen failed writing error \"%s\"", msg);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hydra_send_json(r, status, json, len);
}


static ngx_int_t
ngx_http_hydra_send_json(ngx_http_request_t *r, ngx_uint_t status,
    const u_char *json, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (r->method == NGX_HTTP_HEAD || len == 0) {
        r->header_only = (r->method == NGX_HTTP_HEAD);
        return ngx_http_send_header(r);
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, json, len);
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * A yajl generator freed with the request.  The cleanup is registered
 * before the generator exists, so a failed registration cannot leak it.
 */

static yajl_gen
ngx_http_hydra_yajl_gen(ngx_http_request_t *r)
{
    yajl_gen             g;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }

    if (!yajl_gen_config(g, yajl_gen_validate_utf8, 1)) {
        yajl_gen_free(g);
        return NULL;
    }

    cln->handler = ngx_http_hydra_yajl_gen_cleanup;
    cln->data = g;

    return g;
}


static void
ngx_http_hydra_yajl_gen_cleanup(void *data)
{
    yajl_gen  g = data;

    yajl_gen_free(g);
}
