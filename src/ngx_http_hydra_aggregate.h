
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * Aggregated views: one background subrequest per running repo, all at
 * once, through the hydra_pass location; their answers captured, parsed
 * and merged by the view's rule (hydra_merge.c) within hydra_timeout.
 */


#ifndef _NGX_HTTP_HYDRA_AGGREGATE_H_INCLUDED_
#define _NGX_HTTP_HYDRA_AGGREGATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_hydra_aggregate_handler(ngx_http_request_t *r);
void ngx_http_hydra_agg_too_big(ngx_http_hydra_slot_t *slot);


#endif /* _NGX_HTTP_HYDRA_AGGREGATE_H_INCLUDED_ */
