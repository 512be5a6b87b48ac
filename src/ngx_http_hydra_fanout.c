
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * Each worker's side of the all-repos fan-out (DESIGN.md, 5).
 *
 *   publish --push--> ring in hydra_zone --one byte--> each worker's pair
 *   worker: ring --copied once, under the lock--> cache of ready frames
 *           cache --a cursor per socket--> every browser of the worker
 *
 * The socketpairs are made by the master for each cycle, before the
 * workers fork.  A worker's cache holds the recent events as unmasked
 * text frames (header and JSON), made once and shared, refcounted, by
 * all its browsers; it is filled forward on each wake-up, and backward
 * from the ring for a browser that wants older events, at most as much
 * as the ring holds.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_shm.h"
#include "ngx_http_hydra_browser.h"
#include "ngx_http_hydra_fanout.h"
#include "hydra_event.h"
#include "hydra_ring.h"
#include "hydra_ws.h"


#define NGX_HTTP_HYDRA_COPY_SIZE        (256 * 1024)
#define NGX_HTTP_HYDRA_COPY_MAX         256   /* events a copy */
#define NGX_HTTP_HYDRA_GAP_SIZE         512
#define NGX_HTTP_HYDRA_CHECK            1000  /* ms, the safety net */


/* the workers' wake-up socketpairs, made in the master for a cycle */
typedef struct {
    ngx_uint_t                   n;
    ngx_socket_t                *fds;     /* [2i] read, [2i + 1] write */
} ngx_http_hydra_channels_t;


/* what a worker keeps: its sockets, and the frames of recent events */
typedef struct {
    ngx_http_hydra_main_conf_t  *hmcf;
    ngx_connection_t            *wake;
    ngx_event_t                  check;   /* the safety net's timer */
    ngx_queue_t                  clients;
    ngx_http_hydra_frame_t     **frames;  /* id & mask */
    uint64_t                     mask;
    uint64_t                     first;   /* the oldest cached id */
    uint64_t                     next;    /* after the newest */
    size_t                       bytes;
    size_t                       max_bytes;
    char                        *copy;    /* hydra_ring_copy()'s */
    size_t                       copy_size;
    hydra_ring_copied_t         *copied;
    ngx_http_hydra_frame_t     **batch;   /* the frames of a copy */
} ngx_http_hydra_worker_t;


static void ngx_http_hydra_channels_close(void *data);
static void ngx_http_hydra_events_wake(ngx_event_t *rev);
static void ngx_http_hydra_events_check_ring(ngx_event_t *ev);
static void ngx_http_hydra_events_deliver(ngx_http_hydra_worker_t *w);
static ngx_uint_t ngx_http_hydra_fanout_wants(ngx_http_hydra_client_t *cl,
    ngx_http_hydra_frame_t *f);
static ngx_http_hydra_frame_t *ngx_http_hydra_gap(uint64_t from, uint64_t to,
    ngx_log_t *log);
static void ngx_http_hydra_cache_update(ngx_http_hydra_worker_t *w);
static void ngx_http_hydra_cache_backfill(ngx_http_hydra_worker_t *w,
    uint64_t from);
static ngx_uint_t ngx_http_hydra_cache_copy(ngx_http_hydra_worker_t *w,
    uint64_t from, uint64_t to);
static void ngx_http_hydra_cache_evict(ngx_http_hydra_worker_t *w);
static void ngx_http_hydra_fanout_cleanup(void *data);


static ngx_http_hydra_worker_t  *ngx_http_hydra_worker;


/*
 * In the master, for each cycle: a socketpair per worker, closed with the
 * cycle's pool (so the master closes the old cycle's on a reload).
 */

ngx_int_t
ngx_http_hydra_fanout_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i, n;
    ngx_socket_t                 fds[2];
    ngx_core_conf_t             *ccf;
    ngx_pool_cleanup_t          *cln;
    ngx_http_hydra_channels_t   *ch;
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hydra_module);

    if (hmcf == NULL || hmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);
    n = (ccf->worker_processes > 0) ? ccf->worker_processes : 1;

    ch = ngx_palloc(cycle->pool, sizeof(ngx_http_hydra_channels_t));
    if (ch == NULL) {
        return NGX_ERROR;
    }

    ch->fds = ngx_palloc(cycle->pool, 2 * n * sizeof(ngx_socket_t));
    if (ch->fds == NULL) {
        return NGX_ERROR;
    }

    ch->n = 0;

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hydra_channels_close;
    cln->data = ch;

    for (i = 0; i < n; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                          "hydra events: socketpair() failed");
            return NGX_ERROR;
        }

        ch->fds[2 * i] = fds[0];
        ch->fds[2 * i + 1] = fds[1];
        ch->n++;

        if (ngx_nonblocking(fds[0]) == -1
            || ngx_nonblocking(fds[1]) == -1
            || fcntl(fds[0], F_SETFD, FD_CLOEXEC) == -1
            || fcntl(fds[1], F_SETFD, FD_CLOEXEC) == -1)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                          "hydra events: setting up a socketpair failed");
            return NGX_ERROR;
        }
    }

    hmcf->channels = ch;

    return NGX_OK;
}


static void
ngx_http_hydra_channels_close(void *data)
{
    ngx_http_hydra_channels_t  *ch = data;

    ngx_uint_t  i;

    for (i = 0; i < 2 * ch->n; i++) {
        (void) ngx_close_socket(ch->fds[i]);
    }

    ch->n = 0;
}


/* in each worker: watch its own pair, and set up its cache */

ngx_int_t
ngx_http_hydra_fanout_init_process(ngx_cycle_t *cycle)
{
    uint64_t                     nslots;
    ngx_connection_t            *c;
    ngx_pool_cleanup_t          *cln;
    ngx_http_hydra_zone_t       *zone;
    ngx_http_hydra_worker_t     *w;
    ngx_http_hydra_channels_t   *ch;
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hydra_module);

    if (hmcf == NULL || hmcf->channels == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    ch = hmcf->channels;

    if (ngx_worker >= ch->n) {
        return NGX_OK;
    }

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_hydra_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    /* the cache and its copy buffer are malloc'd: freed with the cycle */

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hydra_fanout_cleanup;
    cln->data = w;

    w->hmcf = hmcf;
    ngx_queue_init(&w->clients);

    zone = hmcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    nslots = zone->sh->ring->nslots;
    w->max_bytes = zone->sh->ring->data_size;
    w->first = hydra_ring_next(zone->sh->ring);
    w->next = w->first;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    w->mask = nslots - 1;
    w->max_bytes += nslots * HYDRA_WS_HEADER_MAX;
    w->copy_size = ngx_min(NGX_HTTP_HYDRA_COPY_SIZE, w->max_bytes);

    w->frames = ngx_pcalloc(cycle->pool,
                            nslots * sizeof(ngx_http_hydra_frame_t *));
    w->copy = ngx_alloc(w->copy_size, cycle->log);
    w->copied = ngx_palloc(cycle->pool, NGX_HTTP_HYDRA_COPY_MAX
                                        * sizeof(hydra_ring_copied_t));
    w->batch = ngx_palloc(cycle->pool, NGX_HTTP_HYDRA_COPY_MAX
                                       * sizeof(ngx_http_hydra_frame_t *));

    if (w->frames == NULL || w->copy == NULL || w->copied == NULL
        || w->batch == NULL)
    {
        return NGX_ERROR;
    }

    c = ngx_get_connection(ch->fds[2 * ngx_worker], cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = w;
    c->read->handler = ngx_http_hydra_events_wake;
    c->read->log = cycle->log;

    /* not a client: left open at a graceful exit without an alert */
    c->read->channel = 1;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    w->wake = c;
    ngx_http_hydra_worker = w;

    /*
     * A safety net, not the way events come: what a worker of the
     * previous cycle publishes during a reload wakes only its own cycle.
     */

    w->check.handler = ngx_http_hydra_events_check_ring;
    w->check.data = w;
    w->check.log = cycle->log;
    w->check.cancelable = 1;

    ngx_add_timer(&w->check, NGX_HTTP_HYDRA_CHECK);

    return NGX_OK;
}


/* one byte to each worker, the caller's included; a full pair is awake */

void
ngx_http_hydra_fanout_notify(ngx_http_hydra_main_conf_t *hmcf, ngx_log_t *log)
{
    ngx_err_t                   err;
    ngx_uint_t                  i;
    ngx_http_hydra_channels_t  *ch;

    ch = hmcf->channels;

    for (i = 0; ch != NULL && i < ch->n; i++) {
        if (write(ch->fds[2 * i + 1], "", 1) == -1) {
            err = ngx_socket_errno;

            if (err != NGX_EAGAIN && err != NGX_EINTR) {
                ngx_log_error(NGX_LOG_ERR, log, err,
                              "hydra events: write() to worker %ui failed",
                              i);
            }
        }
    }
}


/* new events: into the cache once, then to every socket that can take */

static void
ngx_http_hydra_events_wake(ngx_event_t *rev)
{
    u_char                    buf[64];
    ssize_t                   n;
    ngx_err_t                 err;
    ngx_connection_t         *c;
    ngx_http_hydra_worker_t  *w;

    c = rev->data;
    w = c->data;

    for ( ;; ) {
        n = recv(c->fd, buf, sizeof(buf), 0);

        if (n > 0) {
            continue;
        }

        if (n == -1) {
            err = ngx_socket_errno;

            if (err == NGX_EINTR) {
                continue;
            }

            if (err != NGX_EAGAIN) {
                ngx_log_error(NGX_LOG_ALERT, rev->log, err,
                              "hydra events: recv() failed");
            }
        }

        break;
    }

    rev->ready = 0;

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        return;
    }

    ngx_http_hydra_events_deliver(w);
}


static void
ngx_http_hydra_events_check_ring(ngx_event_t *ev)
{
    ngx_http_hydra_worker_t  *w;

    w = ev->data;

    if (ngx_exiting || ngx_terminate) {
        return;
    }

    if (!ngx_queue_empty(&w->clients)) {
        ngx_http_hydra_events_deliver(w);
    }

    ngx_add_timer(ev, NGX_HTTP_HYDRA_CHECK);
}


static void
ngx_http_hydra_events_deliver(ngx_http_hydra_worker_t *w)
{
    ngx_queue_t              *q, *next;
    ngx_http_hydra_client_t  *cl;

    ngx_http_hydra_cache_update(w);

    for (q = ngx_queue_head(&w->clients);
         q != ngx_queue_sentinel(&w->clients);
         q = next)
    {
        next = ngx_queue_next(q);
        cl = ngx_queue_data(q, ngx_http_hydra_client_t, queue);

        if (cl->frame == NULL && cl->next < w->next) {
            ngx_http_hydra_browser_write(cl);
        }
    }
}


/* a browser joins this worker's fan-out: its place and its cursor */

ngx_int_t
ngx_http_hydra_fanout_join(ngx_http_hydra_client_t *cl)
{
    uint64_t                  oldest, next;
    hydra_ring_t             *ring;
    ngx_connection_t         *c;
    ngx_http_hydra_zone_t    *zone;
    ngx_http_hydra_worker_t  *w;

    w = ngx_http_hydra_worker;
    c = cl->connection;

    if (w == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_insert_tail(&w->clients, &cl->queue);
    cl->attached = 1;

    /* where it starts: the oldest the ring holds, or after since */

    zone = w->hmcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    ring = zone->sh->ring;
    oldest = hydra_ring_oldest(ring);
    next = hydra_ring_next(ring);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (!cl->resume) {
        cl->next = oldest;

    } else if (cl->since >= next) {

        /* an id this ring never gave: everything, after a gap */

        cl->next = oldest;
        cl->frame = ngx_http_hydra_gap(cl->since + 1, 0, c->log);

    } else {
        cl->next = cl->since + 1;
    }

    ngx_http_hydra_cache_update(w);

    return NGX_OK;
}


void
ngx_http_hydra_fanout_leave(ngx_http_hydra_client_t *cl)
{
    if (cl->attached) {
        ngx_queue_remove(&cl->queue);
        cl->attached = 0;
    }
}


/*
 * The next event frame due to a browser, a ref taken, past what its
 * filters refuse; a gap first when what it wants is gone.  NULL: none yet.
 */

ngx_http_hydra_frame_t *
ngx_http_hydra_fanout_next(ngx_http_hydra_client_t *cl)
{
    uint64_t                  from;
    ngx_http_hydra_frame_t   *f;
    ngx_http_hydra_worker_t  *w;

    w = ngx_http_hydra_worker;

    for ( ;; ) {

        if (cl->next >= w->next) {
            return NULL;
        }

        if (cl->next < w->first) {
            ngx_http_hydra_cache_backfill(w, cl->next);

            if (cl->next < w->first) {

                /* gone from the ring, or from this worker's cache */

                from = cl->next;
                cl->next = w->first;

                f = ngx_http_hydra_gap(from, w->first - 1,
                                       cl->connection->log);
                if (f != NULL) {
                    return f;
                }

                continue;
            }
        }

        f = w->frames[cl->next & w->mask];
        cl->next++;

        if (f != NULL && ngx_http_hydra_fanout_wants(cl, f)) {
            f->refs++;
            return f;
        }
    }
}


static ngx_uint_t
ngx_http_hydra_fanout_wants(ngx_http_hydra_client_t *cl,
    ngx_http_hydra_frame_t *f)
{
    ngx_uint_t  i;

    if (cl->types != NULL && !hydra_event_types_match(cl->types, f->type)) {
        return 0;
    }

    if (cl->repos == NULL || f->repo == 0) {
        return 1;
    }

    for (i = 0; i < cl->nrepos; i++) {
        if (cl->repos[i] == f->repo) {
            return 1;
        }
    }

    return 0;
}


/*
 * {"id":<to>,"repo":null,"type":"gap",...,"data":{"from":F,"to":T,
 * "missed":N}}: the ids this socket will never get; to 0: not known.
 */

static ngx_http_hydra_frame_t *
ngx_http_hydra_gap(uint64_t from, uint64_t to, ngx_log_t *log)
{
    u_char                   *p;
    size_t                    len, rest_len;
    ngx_tm_t                  tm;
    ngx_time_t               *tp;
    ngx_http_hydra_frame_t   *f;
    char                      data[128];
    char                      stamp[HYDRA_EVENT_TIME_SIZE];
    char                      rest[NGX_HTTP_HYDRA_GAP_SIZE];
    u_char                    json[NGX_HTTP_HYDRA_GAP_SIZE];

    if (to != 0) {
        p = ngx_snprintf((u_char *) data, sizeof(data) - 1,
                         "{\"from\":%uL,\"to\":%uL,\"missed\":%uL}",
                         from, to, to - from + 1);

    } else {
        p = ngx_snprintf((u_char *) data, sizeof(data) - 1,
                         "{\"from\":%uL,\"to\":null,\"missed\":null}",
                         from);
    }

    *p = '\0';

    tp = ngx_timeofday();
    ngx_gmtime(tp->sec, &tm);

    p = ngx_snprintf((u_char *) stamp, sizeof(stamp) - 1,
                     "%4d-%02d-%02dT%02d:%02d:%02d.%03M+00:00",
                     tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                     tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec, tp->msec);
    *p = '\0';

    if (hydra_event_make("gap", NULL, stamp, data, rest, sizeof(rest),
                         &rest_len)
        != HYDRA_OK)
    {
        return NULL;
    }

    len = hydra_ring_head((char *) json, to != 0 ? to : from - 1);
    ngx_memcpy(json + len, rest, rest_len);

    f = ngx_http_hydra_frame(HYDRA_WS_TEXT, json, len + rest_len, log);
    if (f == NULL) {
        return NULL;
    }

    ngx_cpystrn((u_char *) f->type, (u_char *) "gap", HYDRA_RING_TYPE_SIZE);

    return f;
}


/* the events the ring has beyond the cache, appended */

static void
ngx_http_hydra_cache_update(ngx_http_hydra_worker_t *w)
{
    uint64_t                 next;
    ngx_uint_t               i, n;
    ngx_http_hydra_zone_t   *zone;
    ngx_http_hydra_frame_t  *f;

    zone = w->hmcf->shm_zone->data;

    for ( ;; ) {
        ngx_shmtx_lock(&zone->shpool->mutex);
        next = hydra_ring_next(zone->sh->ring);
        ngx_shmtx_unlock(&zone->shpool->mutex);

        if (w->next >= next) {
            return;
        }

        n = ngx_http_hydra_cache_copy(w, w->next, next);

        if (n == 0) {
            return;
        }

        /* behind the ring itself: the cache starts again from its oldest */

        if (w->batch[0]->id != w->next) {
            while (w->first < w->next) {
                ngx_http_hydra_cache_evict(w);
            }

            w->first = w->batch[0]->id;
            w->next = w->first;
        }

        for (i = 0; i < n; i++) {
            f = w->batch[i];

            while (w->next - w->first > w->mask
                   || (w->bytes + f->len > w->max_bytes
                       && w->first < w->next))
            {
                ngx_http_hydra_cache_evict(w);
            }

            w->frames[f->id & w->mask] = f;
            w->next = f->id + 1;
            w->bytes += f->len;
        }
    }
}


/*
 * A socket wants ids before the cache's first: what the ring still has
 * of them is copied in, newest first, as far as the cache has room.
 */

static void
ngx_http_hydra_cache_backfill(ngx_http_hydra_worker_t *w, uint64_t from)
{
    uint64_t                  to, room, c;
    ngx_uint_t                i, n, nkept;
    ngx_http_hydra_frame_t   *f, **kept;

    to = w->first;
    room = (w->mask + 1) - (w->next - w->first);

    if (from >= to || room == 0) {
        return;
    }

    if (to - from > room) {
        from = to - room;
    }

    kept = ngx_alloc((to - from) * sizeof(ngx_http_hydra_frame_t *),
                     ngx_cycle->log);
    if (kept == NULL) {
        return;
    }

    nkept = 0;

    for (c = from; c < to; c = w->batch[n - 1]->id + 1) {
        n = ngx_http_hydra_cache_copy(w, c, to);

        if (n == 0) {
            break;
        }

        /* the ring moved on meanwhile: only a run up to "to" is kept */

        if (w->batch[0]->id != c) {
            while (nkept > 0) {
                ngx_http_hydra_frame_unref(kept[--nkept]);
            }
        }

        for (i = 0; i < n; i++) {
            kept[nkept++] = w->batch[i];
        }
    }

    if (nkept == 0 || kept[nkept - 1]->id != to - 1) {
        while (nkept > 0) {
            ngx_http_hydra_frame_unref(kept[--nkept]);
        }

        ngx_free(kept);
        return;
    }

    while (nkept > 0) {
        f = kept[--nkept];

        if (w->bytes + f->len > w->max_bytes) {
            ngx_http_hydra_frame_unref(f);

            while (nkept > 0) {
                ngx_http_hydra_frame_unref(kept[--nkept]);
            }

            break;
        }

        w->frames[f->id & w->mask] = f;
        w->first = f->id;
        w->bytes += f->len;
    }

    ngx_free(kept);
}


/*
 * Up to NGX_HTTP_HYDRA_COPY_MAX consecutive events from "from" (or the
 * oldest the ring has), before "to", copied out under the lock and made
 * frames without it, into w->batch.  Returns how many.
 */

static ngx_uint_t
ngx_http_hydra_cache_copy(ngx_http_hydra_worker_t *w, uint64_t from,
    uint64_t to)
{
    char                    *copy;
    size_t                   max;
    ngx_uint_t               i, n;
    hydra_ring_copied_t     *e;
    ngx_http_hydra_zone_t   *zone;
    ngx_http_hydra_frame_t  *f;

    zone = w->hmcf->shm_zone->data;
    max = ngx_min(to - from, NGX_HTTP_HYDRA_COPY_MAX);

    ngx_shmtx_lock(&zone->shpool->mutex);

    n = hydra_ring_copy(zone->sh->ring, from, w->copy, w->copy_size,
                        w->copied, max);

    if (n == 0 && from < hydra_ring_next(zone->sh->ring)
        && w->copy_size < zone->sh->ring->data_size)
    {
        /* an event larger than the buffer: one of the ring's size */

        copy = ngx_alloc(zone->sh->ring->data_size, ngx_cycle->log);

        if (copy != NULL) {
            ngx_free(w->copy);
            w->copy = copy;
            w->copy_size = zone->sh->ring->data_size;

            n = hydra_ring_copy(zone->sh->ring, from, w->copy, w->copy_size,
                                w->copied, max);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    for (i = 0; i < n; i++) {
        e = &w->copied[i];

        f = ngx_http_hydra_frame(HYDRA_WS_TEXT, (u_char *) w->copy + e->off,
                                 e->len, ngx_cycle->log);
        if (f == NULL) {
            break;
        }

        f->id = e->id;
        f->repo = e->repo;
        ngx_memcpy(f->type, e->type, HYDRA_RING_TYPE_SIZE);

        w->batch[i] = f;
    }

    return i;
}


static void
ngx_http_hydra_cache_evict(ngx_http_hydra_worker_t *w)
{
    ngx_http_hydra_frame_t  **slot;

    slot = &w->frames[w->first & w->mask];

    if (*slot != NULL) {
        w->bytes -= (*slot)->len;
        ngx_http_hydra_frame_unref(*slot);
        *slot = NULL;
    }

    w->first++;
}


static void
ngx_http_hydra_fanout_cleanup(void *data)
{
    ngx_http_hydra_worker_t  *w = data;

    while (w->first < w->next) {
        ngx_http_hydra_cache_evict(w);
    }

    if (w->copy != NULL) {
        ngx_free(w->copy);
        w->copy = NULL;
    }

    if (ngx_http_hydra_worker == w) {
        ngx_http_hydra_worker = NULL;
    }
}
