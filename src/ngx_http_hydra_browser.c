
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * A browser's WebSocket once it has left its request: the connection,
 * its small pool, and an ngx_http_hydra_client_t.  Its frames are read
 * (ping answered, close replied to, data dropped, a broken frame closed
 * with the parser's code); the frames due to it are written, control
 * frames first, then events from the worker's fan-out, as far as the
 * socket takes them: a socket that would block keeps only its cursor.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_browser.h"
#include "ngx_http_hydra_fanout.h"
#include "hydra_ws.h"


#define NGX_HTTP_HYDRA_WS_MAX_MESSAGE   (64 * 1024)
#define NGX_HTTP_HYDRA_WRITE_BUDGET     (256 * 1024)  /* a socket, a turn */
#define NGX_HTTP_HYDRA_READ_BUDGET      (64 * 1024)   /* a socket, a turn */
#define NGX_HTTP_HYDRA_READ_SIZE        4096
#define NGX_HTTP_HYDRA_LINGER           3000  /* for the peer's close */


static void ngx_http_hydra_client_read(ngx_event_t *rev);
static void ngx_http_hydra_client_write_handler(ngx_event_t *wev);
static ngx_http_hydra_frame_t *ngx_http_hydra_client_next(
    ngx_http_hydra_client_t *cl);
static void ngx_http_hydra_client_close(ngx_http_hydra_client_t *cl,
    unsigned code);
static void ngx_http_hydra_client_finish(ngx_http_hydra_client_t *cl);
static void ngx_http_hydra_browser_uncork(ngx_connection_t *c,
    ngx_uint_t *corked);


static u_char  ngx_http_hydra_read_buf[NGX_HTTP_HYDRA_READ_SIZE];


/*
 * The socket, once its request is freed: its own handlers, its place in
 * the worker's fan-out, and the history it is due.
 */

void
ngx_http_hydra_browser_start(ngx_http_hydra_client_t *cl)
{
    ngx_connection_t  *c;

    c = cl->connection;

    c->read->handler = ngx_http_hydra_client_read;
    c->write->handler = ngx_http_hydra_client_write_handler;

    /* its timers do not hold a worker that exits: it is closed first */
    c->read->cancelable = 1;
    c->write->cancelable = 1;

    /* closed at once when the worker shuts down */
    c->idle = 1;

    if (ngx_http_hydra_fanout_join(cl) != NGX_OK) {
        ngx_http_hydra_client_finish(cl);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_hydra_client_finish(cl);
        return;
    }

    ngx_http_hydra_browser_write(cl);
}


static void
ngx_http_hydra_client_read(ngx_event_t *rev)
{
    ssize_t                   n, budget;
    ngx_connection_t         *c;
    ngx_http_hydra_client_t  *cl;

    c = rev->data;
    cl = c->data;

    if (c->close) {

        /* the worker shuts down: "going away", as far as it goes out */

        if (cl->frame == NULL && !cl->close_sent) {
            ngx_http_hydra_client_close(cl, HYDRA_WS_GOING_AWAY);
            cl->peer_closed = 1;
            ngx_http_hydra_browser_write(cl);

            if (c->destroyed) {
                return;
            }
        }

        ngx_http_hydra_client_finish(cl);
        return;
    }

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "client did not close the WebSocket");
        ngx_http_hydra_client_finish(cl);
        return;
    }

    for (budget = NGX_HTTP_HYDRA_READ_BUDGET; /* void */; budget -= n) {

        if (budget <= 0) {

            /* a flood: the others' turn first */

            ngx_post_event(rev, &ngx_posted_next_events);
            break;
        }

        n = c->recv(c, ngx_http_hydra_read_buf, NGX_HTTP_HYDRA_READ_SIZE);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_http_hydra_client_finish(cl);
            return;
        }

        ngx_http_hydra_browser_parse(cl, ngx_http_hydra_read_buf, n);

        if (cl->peer_closed && cl->close_sent) {
            ngx_http_hydra_client_finish(cl);
            return;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_hydra_client_finish(cl);
        return;
    }

    ngx_http_hydra_browser_write(cl);
}


/*
 * A browser's frames: ping is answered, close is replied to, data is
 * dropped, and a broken frame closes with the parser's code.
 */

void
ngx_http_hydra_browser_parse(ngx_http_hydra_client_t *cl, u_char *buf,
    size_t len)
{
    int                consumed_ok;
    size_t             consumed;
    ngx_connection_t  *c;
    hydra_ws_frame_t   frame;

    c = cl->connection;

    if (cl->failed) {
        return;
    }

    if (cl->parser == NULL) {
        cl->parser = ngx_palloc(c->pool, sizeof(hydra_ws_parser_t));
        if (cl->parser == NULL) {
            cl->failed = 1;
            ngx_http_hydra_client_close(cl, HYDRA_WS_INTERNAL);
            return;
        }

        hydra_ws_parser_init(cl->parser, HYDRA_WS_SERVER,
                             NGX_HTTP_HYDRA_WS_MAX_MESSAGE);
    }

    while (len > 0) {
        consumed_ok = hydra_ws_parse(cl->parser, buf, len, &consumed, &frame);

        buf += consumed;
        len -= consumed;

        if (consumed_ok == HYDRA_AGAIN) {
            break;
        }

        if (consumed_ok == HYDRA_ERROR) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "client sent a bad WebSocket frame, closing "
                          "with %ui", (ngx_uint_t) cl->parser->close_code);
            cl->failed = 1;
            ngx_http_hydra_client_close(cl, cl->parser->close_code);
            return;
        }

        switch (frame.opcode) {

        case HYDRA_WS_PING:
            if (cl->pong != NULL) {
                ngx_http_hydra_frame_unref(cl->pong);
            }

            /* the newest ping's pong is enough (RFC 6455, 5.5.3) */

            cl->pong = ngx_http_hydra_frame(HYDRA_WS_PONG, frame.data,
                                            frame.len, c->log);
            break;

        case HYDRA_WS_CLOSE:
            cl->peer_closed = 1;
            cl->failed = 1;

            ngx_http_hydra_client_close(cl,
                frame.close_code == HYDRA_WS_NO_STATUS ? 0
                                                       : frame.close_code);
            return;

        default:
            /* data and pongs: HydraFlow's browsers send nothing else */
            break;
        }
    }

    /*
     * Between frames the parser holds nothing: an idle socket (pinged
     * now and then) keeps no parser.  Its state is read here only.
     */

    if (cl->parser->state == HYDRA_WS_ST_HEADER
        && cl->parser->header_len == 0 && cl->parser->message == 0)
    {
        ngx_pfree(c->pool, cl->parser);
        cl->parser = NULL;
    }
}


static void
ngx_http_hydra_client_write_handler(ngx_event_t *wev)
{
    ngx_connection_t         *c;
    ngx_http_hydra_client_t  *cl;

    c = wev->data;
    cl = c->data;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "client timed out");
        c->timedout = 1;
        ngx_http_hydra_client_finish(cl);
        return;
    }

    ngx_http_hydra_browser_write(cl);
}


/*
 * Writes what is due, frame after frame, until the socket would block
 * (then only its cursor is kept, and the write event resumes it) or a
 * turn's budget is spent (then it yields to the others).
 */

void
ngx_http_hydra_browser_write(ngx_http_hydra_client_t *cl)
{
    size_t                   budget;
    ssize_t                  n;
    ngx_uint_t               frames, corked;
    ngx_event_t             *wev;
    ngx_connection_t        *c;
    ngx_http_hydra_frame_t  *f;

    c = cl->connection;
    wev = c->write;
    budget = NGX_HTTP_HYDRA_WRITE_BUDGET;
    frames = 0;
    corked = 0;

    if (!wev->ready) {
        return;
    }

    for ( ;; ) {

        if (cl->frame == NULL) {
            cl->frame = ngx_http_hydra_client_next(cl);
            cl->sent = 0;

            if (cl->frame == NULL) {

                if (cl->closing && !cl->close_sent) {
                    /* no memory for the close frame */
                    ngx_http_hydra_client_finish(cl);
                    return;
                }

                break;
            }

            /*
             * More than one frame due (a client behind, a burst): corked,
             * they leave in full segments instead of one each; a lone
             * frame pays no setsockopt().
             */

            if (frames == 1 && !corked && ngx_tcp_nopush(c->fd) == 0) {
                corked = 1;
            }
        }

        f = cl->frame;

        n = c->send(c, f->data + cl->sent, f->len - cl->sent);

        if (n == NGX_ERROR) {
            ngx_http_hydra_client_finish(cl);
            return;
        }

        if (n == NGX_AGAIN) {

            ngx_http_hydra_browser_uncork(c, &corked);

            /* send_timeout from its last progress */
            ngx_add_timer(wev, cl->send_timeout);

            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_hydra_client_finish(cl);
            }

            return;
        }

        cl->sent += n;

        if (cl->sent < f->len) {
            continue;
        }

        cl->frame = NULL;
        frames++;

        if (f->data[0] == (0x80 | HYDRA_WS_CLOSE)) {
            ngx_http_hydra_frame_unref(f);
            cl->close_sent = 1;

            if (cl->peer_closed) {
                ngx_http_hydra_client_finish(cl);
                return;
            }

            /* ours came first: wait a little for the peer's */

            ngx_http_hydra_browser_uncork(c, &corked);
            (void) ngx_shutdown_socket(c->fd, NGX_WRITE_SHUTDOWN);

            ngx_add_timer(c->read, NGX_HTTP_HYDRA_LINGER);
            break;
        }

        ngx_http_hydra_frame_unref(f);

        if ((size_t) n >= budget) {
            ngx_http_hydra_browser_uncork(c, &corked);
            ngx_post_event(wev, &ngx_posted_next_events);
            return;
        }

        budget -= n;
    }

    ngx_http_hydra_browser_uncork(c, &corked);

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }
}


static void
ngx_http_hydra_browser_uncork(ngx_connection_t *c, ngx_uint_t *corked)
{
    if (*corked) {
        (void) ngx_tcp_push(c->fd);
        *corked = 0;
    }
}


/* the next frame due, a ref taken: close, pong, then events */

static ngx_http_hydra_frame_t *
ngx_http_hydra_client_next(ngx_http_hydra_client_t *cl)
{
    u_char                   payload[HYDRA_WS_CONTROL_MAX];
    size_t                   len;
    ngx_http_hydra_frame_t  *f;

    if (cl->close_sent) {
        return NULL;
    }

    if (cl->closing) {
        len = hydra_ws_close_payload(payload, cl->close_code, NULL);

        return ngx_http_hydra_frame(HYDRA_WS_CLOSE, payload, len,
                                    cl->connection->log);
    }

    if (cl->pong != NULL) {
        f = cl->pong;
        cl->pong = NULL;
        return f;
    }

    return ngx_http_hydra_fanout_next(cl);
}


/* a close frame is due: after the frame being sent, before anything */

static void
ngx_http_hydra_client_close(ngx_http_hydra_client_t *cl, unsigned code)
{
    if (cl->closing) {
        return;
    }

    cl->closing = 1;
    cl->close_code = code;
}


static void
ngx_http_hydra_client_finish(ngx_http_hydra_client_t *cl)
{
    ngx_connection_t  *c;

    c = cl->connection;

    ngx_http_hydra_fanout_leave(cl);

    if (cl->frame != NULL) {
        ngx_http_hydra_frame_unref(cl->frame);
        cl->frame = NULL;
    }

    if (cl->pong != NULL) {
        ngx_http_hydra_frame_unref(cl->pong);
        cl->pong = NULL;
    }

    ngx_http_close_connection(c);
}


ngx_http_hydra_frame_t *
ngx_http_hydra_frame(int opcode, const u_char *payload, size_t len,
    ngx_log_t *log)
{
    size_t                   n;
    ngx_http_hydra_frame_t  *f;

    f = ngx_alloc(offsetof(ngx_http_hydra_frame_t, data)
                  + HYDRA_WS_HEADER_MAX + len, log);
    if (f == NULL) {
        return NULL;
    }

    n = hydra_ws_header(f->data, opcode, 1, len, NULL);
    ngx_memcpy(f->data + n, payload, len);

    f->refs = 1;
    f->id = 0;
    f->repo = 0;
    f->len = n + len;
    f->type[0] = '\0';

    return f;
}


void
ngx_http_hydra_frame_unref(ngx_http_hydra_frame_t *f)
{
    if (--f->refs == 0) {
        ngx_free(f);
    }
}
