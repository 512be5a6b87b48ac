
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The registry of repos: static hydra_repo lines and the supervisor's
 * list, with the live health of each.  It lives in the shared zone, so
 * it is one flat structure of fixed size with no pointers; every
 * function here runs under the zone's lock.  No nginx headers.
 */


#ifndef _HYDRA_REGISTRY_H_INCLUDED_
#define _HYDRA_REGISTRY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hydra.h"
#include "hydra_slug.h"


/* a HydraFlow fleet is a handful of repos; this bounds the zone's use */
#define HYDRA_REPOS_MAX       128

#define HYDRA_NAME_SIZE       (HYDRA_SLUG_MAX + 1)
#define HYDRA_PATH_SIZE       1024
#define HYDRA_URL_SIZE        256
#define HYDRA_ERROR_SIZE      64
#define HYDRA_ADDR_SIZE       64

/* an event's timestamp as a feed's dedup point keeps it (may be cut) */
#define HYDRA_FEED_TIME_SIZE  64

/* a feed's reconnect delay: full jitter, from 1 s up to 30 s */
#define HYDRA_FEED_BACKOFF_MIN  1000
#define HYDRA_FEED_BACKOFF_MAX  30000


typedef enum {
    HYDRA_SOURCE_STATIC = 0,
    HYDRA_SOURCE_SUPERVISOR
} hydra_source_e;


typedef enum {
    HYDRA_HEALTH_UNKNOWN = 0,
    HYDRA_HEALTH_UP,
    HYDRA_HEALTH_DOWN
} hydra_health_e;


typedef enum {
    HYDRA_FIND_OK = 0,
    HYDRA_FIND_NONE,
    HYDRA_FIND_AMBIGUOUS
} hydra_find_e;


/* what a hydra_repo line or the supervisor's list_repos says of a repo */
typedef struct {
    char                     name[HYDRA_NAME_SIZE];
    char                     path[HYDRA_PATH_SIZE];
    char                     dashboard_url[HYDRA_URL_SIZE];
    char                     log_file[HYDRA_PATH_SIZE];
    unsigned                 port;
    int                      running;
    struct sockaddr_storage  sockaddr;
    socklen_t                socklen;
} hydra_repo_spec_t;


typedef struct {
    hydra_repo_spec_t        spec;
    uint32_t                 id;          /* never reused */
    hydra_source_e           source;
    char                     full_name[HYDRA_NAME_SIZE];  /* owner/name */
    char                     key[HYDRA_NAME_SIZE];        /* owner-name */
    char                     addr_text[HYDRA_ADDR_SIZE];

    hydra_health_e           health;
    int64_t                  last_ok;     /* wall ms, 0: never */
    int64_t                  latency_ms;  /* -1: not measured */
    char                     last_error[HYDRA_ERROR_SIZE];
    int                      events;      /* upstream WebSocket is up */

    int64_t                  probe_due;   /* mono ms */
    int64_t                  probe_busy;  /* mono ms: a probe's lease */

    /*
     * The event feed, the repo's /ws held by one worker: its pid and
     * lease, when it may connect again, and the dedup point, the
     * (timestamp, id) of the last event taken from the repo.
     */
    int64_t                  feed_owner;  /* pid, 0: none */
    int64_t                  feed_lease;  /* mono ms */
    int64_t                  feed_retry;  /* mono ms */
    unsigned                 feed_failures;  /* in a row */
    int64_t                  feed_id;     /* -1: none */
    char                     feed_time[HYDRA_FEED_TIME_SIZE];
} hydra_repo_t;


typedef struct {
    int                      configured;
    hydra_health_e           health;
    int64_t                  last_ok;
    char                     last_error[HYDRA_ERROR_SIZE];
    unsigned                 nrepos;      /* in its last good answer */
    int64_t                  due;
    int64_t                  busy;
} hydra_supervisor_state_t;


typedef struct {
    uint64_t                 version;     /* bumped on every change */
    uint32_t                 next_id;
    unsigned                 nrepos;
    hydra_supervisor_state_t supervisor;
    hydra_repo_t             repos[HYDRA_REPOS_MAX];
} hydra_registry_t;


/* a probe to run: copied out of the registry under the lock */
typedef struct {
    uint32_t                 id;
    struct sockaddr_storage  sockaddr;
    socklen_t                socklen;
    char                     addr_text[HYDRA_ADDR_SIZE];
} hydra_probe_job_t;


/* a feed to connect: copied out of the registry under the lock */
typedef struct {
    uint32_t                 id;
    struct sockaddr_storage  sockaddr;
    socklen_t                socklen;
    char                     addr_text[HYDRA_ADDR_SIZE];
    char                     key[HYDRA_NAME_SIZE];
} hydra_feed_job_t;


typedef struct {
    int                      up;
    int64_t                  latency_ms;
    const char              *error;       /* when down */
    const char              *full_name;   /* learned owner/name, or NULL */
} hydra_probe_result_t;


void hydra_registry_init(hydra_registry_t *reg);
size_t hydra_registry_apply(hydra_registry_t *reg, hydra_source_e source,
    const hydra_repo_spec_t *specs, size_t n, const hydra_clock_t *now);
hydra_find_e hydra_registry_find(const hydra_registry_t *reg,
    const char *slug, size_t len, size_t *index);
size_t hydra_registry_due_probes(hydra_registry_t *reg,
    const hydra_clock_t *now, int64_t interval, int64_t lease,
    hydra_probe_job_t *jobs, size_t max);
int hydra_registry_probe_done(hydra_registry_t *reg,
    const hydra_probe_job_t *job, const hydra_probe_result_t *res,
    const hydra_clock_t *now);
const hydra_repo_t *hydra_registry_by_id(const hydra_registry_t *reg,
    uint32_t id);
size_t hydra_registry_due_feeds(hydra_registry_t *reg,
    const hydra_clock_t *now, int64_t owner, int64_t lease,
    hydra_feed_job_t *jobs, size_t max);
int hydra_registry_feed_renew(hydra_registry_t *reg, hydra_feed_job_t *job,
    int64_t owner, const hydra_clock_t *now, int64_t lease);
int hydra_registry_feed_up(hydra_registry_t *reg, uint32_t id,
    int64_t owner);
int hydra_registry_feed_take(hydra_registry_t *reg, uint32_t id,
    int64_t owner, const char *timestamp, int64_t source_id);
void hydra_registry_feed_release(hydra_registry_t *reg, uint32_t id,
    int64_t owner, const hydra_clock_t *now, int failed, uint32_t rnd);
int64_t hydra_registry_feed_backoff(unsigned failures, uint32_t rnd);
int hydra_registry_sockaddr_eq(const struct sockaddr_storage *a,
    socklen_t alen, const struct sockaddr_storage *b, socklen_t blen);
void hydra_registry_addr_text(char *dst, size_t size,
    const struct sockaddr_storage *sa);
int hydra_registry_set_port(struct sockaddr_storage *sa, unsigned port);


#endif /* _HYDRA_REGISTRY_H_INCLUDED_ */
