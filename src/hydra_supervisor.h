
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The HydraFlow supervisor's TCP protocol (hydraflow-api.md, 4): one JSON
 * line asked, one JSON line answered.  This file turns a list_repos
 * answer into repo specs; the nginx side owns the socket.  No nginx
 * headers.
 */


#ifndef _HYDRA_SUPERVISOR_H_INCLUDED_
#define _HYDRA_SUPERVISOR_H_INCLUDED_


#include <stddef.h>

#include "hydra_registry.h"


#define HYDRA_SUPERVISOR_LIST_REPOS  "{\"action\":\"list_repos\"}\n"

/* the real client reads 64 KiB at most; we allow a larger fleet */
#define HYDRA_SUPERVISOR_REPLY_MAX   (1024 * 1024)


typedef struct {
    size_t   nspecs;
    size_t   skipped;     /* entries that were not valid repos */
    char     error[HYDRA_ERROR_SIZE];
} hydra_supervisor_reply_t;


int hydra_supervisor_parse(const char *json, hydra_repo_spec_t *specs,
    size_t max, hydra_supervisor_reply_t *reply);


#endif /* _HYDRA_SUPERVISOR_H_INCLUDED_ */
