
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_merge and hydra_merge_stats: the aggregated views as the glue
 * runs them.  The first byte picks the view, so every rule is driven;
 * the next ones the /api/sessions limit, a limit on the answer's size,
 * how many repos failed and how their tags are spelt.  The rest is the
 * repos' bodies, split at each 0x00 (JSON has no raw NUL): each one is
 * parsed and checked against the rule as the glue does, and is either
 * an input or a failure.
 *
 * A merge that succeeds writes one JSON text of the view's shape,
 * within the size limit, that yajl reads too; an object-shaped answer
 * ends with the facts, which name every repo in order; a list view has
 * every object item of every repo; /api/sessions keeps the limit.  A
 * merge fails only on the size limit or a tag that is not UTF-8.
 */


#include <math.h>
#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "hydra_merge.h"


/* more repos than a fleet has; the rest of the input is one body */
#define HYDRA_FUZZ_REPOS_MAX  16

#define HYDRA_FUZZ_TAG_SIZE   32


static const char  *hydra_fuzz_views[] = {
    "/api/pipeline", "/api/pipeline/stats", "/api/queue", "/api/stats",
    "/api/metrics", "/api/metrics/github", "/api/metrics/history",
    "/api/hitl", "/api/prs", "/api/timeline", "/api/system/workers",
    "/api/events", "/api/control/status", "/api/sessions",
    "/api/issues/outcomes", "/api/human-input"
};

#define HYDRA_FUZZ_NVIEWS  (sizeof(hydra_fuzz_views) / sizeof(char *))


/* tags as the registry makes them, and a few it never would */
static const char  *hydra_fuzz_tags[] = {
    "acme-api", "acme-web", "tools", "a\"b\\c", "\xc3\xbc-repo", "\xff",
    "", "x/y"
};

#define HYDRA_FUZZ_NTAGS  (sizeof(hydra_fuzz_tags) / sizeof(char *))


static size_t hydra_fuzz_objects(const hydra_jspan_node_t *list);
static int hydra_fuzz_tag_ok(const char *s);
static void hydra_fuzz_time_to_merge(const hydra_merge_t *m,
    const hydra_jspan_node_t *ttm);
static double hydra_fuzz_number(const hydra_jspan_node_t *v);
static double hydra_fuzz_round1(double d);
static void hydra_fuzz_real_is(const hydra_jspan_node_t *v, double d);
static int hydra_fuzz_double_cmp(const void *a, const void *b);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                         bad_tags;
    char                       *bodies[HYDRA_FUZZ_REPOS_MAX], *text;
    char                        tags[HYDRA_FUZZ_REPOS_MAX]
                                    [HYDRA_FUZZ_TAG_SIZE];
    size_t                      i, n, len, nbodies, ninputs, nfailures;
    size_t                      items, max, out_size;
    unsigned                    view, spell, nfail;
    yajl_val                    tree;
    const uint8_t              *p;
    hydra_fuzz_in_t             in;
    hydra_merge_t               m;
    hydra_jspan_doc_t           docs[HYDRA_FUZZ_REPOS_MAX], doc;
    hydra_jspan_out_t           out;
    hydra_merge_input_t         inputs[HYDRA_FUZZ_REPOS_MAX];
    hydra_merge_failure_t       failures[HYDRA_FUZZ_REPOS_MAX + 4];
    const hydra_merge_rule_t   *rule;
    const hydra_jspan_node_t   *root, *v, *facts;

    hydra_fuzz_init(&in, data, size);

    view = hydra_fuzz_byte(&in) % HYDRA_FUZZ_NVIEWS;
    memset(&m, 0, sizeof(hydra_merge_t));
    m.limit = (long) hydra_fuzz_byte(&in) - 8;
    max = hydra_fuzz_u16(&in);
    spell = hydra_fuzz_byte(&in);
    nfail = hydra_fuzz_byte(&in) % 4;

    rule = hydra_merge_rule(hydra_fuzz_views[view],
                            strlen(hydra_fuzz_views[view]));
    hydra_fuzz_assert(rule != NULL);

    /* repos that did not answer: a timeout, an error, no reason */

    nfailures = 0;

    for (i = 0; i < nfail; i++) {
        failures[nfailures].repo = (i & 1) ? "down-repo" : "slow\"repo";
        failures[nfailures].reason = (i == 2) ? NULL : "timeout";
        nfailures++;
    }

    /* the bodies, each parsed and checked as the glue does */

    nbodies = 0;
    ninputs = 0;
    bad_tags = 0;
    out_size = 1024;

    while (in.left > 0 && nbodies < HYDRA_FUZZ_REPOS_MAX) {
        if (nbodies < HYDRA_FUZZ_REPOS_MAX - 1) {
            p = hydra_fuzz_piece(&in, 0, &len);

        } else {
            p = in.p;
            len = in.left;
            in.left = 0;
        }

        bodies[nbodies] = hydra_fuzz_copy(p, len, 0);

        /* repo i's tag: "acme-api", ... or, by the spell bits, another */

        snprintf(tags[nbodies], HYDRA_FUZZ_TAG_SIZE, "%s%zu",
                 hydra_fuzz_tags[((spell >> (nbodies % 4)) & 1)
                                 ? (nbodies + spell) % HYDRA_FUZZ_NTAGS
                                 : nbodies % 3],
                 nbodies);

        if (hydra_jspan_parse(&docs[nbodies], bodies[nbodies], len,
                              HYDRA_MERGE_DEPTH_MAX)
            != HYDRA_OK)
        {
            failures[nfailures].repo = tags[nbodies];
            failures[nfailures].reason = "bad json";
            nfailures++;

        } else if (!rule->valid(hydra_jspan_root(&docs[nbodies]))) {
            failures[nfailures].repo = tags[nbodies];
            failures[nfailures].reason = "bad shape";
            nfailures++;

        } else {
            inputs[ninputs].repo = tags[nbodies];
            inputs[ninputs].root = hydra_jspan_root(&docs[nbodies]);
            ninputs++;
            out_size += len * 9 / 8;
        }

        nbodies++;
    }

    for (i = 0; i < ninputs; i++) {
        bad_tags |= !hydra_fuzz_tag_ok(inputs[i].repo);
    }

    for (i = 0; i < nfailures; i++) {
        bad_tags |= !hydra_fuzz_tag_ok(failures[i].repo);
    }

    m.inputs = inputs;
    m.ninputs = ninputs;
    m.failures = failures;
    m.nfailures = nfailures;

    hydra_fuzz_assert(hydra_jspan_out_init(&out, out_size) == HYDRA_OK);

    if (max & 1) {
        hydra_jspan_out_limit(&out, max);

    } else {
        max = (size_t) -1;
    }

    if (rule->merge(&out, &m) != HYDRA_OK) {
        hydra_fuzz_assert(out.failed);
        hydra_fuzz_assert(bad_tags || max != (size_t) -1);
        goto done;
    }

    hydra_fuzz_assert(!out.failed);

    len = out.pos - out.start;
    hydra_fuzz_assert(len <= max);

    text = hydra_fuzz_copy(out.start, len, 1);

    /* one JSON text, as yajl reads it too */

    tree = yajl_tree_parse(text, NULL, 0);
    hydra_fuzz_assert(tree != NULL);
    yajl_tree_free(tree);

    hydra_fuzz_assert(hydra_jspan_parse(&doc, text, len,
                                        HYDRA_MERGE_DEPTH_MAX + 2)
                      == HYDRA_OK);

    root = hydra_jspan_root(&doc);

    switch (rule->shape) {

    case HYDRA_MERGE_OBJECT:
        hydra_fuzz_assert(hydra_jspan_is_object(root));

        /* the facts: every repo that answered, every one that did not */

        facts = hydra_jspan_get(root, "hydra", 5);
        hydra_fuzz_assert(hydra_jspan_is_object(facts));

        /*
         * the first "hydra" is the last member, so the only one: a repo's
         * own "hydra" never passes for the facts
         */

        hydra_fuzz_assert(facts->next == 0);

        v = hydra_jspan_get(facts, "answered", 8);
        hydra_fuzz_assert(hydra_jspan_is_array(v) && v->count == ninputs);

        for (i = 0, v = hydra_jspan_first(v); v; i++, v = hydra_jspan_next(v)) {
            hydra_fuzz_assert(hydra_jspan_str_is(v, inputs[i].repo,
                                                 strlen(inputs[i].repo)));
        }

        v = hydra_jspan_get(facts, "failed", 6);
        hydra_fuzz_assert(hydra_jspan_is_object(v));
        hydra_fuzz_assert(v->count == nfailures);

        if (strcmp(rule->view, "/api/metrics") == 0) {
            hydra_fuzz_time_to_merge(&m, hydra_jspan_get(root,
                                                         "time_to_merge",
                                                         13));
        }

        break;

    case HYDRA_MERGE_ARRAY:
        hydra_fuzz_assert(hydra_jspan_is_array(root));

        for (i = 0, items = 0; i < ninputs; i++) {
            items += hydra_fuzz_objects(inputs[i].root);
        }

        n = (m.limit > 0) ? (size_t) m.limit : HYDRA_MERGE_SESSIONS_MAX;

        if (strcmp(rule->view, "/api/sessions") == 0) {
            hydra_fuzz_assert(root->count == (items < n ? items : n));

        } else {
            hydra_fuzz_assert(root->count == items);
        }

        /* each item an object, and tagged with a repo */

        for (v = hydra_jspan_first(root); v; v = hydra_jspan_next(v)) {
            hydra_fuzz_assert(hydra_jspan_is_object(v));
            hydra_fuzz_assert(hydra_jspan_is_string(hydra_jspan_get(v, "repo",
                                                                    4)));
        }

        break;

    default:
        /* a map of "<repo>#<issue>" keys: the facts go in headers */
        hydra_fuzz_assert(hydra_jspan_is_object(root));
        hydra_fuzz_assert(hydra_jspan_get(root, "hydra", 5) == NULL);
    }

    hydra_jspan_free(&doc);
    free(text);

done:

    hydra_jspan_out_free(&out);

    for (i = 0; i < nbodies; i++) {
        hydra_jspan_free(&docs[i]);
        free(bodies[i]);
    }

    return 0;
}


/* the objects of a list, which list views pass on, one each */

static size_t
hydra_fuzz_objects(const hydra_jspan_node_t *list)
{
    size_t                     n;
    const hydra_jspan_node_t  *v;

    n = 0;

    for (v = hydra_jspan_first(list); v != NULL; v = hydra_jspan_next(v)) {
        n += hydra_jspan_is_object(v);
    }

    return n;
}


/* a tag the merge can write: UTF-8 (all ASCII but one here) */

static int
hydra_fuzz_tag_ok(const char *s)
{
    return strchr(s, '\xff') == NULL;
}


/*
 * /api/metrics' time_to_merge against a plain reading: every number of
 * every repo's lifetime.merge_durations, read by strtod(), added in
 * repo order, sorted by qsort(); p50 and p90 as HydraFlow indexes them;
 * each rounded as printf rounds to a tenth
 */

static void
hydra_fuzz_time_to_merge(const hydra_merge_t *m,
    const hydra_jspan_node_t *ttm)
{
    double                     *d, sum;
    size_t                      i, n, p90;
    const hydra_jspan_node_t   *lifetime, *list, *v;

    n = 0;

    for (i = 0; i < m->ninputs; i++) {
        lifetime = hydra_jspan_get(m->inputs[i].root, "lifetime", 8);
        list = hydra_jspan_get(lifetime, "merge_durations", 15);

        if (hydra_jspan_is_array(list)) {
            n += list->count;
        }
    }

    d = malloc((n + 1) * sizeof(double));
    hydra_fuzz_assert(d != NULL);

    n = 0;
    sum = 0;

    for (i = 0; i < m->ninputs; i++) {
        lifetime = hydra_jspan_get(m->inputs[i].root, "lifetime", 8);
        list = hydra_jspan_get(lifetime, "merge_durations", 15);

        if (!hydra_jspan_is_array(list)) {
            continue;
        }

        for (v = hydra_jspan_first(list); v; v = hydra_jspan_next(v)) {
            if (hydra_jspan_is_number(v)) {
                d[n] = hydra_fuzz_number(v);
                sum += d[n++];
            }
        }
    }

    hydra_fuzz_assert(hydra_jspan_is_object(ttm));

    if (n == 0) {
        hydra_fuzz_assert(ttm->count == 0);
        free(d);
        return;
    }

    qsort(d, n, sizeof(double), hydra_fuzz_double_cmp);

    p90 = (size_t) ((double) n * 0.9);
    p90 = (p90 > n - 1) ? n - 1 : p90;

    hydra_fuzz_real_is(hydra_jspan_get(ttm, "avg", 3),
                       hydra_fuzz_round1(sum / (double) n));
    hydra_fuzz_real_is(hydra_jspan_get(ttm, "p50", 3),
                       hydra_fuzz_round1(d[n / 2]));
    hydra_fuzz_real_is(hydra_jspan_get(ttm, "p90", 3),
                       hydra_fuzz_round1(d[p90]));

    free(d);
}


static double
hydra_fuzz_number(const hydra_jspan_node_t *v)
{
    char    *s;
    double   d;

    s = hydra_fuzz_copy(v->text, v->len, 1);
    d = strtod(s, NULL);
    free(s);

    return d;
}


/* Python's round(d, 1) as printf does it; 1e16 and beyond are whole */

static double
hydra_fuzz_round1(double d)
{
    char  buf[64];

    if (!isfinite(d) || fabs(d) >= 1e16) {
        return d;
    }

    snprintf(buf, sizeof(buf), "%.1f", d);

    return strtod(buf, NULL);
}


/* a number written for d, or null when d has no JSON */

static void
hydra_fuzz_real_is(const hydra_jspan_node_t *v, double d)
{
    if (!isfinite(d)) {
        hydra_fuzz_assert(hydra_jspan_is_null(v));
        return;
    }

    hydra_fuzz_assert(hydra_jspan_is_number(v));
    hydra_fuzz_assert(hydra_fuzz_number(v) == d);
}


static int
hydra_fuzz_double_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x > y) - (x < y);
}
