
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * One sessions.jsonl as a worker knows it, kept between requests: its
 * identity, how far it is parsed (into a hydra_sessions store), and the
 * bytes just before that point, to notice a rewrite.  Read in slices
 * bounded per event loop turn.
 */


#ifndef _NGX_HTTP_HYDRA_SFILE_H_INCLUDED_
#define _NGX_HTTP_HYDRA_SFILE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "hydra_sessions.h"


/*
 * At most this much of the files is read and parsed per event loop turn
 * (a few ms); a request behind a large file yields between slices.
 */
#define NGX_HTTP_HYDRA_SLICE          (4 * 1024 * 1024)

#if (NGX_HTTP_HYDRA_SLICE <= HYDRA_SESSIONS_LINE_MAX)
#error a slice must hold the longest line hydra_sessions accepts
#endif

/* the bytes before the parsed offset remembered to notice a rewrite */
#define NGX_HTTP_HYDRA_TAIL           64


/* one sessions.jsonl as this worker knows it, kept between requests */

typedef struct {
    ngx_str_t                    path;       /* NUL-terminated */
    ngx_fd_t                     fd;
    hydra_sessions_t            *store;
    dev_t                        dev;
    ino_t                        ino;
    off_t                        parsed;
    time_t                       mtime;      /* at the last sync */
    uint64_t                     corrupt_logged;
    const char                  *error;      /* NULL: readable */
    size_t                       tail_len;
    u_char                       tail[NGX_HTTP_HYDRA_TAIL];
} ngx_http_hydra_sfile_t;


ngx_http_hydra_sfile_t *ngx_http_hydra_sfile_get(ngx_str_t *path,
    ngx_log_t *log);
ngx_int_t ngx_http_hydra_sfile_sync(ngx_http_hydra_sfile_t *sf,
    size_t *budget, ngx_log_t *log);
ssize_t ngx_http_hydra_sfile_read(ngx_http_hydra_sfile_t *sf, u_char *buf,
    size_t size, off_t offset, ngx_log_t *log);


#endif /* _NGX_HTTP_HYDRA_SFILE_H_INCLUDED_ */
