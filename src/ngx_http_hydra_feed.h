
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The event feeds: one WebSocket to each running repo's /ws, held by one
 * worker at a time under a lease in the zone, as the probes are.  Each
 * text frame is tagged with its repo, skipped when it is not after the
 * repo's dedup point (a history replayed on a reconnect), and published
 * to the fan-out.  Also the module's own events: a repo's health and the
 * registry changing.
 */


#ifndef _NGX_HTTP_HYDRA_FEED_H_INCLUDED_
#define _NGX_HTTP_HYDRA_FEED_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hydra_module.h"


void ngx_http_hydra_feed_tick(ngx_http_hydra_main_conf_t *hmcf,
    ngx_log_t *log);
void ngx_http_hydra_feed_close_all(void);
void ngx_http_hydra_feed_repo_status(ngx_http_hydra_main_conf_t *hmcf,
    uint32_t id, ngx_log_t *log);
void ngx_http_hydra_feed_registry(ngx_http_hydra_main_conf_t *hmcf,
    ngx_uint_t nrepos, ngx_log_t *log);


#endif /* _NGX_HTTP_HYDRA_FEED_H_INCLUDED_ */
