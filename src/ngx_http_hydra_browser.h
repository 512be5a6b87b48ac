
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * A browser's WebSocket on the all-repos /ws, once it has left its HTTP
 * request: its frames in and out.
 */


#ifndef _NGX_HTTP_HYDRA_BROWSER_H_INCLUDED_
#define _NGX_HTTP_HYDRA_BROWSER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hydra_event.h"
#include "hydra_ring.h"
#include "hydra_ws.h"


/* a frame ready to send: one per event per worker, or one of a socket */
typedef struct {
    ngx_uint_t                   refs;
    uint64_t                     id;
    uint32_t                     repo;
    size_t                       len;     /* of data */
    char                         type[HYDRA_RING_TYPE_SIZE];
    u_char                       data[1]; /* header and payload */
} ngx_http_hydra_frame_t;


/* a browser's socket: in its connection's pool, a cursor and filters */
typedef struct {
    ngx_connection_t            *connection;
    ngx_queue_t                  queue;   /* in the worker's clients */
    uint64_t                     since;
    uint64_t                     next;    /* the next id to send */
    ngx_http_hydra_frame_t      *frame;   /* being sent, a ref held */
    size_t                       sent;    /* of frame */
    ngx_http_hydra_frame_t      *pong;    /* due, a ref held */
    hydra_event_types_t         *types;   /* NULL: every type */
    uint32_t                    *repos;   /* NULL: every repo */
    ngx_uint_t                   nrepos;
    hydra_ws_parser_t           *parser;  /* while a frame is read */
    ngx_msec_t                   send_timeout;
    unsigned                     close_code:16;
    unsigned                     resume:1;    /* since was given */
    unsigned                     closing:1;   /* a close frame is due */
    unsigned                     close_sent:1;
    unsigned                     peer_closed:1;
    unsigned                     failed:1;    /* frames no longer read */
    unsigned                     attached:1;
} ngx_http_hydra_client_t;


void ngx_http_hydra_browser_start(ngx_http_hydra_client_t *cl);
void ngx_http_hydra_browser_parse(ngx_http_hydra_client_t *cl, u_char *buf,
    size_t len);
void ngx_http_hydra_browser_write(ngx_http_hydra_client_t *cl);
ngx_http_hydra_frame_t *ngx_http_hydra_frame(int opcode,
    const u_char *payload, size_t len, ngx_log_t *log);
void ngx_http_hydra_frame_unref(ngx_http_hydra_frame_t *f);


#endif /* _NGX_HTTP_HYDRA_BROWSER_H_INCLUDED_ */
