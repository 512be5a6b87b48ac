
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * Each worker's side of the all-repos fan-out: the wake-up socketpairs,
 * the cache of ready frames copied out of the zone's ring, and the
 * browsers it writes them to.
 */


#ifndef _NGX_HTTP_HYDRA_FANOUT_H_INCLUDED_
#define _NGX_HTTP_HYDRA_FANOUT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_browser.h"


ngx_int_t ngx_http_hydra_fanout_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_hydra_fanout_init_process(ngx_cycle_t *cycle);
void ngx_http_hydra_fanout_notify(ngx_http_hydra_main_conf_t *hmcf,
    ngx_log_t *log);
ngx_int_t ngx_http_hydra_fanout_join(ngx_http_hydra_client_t *cl);
void ngx_http_hydra_fanout_leave(ngx_http_hydra_client_t *cl);
ngx_http_hydra_frame_t *ngx_http_hydra_fanout_next(
    ngx_http_hydra_client_t *cl);


#endif /* _NGX_HTTP_HYDRA_FANOUT_H_INCLUDED_ */
