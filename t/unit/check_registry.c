
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_registry: applying static and supervisor lists, finding a repo
 * by any slug form, leasing probes and recording their outcome, leasing
 * event feeds and keeping their dedup points.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/un.h>
#include <check.h>

#include "hydra_registry.h"


#define HYDRA_TEST_SPECS      (HYDRA_REPOS_MAX + 8)
#define HYDRA_TEST_INTERVAL   5000
#define HYDRA_TEST_LEASE      2000
#define HYDRA_TEST_OWNER      4242
#define HYDRA_TEST_OTHER      4343

#define hydra_static(n)       hydra_registry_apply(reg, HYDRA_SOURCE_STATIC,  \
                                                   specs, n, &now)
#define hydra_sup(n)          hydra_registry_apply(reg,                       \
                                                   HYDRA_SOURCE_SUPERVISOR,   \
                                                   specs, n, &now)


static void hydra_setup(void);
static void hydra_teardown(void);
static void hydra_spec(hydra_repo_spec_t *spec, const char *name,
    const char *ip, unsigned port, int running);
static size_t hydra_find_ok(const char *slug);
static hydra_find_e hydra_find(const char *slug);
static void hydra_probe_up(const hydra_probe_job_t *job, int64_t latency,
    const char *full_name);
static int hydra_probe_down(const hydra_probe_job_t *job,
    const char *error);
static void hydra_all_up(void);
static size_t hydra_feeds(int64_t owner, hydra_feed_job_t *jobs,
    size_t max);
static int hydra_take(int64_t owner, const char *timestamp, int64_t id);


static hydra_registry_t   *reg;
static hydra_repo_spec_t  *specs;
static hydra_clock_t       now;


START_TEST(test_init)
{
    ck_assert_uint_eq(reg->nrepos, 0);
    ck_assert_uint_eq(reg->version, 0);
    ck_assert_uint_eq(reg->next_id, 1);
    ck_assert_int_eq(reg->supervisor.health, HYDRA_HEALTH_UNKNOWN);
    ck_assert_int_eq(hydra_find("acme/api"), HYDRA_FIND_NONE);
}
END_TEST


START_TEST(test_apply_static)
{
    hydra_repo_t  *r;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_spec(&specs[1], "web", "::1", 5102, 1);

    ck_assert_uint_eq(hydra_static(2), 0);
    ck_assert_uint_eq(reg->nrepos, 2);
    ck_assert_uint_eq(reg->version, 1);

    r = &reg->repos[0];
    ck_assert_uint_eq(r->id, 1);
    ck_assert_int_eq(r->source, HYDRA_SOURCE_STATIC);
    ck_assert_str_eq(r->spec.name, "acme/api");
    ck_assert_str_eq(r->full_name, "acme/api");
    ck_assert_str_eq(r->key, "acme-api");
    ck_assert_str_eq(r->addr_text, "127.0.0.1:5101");
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UNKNOWN);
    ck_assert_str_eq(r->last_error, "");
    ck_assert_int_eq(r->last_ok, 0);
    ck_assert_int_eq(r->latency_ms, -1);
    ck_assert_int_eq(r->events, 0);
    ck_assert_int_eq(r->probe_due, now.mono);
    ck_assert_int_eq(r->probe_busy, 0);

    r = &reg->repos[1];
    ck_assert_uint_eq(r->id, 2);
    ck_assert_str_eq(r->full_name, "");
    ck_assert_str_eq(r->key, "web");
    ck_assert_str_eq(r->addr_text, "[::1]:5102");
}
END_TEST


START_TEST(test_apply_not_running)
{
    hydra_spec(&specs[0], "stopped", "127.0.0.1", 5101, 0);
    hydra_spec(&specs[1], "registered", "127.0.0.1", 0, 1);

    ck_assert_uint_eq(hydra_sup(2), 0);
    ck_assert_uint_eq(reg->nrepos, 2);

    ck_assert_int_eq(reg->repos[0].source, HYDRA_SOURCE_SUPERVISOR);
    ck_assert_int_eq(reg->repos[0].health, HYDRA_HEALTH_DOWN);
    ck_assert_str_eq(reg->repos[0].last_error, "not running");
    ck_assert_int_eq(reg->repos[1].health, HYDRA_HEALTH_DOWN);
    ck_assert_str_eq(reg->repos[1].last_error, "not running");
}
END_TEST


START_TEST(test_apply_supervisor)
{
    hydra_spec(&specs[0], "api", "127.0.0.1", 53117, 1);
    hydra_spec(&specs[1], "acme/web", "127.0.0.1", 0, 0);

    ck_assert_uint_eq(hydra_sup(2), 0);
    ck_assert_uint_eq(reg->nrepos, 2);
    ck_assert_uint_eq(reg->version, 1);
    ck_assert_int_eq(reg->repos[0].source, HYDRA_SOURCE_SUPERVISOR);
    ck_assert_int_eq(reg->repos[1].source, HYDRA_SOURCE_SUPERVISOR);
    ck_assert_str_eq(reg->repos[0].key, "api");
    ck_assert_str_eq(reg->repos[1].key, "acme-web");

    /* the same list again changes nothing */
    ck_assert_uint_eq(hydra_sup(2), 0);
    ck_assert_uint_eq(reg->nrepos, 2);
    ck_assert_uint_eq(reg->version, 1);
    ck_assert_uint_eq(reg->repos[0].id, 1);
    ck_assert_uint_eq(reg->repos[1].id, 2);
}
END_TEST


START_TEST(test_apply_sources_apart)
{
    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);

    hydra_spec(&specs[0], "acme/web", "127.0.0.1", 5102, 1);
    hydra_sup(1);

    ck_assert_uint_eq(reg->nrepos, 2);

    /* an empty supervisor list removes only the supervisor's repos */
    hydra_sup(0);

    ck_assert_uint_eq(reg->nrepos, 1);
    ck_assert_str_eq(reg->repos[0].spec.name, "acme/api");

    hydra_spec(&specs[0], "acme/web", "127.0.0.1", 5102, 1);
    hydra_sup(1);

    /* and an empty static list only the static ones */
    hydra_static(0);

    ck_assert_uint_eq(reg->nrepos, 1);
    ck_assert_str_eq(reg->repos[0].spec.name, "acme/web");
}
END_TEST


START_TEST(test_static_wins)
{
    size_t  i;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 6001, 1);
    hydra_spec(&specs[1], "ACME-API", "127.0.0.1", 6002, 1);
    hydra_spec(&specs[2], "acme-api", "127.0.0.1", 6003, 1);
    hydra_spec(&specs[3], "acme/web", "127.0.0.1", 6004, 1);

    ck_assert_uint_eq(hydra_sup(4), 0);
    ck_assert_uint_eq(reg->nrepos, 2);
    ck_assert_int_eq(reg->repos[0].source, HYDRA_SOURCE_STATIC);
    ck_assert_int_eq(reg->repos[1].source, HYDRA_SOURCE_SUPERVISOR);
    ck_assert_str_eq(reg->repos[1].spec.name, "acme/web");

    i = hydra_find_ok("acme/api");
    ck_assert_str_eq(reg->repos[i].addr_text, "127.0.0.1:5101");

    i = hydra_find_ok("acme-api");
    ck_assert_str_eq(reg->repos[i].addr_text, "127.0.0.1:5101");
}
END_TEST


START_TEST(test_static_wins_after_supervisor)
{
    size_t  i;

    /* the supervisor's list came first, then an operator's line */
    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 6001, 1);
    hydra_spec(&specs[1], "acme/web", "127.0.0.1", 6002, 1);
    hydra_sup(2);

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);

    i = hydra_find_ok("acme/api");
    ck_assert_int_eq(reg->repos[i].source, HYDRA_SOURCE_STATIC);
    ck_assert_str_eq(reg->repos[i].addr_text, "127.0.0.1:5101");
    ck_assert_uint_eq(reg->nrepos, 2);

    /* the supervisor still lists it: the static line still wins */
    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 6001, 1);
    hydra_spec(&specs[1], "acme/web", "127.0.0.1", 6002, 1);
    hydra_sup(2);

    ck_assert_uint_eq(reg->nrepos, 2);

    i = hydra_find_ok("acme/api");
    ck_assert_int_eq(reg->repos[i].source, HYDRA_SOURCE_STATIC);

    i = hydra_find_ok("acme/web");
    ck_assert_int_eq(reg->repos[i].source, HYDRA_SOURCE_SUPERVISOR);
}
END_TEST


START_TEST(test_static_wins_learned_name)
{
    hydra_probe_job_t  job;

    /* a static line by directory name, owner/name learned by a probe */
    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 1, "acme/api");

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 6001, 1);
    hydra_spec(&specs[1], "acme/web", "127.0.0.1", 6002, 1);
    hydra_sup(2);

    ck_assert_uint_eq(reg->nrepos, 2);
    ck_assert_uint_eq(hydra_find_ok("acme/api"), 0);
    ck_assert_uint_eq(hydra_find_ok("acme/web"), 1);
}
END_TEST


START_TEST(test_static_wins_version)
{
    uint64_t  version;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 6001, 1);
    hydra_sup(1);
    version = reg->version;

    /* an operator's line that takes over is one change */
    hydra_spec(&specs[0], "acme-api", "127.0.0.1", 5101, 1);
    hydra_static(1);

    ck_assert_uint_eq(reg->nrepos, 1);
    ck_assert_int_eq(reg->repos[0].source, HYDRA_SOURCE_STATIC);
    ck_assert_uint_eq(reg->version, version + 1);

    /* the supervisor's list again: nothing moves */
    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 6001, 1);
    hydra_sup(1);

    ck_assert_uint_eq(reg->nrepos, 1);
    ck_assert_uint_eq(reg->version, version + 1);

    /* the line goes: the supervisor's entry comes back */
    hydra_static(0);
    hydra_sup(1);

    ck_assert_uint_eq(reg->nrepos, 1);
    ck_assert_int_eq(reg->repos[0].source, HYDRA_SOURCE_SUPERVISOR);
}
END_TEST


START_TEST(test_update_keeps_health)
{
    uint64_t           version;
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_sup(1);

    ck_assert_uint_eq(hydra_registry_due_probes(reg, &now,
                                                HYDRA_TEST_INTERVAL,
                                                HYDRA_TEST_LEASE, &job, 1),
                      1);
    hydra_probe_up(&job, 7, NULL);

    r = &reg->repos[0];
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UP);
    version = reg->version;

    /* the same spec: nothing changes, not even the version */
    now.mono += 100;
    now.wall += 100;
    hydra_sup(1);

    ck_assert_uint_eq(reg->version, version);
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UP);

    /* a new path or log file: the spec is updated, health kept */
    strcpy(specs[0].path, "/home/dev/src/api");
    strcpy(specs[0].log_file, "/tmp/api.log");
    hydra_sup(1);

    ck_assert_uint_eq(reg->version, version + 1);
    ck_assert_uint_eq(reg->nrepos, 1);
    ck_assert_uint_eq(r->id, 1);
    ck_assert_str_eq(r->spec.path, "/home/dev/src/api");
    ck_assert_str_eq(r->spec.log_file, "/tmp/api.log");
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UP);
    ck_assert_int_eq(r->latency_ms, 7);
    ck_assert_int_eq(r->last_ok, 1000000);
    ck_assert_int_eq(r->probe_due, 1000 + HYDRA_TEST_INTERVAL);
}
END_TEST


START_TEST(test_update_port_resets_health)
{
    uint64_t           version;
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 7, NULL);

    r = &reg->repos[0];
    version = reg->version;
    now.mono += 500;

    /* the supervisor restarted it on another port */
    hydra_spec(&specs[0], "api", "127.0.0.1", 5201, 1);
    hydra_sup(1);

    ck_assert_uint_eq(reg->version, version + 1);
    ck_assert_uint_eq(r->id, 1);
    ck_assert_str_eq(r->addr_text, "127.0.0.1:5201");
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UNKNOWN);
    ck_assert_int_eq(r->latency_ms, -1);
    ck_assert_int_eq(r->probe_due, now.mono);
    ck_assert_int_eq(r->probe_busy, 0);
}
END_TEST


START_TEST(test_update_address_resets_health)
{
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 3, NULL);

    r = &reg->repos[0];

    /* same port, another host */
    hydra_spec(&specs[0], "acme/api", "127.0.0.2", 5101, 1);
    hydra_static(1);

    ck_assert_str_eq(r->addr_text, "127.0.0.2:5101");
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UNKNOWN);

    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 3, NULL);

    /* same port number, another family */
    hydra_spec(&specs[0], "acme/api", "::1", 5101, 1);
    hydra_static(1);

    ck_assert_str_eq(r->addr_text, "[::1]:5101");
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UNKNOWN);
}
END_TEST


START_TEST(test_update_running_resets_health)
{
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 3, NULL);

    r = &reg->repos[0];

    /* the supervisor restarted: same port, no longer running */
    specs[0].running = 0;
    hydra_sup(1);

    ck_assert_int_eq(r->health, HYDRA_HEALTH_DOWN);
    ck_assert_str_eq(r->last_error, "not running");
    ck_assert_int_eq(r->latency_ms, -1);

    /* and back */
    specs[0].running = 1;
    hydra_sup(1);

    ck_assert_int_eq(r->health, HYDRA_HEALTH_UNKNOWN);
    ck_assert_str_eq(r->last_error, "");
}
END_TEST


START_TEST(test_removal)
{
    uint64_t  version;

    hydra_spec(&specs[0], "a", "127.0.0.1", 5101, 1);
    hydra_spec(&specs[1], "b", "127.0.0.1", 5102, 1);
    hydra_spec(&specs[2], "c", "127.0.0.1", 5103, 1);
    hydra_sup(3);

    version = reg->version;

    specs[1] = specs[2];
    hydra_sup(2);

    ck_assert_uint_eq(reg->version, version + 1);
    ck_assert_uint_eq(reg->nrepos, 2);
    ck_assert_str_eq(reg->repos[0].spec.name, "a");
    ck_assert_uint_eq(reg->repos[0].id, 1);
    ck_assert_str_eq(reg->repos[1].spec.name, "c");
    ck_assert_uint_eq(reg->repos[1].id, 3);
    ck_assert_int_eq(hydra_find("b"), HYDRA_FIND_NONE);

    hydra_sup(0);

    ck_assert_uint_eq(reg->version, version + 2);
    ck_assert_uint_eq(reg->nrepos, 0);
    ck_assert_int_eq(hydra_find("a"), HYDRA_FIND_NONE);

    /* a repo that comes back is a new entry: ids are never reused */
    hydra_spec(&specs[0], "b", "127.0.0.1", 5102, 1);
    hydra_sup(1);

    ck_assert_uint_eq(reg->repos[0].id, 4);
}
END_TEST


START_TEST(test_capacity)
{
    size_t  i;

    for (i = 0; i < HYDRA_REPOS_MAX + 5; i++) {
        hydra_spec(&specs[i], "x", "127.0.0.1", (unsigned) (6000 + i), 1);
        snprintf(specs[i].name, HYDRA_NAME_SIZE, "repo-%03u", (unsigned) i);
    }

    ck_assert_uint_eq(hydra_sup(HYDRA_REPOS_MAX + 5), 5);
    ck_assert_uint_eq(reg->nrepos, HYDRA_REPOS_MAX);
    ck_assert_str_eq(reg->repos[HYDRA_REPOS_MAX - 1].spec.name, "repo-127");
    ck_assert_int_eq(hydra_find("repo-128"), HYDRA_FIND_NONE);

    /* the same full list again: still full, still 5 left out */
    ck_assert_uint_eq(hydra_sup(HYDRA_REPOS_MAX + 5), 5);
    ck_assert_uint_eq(reg->nrepos, HYDRA_REPOS_MAX);

    /* exactly full drops nothing */
    ck_assert_uint_eq(hydra_sup(HYDRA_REPOS_MAX), 0);
    ck_assert_uint_eq(reg->nrepos, HYDRA_REPOS_MAX);
}
END_TEST


START_TEST(test_capacity_shared)
{
    size_t  i;

    for (i = 0; i < HYDRA_REPOS_MAX - 2; i++) {
        hydra_spec(&specs[i], "x", "127.0.0.1", (unsigned) (6000 + i), 1);
        snprintf(specs[i].name, HYDRA_NAME_SIZE, "static-%03u", (unsigned) i);
    }

    ck_assert_uint_eq(hydra_static(HYDRA_REPOS_MAX - 2), 0);

    for (i = 0; i < 5; i++) {
        hydra_spec(&specs[i], "x", "127.0.0.1", (unsigned) (7000 + i), 1);
        snprintf(specs[i].name, HYDRA_NAME_SIZE, "sup-%u", (unsigned) i);
    }

    ck_assert_uint_eq(hydra_sup(5), 3);
    ck_assert_uint_eq(reg->nrepos, HYDRA_REPOS_MAX);

    /* one fewer supervisor repo makes room for one more */
    specs[0] = specs[4];
    ck_assert_uint_eq(hydra_sup(4), 2);
    ck_assert_uint_eq(reg->nrepos, HYDRA_REPOS_MAX);
    hydra_find_ok("sup-4");
    ck_assert_int_eq(hydra_find("sup-0"), HYDRA_FIND_NONE);
}
END_TEST


START_TEST(test_find_forms)
{
    size_t  api, web, my;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_spec(&specs[1], "acme/web", "127.0.0.1", 5102, 1);
    hydra_spec(&specs[2], "acme/my.repo", "127.0.0.1", 5103, 1);
    hydra_static(3);

    api = 0;
    web = 1;
    my = 2;

    ck_assert_uint_eq(hydra_find_ok("acme/api"), api);
    ck_assert_uint_eq(hydra_find_ok("ACME/Api"), api);
    ck_assert_uint_eq(hydra_find_ok("acme-api"), api);
    ck_assert_uint_eq(hydra_find_ok("Acme-API"), api);
    ck_assert_uint_eq(hydra_find_ok("acme.api"), api);
    ck_assert_uint_eq(hydra_find_ok("api"), api);
    ck_assert_uint_eq(hydra_find_ok("API"), api);
    ck_assert_uint_eq(hydra_find_ok("web"), web);

    ck_assert_uint_eq(hydra_find_ok("acme/my.repo"), my);
    ck_assert_uint_eq(hydra_find_ok("acme-my.repo"), my);
    ck_assert_uint_eq(hydra_find_ok("acme-my-repo"), my);
    ck_assert_uint_eq(hydra_find_ok("ACME-My-Repo"), my);
    ck_assert_uint_eq(hydra_find_ok("my.repo"), my);
    ck_assert_uint_eq(hydra_find_ok("my-repo"), my);

    ck_assert_int_eq(hydra_find("acme"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme/"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("/api"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("other/api"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme/api2"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme_api"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("__all__"), HYDRA_FIND_NONE);
}
END_TEST


START_TEST(test_find_invalid)
{
    size_t  index;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);

    ck_assert_int_eq(hydra_registry_find(reg, "", 0, &index),
                     HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_registry_find(reg, "acme/api\0", 9, &index),
                     HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme/api\n"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme api"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme%2Fapi"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("\"acme/api\""), HYDRA_FIND_NONE);

    /* the length is what counts */
    ck_assert_int_eq(hydra_registry_find(reg, "acme/apixyz", 8, &index),
                     HYDRA_FIND_OK);
    ck_assert_uint_eq(index, 0);
}
END_TEST


START_TEST(test_find_overlong)
{
    char    buf[HYDRA_SLUG_MAX + 2];
    size_t  index;

    memset(buf, 'a', sizeof(buf));
    hydra_spec(&specs[0], "x", "127.0.0.1", 5101, 1);
    memcpy(specs[0].name, buf, HYDRA_SLUG_MAX);
    specs[0].name[HYDRA_SLUG_MAX] = '\0';
    hydra_static(1);

    ck_assert_int_eq(hydra_registry_find(reg, buf, HYDRA_SLUG_MAX, &index),
                     HYDRA_FIND_OK);
    ck_assert_int_eq(hydra_registry_find(reg, buf, HYDRA_SLUG_MAX + 1,
                                         &index),
                     HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_registry_find(reg, buf, sizeof(buf), &index),
                     HYDRA_FIND_NONE);
}
END_TEST


START_TEST(test_find_dot_dot)
{
    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_spec(&specs[1], "api", "127.0.0.1", 5102, 1);
    hydra_spec(&specs[2], "-", "127.0.0.1", 5103, 1);
    hydra_spec(&specs[3], "acme/-", "127.0.0.1", 5104, 1);
    hydra_static(4);

    ck_assert_int_eq(hydra_find("../"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find(".."), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("../api"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("../acme/api"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme/../api"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme/.."), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme/../"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("x/../../acme/api"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("../../.."), HYDRA_FIND_NONE);

    /* dots that are not a ".." segment are a name's own */
    hydra_spec(&specs[0], "acme/..api", "127.0.0.1", 5105, 1);
    hydra_spec(&specs[1], "acme/api..", "127.0.0.1", 5106, 1);
    hydra_static(2);

    ck_assert_uint_eq(hydra_find_ok("acme/..api"), 0);
    ck_assert_uint_eq(hydra_find_ok("acme/api.."), 1);
}
END_TEST


START_TEST(test_find_ambiguous)
{
    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_spec(&specs[1], "other/api", "127.0.0.1", 5102, 1);
    hydra_static(2);

    ck_assert_int_eq(hydra_find("api"), HYDRA_FIND_AMBIGUOUS);
    ck_assert_int_eq(hydra_find("API"), HYDRA_FIND_AMBIGUOUS);
    ck_assert_uint_eq(hydra_find_ok("acme/api"), 0);
    ck_assert_uint_eq(hydra_find_ok("other-api"), 1);
}
END_TEST


START_TEST(test_find_most_exact_wins)
{
    /* two names that fold alike: as written wins over the fold */
    hydra_spec(&specs[0], "acme/my.repo", "127.0.0.1", 5101, 1);
    hydra_spec(&specs[1], "acme-my-repo", "127.0.0.1", 5102, 1);
    hydra_static(2);

    ck_assert_uint_eq(hydra_find_ok("acme/my.repo"), 0);
    ck_assert_uint_eq(hydra_find_ok("ACME/MY.REPO"), 0);
    ck_assert_uint_eq(hydra_find_ok("acme-my-repo"), 1);
    ck_assert_int_eq(hydra_find("acme.my.repo"), HYDRA_FIND_AMBIGUOUS);

    /* the dash form of the first is an exact key: it wins */
    ck_assert_uint_eq(hydra_find_ok("acme-my.repo"), 0);
}
END_TEST


START_TEST(test_find_exact_beats_base)
{
    /* a supervisor directory name "api" and a static owner/name */
    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_spec(&specs[0], "api", "127.0.0.1", 5102, 1);
    hydra_sup(1);

    ck_assert_uint_eq(reg->nrepos, 2);
    ck_assert_uint_eq(hydra_find_ok("api"), 1);
    ck_assert_uint_eq(hydra_find_ok("acme/api"), 0);
    ck_assert_uint_eq(hydra_find_ok("acme-api"), 0);
}
END_TEST


START_TEST(test_find_learned_name)
{
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);

    ck_assert_int_eq(hydra_find("acme/api"), HYDRA_FIND_NONE);
    ck_assert_int_eq(hydra_find("acme-api"), HYDRA_FIND_NONE);

    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 2, "acme/api");

    ck_assert_uint_eq(hydra_find_ok("api"), 0);
    ck_assert_uint_eq(hydra_find_ok("acme/api"), 0);
    ck_assert_uint_eq(hydra_find_ok("ACME-API"), 0);
}
END_TEST


START_TEST(test_due_first_probe)
{
    size_t             n;
    hydra_probe_job_t  jobs[4];

    hydra_spec(&specs[0], "stopped", "127.0.0.1", 5101, 0);
    hydra_spec(&specs[1], "acme/api", "127.0.0.1", 5102, 1);
    hydra_spec(&specs[2], "registered", "127.0.0.1", 0, 1);
    hydra_static(3);

    n = hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                                  HYDRA_TEST_LEASE, jobs, 4);

    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(jobs[0].id, reg->repos[1].id);
    ck_assert_str_eq(jobs[0].addr_text, "127.0.0.1:5102");
    ck_assert_uint_eq(jobs[0].socklen, sizeof(struct sockaddr_in));
    ck_assert_int_eq(hydra_registry_sockaddr_eq(&jobs[0].sockaddr,
                                                jobs[0].socklen,
                                                &specs[1].sockaddr,
                                                specs[1].socklen),
                     1);
    ck_assert_int_eq(reg->repos[1].probe_busy, now.mono + HYDRA_TEST_LEASE);
    ck_assert_int_eq(reg->repos[1].probe_due,
                     now.mono + HYDRA_TEST_INTERVAL);
}
END_TEST


START_TEST(test_due_lease)
{
    hydra_clock_t      t;
    hydra_probe_job_t  jobs[4];

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_sup(1);

    t = now;

    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, 1000, 3000,
                                                jobs, 4), 1);

    /* another worker ticks at once: nothing for it */
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, 1000, 3000,
                                                jobs, 4), 0);

    /* the interval has passed but the lease has not */
    t.mono = now.mono + 1000;
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, 1000, 3000,
                                                jobs, 4), 0);

    t.mono = now.mono + 2999;
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, 1000, 3000,
                                                jobs, 4), 0);

    /* the prober died: its lease ran out, another worker takes it */
    t.mono = now.mono + 3000;
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, 1000, 3000,
                                                jobs, 4), 1);
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, 1000, 3000,
                                                jobs, 4), 0);
}
END_TEST


START_TEST(test_due_after_done)
{
    hydra_clock_t      t;
    hydra_probe_job_t  jobs[4];

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_sup(1);

    t = now;

    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, HYDRA_TEST_INTERVAL,
                                                HYDRA_TEST_LEASE, jobs, 4),
                      1);

    now.mono += 50;
    hydra_probe_up(&jobs[0], 50, NULL);

    ck_assert_int_eq(reg->repos[0].probe_busy, 0);

    t.mono += HYDRA_TEST_INTERVAL - 1;
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, HYDRA_TEST_INTERVAL,
                                                HYDRA_TEST_LEASE, jobs, 4),
                      0);

    t.mono += 1;
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, HYDRA_TEST_INTERVAL,
                                                HYDRA_TEST_LEASE, jobs, 4),
                      1);
}
END_TEST


START_TEST(test_due_never_not_running)
{
    hydra_clock_t      t;
    hydra_probe_job_t  jobs[4];

    hydra_spec(&specs[0], "stopped", "127.0.0.1", 5101, 0);
    hydra_spec(&specs[1], "registered", "127.0.0.1", 0, 0);
    hydra_sup(2);

    t = now;

    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, 1000, 1000,
                                                jobs, 4), 0);

    t.mono += 1000000;
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &t, 1000, 1000,
                                                jobs, 4), 0);

    /* it starts: due at once */
    specs[0].running = 1;
    hydra_sup(2);

    ck_assert_uint_eq(hydra_registry_due_probes(reg, &now, 1000, 1000,
                                                jobs, 4), 1);
    ck_assert_uint_eq(jobs[0].id, reg->repos[0].id);
}
END_TEST


START_TEST(test_due_max)
{
    size_t             i;
    hydra_probe_job_t  jobs[2];

    for (i = 0; i < 5; i++) {
        hydra_spec(&specs[i], "x", "127.0.0.1", (unsigned) (5101 + i), 1);
        snprintf(specs[i].name, HYDRA_NAME_SIZE, "r%u", (unsigned) i);
    }

    hydra_sup(5);

    ck_assert_uint_eq(hydra_registry_due_probes(reg, &now, 1000, 1000,
                                                jobs, 2), 2);
    ck_assert_uint_eq(jobs[0].id, 1);
    ck_assert_uint_eq(jobs[1].id, 2);

    ck_assert_uint_eq(hydra_registry_due_probes(reg, &now, 1000, 1000,
                                                jobs, 2), 2);
    ck_assert_uint_eq(jobs[0].id, 3);
    ck_assert_uint_eq(jobs[1].id, 4);

    ck_assert_uint_eq(hydra_registry_due_probes(reg, &now, 1000, 1000,
                                                jobs, 2), 1);
    ck_assert_uint_eq(jobs[0].id, 5);

    ck_assert_uint_eq(hydra_registry_due_probes(reg, &now, 1000, 1000,
                                                jobs, 2), 0);
}
END_TEST


START_TEST(test_probe_up)
{
    uint64_t           version;
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);

    r = &reg->repos[0];
    version = reg->version;

    hydra_probe_up(&job, 12, NULL);

    ck_assert_uint_eq(reg->version, version + 1);
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UP);
    ck_assert_int_eq(r->last_ok, now.wall);
    ck_assert_int_eq(r->latency_ms, 12);
    ck_assert_str_eq(r->last_error, "");
    ck_assert_int_eq(r->probe_busy, 0);

    /* up again: the numbers move, the version does not */
    now.wall += 5000;
    hydra_probe_up(&job, 4, NULL);

    ck_assert_uint_eq(reg->version, version + 1);
    ck_assert_int_eq(r->last_ok, now.wall);
    ck_assert_int_eq(r->latency_ms, 4);
}
END_TEST


START_TEST(test_probe_down)
{
    uint64_t           version;
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 12, NULL);

    r = &reg->repos[0];
    version = reg->version;

    ck_assert_int_eq(hydra_probe_down(&job, "connect"), 1);
    ck_assert_uint_eq(reg->version, version + 1);
    ck_assert_int_eq(r->health, HYDRA_HEALTH_DOWN);
    ck_assert_str_eq(r->last_error, "connect");
    ck_assert_int_eq(r->latency_ms, -1);
    ck_assert_int_eq(r->last_ok, now.wall);
    ck_assert_int_eq(r->probe_busy, 0);

    /* the same failure again is no change */
    ck_assert_int_eq(hydra_probe_down(&job, "connect"), 0);
    ck_assert_uint_eq(reg->version, version + 1);

    /* another reason is */
    ck_assert_int_eq(hydra_probe_down(&job, "http 503"), 1);
    ck_assert_uint_eq(reg->version, version + 2);
    ck_assert_str_eq(r->last_error, "http 503");

    /* and back up */
    hydra_probe_up(&job, 3, NULL);

    ck_assert_uint_eq(reg->version, version + 3);
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UP);
    ck_assert_str_eq(r->last_error, "");
}
END_TEST


START_TEST(test_probe_down_long_error)
{
    char               error[200];
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);

    memset(error, 'e', sizeof(error) - 1);
    error[sizeof(error) - 1] = '\0';

    ck_assert_int_eq(hydra_probe_down(&job, error), 1);
    ck_assert_uint_eq(strlen(reg->repos[0].last_error),
                      HYDRA_ERROR_SIZE - 1);
}
END_TEST


START_TEST(test_probe_learns_name)
{
    uint64_t           version;
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 1, NULL);

    r = &reg->repos[0];
    ck_assert_str_eq(r->full_name, "");
    ck_assert_str_eq(r->key, "api");
    version = reg->version;

    /* already up: learning owner/name alone is a change */
    hydra_probe_up(&job, 1, "acme/api");

    ck_assert_uint_eq(reg->version, version + 1);
    ck_assert_str_eq(r->full_name, "acme/api");
    ck_assert_str_eq(r->key, "acme-api");
    ck_assert_str_eq(r->spec.name, "api");

    /* told again: nothing new */
    hydra_probe_up(&job, 1, "acme/api");

    ck_assert_uint_eq(reg->version, version + 1);

    /* not a slug, or empty: ignored */
    hydra_probe_up(&job, 1, "acme/a\"pi");
    hydra_probe_up(&job, 1, "");

    ck_assert_uint_eq(reg->version, version + 1);
    ck_assert_str_eq(r->full_name, "acme/api");

    /* renamed upstream */
    hydra_probe_up(&job, 1, "acme/api2");

    ck_assert_uint_eq(reg->version, version + 2);
    ck_assert_str_eq(r->key, "acme-api2");

    /* a re-apply of the same spec keeps what was learned */
    hydra_sup(1);

    ck_assert_str_eq(r->full_name, "acme/api2");
    ck_assert_str_eq(r->key, "acme-api2");
}
END_TEST


START_TEST(test_probe_stale)
{
    uint64_t           version;
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);

    /* while the probe runs, the repo moves */
    hydra_spec(&specs[0], "api", "127.0.0.1", 5201, 1);
    hydra_sup(1);

    r = &reg->repos[0];
    version = reg->version;

    ck_assert_int_eq(hydra_probe_down(&job, "connect"), 0);
    ck_assert_int_eq(r->health, HYDRA_HEALTH_UNKNOWN);
    ck_assert_str_eq(r->last_error, "");
    ck_assert_uint_eq(reg->version, version);

    hydra_probe_up(&job, 1, "acme/api");

    ck_assert_int_eq(r->health, HYDRA_HEALTH_UNKNOWN);
    ck_assert_str_eq(r->full_name, "");
    ck_assert_uint_eq(reg->version, version);

    /* the new address is due at once */
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &now,
                                                HYDRA_TEST_INTERVAL,
                                                HYDRA_TEST_LEASE, &job, 1),
                      1);
    ck_assert_str_eq(job.addr_text, "127.0.0.1:5201");
}
END_TEST


START_TEST(test_probe_not_running)
{
    uint64_t           version;
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &now,
                                                HYDRA_TEST_INTERVAL,
                                                HYDRA_TEST_LEASE, &job, 1),
                      1);

    /* while the probe runs, the supervisor stops it: same address */
    specs[0].running = 0;
    hydra_sup(1);

    r = &reg->repos[0];
    version = reg->version;

    ck_assert_uint_eq(r->id, job.id);
    ck_assert_int_eq(hydra_registry_sockaddr_eq(&r->spec.sockaddr,
                                                r->spec.socklen,
                                                &job.sockaddr, job.socklen),
                     1);
    ck_assert_int_eq(r->health, HYDRA_HEALTH_DOWN);
    ck_assert_str_eq(r->last_error, "not running");

    /* the late answer, up or down, tells nothing */
    hydra_probe_up(&job, 1, "acme/api");

    ck_assert_int_eq(r->health, HYDRA_HEALTH_DOWN);
    ck_assert_str_eq(r->last_error, "not running");
    ck_assert_str_eq(r->full_name, "");
    ck_assert_str_eq(r->key, "api");
    ck_assert_int_eq(r->latency_ms, -1);
    ck_assert_int_eq(r->last_ok, 0);
    ck_assert_uint_eq(reg->version, version);

    ck_assert_int_eq(hydra_probe_down(&job, "connect"), 0);
    ck_assert_int_eq(r->health, HYDRA_HEALTH_DOWN);
    ck_assert_str_eq(r->last_error, "not running");
    ck_assert_uint_eq(reg->version, version);

    /* nor is a stopped repo leased a probe */
    ck_assert_uint_eq(hydra_registry_due_probes(reg, &now,
                                                HYDRA_TEST_INTERVAL,
                                                HYDRA_TEST_LEASE, &job, 1),
                      0);
}
END_TEST


START_TEST(test_probe_port_gone)
{
    uint64_t           version;
    hydra_repo_t      *r;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);

    /* still listed as running, but with no port any more */
    hydra_spec(&specs[0], "api", "127.0.0.1", 0, 1);
    hydra_sup(1);

    r = &reg->repos[0];
    version = reg->version;

    ck_assert_int_eq(r->health, HYDRA_HEALTH_DOWN);
    ck_assert_str_eq(r->last_error, "not running");

    hydra_probe_up(&job, 1, "acme/api");

    ck_assert_int_eq(r->health, HYDRA_HEALTH_DOWN);
    ck_assert_str_eq(r->last_error, "not running");
    ck_assert_str_eq(r->full_name, "");
    ck_assert_uint_eq(reg->version, version);
}
END_TEST


START_TEST(test_probe_gone)
{
    uint64_t           version;
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_sup(0);

    /* it comes back with the same address but a new id */
    hydra_sup(1);
    version = reg->version;

    ck_assert_int_eq(hydra_probe_down(&job, "connect"), 0);
    ck_assert_uint_eq(reg->version, version);
    ck_assert_int_eq(reg->repos[0].health, HYDRA_HEALTH_UNKNOWN);
}
END_TEST


START_TEST(test_feed_due_when_up)
{
    hydra_feed_job_t  jobs[4];

    hydra_spec(&specs[0], "stopped", "127.0.0.1", 5101, 0);
    hydra_spec(&specs[1], "acme/api", "127.0.0.1", 5102, 1);
    hydra_spec(&specs[2], "registered", "127.0.0.1", 0, 1);
    hydra_static(3);

    /* not probed yet: its tag may still change, no feed */
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 4), 0);

    hydra_all_up();

    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 4), 1);
    ck_assert_uint_eq(jobs[0].id, reg->repos[1].id);
    ck_assert_str_eq(jobs[0].key, "acme-api");
    ck_assert_str_eq(jobs[0].addr_text, "127.0.0.1:5102");
    ck_assert_int_eq(hydra_registry_sockaddr_eq(&jobs[0].sockaddr,
                                                jobs[0].socklen,
                                                &specs[1].sockaddr,
                                                specs[1].socklen),
                     1);
    ck_assert_int_eq(reg->repos[1].feed_owner, HYDRA_TEST_OWNER);
    ck_assert_int_eq(reg->repos[1].feed_lease, now.mono + HYDRA_TEST_LEASE);

    /* the other worker ticks at once: nothing for it */
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OTHER, jobs, 4), 0);
}
END_TEST


START_TEST(test_feed_down_is_kept)
{
    hydra_feed_job_t   jobs[1];
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_all_up();
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);

    /* a failed probe does not end a feed that is connected */
    now.mono += HYDRA_TEST_INTERVAL;
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_down(&job, "timeout");

    ck_assert_int_eq(hydra_registry_feed_renew(reg, &jobs[0],
                                               HYDRA_TEST_OWNER, &now,
                                               HYDRA_TEST_LEASE),
                     HYDRA_OK);

    /* but a repo that is down is not connected to */
    hydra_registry_feed_release(reg, jobs[0].id, HYDRA_TEST_OWNER, &now,
                                0, 0);
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 0);
}
END_TEST


START_TEST(test_feed_takeover)
{
    hydra_clock_t     t;
    hydra_feed_job_t  jobs[1], other[1];

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_all_up();

    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);
    ck_assert_int_eq(hydra_registry_feed_up(reg, jobs[0].id,
                                            HYDRA_TEST_OWNER),
                     HYDRA_OK);
    ck_assert_int_eq(reg->repos[0].events, 1);

    /* the owner renews on every tick: never free for the other */
    t = now;

    for (t.mono = now.mono; t.mono < now.mono + 5 * HYDRA_TEST_LEASE;
         t.mono += 200)
    {
        ck_assert_int_eq(hydra_registry_feed_renew(reg, &jobs[0],
                                                   HYDRA_TEST_OWNER, &t,
                                                   HYDRA_TEST_LEASE),
                         HYDRA_OK);
        ck_assert_uint_eq(hydra_registry_due_feeds(reg, &t,
                                                   HYDRA_TEST_OTHER,
                                                   HYDRA_TEST_LEASE,
                                                   other, 1),
                          0);
    }

    /* the owner is killed: its lease runs out, the other takes over */
    t.mono += HYDRA_TEST_LEASE - 201;
    ck_assert_uint_eq(hydra_registry_due_feeds(reg, &t, HYDRA_TEST_OTHER,
                                               HYDRA_TEST_LEASE, other, 1),
                      0);

    t.mono += 1;
    ck_assert_uint_eq(hydra_registry_due_feeds(reg, &t, HYDRA_TEST_OTHER,
                                               HYDRA_TEST_LEASE, other, 1),
                      1);
    ck_assert_int_eq(reg->repos[0].feed_owner, HYDRA_TEST_OTHER);

    /* not up until its own handshake */
    ck_assert_int_eq(reg->repos[0].events, 0);

    /* a stalled old owner finds it lost the feed, and touches nothing */
    ck_assert_int_eq(hydra_registry_feed_renew(reg, &jobs[0],
                                               HYDRA_TEST_OWNER, &t,
                                               HYDRA_TEST_LEASE),
                     HYDRA_DECLINED);
    ck_assert_int_eq(hydra_registry_feed_up(reg, jobs[0].id,
                                            HYDRA_TEST_OWNER),
                     HYDRA_DECLINED);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OWNER, "2026-03-05T10:00:00", 1),
                     HYDRA_ERROR);
    hydra_registry_feed_release(reg, jobs[0].id, HYDRA_TEST_OWNER, &t, 1,
                                0);
    ck_assert_int_eq(reg->repos[0].feed_owner, HYDRA_TEST_OTHER);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER, "2026-03-05T10:00:00", 1),
                     HYDRA_OK);
}
END_TEST


START_TEST(test_feed_moved)
{
    uint64_t           version;
    hydra_feed_job_t   jobs[1];
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_all_up();

    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);
    hydra_registry_feed_up(reg, jobs[0].id, HYDRA_TEST_OWNER);
    version = reg->version;

    /* the supervisor restarted it on another port */
    now.mono += 300;
    hydra_spec(&specs[0], "api", "127.0.0.1", 5201, 1);
    hydra_sup(1);

    ck_assert_int_eq(hydra_registry_feed_renew(reg, &jobs[0],
                                               HYDRA_TEST_OWNER, &now,
                                               HYDRA_TEST_LEASE),
                     HYDRA_DECLINED);
    ck_assert_int_eq(reg->repos[0].feed_owner, 0);
    ck_assert_int_eq(reg->repos[0].events, 0);
    ck_assert_int_eq(reg->repos[0].feed_retry, now.mono);
    ck_assert_uint_gt(reg->version, version);

    /* the new address once a probe found it up, at once, by anyone */
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OTHER, jobs, 1), 0);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 1, NULL);

    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OTHER, jobs, 1), 1);
    ck_assert_str_eq(jobs[0].addr_text, "127.0.0.1:5201");
}
END_TEST


START_TEST(test_feed_stopped)
{
    hydra_feed_job_t  jobs[1];

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_all_up();
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);

    specs[0].running = 0;
    hydra_sup(1);

    ck_assert_int_eq(hydra_registry_feed_renew(reg, &jobs[0],
                                               HYDRA_TEST_OWNER, &now,
                                               HYDRA_TEST_LEASE),
                     HYDRA_DECLINED);

    now.mono += 1000000;
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 0);

    /* and gone from the registry */
    specs[0].running = 1;
    hydra_sup(1);
    hydra_all_up();
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);
    hydra_sup(0);

    ck_assert_int_eq(hydra_registry_feed_renew(reg, &jobs[0],
                                               HYDRA_TEST_OWNER, &now,
                                               HYDRA_TEST_LEASE),
                     HYDRA_DECLINED);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OWNER, "2026-03-05T10:00:00", 1),
                     HYDRA_ERROR);
}
END_TEST


START_TEST(test_feed_key_follows)
{
    hydra_feed_job_t   jobs[1];
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_all_up();

    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);
    ck_assert_str_eq(jobs[0].key, "api");

    now.mono += HYDRA_TEST_INTERVAL;
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 1, "acme/api");

    ck_assert_int_eq(hydra_registry_feed_renew(reg, &jobs[0],
                                               HYDRA_TEST_OWNER, &now,
                                               HYDRA_TEST_LEASE),
                     HYDRA_OK);
    ck_assert_str_eq(jobs[0].key, "acme-api");
}
END_TEST


START_TEST(test_feed_events_flag)
{
    uint64_t          version;
    hydra_feed_job_t  jobs[1];

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_all_up();
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);

    version = reg->version;
    ck_assert_int_eq(reg->repos[0].events, 0);

    ck_assert_int_eq(hydra_registry_feed_up(reg, jobs[0].id,
                                            HYDRA_TEST_OWNER),
                     HYDRA_OK);
    ck_assert_int_eq(reg->repos[0].events, 1);
    ck_assert_uint_eq(reg->version, version + 1);

    hydra_registry_feed_release(reg, jobs[0].id, HYDRA_TEST_OWNER, &now,
                                0, 0);
    ck_assert_int_eq(reg->repos[0].events, 0);
    ck_assert_int_eq(reg->repos[0].feed_owner, 0);
    ck_assert_uint_eq(reg->version, version + 2);

    /* released without failure: free at once */
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OTHER, jobs, 1), 1);
}
END_TEST


START_TEST(test_feed_dedup)
{
    hydra_feed_job_t  jobs[1];

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_all_up();
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);
    ck_assert_int_eq(reg->repos[0].feed_id, -1);

    /* the first history is all new */
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OWNER,
                                "2026-03-05T10:00:01.000000+00:00", 7),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OWNER,
                                "2026-03-05T10:00:02.000000+00:00", 8),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OWNER,
                                "2026-03-05T10:00:02.000000+00:00", 9),
                     HYDRA_OK);
    ck_assert_str_eq(reg->repos[0].feed_time,
                     "2026-03-05T10:00:02.000000+00:00");
    ck_assert_int_eq(reg->repos[0].feed_id, 9);

    /* a reconnect by another worker replays it: nothing is new */
    hydra_registry_feed_release(reg, jobs[0].id, HYDRA_TEST_OWNER, &now,
                                0, 0);
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OTHER, jobs, 1), 1);

    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER,
                                "2026-03-05T10:00:01.000000+00:00", 7),
                     HYDRA_DECLINED);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER,
                                "2026-03-05T10:00:02.000000+00:00", 8),
                     HYDRA_DECLINED);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER,
                                "2026-03-05T10:00:02.000000+00:00", 9),
                     HYDRA_DECLINED);

    /* then the live ones, by time even when the process restarted */
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER,
                                "2026-03-05T10:00:02.000000+00:00", 10),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER,
                                "2026-03-05T10:00:03.000000+00:00", 1),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER,
                                "2026-03-05T10:00:03.000000+00:00", 1),
                     HYDRA_DECLINED);

    /* no id: placed by its time alone */
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER,
                                "2026-03-05T10:00:04.000000+00:00", -1),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER,
                                "2026-03-05T10:00:04.000000+00:00", -1),
                     HYDRA_DECLINED);

    /* no timestamp: cannot be placed, taken, the point stays */
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER, "", 2), HYDRA_OK);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OTHER, "", 2), HYDRA_OK);
    ck_assert_str_eq(reg->repos[0].feed_time,
                     "2026-03-05T10:00:04.000000+00:00");
    ck_assert_int_eq(reg->repos[0].feed_id, -1);
}
END_TEST


START_TEST(test_feed_dedup_survives_move)
{
    hydra_feed_job_t   jobs[1];
    hydra_probe_job_t  job;

    hydra_spec(&specs[0], "api", "127.0.0.1", 5101, 1);
    hydra_sup(1);
    hydra_all_up();
    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OWNER, "2026-03-05T10:00:09", 60),
                     HYDRA_OK);

    hydra_spec(&specs[0], "api", "127.0.0.1", 5201, 1);
    hydra_sup(1);
    hydra_registry_feed_renew(reg, &jobs[0], HYDRA_TEST_OWNER, &now,
                              HYDRA_TEST_LEASE);
    hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                              HYDRA_TEST_LEASE, &job, 1);
    hydra_probe_up(&job, 1, NULL);

    ck_assert_uint_eq(hydra_feeds(HYDRA_TEST_OWNER, jobs, 1), 1);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OWNER, "2026-03-05T10:00:09", 60),
                     HYDRA_DECLINED);
    ck_assert_int_eq(hydra_take(HYDRA_TEST_OWNER, "2026-03-05T10:00:10", 61),
                     HYDRA_OK);
}
END_TEST


START_TEST(test_feed_backoff)
{
    unsigned  i;
    int64_t   d;
    uint32_t  rnd;

    ck_assert_int_eq(hydra_registry_feed_backoff(0, 12345), 1000);
    ck_assert_int_eq(hydra_registry_feed_backoff(1, 0), 1000);
    ck_assert_int_eq(hydra_registry_feed_backoff(1, 1000), 2000);
    ck_assert_int_eq(hydra_registry_feed_backoff(1, 1001), 1000);
    ck_assert_int_eq(hydra_registry_feed_backoff(2, 3000), 4000);
    ck_assert_int_eq(hydra_registry_feed_backoff(4, 15000), 16000);
    ck_assert_int_eq(hydra_registry_feed_backoff(5, 29000), 30000);
    ck_assert_int_eq(hydra_registry_feed_backoff(5, 29001), 1000);
    ck_assert_int_eq(hydra_registry_feed_backoff(32, 29000), 30000);
    ck_assert_int_eq(hydra_registry_feed_backoff(UINT32_MAX, UINT32_MAX),
                     1000 + (int64_t) (UINT32_MAX % 29001));

    for (i = 0; i < 40; i++) {
        for (rnd = 0; rnd < 100000; rnd += 777) {
            d = hydra_registry_feed_backoff(i, rnd * 40503u);
            ck_assert_int_ge(d, HYDRA_FEED_BACKOFF_MIN);
            ck_assert_int_le(d, HYDRA_FEED_BACKOFF_MAX);
        }
    }
}
END_TEST


START_TEST(test_feed_release_failed)
{
    hydra_clock_t     t;
    hydra_feed_job_t  jobs[1];

    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_static(1);
    hydra_all_up();

    /* connects fail: the delay doubles (rnd at its top) up to 30 s */
    t = now;

    ck_assert_uint_eq(hydra_registry_due_feeds(reg, &t, HYDRA_TEST_OWNER,
                                               HYDRA_TEST_LEASE, jobs, 1),
                      1);
    hydra_registry_feed_release(reg, jobs[0].id, HYDRA_TEST_OWNER, &t, 1,
                                1000);
    ck_assert_int_eq(reg->repos[0].feed_failures, 1);
    ck_assert_int_eq(reg->repos[0].feed_retry, t.mono + 2000);

    t.mono += 1999;
    ck_assert_uint_eq(hydra_registry_due_feeds(reg, &t, HYDRA_TEST_OTHER,
                                               HYDRA_TEST_LEASE, jobs, 1),
                      0);
    t.mono += 1;
    ck_assert_uint_eq(hydra_registry_due_feeds(reg, &t, HYDRA_TEST_OTHER,
                                               HYDRA_TEST_LEASE, jobs, 1),
                      1);
    hydra_registry_feed_release(reg, jobs[0].id, HYDRA_TEST_OTHER, &t, 1,
                                3000);
    ck_assert_int_eq(reg->repos[0].feed_retry, t.mono + 4000);

    /* a handshake that succeeds starts the backoff over */
    t.mono += 4000;
    ck_assert_uint_eq(hydra_registry_due_feeds(reg, &t, HYDRA_TEST_OWNER,
                                               HYDRA_TEST_LEASE, jobs, 1),
                      1);
    hydra_registry_feed_up(reg, jobs[0].id, HYDRA_TEST_OWNER);
    ck_assert_int_eq(reg->repos[0].feed_failures, 0);
    hydra_registry_feed_release(reg, jobs[0].id, HYDRA_TEST_OWNER, &t, 1,
                                1000);
    ck_assert_int_eq(reg->repos[0].feed_retry, t.mono + 2000);
}
END_TEST


START_TEST(test_feed_by_id)
{
    hydra_spec(&specs[0], "acme/api", "127.0.0.1", 5101, 1);
    hydra_spec(&specs[1], "acme/web", "127.0.0.1", 5102, 1);
    hydra_static(2);

    ck_assert_ptr_eq(hydra_registry_by_id(reg, 2), &reg->repos[1]);
    ck_assert_ptr_eq(hydra_registry_by_id(reg, 1), &reg->repos[0]);
    ck_assert_ptr_null(hydra_registry_by_id(reg, 3));
    ck_assert_ptr_null(hydra_registry_by_id(reg, 0));
}
END_TEST


START_TEST(test_sockaddr_eq)
{
    hydra_repo_spec_t  a, b;

    hydra_spec(&a, "a", "127.0.0.1", 80, 1);
    hydra_spec(&b, "b", "127.0.0.1", 80, 1);

    ck_assert_int_eq(hydra_registry_sockaddr_eq(&a.sockaddr, a.socklen,
                                                &b.sockaddr, b.socklen), 1);

    hydra_spec(&b, "b", "127.0.0.1", 81, 1);
    ck_assert_int_eq(hydra_registry_sockaddr_eq(&a.sockaddr, a.socklen,
                                                &b.sockaddr, b.socklen), 0);

    hydra_spec(&b, "b", "10.0.0.1", 80, 1);
    ck_assert_int_eq(hydra_registry_sockaddr_eq(&a.sockaddr, a.socklen,
                                                &b.sockaddr, b.socklen), 0);

    hydra_spec(&b, "b", "::ffff:127.0.0.1", 80, 1);
    ck_assert_int_eq(hydra_registry_sockaddr_eq(&a.sockaddr, a.socklen,
                                                &b.sockaddr, b.socklen), 0);

    hydra_spec(&a, "a", "::1", 80, 1);
    hydra_spec(&b, "b", "::1", 80, 1);
    ck_assert_int_eq(hydra_registry_sockaddr_eq(&a.sockaddr, a.socklen,
                                                &b.sockaddr, b.socklen), 1);

    /* flow info and scope are not the address */
    ((struct sockaddr_in6 *) &b.sockaddr)->sin6_flowinfo = htonl(7);
    ck_assert_int_eq(hydra_registry_sockaddr_eq(&a.sockaddr, a.socklen,
                                                &b.sockaddr, b.socklen), 1);

    hydra_spec(&b, "b", "::2", 80, 1);
    ck_assert_int_eq(hydra_registry_sockaddr_eq(&a.sockaddr, a.socklen,
                                                &b.sockaddr, b.socklen), 0);
}
END_TEST


START_TEST(test_addr_text)
{
    char                     buf[HYDRA_ADDR_SIZE];
    struct sockaddr_storage  sa;

    memset(&sa, 0, sizeof(sa));
    sa.ss_family = AF_INET;
    inet_pton(AF_INET, "192.168.1.20",
              &((struct sockaddr_in *) &sa)->sin_addr);
    ck_assert_int_eq(hydra_registry_set_port(&sa, 65535), HYDRA_OK);
    hydra_registry_addr_text(buf, sizeof(buf), &sa);
    ck_assert_str_eq(buf, "192.168.1.20:65535");

    memset(&sa, 0, sizeof(sa));
    sa.ss_family = AF_INET6;
    inet_pton(AF_INET6, "fe80::1:2",
              &((struct sockaddr_in6 *) &sa)->sin6_addr);
    ck_assert_int_eq(hydra_registry_set_port(&sa, 8080), HYDRA_OK);
    hydra_registry_addr_text(buf, sizeof(buf), &sa);
    ck_assert_str_eq(buf, "[fe80::1:2]:8080");

    memset(&sa, 0, sizeof(sa));
    sa.ss_family = AF_UNIX;
    hydra_registry_addr_text(buf, sizeof(buf), &sa);
    ck_assert_str_eq(buf, "unix:");
}
END_TEST


START_TEST(test_set_port)
{
    struct sockaddr_storage  sa;

    memset(&sa, 0, sizeof(sa));
    sa.ss_family = AF_INET;

    ck_assert_int_eq(hydra_registry_set_port(&sa, 0), HYDRA_OK);
    ck_assert_int_eq(hydra_registry_set_port(&sa, 65536), HYDRA_ERROR);
    ck_assert_int_eq(hydra_registry_set_port(&sa, 443), HYDRA_OK);
    ck_assert_uint_eq(ntohs(((struct sockaddr_in *) &sa)->sin_port), 443);

    sa.ss_family = AF_UNIX;
    ck_assert_int_eq(hydra_registry_set_port(&sa, 443), HYDRA_ERROR);
}
END_TEST


Suite *
hydra_registry_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_registry");

    tc = tcase_create("apply");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_apply_static);
    tcase_add_test(tc, test_apply_not_running);
    tcase_add_test(tc, test_apply_supervisor);
    tcase_add_test(tc, test_apply_sources_apart);
    tcase_add_test(tc, test_removal);
    suite_add_tcase(s, tc);

    tc = tcase_create("static_wins");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_static_wins);
    tcase_add_test(tc, test_static_wins_after_supervisor);
    tcase_add_test(tc, test_static_wins_learned_name);
    tcase_add_test(tc, test_static_wins_version);
    suite_add_tcase(s, tc);

    tc = tcase_create("update_keeps_health");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_update_keeps_health);
    tcase_add_test(tc, test_update_port_resets_health);
    tcase_add_test(tc, test_update_address_resets_health);
    tcase_add_test(tc, test_update_running_resets_health);
    suite_add_tcase(s, tc);

    tc = tcase_create("capacity");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_capacity);
    tcase_add_test(tc, test_capacity_shared);
    suite_add_tcase(s, tc);

    tc = tcase_create("find");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_find_forms);
    tcase_add_test(tc, test_find_invalid);
    tcase_add_test(tc, test_find_overlong);
    tcase_add_test(tc, test_find_dot_dot);
    tcase_add_test(tc, test_find_ambiguous);
    tcase_add_test(tc, test_find_most_exact_wins);
    tcase_add_test(tc, test_find_exact_beats_base);
    tcase_add_test(tc, test_find_learned_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("due_probes");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_due_first_probe);
    tcase_add_test(tc, test_due_lease);
    tcase_add_test(tc, test_due_after_done);
    tcase_add_test(tc, test_due_never_not_running);
    tcase_add_test(tc, test_due_max);
    suite_add_tcase(s, tc);

    tc = tcase_create("probe_done");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_probe_up);
    tcase_add_test(tc, test_probe_down);
    tcase_add_test(tc, test_probe_down_long_error);
    tcase_add_test(tc, test_probe_learns_name);
    tcase_add_test(tc, test_probe_stale);
    tcase_add_test(tc, test_probe_not_running);
    tcase_add_test(tc, test_probe_port_gone);
    tcase_add_test(tc, test_probe_gone);
    suite_add_tcase(s, tc);

    tc = tcase_create("feeds");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_feed_due_when_up);
    tcase_add_test(tc, test_feed_down_is_kept);
    tcase_add_test(tc, test_feed_takeover);
    tcase_add_test(tc, test_feed_moved);
    tcase_add_test(tc, test_feed_stopped);
    tcase_add_test(tc, test_feed_key_follows);
    tcase_add_test(tc, test_feed_events_flag);
    tcase_add_test(tc, test_feed_dedup);
    tcase_add_test(tc, test_feed_dedup_survives_move);
    tcase_add_test(tc, test_feed_backoff);
    tcase_add_test(tc, test_feed_release_failed);
    tcase_add_test(tc, test_feed_by_id);
    suite_add_tcase(s, tc);

    tc = tcase_create("addresses");
    tcase_add_test(tc, test_sockaddr_eq);
    tcase_add_test(tc, test_addr_text);
    tcase_add_test(tc, test_set_port);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_registry_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


static void
hydra_setup(void)
{
    reg = malloc(sizeof(hydra_registry_t));
    ck_assert_ptr_nonnull(reg);

    specs = calloc(HYDRA_TEST_SPECS, sizeof(hydra_repo_spec_t));
    ck_assert_ptr_nonnull(specs);

    /* garbage first, to see that init clears it */
    memset(reg, 0x5a, sizeof(hydra_registry_t));
    hydra_registry_init(reg);

    now.mono = 1000;
    now.wall = 1000000;
}


static void
hydra_teardown(void)
{
    free(specs);
    free(reg);
}


/* a spec as the supervisor parser or a hydra_repo line leaves it */

static void
hydra_spec(hydra_repo_spec_t *spec, const char *name, const char *ip,
    unsigned port, int running)
{
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    memset(spec, 0, sizeof(hydra_repo_spec_t));
    snprintf(spec->name, HYDRA_NAME_SIZE, "%s", name);
    spec->port = port;
    spec->running = running;

    if (strchr(ip, ':') != NULL) {
        sin6 = (struct sockaddr_in6 *) &spec->sockaddr;
        sin6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
        spec->socklen = sizeof(struct sockaddr_in6);

    } else {
        sin = (struct sockaddr_in *) &spec->sockaddr;
        sin->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
        spec->socklen = sizeof(struct sockaddr_in);
    }

    ck_assert_int_eq(hydra_registry_set_port(&spec->sockaddr, port),
                     HYDRA_OK);
}


static size_t
hydra_find_ok(const char *slug)
{
    size_t        index;
    hydra_find_e  rc;

    index = (size_t) -1;
    rc = hydra_registry_find(reg, slug, strlen(slug), &index);

    ck_assert_msg(rc == HYDRA_FIND_OK, "find \"%s\": %d", slug, (int) rc);
    ck_assert_uint_lt(index, reg->nrepos);

    return index;
}


static hydra_find_e
hydra_find(const char *slug)
{
    size_t  index;

    return hydra_registry_find(reg, slug, strlen(slug), &index);
}


static void
hydra_probe_up(const hydra_probe_job_t *job, int64_t latency,
    const char *full_name)
{
    hydra_probe_result_t  res;

    memset(&res, 0, sizeof(res));
    res.up = 1;
    res.latency_ms = latency;
    res.full_name = full_name;

    hydra_registry_probe_done(reg, job, &res, &now);
}


static int
hydra_probe_down(const hydra_probe_job_t *job, const char *error)
{
    hydra_probe_result_t  res;

    memset(&res, 0, sizeof(res));
    res.up = 0;
    res.latency_ms = -1;
    res.error = error;

    return hydra_registry_probe_done(reg, job, &res, &now);
}


/* probes every running repo, all found up */

static void
hydra_all_up(void)
{
    size_t             i, n;
    hydra_probe_job_t  jobs[8];

    n = hydra_registry_due_probes(reg, &now, HYDRA_TEST_INTERVAL,
                                  HYDRA_TEST_LEASE, jobs, 8);

    for (i = 0; i < n; i++) {
        hydra_probe_up(&jobs[i], 1, NULL);
    }
}


static size_t
hydra_feeds(int64_t owner, hydra_feed_job_t *jobs, size_t max)
{
    return hydra_registry_due_feeds(reg, &now, owner, HYDRA_TEST_LEASE,
                                    jobs, max);
}


/* an event of the first repo's feed */

static int
hydra_take(int64_t owner, const char *timestamp, int64_t id)
{
    return hydra_registry_feed_take(reg, reg->repos[0].id, owner, timestamp,
                                    id);
}
