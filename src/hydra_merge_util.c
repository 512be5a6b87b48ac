
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include "hydra_merge_util.h"


/* "-1.2345678901234567e+308" and ".0" fit */
#define HYDRA_MERGE_DOUBLE_SIZE   32

/* from 1e16 on a double is a whole number: rounding to 0.1 keeps it */
#define HYDRA_MERGE_ROUND_MAX     1e16


static int hydra_merge_union_write(yajl_gen g, const hydra_merge_t *m,
    yajl_val *vals, hydra_merge_hash_t *seen);
static int hydra_merge_issue_key(yajl_gen g, const char *repo,
    const char *issue);
static int hydra_merge_hash_init(hydra_merge_hash_t *h, size_t n);
static hydra_merge_slot_t *hydra_merge_hash_slot(hydra_merge_hash_t *h,
    const char *key);


int
hydra_merge_entries_write(yajl_gen g, int keep_repo,
    const hydra_merge_entry_t *entries, size_t n)
{
    size_t  i;

    hydra_merge_check(yajl_gen_array_open(g));

    for (i = 0; i < n; i++) {
        if (keep_repo
            && hydra_merge_get(entries[i].item, "repo") != NULL
            && YAJL_IS_STRING(hydra_merge_get(entries[i].item, "repo")))
        {
            hydra_merge_try(hydra_merge_copy(g, entries[i].item, 1));
            continue;
        }

        hydra_merge_try(hydra_merge_tagged(g, entries[i].item,
                                           entries[i].repo, 1));
    }

    hydra_merge_check(yajl_gen_array_close(g));

    return HYDRA_OK;
}


/* counts the objects of every repo's list, and fills entries if given */

size_t
hydra_merge_entries(const hydra_merge_t *m, hydra_merge_entry_t *entries,
    const char *time)
{
    size_t                i, j, n;
    yajl_val              list, item, v;
    hydra_merge_entry_t  *e;

    n = 0;

    for (i = 0; i < m->ninputs; i++) {
        list = m->inputs[i].root;

        if (!YAJL_IS_ARRAY(list)) {
            continue;
        }

        for (j = 0; j < list->u.array.len; j++) {
            item = list->u.array.values[j];

            if (!YAJL_IS_OBJECT(item)) {
                continue;
            }

            if (entries != NULL) {
                e = &entries[n];

                e->item = item;
                e->repo = m->inputs[i].repo;
                e->order = n;

                v = hydra_merge_get(item, time);
                e->time = YAJL_IS_STRING(v) ? hydra_yajl_string(v) : NULL;

                v = hydra_merge_get(item, "id");
                e->has_id = YAJL_IS_NUMBER(v);
                e->id = e->has_id ? hydra_merge_number(v) : 0;
            }

            n++;
        }
    }

    return n;
}


/*
 * Oldest first; an event with no timestamp sorts as "", one with no
 * numeric id before its numbered peers; ties keep the repos' order.
 */

int
hydra_merge_event_cmp(const void *a, const void *b)
{
    int                         c;
    const hydra_merge_entry_t  *x, *y;

    x = a;
    y = b;

    c = strcmp(x->time ? x->time : "", y->time ? y->time : "");
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

int
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
        c = strcmp(y->time, x->time);
        if (c != 0) {
            return c;
        }
    }

    return x->order < y->order ? -1 : (x->order > y->order);
}


/* ISO UTC timestamps compare as text; no string at all is null */

int
hydra_merge_max_string(yajl_gen g, const hydra_merge_t *m, yajl_val *vals)
{
    size_t    i;
    yajl_val  best;

    best = NULL;

    for (i = 0; i < m->ninputs; i++) {
        if (YAJL_IS_STRING(vals[i])
            && (best == NULL
                || strcmp(hydra_yajl_string(vals[i]), hydra_yajl_string(best))
                   > 0))
        {
            best = vals[i];
        }
    }

    return hydra_merge_copy(g, best, 0);
}


int
hydra_merge_max_number(yajl_gen g, const hydra_merge_t *m, yajl_val *vals)
{
    size_t    i;
    yajl_val  v, best;

    best = NULL;

    for (i = 0; i < m->ninputs; i++) {
        v = vals[i];

        if (!YAJL_IS_NUMBER(v)) {
            continue;
        }

        if (best == NULL) {
            best = v;

        } else if (YAJL_IS_INTEGER(v) && YAJL_IS_INTEGER(best)) {
            if (v->u.number.i > best->u.number.i) {
                best = v;
            }

        } else if (hydra_merge_number(v) > hydra_merge_number(best)) {
            best = v;
        }
    }

    return hydra_merge_copy(g, best, 0);
}


/* fired_thresholds: each name once, in first-seen order */

int
hydra_merge_union(yajl_gen g, const hydra_merge_t *m, yajl_val *vals)
{
    int                 rc;
    size_t              i, n;
    hydra_merge_hash_t  seen;

    n = 0;

    for (i = 0; i < m->ninputs; i++) {
        if (YAJL_IS_ARRAY(vals[i])) {
            n += vals[i]->u.array.len;
        }
    }

    if (hydra_merge_hash_init(&seen, n) != HYDRA_OK) {
        return HYDRA_ERROR;
    }

    rc = hydra_merge_union_write(g, m, vals, &seen);

    free(seen.slots);

    return rc;
}


static int
hydra_merge_union_write(yajl_gen g, const hydra_merge_t *m, yajl_val *vals,
    hydra_merge_hash_t *seen)
{
    size_t               i, j;
    yajl_val             v;
    hydra_merge_slot_t  *slot;

    hydra_merge_check(yajl_gen_array_open(g));

    for (i = 0; i < m->ninputs; i++) {
        if (!YAJL_IS_ARRAY(vals[i])) {
            continue;
        }

        for (j = 0; j < vals[i]->u.array.len; j++) {
            v = vals[i]->u.array.values[j];

            if (!YAJL_IS_STRING(v)) {
                continue;
            }

            slot = hydra_merge_hash_slot(seen, hydra_yajl_string(v));

            if (slot->key != NULL) {
                continue;
            }

            slot->key = hydra_yajl_string(v);

            hydra_merge_check(hydra_merge_string(g, slot->key));
        }
    }

    hydra_merge_check(yajl_gen_array_close(g));

    return HYDRA_OK;
}


/*
 * The members of per-issue maps, keyed "<repo>#<issue>" so that issue
 * numbers of different repos never meet; tag: each value is an object
 * that gains "repo" (others are left out), else values are copied.
 */

int
hydra_merge_issues(yajl_gen g, const hydra_merge_t *m, yajl_val *vals,
    int tag, unsigned depth)
{
    size_t       i, j;
    yajl_val     obj, v;
    const char  *repo;

    for (i = 0; i < m->ninputs; i++) {
        obj = vals[i];
        repo = m->inputs[i].repo;

        if (!YAJL_IS_OBJECT(obj)) {
            continue;
        }

        for (j = 0; j < obj->u.object.len; j++) {
            v = obj->u.object.values[j];

            if (tag && !YAJL_IS_OBJECT(v)) {
                continue;
            }

            hydra_merge_try(hydra_merge_issue_key(g, repo,
                                                  obj->u.object.keys[j]));

            if (tag) {
                hydra_merge_try(hydra_merge_tagged(g, v, repo, depth + 1));

            } else {
                hydra_merge_try(hydra_merge_copy(g, v, depth + 1));
            }
        }
    }

    return HYDRA_OK;
}


static int
hydra_merge_issue_key(yajl_gen g, const char *repo, const char *issue)
{
    char             *key;
    size_t            rlen, ilen;
    yajl_gen_status   st;

    rlen = strlen(repo);
    ilen = strlen(issue);

    key = malloc(rlen + 1 + ilen);
    if (key == NULL) {
        return HYDRA_ERROR;
    }

    memcpy(key, repo, rlen);
    key[rlen] = '#';
    memcpy(key + rlen + 1, issue, ilen);

    st = yajl_gen_string(g, (const unsigned char *) key, rlen + 1 + ilen);

    free(key);

    return st == yajl_gen_status_ok ? HYDRA_OK : HYDRA_ERROR;
}


/* an object's members but its own "repo", then "repo": the repo's tag */

int
hydra_merge_tagged(yajl_gen g, yajl_val item, const char *repo,
    unsigned depth)
{
    size_t  i;

    if (depth >= HYDRA_MERGE_DEPTH_MAX) {
        hydra_merge_check(yajl_gen_null(g));
        return HYDRA_OK;
    }

    hydra_merge_check(yajl_gen_map_open(g));

    for (i = 0; i < item->u.object.len; i++) {
        if (strcmp(item->u.object.keys[i], "repo") == 0) {
            continue;
        }

        hydra_merge_check(hydra_merge_string(g, item->u.object.keys[i]));
        hydra_merge_try(hydra_merge_copy(g, item->u.object.values[i],
                                         depth + 1));
    }

    hydra_merge_key(g, "repo");
    hydra_merge_check(hydra_merge_string(g, repo));

    hydra_merge_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/*
 * A value as it came: numbers by their text, so that integers beyond
 * long long survive byte for byte.  NULL (absent) is null, and so is a
 * container nested beyond HYDRA_MERGE_DEPTH_MAX, which a body checked
 * by hydra_merge_depth_ok() never has.
 */

int
hydra_merge_copy(yajl_gen g, yajl_val v, unsigned depth)
{
    size_t  i;

    if (v == NULL) {
        hydra_merge_check(yajl_gen_null(g));
        return HYDRA_OK;
    }

    switch (v->type) {

    case yajl_t_string:
        hydra_merge_check(hydra_merge_string(g, hydra_yajl_string(v)));
        break;

    case yajl_t_number:
        hydra_merge_check(yajl_gen_number(g, v->u.number.r,
                                          strlen(v->u.number.r)));
        break;

    case yajl_t_true:
        hydra_merge_check(yajl_gen_bool(g, 1));
        break;

    case yajl_t_false:
        hydra_merge_check(yajl_gen_bool(g, 0));
        break;

    case yajl_t_object:
        if (depth >= HYDRA_MERGE_DEPTH_MAX) {
            hydra_merge_check(yajl_gen_null(g));
            break;
        }

        hydra_merge_check(yajl_gen_map_open(g));

        for (i = 0; i < v->u.object.len; i++) {
            hydra_merge_check(hydra_merge_string(g, v->u.object.keys[i]));
            hydra_merge_try(hydra_merge_copy(g, v->u.object.values[i],
                                             depth + 1));
        }

        hydra_merge_check(yajl_gen_map_close(g));
        break;

    case yajl_t_array:
        if (depth >= HYDRA_MERGE_DEPTH_MAX) {
            hydra_merge_check(yajl_gen_null(g));
            break;
        }

        hydra_merge_check(yajl_gen_array_open(g));

        for (i = 0; i < v->u.array.len; i++) {
            hydra_merge_try(hydra_merge_copy(g, v->u.array.values[i],
                                             depth + 1));
        }

        hydra_merge_check(yajl_gen_array_close(g));
        break;

    default:
        hydra_merge_check(yajl_gen_null(g));
        break;
    }

    return HYDRA_OK;
}


void
hydra_merge_sum_init(hydra_merge_sum_t *s)
{
    memset(s, 0, sizeof(hydra_merge_sum_t));
}


/* anything but a number adds nothing */

void
hydra_merge_sum_add(hydra_merge_sum_t *s, yajl_val v)
{
    long long  a;

    if (!YAJL_IS_NUMBER(v)) {
        return;
    }

    if (s->n++ == 0) {
        s->first = v;
    }

    if (!s->real && YAJL_IS_INTEGER(v)) {
        a = v->u.number.i;

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

    s->d += hydra_merge_number(v);
}


/* the sum of key's numbers in the objects of vals */

void
hydra_merge_sum_key(hydra_merge_sum_t *s, const hydra_merge_t *m,
    yajl_val *vals, const char *key)
{
    size_t  i;

    hydra_merge_sum_init(s);

    for (i = 0; i < m->ninputs; i++) {
        hydra_merge_sum_add(s, hydra_merge_get(vals[i], key));
    }
}


double
hydra_merge_sum_value(const hydra_merge_sum_t *s)
{
    return s->real ? s->d : (double) s->i;
}


int
hydra_merge_sum_write(yajl_gen g, const hydra_merge_sum_t *s)
{
    if (s->n == 0) {
        hydra_merge_check(yajl_gen_null(g));
        return HYDRA_OK;
    }

    if (s->n == 1) {
        return hydra_merge_copy(g, s->first, 0);
    }

    if (s->real) {
        return hydra_merge_double(g, s->d);
    }

    hydra_merge_check(yajl_gen_integer(g, s->i));

    return HYDRA_OK;
}


/*
 * The shortest text that reads back as d, and looks like a double
 * ("3.0", as Python writes it).  inf and nan have no JSON: null.
 */

int
hydra_merge_double(yajl_gen g, double d)
{
    int     prec;
    char    buf[HYDRA_MERGE_DOUBLE_SIZE];
    size_t  len;

    if (!isfinite(d)) {
        hydra_merge_check(yajl_gen_null(g));
        return HYDRA_OK;
    }

    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);

        if (strtod(buf, NULL) == d) {
            break;
        }
    }

    len = strlen(buf);

    if (strspn(buf, "-0123456789") == len) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }

    hydra_merge_check(yajl_gen_number(g, buf, len));

    return HYDRA_OK;
}


/* Python's round(d, 1): the exact value rounded half to even, as printf */

double
hydra_merge_round1(double d)
{
    char  buf[HYDRA_MERGE_DOUBLE_SIZE];

    if (!isfinite(d) || d >= HYDRA_MERGE_ROUND_MAX
        || d <= -HYDRA_MERGE_ROUND_MAX)
    {
        return d;
    }

    snprintf(buf, sizeof(buf), "%.1f", d);

    return strtod(buf, NULL);
}


double
hydra_merge_number(yajl_val v)
{
    if (YAJL_IS_INTEGER(v)) {
        return (double) v->u.number.i;
    }

    /* beyond double's range strtod gave +-HUGE_VAL: inf, as it should */

    return v->u.number.d;
}


int
hydra_merge_double_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return x < y ? -1 : (x > y);
}


int
hydra_merge_keys_init(hydra_merge_keys_t *k, yajl_val *vals, size_t n)
{
    size_t               i, j, o, total;
    yajl_val             obj;
    hydra_merge_name_t  *name;
    hydra_merge_slot_t  *slot;

    total = 0;

    for (i = 0; i < n; i++) {
        if (YAJL_IS_OBJECT(vals[i])) {
            total += vals[i]->u.object.len;
        }
    }

    k->nnames = 0;
    k->names = malloc((total + 1) * sizeof(hydra_merge_name_t));
    k->occ = malloc((total + 1) * sizeof(hydra_merge_occ_t));

    if (hydra_merge_hash_init(&k->hash, total) != HYDRA_OK
        || k->names == NULL || k->occ == NULL)
    {
        hydra_merge_keys_free(k);
        return HYDRA_ERROR;
    }

    o = 0;

    for (i = 0; i < n; i++) {
        obj = vals[i];

        if (!YAJL_IS_OBJECT(obj)) {
            continue;
        }

        for (j = 0; j < obj->u.object.len; j++) {
            slot = hydra_merge_hash_slot(&k->hash, obj->u.object.keys[j]);

            if (slot->key == NULL) {
                slot->key = obj->u.object.keys[j];
                slot->value = k->nnames;

                name = &k->names[k->nnames++];
                name->key = slot->key;
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

            k->occ[o].value = obj->u.object.values[j];
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
    yajl_val *sub, size_t n)
{
    size_t  o;

    memset(sub, 0, n * sizeof(yajl_val));

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

    k->names = NULL;
    k->occ = NULL;
    k->hash.slots = NULL;
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


/* the slot that holds key, or the empty one where it goes (FNV-1a) */

static hydra_merge_slot_t *
hydra_merge_hash_slot(hydra_merge_hash_t *h, const char *key)
{
    size_t                hash;
    const unsigned char  *p;

    hash = 2166136261u;

    for (p = (const unsigned char *) key; *p != '\0'; p++) {
        hash = (hash ^ *p) * 16777619u;
    }

    hash &= h->mask;

    while (h->slots[hash].key != NULL
           && strcmp(h->slots[hash].key, key) != 0)
    {
        hash = (hash + 1) & h->mask;
    }

    return &h->slots[hash];
}


/* vals[i]: repo i's root, or root[key]; NULL where there is none */

yajl_val *
hydra_merge_vals(const hydra_merge_t *m, const char *key)
{
    size_t     i;
    yajl_val  *vals;

    vals = calloc(m->ninputs + 1, sizeof(yajl_val));
    if (vals == NULL) {
        return NULL;
    }

    for (i = 0; i < m->ninputs; i++) {
        vals[i] = key != NULL ? hydra_merge_get(m->inputs[i].root, key)
                              : m->inputs[i].root;
    }

    return vals;
}


/* obj[key], the first one if the key is there twice; NULL: none */

yajl_val
hydra_merge_get(yajl_val obj, const char *key)
{
    size_t  i;

    if (!YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = 0; i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


yajl_gen_status
hydra_merge_string(yajl_gen g, const char *s)
{
    return yajl_gen_string(g, (const unsigned char *) s, strlen(s));
}
