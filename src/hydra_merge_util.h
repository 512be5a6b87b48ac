
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The machinery under the merge rules of hydra_merge.c and
 * hydra_merge_stats.c, for their use only: a rule's run and its "hydra"
 * facts, the keys of N objects merged in first-seen order, the values
 * of one key merged (greatest, union, per-issue maps), items tagged with
 * their repo, exact sums and sorted numbers.  Pure C over hydra_jspan
 * nodes, no nginx headers.
 */


#ifndef _HYDRA_MERGE_UTIL_H_INCLUDED_
#define _HYDRA_MERGE_UTIL_H_INCLUDED_


#include <stddef.h>

#include "hydra.h"
#include "hydra_jspan.h"
#include "hydra_jspan_out.h"
#include "hydra_merge.h"


/* obj[key] for a literal key, and the sum of such keys of vals */
#define hydra_merge_get(obj, key)                                             \
    hydra_jspan_get(obj, key, sizeof(key) - 1)

#define hydra_merge_sum_of(s, m, vals, key)                                   \
    hydra_merge_sum_key(s, m, vals, key, sizeof(key) - 1)


typedef const hydra_jspan_node_t  *hydra_merge_val_t;


/*
 * The repos' tags, escaped once per answer: tag i is the len[i] bytes at
 * buf.start + off[i], to go between quotes; HYDRA_MERGE_TAG_BAD if it is
 * not UTF-8.
 */

#define HYDRA_MERGE_TAG_BAD       ((size_t) -1)

typedef struct {
    hydra_jspan_out_t             buf;
    size_t                       *off;
    size_t                       *len;
} hydra_merge_tags_t;


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
    hydra_merge_val_t             first;
} hydra_merge_sum_t;


/* open addressing, keys as decoded bytes, at most half full */

typedef struct {
    const char                   *key;
    size_t                        len;
    size_t                        value;
} hydra_merge_slot_t;

typedef struct {
    size_t                        mask;
    hydra_merge_slot_t           *slots;
} hydra_merge_hash_t;


/*
 * The keys of one object per repo, in first-seen order; each distinct
 * name chains its occurrences in repo order, so a merge of N objects of
 * K keys costs N * K, not K squared.  A name is written as the key of
 * its first occurrence was.
 */

typedef struct {
    size_t                        input;
    size_t                        next;     /* occurrence index + 1, 0: end */
    hydra_merge_val_t             value;
} hydra_merge_occ_t;

typedef struct {
    size_t                        head;
    size_t                        tail;
    const char                   *key;      /* decoded */
    size_t                        len;
    hydra_merge_val_t             first;
} hydra_merge_name_t;

typedef struct {
    size_t                        nnames;
    hydra_merge_name_t           *names;
    hydra_merge_occ_t            *occ;
    hydra_merge_hash_t            hash;
    char                         *decoded;  /* the keys that had escapes */
} hydra_merge_keys_t;


/* one merge under way: where it writes, what it merges, the tags */
typedef struct {
    hydra_jspan_out_t            *out;
    const hydra_merge_t          *m;
    hydra_merge_tags_t            tags;
} hydra_merge_ctx_t;


typedef void (*hydra_merge_body_pt)(hydra_merge_ctx_t *c);


int hydra_merge_run(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_body_pt body);
void hydra_merge_facts(hydra_merge_ctx_t *c);

int hydra_merge_keys_init(hydra_merge_keys_t *k, hydra_merge_val_t *vals,
    size_t n);
void hydra_merge_keys_values(const hydra_merge_keys_t *k, size_t name,
    hydra_merge_val_t *sub, size_t n);
void hydra_merge_keys_free(hydra_merge_keys_t *k);

int hydra_merge_tags_init(hydra_merge_tags_t *tags, const hydra_merge_t *m);
void hydra_merge_tags_free(hydra_merge_tags_t *tags);
void hydra_merge_tag(hydra_jspan_out_t *out, const hydra_merge_tags_t *tags,
    size_t i);
void hydra_merge_name(hydra_jspan_out_t *out, const char *name, size_t len);
void hydra_merge_tagged(hydra_jspan_out_t *out, hydra_merge_val_t item,
    const hydra_merge_tags_t *tags, size_t input);

void hydra_merge_max_string(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_val_t *vals);
void hydra_merge_max_number(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_val_t *vals);
int hydra_merge_union(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_val_t *vals);
void hydra_merge_issues(hydra_jspan_out_t *out, const hydra_merge_t *m,
    hydra_merge_val_t *vals, const hydra_merge_tags_t *tags, int tag);

void hydra_merge_sum_init(hydra_merge_sum_t *s);
void hydra_merge_sum_add(hydra_merge_sum_t *s, hydra_merge_val_t v);
void hydra_merge_sum_key(hydra_merge_sum_t *s, const hydra_merge_t *m,
    hydra_merge_val_t *vals, const char *key, size_t len);
double hydra_merge_sum_value(const hydra_merge_sum_t *s);
void hydra_merge_sum_write(hydra_jspan_out_t *out, const hydra_merge_sum_t *s);

double hydra_merge_round1(double d);
int hydra_merge_sort(double *d, size_t n);
int hydra_merge_select(double *d, size_t n, size_t k);

hydra_merge_val_t *hydra_merge_vals(const hydra_merge_t *m, const char *key,
    size_t len);


#endif /* _HYDRA_MERGE_UTIL_H_INCLUDED_ */
