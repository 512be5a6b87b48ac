
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_http_hydra_peer.h"


/* the first read buffer; it doubles up to the exchange's max */
#define NGX_HTTP_HYDRA_PEER_BUFFER  4096


static void ngx_http_hydra_peer_write(ngx_event_t *wev);
static void ngx_http_hydra_peer_read(ngx_event_t *rev);
static ngx_int_t ngx_http_hydra_peer_grow(ngx_http_hydra_peer_t *peer);
static void ngx_http_hydra_peer_finish(ngx_http_hydra_peer_t *peer,
    const char *error);
static void ngx_http_hydra_peer_dummy(ngx_event_t *ev);


ngx_http_hydra_peer_t *
ngx_http_hydra_peer_create(ngx_log_t *log, size_t max)
{
    ngx_pool_t             *pool;
    ngx_http_hydra_peer_t  *peer;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, log);
    if (pool == NULL) {
        return NULL;
    }

    peer = ngx_pcalloc(pool, sizeof(ngx_http_hydra_peer_t));
    if (peer == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    peer->pool = pool;
    peer->log = log;
    peer->max = max;

    peer->response = ngx_create_temp_buf(pool,
                                         ngx_min(max,
                                                 NGX_HTTP_HYDRA_PEER_BUFFER)
                                         + 1);
    if (peer->response == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    return peer;
}


/*
 * The caller has set pc.sockaddr, pc.socklen, pc.name, request, timeout
 * and done.  Whatever happens, done is called exactly once, later or
 * from within this call, and the pool is destroyed after it.
 */

void
ngx_http_hydra_peer_start(ngx_http_hydra_peer_t *peer)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    peer->started = ngx_current_msec;

    peer->pc.get = ngx_event_get_peer;
    peer->pc.log = peer->log;
    peer->pc.log_error = NGX_ERROR_INFO;
    peer->pc.tries = 1;

    rc = ngx_event_connect_peer(&peer->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_hydra_peer_finish(peer, "connect");
        return;
    }

    c = peer->pc.connection;
    c->data = peer;
    c->pool = peer->pool;
    c->log = peer->log;
    c->read->log = peer->log;
    c->write->log = peer->log;

    c->write->handler = ngx_http_hydra_peer_write;
    c->read->handler = ngx_http_hydra_peer_read;

    /* one deadline for the whole exchange, kept on the read event */

    ngx_add_timer(c->read, peer->timeout);

    if (rc == NGX_OK) {
        ngx_http_hydra_peer_write(c->write);
    }
}


static void
ngx_http_hydra_peer_write(ngx_event_t *wev)
{
    ssize_t                 n;
    ngx_connection_t       *c;
    ngx_http_hydra_peer_t  *peer;

    c = wev->data;
    peer = c->data;

    while (peer->sent < peer->request.len) {
        n = c->send(c, peer->request.data + peer->sent,
                    peer->request.len - peer->sent);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_hydra_peer_finish(peer, "connect");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_hydra_peer_finish(peer, "connect");
            return;
        }

        peer->sent += n;
    }

    wev->handler = ngx_http_hydra_peer_dummy;

    if (c->read->ready) {
        ngx_http_hydra_peer_read(c->read);
    }
}


static void
ngx_http_hydra_peer_read(ngx_event_t *rev)
{
    u_char                 *nl;
    ssize_t                 n;
    ngx_buf_t              *b;
    ngx_connection_t       *c;
    ngx_http_hydra_peer_t  *peer;

    c = rev->data;
    peer = c->data;

    if (rev->timedout) {
        ngx_http_hydra_peer_finish(peer, "timeout");
        return;
    }

    if (peer->sent < peer->request.len) {
        /* readable before the request went out: an error or a reset */
        ngx_http_hydra_peer_write(c->write);
        return;
    }

    b = peer->response;

    for ( ;; ) {
        if (b->last == b->end - 1 && ngx_http_hydra_peer_grow(peer) != NGX_OK)
        {
            return;
        }

        b = peer->response;

        n = c->recv(c, b->last, b->end - 1 - b->last);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_hydra_peer_finish(peer, "reset");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_hydra_peer_finish(peer, "reset");
            return;
        }

        if (n == 0) {
            ngx_http_hydra_peer_finish(peer, NULL);
            return;
        }

        nl = peer->line ? ngx_strlchr(b->last, b->last + n, '\n') : NULL;
        b->last += n;

        if (nl != NULL) {
            ngx_http_hydra_peer_finish(peer, NULL);
            return;
        }
    }
}


/* doubles the response buffer, or ends the exchange at its max */

static ngx_int_t
ngx_http_hydra_peer_grow(ngx_http_hydra_peer_t *peer)
{
    size_t      size, used;
    ngx_buf_t  *b, *nb;

    b = peer->response;
    used = b->last - b->pos;

    if (used >= peer->max) {
        ngx_http_hydra_peer_finish(peer, "too big");
        return NGX_ERROR;
    }

    size = ngx_min(used * 2, peer->max);

    nb = ngx_create_temp_buf(peer->pool, size + 1);
    if (nb == NULL) {
        ngx_http_hydra_peer_finish(peer, "no memory");
        return NGX_ERROR;
    }

    nb->last = ngx_cpymem(nb->pos, b->pos, used);
    peer->response = nb;

    return NGX_OK;
}


static void
ngx_http_hydra_peer_finish(ngx_http_hydra_peer_t *peer, const char *error)
{
    peer->error = error;
    peer->elapsed = ngx_current_msec - peer->started;

    if (peer->pc.connection) {
        ngx_close_connection(peer->pc.connection);
        peer->pc.connection = NULL;
    }

    peer->done(peer);

    ngx_destroy_pool(peer->pool);
}


static void
ngx_http_hydra_peer_dummy(ngx_event_t *ev)
{
}
