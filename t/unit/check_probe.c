
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_probe: the health probe's request, and what its answer says.
 */


#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_probe.h"


#define HYDRA_TEST_HEAD                                                       \
    "HTTP/1.1 200 OK\r\n"                                                     \
    "content-type: application/json\r\n"                                      \
    "content-length: 99\r\n"                                                  \
    "\r\n"


static int hydra_parse(const char *s, int complete);
static int hydra_parse_len(const char *s, size_t len, int complete);


static hydra_probe_reply_t  reply;


START_TEST(test_request)
{
    char    buf[256];
    size_t  n;

    n = hydra_probe_request(buf, sizeof(buf), "/api/control/status",
                            "127.0.0.1:5101");

    ck_assert_str_eq(buf,
                     "GET /api/control/status HTTP/1.0\r\n"
                     "Host: 127.0.0.1:5101\r\n"
                     "User-Agent: ngx_http_hydra_module probe\r\n"
                     "Accept: application/json\r\n"
                     "\r\n");
    ck_assert_uint_eq(n, strlen(buf));
}
END_TEST


START_TEST(test_request_too_small)
{
    char    buf[256];
    size_t  n, need;

    need = hydra_probe_request(buf, sizeof(buf), "/x", "h");
    ck_assert_uint_gt(need, 0);

    /* no room for the NUL: refused */
    n = hydra_probe_request(buf, need, "/x", "h");
    ck_assert_uint_eq(n, 0);

    n = hydra_probe_request(buf, need + 1, "/x", "h");
    ck_assert_uint_eq(n, need);

    n = hydra_probe_request(buf, 10, "/x", "h");
    ck_assert_uint_eq(n, 0);
}
END_TEST


START_TEST(test_status_200)
{
    ck_assert_int_eq(hydra_parse("HTTP/1.1 200 OK\r\n\r\n{}", 1), HYDRA_OK);
    ck_assert_uint_eq(reply.status, 200);
    ck_assert_int_eq(reply.complete, 1);
    ck_assert_str_eq(reply.error, "");
    ck_assert_str_eq(reply.full_name, "");

    ck_assert_int_eq(hydra_parse("HTTP/1.0 200 OK\r\n\r\n{}", 1), HYDRA_OK);
    ck_assert_uint_eq(reply.status, 200);

    ck_assert_int_eq(hydra_parse("HTTP/1.1 201 Created\r\n\r\n"
                                 "{\"status\":\"running\"}", 1),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.status, 201);
    ck_assert_str_eq(reply.error, "");
}
END_TEST


START_TEST(test_status_2xx_needs_body)
{
    /* the status line is read, but a 2xx with no body is not a dashboard */
    ck_assert_int_eq(hydra_parse("HTTP/1.1 200 OK\r\n\r\n", 1), HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 200);
    ck_assert_str_eq(reply.error, "bad response");

    /* the shortest status line there is */
    ck_assert_int_eq(hydra_parse("HTTP/1.1 200", 1), HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 200);
    ck_assert_str_eq(reply.error, "bad response");

    ck_assert_int_eq(hydra_parse("HTTP/1.1 204 No Content\r\n\r\n", 1),
                     HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 204);
    ck_assert_str_eq(reply.error, "bad response");
}
END_TEST


START_TEST(test_status_not_2xx_is_down)
{
    /* another program on the port answers, but not as a dashboard */
    ck_assert_int_eq(hydra_parse("HTTP/1.1 404 Not Found\r\n\r\n"
                                 "{\"detail\":\"Not Found\"}", 1),
                     HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 404);
    ck_assert_str_eq(reply.error, "http 404");
    ck_assert_str_eq(reply.full_name, "");

    ck_assert_int_eq(hydra_parse("HTTP/1.1 301 Moved\r\n\r\n", 1),
                     HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 301);
    ck_assert_str_eq(reply.error, "http 301");

    ck_assert_int_eq(hydra_parse("HTTP/1.1 499 X\r\n\r\n", 1), HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 499);
    ck_assert_str_eq(reply.error, "http 499");

    ck_assert_int_eq(hydra_parse("HTTP/1.1 100 Continue\r\n\r\n", 1),
                     HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 100);
    ck_assert_str_eq(reply.error, "http 100");

    ck_assert_int_eq(hydra_parse("HTTP/1.1 299 X\r\n\r\n{}", 1), HYDRA_OK);
    ck_assert_int_eq(hydra_parse("HTTP/1.1 300 X\r\n\r\n{}", 1),
                     HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "http 300");

    /* the status decides before the body: a cut read is still "http" */
    ck_assert_int_eq(hydra_parse("HTTP/1.1 404", 0), HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 404);
    ck_assert_int_eq(reply.complete, 0);
    ck_assert_str_eq(reply.error, "http 404");
}
END_TEST


START_TEST(test_status_5xx_is_down)
{
    ck_assert_int_eq(hydra_parse("HTTP/1.1 503 Service Unavailable\r\n\r\n",
                                 1),
                     HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 503);
    ck_assert_str_eq(reply.error, "http 503");

    ck_assert_int_eq(hydra_parse("HTTP/1.1 500 Internal Server Error\r\n"
                                 "\r\n{\"config\":{\"repo\":\"acme/api\"}}",
                                 1),
                     HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "http 500");
    ck_assert_str_eq(reply.full_name, "");

    ck_assert_int_eq(hydra_parse("HTTP/1.0 599 X", 0), HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "http 599");
}
END_TEST


START_TEST(test_garbage)
{
    static const char  *bad[] = {
        "garbage garbage garbage",
        "SSH-2.0-OpenSSH_9.2p1\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        " HTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1 OK 200\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 600 High\r\n\r\n",
        "HTTP/1.1 000 Zero\r\n\r\n",
        "HTTP/1.1 -20 Minus\r\n\r\n",
        "{\"config\":{\"repo\":\"acme/api\"}}",
        NULL
    };

    const char  **p;

    for (p = bad; *p != NULL; p++) {
        ck_assert_msg(hydra_parse(*p, 1) == HYDRA_ERROR, "up: %s", *p);
        ck_assert_str_eq(reply.error, "bad response");
        ck_assert_str_eq(reply.full_name, "");
        ck_assert_uint_eq(reply.status, 0);
    }
}
END_TEST


START_TEST(test_short)
{
    ck_assert_int_eq(hydra_parse("", 1), HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "bad response");

    ck_assert_int_eq(hydra_parse("H", 1), HYDRA_ERROR);
    ck_assert_int_eq(hydra_parse("HTTP/1.1", 1), HYDRA_ERROR);
    ck_assert_int_eq(hydra_parse("HTTP/1.1 ", 1), HYDRA_ERROR);
    ck_assert_int_eq(hydra_parse("HTTP/1.1 20", 1), HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "bad response");

    /* the length given counts, not what the buffer holds after it */
    ck_assert_int_eq(hydra_parse_len("HTTP/1.1 200 OK\r\n\r\n", 11, 1),
                     HYDRA_ERROR);
    ck_assert_int_eq(hydra_parse_len("HTTP/1.1 200 OK\r\n\r\n", 0, 1),
                     HYDRA_ERROR);
}
END_TEST


START_TEST(test_terminates)
{
    char  buf[64];

    /* buf[len] becomes NUL: nothing after it is read */
    memset(buf, 'x', sizeof(buf));
    memcpy(buf, "HTTP/1.1 200 OK\r\n\r\n{}", 21);

    ck_assert_int_eq(hydra_probe_parse(buf, 21, 1, &reply), HYDRA_OK);
    ck_assert_int_eq(buf[21], '\0');
    ck_assert_uint_eq(reply.status, 200);

    /* cut after the status: the body that followed is not seen */
    memset(buf, 'x', sizeof(buf));
    memcpy(buf, "HTTP/1.1 200 OK\r\n\r\n{}", 21);

    ck_assert_int_eq(hydra_probe_parse(buf, 12, 1, &reply), HYDRA_ERROR);
    ck_assert_int_eq(buf[12], '\0');
    ck_assert_uint_eq(reply.status, 200);
    ck_assert_str_eq(reply.error, "bad response");
}
END_TEST


START_TEST(test_full_name)
{
    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD
                                 "{\"status\":\"running\",\"config\":"
                                 "{\"max_workers\":2,\"repo\":\"acme/api\","
                                 "\"repo_slug\":\"acme-api\"}}", 1),
                     HYDRA_OK);
    ck_assert_uint_eq(reply.status, 200);
    ck_assert_str_eq(reply.full_name, "acme/api");
    ck_assert_str_eq(reply.error, "");

    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD
                                 "{\"config\":{\"repo\":\"Acme/My.Repo\"}}",
                                 1),
                     HYDRA_OK);
    ck_assert_str_eq(reply.full_name, "Acme/My.Repo");

    /* JSON escapes are decoded */
    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD
                                 "{\"config\":{\"repo\":\"acme\\/\\u0061pi\"}}",
                                 1),
                     HYDRA_OK);
    ck_assert_str_eq(reply.full_name, "acme/api");
}
END_TEST


START_TEST(test_full_name_refused)
{
    static const char  *bodies[] = {
        "{\"config\":{\"repo\":\"api\"}}",
        "{\"config\":{\"repo\":\"\"}}",
        "{\"config\":{\"repo\":null}}",
        "{\"config\":{\"repo\":42}}",
        "{\"config\":{\"repo\":[\"acme/api\"]}}",
        "{\"config\":{\"repo\":{\"name\":\"acme/api\"}}}",
        "{\"config\":{\"repo\":\"acme/my api\"}}",
        "{\"config\":{\"repo\":\"acme/a\\\"pi\"}}",
        "{\"config\":{\"repo\":\"acme/%2e%2e\"}}",
        "{\"config\":{\"repo\":\"acme/caf\\u00e9\"}}",
        "{\"config\":[\"acme/api\"]}",
        "{\"config\":\"acme/api\"}",
        "{\"repo\":\"acme/api\"}",
        "{\"Config\":{\"repo\":\"acme/api\"}}",
        NULL
    };

    char          buf[512];
    const char  **p;

    /* each is a JSON object, so up, but with no owner/name to learn */
    for (p = bodies; *p != NULL; p++) {
        strcpy(buf, HYDRA_TEST_HEAD);
        strcat(buf, *p);

        ck_assert_msg(hydra_parse(buf, 1) == HYDRA_OK, "down: %s", *p);
        ck_assert_msg(reply.full_name[0] == '\0', "%s: learned \"%s\"", *p,
                      reply.full_name);
    }
}
END_TEST


START_TEST(test_full_name_overlong)
{
    char    buf[1024];
    size_t  len;

    for (len = HYDRA_SLUG_MAX; len <= HYDRA_SLUG_MAX + 1; len++) {
        strcpy(buf, HYDRA_TEST_HEAD "{\"config\":{\"repo\":\"acme/");
        memset(buf + strlen(buf), 'r', len - 5);
        buf[strlen(HYDRA_TEST_HEAD "{\"config\":{\"repo\":\"") + len] = '\0';
        strcat(buf, "\"}}");

        ck_assert_int_eq(hydra_parse(buf, 1), HYDRA_OK);
        ck_assert_uint_eq(strlen(reply.full_name),
                          len == HYDRA_SLUG_MAX ? HYDRA_SLUG_MAX : 0);
    }
}
END_TEST


START_TEST(test_body_not_json)
{
    ck_assert_int_eq(hydra_parse("HTTP/1.1 200 OK\r\n"
                                 "content-type: text/html\r\n\r\n"
                                 "<html><body>acme/api</body></html>", 1),
                     HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 200);
    ck_assert_str_eq(reply.full_name, "");
    ck_assert_str_eq(reply.error, "bad response");

    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD "{\"config\":{\"repo\":"
                                 "\"acme/api\"}} trailing", 1),
                     HYDRA_ERROR);
    ck_assert_str_eq(reply.full_name, "");
    ck_assert_str_eq(reply.error, "bad response");

    /* headers and no body */
    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD, 1), HYDRA_ERROR);
    ck_assert_str_eq(reply.full_name, "");
    ck_assert_str_eq(reply.error, "bad response");
}
END_TEST


START_TEST(test_body_not_object)
{
    static const char  *bodies[] = {
        "[{\"config\":{\"repo\":\"acme/api\"}}]",
        "[]",
        "\"acme/api\"",
        "42",
        "null",
        "true",
        NULL
    };

    char          buf[512];
    const char  **p;

    /* JSON, but not the object a dashboard answers */
    for (p = bodies; *p != NULL; p++) {
        strcpy(buf, HYDRA_TEST_HEAD);
        strcat(buf, *p);

        ck_assert_msg(hydra_parse(buf, 1) == HYDRA_ERROR, "up: %s", *p);
        ck_assert_uint_eq(reply.status, 200);
        ck_assert_str_eq(reply.error, "bad response");
        ck_assert_str_eq(reply.full_name, "");
    }
}
END_TEST


START_TEST(test_body_object_without_config)
{
    /* any JSON object is a dashboard; owner/name is only a bonus */
    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD "{}", 1), HYDRA_OK);
    ck_assert_uint_eq(reply.status, 200);
    ck_assert_str_eq(reply.error, "");
    ck_assert_str_eq(reply.full_name, "");

    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD
                                 " {\"status\":\"running\",\"workers\":[]}\n",
                                 1),
                     HYDRA_OK);
    ck_assert_str_eq(reply.error, "");
    ck_assert_str_eq(reply.full_name, "");
}
END_TEST


START_TEST(test_body_incomplete)
{
    /* the read stopped early: a whole-looking body is not trusted */
    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD
                                 "{\"config\":{\"repo\":\"acme/api\"}}", 0),
                     HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 200);
    ck_assert_int_eq(reply.complete, 0);
    ck_assert_str_eq(reply.error, "bad response");
    ck_assert_str_eq(reply.full_name, "");

    /* it says it is whole but the JSON is cut */
    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD
                                 "{\"config\":{\"repo\":\"acme/api\"", 1),
                     HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "bad response");
    ck_assert_str_eq(reply.full_name, "");

    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD
                                 "{\"config\":{\"repo\":\"acme/a", 1),
                     HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "bad response");
    ck_assert_str_eq(reply.full_name, "");

    /* the headers never ended */
    ck_assert_int_eq(hydra_parse("HTTP/1.1 200 OK\r\n"
                                 "content-type: application/json\r\n", 1),
                     HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "bad response");
    ck_assert_str_eq(reply.full_name, "");
}
END_TEST


START_TEST(test_body_only_2xx)
{
    /* a body that would be a dashboard's does not make a 404 up */
    ck_assert_int_eq(hydra_parse("HTTP/1.1 404 Not Found\r\n\r\n"
                                 "{\"config\":{\"repo\":\"acme/api\"}}", 1),
                     HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "http 404");
    ck_assert_str_eq(reply.full_name, "");

    ck_assert_int_eq(hydra_parse("HTTP/1.1 302 Found\r\n\r\n"
                                 "{\"config\":{\"repo\":\"acme/api\"}}", 1),
                     HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "http 302");
    ck_assert_str_eq(reply.full_name, "");
}
END_TEST


START_TEST(test_body_after_nul)
{
    char    buf[256];
    size_t  len;

    /* a NUL in the answer ends what is looked at, safely: "{" is cut */
    len = strlen(HYDRA_TEST_HEAD);
    memcpy(buf, HYDRA_TEST_HEAD "{\"config\":{\"repo\":\"acme/api\"}}",
           len + 31);
    buf[len + 1] = '\0';

    ck_assert_int_eq(hydra_parse_len(buf, len + 30, 1), HYDRA_ERROR);
    ck_assert_str_eq(reply.error, "bad response");
    ck_assert_str_eq(reply.full_name, "");
}
END_TEST


START_TEST(test_reply_reset)
{
    memset(&reply, 0x5a, sizeof(reply));

    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD
                                 "{\"config\":{\"repo\":\"acme/api\"}}", 1),
                     HYDRA_OK);
    ck_assert_str_eq(reply.error, "");
    ck_assert_str_eq(reply.full_name, "acme/api");

    ck_assert_int_eq(hydra_parse("HTTP/1.1 503 X\r\n\r\n", 1), HYDRA_ERROR);
    ck_assert_str_eq(reply.full_name, "");

    ck_assert_int_eq(hydra_parse("HTTP/1.1 200 X\r\n\r\n{}", 1), HYDRA_OK);
    ck_assert_str_eq(reply.error, "");

    /* a learned name does not outlive its answer */
    ck_assert_int_eq(hydra_parse(HYDRA_TEST_HEAD
                                 "{\"config\":{\"repo\":\"acme/api\"}}", 1),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_parse("HTTP/1.1 200 X\r\n\r\n{}", 1), HYDRA_OK);
    ck_assert_str_eq(reply.full_name, "");

    /* nor a bad status line's zero status an earlier one's */
    ck_assert_int_eq(hydra_parse("HTTP/1.1 404 X\r\n\r\n", 1), HYDRA_ERROR);
    ck_assert_int_eq(hydra_parse("garbage", 1), HYDRA_ERROR);
    ck_assert_uint_eq(reply.status, 0);
    ck_assert_str_eq(reply.error, "bad response");
}
END_TEST


Suite *
hydra_probe_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_probe");

    tc = tcase_create("request");
    tcase_add_test(tc, test_request);
    tcase_add_test(tc, test_request_too_small);
    suite_add_tcase(s, tc);

    tc = tcase_create("status_line");
    tcase_add_test(tc, test_status_200);
    tcase_add_test(tc, test_status_2xx_needs_body);
    tcase_add_test(tc, test_status_not_2xx_is_down);
    tcase_add_test(tc, test_status_5xx_is_down);
    tcase_add_test(tc, test_reply_reset);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_response");
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_short);
    tcase_add_test(tc, test_terminates);
    suite_add_tcase(s, tc);

    tc = tcase_create("learns_full_name");
    tcase_add_test(tc, test_full_name);
    tcase_add_test(tc, test_full_name_refused);
    tcase_add_test(tc, test_full_name_overlong);
    suite_add_tcase(s, tc);

    tc = tcase_create("body");
    tcase_add_test(tc, test_body_not_json);
    tcase_add_test(tc, test_body_not_object);
    tcase_add_test(tc, test_body_object_without_config);
    tcase_add_test(tc, test_body_incomplete);
    tcase_add_test(tc, test_body_only_2xx);
    tcase_add_test(tc, test_body_after_nul);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_probe_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


static int
hydra_parse(const char *s, int complete)
{
    return hydra_parse_len(s, strlen(s), complete);
}


/* an exactly sized copy: len bytes and the one for the NUL */

static int
hydra_parse_len(const char *s, size_t len, int complete)
{
    int    rc;
    char  *buf;

    buf = malloc(len + 1);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, s, len);

    rc = hydra_probe_parse(buf, len, complete, &reply);

    free(buf);

    return rc;
}
