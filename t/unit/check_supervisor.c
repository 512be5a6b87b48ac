
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_supervisor: list_repos answers (hydraflow-api.md, section 4),
 * good, refused and half good.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_supervisor.h"


#define HYDRA_TEST_SPECS   8

/* the contract's example, as list_repos answers it */
#define HYDRA_TEST_REPLY                                                      \
    "{\"status\":\"ok\",\"repos\":["                                          \
    "{\"path\":\"/home/dev/src/api\",\"slug\":\"api\",\"port\":53117,"        \
    "\"dashboard_url\":\"http://localhost:53117\","                           \
    "\"log_file\":\"/home/dev/.hydraflow/logs/api-53117.log\","               \
    "\"running\":true},\n"                                                    \
    "{\"path\":\"/home/dev/src/web\",\"slug\":\"acme/web\",\"port\":0,"       \
    "\"dashboard_url\":\"http://localhost:0\",\"log_file\":\"\","             \
    "\"running\":false}]}\n"

/* one good entry around the one under test */
#define hydra_entry(e)                                                        \
    "{\"status\":\"ok\",\"repos\":["                                          \
    "{\"slug\":\"first\",\"port\":1}," e ","                                  \
    "{\"slug\":\"last\",\"port\":2}]}"


static void hydra_setup(void);
static void hydra_teardown(void);
static void hydra_check_error(const char *json, const char *error);
static void hydra_check_skipped(const char *json);
static void hydra_check_one(const char *entry_json);


static hydra_repo_spec_t         *specs;
static hydra_supervisor_reply_t   reply;


START_TEST(test_contract_example)
{
    ck_assert_int_eq(hydra_supervisor_parse(HYDRA_TEST_REPLY, specs,
                                            HYDRA_TEST_SPECS, &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 2);
    ck_assert_uint_eq(reply.skipped, 0);
    ck_assert_str_eq(reply.error, "");

    ck_assert_str_eq(specs[0].name, "api");
    ck_assert_str_eq(specs[0].path, "/home/dev/src/api");
    ck_assert_uint_eq(specs[0].port, 53117);
    ck_assert_str_eq(specs[0].dashboard_url, "http://localhost:53117");
    ck_assert_str_eq(specs[0].log_file,
                     "/home/dev/.hydraflow/logs/api-53117.log");
    ck_assert_int_eq(specs[0].running, 1);
    ck_assert_uint_eq(specs[0].socklen, 0);

    ck_assert_str_eq(specs[1].name, "acme/web");
    ck_assert_str_eq(specs[1].path, "/home/dev/src/web");
    ck_assert_uint_eq(specs[1].port, 0);
    ck_assert_str_eq(specs[1].dashboard_url, "http://localhost:0");
    ck_assert_str_eq(specs[1].log_file, "");
    ck_assert_int_eq(specs[1].running, 0);
}
END_TEST


START_TEST(test_empty_list)
{
    ck_assert_int_eq(hydra_supervisor_parse("{\"status\":\"ok\",\"repos\":[]}",
                                            specs, HYDRA_TEST_SPECS, &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 0);
    ck_assert_uint_eq(reply.skipped, 0);
}
END_TEST


START_TEST(test_extra_fields)
{
    const char  *json;

    json = "{\"status\":\"ok\",\"version\":\"1.2\",\"repos\":"
           "[{\"slug\":\"api\",\"port\":5,\"pid\":42,\"extra\":{\"a\":[]},"
           "\"running\":true}],\"more\":null}";

    ck_assert_int_eq(hydra_supervisor_parse(json, specs, HYDRA_TEST_SPECS,
                                            &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 1);
    ck_assert_str_eq(specs[0].name, "api");
    ck_assert_int_eq(specs[0].running, 1);
}
END_TEST


START_TEST(test_escapes)
{
    const char  *json;

    json = "{\"status\":\"ok\",\"repos\":[{\"slug\":\"acme\\/w\\u0065b\","
           "\"port\":5,\"path\":\"/src/caf\\u00e9\"}]}";

    ck_assert_int_eq(hydra_supervisor_parse(json, specs, HYDRA_TEST_SPECS,
                                            &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 1);
    ck_assert_str_eq(specs[0].name, "acme/web");
    ck_assert_str_eq(specs[0].path, "/src/caf\xc3\xa9");
}
END_TEST


START_TEST(test_specs_are_clean)
{
    hydra_repo_spec_t  *other;

    /* the registry compares specs bytewise: no garbage may survive */
    other = malloc(HYDRA_TEST_SPECS * sizeof(hydra_repo_spec_t));
    ck_assert_ptr_nonnull(other);
    memset(other, 0xa5, HYDRA_TEST_SPECS * sizeof(hydra_repo_spec_t));

    ck_assert_int_eq(hydra_supervisor_parse(HYDRA_TEST_REPLY, specs,
                                            HYDRA_TEST_SPECS, &reply),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_supervisor_parse(HYDRA_TEST_REPLY, other,
                                            HYDRA_TEST_SPECS, &reply),
                     HYDRA_OK);
    ck_assert_int_eq(memcmp(specs, other, 2 * sizeof(hydra_repo_spec_t)), 0);

    free(other);
}
END_TEST


START_TEST(test_status_error)
{
    hydra_check_error("{\"status\":\"error\",\"error\":\"unknown action\"}",
                      "supervisor error: unknown action");
    hydra_check_error("{\"status\":\"error\",\"error\":\"Repo not found\"}",
                      "supervisor error: Repo not found");
    hydra_check_error("{\"status\":\"error\"}", "supervisor error: no status");
    hydra_check_error("{\"status\":\"error\",\"error\":42}",
                      "supervisor error: no status");

    /* a long message is cut, the reply stays terminated */
    hydra_check_error("{\"status\":\"error\",\"error\":"
                      "\"0123456789012345678901234567890123456789XYZ\"}",
                      "supervisor error: "
                      "0123456789012345678901234567890123456789");
}
END_TEST


START_TEST(test_status_missing_or_odd)
{
    /* the state file's form has no status: not an answer */
    hydra_check_error("{\"repos\":[]}", "supervisor error: no status");
    hydra_check_error("{\"status\":1,\"repos\":[]}",
                      "supervisor error: no status");
    hydra_check_error("{\"status\":null,\"repos\":[]}",
                      "supervisor error: no status");
    hydra_check_error("{\"status\":\"OK\",\"repos\":[]}",
                      "supervisor error: no status");
    hydra_check_error("{\"status\":\"ok \",\"repos\":[]}",
                      "supervisor error: no status");
}
END_TEST


START_TEST(test_garbage)
{
    hydra_check_error("", "bad json");
    hydra_check_error("\n", "bad json");
    hydra_check_error("not json", "bad json");
    hydra_check_error("{", "bad json");
    hydra_check_error("{\"status\":\"ok\",\"repos\":[", "bad json");
    hydra_check_error("{\"status\":\"ok\",\"repos\":[}", "bad json");
    hydra_check_error("{\"status\":\"ok\"} trailing", "bad json");
    hydra_check_error("{'status':'ok'}", "bad json");
    hydra_check_error("\xff\xfe", "bad json");
}
END_TEST


START_TEST(test_not_object)
{
    hydra_check_error("[]", "bad json: not an object");
    hydra_check_error("[{\"status\":\"ok\",\"repos\":[]}]",
                      "bad json: not an object");
    hydra_check_error("\"ok\"", "bad json: not an object");
    hydra_check_error("42", "bad json: not an object");
    hydra_check_error("null", "bad json: not an object");
    hydra_check_error("true", "bad json: not an object");
}
END_TEST


START_TEST(test_missing_repos)
{
    hydra_check_error("{\"status\":\"ok\"}", "bad json: no repos");
    hydra_check_error("{\"status\":\"ok\",\"repos\":null}",
                      "bad json: no repos");
    hydra_check_error("{\"status\":\"ok\",\"repos\":{}}",
                      "bad json: no repos");
    hydra_check_error("{\"status\":\"ok\",\"repos\":\"api\"}",
                      "bad json: no repos");
    hydra_check_error("{\"status\":\"ok\",\"Repos\":[]}",
                      "bad json: no repos");
}
END_TEST


START_TEST(test_entry_not_object)
{
    hydra_check_skipped(hydra_entry("1"));
    hydra_check_skipped(hydra_entry("\"api\""));
    hydra_check_skipped(hydra_entry("null"));
    hydra_check_skipped(hydra_entry("true"));
    hydra_check_skipped(hydra_entry("[]"));
    hydra_check_skipped(hydra_entry("[{\"slug\":\"x\",\"port\":3}]"));
}
END_TEST


START_TEST(test_entry_bad_slug)
{
    hydra_check_skipped(hydra_entry("{\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":null,\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":3,\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":[\"x\"],\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"\",\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"my repo\",\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"a%2Fb\",\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"a\\\"b\",\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"a\\nb\",\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"caf\\u00e9\",\"port\":3}"));
    hydra_check_skipped(hydra_entry("{\"Slug\":\"x\",\"port\":3}"));
}
END_TEST


START_TEST(test_entry_slug_length)
{
    char    json[512], slug[HYDRA_SLUG_MAX + 2];
    size_t  len;

    for (len = HYDRA_SLUG_MAX; len <= HYDRA_SLUG_MAX + 1; len++) {
        memset(slug, 's', len);
        slug[len] = '\0';
        snprintf(json, sizeof(json),
                 "{\"status\":\"ok\",\"repos\":"
                 "[{\"slug\":\"%s\",\"port\":3}]}", slug);

        ck_assert_int_eq(hydra_supervisor_parse(json, specs,
                                                HYDRA_TEST_SPECS, &reply),
                         HYDRA_OK);

        if (len == HYDRA_SLUG_MAX) {
            ck_assert_uint_eq(reply.nspecs, 1);
            ck_assert_uint_eq(strlen(specs[0].name), HYDRA_SLUG_MAX);

        } else {
            ck_assert_uint_eq(reply.nspecs, 0);
            ck_assert_uint_eq(reply.skipped, 1);
        }
    }
}
END_TEST


START_TEST(test_entry_bad_strings)
{
    char  *json, *path;

    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":3,\"path\":1}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":3,"
                                    "\"dashboard_url\":[]}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":3,"
                                    "\"log_file\":false}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":3,"
                                    "\"path\":{}}"));

    /* a path that does not fit is refused, not cut */
    json = malloc(HYDRA_PATH_SIZE + 128);
    path = malloc(HYDRA_PATH_SIZE + 1);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(path);

    memset(path, 'p', HYDRA_PATH_SIZE);
    path[HYDRA_PATH_SIZE] = '\0';
    snprintf(json, HYDRA_PATH_SIZE + 128,
             "{\"status\":\"ok\",\"repos\":"
             "[{\"slug\":\"x\",\"port\":3,\"path\":\"%s\"}]}", path);

    ck_assert_int_eq(hydra_supervisor_parse(json, specs, HYDRA_TEST_SPECS,
                                            &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 0);
    ck_assert_uint_eq(reply.skipped, 1);

    path[HYDRA_PATH_SIZE - 1] = '\0';
    snprintf(json, HYDRA_PATH_SIZE + 128,
             "{\"status\":\"ok\",\"repos\":"
             "[{\"slug\":\"x\",\"port\":3,\"path\":\"%s\"}]}", path);

    ck_assert_int_eq(hydra_supervisor_parse(json, specs, HYDRA_TEST_SPECS,
                                            &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 1);
    ck_assert_str_eq(specs[0].path, path);

    free(path);
    free(json);
}
END_TEST


START_TEST(test_entry_bad_port)
{
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\"}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":null}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":\"5101\"}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":true}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":5101.5}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":5101.0}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":5e3}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":-1}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":65536}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":4294967297}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\","
                                    "\"port\":99999999999999999999}"));
    hydra_check_skipped(hydra_entry("{\"slug\":\"x\",\"port\":[5101]}"));
}
END_TEST


START_TEST(test_entry_port_bounds)
{
    hydra_check_one("{\"slug\":\"x\",\"port\":65535,\"running\":true}");
    ck_assert_uint_eq(specs[1].port, 65535);
    ck_assert_int_eq(specs[1].running, 1);

    /* registered only: never running, whatever it says */
    hydra_check_one("{\"slug\":\"x\",\"port\":0,\"running\":true}");
    ck_assert_uint_eq(specs[1].port, 0);
    ck_assert_int_eq(specs[1].running, 0);

    hydra_check_one("{\"slug\":\"x\",\"port\":-0}");
    ck_assert_uint_eq(specs[1].port, 0);
}
END_TEST


START_TEST(test_entry_running)
{
    /* an old supervisor does not send it */
    hydra_check_one("{\"slug\":\"x\",\"port\":5101}");
    ck_assert_int_eq(specs[1].running, 0);

    hydra_check_one("{\"slug\":\"x\",\"port\":5101,\"running\":false}");
    ck_assert_int_eq(specs[1].running, 0);

    hydra_check_one("{\"slug\":\"x\",\"port\":5101,\"running\":null}");
    ck_assert_int_eq(specs[1].running, 0);

    hydra_check_one("{\"slug\":\"x\",\"port\":5101,\"running\":\"true\"}");
    ck_assert_int_eq(specs[1].running, 0);

    hydra_check_one("{\"slug\":\"x\",\"port\":5101,\"running\":1}");
    ck_assert_int_eq(specs[1].running, 0);

    hydra_check_one("{\"slug\":\"x\",\"port\":5101,\"running\":true}");
    ck_assert_int_eq(specs[1].running, 1);
}
END_TEST


START_TEST(test_entry_null_strings)
{
    hydra_check_one("{\"slug\":\"x\",\"port\":5101,\"path\":null,"
                    "\"dashboard_url\":null,\"log_file\":null}");
    ck_assert_str_eq(specs[1].path, "");
    ck_assert_str_eq(specs[1].dashboard_url, "");
    ck_assert_str_eq(specs[1].log_file, "");

    /* or missing */
    hydra_check_one("{\"slug\":\"x\",\"port\":5101}");
    ck_assert_str_eq(specs[1].path, "");
    ck_assert_str_eq(specs[1].dashboard_url, "");
    ck_assert_str_eq(specs[1].log_file, "");
}
END_TEST


START_TEST(test_skipped_counted)
{
    const char  *json;

    json = "{\"status\":\"ok\",\"repos\":["
           "1,{\"slug\":\"a\",\"port\":1},{\"port\":2},"
           "{\"slug\":\"b\",\"port\":70000},{\"slug\":\"c\",\"port\":3},"
           "null]}";

    ck_assert_int_eq(hydra_supervisor_parse(json, specs, HYDRA_TEST_SPECS,
                                            &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 2);
    ck_assert_uint_eq(reply.skipped, 4);
    ck_assert_str_eq(specs[0].name, "a");
    ck_assert_str_eq(specs[1].name, "c");

    /* nothing good at all is still an answer */
    json = "{\"status\":\"ok\",\"repos\":[1,2,3]}";

    ck_assert_int_eq(hydra_supervisor_parse(json, specs, HYDRA_TEST_SPECS,
                                            &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 0);
    ck_assert_uint_eq(reply.skipped, 3);
}
END_TEST


START_TEST(test_more_than_max)
{
    const char  *json;

    json = "{\"status\":\"ok\",\"repos\":["
           "{\"slug\":\"a\",\"port\":1},{\"slug\":\"b\",\"port\":2},"
           "{\"slug\":\"c\",\"port\":3},{\"slug\":\"d\",\"port\":4},"
           "{\"slug\":\"e\",\"port\":5}]}";

    memset(&specs[3], 0x5a, sizeof(hydra_repo_spec_t));

    ck_assert_int_eq(hydra_supervisor_parse(json, specs, 3, &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 3);
    ck_assert_uint_eq(reply.skipped, 2);
    ck_assert_str_eq(specs[2].name, "c");

    /* nothing is written past max */
    ck_assert_int_eq(specs[3].name[0], 0x5a);

    /* bad entries before the limit count once */
    json = "{\"status\":\"ok\",\"repos\":["
           "null,{\"slug\":\"a\",\"port\":1},{\"slug\":\"b\",\"port\":2},"
           "{\"slug\":\"c\",\"port\":3},{\"slug\":\"d\",\"port\":4}]}";

    ck_assert_int_eq(hydra_supervisor_parse(json, specs, 2, &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 2);
    ck_assert_uint_eq(reply.skipped, 3);

    ck_assert_int_eq(hydra_supervisor_parse(json, NULL, 0, &reply),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.nspecs, 0);
    ck_assert_uint_eq(reply.skipped, 5);
}
END_TEST


START_TEST(test_reply_reset)
{
    /* a reply struct reused from a failed parse starts clean */
    hydra_check_error("null", "bad json: not an object");

    ck_assert_int_eq(hydra_supervisor_parse(HYDRA_TEST_REPLY, specs,
                                            HYDRA_TEST_SPECS, &reply),
                     HYDRA_OK);
    ck_assert_str_eq(reply.error, "");
    ck_assert_uint_eq(reply.skipped, 0);
}
END_TEST


Suite *
hydra_supervisor_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_supervisor");

    tc = tcase_create("good_answer");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_contract_example);
    tcase_add_test(tc, test_empty_list);
    tcase_add_test(tc, test_extra_fields);
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_specs_are_clean);
    tcase_add_test(tc, test_reply_reset);
    suite_add_tcase(s, tc);

    tc = tcase_create("refused_answer");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_status_error);
    tcase_add_test(tc, test_status_missing_or_odd);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_not_object);
    tcase_add_test(tc, test_missing_repos);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_entry_skipped");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_entry_not_object);
    tcase_add_test(tc, test_entry_bad_slug);
    tcase_add_test(tc, test_entry_slug_length);
    tcase_add_test(tc, test_entry_bad_strings);
    tcase_add_test(tc, test_entry_bad_port);
    tcase_add_test(tc, test_skipped_counted);
    suite_add_tcase(s, tc);

    tc = tcase_create("entry_fields");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_entry_port_bounds);
    tcase_add_test(tc, test_entry_running);
    tcase_add_test(tc, test_entry_null_strings);
    suite_add_tcase(s, tc);

    tc = tcase_create("max_entries");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_more_than_max);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_supervisor_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


static void
hydra_setup(void)
{
    specs = malloc(HYDRA_TEST_SPECS * sizeof(hydra_repo_spec_t));
    ck_assert_ptr_nonnull(specs);

    /* garbage first, to see that the parser clears what it fills */
    memset(specs, 0x5a, HYDRA_TEST_SPECS * sizeof(hydra_repo_spec_t));
    memset(&reply, 0x5a, sizeof(reply));
}


static void
hydra_teardown(void)
{
    free(specs);
}


static void
hydra_check_error(const char *json, const char *error)
{
    memset(&reply, 0x5a, sizeof(reply));

    ck_assert_msg(hydra_supervisor_parse(json, specs, HYDRA_TEST_SPECS,
                                         &reply)
                  == HYDRA_ERROR, "parsed: %s", json);
    ck_assert_str_eq(reply.error, error);
    ck_assert_uint_eq(reply.nspecs, 0);
}


/* the entry between "first" and "last" is skipped, they are not */

static void
hydra_check_skipped(const char *json)
{
    ck_assert_msg(hydra_supervisor_parse(json, specs, HYDRA_TEST_SPECS,
                                         &reply)
                  == HYDRA_OK, "refused: %s", json);
    ck_assert_msg(reply.nspecs == 2 && reply.skipped == 1,
                  "%s: %zu specs, %zu skipped", json, reply.nspecs,
                  reply.skipped);
    ck_assert_str_eq(specs[0].name, "first");
    ck_assert_str_eq(specs[1].name, "last");
}


/* the entry between "first" and "last" is taken, as specs[1] */

static void
hydra_check_one(const char *entry_json)
{
    char  json[1024];

    snprintf(json, sizeof(json), hydra_entry("%s"), entry_json);

    ck_assert_msg(hydra_supervisor_parse(json, specs, HYDRA_TEST_SPECS,
                                         &reply)
                  == HYDRA_OK, "refused: %s", json);
    ck_assert_msg(reply.nspecs == 3 && reply.skipped == 0,
                  "%s: %zu specs, %zu skipped", json, reply.nspecs,
                  reply.skipped);
    ck_assert_str_eq(specs[0].name, "first");
    ck_assert_str_eq(specs[2].name, "last");
}
