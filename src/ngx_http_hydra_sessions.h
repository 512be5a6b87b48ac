
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * GET /api/sessions and /api/sessions/{id} read from the sessions.jsonl
 * files themselves (ADR-0008): each worker keeps, per file, what it has
 * parsed (hydra_sessions.c) and reads only what was appended since, in
 * slices bounded per event loop turn.
 */


#ifndef _NGX_HTTP_HYDRA_SESSIONS_H_INCLUDED_
#define _NGX_HTTP_HYDRA_SESSIONS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_hydra_sessions_wanted(ngx_http_request_t *r);
ngx_int_t ngx_http_hydra_sessions_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HYDRA_SESSIONS_H_INCLUDED_ */
