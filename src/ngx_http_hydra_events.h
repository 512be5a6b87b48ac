
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_events: GET /ws.  With ?repo=X it is nginx's own WebSocket
 * proxying to X's /ws, HydraFlow's behaviour untouched; for all repos (or
 * a ?repo=a,b list) it is the module's fan-out of every repo's events
 * out of the zone's ring (DESIGN.md, 5).
 */


#ifndef _NGX_HTTP_HYDRA_EVENTS_H_INCLUDED_
#define _NGX_HTTP_HYDRA_EVENTS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"


/*
 * pushes one event into the zone's ring (the ring adds {"id":N,) and
 * wakes every worker; returns the id, 0 on failure
 */
uint64_t ngx_http_hydra_events_publish(ngx_http_hydra_main_conf_t *hmcf,
    const char *rest, size_t len, uint32_t repo_id, const char *type,
    ngx_log_t *log);

ngx_int_t ngx_http_hydra_events_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HYDRA_EVENTS_H_INCLUDED_ */
