
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_reply.h"
#include "ngx_http_hydra_shm.h"


#define NGX_HTTP_HYDRA_ERROR_SIZE   (HYDRA_SLUG_MAX + 128)


static void ngx_http_hydra_yajl_gen_cleanup(void *data);


/*
 * Answers {"error": "...", "repos": [keys]}: a client told what is wrong
 * is also told which repos exist.
 */

ngx_int_t
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


ngx_int_t
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


ngx_int_t
ngx_http_hydra_send_gen(ngx_http_request_t *r, ngx_uint_t status, yajl_gen g)
{
    size_t         len;
    const u_char  *json;

    if (yajl_gen_get_buf(g, &json, &len) != yajl_gen_status_ok) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hydra: yajl_gen_get_buf() failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hydra_send_json(r, status, json, len);
}


/* a response header whose name and value live as long as the request */

ngx_int_t
ngx_http_hydra_add_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}


/*
 * A yajl generator freed with the request.  The cleanup is registered
 * before the generator exists, so a failed registration cannot leak it.
 */

yajl_gen
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
