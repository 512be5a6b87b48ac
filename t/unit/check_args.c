
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_args: finding, stripping and decoding query arguments.
 */


#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_args.h"


static void hydra_find(const char *args, const char *name, hydra_arg_t *arg);
static void hydra_check_value(const hydra_arg_t *arg, const char *expect);
static void hydra_check_strip(const char *args, const char *name,
    const char *expect);
static void hydra_check_unescape(const char *src, const char *expect);


START_TEST(test_find_single)
{
    hydra_arg_t  arg;

    hydra_find("repo=acme/api", "repo", &arg);

    ck_assert_uint_eq(arg.count, 1);
    ck_assert_int_eq(arg.differ, 0);
    hydra_check_value(&arg, "acme/api");

    hydra_find("limit=5&repo=acme-api&since=3", "repo", &arg);

    ck_assert_uint_eq(arg.count, 1);
    hydra_check_value(&arg, "acme-api");

    hydra_find("limit=5&repo=x", "limit", &arg);

    ck_assert_uint_eq(arg.count, 1);
    hydra_check_value(&arg, "5");
}
END_TEST


START_TEST(test_find_absent)
{
    hydra_arg_t  arg;

    hydra_find("", "repo", &arg);

    ck_assert_uint_eq(arg.count, 0);
    ck_assert_int_eq(arg.differ, 0);
    ck_assert_ptr_null(arg.value);
    ck_assert_uint_eq(arg.value_len, 0);

    hydra_find("limit=5&since=3", "repo", &arg);

    ck_assert_uint_eq(arg.count, 0);
    ck_assert_ptr_null(arg.value);
}
END_TEST


START_TEST(test_find_value_points_into_args)
{
    hydra_arg_t  arg;
    const char  *args;

    args = "a=1&repo=xyz&b=2";
    hydra_args_find(args, strlen(args), "repo", &arg);

    ck_assert_ptr_eq(arg.value, args + 9);
    ck_assert_uint_eq(arg.value_len, 3);

    /* the length bounds the search, not a NUL */
    hydra_args_find(args, 11, "repo", &arg);

    ck_assert_uint_eq(arg.count, 1);
    hydra_check_value(&arg, "xy");

    hydra_args_find(args, 3, "repo", &arg);

    ck_assert_uint_eq(arg.count, 0);
}
END_TEST


START_TEST(test_find_repeated_same)
{
    hydra_arg_t  arg;

    hydra_find("repo=acme/api&x=1&repo=acme/api", "repo", &arg);

    ck_assert_uint_eq(arg.count, 2);
    ck_assert_int_eq(arg.differ, 0);
    hydra_check_value(&arg, "acme/api");

    hydra_find("repo&repo=", "repo", &arg);

    ck_assert_uint_eq(arg.count, 2);
    ck_assert_int_eq(arg.differ, 0);
    hydra_check_value(&arg, "");
}
END_TEST


START_TEST(test_find_repeated_differ)
{
    hydra_arg_t  arg;

    hydra_find("repo=acme/api&repo=acme/web", "repo", &arg);

    ck_assert_uint_eq(arg.count, 2);
    ck_assert_int_eq(arg.differ, 1);

    /* differ sticks once set, whatever comes after */
    hydra_find("repo=a&repo=b&repo=b", "repo", &arg);

    ck_assert_uint_eq(arg.count, 3);
    ck_assert_int_eq(arg.differ, 1);

    /* a prefix of the other value is still different */
    hydra_find("repo=acme&repo=acme-api", "repo", &arg);

    ck_assert_int_eq(arg.differ, 1);

    hydra_find("repo=acme-api&repo=acme", "repo", &arg);

    ck_assert_int_eq(arg.differ, 1);

    /* raw values are compared: two spellings of one slug differ */
    hydra_find("repo=acme%2Fapi&repo=acme/api", "repo", &arg);

    ck_assert_int_eq(arg.differ, 1);

    hydra_find("repo&repo=x", "repo", &arg);

    ck_assert_uint_eq(arg.count, 2);
    ck_assert_int_eq(arg.differ, 1);
}
END_TEST


START_TEST(test_find_name_prefix)
{
    hydra_arg_t  arg;

    hydra_find("repository=acme/api", "repo", &arg);

    ck_assert_uint_eq(arg.count, 0);

    hydra_find("repos=1&repo_slug=x&xrepo=y&Repo=z&REPO=w", "repo", &arg);

    ck_assert_uint_eq(arg.count, 0);

    hydra_find("repository=acme/web&repo=acme/api", "repo", &arg);

    ck_assert_uint_eq(arg.count, 1);
    ck_assert_int_eq(arg.differ, 0);
    hydra_check_value(&arg, "acme/api");

    /* a longer name is not found by its prefix's value either */
    hydra_find("rep=1&repo=2", "repository", &arg);

    ck_assert_uint_eq(arg.count, 0);

    /* "repo" inside a value is not a name */
    hydra_find("q=repo=x&x=repo", "repo", &arg);

    ck_assert_uint_eq(arg.count, 0);
}
END_TEST


START_TEST(test_find_without_equals)
{
    hydra_arg_t  arg;

    hydra_find("repo", "repo", &arg);

    ck_assert_uint_eq(arg.count, 1);
    ck_assert_uint_eq(arg.value_len, 0);
    ck_assert_ptr_nonnull(arg.value);

    hydra_find("a=1&repo&b=2", "repo", &arg);

    ck_assert_uint_eq(arg.count, 1);
    hydra_check_value(&arg, "");

    hydra_find("repo=", "repo", &arg);

    ck_assert_uint_eq(arg.count, 1);
    hydra_check_value(&arg, "");

    /* only the first "=" splits */
    hydra_find("repo==a=b", "repo", &arg);

    hydra_check_value(&arg, "=a=b");
}
END_TEST


START_TEST(test_find_empty_segments)
{
    hydra_arg_t  arg;

    hydra_find("&&repo=x&&", "repo", &arg);

    ck_assert_uint_eq(arg.count, 1);
    hydra_check_value(&arg, "x");

    hydra_find("&", "repo", &arg);

    ck_assert_uint_eq(arg.count, 0);

    hydra_find("&&&", "repo", &arg);

    ck_assert_uint_eq(arg.count, 0);

    hydra_find("a=1&&=2&repo=y&", "repo", &arg);

    ck_assert_uint_eq(arg.count, 1);
    hydra_check_value(&arg, "y");
}
END_TEST


START_TEST(test_strip_keeps_order)
{
    hydra_check_strip("a=1&repo=x&b=2&c=3", "repo", "a=1&b=2&c=3");
    hydra_check_strip("repo=x&a=1&b=2", "repo", "a=1&b=2");
    hydra_check_strip("z=9&a=1&repo=x", "repo", "z=9&a=1");
    hydra_check_strip("b=2&a=1", "repo", "b=2&a=1");
}
END_TEST


START_TEST(test_strip_all_occurrences)
{
    hydra_check_strip("repo=x&a=1&repo=y&repo&b=2&repo=", "repo", "a=1&b=2");
    hydra_check_strip("repo=x", "repo", "");
    hydra_check_strip("repo", "repo", "");
    hydra_check_strip("repo&repo=1", "repo", "");
    hydra_check_strip("", "repo", "");
}
END_TEST


START_TEST(test_strip_keeps_other_names)
{
    hydra_check_strip("repository=a&repo=b&repos=c&xrepo=d", "repo",
                      "repository=a&repos=c&xrepo=d");
    hydra_check_strip("Repo=a&repo_slug=b", "repo", "Repo=a&repo_slug=b");
    hydra_check_strip("q=repo%3Dx&repo=1", "repo", "q=repo%3Dx");

    /* values are copied as they are, still encoded */
    hydra_check_strip("since=2026-03-05T10%3A00&repo=a&t=a+b", "repo",
                      "since=2026-03-05T10%3A00&t=a+b");
}
END_TEST


/*
 * A name is read as the repo reads it, percent-decoded: "%72epo" is
 * "repo" to HydraFlow, so it is found, and stripped, as "repo"
 */

START_TEST(test_encoded_names)
{
    hydra_arg_t  arg;

    hydra_find("%72epo=acme/web", "repo", &arg);
    ck_assert_uint_eq(arg.count, 1);
    ck_assert_uint_eq(arg.value_len, 8);

    hydra_find("repo=acme/api&%72%65%70%6F=acme/web", "repo", &arg);
    ck_assert_uint_eq(arg.count, 2);
    ck_assert_int_eq(arg.differ, 1);

    hydra_find("rep%6f=x&re%70o", "repo", &arg);
    ck_assert_uint_eq(arg.count, 2);

    /* not "repo": a bad escape stays as it is, longer names differ */
    hydra_find("%7repo=x&%72epos=y&%%72epo=z&%72ep=w&re%2", "repo", &arg);
    ck_assert_uint_eq(arg.count, 0);

    hydra_check_strip("a=1&%72epo=x&b=2&rep%6F&re%70o=y", "repo",
                      "a=1&b=2");
    hydra_check_strip("%72epository=a&%7repo=b&q=%72epo", "repo",
                      "%72epository=a&%7repo=b&q=%72epo");
}
END_TEST


START_TEST(test_strip_empty_segments)
{
    hydra_check_strip("&&a=1&&repo=x&&b=2&&", "repo", "a=1&b=2");
    hydra_check_strip("&", "repo", "");
    hydra_check_strip("&&&", "repo", "");
    hydra_check_strip("a=1&", "repo", "a=1");
}
END_TEST


START_TEST(test_strip_exact_size)
{
    char         *dst;
    size_t        n;
    const char   *args;

    /* dst needs only len bytes: an exactly sized heap block */
    args = "a=1&b=2";
    dst = malloc(strlen(args));
    ck_assert_ptr_nonnull(dst);

    n = hydra_args_strip(dst, args, strlen(args), "repo");

    ck_assert_uint_eq(n, strlen(args));
    ck_assert_mem_eq(dst, args, n);

    free(dst);

    /* the length bounds it, not a NUL */
    args = "a=1&repo=x&b=2";
    dst = malloc(10);
    ck_assert_ptr_nonnull(dst);

    n = hydra_args_strip(dst, args, 10, "a");

    ck_assert_uint_eq(n, 6);
    ck_assert_mem_eq(dst, "repo=x", 6);

    free(dst);
}
END_TEST


START_TEST(test_unescape_percent)
{
    hydra_check_unescape("acme%2Fapi", "acme/api");
    hydra_check_unescape("acme%2fapi", "acme/api");
    hydra_check_unescape("%41%62%7e", "Ab~");
    hydra_check_unescape("%5F%5Fall%5F%5F", "__all__");
    hydra_check_unescape("%25", "%");
    hydra_check_unescape("%2525", "%25");
    hydra_check_unescape("plain", "plain");
    hydra_check_unescape("", "");
}
END_TEST


START_TEST(test_unescape_plus)
{
    hydra_check_unescape("my+repo", "my repo");
    hydra_check_unescape("+", " ");
    hydra_check_unescape("a++b", "a  b");
    hydra_check_unescape("%2B", "+");
    hydra_check_unescape("%2b+", "+ ");
}
END_TEST


START_TEST(test_unescape_bad_percent)
{
    hydra_check_unescape("%zz", "%zz");
    hydra_check_unescape("%2z", "%2z");
    hydra_check_unescape("%z2", "%z2");
    hydra_check_unescape("a%g0b", "a%g0b");
    hydra_check_unescape("%%41", "%A");
    hydra_check_unescape("%+1", "% 1");
}
END_TEST


START_TEST(test_unescape_trailing_percent)
{
    hydra_check_unescape("abc%", "abc%");
    hydra_check_unescape("abc%2", "abc%2");
    hydra_check_unescape("%", "%");
    hydra_check_unescape("%4", "%4");
    hydra_check_unescape("%41", "A");
}
END_TEST


START_TEST(test_unescape_bounded)
{
    char    buf[16];
    size_t  n;

    /* a "%" at the end of the given length does not read past it */
    memset(buf, 'x', sizeof(buf));
    n = hydra_args_unescape(buf, "ab%41", 3);

    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(buf, "ab%", 3);
    ck_assert_int_eq(buf[3], 'x');

    n = hydra_args_unescape(buf, "ab%41", 4);

    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(buf, "ab%4", 4);
}
END_TEST


START_TEST(test_unescape_nul_and_high)
{
    char    buf[16];
    size_t  n;

    /* decoding can make NUL and control bytes: callers validate */
    n = hydra_args_unescape(buf, "a%00b%0A%ff", 11);

    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(buf, "a\0b\n\xff", 5);
}
END_TEST


Suite *
hydra_args_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_args");

    tc = tcase_create("find");
    tcase_add_test(tc, test_find_single);
    tcase_add_test(tc, test_find_absent);
    tcase_add_test(tc, test_find_value_points_into_args);
    tcase_add_test(tc, test_find_without_equals);
    tcase_add_test(tc, test_find_empty_segments);
    suite_add_tcase(s, tc);

    tc = tcase_create("find_repeated");
    tcase_add_test(tc, test_find_repeated_same);
    tcase_add_test(tc, test_find_repeated_differ);
    suite_add_tcase(s, tc);

    tc = tcase_create("exact_names");
    tcase_add_test(tc, test_find_name_prefix);
    tcase_add_test(tc, test_strip_keeps_other_names);
    tcase_add_test(tc, test_encoded_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("strip");
    tcase_add_test(tc, test_strip_keeps_order);
    tcase_add_test(tc, test_strip_all_occurrences);
    tcase_add_test(tc, test_strip_empty_segments);
    tcase_add_test(tc, test_strip_exact_size);
    suite_add_tcase(s, tc);

    tc = tcase_create("unescape");
    tcase_add_test(tc, test_unescape_percent);
    tcase_add_test(tc, test_unescape_plus);
    tcase_add_test(tc, test_unescape_bad_percent);
    tcase_add_test(tc, test_unescape_trailing_percent);
    tcase_add_test(tc, test_unescape_bounded);
    tcase_add_test(tc, test_unescape_nul_and_high);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_args_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


static void
hydra_find(const char *args, const char *name, hydra_arg_t *arg)
{
    /* garbage first, to see that find resets it */
    memset(arg, 0x5a, sizeof(hydra_arg_t));
    hydra_args_find(args, strlen(args), name, arg);
}


static void
hydra_check_value(const hydra_arg_t *arg, const char *expect)
{
    ck_assert_uint_eq(arg->value_len, strlen(expect));
    ck_assert_mem_eq(arg->value, expect, arg->value_len);
}


static void
hydra_check_strip(const char *args, const char *name, const char *expect)
{
    char    buf[256];
    size_t  n;

    memset(buf, 'x', sizeof(buf));
    n = hydra_args_strip(buf, args, strlen(args), name);

    ck_assert_uint_eq(n, strlen(expect));
    ck_assert_mem_eq(buf, expect, n);
}


static void
hydra_check_unescape(const char *src, const char *expect)
{
    char    buf[256];
    size_t  n;

    memset(buf, 'x', sizeof(buf));
    n = hydra_args_unescape(buf, src, strlen(src));

    ck_assert_uint_eq(n, strlen(expect));
    ck_assert_mem_eq(buf, expect, n);
}
