
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * JSON the module writes itself, from plain snapshots copied out of the
 * zone.  Every yajl_gen call is checked: yajl 2.1 never puts a generator
 * into an error state, so a status ignored is an error lost.  No nginx
 * headers.
 */


#ifndef _HYDRA_JSON_H_INCLUDED_
#define _HYDRA_JSON_H_INCLUDED_


#include <stddef.h>
#include <yajl/yajl_gen.h>

#include "hydra_registry.h"


/*
 * "2026-03-05T10:00:05.120+00:00", HydraFlow's UTC form; sized for any
 * int the compiler can imagine in struct tm, not only real dates
 */
#define HYDRA_ISO_TIME_SIZE   64


typedef struct {
    const hydra_repo_t              *repos;
    size_t                           nrepos;
    const hydra_supervisor_state_t  *supervisor;   /* NULL: none */
    const char                      *supervisor_addr;
} hydra_json_registry_t;


int hydra_json_repos(yajl_gen g, const hydra_json_registry_t *reg);
int hydra_json_error(yajl_gen g, const char *message,
    const hydra_json_registry_t *reg);
int hydra_json_repo_status(yajl_gen g, const hydra_repo_t *repo);
int hydra_json_registry_size(yajl_gen g, size_t nrepos);
void hydra_json_iso_time(char *dst, int64_t wall_ms);


#endif /* _HYDRA_JSON_H_INCLUDED_ */
