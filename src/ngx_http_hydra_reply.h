
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * JSON answers the module writes itself: a body from a yajl generator
 * that dies with the request, and errors that name the repos there are.
 */


#ifndef _NGX_HTTP_HYDRA_REPLY_H_INCLUDED_
#define _NGX_HTTP_HYDRA_REPLY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_gen.h>


ngx_int_t ngx_http_hydra_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...);
ngx_int_t ngx_http_hydra_send_json(ngx_http_request_t *r, ngx_uint_t status,
    const u_char *json, size_t len);
ngx_int_t ngx_http_hydra_send_gen(ngx_http_request_t *r, ngx_uint_t status,
    yajl_gen g);
yajl_gen ngx_http_hydra_yajl_gen(ngx_http_request_t *r);
ngx_int_t ngx_http_hydra_add_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len);


#endif /* _NGX_HTTP_HYDRA_REPLY_H_INCLUDED_ */
