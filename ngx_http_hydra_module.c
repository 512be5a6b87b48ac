
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * ngx_http_hydra_module: one nginx in front of a HydraFlow fleet.  This
 * file is the map: directives, configuration, and where each handler
 * lives.
 *
 *   src/ngx_http_hydra_shm.c       the zone: registry shared by workers
 *   src/ngx_http_hydra_fleet.c     supervisor polls and health probes
 *   src/ngx_http_hydra_peer.c      the one-shot TCP exchanges they use
 *   src/ngx_http_hydra_api.c       hydra_api: /api/repos, passthrough
 *   src/ngx_http_hydra_aggregate.c aggregated views: fan-out and merge
 *   src/ngx_http_hydra_capture.c   the filters that capture their answers
 *   src/ngx_http_hydra_unreachable.c  a repo that did not answer: JSON
 *   src/ngx_http_hydra_reply.c     JSON answers and errors
 *   src/ngx_http_hydra_sessions.c  /api/sessions from sessions.jsonl files
 *   src/ngx_http_hydra_sfile.c     each worker's state of one such file
 *   src/ngx_http_hydra_events.c    hydra_events: /ws, its handshake
 *   src/ngx_http_hydra_browser.c   a browser's WebSocket, once detached
 *   src/ngx_http_hydra_fanout.c    each worker's side of the fan-out
 *   src/ngx_http_hydra_feed.c      one upstream WebSocket per repo
 *   src/ngx_http_hydra_upstream.c  hydra_balancer and the variables
 *   src/hydra_*.c                  nginx-free logic, unit-tested
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#if (NGX_LINUX)
#include <malloc.h>
#endif

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_shm.h"
#include "ngx_http_hydra_fleet.h"
#include "ngx_http_hydra_api.h"
#include "ngx_http_hydra_upstream.h"
#include "ngx_http_hydra_capture.h"
#include "ngx_http_hydra_unreachable.h"
#include "ngx_http_hydra_events.h"
#include "ngx_http_hydra_fanout.h"


#define NGX_HTTP_HYDRA_SUPERVISOR_INTERVAL  15000
#define NGX_HTTP_HYDRA_SUPERVISOR_TIMEOUT   2000
#define NGX_HTTP_HYDRA_PROBE_INTERVAL       5000
#define NGX_HTTP_HYDRA_PROBE_TIMEOUT        2000
#define NGX_HTTP_HYDRA_PROBE_URI            "/api/control/status"
#define NGX_HTTP_HYDRA_PASS                 "/_hydra/"
#define NGX_HTTP_HYDRA_TIMEOUT              2000
#define NGX_HTTP_HYDRA_MAX_RESPONSE         (4 * 1024 * 1024)

/* the worker's malloc keeps this much freed memory instead of trimming */
#define NGX_HTTP_HYDRA_MALLOC_TRIM          (32 * 1024 * 1024)
#define NGX_HTTP_HYDRA_MALLOC_MMAP          (4 * 1024 * 1024)
#define NGX_HTTP_HYDRA_EVENTS_HISTORY       8192


static void *ngx_http_hydra_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_hydra_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_hydra_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hydra_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_hydra_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_hydra_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_hydra_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_hydra_init_process(ngx_cycle_t *cycle);

static char *ngx_http_hydra_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_repo(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_supervisor(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_sessions(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_repo_sessions(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_probe(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_default_repo(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_events(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_events_origin(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hydra_set_handler(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_handler_pt handler);
static ngx_int_t ngx_http_hydra_parse_timing(ngx_conf_t *cf,
    ngx_str_t *value, ngx_msec_t *interval, ngx_msec_t *timeout);
static char *ngx_http_hydra_add_sessions_file(ngx_conf_t *cf,
    ngx_http_hydra_main_conf_t *hmcf, ngx_str_t *path);


static ngx_conf_num_bounds_t  ngx_http_hydra_events_history_bounds = {
    ngx_conf_check_num_bounds, 16, HYDRA_RING_SLOTS_MAX
};


static ngx_command_t  ngx_http_hydra_commands[] = {

    { ngx_string("hydra_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_hydra_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hydra_repo"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE23,
      ngx_http_hydra_repo,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hydra_supervisor"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_hydra_supervisor,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hydra_sessions"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hydra_sessions,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hydra_repo_sessions"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hydra_repo_sessions,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hydra_probe"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_hydra_probe,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hydra_balancer"),
      NGX_HTTP_UPS_CONF|NGX_CONF_NOARGS,
      ngx_http_hydra_balancer,
      0,
      0,
      NULL },

    { ngx_string("hydra_pass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hydra_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hydra_loc_conf_t, pass),
      NULL },

    { ngx_string("hydra_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hydra_loc_conf_t, timeout),
      NULL },

    { ngx_string("hydra_max_response_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hydra_loc_conf_t, max_response),
      NULL },

    { ngx_string("hydra_read_only"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hydra_loc_conf_t, read_only),
      NULL },

    { ngx_string("hydra_default_repo"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hydra_default_repo,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hydra_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hydra_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hydra_events"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hydra_events,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hydra_events_history"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hydra_main_conf_t, events_history),
      &ngx_http_hydra_events_history_bounds },

    { ngx_string("hydra_events_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hydra_events_origin,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hydra_module_ctx = {
    ngx_http_hydra_preconfiguration,       /* preconfiguration */
    ngx_http_hydra_postconfiguration,      /* postconfiguration */

    ngx_http_hydra_create_main_conf,       /* create main configuration */
    ngx_http_hydra_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hydra_create_loc_conf,        /* create location configuration */
    ngx_http_hydra_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_hydra_module = {
    NGX_MODULE_V1,
    &ngx_http_hydra_module_ctx,            /* module context */
    ngx_http_hydra_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_hydra_init_module,            /* init module */
    ngx_http_hydra_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_hydra_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hydra_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hmcf->shm_zone = NULL;
     *     hmcf->supervisor = NULL;
     *     hmcf->probe_uri = { 0, NULL };
     *     hmcf->sessions_pattern = { 0, NULL };
     */

    hmcf->repos = ngx_array_create(cf->pool, 4, sizeof(hydra_repo_spec_t));
    if (hmcf->repos == NULL) {
        return NULL;
    }

    hmcf->session_files = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
    if (hmcf->session_files == NULL) {
        return NULL;
    }

    hmcf->supervisor_interval = NGX_CONF_UNSET_MSEC;
    hmcf->supervisor_timeout = NGX_CONF_UNSET_MSEC;
    hmcf->probe_interval = NGX_CONF_UNSET_MSEC;
    hmcf->probe_timeout = NGX_CONF_UNSET_MSEC;
    hmcf->upstream_index = NGX_CONF_UNSET;
    hmcf->events_history = NGX_CONF_UNSET_UINT;

    return hmcf;
}


static char *
ngx_http_hydra_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_hydra_main_conf_t  *hmcf = conf;

    if (hmcf->shm_zone == NULL
        && (hmcf->repos->nelts > 0 || hmcf->supervisor != NULL))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hydra_repo and hydra_supervisor need a "
                           "\"hydra_zone\"");
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_msec_value(hmcf->supervisor_interval,
                             NGX_HTTP_HYDRA_SUPERVISOR_INTERVAL);
    ngx_conf_init_msec_value(hmcf->supervisor_timeout,
                             NGX_HTTP_HYDRA_SUPERVISOR_TIMEOUT);
    ngx_conf_init_msec_value(hmcf->probe_interval,
                             NGX_HTTP_HYDRA_PROBE_INTERVAL);
    ngx_conf_init_msec_value(hmcf->probe_timeout,
                             NGX_HTTP_HYDRA_PROBE_TIMEOUT);

    if (hmcf->probe_uri.data == NULL) {
        ngx_str_set(&hmcf->probe_uri, NGX_HTTP_HYDRA_PROBE_URI);
    }

    if (hmcf->supervisor_name.data == NULL) {
        ngx_str_set(&hmcf->supervisor_name, "");
    }

    ngx_conf_init_uint_value(hmcf->events_history,
                             NGX_HTTP_HYDRA_EVENTS_HISTORY);

    return ngx_http_hydra_zone_check(cf, hmcf);
}


static void *
ngx_http_hydra_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hydra_loc_conf_t  *hlcf;

    hlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hydra_loc_conf_t));
    if (hlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hlcf->pass = { 0, NULL };
     *     hlcf->default_repo = { 0, NULL };
     */

    hlcf->timeout = NGX_CONF_UNSET_MSEC;
    hlcf->max_response = NGX_CONF_UNSET_SIZE;
    hlcf->origins = NGX_CONF_UNSET_PTR;
    hlcf->read_only = NGX_CONF_UNSET;

    return hlcf;
}


static char *
ngx_http_hydra_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_hydra_loc_conf_t  *prev = parent;
    ngx_http_hydra_loc_conf_t  *conf = child;

    ngx_conf_merge_str_value(conf->pass, prev->pass, NGX_HTTP_HYDRA_PASS);
    ngx_conf_merge_str_value(conf->default_repo, prev->default_repo, "");
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout,
                              NGX_HTTP_HYDRA_TIMEOUT);
    ngx_conf_merge_size_value(conf->max_response, prev->max_response,
                              NGX_HTTP_HYDRA_MAX_RESPONSE);
    ngx_conf_merge_ptr_value(conf->origins, prev->origins, NULL);
    ngx_conf_merge_value(conf->read_only, prev->read_only, 0);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hydra_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_hydra_add_variables(cf);
}


static ngx_int_t
ngx_http_hydra_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_hydra_unreachable_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hydra_capture_init(cf);
}


/* in the master, before the workers fork: their wake-up socketpairs */

static ngx_int_t
ngx_http_hydra_init_module(ngx_cycle_t *cycle)
{
    return ngx_http_hydra_fanout_init_module(cycle);
}


static ngx_int_t
ngx_http_hydra_init_process(ngx_cycle_t *cycle)
{
#ifdef M_TRIM_THRESHOLD

    /*
     * Every aggregated view mallocs and frees some hundred kilobytes
     * (parsed bodies, the merged answer, nginx's own large pool blocks);
     * with glibc's defaults the freed top of the heap goes back to the
     * kernel each time and the next request faults it in again: 5% of
     * a worker's CPU, and a third of the view's cost over the bare
     * fetches.  Kept instead, up to this bound.
     */

    (void) mallopt(M_TRIM_THRESHOLD, NGX_HTTP_HYDRA_MALLOC_TRIM);
    (void) mallopt(M_MMAP_THRESHOLD, NGX_HTTP_HYDRA_MALLOC_MMAP);

#endif

    if (ngx_http_hydra_fanout_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_hydra_fleet_init_process(cycle);
}


/* hydra_zone name size; */

static char *
ngx_http_hydra_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hydra_main_conf_t  *hmcf = conf;

    ssize_t                 size;
    ngx_str_t              *value;
    ngx_http_hydra_zone_t  *zone;

    value = cf->args->elts;

    if (hmcf->shm_zone) {
        return "is duplicate";
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (sizeof(ngx_http_hydra_shctx_t) + 8 * ngx_pagesize))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small, it needs %uzk at least",
                           &value[1],
                           (sizeof(ngx_http_hydra_shctx_t)
                            + 8 * ngx_pagesize) / 1024 + 1);
        return NGX_CONF_ERROR;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_hydra_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->hmcf = hmcf;

    hmcf->shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                           &ngx_http_hydra_module);
    if (hmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (hmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    hmcf->shm_zone->init = ngx_http_hydra_init_zone;
    hmcf->shm_zone->data = zone;

    return NGX_CONF_OK;
}


/* hydra_repo slug address [sessions=path]; */

static char *
ngx_http_hydra_repo(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hydra_main_conf_t  *hmcf = conf;

    ngx_url_t           u;
    ngx_str_t          *value;
    ngx_uint_t          i;
    hydra_repo_spec_t  *spec, *specs;

    value = cf->args->elts;

    if (!hydra_slug_valid((char *) value[1].data, value[1].len)
        || hydra_slug_is_all((char *) value[1].data, value[1].len))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid repo slug \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    specs = hmcf->repos->elts;

    for (i = 0; i < hmcf->repos->nelts; i++) {
        if (ngx_strcmp(specs[i].name, value[1].data) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate repo \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[2];
    u.no_resolve = 0;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0
        || u.no_port)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid repo address \"%V\"%s%s", &value[2],
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 4) {
        if (ngx_strncmp(value[3].data, "sessions=", 9) != 0
            || value[3].len == 9)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[3]);
            return NGX_CONF_ERROR;
        }

        value[3].data += 9;
        value[3].len -= 9;

        if (ngx_http_hydra_add_sessions_file(cf, hmcf, &value[3])
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    spec = ngx_array_push(hmcf->repos);
    if (spec == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(spec, sizeof(hydra_repo_spec_t));

    ngx_memcpy(spec->name, value[1].data, value[1].len);
    ngx_memcpy(&spec->sockaddr, u.addrs[0].sockaddr, u.addrs[0].socklen);
    spec->socklen = u.addrs[0].socklen;
    spec->port = u.port;
    spec->running = 1;
    ngx_snprintf((u_char *) spec->dashboard_url, HYDRA_URL_SIZE - 1,
                 "http://%V", &u.addrs[0].name);

    return NGX_CONF_OK;
}


/* hydra_supervisor address [interval=time] [timeout=time]; */

static char *
ngx_http_hydra_supervisor(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hydra_main_conf_t  *hmcf = conf;

    ngx_url_t    u;
    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (hmcf->supervisor) {
        return "is duplicate";
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0
        || u.no_port)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid supervisor address \"%V\"%s%s",
                           &value[1], u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    hmcf->supervisor = &u.addrs[0];

    hmcf->supervisor_name.len = u.addrs[0].name.len;
    hmcf->supervisor_name.data = ngx_pnalloc(cf->pool,
                                             u.addrs[0].name.len + 1);
    if (hmcf->supervisor_name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(hmcf->supervisor_name.data, u.addrs[0].name.data,
                u.addrs[0].name.len + 1);

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_hydra_parse_timing(cf, &value[i],
                                        &hmcf->supervisor_interval,
                                        &hmcf->supervisor_timeout)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* hydra_sessions path; a sessions.jsonl read directly */

static char *
ngx_http_hydra_sessions(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hydra_main_conf_t  *hmcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    return ngx_http_hydra_add_sessions_file(cf, hmcf, &value[1]);
}


/* hydra_repo_sessions pattern; where each registry repo keeps its file */

static char *
ngx_http_hydra_repo_sessions(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hydra_main_conf_t  *hmcf = conf;

    ngx_str_t  *value;

    if (hmcf->sessions_pattern.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, &value[1], 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_strstr(value[1].data, "{slug}") == NULL
        && ngx_strstr(value[1].data, "{key}") == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hydra_repo_sessions \"%V\" names neither "
                           "{slug} nor {key}", &value[1]);
        return NGX_CONF_ERROR;
    }

    hmcf->sessions_pattern = value[1];

    return NGX_CONF_OK;
}


/* hydra_probe [interval=time] [timeout=time] [uri=uri]; */

static char *
ngx_http_hydra_probe(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hydra_main_conf_t  *hmcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (hmcf->probe_uri.data) {
        return "is duplicate";
    }

    ngx_str_set(&hmcf->probe_uri, NGX_HTTP_HYDRA_PROBE_URI);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "uri=/", 5) == 0) {
            hmcf->probe_uri.data = value[i].data + 4;
            hmcf->probe_uri.len = value[i].len - 4;

            /* the uri goes into a request line as it is */

            if (ngx_strlchr(hmcf->probe_uri.data,
                            hmcf->probe_uri.data + hmcf->probe_uri.len, ' ')
                == NULL
                && ngx_strlchr(hmcf->probe_uri.data,
                               hmcf->probe_uri.data + hmcf->probe_uri.len,
                               '\r') == NULL
                && ngx_strlchr(hmcf->probe_uri.data,
                               hmcf->probe_uri.data + hmcf->probe_uri.len,
                               '\n') == NULL)
            {
                continue;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_hydra_parse_timing(cf, &value[i], &hmcf->probe_interval,
                                        &hmcf->probe_timeout)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* hydra_pass uri; the internal location the module reaches repos through */

static char *
ngx_http_hydra_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hydra_loc_conf_t  *hlcf = conf;

    ngx_str_t  *value;

    if (hlcf->pass.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len < 2 || value[1].data[0] != '/'
        || value[1].data[value[1].len - 1] != '/')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hydra_pass \"%V\" must start and end with \"/\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    hlcf->pass = value[1];

    return NGX_CONF_OK;
}


/* hydra_default_repo slug | off; what a request without "repo" means */

static char *
ngx_http_hydra_default_repo(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hydra_loc_conf_t  *hlcf = conf;

    ngx_str_t  *value;

    if (hlcf->default_repo.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&hlcf->default_repo, "");
        return NGX_CONF_OK;
    }

    if (!hydra_slug_valid((char *) value[1].data, value[1].len)
        || hydra_slug_is_all((char *) value[1].data, value[1].len))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid repo slug \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    hlcf->default_repo = value[1];

    return NGX_CONF_OK;
}


/* hydra_api; the content handler of the API location */

static char *
ngx_http_hydra_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_hydra_set_handler(cf, cmd, ngx_http_hydra_api_handler);
}


/* hydra_events; the content handler of the WebSocket location */

static char *
ngx_http_hydra_events(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_hydra_set_handler(cf, cmd,
                                      ngx_http_hydra_events_handler);
}


/* hydra_events_origin origin ... | any; who may open /ws (default: same) */

static char *
ngx_http_hydra_events_origin(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hydra_loc_conf_t  *hlcf = conf;

    u_char      *p;
    ngx_str_t   *value, *origin;
    ngx_uint_t   i;

    if (hlcf->origins != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    hlcf->origins = ngx_array_create(cf->pool, cf->args->nelts,
                                     sizeof(ngx_str_t));
    if (hlcf->origins == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "any") == 0) {
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        /* "scheme://host[:port]", as browsers send it: no path */

        p = (u_char *) ngx_strstr(value[i].data, "://");

        if (p == NULL || p == value[i].data
            || p[3] == '\0' || ngx_strchr(p + 3, '/') != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\", expected "
                               "\"scheme://host[:port]\" or \"any\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        origin = ngx_array_push(hlcf->origins);
        if (origin == NULL) {
            return NGX_CONF_ERROR;
        }

        *origin = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_hydra_set_handler(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_handler_pt handler)
{
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hydra_module);

    if (hmcf->shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V needs a \"hydra_zone\" before it",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = handler;

    return NGX_CONF_OK;
}


/* "interval=time" or "timeout=time"; anything else is invalid */

static ngx_int_t
ngx_http_hydra_parse_timing(ngx_conf_t *cf, ngx_str_t *value,
    ngx_msec_t *interval, ngx_msec_t *timeout)
{
    ngx_int_t    ms;
    ngx_str_t    s;
    ngx_msec_t  *msec;

    if (ngx_strncmp(value->data, "interval=", 9) == 0) {
        s.data = value->data + 9;
        msec = interval;

    } else if (ngx_strncmp(value->data, "timeout=", 8) == 0) {
        s.data = value->data + 8;
        msec = timeout;

    } else {
        goto invalid;
    }

    s.len = value->len - (s.data - value->data);
    ms = ngx_parse_time(&s, 0);

    if (ms == NGX_ERROR || ms == 0) {
        goto invalid;
    }

    *msec = (ngx_msec_t) ms;

    return NGX_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", value);

    return NGX_ERROR;
}


static char *
ngx_http_hydra_add_sessions_file(ngx_conf_t *cf,
    ngx_http_hydra_main_conf_t *hmcf, ngx_str_t *path)
{
    ngx_str_t   *file, *files;
    ngx_uint_t   i;

    if (ngx_conf_full_name(cf->cycle, path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    files = hmcf->session_files->elts;

    for (i = 0; i < hmcf->session_files->nelts; i++) {
        if (files[i].len == path->len
            && ngx_strncmp(files[i].data, path->data, path->len) == 0)
        {
            return NGX_CONF_OK;
        }
    }

    file = ngx_array_push(hmcf->session_files);
    if (file == NULL) {
        return NGX_CONF_ERROR;
    }

    *file = *path;

    return NGX_CONF_OK;
}
