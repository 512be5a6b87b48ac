
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_events: GET /ws.  With ?repo=X it is nginx's own WebSocket
 * proxying to X's /ws, HydraFlow's behaviour untouched; for all repos it
 * is the module's fan-out of every repo's events (DESIGN.md, 5).
 */


#ifndef _NGX_HTTP_HYDRA_EVENTS_H_INCLUDED_
#define _NGX_HTTP_HYDRA_EVENTS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_hydra_events_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HYDRA_EVENTS_H_INCLUDED_ */
