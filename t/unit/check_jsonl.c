
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_jsonl: the line scanner and started_at, line by line.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_jsonl.h"


/* hydraflow-api.md, section 3 */
#define HYDRA_TEST_CONTRACT                                                  \
    "{\"id\":\"acme-api-20260305T090000\",\"repo\":\"acme/api\","            \
    "\"started_at\":\"2026-03-05T09:00:00.402113+00:00\",\"ended_at\":null," \
    "\"issues_processed\":[],\"issues_succeeded\":0,\"issues_failed\":0,"   \
    "\"status\":\"active\"}"

/* 2026-03-05T09:00:00.402113+00:00 */
#define HYDRA_TEST_STARTED     1772701200402113LL

/* 2026-03-05T09:00:00+00:00 */
#define HYDRA_TEST_NINE        1772701200000000LL

#define HYDRA_TEST_HOUR        3600000000LL

#define hydra_parse(s, line)                                                 \
    hydra_jsonl_parse_line(s, sizeof(s) - 1, line)


typedef struct {
    const char  *text;
    size_t       len;
} hydra_test_line_t;


static void hydra_check_time(const char *iso, int64_t expect);
static void hydra_check_time_bad(const char *iso);
static char *hydra_nested(int depth);


/* BEGIN parse_line */

START_TEST(test_contract_record)
{
    const char            *text;
    hydra_session_line_t   line;

    text = HYDRA_TEST_CONTRACT;

    ck_assert_int_eq(hydra_jsonl_parse_line(text, strlen(text), &line),
                     HYDRA_OK);

    ck_assert_uint_eq(line.id_len, 24);
    ck_assert_mem_eq(line.id, "acme-api-20260305T090000", 24);
    ck_assert_uint_eq(line.repo_len, 8);
    ck_assert_mem_eq(line.repo, "acme/api", 8);
    ck_assert(line.started == HYDRA_TEST_STARTED);

    /* the strings point into the line when there are no escapes */
    ck_assert_ptr_eq(line.id, text + 7);
}
END_TEST


START_TEST(test_parse_spaces)
{
    hydra_session_line_t  line;

    ck_assert_int_eq(hydra_parse(" \t{ \"id\" : \"x\" , \"repo\" :\t\"o/n\""
                                 " , \"n\" : [ 1 , { } , [ ] ] } \r",
                                 &line),
                     HYDRA_OK);

    ck_assert_mem_eq(line.id, "x", 1);
    ck_assert_mem_eq(line.repo, "o/n", 3);
    ck_assert(line.started == 0);
}
END_TEST


START_TEST(test_parse_blank)
{
    hydra_session_line_t  line;

    ck_assert_int_eq(hydra_jsonl_parse_line("", 0, &line), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_parse("   ", &line), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_parse("\r", &line), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_parse(" \t\r", &line), HYDRA_DECLINED);
}
END_TEST


START_TEST(test_parse_escapes)
{
    hydra_session_line_t  line;

    ck_assert_int_eq(hydra_parse("{\"\\u0069d\":\"\\u0061\\/b\\\\c\\\"d\","
                                 "\"re\\u0070o\":\"acme\\/api\","
                                 "\"started_at\":\"2026-03-05T09:00:00"
                                 "\\u002b00:00\"}",
                                 &line),
                     HYDRA_OK);

    ck_assert_uint_eq(line.id_len, 7);
    ck_assert_mem_eq(line.id, "a/b\\c\"d", 7);
    ck_assert_ptr_eq(line.id, line.id_buf);
    ck_assert_uint_eq(line.repo_len, 8);
    ck_assert_mem_eq(line.repo, "acme/api", 8);
    ck_assert(line.started == HYDRA_TEST_NINE);

    /* UTF-8 from \u escapes, a surrogate pair included */
    ck_assert_int_eq(hydra_parse("{\"id\":\"s\\u00e9\\u2615\\ud834\\udd1e\"}",
                                 &line),
                     HYDRA_OK);

    ck_assert_uint_eq(line.id_len, 10);
    ck_assert_mem_eq(line.id, "s\xc3\xa9\xe2\x98\x95\xf0\x9d\x84\x9e", 10);
}
END_TEST


START_TEST(test_parse_unicode)
{
    hydra_session_line_t  line;

    /* titles in any script, raw or escaped, lone surrogates outside ids */
    ck_assert_int_eq(hydra_parse("{\"id\":\"u1\",\"title\":\"Caf\xc3\xa9 "
                                 "\xe2\x98\x95 \xf0\x9d\x84\x9e \xe4\xb8\xad"
                                 "\xe6\x96\x87 \\ud83d\\ude00 \\ud800\","
                                 "\"repo\":\"acme/api\"}",
                                 &line),
                     HYDRA_OK);

    ck_assert_mem_eq(line.id, "u1", 2);
    ck_assert_mem_eq(line.repo, "acme/api", 8);

    ck_assert_int_eq(hydra_parse("{\"id\":\"s\xc3\xa9\x61nce\"}", &line),
                     HYDRA_OK);
    ck_assert_uint_eq(line.id_len, 7);
}
END_TEST


START_TEST(test_parse_repo_none)
{
    hydra_session_line_t  line;
    char                  buf[512];

    ck_assert_int_eq(hydra_parse("{\"id\":\"x\"}", &line), HYDRA_OK);
    ck_assert_uint_eq(line.repo_len, 0);
    ck_assert_str_eq(line.repo, "");

    ck_assert_int_eq(hydra_parse("{\"id\":\"x\",\"repo\":null}", &line),
                     HYDRA_OK);
    ck_assert_str_eq(line.repo, "");

    ck_assert_int_eq(hydra_parse("{\"id\":\"x\",\"repo\":7}", &line),
                     HYDRA_OK);
    ck_assert_str_eq(line.repo, "");

    ck_assert_int_eq(hydra_parse("{\"id\":\"x\",\"repo\":\"a\\u0000b\"}",
                                 &line),
                     HYDRA_OK);
    ck_assert_str_eq(line.repo, "");

    /* longer than any slug */
    snprintf(buf, sizeof(buf), "{\"id\":\"x\",\"repo\":\"%0*d\"}",
             HYDRA_SESSIONS_REPO_MAX + 1, 0);
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_OK);
    ck_assert_uint_eq(line.repo_len, 0);

    snprintf(buf, sizeof(buf), "{\"id\":\"x\",\"repo\":\"%0*d\"}",
             HYDRA_SESSIONS_REPO_MAX, 0);
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_OK);
    ck_assert_uint_eq(line.repo_len, HYDRA_SESSIONS_REPO_MAX);
}
END_TEST


START_TEST(test_parse_started_none)
{
    hydra_session_line_t  line;

    ck_assert_int_eq(hydra_parse("{\"id\":\"x\",\"started_at\":null}", &line),
                     HYDRA_OK);
    ck_assert(line.started == 0);

    ck_assert_int_eq(hydra_parse("{\"id\":\"x\",\"started_at\":1772701200}",
                                 &line),
                     HYDRA_OK);
    ck_assert(line.started == 0);

    ck_assert_int_eq(hydra_parse("{\"id\":\"x\",\"started_at\":\"soon\"}",
                                 &line),
                     HYDRA_OK);
    ck_assert(line.started == 0);

    /* nested keys of the same name are not the line's */
    ck_assert_int_eq(hydra_parse("{\"x\":{\"started_at\":\"2026-03-05\","
                                 "\"id\":5},\"id\":\"y\"}",
                                 &line),
                     HYDRA_OK);
    ck_assert_mem_eq(line.id, "y", 1);
    ck_assert(line.started == 0);
}
END_TEST


START_TEST(test_parse_duplicate_keys)
{
    hydra_session_line_t  line;

    /* the last one wins, as json.loads */
    ck_assert_int_eq(hydra_parse("{\"id\":\"a\",\"id\":\"b\"}", &line),
                     HYDRA_OK);
    ck_assert_mem_eq(line.id, "b", 1);

    ck_assert_int_eq(hydra_parse("{\"id\":\"a\",\"id\":null}", &line),
                     HYDRA_ERROR);

    ck_assert_int_eq(hydra_parse("{\"id\":\"a\",\"repo\":\"o/n\","
                                 "\"repo\":null}",
                                 &line),
                     HYDRA_OK);
    ck_assert_str_eq(line.repo, "");
}
END_TEST


START_TEST(test_parse_id_bounds)
{
    hydra_session_line_t  line;
    char                  buf[512];

    snprintf(buf, sizeof(buf), "{\"id\":\"%0*d\"}", HYDRA_SESSIONS_ID_MAX, 0);
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_OK);
    ck_assert_uint_eq(line.id_len, HYDRA_SESSIONS_ID_MAX);

    snprintf(buf, sizeof(buf), "{\"id\":\"%0*d\"}",
             HYDRA_SESSIONS_ID_MAX + 1, 0);
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_ERROR);

    /* 200 once decoded, though longer as written */
    snprintf(buf, sizeof(buf), "{\"id\":\"\\u0041%0*d\"}",
             HYDRA_SESSIONS_ID_MAX - 1, 0);
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_OK);
    ck_assert_uint_eq(line.id_len, HYDRA_SESSIONS_ID_MAX);
    ck_assert_int_eq(line.id[0], 'A');

    snprintf(buf, sizeof(buf), "{\"id\":\"\\u00e9%0*d\"}",
             HYDRA_SESSIONS_ID_MAX - 1, 0);
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_ERROR);
}
END_TEST


START_TEST(test_parse_corrupt)
{
    size_t                i;
    hydra_session_line_t  line;

    static const hydra_test_line_t  bad[] = {
#define hydra_bad(s)  { s, sizeof(s) - 1 }
        hydra_bad("{\"id\":\"a\""),
        hydra_bad("{\"id\":\"a\","),
        hydra_bad("{\"id\":\"a"),
        hydra_bad("{\"id\":"),
        hydra_bad("{"),
        hydra_bad("}"),
        hydra_bad("[\"id\",\"a\"]"),
        hydra_bad("\"id\""),
        hydra_bad("42"),
        hydra_bad("null"),
        hydra_bad("{}"),
        hydra_bad("{\"repo\":\"acme/api\"}"),
        hydra_bad("{\"Id\":\"a\"}"),
        hydra_bad("{\"id\":42}"),
        hydra_bad("{\"id\":null}"),
        hydra_bad("{\"id\":true}"),
        hydra_bad("{\"id\":[\"a\"]}"),
        hydra_bad("{\"id\":{\"a\":1}}"),
        hydra_bad("{\"id\":\"\"}"),
        hydra_bad("\xff\xfe\x00garbage"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\\x\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\\u12G4\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\\u12\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\\"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\\'\"}"),
        hydra_bad("{\"id\":\"a\"}}"),
        hydra_bad("{\"id\":\"a\"} x"),
        hydra_bad("{\"id\":\"a\"}{\"id\":\"b\"}"),
        hydra_bad("{\"id\":\"a\",}"),
        hydra_bad("{,\"id\":\"a\"}"),
        hydra_bad("{\"id\":\"a\" \"b\":1}"),
        hydra_bad("{\"id\" \"a\"}"),
        hydra_bad("{\"id\"::\"a\"}"),
        hydra_bad("{id:\"a\"}"),
        hydra_bad("{'id':'a'}"),
        hydra_bad("{\"id\":\"a\",\"n\":01}"),
        hydra_bad("{\"id\":\"a\",\"n\":1.}"),
        hydra_bad("{\"id\":\"a\",\"n\":.5}"),
        hydra_bad("{\"id\":\"a\",\"n\":-}"),
        hydra_bad("{\"id\":\"a\",\"n\":1e}"),
        hydra_bad("{\"id\":\"a\",\"n\":1e+}"),
        hydra_bad("{\"id\":\"a\",\"n\":+1}"),
        hydra_bad("{\"id\":\"a\",\"n\":0x10}"),
        hydra_bad("{\"id\":\"a\",\"n\":NaN}"),
        hydra_bad("{\"id\":\"a\",\"n\":Infinity}"),
        hydra_bad("{\"id\":\"a\",\"t\":tru}"),
        hydra_bad("{\"id\":\"a\",\"t\":True}"),
        hydra_bad("{\"id\":\"a\",\"t\":nul}"),
        hydra_bad("{\"id\":\"a\",\"t\":[1,]}"),
        hydra_bad("{\"id\":\"a\",\"t\":[1 2]}"),
        hydra_bad("{\"id\":\"a\",\"t\":[}"),
        hydra_bad("{\"id\":\"a\",\"t\":{\"k\"}}"),
        hydra_bad("{\"id\":\"a\",\"t\":{1:2}}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"tab\there\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"x\x01\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\xc0\x80\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\xc1\xbf\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\xe0\x80\xaf\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\xf0\x8f\xbf\xbf\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\xed\xa0\x80\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\xf4\x90\x80\x80\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\xf5\x80\x80\x80\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\xe2\x82\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\x80\"}"),
        hydra_bad("{\"id\":\"a\",\"t\":\"\xff\"}"),
        hydra_bad("{\"id\":\"a\xe2\x82"),
        hydra_bad("{\"id\":\"a\\u0000b\"}"),
        hydra_bad("{\"id\":\"a\\nb\"}"),
        hydra_bad("{\"id\":\"a\x7f\"}"),
        hydra_bad("{\"id\":\"a\\u007f\"}"),
        hydra_bad("{\"id\":\"\\ud800\"}"),
        hydra_bad("{\"id\":\"\\udc00x\"}"),
        hydra_bad("{\"id\":\"\\ud800\\u0041\"}"),
        hydra_bad("{\"id\":\"a\"\x00}"),
        hydra_bad("{\"id\":\"a\x00\"}"),
        hydra_bad("\x00{\"id\":\"a\"}"),
        hydra_bad("{\"id\":\"a\"}\x00"),
        hydra_bad("\x00"),
        hydra_bad("\xef\xbb\xbf{\"id\":\"a\"}")
#undef hydra_bad
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(hydra_jsonl_parse_line(bad[i].text, bad[i].len,
                                             &line)
                      == HYDRA_ERROR,
                      "line %zu should be corrupt", i);
    }
}
END_TEST


START_TEST(test_parse_values)
{
    size_t                i;
    hydra_session_line_t  line;

    static const char  *good[] = {
        "{\"id\":\"a\",\"n\":0}",
        "{\"id\":\"a\",\"n\":-0}",
        "{\"id\":\"a\",\"n\":-12.5e-3}",
        "{\"id\":\"a\",\"n\":1E+9}",
        "{\"id\":\"a\",\"n\":123456789012345678901234567890}",
        "{\"id\":\"a\",\"n\":[true,false,null,\"\",{},[],0.0]}",
        "{\"id\":\"a\",\"t\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\uABcd\"}",
        "{\"id\":\"a\",\"t\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\"}",
        "{\"id\":\"a\",\"t\":\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}",
        "{\"\":\"\",\"id\":\"a\"}",
        "{\"id\":\"a\",\"o\":{\"id\":{\"id\":[{\"id\":\"b\"}]}}}",
        "{\"id\":\"01234567\",\"repo\":\"abcdefgh\",\"x\":\"\\\"\\\"\\\"\"}"
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(hydra_jsonl_parse_line(good[i], strlen(good[i]),
                                             &line)
                      == HYDRA_OK,
                      "line %zu should parse", i);
    }
}
END_TEST


START_TEST(test_parse_depth)
{
    char                 *buf;
    hydra_session_line_t  line;

    /* the line's object is level 1 */
    buf = hydra_nested(HYDRA_SESSIONS_DEPTH - 1);
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_OK);
    free(buf);

    buf = hydra_nested(HYDRA_SESSIONS_DEPTH);
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_ERROR);
    free(buf);

    buf = hydra_nested(10000);
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_ERROR);
    free(buf);
}
END_TEST


START_TEST(test_parse_every_prefix)
{
    size_t                i, len;
    hydra_session_line_t  line;

    /* no prefix of a line is a line: nothing reads past the length */
    len = sizeof(HYDRA_TEST_CONTRACT) - 1;

    for (i = 0; i < len; i++) {
        ck_assert_int_eq(hydra_jsonl_parse_line(HYDRA_TEST_CONTRACT, i,
                                                &line),
                         i == 0 ? HYDRA_DECLINED : HYDRA_ERROR);
    }
}
END_TEST

/* END parse_line */


/* BEGIN started_at */

START_TEST(test_time_forms)
{
    hydra_check_time("2026-03-05T09:00:00.402113+00:00", HYDRA_TEST_STARTED);
    hydra_check_time("2026-03-05T09:00:00.402113Z", HYDRA_TEST_STARTED);
    hydra_check_time("2026-03-05T09:00:00.402113z", HYDRA_TEST_STARTED);
    hydra_check_time("2026-03-05T11:00:00.402113+02:00", HYDRA_TEST_STARTED);
    hydra_check_time("2026-03-05T04:00:00.402113-05:00", HYDRA_TEST_STARTED);
    hydra_check_time("2026-03-05T14:30:00.402113+0530", HYDRA_TEST_STARTED);
    hydra_check_time("2026-03-05T10:00:00.402113+01", HYDRA_TEST_STARTED);
    hydra_check_time("2026-03-05 09:00:00.402113+00:00", HYDRA_TEST_STARTED);
    hydra_check_time("2026-03-05T09:00:00.402113", HYDRA_TEST_STARTED);

    hydra_check_time("2026-03-05T09:00:00+00:00", HYDRA_TEST_NINE);
    hydra_check_time("2026-03-05T09:00:00Z", HYDRA_TEST_NINE);
    hydra_check_time("2026-03-05T09:00Z", HYDRA_TEST_NINE);
    hydra_check_time("2026-03-05T09:00", HYDRA_TEST_NINE);
    hydra_check_time("2026-03-05", HYDRA_TEST_NINE - 9 * HYDRA_TEST_HOUR);
    hydra_check_time("1970-01-01T00:00:00+00:00", 0);
    hydra_check_time("1969-12-31T23:59:59Z", -1000000);
    hydra_check_time("2000-02-29T23:59:59.999999-05:30", 951888599999999LL);
}
END_TEST


START_TEST(test_time_fractions)
{
    hydra_check_time("2026-03-05T09:00:00.4Z", HYDRA_TEST_NINE + 400000);
    hydra_check_time("2026-03-05T09:00:00.402Z", HYDRA_TEST_NINE + 402000);
    hydra_check_time("2026-03-05T09:00:00,402Z", HYDRA_TEST_NINE + 402000);
    hydra_check_time("2026-03-05T09:00:00.000001Z", HYDRA_TEST_NINE + 1);

    /* past microseconds: cut, not rounded */
    hydra_check_time("2026-03-05T09:00:00.4021139999Z", HYDRA_TEST_STARTED);
    hydra_check_time("2026-03-05T09:00:00.402113999999999999999+00:00",
                     HYDRA_TEST_STARTED);
}
END_TEST


START_TEST(test_time_long_fraction_in_line)
{
    char                  buf[512];
    hydra_session_line_t  line;

    /* longer than any buffer: read in place */
    snprintf(buf, sizeof(buf), "{\"id\":\"x\",\"started_at\":"
             "\"2026-03-05T09:00:00.402113%0200dZ\"}", 0);

    line.started = 0;
    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_OK);
    ck_assert(line.started == HYDRA_TEST_STARTED);

    /* escaped, it has to fit the buffer it is decoded into: 0 */
    snprintf(buf, sizeof(buf), "{\"id\":\"x\",\"started_at\":"
             "\"2026-03-05T09:00:00.402113%0200d\\u005a\"}", 0);

    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_OK);
    ck_assert(line.started == 0);

    snprintf(buf, sizeof(buf), "{\"id\":\"x\",\"started_at\":"
             "\"2026-03-05T09:00:00.402113\\u005a\"}");

    ck_assert_int_eq(hydra_jsonl_parse_line(buf, strlen(buf), &line),
                     HYDRA_OK);
    ck_assert(line.started == HYDRA_TEST_STARTED);
}
END_TEST


START_TEST(test_time_bad)
{
    hydra_check_time_bad("");
    hydra_check_time_bad("soon");
    hydra_check_time_bad("2026");
    hydra_check_time_bad("2026-03");
    hydra_check_time_bad("2026-3-5");
    hydra_check_time_bad("26-03-05T09:00:00Z");
    hydra_check_time_bad("2026-13-05T09:00:00Z");
    hydra_check_time_bad("2026-00-05T09:00:00Z");
    hydra_check_time_bad("2026-03-00T09:00:00Z");
    hydra_check_time_bad("2026-03-32T09:00:00Z");
    hydra_check_time_bad("2026-02-29T09:00:00Z");
    hydra_check_time_bad("1900-02-29");
    hydra_check_time_bad("2026-04-31");
    hydra_check_time_bad("2026-03-05T24:00:00Z");
    hydra_check_time_bad("2026-03-05T09:60:00Z");
    hydra_check_time_bad("2026-03-05T09:00:60Z");
    hydra_check_time_bad("2026-03-05T09Z");
    hydra_check_time_bad("2026-03-05T09:00:00.Z");
    hydra_check_time_bad("2026-03-05T09:00:00+");
    hydra_check_time_bad("2026-03-05T09:00:00+2");
    hydra_check_time_bad("2026-03-05T09:00:00+24:00");
    hydra_check_time_bad("2026-03-05T09:00:00+02:60");
    hydra_check_time_bad("2026-03-05T09:00:00+02:");
    hydra_check_time_bad("2026-03-05T09:00:00 UTC");
    hydra_check_time_bad("2026-03-05T09:00:00Z ");
    hydra_check_time_bad("2026-03-05X09:00:00Z");

    ck_assert_int_eq(hydra_jsonl_parse_time("2026-03-05\0", 11, NULL),
                     HYDRA_ERROR);
}
END_TEST


START_TEST(test_time_leap_years)
{
    hydra_check_time("2024-02-29", 1709164800000000LL);
    hydra_check_time("2000-02-29", 951782400000000LL);
    hydra_check_time("2024-03-01", 1709251200000000LL);
    hydra_check_time("2100-03-01", 4107542400000000LL);
}
END_TEST

/* END started_at */


Suite *
hydra_jsonl_suite(void)
{
    Suite  *su;
    TCase  *tc;

    su = suite_create("hydra_jsonl");

    tc = tcase_create("parse_line");
    tcase_add_test(tc, test_contract_record);
    tcase_add_test(tc, test_parse_spaces);
    tcase_add_test(tc, test_parse_blank);
    tcase_add_test(tc, test_parse_escapes);
    tcase_add_test(tc, test_parse_unicode);
    tcase_add_test(tc, test_parse_repo_none);
    tcase_add_test(tc, test_parse_started_none);
    tcase_add_test(tc, test_parse_duplicate_keys);
    tcase_add_test(tc, test_parse_id_bounds);
    tcase_add_test(tc, test_parse_corrupt);
    tcase_add_test(tc, test_parse_values);
    tcase_add_test(tc, test_parse_depth);
    tcase_add_test(tc, test_parse_every_prefix);
    suite_add_tcase(su, tc);

    tc = tcase_create("started_at");
    tcase_add_test(tc, test_time_forms);
    tcase_add_test(tc, test_time_fractions);
    tcase_add_test(tc, test_time_long_fraction_in_line);
    tcase_add_test(tc, test_time_bad);
    tcase_add_test(tc, test_time_leap_years);
    suite_add_tcase(su, tc);

    return su;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_jsonl_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


static void
hydra_check_time(const char *iso, int64_t expect)
{
    int64_t  us;

    us = -42;

    ck_assert_int_eq(hydra_jsonl_parse_time(iso, strlen(iso), &us),
                     HYDRA_OK);
    ck_assert_msg(us == expect, "%s: %lld, not %lld", iso, (long long) us,
                  (long long) expect);
}


static void
hydra_check_time_bad(const char *iso)
{
    int64_t  us;

    ck_assert_msg(hydra_jsonl_parse_time(iso, strlen(iso), &us)
                  == HYDRA_ERROR,
                  "\"%s\" parsed", iso);
}


/* a line whose "t" holds depth arrays, the line's object around them */

static char *
hydra_nested(int depth)
{
    int    i;
    char  *buf, *p;

    buf = malloc(2 * depth + 64);
    ck_assert_ptr_nonnull(buf);

    p = buf + sprintf(buf, "{\"id\":\"deep\",\"t\":");

    for (i = 0; i < depth; i++) {
        *p++ = '[';
    }

    for (i = 0; i < depth; i++) {
        *p++ = ']';
    }

    strcpy(p, "}");

    return buf;
}
