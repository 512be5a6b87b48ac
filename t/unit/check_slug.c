
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_slug: validity, the aggregate sentinel, and the dash, fold and
 * base forms of hydraflow-api.md, section 6.
 */


#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_slug.h"


#define hydra_valid(s)   hydra_slug_valid(s, sizeof(s) - 1)
#define hydra_is_all(s)  hydra_slug_is_all(s, sizeof(s) - 1)


static void hydra_check_dash(const char *s, const char *expect);
static void hydra_check_fold(const char *s, const char *expect);
static void hydra_check_base(const char *s, const char *expect);


START_TEST(test_valid_forms)
{
    ck_assert_int_eq(hydra_valid("acme/api"), 1);
    ck_assert_int_eq(hydra_valid("acme-api"), 1);
    ck_assert_int_eq(hydra_valid("api"), 1);
    ck_assert_int_eq(hydra_valid("acme/my.repo"), 1);
    ck_assert_int_eq(hydra_valid("Acme_Corp/My-Repo.2"), 1);
    ck_assert_int_eq(hydra_valid("__all__"), 1);
    ck_assert_int_eq(hydra_valid("a"), 1);
    ck_assert_int_eq(hydra_valid("~user/x+y:z@w!$()*,;[]"), 1);
}
END_TEST


START_TEST(test_valid_dot_dot_chars)
{
    /* only characters are checked here; the registry must not match */
    ck_assert_int_eq(hydra_valid("../"), 1);
    ck_assert_int_eq(hydra_valid(".."), 1);
    ck_assert_int_eq(hydra_valid("../../etc/passwd"), 1);
    ck_assert_int_eq(hydra_valid("acme/../api"), 1);
}
END_TEST


START_TEST(test_invalid_length)
{
    char  buf[HYDRA_SLUG_MAX + 2];

    ck_assert_int_eq(hydra_slug_valid("", 0), 0);
    ck_assert_int_eq(hydra_slug_valid("acme/api", 0), 0);

    memset(buf, 'a', sizeof(buf));

    ck_assert_int_eq(hydra_slug_valid(buf, HYDRA_SLUG_MAX), 1);
    ck_assert_int_eq(hydra_slug_valid(buf, HYDRA_SLUG_MAX + 1), 0);
    ck_assert_int_eq(hydra_slug_valid(buf, HYDRA_SLUG_MAX + 2), 0);
}
END_TEST


START_TEST(test_invalid_nul)
{
    ck_assert_int_eq(hydra_slug_valid("acme\0api", 8), 0);
    ck_assert_int_eq(hydra_slug_valid("\0", 1), 0);
    ck_assert_int_eq(hydra_slug_valid("api\0", 4), 0);
}
END_TEST


START_TEST(test_invalid_control)
{
    char  buf[4];
    int   c;

    for (c = 0; c <= ' '; c++) {
        buf[0] = 'a';
        buf[1] = (char) c;
        buf[2] = 'b';
        ck_assert_msg(hydra_slug_valid(buf, 3) == 0, "byte 0x%02x", c);
    }

    for (c = 0x7f; c <= 0xff; c++) {
        buf[0] = 'a';
        buf[1] = (char) c;
        buf[2] = 'b';
        ck_assert_msg(hydra_slug_valid(buf, 3) == 0, "byte 0x%02x", c);
    }

    ck_assert_int_eq(hydra_valid("acme\tapi"), 0);
    ck_assert_int_eq(hydra_valid("acme\r\napi"), 0);
    ck_assert_int_eq(hydra_valid("acme api"), 0);
    ck_assert_int_eq(hydra_valid("\xc3\xa9t\xc3\xa9"), 0);
}
END_TEST


START_TEST(test_invalid_url_json)
{
    const char  *p;

    for (p = "\"'%\\?#&=<>{}|^`"; *p; p++) {
        ck_assert_msg(hydra_slug_valid(p, 1) == 0, "char '%c'", *p);
    }

    ck_assert_int_eq(hydra_valid("acme%2Fapi"), 0);
    ck_assert_int_eq(hydra_valid("acme/api%"), 0);
    ck_assert_int_eq(hydra_valid("\"acme\""), 0);
    ck_assert_int_eq(hydra_valid("'acme'"), 0);
    ck_assert_int_eq(hydra_valid("acme/it's"), 0);
    ck_assert_int_eq(hydra_valid("acme\\api"), 0);
    ck_assert_int_eq(hydra_valid("api?x=1"), 0);
    ck_assert_int_eq(hydra_valid("api&repo=x"), 0);
    ck_assert_int_eq(hydra_valid("<script>"), 0);
}
END_TEST


START_TEST(test_all_any_case)
{
    ck_assert_int_eq(hydra_is_all("__all__"), 1);
    ck_assert_int_eq(hydra_is_all("__ALL__"), 1);
    ck_assert_int_eq(hydra_is_all("__All__"), 1);
    ck_assert_int_eq(hydra_is_all("__aLl__"), 1);
}
END_TEST


START_TEST(test_all_near_misses)
{
    ck_assert_int_eq(hydra_slug_is_all("", 0), 0);
    ck_assert_int_eq(hydra_is_all("all"), 0);
    ck_assert_int_eq(hydra_is_all("_all_"), 0);
    ck_assert_int_eq(hydra_is_all("__all_"), 0);
    ck_assert_int_eq(hydra_is_all("__all__ "), 0);
    ck_assert_int_eq(hydra_is_all("__all___"), 0);
    ck_assert_int_eq(hydra_is_all("--all--"), 0);
    ck_assert_int_eq(hydra_is_all("\x7f\x7f" "all\x7f\x7f"), 0);
    ck_assert_int_eq(hydra_is_all("__alm__"), 0);
    ck_assert_int_eq(hydra_is_all("__a1l__"), 0);

    /* the length is what counts, not the NUL */
    ck_assert_int_eq(hydra_slug_is_all("__all__x", 7), 1);
    ck_assert_int_eq(hydra_slug_is_all("__all__", 6), 0);
}
END_TEST


START_TEST(test_dash_form)
{
    hydra_check_dash("acme/api", "acme-api");
    hydra_check_dash("acme/my.repo", "acme-my.repo");
    hydra_check_dash("Acme/API", "Acme-API");
    hydra_check_dash("acme\\api", "acme-api");
    hydra_check_dash("a/b/c", "a-b-c");
    hydra_check_dash("acme-api", "acme-api");
    hydra_check_dash("", "");
}
END_TEST


START_TEST(test_dash_truncates)
{
    char    buf[5];
    size_t  n;

    memset(buf, 'x', sizeof(buf));
    n = hydra_slug_dash(buf, sizeof(buf), "acme/api", 8);

    ck_assert_uint_eq(n, 8);
    ck_assert_str_eq(buf, "acme");

    memset(buf, 'x', sizeof(buf));
    n = hydra_slug_dash(buf, 1, "acme/api", 8);

    ck_assert_uint_eq(n, 8);
    ck_assert_int_eq(buf[0], '\0');
    ck_assert_int_eq(buf[1], 'x');

    /* size 0 writes nothing */
    memset(buf, 'x', sizeof(buf));
    n = hydra_slug_dash(buf, 0, "a/b", 3);

    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(buf[0], 'x');

    /* exactly fitting */
    n = hydra_slug_dash(buf, sizeof(buf), "ab/c", 4);

    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(buf, "ab-c");
}
END_TEST


START_TEST(test_fold_form)
{
    hydra_check_fold("acme/my.repo", "acme-my-repo");
    hydra_check_fold("acme-my.repo", "acme-my-repo");
    hydra_check_fold("ACME-my-repo", "acme-my-repo");
    hydra_check_fold("Acme/My.Repo", "acme-my-repo");
    hydra_check_fold("acme/api", "acme-api");
    hydra_check_fold("acme_x/api", "acme_x-api");
    hydra_check_fold("my repo", "my-repo");
    hydra_check_fold("", "");
}
END_TEST


START_TEST(test_fold_runs)
{
    /* a run of other characters is one "-", as re.sub("[^...]+", "-") */
    hydra_check_fold("a./.b", "a-b");
    hydra_check_fold("a...b", "a-b");
    hydra_check_fold("a--b", "a--b");
    hydra_check_fold("a.-b", "a--b");
    hydra_check_fold("a-.b", "a--b");
    hydra_check_fold(".a.", "-a-");
    hydra_check_fold("../", "-");
    hydra_check_fold("a.b.c", "a-b-c");
}
END_TEST


START_TEST(test_fold_same_repo)
{
    char  a[64], b[64];

    hydra_slug_fold(a, sizeof(a), "acme/my.repo", 12);
    hydra_slug_fold(b, sizeof(b), "ACME-MY-REPO", 12);
    ck_assert_str_eq(a, b);

    hydra_slug_fold(b, sizeof(b), "acme/my_repo", 12);
    ck_assert_str_ne(a, b);
}
END_TEST


START_TEST(test_fold_truncates)
{
    char    buf[4];
    size_t  n;

    memset(buf, 'x', sizeof(buf));
    n = hydra_slug_fold(buf, sizeof(buf), "acme/my.repo", 12);

    ck_assert_uint_eq(n, 12);
    ck_assert_str_eq(buf, "acm");

    memset(buf, 'x', sizeof(buf));
    n = hydra_slug_fold(buf, 0, "A..B", 4);

    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(buf[0], 'x');
}
END_TEST


START_TEST(test_base)
{
    hydra_check_base("acme/api", "api");
    hydra_check_base("api", "api");
    hydra_check_base("a/b/c", "c");
    hydra_check_base("acme/", "");
    hydra_check_base("/api", "api");
    hydra_check_base("", "");
}
END_TEST


START_TEST(test_base_points_into)
{
    size_t       len;
    const char  *s, *base;

    s = "acme/api";
    base = hydra_slug_base(s, 8, &len);

    ck_assert_ptr_eq(base, s + 5);
    ck_assert_uint_eq(len, 3);

    base = hydra_slug_base(s, 4, &len);

    ck_assert_ptr_eq(base, s);
    ck_assert_uint_eq(len, 4);
}
END_TEST


Suite *
hydra_slug_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_slug");

    tc = tcase_create("valid");
    tcase_add_test(tc, test_valid_forms);
    tcase_add_test(tc, test_valid_dot_dot_chars);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid");
    tcase_add_test(tc, test_invalid_length);
    tcase_add_test(tc, test_invalid_nul);
    tcase_add_test(tc, test_invalid_control);
    tcase_add_test(tc, test_invalid_url_json);
    suite_add_tcase(s, tc);

    tc = tcase_create("all_sentinel");
    tcase_add_test(tc, test_all_any_case);
    tcase_add_test(tc, test_all_near_misses);
    suite_add_tcase(s, tc);

    tc = tcase_create("dash_form");
    tcase_add_test(tc, test_dash_form);
    tcase_add_test(tc, test_dash_truncates);
    suite_add_tcase(s, tc);

    tc = tcase_create("fold_form");
    tcase_add_test(tc, test_fold_form);
    tcase_add_test(tc, test_fold_runs);
    tcase_add_test(tc, test_fold_same_repo);
    tcase_add_test(tc, test_fold_truncates);
    suite_add_tcase(s, tc);

    tc = tcase_create("base_name");
    tcase_add_test(tc, test_base);
    tcase_add_test(tc, test_base_points_into);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_slug_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


static void
hydra_check_dash(const char *s, const char *expect)
{
    char    buf[64];
    size_t  n;

    memset(buf, 'x', sizeof(buf));
    n = hydra_slug_dash(buf, sizeof(buf), s, strlen(s));

    ck_assert_uint_eq(n, strlen(expect));
    ck_assert_str_eq(buf, expect);
}


static void
hydra_check_fold(const char *s, const char *expect)
{
    char    buf[64];
    size_t  n;

    memset(buf, 'x', sizeof(buf));
    n = hydra_slug_fold(buf, sizeof(buf), s, strlen(s));

    ck_assert_uint_eq(n, strlen(expect));
    ck_assert_str_eq(buf, expect);
}


static void
hydra_check_base(const char *s, const char *expect)
{
    size_t       len;
    const char  *base;

    base = hydra_slug_base(s, strlen(s), &len);

    ck_assert_uint_eq(len, strlen(expect));
    ck_assert_mem_eq(base, expect, len);
}
