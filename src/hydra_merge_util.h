
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The machinery under the merge rules of hydra_merge.c, for its use
 * only: the keys of N objects merged in first-seen order, the values of
 * one key merged (greatest, union, per-issue maps), values copied as
 * they came or tagged with their repo, exact sums, numbers written as
 * Python writes them, and the items of the sorted views.  Pure C over
 * yajl trees, no nginx headers.
 */


#ifndef _HYDRA_MERGE_UTIL_H_INCLUDED_
#define _HYDRA_MERGE_UTIL_H_INCLUDED_


#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "hydra.h"
#include "hydra_merge.h"


#define hydra_merge_check(call)                                               \
    do {                                                                      \
        if ((call) != yajl_gen_status_ok) {                                   \
            return HYDRA_ERROR;                                               \
        }                                                                     \
    } while (0)

#define hydra_merge_try(call)                                                 \
    do {                                                                      \
        if ((call) != HYDRA_OK) {                                             \
            return HYDRA_ERROR;                                               \
        }                                                                     \
    } while (0)

#define hydra_merge_key(g, key)                                               \
    hydra_merge_check(yajl_gen_string(g, (const unsigned char *) key,         \
                                      sizeof(key) - 1))


/*
 * A sum stays an exact long long while every term is an integer that
 * fits, and becomes a double at the first real term or overflow.  A sum
 * of one term is that term, written as it came.
 */

typedef struct {
    int                           real;
    size_t                        n;
    long long                     i;
    double                        d;
    yajl_val                      first;
} hydra_merge_sum_t;


/* open addressing, string keys, at most half full */

typedef struct {
    const char                   *key;
    size_t                        value;
} hydra_merge_slot_t;

typedef struct {
    size_t                        mask;
    hydra_merge_slot_t           *slots;
} hydra_merge_hash_t;


/*
 * The keys of one object per repo, in first-seen order; each distinct
 * name chains its occurrences in repo order, so a merge of N objects of
 * K keys costs N * K, not K squared.
 */

typedef struct {
    size_t                        input;
    size_t                        next;     /* occurrence index + 1, 0: end */
    yajl_val                      value;
} hydra_merge_occ_t;

typedef struct {
    size_t                        head;
    size_t                        tail;
    const char                   *key;
} hydra_merge_name_t;

typedef struct {
    size_t                        nnames;
    hydra_merge_name_t           *names;
    hydra_merge_occ_t            *occ;
    hydra_merge_hash_t            hash;
} hydra_merge_keys_t;


/* an item of /api/events or /api/sessions on its way to be sorted */
typedef struct {
    int                           has_id;
    double                        id;
    size_t                        order;
    const char                   *time;     /* NULL: none */
    const char                   *repo;
    yajl_val                      item;
} hydra_merge_entry_t;


int hydra_merge_keys_init(hydra_merge_keys_t *k, yajl_val *vals, size_t n);
void hydra_merge_keys_values(const hydra_merge_keys_t *k, size_t name,
    yajl_val *sub, size_t n);
void hydra_merge_keys_free(hydra_merge_keys_t *k);

int hydra_merge_max_string(yajl_gen g, const hydra_merge_t *m, yajl_val *vals);
int hydra_merge_max_number(yajl_gen g, const hydra_merge_t *m, yajl_val *vals);
int hydra_merge_union(yajl_gen g, const hydra_merge_t *m, yajl_val *vals);
int hydra_merge_issues(yajl_gen g, const hydra_merge_t *m, yajl_val *vals,
    int tag, unsigned depth);

int hydra_merge_copy(yajl_gen g, yajl_val v, unsigned depth);
int hydra_merge_tagged(yajl_gen g, yajl_val item, const char *repo,
    unsigned depth);

void hydra_merge_sum_init(hydra_merge_sum_t *s);
void hydra_merge_sum_add(hydra_merge_sum_t *s, yajl_val v);
void hydra_merge_sum_key(hydra_merge_sum_t *s, const hydra_merge_t *m,
    yajl_val *vals, const char *key);
double hydra_merge_sum_value(const hydra_merge_sum_t *s);
int hydra_merge_sum_write(yajl_gen g, const hydra_merge_sum_t *s);

int hydra_merge_double(yajl_gen g, double d);
double hydra_merge_round1(double d);
double hydra_merge_number(yajl_val v);
int hydra_merge_double_cmp(const void *a, const void *b);

size_t hydra_merge_entries(const hydra_merge_t *m,
    hydra_merge_entry_t *entries, const char *time);
int hydra_merge_entries_write(yajl_gen g, int keep_repo,
    const hydra_merge_entry_t *entries, size_t n);
int hydra_merge_event_cmp(const void *a, const void *b);
int hydra_merge_session_cmp(const void *a, const void *b);

yajl_val *hydra_merge_vals(const hydra_merge_t *m, const char *key);
yajl_val hydra_merge_get(yajl_val obj, const char *key);
yajl_gen_status hydra_merge_string(yajl_gen g, const char *s);


#endif /* _HYDRA_MERGE_UTIL_H_INCLUDED_ */
