
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

    ngx_array_t                 *session_files;    /* of ngx_str_t */
    ngx_str_t                    sessions_pattern; /* hydra_repo_sessions */

    ngx_int_t                    upstream_index;  /* $hydra_upstream */

    ngx_uint_t                   events_history;  /* ring slots */
    void                        *channels;    /* workers' wake-up pairs */
} ngx_http_hydra_main_conf_t;


typedef struct {
    ngx_str_t                    pass;        /* hydra_pass */
    ngx_msec_t                   timeout;     /* hydra_timeout */
    size_t                       max_response;   /* hydra_max_response_size */
    ngx_str_t                    default_repo;   /* hydra_default_repo */
    ngx_array_t                 *origins;     /* of ngx_str_t; NULL: same
                                                 origin, empty: any */
    ngx_flag_t                   read_only;   /* hydra_read_only */
} ngx_http_hydra_loc_conf_t;


/*
 * The repo a request is bound to.  A subrequest carries it in its
 * context; a passthrough survives the internal redirect (which clears
 * contexts) in the $hydra_upstream variable.
 */

typedef struct {
    uint32_t                     id;
    ngx_addr_t                   addr;        /* points into the below */
    ngx_str_t                    key;
    ngx_str_t                    slug;        /* the registry's name */
    unsigned                     running:1;
    unsigned                     dot_dot:1;   /* slug unfit for a path */

    ngx_sockaddr_t               sockaddr;
    u_char                       name[HYDRA_ADDR_SIZE];
    u_char                       key_data[HYDRA_NAME_SIZE];
    u_char                       slug_data[HYDRA_NAME_SIZE];
} ngx_http_hydra_peer_binding_t;


typedef struct ngx_http_hydra_slot_s  ngx_http_hydra_slot_t;


/*
 * A request's context: the repo a subrequest is bound to, and the slot
 * its answer is captured into when it serves an aggregated view.
 */

typedef struct {
    ngx_http_hydra_peer_binding_t  *binding;
    ngx_http_hydra_slot_t          *slot;
    void                           *agg;      /* the view it waits for */
    void                           *client;   /* a /ws fan-out's socket */
    ngx_buf_t                      *replace;  /* a passthrough's JSON error */
} ngx_http_hydra_ctx_t;


/* one repo's part of an aggregated view */

struct ngx_http_hydra_slot_s {
    ngx_str_t                    key;         /* the repo's tag */
    ngx_http_request_t          *sr;
    ngx_buf_t                   *body;        /* captured; room for a NUL */
    size_t                       max;
    ngx_uint_t                   status;
    const char                  *reason;      /* why it is left out */
    void                        *agg;         /* the view it belongs to */
    ngx_event_t                  abort;       /* posted: too big */

    unsigned                     done:1;
    unsigned                     complete:1;  /* its last buffer came */
    unsigned                     too_big:1;
};


extern ngx_module_t  ngx_http_hydra_module;


#endif /* _NGX_HTTP_HYDRA_MODULE_H_INCLUDED_ */
