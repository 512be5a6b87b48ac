
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdlib.h>
#include <string.h>

#include "hydra_merge.h"
#include "hydra_merge_util.h"


/* the longest table of known fields */
#define HYDRA_MERGE_FIELDS_MAX    32


/* how the values of one key, one per repo, become one value */
typedef enum {
    HYDRA_MERGE_SUM = 0,        /* numbers added, maps merged, lists joined */
    HYDRA_MERGE_MAX_STRING,     /* the greatest string: ISO UTC timestamps */
    HYDRA_MERGE_MAX_NUMBER,     /* the greatest number, as it was written */
    HYDRA_MERGE_UNION,          /* every string of the lists, once */
    HYDRA_MERGE_ISSUES,         /* {"<repo>#<issue>": the repo's value} */
    HYDRA_MERGE_QUEUE,          /* a QueueStats, merged as /api/queue */
    HYDRA_MERGE_SKIP            /* never copied: "hydra" is the merge's own */
} hydra_merge_kind_e;


/* what a known key holds when no repo has it */
typedef enum {
    HYDRA_MERGE_ABSENT = 0,
    HYDRA_MERGE_ZERO,
    HYDRA_MERGE_REAL_ZERO,
    HYDRA_MERGE_NULL,
    HYDRA_MERGE_EMPTY_OBJECT,
    HYDRA_MERGE_EMPTY_ARRAY
} hydra_merge_default_e;


typedef struct {
    const char                   *name;
    hydra_merge_kind_e            kind;
    hydra_merge_default_e         dflt;
} hydra_merge_field_t;


static int hydra_merge_valid_object(yajl_val root);
static int hydra_merge_valid_array(yajl_val root);
static int hydra_merge_valid_pipeline(yajl_val root);
static int hydra_merge_valid_pipeline_stats(yajl_val root);
static int hydra_merge_valid_workers(yajl_val root);

static int hydra_merge_pipeline(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_pipeline_stats(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_queue(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_stats(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_metrics(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_github(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_history(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_list(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_workers(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_events(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_control(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_sessions(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_outcomes(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_human_input(yajl_gen g, const hydra_merge_t *m);
static int hydra_merge_issue_map(yajl_gen g, const hydra_merge_t *m,
    int tag);

static int hydra_merge_fields_answer(yajl_gen g, const hydra_merge_t *m,
    const hydra_merge_field_t *fields);
static int hydra_merge_pipeline_body(yajl_gen g, const hydra_merge_t *m,
    yajl_val *vals);
static int hydra_merge_stages(yajl_gen g, const hydra_merge_t *m,
    yajl_val *vals);
static int hydra_merge_stages_write(yajl_gen g, const hydra_merge_t *m,
    const hydra_merge_keys_t *keys);
static int hydra_merge_metrics_body(yajl_gen g, const hydra_merge_t *m,
    yajl_val *vals);
static int hydra_merge_rates(yajl_gen g, const hydra_merge_t *m,
    yajl_val *vals);
static int hydra_merge_rate(yajl_gen g, const char *name,
    const hydra_merge_sum_t *num, double den);
static int hydra_merge_time_to_merge(yajl_gen g, const hydra_merge_t *m,
    yajl_val *vals);
static int hydra_merge_percentiles(yajl_gen g, double *d, size_t n);
static int hydra_merge_map_of(yajl_gen g, const hydra_merge_t *m,
    const char *key);
static int hydra_merge_items(yajl_gen g, const hydra_merge_t *m,
    const char *key);
static int hydra_merge_sorted(yajl_gen g, const hydra_merge_t *m,
    const char *time, int events);
static int hydra_merge_control_repo(yajl_gen g, const hydra_merge_input_t *in);
static yajl_val hydra_merge_control_status(const hydra_merge_t *m);
static int hydra_merge_facts(yajl_gen g, const hydra_merge_t *m);

static int hydra_merge_members(yajl_gen g, const hydra_merge_t *m,
    yajl_val *vals, const hydra_merge_field_t *fields, unsigned depth);
static int hydra_merge_members_write(yajl_gen g, const hydra_merge_t *m,
    hydra_merge_keys_t *keys, yajl_val *sub,
    const hydra_merge_field_t *fields, unsigned depth);
static int hydra_merge_field(yajl_gen g, const hydra_merge_t *m,
    yajl_val *vals, hydra_merge_kind_e kind, unsigned depth);
static int hydra_merge_default(yajl_gen g, hydra_merge_default_e dflt);
static int hydra_merge_value(yajl_gen g, const hydra_merge_t *m,
    yajl_val *vals, const hydra_merge_field_t *fields, unsigned depth);


static const hydra_merge_rule_t  hydra_merge_rules[] = {

    { "/api/pipeline", HYDRA_MERGE_OBJECT,
      hydra_merge_valid_pipeline, hydra_merge_pipeline },

    { "/api/pipeline/stats", HYDRA_MERGE_OBJECT,
      hydra_merge_valid_pipeline_stats, hydra_merge_pipeline_stats },

    { "/api/queue", HYDRA_MERGE_OBJECT,
      hydra_merge_valid_object, hydra_merge_queue },

    { "/api/stats", HYDRA_MERGE_OBJECT,
      hydra_merge_valid_object, hydra_merge_stats },

    { "/api/metrics", HYDRA_MERGE_OBJECT,
      hydra_merge_valid_object, hydra_merge_metrics },

    { "/api/metrics/github", HYDRA_MERGE_OBJECT,
      hydra_merge_valid_object, hydra_merge_github },

    { "/api/metrics/history", HYDRA_MERGE_OBJECT,
      hydra_merge_valid_object, hydra_merge_history },

    { "/api/hitl", HYDRA_MERGE_ARRAY,
      hydra_merge_valid_array, hydra_merge_list },

    { "/api/prs", HYDRA_MERGE_ARRAY,
      hydra_merge_valid_array, hydra_merge_list },

    { "/api/timeline", HYDRA_MERGE_ARRAY,
      hydra_merge_valid_array, hydra_merge_list },

    { "/api/system/workers", HYDRA_MERGE_OBJECT,
      hydra_merge_valid_workers, hydra_merge_workers },

    { "/api/events", HYDRA_MERGE_ARRAY,
      hydra_merge_valid_array, hydra_merge_events },

    { "/api/control/status", HYDRA_MERGE_OBJECT,
      hydra_merge_valid_object, hydra_merge_control },

    { "/api/sessions", HYDRA_MERGE_ARRAY,
      hydra_merge_valid_array, hydra_merge_sessions },

    { "/api/issues/outcomes", HYDRA_MERGE_MAP,
      hydra_merge_valid_object, hydra_merge_outcomes },

    { "/api/human-input", HYDRA_MERGE_MAP,
      hydra_merge_valid_object, hydra_merge_human_input }
};


/* QueueStats: maps added key by key, the newest poll */
static const hydra_merge_field_t  hydra_merge_queue_fields[] = {
    { "queue_depth", HYDRA_MERGE_SUM, HYDRA_MERGE_EMPTY_OBJECT },
    { "active_count", HYDRA_MERGE_SUM, HYDRA_MERGE_EMPTY_OBJECT },
    { "total_processed", HYDRA_MERGE_SUM, HYDRA_MERGE_EMPTY_OBJECT },
    { "last_poll_timestamp", HYDRA_MERGE_MAX_STRING, HYDRA_MERGE_NULL },
    { "dedup_stats", HYDRA_MERGE_SUM, HYDRA_MERGE_EMPTY_OBJECT },
    { "in_flight_count", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "hydra", HYDRA_MERGE_SKIP, HYDRA_MERGE_ABSENT },
    { NULL, HYDRA_MERGE_SUM, HYDRA_MERGE_ABSENT }
};


/* PipelineStats, or {} from a repo with no orchestrator */
static const hydra_merge_field_t  hydra_merge_pipeline_stats_fields[] = {
    { "timestamp", HYDRA_MERGE_MAX_STRING, HYDRA_MERGE_ABSENT },
    { "uptime_seconds", HYDRA_MERGE_MAX_NUMBER, HYDRA_MERGE_ABSENT },
    { "queue", HYDRA_MERGE_QUEUE, HYDRA_MERGE_ABSENT },
    { "hydra", HYDRA_MERGE_SKIP, HYDRA_MERGE_ABSENT },
    { NULL, HYDRA_MERGE_SUM, HYDRA_MERGE_ABSENT }
};


/*
 * LifetimeStats: counters added (and any counter HydraFlow adds later),
 * duration lists joined so that percentiles stay right
 */
static const hydra_merge_field_t  hydra_merge_stats_fields[] = {
    { "issues_completed", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "prs_merged", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "issues_created", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_quality_fix_rounds", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_ci_fix_rounds", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_hitl_escalations", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_review_request_changes", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_review_approvals", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_reviewer_fixes", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_outcomes_merged", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_outcomes_already_satisfied", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_outcomes_hitl_closed", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_outcomes_hitl_skipped", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_outcomes_failed", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_outcomes_manual_close", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_outcomes_hitl_approved", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_implementation_seconds", HYDRA_MERGE_SUM,
      HYDRA_MERGE_REAL_ZERO },
    { "total_review_seconds", HYDRA_MERGE_SUM, HYDRA_MERGE_REAL_ZERO },
    { "merge_durations", HYDRA_MERGE_SUM, HYDRA_MERGE_EMPTY_ARRAY },
    { "retries_per_stage", HYDRA_MERGE_ISSUES, HYDRA_MERGE_EMPTY_OBJECT },
    { "fired_thresholds", HYDRA_MERGE_UNION, HYDRA_MERGE_EMPTY_ARRAY },
    { "queue", HYDRA_MERGE_QUEUE, HYDRA_MERGE_ABSENT },
    { "hydra", HYDRA_MERGE_SKIP, HYDRA_MERGE_ABSENT },
    { NULL, HYDRA_MERGE_SUM, HYDRA_MERGE_ABSENT }
};


static const hydra_merge_field_t  hydra_merge_github_fields[] = {
    { "open_by_label", HYDRA_MERGE_SUM, HYDRA_MERGE_EMPTY_OBJECT },
    { "total_closed", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "total_merged", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO },
    { "hydra", HYDRA_MERGE_SKIP, HYDRA_MERGE_ABSENT },
    { NULL, HYDRA_MERGE_SUM, HYDRA_MERGE_ABSENT }
};


/* the fleet's status is the most pressing of its repos' */
static const char  *hydra_merge_precedence[] = {
    "credits_paused", "auth_failed", "running", "stopping", "done", "idle"
};


const hydra_merge_rule_t *
hydra_merge_rule(const char *path, size_t len)
{
    size_t  i;

    for (i = 0; i < sizeof(hydra_merge_rules) / sizeof(hydra_merge_rules[0]);
         i++)
    {
        if (strlen(hydra_merge_rules[i].view) == len
            && memcmp(hydra_merge_rules[i].view, path, len) == 0)
        {
            return &hydra_merge_rules[i];
        }
    }

    return NULL;
}


/*
 * Returns 0 when "[" and "{" outside strings nest deeper than max_depth.
 * The scan does not validate JSON, yajl does that next; it only keeps
 * the recursive walks (ours, yajl_tree_free's) off a hostile depth.
 */

int
hydra_merge_depth_ok(const char *json, size_t len, unsigned max_depth)
{
    int       in_string, escaped;
    size_t    i;
    unsigned  depth;

    in_string = 0;
    escaped = 0;
    depth = 0;

    for (i = 0; i < len; i++) {

        if (in_string) {
            if (escaped) {
                escaped = 0;

            } else if (json[i] == '\\') {
                escaped = 1;

            } else if (json[i] == '"') {
                in_string = 0;
            }

            continue;
        }

        switch (json[i]) {

        case '"':
            in_string = 1;
            break;

        case '[':
        case '{':
            if (++depth > max_depth) {
                return 0;
            }

            break;

        case ']':
        case '}':
            if (depth > 0) {
                depth--;
            }

            break;

        default:
            break;
        }
    }

    return 1;
}


static int
hydra_merge_valid_object(yajl_val root)
{
    return YAJL_IS_OBJECT(root);
}


static int
hydra_merge_valid_array(yajl_val root)
{
    return YAJL_IS_ARRAY(root);
}


/* {"stages": {stage: [PipelineIssue]}, "ready": bool} */

static int
hydra_merge_valid_pipeline(yajl_val root)
{
    size_t    i;
    yajl_val  stages;

    stages = hydra_merge_get(root, "stages");

    if (!YAJL_IS_OBJECT(stages)) {
        return 0;
    }

    for (i = 0; i < stages->u.object.len; i++) {
        if (!YAJL_IS_ARRAY(stages->u.object.values[i])) {
            return 0;
        }
    }

    return 1;
}


static int
hydra_merge_valid_pipeline_stats(yajl_val root)
{
    yajl_val  stages;

    if (!YAJL_IS_OBJECT(root)) {
        return 0;
    }

    stages = hydra_merge_get(root, "stages");

    return stages == NULL || YAJL_IS_OBJECT(stages);
}


static int
hydra_merge_valid_workers(yajl_val root)
{
    return YAJL_IS_ARRAY(hydra_merge_get(root, "workers"));
}


/*
 * /api/pipeline: each stage's issues, repo after repo, tagged; the key of
 * an issue is (repo, issue_number), two repos' #12 stay two issues:
 *
 *   {"stages": {"plan": [{"issue_number": 41, ..., "repo": "acme-api"}]},
 *    "ready": true, "hydra": {...}}
 */

static int
hydra_merge_pipeline(yajl_gen g, const hydra_merge_t *m)
{
    int        rc;
    yajl_val  *vals;

    vals = hydra_merge_vals(m, "stages");
    if (vals == NULL) {
        return HYDRA_ERROR;
    }

    rc = hydra_merge_pipeline_body(g, m, vals);

    free(vals);

    return rc;
}


static int
hydra_merge_pipeline_body(yajl_gen g, const hydra_merge_t *m, yajl_val *vals)
{
    int     ready;
    size_t  i;

    ready = 1;

    for (i = 0; i < m->ninputs; i++) {
        if (YAJL_IS_FALSE(hydra_merge_get(m->inputs[i].root, "ready"))) {
            ready = 0;
        }
    }

    hydra_merge_check(yajl_gen_map_open(g));

    hydra_merge_key(g, "stages");
    hydra_merge_check(yajl_gen_map_open(g));
    hydra_merge_try(hydra_merge_stages(g, m, vals));
    hydra_merge_check(yajl_gen_map_close(g));

    hydra_merge_key(g, "ready");
    hydra_merge_check(yajl_gen_bool(g, ready));

    hydra_merge_try(hydra_merge_facts(g, m));

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


static int
hydra_merge_stages(yajl_gen g, const hydra_merge_t *m, yajl_val *vals)
{
    int                 rc;
    hydra_merge_keys_t  keys;

    if (hydra_merge_keys_init(&keys, vals, m->ninputs) != HYDRA_OK) {
        return HYDRA_ERROR;
    }

    rc = hydra_merge_stages_write(g, m, &keys);

    hydra_merge_keys_free(&keys);

    return rc;
}


/* "stage": [the stage's issues of each repo, in repo order], ... */

static int
hydra_merge_stages_write(yajl_gen g, const hydra_merge_t *m,
    const hydra_merge_keys_t *keys)
{
    size_t                    s, o, j;
    yajl_val                  list, item;
    const hydra_merge_occ_t  *occ;

    for (s = 0; s < keys->nnames; s++) {
        hydra_merge_check(hydra_merge_string(g, keys->names[s].key));
        hydra_merge_check(yajl_gen_array_open(g));

        for (o = keys->names[s].head + 1; o != 0; o = occ->next) {
            occ = &keys->occ[o - 1];
            list = occ->value;

            if (!YAJL_IS_ARRAY(list)) {
                continue;
            }

            for (j = 0; j < list->u.array.len; j++) {
                item = list->u.array.values[j];

                if (YAJL_IS_OBJECT(item)) {
                    hydra_merge_try(hydra_merge_tagged(g, item,
                                        m->inputs[occ->input].repo, 3));
                }
            }
        }

        hydra_merge_check(yajl_gen_array_close(g));
    }

    return HYDRA_OK;
}


/*
 * /api/pipeline/stats: StageStats and throughput added key by key,
 * worker_cap the sum of the non-null caps (null if none), the newest
 * timestamp, the longest uptime, the queue as /api/queue
 */

static int
hydra_merge_pipeline_stats(yajl_gen g, const hydra_merge_t *m)
{
    return hydra_merge_fields_answer(g, m, hydra_merge_pipeline_stats_fields);
}


static int
hydra_merge_queue(yajl_gen g, const hydra_merge_t *m)
{
    return hydra_merge_fields_answer(g, m, hydra_merge_queue_fields);
}


static int
hydra_merge_stats(yajl_gen g, const hydra_merge_t *m)
{
    return hydra_merge_fields_answer(g, m, hydra_merge_stats_fields);
}


static int
hydra_merge_github(yajl_gen g, const hydra_merge_t *m)
{
    return hydra_merge_fields_answer(g, m, hydra_merge_github_fields);
}


static int
hydra_merge_fields_answer(yajl_gen g, const hydra_merge_t *m,
    const hydra_merge_field_t *fields)
{
    int        rc;
    yajl_val  *vals;

    vals = hydra_merge_vals(m, NULL);
    if (vals == NULL) {
        return HYDRA_ERROR;
    }

    rc = HYDRA_ERROR;

    if (yajl_gen_map_open(g) == yajl_gen_status_ok
        && hydra_merge_members(g, m, vals, fields, 0) == HYDRA_OK
        && hydra_merge_facts(g, m) == HYDRA_OK
        && yajl_gen_map_close(g) == yajl_gen_status_ok)
    {
        rc = HYDRA_OK;
    }

    free(vals);

    return rc;
}


/*
 * /api/metrics: rates are ratios of the fleet's sums, never averages of
 * the repos' rates:
 *
 *   {"lifetime": {merged as /api/stats},
 *    "rates": {"merge_rate": 0.6, ...},
 *    "time_to_merge": {"avg": 4500.0, "p50": 5400.0, "p90": 5400.0},
 *    "thresholds": [],
 *    "inference_lifetime": {...}, "inference_session": {...},
 *    "hydra": {...}}
 */

static int
hydra_merge_metrics(yajl_gen g, const hydra_merge_t *m)
{
    int        rc;
    yajl_val  *vals;

    vals = hydra_merge_vals(m, "lifetime");
    if (vals == NULL) {
        return HYDRA_ERROR;
    }

    rc = hydra_merge_metrics_body(g, m, vals);

    free(vals);

    return rc;
}


static int
hydra_merge_metrics_body(yajl_gen g, const hydra_merge_t *m, yajl_val *vals)
{
    hydra_merge_check(yajl_gen_map_open(g));

    hydra_merge_key(g, "lifetime");
    hydra_merge_check(yajl_gen_map_open(g));
    hydra_merge_try(hydra_merge_members(g, m, vals, hydra_merge_stats_fields,
                                        1));
    hydra_merge_check(yajl_gen_map_close(g));

    hydra_merge_key(g, "rates");
    hydra_merge_try(hydra_merge_rates(g, m, vals));

    hydra_merge_key(g, "time_to_merge");
    hydra_merge_try(hydra_merge_time_to_merge(g, m, vals));

    hydra_merge_key(g, "thresholds");
    hydra_merge_check(yajl_gen_array_open(g));
    hydra_merge_check(yajl_gen_array_close(g));

    hydra_merge_key(g, "inference_lifetime");
    hydra_merge_try(hydra_merge_map_of(g, m, "inference_lifetime"));

    hydra_merge_key(g, "inference_session");
    hydra_merge_try(hydra_merge_map_of(g, m, "inference_session"));

    hydra_merge_try(hydra_merge_facts(g, m));

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/* HydraFlow's get_metrics, over the sums; a rate over 0 is left out */

static int
hydra_merge_rates(yajl_gen g, const hydra_merge_t *m, yajl_val *vals)
{
    size_t             i, j, k;
    double             issues, reviews;
    yajl_val           retries, stages;
    hydra_merge_sum_t  completed, merged, quality, hitl, impl, approvals,
                       changes, fixes, total;

    hydra_merge_sum_key(&completed, m, vals, "issues_completed");
    hydra_merge_sum_key(&merged, m, vals, "prs_merged");
    hydra_merge_sum_key(&quality, m, vals, "total_quality_fix_rounds");
    hydra_merge_sum_key(&hitl, m, vals, "total_hitl_escalations");
    hydra_merge_sum_key(&impl, m, vals, "total_implementation_seconds");
    hydra_merge_sum_key(&approvals, m, vals, "total_review_approvals");
    hydra_merge_sum_key(&changes, m, vals, "total_review_request_changes");
    hydra_merge_sum_key(&fixes, m, vals, "total_reviewer_fixes");

    issues = hydra_merge_sum_value(&completed);
    reviews = hydra_merge_sum_value(&approvals)
              + hydra_merge_sum_value(&changes);

    hydra_merge_check(yajl_gen_map_open(g));

    if (issues > 0) {
        hydra_merge_try(hydra_merge_rate(g, "merge_rate", &merged, issues));
        hydra_merge_try(hydra_merge_rate(g, "quality_fix_rate", &quality,
                                         issues));
        hydra_merge_try(hydra_merge_rate(g, "hitl_escalation_rate", &hitl,
                                         issues));
        hydra_merge_try(hydra_merge_rate(g, "avg_implementation_seconds",
                                         &impl, issues));
    }

    if (reviews > 0) {
        hydra_merge_try(hydra_merge_rate(g, "first_pass_approval_rate",
                                         &approvals, reviews));
        hydra_merge_try(hydra_merge_rate(g, "reviewer_fix_rate", &fixes,
                                         reviews));
    }

    /* every retry of every issue of every repo */

    hydra_merge_sum_init(&total);

    for (i = 0; i < m->ninputs; i++) {
        retries = hydra_merge_get(vals[i], "retries_per_stage");

        if (!YAJL_IS_OBJECT(retries)) {
            continue;
        }

        for (j = 0; j < retries->u.object.len; j++) {
            stages = retries->u.object.values[j];

            if (!YAJL_IS_OBJECT(stages)) {
                continue;
            }

            for (k = 0; k < stages->u.object.len; k++) {
                hydra_merge_sum_add(&total, stages->u.object.values[k]);
            }
        }
    }

    if (hydra_merge_sum_value(&total) > 0) {
        hydra_merge_key(g, "retries_per_stage");
        hydra_merge_try(hydra_merge_sum_write(g, &total));
    }

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


static int
hydra_merge_rate(yajl_gen g, const char *name, const hydra_merge_sum_t *num,
    double den)
{
    hydra_merge_check(hydra_merge_string(g, name));

    return hydra_merge_double(g, hydra_merge_sum_value(num) / den);
}


/* avg, p50 and p90 over every repo's merge_durations together */

static int
hydra_merge_time_to_merge(yajl_gen g, const hydra_merge_t *m, yajl_val *vals)
{
    int        rc;
    size_t     i, j, n;
    double    *d;
    yajl_val   list;

    n = 0;

    for (i = 0; i < m->ninputs; i++) {
        list = hydra_merge_get(vals[i], "merge_durations");

        if (!YAJL_IS_ARRAY(list)) {
            continue;
        }

        for (j = 0; j < list->u.array.len; j++) {
            if (YAJL_IS_NUMBER(list->u.array.values[j])) {
                n++;
            }
        }
    }

    if (n == 0) {
        hydra_merge_check(yajl_gen_map_open(g));
        hydra_merge_check(yajl_gen_map_close(g));
        return HYDRA_OK;
    }

    d = malloc(n * sizeof(double));
    if (d == NULL) {
        return HYDRA_ERROR;
    }

    n = 0;

    for (i = 0; i < m->ninputs; i++) {
        list = hydra_merge_get(vals[i], "merge_durations");

        if (!YAJL_IS_ARRAY(list)) {
            continue;
        }

        for (j = 0; j < list->u.array.len; j++) {
            if (YAJL_IS_NUMBER(list->u.array.values[j])) {
                d[n++] = hydra_merge_number(list->u.array.values[j]);
            }
        }
    }

    rc = hydra_merge_percentiles(g, d, n);

    free(d);

    return rc;
}


/* get_merge_duration_stats: d[n / 2], d[min((int) (n * 0.9), n - 1)] */

static int
hydra_merge_percentiles(yajl_gen g, double *d, size_t n)
{
    size_t  i, p90;
    double  sum, avg;

    qsort(d, n, sizeof(double), hydra_merge_double_cmp);

    sum = 0;

    for (i = 0; i < n; i++) {
        sum += d[i];
    }

    avg = sum / (double) n;
    p90 = (size_t) ((double) n * 0.9);

    if (p90 > n - 1) {
        p90 = n - 1;
    }

    hydra_merge_check(yajl_gen_map_open(g));

    hydra_merge_key(g, "avg");
    hydra_merge_try(hydra_merge_double(g, hydra_merge_round1(avg)));
    hydra_merge_key(g, "p50");
    hydra_merge_try(hydra_merge_double(g, hydra_merge_round1(d[n / 2])));
    hydra_merge_key(g, "p90");
    hydra_merge_try(hydra_merge_double(g, hydra_merge_round1(d[p90])));

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/* a map of counters added key by key; {} when no repo has one */

static int
hydra_merge_map_of(yajl_gen g, const hydra_merge_t *m, const char *key)
{
    int        rc;
    yajl_val  *vals;

    vals = hydra_merge_vals(m, key);
    if (vals == NULL) {
        return HYDRA_ERROR;
    }

    rc = HYDRA_ERROR;

    if (yajl_gen_map_open(g) == yajl_gen_status_ok
        && hydra_merge_members(g, m, vals, NULL, 1) == HYDRA_OK
        && yajl_gen_map_close(g) == yajl_gen_status_ok)
    {
        rc = HYDRA_OK;
    }

    free(vals);

    return rc;
}


/* HydraFlow's own aggregate answer: no fleet-wide series */

static int
hydra_merge_history(yajl_gen g, const hydra_merge_t *m)
{
    hydra_merge_check(yajl_gen_map_open(g));

    hydra_merge_key(g, "snapshots");
    hydra_merge_check(yajl_gen_array_open(g));
    hydra_merge_check(yajl_gen_array_close(g));
    hydra_merge_key(g, "current");
    hydra_merge_check(yajl_gen_null(g));

    hydra_merge_try(hydra_merge_facts(g, m));

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/* /api/hitl, /api/prs, /api/timeline: [item + "repo", ...] */

static int
hydra_merge_list(yajl_gen g, const hydra_merge_t *m)
{
    hydra_merge_check(yajl_gen_array_open(g));
    hydra_merge_try(hydra_merge_items(g, m, NULL));
    hydra_merge_check(yajl_gen_array_close(g));

    return HYDRA_OK;
}


/* {"workers": [BackgroundWorkerStatus + "repo", ...], "hydra": {...}} */

static int
hydra_merge_workers(yajl_gen g, const hydra_merge_t *m)
{
    hydra_merge_check(yajl_gen_map_open(g));

    hydra_merge_key(g, "workers");
    hydra_merge_check(yajl_gen_array_open(g));
    hydra_merge_try(hydra_merge_items(g, m, "workers"));
    hydra_merge_check(yajl_gen_array_close(g));

    hydra_merge_try(hydra_merge_facts(g, m));

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/* the objects of each repo's list (the root, or root[key]), tagged */

static int
hydra_merge_items(yajl_gen g, const hydra_merge_t *m, const char *key)
{
    size_t    i, j;
    yajl_val  list, item;

    for (i = 0; i < m->ninputs; i++) {
        list = m->inputs[i].root;

        if (key != NULL) {
            list = hydra_merge_get(list, key);
        }

        if (!YAJL_IS_ARRAY(list)) {
            continue;
        }

        for (j = 0; j < list->u.array.len; j++) {
            item = list->u.array.values[j];

            if (YAJL_IS_OBJECT(item)) {
                hydra_merge_try(hydra_merge_tagged(g, item, m->inputs[i].repo,
                                                   key == NULL ? 1 : 2));
            }
        }
    }

    return HYDRA_OK;
}


/* /api/events: every repo's events, tagged, by (timestamp, id) */

static int
hydra_merge_events(yajl_gen g, const hydra_merge_t *m)
{
    return hydra_merge_sorted(g, m, "timestamp", 1);
}


/* /api/sessions: newest started_at first, then the limit */

static int
hydra_merge_sessions(yajl_gen g, const hydra_merge_t *m)
{
    return hydra_merge_sorted(g, m, "started_at", 0);
}


static int
hydra_merge_sorted(yajl_gen g, const hydra_merge_t *m, const char *time,
    int events)
{
    int                   rc;
    size_t                n, limit;
    hydra_merge_entry_t  *entries;

    n = hydra_merge_entries(m, NULL, time);

    entries = malloc((n + 1) * sizeof(hydra_merge_entry_t));
    if (entries == NULL) {
        return HYDRA_ERROR;
    }

    n = hydra_merge_entries(m, entries, time);

    if (events) {
        qsort(entries, n, sizeof(hydra_merge_entry_t), hydra_merge_event_cmp);
        limit = n;

    } else {
        qsort(entries, n, sizeof(hydra_merge_entry_t),
              hydra_merge_session_cmp);
        limit = m->limit > 0 ? (size_t) m->limit : HYDRA_MERGE_SESSIONS_MAX;
    }

    /* a SessionLog's own "repo" is owner/name: it stays as written */

    rc = hydra_merge_entries_write(g, !events, entries,
                                   n < limit ? n : limit);

    free(entries);

    return rc;
}


/*
 * /api/control/status:
 *
 *   {"status": "running", "credits_paused_until": null,
 *    "config": {the first repo's}, "current_session_id": null,
 *    "repos": [{"slug": "acme-api", "status": "running",
 *               "credits_paused_until": null, "config": {...}}, ...],
 *    "hydra": {...}}
 */

static int
hydra_merge_control(yajl_gen g, const hydra_merge_t *m)
{
    size_t    i;
    yajl_val  v, status, until, config;

    status = hydra_merge_control_status(m);
    until = NULL;
    config = NULL;

    for (i = 0; i < m->ninputs; i++) {
        v = hydra_merge_get(m->inputs[i].root, "credits_paused_until");

        if (YAJL_IS_STRING(v)
            && (until == NULL
                || strcmp(hydra_yajl_string(v), hydra_yajl_string(until))
                   < 0))
        {
            until = v;
        }

        v = hydra_merge_get(m->inputs[i].root, "config");

        if (config == NULL && YAJL_IS_OBJECT(v)) {
            config = v;
        }
    }

    hydra_merge_check(yajl_gen_map_open(g));

    hydra_merge_key(g, "status");

    if (status != NULL) {
        hydra_merge_check(hydra_merge_string(g, hydra_yajl_string(status)));

    } else {
        hydra_merge_check(hydra_merge_string(g, "idle"));
    }

    hydra_merge_key(g, "credits_paused_until");
    hydra_merge_try(hydra_merge_copy(g, until, 1));
    hydra_merge_key(g, "config");
    hydra_merge_try(hydra_merge_copy(g, config, 1));
    hydra_merge_key(g, "current_session_id");
    hydra_merge_check(yajl_gen_null(g));

    /* BEGIN repos */

    hydra_merge_key(g, "repos");
    hydra_merge_check(yajl_gen_array_open(g));

    for (i = 0; i < m->ninputs; i++) {
        hydra_merge_try(hydra_merge_control_repo(g, &m->inputs[i]));
    }

    hydra_merge_check(yajl_gen_array_close(g));

    /* END repos */

    hydra_merge_try(hydra_merge_facts(g, m));

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


static int
hydra_merge_control_repo(yajl_gen g, const hydra_merge_input_t *in)
{
    yajl_val  status, until, config;

    status = hydra_merge_get(in->root, "status");
    until = hydra_merge_get(in->root, "credits_paused_until");
    config = hydra_merge_get(in->root, "config");

    hydra_merge_check(yajl_gen_map_open(g));

    hydra_merge_key(g, "slug");
    hydra_merge_check(hydra_merge_string(g, in->repo));
    hydra_merge_key(g, "status");
    hydra_merge_try(hydra_merge_copy(g, status, 3));
    hydra_merge_key(g, "credits_paused_until");
    hydra_merge_try(hydra_merge_copy(g, until, 3));
    hydra_merge_key(g, "config");
    hydra_merge_try(hydra_merge_copy(g, config, 3));

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/* the first status of the precedence any repo has, else the first one */

static yajl_val
hydra_merge_control_status(const hydra_merge_t *m)
{
    size_t    p, i;
    yajl_val  v;

    for (p = 0;
         p < sizeof(hydra_merge_precedence) / sizeof(hydra_merge_precedence[0]);
         p++)
    {
        for (i = 0; i < m->ninputs; i++) {
            v = hydra_merge_get(m->inputs[i].root, "status");

            if (YAJL_IS_STRING(v)
                && strcmp(hydra_yajl_string(v), hydra_merge_precedence[p])
                   == 0)
            {
                return v;
            }
        }
    }

    for (i = 0; i < m->ninputs; i++) {
        v = hydra_merge_get(m->inputs[i].root, "status");

        if (YAJL_IS_STRING(v)) {
            return v;
        }
    }

    return NULL;
}


/*
 * /api/issues/outcomes {"acme-api#12": {outcome + "repo": "acme-api"}}
 * and /api/human-input {"acme-api#12": "question"}: maps of issues, so
 * the facts of the merge go in headers only, as for arrays, where a UI
 * walking the keys would not mistake them for an issue.
 */

static int
hydra_merge_outcomes(yajl_gen g, const hydra_merge_t *m)
{
    return hydra_merge_issue_map(g, m, 1);
}


static int
hydra_merge_human_input(yajl_gen g, const hydra_merge_t *m)
{
    return hydra_merge_issue_map(g, m, 0);
}


static int
hydra_merge_issue_map(yajl_gen g, const hydra_merge_t *m, int tag)
{
    int        rc;
    yajl_val  *vals;

    vals = hydra_merge_vals(m, NULL);
    if (vals == NULL) {
        return HYDRA_ERROR;
    }

    rc = HYDRA_ERROR;

    if (yajl_gen_map_open(g) == yajl_gen_status_ok
        && hydra_merge_issues(g, m, vals, tag, 0) == HYDRA_OK
        && yajl_gen_map_close(g) == yajl_gen_status_ok)
    {
        rc = HYDRA_OK;
    }

    free(vals);

    return rc;
}


/* "hydra": {"answered": ["acme-api"], "failed": {"acme-web": "timeout"}} */

static int
hydra_merge_facts(yajl_gen g, const hydra_merge_t *m)
{
    size_t  i;

    hydra_merge_key(g, "hydra");
    hydra_merge_check(yajl_gen_map_open(g));

    hydra_merge_key(g, "answered");
    hydra_merge_check(yajl_gen_array_open(g));

    for (i = 0; i < m->ninputs; i++) {
        hydra_merge_check(hydra_merge_string(g, m->inputs[i].repo));
    }

    hydra_merge_check(yajl_gen_array_close(g));

    hydra_merge_key(g, "failed");
    hydra_merge_check(yajl_gen_map_open(g));

    for (i = 0; i < m->nfailures; i++) {
        hydra_merge_check(hydra_merge_string(g, m->failures[i].repo));

        if (m->failures[i].reason != NULL) {
            hydra_merge_check(hydra_merge_string(g, m->failures[i].reason));

        } else {
            hydra_merge_check(yajl_gen_null(g));
        }
    }

    hydra_merge_check(yajl_gen_map_close(g));

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/*
 * Writes the members of the objects in vals (one per repo, NULL or not
 * an object: none) merged key by key, keys in first-seen order.  A key
 * of fields is merged by its kind, any other by HYDRA_MERGE_SUM; known
 * keys no repo has get their default, after the others.  vals are at
 * the given depth.
 */

static int
hydra_merge_members(yajl_gen g, const hydra_merge_t *m, yajl_val *vals,
    const hydra_merge_field_t *fields, unsigned depth)
{
    int                  rc;
    yajl_val            *sub;
    hydra_merge_keys_t   keys;

    sub = calloc(m->ninputs + 1, sizeof(yajl_val));
    if (sub == NULL) {
        return HYDRA_ERROR;
    }

    if (hydra_merge_keys_init(&keys, vals, m->ninputs) != HYDRA_OK) {
        free(sub);
        return HYDRA_ERROR;
    }

    rc = hydra_merge_members_write(g, m, &keys, sub, fields, depth);

    hydra_merge_keys_free(&keys);
    free(sub);

    return rc;
}


static int
hydra_merge_members_write(yajl_gen g, const hydra_merge_t *m,
    hydra_merge_keys_t *keys, yajl_val *sub, const hydra_merge_field_t *fields,
    unsigned depth)
{
    size_t              k, f;
    unsigned char       seen[HYDRA_MERGE_FIELDS_MAX];
    hydra_merge_kind_e  kind;

    memset(seen, 0, sizeof(seen));

    for (k = 0; k < keys->nnames; k++) {
        kind = HYDRA_MERGE_SUM;

        for (f = 0;
             fields != NULL && f < HYDRA_MERGE_FIELDS_MAX
             && fields[f].name != NULL;
             f++)
        {
            if (strcmp(fields[f].name, keys->names[k].key) == 0) {
                kind = fields[f].kind;
                seen[f] = 1;
                break;
            }
        }

        if (kind == HYDRA_MERGE_SKIP) {
            continue;
        }

        hydra_merge_keys_values(keys, k, sub, m->ninputs);

        hydra_merge_check(hydra_merge_string(g, keys->names[k].key));
        hydra_merge_try(hydra_merge_field(g, m, sub, kind, depth + 1));
    }

    for (f = 0;
         fields != NULL && f < HYDRA_MERGE_FIELDS_MAX && fields[f].name != NULL;
         f++)
    {
        if (seen[f] || fields[f].dflt == HYDRA_MERGE_ABSENT
            || fields[f].kind == HYDRA_MERGE_SKIP)
        {
            continue;
        }

        hydra_merge_check(hydra_merge_string(g, fields[f].name));
        hydra_merge_try(hydra_merge_default(g, fields[f].dflt));
    }

    return HYDRA_OK;
}


static int
hydra_merge_field(yajl_gen g, const hydra_merge_t *m, yajl_val *vals,
    hydra_merge_kind_e kind, unsigned depth)
{
    switch (kind) {

    case HYDRA_MERGE_MAX_STRING:
        return hydra_merge_max_string(g, m, vals);

    case HYDRA_MERGE_MAX_NUMBER:
        return hydra_merge_max_number(g, m, vals);

    case HYDRA_MERGE_UNION:
        return hydra_merge_union(g, m, vals);

    case HYDRA_MERGE_ISSUES:
        hydra_merge_check(yajl_gen_map_open(g));
        hydra_merge_try(hydra_merge_issues(g, m, vals, 0, depth));
        hydra_merge_check(yajl_gen_map_close(g));
        return HYDRA_OK;

    case HYDRA_MERGE_QUEUE:
        return hydra_merge_value(g, m, vals, hydra_merge_queue_fields, depth);

    default:
        return hydra_merge_value(g, m, vals, NULL, depth);
    }
}


static int
hydra_merge_default(yajl_gen g, hydra_merge_default_e dflt)
{
    switch (dflt) {

    case HYDRA_MERGE_ZERO:
        hydra_merge_check(yajl_gen_integer(g, 0));
        break;

    case HYDRA_MERGE_REAL_ZERO:
        hydra_merge_check(yajl_gen_number(g, "0.0", 3));
        break;

    case HYDRA_MERGE_EMPTY_OBJECT:
        hydra_merge_check(yajl_gen_map_open(g));
        hydra_merge_check(yajl_gen_map_close(g));
        break;

    case HYDRA_MERGE_EMPTY_ARRAY:
        hydra_merge_check(yajl_gen_array_open(g));
        hydra_merge_check(yajl_gen_array_close(g));
        break;

    default:
        hydra_merge_check(yajl_gen_null(g));
        break;
    }

    return HYDRA_OK;
}


/*
 * One key's values, one per repo, merged by the type of the first
 * number, object or array: numbers added, objects merged key by key,
 * lists joined.  Values of another type contribute nothing: a counter
 * that is null, "7" or true in one repo adds nothing, and an object in
 * the first repo makes a number in the next one ignored.  With no such
 * value, the first string or bool is copied; all null (or absent) is
 * null.
 */

static int
hydra_merge_value(yajl_gen g, const hydra_merge_t *m, yajl_val *vals,
    const hydra_merge_field_t *fields, unsigned depth)
{
    size_t             i, j;
    yajl_val           first, scalar, v;
    hydra_merge_sum_t  sum;

    first = NULL;
    scalar = NULL;

    for (i = 0; i < m->ninputs; i++) {
        v = vals[i];

        if (YAJL_IS_NUMBER(v) || YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v)) {
            first = v;
            break;
        }

        if (scalar == NULL && v != NULL && !YAJL_IS_NULL(v)) {
            scalar = v;
        }
    }

    if (first == NULL) {
        return hydra_merge_copy(g, scalar, depth);
    }

    switch (first->type) {

    case yajl_t_number:
        hydra_merge_sum_init(&sum);

        for (i = 0; i < m->ninputs; i++) {
            hydra_merge_sum_add(&sum, vals[i]);
        }

        return hydra_merge_sum_write(g, &sum);

    case yajl_t_object:
        if (depth >= HYDRA_MERGE_DEPTH_MAX) {
            hydra_merge_check(yajl_gen_null(g));
            return HYDRA_OK;
        }

        hydra_merge_check(yajl_gen_map_open(g));
        hydra_merge_try(hydra_merge_members(g, m, vals, fields, depth));
        hydra_merge_check(yajl_gen_map_close(g));
        return HYDRA_OK;

    case yajl_t_array:
        if (depth >= HYDRA_MERGE_DEPTH_MAX) {
            hydra_merge_check(yajl_gen_null(g));
            return HYDRA_OK;
        }

        hydra_merge_check(yajl_gen_array_open(g));

        for (i = 0; i < m->ninputs; i++) {
            v = vals[i];

            if (!YAJL_IS_ARRAY(v)) {
                continue;
            }

            for (j = 0; j < v->u.array.len; j++) {
                hydra_merge_try(hydra_merge_copy(g, v->u.array.values[j],
                                                 depth + 1));
            }
        }

        hydra_merge_check(yajl_gen_array_close(g));
        return HYDRA_OK;

    default:
        return hydra_merge_copy(g, first, depth);
    }
}
