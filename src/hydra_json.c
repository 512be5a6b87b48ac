
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hydra_json.h"


#define hydra_json_check(call)                                                \
    do {                                                                      \
        if ((call) != yajl_gen_status_ok) {                                   \
            return HYDRA_ERROR;                                               \
        }                                                                     \
    } while (0)

#define hydra_json_key(g, key)                                                \
    hydra_json_check(yajl_gen_string(g, (const unsigned char *) key,          \
                                     sizeof(key) - 1))


static yajl_gen_status hydra_json_string(yajl_gen g, const char *s);
static yajl_gen_status hydra_json_string_or_null(yajl_gen g,
    const char *s);
static yajl_gen_status hydra_json_time_or_null(yajl_gen g,
    int64_t wall_ms);
static int hydra_json_repo(yajl_gen g, const hydra_repo_t *repo);
static int hydra_json_supervisor(yajl_gen g, const hydra_json_registry_t *reg);
static int hydra_json_keys(yajl_gen g, const hydra_json_registry_t *reg);


static const char  *hydra_json_health[] = { "unknown", "up", "down" };
static const char  *hydra_json_source[] = { "static", "supervisor" };


/*
 * GET /api/repos: HydraFlow's {"repos":[SupervisorRepo]} with each entry's
 * live health, and the supervisor's own state:
 *
 *   {"repos":[{"slug":"acme/api","path":"...","port":5101,
 *              "dashboard_url":"...","log_file":"...","running":true,
 *              "key":"acme-api","repo":"acme/api","source":"static",
 *              "address":"127.0.0.1:5101","status":"up",
 *              "last_ok":"2026-...","last_error":null,"latency_ms":2,
 *              "events":false}, ...],
 *    "supervisor":{"address":"127.0.0.1:8765","status":"up",
 *                  "last_ok":"...","last_error":null,"repos":3}}
 */

int
hydra_json_repos(yajl_gen g, const hydra_json_registry_t *reg)
{
    size_t  i;

    hydra_json_check(yajl_gen_map_open(g));

    /* BEGIN repos */

    hydra_json_key(g, "repos");
    hydra_json_check(yajl_gen_array_open(g));

    for (i = 0; i < reg->nrepos; i++) {
        if (hydra_json_repo(g, &reg->repos[i]) != HYDRA_OK) {
            return HYDRA_ERROR;
        }
    }

    hydra_json_check(yajl_gen_array_close(g));

    /* END repos */

    hydra_json_key(g, "supervisor");

    if (hydra_json_supervisor(g, reg) != HYDRA_OK) {
        return HYDRA_ERROR;
    }

    hydra_json_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/* {"error":"...","repos":["acme-api", ...]}: what went wrong, what exists */

int
hydra_json_error(yajl_gen g, const char *message,
    const hydra_json_registry_t *reg)
{
    hydra_json_check(yajl_gen_map_open(g));

    hydra_json_key(g, "error");

    if (hydra_json_string(g, message) != HYDRA_OK) {
        return HYDRA_ERROR;
    }

    if (reg != NULL) {
        hydra_json_key(g, "repos");

        if (hydra_json_keys(g, reg) != HYDRA_OK) {
            return HYDRA_ERROR;
        }
    }

    hydra_json_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/*
 * The data of a repo_status event, when a repo's health changed:
 *
 *   {"repo":"acme-api","status":"down","last_error":"connect"|null}
 */

int
hydra_json_repo_status(yajl_gen g, const hydra_repo_t *repo)
{
    hydra_json_check(yajl_gen_map_open(g));

    hydra_json_key(g, "repo");
    hydra_json_check(hydra_json_string(g, repo->key));

    hydra_json_key(g, "status");
    hydra_json_check(hydra_json_string(g, hydra_json_health[repo->health]));

    hydra_json_key(g, "last_error");
    hydra_json_check(hydra_json_string_or_null(g, repo->last_error));

    hydra_json_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/* the data of a registry event, when the registry changed: {"repos":3} */

int
hydra_json_registry_size(yajl_gen g, size_t nrepos)
{
    hydra_json_check(yajl_gen_map_open(g));

    hydra_json_key(g, "repos");
    hydra_json_check(yajl_gen_integer(g, (long long) nrepos));

    hydra_json_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


void
hydra_json_iso_time(char *dst, int64_t wall_ms)
{
    time_t     sec;
    struct tm  tm;

    sec = (time_t) (wall_ms / 1000);
    gmtime_r(&sec, &tm);

    snprintf(dst, HYDRA_ISO_TIME_SIZE,
             "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (wall_ms % 1000));
}


static int
hydra_json_repo(yajl_gen g, const hydra_repo_t *repo)
{
    const hydra_repo_spec_t  *spec;

    spec = &repo->spec;

    hydra_json_check(yajl_gen_map_open(g));

    /* BEGIN HydraFlow's SupervisorRepo */

    hydra_json_key(g, "slug");
    hydra_json_check(hydra_json_string(g, spec->name));
    hydra_json_key(g, "path");
    hydra_json_check(hydra_json_string(g, spec->path));
    hydra_json_key(g, "port");
    hydra_json_check(yajl_gen_integer(g, spec->port));
    hydra_json_key(g, "dashboard_url");
    hydra_json_check(hydra_json_string(g, spec->dashboard_url));
    hydra_json_key(g, "log_file");
    hydra_json_check(hydra_json_string(g, spec->log_file));
    hydra_json_key(g, "running");
    hydra_json_check(yajl_gen_bool(g, spec->running));

    /* END HydraFlow's SupervisorRepo */

    hydra_json_key(g, "key");
    hydra_json_check(hydra_json_string(g, repo->key));
    hydra_json_key(g, "repo");
    hydra_json_check(hydra_json_string_or_null(g, repo->full_name));
    hydra_json_key(g, "source");
    hydra_json_check(hydra_json_string(g, hydra_json_source[repo->source]));
    hydra_json_key(g, "address");
    hydra_json_check(hydra_json_string(g, repo->addr_text));
    hydra_json_key(g, "status");
    hydra_json_check(hydra_json_string(g, hydra_json_health[repo->health]));
    hydra_json_key(g, "last_ok");
    hydra_json_check(hydra_json_time_or_null(g, repo->last_ok));
    hydra_json_key(g, "last_error");
    hydra_json_check(hydra_json_string_or_null(g, repo->last_error));
    hydra_json_key(g, "latency_ms");

    if (repo->latency_ms < 0) {
        hydra_json_check(yajl_gen_null(g));

    } else {
        hydra_json_check(yajl_gen_integer(g, repo->latency_ms));
    }

    hydra_json_key(g, "events");
    hydra_json_check(yajl_gen_bool(g, repo->events));

    hydra_json_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


static int
hydra_json_supervisor(yajl_gen g, const hydra_json_registry_t *reg)
{
    const hydra_supervisor_state_t  *sup;

    sup = reg->supervisor;

    if (sup == NULL) {
        hydra_json_check(yajl_gen_null(g));
        return HYDRA_OK;
    }

    hydra_json_check(yajl_gen_map_open(g));

    hydra_json_key(g, "address");
    hydra_json_check(hydra_json_string(g, reg->supervisor_addr));
    hydra_json_key(g, "status");
    hydra_json_check(hydra_json_string(g, hydra_json_health[sup->health]));
    hydra_json_key(g, "last_ok");
    hydra_json_check(hydra_json_time_or_null(g, sup->last_ok));
    hydra_json_key(g, "last_error");
    hydra_json_check(hydra_json_string_or_null(g, sup->last_error));
    hydra_json_key(g, "repos");
    hydra_json_check(yajl_gen_integer(g, sup->nrepos));

    hydra_json_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


static int
hydra_json_keys(yajl_gen g, const hydra_json_registry_t *reg)
{
    size_t  i;

    hydra_json_check(yajl_gen_array_open(g));

    for (i = 0; i < reg->nrepos; i++) {
        hydra_json_check(hydra_json_string(g, reg->repos[i].key));
    }

    hydra_json_check(yajl_gen_array_close(g));

    return HYDRA_OK;
}


static yajl_gen_status
hydra_json_string(yajl_gen g, const char *s)
{
    return yajl_gen_string(g, (const unsigned char *) s, strlen(s));
}


static yajl_gen_status
hydra_json_string_or_null(yajl_gen g, const char *s)
{
    if (s[0] == '\0') {
        return yajl_gen_null(g);
    }

    return hydra_json_string(g, s);
}


static yajl_gen_status
hydra_json_time_or_null(yajl_gen g, int64_t wall_ms)
{
    char  buf[HYDRA_ISO_TIME_SIZE];

    if (wall_ms <= 0) {
        return yajl_gen_null(g);
    }

    hydra_json_iso_time(buf, wall_ms);

    return hydra_json_string(g, buf);
}
