
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The numbers behind time_to_merge: hydra_merge_sort, hydra_merge_select
 * and hydra_merge_round1, each against the obvious way (qsort, printf)
 * over inputs made to hurt them.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_merge_util.h"


#define HYDRA_CHECK_MAX_N    2048


static int
hydra_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x < y) ? -1 : (y < x);
}


/* n numbers of one of several shapes, with many ties */

static void
hydra_fill(double *d, size_t n, int shape)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        switch (shape) {
        case 0:                                 /* random, few values */
            d[i] = (double) (rand() % 7);
            break;
        case 1:                                 /* ascending */
            d[i] = (double) i;
            break;
        case 2:                                 /* descending */
            d[i] = (double) (n - i);
            break;
        case 3:                                 /* organ pipe */
            d[i] = (double) ((i < n / 2) ? i : n - i);
            break;
        case 4:                                 /* all equal */
            d[i] = 42.5;
            break;
        case 5:                                 /* sawtooth */
            d[i] = (double) (i % 16);
            break;
        default:                                /* durations, signs */
            d[i] = (rand() / (double) RAND_MAX - 0.2) * 1e4;
            break;
        }
    }
}


START_TEST(test_select_matches_sort)
{
    int      shape;
    size_t   n, k, i;
    double  *d, *sorted;

    d = malloc(HYDRA_CHECK_MAX_N * sizeof(double));
    sorted = malloc(HYDRA_CHECK_MAX_N * sizeof(double));
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(sorted);

    srand(7);

    for (shape = 0; shape < 7; shape++) {
        for (n = 1; n <= HYDRA_CHECK_MAX_N; n = n * 3 + 1) {
            hydra_fill(sorted, n, shape);
            qsort(sorted, n, sizeof(double), hydra_cmp);

            for (k = 0; k < n; k += (n < 64) ? 1 : n / 17) {
                hydra_fill(d, n, shape);

                if (shape == 0 || shape == 6) {     /* the same numbers */
                    memcpy(d, sorted, n * sizeof(double));

                    for (i = n - 1; i > 0; i--) {
                        size_t  j = (size_t) rand() % (i + 1);
                        double  t = d[i];

                        d[i] = d[j];
                        d[j] = t;
                    }
                }

                ck_assert_int_eq(hydra_merge_select(d, n, k), HYDRA_OK);
                ck_assert_msg(d[k] == sorted[k],
                              "shape %d n %zu k %zu: %g, not %g",
                              shape, n, k, d[k], sorted[k]);

                for (i = 0; i < k; i++) {
                    ck_assert(!(d[k] < d[i]));
                }

                for (i = k + 1; i < n; i++) {
                    ck_assert(!(d[i] < d[k]));
                }
            }
        }
    }

    free(d);
    free(sorted);
}
END_TEST


START_TEST(test_select_bad_k)
{
    double  d[3] = { 3, 1, 2 };

    ck_assert_int_eq(hydra_merge_select(d, 3, 3), HYDRA_ERROR);
    ck_assert_int_eq(hydra_merge_select(d, 0, 0), HYDRA_ERROR);
    ck_assert_int_eq(hydra_merge_select(d, 1, 0), HYDRA_OK);
    ck_assert(d[0] == 3);
}
END_TEST


/*
 * Numbers that make the median of three pick the second smallest every
 * time cost a sort's work at most: HYDRA_DECLINED, and d[] still holds
 * the same numbers (the caller sorts them).
 */

START_TEST(test_select_declines_killer)
{
    int      rc;
    size_t   n, i, k;
    double  *d, *sorted, *orig;

    n = HYDRA_CHECK_MAX_N;
    d = malloc(n * sizeof(double));
    sorted = malloc(n * sizeof(double));
    orig = malloc(n * sizeof(double));
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(sorted);
    ck_assert_ptr_nonnull(orig);

    /* Musser's median-of-3 killer sequence, for even n */

    k = n / 2;

    for (i = 1; i <= k; i++) {
        if (i % 2) {
            orig[i - 1] = (double) i;
            orig[i] = (double) (k + i);
        }

        orig[k + i - 1] = (double) (2 * i);
    }

    memcpy(d, orig, n * sizeof(double));
    memcpy(sorted, orig, n * sizeof(double));
    qsort(sorted, n, sizeof(double), hydra_cmp);

    rc = hydra_merge_select(d, n, n - 1);

    if (rc == HYDRA_OK) {
        ck_assert(d[n - 1] == sorted[n - 1]);

    } else {
        ck_assert_int_eq(rc, HYDRA_DECLINED);
    }

    /* whatever happened, the numbers are the same ones */

    ck_assert_int_eq(hydra_merge_sort(d, n), HYDRA_OK);
    ck_assert_mem_eq(d, sorted, n * sizeof(double));

    free(d);
    free(sorted);
    free(orig);
}
END_TEST


START_TEST(test_sort_matches_qsort)
{
    int      shape;
    size_t   n;
    double  *d, *sorted;

    d = malloc(HYDRA_CHECK_MAX_N * sizeof(double));
    sorted = malloc(HYDRA_CHECK_MAX_N * sizeof(double));
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(sorted);

    srand(11);

    for (shape = 0; shape < 7; shape++) {
        for (n = 1; n <= HYDRA_CHECK_MAX_N; n = n * 2 + 1) {
            hydra_fill(d, n, shape);
            memcpy(sorted, d, n * sizeof(double));
            qsort(sorted, n, sizeof(double), hydra_cmp);

            ck_assert_int_eq(hydra_merge_sort(d, n), HYDRA_OK);
            ck_assert_mem_eq(d, sorted, n * sizeof(double));
        }
    }

    free(d);
    free(sorted);
}
END_TEST


/* what Python's round(d, 1) and printf("%.1f") make of d */

static double
hydra_round1_printf(double d)
{
    char  buf[512];

    snprintf(buf, sizeof(buf), "%.1f", d);

    return strtod(buf, NULL);
}


static void
hydra_check_round1(double d)
{
    double  got, want;

    got = hydra_merge_round1(d);
    want = hydra_round1_printf(d);

    ck_assert_msg(memcmp(&got, &want, sizeof(double)) == 0,
                  "round1(%.17g): %.17g, not %.17g", d, got, want);
}


START_TEST(test_round1_matches_printf)
{
    int     i, e;
    double  d, half;

    srand(5);

    /* ties and near ties: k/20 is x.x5, and its neighbours */

    for (i = -200000; i <= 200000; i++) {
        half = i / 20.0;
        hydra_check_round1(half);
        hydra_check_round1(nextafter(half, HUGE_VAL));
        hydra_check_round1(nextafter(half, -HUGE_VAL));
    }

    /* every magnitude, both signs */

    for (e = -30; e <= 20; e++) {
        for (i = 0; i < 20000; i++) {
            d = rand() / (double) RAND_MAX * pow(10, e);
            hydra_check_round1(d);
            hydra_check_round1(-d);
        }
    }

    hydra_check_round1(0.0);
    hydra_check_round1(-0.0);
    hydra_check_round1(0.04);
    hydra_check_round1(-0.04);
    hydra_check_round1(0.05);
    hydra_check_round1(-0.05);
    hydra_check_round1(0.15);
    hydra_check_round1(0.25);
    hydra_check_round1(2.675);
    hydra_check_round1(9999999999999999.0);
    hydra_check_round1(1e16);
    hydra_check_round1(-1e16);
    hydra_check_round1(4503599627370495.5);
    hydra_check_round1(1e300);

    ck_assert(isinf(hydra_merge_round1(HUGE_VAL)));
}
END_TEST


static Suite *
hydra_merge_util_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_merge_util");

    tc = tcase_create("select");
    tcase_add_test(tc, test_select_matches_sort);
    tcase_add_test(tc, test_select_bad_k);
    tcase_add_test(tc, test_select_declines_killer);
    suite_add_tcase(s, tc);

    tc = tcase_create("sort");
    tcase_add_test(tc, test_sort_matches_qsort);
    suite_add_tcase(s, tc);

    tc = tcase_create("round1");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_round1_matches_printf);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_merge_util_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
