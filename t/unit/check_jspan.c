
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_jspan and hydra_jspan_out: what the scanner takes and refuses
 * (RFC 8259, strict UTF-8, depth), the nodes and spans it makes, keys
 * and strings compared decoded, numbers read as strtod() reads them, and
 * the output buffer: separators, escaping, numbers, a failure that
 * sticks.
 */


#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_jspan.h"
#include "hydra_jspan_out.h"


#define hydra_parse(doc, s, depth)                                            \
    hydra_jspan_parse(doc, s, sizeof(s) - 1, depth)

#define hydra_span_is(v, s)                                                   \
    ((v)->len == sizeof(s) - 1 && memcmp((v)->text, s, sizeof(s) - 1) == 0)

#define hydra_key_span_is(v, s)                                               \
    ((v)->key_len == sizeof(s) - 1                                            \
     && memcmp(hydra_jspan_key(v), s, sizeof(s) - 1) == 0)

#define hydra_out_is(out, s)                                                  \
    ((size_t) ((out)->pos - (out)->start) == sizeof(s) - 1                    \
     && memcmp((out)->start, s, sizeof(s) - 1) == 0)


static int hydra_valid(const char *s, size_t len, unsigned depth);
static char *hydra_nested(size_t depth);
static const hydra_jspan_node_t *hydra_nth(const hydra_jspan_node_t *v,
    size_t n);
static void hydra_check_double(const char *s);


static hydra_jspan_doc_t  doc;
static hydra_jspan_out_t  out;


static void
hydra_setup(void)
{
    memset(&doc, 0, sizeof(doc));
    ck_assert_int_eq(hydra_jspan_out_init(&out, 4), HYDRA_OK);
}


static void
hydra_teardown(void)
{
    hydra_jspan_free(&doc);
    hydra_jspan_out_free(&out);
}


/* scanner: the nodes */

START_TEST(test_nodes)
{
    const hydra_jspan_node_t  *root, *v, *w;

    ck_assert_int_eq(hydra_parse(&doc,
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\\ny\"},\"e\":[]}",
        64), HYDRA_OK);

    root = hydra_jspan_root(&doc);
    ck_assert_int_eq(root->type, HYDRA_JSPAN_OBJECT);
    ck_assert_uint_eq(root->count, 4);
    ck_assert_uint_eq(root->len, 53);
    ck_assert_uint_eq(doc.nnodes, 9);

    v = hydra_jspan_first(root);
    ck_assert_int_eq(v->type, HYDRA_JSPAN_NUMBER);
    ck_assert(hydra_span_is(v, "1"));
    ck_assert(hydra_key_span_is(v, "\"a\""));
    ck_assert(v->flags & HYDRA_JSPAN_DIGITS);

    v = hydra_jspan_next(v);
    ck_assert_int_eq(v->type, HYDRA_JSPAN_ARRAY);
    ck_assert(hydra_span_is(v, "[true,false,null]"));
    ck_assert_uint_eq(v->count, 3);
    ck_assert_int_eq(hydra_nth(v, 0)->type, HYDRA_JSPAN_TRUE);
    ck_assert_int_eq(hydra_nth(v, 1)->type, HYDRA_JSPAN_FALSE);
    ck_assert_int_eq(hydra_nth(v, 2)->type, HYDRA_JSPAN_NULL);
    ck_assert_ptr_null(hydra_jspan_next(hydra_nth(v, 2)));

    v = hydra_jspan_next(v);
    ck_assert(hydra_span_is(v, "{\"d\":\"x\\ny\"}"));
    w = hydra_jspan_first(v);
    ck_assert_int_eq(w->type, HYDRA_JSPAN_STRING);
    ck_assert(hydra_span_is(w, "\"x\\ny\""));
    ck_assert(w->flags & HYDRA_JSPAN_ESCAPED);
    ck_assert(!(w->flags & HYDRA_JSPAN_KEY_ESCAPED));

    v = hydra_jspan_next(v);
    ck_assert(hydra_span_is(v, "[]"));
    ck_assert_uint_eq(v->count, 0);
    ck_assert_ptr_null(hydra_jspan_first(v));
    ck_assert_ptr_null(hydra_jspan_next(v));
}
END_TEST


START_TEST(test_nodes_whitespace)
{
    const hydra_jspan_node_t  *root, *v;

    ck_assert_int_eq(hydra_parse(&doc,
        " \r\n\t{ \"k\\u0031\" :\n [ 1 , -2.5e3 ] , \"z\" : { } }\n ", 64),
        HYDRA_OK);

    root = hydra_jspan_root(&doc);
    ck_assert_int_eq(root->type, HYDRA_JSPAN_OBJECT);
    ck_assert_int_eq(root->text[0], '{');
    ck_assert_int_eq(root->text[root->len - 1], '}');

    /* the key is its own text, the value starts at its bracket */

    v = hydra_jspan_first(root);
    ck_assert(hydra_key_span_is(v, "\"k\\u0031\""));
    ck_assert(v->flags & HYDRA_JSPAN_KEY_ESCAPED);
    ck_assert(hydra_span_is(v, "[ 1 , -2.5e3 ]"));
    ck_assert(hydra_span_is(hydra_nth(v, 1), "-2.5e3"));
    ck_assert(!(hydra_nth(v, 1)->flags & HYDRA_JSPAN_DIGITS));

    v = hydra_jspan_next(v);
    ck_assert(hydra_span_is(v, "{ }"));
    ck_assert_uint_eq(v->count, 0);
}
END_TEST


START_TEST(test_scalars_at_top)
{
    ck_assert_int_eq(hydra_valid("5", 1, 0), 1);
    ck_assert_int_eq(hydra_valid("-0", 2, 0), 1);
    ck_assert_int_eq(hydra_valid("\"s\"", 3, 0), 1);
    ck_assert_int_eq(hydra_valid(" true ", 6, 0), 1);
    ck_assert_int_eq(hydra_valid("null", 4, 0), 1);
}
END_TEST


START_TEST(test_many_nodes)
{
    char                      *s, *p;
    size_t                     i, n;
    const hydra_jspan_node_t  *v;

    /* far more nodes than the first guess: the array grows */

    n = 100000;
    s = malloc(n * 2 + 2);
    ck_assert_ptr_nonnull(s);

    p = s;
    *p++ = '[';

    for (i = 0; i < n; i++) {
        *p++ = '0' + i % 10;
        *p++ = ',';
    }

    p[-1] = ']';

    ck_assert_int_eq(hydra_jspan_parse(&doc, s, p - s, 2), HYDRA_OK);
    ck_assert_uint_eq(doc.nnodes, n + 1);
    ck_assert_uint_eq(hydra_jspan_root(&doc)->count, n);

    for (i = 0, v = hydra_jspan_first(hydra_jspan_root(&doc));
         v != NULL;
         i++, v = hydra_jspan_next(v))
    {
        ck_assert_int_eq(v->text[0], '0' + (int) (i % 10));
    }

    ck_assert_uint_eq(i, n);

    free(s);
}
END_TEST


/* scanner: what is refused */

START_TEST(test_refused)
{
    size_t  i;

    static const char  *bad[] = {
        "", " ", "{", "}", "[", "]", "[1,]", "[,1]", "{\"a\":1,}",
        "{a:1}", "{\"a\" 1}", "{\"a\":}", "{1:2}", "[1 2]", "01", "-",
        "1.", ".5", "1e", "1e+", "+1", "0x1", "tru", "nul", "fals",
        "True", "NaN", "Infinity", "-Infinity", "\"abc", "\"\\x\"",
        "\"\\u12g4\"", "\"\\u12\"", "'a'", "[1] 2", "{}{}",
        "/* c */ 1", "/" "/ c\n1", "1 /" "/ c", "[1]/**/", "\"a\tb\"",
        "\"a\nb\"", "\"\x01\"", "\"\x7f\"x", "\xef\xbb\xbf{}", NULL
    };

    for (i = 0; bad[i] != NULL; i++) {
        ck_assert_msg(hydra_valid(bad[i], strlen(bad[i]), 64) == 0,
                      "accepted: %s", bad[i]);
    }

    /* a NUL is not whitespace, nor allowed in a string */
    ck_assert_int_eq(hydra_valid("{}\0", 3, 64), 0);
    ck_assert_int_eq(hydra_valid("\"a\0b\"", 5, 64), 0);

    /* "\x7f" is a character, only the controls below 0x20 are not */
    ck_assert_int_eq(hydra_valid("\"\x7f\"", 3, 64), 1);
}
END_TEST


START_TEST(test_refused_where)
{
    ck_assert_int_eq(hydra_parse(&doc, "{\"a\":[1,2,x]}", 64), HYDRA_ERROR);
    ck_assert_ptr_nonnull(doc.error);
    ck_assert_uint_eq(doc.error_at, 10);

    hydra_jspan_free(&doc);

    ck_assert_int_eq(hydra_parse(&doc, "[1] [", 64), HYDRA_ERROR);
    ck_assert_str_eq(doc.error, "more after the value");
}
END_TEST


START_TEST(test_utf8)
{
    size_t  i;

    static const char  *good[] = {
        "\"\xc2\x80\"", "\"\xdf\xbf\"", "\"\xe0\xa0\x80\"",
        "\"\xed\x9f\xbf\"", "\"\xee\x80\x80\"", "\"\xef\xbf\xbf\"",
        "\"\xf0\x90\x80\x80\"", "\"\xf4\x8f\xbf\xbf\"",
        "\"Fix \xc3\xbc" "n\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xf0\x9f\x9a\x80"
        " and a long tail of ASCII after it\"", NULL
    };

    static const char  *bad[] = {
        "\"\x80\"", "\"\xbf\"", "\"\xc0\x80\"", "\"\xc1\xbf\"",
        "\"\xc2\"", "\"\xc2\x41\"", "\"\xe0\x80\x80\"",
        "\"\xe0\x9f\xbf\"", "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"",
        "\"\xef\xbf\"", "\"\xf0\x80\x80\x80\"", "\"\xf0\x8f\xbf\xbf\"",
        "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xff\"",
        "\"\xfe\"", "\"a long ASCII run before a bad byte:\xff\"",
        "\"a long ASCII run before a cut one \xe2\x82\"", NULL
    };

    for (i = 0; good[i] != NULL; i++) {
        ck_assert_msg(hydra_valid(good[i], strlen(good[i]), 64) == 1,
                      "refused good %zu", i);
    }

    for (i = 0; bad[i] != NULL; i++) {
        ck_assert_msg(hydra_valid(bad[i], strlen(bad[i]), 64) == 0,
                      "accepted bad %zu", i);
    }

    /* escapes are checked for their form only: a lone surrogate passes */
    ck_assert_int_eq(hydra_valid("\"\\ud800\"", 8, 64), 1);
    ck_assert_int_eq(hydra_valid("\"\\/\\b\\f\\n\\r\\t\\\\\\\"\"", 18, 64),
                     1);
}
END_TEST


START_TEST(test_depth)
{
    char  *s;

    s = hydra_nested(64);
    ck_assert_int_eq(hydra_valid(s, strlen(s), 64), 1);
    ck_assert_int_eq(hydra_valid(s, strlen(s), 63), 0);
    free(s);

    ck_assert_int_eq(hydra_valid("[[]][[]]", 4, 2), 1);
    ck_assert_int_eq(hydra_valid("[[],{},[{}]]", 12, 3), 1);
    ck_assert_int_eq(hydra_valid("[[],{},[{}]]", 12, 2), 0);
    ck_assert_int_eq(hydra_valid("{}", 2, 0), 0);
    ck_assert_int_eq(hydra_valid("1", 1, 0), 1);

    /* no recursion: as deep as memory allows, or refused at once */

    s = hydra_nested(200000);
    ck_assert_int_eq(hydra_valid(s, strlen(s), 64), 0);
    ck_assert_int_eq(hydra_valid(s, strlen(s), UINT_MAX), 1);
    free(s);
}
END_TEST


/* reading */

START_TEST(test_keys)
{
    const hydra_jspan_node_t  *root;

    ck_assert_int_eq(hydra_parse(&doc,
        "{\"a\":1,\"\\u0062\":2,\"a\":3,\"\\u00e9t\\u00e9\":4,\"\":5,"
        "\"\\ud83d\\ude80\":6}", 64), HYDRA_OK);

    root = hydra_jspan_root(&doc);

    /* the first of a key twice; escaped keys are known decoded */

    ck_assert(hydra_span_is(hydra_jspan_get(root, "a", 1), "1"));
    ck_assert(hydra_span_is(hydra_jspan_get(root, "b", 1), "2"));
    ck_assert(hydra_span_is(hydra_jspan_get(root, "\xc3\xa9t\xc3\xa9", 5),
                            "4"));
    ck_assert(hydra_span_is(hydra_jspan_get(root, "", 0), "5"));
    ck_assert(hydra_span_is(hydra_jspan_get(root, "\xf0\x9f\x9a\x80", 4),
                            "6"));
    ck_assert_ptr_null(hydra_jspan_get(root, "c", 1));
    ck_assert_ptr_null(hydra_jspan_get(root, "ab", 2));
    ck_assert_ptr_null(hydra_jspan_get(hydra_jspan_first(root), "a", 1));
}
END_TEST


START_TEST(test_strings)
{
    const hydra_jspan_node_t  *root, *a, *b, *c, *d, *e;

    ck_assert_int_eq(hydra_parse(&doc,
        "[\"2026-03-05\",\"2026\\u002d03-05\",\"2026-03-06\",\"\","
        "\"\\ud800x\"]", 64), HYDRA_OK);

    root = hydra_jspan_root(&doc);
    a = hydra_nth(root, 0);
    b = hydra_nth(root, 1);
    c = hydra_nth(root, 2);
    d = hydra_nth(root, 3);
    e = hydra_nth(root, 4);

    ck_assert_int_eq(hydra_jspan_str_cmp(a, b), 0);
    ck_assert_int_lt(hydra_jspan_str_cmp(b, c), 0);
    ck_assert_int_gt(hydra_jspan_str_cmp(c, a), 0);
    ck_assert_int_lt(hydra_jspan_str_cmp(d, a), 0);
    ck_assert_int_eq(hydra_jspan_str_cmp(d, d), 0);

    ck_assert_int_eq(hydra_jspan_str_is(b, "2026-03-05", 10), 1);
    ck_assert_int_eq(hydra_jspan_str_is(a, "2026-03-0", 9), 0);
    ck_assert_int_eq(hydra_jspan_str_is(root, "x", 1), 0);

    /* a lone surrogate reads as U+FFFD */
    ck_assert_int_eq(hydra_jspan_str_is(e, "\xef\xbf\xbdx", 4), 1);
}
END_TEST


START_TEST(test_unescape)
{
    char    buf[64];
    size_t  n;

    static const char  s[] = "a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9"
                             "\\u20ac\\ud83d\\ude80\\u0000z";

    ck_assert_int_eq(hydra_jspan_unescape(s, sizeof(s) - 1, buf, &n),
                     HYDRA_OK);
    ck_assert_uint_le(n, sizeof(s) - 1);
    ck_assert_uint_eq(n, 21);
    ck_assert(memcmp(buf, "a\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac"
                          "\xf0\x9f\x9a\x80\0z", 21) == 0);
}
END_TEST


START_TEST(test_integers)
{
    long long                  n;
    const hydra_jspan_node_t  *root;

    ck_assert_int_eq(hydra_parse(&doc,
        "[0,-0,42,-17,9223372036854775807,-9223372036854775807,"
        "9223372036854775808,-9223372036854775808,1.0,1e2,\"1\"]", 64),
        HYDRA_OK);

    root = hydra_jspan_root(&doc);

    ck_assert(hydra_jspan_integer(hydra_nth(root, 0), &n) && n == 0);
    ck_assert(hydra_jspan_integer(hydra_nth(root, 1), &n) && n == 0);
    ck_assert(hydra_jspan_integer(hydra_nth(root, 2), &n) && n == 42);
    ck_assert(hydra_jspan_integer(hydra_nth(root, 3), &n) && n == -17);
    ck_assert(hydra_jspan_integer(hydra_nth(root, 4), &n)
              && n == LLONG_MAX);
    ck_assert(hydra_jspan_integer(hydra_nth(root, 5), &n)
              && n == -LLONG_MAX);

    /* as yajl: beyond LLONG_MAX either way, or not digits, is no integer */
    ck_assert(!hydra_jspan_integer(hydra_nth(root, 6), &n));
    ck_assert(!hydra_jspan_integer(hydra_nth(root, 7), &n));
    ck_assert(!hydra_jspan_integer(hydra_nth(root, 8), &n));
    ck_assert(!hydra_jspan_integer(hydra_nth(root, 9), &n));
    ck_assert(!hydra_jspan_integer(hydra_nth(root, 10), &n));
}
END_TEST


START_TEST(test_doubles)
{
    int     i, j, len;
    char    s[64];
    size_t  k;

    static const char  *fixed[] = {
        "0", "-0", "0.0", "-0.0", "1", "0.1", "0.3", "3594.9", "-0.5e-3",
        "1e22", "1e23", "9007199254740992", "9007199254740993",
        "123456789012345678", "1234567890123456789",
        "12345678901234567890", "123456789012345678901234567890",
        "0.000001", "1e-22", "1e-23", "4.9e-324", "2.5e-324", "1e-400",
        "1.7976931348623157e308", "1.7976931348623159e308", "1e400",
        "-1e400", "2.2250738585072011e-308", "0.1000000000000000055511151",
        "100.25", "2.35", "2.25", "1E5", "1e+05", "1e-05",
        "0.00000000000000000000000000000000000000000000000000001",
        "3.00000000000000000000000000000000000000000000000000001", NULL
    };

    for (k = 0; fixed[k] != NULL; k++) {
        hydra_check_double(fixed[k]);
    }

    /* digits and exponents in and around the fast path */

    srand(7);

    for (i = 0; i < 20000; i++) {
        len = 0;

        if (rand() % 4 == 0) {
            s[len++] = '-';
        }

        s[len++] = '1' + rand() % 9;

        for (j = rand() % 22; j > 0; j--) {
            s[len++] = '0' + rand() % 10;
        }

        if (rand() % 2) {
            s[len++] = '.';

            for (j = 1 + rand() % 20; j > 0; j--) {
                s[len++] = '0' + rand() % 10;
            }
        }

        if (rand() % 3 == 0) {
            len += snprintf(s + len, sizeof(s) - len, "e%d",
                            rand() % 80 - 40);
        }

        s[len] = '\0';
        hydra_check_double(s);
    }
}
END_TEST


/* the output */

START_TEST(test_out_separators)
{
    hydra_jspan_putc(&out, '{');
    hydra_jspan_name(&out, "a");
    hydra_jspan_putc(&out, '[');
    hydra_jspan_longlong(&out, 1);
    hydra_jspan_string(&out, "x", 1);
    hydra_jspan_sep(&out);
    hydra_jspan_lit(&out, "[]");
    hydra_jspan_real(&out, 2.5);
    hydra_jspan_putc(&out, ']');
    hydra_jspan_name(&out, "b");
    hydra_jspan_copy(&out, NULL);
    hydra_jspan_putc(&out, '}');

    ck_assert_int_eq(out.failed, 0);
    ck_assert(hydra_out_is(&out, "{\"a\":[1,\"x\",[],2.5],\"b\":null}"));
}
END_TEST


START_TEST(test_out_copy)
{
    const hydra_jspan_node_t  *root, *v;

    ck_assert_int_eq(hydra_parse(&doc,
        "{ \"k\\/1\" : [ 1.50 , \"\\u00e9\" ] }", 64), HYDRA_OK);

    root = hydra_jspan_root(&doc);
    v = hydra_jspan_first(root);

    /* values and keys as they came, escapes and all */

    hydra_jspan_putc(&out, '{');
    hydra_jspan_copy_key(&out, v);
    hydra_jspan_putc(&out, '[');
    hydra_jspan_copy(&out, hydra_nth(v, 1));
    hydra_jspan_copy(&out, hydra_nth(v, 0));
    hydra_jspan_putc(&out, ']');
    hydra_jspan_putc(&out, '}');

    ck_assert(hydra_out_is(&out, "{\"k\\/1\":[\"\\u00e9\",1.50]}"));
}
END_TEST


START_TEST(test_out_strings)
{
    hydra_jspan_string(&out, "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f", 14);
    ck_assert(hydra_out_is(&out,
        "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\""));

    hydra_jspan_out_reset(&out);
    hydra_jspan_string(&out, "acme-\xc3\xa9\xf0\x9f\x9a\x80", 11);
    ck_assert_int_eq(out.failed, 0);
    ck_assert(hydra_out_is(&out, "\"acme-\xc3\xa9\xf0\x9f\x9a\x80\""));

    /* not UTF-8: the buffer fails, and stays failed */

    hydra_jspan_out_reset(&out);
    hydra_jspan_string(&out, "acme-\xff", 6);
    ck_assert_int_eq(out.failed, 1);
    hydra_jspan_lit(&out, "more");
    ck_assert_int_eq(out.failed, 1);
    ck_assert_ptr_eq(out.pos, out.end);

    hydra_jspan_out_reset(&out);
    hydra_jspan_string(&out, "\xed\xa0\x80", 3);
    ck_assert_int_eq(out.failed, 1);

    hydra_jspan_out_reset(&out);
    ck_assert_int_eq(out.failed, 0);
    hydra_jspan_string(&out, "", 0);
    ck_assert(hydra_out_is(&out, "\"\""));
}
END_TEST


START_TEST(test_out_numbers)
{
    hydra_jspan_putc(&out, '[');
    hydra_jspan_longlong(&out, 0);
    hydra_jspan_longlong(&out, -42);
    hydra_jspan_longlong(&out, LLONG_MAX);
    hydra_jspan_longlong(&out, LLONG_MIN);
    hydra_jspan_real(&out, 3.0);
    hydra_jspan_real(&out, 0.1 + 0.2);
    hydra_jspan_real(&out, 0.6);
    hydra_jspan_real(&out, -0.0);
    hydra_jspan_real(&out, 1e300 * 1e10);
    hydra_jspan_real(&out, 2.0 * (double) LLONG_MAX);
    hydra_jspan_real(&out, 1e-7);
    hydra_jspan_putc(&out, ']');

    ck_assert(hydra_out_is(&out,
        "[0,-42,9223372036854775807,-9223372036854775808,3.0,"
        "0.30000000000000004,0.6,-0.0,null,1.8446744073709552e+19,"
        "1e-07]"));
}
END_TEST


/* the shortest of %.15g, %.16g and %.17g that reads back, "3" as "3.0" */

static size_t
hydra_real_printf(char *buf, size_t size, double d)
{
    int     prec;
    size_t  len;

    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);

        if (strtod(buf, NULL) == d) {
            break;
        }
    }

    len = strlen(buf);

    if (strspn(buf, "-0123456789") == len) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }

    return len;
}


static void
hydra_check_real_text(double d)
{
    size_t  len;
    char    want[64];

    hydra_jspan_out_reset(&out);
    hydra_jspan_real(&out, d);
    len = hydra_real_printf(want, sizeof(want), d);

    ck_assert_msg((size_t) (out.pos - out.start) == len
                  && memcmp(out.start, want, len) == 0,
                  "%.17g: \"%.*s\", not \"%s\"", d,
                  (int) (out.pos - out.start), out.start, want);
}


/* the printf-free common case writes what printf would, whatever d */

START_TEST(test_out_reals_as_printf)
{
    int     i, e, k;
    double  d, p;

    srand(9);

    for (e = -8; e <= 17; e++) {
        p = 1;

        for (k = 0; k < (e < 0 ? -e : e); k++) {
            p = (e < 0) ? p / 10 : p * 10;
        }

        for (i = 0; i < 3000; i++) {
            d = rand() / (double) RAND_MAX * p;
            hydra_check_real_text(d);
            hydra_check_real_text(-d);

            /* short decimals: k places of a random integer */

            d = (double) (rand() % 100000000) / (double) (1 + rand() % 9);
            hydra_check_real_text(d * p);
            hydra_check_real_text((double) rand() / 1000.0);
            hydra_check_real_text((double) (rand() % 1000000) / 10.0);
            hydra_check_real_text((double) rand() / (1 + rand()));
        }
    }

    hydra_check_real_text(1e-4);
    hydra_check_real_text(nextafter(1e-4, 0));
    hydra_check_real_text(1e15);
    hydra_check_real_text(nextafter(1e15, 0));
    hydra_check_real_text(999999999999999.9);
    hydra_check_real_text(1125899906842624.0);
    hydra_check_real_text(0.1);
    hydra_check_real_text(0.3);
    hydra_check_real_text(2.675);
    hydra_check_real_text(5e-324);
    hydra_check_real_text(1.7976931348623157e308);
    hydra_check_real_text(0.0);
    hydra_check_real_text(-0.0);
}
END_TEST


START_TEST(test_out_limit)
{
    size_t  i;

    /* grows from a few bytes, a byte at a time or a block at once */

    for (i = 0; i < 10000; i++) {
        hydra_jspan_putc(&out, 'a' + i % 26);
    }

    hydra_jspan_put(&out, "0123456789", 10);
    ck_assert_int_eq(out.failed, 0);
    ck_assert_uint_eq((size_t) (out.pos - out.start), 10010);
    ck_assert_int_eq(out.start[10009], '9');
    ck_assert_int_eq(out.start[9999], 'a' + 9999 % 26);

    /* at most max bytes: what goes over fails, and sticks */

    hydra_jspan_out_reset(&out);
    hydra_jspan_out_limit(&out, 5);
    hydra_jspan_lit(&out, "abc");
    hydra_jspan_lit(&out, "de");
    ck_assert_int_eq(out.failed, 0);
    hydra_jspan_putc(&out, 'f');
    ck_assert_int_eq(out.failed, 1);
    hydra_jspan_out_limit(&out, 100);
    hydra_jspan_putc(&out, 'g');
    ck_assert_int_eq(out.failed, 1);
    ck_assert(hydra_out_is(&out, "abcde"));

    hydra_jspan_out_reset(&out);
    hydra_jspan_lit(&out, "0123456789");
    ck_assert_int_eq(out.failed, 0);
    hydra_jspan_out_limit(&out, 4);
    ck_assert_int_eq(out.failed, 1);

    hydra_jspan_out_reset(&out);
    hydra_jspan_out_limit(&out, 0);
    hydra_jspan_putc(&out, '[');
    ck_assert_int_eq(out.failed, 1);
    ck_assert_ptr_eq(out.pos, out.start);
}
END_TEST


Suite *
hydra_jspan_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_jspan");

    tc = tcase_create("nodes");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_nodes);
    tcase_add_test(tc, test_nodes_whitespace);
    tcase_add_test(tc, test_scalars_at_top);
    tcase_add_test(tc, test_many_nodes);
    suite_add_tcase(s, tc);

    tc = tcase_create("refused");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_refused_where);
    tcase_add_test(tc, test_utf8);
    tcase_add_test(tc, test_depth);
    suite_add_tcase(s, tc);

    tc = tcase_create("reading");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_unescape);
    tcase_add_test(tc, test_integers);
    tcase_add_test(tc, test_doubles);
    suite_add_tcase(s, tc);

    tc = tcase_create("output");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_out_separators);
    tcase_add_test(tc, test_out_copy);
    tcase_add_test(tc, test_out_strings);
    tcase_add_test(tc, test_out_numbers);
    tcase_add_test(tc, test_out_reals_as_printf);
    tcase_add_test(tc, test_out_limit);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_jspan_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


/* 1 when the len bytes of s are JSON no deeper than depth */

static int
hydra_valid(const char *s, size_t len, unsigned depth)
{
    int                rc;
    char              *copy;
    hydra_jspan_doc_t  d;

    /* a copy of exactly len bytes: nothing past them may be read */

    copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, s, len);

    rc = hydra_jspan_parse(&d, copy, len, depth);

    if (rc == HYDRA_OK) {
        ck_assert_ptr_null(d.error);

    } else {
        ck_assert_ptr_nonnull(d.error);
        ck_assert_uint_le(d.error_at, len);
    }

    hydra_jspan_free(&d);
    free(copy);

    return rc == HYDRA_OK;
}


/* "[[...]]", depth deep */

static char *
hydra_nested(size_t depth)
{
    char  *s;

    s = malloc(2 * depth + 1);
    ck_assert_ptr_nonnull(s);

    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';

    return s;
}


static const hydra_jspan_node_t *
hydra_nth(const hydra_jspan_node_t *v, size_t n)
{
    for (v = hydra_jspan_first(v); v != NULL && n > 0; n--) {
        v = hydra_jspan_next(v);
    }

    ck_assert_ptr_nonnull(v);

    return v;
}


/* s as a one-number document reads as strtod() reads it, bit for bit */

static void
hydra_check_double(const char *s)
{
    double             got, want;
    hydra_jspan_doc_t  d;

    ck_assert_msg(hydra_jspan_parse(&d, s, strlen(s), 1) == HYDRA_OK,
                  "not a number: %s", s);

    got = hydra_jspan_double(hydra_jspan_root(&d));
    want = strtod(s, NULL);

    ck_assert_msg(memcmp(&got, &want, sizeof(double)) == 0,
                  "%s: %.17g, not %.17g", s, got, want);

    hydra_jspan_free(&d);
}
