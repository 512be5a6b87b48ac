
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_shm.h"


#define NGX_HTTP_HYDRA_EVENT_BYTES  1024   /* of the ring, per slot */


static ngx_int_t ngx_http_hydra_init_ring(ngx_http_hydra_zone_t *zone);
static uint32_t ngx_http_hydra_ring_slots(ngx_http_hydra_main_conf_t *hmcf);
static void ngx_http_hydra_apply_static(ngx_http_hydra_zone_t *zone);


/*
 * Called in the master for every (re)configuration.  On a reload the
 * zone's registry and health are kept; only the static repos are made
 * what the new configuration says.
 */

ngx_int_t
ngx_http_hydra_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_hydra_zone_t  *ozone = data;

    size_t                  len;
    ngx_http_hydra_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        ngx_http_hydra_apply_static(zone);
        return ngx_http_hydra_init_ring(zone);
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        ngx_http_hydra_apply_static(zone);
        return ngx_http_hydra_init_ring(zone);
    }

    zone->sh = ngx_slab_alloc(zone->shpool, sizeof(ngx_http_hydra_shctx_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;
    hydra_registry_init(&zone->sh->registry);

    len = sizeof(" in hydra zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in hydra zone \"%V\"%Z",
                &shm_zone->shm.name);

    ngx_http_hydra_apply_static(zone);

    return ngx_http_hydra_init_ring(zone);
}


/*
 * The ring: kept over a reload when it is still sound and of the size
 * asked for, so history and ids survive; made anew otherwise, its ids
 * going on from the old ring's.
 */

static ngx_int_t
ngx_http_hydra_init_ring(ngx_http_hydra_zone_t *zone)
{
    size_t                   size;
    uint64_t                 next;
    hydra_ring_t            *ring;
    ngx_http_hydra_shctx_t  *sh;

    sh = zone->sh;
    size = ngx_http_hydra_ring_size(zone->hmcf);
    next = 1;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (sh->ring != NULL) {
        if (sh->ring_size == size
            && hydra_ring_valid(sh->ring, size) == HYDRA_OK)
        {
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return NGX_OK;
        }

        if (hydra_ring_valid(sh->ring, sh->ring_size) == HYDRA_OK) {
            next = hydra_ring_next(sh->ring);
        }

        ngx_slab_free_locked(zone->shpool, sh->ring);
        sh->ring = NULL;
    }

    ring = ngx_slab_alloc_locked(zone->shpool, size);

    if (ring == NULL
        || hydra_ring_init(ring, size, ngx_http_hydra_ring_slots(zone->hmcf))
           != HYDRA_OK)
    {
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_error(NGX_LOG_EMERG, ngx_cycle->log, 0,
                      "hydra zone \"%V\" has no room for an event history "
                      "of %uz bytes", &zone->hmcf->shm_zone->shm.name, size);
        return NGX_ERROR;
    }

    /* an empty history whose ids go on where the old one's stopped */

    ring->next_id = next;
    ring->oldest = next;

    sh->ring = ring;
    sh->ring_size = size;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


/*
 * At configuration time: a zone that could not hold the registry and the
 * ring is refused with the size it needs, counting the slab allocator's
 * page descriptors.
 */

char *
ngx_http_hydra_zone_check(ngx_conf_t *cf, ngx_http_hydra_main_conf_t *hmcf)
{
    size_t  ring, pages, need;

    if (hmcf->shm_zone == NULL) {
        return NGX_CONF_OK;
    }

    ring = ngx_http_hydra_ring_size(hmcf);

    if (ring == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hydra_events_history %ui is too large",
                           hmcf->events_history);
        return NGX_CONF_ERROR;
    }

    pages = (ring + ngx_pagesize - 1) / ngx_pagesize
            + (sizeof(ngx_http_hydra_shctx_t) + ngx_pagesize - 1)
              / ngx_pagesize
            + 16;

    need = pages * (ngx_pagesize + sizeof(ngx_slab_page_t));

    if (hmcf->shm_zone->shm.size < need) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hydra_zone \"%V\" of %uzk is too small for "
                           "hydra_events_history %ui: it needs %uzk at least",
                           &hmcf->shm_zone->shm.name,
                           hmcf->shm_zone->shm.size / 1024,
                           hmcf->events_history, need / 1024 + 1);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the ring's bytes: its slots, and 1 KiB of text for each event asked */

size_t
ngx_http_hydra_ring_size(ngx_http_hydra_main_conf_t *hmcf)
{
    return hydra_ring_size(ngx_http_hydra_ring_slots(hmcf),
                           hmcf->events_history * NGX_HTTP_HYDRA_EVENT_BYTES);
}


/* the ring's slots are a power of two */

static uint32_t
ngx_http_hydra_ring_slots(ngx_http_hydra_main_conf_t *hmcf)
{
    uint32_t  n;

    for (n = 1; n < hmcf->events_history && n < HYDRA_RING_SLOTS_MAX; n <<= 1)
    {
        /* void */
    }

    return n;
}


void
ngx_http_hydra_clock(hydra_clock_t *now)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    now->mono = (int64_t) ngx_current_msec;
    now->wall = (int64_t) tp->sec * 1000 + tp->msec;
}


/*
 * Copies the registry out of the zone, so JSON is written without the
 * lock held.
 */

ngx_int_t
ngx_http_hydra_snapshot(ngx_http_hydra_main_conf_t *hmcf, ngx_pool_t *pool,
    hydra_json_registry_t *snap)
{
    ngx_uint_t                 n;
    hydra_repo_t              *repos;
    hydra_registry_t          *reg;
    ngx_http_hydra_zone_t     *zone;
    hydra_supervisor_state_t  *sup;

    zone = hmcf->shm_zone->data;
    reg = &zone->sh->registry;

    /*
     * Sized under the lock, allocated without it; a repo added in
     * between shows in the next answer.
     */

    ngx_shmtx_lock(&zone->shpool->mutex);
    n = reg->nrepos;
    ngx_shmtx_unlock(&zone->shpool->mutex);

    repos = ngx_palloc(pool, sizeof(hydra_repo_t) * (n ? n : 1));
    if (repos == NULL) {
        return NGX_ERROR;
    }

    sup = ngx_palloc(pool, sizeof(hydra_supervisor_state_t));
    if (sup == NULL) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    n = ngx_min(n, reg->nrepos);
    ngx_memcpy(repos, reg->repos, sizeof(hydra_repo_t) * n);
    *sup = reg->supervisor;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    snap->repos = repos;
    snap->nrepos = n;
    snap->supervisor = hmcf->supervisor ? sup : NULL;
    snap->supervisor_addr = (const char *) hmcf->supervisor_name.data;

    return NGX_OK;
}


/* every repo's binding, for an aggregated view's fan-out */

ngx_int_t
ngx_http_hydra_bindings(ngx_http_hydra_main_conf_t *hmcf, ngx_pool_t *pool,
    ngx_http_hydra_peer_binding_t **bindings, ngx_uint_t *n)
{
    ngx_uint_t                      i, count;
    hydra_registry_t               *reg;
    ngx_http_hydra_zone_t          *zone;
    ngx_http_hydra_peer_binding_t  *b;

    zone = hmcf->shm_zone->data;
    reg = &zone->sh->registry;

    ngx_shmtx_lock(&zone->shpool->mutex);
    count = reg->nrepos;
    ngx_shmtx_unlock(&zone->shpool->mutex);

    b = ngx_palloc(pool, sizeof(ngx_http_hydra_peer_binding_t)
                         * (count ? count : 1));
    if (b == NULL) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    count = ngx_min(count, reg->nrepos);

    for (i = 0; i < count; i++) {
        ngx_http_hydra_binding_set(&b[i], &reg->repos[i]);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    *bindings = b;
    *n = count;

    return NGX_OK;
}


/* copies what reaching a repo takes; called under the zone's lock */

void
ngx_http_hydra_binding_set(ngx_http_hydra_peer_binding_t *b,
    const hydra_repo_t *repo)
{
    b->id = repo->id;
    b->running = repo->spec.running && repo->spec.port != 0;

    ngx_memcpy(&b->sockaddr, &repo->spec.sockaddr, repo->spec.socklen);
    b->addr.sockaddr = &b->sockaddr.sockaddr;
    b->addr.socklen = repo->spec.socklen;

    b->addr.name.data = b->name;
    b->addr.name.len = ngx_strlen(repo->addr_text);
    ngx_memcpy(b->name, repo->addr_text, b->addr.name.len);

    b->key.data = b->key_data;
    b->key.len = ngx_strlen(repo->key);
    ngx_memcpy(b->key_data, repo->key, b->key.len);
    b->key_data[b->key.len] = '\0';

    b->slug.data = b->slug_data;
    b->slug.len = ngx_strlen(repo->spec.name);
    ngx_memcpy(b->slug_data, repo->spec.name, b->slug.len + 1);
    b->dot_dot = hydra_slug_dot_dot(repo->spec.name, b->slug.len);
}


static void
ngx_http_hydra_apply_static(ngx_http_hydra_zone_t *zone)
{
    size_t                       dropped;
    hydra_clock_t                now;
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = zone->hmcf;
    ngx_http_hydra_clock(&now);

    ngx_shmtx_lock(&zone->shpool->mutex);

    dropped = hydra_registry_apply(&zone->sh->registry, HYDRA_SOURCE_STATIC,
                                   hmcf->repos->elts, hmcf->repos->nelts,
                                   &now);

    zone->sh->registry.supervisor.configured = (hmcf->supervisor != NULL);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (dropped) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hydra zone \"%V\" holds %d repos at most, "
                      "%uz static repos left out",
                      &hmcf->shm_zone->shm.name, HYDRA_REPOS_MAX, dropped);
    }
}
