
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The merge rules of the aggregated views (DESIGN.md, 3): one function
 * per view, from the parsed answers of every repo to one answer of the
 * same shape, written with a yajl_gen.  Pure C over yajl trees, no nginx
 * headers.
 *
 * The caller, per view:
 *
 *   rule = hydra_merge_rule(path, len)          NULL: no rule, 400
 *   per repo body:
 *       hydra_merge_depth_ok(body, len, HYDRA_MERGE_DEPTH_MAX)
 *                                               0: failure "bad json"
 *       root = yajl_tree_parse(NUL-terminated copy)
 *                                               NULL: failure "bad json"
 *       rule->valid(root)                       0: failure "bad shape"
 *   rule->merge(g, &m)                          HYDRA_OK / HYDRA_ERROR
 *
 * An object-shaped answer ends with the facts of the merge:
 *
 *   "hydra": {"answered": ["acme-api", ...],
 *             "failed": {"acme-web": "timeout", ...}}
 *
 * An array-shaped answer carries nothing extra: the caller puts the same
 * facts in headers.
 */


#ifndef _HYDRA_MERGE_H_INCLUDED_
#define _HYDRA_MERGE_H_INCLUDED_


#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "hydra.h"


/*
 * The deepest nesting of "[" and "{" accepted in a repo's answer: trees
 * are freed and walked recursively, so a deeper one is refused before it
 * is parsed.  HydraFlow's answers nest 5 deep at most.
 */
#define HYDRA_MERGE_DEPTH_MAX     64

/* /api/sessions without a limit keeps 50, as HydraFlow's load_sessions */
#define HYDRA_MERGE_SESSIONS_MAX  50


/* one repo that answered, in the order the answer lists repos */
typedef struct {
    const char                   *repo;      /* its tag: "acme-api" */
    yajl_val                      root;      /* passed the rule's valid() */
} hydra_merge_input_t;


/* one repo that did not */
typedef struct {
    const char                   *repo;
    const char                   *reason;    /* "timeout", "http 503" */
} hydra_merge_failure_t;


typedef struct {
    const hydra_merge_input_t    *inputs;
    size_t                        ninputs;
    const hydra_merge_failure_t  *failures;
    size_t                        nfailures;
    long                          limit;     /* /api/sessions; <= 0: 50 */
} hydra_merge_t;


typedef enum {
    HYDRA_MERGE_OBJECT = 0,     /* ends with the "hydra" facts */
    HYDRA_MERGE_ARRAY,          /* facts in headers only */
    HYDRA_MERGE_MAP             /* keyed by issue: facts in headers only */
} hydra_merge_shape_e;


typedef int (*hydra_merge_valid_pt)(yajl_val root);
typedef int (*hydra_merge_pt)(yajl_gen g, const hydra_merge_t *m);


typedef struct {
    const char                   *view;      /* exact path: "/api/queue" */
    hydra_merge_shape_e           shape;     /* the answer's top level */
    hydra_merge_valid_pt          valid;     /* 1: a repo's answer fits */
    hydra_merge_pt                merge;     /* HYDRA_OK or HYDRA_ERROR */
} hydra_merge_rule_t;


const hydra_merge_rule_t *hydra_merge_rule(const char *path, size_t len);
int hydra_merge_depth_ok(const char *json, size_t len, unsigned max_depth);


#endif /* _HYDRA_MERGE_H_INCLUDED_ */
