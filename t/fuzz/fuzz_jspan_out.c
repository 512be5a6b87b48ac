
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_jspan_out: the writer.  The input is a program that writes one
 * array, value after value, into a buffer of a chosen first size and,
 * now and then, a limit: strings of any bytes, integers, doubles, and
 * values and members of parsed JSON copied as their text.  Unless the
 * buffer failed, what it holds must be JSON that reads back as exactly
 * what was written: a string decodes to its bytes, an integer to
 * itself, a double to the same double.  It fails exactly when a string
 * was not UTF-8 or the limit was passed, and never writes past it.
 */


#include <math.h>
#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "hydra_jspan.h"
#include "hydra_jspan_out.h"


/* the operations of the program, one byte each, then their operands */
#define HYDRA_FUZZ_STRING      0
#define HYDRA_FUZZ_LONGLONG    1
#define HYDRA_FUZZ_REAL        2
#define HYDRA_FUZZ_COPY        3
#define HYDRA_FUZZ_OBJECT      4
#define HYDRA_FUZZ_OPS         5

/* a string or a JSON text of the program ends at this byte */
#define HYDRA_FUZZ_SEP         0xff

#define HYDRA_FUZZ_DEPTH       64


typedef struct {
    int                        op;
    const char                *s;      /* a string's bytes, a copy's text */
    size_t                     len;
    long long                  n;
    double                     d;
    hydra_jspan_doc_t          doc;    /* a copy's */
} hydra_fuzz_value_t;


static void hydra_fuzz_check(const hydra_fuzz_value_t *val,
    const hydra_jspan_node_t *v);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                         bad, failed;
    char                       *out_text, *piece;
    size_t                      i, n, nvals, len, max, written;
    unsigned                    flags;
    uint64_t                    u;
    yajl_val                    tree;
    const uint8_t              *p;
    hydra_fuzz_in_t             in;
    hydra_jspan_doc_t           doc;
    hydra_jspan_out_t           out;
    hydra_fuzz_value_t         *vals, *val;
    const hydra_jspan_node_t   *v, *m;

    hydra_fuzz_init(&in, data, size);
    flags = hydra_fuzz_byte(&in);
    max = hydra_fuzz_u16(&in);

    hydra_fuzz_assert(hydra_jspan_out_init(&out, flags & 0x3f) == HYDRA_OK);

    if (flags & 0x40) {
        hydra_jspan_out_limit(&out, max);

    } else {
        max = (size_t) -1;
    }

    vals = calloc(size + 1, sizeof(hydra_fuzz_value_t));
    hydra_fuzz_assert(vals != NULL);

    nvals = 0;
    bad = 0;

    hydra_jspan_putc(&out, '[');
    written = out.pos - out.start;

    while (in.left > 0) {
        val = &vals[nvals];
        failed = out.failed;
        val->op = hydra_fuzz_byte(&in) % HYDRA_FUZZ_OPS;

        switch (val->op) {

        case HYDRA_FUZZ_STRING:
            p = hydra_fuzz_piece(&in, HYDRA_FUZZ_SEP, &len);
            piece = hydra_fuzz_copy(p, len, 0);
            val->s = piece;
            val->len = len;
            bad |= !hydra_fuzz_utf8(piece, len);
            hydra_jspan_string(&out, piece, len);
            break;

        case HYDRA_FUZZ_LONGLONG:
            val->n = (long long) hydra_fuzz_u64(&in);
            hydra_jspan_longlong(&out, val->n);
            break;

        case HYDRA_FUZZ_REAL:
            u = hydra_fuzz_u64(&in);
            memcpy(&val->d, &u, sizeof(double));
            hydra_jspan_real(&out, val->d);
            break;

        default:
            /* a JSON text, copied whole, or its object's members one by one */

            p = hydra_fuzz_piece(&in, HYDRA_FUZZ_SEP, &len);
            piece = hydra_fuzz_copy(p, len, 0);
            val->s = piece;
            val->len = len;

            if (hydra_jspan_parse(&val->doc, piece, len, HYDRA_FUZZ_DEPTH)
                != HYDRA_OK)
            {
                hydra_jspan_free(&val->doc);
                free(piece);
                val->s = NULL;
                continue;
            }

            v = hydra_jspan_root(&val->doc);

            if (val->op == HYDRA_FUZZ_COPY || !hydra_jspan_is_object(v)) {
                val->op = HYDRA_FUZZ_COPY;
                hydra_jspan_copy(&out, v);
                break;
            }

            hydra_jspan_sep(&out);
            hydra_jspan_putc(&out, '{');

            for (m = hydra_jspan_first(v); m; m = hydra_jspan_next(m)) {
                hydra_jspan_copy_key(&out, m);
                hydra_jspan_copy(&out, m);
            }

            hydra_jspan_putc(&out, '}');
        }

        nvals++;

        /* never past the limit; once failed, nothing more is written */

        n = out.pos - out.start;
        hydra_fuzz_assert(n <= max);
        hydra_fuzz_assert(!failed || n == written);
        written = n;
    }

    hydra_jspan_putc(&out, ']');

    len = out.pos - out.start;
    hydra_fuzz_assert(len <= max);

    if (out.failed) {
        /* a bad string, or the limit: nothing else makes it fail */
        hydra_fuzz_assert(bad || max != (size_t) -1);
        goto done;
    }

    hydra_fuzz_assert(!bad);

    /* what was written, read back, is what was meant */

    out_text = hydra_fuzz_copy(out.start, len, 1);

    hydra_fuzz_assert(hydra_jspan_parse(&doc, out_text, len,
                                        HYDRA_FUZZ_DEPTH + 1)
                      == HYDRA_OK);

    v = hydra_jspan_root(&doc);
    hydra_fuzz_assert(hydra_jspan_is_array(v) && v->count == nvals);

    for (i = 0, v = hydra_jspan_first(v); i < nvals;
         i++, v = hydra_jspan_next(v))
    {
        hydra_fuzz_check(&vals[i], v);
    }

    tree = yajl_tree_parse(out_text, NULL, 0);
    hydra_fuzz_assert(tree != NULL);
    yajl_tree_free(tree);

    hydra_jspan_free(&doc);
    free(out_text);

done:

    for (i = 0; i < nvals; i++) {
        if (vals[i].op == HYDRA_FUZZ_COPY || vals[i].op == HYDRA_FUZZ_OBJECT) {
            hydra_jspan_free(&vals[i].doc);
        }

        free((char *) vals[i].s);
    }

    free(vals);
    hydra_jspan_out_free(&out);

    return 0;
}


static void
hydra_fuzz_check(const hydra_fuzz_value_t *val, const hydra_jspan_node_t *v)
{
    char                       *dec;
    size_t                      n;
    long long                   ll;
    const hydra_jspan_node_t   *a, *b, *root;

    switch (val->op) {

    case HYDRA_FUZZ_STRING:
        hydra_fuzz_assert(hydra_jspan_is_string(v));

        dec = malloc(v->len);
        hydra_fuzz_assert(dec != NULL);
        hydra_jspan_unescape(v->text + 1, v->len - 2, dec, &n);
        hydra_fuzz_assert(n == val->len
                          && (n == 0 || memcmp(dec, val->s, n) == 0));
        free(dec);
        break;

    case HYDRA_FUZZ_LONGLONG:
        hydra_fuzz_assert(hydra_jspan_is_number(v));

        /* LLONG_MIN has no long long magnitude: read as a double */
        if (hydra_jspan_integer(v, &ll)) {
            hydra_fuzz_assert(ll == val->n);

        } else {
            hydra_fuzz_assert(hydra_jspan_double(v) == (double) val->n);
        }

        break;

    case HYDRA_FUZZ_REAL:
        if (!isfinite(val->d)) {
            hydra_fuzz_assert(hydra_jspan_is_null(v));
            break;
        }

        hydra_fuzz_assert(hydra_jspan_is_number(v));
        hydra_fuzz_assert(!(v->flags & HYDRA_JSPAN_DIGITS));
        hydra_fuzz_assert(hydra_jspan_double(v) == val->d);

        /* and as the C library reads it, apart from jspan's reader */
        dec = hydra_fuzz_copy(v->text, v->len, 1);
        hydra_fuzz_assert(strtod(dec, NULL) == val->d);
        free(dec);
        hydra_fuzz_assert(!!signbit(hydra_jspan_double(v))
                          == !!signbit(val->d));
        break;

    case HYDRA_FUZZ_COPY:
        root = hydra_jspan_root(&val->doc);
        hydra_fuzz_assert(v->type == root->type && v->len == root->len
                          && memcmp(v->text, root->text, v->len) == 0);
        break;

    default:
        /* the members, their keys and values as they came */

        root = hydra_jspan_root(&val->doc);
        hydra_fuzz_assert(hydra_jspan_is_object(v)
                          && v->count == root->count);

        for (a = hydra_jspan_first(v), b = hydra_jspan_first(root);
             a != NULL;
             a = hydra_jspan_next(a), b = hydra_jspan_next(b))
        {
            hydra_fuzz_assert(a->key_len == b->key_len
                              && memcmp(hydra_jspan_key(a),
                                        hydra_jspan_key(b), a->key_len)
                                 == 0);
            hydra_fuzz_assert(a->len == b->len
                              && memcmp(a->text, b->text, a->len) == 0);
        }
    }
}
