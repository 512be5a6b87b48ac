
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * GET /ws: the one-repo passthrough, and for all repos the RFC 6455
 * server's handshake.  Once the 101 is out the connection leaves its
 * request (freed, and logged) and becomes a browser's socket
 * (ngx_http_hydra_browser.c) in its worker's fan-out
 * (ngx_http_hydra_fanout.c).  And the feeds' way in: publish.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_events.h"
#include "ngx_http_hydra_browser.h"
#include "ngx_http_hydra_fanout.h"
#include "ngx_http_hydra_api.h"
#include "ngx_http_hydra_reply.h"
#include "ngx_http_hydra_shm.h"
#include "hydra_args.h"
#include "hydra_event.h"
#include "hydra_ring.h"
#include "hydra_slug.h"
#include "hydra_ws.h"


#define NGX_HTTP_HYDRA_REPOS_MAX        64    /* in one ?repo= list */
#define NGX_HTTP_HYDRA_UPGRADE_REQUIRED 426

/* an error answered (it may be NGX_OK too): its rc kept, NGX_DECLINED */
#define ngx_http_hydra_events_refuse(rcp, call)                               \
    do {                                                                      \
        *(rcp) = (call);                                                      \
        return NGX_DECLINED;                                                  \
    } while (0)


static ngx_int_t ngx_http_hydra_events_fanout(ngx_http_request_t *r,
    uint32_t *repos, ngx_uint_t nrepos);
static ngx_int_t ngx_http_hydra_events_list(ngx_http_request_t *r,
    u_char *list, size_t len, uint32_t **repos, ngx_uint_t *nrepos,
    ngx_int_t *rc);
static ngx_int_t ngx_http_hydra_events_check(ngx_http_request_t *r,
    ngx_str_t *key, ngx_int_t *rc);
static ngx_int_t ngx_http_hydra_events_origin_ok(ngx_http_request_t *r);
static ngx_table_elt_t *ngx_http_hydra_events_header(ngx_http_request_t *r,
    const char *name, ngx_uint_t nth);
static ngx_uint_t ngx_http_hydra_events_token(ngx_str_t *value,
    const char *token);
static ngx_int_t ngx_http_hydra_events_query(ngx_http_request_t *r,
    ngx_http_hydra_client_t *cl, ngx_int_t *rc);
static ngx_int_t ngx_http_hydra_events_accept(ngx_http_request_t *r,
    ngx_str_t *key);
static void ngx_http_hydra_events_flush(ngx_http_request_t *r);
static void ngx_http_hydra_events_detach(ngx_http_request_t *r);
static void ngx_http_hydra_events_attach(ngx_event_t *ev);


static ngx_str_t  ngx_http_hydra_switching =
    ngx_string("101 Switching Protocols");


ngx_int_t
ngx_http_hydra_events_handler(ngx_http_request_t *r)
{
    u_char                         *list;
    size_t                          len;
    uint32_t                       *repos;
    ngx_int_t                       rc;
    ngx_uint_t                      nrepos;
    hydra_arg_t                     arg;
    ngx_http_hydra_scope_e          scope;
    ngx_http_hydra_peer_binding_t  *binding;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra events \"%V\"", &r->args);

    if (!(r->method & NGX_HTTP_GET)) {
        return ngx_http_hydra_error(r, NGX_HTTP_NOT_ALLOWED,
                                    "%V /ws: only GET opens a WebSocket",
                                    &r->method_name);
    }

    /* ?repo=a,b: the fan-out of these repos */

    hydra_args_find((const char *) r->args.data, r->args.len, "repo", &arg);

    if (arg.count > 0 && !arg.differ) {
        list = ngx_pnalloc(r->pool, arg.value_len + 1);
        if (list == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        len = hydra_args_unescape((char *) list, arg.value, arg.value_len);

        if (ngx_strlchr(list, list + len, ',') != NULL) {
            repos = NULL;
            nrepos = 0;

            if (ngx_http_hydra_events_list(r, list, len, &repos, &nrepos,
                                           &rc)
                != NGX_OK)
            {
                return rc;
            }

            return ngx_http_hydra_events_fanout(r, repos, nrepos);
        }
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

        if (r->headers_in.upgrade == NULL
            || !ngx_http_hydra_events_token(&r->headers_in.upgrade->value,
                                            "websocket"))
        {
            return ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                        "/ws is a WebSocket: "
                                        "send Upgrade: websocket");
        }

        /*
         * HydraFlow's /ws checks no Origin: a page elsewhere could read a
         * repo's events with the user's cookies.  The module checks it
         * here, as for the fan-out.
         */

        if (ngx_http_hydra_events_origin_ok(r) != NGX_OK) {
            return ngx_http_hydra_error(r, NGX_HTTP_FORBIDDEN,
                                        "origin not allowed");
        }

        return ngx_http_hydra_redirect(r, binding);

    case NGX_HTTP_HYDRA_SCOPE_ALL:
        return ngx_http_hydra_events_fanout(r, NULL, 0);

    default: /* NGX_HTTP_HYDRA_SCOPE_ERROR */
        return rc;
    }
}


/* "a,b,owner/name": each slug to its registry id; __all__ means all */

static ngx_int_t
ngx_http_hydra_events_list(ngx_http_request_t *r, u_char *list, size_t len,
    uint32_t **repos, ngx_uint_t *nrepos, ngx_int_t *rc)
{
    u_char                      *p, *end, *slug;
    size_t                       i, n;
    uint32_t                    *ids;
    ngx_uint_t                   count, all;
    hydra_find_e                 found;
    ngx_http_hydra_zone_t       *zone;
    ngx_http_hydra_main_conf_t  *hmcf;

    ids = ngx_palloc(r->pool, NGX_HTTP_HYDRA_REPOS_MAX * sizeof(uint32_t));
    if (ids == NULL) {
        ngx_http_hydra_events_refuse(rc, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);
    zone = hmcf->shm_zone->data;

    count = 0;
    all = 0;
    end = list + len;

    for (p = list; p <= end; p = slug + n + 1) {
        slug = p;

        while (p < end && *p != ',') {
            p++;
        }

        n = p - slug;

        if (n == 0) {
            continue;
        }

        if (hydra_slug_is_all((const char *) slug, n)) {
            all = 1;
            continue;
        }

        if (!hydra_slug_valid((const char *) slug, n)) {
            ngx_http_hydra_events_refuse(rc,
                ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid repo slug"));
        }

        if (count == NGX_HTTP_HYDRA_REPOS_MAX) {
            ngx_http_hydra_events_refuse(rc,
                ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                     "more than %d repos in one list",
                                     NGX_HTTP_HYDRA_REPOS_MAX));
        }

        ngx_shmtx_lock(&zone->shpool->mutex);

        found = hydra_registry_find(&zone->sh->registry,
                                    (const char *) slug, n, &i);

        if (found == HYDRA_FIND_OK) {
            ids[count++] = zone->sh->registry.repos[i].id;
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);

        if (found == HYDRA_FIND_NONE) {
            ngx_http_hydra_events_refuse(rc,
                ngx_http_hydra_error(r, NGX_HTTP_NOT_FOUND,
                                     "unknown repo: %*s", n, slug));
        }

        if (found == HYDRA_FIND_AMBIGUOUS) {
            ngx_http_hydra_events_refuse(rc,
                ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                     "ambiguous repo: %*s names several "
                                     "repos, use owner/name", n, slug));
        }
    }

    if (!all && count > 0) {
        *repos = ids;
        *nrepos = count;
    }

    return NGX_OK;
}


/*
 * The RFC 6455 server handshake, then the 101; the connection leaves
 * the request once the 101 is out (ngx_http_hydra_events_detach).
 */

static ngx_int_t
ngx_http_hydra_events_fanout(ngx_http_request_t *r, uint32_t *repos,
    ngx_uint_t nrepos)
{
    ngx_int_t                  rc;
    ngx_str_t                  key;
    ngx_connection_t          *c;
    ngx_http_hydra_ctx_t      *ctx;
    ngx_http_hydra_client_t   *cl;
    ngx_http_core_loc_conf_t  *clcf;

    if (ngx_http_hydra_events_check(r, &key, &rc) != NGX_OK) {
        return rc;
    }

    c = r->connection;

    cl = ngx_pcalloc(c->pool, sizeof(ngx_http_hydra_client_t));
    if (cl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hydra_events_query(r, cl, &rc) != NGX_OK) {
        return rc;
    }

    if (nrepos > 0) {
        cl->repos = ngx_palloc(c->pool, nrepos * sizeof(uint32_t));
        if (cl->repos == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(cl->repos, repos, nrepos * sizeof(uint32_t));
        cl->nrepos = nrepos;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hydra_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->client = cl;
    ngx_http_set_ctx(r, ctx, ngx_http_hydra_module);

    cl->connection = c;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    cl->send_timeout = clcf->send_timeout;

    if (ngx_http_hydra_events_accept(r, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    r->headers_out.status_line = ngx_http_hydra_switching;
    r->headers_out.content_length_n = -1;
    r->keepalive = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    if (ngx_http_send_special(r, NGX_HTTP_FLUSH) == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (clcf->tcp_nodelay && ngx_tcp_nodelay(c) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the request stays until the 101 is out and the stack unwound */

    r->main->count++;

    if (c->buffered) {
        r->write_event_handler = ngx_http_hydra_events_flush;
        ngx_add_timer(c->write, cl->send_timeout);

        if (ngx_handle_write_event(c->write, clcf->send_lowat) != NGX_OK) {
            return NGX_ERROR;
        }

        return NGX_DONE;
    }

    ngx_http_hydra_events_detach(r);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_hydra_events_check(ngx_http_request_t *r, ngx_str_t *key,
    ngx_int_t *rc)
{
    ngx_uint_t        i, upgrade;
    ngx_table_elt_t  *h;

    if (r->http_version != NGX_HTTP_VERSION_11) {
        ngx_http_hydra_events_refuse(rc,
            ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                 "/ws is a WebSocket: it needs HTTP/1.1"));
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        ngx_http_hydra_events_refuse(rc,
            ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                 "a WebSocket handshake has no body"));
    }

    if (r->headers_in.upgrade == NULL
        || !ngx_http_hydra_events_token(&r->headers_in.upgrade->value,
                                        "websocket"))
    {
        ngx_http_hydra_events_refuse(rc,
            ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                 "/ws is a WebSocket: "
                                 "send Upgrade: websocket"));
    }

    upgrade = 0;

    for (i = 0; (h = ngx_http_hydra_events_header(r, "Connection", i)); i++) {
        if (ngx_http_hydra_events_token(&h->value, "upgrade")) {
            upgrade = 1;
        }
    }

    if (!upgrade) {
        ngx_http_hydra_events_refuse(rc,
            ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                 "/ws is a WebSocket: "
                                 "send Connection: Upgrade"));
    }

    h = ngx_http_hydra_events_header(r, "Sec-WebSocket-Version", 0);

    if (h == NULL || h->value.len != 2
        || ngx_strncmp(h->value.data, "13", 2) != 0
        || ngx_http_hydra_events_header(r, "Sec-WebSocket-Version", 1))
    {
        if (ngx_http_hydra_add_header(r, "Sec-WebSocket-Version",
                                      (u_char *) "13", 2)
            != NGX_OK)
        {
            ngx_http_hydra_events_refuse(rc, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");

        ngx_http_hydra_events_refuse(rc,
            ngx_http_hydra_error(r, NGX_HTTP_HYDRA_UPGRADE_REQUIRED,
                                 "Sec-WebSocket-Version 13 only"));
    }

    h = ngx_http_hydra_events_header(r, "Sec-WebSocket-Key", 0);

    if (h == NULL
        || !hydra_ws_key_valid((const char *) h->value.data, h->value.len)
        || ngx_http_hydra_events_header(r, "Sec-WebSocket-Key", 1))
    {
        ngx_http_hydra_events_refuse(rc,
            ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                 "invalid Sec-WebSocket-Key"));
    }

    *key = h->value;

    if (ngx_http_hydra_events_origin_ok(r) != NGX_OK) {
        ngx_http_hydra_events_refuse(rc,
            ngx_http_hydra_error(r, NGX_HTTP_FORBIDDEN,
                                 "origin not allowed"));
    }

    return NGX_OK;
}


/*
 * hydra_events_origin: no Origin at all is a client that is not a
 * browser, and passes; by default an Origin's host[:port] must be the
 * Host header's, else it is one of the origins listed, or any.
 */

static ngx_int_t
ngx_http_hydra_events_origin_ok(ngx_http_request_t *r)
{
    u_char                     *p, *last;
    ngx_str_t                   host, *origins;
    ngx_uint_t                  i;
    ngx_table_elt_t            *h;
    ngx_http_hydra_loc_conf_t  *hlcf;

    h = ngx_http_hydra_events_header(r, "Origin", 0);

    if (h == NULL) {
        return NGX_OK;
    }

    if (ngx_http_hydra_events_header(r, "Origin", 1)) {
        return NGX_DECLINED;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hydra_module);

    if (hlcf->origins != NULL) {
        if (hlcf->origins->nelts == 0) {
            return NGX_OK;
        }

        origins = hlcf->origins->elts;

        for (i = 0; i < hlcf->origins->nelts; i++) {
            if (origins[i].len == h->value.len
                && ngx_strncasecmp(origins[i].data, h->value.data,
                                   h->value.len) == 0)
            {
                return NGX_OK;
            }
        }

        return NGX_DECLINED;
    }

    if (r->headers_in.host == NULL) {
        return NGX_DECLINED;
    }

    last = h->value.data + h->value.len;
    p = ngx_strlcasestrn(h->value.data, last, (u_char *) "://", 3 - 1);

    if (p == NULL) {
        return NGX_DECLINED;
    }

    p += 3;
    host = r->headers_in.host->value;

    /* a default port may be written by one side and not by the other */

    if (ngx_strncasecmp(h->value.data, (u_char *) "http:", 5) == 0
        && host.len > 3
        && ngx_strncmp(host.data + host.len - 3, ":80", 3) == 0)
    {
        host.len -= 3;
    }

    if (ngx_strncasecmp(h->value.data, (u_char *) "https:", 6) == 0
        && host.len > 4
        && ngx_strncmp(host.data + host.len - 4, ":443", 4) == 0)
    {
        host.len -= 4;
    }

    if ((size_t) (last - p) == host.len
        && ngx_strncasecmp(p, host.data, host.len) == 0)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* the nth header of that name (any case), or NULL */

static ngx_table_elt_t *
ngx_http_hydra_events_header(ngx_http_request_t *r, const char *name,
    ngx_uint_t nth)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            if (nth == 0) {
                return &h[i];
            }

            nth--;
        }
    }
}


/* whether a comma-separated header value holds the token, in any case */

static ngx_uint_t
ngx_http_hydra_events_token(ngx_str_t *value, const char *token)
{
    u_char  *p, *end, *start, *last;
    size_t   len;

    len = ngx_strlen(token);
    p = value->data;
    end = p + value->len;

    while (p < end) {
        start = p;

        while (p < end && *p != ',') {
            p++;
        }

        last = p++;

        while (start < last && (*start == ' ' || *start == '\t')) {
            start++;
        }

        while (last > start && (last[-1] == ' ' || last[-1] == '\t')) {
            last--;
        }

        if ((size_t) (last - start) == len
            && ngx_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* since=<id> and types=a,b */

static ngx_int_t
ngx_http_hydra_events_query(ngx_http_request_t *r,
    ngx_http_hydra_client_t *cl, ngx_int_t *rc)
{
    u_char               *p, *value;
    size_t                i, len;
    uint64_t              since;
    hydra_arg_t           arg;
    hydra_event_types_t   types;

    hydra_args_find((const char *) r->args.data, r->args.len, "since", &arg);

    if (arg.differ) {
        ngx_http_hydra_events_refuse(rc,
            ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                 "since is given more than once"));
    }

    if (arg.count > 0) {
        p = (u_char *) arg.value;
        len = arg.value_len;
        since = 0;

        if (len == 0 || len > NGX_INT64_LEN) {
            goto invalid;
        }

        for (i = 0; i < len; i++) {
            if (p[i] < '0' || p[i] > '9'
                || since > (UINT64_MAX - (p[i] - '0')) / 10)
            {
                goto invalid;
            }

            since = since * 10 + (p[i] - '0');
        }

        cl->since = since;
        cl->resume = 1;
    }

    hydra_args_find((const char *) r->args.data, r->args.len, "types", &arg);

    if (arg.differ) {
        ngx_http_hydra_events_refuse(rc,
            ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                 "types is given more than once"));
    }

    if (arg.count > 0 && arg.value_len > 0) {
        value = ngx_pnalloc(r->pool, arg.value_len + 1);
        if (value == NULL) {
            ngx_http_hydra_events_refuse(rc, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        len = hydra_args_unescape((char *) value, arg.value, arg.value_len);

        if (hydra_event_types_parse((const char *) value, len, &types)
            != HYDRA_OK)
        {
            ngx_http_hydra_events_refuse(rc,
                ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid types: a comma-separated "
                                     "list of at most %d event types",
                                     HYDRA_EVENT_TYPES_MAX));
        }

        if (types.n > 0) {
            cl->types = ngx_palloc(r->connection->pool,
                                   sizeof(hydra_event_types_t));
            if (cl->types == NULL) {
                ngx_http_hydra_events_refuse(rc,
                                             NGX_HTTP_INTERNAL_SERVER_ERROR);
            }

            *cl->types = types;
        }
    }

    return NGX_OK;

invalid:

    ngx_http_hydra_events_refuse(rc,
        ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                             "invalid since: an event id"));
}


/* Sec-WebSocket-Accept: base64(SHA-1(key + GUID)), and Upgrade */

static ngx_int_t
ngx_http_hydra_events_accept(ngx_http_request_t *r, ngx_str_t *key)
{
    u_char      hash[20];
    ngx_str_t   src, dst;
    ngx_sha1_t  sha1;

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, key->data, key->len);
    ngx_sha1_update(&sha1, HYDRA_WS_GUID, sizeof(HYDRA_WS_GUID) - 1);
    ngx_sha1_final(hash, &sha1);

    src.data = hash;
    src.len = sizeof(hash);

    dst.data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(src.len));
    if (dst.data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64(&dst, &src);

    if (ngx_http_hydra_add_header(r, "Upgrade", (u_char *) "websocket",
                                  sizeof("websocket") - 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hydra_add_header(r, "Sec-WebSocket-Accept", dst.data,
                                     dst.len);
}


/* r->write_event_handler while the 101 is not all out */

static void
ngx_http_hydra_events_flush(ngx_http_request_t *r)
{
    ngx_connection_t          *c;
    ngx_http_core_loc_conf_t  *clcf;

    c = r->connection;

    if (c->write->timedout) {
        c->timedout = 1;
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    if (c->buffered) {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        if (!c->write->timer_set) {
            ngx_add_timer(c->write, clcf->send_timeout);
        }

        if (ngx_handle_write_event(c->write, clcf->send_lowat) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_ERROR);
        }

        return;
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    ngx_http_hydra_events_detach(r);
}


/*
 * The request cannot be freed on its own stack (its callers go on with
 * it), so the connection's events are taken over and one is posted.
 */

static void
ngx_http_hydra_events_detach(ngx_http_request_t *r)
{
    ngx_connection_t  *c;

    c = r->connection;

    c->read->handler = ngx_http_hydra_events_attach;
    c->write->handler = ngx_http_hydra_events_attach;

    ngx_post_event(c->write, &ngx_posted_events);
}


static void
ngx_http_hydra_events_attach(ngx_event_t *ev)
{
    ngx_buf_t                *b;
    ngx_chain_t              *cl, *ln;
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_hydra_ctx_t     *ctx;
    ngx_http_connection_t    *hc;
    ngx_http_hydra_client_t  *client;

    c = ev->data;
    r = c->data;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hydra_module);
    client = ctx->client;

    if (c->close || ngx_exiting || ngx_terminate) {
        ngx_http_finalize_request(r, NGX_HTTP_CLOSE);

        /* not ngx_http_request_handler(): the termination it posted */
        ngx_http_run_posted_requests(c);
        return;
    }

    /* frames that came with the request's last bytes */

    b = r->header_in;

    if (b->pos < b->last) {
        ngx_http_hydra_browser_parse(client, b->pos, b->last - b->pos);
    }

    hc = r->http_connection;

    ngx_http_free_request(r, 0);

    c->destroyed = 0;
    c->data = client;
    c->log->action = "sending events";

    /* the header buffers, as an idle keepalive connection frees them */

    if (c->buffer != NULL && ngx_pfree(c->pool, c->buffer->start) == NGX_OK) {
        c->buffer = NULL;
    }

    for (cl = hc->busy; cl; /* void */) {
        ln = cl;
        cl = cl->next;
        ngx_pfree(c->pool, ln->buf->start);
        ngx_free_chain(c->pool, ln);
    }

    for (cl = hc->free; cl; /* void */) {
        ln = cl;
        cl = cl->next;
        ngx_pfree(c->pool, ln->buf->start);
        ngx_free_chain(c->pool, ln);
    }

    hc->busy = NULL;
    hc->free = NULL;
    hc->nbusy = 0;

    ngx_http_hydra_browser_start(client);
}


uint64_t
ngx_http_hydra_events_publish(ngx_http_hydra_main_conf_t *hmcf,
    const char *rest, size_t len, uint32_t repo_id, const char *type,
    ngx_log_t *log)
{
    uint64_t                id;
    ngx_http_hydra_zone_t  *zone;

    if (hmcf->shm_zone == NULL) {
        return 0;
    }

    zone = hmcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    id = (zone->sh->ring != NULL)
         ? hydra_ring_push(zone->sh->ring, rest, len, repo_id, type) : 0;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (id == 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "hydra event of %uz bytes does not fit the event "
                      "history", len);
        return 0;
    }

    ngx_http_hydra_fanout_notify(hmcf, log);

    return id;
}
