
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The health probe's HTTP/1.0 exchange with a repo's dashboard.  HTTP/1.0
 * so the answer is never chunked and ends when the repo closes.  The
 * probe asks /api/control/status by default: it is cheap, every
 * HydraFlow version has it, and its config.repo tells the repo's
 * owner/name, which a supervisor slug (a directory name) does not.
 * No nginx headers.
 */


#ifndef _HYDRA_PROBE_H_INCLUDED_
#define _HYDRA_PROBE_H_INCLUDED_


#include <stddef.h>

#include "hydra_registry.h"


#define HYDRA_PROBE_REPLY_MAX   (64 * 1024)


typedef struct {
    unsigned  status;                       /* HTTP status */
    int       complete;                     /* the whole body was read */
    char      full_name[HYDRA_NAME_SIZE];   /* config.repo, or "" */
    char      error[HYDRA_ERROR_SIZE];      /* why it is down */
} hydra_probe_reply_t;


size_t hydra_probe_request(char *dst, size_t size, const char *uri,
    const char *host);
int hydra_probe_parse(char *buf, size_t len, int complete,
    hydra_probe_reply_t *reply);


#endif /* _HYDRA_PROBE_H_INCLUDED_ */
