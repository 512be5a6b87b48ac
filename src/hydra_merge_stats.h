
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The merge rules of the views whose counters are merged key by key
 * (/api/queue, /api/pipeline/stats, /api/stats, /api/metrics and its
 * github and history views), for hydra_merge.c's table: the known
 * fields of each answer, what each holds when no repo has it, and the
 * recursive merge of the others.  Pure C, no nginx headers.
 */


#ifndef _HYDRA_MERGE_STATS_H_INCLUDED_
#define _HYDRA_MERGE_STATS_H_INCLUDED_


#include "hydra_merge.h"


int hydra_merge_pipeline_stats(hydra_jspan_out_t *out,
    const hydra_merge_t *m);
int hydra_merge_queue(hydra_jspan_out_t *out, const hydra_merge_t *m);
int hydra_merge_stats(hydra_jspan_out_t *out, const hydra_merge_t *m);
int hydra_merge_metrics(hydra_jspan_out_t *out, const hydra_merge_t *m);
int hydra_merge_github(hydra_jspan_out_t *out, const hydra_merge_t *m);
int hydra_merge_history(hydra_jspan_out_t *out, const hydra_merge_t *m);


#endif /* _HYDRA_MERGE_STATS_H_INCLUDED_ */
