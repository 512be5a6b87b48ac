
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * Keeping the registry true: every worker ticks, and whichever worker
 * finds a job due in the zone takes it under a lease (the supervisor's
 * list_repos, a repo's health probe, a repo's event feed: see
 * ngx_http_hydra_feed.h).  So each job runs once per interval across
 * all workers, and a worker that dies only delays its jobs by a lease.
 */


#ifndef _NGX_HTTP_HYDRA_FLEET_H_INCLUDED_
#define _NGX_HTTP_HYDRA_FLEET_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


ngx_int_t ngx_http_hydra_fleet_init_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_HYDRA_FLEET_H_INCLUDED_ */
