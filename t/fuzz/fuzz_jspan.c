
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_jspan: any bytes as JSON, nested at most as deep as the first
 * byte says.  What it takes yajl must take too, and for ASCII text what
 * yajl takes (within the depth, with JSON's own whitespace, no comments
 * and nothing after the value) it must take.  The nodes it makes must
 * describe the text exactly: each value's span is its own text inside
 * its parent's, siblings follow in order, counts are right, keys sit
 * before their values; lookups find the first member of a decoded key;
 * numbers read as strtod() and strtoll() read them; strings compare as
 * their decoded bytes do.
 */


#include <errno.h>
#include <limits.h>
#include <math.h>
#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "hydra_jspan.h"
#include "hydra_jspan_out.h"


/* deeper than any merge allows, so the limit itself is fuzzed too */
#define HYDRA_FUZZ_DEPTH_MAX  80


typedef struct {
    const char                *start;
    const char                *end;
    const hydra_jspan_doc_t   *doc;
    size_t                     seen;
    const hydra_jspan_node_t  *prev_string;
} hydra_fuzz_walk_t;


static size_t hydra_fuzz_check(hydra_fuzz_walk_t *w,
    const hydra_jspan_node_t *v, const hydra_jspan_node_t *parent);
static void hydra_fuzz_check_key(const hydra_jspan_node_t *v,
    const hydra_jspan_node_t *obj);
static void hydra_fuzz_check_string(hydra_fuzz_walk_t *w,
    const hydra_jspan_node_t *v);
static void hydra_fuzz_check_number(const hydra_jspan_node_t *v);
static char *hydra_fuzz_decode(const char *p, size_t len, size_t *n);
static int hydra_fuzz_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
static unsigned hydra_fuzz_depth(const char *p, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 rc, plain;
    char               *text, *nul;
    size_t              i, len;
    unsigned            max_depth;
    yajl_val            tree;
    hydra_fuzz_in_t     in;
    hydra_fuzz_walk_t   w;
    hydra_jspan_doc_t   doc;

    hydra_fuzz_init(&in, data, size);
    max_depth = hydra_fuzz_byte(&in) % HYDRA_FUZZ_DEPTH_MAX;

    len = in.left;
    text = hydra_fuzz_copy(in.p, len, 0);

    rc = hydra_jspan_parse(&doc, text, len, max_depth);

    /* yajl's opinion, on a NUL-terminated copy (JSON has no raw NUL) */

    tree = NULL;
    plain = (memchr(text, '\0', len) == NULL);

    for (i = 0; i < len && plain; i++) {
        /* yajl's tree also takes comments, and \v and \f as blanks */

        if ((unsigned char) text[i] >= 0x80 || text[i] == '\v'
            || text[i] == '\f' || text[i] == '/')
        {
            plain = 0;
        }
    }

    if (memchr(text, '\0', len) == NULL) {
        nul = hydra_fuzz_copy(text, len, 1);
        tree = yajl_tree_parse(nul, NULL, 0);
        free(nul);
    }

    if (rc != HYDRA_OK) {
        hydra_fuzz_assert(rc == HYDRA_ERROR && doc.error != NULL);
        hydra_fuzz_assert(doc.error_at <= len);

        /* yajl stops at a whole value and ignores a torn one after it */

        if (plain && tree != NULL
            && strcmp(doc.error, "more after the value") != 0)
        {
            hydra_fuzz_assert(hydra_fuzz_depth(text, len) > max_depth);
        }

        goto done;
    }

    hydra_fuzz_assert(doc.error == NULL);
    hydra_fuzz_assert(tree != NULL);
    hydra_fuzz_assert(doc.nnodes > 0 && doc.nnodes <= doc.cap);
    hydra_fuzz_assert(hydra_fuzz_depth(text, len) <= max_depth);

    w.start = text;
    w.end = text + len;
    w.doc = &doc;
    w.seen = 0;
    w.prev_string = NULL;

    hydra_fuzz_assert(hydra_fuzz_check(&w, hydra_jspan_root(&doc), NULL)
                      == doc.nnodes);
    hydra_fuzz_assert(w.seen == doc.nnodes);

done:

    if (tree != NULL) {
        yajl_tree_free(tree);
    }

    hydra_jspan_free(&doc);
    free(text);

    return 0;
}


/* v and all below it; returns how many nodes that is */

static size_t
hydra_fuzz_check(hydra_fuzz_walk_t *w, const hydra_jspan_node_t *v,
    const hydra_jspan_node_t *parent)
{
    size_t                     n, count;
    const char                *end, *prev_end;
    const hydra_jspan_node_t  *c;

    /* nodes are in document order, each seen once */

    hydra_fuzz_assert(v == &w->doc->nodes[w->seen]);
    w->seen++;

    end = hydra_jspan_end(v);

    hydra_fuzz_assert(v->text >= w->start && end <= w->end && v->len > 0);

    if (parent != NULL) {
        hydra_fuzz_assert(v->text > parent->text
                          && end < hydra_jspan_end(parent));
    }

    if (parent != NULL && parent->type == HYDRA_JSPAN_OBJECT) {
        hydra_fuzz_check_key(v, parent);

    } else {
        hydra_fuzz_assert(v->key_len == 0 && v->key_back == 0);
        hydra_fuzz_assert(!(v->flags & HYDRA_JSPAN_KEY_ESCAPED));
    }

    switch (v->type) {

    case HYDRA_JSPAN_NULL:
        hydra_fuzz_assert(v->len == 4 && memcmp(v->text, "null", 4) == 0);
        return 1;

    case HYDRA_JSPAN_TRUE:
        hydra_fuzz_assert(v->len == 4 && memcmp(v->text, "true", 4) == 0);
        return 1;

    case HYDRA_JSPAN_FALSE:
        hydra_fuzz_assert(v->len == 5 && memcmp(v->text, "false", 5) == 0);
        return 1;

    case HYDRA_JSPAN_NUMBER:
        hydra_fuzz_check_number(v);
        return 1;

    case HYDRA_JSPAN_STRING:
        hydra_fuzz_check_string(w, v);
        return 1;

    case HYDRA_JSPAN_ARRAY:
    case HYDRA_JSPAN_OBJECT:
        break;

    default:
        hydra_fuzz_assert(0);
    }

    hydra_fuzz_assert(v->text[0] == (v->type == HYDRA_JSPAN_ARRAY ? '[' : '{'));
    hydra_fuzz_assert(end[-1] == (v->type == HYDRA_JSPAN_ARRAY ? ']' : '}'));

    n = 1;
    count = 0;
    prev_end = v->text + 1;

    for (c = hydra_jspan_first(v); c != NULL; c = hydra_jspan_next(c)) {
        hydra_fuzz_assert(hydra_jspan_key(c) >= prev_end);
        prev_end = hydra_jspan_end(c);

        /* the next sibling comes right after this child's subtree */
        hydra_fuzz_assert(c == &w->doc->nodes[w->seen]);
        n += hydra_fuzz_check(w, c, v);
        hydra_fuzz_assert(c->next == 0
                          || c + c->next == &w->doc->nodes[w->seen]);

        count++;
    }

    hydra_fuzz_assert(count == v->count);

    return n;
}


/*
 * A member's key: a string before its value, only ":" and whitespace
 * between; the decoded key finds this member or an earlier one with the
 * same decoded key, never a later one
 */

static void
hydra_fuzz_check_key(const hydra_jspan_node_t *v,
    const hydra_jspan_node_t *obj)
{
    int                        esc;
    char                      *key, *other;
    size_t                     klen, olen;
    const char                *k, *p;
    const hydra_jspan_node_t  *found, *c;

    k = hydra_jspan_key(v);

    hydra_fuzz_assert(v->key_len >= 2 && v->key_back >= v->key_len + 1);
    hydra_fuzz_assert(k[0] == '"' && k[v->key_len - 1] == '"');
    hydra_fuzz_assert(k > obj->text);

    for (p = k + v->key_len; p < v->text; p++) {
        hydra_fuzz_assert(*p == ':' || *p == ' ' || *p == '\t'
                          || *p == '\r' || *p == '\n');
    }

    esc = (memchr(k + 1, '\\', v->key_len - 2) != NULL);
    hydra_fuzz_assert(esc == !!(v->flags & HYDRA_JSPAN_KEY_ESCAPED));

    key = hydra_fuzz_decode(k + 1, v->key_len - 2, &klen);

    hydra_fuzz_assert(hydra_jspan_key_is(v, key, klen));

    found = hydra_jspan_get(obj, key, klen);
    hydra_fuzz_assert(found != NULL && found <= v);

    for (c = hydra_jspan_first(obj); c != found; c = hydra_jspan_next(c)) {
        other = hydra_fuzz_decode(hydra_jspan_key(c) + 1, c->key_len - 2,
                                  &olen);
        hydra_fuzz_assert(hydra_fuzz_cmp(key, klen, other, olen) != 0);
        free(other);
    }

    free(key);
}


/* a string: its text decoded, compared with the last string seen */

static void
hydra_fuzz_check_string(hydra_fuzz_walk_t *w, const hydra_jspan_node_t *v)
{
    int                        esc, c;
    char                      *s, *t;
    size_t                     slen, tlen;
    const hydra_jspan_node_t  *prev;

    hydra_fuzz_assert(v->len >= 2 && v->text[0] == '"'
                      && v->text[v->len - 1] == '"');

    esc = (memchr(v->text + 1, '\\', v->len - 2) != NULL);
    hydra_fuzz_assert(esc == !!(v->flags & HYDRA_JSPAN_ESCAPED));

    s = hydra_fuzz_decode(v->text + 1, v->len - 2, &slen);
    hydra_fuzz_assert(hydra_jspan_str_is(v, s, slen));

    prev = w->prev_string;

    if (prev != NULL) {
        t = hydra_fuzz_decode(prev->text + 1, prev->len - 2, &tlen);
        c = hydra_jspan_str_cmp(v, prev);
        hydra_fuzz_assert((c > 0) == (hydra_fuzz_cmp(s, slen, t, tlen) > 0));
        hydra_fuzz_assert((c < 0) == (hydra_fuzz_cmp(s, slen, t, tlen) < 0));
        hydra_fuzz_assert(hydra_jspan_str_is(prev, s, slen)
                          == (hydra_fuzz_cmp(s, slen, t, tlen) == 0));
        free(t);
    }

    w->prev_string = v;

    free(s);
}


/* a number as the C library reads its text */

static void
hydra_fuzz_check_number(const hydra_jspan_node_t *v)
{
    int                   digits;
    char                 *s, *e;
    double                d, r;
    long long             n, ref;
    const unsigned char  *p;

    p = (const unsigned char *) v->text;
    hydra_fuzz_assert(hydra_jspan_number(p, p + v->len, &digits)
                      == p + v->len);
    hydra_fuzz_assert(digits == !!(v->flags & HYDRA_JSPAN_DIGITS));

    s = hydra_fuzz_copy(v->text, v->len, 1);

    r = strtod(s, &e);
    hydra_fuzz_assert(e == s + v->len);

    d = hydra_jspan_double(v);
    hydra_fuzz_assert(d == r && !!signbit(d) == !!signbit(r));

    errno = 0;
    ref = strtoll(s, &e, 10);

    if (hydra_jspan_integer(v, &n)) {
        hydra_fuzz_assert(digits && errno == 0 && n == ref);

    } else if (digits) {
        /* out of range, or LLONG_MIN, whose magnitude a long long lacks */
        hydra_fuzz_assert(errno == ERANGE || ref == LLONG_MIN);
    }

    free(s);
}


/* a valid string's text decoded, as hydra_jspan_unescape() promises */

static char *
hydra_fuzz_decode(const char *p, size_t len, size_t *n)
{
    char  *dst;

    dst = malloc(len ? len : 1);
    hydra_fuzz_assert(dst != NULL);

    hydra_fuzz_assert(hydra_jspan_unescape(p, len, dst, n) == HYDRA_OK);
    hydra_fuzz_assert(*n <= len);

    return dst;
}


static int
hydra_fuzz_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int  c;

    c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0) {
        return c;
    }

    return (alen > blen) - (alen < blen);
}


/* how deep "[" and "{" nest outside strings, in valid JSON */

static unsigned
hydra_fuzz_depth(const char *p, size_t len)
{
    int       in_string;
    size_t    i;
    unsigned  depth, max;

    in_string = 0;
    depth = 0;
    max = 0;

    for (i = 0; i < len; i++) {
        if (in_string) {
            if (p[i] == '\\') {
                i++;

            } else if (p[i] == '"') {
                in_string = 0;
            }

            continue;
        }

        if (p[i] == '"') {
            in_string = 1;

        } else if (p[i] == '[' || p[i] == '{') {
            if (++depth > max) {
                max = depth;
            }

        } else if ((p[i] == ']' || p[i] == '}') && depth > 0) {
            depth--;
        }
    }

    return max;
}
