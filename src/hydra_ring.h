
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The event history of the fan-out (DESIGN.md, 5): a fixed-size area of
 * the shared zone that keeps the newest events, each as the full JSON
 * text a browser gets.  Old events are overwritten; memory never grows.
 *
 * Every worker maps the zone at its own address, so the area holds no
 * pointer, only positions, and may even be copied elsewhere whole.
 * Every function here runs under the zone's lock, taken by the caller.
 * No nginx headers.
 *
 *   +-------------+--------------------------+---------------------+
 *   | hydra_ring_t| nslots hydra_ring_slot_t | data_size bytes     |
 *   +-------------+--------------------------+---------------------+
 *
 * Event id N lives in slot N & (nslots - 1); its text is one contiguous
 * run of the byte area at write position pos (modulo data_size).  A
 * record that would not fit before the end of the area goes to its
 * start, and the tail it skipped counts as written.  An event is
 * readable while its slot still holds its id and write_pos - pos <=
 * data_size: both lose the oldest events first, so the readable ones are
 * always the ids oldest .. next_id - 1.
 *
 * The glue, per worker, under the lock: hydra_ring_copy() of everything
 * from the smallest cursor of its browsers on, then the fan-out
 * unlocked, out of its own copy.
 */


#ifndef _HYDRA_RING_H_INCLUDED_
#define _HYDRA_RING_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "hydra.h"


/* an event's type as the ring keeps it for filters: 39 bytes and a NUL */
#define HYDRA_RING_TYPE_SIZE   40

/* "{\"id\":18446744073709551615," and its NUL */
#define HYDRA_RING_HEAD_SIZE   32

#define HYDRA_RING_SLOTS_MAX   (1u << 24)

/* a smaller byte area could not hold a head and a few bytes */
#define HYDRA_RING_DATA_MIN    64


typedef struct {
    uint32_t        magic;
    uint32_t        nslots;        /* a power of two */
    uint64_t        size;          /* of the whole area */
    uint64_t        data_size;     /* of the byte area */
    uint64_t        next_id;       /* from 1, only increases */
    uint64_t        oldest;        /* the oldest readable id */
    uint64_t        write_pos;     /* bytes ever written, padding included */
} hydra_ring_t;


typedef struct {
    uint64_t        id;            /* 0: never used */
    uint64_t        pos;           /* write position of its first byte */
    uint32_t        len;
    uint32_t        repo;          /* the registry's id of its repo, 0: none */
    char            type[HYDRA_RING_TYPE_SIZE];
} hydra_ring_slot_t;


/* one event copied out by hydra_ring_copy() */
typedef struct {
    uint64_t        id;
    size_t          off;           /* of its text in the caller's buffer */
    size_t          len;
    uint32_t        repo;
    char            type[HYDRA_RING_TYPE_SIZE];
} hydra_ring_copied_t;


size_t hydra_ring_size(uint32_t nslots, size_t data_size);
int hydra_ring_init(void *mem, size_t size, uint32_t nslots);
int hydra_ring_valid(const hydra_ring_t *r, size_t size);
uint64_t hydra_ring_push(hydra_ring_t *r, const char *rest, size_t len,
    uint32_t repo, const char *type);
int hydra_ring_get(const hydra_ring_t *r, uint64_t id, const char **json,
    size_t *len, uint32_t *repo, const char **type);
uint64_t hydra_ring_oldest(const hydra_ring_t *r);
uint64_t hydra_ring_next(const hydra_ring_t *r);
uint64_t hydra_ring_since(const hydra_ring_t *r, uint64_t since);
int hydra_ring_gap(const hydra_ring_t *r, uint64_t since);
size_t hydra_ring_copy(const hydra_ring_t *r, uint64_t from, char *dst,
    size_t size, hydra_ring_copied_t *out, size_t max);
size_t hydra_ring_head(char *dst, uint64_t id);


#endif /* _HYDRA_RING_H_INCLUDED_ */
