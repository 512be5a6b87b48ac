
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * What the module's files share: the configuration and the request
 * context.
 */


#ifndef _NGX_HTTP_HYDRA_MODULE_H_INCLUDED_
#define _NGX_HTTP_HYDRA_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hydra_registry.h"


typedef struct {
    ngx_shm_zone_t              *shm_zone;
    ngx_array_t                 *repos;       /* of hydra_repo_spec_t */

    ngx_addr_t                  *supervisor;  /* NULL: none */
    ngx_str_t                    supervisor_name;  /* NUL-terminated */
    ngx_msec_t                   supervisor_interval;
    ngx_msec_t                   supervisor_timeout;

    ngx_msec_t                   probe_interval;
    ngx_msec_t                   probe_timeout;
    ngx_str_t                    probe_uri;

    ngx_int_t                    upstream_index;  /* $hydra_upstream */
} ngx_http_hydra_main_conf_t;


typedef struct {
    ngx_str_t                    pass;        /* hydra_pass */
} ngx_http_hydra_loc_conf_t;


/*
 * The repo a request is bound to.  A subrequest carries it in its
 * context; a passthrough survives the internal redirect (which clears
 * contexts) in the $hydra_upstream variable.
 */

typedef struct {
    uint32_t                     id;
    ngx_addr_t                   addr;
    ngx_str_t                    key;
} ngx_http_hydra_peer_binding_t;


typedef struct {
    ngx_http_hydra_peer_binding_t  *binding;
} ngx_http_hydra_ctx_t;


extern ngx_module_t  ngx_http_hydra_module;


#endif /* _NGX_HTTP_HYDRA_MODULE_H_INCLUDED_ */
