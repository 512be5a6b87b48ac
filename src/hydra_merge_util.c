
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include "hydra_merge_util.h"


/* from 1e16 on a double is a whole number: rounding to 0.1 keeps it */
#define HYDRA_MERGE_ROUND_MAX     1e16

/* "-1.2345678901234567e+308" fits */
#define HYDRA_MERGE_DOUBLE_SIZE   32

/* fewer numbers than this are sorted by insertion alone */
#define HYDRA_MERGE_SORT_SMALL    32

/*
 * A double times 10 needs this many mantissa bits to be exact, and
 * below this the tenths are under 2^53, whole doubles
 */
#define HYDRA_MERGE_TENTHS_BITS   57
#define HYDRA_MERGE_TENTHS_MAX    9e14

/* selection gives up for a sort after this many passes over the numbers */
#define HYDRA_MERGE_SELECT_WORK   8


static void hydra_merge_union_write(hydra_jspan_out_t *out,
    const hydra_merge_t *m, hydra_merge_val_t *vals, hydra_merge_hash_t *seen);
static int hydra_merge_hash_init(hydra_merge_hash_t *h, size_t n);
static hydra_merge_slot_t *hydra_merge_hash_slot(hydra_merge_hash_t *h,
    const char *key, size_t len);
static uint64_t *hydra_merge_radix(uint64_t *src, uint64_t *dst, size_t n,
    unsigned from, uint32_t *count);
static int hydra_merge_insertion(uint64_t *key, size_t n, size_t budget);


/*
 * Every rule: the repos' tags escaped once, the answer written by its
 * body, and one check at the end, since out's first failure sticks.
 */

int
hydra_merge_run(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_body_pt body)
{
    hydra_merge_ctx_t  c;

    if (out->failed) {
        return HYDRA_ERROR;
    }

    c.out = out;
    c.m = m;

    if (hydra_merge_tags_init(&c.tags, m) != HYDRA_OK) {
        hydra_jspan_out_fail(out);
        return HYDRA_ERROR;
    }

    body(&c);

    hydra_merge_tags_free(&c.tags);

    return out->failed ? HYDRA_ERROR : HYDRA_OK;
}


/* "hydra": {"answered": ["acme-api"], "failed": {"acme-web": "timeout"}} */

void
hydra_merge_facts(hydra_merge_ctx_t *c)
{
    size_t                        i;
    hydra_jspan_out_t            *out;
    const hydra_merge_t          *m;
    const hydra_merge_failure_t  *f;

    m = c->m;
    out = c->out;

    hydra_jspan_name(out, "hydra");
    hydra_jspan_lit(out, "{\"answered\":[");

    for (i = 0; i < m->ninputs; i++) {
        hydra_jspan_string(out, m->inputs[i].repo, strlen(m->inputs[i].repo));
    }

    hydra_jspan_lit(out, "],\"failed\":{");

    for (i = 0; i < m->nfailures; i++) {
        f = &m->failures[i];

        hydra_jspan_string(out, f->repo, strlen(f->repo));
        hydra_jspan_putc(out, ':');

        if (f->reason != NULL) {
            hydra_jspan_string(out, f->reason, strlen(f->reason));

        } else {
            hydra_jspan_lit(out, "null");
        }
    }

    hydra_jspan_lit(out, "}}");
}


/* ISO UTC timestamps compare as text; no string at all is null */

void
hydra_merge_max_string(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_val_t *vals)
{
    size_t             i;
    hydra_merge_val_t  best;

    best = NULL;

    for (i = 0; i < m->ninputs; i++) {
        if (hydra_jspan_is_string(vals[i])
            && (best == NULL || hydra_jspan_str_cmp(vals[i], best) > 0))
        {
            best = vals[i];
        }
    }

    hydra_jspan_copy(out, best);
}


void
hydra_merge_max_number(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_val_t *vals)
{
    int                vint, bint;
    size_t             i;
    long long          vi, bi;
    hydra_merge_val_t  v, best;

    best = NULL;
    bint = 0;
    bi = 0;

    for (i = 0; i < m->ninputs; i++) {
        v = vals[i];

        if (!hydra_jspan_is_number(v)) {
            continue;
        }

        vi = 0;
        vint = hydra_jspan_integer(v, &vi);

        if (best == NULL) {
            best = v;

        } else if (vint && bint) {
            if (vi > bi) {
                best = v;
            }

        } else if ((vint ? (double) vi : hydra_jspan_double(v))
                   > (bint ? (double) bi : hydra_jspan_double(best)))
        {
            best = v;
        }

        if (best == v) {
            bint = vint;
            bi = vi;
        }
    }

    hydra_jspan_copy(out, best);
}


/* fired_thresholds: each name once, in first-seen order */

int
hydra_merge_union(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_val_t *vals)
{
    size_t              i, n;
    hydra_merge_hash_t  seen;

    n = 0;

    for (i = 0; i < m->ninputs; i++) {
        if (hydra_jspan_is_array(vals[i])) {
            n += vals[i]->count;
        }
    }

    if (hydra_merge_hash_init(&seen, n) != HYDRA_OK) {
        return HYDRA_ERROR;
    }

    hydra_merge_union_write(out, m, vals, &seen);

    free(seen.slots);

    return HYDRA_OK;
}


static void
hydra_merge_union_write(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_val_t *vals, hydra_merge_hash_t *seen)
{
    char                *dec;
    size_t               i, len;
    hydra_merge_val_t    v;
    hydra_merge_slot_t  *slot;

    hydra_jspan_sep(out);
    hydra_jspan_putc(out, '[');

    for (i = 0; i < m->ninputs; i++) {
        if (!hydra_jspan_is_array(vals[i])) {
            continue;
        }

        for (v = hydra_jspan_first(vals[i]); v; v = hydra_jspan_next(v)) {
            if (!hydra_jspan_is_string(v)) {
                continue;
            }

            /* an escaped name is known by its text decoded, kept to the end */

            dec = NULL;
            len = v->len - 2;

            if (v->flags & HYDRA_JSPAN_ESCAPED) {
                dec = malloc(len);
                if (dec == NULL) {
                    hydra_jspan_out_fail(out);
                    break;
                }

                (void) hydra_jspan_unescape(v->text + 1, len, dec, &len);
            }

            slot = hydra_merge_hash_slot(seen, dec ? dec : v->text + 1, len);

            if (slot->key != NULL) {
                free(dec);
                continue;
            }

            slot->key = dec ? dec : v->text + 1;
            slot->len = len;
            slot->value = (dec != NULL);

            hydra_jspan_copy(out, v);
        }
    }

    hydra_jspan_putc(out, ']');

    for (i = 0; i <= seen->mask; i++) {
        if (seen->slots[i].value) {
            free((char *) seen->slots[i].key);
        }
    }
}


/*
 * The members of per-issue maps, keyed "<repo>#<issue>" so that issue
 * numbers of different repos never meet; tag: each value is an object
 * that gains "repo" (others are left out), else values are copied.
 */

void
hydra_merge_issues(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_val_t *vals, const hydra_merge_tags_t *tags, int tag)
{
    size_t             i;
    hydra_merge_val_t  obj, v;

    for (i = 0; i < m->ninputs; i++) {
        obj = vals[i];

        if (!hydra_jspan_is_object(obj)) {
            continue;
        }

        for (v = hydra_jspan_first(obj); v; v = hydra_jspan_next(v)) {
            if (tag && !hydra_jspan_is_object(v)) {
                continue;
            }

            /* "repo#" and the key's own text, escaped as it came */

            hydra_jspan_sep(out);
            hydra_jspan_putc(out, '"');
            hydra_merge_tag(out, tags, i);
            hydra_jspan_putc(out, '#');
            hydra_jspan_put(out, hydra_jspan_key(v) + 1, v->key_len - 1);
            hydra_jspan_putc(out, ':');

            if (tag) {
                hydra_merge_tagged(out, v, tags, i);

            } else {
                hydra_jspan_copy(out, v);
            }
        }
    }
}


/*
 * Each repo's tag escaped, once.  A tag that is not UTF-8 is marked: a
 * merge that writes it fails, it is never sent.
 */

int
hydra_merge_tags_init(hydra_merge_tags_t *tags, const hydra_merge_t *m)
{
    char    *pos;
    size_t   i, size;

    size = 16;

    for (i = 0; i < m->ninputs; i++) {
        size += strlen(m->inputs[i].repo) * 6;
    }

    tags->off = malloc((m->ninputs + 1) * 2 * sizeof(size_t));

    if (hydra_jspan_out_init(&tags->buf, size) != HYDRA_OK
        || tags->off == NULL)
    {
        hydra_merge_tags_free(tags);
        return HYDRA_ERROR;
    }

    tags->len = tags->off + m->ninputs + 1;

    for (i = 0; i < m->ninputs; i++) {
        pos = tags->buf.pos;
        tags->off[i] = pos - tags->buf.start;

        hydra_jspan_escape(&tags->buf, m->inputs[i].repo,
                           strlen(m->inputs[i].repo));

        tags->len[i] = tags->buf.pos - pos;

        if (tags->buf.failed) {
            hydra_jspan_out_reset(&tags->buf);
            tags->buf.pos = tags->buf.start + tags->off[i];
            tags->len[i] = HYDRA_MERGE_TAG_BAD;
        }
    }

    return HYDRA_OK;
}


/* tag i between quotes, or the buffer fails */

void
hydra_merge_tag(hydra_jspan_out_t *out, const hydra_merge_tags_t *tags,
    size_t i)
{
    if (tags->len[i] == HYDRA_MERGE_TAG_BAD) {
        hydra_jspan_out_fail(out);
        return;
    }

    hydra_jspan_put(out, tags->buf.start + tags->off[i], tags->len[i]);
}


/* a name of ours (ASCII, nothing to escape) as a key */

void
hydra_merge_name(hydra_jspan_out_t *out, const char *name, size_t len)
{
    hydra_jspan_sep(out);
    hydra_jspan_putc(out, '"');
    hydra_jspan_put(out, name, len);
    hydra_jspan_lit(out, "\":");
}


void
hydra_merge_tags_free(hydra_merge_tags_t *tags)
{
    hydra_jspan_out_free(&tags->buf);
    free(tags->off);

    tags->off = NULL;
    tags->len = NULL;
}


/*
 * An object's members but its own "repo", then "repo": the repo's tag.
 * The members kept are copied as their text, a run of them at a time:
 * an item with no "repo" is one copy and the tag.
 */

void
hydra_merge_tagged(hydra_jspan_out_t *out, hydra_merge_val_t item,
    const hydra_merge_tags_t *tags, size_t input)
{
    hydra_merge_val_t  v, run, last;

    hydra_jspan_sep(out);
    hydra_jspan_putc(out, '{');

    run = NULL;
    last = NULL;

    for (v = hydra_jspan_first(item); v != NULL; v = hydra_jspan_next(v)) {
        if (!hydra_jspan_key_is(v, "repo", 4)) {
            run = (run != NULL) ? run : v;
            last = v;
            continue;
        }

        if (run != NULL) {
            hydra_jspan_sep(out);
            hydra_jspan_put(out, hydra_jspan_key(run),
                            hydra_jspan_end(last) - hydra_jspan_key(run));
            run = NULL;
        }
    }

    if (run != NULL) {
        hydra_jspan_sep(out);
        hydra_jspan_put(out, hydra_jspan_key(run),
                        hydra_jspan_end(last) - hydra_jspan_key(run));
    }

    hydra_jspan_name(out, "repo");
    hydra_jspan_putc(out, '"');
    hydra_merge_tag(out, tags, input);
    hydra_jspan_lit(out, "\"}");
}


void
hydra_merge_sum_init(hydra_merge_sum_t *s)
{
    memset(s, 0, sizeof(hydra_merge_sum_t));
}


/* anything but a number adds nothing */

void
hydra_merge_sum_add(hydra_merge_sum_t *s, hydra_merge_val_t v)
{
    long long  a;

    if (!hydra_jspan_is_number(v)) {
        return;
    }

    if (s->n++ == 0) {
        s->first = v;
    }

    if (!s->real && hydra_jspan_integer(v, &a)) {

        if ((a > 0 && s->i > LLONG_MAX - a)
            || (a < 0 && s->i < LLONG_MIN - a))
        {
            s->real = 1;
            s->d = (double) s->i + (double) a;

        } else {
            s->i += a;
        }

        return;
    }

    if (!s->real) {
        s->real = 1;
        s->d = (double) s->i;
    }

    s->d += hydra_jspan_double(v);
}


/* the sum of key's numbers in the objects of vals */

void
hydra_merge_sum_key(hydra_merge_sum_t *s, const hydra_merge_t *m,
    hydra_merge_val_t *vals, const char *key, size_t len)
{
    size_t  i;

    hydra_merge_sum_init(s);

    for (i = 0; i < m->ninputs; i++) {
        hydra_merge_sum_add(s, hydra_jspan_get(vals[i], key, len));
    }
}


double
hydra_merge_sum_value(const hydra_merge_sum_t *s)
{
    return s->real ? s->d : (double) s->i;
}


void
hydra_merge_sum_write(hydra_jspan_out_t *out, const hydra_merge_sum_t *s)
{
    if (s->n == 0) {
        hydra_jspan_copy(out, NULL);

    } else if (s->n == 1) {
        hydra_jspan_copy(out, s->first);

    } else if (s->real) {
        hydra_jspan_real(out, s->d);

    } else {
        hydra_jspan_longlong(out, s->i);
    }
}


/*
 * Python's round(d, 1): the exact value rounded half to even, as printf
 * rounds it.  Where long double holds d * 10 exactly (x86's 64-bit
 * mantissa), that is integer arithmetic on it; elsewhere, printf itself.
 */

double
hydra_merge_round1(double d)
{
    char         buf[HYDRA_MERGE_DOUBLE_SIZE];
#if (LDBL_MANT_DIG >= HYDRA_MERGE_TENTHS_BITS)
    long long    k;
    long double  t, frac;

    /* k tenths: k a double exactly, and k / 10 one rounding */

    if (d < HYDRA_MERGE_TENTHS_MAX && d > -HYDRA_MERGE_TENTHS_MAX) {
        t = (long double) d * 10;
        k = (long long) t;          /* toward zero: frac keeps t's sign */
        frac = t - k;

        if (frac > 0.5L || (frac == 0.5L && (k & 1))) {
            k++;

        } else if (frac < -0.5L || (frac == -0.5L && (k & 1))) {
            k--;
        }

        if (k == 0) {
            return signbit(d) ? -0.0 : 0.0;     /* -0.04 is -0.0 */
        }

        return (double) k / 10;
    }
#endif

    if (!isfinite(d) || d >= HYDRA_MERGE_ROUND_MAX
        || d <= -HYDRA_MERGE_ROUND_MAX)
    {
        return d;
    }

    snprintf(buf, sizeof(buf), "%.1f", d);

    return strtod(buf, NULL);
}


/*
 * Moves the k-th smallest of n numbers to d[k], the smaller ones before
 * it and the larger ones after, as a stable sort by "<" would place the
 * value (not which of equal numbers: -0.0 and 0.0 are equal).  Hoare's
 * FIND with a median of three as the pivot.  The work is bounded:
 * HYDRA_DECLINED (the numbers in some order) tells the caller to sort
 * instead, so numbers chosen to defeat the median cost a sort, no more.
 */

int
hydra_merge_select(double *d, size_t n, size_t k)
{
    double     x, t, a, b;
    size_t     work;
    ptrdiff_t  lo, hi, q, i, j, kk;

    if (k >= n || n > PTRDIFF_MAX) {
        return HYDRA_ERROR;
    }

    lo = 0;
    hi = (ptrdiff_t) n - 1;
    kk = (ptrdiff_t) k;
    work = 0;

    while (lo < hi) {
        work += (size_t) (hi - lo);

        if (work > HYDRA_MERGE_SELECT_WORK * n) {
            return HYDRA_DECLINED;
        }

        /*
         * the pivot: the median of the numbers at a quarter, the middle
         * and three quarters, which sorted, reversed and organ-pipe
         * numbers do not defeat as they defeat the ends
         */

        q = (hi - lo) / 4;
        a = d[lo + q];
        b = d[lo + (hi - lo) / 2];
        if (b < a) {
            t = a; a = b; b = t;
        }

        t = d[hi - q];
        x = (t < a) ? a : (b < t) ? b : t;

        i = lo;
        j = hi;

        /* x is in range: both scans stop at it, then at what was swapped */

        do {
            while (d[i] < x) {
                i++;
            }

            while (x < d[j]) {
                j--;
            }

            if (i <= j) {
                t = d[i]; d[i] = d[j]; d[j] = t;
                i++;
                j--;
            }

        } while (i <= j);

        if (j < kk) {
            lo = i;
        }

        if (kk < i) {
            hi = j;
        }
    }

    return HYDRA_OK;
}


/*
 * Sorts numbers ascending, as a stable sort by "<" does, over keys that
 * order as the numbers do: least significant byte first, by the high
 * halves of the keys, then an insertion pass for keys equal in them,
 * which are few; when they are not, by the whole keys (a stable LSD sort
 * may start from any order).  -0.0 and 0.0 are equal to "<", so they
 * share a key, and their run gets back the signs in the order they came.
 * JSON has no NaN.
 */

int
hydra_merge_sort(double *d, size_t n)
{
    int        negzero;
    size_t     i, z;
    uint64_t  *key, *tmp, *src, u;

    if (n > UINT32_MAX) {
        return HYDRA_ERROR;
    }

    key = malloc(2 * n * sizeof(uint64_t) + 8 * 256 * sizeof(uint32_t));
    if (key == NULL) {
        return HYDRA_ERROR;
    }

    tmp = key + n;
    negzero = 0;

    for (i = 0; i < n; i++) {
        memcpy(&u, &d[i], sizeof(u));

        if (u == 0x8000000000000000ULL) {
            negzero = 1;
            u = 0;
        }

        key[i] = (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
    }

    src = key;

    if (n >= HYDRA_MERGE_SORT_SMALL) {
        src = hydra_merge_radix(key, tmp, n, 4, (uint32_t *) (tmp + n));
    }

    if (hydra_merge_insertion(src, n, (n < HYDRA_MERGE_SORT_SMALL) ? n * n
                                                                   : 4 * n)
        != HYDRA_OK)
    {
        src = hydra_merge_radix(src, (src == key) ? tmp : key, n, 0,
                                (uint32_t *) (tmp + n));
    }

    /* back to numbers; the zeros where they sorted, in the order they came */

    for (i = 0; i < n; i++) {
        u = src[i];
        src[i] = (u >> 63) ? (u & 0x7fffffffffffffffULL) : ~u;
    }

    if (negzero) {
        for (z = 0; src[z] != 0; z++) {
            /* void */
        }

        for (i = 0; i < n; i++) {
            if (d[i] == 0) {
                memcpy(&src[z++], &d[i], sizeof(double));
            }
        }
    }

    memcpy(d, src, n * sizeof(double));

    free(key);

    return HYDRA_OK;
}


/*
 * LSD radix passes over the bytes from "from" up of the keys of src,
 * with dst as much room, skipping the bytes all keys share: returns
 * which of the two holds the keys sorted by those bytes.
 */

static uint64_t *
hydra_merge_radix(uint64_t *src, uint64_t *dst, size_t n, unsigned from,
    uint32_t *count)
{
    size_t     i;
    unsigned   b;
    uint32_t   pos, sum, *c;
    uint64_t  *t, u;

    memset(count, 0, 8 * 256 * sizeof(uint32_t));

    for (i = 0; i < n; i++) {
        u = src[i];

        for (b = from; b < 8; b++) {
            count[b * 256 + ((u >> (8 * b)) & 0xff)]++;
        }
    }

    for (b = from; b < 8; b++) {
        c = count + b * 256;

        if (c[(src[0] >> (8 * b)) & 0xff] == n) {
            continue;
        }

        for (sum = 0, i = 0; i < 256; i++) {
            pos = c[i];
            c[i] = sum;
            sum += pos;
        }

        for (i = 0; i < n; i++) {
            dst[c[(src[i] >> (8 * b)) & 0xff]++] = src[i];
        }

        t = src;
        src = dst;
        dst = t;
    }

    return src;
}


/*
 * A stable insertion sort of the keys that gives up after "budget" moves:
 * HYDRA_DECLINED, the keys in some order, equal keys still in theirs.
 */

static int
hydra_merge_insertion(uint64_t *key, size_t n, size_t budget)
{
    size_t    i, j, moves;
    uint64_t  u;

    moves = 0;

    for (i = 1; i < n; i++) {
        u = key[i];

        for (j = i; j > 0 && key[j - 1] > u; j--) {
            key[j] = key[j - 1];

            if (++moves > budget) {
                key[j - 1] = u;
                return HYDRA_DECLINED;
            }
        }

        key[j] = u;
    }

    return HYDRA_OK;
}


int
hydra_merge_keys_init(hydra_merge_keys_t *k, hydra_merge_val_t *vals,
    size_t n)
{
    char                *dec;
    size_t               i, o, total, esc, len;
    const char          *key;
    hydra_merge_val_t    obj, v;
    hydra_merge_name_t  *name;
    hydra_merge_slot_t  *slot;

    total = 0;
    esc = 0;

    for (i = 0; i < n; i++) {
        if (!hydra_jspan_is_object(vals[i])) {
            continue;
        }

        total += vals[i]->count;

        for (v = hydra_jspan_first(vals[i]); v; v = hydra_jspan_next(v)) {
            if (v->flags & HYDRA_JSPAN_KEY_ESCAPED) {
                esc += v->key_len;
            }
        }
    }

    k->nnames = 0;
    k->names = malloc((total + 1) * sizeof(hydra_merge_name_t));
    k->occ = malloc((total + 1) * sizeof(hydra_merge_occ_t));
    k->decoded = esc ? malloc(esc) : NULL;

    if (hydra_merge_hash_init(&k->hash, total) != HYDRA_OK
        || k->names == NULL || k->occ == NULL
        || (esc && k->decoded == NULL))
    {
        hydra_merge_keys_free(k);
        return HYDRA_ERROR;
    }

    o = 0;
    dec = k->decoded;

    for (i = 0; i < n; i++) {
        obj = vals[i];

        if (!hydra_jspan_is_object(obj)) {
            continue;
        }

        for (v = hydra_jspan_first(obj); v; v = hydra_jspan_next(v)) {
            key = hydra_jspan_key(v) + 1;
            len = v->key_len - 2;

            if (v->flags & HYDRA_JSPAN_KEY_ESCAPED) {
                (void) hydra_jspan_unescape(key, len, dec, &len);
                key = dec;
                dec += len;
            }

            slot = hydra_merge_hash_slot(&k->hash, key, len);

            if (slot->key == NULL) {
                slot->key = key;
                slot->len = len;
                slot->value = k->nnames;

                name = &k->names[k->nnames++];
                name->key = key;
                name->len = len;
                name->first = v;
                name->head = o;

            } else {
                name = &k->names[slot->value];

                /* a key twice in one object: the first one counts */

                if (k->occ[name->tail].input == i) {
                    continue;
                }

                k->occ[name->tail].next = o + 1;
            }

            name->tail = o;

            k->occ[o].value = v;
            k->occ[o].input = i;
            k->occ[o].next = 0;
            o++;
        }
    }

    return HYDRA_OK;
}


/* sub[i]: repo i's value of the name, NULL if it has none */

void
hydra_merge_keys_values(const hydra_merge_keys_t *k, size_t name,
    hydra_merge_val_t *sub, size_t n)
{
    size_t  o;

    memset(sub, 0, n * sizeof(hydra_merge_val_t));

    for (o = k->names[name].head + 1; o != 0; o = k->occ[o - 1].next) {
        sub[k->occ[o - 1].input] = k->occ[o - 1].value;
    }
}


void
hydra_merge_keys_free(hydra_merge_keys_t *k)
{
    free(k->names);
    free(k->occ);
    free(k->hash.slots);
    free(k->decoded);

    k->names = NULL;
    k->occ = NULL;
    k->hash.slots = NULL;
    k->decoded = NULL;
}


/* room for n keys, at most half full */

static int
hydra_merge_hash_init(hydra_merge_hash_t *h, size_t n)
{
    size_t  size;

    size = 16;

    while (size < 2 * n) {
        size *= 2;
    }

    h->mask = size - 1;
    h->slots = calloc(size, sizeof(hydra_merge_slot_t));

    return h->slots != NULL ? HYDRA_OK : HYDRA_ERROR;
}


/*
 * The slot that holds key, or the empty one where it goes; the key is
 * hashed eight bytes at a time (multiply and fold).
 */

static hydra_merge_slot_t *
hydra_merge_hash_slot(hydra_merge_hash_t *h, const char *key, size_t len)
{
    size_t               i, n;
    uint64_t             hash, w;
    hydra_merge_slot_t  *slot;

    hash = (uint64_t) len * 0x9e3779b97f4a7c15ULL;

    for (i = 0; i < len; i += 8) {
        n = (len - i < 8) ? len - i : 8;
        w = 0;
        memcpy(&w, key + i, n);

        hash = (hash ^ w) * 0xff51afd7ed558ccdULL;
        hash ^= hash >> 32;
    }

    for ( ;; ) {
        slot = &h->slots[hash & h->mask];

        if (slot->key == NULL
            || (slot->len == len && memcmp(slot->key, key, len) == 0))
        {
            return slot;
        }

        hash++;
    }
}


/* vals[i]: repo i's root, or root[key]; NULL where there is none */

hydra_merge_val_t *
hydra_merge_vals(const hydra_merge_t *m, const char *key, size_t len)
{
    size_t              i;
    hydra_merge_val_t  *vals;

    vals = calloc(m->ninputs + 1, sizeof(hydra_merge_val_t));
    if (vals == NULL) {
        return NULL;
    }

    for (i = 0; i < m->ninputs; i++) {
        vals[i] = (key != NULL) ? hydra_jspan_get(m->inputs[i].root, key, len)
                                : m->inputs[i].root;
    }

    return vals;
}
