
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_event: a repo's frames tagged for the fan-out, read back with
 * yajl_tree behind the ring's head and checked value by value; the
 * module's own events; the ?types= filter.  Test JSON is written with '
 * for " to stay readable.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <yajl/yajl_tree.h>

#include "hydra_event.h"


#define HYDRA_TEST_REST_SIZE  65536
#define HYDRA_TEST_ID         7

/* the contract's example frame (hydraflow-api.md, 2) */
#define HYDRA_TEST_FRAME                                                      \
    "{'id':1842,'type':'worker_update',"                                      \
    "'timestamp':'2026-03-05T10:02:11.504211+00:00',"                         \
    "'data':{'issue':38,'worker':0,'status':'running',"                       \
    "'role':'implementer'},"                                                  \
    "'session_id':'acme-api-20260305T090000'}"

/* "Fix ünïcødé 🚀" */
#define HYDRA_TEST_UNICODE    "Fix \xc3\xbc" "n\xc3\xaf" "c\xc3\xb8" \
                              "d\xc3\xa9 \xf0\x9f\x9a\x80"

#define HYDRA_TEST_HUGE       "123456789012345678901234567890"

#define HYDRA_TEST_FFFD       "\xef\xbf\xbd"


static void hydra_setup(void);
static void hydra_teardown(void);
static char *hydra_quote(const char *json);
static int hydra_tag_len(const char *frame, size_t len, const char *repo);
static int hydra_tag(const char *frame);
static yajl_val hydra_tagged(const char *frame);
static yajl_val hydra_read(void);
static char *hydra_nested(size_t depth);
static yajl_val hydra_at(yajl_val v, const char *key);
static void hydra_check_keys(yajl_val v, const char **keys);
static void hydra_check_int(yajl_val v, const char *key, long long expect);
static void hydra_check_raw(yajl_val v, const char *key, const char *expect);
static void hydra_check_str(yajl_val v, const char *key, const char *expect);
static void hydra_check_null(yajl_val v, const char *key);
static void hydra_check_types(const char *arg, int rc, unsigned n);


static char            *rest;
static size_t           rest_len;
static hydra_event_t    ev;
static yajl_val         out;


START_TEST(test_tag_contract)
{
    yajl_val     data;
    const char  *keys[] = { "id", "source_id", "repo", "type", "timestamp",
                            "data", "session_id", NULL };

    out = hydra_tagged(HYDRA_TEST_FRAME);

    ck_assert_int_eq(ev.source_id, 1842);
    ck_assert_str_eq(ev.type, "worker_update");
    ck_assert_str_eq(ev.timestamp, "2026-03-05T10:02:11.504211+00:00");

    /* the rest ends the object the ring's head opens */
    ck_assert_int_ne(rest[0], '{');
    ck_assert_int_eq(rest[rest_len - 1], '}');

    hydra_check_keys(out, keys);
    hydra_check_int(out, "id", HYDRA_TEST_ID);
    hydra_check_int(out, "source_id", 1842);
    hydra_check_str(out, "repo", "acme-api");
    hydra_check_str(out, "type", "worker_update");
    hydra_check_str(out, "timestamp", "2026-03-05T10:02:11.504211+00:00");
    hydra_check_str(out, "session_id", "acme-api-20260305T090000");

    data = hydra_at(out, "data");
    ck_assert(YAJL_IS_OBJECT(data));
    ck_assert_uint_eq(data->u.object.len, 4);
    hydra_check_int(data, "issue", 38);
    hydra_check_int(data, "worker", 0);
    hydra_check_str(data, "status", "running");
    hydra_check_str(data, "role", "implementer");
}
END_TEST


START_TEST(test_tag_replaces)
{
    yajl_val     data;
    const char  *keys[] = { "id", "source_id", "repo", "type", "data",
                            "session_id", NULL };

    /* H's own repo tag, a source_id of its own, and repo given twice */

    out = hydra_tagged("{'repo':'evil','source_id':99,'type':'x',"
                       "'data':{'repo':'kept','id':3,'source_id':4},"
                       "'repo':null,'session_id':null,'id':5}");

    hydra_check_keys(out, keys);
    hydra_check_int(out, "source_id", 5);
    hydra_check_str(out, "repo", "acme-api");
    hydra_check_null(out, "session_id");
    ck_assert_int_eq(ev.source_id, 5);

    /* only the frame's own members are replaced */
    data = hydra_at(out, "data");
    hydra_check_str(data, "repo", "kept");
    hydra_check_int(data, "id", 3);
    hydra_check_int(data, "source_id", 4);
}
END_TEST


START_TEST(test_tag_no_id)
{
    const char  *keys[] = { "id", "source_id", "repo", "type", NULL };

    out = hydra_tagged("{'type':'x'}");
    hydra_check_keys(out, keys);
    hydra_check_null(out, "source_id");
    ck_assert_int_eq(ev.source_id, -1);
    ck_assert_str_eq(ev.timestamp, "");
}
END_TEST


START_TEST(test_tag_odd_ids)
{
    size_t                i;
    static const struct {
        const char  *frame;
        long long    source_id;
    } cases[] = {
        { "{'id':'12','type':'x'}", -1 },
        { "{'id':1.5,'type':'x'}", -1 },
        { "{'id':1e3,'type':'x'}", -1 },
        { "{'id':-3,'type':'x'}", -1 },
        { "{'id':null,'type':'x'}", -1 },
        { "{'id':{'a':1},'type':'x'}", -1 },
        { "{'id':[1],'type':'x'}", -1 },
        { "{'id':" HYDRA_TEST_HUGE ",'type':'x'}", -1 },
        { "{'id':9223372036854775808,'type':'x'}", -1 },
        { "{'id':9223372036854775807,'type':'x'}", 9223372036854775807LL },
        { "{'id':0,'type':'x'}", 0 },

        /* given twice, the last counts, as in a browser */
        { "{'id':1,'type':'x','id':2}", 2 },
        { "{'id':1,'type':'x','id':'2'}", -1 }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        out = hydra_tagged(cases[i].frame);

        ck_assert_msg(ev.source_id == cases[i].source_id, "%s: %lld",
                      cases[i].frame, (long long) ev.source_id);

        if (cases[i].source_id < 0) {
            hydra_check_null(out, "source_id");

        } else {
            hydra_check_int(out, "source_id", cases[i].source_id);
        }

        ck_assert_uint_eq(out->u.object.len, 4);

        yajl_tree_free(out);
        out = NULL;
    }
}
END_TEST


START_TEST(test_tag_unicode)
{
    yajl_val  data;

    out = hydra_tagged("{'type':'transcript_line','data':{"
                       "'raw':'" HYDRA_TEST_UNICODE "',"
                       "'escaped':'Fix \\u00fcn\\u00efc\\u00f8d\\u00e9 "
                       "\\ud83d\\ude80',"
                       "'" HYDRA_TEST_UNICODE "':'key',"
                       "'quotes':'\\\"a\\\\b\\/c\\n\\t',"
                       "'nul':'a\\u0000b'}}");

    data = hydra_at(out, "data");
    hydra_check_str(data, "raw", HYDRA_TEST_UNICODE);
    hydra_check_str(data, "escaped", HYDRA_TEST_UNICODE);
    hydra_check_str(data, HYDRA_TEST_UNICODE, "key");
    hydra_check_str(data, "quotes", "\"a\\b/c\n\t");

    /* a NUL inside a string is kept, escaped */
    ck_assert_ptr_nonnull(strstr(rest, "\"nul\":\"a\\u0000b\""));
}
END_TEST


/*
 * What yajl lets through but a browser fails its WebSocket on, and bytes
 * that are no UTF-8 at all: each bad byte becomes U+FFFD, in keys too.
 */

START_TEST(test_tag_bad_utf8)
{
    char                  frame[256];
    size_t                i;
    yajl_val              data;
    static const struct {
        const char  *in;
        const char  *out;
    } cases[] = {
        { "\xff", HYDRA_TEST_FFFD },
        { "a\xc3", "a" HYDRA_TEST_FFFD },
        { "\xc0\x80", HYDRA_TEST_FFFD HYDRA_TEST_FFFD },
        { "\xed\xa0\x80", HYDRA_TEST_FFFD HYDRA_TEST_FFFD HYDRA_TEST_FFFD },
        { "\xf4\x90\x80\x80z", HYDRA_TEST_FFFD HYDRA_TEST_FFFD
                                HYDRA_TEST_FFFD HYDRA_TEST_FFFD "z" },
        { "\\udc00", HYDRA_TEST_FFFD HYDRA_TEST_FFFD HYDRA_TEST_FFFD },
        { "\\ud800", "?" },
        { "\\ud83d\\ude80", "\xf0\x9f\x9a\x80" },
        { "\xe0\x80\xaf", HYDRA_TEST_FFFD HYDRA_TEST_FFFD HYDRA_TEST_FFFD },
        { "\xf0\x80\x80\xaf", HYDRA_TEST_FFFD HYDRA_TEST_FFFD
                                HYDRA_TEST_FFFD HYDRA_TEST_FFFD },
        { "\xf8\x88\x80\x80\x80", HYDRA_TEST_FFFD HYDRA_TEST_FFFD
                                HYDRA_TEST_FFFD HYDRA_TEST_FFFD
                                HYDRA_TEST_FFFD },
        { "\xf0\x9f\x9a\x80\xef\xbf\xbf",
          "\xf0\x9f\x9a\x80\xef\xbf\xbf" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(frame, sizeof(frame),
                 "{'type':'x','timestamp':'%s','data':{'v':'%s','%s':1}}",
                 cases[i].in, cases[i].in, cases[i].in);

        out = hydra_tagged(frame);
        data = hydra_at(out, "data");
        hydra_check_str(data, "v", cases[i].out);
        hydra_check_int(data, cases[i].out, 1);
        hydra_check_str(out, "timestamp", cases[i].out);

        /* what the worker keeps of a timestamp is UTF-8 or nothing */
        ck_assert_str_eq(ev.timestamp,
                         strstr(cases[i].out, HYDRA_TEST_FFFD) == NULL
                         ? cases[i].out : "");

        yajl_tree_free(out);
        out = NULL;
    }
}
END_TEST


START_TEST(test_tag_numbers)
{
    yajl_val  data;

    out = hydra_tagged("{'type':'metrics_update','data':{"
                       "'huge':" HYDRA_TEST_HUGE ","
                       "'negative':-" HYDRA_TEST_HUGE ","
                       "'big_real':1.5e300,'too_big':1E400,"
                       "'minus_zero':-0.0,'tenth':0.1,'exp':2e-7,"
                       "'list':[1,2.50,true,false,null]}}");

    data = hydra_at(out, "data");
    hydra_check_raw(data, "huge", HYDRA_TEST_HUGE);
    hydra_check_raw(data, "negative", "-" HYDRA_TEST_HUGE);
    hydra_check_raw(data, "big_real", "1.5e300");
    hydra_check_raw(data, "too_big", "1E400");
    hydra_check_raw(data, "minus_zero", "-0.0");
    hydra_check_raw(data, "tenth", "0.1");
    hydra_check_raw(data, "exp", "2e-7");

    ck_assert_ptr_nonnull(strstr(rest, "\"list\":[1,2.50,true,false,null]"));
}
END_TEST


START_TEST(test_tag_refused)
{
    size_t              i;
    static const char  *frames[] = {
        "", "   ", "[]", "[{'type':'x'}]", "'type'", "5", "null", "true",
        "{", "{'type':'x'", "{'type':'x',}", "{'type':'x'} x",
        "{'type':'x'}{'type':'y'}", "{'type':'x'} {}",
        "{'type':'x' /* c */}", "{type:'x'}", "{'type':'x','a':NaN}",
        "{'type':'x','a':'\\x'}", "{'type':'x','a':'\\u12'}",

        /* no type, or a type that is not a non-empty string */
        "{}", "{'id':1}", "{'data':{'type':'x'}}", "{'type':1}",
        "{'type':null}", "{'type':['x']}", "{'type':{'x':1}}",
        "{'type':''}", "{'type':'a\\u0000b'}", "{'type':'\xff'}",
        "{'type':'a\\udc00'}", "{'type':'\xed\xa0\x80'}",

        /* type twice: a filter and a browser must not disagree */
        "{'type':'a','type':'b'}", "{'type':'a','type':'a'}",
        NULL
    };

    for (i = 0; frames[i] != NULL; i++) {
        ck_assert_msg(hydra_tag(frames[i]) == HYDRA_ERROR, "%s", frames[i]);
    }

    /* a NUL byte in the frame itself */
    ck_assert_int_eq(hydra_tag_len("{'type':'x'}\0", 13, "a"), HYDRA_ERROR);
    ck_assert_int_eq(hydra_tag_len("{'type':'x\0'}", 13, "a"), HYDRA_ERROR);

    /* a bad repo key is not written */
    ck_assert_int_eq(hydra_tag_len("{'type':'x'}", 12, "\xff"), HYDRA_ERROR);
}
END_TEST


START_TEST(test_tag_deep)
{
    char    *frame;
    size_t   len;

    /* 64 levels with the frame's own object: kept */

    frame = hydra_nested(HYDRA_EVENT_DEPTH_MAX - 1);
    ck_assert_int_eq(hydra_tag(frame), HYDRA_OK);
    free(frame);

    frame = hydra_nested(HYDRA_EVENT_DEPTH_MAX);
    ck_assert_int_eq(hydra_tag(frame), HYDRA_ERROR);
    free(frame);

    /* a hostile frame is refused before it is parsed */

    len = 1000000;
    frame = malloc(len + 1);
    ck_assert_ptr_nonnull(frame);
    memset(frame, '[', len);
    frame[0] = '{';
    frame[len] = '\0';

    ck_assert_int_eq(hydra_tag_len(frame, len, "a"), HYDRA_ERROR);

    /* brackets in strings are not nesting */

    free(frame);
    len = 10000;
    frame = malloc(len + 64);
    ck_assert_ptr_nonnull(frame);
    strcpy(frame, "{'type':'x','s':'");
    memset(frame + strlen(frame), '[', len);
    strcpy(frame + 17 + len, "'}");

    ck_assert_int_eq(hydra_tag(frame), HYDRA_OK);
    free(frame);
}
END_TEST


START_TEST(test_tag_type_cut)
{
    char  frame[512], type[128];

    /* a long type is whole in the event, cut where filters see it */

    memset(type, 'a', 100);
    type[100] = '\0';
    snprintf(frame, sizeof(frame), "{'type':'%s'}", type);

    out = hydra_tagged(frame);
    hydra_check_str(out, "type", type);
    ck_assert_uint_eq(strlen(ev.type), HYDRA_EVENT_TYPE_MAX);
    ck_assert_int_eq(strncmp(ev.type, type, HYDRA_EVENT_TYPE_MAX), 0);

    yajl_tree_free(out);
    out = NULL;

    /* never in the middle of a character: "é" is two bytes */

    strcpy(type, "");

    while (strlen(type) < 60) {
        strcat(type, "\xc3\xa9");
    }

    snprintf(frame, sizeof(frame), "{'type':'%s'}", type);

    out = hydra_tagged(frame);
    hydra_check_str(out, "type", type);
    ck_assert_uint_eq(strlen(ev.type), 38);
    ck_assert_int_eq(strncmp(ev.type, type, 38), 0);
}
END_TEST


START_TEST(test_tag_timestamp)
{
    char  frame[512], ts[128];

    out = hydra_tagged("{'type':'x','timestamp':5}");
    ck_assert_str_eq(ev.timestamp, "");
    hydra_check_int(out, "timestamp", 5);

    yajl_tree_free(out);
    out = hydra_tagged("{'timestamp':'a','type':'x','timestamp':'b'}");
    ck_assert_str_eq(ev.timestamp, "b");

    yajl_tree_free(out);
    out = hydra_tagged("{'timestamp':'a','type':'x','timestamp':null}");
    ck_assert_str_eq(ev.timestamp, "");

    yajl_tree_free(out);
    memset(ts, '1', 100);
    ts[100] = '\0';
    snprintf(frame, sizeof(frame), "{'type':'x','timestamp':'%s'}", ts);
    out = hydra_tagged(frame);
    ck_assert_uint_eq(strlen(ev.timestamp), HYDRA_EVENT_TIME_SIZE - 1);
    hydra_check_str(out, "timestamp", ts);
}
END_TEST


START_TEST(test_tag_rest_size)
{
    char    *frame;
    size_t   need;

    frame = hydra_quote(HYDRA_TEST_FRAME);

    ck_assert_int_eq(hydra_event_tag(frame, strlen(frame), "acme-api", &ev,
                                     rest, HYDRA_TEST_REST_SIZE, &rest_len),
                     HYDRA_OK);
    need = rest_len;

    ck_assert_int_eq(hydra_event_tag(frame, strlen(frame), "acme-api", &ev,
                                     rest, need, &rest_len), HYDRA_OK);
    ck_assert_uint_eq(rest_len, need);

    ck_assert_int_eq(hydra_event_tag(frame, strlen(frame), "acme-api", &ev,
                                     rest, need - 1, &rest_len),
                     HYDRA_DECLINED);
    ck_assert_int_eq(hydra_event_tag(frame, strlen(frame), "acme-api", &ev,
                                     rest, 0, &rest_len), HYDRA_DECLINED);

    free(frame);
}
END_TEST


START_TEST(test_tag_no_repo)
{
    ck_assert_int_eq(hydra_tag_len("{\"type\":\"x\",\"repo\":\"a\"}", 23,
                                   NULL), HYDRA_OK);
    out = hydra_read();
    hydra_check_null(out, "repo");
}
END_TEST


/* the path of a frame: tagged, pushed, read back from the ring */

START_TEST(test_tag_into_ring)
{
    char          *frame, *text;
    size_t         size, len;
    uint32_t       repo;
    uint64_t       id;
    const char    *json, *type;
    hydra_ring_t  *r;

    size = hydra_ring_size(8, 4096);
    r = malloc(size);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(hydra_ring_init(r, size, 8), HYDRA_OK);

    frame = hydra_quote(HYDRA_TEST_FRAME);

    ck_assert_int_eq(hydra_event_tag(frame, strlen(frame), "acme-api", &ev,
                                     rest, HYDRA_TEST_REST_SIZE, &rest_len),
                     HYDRA_OK);
    ck_assert_uint_eq(hydra_ring_push(r, rest, rest_len, 3, ev.type), 1);
    ck_assert_uint_eq(hydra_ring_push(r, rest, rest_len, 3, ev.type), 2);

    ck_assert_int_eq(hydra_ring_get(r, 2, &json, &len, &repo, &type),
                     HYDRA_OK);
    ck_assert_str_eq(type, "worker_update");
    ck_assert_uint_eq(repo, 3);

    text = strndup(json, len);
    ck_assert_ptr_nonnull(text);
    out = yajl_tree_parse(text, NULL, 0);
    ck_assert_ptr_nonnull(out);

    hydra_check_int(out, "id", 2);
    hydra_check_int(out, "source_id", 1842);
    hydra_check_str(out, "repo", "acme-api");
    hydra_check_int(hydra_at(out, "data"), "issue", 38);

    id = hydra_ring_next(r);
    ck_assert_uint_eq(id, 3);

    free(text);
    free(frame);
    free(r);
}
END_TEST


START_TEST(test_make_gap)
{
    const char  *keys[] = { "id", "repo", "type", "timestamp", "data",
                            "session_id", NULL };

    ck_assert_int_eq(hydra_event_make("gap", NULL,
                                      "2026-03-05T10:00:05.120+00:00",
                                      "{\"from\":3,\"to\":9,\"missed\":6}",
                                      rest, HYDRA_TEST_REST_SIZE,
                                      &rest_len), HYDRA_OK);

    out = hydra_read();
    hydra_check_keys(out, keys);
    hydra_check_int(out, "id", HYDRA_TEST_ID);
    hydra_check_null(out, "repo");
    hydra_check_str(out, "type", "gap");
    hydra_check_str(out, "timestamp", "2026-03-05T10:00:05.120+00:00");
    hydra_check_null(out, "session_id");
    hydra_check_int(hydra_at(out, "data"), "from", 3);
    hydra_check_int(hydra_at(out, "data"), "to", 9);
    hydra_check_int(hydra_at(out, "data"), "missed", 6);
}
END_TEST


START_TEST(test_make_health)
{
    yajl_val  data;

    ck_assert_int_eq(hydra_event_make("repo_health", "acme-api",
                                      "2026-03-05T10:00:05.120+00:00",
                                      "{\"status\":\"down\",\"last_error\":"
                                      "\"connection refused\","
                                      "\"latency_ms\":null,"
                                      "\"nested\":{\"a\":[1,{\"b\":2}]}}",
                                      rest, HYDRA_TEST_REST_SIZE,
                                      &rest_len), HYDRA_OK);

    out = hydra_read();
    hydra_check_str(out, "repo", "acme-api");
    hydra_check_str(out, "type", "repo_health");

    data = hydra_at(out, "data");
    hydra_check_str(data, "status", "down");
    hydra_check_str(data, "last_error", "connection refused");
    hydra_check_null(data, "latency_ms");
    ck_assert(YAJL_IS_ARRAY(hydra_at(hydra_at(data, "nested"), "a")));
}
END_TEST


START_TEST(test_make_no_data)
{
    ck_assert_int_eq(hydra_event_make("registry", NULL, NULL, NULL, rest,
                                      HYDRA_TEST_REST_SIZE, &rest_len),
                     HYDRA_OK);

    out = hydra_read();
    hydra_check_null(out, "timestamp");
    ck_assert(YAJL_IS_OBJECT(hydra_at(out, "data")));
    ck_assert_uint_eq(hydra_at(out, "data")->u.object.len, 0);
}
END_TEST


START_TEST(test_make_refused)
{
    char               *deep;
    size_t              i, need;
    static const char  *data[] = {
        "", "[1]", "5", "\"x\"", "null", "{", "{\"a\":1} x", "{\"a\":1}{}",
        NULL
    };

    ck_assert_int_eq(hydra_event_make(NULL, NULL, NULL, NULL, rest,
                                      HYDRA_TEST_REST_SIZE, &rest_len),
                     HYDRA_ERROR);
    ck_assert_int_eq(hydra_event_make("", NULL, NULL, NULL, rest,
                                      HYDRA_TEST_REST_SIZE, &rest_len),
                     HYDRA_ERROR);
    ck_assert_int_eq(hydra_event_make("gap", "\xc3", NULL, NULL, rest,
                                      HYDRA_TEST_REST_SIZE, &rest_len),
                     HYDRA_ERROR);

    for (i = 0; data[i] != NULL; i++) {
        ck_assert_msg(hydra_event_make("gap", NULL, NULL, data[i], rest,
                                       HYDRA_TEST_REST_SIZE, &rest_len)
                      == HYDRA_ERROR, "%s", data[i]);
    }

    /* data as deep as a frame may be, and one level more */

    deep = hydra_nested(HYDRA_EVENT_DEPTH_MAX - 1);
    ck_assert_int_eq(hydra_event_make("gap", NULL, NULL, deep, rest,
                                      HYDRA_TEST_REST_SIZE, &rest_len),
                     HYDRA_OK);
    free(deep);

    deep = hydra_nested(HYDRA_EVENT_DEPTH_MAX);
    ck_assert_int_eq(hydra_event_make("gap", NULL, NULL, deep, rest,
                                      HYDRA_TEST_REST_SIZE, &rest_len),
                     HYDRA_ERROR);
    free(deep);

    /* too long for the caller's buffer */

    ck_assert_int_eq(hydra_event_make("gap", NULL, NULL, NULL, rest,
                                      HYDRA_TEST_REST_SIZE, &rest_len),
                     HYDRA_OK);
    need = rest_len;

    ck_assert_int_eq(hydra_event_make("gap", NULL, NULL, NULL, rest, need,
                                      &rest_len), HYDRA_OK);
    ck_assert_int_eq(hydra_event_make("gap", NULL, NULL, NULL, rest,
                                      need - 1, &rest_len), HYDRA_DECLINED);
}
END_TEST


START_TEST(test_types_parse)
{
    char                 arg[2048], name[64];
    size_t               i;
    hydra_event_types_t  t;

    hydra_check_types("worker_update", HYDRA_OK, 1);
    hydra_check_types("worker_update,pr_created,ci_check", HYDRA_OK, 3);
    hydra_check_types("worker_update%2Cpr_created%2cci_check", HYDRA_OK, 3);
    hydra_check_types("a,b,a,b", HYDRA_OK, 2);
    hydra_check_types("adversarial_stage_converged,epic_2", HYDRA_OK, 2);

    /* nothing: no filter */
    hydra_check_types("", HYDRA_OK, 0);

    ck_assert_int_eq(hydra_event_types_parse("a,bc", 4, &t), HYDRA_OK);
    ck_assert_str_eq(t.names[0], "a");
    ck_assert_str_eq(t.names[1], "bc");

    /* the length is the caller's: the rest of the query is not read */
    ck_assert_int_eq(hydra_event_types_parse("ab&x=1", 2, &t), HYDRA_OK);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_str_eq(t.names[0], "ab");

    /* as many names as allowed, and one more */

    arg[0] = '\0';

    for (i = 0; i < HYDRA_EVENT_TYPES_MAX; i++) {
        snprintf(name, sizeof(name), "%st%zu", i ? "," : "", i);
        strcat(arg, name);
    }

    hydra_check_types(arg, HYDRA_OK, HYDRA_EVENT_TYPES_MAX);

    strcat(arg, ",t0");
    hydra_check_types(arg, HYDRA_OK, HYDRA_EVENT_TYPES_MAX);

    strcat(arg, ",one_more");
    hydra_check_types(arg, HYDRA_ERROR, 0);

    /* the longest name, and one byte more */

    memset(name, 'a', HYDRA_EVENT_TYPE_MAX);
    name[HYDRA_EVENT_TYPE_MAX] = '\0';
    hydra_check_types(name, HYDRA_OK, 1);

    strcat(name, "a");
    hydra_check_types(name, HYDRA_ERROR, 0);
}
END_TEST


START_TEST(test_types_bad)
{
    char                *arg;
    size_t               i;
    static const char   *args[] = {
        ",", ",a", "a,", "a,,b", "A", "worker-update", "a b", "a+b", "a;b",
        "a%2", "a%2Db", "a%20b", "%2Ca", "a%2C", "\xc3\xa9", "a.b", "a*",
        NULL
    };
    hydra_event_types_t  t;

    for (i = 0; args[i] != NULL; i++) {
        hydra_check_types(args[i], HYDRA_ERROR, 0);
    }

    /* a NUL inside the value */
    ck_assert_int_eq(hydra_event_types_parse("a\0b", 3, &t), HYDRA_ERROR);
    ck_assert_uint_eq(t.n, 0);

    /* an escape cut by the end of the value, read no further */
    arg = malloc(3);
    ck_assert_ptr_nonnull(arg);
    memcpy(arg, "a%2", 3);
    ck_assert_int_eq(hydra_event_types_parse(arg, 3, &t), HYDRA_ERROR);
    free(arg);

    ck_assert_int_eq(hydra_event_types_parse("a%2Cb", 3, &t), HYDRA_ERROR);
    ck_assert_int_eq(hydra_event_types_parse("a%2Cb", 4, &t), HYDRA_ERROR);
    ck_assert_int_eq(hydra_event_types_parse("a%2Cb", 5, &t), HYDRA_OK);
}
END_TEST


START_TEST(test_types_match)
{
    hydra_event_types_t  t;

    ck_assert_int_eq(hydra_event_types_parse("", 0, &t), HYDRA_OK);
    ck_assert_int_eq(hydra_event_types_match(&t, "worker_update"), 1);
    ck_assert_int_eq(hydra_event_types_match(&t, "gap"), 1);

    ck_assert_int_eq(hydra_event_types_parse("worker_update,gap", 17, &t),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_event_types_match(&t, "worker_update"), 1);
    ck_assert_int_eq(hydra_event_types_match(&t, "gap"), 1);
    ck_assert_int_eq(hydra_event_types_match(&t, "pr_created"), 0);
    ck_assert_int_eq(hydra_event_types_match(&t, "worker"), 0);
    ck_assert_int_eq(hydra_event_types_match(&t, "worker_update_x"), 0);
    ck_assert_int_eq(hydra_event_types_match(&t, "WORKER_UPDATE"), 0);
    ck_assert_int_eq(hydra_event_types_match(&t, ""), 0);
    ck_assert_int_eq(hydra_event_types_match(&t, NULL), 0);

    /* a refused filter lets everything through: the caller says 400 */
    ck_assert_int_eq(hydra_event_types_parse("Bad", 3, &t), HYDRA_ERROR);
    ck_assert_int_eq(hydra_event_types_match(&t, "pr_created"), 1);
}
END_TEST


Suite *
hydra_event_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_event");

    tc = tcase_create("tag");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_tag_contract);
    tcase_add_test(tc, test_tag_replaces);
    tcase_add_test(tc, test_tag_no_id);
    tcase_add_test(tc, test_tag_odd_ids);
    tcase_add_test(tc, test_tag_unicode);
    tcase_add_test(tc, test_tag_bad_utf8);
    tcase_add_test(tc, test_tag_numbers);
    tcase_add_test(tc, test_tag_type_cut);
    tcase_add_test(tc, test_tag_timestamp);
    tcase_add_test(tc, test_tag_rest_size);
    tcase_add_test(tc, test_tag_no_repo);
    tcase_add_test(tc, test_tag_into_ring);
    suite_add_tcase(s, tc);

    tc = tcase_create("tag_refused");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_tag_refused);
    tcase_add_test(tc, test_tag_deep);
    suite_add_tcase(s, tc);

    tc = tcase_create("make");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_make_gap);
    tcase_add_test(tc, test_make_health);
    tcase_add_test(tc, test_make_no_data);
    tcase_add_test(tc, test_make_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("types");
    tcase_add_test(tc, test_types_parse);
    tcase_add_test(tc, test_types_bad);
    tcase_add_test(tc, test_types_match);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_event_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


static void
hydra_setup(void)
{
    rest = malloc(HYDRA_TEST_REST_SIZE);
    ck_assert_ptr_nonnull(rest);

    rest_len = 0;
    out = NULL;
    memset(&ev, 0x5a, sizeof(hydra_event_t));
}


static void
hydra_teardown(void)
{
    yajl_tree_free(out);
    free(rest);
}


/* test JSON is written with ' for ": back to JSON */

static char *
hydra_quote(const char *json)
{
    char    *s;
    size_t   i;

    s = strdup(json);
    ck_assert_ptr_nonnull(s);

    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] == '\'') {
            s[i] = '"';
        }
    }

    return s;
}


/* a frame with NULs, not quoted; the repo is the caller's */

static int
hydra_tag_len(const char *frame, size_t len, const char *repo)
{
    int      rc;
    char    *s;
    size_t   i;

    s = malloc(len + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, frame, len);

    for (i = 0; i < len; i++) {
        if (s[i] == '\'') {
            s[i] = '"';
        }
    }

    /* not NUL-terminated: the length is all there is */
    s[len] = '}';

    rc = hydra_event_tag(s, len, repo, &ev, rest, HYDRA_TEST_REST_SIZE,
                         &rest_len);
    free(s);

    return rc;
}


static int
hydra_tag(const char *frame)
{
    return hydra_tag_len(frame, strlen(frame), "acme-api");
}


static yajl_val
hydra_tagged(const char *frame)
{
    ck_assert_msg(hydra_tag(frame) == HYDRA_OK, "%s", frame);

    return hydra_read();
}


/* the rest behind the ring's head, parsed: never compared as a string */

static yajl_val
hydra_read(void)
{
    char      *json, err[128];
    yajl_val   v;

    json = malloc(HYDRA_RING_HEAD_SIZE + rest_len + 1);
    ck_assert_ptr_nonnull(json);

    snprintf(json, HYDRA_RING_HEAD_SIZE + rest_len + 1, "{\"id\":%d,%.*s",
             HYDRA_TEST_ID, (int) rest_len, rest);

    v = yajl_tree_parse(json, err, sizeof(err));
    ck_assert_msg(v != NULL, "%s: %s", err, json);
    ck_assert(YAJL_IS_OBJECT(v));
    free(json);

    return v;
}


/* a frame whose data nests depth levels below the frame's object */

static char *
hydra_nested(size_t depth)
{
    char    *s, *p;
    size_t   i;

    s = malloc(6 * depth + 64);
    ck_assert_ptr_nonnull(s);

    p = s + sprintf(s, "{\"type\":\"x\",\"data\":");

    for (i = 0; i < depth; i++) {
        *p++ = (i % 2) ? '[' : '{';

        if (i % 2 == 0) {
            p += sprintf(p, "\"k\":");
        }
    }

    *p++ = '1';

    while (depth-- > 0) {
        *p++ = (depth % 2) ? ']' : '}';
    }

    strcpy(p, "}");

    return s;
}


static yajl_val
hydra_at(yajl_val v, const char *key)
{
    size_t  i;

    ck_assert_ptr_nonnull(v);
    ck_assert(YAJL_IS_OBJECT(v));

    for (i = 0; i < v->u.object.len; i++) {
        if (strcmp(v->u.object.keys[i], key) == 0) {
            return v->u.object.values[i];
        }
    }

    ck_abort_msg("no \"%s\"", key);

    return NULL;
}


/* exactly these members, in this order, each once */

static void
hydra_check_keys(yajl_val v, const char **keys)
{
    size_t  i;

    ck_assert(YAJL_IS_OBJECT(v));

    for (i = 0; keys[i] != NULL; i++) {
        ck_assert_uint_lt(i, v->u.object.len);
        ck_assert_str_eq(v->u.object.keys[i], keys[i]);
    }

    ck_assert_uint_eq(v->u.object.len, i);
}


static void
hydra_check_int(yajl_val v, const char *key, long long expect)
{
    yajl_val  n;

    n = hydra_at(v, key);
    ck_assert_msg(YAJL_IS_INTEGER(n), "\"%s\" is not an integer", key);
    ck_assert_int_eq(YAJL_GET_INTEGER(n), expect);
}


static void
hydra_check_raw(yajl_val v, const char *key, const char *expect)
{
    yajl_val  n;

    n = hydra_at(v, key);
    ck_assert_msg(YAJL_IS_NUMBER(n), "\"%s\" is not a number", key);
    ck_assert_str_eq(YAJL_GET_NUMBER(n), expect);
}


static void
hydra_check_str(yajl_val v, const char *key, const char *expect)
{
    yajl_val  s;

    s = hydra_at(v, key);
    ck_assert_msg(YAJL_IS_STRING(s), "\"%s\" is not a string", key);
    ck_assert_str_eq(YAJL_GET_STRING(s), expect);
}


static void
hydra_check_null(yajl_val v, const char *key)
{
    ck_assert_msg(YAJL_IS_NULL(hydra_at(v, key)), "\"%s\" is not null",
                  key);
}


static void
hydra_check_types(const char *arg, int rc, unsigned n)
{
    hydra_event_types_t  t;

    memset(&t, 0x5a, sizeof(hydra_event_types_t));

    ck_assert_msg(hydra_event_types_parse(arg, strlen(arg), &t) == rc,
                  "\"%s\"", arg);
    ck_assert_msg(t.n == n, "\"%s\": %u names", arg, t.n);
}
