
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_upstream.h"
#include "ngx_http_hydra_unreachable.h"


static ngx_int_t ngx_http_hydra_unreachable_header_filter(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_hydra_unreachable_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_str_t  ngx_http_hydra_json_type = ngx_string("application/json");


ngx_int_t
ngx_http_hydra_unreachable_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_hydra_unreachable_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_hydra_unreachable_body_filter;

    return NGX_OK;
}


/*
 * A passthrough whose repo did not answer (refused, reset, timed out)
 * gets nginx's own error page: HTML, which HydraFlow's UI cannot read.
 * The same status goes out with a JSON body that names the repo, as
 * every other error of the module.  The repo's own error answers, and
 * an error_page the operator set, are left as they are.
 */

static ngx_int_t
ngx_http_hydra_unreachable_header_filter(ngx_http_request_t *r)
{
    u_char                         *p;
    size_t                          len;
    ngx_buf_t                      *b;
    ngx_http_hydra_ctx_t           *ctx;
    ngx_http_hydra_peer_binding_t  *binding;

    if (r != r->main
        || r->err_status < NGX_HTTP_INTERNAL_SERVER_ERROR
        || r->error_page)
    {
        return ngx_http_next_header_filter(r);
    }

    binding = ngx_http_hydra_redirect_binding(r);

    if (binding == NULL) {
        return ngx_http_next_header_filter(r);
    }

    len = sizeof("{\"error\":\"repo  did not answer (HTTP )\",\"repo\":\"\"}")
          - 1 + 2 * binding->key.len + NGX_INT_T_LEN + sizeof(CRLF) - 1;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    /* a key is a dash slug: nothing in it needs escaping */

    p = ngx_sprintf(b->last,
                    "{\"error\":\"repo %V did not answer (HTTP %ui)\","
                    "\"repo\":\"%V\"}" CRLF,
                    &binding->key, r->err_status, &binding->key);
    b->last = p;
    b->last_buf = 1;
    b->last_in_chain = 1;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hydra_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hydra_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_hydra_module);
    }

    ctx->replace = b;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra unreachable: %ui from repo \"%V\" as JSON",
                   r->err_status, &binding->key);

    r->headers_out.content_type = ngx_http_hydra_json_type;
    r->headers_out.content_type_len = ngx_http_hydra_json_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;
    r->headers_out.content_length_n = b->last - b->pos;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    return ngx_http_next_header_filter(r);
}


/* nginx's page is dropped, the JSON goes with its last buffer */

static ngx_int_t
ngx_http_hydra_unreachable_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    ngx_uint_t             last;
    ngx_chain_t           *cl, out;
    ngx_http_hydra_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hydra_module);

    if (ctx == NULL || ctx->replace == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;

        if (cl->buf->last_buf || cl->buf->last_in_chain) {
            last = 1;
        }
    }

    if (!last) {
        return NGX_OK;
    }

    out.buf = ctx->replace;
    out.next = NULL;
    ctx->replace = NULL;

    return ngx_http_next_body_filter(r, &out);
}
