
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The events of the fan-out (DESIGN.md, 5).  A repo's /ws frame
 * (hydraflow-api.md, 2)
 *
 *   {"id":1842,"type":"worker_update","timestamp":"...+00:00",
 *    "data":{...},"session_id":"..."}
 *
 * becomes, once hydra_ring_push() has put its head on,
 *
 *   {"id":<global id>,"source_id":1842,"repo":"acme-api",
 *    "type":"worker_update","timestamp":"...","data":{...},
 *    "session_id":"..."}
 *
 * since the repos' ids clash.  What is made here is the "rest": every
 * member after the head, and the closing brace.  Written with yajl_gen,
 * numbers as the repo wrote them, strings as strict UTF-8 (a browser
 * fails its WebSocket on anything else).  No nginx headers.
 */


#ifndef _HYDRA_EVENT_H_INCLUDED_
#define _HYDRA_EVENT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "hydra.h"
#include "hydra_ring.h"


/*
 * The deepest nesting of "[" and "{" in a frame, its own object being 1:
 * a deeper one is refused before it is parsed (HydraFlow's nest 4 deep).
 */
#define HYDRA_EVENT_DEPTH_MAX  64

/* the longest type a filter names: what the ring keeps of a type */
#define HYDRA_EVENT_TYPE_MAX   (HYDRA_RING_TYPE_SIZE - 1)

/* "2026-03-05T10:02:11.504211+00:00" is 32; a longer one is cut */
#define HYDRA_EVENT_TIME_SIZE  64

/* the names one ?types= may list */
#define HYDRA_EVENT_TYPES_MAX  32


/* what the owning worker needs of a frame, beside its rest */
typedef struct {
    int64_t         source_id;     /* the repo's id; -1: none usable */
    char            type[HYDRA_RING_TYPE_SIZE];       /* may be cut */
    char            timestamp[HYDRA_EVENT_TIME_SIZE]; /* "": none */
} hydra_event_t;


/* a browser's ?types=; no names lets every type through */
typedef struct {
    unsigned        n;
    char            names[HYDRA_EVENT_TYPES_MAX][HYDRA_RING_TYPE_SIZE];
} hydra_event_types_t;


int hydra_event_tag(const char *frame, size_t len, const char *repo_key,
    hydra_event_t *ev, char *rest, size_t rest_size, size_t *rest_len);
int hydra_event_make(const char *type, const char *repo_key,
    const char *timestamp, const char *data_json, char *rest, size_t size,
    size_t *rest_len);
int hydra_event_types_parse(const char *arg, size_t len,
    hydra_event_types_t *t);
int hydra_event_types_match(const hydra_event_types_t *t, const char *type);


#endif /* _HYDRA_EVENT_H_INCLUDED_ */
