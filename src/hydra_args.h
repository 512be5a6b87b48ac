
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * Query strings: find an argument, decode it, and remove it before the
 * request is passed to a repo (a per-repo dashboard filters sessions on
 * "repo" exactly, so it must never see ours).  Names match exactly, as
 * FastAPI matches them.  No nginx headers.
 */


#ifndef _HYDRA_ARGS_H_INCLUDED_
#define _HYDRA_ARGS_H_INCLUDED_


#include <stddef.h>


typedef struct {
    const char  *value;      /* raw (still percent-encoded) value */
    size_t       value_len;
    size_t       count;      /* how many times the name appears */
    int          differ;     /* the occurrences do not all agree */
} hydra_arg_t;


void hydra_args_find(const char *args, size_t len, const char *name,
    hydra_arg_t *arg);
size_t hydra_args_strip(char *dst, const char *args, size_t len,
    const char *name);
size_t hydra_args_unescape(char *dst, const char *src, size_t len);


#endif /* _HYDRA_ARGS_H_INCLUDED_ */
