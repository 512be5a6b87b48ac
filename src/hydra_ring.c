
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdio.h>
#include <string.h>
#include <inttypes.h>

#include "hydra_ring.h"


/* "hrg" and the layout's version: a zone of an older layout is remade */
#define HYDRA_RING_MAGIC       0x68726701

#define hydra_ring_slots(r)                                                   \
    ((hydra_ring_slot_t *) ((char *) (r) + sizeof(hydra_ring_t)))

#define hydra_ring_cslots(r)                                                  \
    ((const hydra_ring_slot_t *) ((const char *) (r) + sizeof(hydra_ring_t)))

#define hydra_ring_data(r)                                                    \
    ((char *) (r) + sizeof(hydra_ring_t)                                      \
     + (size_t) (r)->nslots * sizeof(hydra_ring_slot_t))

#define hydra_ring_cdata(r)                                                   \
    ((const char *) (r) + sizeof(hydra_ring_t)                                \
     + (size_t) (r)->nslots * sizeof(hydra_ring_slot_t))

#define hydra_ring_slot(r, id)                                                \
    (&hydra_ring_cslots(r)[(id) & ((r)->nslots - 1)])


static int hydra_ring_alive(const hydra_ring_t *r, uint64_t id);
static int hydra_ring_slot_ok(const hydra_ring_t *r,
    const hydra_ring_slot_t *slot, uint64_t id);
static void hydra_ring_set_type(char *dst, const char *type);


size_t
hydra_ring_size(uint32_t nslots, size_t data_size)
{
    size_t  fixed;

    if (nslots > HYDRA_RING_SLOTS_MAX) {
        return 0;
    }

    fixed = sizeof(hydra_ring_t) + (size_t) nslots * sizeof(hydra_ring_slot_t);

    if (data_size > SIZE_MAX - fixed) {
        return 0;
    }

    return fixed + data_size;
}


/*
 * Lays out an empty ring over size bytes of mem: nslots slots, and the
 * rest becomes the byte area.  mem is aligned as the slab allocator
 * aligns (8 bytes at least).
 */

int
hydra_ring_init(void *mem, size_t size, uint32_t nslots)
{
    size_t         fixed;
    hydra_ring_t  *r;

    if (nslots == 0 || (nslots & (nslots - 1)) != 0
        || nslots > HYDRA_RING_SLOTS_MAX
        || ((uintptr_t) mem & (sizeof(uint64_t) - 1)) != 0)
    {
        return HYDRA_ERROR;
    }

    fixed = hydra_ring_size(nslots, 0);

    if (size < fixed || size - fixed < HYDRA_RING_DATA_MIN) {
        return HYDRA_ERROR;
    }

    r = mem;

    r->magic = HYDRA_RING_MAGIC;
    r->nslots = nslots;
    r->size = size;
    r->data_size = size - fixed;
    r->next_id = 1;
    r->oldest = 1;
    r->write_pos = 0;

    memset(hydra_ring_slots(r), 0,
           (size_t) nslots * sizeof(hydra_ring_slot_t));

    return HYDRA_OK;
}


/*
 * The check of a zone that a reload kept, before it is trusted: the
 * header fits size exactly and every readable event lies inside the byte
 * area, so no later read can stray out of the zone.  O(nslots).
 */

int
hydra_ring_valid(const hydra_ring_t *r, size_t size)
{
    uint64_t                  id, end;
    const hydra_ring_slot_t  *slot;

    if (size < sizeof(hydra_ring_t)
        || ((uintptr_t) r & (sizeof(uint64_t) - 1)) != 0
        || r->magic != HYDRA_RING_MAGIC
        || r->nslots == 0 || (r->nslots & (r->nslots - 1)) != 0
        || r->nslots > HYDRA_RING_SLOTS_MAX
        || r->size != size
        || r->data_size < HYDRA_RING_DATA_MIN
        || r->data_size > size
        || hydra_ring_size(r->nslots, (size_t) r->data_size) != size)
    {
        return HYDRA_ERROR;
    }

    if (r->oldest == 0 || r->oldest > r->next_id
        || r->next_id == UINT64_MAX
        || r->next_id - r->oldest > r->nslots)
    {
        return HYDRA_ERROR;
    }

    end = 0;

    for (id = r->oldest; id < r->next_id; id++) {
        slot = hydra_ring_slot(r, id);

        if (!hydra_ring_slot_ok(r, slot, id) || slot->pos < end
            || memchr(slot->type, '\0', HYDRA_RING_TYPE_SIZE) == NULL)
        {
            return HYDRA_ERROR;
        }

        end = slot->pos + slot->len;
    }

    return HYDRA_OK;
}


/*
 * Stores an event as {"id":<its new id>, followed by rest, the event's
 * other members and its closing brace (hydra_event_tag() or
 * hydra_event_make()).  Returns the id, or 0 when the event could never
 * fit, which uses no id.
 */

uint64_t
hydra_ring_push(hydra_ring_t *r, const char *rest, size_t len, uint32_t repo,
    const char *type)
{
    char                head[HYDRA_RING_HEAD_SIZE];
    char               *data;
    size_t              hlen;
    uint64_t            id, pos, off, total;
    hydra_ring_slot_t  *slot;

    if (len == 0 || r->next_id == UINT64_MAX) {
        return 0;
    }

    id = r->next_id;
    hlen = hydra_ring_head(head, id);

    if (len > r->data_size - hlen || len > UINT32_MAX - hlen) {
        return 0;
    }

    total = hlen + len;
    pos = r->write_pos;
    off = pos % r->data_size;

    /* a record is contiguous: the tail it does not fit in is skipped */

    if (off + total > r->data_size) {
        pos += r->data_size - off;
        off = 0;
    }

    data = hydra_ring_data(r);
    memcpy(data + off, head, hlen);
    memcpy(data + off + hlen, rest, len);

    slot = &hydra_ring_slots(r)[id & (r->nslots - 1)];
    slot->id = id;
    slot->pos = pos;
    slot->len = (uint32_t) total;
    slot->repo = repo;
    hydra_ring_set_type(slot->type, type);

    r->write_pos = pos + total;
    r->next_id = id + 1;

    /* each id is passed once: O(1) a push, amortized */

    while (r->oldest < r->next_id && !hydra_ring_alive(r, r->oldest)) {
        r->oldest++;
    }

    return id;
}


/*
 * The text of one event, in place: valid until the next push, so only
 * under the lock.  HYDRA_DECLINED: overwritten (the client gets a gap);
 * HYDRA_AGAIN: not written yet.
 */

int
hydra_ring_get(const hydra_ring_t *r, uint64_t id, const char **json,
    size_t *len, uint32_t *repo, const char **type)
{
    const hydra_ring_slot_t  *slot;

    if (id >= r->next_id) {
        return HYDRA_AGAIN;
    }

    if (id < r->oldest || !hydra_ring_alive(r, id)) {
        return HYDRA_DECLINED;
    }

    slot = hydra_ring_slot(r, id);

    *json = hydra_ring_cdata(r) + slot->pos % r->data_size;
    *len = slot->len;

    if (repo != NULL) {
        *repo = slot->repo;
    }

    if (type != NULL) {
        *type = slot->type;
    }

    return HYDRA_OK;
}


/* the oldest readable id; equal to hydra_ring_next() when none is */

uint64_t
hydra_ring_oldest(const hydra_ring_t *r)
{
    return r->oldest;
}


/* the id the next push gets */

uint64_t
hydra_ring_next(const hydra_ring_t *r)
{
    return r->next_id;
}


/*
 * The first id to send to a browser that has seen every id up to since:
 * since + 1, or the oldest readable one when that is gone (a gap).  0 is
 * a browser that saw nothing: it gets all the history there is.  A since
 * the ring never gave out (>= next_id: the zone was made anew while the
 * browser stayed) also gets all of it; hydra_ring_gap() tells both of
 * these apart from a plain reconnect.
 */

uint64_t
hydra_ring_since(const hydra_ring_t *r, uint64_t since)
{
    if (since >= r->next_id) {
        return r->oldest;
    }

    return since + 1 < r->oldest ? r->oldest : since + 1;
}


/*
 * 1 when a browser that has seen up to since cannot go on where it left
 * off: events it never saw were overwritten, or its since is not one of
 * this ring's ids.  It gets a "gap" event before the rest.
 */

int
hydra_ring_gap(const hydra_ring_t *r, uint64_t since)
{
    if (since == 0) {
        return 0;
    }

    return since >= r->next_id || since + 1 < r->oldest;
}


/*
 * Copies consecutive events, from the id from (or the oldest readable if
 * from is gone: out[0].id > from then tells the gap), into dst, while
 * they fit in size bytes and max reports.  A dst of at least data_size
 * bytes always takes one event.  Returns how many were copied.
 */

size_t
hydra_ring_copy(const hydra_ring_t *r, uint64_t from, char *dst, size_t size,
    hydra_ring_copied_t *out, size_t max)
{
    size_t                    n, used;
    uint64_t                  id;
    const char               *data;
    const hydra_ring_slot_t  *slot;

    data = hydra_ring_cdata(r);
    n = 0;
    used = 0;

    for (id = from < r->oldest ? r->oldest : from;
         id < r->next_id && n < max;
         id++)
    {
        slot = hydra_ring_slot(r, id);

        if (slot->len > size - used) {
            break;
        }

        memcpy(dst + used, data + slot->pos % r->data_size, slot->len);

        out[n].id = id;
        out[n].off = used;
        out[n].len = slot->len;
        out[n].repo = slot->repo;
        memcpy(out[n].type, slot->type, HYDRA_RING_TYPE_SIZE);

        used += slot->len;
        n++;
    }

    return n;
}


/*
 * {"id":<id>, the head of every event a browser gets; the module's
 * events sent outside the ring use it too.  dst holds
 * HYDRA_RING_HEAD_SIZE bytes.
 */

size_t
hydra_ring_head(char *dst, uint64_t id)
{
    return (size_t) snprintf(dst, HYDRA_RING_HEAD_SIZE, "{\"id\":%" PRIu64 ",",
                             id);
}


static int
hydra_ring_alive(const hydra_ring_t *r, uint64_t id)
{
    const hydra_ring_slot_t  *slot;

    slot = hydra_ring_slot(r, id);

    return slot->id == id && r->write_pos - slot->pos <= r->data_size;
}


/* a slot that holds id, alive and inside the byte area */

static int
hydra_ring_slot_ok(const hydra_ring_t *r, const hydra_ring_slot_t *slot,
    uint64_t id)
{
    return slot->id == id
           && slot->len > 0
           && slot->len <= r->data_size
           && slot->pos <= r->write_pos
           && slot->len <= r->write_pos - slot->pos
           && r->write_pos - slot->pos <= r->data_size
           && slot->pos % r->data_size + slot->len <= r->data_size;
}


/* at most HYDRA_RING_TYPE_SIZE - 1 bytes, never half a UTF-8 character */

static void
hydra_ring_set_type(char *dst, const char *type)
{
    size_t  len;

    if (type == NULL) {
        type = "";
    }

    len = strlen(type);

    if (len >= HYDRA_RING_TYPE_SIZE) {
        len = HYDRA_RING_TYPE_SIZE - 1;

        while (len > 0 && ((unsigned char) type[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    memcpy(dst, type, len);
    memset(dst + len, 0, HYDRA_RING_TYPE_SIZE - len);
}
