
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The merge rules of the aggregated views (DESIGN.md, 3): one function
 * per view, from the parsed answers of every repo to one answer of the
 * same shape.  Each answer is parsed once into spans of its own text
 * (hydra_jspan.h), and the merged answer is mostly those spans copied:
 * a value that is not merged is its bytes, an item tagged with its repo
 * is its bytes less its own "repo" member, then the tag.  Numbers are
 * read only where they are added, compared or sorted.  Pure C, no nginx
 * headers.
 *
 * The caller, per view:
 *
 *   rule = hydra_merge_rule(path, len)          NULL: no rule, 400
 *   per repo body:
 *       hydra_jspan_parse(&doc, body, len, HYDRA_MERGE_DEPTH_MAX)
 *                                               HYDRA_ERROR: "bad json"
 *       rule->valid(hydra_jspan_root(&doc))     0: failure "bad shape"
 *   rule->merge(out, &m)                        HYDRA_OK / HYDRA_ERROR
 *
 * The merge writes to out from where it is, and fails when out does (no
 * memory, or more than out->max bytes) or a repo's tag is not UTF-8.
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

#include "hydra.h"
#include "hydra_jspan.h"
#include "hydra_jspan_out.h"


/*
 * The deepest nesting of "[" and "{" accepted in a repo's answer: merges
 * walk objects recursively, so a deeper one is refused as it is parsed.
 * HydraFlow's answers nest 5 deep at most.
 */
#define HYDRA_MERGE_DEPTH_MAX     64

/* /api/sessions without a limit keeps 50, as HydraFlow's load_sessions */
#define HYDRA_MERGE_SESSIONS_MAX  50


/* one repo that answered, in the order the answer lists repos */
typedef struct {
    const char                   *repo;      /* its tag: "acme-api" */
    const hydra_jspan_node_t     *root;      /* passed the rule's valid() */
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


typedef int (*hydra_merge_valid_pt)(const hydra_jspan_node_t *root);
typedef int (*hydra_merge_pt)(hydra_jspan_out_t *out, const hydra_merge_t *m);


typedef struct {
    const char                   *view;      /* exact path: "/api/queue" */
    hydra_merge_shape_e           shape;     /* the answer's top level */
    hydra_merge_valid_pt          valid;     /* 1: a repo's answer fits */
    hydra_merge_pt                merge;     /* HYDRA_OK or HYDRA_ERROR */
} hydra_merge_rule_t;


const hydra_merge_rule_t *hydra_merge_rule(const char *path, size_t len);
int hydra_merge_depth_ok(const char *json, size_t len, unsigned max_depth);


#endif /* _HYDRA_MERGE_H_INCLUDED_ */
