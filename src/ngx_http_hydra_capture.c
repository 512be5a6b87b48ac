
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_capture.h"
#include "ngx_http_hydra_aggregate.h"


/* the first capture buffer when the repo sends no Content-Length */
#define NGX_HTTP_HYDRA_CAPTURE_BUFFER  16384


static ngx_int_t ngx_http_hydra_capture_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_hydra_capture_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_hydra_capture_append(ngx_http_request_t *r,
    ngx_http_hydra_slot_t *slot, ngx_buf_t *b);
static ngx_int_t ngx_http_hydra_capture_reserve(ngx_http_request_t *r,
    ngx_http_hydra_slot_t *slot, size_t size);
static ngx_http_hydra_slot_t *ngx_http_hydra_capture_slot(
    ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_hydra_capture_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_hydra_capture_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_hydra_capture_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hydra_capture_header_filter(ngx_http_request_t *r)
{
    off_t                   len;
    ngx_http_hydra_slot_t  *slot;

    slot = ngx_http_hydra_capture_slot(r);

    if (slot == NULL || slot->done) {
        return ngx_http_next_header_filter(r);
    }

    slot->status = r->headers_out.status;
    len = r->headers_out.content_length_n;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra capture header: %ui, length %O", slot->status, len);

    /*
     * Too big by its Content-Length: an error here ends the subrequest
     * at once and closes the repo's connection, rather than reading and
     * dropping the whole answer while the view waits for its budget
     */

    if (len > (off_t) slot->max) {
        slot->too_big = 1;
        return NGX_ERROR;

    } else if (len > 0 && slot->body == NULL) {
        if (ngx_http_hydra_capture_reserve(r, slot, (size_t) len) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* the rest of the chain ignores subrequests but marks header_sent */

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_hydra_capture_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t            *cl;
    ngx_http_hydra_slot_t  *slot;

    slot = ngx_http_hydra_capture_slot(r);

    if (slot == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        if (ngx_http_hydra_capture_append(r, slot, cl->buf) != NGX_OK) {
            return NGX_ERROR;
        }

        if (cl->buf->last_buf || cl->buf->last_in_chain) {
            slot->complete = 1;
        }
    }

    return NGX_OK;
}


/* takes a buffer's bytes, and marks them consumed so nginx frees it */

static ngx_int_t
ngx_http_hydra_capture_append(ngx_http_request_t *r,
    ngx_http_hydra_slot_t *slot, ngx_buf_t *b)
{
    off_t       size;
    ssize_t     n;
    ngx_buf_t  *body;

    if (ngx_buf_in_memory(b)) {
        size = b->last - b->pos;

    } else if (b->in_file) {
        size = b->file_last - b->file_pos;

    } else {
        return NGX_OK;
    }

    if (size == 0) {
        return NGX_OK;
    }

    if (slot->done) {
        goto consumed;
    }

    if (slot->too_big) {
        goto consumed;
    }

    /*
     * too big as it comes: an error here would end the client's request
     * too, so the rest is dropped until the view ends this upstream
     */

    if ((slot->body && (off_t) (slot->body->last - slot->body->pos) + size
                       > (off_t) slot->max)
        || size > (off_t) slot->max)
    {
        slot->too_big = 1;
        ngx_http_hydra_agg_too_big(slot);
        goto consumed;
    }

    if (ngx_http_hydra_capture_reserve(r, slot, (size_t) size) != NGX_OK) {
        return NGX_ERROR;
    }

    body = slot->body;

    if (ngx_buf_in_memory(b)) {
        body->last = ngx_cpymem(body->last, b->pos, size);

    } else {
        /* a temporary file nginx just wrote: in the page cache */

        n = ngx_read_file(b->file, body->last, (size_t) size, b->file_pos);

        if (n != size) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "hydra: reading a captured answer from \"%V\" "
                          "got %z of %O bytes", &b->file->name, n, size);
            return NGX_ERROR;
        }

        body->last += n;
    }

consumed:

    if (ngx_buf_in_memory(b)) {
        b->pos = b->last;
    }

    if (b->in_file) {
        b->file_pos = b->file_last;
    }

    return NGX_OK;
}


/* makes room for size more bytes and a NUL, doubling as it grows */

static ngx_int_t
ngx_http_hydra_capture_reserve(ngx_http_request_t *r,
    ngx_http_hydra_slot_t *slot, size_t size)
{
    size_t      used, want, cap;
    ngx_buf_t  *nb;

    used = slot->body ? (size_t) (slot->body->last - slot->body->pos) : 0;

    if (slot->body && (size_t) (slot->body->end - slot->body->last) > size) {
        return NGX_OK;
    }

    want = used + size + 1;
    cap = slot->body ? (size_t) (slot->body->end - slot->body->pos)
                     : NGX_HTTP_HYDRA_CAPTURE_BUFFER;

    while (cap < want) {
        cap *= 2;
    }

    nb = ngx_create_temp_buf(r->pool, cap);
    if (nb == NULL) {
        return NGX_ERROR;
    }

    if (slot->body) {
        nb->last = ngx_cpymem(nb->pos, slot->body->pos, used);
    }

    slot->body = nb;

    return NGX_OK;
}


static ngx_http_hydra_slot_t *
ngx_http_hydra_capture_slot(ngx_http_request_t *r)
{
    ngx_http_hydra_ctx_t  *ctx;

    if (r == r->main) {
        return NULL;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hydra_module);

    /*
     * A slot already given up on (its view answered without it) still
     * swallows what comes: a background subrequest's output must never
     * reach the postpone filter, which would hold the request open.
     */

    return ctx ? ctx->slot : NULL;
}
