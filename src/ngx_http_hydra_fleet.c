
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_shm.h"
#include "ngx_http_hydra_peer.h"
#include "ngx_http_hydra_feed.h"
#include "hydra_supervisor.h"
#include "hydra_probe.h"


/* how often a worker looks for due jobs; cheap: one lock, one scan */
#define NGX_HTTP_HYDRA_TICK          200

/* a lease outlives its exchange's deadline by this much */
#define NGX_HTTP_HYDRA_LEASE_SLACK   1000

#define NGX_HTTP_HYDRA_PROBE_REQUEST 2048


typedef struct {
    hydra_probe_job_t            job;
    ngx_http_hydra_main_conf_t  *hmcf;
} ngx_http_hydra_probe_t;


static void ngx_http_hydra_tick(ngx_event_t *ev);
static void ngx_http_hydra_supervisor_poll(ngx_http_hydra_main_conf_t *hmcf,
    ngx_log_t *log);
static void ngx_http_hydra_supervisor_done(ngx_http_hydra_peer_t *peer);
static ngx_int_t ngx_http_hydra_supervisor_apply(
    ngx_http_hydra_main_conf_t *hmcf, ngx_http_hydra_peer_t *peer,
    const char **error);
static void ngx_http_hydra_supervisor_state(ngx_http_hydra_main_conf_t *hmcf,
    ngx_log_t *log, const char *error, ngx_uint_t nrepos);
static void ngx_http_hydra_probe_start(ngx_http_hydra_main_conf_t *hmcf,
    hydra_probe_job_t *job, ngx_log_t *log);
static void ngx_http_hydra_probe_done(ngx_http_hydra_peer_t *peer);


static ngx_event_t                  ngx_http_hydra_tick_event;
static ngx_connection_t             ngx_http_hydra_tick_conn;
static hydra_probe_job_t            ngx_http_hydra_jobs[HYDRA_REPOS_MAX];


ngx_int_t
ngx_http_hydra_fleet_init_process(ngx_cycle_t *cycle)
{
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hydra_module);

    if (hmcf == NULL || hmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    ngx_http_hydra_tick_conn.fd = (ngx_socket_t) -1;
    ngx_http_hydra_tick_conn.data = hmcf;

    ngx_http_hydra_tick_event.handler = ngx_http_hydra_tick;
    ngx_http_hydra_tick_event.data = &ngx_http_hydra_tick_conn;
    ngx_http_hydra_tick_event.log = cycle->log;
    ngx_http_hydra_tick_event.cancelable = 1;

    ngx_add_timer(&ngx_http_hydra_tick_event, 1);

    return NGX_OK;
}


static void
ngx_http_hydra_tick(ngx_event_t *ev)
{
    ngx_uint_t                   i, njobs, poll;
    hydra_clock_t                now;
    hydra_registry_t            *reg;
    ngx_connection_t            *c;
    ngx_http_hydra_zone_t       *zone;
    ngx_http_hydra_main_conf_t  *hmcf;

    c = ev->data;
    hmcf = c->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_http_hydra_feed_close_all();
        return;
    }

    zone = hmcf->shm_zone->data;
    reg = &zone->sh->registry;
    poll = 0;

    ngx_http_hydra_clock(&now);

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (hmcf->supervisor
        && reg->supervisor.due <= now.mono
        && reg->supervisor.busy <= now.mono)
    {
        reg->supervisor.due = now.mono + hmcf->supervisor_interval;
        reg->supervisor.busy = now.mono + hmcf->supervisor_timeout
                               + NGX_HTTP_HYDRA_LEASE_SLACK;
        poll = 1;
    }

    njobs = hydra_registry_due_probes(reg, &now, hmcf->probe_interval,
                                      hmcf->probe_timeout
                                      + NGX_HTTP_HYDRA_LEASE_SLACK,
                                      ngx_http_hydra_jobs, HYDRA_REPOS_MAX);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (poll) {
        ngx_http_hydra_supervisor_poll(hmcf, ev->log);
    }

    for (i = 0; i < njobs; i++) {
        ngx_http_hydra_probe_start(hmcf, &ngx_http_hydra_jobs[i], ev->log);
    }

    ngx_http_hydra_feed_tick(hmcf, ev->log);

    ngx_add_timer(ev, NGX_HTTP_HYDRA_TICK);
}


static void
ngx_http_hydra_supervisor_poll(ngx_http_hydra_main_conf_t *hmcf,
    ngx_log_t *log)
{
    ngx_http_hydra_peer_t  *peer;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "hydra supervisor poll %V", &hmcf->supervisor_name);

    peer = ngx_http_hydra_peer_create(log, HYDRA_SUPERVISOR_REPLY_MAX);
    if (peer == NULL) {
        ngx_http_hydra_supervisor_state(hmcf, log, "no memory", 0);
        return;
    }

    peer->pc.sockaddr = hmcf->supervisor->sockaddr;
    peer->pc.socklen = hmcf->supervisor->socklen;
    peer->pc.name = &hmcf->supervisor->name;
    peer->request.data = (u_char *) HYDRA_SUPERVISOR_LIST_REPOS;
    peer->request.len = sizeof(HYDRA_SUPERVISOR_LIST_REPOS) - 1;
    peer->timeout = hmcf->supervisor_timeout;
    peer->line = 1;
    peer->done = ngx_http_hydra_supervisor_done;
    peer->data = hmcf;

    ngx_http_hydra_peer_start(peer);
}


static void
ngx_http_hydra_supervisor_done(ngx_http_hydra_peer_t *peer)
{
    const char                  *error;
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = peer->data;
    error = peer->error;

    if (error == NULL
        && ngx_http_hydra_supervisor_apply(hmcf, peer, &error) == NGX_OK)
    {
        return;
    }

    ngx_http_hydra_supervisor_state(hmcf, peer->log, error, 0);
}


/*
 * A good answer replaces the supervisor's part of the registry; repos
 * are reached on the supervisor's host (children bind 127.0.0.1 beside
 * it; dashboard_url says "localhost", which we do not resolve at run
 * time).
 */

static ngx_int_t
ngx_http_hydra_supervisor_apply(ngx_http_hydra_main_conf_t *hmcf,
    ngx_http_hydra_peer_t *peer, const char **error)
{
    size_t                     i, dropped;
    uint64_t                   version;
    ngx_buf_t                 *b;
    ngx_uint_t                 nrepos, changed;
    hydra_clock_t              now;
    hydra_repo_spec_t         *specs;
    ngx_http_hydra_zone_t     *zone;
    hydra_supervisor_reply_t   reply;

    b = peer->response;
    *b->last = '\0';

    specs = ngx_palloc(peer->pool, sizeof(hydra_repo_spec_t)
                                   * HYDRA_REPOS_MAX);
    if (specs == NULL) {
        *error = "no memory";
        return NGX_ERROR;
    }

    if (hydra_supervisor_parse((const char *) b->pos, specs, HYDRA_REPOS_MAX,
                               &reply)
        != HYDRA_OK)
    {
        ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                      "hydra supervisor %V answered list_repos with "
                      "\"%*s\": %s", &hmcf->supervisor_name,
                      ngx_min(b->last - b->pos, 64), b->pos, reply.error);
        *error = "bad answer";
        return NGX_ERROR;
    }

    if (reply.skipped) {
        ngx_log_error(NGX_LOG_WARN, peer->log, 0,
                      "hydra supervisor %V: %uz repos in its answer were "
                      "not valid and are left out",
                      &hmcf->supervisor_name, reply.skipped);
    }

    for (i = 0; i < reply.nspecs; i++) {
        ngx_memcpy(&specs[i].sockaddr, hmcf->supervisor->sockaddr,
                   hmcf->supervisor->socklen);
        specs[i].socklen = hmcf->supervisor->socklen;
        (void) hydra_registry_set_port(&specs[i].sockaddr, specs[i].port);
    }

    zone = hmcf->shm_zone->data;
    ngx_http_hydra_clock(&now);

    ngx_shmtx_lock(&zone->shpool->mutex);

    version = zone->sh->registry.version;
    dropped = hydra_registry_apply(&zone->sh->registry,
                                   HYDRA_SOURCE_SUPERVISOR, specs,
                                   reply.nspecs, &now);
    changed = (zone->sh->registry.version != version);
    nrepos = zone->sh->registry.nrepos;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (changed) {
        ngx_http_hydra_feed_registry(hmcf, nrepos, peer->log);
    }

    if (dropped) {
        ngx_log_error(NGX_LOG_WARN, peer->log, 0,
                      "hydra zone holds %d repos at most, %uz repos of "
                      "supervisor %V left out", HYDRA_REPOS_MAX, dropped,
                      &hmcf->supervisor_name);
    }

    ngx_http_hydra_supervisor_state(hmcf, peer->log, NULL, reply.nspecs);

    return NGX_OK;
}


/* records the supervisor's state; a change of it is logged once */

static void
ngx_http_hydra_supervisor_state(ngx_http_hydra_main_conf_t *hmcf,
    ngx_log_t *log, const char *error, ngx_uint_t nrepos)
{
    hydra_clock_t              now;
    hydra_health_e             was;
    ngx_http_hydra_zone_t     *zone;
    hydra_supervisor_state_t  *sup;

    zone = hmcf->shm_zone->data;
    sup = &zone->sh->registry.supervisor;
    ngx_http_hydra_clock(&now);

    ngx_shmtx_lock(&zone->shpool->mutex);

    was = sup->health;
    sup->busy = 0;

    if (error == NULL) {
        sup->health = HYDRA_HEALTH_UP;
        sup->last_ok = now.wall;
        sup->last_error[0] = '\0';
        sup->nrepos = nrepos;

    } else {
        sup->health = HYDRA_HEALTH_DOWN;
        ngx_cpystrn((u_char *) sup->last_error, (u_char *) error,
                    HYDRA_ERROR_SIZE);
    }

    if (was != sup->health) {
        zone->sh->registry.version++;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (was == sup->health) {
        return;
    }

    if (error) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "hydra supervisor %V is down (%s), keeping the last "
                      "known repos", &hmcf->supervisor_name, error);

    } else {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "hydra supervisor %V is up, %ui repos",
                      &hmcf->supervisor_name, nrepos);
    }
}


static void
ngx_http_hydra_probe_start(ngx_http_hydra_main_conf_t *hmcf,
    hydra_probe_job_t *job, ngx_log_t *log)
{
    size_t                   len;
    u_char                  *uri;
    ngx_http_hydra_peer_t   *peer;
    ngx_http_hydra_probe_t  *probe;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "hydra probe %s", job->addr_text);

    peer = ngx_http_hydra_peer_create(log, HYDRA_PROBE_REPLY_MAX);
    if (peer == NULL) {
        return;
    }

    probe = ngx_palloc(peer->pool, sizeof(ngx_http_hydra_probe_t));
    if (probe == NULL) {
        ngx_destroy_pool(peer->pool);
        return;
    }

    probe->job = *job;
    probe->hmcf = hmcf;

    peer->request.data = ngx_pnalloc(peer->pool, NGX_HTTP_HYDRA_PROBE_REQUEST);
    if (peer->request.data == NULL) {
        ngx_destroy_pool(peer->pool);
        return;
    }

    uri = hmcf->probe_uri.data;
    len = hydra_probe_request((char *) peer->request.data,
                              NGX_HTTP_HYDRA_PROBE_REQUEST, (char *) uri,
                              probe->job.addr_text);
    if (len == 0) {
        ngx_destroy_pool(peer->pool);
        return;
    }

    peer->request.len = len;
    peer->pc.sockaddr = (struct sockaddr *) &probe->job.sockaddr;
    peer->pc.socklen = probe->job.socklen;
    peer->pc.name = ngx_palloc(peer->pool, sizeof(ngx_str_t));
    if (peer->pc.name == NULL) {
        ngx_destroy_pool(peer->pool);
        return;
    }

    peer->pc.name->data = (u_char *) probe->job.addr_text;
    peer->pc.name->len = ngx_strlen(probe->job.addr_text);
    peer->timeout = hmcf->probe_timeout;
    peer->done = ngx_http_hydra_probe_done;
    peer->data = probe;

    ngx_http_hydra_peer_start(peer);
}


static void
ngx_http_hydra_probe_done(ngx_http_hydra_peer_t *peer)
{
    ngx_buf_t               *b;
    ngx_int_t                changed;
    hydra_clock_t            now;
    hydra_probe_reply_t      reply;
    hydra_probe_result_t     res;
    ngx_http_hydra_zone_t   *zone;
    ngx_http_hydra_probe_t  *probe;

    probe = peer->data;
    b = peer->response;

    ngx_memzero(&res, sizeof(hydra_probe_result_t));
    res.latency_ms = peer->elapsed;

    if (peer->error) {
        res.error = peer->error;

    } else if (hydra_probe_parse((char *) b->pos, b->last - b->pos, 1,
                                 &reply)
               != HYDRA_OK)
    {
        res.error = reply.error;

    } else {
        res.up = 1;
        res.full_name = reply.full_name;
    }

    zone = probe->hmcf->shm_zone->data;
    ngx_http_hydra_clock(&now);

    ngx_shmtx_lock(&zone->shpool->mutex);
    changed = hydra_registry_probe_done(&zone->sh->registry, &probe->job,
                                        &res, &now);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (!changed) {
        return;
    }

    ngx_http_hydra_feed_repo_status(probe->hmcf, probe->job.id, peer->log);

    if (res.up) {
        ngx_log_error(NGX_LOG_NOTICE, peer->log, 0,
                      "hydra repo at %s is up%s%s", probe->job.addr_text,
                      res.full_name[0] ? ", " : "", res.full_name);

    } else {
        ngx_log_error(NGX_LOG_WARN, peer->log, 0,
                      "hydra repo at %s is down: %s",
                      probe->job.addr_text, res.error);
    }
}
