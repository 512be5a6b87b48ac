
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "hydra_registry.h"


static void hydra_registry_remove_missing(hydra_registry_t *reg,
    hydra_source_e source, const hydra_repo_spec_t *specs, size_t n);
static int hydra_registry_remove_shadowed(hydra_registry_t *reg);
static hydra_repo_t *hydra_registry_lookup_name(hydra_registry_t *reg,
    hydra_source_e source, const char *name);
static int hydra_registry_shadowed(const hydra_registry_t *reg,
    const char *name);
static int hydra_registry_update(hydra_repo_t *repo,
    const hydra_repo_spec_t *spec, const hydra_clock_t *now);
static void hydra_registry_reset_health(hydra_repo_t *repo,
    const hydra_clock_t *now);
static void hydra_registry_set_key(hydra_repo_t *repo);
static int hydra_registry_names(const hydra_repo_t *repo, const char *fold,
    int (*match)(const char *a, const char *b));
static int hydra_registry_fold_eq(const char *fold, const char *name);
static int hydra_registry_base_eq(const char *fold, const char *name);
static void hydra_registry_copy(char *dst, const char *src, size_t size);
static hydra_repo_t *hydra_registry_repo(const hydra_registry_t *reg,
    uint32_t id);
static hydra_repo_t *hydra_registry_feed_owned(hydra_registry_t *reg,
    uint32_t id, int64_t owner);
static void hydra_registry_feed_clear(hydra_registry_t *reg,
    hydra_repo_t *repo);


void
hydra_registry_init(hydra_registry_t *reg)
{
    memset(reg, 0, sizeof(hydra_registry_t));
    reg->next_id = 1;
    reg->supervisor.health = HYDRA_HEALTH_UNKNOWN;
}


/*
 * Makes the entries of one source what specs say, in place: entries that
 * are gone are removed, known ones updated (keeping their health unless
 * their address or running state changed), new ones appended.  A
 * supervisor entry that names a static repo is left out: the operator's
 * line wins, whichever list came first.  Returns how many specs did not
 * fit.
 */

size_t
hydra_registry_apply(hydra_registry_t *reg, hydra_source_e source,
    const hydra_repo_spec_t *specs, size_t n, const hydra_clock_t *now)
{
    size_t         i, dropped;
    int            changed;
    unsigned       before;
    hydra_repo_t  *repo;

    before = reg->nrepos;
    changed = 0;
    dropped = 0;

    hydra_registry_remove_missing(reg, source, specs, n);

    if (reg->nrepos != before) {
        changed = 1;
    }

    for (i = 0; i < n; i++) {
        if (source == HYDRA_SOURCE_SUPERVISOR
            && hydra_registry_shadowed(reg, specs[i].name))
        {
            continue;
        }

        repo = hydra_registry_lookup_name(reg, source, specs[i].name);

        if (repo != NULL) {
            changed |= hydra_registry_update(repo, &specs[i], now);
            continue;
        }

        if (reg->nrepos == HYDRA_REPOS_MAX) {
            dropped++;
            continue;
        }

        repo = &reg->repos[reg->nrepos++];
        memset(repo, 0, sizeof(hydra_repo_t));

        repo->id = reg->next_id++;
        repo->feed_id = -1;
        repo->source = source;
        repo->spec = specs[i];
        hydra_registry_set_key(repo);
        hydra_registry_addr_text(repo->addr_text, HYDRA_ADDR_SIZE,
                                 &repo->spec.sockaddr);
        hydra_registry_reset_health(repo, now);
        changed = 1;
    }

    if (hydra_registry_remove_shadowed(reg)) {
        changed = 1;
    }

    if (changed) {
        reg->version++;
    }

    return dropped;
}


/*
 * Resolves a slug in any of HydraFlow's forms to one entry.  The most
 * exact reading wins: the configured name or owner/name as written
 * (ignoring case), then the folded form ("acme-api", "acme-my-repo"),
 * then the bare name without its owner ("api"), as the supervisor's own
 * lookup does.  Two entries at the same level make it ambiguous.  A slug
 * with a ".." segment names nothing, though its fold may look like a name.
 */

hydra_find_e
hydra_registry_find(const hydra_registry_t *reg, const char *slug,
    size_t len, size_t *index)
{
    int          level, found;
    char         fold[HYDRA_NAME_SIZE], exact[HYDRA_NAME_SIZE];
    size_t       i;
    static int (*levels[])(const char *a, const char *b) = {
        strcasecmp, hydra_registry_fold_eq, hydra_registry_base_eq
    };

    if (!hydra_slug_valid(slug, len) || hydra_slug_dot_dot(slug, len)) {
        return HYDRA_FIND_NONE;
    }

    memcpy(exact, slug, len);
    exact[len] = '\0';
    hydra_slug_fold(fold, sizeof(fold), slug, len);

    for (level = 0; level < (int) (sizeof(levels) / sizeof(levels[0]));
         level++)
    {
        found = 0;

        for (i = 0; i < reg->nrepos; i++) {
            if (hydra_registry_names(&reg->repos[i],
                                     level == 0 ? exact : fold,
                                     levels[level]))
            {
                *index = i;
                found++;
            }
        }

        if (found == 1) {
            return HYDRA_FIND_OK;
        }

        if (found > 1) {
            return HYDRA_FIND_AMBIGUOUS;
        }
    }

    return HYDRA_FIND_NONE;
}


/*
 * Hands out the probes that are due, each with a lease: the worker that
 * takes a job owns it until it reports or the lease runs out, so one
 * probe per repo and interval runs however many workers tick.
 */

size_t
hydra_registry_due_probes(hydra_registry_t *reg, const hydra_clock_t *now,
    int64_t interval, int64_t lease, hydra_probe_job_t *jobs, size_t max)
{
    size_t         i, n;
    hydra_repo_t  *repo;

    n = 0;

    for (i = 0; i < reg->nrepos && n < max; i++) {
        repo = &reg->repos[i];

        if (!repo->spec.running || repo->spec.port == 0
            || repo->probe_due > now->mono || repo->probe_busy > now->mono)
        {
            continue;
        }

        repo->probe_due = now->mono + interval;
        repo->probe_busy = now->mono + lease;

        jobs[n].id = repo->id;
        jobs[n].sockaddr = repo->spec.sockaddr;
        jobs[n].socklen = repo->spec.socklen;
        memcpy(jobs[n].addr_text, repo->addr_text, HYDRA_ADDR_SIZE);
        n++;
    }

    return n;
}


/*
 * Records a probe's outcome.  A result for an entry that is gone, has
 * moved to another address or stopped running since the probe started
 * is dropped.  Returns
 * 1 when the health changed (up/down or the owner/name learned).
 */

int
hydra_registry_probe_done(hydra_registry_t *reg, const hydra_probe_job_t *job,
    const hydra_probe_result_t *res, const hydra_clock_t *now)
{
    int            changed;
    size_t         i;
    const char    *error;
    hydra_repo_t  *repo;

    for (i = 0; i < reg->nrepos; i++) {
        if (reg->repos[i].id == job->id) {
            break;
        }
    }

    if (i == reg->nrepos) {
        return 0;
    }

    repo = &reg->repos[i];

    /* a probe that lands after its repo stopped running tells nothing */

    if (!repo->spec.running || repo->spec.port == 0
        || !hydra_registry_sockaddr_eq(&repo->spec.sockaddr,
                                       repo->spec.socklen,
                                       &job->sockaddr, job->socklen))
    {
        return 0;
    }

    repo->probe_busy = 0;
    changed = 0;

    if (res->up) {
        changed = (repo->health != HYDRA_HEALTH_UP);
        repo->health = HYDRA_HEALTH_UP;
        repo->last_ok = now->wall;
        repo->last_error[0] = '\0';
        repo->latency_ms = res->latency_ms;

        if (res->full_name != NULL && res->full_name[0] != '\0'
            && hydra_slug_valid(res->full_name, strlen(res->full_name))
            && strcmp(res->full_name, repo->full_name) != 0)
        {
            hydra_registry_copy(repo->full_name, res->full_name,
                                HYDRA_NAME_SIZE);
            hydra_registry_set_key(repo);
            changed = 1;
        }

    } else {
        error = res->error ? res->error : "down";
        changed = (repo->health != HYDRA_HEALTH_DOWN
                   || strcmp(repo->last_error, error) != 0);
        repo->health = HYDRA_HEALTH_DOWN;
        repo->latency_ms = -1;
        hydra_registry_copy(repo->last_error, error, HYDRA_ERROR_SIZE);
    }

    /* last: it may move entries, repo included */

    if (changed && hydra_registry_remove_shadowed(reg)) {
        changed = 1;
    }

    if (changed) {
        reg->version++;
    }

    return changed;
}


const hydra_repo_t *
hydra_registry_by_id(const hydra_registry_t *reg, uint32_t id)
{
    return hydra_registry_repo(reg, id);
}


/*
 * Hands out the event feeds to connect: a repo that is running, was
 * found up by a probe (so its owner/name, the events' tag, is known),
 * is past its retry time, and whose feed nobody holds or whose owner's
 * lease ran out (the owner died).  The taker holds it under owner's
 * lease from then on and renews it on every tick.
 */

size_t
hydra_registry_due_feeds(hydra_registry_t *reg, const hydra_clock_t *now,
    int64_t owner, int64_t lease, hydra_feed_job_t *jobs, size_t max)
{
    size_t         i, n;
    hydra_repo_t  *repo;

    n = 0;

    for (i = 0; i < reg->nrepos && n < max; i++) {
        repo = &reg->repos[i];

        if (!repo->spec.running || repo->spec.port == 0
            || repo->health != HYDRA_HEALTH_UP
            || repo->feed_retry > now->mono
            || (repo->feed_owner != 0 && repo->feed_lease > now->mono))
        {
            continue;
        }

        hydra_registry_feed_clear(reg, repo);

        repo->feed_owner = owner;
        repo->feed_lease = now->mono + lease;

        jobs[n].id = repo->id;
        jobs[n].sockaddr = repo->spec.sockaddr;
        jobs[n].socklen = repo->spec.socklen;
        memcpy(jobs[n].addr_text, repo->addr_text, HYDRA_ADDR_SIZE);
        memcpy(jobs[n].key, repo->key, HYDRA_NAME_SIZE);
        n++;
    }

    return n;
}


/*
 * The owner's tick: the lease goes on while the repo still runs at the
 * address the feed connected to, and job->key follows the registry.
 * HYDRA_DECLINED: the feed must be closed, as the entry is gone, another
 * worker holds it, or the repo stopped or moved (then the feed is
 * released at once, to connect to the new address without delay).
 */

int
hydra_registry_feed_renew(hydra_registry_t *reg, hydra_feed_job_t *job,
    int64_t owner, const hydra_clock_t *now, int64_t lease)
{
    hydra_repo_t  *repo;

    repo = hydra_registry_feed_owned(reg, job->id, owner);

    if (repo == NULL) {
        return HYDRA_DECLINED;
    }

    if (!repo->spec.running || repo->spec.port == 0
        || !hydra_registry_sockaddr_eq(&repo->spec.sockaddr,
                                       repo->spec.socklen,
                                       &job->sockaddr, job->socklen))
    {
        hydra_registry_feed_clear(reg, repo);
        repo->feed_retry = now->mono;
        return HYDRA_DECLINED;
    }

    repo->feed_lease = now->mono + lease;
    memcpy(job->key, repo->key, HYDRA_NAME_SIZE);

    return HYDRA_OK;
}


/* the handshake is done: the feed is up, the backoff starts over */

int
hydra_registry_feed_up(hydra_registry_t *reg, uint32_t id, int64_t owner)
{
    hydra_repo_t  *repo;

    repo = hydra_registry_feed_owned(reg, id, owner);

    if (repo == NULL) {
        return HYDRA_DECLINED;
    }

    repo->feed_failures = 0;

    if (!repo->events) {
        repo->events = 1;
        reg->version++;
    }

    return HYDRA_OK;
}


/*
 * An event from the feed: HYDRA_OK when it comes after the dedup point
 * (timestamps compared as strings, HydraFlow's UTC ISO form sorting as
 * time, then ids), which it then becomes; HYDRA_DECLINED when it was
 * already taken (a replayed history, on a reconnect or after the repo
 * restarted); HYDRA_ERROR when owner no longer holds the feed, which it
 * must then close.  An event without a timestamp cannot be placed: it
 * is taken and the point stays.
 */

int
hydra_registry_feed_take(hydra_registry_t *reg, uint32_t id, int64_t owner,
    const char *timestamp, int64_t source_id)
{
    int            cmp;
    hydra_repo_t  *repo;

    repo = hydra_registry_feed_owned(reg, id, owner);

    if (repo == NULL) {
        return HYDRA_ERROR;
    }

    if (timestamp[0] == '\0') {
        return HYDRA_OK;
    }

    cmp = strcmp(timestamp, repo->feed_time);

    if (cmp < 0 || (cmp == 0 && source_id <= repo->feed_id)) {
        return HYDRA_DECLINED;
    }

    hydra_registry_copy(repo->feed_time, timestamp, HYDRA_FEED_TIME_SIZE);
    repo->feed_id = source_id;

    return HYDRA_OK;
}


/*
 * The owner lets its feed go: at once (the repo moved, the worker
 * exits), or after a failure, with the next connect delayed by the
 * backoff; rnd is a random number for its jitter.
 */

void
hydra_registry_feed_release(hydra_registry_t *reg, uint32_t id,
    int64_t owner, const hydra_clock_t *now, int failed, uint32_t rnd)
{
    hydra_repo_t  *repo;

    repo = hydra_registry_feed_owned(reg, id, owner);

    if (repo == NULL) {
        return;
    }

    hydra_registry_feed_clear(reg, repo);

    if (!failed) {
        repo->feed_retry = now->mono;
        return;
    }

    if (repo->feed_failures < 32) {
        repo->feed_failures++;
    }

    repo->feed_retry = now->mono
                       + hydra_registry_feed_backoff(repo->feed_failures,
                                                     rnd);
}


/*
 * Full jitter: uniform between 1 s and 2^failures s, at most 30 s, so
 * repos that fail together do not come back together.
 */

int64_t
hydra_registry_feed_backoff(unsigned failures, uint32_t rnd)
{
    int64_t  cap;

    cap = HYDRA_FEED_BACKOFF_MIN;

    while (failures-- > 0 && cap < HYDRA_FEED_BACKOFF_MAX) {
        cap *= 2;
    }

    if (cap > HYDRA_FEED_BACKOFF_MAX) {
        cap = HYDRA_FEED_BACKOFF_MAX;
    }

    return HYDRA_FEED_BACKOFF_MIN
           + (int64_t) (rnd % (uint32_t) (cap - HYDRA_FEED_BACKOFF_MIN + 1));
}


int
hydra_registry_sockaddr_eq(const struct sockaddr_storage *a, socklen_t alen,
    const struct sockaddr_storage *b, socklen_t blen)
{
    const struct sockaddr_in   *a4, *b4;
    const struct sockaddr_in6  *a6, *b6;

    if (alen != blen || a->ss_family != b->ss_family) {
        return 0;
    }

    if (a->ss_family == AF_INET) {
        a4 = (const struct sockaddr_in *) a;
        b4 = (const struct sockaddr_in *) b;

        return a4->sin_port == b4->sin_port
               && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
    }

    if (a->ss_family == AF_INET6) {
        a6 = (const struct sockaddr_in6 *) a;
        b6 = (const struct sockaddr_in6 *) b;

        return a6->sin6_port == b6->sin6_port
               && memcmp(&a6->sin6_addr, &b6->sin6_addr,
                         sizeof(struct in6_addr)) == 0;
    }

    return memcmp(a, b, alen) == 0;
}


void
hydra_registry_addr_text(char *dst, size_t size,
    const struct sockaddr_storage *sa)
{
    char                       host[INET6_ADDRSTRLEN];
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    if (sa->ss_family == AF_INET) {
        sin = (const struct sockaddr_in *) sa;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        snprintf(dst, size, "%s:%u", host, ntohs(sin->sin_port));
        return;
    }

    if (sa->ss_family == AF_INET6) {
        sin6 = (const struct sockaddr_in6 *) sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        snprintf(dst, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
        return;
    }

    snprintf(dst, size, "unix:");
}


int
hydra_registry_set_port(struct sockaddr_storage *sa, unsigned port)
{
    if (port > UINT16_MAX) {
        return HYDRA_ERROR;
    }

    if (sa->ss_family == AF_INET) {
        ((struct sockaddr_in *) sa)->sin_port = htons((uint16_t) port);
        return HYDRA_OK;
    }

    if (sa->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *) sa)->sin6_port = htons((uint16_t) port);
        return HYDRA_OK;
    }

    return HYDRA_ERROR;
}


static void
hydra_registry_remove_missing(hydra_registry_t *reg, hydra_source_e source,
    const hydra_repo_spec_t *specs, size_t n)
{
    size_t         i, j, kept;
    hydra_repo_t  *repo;

    kept = 0;

    for (i = 0; i < reg->nrepos; i++) {
        repo = &reg->repos[i];

        if (repo->source == source) {
            for (j = 0; j < n; j++) {
                if (strcmp(specs[j].name, repo->spec.name) == 0) {
                    break;
                }
            }

            if (j == n) {
                continue;
            }
        }

        if (kept != i) {
            reg->repos[kept] = *repo;
        }

        kept++;
    }

    reg->nrepos = kept;
}


/*
 * A supervisor entry that names a static repo goes, by its slug or by the
 * owner/name a probe learned: the static one wins.
 */

static int
hydra_registry_remove_shadowed(hydra_registry_t *reg)
{
    size_t         i, kept;
    hydra_repo_t  *repo;

    kept = 0;

    for (i = 0; i < reg->nrepos; i++) {
        repo = &reg->repos[i];

        if (repo->source == HYDRA_SOURCE_SUPERVISOR
            && (hydra_registry_shadowed(reg, repo->spec.name)
                || (repo->full_name[0] != '\0'
                    && hydra_registry_shadowed(reg, repo->full_name))))
        {
            continue;
        }

        if (kept != i) {
            reg->repos[kept] = *repo;
        }

        kept++;
    }

    if (kept == reg->nrepos) {
        return 0;
    }

    reg->nrepos = kept;

    return 1;
}


static hydra_repo_t *
hydra_registry_lookup_name(hydra_registry_t *reg, hydra_source_e source,
    const char *name)
{
    size_t  i;

    for (i = 0; i < reg->nrepos; i++) {
        if (reg->repos[i].source == source
            && strcmp(reg->repos[i].spec.name, name) == 0)
        {
            return &reg->repos[i];
        }
    }

    return NULL;
}


static int
hydra_registry_shadowed(const hydra_registry_t *reg, const char *name)
{
    char    fold[HYDRA_NAME_SIZE];
    size_t  i;

    hydra_slug_fold(fold, sizeof(fold), name, strlen(name));

    for (i = 0; i < reg->nrepos; i++) {
        if (reg->repos[i].source == HYDRA_SOURCE_STATIC
            && hydra_registry_names(&reg->repos[i], fold,
                                    hydra_registry_fold_eq))
        {
            return 1;
        }
    }

    return 0;
}


static int
hydra_registry_update(hydra_repo_t *repo, const hydra_repo_spec_t *spec,
    const hydra_clock_t *now)
{
    int  moved;

    moved = spec->running != repo->spec.running
            || spec->port != repo->spec.port
            || !hydra_registry_sockaddr_eq(&spec->sockaddr, spec->socklen,
                                           &repo->spec.sockaddr,
                                           repo->spec.socklen);

    if (!moved && memcmp(spec, &repo->spec, sizeof(hydra_repo_spec_t)) == 0) {
        return 0;
    }

    repo->spec = *spec;

    if (moved) {
        hydra_registry_addr_text(repo->addr_text, HYDRA_ADDR_SIZE,
                                 &repo->spec.sockaddr);
        hydra_registry_reset_health(repo, now);
    }

    return 1;
}


static void
hydra_registry_reset_health(hydra_repo_t *repo, const hydra_clock_t *now)
{
    repo->latency_ms = -1;
    repo->probe_due = now->mono;
    repo->probe_busy = 0;

    if (repo->spec.running && repo->spec.port != 0) {
        repo->health = HYDRA_HEALTH_UNKNOWN;
        repo->last_error[0] = '\0';

    } else {
        repo->health = HYDRA_HEALTH_DOWN;
        hydra_registry_copy(repo->last_error, "not running",
                            HYDRA_ERROR_SIZE);
    }
}


/* the dash form of owner/name once a probe told it, else of the slug */

static void
hydra_registry_set_key(hydra_repo_t *repo)
{
    const char  *name;

    name = repo->full_name[0] ? repo->full_name : repo->spec.name;

    if (repo->full_name[0] == '\0' && strchr(name, '/') != NULL) {
        hydra_registry_copy(repo->full_name, name, HYDRA_NAME_SIZE);
    }

    hydra_slug_dash(repo->key, HYDRA_NAME_SIZE, name, strlen(name));
}


static int
hydra_registry_names(const hydra_repo_t *repo, const char *fold,
    int (*match)(const char *a, const char *b))
{
    return match(fold, repo->spec.name) == 0
           || (repo->full_name[0] && match(fold, repo->full_name) == 0)
           || match(fold, repo->key) == 0;
}


/* strcmp-like: 0 when name folds to fold */

static int
hydra_registry_fold_eq(const char *fold, const char *name)
{
    char  buf[HYDRA_NAME_SIZE];

    hydra_slug_fold(buf, sizeof(buf), name, strlen(name));

    return strcmp(fold, buf);
}


/* strcmp-like: 0 when a slug without an owner names name's base */

static int
hydra_registry_base_eq(const char *fold, const char *name)
{
    char         buf[HYDRA_NAME_SIZE];
    size_t       len;
    const char  *base;

    base = hydra_slug_base(name, strlen(name), &len);

    if (base == name) {
        return 1;
    }

    hydra_slug_fold(buf, sizeof(buf), base, len);

    return strcmp(fold, buf);
}


static void
hydra_registry_copy(char *dst, const char *src, size_t size)
{
    size_t  len;

    len = strlen(src);

    if (len >= size) {
        len = size - 1;
    }

    memcpy(dst, src, len);
    dst[len] = '\0';
}


/* the entry of an id; the registry is the caller's to change or not */

static hydra_repo_t *
hydra_registry_repo(const hydra_registry_t *reg, uint32_t id)
{
    size_t  i;

    for (i = 0; i < reg->nrepos; i++) {
        if (reg->repos[i].id == id) {
            return (hydra_repo_t *) &reg->repos[i];
        }
    }

    return NULL;
}


static hydra_repo_t *
hydra_registry_feed_owned(hydra_registry_t *reg, uint32_t id, int64_t owner)
{
    hydra_repo_t  *repo;

    repo = hydra_registry_repo(reg, id);

    if (repo == NULL || repo->feed_owner != owner) {
        return NULL;
    }

    return repo;
}


/* nobody holds the feed, so it is not up; the dedup point stays */

static void
hydra_registry_feed_clear(hydra_registry_t *reg, hydra_repo_t *repo)
{
    repo->feed_owner = 0;
    repo->feed_lease = 0;

    if (repo->events) {
        repo->events = 0;
        reg->version++;
    }
}
