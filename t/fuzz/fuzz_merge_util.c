
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_merge_util's numbers, which /api/metrics' percentiles and rates
 * stand on, fed directly: the input is a list of doubles (any bits but
 * NaN, which JSON cannot hold).  hydra_merge_sort() must give what a
 * stable sort by "<" gives, bit for bit (so -0.0 and 0.0 keep the order
 * they came in); hydra_merge_select() must put the k-th smallest at k
 * with none larger before it and none smaller after, or decline and
 * leave the same numbers; hydra_merge_round1() must round as printf's
 * "%.1f" does.
 */


#include <math.h>

#include "fuzz.h"
#include "hydra_merge_util.h"


/* a round1 by printf, as Python's round(d, 1) rounds */
#define HYDRA_FUZZ_ROUND_MAX  1e16


typedef struct {
    double   d;
    size_t   i;
} hydra_fuzz_num_t;


static int hydra_fuzz_stable_cmp(const void *a, const void *b);
static int hydra_fuzz_double_cmp(const void *a, const void *b);
static double hydra_fuzz_round1(double d);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 rc;
    double             *d, *s, *sel, r, ref;
    size_t              i, n, k;
    uint64_t            u;
    hydra_fuzz_in_t     in;
    hydra_fuzz_num_t   *ref_sorted;

    hydra_fuzz_init(&in, data, size);
    k = hydra_fuzz_u16(&in);

    n = in.left / sizeof(double);

    d = malloc((n + 1) * sizeof(double));
    s = malloc((n + 1) * sizeof(double));
    sel = malloc((n + 1) * sizeof(double));
    ref_sorted = malloc((n + 1) * sizeof(hydra_fuzz_num_t));
    hydra_fuzz_assert(d && s && sel && ref_sorted);

    for (i = 0; i < n; i++) {
        u = hydra_fuzz_u64(&in);
        memcpy(&d[i], &u, sizeof(double));

        if (isnan(d[i])) {
            d[i] = (u & 1) ? -0.0 : 0.0;
        }

        ref_sorted[i].d = d[i];
        ref_sorted[i].i = i;

        /* round1, against printf */

        r = hydra_merge_round1(d[i]);
        ref = hydra_fuzz_round1(d[i]);

        hydra_fuzz_assert(memcmp(&r, &ref, sizeof(double)) == 0);
    }

    qsort(ref_sorted, n, sizeof(hydra_fuzz_num_t), hydra_fuzz_stable_cmp);

    /* the sort: a stable one, bit for bit */

    memcpy(s, d, n * sizeof(double));
    hydra_fuzz_assert(hydra_merge_sort(s, n) == HYDRA_OK);

    for (i = 0; i < n; i++) {
        hydra_fuzz_assert(memcmp(&s[i], &ref_sorted[i].d, sizeof(double))
                          == 0);
    }

    /* the selection: the k-th in place, or declined */

    if (n > 0) {
        k %= n;
        memcpy(sel, d, n * sizeof(double));

        rc = hydra_merge_select(sel, n, k);

        if (rc == HYDRA_OK) {
            hydra_fuzz_assert(sel[k] == ref_sorted[k].d);

            for (i = 0; i < n; i++) {
                hydra_fuzz_assert(i >= k || !(sel[i] > sel[k]));
                hydra_fuzz_assert(i <= k || !(sel[i] < sel[k]));
            }

        } else {
            hydra_fuzz_assert(rc == HYDRA_DECLINED);
        }

        /* the same numbers either way */

        qsort(sel, n, sizeof(double), hydra_fuzz_double_cmp);

        for (i = 0; i < n; i++) {
            hydra_fuzz_assert(sel[i] == ref_sorted[i].d);
        }

        hydra_fuzz_assert(hydra_merge_select(sel, n, n) == HYDRA_ERROR);
    }

    free(ref_sorted);
    free(sel);
    free(s);
    free(d);

    return 0;
}


/* by "<", then the order they came in */

static int
hydra_fuzz_stable_cmp(const void *a, const void *b)
{
    const hydra_fuzz_num_t  *x, *y;

    x = a;
    y = b;

    if (x->d < y->d) {
        return -1;
    }

    if (y->d < x->d) {
        return 1;
    }

    return (x->i > y->i) - (x->i < y->i);
}


static int
hydra_fuzz_double_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x > y) - (x < y);
}


static double
hydra_fuzz_round1(double d)
{
    char  buf[64];

    if (!isfinite(d) || fabs(d) >= HYDRA_FUZZ_ROUND_MAX) {
        return d;
    }

    snprintf(buf, sizeof(buf), "%.1f", d);

    return strtod(buf, NULL);
}
