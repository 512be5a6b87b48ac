
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hydra_merge.h"
#include "hydra_merge_util.h"
#include "hydra_merge_stats.h"


/* the longest table of known fields */
#define HYDRA_MERGE_FIELDS_MAX    32

#define hydra_merge_known(name, kind, dflt)                                   \
    { name, sizeof(name) - 1, kind, dflt }


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
    size_t                        len;
    hydra_merge_kind_e            kind;
    hydra_merge_default_e         dflt;
} hydra_merge_field_t;


/* the durations of every repo, their sum, and which zeros came */

#define HYDRA_MERGE_POS_ZERO      1
#define HYDRA_MERGE_NEG_ZERO      2

typedef struct {
    double                       *d;
    size_t                        n;
    double                        sum;
    unsigned                      zeros;
} hydra_merge_numbers_t;


static void hydra_merge_pipeline_stats_body(hydra_merge_ctx_t *c);
static void hydra_merge_queue_body(hydra_merge_ctx_t *c);
static void hydra_merge_stats_body(hydra_merge_ctx_t *c);
static void hydra_merge_github_body(hydra_merge_ctx_t *c);
static void hydra_merge_fields_answer(hydra_merge_ctx_t *c,
    const hydra_merge_field_t *fields);
static void hydra_merge_metrics_body(hydra_merge_ctx_t *c);
static void hydra_merge_rates(hydra_merge_ctx_t *c, hydra_merge_val_t *vals);
static void hydra_merge_rate(hydra_merge_ctx_t *c, const char *name,
    const hydra_merge_sum_t *num, double den);
static void hydra_merge_time_to_merge(hydra_merge_ctx_t *c,
    hydra_merge_val_t *vals);
static void hydra_merge_number_add(hydra_merge_numbers_t *nums, double d);
static void hydra_merge_percentiles(hydra_merge_ctx_t *c,
    hydra_merge_numbers_t *nums);
static void hydra_merge_map_of(hydra_merge_ctx_t *c, const char *key,
    size_t len);
static void hydra_merge_history_body(hydra_merge_ctx_t *c);

static void hydra_merge_members(hydra_merge_ctx_t *c,
    hydra_merge_val_t *vals, const hydra_merge_field_t *fields,
    unsigned depth);
static void hydra_merge_members_write(hydra_merge_ctx_t *c,
    hydra_merge_keys_t *keys, hydra_merge_val_t *sub,
    const hydra_merge_field_t *fields, unsigned depth);
static void hydra_merge_field(hydra_merge_ctx_t *c, hydra_merge_val_t *vals,
    hydra_merge_kind_e kind, unsigned depth);
static void hydra_merge_default(hydra_jspan_out_t *out,
    hydra_merge_default_e dflt);
static void hydra_merge_value(hydra_merge_ctx_t *c, hydra_merge_val_t *vals,
    const hydra_merge_field_t *fields, unsigned depth);
static void hydra_merge_join(hydra_jspan_out_t *out, hydra_merge_val_t list);


/* QueueStats: maps added key by key, the newest poll */
static const hydra_merge_field_t  hydra_merge_queue_fields[] = {
    hydra_merge_known("queue_depth", HYDRA_MERGE_SUM, HYDRA_MERGE_EMPTY_OBJECT),
    hydra_merge_known("active_count", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_EMPTY_OBJECT),
    hydra_merge_known("total_processed", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_EMPTY_OBJECT),
    hydra_merge_known("last_poll_timestamp", HYDRA_MERGE_MAX_STRING,
                      HYDRA_MERGE_NULL),
    hydra_merge_known("dedup_stats", HYDRA_MERGE_SUM, HYDRA_MERGE_EMPTY_OBJECT),
    hydra_merge_known("in_flight_count", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO),
    hydra_merge_known("hydra", HYDRA_MERGE_SKIP, HYDRA_MERGE_ABSENT),
    { NULL, 0, HYDRA_MERGE_SUM, HYDRA_MERGE_ABSENT }
};


/* PipelineStats, or {} from a repo with no orchestrator */
static const hydra_merge_field_t  hydra_merge_pipeline_stats_fields[] = {
    hydra_merge_known("timestamp", HYDRA_MERGE_MAX_STRING, HYDRA_MERGE_ABSENT),
    hydra_merge_known("uptime_seconds", HYDRA_MERGE_MAX_NUMBER,
                      HYDRA_MERGE_ABSENT),
    hydra_merge_known("queue", HYDRA_MERGE_QUEUE, HYDRA_MERGE_ABSENT),
    hydra_merge_known("hydra", HYDRA_MERGE_SKIP, HYDRA_MERGE_ABSENT),
    { NULL, 0, HYDRA_MERGE_SUM, HYDRA_MERGE_ABSENT }
};


/*
 * LifetimeStats: counters added (and any counter HydraFlow adds later),
 * duration lists joined so that percentiles stay right
 */
static const hydra_merge_field_t  hydra_merge_stats_fields[] = {
    hydra_merge_known("issues_completed", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO),
    hydra_merge_known("prs_merged", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO),
    hydra_merge_known("issues_created", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO),
    hydra_merge_known("total_quality_fix_rounds", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_ci_fix_rounds", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO),
    hydra_merge_known("total_hitl_escalations", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_review_request_changes", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_review_approvals", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_reviewer_fixes", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_outcomes_merged", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_outcomes_already_satisfied", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_outcomes_hitl_closed", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_outcomes_hitl_skipped", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_outcomes_failed", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_outcomes_manual_close", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_outcomes_hitl_approved", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_ZERO),
    hydra_merge_known("total_implementation_seconds", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_REAL_ZERO),
    hydra_merge_known("total_review_seconds", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_REAL_ZERO),
    hydra_merge_known("merge_durations", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_EMPTY_ARRAY),
    hydra_merge_known("retries_per_stage", HYDRA_MERGE_ISSUES,
                      HYDRA_MERGE_EMPTY_OBJECT),
    hydra_merge_known("fired_thresholds", HYDRA_MERGE_UNION,
                      HYDRA_MERGE_EMPTY_ARRAY),
    hydra_merge_known("queue", HYDRA_MERGE_QUEUE, HYDRA_MERGE_ABSENT),
    hydra_merge_known("hydra", HYDRA_MERGE_SKIP, HYDRA_MERGE_ABSENT),
    { NULL, 0, HYDRA_MERGE_SUM, HYDRA_MERGE_ABSENT }
};


static const hydra_merge_field_t  hydra_merge_github_fields[] = {
    hydra_merge_known("open_by_label", HYDRA_MERGE_SUM,
                      HYDRA_MERGE_EMPTY_OBJECT),
    hydra_merge_known("total_closed", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO),
    hydra_merge_known("total_merged", HYDRA_MERGE_SUM, HYDRA_MERGE_ZERO),
    hydra_merge_known("hydra", HYDRA_MERGE_SKIP, HYDRA_MERGE_ABSENT),
    { NULL, 0, HYDRA_MERGE_SUM, HYDRA_MERGE_ABSENT }
};


/*
 * /api/pipeline/stats: StageStats and throughput added key by key,
 * worker_cap the sum of the non-null caps (null if none), the newest
 * timestamp, the longest uptime, the queue as /api/queue
 */

int
hydra_merge_pipeline_stats(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_pipeline_stats_body);
}


static void
hydra_merge_pipeline_stats_body(hydra_merge_ctx_t *c)
{
    hydra_merge_fields_answer(c, hydra_merge_pipeline_stats_fields);
}


int
hydra_merge_queue(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_queue_body);
}


static void
hydra_merge_queue_body(hydra_merge_ctx_t *c)
{
    hydra_merge_fields_answer(c, hydra_merge_queue_fields);
}


int
hydra_merge_stats(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_stats_body);
}


static void
hydra_merge_stats_body(hydra_merge_ctx_t *c)
{
    hydra_merge_fields_answer(c, hydra_merge_stats_fields);
}


int
hydra_merge_github(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_github_body);
}


static void
hydra_merge_github_body(hydra_merge_ctx_t *c)
{
    hydra_merge_fields_answer(c, hydra_merge_github_fields);
}


static void
hydra_merge_fields_answer(hydra_merge_ctx_t *c,
    const hydra_merge_field_t *fields)
{
    hydra_merge_val_t  *vals;

    vals = hydra_merge_vals(c->m, NULL, 0);
    if (vals == NULL) {
        hydra_jspan_out_fail(c->out);
        return;
    }

    hydra_jspan_putc(c->out, '{');
    hydra_merge_members(c, vals, fields, 0);
    hydra_merge_facts(c);
    hydra_jspan_putc(c->out, '}');

    free(vals);
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

int
hydra_merge_metrics(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_metrics_body);
}


static void
hydra_merge_metrics_body(hydra_merge_ctx_t *c)
{
    hydra_jspan_out_t  *out;
    hydra_merge_val_t  *vals;

    out = c->out;

    vals = hydra_merge_vals(c->m, "lifetime", sizeof("lifetime") - 1);
    if (vals == NULL) {
        hydra_jspan_out_fail(out);
        return;
    }

    hydra_jspan_putc(out, '{');

    hydra_jspan_name(out, "lifetime");
    hydra_jspan_putc(out, '{');
    hydra_merge_members(c, vals, hydra_merge_stats_fields, 1);
    hydra_jspan_putc(out, '}');

    hydra_jspan_name(out, "rates");
    hydra_merge_rates(c, vals);

    hydra_jspan_name(out, "time_to_merge");
    hydra_merge_time_to_merge(c, vals);

    hydra_jspan_name(out, "thresholds");
    hydra_jspan_lit(out, "[]");

    hydra_jspan_name(out, "inference_lifetime");
    hydra_merge_map_of(c, "inference_lifetime",
                       sizeof("inference_lifetime") - 1);

    hydra_jspan_name(out, "inference_session");
    hydra_merge_map_of(c, "inference_session",
                       sizeof("inference_session") - 1);

    hydra_merge_facts(c);

    hydra_jspan_putc(out, '}');

    free(vals);
}


/* HydraFlow's get_metrics, over the sums; a rate over 0 is left out */

static void
hydra_merge_rates(hydra_merge_ctx_t *c, hydra_merge_val_t *vals)
{
    size_t                i;
    double                issues, reviews;
    hydra_jspan_out_t    *out;
    hydra_merge_val_t     retries, stages, v;
    hydra_merge_sum_t     completed, merged, quality, hitl, impl, approvals,
                          changes, fixes, total;
    const hydra_merge_t  *m;

    m = c->m;
    out = c->out;

    hydra_merge_sum_of(&completed, m, vals, "issues_completed");
    hydra_merge_sum_of(&merged, m, vals, "prs_merged");
    hydra_merge_sum_of(&quality, m, vals, "total_quality_fix_rounds");
    hydra_merge_sum_of(&hitl, m, vals, "total_hitl_escalations");
    hydra_merge_sum_of(&impl, m, vals, "total_implementation_seconds");
    hydra_merge_sum_of(&approvals, m, vals, "total_review_approvals");
    hydra_merge_sum_of(&changes, m, vals, "total_review_request_changes");
    hydra_merge_sum_of(&fixes, m, vals, "total_reviewer_fixes");

    issues = hydra_merge_sum_value(&completed);
    reviews = hydra_merge_sum_value(&approvals)
              + hydra_merge_sum_value(&changes);

    hydra_jspan_putc(out, '{');

    if (issues > 0) {
        hydra_merge_rate(c, "merge_rate", &merged, issues);
        hydra_merge_rate(c, "quality_fix_rate", &quality, issues);
        hydra_merge_rate(c, "hitl_escalation_rate", &hitl, issues);
        hydra_merge_rate(c, "avg_implementation_seconds", &impl, issues);
    }

    if (reviews > 0) {
        hydra_merge_rate(c, "first_pass_approval_rate", &approvals,
                         reviews);
        hydra_merge_rate(c, "reviewer_fix_rate", &fixes, reviews);
    }

    /* every retry of every issue of every repo */

    hydra_merge_sum_init(&total);

    for (i = 0; i < m->ninputs; i++) {
        retries = hydra_merge_get(vals[i], "retries_per_stage");

        if (!hydra_jspan_is_object(retries)) {
            continue;
        }

        for (stages = hydra_jspan_first(retries);
             stages != NULL;
             stages = hydra_jspan_next(stages))
        {
            if (!hydra_jspan_is_object(stages)) {
                continue;
            }

            for (v = hydra_jspan_first(stages); v; v = hydra_jspan_next(v)) {
                hydra_merge_sum_add(&total, v);
            }
        }
    }

    if (hydra_merge_sum_value(&total) > 0) {
        hydra_jspan_name(out, "retries_per_stage");
        hydra_merge_sum_write(out, &total);
    }

    hydra_jspan_putc(out, '}');
}


static void
hydra_merge_rate(hydra_merge_ctx_t *c, const char *name,
    const hydra_merge_sum_t *num, double den)
{
    hydra_merge_name(c->out, name, strlen(name));
    hydra_jspan_real(c->out, hydra_merge_sum_value(num) / den);
}


/* avg, p50 and p90 over every repo's merge_durations together */

static void
hydra_merge_time_to_merge(hydra_merge_ctx_t *c, hydra_merge_val_t *vals)
{
    size_t                 i, n;
    hydra_merge_val_t      list, v;
    hydra_merge_numbers_t  nums;

    n = 0;

    for (i = 0; i < c->m->ninputs; i++) {
        list = hydra_merge_get(vals[i], "merge_durations");

        if (!hydra_jspan_is_array(list)) {
            continue;
        }

        for (v = hydra_jspan_first(list); v; v = hydra_jspan_next(v)) {
            n += hydra_jspan_is_number(v);
        }
    }

    if (n == 0) {
        hydra_jspan_lit(c->out, "{}");
        return;
    }

    nums.d = malloc(n * sizeof(double));
    if (nums.d == NULL) {
        hydra_jspan_out_fail(c->out);
        return;
    }

    nums.n = 0;
    nums.sum = 0;
    nums.zeros = 0;

    for (i = 0; i < c->m->ninputs; i++) {
        list = hydra_merge_get(vals[i], "merge_durations");

        if (!hydra_jspan_is_array(list)) {
            continue;
        }

        for (v = hydra_jspan_first(list); v; v = hydra_jspan_next(v)) {
            if (hydra_jspan_is_number(v)) {
                hydra_merge_number_add(&nums, hydra_jspan_double(v));
            }
        }
    }

    hydra_merge_percentiles(c, &nums);

    free(nums.d);
}


static void
hydra_merge_number_add(hydra_merge_numbers_t *nums, double d)
{
    nums->d[nums->n++] = d;
    nums->sum += d;

    if (d == 0) {
        nums->zeros |= signbit(d) ? HYDRA_MERGE_NEG_ZERO
                                  : HYDRA_MERGE_POS_ZERO;
    }
}


/*
 * get_merge_duration_stats: d[n / 2], d[min((int) (n * 0.9), n - 1)] of
 * the sorted numbers.  Two selections find them without a sort; only
 * when both zeros are there does the sort, stable, tell which one a
 * percentile is, as Python's sorted() would.
 */

static void
hydra_merge_percentiles(hydra_merge_ctx_t *c, hydra_merge_numbers_t *nums)
{
    double             *d;
    size_t              n, p50, p90;
    hydra_jspan_out_t  *out;

    out = c->out;
    d = nums->d;
    n = nums->n;

    p50 = n / 2;
    p90 = (size_t) ((double) n * 0.9);

    if (p90 > n - 1) {
        p90 = n - 1;
    }

    if (nums->zeros == (HYDRA_MERGE_NEG_ZERO|HYDRA_MERGE_POS_ZERO)
        || hydra_merge_select(d, n, p90) != HYDRA_OK
        || hydra_merge_select(d, p90 + 1, p50) != HYDRA_OK)
    {
        if (hydra_merge_sort(d, n) != HYDRA_OK) {
            hydra_jspan_out_fail(out);
            return;
        }
    }

    hydra_jspan_putc(out, '{');

    hydra_jspan_name(out, "avg");
    hydra_jspan_real(out, hydra_merge_round1(nums->sum / (double) n));
    hydra_jspan_name(out, "p50");
    hydra_jspan_real(out, hydra_merge_round1(d[p50]));
    hydra_jspan_name(out, "p90");
    hydra_jspan_real(out, hydra_merge_round1(d[p90]));

    hydra_jspan_putc(out, '}');
}


/* a map of counters added key by key; {} when no repo has one */

static void
hydra_merge_map_of(hydra_merge_ctx_t *c, const char *key, size_t len)
{
    hydra_merge_val_t  *vals;

    vals = hydra_merge_vals(c->m, key, len);
    if (vals == NULL) {
        hydra_jspan_out_fail(c->out);
        return;
    }

    hydra_jspan_putc(c->out, '{');
    hydra_merge_members(c, vals, NULL, 1);
    hydra_jspan_putc(c->out, '}');

    free(vals);
}


/* HydraFlow's own aggregate answer: no fleet-wide series */

int
hydra_merge_history(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_history_body);
}


static void
hydra_merge_history_body(hydra_merge_ctx_t *c)
{
    hydra_jspan_lit(c->out, "{\"snapshots\":[],\"current\":null");
    hydra_merge_facts(c);
    hydra_jspan_putc(c->out, '}');
}


/*
 * Writes the members of the objects in vals (one per repo, NULL or not
 * an object: none) merged key by key, keys in first-seen order.  A key
 * of fields is merged by its kind, any other by HYDRA_MERGE_SUM; known
 * keys no repo has get their default, after the others.  vals are at
 * the given depth.
 */

static void
hydra_merge_members(hydra_merge_ctx_t *c, hydra_merge_val_t *vals,
    const hydra_merge_field_t *fields, unsigned depth)
{
    hydra_merge_val_t   *sub;
    hydra_merge_keys_t   keys;

    sub = calloc(c->m->ninputs + 1, sizeof(hydra_merge_val_t));
    if (sub == NULL) {
        hydra_jspan_out_fail(c->out);
        return;
    }

    if (hydra_merge_keys_init(&keys, vals, c->m->ninputs) != HYDRA_OK) {
        hydra_jspan_out_fail(c->out);
        free(sub);
        return;
    }

    hydra_merge_members_write(c, &keys, sub, fields, depth);

    hydra_merge_keys_free(&keys);
    free(sub);
}


static void
hydra_merge_members_write(hydra_merge_ctx_t *c, hydra_merge_keys_t *keys,
    hydra_merge_val_t *sub, const hydra_merge_field_t *fields,
    unsigned depth)
{
    size_t                     k, f;
    unsigned char              seen[HYDRA_MERGE_FIELDS_MAX];
    hydra_merge_kind_e         kind;
    const hydra_merge_name_t  *name;

    memset(seen, 0, sizeof(seen));

    for (k = 0; k < keys->nnames; k++) {
        name = &keys->names[k];
        kind = HYDRA_MERGE_SUM;

        for (f = 0;
             fields != NULL && f < HYDRA_MERGE_FIELDS_MAX
             && fields[f].name != NULL;
             f++)
        {
            if (fields[f].len == name->len
                && memcmp(fields[f].name, name->key, name->len) == 0)
            {
                kind = fields[f].kind;
                seen[f] = 1;
                break;
            }
        }

        if (kind == HYDRA_MERGE_SKIP) {
            continue;
        }

        hydra_merge_keys_values(keys, k, sub, c->m->ninputs);

        hydra_jspan_copy_key(c->out, name->first);
        hydra_merge_field(c, sub, kind, depth + 1);
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

        hydra_merge_name(c->out, fields[f].name, fields[f].len);
        hydra_merge_default(c->out, fields[f].dflt);
    }
}


static void
hydra_merge_field(hydra_merge_ctx_t *c, hydra_merge_val_t *vals,
    hydra_merge_kind_e kind, unsigned depth)
{
    switch (kind) {

    case HYDRA_MERGE_MAX_STRING:
        hydra_merge_max_string(c->out, c->m, vals);
        break;

    case HYDRA_MERGE_MAX_NUMBER:
        hydra_merge_max_number(c->out, c->m, vals);
        break;

    case HYDRA_MERGE_UNION:
        if (hydra_merge_union(c->out, c->m, vals) != HYDRA_OK) {
            hydra_jspan_out_fail(c->out);
        }

        break;

    case HYDRA_MERGE_ISSUES:
        hydra_jspan_putc(c->out, '{');
        hydra_merge_issues(c->out, c->m, vals, &c->tags, 0);
        hydra_jspan_putc(c->out, '}');
        break;

    case HYDRA_MERGE_QUEUE:
        hydra_merge_value(c, vals, hydra_merge_queue_fields, depth);
        break;

    default:
        hydra_merge_value(c, vals, NULL, depth);
    }
}


static void
hydra_merge_default(hydra_jspan_out_t *out, hydra_merge_default_e dflt)
{
    switch (dflt) {

    case HYDRA_MERGE_ZERO:
        hydra_jspan_lit(out, "0");
        break;

    case HYDRA_MERGE_REAL_ZERO:
        hydra_jspan_lit(out, "0.0");
        break;

    case HYDRA_MERGE_EMPTY_OBJECT:
        hydra_jspan_lit(out, "{}");
        break;

    case HYDRA_MERGE_EMPTY_ARRAY:
        hydra_jspan_lit(out, "[]");
        break;

    default:
        hydra_jspan_lit(out, "null");
    }
}


/*
 * One key's values, one per repo, merged by the type of the first
 * number, object or array: numbers added, objects merged key by key,
 * lists joined.  Values of another type contribute nothing: a counter
 * that is null, "7" or true in one repo adds nothing, and an object in
 * the first repo makes a number in the next one ignored.  With no such
 * value, the first string or bool is copied; all null (or absent) is
 * null.  Written right after its key.
 */

static void
hydra_merge_value(hydra_merge_ctx_t *c, hydra_merge_val_t *vals,
    const hydra_merge_field_t *fields, unsigned depth)
{
    size_t              i;
    hydra_jspan_out_t  *out;
    hydra_merge_val_t   first, scalar, v;
    hydra_merge_sum_t   sum;

    out = c->out;
    first = NULL;
    scalar = NULL;

    for (i = 0; i < c->m->ninputs; i++) {
        v = vals[i];

        if (hydra_jspan_is_number(v) || hydra_jspan_is_object(v)
            || hydra_jspan_is_array(v))
        {
            first = v;
            break;
        }

        if (scalar == NULL && v != NULL && !hydra_jspan_is_null(v)) {
            scalar = v;
        }
    }

    if (first == NULL) {
        hydra_jspan_copy(out, scalar);
        return;
    }

    switch (first->type) {

    case HYDRA_JSPAN_NUMBER:
        hydra_merge_sum_init(&sum);

        for (i = 0; i < c->m->ninputs; i++) {
            hydra_merge_sum_add(&sum, vals[i]);
        }

        hydra_merge_sum_write(out, &sum);
        return;

    case HYDRA_JSPAN_OBJECT:
        if (depth >= HYDRA_MERGE_DEPTH_MAX) {
            hydra_jspan_lit(out, "null");
            return;
        }

        hydra_jspan_putc(out, '{');
        hydra_merge_members(c, vals, fields, depth);
        hydra_jspan_putc(out, '}');
        return;

    default:
        if (depth >= HYDRA_MERGE_DEPTH_MAX) {
            hydra_jspan_lit(out, "null");
            return;
        }

        hydra_jspan_putc(out, '[');

        for (i = 0; i < c->m->ninputs; i++) {
            if (hydra_jspan_is_array(vals[i])) {
                hydra_merge_join(out, vals[i]);
            }
        }

        hydra_jspan_putc(out, ']');
        return;
    }
}


/* the items of a list as their text, from the first one to the last */

static void
hydra_merge_join(hydra_jspan_out_t *out, hydra_merge_val_t list)
{
    const char  *p, *end;

    if (list->count == 0) {
        return;
    }

    p = list[1].text;
    end = hydra_jspan_end(list) - 1;

    while (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'
           || end[-1] == '\n')
    {
        end--;
    }

    hydra_jspan_sep(out);
    hydra_jspan_put(out, p, end - p);
}
