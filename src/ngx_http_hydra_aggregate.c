
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_aggregate.h"
#include "ngx_http_hydra_api.h"
#include "ngx_http_hydra_reply.h"
#include "ngx_http_hydra_shm.h"
#include "hydra_args.h"
#include "hydra_jspan.h"
#include "hydra_jspan_out.h"
#include "hydra_merge.h"


/* "acme-web=timeout, " per failed repo in X-Hydra-Partial */
#define NGX_HTTP_HYDRA_PARTIAL_ITEM  (HYDRA_NAME_SIZE + HYDRA_ERROR_SIZE + 4)


typedef struct {
    ngx_http_request_t          *request;
    const hydra_merge_rule_t    *rule;
    ngx_http_hydra_slot_t       *slots;
    ngx_uint_t                   nslots;
    ngx_uint_t                   pending;
    ngx_list_t                   headers;    /* what subrequests send */
    ngx_event_t                  budget;
    hydra_jspan_doc_t           *docs;       /* one per slot, malloc'd */
    hydra_jspan_out_t            out;        /* the answer, malloc'd */
    ngx_str_t                    partial;    /* "acme-web=timeout, ..." */
    unsigned                     finished:1;
} ngx_http_hydra_agg_t;


static ngx_int_t ngx_http_hydra_agg_headers(ngx_http_request_t *r,
    ngx_http_hydra_agg_t *agg);
static ngx_int_t ngx_http_hydra_agg_start(ngx_http_request_t *r,
    ngx_http_hydra_agg_t *agg, ngx_http_hydra_slot_t *slot,
    ngx_http_hydra_peer_binding_t *binding, ngx_str_t *uri,
    ngx_str_t *args);
static ngx_int_t ngx_http_hydra_agg_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc);
static void ngx_http_hydra_agg_wake(ngx_http_request_t *r);
static void ngx_http_hydra_agg_expire(ngx_event_t *ev);
static void ngx_http_hydra_agg_abort(ngx_event_t *ev);
static void ngx_http_hydra_agg_cleanup(void *data);
static void ngx_http_hydra_agg_finish(ngx_http_hydra_agg_t *agg);
static ngx_int_t ngx_http_hydra_agg_merge(ngx_http_hydra_agg_t *agg);
static ngx_int_t ngx_http_hydra_agg_parse(ngx_http_request_t *r,
    ngx_http_hydra_agg_t *agg, ngx_http_hydra_slot_t *slot,
    hydra_jspan_doc_t *doc);
static ngx_int_t ngx_http_hydra_agg_send(ngx_http_request_t *r,
    hydra_jspan_out_t *out);
static ngx_int_t ngx_http_hydra_agg_report(ngx_http_request_t *r,
    ngx_http_hydra_agg_t *agg);
static ngx_int_t ngx_http_hydra_agg_all_failed(ngx_http_request_t *r,
    ngx_http_hydra_agg_t *agg);
static long ngx_http_hydra_agg_limit(ngx_http_request_t *r);


/*
 * The request headers a repo must not see in a subrequest: it must
 * answer a plain, whole, unencoded JSON body.
 */

static ngx_str_t  ngx_http_hydra_agg_drop[] = {
    ngx_string("accept-encoding"),
    ngx_string("content-length"),
    ngx_string("transfer-encoding"),
    ngx_string("connection"),
    ngx_string("upgrade"),
    ngx_string("keep-alive"),
    ngx_string("te"),
    ngx_string("expect"),
    ngx_string("range"),
    ngx_string("if-range"),
    ngx_string("if-match"),
    ngx_string("if-none-match"),
    ngx_string("if-modified-since"),
    ngx_string("if-unmodified-since"),
    ngx_null_string
};


ngx_int_t
ngx_http_hydra_aggregate_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_str_t                       uri, args;
    ngx_uint_t                      i, n;
    ngx_pool_cleanup_t             *cln;
    ngx_http_hydra_ctx_t           *ctx;
    ngx_http_hydra_agg_t           *agg;
    ngx_http_hydra_slot_t          *slot;
    ngx_http_hydra_loc_conf_t      *hlcf;
    const hydra_merge_rule_t       *rule;
    ngx_http_hydra_main_conf_t     *hmcf;
    ngx_http_hydra_peer_binding_t  *bindings;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra aggregate \"%V\"", &r->uri);

    rule = hydra_merge_rule((const char *) r->uri.data, r->uri.len);

    if (rule == NULL) {
        return ngx_http_hydra_error(r, NGX_HTTP_BAD_REQUEST,
                                    "%V has no merge rule: add ?repo=",
                                    &r->uri);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);
    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hydra_module);

    if (ngx_http_hydra_bindings(hmcf, r->pool, &bindings, &n) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    agg = ngx_pcalloc(r->pool, sizeof(ngx_http_hydra_agg_t));
    if (agg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    agg->request = r;
    agg->rule = rule;
    agg->nslots = n;
    agg->slots = ngx_pcalloc(r->pool,
                             sizeof(ngx_http_hydra_slot_t) * (n ? n : 1));
    if (agg->slots == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hydra_agg_headers(r, agg) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* one target for every subrequest */

    if (ngx_http_hydra_pass_target(r, &uri, &args) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * The timer must not outlive the request, however it ends; the
     * parsed answers and the merged one (malloc'd, the latter sent from
     * where it was written) go with the pool
     */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hydra_agg_cleanup;
    cln->data = agg;

    for (i = 0; i < n; i++) {
        slot = &agg->slots[i];
        slot->key = bindings[i].key;
        slot->max = hlcf->max_response;
        slot->agg = agg;

        if (!bindings[i].running) {
            slot->done = 1;
            slot->reason = "not running";
            continue;
        }

        if (ngx_http_hydra_agg_start(r, agg, slot, &bindings[i], &uri,
                                     &args)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        agg->pending++;
    }

    if (agg->pending == 0) {
        agg->finished = 1;
        return ngx_http_hydra_agg_merge(agg);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hydra_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->agg = agg;
    ngx_http_set_ctx(r, ctx, ngx_http_hydra_module);

    agg->budget.handler = ngx_http_hydra_agg_expire;
    agg->budget.data = r;
    agg->budget.log = r->connection->log;
    ngx_add_timer(&agg->budget, hlcf->timeout);

    r->write_event_handler = ngx_http_hydra_agg_wake;
    r->main->count++;

    return NGX_DONE;
}


/* the client's headers, less those a repo must not see, shared by all */

static ngx_int_t
ngx_http_hydra_agg_headers(ngx_http_request_t *r, ngx_http_hydra_agg_t *agg)
{
    ngx_str_t        *drop;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *copy;

    if (ngx_list_init(&agg->headers, r->pool, 8, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        for (drop = ngx_http_hydra_agg_drop; drop->len; drop++) {
            if (h[i].key.len == drop->len
                && ngx_strncmp(h[i].lowcase_key, drop->data, drop->len) == 0)
            {
                break;
            }
        }

        if (drop->len) {
            continue;
        }

        copy = ngx_list_push(&agg->headers);
        if (copy == NULL) {
            return NGX_ERROR;
        }

        *copy = h[i];
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hydra_agg_start(ngx_http_request_t *r, ngx_http_hydra_agg_t *agg,
    ngx_http_hydra_slot_t *slot, ngx_http_hydra_peer_binding_t *binding,
    ngx_str_t *uri, ngx_str_t *args)
{
    ngx_http_request_t           *sr;
    ngx_http_hydra_ctx_t         *ctx;
    ngx_http_post_subrequest_t   *ps;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_hydra_agg_done;
    ps->data = slot;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hydra_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->binding = binding;
    ctx->slot = slot;

    /*
     * Background subrequests run side by side and take no part in the
     * ordering of the parent's output, which is all ours to write.
     */

    if (ngx_http_subrequest(r, uri, args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_BACKGROUND)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(sr, ctx, ngx_http_hydra_module);
    slot->sr = sr;

    sr->method = NGX_HTTP_GET;
    ngx_str_set(&sr->method_name, "GET");
    sr->header_only = 0;

    sr->headers_in.headers = agg->headers;
    sr->headers_in.content_length = NULL;
    sr->headers_in.content_length_n = -1;
    sr->headers_in.transfer_encoding = NULL;
    sr->headers_in.chunked = 0;
    sr->headers_in.upgrade = NULL;
    sr->headers_in.range = NULL;
    sr->headers_in.if_range = NULL;
    sr->headers_in.if_match = NULL;
    sr->headers_in.if_none_match = NULL;
    sr->headers_in.if_modified_since = NULL;
    sr->headers_in.if_unmodified_since = NULL;
#if (NGX_HTTP_GZIP)
    sr->headers_in.accept_encoding = NULL;
#endif

    return NGX_OK;
}


/*
 * A subrequest is over.  Called at the top of its finalization, maybe
 * more than once (an error page finalizes again), so only the first
 * call counts.  An error before any header (rc 502, 504) means the repo
 * was not reached.
 */

static ngx_int_t
ngx_http_hydra_agg_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_http_hydra_slot_t  *slot = data;

    ngx_http_hydra_agg_t  *agg;

    if (slot->done) {
        return rc;
    }

    agg = slot->agg;
    slot->done = 1;
    agg->pending--;

    if (slot->status == 0) {
        slot->reason = (rc == NGX_HTTP_GATEWAY_TIME_OUT) ? "timeout"
                       : (rc == NGX_HTTP_BAD_GATEWAY) ? "connect" : "error";

    } else if (slot->too_big) {
        slot->reason = "too big";

    } else if (slot->status < NGX_HTTP_OK
               || slot->status >= NGX_HTTP_SPECIAL_RESPONSE)
    {
        slot->reason = ngx_pnalloc(agg->request->pool,
                                   sizeof("http 999"));
        if (slot->reason != NULL) {
            ngx_sprintf((u_char *) slot->reason, "http %03ui%Z",
                        slot->status % 1000);
        }

    } else if (!slot->complete || rc == NGX_ERROR) {
        slot->reason = "truncated";
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "hydra aggregate: %V done, rc %i, %s", &slot->key, rc,
                   slot->reason ? slot->reason : "ok");

    if (agg->pending == 0) {
        (void) ngx_http_post_request(agg->request, NULL);
    }

    /*
     * The capture filters' own error for an answer too big ends this
     * subrequest and its upstream; passed on, it would end the client's
     * request too
     */

    return (slot->too_big && rc == NGX_ERROR) ? NGX_OK : rc;
}


static void
ngx_http_hydra_agg_wake(ngx_http_request_t *r)
{
    ngx_http_hydra_ctx_t  *ctx;
    ngx_http_hydra_agg_t  *agg;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hydra_module);
    agg = ctx->agg;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra aggregate wake, %ui pending", agg->pending);

    if (agg->pending == 0) {
        ngx_http_hydra_agg_finish(agg);
    }
}


/*
 * The budget is spent: every repo still out is left out as "timeout",
 * and its upstream is finalized the way nginx's own cleanup does it, so
 * its connection is closed (never kept alive half read) and it holds
 * neither the answer nor the client's connection.
 */

static void
ngx_http_hydra_agg_expire(ngx_event_t *ev)
{
    ngx_uint_t                  i;
    ngx_connection_t           *c;
    ngx_http_request_t         *r, *sr;
    ngx_http_hydra_ctx_t       *ctx;
    ngx_http_hydra_agg_t       *agg;
    ngx_http_hydra_slot_t      *slot;
    ngx_http_hydra_loc_conf_t  *hlcf;

    r = ev->data;
    c = r->connection;
    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hydra_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_hydra_module);
    agg = ctx->agg;

    for (i = 0; i < agg->nslots; i++) {
        slot = &agg->slots[i];

        if (slot->done) {
            continue;
        }

        slot->done = 1;
        slot->reason = "timeout";
        agg->pending--;

        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "hydra: repo %V missed the %M ms budget of \"%V\"",
                      &slot->key, hlcf->timeout, &r->uri);

        sr = slot->sr;

        if (sr != NULL && sr->upstream != NULL
            && sr->upstream->cleanup != NULL)
        {
            (*sr->upstream->cleanup)(sr);
        }
    }

    ngx_http_hydra_agg_finish(agg);
    ngx_http_run_posted_requests(c);
}


/*
 * A repo's answer grew over hydra_max_response_size as it came: it is
 * left out now, not when the budget is spent.  The capture filter runs
 * inside the upstream's read of the repo and cannot end that upstream,
 * so this is posted, to run once the read is done.
 */

void
ngx_http_hydra_agg_too_big(ngx_http_hydra_slot_t *slot)
{
    ngx_http_hydra_agg_t  *agg;

    agg = slot->agg;

    if (slot->done || slot->abort.posted) {
        return;
    }

    slot->abort.handler = ngx_http_hydra_agg_abort;
    slot->abort.data = slot;
    slot->abort.log = agg->request->connection->log;

    ngx_post_event(&slot->abort, &ngx_posted_events);
}


static void
ngx_http_hydra_agg_abort(ngx_event_t *ev)
{
    ngx_connection_t       *c;
    ngx_http_request_t     *sr;
    ngx_http_hydra_agg_t   *agg;
    ngx_http_hydra_slot_t  *slot;

    slot = ev->data;
    agg = slot->agg;
    c = agg->request->connection;

    if (slot->done) {
        return;                         /* its answer ended meanwhile */
    }

    slot->done = 1;
    slot->reason = "too big";
    agg->pending--;

    ngx_log_error(NGX_LOG_WARN, c->log, 0,
                  "hydra: repo %V answered \"%V\" with more than "
                  "hydra_max_response_size", &slot->key, &agg->request->uri);

    sr = slot->sr;

    if (sr != NULL && sr->upstream != NULL && sr->upstream->cleanup != NULL) {
        (*sr->upstream->cleanup)(sr);
    }

    if (agg->pending == 0) {
        (void) ngx_http_post_request(agg->request, NULL);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_hydra_agg_cleanup(void *data)
{
    ngx_http_hydra_agg_t  *agg = data;

    ngx_uint_t  i;

    if (agg->budget.timer_set) {
        ngx_del_timer(&agg->budget);
    }

    for (i = 0; i < agg->nslots; i++) {
        if (agg->slots[i].abort.posted) {
            ngx_delete_posted_event(&agg->slots[i].abort);
        }
    }

    for (i = 0; agg->docs != NULL && i < agg->nslots; i++) {
        hydra_jspan_free(&agg->docs[i]);
    }

    hydra_jspan_out_free(&agg->out);
}


static void
ngx_http_hydra_agg_finish(ngx_http_hydra_agg_t *agg)
{
    ngx_http_request_t  *r;

    if (agg->finished) {
        return;
    }

    agg->finished = 1;
    r = agg->request;

    if (agg->budget.timer_set) {
        ngx_del_timer(&agg->budget);
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_finalize_request(r, ngx_http_hydra_agg_merge(agg));
}


/*
 * Parses what came, merges it by the view's rule, and answers with the
 * merged bytes as they were written.
 */

static ngx_int_t
ngx_http_hydra_agg_merge(ngx_http_hydra_agg_t *agg)
{
    size_t                  size;
    ngx_uint_t              i, ninputs, nfailures;
    hydra_merge_t           m;
    ngx_http_request_t     *r;
    hydra_merge_input_t    *inputs;
    ngx_http_hydra_slot_t  *slot;
    hydra_merge_failure_t  *failures;

    r = agg->request;

    inputs = ngx_palloc(r->pool, sizeof(hydra_merge_input_t)
                                 * (agg->nslots + 1));
    failures = ngx_palloc(r->pool, sizeof(hydra_merge_failure_t)
                                   * (agg->nslots + 1));
    agg->docs = ngx_pcalloc(r->pool, sizeof(hydra_jspan_doc_t)
                                     * (agg->nslots + 1));
    if (inputs == NULL || failures == NULL || agg->docs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ninputs = 0;
    nfailures = 0;
    size = 1024;

    for (i = 0; i < agg->nslots; i++) {
        slot = &agg->slots[i];

        if (slot->reason == NULL
            && ngx_http_hydra_agg_parse(r, agg, slot, &agg->docs[i])
               == NGX_OK)
        {
            inputs[ninputs].repo = (const char *) slot->key.data;
            inputs[ninputs].root = hydra_jspan_root(&agg->docs[i]);
            ninputs++;

            /* the answer is mostly the bodies, and a tag per item */

            size += (slot->body->last - slot->body->pos) * 9 / 8;
            continue;
        }

        if (slot->reason == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        failures[nfailures].repo = (const char *) slot->key.data;
        failures[nfailures].reason = slot->reason;
        nfailures++;
    }

    if (ngx_http_hydra_agg_report(r, agg) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ninputs == 0 && nfailures > 0) {
        return ngx_http_hydra_agg_all_failed(r, agg);
    }

    if (hydra_jspan_out_init(&agg->out, size) != HYDRA_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&m, sizeof(hydra_merge_t));
    m.inputs = inputs;
    m.ninputs = ninputs;
    m.failures = failures;
    m.nfailures = nfailures;
    m.limit = ngx_http_hydra_agg_limit(r);

    if (agg->rule->merge(&agg->out, &m) != HYDRA_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hydra: merging \"%V\" failed", &r->uri);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hydra_agg_send(r, &agg->out);
}


/*
 * One repo's answer parsed, or a reason it is left out: a body that is
 * not JSON, nests deeper than any HydraFlow answer, or has the wrong
 * shape for the view.  The nodes point into the body, which the pool
 * keeps; agg's cleanup frees them.
 */

static ngx_int_t
ngx_http_hydra_agg_parse(ngx_http_request_t *r, ngx_http_hydra_agg_t *agg,
    ngx_http_hydra_slot_t *slot, hydra_jspan_doc_t *doc)
{
    if (slot->body == NULL) {
        slot->reason = "bad json";
        return NGX_DECLINED;
    }

    if (hydra_jspan_parse(doc, (const char *) slot->body->pos,
                          slot->body->last - slot->body->pos,
                          HYDRA_MERGE_DEPTH_MAX)
        != HYDRA_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hydra: repo %V answered \"%V\" with bad json: "
                      "%s at byte %uz", &slot->key, &r->uri, doc->error,
                      doc->error_at);
        slot->reason = "bad json";
        return NGX_DECLINED;
    }

    if (!agg->rule->valid(hydra_jspan_root(doc))) {
        slot->reason = "bad shape";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The merged answer, sent from where it was written: the buffer is
 * freed with the pool, after the last byte went out.
 */

static ngx_int_t
ngx_http_hydra_agg_send(ngx_http_request_t *r, hydra_jspan_out_t *out)
{
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   cl;

    len = out->pos - out->start;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (r->method == NGX_HTTP_HEAD || len == 0) {
        r->header_only = (r->method == NGX_HTTP_HEAD);
        return ngx_http_send_header(r);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) out->start;
    b->last = b->pos + len;
    b->start = b->pos;
    b->end = b->last;
    b->temporary = 1;
    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    cl.buf = b;
    cl.next = NULL;

    return ngx_http_output_filter(r, &cl);
}


/*
 * X-Hydra-Repos names the repos merged, X-Hydra-Partial the others and
 * why: the only place an array-shaped view can say it.
 */

static ngx_int_t
ngx_http_hydra_agg_report(ngx_http_request_t *r, ngx_http_hydra_agg_t *agg)
{
    u_char                 *ok, *bad, *p, *q;
    ngx_uint_t              i;
    ngx_http_hydra_slot_t  *slot;

    ok = ngx_pnalloc(r->pool, agg->nslots * NGX_HTTP_HYDRA_PARTIAL_ITEM + 1);
    bad = ngx_pnalloc(r->pool, agg->nslots * NGX_HTTP_HYDRA_PARTIAL_ITEM + 1);
    if (ok == NULL || bad == NULL) {
        return NGX_ERROR;
    }

    p = ok;
    q = bad;

    for (i = 0; i < agg->nslots; i++) {
        slot = &agg->slots[i];

        if (slot->reason == NULL) {
            p = ngx_sprintf(p, "%s%V", p == ok ? "" : ", ", &slot->key);

        } else {
            q = ngx_sprintf(q, "%s%V=%s", q == bad ? "" : ", ", &slot->key,
                            slot->reason);
        }
    }

    if (ngx_http_hydra_add_header(r, "X-Hydra-Repos", ok, p - ok) != NGX_OK)
    {
        return NGX_ERROR;
    }

    agg->partial.data = bad;
    agg->partial.len = q - bad;

    if (q != bad
        && ngx_http_hydra_add_header(r, "X-Hydra-Partial", bad, q - bad)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* "no repo answered": a 502 that still says why, repo by repo */

static ngx_int_t
ngx_http_hydra_agg_all_failed(ngx_http_request_t *r,
    ngx_http_hydra_agg_t *agg)
{
    return ngx_http_hydra_error(r, NGX_HTTP_BAD_GATEWAY,
                                "no repo answered: %V", &agg->partial);
}


/* the "limit" argument of /api/sessions; 0 lets the rule choose */

static long
ngx_http_hydra_agg_limit(ngx_http_request_t *r)
{
    ngx_int_t    n;
    hydra_arg_t  arg;

    hydra_args_find((const char *) r->args.data, r->args.len, "limit", &arg);

    if (arg.count == 0) {
        return 0;
    }

    n = ngx_atoi((u_char *) arg.value, arg.value_len);

    return (n == NGX_ERROR) ? 0 : (long) n;
}
