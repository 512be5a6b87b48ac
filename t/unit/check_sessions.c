
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_sessions: the store fed the way the nginx side feeds it (slices,
 * torn lines, corrupt lines), read back through newest, find and repos.
 * The line scanner and started_at are check_jsonl.c's.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_sessions.h"


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

#define HYDRA_TEST_MANY        1000
#define HYDRA_TEST_REPOS       10


typedef struct {
    const char  *text;
    size_t       len;
} hydra_test_line_t;


static void hydra_setup(void);
static void hydra_teardown(void);
static void hydra_feed(const char *text);
static void hydra_feed_at(const char *text, uint64_t offset);
static void hydra_feed_len(hydra_sessions_t *st, const char *text,
    size_t len, uint64_t offset, size_t expect);
static void hydra_check_line(const char *text, const hydra_session_ref_t *ref,
    const char *line);
static void hydra_check_find(const char *text, const char *id,
    const char *repo, int64_t started, const char *line);
static void hydra_check_order(const char *repo, const char **ids);
static void hydra_check_same(hydra_sessions_t *a, hydra_sessions_t *b);
static int hydra_has(const char *buf, const hydra_session_ref_t *ref,
    const char *needle);
static size_t hydra_make_many(char *buf, size_t size, int ends);


static hydra_sessions_t  *s;


/*
 * a small sessions.jsonl: starts, a's end, b's corrupt end, blank and
 * CRLF lines, garbage, a null repo (c), and d at +02:00 tied with b
 */
static const char  *hydra_test_file =
    "{\"id\":\"a\",\"repo\":\"acme/api\","
    "\"started_at\":\"2026-03-05T09:00:00+00:00\",\"status\":\"active\"}\n"
    "\r\n"
    "{\"id\":\"b\",\"repo\":\"acme/web\","
    "\"started_at\":\"2026-03-05T10:00:00Z\",\"status\":\"active\"}\r\n"
    "{\"id\":\"b\",\"repo\":\"acme/web\",\"started_at\":\"garbage\"\n"
    "\n"
    "{\"id\":\"a\",\"repo\":\"acme/api\","
    "\"started_at\":\"2026-03-05T09:00:00+00:00\",\"status\":\"completed\","
    "\"issues_processed\":[1,2,3]}\n"
    "not json at all\n"
    "{\"id\":\"c\",\"title\":\"caf\xc3\xa9 \\u2615\",\"repo\":null}\n"
    "   \n"
    "{\"id\":\"d\",\"repo\":\"acme/my.repo\","
    "\"started_at\":\"2026-03-05T12:00:00+02:00\"}\n";


/* BEGIN feed */

START_TEST(test_feed_contract)
{
    hydra_sessions_stats_t  st;

    hydra_feed(HYDRA_TEST_CONTRACT "\n");

    hydra_check_find(HYDRA_TEST_CONTRACT "\n", "acme-api-20260305T090000",
                     "acme/api", HYDRA_TEST_STARTED, HYDRA_TEST_CONTRACT);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 1);
    ck_assert_uint_eq(st.corrupt, 0);
    ck_assert_uint_eq(st.sessions, 1);
}
END_TEST


START_TEST(test_feed_last_wins)
{
    const char              *text;
    hydra_sessions_stats_t   st;

    text = "{\"id\":\"s1\",\"repo\":\"acme/api\","
           "\"started_at\":\"2026-03-05T09:00:00+00:00\","
           "\"status\":\"active\"}\n"
           "{\"id\":\"s1\",\"repo\":\"acme/api\","
           "\"started_at\":\"2026-03-05T09:00:00+00:00\","
           "\"status\":\"completed\",\"issues_processed\":[7]}\n";

    hydra_feed(text);

    hydra_check_find(text, "s1", "acme/api", HYDRA_TEST_NINE,
                     "{\"id\":\"s1\",\"repo\":\"acme/api\","
                     "\"started_at\":\"2026-03-05T09:00:00+00:00\","
                     "\"status\":\"completed\",\"issues_processed\":[7]}");

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 2);
    ck_assert_uint_eq(st.sessions, 1);
}
END_TEST


START_TEST(test_feed_last_wins_later_feed)
{
    size_t                   c;
    const char              *start, *end;
    hydra_session_ref_t      ref;
    hydra_sessions_stats_t   st;

    start = "{\"id\":\"s1\",\"repo\":\"acme/api\","
            "\"started_at\":\"2026-03-05T09:00:00Z\"}\n";
    end = "{\"id\":\"s1\",\"repo\":\"acme/web\","
          "\"started_at\":\"2026-03-05T09:00:00Z\",\"status\":\"completed\"}\n";

    ck_assert_int_eq(hydra_sessions_feed(s, start, strlen(start), 0, &c),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_sessions_feed(s, end, strlen(end), strlen(start),
                                         &c),
                     HYDRA_OK);

    ck_assert_int_eq(hydra_sessions_find(s, "s1", 2, &ref), HYDRA_OK);
    ck_assert(ref.offset == strlen(start));
    ck_assert_uint_eq(ref.len, strlen(end) - 1);

    /* the repo follows the last line too */
    ck_assert_str_eq(ref.repo, "acme/web");

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.sessions, 1);
}
END_TEST


START_TEST(test_feed_torn)
{
    size_t                   c, n, len;
    const char              *text;
    hydra_sessions_stats_t   st;

    text = "{\"id\":\"a\",\"started_at\":\"2026-03-05T09:00:00Z\"}\n"
           "{\"id\":\"b\",\"started_at\":\"2026-03-05T10:00:00Z\"}\n";
    len = strlen(text);
    n = len - 10;

    /* the second line is torn: held back */
    ck_assert_int_eq(hydra_sessions_feed(s, text, n, 0, &c), HYDRA_OK);
    ck_assert_uint_eq(c, strlen(text) / 2);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 1);
    ck_assert_uint_eq(st.corrupt, 0);
    ck_assert_uint_eq(st.sessions, 1);

    /* a line without its "\n" is torn, however whole it looks */
    ck_assert_int_eq(hydra_sessions_feed(s, text + c, len - c - 1, c, &n),
                     HYDRA_OK);
    ck_assert_uint_eq(n, 0);

    /* completed by the next feed */
    ck_assert_int_eq(hydra_sessions_feed(s, text + c, len - c, c, &n),
                     HYDRA_OK);
    ck_assert_uint_eq(n, len - c);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 2);
    ck_assert_uint_eq(st.corrupt, 0);
    ck_assert_uint_eq(st.sessions, 2);

    hydra_check_find(text, "b", "", HYDRA_TEST_NINE + HYDRA_TEST_HOUR,
                     "{\"id\":\"b\",\"started_at\":\"2026-03-05T10:00:00Z\"}");
}
END_TEST


START_TEST(test_feed_corrupt_neighbours)
{
    char                    *p, buf[1024];
    size_t                   i, len;
    hydra_sessions_stats_t   st;

    static const hydra_test_line_t  lines[] = {
#define hydra_line(s)  { s, sizeof(s) - 1 }
        hydra_line("{\"id\":\"first\",\"repo\":\"acme/api\"}"),
        hydra_line("{\"id\":\"trunc\",\"repo\":\"acme/api\""),
        hydra_line("[\"not\",\"an\",\"object\"]"),
        hydra_line("{\"repo\":\"acme/api\"}"),
        hydra_line("{\"id\":17}"),
        hydra_line("\x01\x02\xff garbage \xfe"),
        hydra_line("{\"id\":\"esc\",\"t\":\"\\q\"}"),
        hydra_line("{\"id\":\"deep\",\"t\":[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                   "[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                   "}"),
        hydra_line("{\"id\":\"nul\x00\"}"),
        hydra_line("{\"id\":\"nul2\"}\x00"),
        hydra_line("{\"id\":\"last\",\"repo\":\"acme/web\"}")
#undef hydra_line
    };

    p = buf;

    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        memcpy(p, lines[i].text, lines[i].len);
        p += lines[i].len;
        *p++ = '\n';
    }

    len = p - buf;

    hydra_feed_len(s, buf, len, 0, len);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 11);
    ck_assert_uint_eq(st.corrupt, 9);
    ck_assert_uint_eq(st.sessions, 2);

    hydra_check_find(buf, "first", "acme/api", 0,
                     "{\"id\":\"first\",\"repo\":\"acme/api\"}");
    hydra_check_find(buf, "last", "acme/web", 0,
                     "{\"id\":\"last\",\"repo\":\"acme/web\"}");
}
END_TEST


START_TEST(test_feed_crlf_and_blank)
{
    size_t                   n;
    const char              *text;
    hydra_session_ref_t      out[4];
    hydra_sessions_stats_t   st;

    text = "\n\r\n   \n"
           "{\"id\":\"a\",\"started_at\":\"2026-03-05T09:00:00Z\"}\r\n"
           "\r\n\n"
           "{\"id\":\"b\",\"started_at\":\"2026-03-05T10:00:00Z\"} \r\n"
           "\t\n";

    hydra_feed(text);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 2);
    ck_assert_uint_eq(st.corrupt, 0);
    ck_assert_uint_eq(st.sessions, 2);

    /* the lengths leave out "\r\n" */
    hydra_check_find(text, "a", "", HYDRA_TEST_NINE,
                     "{\"id\":\"a\",\"started_at\":\"2026-03-05T09:00:00Z\"}");
    hydra_check_find(text, "b", "", HYDRA_TEST_NINE + HYDRA_TEST_HOUR,
                     "{\"id\":\"b\",\"started_at\":\"2026-03-05T10:00:00Z\"} ");

    ck_assert_int_eq(hydra_sessions_newest(s, NULL, out, 4, &n), HYDRA_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[0].id, "b");
    ck_assert_str_eq(out[1].id, "a");
}
END_TEST


START_TEST(test_feed_unicode)
{
    const char           *text;
    hydra_session_ref_t   ref;

    text = "{\"id\":\"s\xc3\xa9\x61nce\",\"title\":\"\xe2\x98\x95 "
           "\\ud83d\\ude00\",\"repo\":\"acme/api\"}\n"
           "{\"id\":\"s\\u00e9ance\",\"repo\":\"acme/api\","
           "\"started_at\":\"2026-03-05T09:00:00Z\"}\n";

    hydra_feed(text);

    /* the escaped id is the same id: the second line wins */
    ck_assert_int_eq(hydra_sessions_find(s, "s\xc3\xa9\x61nce", 7, &ref),
                     HYDRA_OK);
    ck_assert_str_eq(ref.id, "s\xc3\xa9\x61nce");
    ck_assert(ref.started == HYDRA_TEST_NINE);
    hydra_check_line(text, &ref,
                     "{\"id\":\"s\\u00e9ance\",\"repo\":\"acme/api\","
                     "\"started_at\":\"2026-03-05T09:00:00Z\"}");
}
END_TEST


START_TEST(test_feed_offset)
{
    const char           *text;
    hydra_session_ref_t   ref;

    /* offsets are the file's, not the buffer's */
    text = "{\"id\":\"a\"}\n";

    hydra_feed_len(s, text, strlen(text), 1000000000000ULL, strlen(text));

    ck_assert_int_eq(hydra_sessions_find(s, "a", 1, &ref), HYDRA_OK);
    ck_assert(ref.offset == 1000000000000ULL);
    ck_assert_uint_eq(ref.len, 10);
}
END_TEST


START_TEST(test_feed_overlong)
{
    char                    *buf, *p;
    size_t                   len, c, n, i;
    hydra_sessions_stats_t   st;
    hydra_sessions_t        *one;

    /* a valid line, but longer than any line can be; then a good one */
    len = HYDRA_SESSIONS_LINE_MAX + 100;
    buf = malloc(len);
    ck_assert_ptr_nonnull(buf);

    p = buf;
    p += sprintf(p, "{\"id\":\"big\",\"x\":\"");
    memset(p, 'a', HYDRA_SESSIONS_LINE_MAX);
    p += HYDRA_SESSIONS_LINE_MAX;
    p += sprintf(p, "\"}\n{\"id\":\"small\"}\n");
    len = p - buf;

    /* in slices of LINE_MAX, as the nginx side reads */
    for (i = 0; i < len; i += c) {
        n = len - i < HYDRA_SESSIONS_LINE_MAX ? len - i
                                              : HYDRA_SESSIONS_LINE_MAX;
        ck_assert_int_eq(hydra_sessions_feed(s, buf + i, n, i, &c), HYDRA_OK);
        ck_assert_uint_gt(c, 0);
    }

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 2);
    ck_assert_uint_eq(st.corrupt, 1);
    ck_assert_uint_eq(st.sessions, 1);
    hydra_check_find(buf, "small", "", 0, "{\"id\":\"small\"}");

    /* and what comes next is read again */
    hydra_feed_at("{\"id\":\"next\"}\n", len);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 3);
    ck_assert_uint_eq(st.sessions, 2);

    /* in one go: the same */
    one = hydra_sessions_create();
    ck_assert_ptr_nonnull(one);

    hydra_feed_len(one, buf, len, 0, len);
    hydra_feed_len(one, "{\"id\":\"next\"}\n", 14, len, 14);
    hydra_check_same(s, one);

    hydra_sessions_destroy(one);
    free(buf);
}
END_TEST


START_TEST(test_feed_split_everywhere)
{
    size_t             k, len, c1, c2;
    hydra_sessions_t  *one, *two;

    len = strlen(hydra_test_file);

    one = hydra_sessions_create();
    ck_assert_ptr_nonnull(one);
    hydra_feed_len(one, hydra_test_file, len, 0, len);

    for (k = 0; k <= len; k++) {
        two = hydra_sessions_create();
        ck_assert_ptr_nonnull(two);

        ck_assert_int_eq(hydra_sessions_feed(two, hydra_test_file, k, 0, &c1),
                         HYDRA_OK);
        ck_assert_uint_le(c1, k);
        ck_assert(c1 == k || hydra_test_file[k - 1] != '\n');

        ck_assert_int_eq(hydra_sessions_feed(two, hydra_test_file + c1,
                                             len - c1, c1, &c2),
                         HYDRA_OK);
        ck_assert_uint_eq(c1 + c2, len);

        hydra_check_same(one, two);
        hydra_sessions_destroy(two);
    }

    hydra_sessions_destroy(one);
}
END_TEST


START_TEST(test_feed_byte_by_byte)
{
    size_t             i, len, start, c;
    hydra_sessions_t  *one;

    len = strlen(hydra_test_file);

    one = hydra_sessions_create();
    ck_assert_ptr_nonnull(one);
    hydra_feed_len(one, hydra_test_file, len, 0, len);

    /* one more byte each time, from where the last feed stopped */
    start = 0;

    for (i = 1; i <= len; i++) {
        ck_assert_int_eq(hydra_sessions_feed(s, hydra_test_file + start,
                                             i - start, start, &c),
                         HYDRA_OK);
        start += c;
    }

    ck_assert_uint_eq(start, len);
    hydra_check_same(one, s);

    hydra_sessions_destroy(one);
}
END_TEST

/* END feed */


/* BEGIN order */

START_TEST(test_order_started)
{
    static const char  *all[] = { "d", "b", "a", "c", NULL };
    static const char  *web[] = { "b", NULL };

    /* c has no started_at: oldest; d at +02:00 is 10:00Z, after b */
    hydra_feed(hydra_test_file);

    hydra_check_order(NULL, all);
    hydra_check_order("acme/web", web);
}
END_TEST


START_TEST(test_order_zones)
{
    static const char  *expect[] = { "late", "z", "plus", "two", "early",
                                     NULL };

    /* z, plus and two are the same instant: the later line first */
    hydra_feed("{\"id\":\"z\",\"started_at\":\"2026-03-05T09:00:00Z\"}\n"
               "{\"id\":\"late\","
               "\"started_at\":\"2026-03-05T09:00:00.000001Z\"}\n"
               "{\"id\":\"two\",\"started_at\":\"2026-03-05T11:00:00+02:00\"}\n"
               "{\"id\":\"early\",\"started_at\":\"2026-03-05T10:59:59+02:00\"}"
               "\n"
               "{\"id\":\"plus\",\"started_at\":\"2026-03-05T09:00:00+00:00\"}"
               "\n"
               "{\"id\":\"z\",\"started_at\":\"2026-03-05T09:00:00Z\","
               "\"status\":\"completed\"}\n");

    hydra_check_order(NULL, expect);
}
END_TEST


START_TEST(test_order_ties_follow_last_line)
{
    static const char  *ab[] = { "b", "a", NULL };
    static const char  *ba[] = { "a", "b", NULL };

    hydra_feed("{\"id\":\"a\",\"started_at\":\"2026-03-05T09:00:00Z\"}\n"
               "{\"id\":\"b\",\"started_at\":\"2026-03-05T09:00:00Z\"}\n");
    hydra_check_order(NULL, ab);

    /* a's end line is now the later-written one */
    hydra_feed_at("{\"id\":\"a\",\"started_at\":\"2026-03-05T09:00:00Z\"}\n",
                  1000);
    hydra_check_order(NULL, ba);
}
END_TEST


START_TEST(test_order_started_changes)
{
    static const char  *before[] = { "c", "b", "a", NULL };
    static const char  *after[] = { "a", "c", "b", NULL };
    static const char  *back[] = { "c", "b", "a", NULL };

    hydra_feed("{\"id\":\"a\",\"started_at\":\"2026-03-05T09:00:00Z\"}\n"
               "{\"id\":\"b\",\"started_at\":\"2026-03-05T10:00:00Z\"}\n"
               "{\"id\":\"c\",\"started_at\":\"2026-03-05T11:00:00Z\"}\n");
    hydra_check_order(NULL, before);

    /* an end line that says otherwise moves the session */
    hydra_feed_at("{\"id\":\"a\",\"started_at\":\"2026-03-05T12:00:00Z\"}\n",
                  1000);
    hydra_check_order(NULL, after);

    hydra_feed_at("{\"id\":\"a\",\"started_at\":null}\n", 2000);
    hydra_check_order(NULL, back);
}
END_TEST


START_TEST(test_order_reversed_file)
{
    int                   i;
    char                  line[128];
    size_t                n, c, off;
    hydra_session_ref_t  *out;

    /* newest first: every line goes to the front, far from the end */
    off = 0;

    for (i = 0; i < 3000; i++) {
        n = snprintf(line, sizeof(line),
                     "{\"id\":\"r%d\",\"started_at\":\"2026-03-05T%02d:%02d:"
                     "%02dZ\"}\n",
                     i, 23 - i / 3600, 59 - (i / 60) % 60, 59 - i % 60);
        ck_assert_int_eq(hydra_sessions_feed(s, line, n, off, &c), HYDRA_OK);
        ck_assert_uint_eq(c, n);
        off += n;
    }

    out = malloc(3001 * sizeof(hydra_session_ref_t));
    ck_assert_ptr_nonnull(out);

    ck_assert_int_eq(hydra_sessions_newest(s, NULL, out, 3000, &n), HYDRA_OK);
    ck_assert_uint_eq(n, 3000);

    for (i = 0; i < 3000; i++) {
        snprintf(line, sizeof(line), "r%d", i);
        ck_assert_str_eq(out[i].id, line);
    }

    /* appends stay in order afterwards */
    hydra_feed_at("{\"id\":\"new\",\"started_at\":\"2026-03-06T00:00:00Z\"}"
                  "\n", off);
    hydra_feed_at("{\"id\":\"r0\",\"started_at\":\"2026-03-04T00:00:00Z\"}\n",
                  off + 100);

    ck_assert_int_eq(hydra_sessions_newest(s, NULL, out, 3001, &n), HYDRA_OK);
    ck_assert_uint_eq(n, 3001);
    ck_assert_str_eq(out[0].id, "new");
    ck_assert_str_eq(out[1].id, "r1");
    ck_assert_str_eq(out[2999].id, "r2999");
    ck_assert_str_eq(out[3000].id, "r0");

    free(out);
}
END_TEST

/* END order */


/* BEGIN query */

START_TEST(test_newest_limit)
{
    size_t               n;
    hydra_session_ref_t  out[8];

    hydra_feed(hydra_test_file);

    ck_assert_int_eq(hydra_sessions_newest(s, NULL, out, 2, &n), HYDRA_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[0].id, "d");
    ck_assert_str_eq(out[1].id, "b");

    ck_assert_int_eq(hydra_sessions_newest(s, NULL, out, 0, &n), HYDRA_OK);
    ck_assert_uint_eq(n, 0);

    ck_assert_int_eq(hydra_sessions_newest(s, "", out, 8, &n), HYDRA_OK);
    ck_assert_uint_eq(n, 4);
}
END_TEST


START_TEST(test_newest_repo_forms)
{
    size_t               i, n;
    hydra_session_ref_t  out[8];

    static const char  *api[] = { "acme/api", "acme-api", "ACME/API",
                                  "Acme-Api", NULL };
    static const char  *dot[] = { "acme/my.repo", "acme-my.repo",
                                  "acme-my-repo", "ACME/My.Repo", NULL };
    static const char  *none[] = { "acme", "api", "acme/api2", "acme/",
                                   "__all__", NULL };

    hydra_feed(hydra_test_file);
    hydra_feed_at("{\"id\":\"e\",\"repo\":\"ACME-api\","
                  "\"started_at\":\"2026-03-05T08:00:00Z\"}\n",
                  strlen(hydra_test_file));

    /* "acme/api" and "ACME-api" as written are one repo to a query */
    for (i = 0; api[i] != NULL; i++) {
        ck_assert_int_eq(hydra_sessions_newest(s, api[i], out, 8, &n),
                         HYDRA_OK);
        ck_assert_msg(n == 2, "%s: %zu", api[i], n);
        ck_assert_str_eq(out[0].id, "a");
        ck_assert_str_eq(out[0].repo, "acme/api");
        ck_assert_str_eq(out[1].id, "e");
        ck_assert_str_eq(out[1].repo, "ACME-api");
    }

    for (i = 0; dot[i] != NULL; i++) {
        ck_assert_int_eq(hydra_sessions_newest(s, dot[i], out, 8, &n),
                         HYDRA_OK);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(out[0].id, "d");
    }

    for (i = 0; none[i] != NULL; i++) {
        ck_assert_int_eq(hydra_sessions_newest(s, none[i], out, 8, &n),
                         HYDRA_OK);
        ck_assert_msg(n == 0, "%s: %zu", none[i], n);
    }

    /* the limit applies after the filter */
    ck_assert_int_eq(hydra_sessions_newest(s, "acme-api", out, 1, &n),
                     HYDRA_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(out[0].id, "a");
}
END_TEST


START_TEST(test_find)
{
    hydra_session_ref_t  ref;

    hydra_feed(hydra_test_file);

    hydra_check_find(hydra_test_file, "a", "acme/api", HYDRA_TEST_NINE,
                     "{\"id\":\"a\",\"repo\":\"acme/api\","
                     "\"started_at\":\"2026-03-05T09:00:00+00:00\","
                     "\"status\":\"completed\","
                     "\"issues_processed\":[1,2,3]}");
    hydra_check_find(hydra_test_file, "c", "", 0,
                     "{\"id\":\"c\",\"title\":\"caf\xc3\xa9 \\u2615\","
                     "\"repo\":null}");

    /* a prefix, a longer id, another case: no */
    ck_assert_int_eq(hydra_sessions_find(s, "e", 1, &ref), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_sessions_find(s, "ab", 2, &ref), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_sessions_find(s, "A", 1, &ref), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_sessions_find(s, "a", 0, &ref), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_sessions_find(s, "a\0", 2, &ref), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_sessions_find(s, "\n", 1, &ref), HYDRA_DECLINED);

    /* the length counts, not a NUL */
    ck_assert_int_eq(hydra_sessions_find(s, "abc", 1, &ref), HYDRA_OK);
    ck_assert_str_eq(ref.id, "a");
}
END_TEST


START_TEST(test_find_empty)
{
    size_t                   n;
    hydra_session_ref_t      ref;
    hydra_sessions_stats_t   st;

    ck_assert_int_eq(hydra_sessions_find(s, "a", 1, &ref), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_sessions_newest(s, NULL, &ref, 1, &n), HYDRA_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(hydra_sessions_newest(s, "acme/api", &ref, 1, &n),
                     HYDRA_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(hydra_sessions_repos(s, NULL, 0), 0);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 0);
    ck_assert_uint_eq(st.sessions, 0);
}
END_TEST


START_TEST(test_repos)
{
    size_t                 i, n;
    hydra_sessions_repo_t  out[8];

    hydra_feed(hydra_test_file);

    /* in the order they first appeared; b's corrupt line changed nothing */
    n = hydra_sessions_repos(s, out, 8);
    ck_assert_uint_eq(n, 4);

    for (i = 0; i < n; i++) {
        ck_assert_uint_eq(out[i].sessions, 1);
    }

    ck_assert_str_eq(out[0].name, "acme/api");
    ck_assert_str_eq(out[1].name, "acme/web");
    ck_assert_str_eq(out[2].name, "");
    ck_assert_str_eq(out[3].name, "acme/my.repo");

    ck_assert_uint_eq(hydra_sessions_repos(s, out, 1), 4);

    /* a session that changes repo leaves the old one empty */
    hydra_feed_at("{\"id\":\"b\",\"repo\":\"acme/api\"}\n", 5000);
    n = hydra_sessions_repos(s, out, 8);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(out[0].name, "acme/api");
    ck_assert_uint_eq(out[0].sessions, 2);
}
END_TEST


START_TEST(test_reset)
{
    size_t                   n;
    hydra_session_ref_t      ref;
    hydra_sessions_stats_t   st;

    hydra_feed(hydra_test_file);
    hydra_sessions_reset(s);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 0);
    ck_assert_uint_eq(st.corrupt, 0);
    ck_assert_uint_eq(st.sessions, 0);
    ck_assert_uint_eq(st.repos, 0);

    ck_assert_int_eq(hydra_sessions_find(s, "a", 1, &ref), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_sessions_newest(s, NULL, &ref, 1, &n), HYDRA_OK);
    ck_assert_uint_eq(n, 0);

    /* the rewritten file, read from scratch */
    hydra_feed("{\"id\":\"b\",\"repo\":\"acme/web\"}\n");

    ck_assert_int_eq(hydra_sessions_find(s, "a", 1, &ref), HYDRA_DECLINED);
    ck_assert_int_eq(hydra_sessions_find(s, "b", 1, &ref), HYDRA_OK);
    ck_assert(ref.offset == 0);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.lines, 1);
    ck_assert_uint_eq(st.sessions, 1);
}
END_TEST


START_TEST(test_many)
{
    int                    i, r;
    char                  *buf, id[32], repo[32];
    size_t                 len, n, k;
    hydra_session_ref_t   *out, ref;
    hydra_sessions_repo_t  repos[HYDRA_TEST_REPOS + 1];

    buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    out = malloc(HYDRA_TEST_MANY * sizeof(hydra_session_ref_t));
    ck_assert_ptr_nonnull(out);

    len = hydra_make_many(buf, 1 << 20, 1);
    hydra_feed_len(s, buf, len, 0, len);

    ck_assert_int_eq(hydra_sessions_newest(s, NULL, out, HYDRA_TEST_MANY, &n),
                     HYDRA_OK);
    ck_assert_uint_eq(n, HYDRA_TEST_MANY);

    for (k = 1; k < n; k++) {
        ck_assert(out[k - 1].started > out[k].started);
    }

    ck_assert_uint_eq(hydra_sessions_repos(s, repos, HYDRA_TEST_REPOS + 1),
                      HYDRA_TEST_REPOS);

    for (r = 0; r < HYDRA_TEST_REPOS; r++) {
        ck_assert_uint_eq(repos[r].sessions,
                          HYDRA_TEST_MANY / HYDRA_TEST_REPOS);

        snprintf(repo, sizeof(repo), "org%d-Repo.%d", r, r);

        ck_assert_int_eq(hydra_sessions_newest(s, repo, out, 30, &n),
                         HYDRA_OK);
        ck_assert_uint_eq(n, 30);

        snprintf(repo, sizeof(repo), "org%d/repo.%d", r, r);

        for (k = 0; k < n; k++) {
            ck_assert_str_eq(out[k].repo, repo);
            ck_assert(k == 0 || out[k - 1].started > out[k].started);
        }
    }

    /* every id, its end line where it has one */
    for (i = 0; i < HYDRA_TEST_MANY; i++) {
        snprintf(id, sizeof(id), "org%d-repo.%d-%04d", i % HYDRA_TEST_REPOS,
                 i % HYDRA_TEST_REPOS, i);

        ck_assert_int_eq(hydra_sessions_find(s, id, strlen(id), &ref),
                         HYDRA_OK);
        ck_assert_str_eq(ref.id, id);
        ck_assert(hydra_has(buf, &ref, id));
        ck_assert(buf[ref.offset + ref.len] == '\n');
        ck_assert_int_eq(hydra_has(buf, &ref, "completed"), i % 2 == 0);
    }

    free(out);
    free(buf);
}
END_TEST


START_TEST(test_memory)
{
    char                    *buf;
    size_t                   len;
    hydra_sessions_stats_t   st;

    buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_gt(st.memory, 0);
    ck_assert_uint_lt(st.memory, 1024);

    len = hydra_make_many(buf, 1 << 20, 0);
    hydra_feed_len(s, buf, len, 0, len);

    hydra_sessions_stats(s, &st);
    ck_assert_uint_eq(st.sessions, HYDRA_TEST_MANY);

    /*
     * 32 bytes a record, 4 of order, 8 a slot at most 3/4 full, arrays
     * grown by half, and the id (16 bytes and its NUL): 80-odd bytes
     */
    ck_assert_uint_gt(st.memory, HYDRA_TEST_MANY * (32 + 4 + 8 + 17));
    ck_assert_uint_lt(st.memory, HYDRA_TEST_MANY * (100 + 17));

    free(buf);
}
END_TEST

/* END query */


Suite *
hydra_sessions_suite(void)
{
    Suite  *su;
    TCase  *tc;

    su = suite_create("hydra_sessions");

    tc = tcase_create("feed");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_feed_contract);
    tcase_add_test(tc, test_feed_last_wins);
    tcase_add_test(tc, test_feed_last_wins_later_feed);
    tcase_add_test(tc, test_feed_torn);
    tcase_add_test(tc, test_feed_corrupt_neighbours);
    tcase_add_test(tc, test_feed_crlf_and_blank);
    tcase_add_test(tc, test_feed_unicode);
    tcase_add_test(tc, test_feed_offset);
    tcase_add_test(tc, test_feed_overlong);
    tcase_add_test(tc, test_feed_split_everywhere);
    tcase_add_test(tc, test_feed_byte_by_byte);
    suite_add_tcase(su, tc);

    tc = tcase_create("order");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_order_started);
    tcase_add_test(tc, test_order_zones);
    tcase_add_test(tc, test_order_ties_follow_last_line);
    tcase_add_test(tc, test_order_started_changes);
    tcase_add_test(tc, test_order_reversed_file);
    suite_add_tcase(su, tc);

    tc = tcase_create("query");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_newest_limit);
    tcase_add_test(tc, test_newest_repo_forms);
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_find_empty);
    tcase_add_test(tc, test_repos);
    tcase_add_test(tc, test_reset);
    tcase_add_test(tc, test_many);
    tcase_add_test(tc, test_memory);
    suite_add_tcase(su, tc);

    return su;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_sessions_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


static void
hydra_setup(void)
{
    s = hydra_sessions_create();
    ck_assert_ptr_nonnull(s);
}


static void
hydra_teardown(void)
{
    hydra_sessions_destroy(s);
    s = NULL;
}


/* a whole file at offset 0 into s, every byte consumed */

static void
hydra_feed(const char *text)
{
    hydra_feed_len(s, text, strlen(text), 0, strlen(text));
}


static void
hydra_feed_at(const char *text, uint64_t offset)
{
    hydra_feed_len(s, text, strlen(text), offset, strlen(text));
}


static void
hydra_feed_len(hydra_sessions_t *st, const char *text, size_t len,
    uint64_t offset, size_t expect)
{
    size_t  c;

    ck_assert_int_eq(hydra_sessions_feed(st, text, len, offset, &c),
                     HYDRA_OK);
    ck_assert_uint_eq(c, expect);
}


/* the ref points at exactly this line of text, fed at offset 0 */

static void
hydra_check_line(const char *text, const hydra_session_ref_t *ref,
    const char *line)
{
    ck_assert_uint_eq(ref->len, strlen(line));
    ck_assert_mem_eq(text + ref->offset, line, ref->len);
}


static void
hydra_check_find(const char *text, const char *id, const char *repo,
    int64_t started, const char *line)
{
    hydra_session_ref_t  ref;

    ck_assert_int_eq(hydra_sessions_find(s, id, strlen(id), &ref), HYDRA_OK);
    ck_assert_str_eq(ref.id, id);
    ck_assert_str_eq(ref.repo, repo);
    ck_assert_msg(ref.started == started, "%s: started %lld, not %lld", id,
                  (long long) ref.started, (long long) started);

    hydra_check_line(text, &ref, line);
}


/* newest of all, or of a repo, is exactly ids */

static void
hydra_check_order(const char *repo, const char **ids)
{
    size_t               i, n;
    hydra_session_ref_t  out[16];

    ck_assert_int_eq(hydra_sessions_newest(s, repo, out, 16, &n), HYDRA_OK);

    for (i = 0; ids[i] != NULL; i++) {
        ck_assert_msg(i < n, "only %zu sessions", n);
        ck_assert_str_eq(out[i].id, ids[i]);
    }

    ck_assert_uint_eq(n, i);
}


/* two stores say the same of everything */

static void
hydra_check_same(hydra_sessions_t *a, hydra_sessions_t *b)
{
    size_t                   i, na, nb;
    hydra_session_ref_t      ra[32], rb[32];
    hydra_sessions_stats_t   sa, sb;

    hydra_sessions_stats(a, &sa);
    hydra_sessions_stats(b, &sb);

    ck_assert_uint_eq(sa.lines, sb.lines);
    ck_assert_uint_eq(sa.corrupt, sb.corrupt);
    ck_assert_uint_eq(sa.sessions, sb.sessions);
    ck_assert_uint_eq(sa.repos, sb.repos);

    ck_assert_int_eq(hydra_sessions_newest(a, NULL, ra, 32, &na), HYDRA_OK);
    ck_assert_int_eq(hydra_sessions_newest(b, NULL, rb, 32, &nb), HYDRA_OK);
    ck_assert_uint_eq(na, nb);

    for (i = 0; i < na; i++) {
        ck_assert(ra[i].offset == rb[i].offset);
        ck_assert_uint_eq(ra[i].len, rb[i].len);
        ck_assert(ra[i].started == rb[i].started);
        ck_assert_str_eq(ra[i].id, rb[i].id);
        ck_assert_str_eq(ra[i].repo, rb[i].repo);
    }
}


/* the line of ref, in a file fed whole at offset 0, contains needle */

static int
hydra_has(const char *buf, const hydra_session_ref_t *ref,
    const char *needle)
{
    char  line[256];

    ck_assert_uint_lt(ref->len, sizeof(line));

    memcpy(line, buf + ref->offset, ref->len);
    line[ref->len] = '\0';

    return strstr(line, needle) != NULL;
}


/*
 * HYDRA_TEST_MANY sessions over HYDRA_TEST_REPOS repos, started a minute
 * apart but written in a scrambled order; with ends, the even ones get an
 * end line a few sessions later, as HydraFlow writes them.
 */

static size_t
hydra_make_many(char *buf, size_t size, int ends)
{
    int     i, j, t;
    size_t  len;

    len = 0;

    for (i = 0; i < HYDRA_TEST_MANY + 5; i++) {
        for (j = i - 5; j <= i; j += 5) {
            if (j < 0 || j >= HYDRA_TEST_MANY || (j < i && (!ends || j % 2)))
            {
                continue;
            }

            t = (j * 7919) % HYDRA_TEST_MANY;

            len += snprintf(buf + len, size - len,
                            "{\"id\":\"org%d-repo.%d-%04d\","
                            "\"repo\":\"org%d/repo.%d\","
                            "\"started_at\":\"2026-03-%02dT%02d:%02d:00Z\","
                            "\"status\":\"%s\"}\n",
                            j % HYDRA_TEST_REPOS, j % HYDRA_TEST_REPOS, j,
                            j % HYDRA_TEST_REPOS, j % HYDRA_TEST_REPOS,
                            1 + t / 1440, (t / 60) % 24, t % 60,
                            j < i ? "completed" : "active");

            ck_assert_uint_lt(len, size);
        }
    }

    return len;
}
