
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_sha1.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_shm.h"
#include "ngx_http_hydra_events.h"
#include "ngx_http_hydra_feed.h"
#include "hydra_ws.h"
#include "hydra_event.h"
#include "hydra_json.h"


/* a feed's lease, renewed by its owner on every tick */
#define NGX_HTTP_HYDRA_FEED_LEASE      5000

/* connect, upgrade request and 101, at most */
#define NGX_HTTP_HYDRA_FEED_HANDSHAKE  10000

/*
 * No byte for this long: the repo or the way to it is gone.  HydraFlow
 * has no heartbeat of its own; uvicorn pings every 20 s or so.
 */
#define NGX_HTTP_HYDRA_FEED_IDLE       75000

/* what one recv() may take; a handshake answer must fit in it */
#define NGX_HTTP_HYDRA_FEED_BUFFER     65536

/* our own frames: pongs and a close, 139 bytes at most each */
#define NGX_HTTP_HYDRA_FEED_OUT        4096

/* the longest message a repo may send, all its fragments */
#define NGX_HTTP_HYDRA_FEED_MESSAGE    (4 * 1024 * 1024)

/* a module event: a key, a status and an error, and their frame */
#define NGX_HTTP_HYDRA_FEED_NOTICE     2048

#define NGX_HTTP_HYDRA_FEED_KEY_RAW    16


typedef enum {
    NGX_HTTP_HYDRA_FEED_FAILED = 0,  /* connect again after the backoff */
    NGX_HTTP_HYDRA_FEED_RELEASE,     /* anyone may connect at once */
    NGX_HTTP_HYDRA_FEED_LOST         /* not ours any more: touch nothing */
} ngx_http_hydra_feed_end_e;


/* one repo's /ws, in the worker that owns it */

typedef struct {
    ngx_queue_t                  queue;
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_peer_connection_t        pc;
    ngx_str_t                    name;       /* the repo's address */
    hydra_feed_job_t             job;        /* key: renewed every tick */
    ngx_http_hydra_main_conf_t  *hmcf;

    ngx_buf_t                   *in;         /* what came, unparsed */
    ngx_buf_t                   *out;        /* our frames, unsent */
    u_char                       key[HYDRA_WS_KEY_LEN + 1];
    hydra_ws_parser_t            parser;

    u_char                      *msg;        /* a text message, malloc */
    size_t                       msg_len;
    size_t                       msg_size;
    char                        *rest;       /* it tagged, malloc */
    size_t                       rest_size;

    ngx_uint_t                   taken;
    ngx_uint_t                   seen;       /* skipped: taken before */
    ngx_uint_t                   invalid;    /* skipped: not events */

    unsigned                     open:1;     /* the 101 came */
    unsigned                     drop:1;     /* its lease is gone */
} ngx_http_hydra_feed_t;


static void ngx_http_hydra_feed_start(ngx_http_hydra_main_conf_t *hmcf,
    hydra_feed_job_t *job, ngx_log_t *log);
static ngx_int_t ngx_http_hydra_feed_request(ngx_http_hydra_feed_t *feed);
static void ngx_http_hydra_feed_write(ngx_event_t *wev);
static void ngx_http_hydra_feed_read(ngx_event_t *rev);
static ngx_int_t ngx_http_hydra_feed_handshake(ngx_http_hydra_feed_t *feed);
static ngx_int_t ngx_http_hydra_feed_frames(ngx_http_hydra_feed_t *feed);
static ngx_int_t ngx_http_hydra_feed_message(ngx_http_hydra_feed_t *feed);
static ngx_int_t ngx_http_hydra_feed_append(ngx_http_hydra_feed_t *feed,
    const u_char *data, size_t len);
static ngx_int_t ngx_http_hydra_feed_rest(ngx_http_hydra_feed_t *feed,
    size_t size);
static ngx_int_t ngx_http_hydra_feed_send(ngx_http_hydra_feed_t *feed,
    int opcode, const u_char *data, size_t len);
static ngx_int_t ngx_http_hydra_feed_flush(ngx_http_hydra_feed_t *feed);
static void ngx_http_hydra_feed_end(ngx_http_hydra_feed_t *feed,
    ngx_http_hydra_feed_end_e end, const char *reason);
static void ngx_http_hydra_feed_release(ngx_http_hydra_main_conf_t *hmcf,
    uint32_t id, ngx_uint_t failed);
static void ngx_http_hydra_feed_cleanup(void *data);
static void ngx_http_hydra_feed_notice(ngx_http_hydra_main_conf_t *hmcf,
    yajl_gen g, const char *type, const char *key, uint32_t id,
    ngx_log_t *log);


static ngx_queue_t        ngx_http_hydra_feeds;
static hydra_feed_job_t   ngx_http_hydra_feed_jobs[HYDRA_REPOS_MAX];


/*
 * Called from the fleet tick: renews the leases of this worker's feeds,
 * closes those it lost (the repo moved, stopped, or another worker took
 * over), and connects the feeds that are due.
 */

void
ngx_http_hydra_feed_tick(ngx_http_hydra_main_conf_t *hmcf, ngx_log_t *log)
{
    ngx_uint_t              i, n;
    ngx_queue_t            *q, *next;
    hydra_clock_t           now;
    hydra_registry_t       *reg;
    ngx_http_hydra_zone_t  *zone;
    ngx_http_hydra_feed_t  *feed;

    if (ngx_http_hydra_feeds.next == NULL) {
        ngx_queue_init(&ngx_http_hydra_feeds);
    }

    zone = hmcf->shm_zone->data;
    reg = &zone->sh->registry;

    ngx_http_hydra_clock(&now);

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (q = ngx_queue_head(&ngx_http_hydra_feeds);
         q != ngx_queue_sentinel(&ngx_http_hydra_feeds);
         q = ngx_queue_next(q))
    {
        feed = ngx_queue_data(q, ngx_http_hydra_feed_t, queue);

        if (hydra_registry_feed_renew(reg, &feed->job, (int64_t) ngx_pid,
                                      &now, NGX_HTTP_HYDRA_FEED_LEASE)
            != HYDRA_OK)
        {
            feed->drop = 1;
        }
    }

    n = hydra_registry_due_feeds(reg, &now, (int64_t) ngx_pid,
                                 NGX_HTTP_HYDRA_FEED_LEASE,
                                 ngx_http_hydra_feed_jobs, HYDRA_REPOS_MAX);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    for (q = ngx_queue_head(&ngx_http_hydra_feeds);
         q != ngx_queue_sentinel(&ngx_http_hydra_feeds);
         q = next)
    {
        next = ngx_queue_next(q);
        feed = ngx_queue_data(q, ngx_http_hydra_feed_t, queue);

        if (feed->drop) {
            ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_LOST,
                                    "the repo moved or stopped, or another "
                                    "worker holds it");
        }
    }

    for (i = 0; i < n; i++) {
        ngx_http_hydra_feed_start(hmcf, &ngx_http_hydra_feed_jobs[i], log);
    }
}


/* the worker exits: its feeds go, free for the next workers at once */

void
ngx_http_hydra_feed_close_all(void)
{
    ngx_queue_t            *q;
    ngx_http_hydra_feed_t  *feed;

    if (ngx_http_hydra_feeds.next == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_hydra_feeds)) {
        q = ngx_queue_head(&ngx_http_hydra_feeds);
        feed = ngx_queue_data(q, ngx_http_hydra_feed_t, queue);

        ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_RELEASE,
                                "the worker exits");
    }
}


/* a repo's health changed: a repo_status event */

void
ngx_http_hydra_feed_repo_status(ngx_http_hydra_main_conf_t *hmcf,
    uint32_t id, ngx_log_t *log)
{
    yajl_gen                g;
    ngx_uint_t              found;
    hydra_repo_t            repo;
    const hydra_repo_t     *r;
    ngx_http_hydra_zone_t  *zone;

    zone = hmcf->shm_zone->data;
    found = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    r = hydra_registry_by_id(&zone->sh->registry, id);

    if (r != NULL) {
        repo = *r;
        found = 1;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (!found) {
        return;
    }

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return;
    }

    if (hydra_json_repo_status(g, &repo) == HYDRA_OK) {
        ngx_http_hydra_feed_notice(hmcf, g, "repo_status", repo.key, id,
                                   log);
    }

    yajl_gen_free(g);
}


/* the supervisor's list changed the registry: a registry event */

void
ngx_http_hydra_feed_registry(ngx_http_hydra_main_conf_t *hmcf,
    ngx_uint_t nrepos, ngx_log_t *log)
{
    yajl_gen  g;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return;
    }

    if (hydra_json_registry_size(g, nrepos) == HYDRA_OK) {
        ngx_http_hydra_feed_notice(hmcf, g, "registry", NULL, 0, log);
    }

    yajl_gen_free(g);
}


static void
ngx_http_hydra_feed_start(ngx_http_hydra_main_conf_t *hmcf,
    hydra_feed_job_t *job, ngx_log_t *log)
{
    ngx_int_t               rc;
    ngx_pool_t             *pool;
    ngx_connection_t       *c;
    ngx_pool_cleanup_t     *cln;
    ngx_http_hydra_feed_t  *feed;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "hydra feed connect %s of %s", job->addr_text, job->key);

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, log);
    if (pool == NULL) {
        ngx_http_hydra_feed_release(hmcf, job->id, 1);
        return;
    }

    feed = ngx_pcalloc(pool, sizeof(ngx_http_hydra_feed_t));
    if (feed == NULL) {
        ngx_destroy_pool(pool);
        ngx_http_hydra_feed_release(hmcf, job->id, 1);
        return;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        ngx_destroy_pool(pool);
        ngx_http_hydra_feed_release(hmcf, job->id, 1);
        return;
    }

    cln->handler = ngx_http_hydra_feed_cleanup;
    cln->data = feed;

    feed->pool = pool;
    feed->log = log;
    feed->hmcf = hmcf;
    feed->job = *job;
    feed->name.data = (u_char *) feed->job.addr_text;
    feed->name.len = ngx_strlen(feed->job.addr_text);

    /* from here on, whatever happens goes through feed_end() */

    ngx_queue_insert_tail(&ngx_http_hydra_feeds, &feed->queue);

    if (ngx_http_hydra_feed_request(feed) != NGX_OK) {
        ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                "no memory");
        return;
    }

    hydra_ws_parser_init(&feed->parser, HYDRA_WS_CLIENT,
                         NGX_HTTP_HYDRA_FEED_MESSAGE);

    feed->pc.sockaddr = (struct sockaddr *) &feed->job.sockaddr;
    feed->pc.socklen = feed->job.socklen;
    feed->pc.name = &feed->name;
    feed->pc.get = ngx_event_get_peer;
    feed->pc.log = log;
    feed->pc.log_error = NGX_ERROR_INFO;
    feed->pc.tries = 1;

    rc = ngx_event_connect_peer(&feed->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                "connect");
        return;
    }

    c = feed->pc.connection;
    c->data = feed;
    c->pool = pool;
    c->log = log;
    c->read->log = log;
    c->write->log = log;

    /* a worker that shuts down closes it at once, as a keepalive one */
    c->idle = 1;

    c->read->handler = ngx_http_hydra_feed_read;
    c->write->handler = ngx_http_hydra_feed_write;

    ngx_add_timer(c->read, NGX_HTTP_HYDRA_FEED_HANDSHAKE);

    if (rc == NGX_OK) {
        ngx_http_hydra_feed_write(c->write);
    }
}


/* the buffers and the upgrade request, with a new random key */

static ngx_int_t
ngx_http_hydra_feed_request(ngx_http_hydra_feed_t *feed)
{
    size_t      n;
    u_char      raw[NGX_HTTP_HYDRA_FEED_KEY_RAW];
    ngx_str_t   src, dst;
    ngx_buf_t  *b;
    ngx_uint_t  i;

    feed->in = ngx_create_temp_buf(feed->pool, NGX_HTTP_HYDRA_FEED_BUFFER);
    if (feed->in == NULL) {
        return NGX_ERROR;
    }

    feed->out = ngx_create_temp_buf(feed->pool, NGX_HTTP_HYDRA_FEED_OUT);
    if (feed->out == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_HTTP_HYDRA_FEED_KEY_RAW; i++) {
        raw[i] = (u_char) ngx_random();
    }

    src.len = NGX_HTTP_HYDRA_FEED_KEY_RAW;
    src.data = raw;
    dst.data = feed->key;

    ngx_encode_base64(&dst, &src);
    feed->key[dst.len] = '\0';

    b = feed->out;

    n = hydra_ws_client_request((char *) b->last, b->end - b->last,
                                feed->job.addr_text, "/ws",
                                (char *) feed->key);
    if (n == 0) {
        return NGX_ERROR;
    }

    b->last += n;

    return NGX_OK;
}


static void
ngx_http_hydra_feed_write(ngx_event_t *wev)
{
    ngx_connection_t       *c;
    ngx_http_hydra_feed_t  *feed;

    c = wev->data;
    feed = c->data;

    if (ngx_http_hydra_feed_flush(feed) != NGX_OK) {
        ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                feed->open ? "send" : "connect");
    }
}


static void
ngx_http_hydra_feed_read(ngx_event_t *rev)
{
    ssize_t                 n;
    ngx_int_t               rc;
    ngx_buf_t              *b;
    ngx_connection_t       *c;
    ngx_http_hydra_feed_t  *feed;

    c = rev->data;
    feed = c->data;

    if (c->close || ngx_exiting) {
        ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_RELEASE,
                                "the worker exits");
        return;
    }

    if (rev->timedout) {
        ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                feed->open ? "nothing came for 75 s"
                                           : "handshake timed out");
        return;
    }

    b = feed->in;

    for ( ;; ) {
        if (b->last == b->end) {
            /* frames are taken as they come: only a 101 can fill it */
            ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                    "handshake answer too long");
            return;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                        "recv");
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                    feed->open ? "closed by the repo"
                                               : "no handshake");
            return;
        }

        b->last += n;

        if (!feed->open) {
            rc = ngx_http_hydra_feed_handshake(feed);

            if (rc == NGX_AGAIN) {
                continue;
            }

            if (rc == NGX_DECLINED) {
                ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_LOST,
                                        "another worker holds it");
                return;
            }

            if (rc != NGX_OK) {
                ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                        "bad handshake");
                return;
            }
        }

        ngx_add_timer(rev, NGX_HTTP_HYDRA_FEED_IDLE);

        if (ngx_http_hydra_feed_frames(feed) != NGX_OK) {
            return;
        }

        b->pos = b->start;
        b->last = b->start;
    }
}


/*
 * The repo's answer to the upgrade: NGX_OK once it is a 101 with the
 * right Sec-WebSocket-Accept (in->pos is then past it: what follows is
 * frames already), NGX_AGAIN while incomplete, NGX_DECLINED when the
 * feed was lost meanwhile, NGX_ERROR otherwise.
 */

static ngx_int_t
ngx_http_hydra_feed_handshake(ngx_http_hydra_feed_t *feed)
{
    int                     rc;
    char                    accept[HYDRA_WS_ACCEPT_LEN + 1];
    u_char                 *nl, digest[20], expect[HYDRA_WS_ACCEPT_LEN + 1];
    size_t                  len;
    ngx_str_t               src, dst;
    ngx_buf_t              *b;
    ngx_sha1_t              sha1;
    ngx_http_hydra_zone_t  *zone;

    b = feed->in;

    rc = hydra_ws_client_response((char *) b->pos, b->last - b->pos, &len,
                                  accept, sizeof(accept));

    if (rc == HYDRA_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc != HYDRA_OK) {
        nl = ngx_strlchr(b->pos, b->last, '\n');
        len = (nl ? nl : b->last) - b->pos;

        ngx_log_error(NGX_LOG_WARN, feed->log, 0,
                      "hydra feed %V of %s: not a WebSocket upgrade: "
                      "\"%*s\"", &feed->name, feed->job.key,
                      ngx_min(len, 64), b->pos);
        return NGX_ERROR;
    }

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, feed->key, HYDRA_WS_KEY_LEN);
    ngx_sha1_update(&sha1, HYDRA_WS_GUID, sizeof(HYDRA_WS_GUID) - 1);
    ngx_sha1_final(digest, &sha1);

    src.len = sizeof(digest);
    src.data = digest;
    dst.data = expect;

    ngx_encode_base64(&dst, &src);

    if (dst.len != ngx_strlen(accept)
        || ngx_memcmp(expect, accept, dst.len) != 0)
    {
        ngx_log_error(NGX_LOG_WARN, feed->log, 0,
                      "hydra feed %V of %s: wrong Sec-WebSocket-Accept "
                      "\"%s\"", &feed->name, feed->job.key, accept);
        return NGX_ERROR;
    }

    b->pos += len;
    feed->open = 1;

    zone = feed->hmcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);
    rc = hydra_registry_feed_up(&zone->sh->registry, feed->job.id,
                                (int64_t) ngx_pid);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (rc != HYDRA_OK) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, feed->log, 0,
                  "hydra feed %V of %s is up", &feed->name, feed->job.key);

    return NGX_OK;
}


/*
 * Takes every frame in the buffer.  NGX_OK: all taken, the feed goes
 * on; NGX_DONE: the feed has ended.
 */

static ngx_int_t
ngx_http_hydra_feed_frames(ngx_http_hydra_feed_t *feed)
{
    int                rc;
    u_char             payload[HYDRA_WS_CONTROL_MAX];
    size_t             used, n;
    ngx_buf_t         *b;
    hydra_ws_frame_t   frame;

    b = feed->in;

    for ( ;; ) {
        rc = hydra_ws_parse(&feed->parser, b->pos, b->last - b->pos, &used,
                            &frame);
        b->pos += used;

        if (rc == HYDRA_AGAIN) {
            return NGX_OK;
        }

        if (rc != HYDRA_OK) {
            ngx_log_error(NGX_LOG_WARN, feed->log, 0,
                          "hydra feed %V of %s broke the WebSocket "
                          "protocol, closing with %ui", &feed->name,
                          feed->job.key,
                          (ngx_uint_t) feed->parser.close_code);

            n = hydra_ws_close_payload(payload, feed->parser.close_code,
                                       NULL);
            (void) ngx_http_hydra_feed_send(feed, HYDRA_WS_CLOSE, payload,
                                            n);

            ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                    "protocol error");
            return NGX_DONE;
        }

        switch (frame.opcode) {

        case HYDRA_WS_PING:
            if (ngx_http_hydra_feed_send(feed, HYDRA_WS_PONG, frame.data,
                                         frame.len)
                != NGX_OK)
            {
                ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                        "send");
                return NGX_DONE;
            }

            break;

        case HYDRA_WS_PONG:
            break;

        case HYDRA_WS_CLOSE:

            /* the code back, as RFC 6455 section 5.5.1 asks */

            n = hydra_ws_close_payload(payload,
                                       frame.close_code == HYDRA_WS_NO_STATUS
                                       ? 0 : frame.close_code, NULL);
            (void) ngx_http_hydra_feed_send(feed, HYDRA_WS_CLOSE, payload,
                                            n);

            ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                    "closed by the repo");
            return NGX_DONE;

        default: /* a piece of a data message */

            if (frame.message != HYDRA_WS_TEXT) {
                break;
            }

            if (ngx_http_hydra_feed_append(feed, frame.data, frame.len)
                != NGX_OK)
            {
                ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_FAILED,
                                        "no memory");
                return NGX_DONE;
            }

            if (!frame.end) {
                break;
            }

            rc = ngx_http_hydra_feed_message(feed);
            feed->msg_len = 0;

            if (rc != NGX_OK) {
                ngx_http_hydra_feed_end(feed, NGX_HTTP_HYDRA_FEED_LOST,
                                        "another worker holds it");
                return NGX_DONE;
            }
        }
    }
}


/*
 * A whole text message: tagged, checked against the dedup point, and
 * published if new.  NGX_DECLINED: the feed is not ours any more.
 */

static ngx_int_t
ngx_http_hydra_feed_message(ngx_http_hydra_feed_t *feed)
{
    int                     rc;
    size_t                  len;
    hydra_event_t           ev;
    ngx_http_hydra_zone_t  *zone;

    /* twice the frame fits all but strings full of escaped controls */

    if (ngx_http_hydra_feed_rest(feed, 2 * feed->msg_len + 512) != NGX_OK) {
        return NGX_OK;
    }

    rc = hydra_event_tag((char *) feed->msg, feed->msg_len,
                         feed->job.key, &ev, feed->rest, feed->rest_size,
                         &len);

    if (rc == HYDRA_DECLINED
        && ngx_http_hydra_feed_rest(feed, 6 * feed->msg_len + 512) == NGX_OK)
    {
        rc = hydra_event_tag((char *) feed->msg, feed->msg_len,
                             feed->job.key, &ev, feed->rest,
                             feed->rest_size, &len);
    }

    if (rc != HYDRA_OK) {
        if (feed->invalid++ == 0) {
            ngx_log_error(NGX_LOG_INFO, feed->log, 0,
                          "hydra feed %V of %s: a frame that is not an "
                          "event is skipped: \"%*s\"", &feed->name,
                          feed->job.key, ngx_min(feed->msg_len, 64),
                          feed->msg);
        }

        return NGX_OK;
    }

    zone = feed->hmcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);
    rc = hydra_registry_feed_take(&zone->sh->registry, feed->job.id,
                                  (int64_t) ngx_pid, ev.timestamp,
                                  ev.source_id);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (rc == HYDRA_ERROR) {
        return NGX_DECLINED;
    }

    if (rc == HYDRA_DECLINED) {
        feed->seen++;
        return NGX_OK;
    }

    feed->taken++;

    (void) ngx_http_hydra_events_publish(feed->hmcf, feed->rest, len,
                                         feed->job.id, ev.type, feed->log);

    return NGX_OK;
}


/* a message grows up to NGX_HTTP_HYDRA_FEED_MESSAGE: the parser's max */

static ngx_int_t
ngx_http_hydra_feed_append(ngx_http_hydra_feed_t *feed, const u_char *data,
    size_t len)
{
    size_t   size;
    u_char  *p;

    if (feed->msg_len + len > feed->msg_size) {
        size = ngx_max(feed->msg_size * 2, feed->msg_len + len);
        size = ngx_max(size, NGX_HTTP_HYDRA_FEED_BUFFER);
        size = ngx_min(size, NGX_HTTP_HYDRA_FEED_MESSAGE);

        if (size < feed->msg_len + len) {
            return NGX_ERROR;
        }

        p = ngx_alloc(size, feed->log);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (feed->msg_len) {
            ngx_memcpy(p, feed->msg, feed->msg_len);
        }

        if (feed->msg) {
            ngx_free(feed->msg);
        }

        feed->msg = p;
        feed->msg_size = size;
    }

    if (len) {
        ngx_memcpy(feed->msg + feed->msg_len, data, len);
        feed->msg_len += len;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hydra_feed_rest(ngx_http_hydra_feed_t *feed, size_t size)
{
    char  *p;

    if (feed->rest_size >= size) {
        return NGX_OK;
    }

    p = ngx_alloc(size, feed->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (feed->rest) {
        ngx_free(feed->rest);
    }

    feed->rest = p;
    feed->rest_size = size;

    return NGX_OK;
}


/* a control frame of ours, masked as a client's must be */

static ngx_int_t
ngx_http_hydra_feed_send(ngx_http_hydra_feed_t *feed, int opcode,
    const u_char *data, size_t len)
{
    u_char      *p, mask[4];
    ngx_buf_t   *b;
    ngx_uint_t   i;

    b = feed->out;

    if ((size_t) (b->end - b->last) < HYDRA_WS_HEADER_MAX + len) {
        /* the repo reads nothing, not even our pongs */
        return NGX_ERROR;
    }

    for (i = 0; i < 4; i++) {
        mask[i] = (u_char) ngx_random();
    }

    b->last += hydra_ws_header(b->last, opcode, 1, len, mask);

    if (len) {
        p = b->last;
        b->last = ngx_cpymem(b->last, data, len);
        hydra_ws_mask(p, len, mask, 0);
    }

    return ngx_http_hydra_feed_flush(feed);
}


static ngx_int_t
ngx_http_hydra_feed_flush(ngx_http_hydra_feed_t *feed)
{
    ssize_t            n;
    ngx_buf_t         *b;
    ngx_connection_t  *c;

    c = feed->pc.connection;
    b = feed->out;

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_OK;
        }

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        b->pos += n;
    }

    b->pos = b->start;
    b->last = b->start;

    return NGX_OK;
}


static void
ngx_http_hydra_feed_end(ngx_http_hydra_feed_t *feed,
    ngx_http_hydra_feed_end_e end, const char *reason)
{
    if (feed->pc.connection) {
        ngx_close_connection(feed->pc.connection);
        feed->pc.connection = NULL;
    }

    ngx_queue_remove(&feed->queue);

    if (end != NGX_HTTP_HYDRA_FEED_LOST) {
        ngx_http_hydra_feed_release(feed->hmcf, feed->job.id,
                                    end == NGX_HTTP_HYDRA_FEED_FAILED);
    }

    ngx_log_error(NGX_LOG_INFO, feed->log, 0,
                  "hydra feed %V of %s ends: %s; %ui events taken, %ui "
                  "seen before, %ui not events", &feed->name, feed->job.key,
                  reason, feed->taken, feed->seen, feed->invalid);

    ngx_destroy_pool(feed->pool);
}


static void
ngx_http_hydra_feed_release(ngx_http_hydra_main_conf_t *hmcf, uint32_t id,
    ngx_uint_t failed)
{
    hydra_clock_t           now;
    ngx_http_hydra_zone_t  *zone;

    zone = hmcf->shm_zone->data;
    ngx_http_hydra_clock(&now);

    ngx_shmtx_lock(&zone->shpool->mutex);
    hydra_registry_feed_release(&zone->sh->registry, id, (int64_t) ngx_pid,
                                &now, failed, (uint32_t) ngx_random());
    ngx_shmtx_unlock(&zone->shpool->mutex);
}


static void
ngx_http_hydra_feed_cleanup(void *data)
{
    ngx_http_hydra_feed_t  *feed = data;

    if (feed->msg) {
        ngx_free(feed->msg);
    }

    if (feed->rest) {
        ngx_free(feed->rest);
    }
}


/* publishes the module's own event whose data g holds */

static void
ngx_http_hydra_feed_notice(ngx_http_hydra_main_conf_t *hmcf, yajl_gen g,
    const char *type, const char *key, uint32_t id, ngx_log_t *log)
{
    char                  data[NGX_HTTP_HYDRA_FEED_NOTICE];
    char                  rest[NGX_HTTP_HYDRA_FEED_NOTICE];
    char                  time[HYDRA_ISO_TIME_SIZE];
    size_t                n, len;
    hydra_clock_t         now;
    const unsigned char  *buf;

    if (yajl_gen_get_buf(g, &buf, &n) != yajl_gen_status_ok
        || n >= sizeof(data))
    {
        return;
    }

    ngx_memcpy(data, buf, n);
    data[n] = '\0';

    ngx_http_hydra_clock(&now);
    hydra_json_iso_time(time, now.wall);

    if (hydra_event_make(type, key, time, data, rest, sizeof(rest), &len)
        != HYDRA_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "hydra_event_make() failed for a %s event", type);
        return;
    }

    (void) ngx_http_hydra_events_publish(hmcf, rest, len, id, type, log);
}
