
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_json: what GET /api/repos, error bodies and the data of the
 * module's own events look like, read back with yajl_tree and checked
 * field by field, never as whole strings.
 */


#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <yajl/yajl_tree.h>

#include "hydra_json.h"


#define HYDRA_TEST_NREPOS   3

/* 2026-03-05T10:00:05.120+00:00 */
#define HYDRA_TEST_WALL     1772704805120LL


static void hydra_setup(void);
static void hydra_teardown(void);
static yajl_val hydra_emit_repos(void);
static yajl_val hydra_emit_error(const char *message,
    const hydra_json_registry_t *snap);
static yajl_val hydra_parse_gen(void);
static yajl_val hydra_get(yajl_val obj, const char *key);
static void hydra_check_string(yajl_val obj, const char *key,
    const char *expect);
static void hydra_check_null(yajl_val obj, const char *key);
static void hydra_check_integer(yajl_val obj, const char *key,
    long long expect);
static void hydra_check_bool(yajl_val obj, const char *key, int expect);
static void hydra_check_keys(yajl_val obj, const char **keys);
static void hydra_check_time(int64_t wall_ms, const char *expect);


static yajl_gen                   g;
static yajl_val                   root;
static hydra_repo_t              *repos;
static hydra_supervisor_state_t   sup;
static hydra_json_registry_t      snap;


static const char  *hydra_repo_keys[] = {
    "slug", "path", "port", "dashboard_url", "log_file", "running",
    "key", "repo", "source", "address", "status", "last_ok", "last_error",
    "latency_ms", "events", NULL
};


START_TEST(test_repos_shape)
{
    static const char  *top[] = { "repos", "supervisor", NULL };

    yajl_val  list;
    size_t    i;

    root = hydra_emit_repos();

    hydra_check_keys(root, top);

    list = hydra_get(root, "repos");
    ck_assert(YAJL_IS_ARRAY(list));
    ck_assert_uint_eq(YAJL_GET_ARRAY(list)->len, HYDRA_TEST_NREPOS);

    for (i = 0; i < HYDRA_TEST_NREPOS; i++) {
        hydra_check_keys(YAJL_GET_ARRAY(list)->values[i], hydra_repo_keys);
    }
}
END_TEST


START_TEST(test_repo_up)
{
    yajl_val  r;

    root = hydra_emit_repos();
    r = YAJL_GET_ARRAY(hydra_get(root, "repos"))->values[0];

    hydra_check_string(r, "slug", "acme/api");
    hydra_check_string(r, "path", "/home/dev/src/api");
    hydra_check_integer(r, "port", 5101);
    hydra_check_string(r, "dashboard_url", "http://localhost:5101");
    hydra_check_string(r, "log_file", "/home/dev/.hydraflow/logs/a.log");
    hydra_check_bool(r, "running", 1);
    hydra_check_string(r, "key", "acme-api");
    hydra_check_string(r, "repo", "acme/api");
    hydra_check_string(r, "source", "static");
    hydra_check_string(r, "address", "127.0.0.1:5101");
    hydra_check_string(r, "status", "up");
    hydra_check_string(r, "last_ok", "2026-03-05T10:00:05.120+00:00");
    hydra_check_null(r, "last_error");
    hydra_check_integer(r, "latency_ms", 2);
    hydra_check_bool(r, "events", 1);
}
END_TEST


START_TEST(test_repo_down_empty_fields)
{
    yajl_val  r;

    root = hydra_emit_repos();
    r = YAJL_GET_ARRAY(hydra_get(root, "repos"))->values[1];

    /* SupervisorRepo's own strings stay strings, even empty */
    hydra_check_string(r, "slug", "web");
    hydra_check_string(r, "path", "");
    hydra_check_integer(r, "port", 0);
    hydra_check_string(r, "dashboard_url", "");
    hydra_check_string(r, "log_file", "");
    hydra_check_bool(r, "running", 0);

    /* what the module adds is null when it is not known */
    hydra_check_string(r, "key", "web");
    hydra_check_null(r, "repo");
    hydra_check_string(r, "source", "supervisor");
    hydra_check_string(r, "status", "down");
    hydra_check_null(r, "last_ok");
    hydra_check_string(r, "last_error", "not running");
    hydra_check_null(r, "latency_ms");
    hydra_check_bool(r, "events", 0);
}
END_TEST


START_TEST(test_repo_unknown)
{
    yajl_val  r;

    root = hydra_emit_repos();
    r = YAJL_GET_ARRAY(hydra_get(root, "repos"))->values[2];

    hydra_check_string(r, "slug", "acme/my.repo");
    hydra_check_string(r, "path", "/src/\"quoted\"\\caf\xc3\xa9");
    hydra_check_string(r, "status", "unknown");
    hydra_check_string(r, "address", "[::1]:65535");
    hydra_check_integer(r, "port", 65535);

    /* 0 ms is measured, not missing */
    hydra_check_integer(r, "latency_ms", 0);
    hydra_check_string(r, "last_ok", "1970-01-01T00:00:00.001+00:00");
}
END_TEST


START_TEST(test_latency_null_below_zero)
{
    yajl_val  r;

    repos[0].latency_ms = -1;
    repos[2].latency_ms = -7;
    root = hydra_emit_repos();

    r = YAJL_GET_ARRAY(hydra_get(root, "repos"))->values[0];
    hydra_check_null(r, "latency_ms");

    r = YAJL_GET_ARRAY(hydra_get(root, "repos"))->values[2];
    hydra_check_null(r, "latency_ms");
}
END_TEST


START_TEST(test_supervisor)
{
    static const char  *keys[] = {
        "address", "status", "last_ok", "last_error", "repos", NULL
    };

    yajl_val  s;

    root = hydra_emit_repos();
    s = hydra_get(root, "supervisor");

    hydra_check_keys(s, keys);
    hydra_check_string(s, "address", "127.0.0.1:8765");
    hydra_check_string(s, "status", "up");
    hydra_check_string(s, "last_ok", "2026-03-05T10:00:05.120+00:00");
    hydra_check_null(s, "last_error");
    hydra_check_integer(s, "repos", 2);
}
END_TEST


START_TEST(test_supervisor_down)
{
    yajl_val  s;

    sup.health = HYDRA_HEALTH_DOWN;
    sup.last_ok = 0;
    strcpy(sup.last_error, "connect");

    root = hydra_emit_repos();
    s = hydra_get(root, "supervisor");

    hydra_check_string(s, "status", "down");
    hydra_check_null(s, "last_ok");
    hydra_check_string(s, "last_error", "connect");
}
END_TEST


START_TEST(test_supervisor_none)
{
    snap.supervisor = NULL;
    snap.supervisor_addr = NULL;

    root = hydra_emit_repos();

    ck_assert(YAJL_IS_NULL(hydra_get(root, "supervisor")));
}
END_TEST


START_TEST(test_repos_empty)
{
    yajl_val  list;

    snap.nrepos = 0;
    root = hydra_emit_repos();

    list = hydra_get(root, "repos");
    ck_assert(YAJL_IS_ARRAY(list));
    ck_assert_uint_eq(YAJL_GET_ARRAY(list)->len, 0);
}
END_TEST


START_TEST(test_repos_bad_utf8)
{
    /* a path that is not UTF-8 fails the emission, it is not sent */
    strcpy(repos[1].spec.path, "/src/\xff\xfe");

    ck_assert_int_eq(hydra_json_repos(g, &snap), HYDRA_ERROR);
}
END_TEST


START_TEST(test_error_body)
{
    static const char  *keys[] = { "error", "repos", NULL };

    yajl_val  list;

    root = hydra_emit_error("unknown repo \"nope\"", &snap);

    hydra_check_keys(root, keys);
    hydra_check_string(root, "error", "unknown repo \"nope\"");

    list = hydra_get(root, "repos");
    ck_assert(YAJL_IS_ARRAY(list));
    ck_assert_uint_eq(YAJL_GET_ARRAY(list)->len, HYDRA_TEST_NREPOS);
    ck_assert(YAJL_IS_STRING(YAJL_GET_ARRAY(list)->values[0]));
    ck_assert_str_eq(YAJL_GET_STRING(YAJL_GET_ARRAY(list)->values[0]),
                     "acme-api");
    ck_assert_str_eq(YAJL_GET_STRING(YAJL_GET_ARRAY(list)->values[1]),
                     "web");
    ck_assert_str_eq(YAJL_GET_STRING(YAJL_GET_ARRAY(list)->values[2]),
                     "acme-my.repo");
}
END_TEST


START_TEST(test_error_body_empty_registry)
{
    yajl_val  list;

    snap.nrepos = 0;
    root = hydra_emit_error("no repos", &snap);

    hydra_check_string(root, "error", "no repos");

    list = hydra_get(root, "repos");
    ck_assert(YAJL_IS_ARRAY(list));
    ck_assert_uint_eq(YAJL_GET_ARRAY(list)->len, 0);
}
END_TEST


START_TEST(test_error_body_alone)
{
    static const char  *keys[] = { "error", NULL };

    root = hydra_emit_error("POST requires a specific repo", NULL);

    hydra_check_keys(root, keys);
    hydra_check_string(root, "error", "POST requires a specific repo");
}
END_TEST


START_TEST(test_repo_status_event)
{
    static const char  *keys[] = { "repo", "status", "last_error", NULL };

    ck_assert_int_eq(hydra_json_repo_status(g, &repos[0]), HYDRA_OK);
    root = hydra_parse_gen();

    hydra_check_keys(root, keys);
    hydra_check_string(root, "repo", "acme-api");
    hydra_check_string(root, "status", "up");
    hydra_check_null(root, "last_error");
}
END_TEST


START_TEST(test_repo_status_event_down)
{
    ck_assert_int_eq(hydra_json_repo_status(g, &repos[1]), HYDRA_OK);
    root = hydra_parse_gen();

    hydra_check_string(root, "repo", "web");
    hydra_check_string(root, "status", "down");
    hydra_check_string(root, "last_error", "not running");
}
END_TEST


START_TEST(test_registry_size_event)
{
    static const char  *keys[] = { "repos", NULL };

    ck_assert_int_eq(hydra_json_registry_size(g, 3), HYDRA_OK);
    root = hydra_parse_gen();

    hydra_check_keys(root, keys);
    hydra_check_integer(root, "repos", 3);
}
END_TEST


START_TEST(test_iso_time)
{
    hydra_check_time(HYDRA_TEST_WALL, "2026-03-05T10:00:05.120+00:00");
    hydra_check_time(0, "1970-01-01T00:00:00.000+00:00");
    hydra_check_time(1, "1970-01-01T00:00:00.001+00:00");
    hydra_check_time(999, "1970-01-01T00:00:00.999+00:00");
    hydra_check_time(1000, "1970-01-01T00:00:01.000+00:00");
    hydra_check_time(951782400123LL, "2000-02-29T00:00:00.123+00:00");
    hydra_check_time(951868799000LL, "2000-02-29T23:59:59.000+00:00");
    hydra_check_time(253402300799999LL, "9999-12-31T23:59:59.999+00:00");
}
END_TEST


START_TEST(test_iso_time_size)
{
    char  buf[HYDRA_ISO_TIME_SIZE + 8];

    /* never more than HYDRA_ISO_TIME_SIZE bytes, even for odd years */
    memset(buf, 'x', sizeof(buf));
    hydra_json_iso_time(buf, INT64_MAX);

    ck_assert_uint_lt(strlen(buf), HYDRA_ISO_TIME_SIZE);
    ck_assert_int_eq(buf[HYDRA_ISO_TIME_SIZE], 'x');
}
END_TEST


Suite *
hydra_json_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_json");

    tc = tcase_create("repos");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_repos_shape);
    tcase_add_test(tc, test_repo_up);
    tcase_add_test(tc, test_repo_unknown);
    tcase_add_test(tc, test_repos_empty);
    tcase_add_test(tc, test_repos_bad_utf8);
    suite_add_tcase(s, tc);

    tc = tcase_create("null_when_unknown");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_repo_down_empty_fields);
    tcase_add_test(tc, test_latency_null_below_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("supervisor");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_supervisor);
    tcase_add_test(tc, test_supervisor_down);
    tcase_add_test(tc, test_supervisor_none);
    suite_add_tcase(s, tc);

    tc = tcase_create("error_body");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_error_body);
    tcase_add_test(tc, test_error_body_empty_registry);
    tcase_add_test(tc, test_error_body_alone);
    suite_add_tcase(s, tc);

    tc = tcase_create("module_events");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_repo_status_event);
    tcase_add_test(tc, test_repo_status_event_down);
    tcase_add_test(tc, test_registry_size_event);
    suite_add_tcase(s, tc);

    tc = tcase_create("iso_time");
    tcase_add_test(tc, test_iso_time);
    tcase_add_test(tc, test_iso_time_size);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_json_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


/* a snapshot as the glue copies it out of the zone */

static void
hydra_setup(void)
{
    hydra_repo_t  *r;

    g = yajl_gen_alloc(NULL);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_ne(yajl_gen_config(g, yajl_gen_validate_utf8, 1), 0);

    root = NULL;

    repos = calloc(HYDRA_TEST_NREPOS, sizeof(hydra_repo_t));
    ck_assert_ptr_nonnull(repos);

    r = &repos[0];
    strcpy(r->spec.name, "acme/api");
    strcpy(r->spec.path, "/home/dev/src/api");
    strcpy(r->spec.dashboard_url, "http://localhost:5101");
    strcpy(r->spec.log_file, "/home/dev/.hydraflow/logs/a.log");
    r->spec.port = 5101;
    r->spec.running = 1;
    r->id = 1;
    r->source = HYDRA_SOURCE_STATIC;
    strcpy(r->full_name, "acme/api");
    strcpy(r->key, "acme-api");
    strcpy(r->addr_text, "127.0.0.1:5101");
    r->health = HYDRA_HEALTH_UP;
    r->last_ok = HYDRA_TEST_WALL;
    r->latency_ms = 2;
    r->events = 1;

    r = &repos[1];
    strcpy(r->spec.name, "web");
    r->id = 2;
    r->source = HYDRA_SOURCE_SUPERVISOR;
    strcpy(r->key, "web");
    strcpy(r->addr_text, "127.0.0.1:0");
    r->health = HYDRA_HEALTH_DOWN;
    strcpy(r->last_error, "not running");
    r->latency_ms = -1;

    r = &repos[2];
    strcpy(r->spec.name, "acme/my.repo");
    strcpy(r->spec.path, "/src/\"quoted\"\\caf\xc3\xa9");
    r->spec.port = 65535;
    r->spec.running = 1;
    r->id = 3;
    r->source = HYDRA_SOURCE_SUPERVISOR;
    strcpy(r->full_name, "acme/my.repo");
    strcpy(r->key, "acme-my.repo");
    strcpy(r->addr_text, "[::1]:65535");
    r->health = HYDRA_HEALTH_UNKNOWN;
    r->last_ok = 1;
    r->latency_ms = 0;

    memset(&sup, 0, sizeof(sup));
    sup.configured = 1;
    sup.health = HYDRA_HEALTH_UP;
    sup.last_ok = HYDRA_TEST_WALL;
    sup.nrepos = 2;

    snap.repos = repos;
    snap.nrepos = HYDRA_TEST_NREPOS;
    snap.supervisor = &sup;
    snap.supervisor_addr = "127.0.0.1:8765";
}


static void
hydra_teardown(void)
{
    if (root != NULL) {
        yajl_tree_free(root);
    }

    yajl_gen_free(g);
    free(repos);
}


static yajl_val
hydra_emit_repos(void)
{
    ck_assert_int_eq(hydra_json_repos(g, &snap), HYDRA_OK);

    return hydra_parse_gen();
}


static yajl_val
hydra_emit_error(const char *message, const hydra_json_registry_t *reg)
{
    ck_assert_int_eq(hydra_json_error(g, message, reg), HYDRA_OK);

    return hydra_parse_gen();
}


/* the generator's output, NUL-terminated and parsed back */

static yajl_val
hydra_parse_gen(void)
{
    char                 *copy, errbuf[128];
    size_t                len;
    yajl_val              v;
    const unsigned char  *buf;

    ck_assert_int_eq(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);

    copy = malloc(len + 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, buf, len);
    copy[len] = '\0';

    v = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
    ck_assert_msg(v != NULL, "%s: %s", errbuf, copy);
    ck_assert(YAJL_IS_OBJECT(v));

    free(copy);

    return v;
}


static yajl_val
hydra_get(yajl_val obj, const char *key)
{
    yajl_val     v;
    const char  *path[2];

    path[0] = key;
    path[1] = NULL;

    v = yajl_tree_get(obj, path, yajl_t_any);
    ck_assert_msg(v != NULL, "no \"%s\"", key);

    return v;
}


static void
hydra_check_string(yajl_val obj, const char *key, const char *expect)
{
    yajl_val  v;

    v = hydra_get(obj, key);

    ck_assert_msg(YAJL_IS_STRING(v), "\"%s\" is not a string", key);
    ck_assert_str_eq(YAJL_GET_STRING(v), expect);
}


static void
hydra_check_null(yajl_val obj, const char *key)
{
    ck_assert_msg(YAJL_IS_NULL(hydra_get(obj, key)), "\"%s\" is not null",
                  key);
}


static void
hydra_check_integer(yajl_val obj, const char *key, long long expect)
{
    yajl_val  v;

    v = hydra_get(obj, key);

    ck_assert_msg(YAJL_IS_INTEGER(v), "\"%s\" is not an integer", key);
    ck_assert_int_eq(YAJL_GET_INTEGER(v), expect);
}


static void
hydra_check_bool(yajl_val obj, const char *key, int expect)
{
    yajl_val  v;

    v = hydra_get(obj, key);

    ck_assert_msg(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v),
                  "\"%s\" is not a boolean", key);
    ck_assert_int_eq(YAJL_IS_TRUE(v) ? 1 : 0, expect);
}


/* exactly these keys, in this order */

static void
hydra_check_keys(yajl_val obj, const char **keys)
{
    size_t  i;

    ck_assert(YAJL_IS_OBJECT(obj));

    for (i = 0; keys[i] != NULL; i++) {
        ck_assert_msg(i < YAJL_GET_OBJECT(obj)->len, "no \"%s\"", keys[i]);
        ck_assert_str_eq(YAJL_GET_OBJECT(obj)->keys[i], keys[i]);
    }

    ck_assert_uint_eq(YAJL_GET_OBJECT(obj)->len, i);
}


static void
hydra_check_time(int64_t wall_ms, const char *expect)
{
    char  buf[HYDRA_ISO_TIME_SIZE];

    hydra_json_iso_time(buf, wall_ms);

    ck_assert_str_eq(buf, expect);
}
