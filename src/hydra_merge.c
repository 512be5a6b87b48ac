
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdlib.h>
#include <string.h>

#include "hydra_merge.h"
#include "hydra_merge_util.h"
#include "hydra_merge_stats.h"


/* an item of /api/events or /api/sessions on its way to be sorted */
typedef struct {
    int                           has_id;
    double                        id;
    size_t                        order;
    size_t                        input;
    hydra_merge_val_t             time;     /* a string, or NULL */
    hydra_merge_val_t             item;
} hydra_merge_entry_t;


static int hydra_merge_valid_object(const hydra_jspan_node_t *root);
static int hydra_merge_valid_array(const hydra_jspan_node_t *root);
static int hydra_merge_valid_pipeline(const hydra_jspan_node_t *root);
static int hydra_merge_valid_pipeline_stats(const hydra_jspan_node_t *root);
static int hydra_merge_valid_workers(const hydra_jspan_node_t *root);

static int hydra_merge_pipeline(hydra_jspan_out_t *out,
    const hydra_merge_t *m);
static int hydra_merge_list(hydra_jspan_out_t *out, const hydra_merge_t *m);
static int hydra_merge_workers(hydra_jspan_out_t *out,
    const hydra_merge_t *m);
static int hydra_merge_events(hydra_jspan_out_t *out, const hydra_merge_t *m);
static int hydra_merge_control(hydra_jspan_out_t *out,
    const hydra_merge_t *m);
static int hydra_merge_sessions(hydra_jspan_out_t *out,
    const hydra_merge_t *m);
static int hydra_merge_outcomes(hydra_jspan_out_t *out,
    const hydra_merge_t *m);
static int hydra_merge_human_input(hydra_jspan_out_t *out,
    const hydra_merge_t *m);

static void hydra_merge_pipeline_body(hydra_merge_ctx_t *c);
static void hydra_merge_stages(hydra_merge_ctx_t *c, hydra_merge_val_t *vals);
static void hydra_merge_list_body(hydra_merge_ctx_t *c);
static void hydra_merge_workers_body(hydra_merge_ctx_t *c);
static void hydra_merge_items(hydra_merge_ctx_t *c, const char *key,
    size_t len);
static void hydra_merge_events_body(hydra_merge_ctx_t *c);
static void hydra_merge_sessions_body(hydra_merge_ctx_t *c);
static void hydra_merge_sorted(hydra_merge_ctx_t *c, const char *time,
    size_t len, int events);
static size_t hydra_merge_entries(const hydra_merge_t *m,
    hydra_merge_entry_t *entries, const char *time, size_t len);
static void hydra_merge_entries_write(hydra_jspan_out_t *out, int keep_repo,
    const hydra_merge_entry_t *entries, size_t n,
    const hydra_merge_tags_t *tags);
static int hydra_merge_event_cmp(const void *a, const void *b);
static int hydra_merge_session_cmp(const void *a, const void *b);
static int hydra_merge_time_cmp(hydra_merge_val_t a, hydra_merge_val_t b);
static void hydra_merge_control_body(hydra_merge_ctx_t *c);
static void hydra_merge_control_repo(hydra_merge_ctx_t *c,
    const hydra_merge_input_t *in);
static hydra_merge_val_t hydra_merge_control_status(const hydra_merge_t *m);
static void hydra_merge_outcomes_body(hydra_merge_ctx_t *c);
static void hydra_merge_human_input_body(hydra_merge_ctx_t *c);
static void hydra_merge_issue_map(hydra_merge_ctx_t *c, int tag);


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
 * The scan does not validate JSON, the parser after it does; it only
 * keeps recursive walks off a hostile depth.  hydra_jspan_parse() has
 * the same limit built in; hydra_event.c scans with this before yajl.
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
hydra_merge_valid_object(const hydra_jspan_node_t *root)
{
    return hydra_jspan_is_object(root);
}


static int
hydra_merge_valid_array(const hydra_jspan_node_t *root)
{
    return hydra_jspan_is_array(root);
}


/* {"stages": {stage: [PipelineIssue]}, "ready": bool} */

static int
hydra_merge_valid_pipeline(const hydra_jspan_node_t *root)
{
    hydra_merge_val_t  stages, v;

    stages = hydra_merge_get(root, "stages");

    if (!hydra_jspan_is_object(stages)) {
        return 0;
    }

    for (v = hydra_jspan_first(stages); v != NULL; v = hydra_jspan_next(v)) {
        if (!hydra_jspan_is_array(v)) {
            return 0;
        }
    }

    return 1;
}


static int
hydra_merge_valid_pipeline_stats(const hydra_jspan_node_t *root)
{
    hydra_merge_val_t  stages;

    if (!hydra_jspan_is_object(root)) {
        return 0;
    }

    stages = hydra_merge_get(root, "stages");

    return stages == NULL || hydra_jspan_is_object(stages);
}


static int
hydra_merge_valid_workers(const hydra_jspan_node_t *root)
{
    return hydra_jspan_is_array(hydra_merge_get(root, "workers"));
}


/*
 * /api/pipeline: each stage's issues, repo after repo, tagged; the key of
 * an issue is (repo, issue_number), two repos' #12 stay two issues:
 *
 *   {"stages": {"plan": [{"issue_number": 41, ..., "repo": "acme-api"}]},
 *    "ready": true, "hydra": {...}}
 */

static int
hydra_merge_pipeline(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_pipeline_body);
}


static void
hydra_merge_pipeline_body(hydra_merge_ctx_t *c)
{
    int                 ready;
    size_t              i;
    hydra_jspan_out_t  *out;
    hydra_merge_val_t  *vals;

    out = c->out;

    vals = hydra_merge_vals(c->m, "stages", sizeof("stages") - 1);
    if (vals == NULL) {
        hydra_jspan_out_fail(out);
        return;
    }

    ready = 1;

    for (i = 0; i < c->m->ninputs; i++) {
        if (hydra_jspan_is_false(hydra_merge_get(c->m->inputs[i].root,
                                                 "ready")))
        {
            ready = 0;
        }
    }

    hydra_jspan_putc(out, '{');

    hydra_jspan_name(out, "stages");
    hydra_jspan_putc(out, '{');
    hydra_merge_stages(c, vals);
    hydra_jspan_putc(out, '}');

    hydra_jspan_name(out, "ready");

    if (ready) {
        hydra_jspan_lit(out, "true");

    } else {
        hydra_jspan_lit(out, "false");
    }

    hydra_merge_facts(c);

    hydra_jspan_putc(out, '}');

    free(vals);
}


/* "stage": [the stage's issues of each repo, in repo order], ... */

static void
hydra_merge_stages(hydra_merge_ctx_t *c, hydra_merge_val_t *vals)
{
    size_t                    s, o;
    hydra_jspan_out_t        *out;
    hydra_merge_val_t         item;
    hydra_merge_keys_t        keys;
    const hydra_merge_occ_t  *occ;

    out = c->out;

    if (hydra_merge_keys_init(&keys, vals, c->m->ninputs) != HYDRA_OK) {
        hydra_jspan_out_fail(out);
        return;
    }

    for (s = 0; s < keys.nnames; s++) {
        hydra_jspan_copy_key(out, keys.names[s].first);
        hydra_jspan_putc(out, '[');

        for (o = keys.names[s].head + 1; o != 0; o = occ->next) {
            occ = &keys.occ[o - 1];

            if (!hydra_jspan_is_array(occ->value)) {
                continue;
            }

            for (item = hydra_jspan_first(occ->value);
                 item != NULL;
                 item = hydra_jspan_next(item))
            {
                if (hydra_jspan_is_object(item)) {
                    hydra_merge_tagged(out, item, &c->tags, occ->input);
                }
            }
        }

        hydra_jspan_putc(out, ']');
    }

    hydra_merge_keys_free(&keys);
}


/* /api/hitl, /api/prs, /api/timeline: [item + "repo", ...] */

static int
hydra_merge_list(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_list_body);
}


static void
hydra_merge_list_body(hydra_merge_ctx_t *c)
{
    hydra_jspan_putc(c->out, '[');
    hydra_merge_items(c, NULL, 0);
    hydra_jspan_putc(c->out, ']');
}


/* {"workers": [BackgroundWorkerStatus + "repo", ...], "hydra": {...}} */

static int
hydra_merge_workers(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_workers_body);
}


static void
hydra_merge_workers_body(hydra_merge_ctx_t *c)
{
    hydra_jspan_lit(c->out, "{\"workers\":[");
    hydra_merge_items(c, "workers", sizeof("workers") - 1);
    hydra_jspan_putc(c->out, ']');

    hydra_merge_facts(c);

    hydra_jspan_putc(c->out, '}');
}


/* the objects of each repo's list (the root, or root[key]), tagged */

static void
hydra_merge_items(hydra_merge_ctx_t *c, const char *key, size_t len)
{
    size_t             i;
    hydra_merge_val_t  list, item;

    for (i = 0; i < c->m->ninputs; i++) {
        list = c->m->inputs[i].root;

        if (key != NULL) {
            list = hydra_jspan_get(list, key, len);
        }

        if (!hydra_jspan_is_array(list)) {
            continue;
        }

        for (item = hydra_jspan_first(list);
             item != NULL;
             item = hydra_jspan_next(item))
        {
            if (hydra_jspan_is_object(item)) {
                hydra_merge_tagged(c->out, item, &c->tags, i);
            }
        }
    }
}


/* /api/events: every repo's events, tagged, by (timestamp, id) */

static int
hydra_merge_events(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_events_body);
}


static void
hydra_merge_events_body(hydra_merge_ctx_t *c)
{
    hydra_merge_sorted(c, "timestamp", sizeof("timestamp") - 1, 1);
}


/* /api/sessions: newest started_at first, then the limit */

static int
hydra_merge_sessions(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_sessions_body);
}


static void
hydra_merge_sessions_body(hydra_merge_ctx_t *c)
{
    hydra_merge_sorted(c, "started_at", sizeof("started_at") - 1, 0);
}


static void
hydra_merge_sorted(hydra_merge_ctx_t *c, const char *time, size_t len,
    int events)
{
    size_t                n, limit;
    hydra_merge_entry_t  *entries;

    n = hydra_merge_entries(c->m, NULL, time, len);

    entries = malloc((n + 1) * sizeof(hydra_merge_entry_t));
    if (entries == NULL) {
        hydra_jspan_out_fail(c->out);
        return;
    }

    n = hydra_merge_entries(c->m, entries, time, len);

    if (events) {
        qsort(entries, n, sizeof(hydra_merge_entry_t), hydra_merge_event_cmp);
        limit = n;

    } else {
        qsort(entries, n, sizeof(hydra_merge_entry_t),
              hydra_merge_session_cmp);
        limit = c->m->limit > 0 ? (size_t) c->m->limit
                                : HYDRA_MERGE_SESSIONS_MAX;
    }

    /* a SessionLog's own "repo" is owner/name: it stays as written */

    hydra_merge_entries_write(c->out, !events, entries,
                              n < limit ? n : limit, &c->tags);

    free(entries);
}


/* counts the objects of every repo's list, and fills entries if given */

static size_t
hydra_merge_entries(const hydra_merge_t *m, hydra_merge_entry_t *entries,
    const char *time, size_t len)
{
    size_t                i, n;
    long long             id;
    hydra_merge_val_t     list, item, v;
    hydra_merge_entry_t  *e;

    n = 0;

    for (i = 0; i < m->ninputs; i++) {
        list = m->inputs[i].root;

        if (!hydra_jspan_is_array(list)) {
            continue;
        }

        for (item = hydra_jspan_first(list);
             item != NULL;
             item = hydra_jspan_next(item))
        {
            if (!hydra_jspan_is_object(item)) {
                continue;
            }

            if (entries != NULL) {
                e = &entries[n];

                e->item = item;
                e->input = i;
                e->order = n;

                v = hydra_jspan_get(item, time, len);
                e->time = hydra_jspan_is_string(v) ? v : NULL;

                v = hydra_merge_get(item, "id");
                e->has_id = hydra_jspan_is_number(v);
                e->id = 0;

                if (e->has_id) {
                    e->id = hydra_jspan_integer(v, &id)
                            ? (double) id : hydra_jspan_double(v);
                }
            }

            n++;
        }
    }

    return n;
}


static void
hydra_merge_entries_write(hydra_jspan_out_t *out, int keep_repo,
    const hydra_merge_entry_t *entries, size_t n,
    const hydra_merge_tags_t *tags)
{
    size_t  i;

    hydra_jspan_sep(out);
    hydra_jspan_putc(out, '[');

    for (i = 0; i < n; i++) {
        if (keep_repo
            && hydra_jspan_is_string(hydra_merge_get(entries[i].item, "repo")))
        {
            hydra_jspan_copy(out, entries[i].item);
            continue;
        }

        hydra_merge_tagged(out, entries[i].item, tags, entries[i].input);
    }

    hydra_jspan_putc(out, ']');
}


/*
 * Oldest first; an event with no timestamp sorts as "", one with no
 * numeric id before its numbered peers; ties keep the repos' order.
 */

static int
hydra_merge_event_cmp(const void *a, const void *b)
{
    int                         c;
    const hydra_merge_entry_t  *x, *y;

    x = a;
    y = b;

    c = hydra_merge_time_cmp(x->time, y->time);
    if (c != 0) {
        return c;
    }

    if (x->has_id != y->has_id) {
        return x->has_id ? 1 : -1;
    }

    if (x->has_id && x->id != y->id) {
        return x->id < y->id ? -1 : 1;
    }

    return x->order < y->order ? -1 : (x->order > y->order);
}


/* newest first, with no started_at last; ties keep the repos' order */

static int
hydra_merge_session_cmp(const void *a, const void *b)
{
    int                         c;
    const hydra_merge_entry_t  *x, *y;

    x = a;
    y = b;

    if ((x->time == NULL) != (y->time == NULL)) {
        return x->time == NULL ? 1 : -1;
    }

    if (x->time != NULL) {
        c = hydra_jspan_str_cmp(y->time, x->time);
        if (c != 0) {
            return c;
        }
    }

    return x->order < y->order ? -1 : (x->order > y->order);
}


/* two strings as text, no string at all as "" */

static int
hydra_merge_time_cmp(hydra_merge_val_t a, hydra_merge_val_t b)
{
    if (a != NULL && b != NULL) {
        return hydra_jspan_str_cmp(a, b);
    }

    if (a == NULL && b == NULL) {
        return 0;
    }

    /* only "" (two quotes) equals no string */

    if (a == NULL) {
        return b->len > 2 ? -1 : 0;
    }

    return a->len > 2 ? 1 : 0;
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
hydra_merge_control(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_control_body);
}


static void
hydra_merge_control_body(hydra_merge_ctx_t *c)
{
    size_t                i;
    hydra_jspan_out_t    *out;
    hydra_merge_val_t     v, status, until, config;
    const hydra_merge_t  *m;

    m = c->m;
    out = c->out;

    status = hydra_merge_control_status(m);
    until = NULL;
    config = NULL;

    for (i = 0; i < m->ninputs; i++) {
        v = hydra_merge_get(m->inputs[i].root, "credits_paused_until");

        if (hydra_jspan_is_string(v)
            && (until == NULL || hydra_jspan_str_cmp(v, until) < 0))
        {
            until = v;
        }

        v = hydra_merge_get(m->inputs[i].root, "config");

        if (config == NULL && hydra_jspan_is_object(v)) {
            config = v;
        }
    }

    hydra_jspan_putc(out, '{');

    hydra_jspan_name(out, "status");

    if (status != NULL) {
        hydra_jspan_copy(out, status);

    } else {
        hydra_jspan_lit(out, "\"idle\"");
    }

    hydra_jspan_name(out, "credits_paused_until");
    hydra_jspan_copy(out, until);
    hydra_jspan_name(out, "config");
    hydra_jspan_copy(out, config);
    hydra_jspan_name(out, "current_session_id");
    hydra_jspan_lit(out, "null");

    /* BEGIN repos */

    hydra_jspan_name(out, "repos");
    hydra_jspan_putc(out, '[');

    for (i = 0; i < m->ninputs; i++) {
        hydra_merge_control_repo(c, &m->inputs[i]);
    }

    hydra_jspan_putc(out, ']');

    /* END repos */

    hydra_merge_facts(c);

    hydra_jspan_putc(out, '}');
}


static void
hydra_merge_control_repo(hydra_merge_ctx_t *c, const hydra_merge_input_t *in)
{
    hydra_jspan_out_t  *out;

    out = c->out;

    hydra_jspan_sep(out);
    hydra_jspan_putc(out, '{');

    hydra_jspan_name(out, "slug");
    hydra_jspan_string(out, in->repo, strlen(in->repo));
    hydra_jspan_name(out, "status");
    hydra_jspan_copy(out, hydra_merge_get(in->root, "status"));
    hydra_jspan_name(out, "credits_paused_until");
    hydra_jspan_copy(out, hydra_merge_get(in->root, "credits_paused_until"));
    hydra_jspan_name(out, "config");
    hydra_jspan_copy(out, hydra_merge_get(in->root, "config"));

    hydra_jspan_putc(out, '}');
}


/* the first status of the precedence any repo has, else the first one */

static hydra_merge_val_t
hydra_merge_control_status(const hydra_merge_t *m)
{
    size_t             p, i;
    hydra_merge_val_t  v;

    for (p = 0;
         p < sizeof(hydra_merge_precedence) / sizeof(hydra_merge_precedence[0]);
         p++)
    {
        for (i = 0; i < m->ninputs; i++) {
            v = hydra_merge_get(m->inputs[i].root, "status");

            if (hydra_jspan_str_is(v, hydra_merge_precedence[p],
                                   strlen(hydra_merge_precedence[p])))
            {
                return v;
            }
        }
    }

    for (i = 0; i < m->ninputs; i++) {
        v = hydra_merge_get(m->inputs[i].root, "status");

        if (hydra_jspan_is_string(v)) {
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
hydra_merge_outcomes(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_outcomes_body);
}


static void
hydra_merge_outcomes_body(hydra_merge_ctx_t *c)
{
    hydra_merge_issue_map(c, 1);
}


static int
hydra_merge_human_input(hydra_jspan_out_t *out, const hydra_merge_t *m)
{
    return hydra_merge_run(out, m, hydra_merge_human_input_body);
}


static void
hydra_merge_human_input_body(hydra_merge_ctx_t *c)
{
    hydra_merge_issue_map(c, 0);
}


static void
hydra_merge_issue_map(hydra_merge_ctx_t *c, int tag)
{
    hydra_merge_val_t  *vals;

    vals = hydra_merge_vals(c->m, NULL, 0);
    if (vals == NULL) {
        hydra_jspan_out_fail(c->out);
        return;
    }

    hydra_jspan_putc(c->out, '{');
    hydra_merge_issues(c->out, c->m, vals, &c->tags, tag);
    hydra_jspan_putc(c->out, '}');

    free(vals);
}
