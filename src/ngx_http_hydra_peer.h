
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * A one-shot exchange with a peer that has no request behind it (the
 * supervisor's JSON line, a repo's health probe): connect, send, read
 * until the peer closes (or a newline), all within one deadline, then
 * call back.  Each exchange owns a pool that dies with it.
 */


#ifndef _NGX_HTTP_HYDRA_PEER_H_INCLUDED_
#define _NGX_HTTP_HYDRA_PEER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct ngx_http_hydra_peer_s  ngx_http_hydra_peer_t;

typedef void (*ngx_http_hydra_peer_done_pt)(ngx_http_hydra_peer_t *peer);


struct ngx_http_hydra_peer_s {
    ngx_pool_t                  *pool;
    ngx_peer_connection_t        pc;
    ngx_log_t                   *log;

    ngx_str_t                    request;
    size_t                       sent;
    ngx_buf_t                   *response;   /* NUL can follow its last */
    size_t                       max;

    ngx_msec_t                   timeout;
    ngx_msec_t                   started;
    ngx_msec_t                   elapsed;

    const char                  *error;      /* NULL: the peer closed */
    ngx_http_hydra_peer_done_pt  done;
    void                        *data;

    unsigned                     line:1;     /* stop at the first "\n" */
};


ngx_http_hydra_peer_t *ngx_http_hydra_peer_create(ngx_log_t *log,
    size_t max);
void ngx_http_hydra_peer_start(ngx_http_hydra_peer_t *peer);


#endif /* _NGX_HTTP_HYDRA_PEER_H_INCLUDED_ */
