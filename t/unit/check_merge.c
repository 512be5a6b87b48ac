
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_merge: every view's merge rule fed with repo answers parsed as
 * the glue parses them (hydra_jspan), its output read back with yajl_tree
 * and checked value by value, never as whole strings.  Test JSON is
 * written with ' for " to stay readable.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <check.h>
#include <yajl/yajl_tree.h>

#include "hydra_merge.h"


#define HYDRA_TEST_INPUTS     64

/* "Fix ünïcødé 🚀" */
#define HYDRA_TEST_UNICODE    "Fix \xc3\xbc" "n\xc3\xaf" "c\xc3\xb8" \
                              "d\xc3\xa9 \xf0\x9f\x9a\x80"

#define HYDRA_TEST_HUGE       "123456789012345678901234567890"


static void hydra_setup(void);
static void hydra_teardown(void);
static char *hydra_quote(const char *json);
static void hydra_add(const char *repo, const char *json);
static void hydra_add_unchecked(const char *repo, const char *json);
static int hydra_add_text(const char *repo, char *text, unsigned depth,
    const hydra_merge_rule_t *rule);
static void hydra_drop_inputs(void);
static void hydra_fail(const char *repo, const char *reason);
static yajl_val hydra_run(const char *view);
static int hydra_run_status(const char *view);
static int hydra_valid(const char *view, const char *json);
static char *hydra_nested(const char *open, const char *mid,
    const char *close, size_t depth);
static yajl_val hydra_at(yajl_val v, const char *path);
static void hydra_check_int(yajl_val v, const char *path, long long expect);
static void hydra_check_real(yajl_val v, const char *path, double expect);
static void hydra_check_raw(yajl_val v, const char *path, const char *expect);
static void hydra_check_str(yajl_val v, const char *path, const char *expect);
static void hydra_check_null(yajl_val v, const char *path);
static void hydra_check_bool(yajl_val v, const char *path, int expect);
static void hydra_check_absent(yajl_val v, const char *path);
static void hydra_check_len(yajl_val v, const char *path, size_t expect);
static void hydra_check_keys(yajl_val v, const char *path,
    const char **keys);
static void hydra_check_facts(const char **answered, const char **failed);
static void hydra_check_no_facts(void);
static int hydra_double_cmp(const void *a, const void *b);


static hydra_jspan_out_t       buf;
static yajl_val                out;
static long                    limit;
static size_t                  ninputs;
static size_t                  nfailures;
static char                   *texts[HYDRA_TEST_INPUTS];
static hydra_jspan_doc_t       docs[HYDRA_TEST_INPUTS];
static hydra_merge_input_t     inputs[HYDRA_TEST_INPUTS];
static hydra_merge_failure_t   failures[HYDRA_TEST_INPUTS];


static const char  *hydra_views[] = {
    "/api/pipeline", "/api/pipeline/stats", "/api/queue", "/api/stats",
    "/api/metrics", "/api/metrics/github", "/api/metrics/history",
    "/api/hitl", "/api/prs", "/api/timeline", "/api/system/workers",
    "/api/events", "/api/control/status", "/api/sessions",
    "/api/issues/outcomes", "/api/human-input", NULL
};

static const char  *hydra_none[] = { NULL };
static const char  *hydra_abc[] = { "acme-api", "acme-web", "tools", NULL };


/* rule table */

START_TEST(test_rule_lookup)
{
    size_t                     i;
    const hydra_merge_rule_t  *rule;

    for (i = 0; hydra_views[i] != NULL; i++) {
        rule = hydra_merge_rule(hydra_views[i], strlen(hydra_views[i]));
        ck_assert_ptr_nonnull(rule);
        ck_assert_str_eq(rule->view, hydra_views[i]);
        ck_assert(rule->valid != NULL);
        ck_assert(rule->merge != NULL);
    }

    ck_assert_int_eq(hydra_merge_rule("/api/hitl", 9)->shape,
                     HYDRA_MERGE_ARRAY);
    ck_assert_int_eq(hydra_merge_rule("/api/sessions", 13)->shape,
                     HYDRA_MERGE_ARRAY);
    ck_assert_int_eq(hydra_merge_rule("/api/events", 11)->shape,
                     HYDRA_MERGE_ARRAY);
    ck_assert_int_eq(hydra_merge_rule("/api/system/workers", 19)->shape,
                     HYDRA_MERGE_OBJECT);
    ck_assert_int_eq(hydra_merge_rule("/api/queue", 10)->shape,
                     HYDRA_MERGE_OBJECT);
}
END_TEST


START_TEST(test_rule_exact)
{
    /* the path need not end in NUL: len says where it ends */
    ck_assert_ptr_nonnull(hydra_merge_rule("/api/queue?x=1", 10));
    ck_assert_str_eq(hydra_merge_rule("/api/pipeline/stats", 13)->view,
                     "/api/pipeline");

    ck_assert_ptr_null(hydra_merge_rule("/api/pipe", 9));
    ck_assert_ptr_null(hydra_merge_rule("/api/queue/", 11));
    ck_assert_ptr_null(hydra_merge_rule("/API/queue", 10));
    ck_assert_ptr_null(hydra_merge_rule("/api/state", 10));
    ck_assert_ptr_null(hydra_merge_rule("/api/sessions/x", 15));
    ck_assert_ptr_null(hydra_merge_rule("", 0));
}
END_TEST


/* depth */

START_TEST(test_depth_hostile)
{
    char  *deep;

    deep = hydra_nested("[", "", "]", 10000);

    ck_assert_int_eq(hydra_merge_depth_ok(deep, strlen(deep),
                                          HYDRA_MERGE_DEPTH_MAX), 0);

    /* unterminated: the scan stops as soon as it is too deep */
    ck_assert_int_eq(hydra_merge_depth_ok(deep, 5000,
                                          HYDRA_MERGE_DEPTH_MAX), 0);

    free(deep);

    deep = hydra_nested("{\"a\":", "", "}", 10000);
    ck_assert_int_eq(hydra_merge_depth_ok(deep, strlen(deep),
                                          HYDRA_MERGE_DEPTH_MAX), 0);
    free(deep);
}
END_TEST


START_TEST(test_depth_limit)
{
    char  *deep;

    deep = hydra_nested("[", "", "]", HYDRA_MERGE_DEPTH_MAX);
    ck_assert_int_eq(hydra_merge_depth_ok(deep, strlen(deep),
                                          HYDRA_MERGE_DEPTH_MAX), 1);
    free(deep);

    deep = hydra_nested("[", "", "]", HYDRA_MERGE_DEPTH_MAX + 1);
    ck_assert_int_eq(hydra_merge_depth_ok(deep, strlen(deep),
                                          HYDRA_MERGE_DEPTH_MAX), 0);
    free(deep);

    /* depth is nesting, not the count of brackets */
    ck_assert_int_eq(hydra_merge_depth_ok("[[]][[]]{}[{}]", 14, 2), 1);
    ck_assert_int_eq(hydra_merge_depth_ok("[[[]]]", 6, 2), 0);
    ck_assert_int_eq(hydra_merge_depth_ok("", 0, 0), 1);
    ck_assert_int_eq(hydra_merge_depth_ok("1", 1, 0), 1);
    ck_assert_int_eq(hydra_merge_depth_ok("{}", 2, 0), 0);
}
END_TEST


START_TEST(test_depth_strings)
{
    const char  *s;

    s = "{\"title\":\"[[[[{{{{\",\"x\":[\"]]]]\",\"[[[[\"]}";
    ck_assert_int_eq(hydra_merge_depth_ok(s, strlen(s), 2), 1);

    /* an escaped quote does not end the string */
    s = "[\"a \\\" [[[[ b\"]";
    ck_assert_int_eq(hydra_merge_depth_ok(s, strlen(s), 1), 1);

    /* an escaped backslash does not escape the quote after it */
    s = "[\"\\\\\",[[[]]]]";
    ck_assert_int_eq(hydra_merge_depth_ok(s, strlen(s), 3), 0);
    ck_assert_int_eq(hydra_merge_depth_ok(s, strlen(s), 4), 1);

    /* unicode and \u escapes are just bytes of a string */
    s = "[\"\\u005b\\u005b " HYDRA_TEST_UNICODE " [[[\"]";
    ck_assert_int_eq(hydra_merge_depth_ok(s, strlen(s), 1), 1);
}
END_TEST


START_TEST(test_depth_copy_capped)
{
    char      *deep, *json;
    size_t     len;
    yajl_val   item;

    /* a tree deeper than the cap, handed over unchecked: no crash */
    deep = hydra_nested("[", "", "]", 200);
    len = strlen(deep) + 32;
    json = malloc(len);
    ck_assert_ptr_nonnull(json);
    snprintf(json, len, "[{\"deep\":%s}]", deep);

    hydra_add_unchecked("acme-api", json);
    free(json);
    free(deep);

    out = hydra_run("/api/hitl");

    item = hydra_at(out, "0");
    ck_assert(YAJL_IS_OBJECT(item));
    hydra_check_str(out, "0/repo", "acme-api");
}
END_TEST


START_TEST(test_depth_merge_capped)
{
    char  *deep;

    /* objects merged key by key, deeper than the cap: no crash either */
    deep = hydra_nested("{\"a\":", "0", "}", 200);

    hydra_add_unchecked("acme-api", deep);
    hydra_add_unchecked("acme-web", deep);
    free(deep);

    deep = hydra_nested("{\"a\":[", "", "]}", 100);

    hydra_add_unchecked("tools", deep);
    free(deep);

    out = hydra_run("/api/stats");

    ck_assert(YAJL_IS_OBJECT(hydra_at(out, "a/a/a")));
    hydra_check_len(out, "hydra/answered", 3);
}
END_TEST


START_TEST(test_depth_max_merges)
{
    char      *deep, *json;
    size_t     len;

    /* {"deep": [...]} as deep as allowed merges whole */
    deep = hydra_nested("[", "", "]", HYDRA_MERGE_DEPTH_MAX - 1);
    len = strlen(deep) + 32;
    json = malloc(len);
    ck_assert_ptr_nonnull(json);
    snprintf(json, len, "{\"deep\":%s}", deep);

    ck_assert_int_eq(hydra_merge_depth_ok(json, strlen(json),
                                          HYDRA_MERGE_DEPTH_MAX), 1);

    hydra_add_unchecked("acme-api", json);
    hydra_add_unchecked("acme-web", json);
    free(json);
    free(deep);

    out = hydra_run("/api/stats");

    ck_assert(YAJL_IS_ARRAY(hydra_at(out, "deep")));
    hydra_check_len(out, "deep", 2);
}
END_TEST


/* /api/pipeline */

START_TEST(test_pipeline_empty)
{
    static const char  *top[] = { "stages", "ready", "hydra", NULL };

    out = hydra_run("/api/pipeline");

    hydra_check_keys(out, "", top);
    hydra_check_len(out, "stages", 0);
    hydra_check_bool(out, "ready", 1);
    hydra_check_facts(hydra_none, hydra_none);
}
END_TEST


START_TEST(test_pipeline_one)
{
    static const char  *top[] = { "stages", "ready", "hydra", NULL };
    static const char  *stages[] = { "triage", "plan", "hitl", NULL };
    static const char  *item[] = {
        "issue_number", "title", "url", "status", "epic_number",
        "is_epic_child", "repo", NULL
    };
    static const char  *answered[] = { "acme-api", NULL };

    hydra_add("acme-api",
        "{'stages':{'triage':[],"
        "'plan':[{'issue_number':41,'title':'Add retry',"
        "'url':'https://github.com/acme/api/issues/41','status':'queued',"
        "'epic_number':0,'is_epic_child':false}],"
        "'hitl':[{'issue_number':12,'repo':'acme/api','title':'Flaky CI',"
        "'url':'u','status':'hitl','epic_number':0,"
        "'is_epic_child':false}]}}");

    out = hydra_run("/api/pipeline");

    hydra_check_keys(out, "", top);
    hydra_check_keys(out, "stages", stages);
    hydra_check_len(out, "stages/triage", 0);
    hydra_check_keys(out, "stages/plan/0", item);
    hydra_check_int(out, "stages/plan/0/issue_number", 41);
    hydra_check_str(out, "stages/plan/0/title", "Add retry");
    hydra_check_bool(out, "stages/plan/0/is_epic_child", 0);
    hydra_check_str(out, "stages/plan/0/repo", "acme-api");

    /* HydraFlow's own "repo" is replaced by the tag, written last */
    hydra_check_keys(out, "stages/hitl/0", item);
    hydra_check_str(out, "stages/hitl/0/repo", "acme-api");

    hydra_check_bool(out, "ready", 1);
    hydra_check_facts(answered, hydra_none);
}
END_TEST


START_TEST(test_pipeline_three)
{
    static const char  *stages[] = {
        "plan", "implement", "hitl", "review", "triage", NULL
    };
    static const char  *failed[] = { "acme-docs", "timeout", NULL };

    hydra_add("acme-api",
        "{'stages':{'plan':[{'issue_number':12,'title':'a12'},"
        "{'issue_number':13,'title':'a13'}],"
        "'implement':[{'issue_number':14}],'hitl':[]}}");
    hydra_add("acme-web",
        "{'stages':{'review':[{'issue_number':7}],"
        "'plan':[{'issue_number':12,'title':'w12'}]},'ready':true}");
    hydra_add("tools", "{'stages':{'triage':[{'issue_number':1}]}}");
    hydra_fail("acme-docs", "timeout");

    out = hydra_run("/api/pipeline");

    /* stages in first-seen order; a stage missing from a repo is fine */
    hydra_check_keys(out, "stages", stages);

    /* issue 12 of two repos stays two issues, each with its repo */
    hydra_check_len(out, "stages/plan", 3);
    hydra_check_int(out, "stages/plan/0/issue_number", 12);
    hydra_check_str(out, "stages/plan/0/title", "a12");
    hydra_check_str(out, "stages/plan/0/repo", "acme-api");
    hydra_check_int(out, "stages/plan/1/issue_number", 13);
    hydra_check_str(out, "stages/plan/1/repo", "acme-api");
    hydra_check_int(out, "stages/plan/2/issue_number", 12);
    hydra_check_str(out, "stages/plan/2/title", "w12");
    hydra_check_str(out, "stages/plan/2/repo", "acme-web");

    hydra_check_len(out, "stages/implement", 1);
    hydra_check_len(out, "stages/hitl", 0);
    hydra_check_str(out, "stages/review/0/repo", "acme-web");
    hydra_check_str(out, "stages/triage/0/repo", "tools");

    hydra_check_bool(out, "ready", 1);
    hydra_check_facts(hydra_abc, failed);
}
END_TEST


START_TEST(test_pipeline_ready)
{
    hydra_add("acme-api", "{'stages':{},'ready':true}");
    hydra_add("acme-web", "{'stages':{},'ready':false}");
    hydra_add("tools", "{'stages':{}}");

    out = hydra_run("/api/pipeline");
    hydra_check_bool(out, "ready", 0);
}
END_TEST


START_TEST(test_pipeline_ready_lies)
{
    /* only a real false counts: null, 0 or "no" leave it ready */
    hydra_add("acme-api", "{'stages':{},'ready':null}");
    hydra_add("acme-web", "{'stages':{},'ready':0}");
    hydra_add("tools", "{'stages':{},'ready':'no'}");

    out = hydra_run("/api/pipeline");
    hydra_check_bool(out, "ready", 1);
}
END_TEST


START_TEST(test_pipeline_bad_items)
{
    hydra_add("acme-api",
        "{'stages':{'plan':[1,null,'x',[{'issue_number':9}],"
        "{'issue_number':2},true]}}");

    out = hydra_run("/api/pipeline");

    hydra_check_len(out, "stages/plan", 1);
    hydra_check_int(out, "stages/plan/0/issue_number", 2);
}
END_TEST


START_TEST(test_pipeline_duplicate_stage)
{
    hydra_add("acme-api",
        "{'stages':{'plan':[{'issue_number':1}],"
        "'plan':[{'issue_number':2}]}}");
    hydra_add("acme-web", "{'stages':{'plan':[{'issue_number':3}]}}");

    out = hydra_run("/api/pipeline");

    hydra_check_len(out, "stages", 1);
    hydra_check_len(out, "stages/plan", 2);
    hydra_check_int(out, "stages/plan/0/issue_number", 1);
    hydra_check_int(out, "stages/plan/1/issue_number", 3);
}
END_TEST


START_TEST(test_pipeline_values_kept)
{
    hydra_add("acme-api",
        "{'stages':{'plan':[{'issue_number':" HYDRA_TEST_HUGE ","
        "'title':'" HYDRA_TEST_UNICODE "','epic_number':-0.5e-3,"
        "'extra':{'a':[1,{'b':null}]},'url':'q\\'uote\\\\'}]}}");

    out = hydra_run("/api/pipeline");

    hydra_check_raw(out, "stages/plan/0/issue_number", HYDRA_TEST_HUGE);
    hydra_check_str(out, "stages/plan/0/title", HYDRA_TEST_UNICODE);
    hydra_check_raw(out, "stages/plan/0/epic_number", "-0.5e-3");
    hydra_check_int(out, "stages/plan/0/extra/a/0", 1);
    hydra_check_null(out, "stages/plan/0/extra/a/1/b");
    hydra_check_str(out, "stages/plan/0/url", "q\"uote\\");
}
END_TEST


START_TEST(test_pipeline_valid)
{
    ck_assert_int_eq(hydra_valid("/api/pipeline", "{'stages':{}}"), 1);
    ck_assert_int_eq(hydra_valid("/api/pipeline",
                                 "{'stages':{'plan':[1]},'ready':3}"), 1);

    ck_assert_int_eq(hydra_valid("/api/pipeline", "[]"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline", "{}"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline", "{'stages':[]}"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline", "{'stages':null}"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline",
                                 "{'stages':{'plan':[],'hitl':{}}}"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline",
                                 "{'stages':{'plan':null}}"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline", "'stages'"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline", "null"), 0);
}
END_TEST


/* /api/queue */

START_TEST(test_queue_empty)
{
    static const char  *top[] = {
        "queue_depth", "active_count", "total_processed",
        "last_poll_timestamp", "dedup_stats", "in_flight_count", "hydra",
        NULL
    };

    out = hydra_run("/api/queue");

    hydra_check_keys(out, "", top);
    hydra_check_len(out, "queue_depth", 0);
    hydra_check_len(out, "total_processed", 0);
    hydra_check_null(out, "last_poll_timestamp");
    hydra_check_int(out, "in_flight_count", 0);
    hydra_check_facts(hydra_none, hydra_none);
}
END_TEST


START_TEST(test_queue_one)
{
    hydra_add("acme-api",
        "{'queue_depth':{'find':0,'plan':1,'ready':3},"
        "'active_count':{'ready':1},'total_processed':{'ready':4},"
        "'last_poll_timestamp':'2026-03-05T10:00:01+00:00',"
        "'dedup_stats':{},'in_flight_count':1}");

    out = hydra_run("/api/queue");

    hydra_check_int(out, "queue_depth/find", 0);
    hydra_check_int(out, "queue_depth/ready", 3);
    hydra_check_int(out, "active_count/ready", 1);
    hydra_check_int(out, "total_processed/ready", 4);
    hydra_check_str(out, "last_poll_timestamp", "2026-03-05T10:00:01+00:00");
    hydra_check_len(out, "dedup_stats", 0);
    hydra_check_int(out, "in_flight_count", 1);
}
END_TEST


START_TEST(test_queue_three)
{
    static const char  *depth[] = { "find", "plan", "ready", "hitl", NULL };

    hydra_add("acme-api",
        "{'queue_depth':{'find':1,'plan':2,'ready':3},"
        "'active_count':{'ready':1},'total_processed':{'ready':4},"
        "'last_poll_timestamp':'2026-03-05T10:00:01+00:00',"
        "'dedup_stats':{'skipped_duplicates':2},'in_flight_count':1}");
    hydra_add("acme-web",
        "{'queue_depth':{'plan':10,'hitl':1},"
        "'active_count':{'ready':2,'review':1},"
        "'last_poll_timestamp':'2026-03-05T10:00:07+00:00',"
        "'dedup_stats':{'skipped_duplicates':3},'in_flight_count':3}");
    hydra_add("tools",
        "{'queue_depth':{'find':100},'last_poll_timestamp':null,"
        "'in_flight_count':5}");

    out = hydra_run("/api/queue");

    hydra_check_keys(out, "queue_depth", depth);
    hydra_check_int(out, "queue_depth/find", 101);
    hydra_check_int(out, "queue_depth/plan", 12);
    hydra_check_int(out, "queue_depth/ready", 3);
    hydra_check_int(out, "queue_depth/hitl", 1);
    hydra_check_int(out, "active_count/ready", 3);
    hydra_check_int(out, "active_count/review", 1);
    hydra_check_int(out, "total_processed/ready", 4);
    hydra_check_int(out, "dedup_stats/skipped_duplicates", 5);
    hydra_check_int(out, "in_flight_count", 9);
    hydra_check_str(out, "last_poll_timestamp", "2026-03-05T10:00:07+00:00");
    hydra_check_facts(hydra_abc, hydra_none);
}
END_TEST


START_TEST(test_queue_nulls)
{
    hydra_add("acme-api",
        "{'last_poll_timestamp':null,'in_flight_count':null,"
        "'queue_depth':{'find':null}}");
    hydra_add("acme-web",
        "{'last_poll_timestamp':null,'in_flight_count':4,"
        "'queue_depth':{'find':2}}");

    out = hydra_run("/api/queue");

    hydra_check_null(out, "last_poll_timestamp");
    hydra_check_int(out, "in_flight_count", 4);
    hydra_check_int(out, "queue_depth/find", 2);

    /* keys no repo sent get QueueStats' defaults */
    hydra_check_len(out, "active_count", 0);
    hydra_check_len(out, "dedup_stats", 0);
}
END_TEST


START_TEST(test_queue_wrong_types)
{
    hydra_add("acme-api",
        "{'queue_depth':{'find':1,'plan':'7','ready':true},"
        "'active_count':3,'in_flight_count':'2',"
        "'last_poll_timestamp':12345}");
    hydra_add("acme-web",
        "{'queue_depth':[1,2],'active_count':{'ready':1},"
        "'in_flight_count':2,"
        "'last_poll_timestamp':'2026-03-05T10:00:00+00:00'}");
    hydra_add("tools",
        "{'queue_depth':{'find':2,'plan':3,'ready':4},"
        "'in_flight_count':{'x':1}}");

    out = hydra_run("/api/queue");

    /* a string, a bool, an array of the wrong type add nothing */
    hydra_check_int(out, "queue_depth/find", 3);
    hydra_check_int(out, "queue_depth/plan", 3);
    hydra_check_int(out, "queue_depth/ready", 4);

    /* the first repo's type wins; the others' values are ignored */
    hydra_check_int(out, "active_count", 3);
    hydra_check_int(out, "in_flight_count", 2);
    hydra_check_str(out, "last_poll_timestamp", "2026-03-05T10:00:00+00:00");
}
END_TEST


START_TEST(test_queue_huge)
{
    yajl_val  v;

    hydra_add("acme-api",
        "{'in_flight_count':9223372036854775807,"
        "'queue_depth':{'find':" HYDRA_TEST_HUGE ",'plan':1,"
        "'ready':-9223372036854775807,'hitl':1e400},"
        "'dedup_stats':{'a':" HYDRA_TEST_HUGE "}}");
    hydra_add("acme-web",
        "{'in_flight_count':9223372036854775807,"
        "'queue_depth':{'plan':2.5,'ready':-9223372036854775807,"
        "'hitl':1}}");

    out = hydra_run("/api/queue");

    /* LLONG_MAX + LLONG_MAX: a double, not a wrapped integer */
    v = hydra_at(out, "in_flight_count");
    ck_assert(YAJL_IS_DOUBLE(v));
    ck_assert(!YAJL_IS_INTEGER(v));
    ck_assert_double_eq(v->u.number.d, 2.0 * (double) LLONG_MAX);

    v = hydra_at(out, "queue_depth/ready");
    ck_assert(!YAJL_IS_INTEGER(v));
    ck_assert_double_eq(v->u.number.d, -2.0 * (double) LLONG_MAX);

    /* one repo's value is copied as it came, byte for byte */
    hydra_check_raw(out, "queue_depth/find", HYDRA_TEST_HUGE);
    hydra_check_raw(out, "dedup_stats/a", HYDRA_TEST_HUGE);

    /* an integer plus a double is a double */
    hydra_check_real(out, "queue_depth/plan", 3.5);

    /* inf has no JSON: null, and the answer still parses */
    hydra_check_null(out, "queue_depth/hitl");
}
END_TEST


START_TEST(test_queue_integer_vs_double)
{
    hydra_add("acme-api", "{'in_flight_count':1,'queue_depth':{'a':1.0}}");
    hydra_add("acme-web", "{'in_flight_count':2,'queue_depth':{'a':2}}");
    hydra_add("tools", "{'in_flight_count':3,'queue_depth':{'a':0}}");

    out = hydra_run("/api/queue");

    /* integers stay integers, one double makes the sum a double */
    hydra_check_int(out, "in_flight_count", 6);
    hydra_check_real(out, "queue_depth/a", 3.0);
    hydra_check_raw(out, "queue_depth/a", "3.0");
}
END_TEST


/* /api/pipeline/stats */

START_TEST(test_pipeline_stats_empty)
{
    static const char  *top[] = { "hydra", NULL };

    out = hydra_run("/api/pipeline/stats");
    hydra_check_keys(out, "", top);
}
END_TEST


START_TEST(test_pipeline_stats_no_orchestrator)
{
    static const char  *top[] = { "hydra", NULL };

    hydra_add("acme-api", "{}");
    hydra_add("acme-web", "{}");

    out = hydra_run("/api/pipeline/stats");

    hydra_check_keys(out, "", top);
    hydra_check_len(out, "hydra/answered", 2);
}
END_TEST


START_TEST(test_pipeline_stats_one)
{
    hydra_add("acme-api",
        "{'timestamp':'2026-03-05T10:00:05.120000+00:00',"
        "'uptime_seconds':3605.2,"
        "'stages':{'implement':{'queued':3,'active':1,"
        "'completed_session':4,'completed_lifetime':90,'worker_count':1,"
        "'worker_cap':2},'merged':{'queued':0,'active':0,"
        "'completed_session':2,'completed_lifetime':77,'worker_count':0,"
        "'worker_cap':null}},"
        "'queue':{'queue_depth':{'ready':3},'in_flight_count':1,"
        "'last_poll_timestamp':'2026-03-05T10:00:01+00:00'},"
        "'throughput':{'triage':2.0,'plan':1.5}}");

    out = hydra_run("/api/pipeline/stats");

    hydra_check_str(out, "timestamp", "2026-03-05T10:00:05.120000+00:00");
    hydra_check_raw(out, "uptime_seconds", "3605.2");
    hydra_check_int(out, "stages/implement/completed_lifetime", 90);
    hydra_check_int(out, "stages/implement/worker_cap", 2);
    hydra_check_null(out, "stages/merged/worker_cap");
    hydra_check_int(out, "queue/queue_depth/ready", 3);
    hydra_check_len(out, "queue/active_count", 0);
    hydra_check_raw(out, "throughput/triage", "2.0");
}
END_TEST


START_TEST(test_pipeline_stats_three)
{
    static const char  *stages[] = { "implement", "merged", "plan", NULL };

    hydra_add("acme-api",
        "{'timestamp':'2026-03-05T10:00:05+00:00','uptime_seconds':100,"
        "'stages':{'implement':{'queued':3,'active':1,"
        "'completed_session':4,'completed_lifetime':90,'worker_count':1,"
        "'worker_cap':2},'merged':{'completed_lifetime':77,"
        "'worker_cap':null}},"
        "'queue':{'queue_depth':{'ready':3},'in_flight_count':1,"
        "'last_poll_timestamp':'2026-03-05T10:00:09+00:00'},"
        "'throughput':{'triage':2.0,'plan':1.5,'hitl':0.0}}");
    hydra_add("acme-web", "{}");
    hydra_add("tools",
        "{'timestamp':'2026-03-05T10:00:07+00:00','uptime_seconds':3600.5,"
        "'stages':{'implement':{'queued':1,'active':2,"
        "'completed_session':1,'completed_lifetime':10,'worker_count':2,"
        "'worker_cap':3},'merged':{'completed_lifetime':3,"
        "'worker_cap':null},'plan':{'queued':5,'worker_cap':null}},"
        "'queue':{'queue_depth':{'ready':2,'find':1},'in_flight_count':2,"
        "'last_poll_timestamp':'2026-03-05T10:00:02+00:00'},"
        "'throughput':{'triage':1.25,'plan':1,'hitl':0.0}}");

    out = hydra_run("/api/pipeline/stats");

    hydra_check_keys(out, "stages", stages);
    hydra_check_int(out, "stages/implement/queued", 4);
    hydra_check_int(out, "stages/implement/active", 3);
    hydra_check_int(out, "stages/implement/completed_session", 5);
    hydra_check_int(out, "stages/implement/completed_lifetime", 100);
    hydra_check_int(out, "stages/implement/worker_count", 3);

    /* worker_cap: the sum of the non-null caps, null when all are */
    hydra_check_int(out, "stages/implement/worker_cap", 5);
    hydra_check_null(out, "stages/merged/worker_cap");
    hydra_check_int(out, "stages/merged/completed_lifetime", 80);
    hydra_check_null(out, "stages/plan/worker_cap");
    hydra_check_int(out, "stages/plan/queued", 5);

    hydra_check_real(out, "throughput/triage", 3.25);
    hydra_check_real(out, "throughput/plan", 2.5);
    hydra_check_real(out, "throughput/hitl", 0.0);

    /* the newest timestamp and the longest uptime, as written */
    hydra_check_str(out, "timestamp", "2026-03-05T10:00:07+00:00");
    hydra_check_raw(out, "uptime_seconds", "3600.5");

    hydra_check_int(out, "queue/queue_depth/ready", 5);
    hydra_check_int(out, "queue/queue_depth/find", 1);
    hydra_check_int(out, "queue/in_flight_count", 3);
    hydra_check_str(out, "queue/last_poll_timestamp",
                    "2026-03-05T10:00:09+00:00");
    hydra_check_facts(hydra_abc, hydra_none);
}
END_TEST


START_TEST(test_pipeline_stats_wrong_types)
{
    hydra_add("acme-api",
        "{'timestamp':null,'uptime_seconds':'long',"
        "'stages':{'implement':{'queued':'3','worker_cap':'2'},"
        "'hitl':7},'throughput':{'triage':null}}");
    hydra_add("acme-web",
        "{'timestamp':'2026-03-05T10:00:05+00:00','uptime_seconds':5,"
        "'stages':{'implement':{'queued':2,'worker_cap':1},"
        "'hitl':{'queued':1}},'throughput':{'triage':1.5},"
        "'queue':[]}");
    hydra_add("tools",
        "{'uptime_seconds':" HYDRA_TEST_HUGE ","
        "'stages':{'implement':[],'hitl':{'queued':1}},'queue':null}");

    out = hydra_run("/api/pipeline/stats");

    hydra_check_str(out, "timestamp", "2026-03-05T10:00:05+00:00");
    hydra_check_raw(out, "uptime_seconds", HYDRA_TEST_HUGE);
    hydra_check_int(out, "stages/implement/queued", 2);
    hydra_check_int(out, "stages/implement/worker_cap", 1);

    /* a number first: the objects of later repos are ignored */
    hydra_check_int(out, "stages/hitl", 7);

    hydra_check_raw(out, "throughput/triage", "1.5");

    /* a queue that is not an object: QueueStats' defaults */
    ck_assert(YAJL_IS_ARRAY(hydra_at(out, "queue")));
}
END_TEST


START_TEST(test_pipeline_stats_valid)
{
    ck_assert_int_eq(hydra_valid("/api/pipeline/stats", "{}"), 1);
    ck_assert_int_eq(hydra_valid("/api/pipeline/stats",
                                 "{'stages':{},'queue':3}"), 1);
    ck_assert_int_eq(hydra_valid("/api/pipeline/stats", "[]"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline/stats",
                                 "{'stages':[]}"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline/stats",
                                 "{'stages':null}"), 0);
    ck_assert_int_eq(hydra_valid("/api/pipeline/stats", "12"), 0);
}
END_TEST


/* /api/stats */

START_TEST(test_stats_empty)
{
    out = hydra_run("/api/stats");

    /* LifetimeStats' defaults, so that the UI reads numbers */
    hydra_check_int(out, "issues_completed", 0);
    hydra_check_int(out, "total_outcomes_hitl_approved", 0);
    hydra_check_real(out, "total_implementation_seconds", 0.0);
    hydra_check_len(out, "merge_durations", 0);
    hydra_check_len(out, "retries_per_stage", 0);
    hydra_check_len(out, "fired_thresholds", 0);
    hydra_check_absent(out, "queue");
    hydra_check_facts(hydra_none, hydra_none);
}
END_TEST


START_TEST(test_stats_one)
{
    hydra_add("acme-api",
        "{'issues_completed':20,'prs_merged':18,"
        "'total_implementation_seconds':1234.5,"
        "'merge_durations':[3600.0,5400.0],"
        "'retries_per_stage':{'12':{'implement':2}},"
        "'fired_thresholds':['quality_fix_rate'],"
        "'queue':{'in_flight_count':1}}");

    out = hydra_run("/api/stats");

    hydra_check_int(out, "issues_completed", 20);
    hydra_check_raw(out, "total_implementation_seconds", "1234.5");
    hydra_check_len(out, "merge_durations", 2);
    hydra_check_raw(out, "merge_durations/1", "5400.0");
    hydra_check_int(out, "retries_per_stage/acme-api#12/implement", 2);
    hydra_check_str(out, "fired_thresholds/0", "quality_fix_rate");
    hydra_check_int(out, "queue/in_flight_count", 1);
    hydra_check_null(out, "queue/last_poll_timestamp");
    hydra_check_int(out, "prs_merged", 18);

    /* absent known counters are still there */
    hydra_check_int(out, "total_ci_fix_rounds", 0);
}
END_TEST


START_TEST(test_stats_three)
{
    static const char  *retries[] = {
        "acme-api#12", "acme-api#13", "acme-web#12", NULL
    };

    hydra_add("acme-api",
        "{'issues_completed':10,'prs_merged':9,'total_ci_fix_rounds':1,"
        "'total_implementation_seconds':100,"
        "'merge_durations':[1.5,2.5],'plan_durations':[10],"
        "'retries_per_stage':{'12':{'implement':2},'13':{'review':1}},"
        "'fired_thresholds':['a','b'],"
        "'total_outcomes_verify_pending':3,"
        "'queue':{'in_flight_count':1,'queue_depth':{'find':1}}}");
    hydra_add("acme-web",
        "{'issues_completed':30,'prs_merged':15,"
        "'total_implementation_seconds':50.5,"
        "'merge_durations':[3.5],"
        "'retries_per_stage':{'12':{'implement':1}},"
        "'fired_thresholds':['b','c','a'],"
        "'total_outcomes_verify_pending':4,"
        "'queue':{'in_flight_count':2,'queue_depth':{'find':2}}}");
    hydra_add("tools",
        "{'issues_completed':2,'plan_durations':[20,30],"
        "'fired_thresholds':['d']}");

    out = hydra_run("/api/stats");

    hydra_check_int(out, "issues_completed", 42);
    hydra_check_int(out, "prs_merged", 24);
    hydra_check_int(out, "total_ci_fix_rounds", 1);
    hydra_check_real(out, "total_implementation_seconds", 150.5);

    /* duration lists joined in repo order, not added */
    hydra_check_len(out, "merge_durations", 3);
    hydra_check_real(out, "merge_durations/0", 1.5);
    hydra_check_real(out, "merge_durations/2", 3.5);
    hydra_check_len(out, "plan_durations", 3);
    hydra_check_int(out, "plan_durations/2", 30);

    /* a union, in first-seen order */
    hydra_check_len(out, "fired_thresholds", 4);
    hydra_check_str(out, "fired_thresholds/0", "a");
    hydra_check_str(out, "fired_thresholds/1", "b");
    hydra_check_str(out, "fired_thresholds/2", "c");
    hydra_check_str(out, "fired_thresholds/3", "d");

    /* issue 12 of two repos: two keys, never added together */
    hydra_check_keys(out, "retries_per_stage", retries);
    hydra_check_int(out, "retries_per_stage/acme-api#12/implement", 2);
    hydra_check_int(out, "retries_per_stage/acme-web#12/implement", 1);

    /* a counter HydraFlow added later is added too */
    hydra_check_int(out, "total_outcomes_verify_pending", 7);

    hydra_check_int(out, "queue/in_flight_count", 3);
    hydra_check_int(out, "queue/queue_depth/find", 3);
    hydra_check_facts(hydra_abc, hydra_none);
}
END_TEST


START_TEST(test_stats_nulls_and_lies)
{
    hydra_add("acme-api",
        "{'issues_completed':null,'prs_merged':'9',"
        "'merge_durations':[1,'x',null,2],"
        "'retries_per_stage':[1,2],'fired_thresholds':['a',3,null,'a'],"
        "'hydra':{'answered':['evil']}}");
    hydra_add("acme-web",
        "{'issues_completed':5,'prs_merged':4,'merge_durations':null,"
        "'retries_per_stage':{'7':{'plan':1}},'fired_thresholds':'a'}");
    hydra_add("tools",
        "{'issues_completed':true,'prs_merged':{'n':1},"
        "'merge_durations':{'a':1},'fired_thresholds':['b']}");

    out = hydra_run("/api/stats");

    hydra_check_int(out, "issues_completed", 5);

    /* "9" and {"n": 1} add nothing to the counter */
    hydra_check_int(out, "prs_merged", 4);

    /* lists are joined as they are: items are not ours to judge */
    hydra_check_len(out, "merge_durations", 4);

    hydra_check_len(out, "retries_per_stage", 1);
    hydra_check_int(out, "retries_per_stage/acme-web#7/plan", 1);
    hydra_check_len(out, "fired_thresholds", 2);
    hydra_check_str(out, "fired_thresholds/1", "b");

    /* a repo's own "hydra" never reaches the answer */
    hydra_check_len(out, "hydra/answered", 3);
}
END_TEST


START_TEST(test_stats_duplicate_keys)
{
    hydra_add("acme-api",
        "{'issues_completed':1,'issues_completed':100,"
        "'retries_per_stage':{'5':{'plan':1}}}");
    hydra_add("acme-web",
        "{'issues_completed':2,'retries_per_stage':{},"
        "'retries_per_stage':{'5':{'plan':9}}}");

    out = hydra_run("/api/stats");

    /* a key twice in one object: the first counts, as everywhere */
    hydra_check_int(out, "issues_completed", 3);
    hydra_check_len(out, "retries_per_stage", 1);
    hydra_check_int(out, "retries_per_stage/acme-api#5/plan", 1);
}
END_TEST


START_TEST(test_stats_strings_and_bools)
{
    hydra_add("acme-api", "{'app_version':null,'paused':null}");
    hydra_add("acme-web", "{'app_version':'1.2." "\xc3\xa9','paused':false}");
    hydra_add("tools", "{'app_version':'1.3','paused':true}");

    out = hydra_run("/api/stats");

    /* no number or container: the first string or bool, as it came */
    hydra_check_str(out, "app_version", "1.2.\xc3\xa9");
    hydra_check_bool(out, "paused", 0);
}
END_TEST


START_TEST(test_stats_huge)
{
    yajl_val  v;

    hydra_add("acme-api",
        "{'issues_completed':9223372036854775807,"
        "'prs_merged':" HYDRA_TEST_HUGE ",'issues_created':1,"
        "'total_review_seconds':1e400}");
    hydra_add("acme-web",
        "{'issues_completed':9223372036854775807,'issues_created':2}");
    hydra_add("tools", "{'total_review_seconds':1}");

    out = hydra_run("/api/stats");

    v = hydra_at(out, "issues_completed");
    ck_assert(!YAJL_IS_INTEGER(v));
    ck_assert_double_eq(v->u.number.d, 2.0 * (double) LLONG_MAX);

    hydra_check_raw(out, "prs_merged", HYDRA_TEST_HUGE);
    hydra_check_int(out, "issues_created", 3);
    hydra_check_null(out, "total_review_seconds");
}
END_TEST


/* /api/metrics */

START_TEST(test_metrics_empty)
{
    static const char  *top[] = {
        "lifetime", "rates", "time_to_merge", "thresholds",
        "inference_lifetime", "inference_session", "hydra", NULL
    };

    out = hydra_run("/api/metrics");

    hydra_check_keys(out, "", top);
    hydra_check_int(out, "lifetime/issues_completed", 0);
    hydra_check_len(out, "rates", 0);
    hydra_check_len(out, "time_to_merge", 0);
    hydra_check_len(out, "thresholds", 0);
    hydra_check_len(out, "inference_lifetime", 0);
    hydra_check_len(out, "inference_session", 0);
    hydra_check_facts(hydra_none, hydra_none);
}
END_TEST


START_TEST(test_metrics_rates_from_sums)
{
    static const char  *rates[] = {
        "merge_rate", "quality_fix_rate", "hitl_escalation_rate",
        "avg_implementation_seconds", "first_pass_approval_rate",
        "reviewer_fix_rate", "retries_per_stage", NULL
    };

    /* A's merge_rate is 0.9, B's 0.5: their mean 0.7 would be wrong */

    hydra_add("acme-api",
        "{'lifetime':{'issues_completed':10,'prs_merged':9,"
        "'total_quality_fix_rounds':5,'total_hitl_escalations':2,"
        "'total_implementation_seconds':1000.0,"
        "'total_review_approvals':8,'total_review_request_changes':2,"
        "'total_reviewer_fixes':1,"
        "'retries_per_stage':{'12':{'implement':2,'review':1}}},"
        "'rates':{'merge_rate':0.9},'thresholds':[{'name':'x'}]}");
    hydra_add("acme-web",
        "{'lifetime':{'issues_completed':30,'prs_merged':15,"
        "'total_quality_fix_rounds':15,'total_hitl_escalations':6,"
        "'total_implementation_seconds':3000.5,"
        "'total_review_approvals':12,'total_review_request_changes':8,"
        "'total_reviewer_fixes':4,"
        "'retries_per_stage':{'12':{'implement':1}}},"
        "'rates':{'merge_rate':0.5}}");

    out = hydra_run("/api/metrics");

    hydra_check_keys(out, "rates", rates);
    hydra_check_real(out, "rates/merge_rate", 0.6);
    hydra_check_real(out, "rates/quality_fix_rate", 0.5);
    hydra_check_real(out, "rates/hitl_escalation_rate", 0.2);
    hydra_check_real(out, "rates/avg_implementation_seconds", 100.0125);
    hydra_check_real(out, "rates/first_pass_approval_rate", 20.0 / 30.0);
    hydra_check_real(out, "rates/reviewer_fix_rate", 5.0 / 30.0);
    hydra_check_int(out, "rates/retries_per_stage", 4);

    /* exact: 24 / 40 written so that it reads back as 0.6 */
    hydra_check_raw(out, "rates/merge_rate", "0.6");

    hydra_check_int(out, "lifetime/issues_completed", 40);
    hydra_check_int(out, "lifetime/prs_merged", 24);
    hydra_check_len(out, "lifetime/retries_per_stage", 2);
    hydra_check_len(out, "thresholds", 0);
}
END_TEST


START_TEST(test_metrics_zero_denominators)
{
    hydra_add("acme-api",
        "{'lifetime':{'issues_completed':0,'prs_merged':3,"
        "'total_review_approvals':0,'total_review_request_changes':0,"
        "'retries_per_stage':{'1':{'plan':0}}}}");
    hydra_add("acme-web", "{'lifetime':{'issues_completed':null}}");

    out = hydra_run("/api/metrics");

    /* a rate over 0 is left out, never 0, never inf */
    hydra_check_len(out, "rates", 0);
    hydra_check_len(out, "time_to_merge", 0);
}
END_TEST


START_TEST(test_metrics_reviews_only)
{
    static const char  *rates[] = {
        "first_pass_approval_rate", "reviewer_fix_rate", NULL
    };

    hydra_add("acme-api",
        "{'lifetime':{'total_review_approvals':0,"
        "'total_review_request_changes':4,'total_reviewer_fixes':1}}");

    out = hydra_run("/api/metrics");

    hydra_check_keys(out, "rates", rates);
    hydra_check_real(out, "rates/first_pass_approval_rate", 0.0);
    hydra_check_real(out, "rates/reviewer_fix_rate", 0.25);
}
END_TEST


START_TEST(test_metrics_time_to_merge)
{
    static const char  *ttm[] = { "avg", "p50", "p90", NULL };

    hydra_add("acme-api",
        "{'lifetime':{'merge_durations':[3600.0,5400.0]}}");
    hydra_add("acme-web",
        "{'lifetime':{'merge_durations':[7200.0,1800.0,120]}}");
    hydra_add("tools", "{'lifetime':{}}");

    out = hydra_run("/api/metrics");

    /* [120, 1800, 3600, 5400, 7200]: mean 3624, d[2], d[int(4.5)] */
    hydra_check_keys(out, "time_to_merge", ttm);
    hydra_check_real(out, "time_to_merge/avg", 3624.0);
    hydra_check_real(out, "time_to_merge/p50", 3600.0);
    hydra_check_real(out, "time_to_merge/p90", 7200.0);
    hydra_check_raw(out, "time_to_merge/avg", "3624.0");

    hydra_check_len(out, "lifetime/merge_durations", 5);
}
END_TEST


START_TEST(test_metrics_percentiles_ten)
{
    /* 1..10 spread over three repos: d[5] and d[min(9, 9)] */
    hydra_add("acme-api",
        "{'lifetime':{'merge_durations':[10,3,7,'x',null]}}");
    hydra_add("acme-web", "{'lifetime':{'merge_durations':[1,9,5,2]}}");
    hydra_add("tools", "{'lifetime':{'merge_durations':[8,4,6]}}");

    out = hydra_run("/api/metrics");

    hydra_check_real(out, "time_to_merge/avg", 5.5);
    hydra_check_real(out, "time_to_merge/p50", 6.0);
    hydra_check_real(out, "time_to_merge/p90", 10.0);
}
END_TEST


START_TEST(test_metrics_percentiles_rounding)
{
    /* Python's round(x, 1): 2.25 is a tie (to even), 2.35 is above it */
    hydra_add("acme-api", "{'lifetime':{'merge_durations':[2.25]}}");

    out = hydra_run("/api/metrics");

    hydra_check_real(out, "time_to_merge/avg", 2.2);
    hydra_check_real(out, "time_to_merge/p50", 2.2);
    hydra_check_real(out, "time_to_merge/p90", 2.2);

    yajl_tree_free(out);
    hydra_jspan_out_reset(&buf);

    hydra_drop_inputs();

    hydra_add("acme-api",
        "{'lifetime':{'merge_durations':[2.35,0.04,100.25]}}");

    out = hydra_run("/api/metrics");

    /* mean 34.2133...; p50 2.35 -> 2.4; p90 100.25 (a tie) -> 100.2 */
    hydra_check_real(out, "time_to_merge/avg", 34.2);
    hydra_check_real(out, "time_to_merge/p50", 2.4);
    hydra_check_real(out, "time_to_merge/p90", 100.2);
}
END_TEST


START_TEST(test_metrics_percentiles_many)
{
    int          r, i, k, zero, below;
    char        *json, *p, num[32];
    size_t       n, size;
    double       d[300], sum, avg;
    const char  *zeros[300];

    /*
     * 300 durations over three repos, zeros of both signs in the middle:
     * they sort as a stable sort by "<" does, so p50 (d[150], a zero) is
     * the zero that came at its place, with its sign
     */

    size = 300 * 32 + 64;
    json = malloc(size);
    ck_assert_ptr_nonnull(json);

    srand(3);
    n = 0;
    zero = 0;
    below = 0;

    for (r = 0; r < 3; r++) {
        p = json;
        p += sprintf(p, "{'lifetime':{'merge_durations':[");

        for (i = 0; i < 100; i++) {
            k = (int) n;

            if (k % 3 == 0 && k < 147) {
                zeros[zero] = ((k / 3) % 2) ? "-0.0" : "0.0";
                snprintf(num, sizeof(num), "%s", ((k / 3) % 2) ? "-0.0" : "0");
                zero++;

            } else if (k < 160) {
                snprintf(num, sizeof(num), "-%.17g",
                         rand() / (double) RAND_MAX * 1e4 + 1);
                below++;

            } else {
                snprintf(num, sizeof(num), "%.17g",
                         rand() / (double) RAND_MAX * 1e4 + 1);
            }

            d[n++] = strtod(num, NULL);
            p += sprintf(p, "%s%s", i ? "," : "", num);
        }

        sprintf(p, "]}}");
        hydra_add(hydra_abc[r], json);
    }

    free(json);

    ck_assert_int_le(below, 150);
    ck_assert_int_gt(below + zero, 150);
    ck_assert_str_eq(zeros[150 - below], "-0.0");

    out = hydra_run("/api/metrics");

    qsort(d, n, sizeof(double), hydra_double_cmp);

    for (sum = 0, i = 0; i < (int) n; i++) {
        sum += d[i];
    }

    avg = sum / (double) n;
    snprintf(num, sizeof(num), "%.1f", avg);

    hydra_check_real(out, "time_to_merge/avg", strtod(num, NULL));
    hydra_check_raw(out, "time_to_merge/p50", zeros[150 - below]);
    snprintf(num, sizeof(num), "%.1f", d[270]);
    hydra_check_real(out, "time_to_merge/p90", strtod(num, NULL));
    hydra_check_len(out, "lifetime/merge_durations", 300);
}
END_TEST


START_TEST(test_metrics_percentiles_close)
{
    int      r, i, k;
    char    *json, *p;
    size_t   size;

    /*
     * 300 durations a few units apart at 1e9, shuffled: doubles that
     * close share their high 32 bits, which is not the whole order
     */

    size = 300 * 16 + 64;
    json = malloc(size);
    ck_assert_ptr_nonnull(json);

    for (r = 0; r < 3; r++) {
        p = json;
        p += sprintf(p, "{'lifetime':{'merge_durations':[");

        for (i = 0; i < 100; i++) {
            k = (r * 100 + i) * 7 % 300;
            p += sprintf(p, "%s%d", i ? "," : "", 1000000000 + k);
        }

        sprintf(p, "]}}");
        hydra_add(hydra_abc[r], json);
    }

    free(json);

    out = hydra_run("/api/metrics");

    hydra_check_raw(out, "time_to_merge/avg", "1000000149.5");
    hydra_check_raw(out, "time_to_merge/p50", "1000000150.0");
    hydra_check_raw(out, "time_to_merge/p90", "1000000270.0");
}
END_TEST


START_TEST(test_metrics_inference)
{
    static const char  *keys[] = {
        "inference_calls", "total_tokens", "cache_hits", NULL
    };

    hydra_add("acme-api",
        "{'inference_lifetime':{'inference_calls':310,"
        "'total_tokens':912000},'inference_session':{}}");
    hydra_add("acme-web",
        "{'inference_lifetime':{'inference_calls':10,'total_tokens':88000,"
        "'cache_hits':2},"
        "'inference_session':{'inference_calls':1,'total_tokens':5}}");
    hydra_add("tools", "{'inference_lifetime':[1],'inference_session':7}");

    out = hydra_run("/api/metrics");

    hydra_check_keys(out, "inference_lifetime", keys);
    hydra_check_int(out, "inference_lifetime/inference_calls", 320);
    hydra_check_int(out, "inference_lifetime/total_tokens", 1000000);
    hydra_check_int(out, "inference_lifetime/cache_hits", 2);
    hydra_check_int(out, "inference_session/inference_calls", 1);
    hydra_check_int(out, "inference_session/total_tokens", 5);
}
END_TEST


START_TEST(test_metrics_lies)
{
    hydra_add("acme-api",
        "{'lifetime':[1,2],'rates':'x','time_to_merge':3,"
        "'thresholds':null}");
    hydra_add("acme-web",
        "{'lifetime':{'issues_completed':4,'prs_merged':1e400,"
        "'merge_durations':'long','retries_per_stage':{'1':5}}}");

    out = hydra_run("/api/metrics");

    hydra_check_int(out, "lifetime/issues_completed", 4);

    /* 1e400 / 4 is inf: null, and the answer still parses */
    hydra_check_null(out, "rates/merge_rate");
    hydra_check_real(out, "rates/quality_fix_rate", 0.0);
    hydra_check_absent(out, "rates/retries_per_stage");
    hydra_check_len(out, "time_to_merge", 0);
    hydra_check_len(out, "thresholds", 0);
}
END_TEST


/* /api/metrics/github and /api/metrics/history */

START_TEST(test_github)
{
    static const char  *labels[] = {
        "hydraflow-find", "hydraflow-plan", "bug \xf0\x9f\x90\x9b", NULL
    };

    hydra_add("acme-api",
        "{'open_by_label':{'hydraflow-find':3,'hydraflow-plan':1},"
        "'total_closed':40,'total_merged':30}");
    hydra_add("acme-web",
        "{'open_by_label':{'hydraflow-plan':2,"
        "'bug \xf0\x9f\x90\x9b':1},'total_closed':null,"
        "'total_merged':2}");
    hydra_add("tools",
        "{'open_by_label':{'hydraflow-find':'many'},'total_closed':5}");

    out = hydra_run("/api/metrics/github");

    hydra_check_keys(out, "open_by_label", labels);
    hydra_check_int(out, "open_by_label/hydraflow-find", 3);
    hydra_check_int(out, "open_by_label/hydraflow-plan", 3);
    hydra_check_int(out, "open_by_label/bug \xf0\x9f\x90\x9b", 1);
    hydra_check_int(out, "total_closed", 45);
    hydra_check_int(out, "total_merged", 32);
    hydra_check_facts(hydra_abc, hydra_none);
}
END_TEST


START_TEST(test_github_empty)
{
    static const char  *top[] = {
        "open_by_label", "total_closed", "total_merged", "hydra", NULL
    };
    static const char  *failed[] = {
        "acme-api", "http 503", "acme-web", "bad json", NULL
    };

    hydra_fail("acme-api", "http 503");
    hydra_fail("acme-web", "bad json");

    out = hydra_run("/api/metrics/github");

    hydra_check_keys(out, "", top);
    hydra_check_len(out, "open_by_label", 0);
    hydra_check_int(out, "total_closed", 0);
    hydra_check_int(out, "total_merged", 0);
    hydra_check_facts(hydra_none, failed);
}
END_TEST


START_TEST(test_history)
{
    static const char  *top[] = { "snapshots", "current", "hydra", NULL };

    hydra_add("acme-api",
        "{'snapshots':[{'timestamp':'t','issues_completed':1}],"
        "'current':{'issues_completed':2}}");
    hydra_add("acme-web", "{'snapshots':[],'current':null}");

    out = hydra_run("/api/metrics/history");

    hydra_check_keys(out, "", top);
    hydra_check_len(out, "snapshots", 0);
    hydra_check_null(out, "current");
    hydra_check_len(out, "hydra/answered", 2);
}
END_TEST


/* /api/hitl, /api/prs, /api/timeline, /api/system/workers */

START_TEST(test_lists_empty)
{
    out = hydra_run("/api/hitl");
    ck_assert(YAJL_IS_ARRAY(out));
    hydra_check_len(out, "", 0);
}
END_TEST


START_TEST(test_hitl)
{
    static const char  *item[] = {
        "issue", "title", "issueUrl", "pr", "status", "visualEvidence",
        "repo", NULL
    };

    hydra_add("acme-api",
        "[{'issue':12,'title':'" HYDRA_TEST_UNICODE "','issueUrl':'u',"
        "'pr':57,'status':'pending','visualEvidence':null}]");
    hydra_add("acme-web",
        "[{'issue':12,'repo':'acme/web','title':'w','pr':"
        HYDRA_TEST_HUGE "},7,{'issue':3}]");
    hydra_add("tools", "[]");
    hydra_fail("acme-docs", "connect");

    out = hydra_run("/api/hitl");

    ck_assert(YAJL_IS_ARRAY(out));
    hydra_check_len(out, "", 3);
    hydra_check_keys(out, "0", item);
    hydra_check_str(out, "0/title", HYDRA_TEST_UNICODE);
    hydra_check_null(out, "0/visualEvidence");
    hydra_check_str(out, "0/repo", "acme-api");
    hydra_check_int(out, "1/issue", 12);
    hydra_check_str(out, "1/repo", "acme-web");
    hydra_check_raw(out, "1/pr", HYDRA_TEST_HUGE);
    hydra_check_str(out, "2/repo", "acme-web");
    hydra_check_no_facts();
}
END_TEST


START_TEST(test_prs_and_timeline)
{
    hydra_add("acme-api",
        "[{'pr':57,'issue':12,'draft':false},{'pr':58,'issue':13}]");
    hydra_add("acme-web", "[{'pr':57,'issue':12,'draft':true}]");

    out = hydra_run("/api/prs");

    hydra_check_len(out, "", 3);
    hydra_check_str(out, "0/repo", "acme-api");
    hydra_check_str(out, "1/repo", "acme-api");
    hydra_check_bool(out, "2/draft", 1);
    hydra_check_str(out, "2/repo", "acme-web");

    yajl_tree_free(out);
    hydra_jspan_out_reset(&buf);

    hydra_drop_inputs();

    hydra_add("acme-api",
        "[{'issue_number':12,'stages':[{'stage':'triage',"
        "'status':'done','duration_seconds':1200.0,"
        "'metadata':{'repo':'kept'}}],'pr_number':null}]");
    hydra_add("acme-web", "[{'issue_number':12,'stages':[]}]");

    out = hydra_run("/api/timeline");

    hydra_check_len(out, "", 2);
    hydra_check_raw(out, "0/stages/0/duration_seconds", "1200.0");

    /* only the item's own "repo" is the tag's: nested ones are data */
    hydra_check_str(out, "0/stages/0/metadata/repo", "kept");
    hydra_check_null(out, "0/pr_number");
    hydra_check_str(out, "1/repo", "acme-web");
}
END_TEST


START_TEST(test_lists_valid)
{
    ck_assert_int_eq(hydra_valid("/api/hitl", "[]"), 1);
    ck_assert_int_eq(hydra_valid("/api/hitl", "[1,'x']"), 1);
    ck_assert_int_eq(hydra_valid("/api/hitl", "{}"), 0);
    ck_assert_int_eq(hydra_valid("/api/prs", "{'error':'x'}"), 0);
    ck_assert_int_eq(hydra_valid("/api/timeline", "null"), 0);
    ck_assert_int_eq(hydra_valid("/api/events", "{}"), 0);
    ck_assert_int_eq(hydra_valid("/api/sessions", "'x'"), 0);
}
END_TEST


START_TEST(test_workers)
{
    static const char  *top[] = { "workers", "hydra", NULL };

    hydra_add("acme-api",
        "{'workers':[{'name':'triage','status':'ok','enabled':true,"
        "'details':{}},{'name':'plan','repo':'x'}]}");
    hydra_add("acme-web",
        "{'workers':[{'name':'triage','status':'error'},null]}");

    out = hydra_run("/api/system/workers");

    hydra_check_keys(out, "", top);
    hydra_check_len(out, "workers", 3);
    hydra_check_str(out, "workers/0/name", "triage");
    hydra_check_str(out, "workers/0/repo", "acme-api");
    hydra_check_str(out, "workers/1/repo", "acme-api");
    hydra_check_str(out, "workers/2/status", "error");
    hydra_check_str(out, "workers/2/repo", "acme-web");
    hydra_check_len(out, "hydra/answered", 2);
}
END_TEST


START_TEST(test_workers_valid)
{
    ck_assert_int_eq(hydra_valid("/api/system/workers", "{'workers':[]}"),
                     1);
    ck_assert_int_eq(hydra_valid("/api/system/workers", "{}"), 0);
    ck_assert_int_eq(hydra_valid("/api/system/workers",
                                 "{'workers':{}}"), 0);
    ck_assert_int_eq(hydra_valid("/api/system/workers",
                                 "{'workers':null}"), 0);
    ck_assert_int_eq(hydra_valid("/api/system/workers", "[]"), 0);
}
END_TEST


START_TEST(test_workers_empty)
{
    out = hydra_run("/api/system/workers");

    hydra_check_len(out, "workers", 0);
    hydra_check_facts(hydra_none, hydra_none);
}
END_TEST


/* /api/events */

START_TEST(test_events_sorted)
{
    static const char  *order[] = {
        "no-ts", "b1", "a1", "c1", "a2", "b3", "b7", NULL
    };

    size_t  i;
    char    path[16];

    hydra_add("acme-api",
        "[{'id':1,'timestamp':'2026-03-05T10:00:02+00:00','type':'a1'},"
        "{'id':2,'timestamp':'2026-03-05T10:00:04+00:00','type':'a2'}]");
    hydra_add("acme-web",
        "[{'id':1,'timestamp':'2026-03-05T10:00:01+00:00','type':'b1'},"
        "{'id':7,'timestamp':'2026-03-05T10:00:04+00:00','type':'b7'},"
        "{'id':3,'timestamp':'2026-03-05T10:00:04+00:00','type':'b3',"
        "'repo':null}]");
    hydra_add("tools",
        "[{'id':1,'timestamp':'2026-03-05T10:00:02+00:00','type':'c1'},"
        "5,{'type':'no-ts','id':9}]");

    out = hydra_run("/api/events");

    hydra_check_len(out, "", 7);

    for (i = 0; order[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%zu/type", i);
        hydra_check_str(out, path, order[i]);
    }

    hydra_check_str(out, "1/repo", "acme-web");
    hydra_check_str(out, "2/repo", "acme-api");
    hydra_check_str(out, "3/repo", "tools");
    hydra_check_str(out, "5/repo", "acme-web");
    hydra_check_int(out, "5/id", 3);
    hydra_check_no_facts();
}
END_TEST


START_TEST(test_events_ties)
{
    /* same (timestamp, id) in three repos: the repos' order is kept */
    hydra_add("acme-api", "[{'id':4,'timestamp':'t','n':1}]");
    hydra_add("acme-web",
        "[{'id':4,'timestamp':'t','n':2},{'id':'4','timestamp':'t','n':0},"
        "{'id':3.5,'timestamp':'t','n':-1}]");
    hydra_add("tools", "[{'id':4,'timestamp':'t','n':3}]");

    out = hydra_run("/api/events");

    /* no numeric id first, then by id as a number */
    hydra_check_int(out, "0/n", 0);
    hydra_check_int(out, "1/n", -1);
    hydra_check_int(out, "2/n", 1);
    hydra_check_int(out, "3/n", 2);
    hydra_check_int(out, "4/n", 3);
}
END_TEST


START_TEST(test_events_empty)
{
    hydra_add("acme-api", "[]");

    out = hydra_run("/api/events");
    ck_assert(YAJL_IS_ARRAY(out));
    hydra_check_len(out, "", 0);
}
END_TEST


/* /api/sessions */

START_TEST(test_sessions_sorted)
{
    static const char  *order[] = {
        "b-new", "acme-api-1", "c-mid", "a-old", "b-none", "b-null", NULL
    };

    size_t  i;
    char    path[16];

    hydra_add("acme-api",
        "[{'id':'acme-api-1','repo':'acme/api',"
        "'started_at':'2026-03-05T09:00:00+00:00'},"
        "{'id':'a-old','started_at':'2026-03-01T00:00:00+00:00'}]");
    hydra_add("acme-web",
        "[{'id':'b-new','started_at':'2026-03-06T00:00:00+00:00',"
        "'issues_processed':[1,2]},{'id':'b-none'},"
        "{'id':'b-null','started_at':null}]");
    hydra_add("tools",
        "[{'id':'c-mid','started_at':'2026-03-04T00:00:00+00:00'},42]");

    out = hydra_run("/api/sessions");

    hydra_check_len(out, "", 6);

    for (i = 0; order[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%zu/id", i);
        hydra_check_str(out, path, order[i]);
    }

    /*
     * SessionLog's own "owner/name" repo stays as written; a session
     * without one gets its repo's tag
     */
    hydra_check_str(out, "1/repo", "acme/api");
    hydra_check_str(out, "0/repo", "acme-web");
    hydra_check_len(out, "0/issues_processed", 2);
    hydra_check_no_facts();
}
END_TEST


START_TEST(test_sessions_limit)
{
    hydra_add("acme-api",
        "[{'id':'a1','started_at':'2026-03-01'},"
        "{'id':'a2','started_at':'2026-03-03'}]");
    hydra_add("acme-web",
        "[{'id':'b1','started_at':'2026-03-02'},"
        "{'id':'b2','started_at':'2026-03-04'}]");

    limit = 3;
    out = hydra_run("/api/sessions");

    hydra_check_len(out, "", 3);
    hydra_check_str(out, "0/id", "b2");
    hydra_check_str(out, "1/id", "a2");
    hydra_check_str(out, "2/id", "b1");
}
END_TEST


START_TEST(test_sessions_default_limit)
{
    int     r, i;
    char   *p, *json;
    size_t  size;

    size = 64 * 40 + 16;
    json = malloc(size);
    ck_assert_ptr_nonnull(json);

    for (r = 0; r < 2; r++) {
        p = json;
        p += sprintf(p, "[");

        for (i = 0; i < 30; i++) {
            p += sprintf(p, "%s{'id':'%c%02d','started_at':'2026-03-%02d'}",
                         i ? "," : "", 'a' + r, i, i + 1);
        }

        sprintf(p, "]");
        hydra_add(r ? "acme-web" : "acme-api", json);
    }

    free(json);

    limit = 0;
    out = hydra_run("/api/sessions");

    hydra_check_len(out, "", HYDRA_MERGE_SESSIONS_MAX);
    hydra_check_str(out, "0/id", "a29");
    hydra_check_str(out, "1/id", "b29");
    hydra_check_str(out, "48/id", "a05");
    hydra_check_str(out, "49/id", "b05");
}
END_TEST


/* /api/control/status */

START_TEST(test_control_precedence)
{
    static const char  *cases[][4] = {
        { "running", "credits_paused", "idle", "credits_paused" },
        { "done", "stopping", "idle", "stopping" },
        { "idle", "auth_failed", "running", "auth_failed" },
        { "idle", "done", "idle", "done" },
        { "running", "credits_paused", "auth_failed", "credits_paused" },
        { "idle", "idle", "idle", "idle" },
        { "weird", "odd", "stranger", "weird" }
    };

    size_t  c, r;
    char    json[128];

    for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (r = 0; r < 3; r++) {
            snprintf(json, sizeof(json), "{'status':'%s'}", cases[c][r]);
            hydra_add(hydra_abc[r], json);
        }

        out = hydra_run("/api/control/status");
        hydra_check_str(out, "status", cases[c][3]);

        yajl_tree_free(out);
        out = NULL;
        hydra_jspan_out_reset(&buf);

        hydra_drop_inputs();
    }
}
END_TEST


START_TEST(test_control_three)
{
    static const char  *top[] = {
        "status", "credits_paused_until", "config", "current_session_id",
        "repos", "hydra", NULL
    };
    static const char  *repo[] = {
        "slug", "status", "credits_paused_until", "config", NULL
    };

    hydra_add("acme-api",
        "{'status':'running','credits_paused_until':null,"
        "'config':{'repo':'acme/api','max_workers':2},"
        "'current_session_id':'acme-api-20260305T090000'}");
    hydra_add("acme-web",
        "{'status':'credits_paused',"
        "'credits_paused_until':'2026-03-05T12:00:00+00:00',"
        "'config':{'repo':'acme/web','max_workers':3}}");
    hydra_add("tools",
        "{'status':'credits_paused',"
        "'credits_paused_until':'2026-03-05T11:00:00+00:00'}");

    out = hydra_run("/api/control/status");

    hydra_check_keys(out, "", top);
    hydra_check_str(out, "status", "credits_paused");
    hydra_check_str(out, "credits_paused_until", "2026-03-05T11:00:00+00:00");
    hydra_check_str(out, "config/repo", "acme/api");
    hydra_check_int(out, "config/max_workers", 2);
    hydra_check_null(out, "current_session_id");

    hydra_check_len(out, "repos", 3);
    hydra_check_keys(out, "repos/0", repo);
    hydra_check_str(out, "repos/0/slug", "acme-api");
    hydra_check_str(out, "repos/0/status", "running");
    hydra_check_null(out, "repos/0/credits_paused_until");
    hydra_check_str(out, "repos/1/slug", "acme-web");
    hydra_check_str(out, "repos/1/credits_paused_until",
                    "2026-03-05T12:00:00+00:00");
    hydra_check_int(out, "repos/1/config/max_workers", 3);
    hydra_check_str(out, "repos/2/slug", "tools");
    hydra_check_null(out, "repos/2/config");
    hydra_check_facts(hydra_abc, hydra_none);
}
END_TEST


START_TEST(test_control_empty)
{
    static const char  *failed[] = { "acme-api", "timeout", NULL };

    hydra_fail("acme-api", "timeout");

    out = hydra_run("/api/control/status");

    hydra_check_str(out, "status", "idle");
    hydra_check_null(out, "credits_paused_until");
    hydra_check_null(out, "config");
    hydra_check_null(out, "current_session_id");
    hydra_check_len(out, "repos", 0);
    hydra_check_facts(hydra_none, failed);
}
END_TEST


START_TEST(test_control_lies)
{
    hydra_add("acme-api",
        "{'status':3,'credits_paused_until':5,'config':'x'}");
    hydra_add("acme-web",
        "{'status':null,'config':{'repo':'acme/web'}}");
    hydra_add("tools", "{'status':'stopping'}");

    out = hydra_run("/api/control/status");

    hydra_check_str(out, "status", "stopping");
    hydra_check_null(out, "credits_paused_until");
    hydra_check_str(out, "config/repo", "acme/web");

    /* each repo's detail is what it said */
    hydra_check_int(out, "repos/0/status", 3);
    hydra_check_str(out, "repos/0/config", "x");
    hydra_check_null(out, "repos/1/status");
    hydra_check_null(out, "repos/2/credits_paused_until");
}
END_TEST


/* /api/issues/outcomes and /api/human-input */

START_TEST(test_outcomes)
{
    static const char  *keys[] = {
        "acme-api#12", "acme-api#13", "acme-web#12", NULL
    };

    hydra_add("acme-api",
        "{'12':{'outcome':'merged','pr_number':57},"
        "'13':{'outcome':'failed','repo':'acme/api'},'14':'bogus'}");
    hydra_add("acme-web", "{'12':{'outcome':'hitl_closed'},'15':null}");
    hydra_add("tools", "{}");

    out = hydra_run("/api/issues/outcomes");

    hydra_check_keys(out, "", keys);
    hydra_check_str(out, "acme-api#12/outcome", "merged");
    hydra_check_int(out, "acme-api#12/pr_number", 57);
    hydra_check_str(out, "acme-api#12/repo", "acme-api");
    hydra_check_str(out, "acme-api#13/repo", "acme-api");
    hydra_check_str(out, "acme-web#12/outcome", "hitl_closed");
    hydra_check_str(out, "acme-web#12/repo", "acme-web");
}
END_TEST


START_TEST(test_outcomes_empty)
{
    static const char  *keys[] = { NULL };

    out = hydra_run("/api/issues/outcomes");
    hydra_check_keys(out, "", keys);

    ck_assert_int_eq(hydra_valid("/api/issues/outcomes", "[]"), 0);
    ck_assert_int_eq(hydra_valid("/api/issues/outcomes", "{}"), 1);
}
END_TEST


START_TEST(test_human_input)
{
    static const char  *keys[] = {
        "acme-api#12", "acme-web#12", "acme-web#3", NULL
    };

    hydra_add("acme-api", "{'12':'" HYDRA_TEST_UNICODE "?'}");
    hydra_add("acme-web", "{'12':'Which DB?','3':null}");

    out = hydra_run("/api/human-input");

    hydra_check_keys(out, "", keys);
    hydra_check_str(out, "acme-api#12", HYDRA_TEST_UNICODE "?");
    hydra_check_str(out, "acme-web#12", "Which DB?");
    hydra_check_null(out, "acme-web#3");
}
END_TEST


/* every rule */

START_TEST(test_all_empty)
{
    size_t                     i;
    yajl_val                   hydra;
    const hydra_merge_rule_t  *rule;

    for (i = 0; hydra_views[i] != NULL; i++) {
        rule = hydra_merge_rule(hydra_views[i], strlen(hydra_views[i]));

        out = hydra_run(hydra_views[i]);
        hydra = hydra_at(out, "hydra");

        if (rule->shape == HYDRA_MERGE_OBJECT) {
            ck_assert_msg(YAJL_IS_OBJECT(out), "%s", hydra_views[i]);
            ck_assert_msg(YAJL_IS_OBJECT(hydra), "%s", hydra_views[i]);

        } else if (rule->shape == HYDRA_MERGE_MAP) {
            ck_assert_msg(YAJL_IS_OBJECT(out), "%s", hydra_views[i]);
            ck_assert_msg(hydra == NULL, "%s", hydra_views[i]);

        } else {
            ck_assert_msg(YAJL_IS_ARRAY(out), "%s", hydra_views[i]);
        }

        yajl_tree_free(out);
        out = NULL;
        hydra_jspan_out_reset(&buf);
    }
}
END_TEST


START_TEST(test_all_lying_repos)
{
    static const char  *bodies[] = {
        "{}", "[]", "{'stages':{}}", "{'stages':{'plan':[]}}",
        "{'workers':[]}", "{'workers':[1,[],{}]}",
        "[null,1,'x',[],{}]", "{'a':[{'b':{}}],'c':null,'d':true}",
        "{'stages':{'x':[null,{'repo':{'repo':1}}]},'ready':[]}",
        "{'lifetime':{'merge_durations':[1e400,-1e400]},'queue':7}",
        "{'12':[],'13':{},'14':'" HYDRA_TEST_UNICODE "'}",
        "{'status':{},'credits_paused_until':[],'config':[]}",
        "[{'id':null,'timestamp':5,'started_at':{}},{'id':1e400}]",
        "{'open_by_label':[],'total_closed':'x','total_merged':{}}",
        "{'queue_depth':null,'last_poll_timestamp':[],'in_flight_count':{}}",
        "{'retries_per_stage':{'1':[],'2':3},'fired_thresholds':[[],{}]}",
        NULL
    };

    size_t                     v, b, n;
    const hydra_merge_rule_t  *rule;

    /* whatever passes valid() merges into JSON that parses */

    for (v = 0; hydra_views[v] != NULL; v++) {
        rule = hydra_merge_rule(hydra_views[v], strlen(hydra_views[v]));
        n = 0;

        for (b = 0; bodies[b] != NULL; b++) {
            n += hydra_add_text(hydra_abc[n % 3], hydra_quote(bodies[b]),
                                HYDRA_MERGE_DEPTH_MAX, rule);
        }

        out = hydra_run(hydra_views[v]);
        ck_assert_msg(out != NULL, "%s", hydra_views[v]);

        yajl_tree_free(out);
        out = NULL;
        hydra_jspan_out_reset(&buf);

        hydra_drop_inputs();
    }
}
END_TEST


START_TEST(test_all_gen_errors)
{
    size_t  i;

    /* an output that refuses the first byte: every rule says so */

    for (i = 0; hydra_views[i] != NULL; i++) {
        hydra_jspan_out_reset(&buf);
        hydra_jspan_out_limit(&buf, 0);

        ck_assert_msg(hydra_run_status(hydra_views[i]) == HYDRA_ERROR,
                      "%s", hydra_views[i]);
    }
}
END_TEST


START_TEST(test_all_out_short)
{
    size_t  i, len, max;

    /* an output one byte too short, wherever: the rule fails, never cuts */

    hydra_add("acme-api",
        "{'stages':{'plan':[{'issue_number':1,'repo':'x'}]},"
        "'lifetime':{'issues_completed':3,'merge_durations':[1.5,2],"
        "'retries_per_stage':{'4':{'plan':1}}},"
        "'status':'running','12':{'a':1}}");
    hydra_add("acme-web",
        "{'stages':{'plan':[{'issue_number':2}]},"
        "'lifetime':{'issues_completed':4,'fired_thresholds':['a']},"
        "'workers':[{'name':'w'}],'status':'idle'}");
    hydra_fail("tools", "timeout");

    for (i = 0; hydra_views[i] != NULL; i++) {
        hydra_jspan_out_reset(&buf);
        hydra_jspan_out_limit(&buf, (size_t) -1);
        ck_assert_int_eq(hydra_run_status(hydra_views[i]), HYDRA_OK);
        len = buf.pos - buf.start;

        for (max = 0; max < len; max++) {
            hydra_jspan_out_reset(&buf);
            hydra_jspan_out_limit(&buf, max);

            ck_assert_msg(hydra_run_status(hydra_views[i]) == HYDRA_ERROR,
                          "%s: %zu of %zu bytes", hydra_views[i], max, len);
        }

        hydra_jspan_out_reset(&buf);
        hydra_jspan_out_limit(&buf, len);
        ck_assert_int_eq(hydra_run_status(hydra_views[i]), HYDRA_OK);
        ck_assert_uint_eq((size_t) (buf.pos - buf.start), len);
    }
}
END_TEST


START_TEST(test_all_bad_utf8_tag)
{
    /* a tag that is not UTF-8 fails the merge, it is never sent */
    hydra_add("acme-\xff", "[{'issue':1}]");
    ck_assert_int_eq(hydra_run_status("/api/hitl"), HYDRA_ERROR);

    hydra_jspan_out_reset(&buf);

    ck_assert_int_eq(hydra_run_status("/api/queue"), HYDRA_ERROR);
}
END_TEST


Suite *
hydra_merge_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_merge");

    tc = tcase_create("rule_table");
    tcase_add_test(tc, test_rule_lookup);
    tcase_add_test(tc, test_rule_exact);
    suite_add_tcase(s, tc);

    tc = tcase_create("depth");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_depth_hostile);
    tcase_add_test(tc, test_depth_limit);
    tcase_add_test(tc, test_depth_strings);
    tcase_add_test(tc, test_depth_copy_capped);
    tcase_add_test(tc, test_depth_merge_capped);
    tcase_add_test(tc, test_depth_max_merges);
    suite_add_tcase(s, tc);

    tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_pipeline_empty);
    tcase_add_test(tc, test_pipeline_one);
    tcase_add_test(tc, test_pipeline_three);
    tcase_add_test(tc, test_pipeline_ready);
    tcase_add_test(tc, test_pipeline_ready_lies);
    tcase_add_test(tc, test_pipeline_bad_items);
    tcase_add_test(tc, test_pipeline_duplicate_stage);
    tcase_add_test(tc, test_pipeline_values_kept);
    tcase_add_test(tc, test_pipeline_valid);
    suite_add_tcase(s, tc);

    tc = tcase_create("queue");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_queue_empty);
    tcase_add_test(tc, test_queue_one);
    tcase_add_test(tc, test_queue_three);
    tcase_add_test(tc, test_queue_nulls);
    tcase_add_test(tc, test_queue_wrong_types);
    tcase_add_test(tc, test_queue_huge);
    tcase_add_test(tc, test_queue_integer_vs_double);
    suite_add_tcase(s, tc);

    tc = tcase_create("pipeline_stats");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_pipeline_stats_empty);
    tcase_add_test(tc, test_pipeline_stats_no_orchestrator);
    tcase_add_test(tc, test_pipeline_stats_one);
    tcase_add_test(tc, test_pipeline_stats_three);
    tcase_add_test(tc, test_pipeline_stats_wrong_types);
    tcase_add_test(tc, test_pipeline_stats_valid);
    suite_add_tcase(s, tc);

    tc = tcase_create("stats");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_stats_empty);
    tcase_add_test(tc, test_stats_one);
    tcase_add_test(tc, test_stats_three);
    tcase_add_test(tc, test_stats_nulls_and_lies);
    tcase_add_test(tc, test_stats_duplicate_keys);
    tcase_add_test(tc, test_stats_strings_and_bools);
    tcase_add_test(tc, test_stats_huge);
    suite_add_tcase(s, tc);

    tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_metrics_empty);
    tcase_add_test(tc, test_metrics_rates_from_sums);
    tcase_add_test(tc, test_metrics_zero_denominators);
    tcase_add_test(tc, test_metrics_reviews_only);
    tcase_add_test(tc, test_metrics_time_to_merge);
    tcase_add_test(tc, test_metrics_percentiles_ten);
    tcase_add_test(tc, test_metrics_percentiles_rounding);
    tcase_add_test(tc, test_metrics_percentiles_many);
    tcase_add_test(tc, test_metrics_percentiles_close);
    tcase_add_test(tc, test_metrics_inference);
    tcase_add_test(tc, test_metrics_lies);
    suite_add_tcase(s, tc);

    tc = tcase_create("github_history");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_github);
    tcase_add_test(tc, test_github_empty);
    tcase_add_test(tc, test_history);
    suite_add_tcase(s, tc);

    tc = tcase_create("tagged_lists");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_lists_empty);
    tcase_add_test(tc, test_hitl);
    tcase_add_test(tc, test_prs_and_timeline);
    tcase_add_test(tc, test_lists_valid);
    tcase_add_test(tc, test_workers);
    tcase_add_test(tc, test_workers_valid);
    tcase_add_test(tc, test_workers_empty);
    suite_add_tcase(s, tc);

    tc = tcase_create("events");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_events_sorted);
    tcase_add_test(tc, test_events_ties);
    tcase_add_test(tc, test_events_empty);
    suite_add_tcase(s, tc);

    tc = tcase_create("sessions");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_sessions_sorted);
    tcase_add_test(tc, test_sessions_limit);
    tcase_add_test(tc, test_sessions_default_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("control_status");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_control_precedence);
    tcase_add_test(tc, test_control_three);
    tcase_add_test(tc, test_control_empty);
    tcase_add_test(tc, test_control_lies);
    suite_add_tcase(s, tc);

    tc = tcase_create("issue_maps");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_outcomes);
    tcase_add_test(tc, test_outcomes_empty);
    tcase_add_test(tc, test_human_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("every_rule");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_all_empty);
    tcase_add_test(tc, test_all_lying_repos);
    tcase_add_test(tc, test_all_gen_errors);
    tcase_add_test(tc, test_all_out_short);
    tcase_add_test(tc, test_all_bad_utf8_tag);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_merge_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


/* an output as the glue makes it: growing from a few bytes */

static void
hydra_setup(void)
{
    ck_assert_int_eq(hydra_jspan_out_init(&buf, 16), HYDRA_OK);

    out = NULL;
    limit = 0;
    ninputs = 0;
    nfailures = 0;
}


static void
hydra_teardown(void)
{
    hydra_drop_inputs();
    yajl_tree_free(out);
    hydra_jspan_out_free(&buf);
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


/* a repo's answer, checked and parsed as the glue does it */

static void
hydra_add(const char *repo, const char *json)
{
    char  *s;

    s = hydra_quote(json);

    ck_assert_int_eq(hydra_merge_depth_ok(s, strlen(s),
                                          HYDRA_MERGE_DEPTH_MAX), 1);

    ck_assert_int_eq(hydra_add_text(repo, s, HYDRA_MERGE_DEPTH_MAX, NULL),
                     1);
}


/* an answer nested deeper than the glue allows, handed over anyway */

static void
hydra_add_unchecked(const char *repo, const char *json)
{
    char  *s;

    s = strdup(json);
    ck_assert_ptr_nonnull(s);

    ck_assert_int_eq(hydra_add_text(repo, s, UINT_MAX, NULL), 1);
}


/*
 * Parses text (which the input keeps) as an input of repo, if it is
 * JSON and, with a rule, passes its valid(): 1, else 0 and it is freed.
 */

static int
hydra_add_text(const char *repo, char *text, unsigned depth,
    const hydra_merge_rule_t *rule)
{
    hydra_jspan_doc_t  *doc;

    ck_assert_uint_lt(ninputs, HYDRA_TEST_INPUTS);

    doc = &docs[ninputs];

    ck_assert_msg(hydra_jspan_parse(doc, text, strlen(text), depth)
                  == HYDRA_OK, "%s at %zu: %s", doc->error, doc->error_at,
                  text);

    if (rule != NULL && !rule->valid(hydra_jspan_root(doc))) {
        hydra_jspan_free(doc);
        free(text);
        return 0;
    }

    texts[ninputs] = text;
    inputs[ninputs].repo = repo;
    inputs[ninputs].root = hydra_jspan_root(doc);
    ninputs++;

    return 1;
}


static void
hydra_drop_inputs(void)
{
    size_t  i;

    for (i = 0; i < ninputs; i++) {
        hydra_jspan_free(&docs[i]);
        free(texts[i]);
    }

    ninputs = 0;
}


static void
hydra_fail(const char *repo, const char *reason)
{
    ck_assert_uint_lt(nfailures, HYDRA_TEST_INPUTS);

    failures[nfailures].repo = repo;
    failures[nfailures].reason = reason;
    nfailures++;
}


/* every input passes the view's valid(), the merge works and parses */

static yajl_val
hydra_run(const char *view)
{
    char                      *text, err[128];
    size_t                     i, len;
    yajl_val                   root;
    const hydra_merge_rule_t  *rule;

    rule = hydra_merge_rule(view, strlen(view));
    ck_assert_ptr_nonnull(rule);

    for (i = 0; i < ninputs; i++) {
        ck_assert_msg(rule->valid(inputs[i].root), "%s: input %zu", view, i);
    }

    ck_assert_int_eq(hydra_run_status(view), HYDRA_OK);
    ck_assert_int_eq(buf.failed, 0);
    len = buf.pos - buf.start;

    text = malloc(len + 1);
    ck_assert_ptr_nonnull(text);
    memcpy(text, buf.start, len);
    text[len] = '\0';

    root = yajl_tree_parse(text, err, sizeof(err));
    ck_assert_msg(root != NULL, "%s: %s", err, text);
    free(text);

    return root;
}


static int
hydra_run_status(const char *view)
{
    hydra_merge_t              m;
    const hydra_merge_rule_t  *rule;

    rule = hydra_merge_rule(view, strlen(view));
    ck_assert_ptr_nonnull(rule);

    m.inputs = inputs;
    m.ninputs = ninputs;
    m.failures = failures;
    m.nfailures = nfailures;
    m.limit = limit;

    return rule->merge(&buf, &m);
}


static int
hydra_valid(const char *view, const char *json)
{
    int                        ok;
    char                      *s;
    hydra_jspan_doc_t          doc;
    const hydra_merge_rule_t  *rule;

    rule = hydra_merge_rule(view, strlen(view));
    ck_assert_ptr_nonnull(rule);

    s = hydra_quote(json);
    ck_assert_int_eq(hydra_jspan_parse(&doc, s, strlen(s),
                                       HYDRA_MERGE_DEPTH_MAX), HYDRA_OK);

    ok = rule->valid(hydra_jspan_root(&doc));

    hydra_jspan_free(&doc);
    free(s);

    return ok;
}


/* open repeated depth times, mid, then as many close: "[[[...]]]" */

static char *
hydra_nested(const char *open, const char *mid, const char *close,
    size_t depth)
{
    char    *s, *p;
    size_t   i, olen, mlen, clen;

    olen = strlen(open);
    mlen = strlen(mid);
    clen = strlen(close);

    s = malloc(depth * (olen + clen) + mlen + 1);
    ck_assert_ptr_nonnull(s);

    p = s;

    for (i = 0; i < depth; i++) {
        memcpy(p, open, olen);
        p += olen;
    }

    memcpy(p, mid, mlen);
    p += mlen;

    for (i = 0; i < depth; i++) {
        memcpy(p, close, clen);
        p += clen;
    }

    *p = '\0';

    return s;
}


/*
 * "stages/plan/0/repo": object keys and array indexes separated by "/";
 * "" is v itself.  NULL when there is no such value.
 */

static yajl_val
hydra_at(yajl_val v, const char *path)
{
    char         seg[256];
    size_t       i, len;
    const char  *end;

    while (*path != '\0' && v != NULL) {
        end = strchr(path, '/');
        len = end != NULL ? (size_t) (end - path) : strlen(path);
        ck_assert_uint_lt(len, sizeof(seg));

        memcpy(seg, path, len);
        seg[len] = '\0';
        path += len + (end != NULL);

        if (YAJL_IS_ARRAY(v)) {
            i = strtoul(seg, NULL, 10);
            v = i < v->u.array.len ? v->u.array.values[i] : NULL;
            continue;
        }

        if (!YAJL_IS_OBJECT(v)) {
            return NULL;
        }

        for (i = 0; i < v->u.object.len; i++) {
            if (strcmp(v->u.object.keys[i], seg) == 0) {
                break;
            }
        }

        v = i < v->u.object.len ? v->u.object.values[i] : NULL;
    }

    return v;
}


static void
hydra_check_int(yajl_val v, const char *path, long long expect)
{
    yajl_val  x;

    x = hydra_at(v, path);
    ck_assert_msg(YAJL_IS_INTEGER(x), "%s: not an integer", path);
    ck_assert_msg(x->u.number.i == expect, "%s: %lld, not %lld", path,
                  x->u.number.i, expect);
}


/* a number written as a double ("3.0", never "3"), equal to expect */

static void
hydra_check_real(yajl_val v, const char *path, double expect)
{
    yajl_val  x;

    x = hydra_at(v, path);
    ck_assert_msg(YAJL_IS_DOUBLE(x), "%s: not a double", path);
    ck_assert_msg(!YAJL_IS_INTEGER(x), "%s: written as an integer: %s",
                  path, x->u.number.r);
    ck_assert_msg(x->u.number.d == expect, "%s: %s, not %.17g", path,
                  x->u.number.r, expect);
}


static void
hydra_check_raw(yajl_val v, const char *path, const char *expect)
{
    yajl_val  x;

    x = hydra_at(v, path);
    ck_assert_msg(YAJL_IS_NUMBER(x), "%s: not a number", path);
    ck_assert_str_eq(x->u.number.r, expect);
}


static void
hydra_check_str(yajl_val v, const char *path, const char *expect)
{
    yajl_val  x;

    x = hydra_at(v, path);
    ck_assert_msg(YAJL_IS_STRING(x), "%s: not a string", path);
    ck_assert_str_eq(YAJL_GET_STRING(x), expect);
}


static void
hydra_check_null(yajl_val v, const char *path)
{
    yajl_val  x;

    x = hydra_at(v, path);
    ck_assert_msg(x != NULL, "%s: absent", path);
    ck_assert_msg(YAJL_IS_NULL(x), "%s: not null", path);
}


static void
hydra_check_bool(yajl_val v, const char *path, int expect)
{
    yajl_val  x;

    x = hydra_at(v, path);
    ck_assert_msg(expect ? YAJL_IS_TRUE(x) : YAJL_IS_FALSE(x),
                  "%s: not %s", path, expect ? "true" : "false");
}


static void
hydra_check_absent(yajl_val v, const char *path)
{
    ck_assert_msg(hydra_at(v, path) == NULL, "%s: present", path);
}


/* the length of an array, or the number of keys of an object */

static void
hydra_check_len(yajl_val v, const char *path, size_t expect)
{
    yajl_val  x;

    x = hydra_at(v, path);

    if (YAJL_IS_ARRAY(x)) {
        ck_assert_msg(x->u.array.len == expect, "%s: %zu items, not %zu",
                      path, x->u.array.len, expect);
        return;
    }

    ck_assert_msg(YAJL_IS_OBJECT(x), "%s: not an array or object", path);
    ck_assert_msg(x->u.object.len == expect, "%s: %zu keys, not %zu",
                  path, x->u.object.len, expect);
}


/* exactly these keys, in this order */

static void
hydra_check_keys(yajl_val v, const char *path, const char **keys)
{
    size_t    i;
    yajl_val  x;

    x = hydra_at(v, path);
    ck_assert_msg(YAJL_IS_OBJECT(x), "%s: not an object", path);

    for (i = 0; keys[i] != NULL; i++) {
        ck_assert_msg(i < x->u.object.len, "%s: no key %s", path, keys[i]);
        ck_assert_str_eq(x->u.object.keys[i], keys[i]);
    }

    ck_assert_msg(x->u.object.len == i, "%s: %zu keys, not %zu", path,
                  x->u.object.len, i);
}


/* "hydra" is the last key: {"answered": [...], "failed": {repo: why}} */

static void
hydra_check_facts(const char **answered, const char **failed)
{
    size_t    i;
    yajl_val  hydra, list, map;

    ck_assert(YAJL_IS_OBJECT(out));
    ck_assert_uint_gt(out->u.object.len, 0);
    ck_assert_str_eq(out->u.object.keys[out->u.object.len - 1], "hydra");

    hydra = out->u.object.values[out->u.object.len - 1];
    ck_assert(YAJL_IS_OBJECT(hydra));
    ck_assert_uint_eq(hydra->u.object.len, 2);

    list = hydra_at(hydra, "answered");
    ck_assert(YAJL_IS_ARRAY(list));

    for (i = 0; answered[i] != NULL; i++) {
        ck_assert_uint_lt(i, list->u.array.len);
        ck_assert_str_eq(YAJL_GET_STRING(list->u.array.values[i]),
                         answered[i]);
    }

    ck_assert_uint_eq(list->u.array.len, i);

    map = hydra_at(hydra, "failed");
    ck_assert(YAJL_IS_OBJECT(map));

    for (i = 0; failed[2 * i] != NULL; i++) {
        ck_assert_uint_lt(i, map->u.object.len);
        ck_assert_str_eq(map->u.object.keys[i], failed[2 * i]);
        ck_assert_str_eq(YAJL_GET_STRING(map->u.object.values[i]),
                         failed[2 * i + 1]);
    }

    ck_assert_uint_eq(map->u.object.len, i);
}


/* array answers carry no facts: the glue puts them in headers */

static void
hydra_check_no_facts(void)
{
    size_t  i;

    ck_assert(YAJL_IS_ARRAY(out));

    for (i = 0; i < out->u.array.len; i++) {
        ck_assert(hydra_at(out->u.array.values[i], "answered") == NULL);
    }
}


static int
hydra_double_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return x < y ? -1 : (x > y);
}
