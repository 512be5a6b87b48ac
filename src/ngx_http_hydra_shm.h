
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The hydra_zone: the registry (and later the event ring) shared by all
 * workers, kept across reloads.
 */


#ifndef _NGX_HTTP_HYDRA_SHM_H_INCLUDED_
#define _NGX_HTTP_HYDRA_SHM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "hydra_json.h"
#include "hydra_ring.h"


typedef struct {
    hydra_registry_t             registry;
    hydra_ring_t                *ring;        /* the events' history */
    size_t                       ring_size;
} ngx_http_hydra_shctx_t;


typedef struct {
    ngx_http_hydra_shctx_t      *sh;
    ngx_slab_pool_t             *shpool;
    ngx_http_hydra_main_conf_t  *hmcf;
} ngx_http_hydra_zone_t;


ngx_int_t ngx_http_hydra_init_zone(ngx_shm_zone_t *shm_zone, void *data);
char *ngx_http_hydra_zone_check(ngx_conf_t *cf,
    ngx_http_hydra_main_conf_t *hmcf);
size_t ngx_http_hydra_ring_size(ngx_http_hydra_main_conf_t *hmcf);
void ngx_http_hydra_clock(hydra_clock_t *now);
ngx_int_t ngx_http_hydra_snapshot(ngx_http_hydra_main_conf_t *hmcf,
    ngx_pool_t *pool, hydra_json_registry_t *snap);
ngx_int_t ngx_http_hydra_bindings(ngx_http_hydra_main_conf_t *hmcf,
    ngx_pool_t *pool, ngx_http_hydra_peer_binding_t **bindings,
    ngx_uint_t *n);
void ngx_http_hydra_binding_set(ngx_http_hydra_peer_binding_t *b,
    const hydra_repo_t *repo);


#endif /* _NGX_HTTP_HYDRA_SHM_H_INCLUDED_ */
