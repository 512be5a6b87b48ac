
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * One line of a sessions.jsonl (hydraflow-api.md, 3): a scanner that
 * validates it as one JSON object and takes out the top-level "id",
 * "repo" and "started_at", and the reader of started_at.  The store of
 * hydra_sessions.c feeds every line through it; the line, its limits
 * and the public hydra_sessions_parse_*() names are hydra_sessions.h's.
 * No nginx headers.
 */


#ifndef _HYDRA_JSONL_H_INCLUDED_
#define _HYDRA_JSONL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "hydra.h"
#include "hydra_sessions.h"


int hydra_jsonl_parse_line(const char *p, size_t len,
    hydra_session_line_t *line);
int hydra_jsonl_parse_time(const char *p, size_t len, int64_t *us);
int hydra_jsonl_id_valid(const char *id, size_t len);


#endif /* _HYDRA_JSONL_H_INCLUDED_ */
