
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hydra_sfile.h"


static ngx_int_t ngx_http_hydra_sfile_open(ngx_http_hydra_sfile_t *sf,
    ngx_file_info_t *fi, ngx_log_t *log);
static void ngx_http_hydra_sfile_reset(ngx_http_hydra_sfile_t *sf);
static ngx_int_t ngx_http_hydra_sfile_rewritten(ngx_http_hydra_sfile_t *sf,
    ngx_log_t *log);
static void ngx_http_hydra_sfile_report(ngx_http_hydra_sfile_t *sf,
    ngx_log_t *log);
static void ngx_http_hydra_sfiles_cleanup(void *data);


/* per worker: the files it has parsed, and the buffer slices go through */

static ngx_array_t  *ngx_http_hydra_sfiles;
static u_char       *ngx_http_hydra_slice;


/* finds this worker's state of a file, or starts one */

ngx_http_hydra_sfile_t *
ngx_http_hydra_sfile_get(ngx_str_t *path, ngx_log_t *log)
{
    ngx_uint_t               i;
    ngx_pool_cleanup_t      *cln;
    ngx_http_hydra_sfile_t  *sf, **sfp, **known;

    if (ngx_http_hydra_sfiles == NULL) {
        cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
        if (cln == NULL) {
            return NULL;
        }

        ngx_http_hydra_sfiles = ngx_array_create(ngx_cycle->pool, 4,
                                           sizeof(ngx_http_hydra_sfile_t *));
        if (ngx_http_hydra_sfiles == NULL) {
            return NULL;
        }

        cln->handler = ngx_http_hydra_sfiles_cleanup;
        cln->data = ngx_http_hydra_sfiles;
    }

    known = ngx_http_hydra_sfiles->elts;

    for (i = 0; i < ngx_http_hydra_sfiles->nelts; i++) {
        if (known[i]->path.len == path->len
            && ngx_strncmp(known[i]->path.data, path->data, path->len) == 0)
        {
            return known[i];
        }
    }

    sf = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_http_hydra_sfile_t));
    if (sf == NULL) {
        return NULL;
    }

    sf->path.data = ngx_pnalloc(ngx_cycle->pool, path->len + 1);
    if (sf->path.data == NULL) {
        return NULL;
    }

    ngx_cpystrn(sf->path.data, path->data, path->len + 1);
    sf->path.len = path->len;
    sf->fd = NGX_INVALID_FILE;

    sf->store = hydra_sessions_create();
    if (sf->store == NULL) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "hydra_sessions_create() failed");
        return NULL;
    }

    sfp = ngx_array_push(ngx_http_hydra_sfiles);
    if (sfp == NULL) {
        hydra_sessions_destroy(sf->store);
        return NULL;
    }

    *sfp = sf;

    return sf;
}


/* with the cycle's pool: every file's store and descriptor, the slice */

static void
ngx_http_hydra_sfiles_cleanup(void *data)
{
    ngx_array_t  *sfiles = data;

    ngx_uint_t               i;
    ngx_http_hydra_sfile_t  **known;

    known = sfiles->elts;

    for (i = 0; i < sfiles->nelts; i++) {
        if (known[i]->fd != NGX_INVALID_FILE) {
            ngx_close_file(known[i]->fd);
        }

        hydra_sessions_destroy(known[i]->store);
    }

    if (ngx_http_hydra_sfiles == sfiles) {
        ngx_http_hydra_sfiles = NULL;
    }

    if (ngx_http_hydra_slice != NULL) {
        ngx_free(ngx_http_hydra_slice);
        ngx_http_hydra_slice = NULL;
    }
}


/*
 * One file: reopened when it was replaced, re-read from the start when
 * it shrank or its bytes before the parsed offset changed (HydraFlow
 * prunes by rewriting it), else parsed from where it was left.  A torn
 * last line waits for its newline.
 */

ngx_int_t
ngx_http_hydra_sfile_sync(ngx_http_hydra_sfile_t *sf, size_t *budget,
    ngx_log_t *log)
{
    u_char           *buf;
    off_t             size;
    size_t            consumed, want, keep;
    ssize_t           n;
    ngx_file_info_t   fi;

    if (ngx_http_hydra_slice == NULL) {
        ngx_http_hydra_slice = ngx_alloc(NGX_HTTP_HYDRA_SLICE, log);
        if (ngx_http_hydra_slice == NULL) {
            sf->error = "no memory";
            return NGX_OK;
        }
    }

    buf = ngx_http_hydra_slice;

    if (ngx_file_info(sf->path.data, &fi) == NGX_FILE_ERROR) {
        if (sf->error == NULL) {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          ngx_file_info_n " \"%V\" failed", &sf->path);
        }

        sf->error = (ngx_errno == NGX_ENOENT) ? "missing" : "unreadable";
        ngx_http_hydra_sfile_reset(sf);
        return NGX_OK;
    }

    if (sf->fd == NGX_INVALID_FILE
        || fi.st_dev != sf->dev || fi.st_ino != sf->ino)
    {
        if (ngx_http_hydra_sfile_open(sf, &fi, log) != NGX_OK) {
            return NGX_OK;
        }
    }

    size = ngx_file_size(&fi);
    sf->mtime = ngx_file_mtime(&fi);

    if (size < sf->parsed || ngx_http_hydra_sfile_rewritten(sf, log)) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "hydra sessions \"%V\" was rewritten, reading it again",
                      &sf->path);
        ngx_http_hydra_sfile_reset(sf);
    }

    sf->error = NULL;

    while (sf->parsed < size) {

        if (*budget == 0) {
            return NGX_AGAIN;
        }

        want = (size_t) ngx_min(size - sf->parsed, (off_t) *budget);

        n = ngx_http_hydra_sfile_read(sf, buf, want, sf->parsed, log);
        if (n <= 0) {
            break;
        }

        *budget -= n;

        if (hydra_sessions_feed(sf->store, (const char *) buf, n,
                                (uint64_t) sf->parsed, &consumed)
            != HYDRA_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "hydra_sessions_feed() failed on \"%V\"",
                          &sf->path);
            sf->error = "no memory";
            return NGX_OK;
        }

        /*
         * Nothing consumed is a torn last line waiting for its newline: a
         * slice is longer than the longest line the store accepts, so a
         * whole slice always makes progress.
         */

        if (consumed == 0) {
            break;
        }

        sf->parsed += consumed;

        keep = ngx_min(consumed, NGX_HTTP_HYDRA_TAIL);
        ngx_memcpy(sf->tail, buf + consumed - keep, keep);
        sf->tail_len = keep;
    }

    ngx_http_hydra_sfile_report(sf, log);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hydra_sfile_open(ngx_http_hydra_sfile_t *sf, ngx_file_info_t *fi,
    ngx_log_t *log)
{
    ngx_fd_t  fd;

    if (sf->fd != NGX_INVALID_FILE) {
        ngx_close_file(sf->fd);
        sf->fd = NGX_INVALID_FILE;
    }

    ngx_http_hydra_sfile_reset(sf);

    fd = ngx_open_file(sf->path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", &sf->path);
        sf->error = "unreadable";
        return NGX_ERROR;
    }

    /* the identity of what was opened, not of what the path was */

    if (ngx_fd_info(fd, fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_fd_info_n " \"%V\" failed", &sf->path);
        ngx_close_file(fd);
        sf->error = "unreadable";
        return NGX_ERROR;
    }

    sf->fd = fd;
    sf->dev = fi->st_dev;
    sf->ino = fi->st_ino;

    return NGX_OK;
}


static void
ngx_http_hydra_sfile_reset(ngx_http_hydra_sfile_t *sf)
{
    hydra_sessions_reset(sf->store);
    sf->parsed = 0;
    sf->tail_len = 0;
    sf->corrupt_logged = 0;
}


static ngx_int_t
ngx_http_hydra_sfile_rewritten(ngx_http_hydra_sfile_t *sf, ngx_log_t *log)
{
    u_char  tail[NGX_HTTP_HYDRA_TAIL];

    if (sf->tail_len == 0) {
        return 0;
    }

    if (ngx_http_hydra_sfile_read(sf, tail, sf->tail_len,
                                  sf->parsed - sf->tail_len, log)
        != (ssize_t) sf->tail_len)
    {
        return 1;
    }

    return ngx_memcmp(tail, sf->tail, sf->tail_len) != 0;
}


ssize_t
ngx_http_hydra_sfile_read(ngx_http_hydra_sfile_t *sf, u_char *buf,
    size_t size, off_t offset, ngx_log_t *log)
{
    ssize_t  n;

    n = pread(sf->fd, buf, size, offset);

    if (n == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "pread() \"%V\" failed", &sf->path);
        sf->error = "unreadable";
    }

    return n;
}


/* new corrupt lines are worth one log line each time they appear */

static void
ngx_http_hydra_sfile_report(ngx_http_hydra_sfile_t *sf, ngx_log_t *log)
{
    uint64_t                bad;
    hydra_sessions_stats_t  st;

    hydra_sessions_stats(sf->store, &st);
    bad = st.corrupt;

    if (bad > sf->corrupt_logged) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "hydra sessions \"%V\": %uL corrupt lines skipped "
                      "(%uL in all)", &sf->path, bad - sf->corrupt_logged,
                      bad);
        sf->corrupt_logged = bad;
    }
}
