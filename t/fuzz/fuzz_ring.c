
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_ring: the event history against a model.  The first bytes lay
 * a ring out (slots, byte area), then the input is a program of pushes,
 * reads, copies and cursor questions.  Whatever the ring gives must be
 * what was pushed under that id, byte for byte; the readable ids are
 * one run oldest .. next - 1 that only moves on; the newest event that
 * fits is always readable; and a ring our own code made always passes
 * hydra_ring_valid(), as a zone kept over a reload must.
 *
 * One operation overwrites bytes of the header and slots with input, as
 * a zone of another layout or a bad reload would: from then on only a
 * ring that hydra_ring_valid() accepts is used, and nothing read from it
 * may stray out of its memory (AddressSanitizer watches the bounds).
 */


#include "fuzz.h"
#include "hydra_ring.h"


#define HYDRA_FUZZ_OPS_MAX     256
#define HYDRA_FUZZ_COPY_MAX    16


typedef struct {
    char                  *text;      /* head and rest, as a browser gets */
    size_t                 len;
    uint32_t               repo;
} hydra_fuzz_event_t;


static void hydra_fuzz_read_all(const hydra_ring_t *r, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    rc, corrupt;
    char                  *copy, head[HYDRA_RING_HEAD_SIZE];
    char                   type[HYDRA_RING_TYPE_SIZE + 8];
    size_t                 ring_size, data_size, len, hlen, i, n, op, at;
    size_t                 room, used, max;
    uint32_t               nslots, repo, got_repo;
    uint64_t               id, oldest, next, since;
    const char            *json, *got_type;
    const uint8_t         *p;
    hydra_ring_t          *r;
    hydra_fuzz_in_t        in;
    hydra_fuzz_event_t    *events;
    hydra_ring_copied_t    copied[HYDRA_FUZZ_COPY_MAX];

    hydra_fuzz_init(&in, data, size);

    nslots = 1u << (hydra_fuzz_byte(&in) % 7);
    data_size = HYDRA_RING_DATA_MIN + hydra_fuzz_u16(&in) % 4096;
    ring_size = hydra_ring_size(nslots, data_size);

    /* malloc is aligned as the slab allocator is, and exactly sized */

    r = malloc(ring_size);
    hydra_fuzz_assert(r != NULL);
    hydra_fuzz_assert(hydra_ring_init(r, ring_size, nslots) == HYDRA_OK);
    hydra_fuzz_assert(hydra_ring_valid(r, ring_size) == HYDRA_OK);

    events = calloc(HYDRA_FUZZ_OPS_MAX + 1, sizeof(hydra_fuzz_event_t));
    copy = malloc(data_size * 2);
    hydra_fuzz_assert(events != NULL && copy != NULL);

    corrupt = 0;
    oldest = 1;

    for (op = 0; op < HYDRA_FUZZ_OPS_MAX && in.left > 0; op++) {

        switch (hydra_fuzz_byte(&in) % 6) {

        case 0:
        case 1:
            /* a push of up to 255 bytes, a type, a repo */

            len = hydra_fuzz_byte(&in);
            len = (len > in.left) ? in.left : len;
            p = in.p;
            in.p += len;
            in.left -= len;

            n = hydra_fuzz_byte(&in) % (sizeof(type) - 1);
            memset(type, 'a' + (int) (n % 26), n);
            type[n] = '\0';
            repo = hydra_fuzz_byte(&in);

            next = hydra_ring_next(r);
            id = hydra_ring_push(r, (const char *) p, len, repo, type);

            if (corrupt) {
                break;
            }

            hlen = hydra_ring_head(head, next);

            if (len == 0 || len > data_size - hlen) {
                hydra_fuzz_assert(id == 0 && hydra_ring_next(r) == next);
                break;
            }

            hydra_fuzz_assert(id == next && hydra_ring_next(r) == id + 1);
            hydra_fuzz_assert(id <= HYDRA_FUZZ_OPS_MAX);

            events[id].len = hlen + len;
            events[id].text = malloc(hlen + len);
            hydra_fuzz_assert(events[id].text != NULL);
            memcpy(events[id].text, head, hlen);
            memcpy(events[id].text + hlen, p, len);
            events[id].repo = repo;

            /* the newest is there, the oldest only moves on */

            hydra_fuzz_assert(hydra_ring_oldest(r) >= oldest);
            hydra_fuzz_assert(hydra_ring_oldest(r) <= id);
            oldest = hydra_ring_oldest(r);

            rc = hydra_ring_get(r, id, &json, &len, &got_repo, &got_type);
            hydra_fuzz_assert(rc == HYDRA_OK);
            hydra_fuzz_assert(strlen(got_type) < HYDRA_RING_TYPE_SIZE);
            hydra_fuzz_assert(strncmp(got_type, type, strlen(got_type))
                              == 0);

            break;

        case 2:
            /* every id, gone, readable or to come */

            next = hydra_ring_next(r);

            for (id = 0; id <= next + 1; id++) {
                rc = hydra_ring_get(r, id, &json, &len, &got_repo,
                                    &got_type);

                if (corrupt) {
                    continue;
                }

                if (id >= next) {
                    hydra_fuzz_assert(rc == HYDRA_AGAIN);

                } else if (id < hydra_ring_oldest(r)) {
                    hydra_fuzz_assert(rc == HYDRA_DECLINED);

                } else {
                    hydra_fuzz_assert(rc == HYDRA_OK);
                    hydra_fuzz_assert(len == events[id].len
                                      && memcmp(json, events[id].text, len)
                                         == 0);
                    hydra_fuzz_assert(got_repo == events[id].repo);
                }
            }

            break;

        case 3:
            /* a copy from some id into a buffer of some size */

            since = hydra_fuzz_byte(&in) % (hydra_ring_next(r) + 2);
            room = hydra_fuzz_u16(&in) % (2 * data_size);
            max = hydra_fuzz_byte(&in) % (HYDRA_FUZZ_COPY_MAX + 1);

            n = hydra_ring_copy(r, since, copy, room, copied, max);

            if (corrupt) {
                break;
            }

            hydra_fuzz_assert(n <= max);
            used = 0;

            for (i = 0; i < n; i++) {
                id = copied[i].id;

                hydra_fuzz_assert(id == (since > hydra_ring_oldest(r)
                                         ? since : hydra_ring_oldest(r))
                                        + i);
                hydra_fuzz_assert(copied[i].len == events[id].len
                                  && memcmp(copy + copied[i].off,
                                            events[id].text,
                                            copied[i].len)
                                     == 0);
                hydra_fuzz_assert(copied[i].off == used);
                used += copied[i].len;
            }

            /* it stops early only at an event that does not fit */

            id = (since > hydra_ring_oldest(r) ? since
                                               : hydra_ring_oldest(r)) + n;

            if (n < max && id < hydra_ring_next(r)) {
                hydra_fuzz_assert(events[id].len > room - used);
            }

            break;

        case 4:
            /* a browser's cursor: where it goes on, whether it lost any */

            since = hydra_fuzz_u64(&in) % (hydra_ring_next(r) + 4);
            id = hydra_ring_since(r, since);

            if (corrupt) {
                break;
            }

            hydra_fuzz_assert(id >= hydra_ring_oldest(r)
                              && id <= hydra_ring_next(r));
            hydra_fuzz_assert(hydra_ring_gap(r, since)
                              == (since != 0
                                  && (since >= hydra_ring_next(r)
                                      || since + 1 < hydra_ring_oldest(r))));

            break;

        default:
            /* bytes of the header and slots overwritten: a bad zone */

            at = hydra_fuzz_u16(&in) % (ring_size - data_size);
            n = hydra_fuzz_byte(&in) % 16;
            n = (n > ring_size - data_size - at) ? ring_size - data_size - at
                                                 : n;
            n = (n > in.left) ? in.left : n;

            memcpy((char *) r + at, in.p, n);
            in.p += n;
            in.left -= n;

            if (hydra_ring_valid(r, ring_size) != HYDRA_OK) {
                /* the glue makes it anew */
                hydra_fuzz_assert(hydra_ring_init(r, ring_size, nslots)
                                  == HYDRA_OK);
            }

            corrupt = 1;
            hydra_fuzz_read_all(r, ring_size);
        }

        /* ours, or trusted after a check: it is valid */

        hydra_fuzz_assert(hydra_ring_valid(r, ring_size) == HYDRA_OK
                          || corrupt);
    }

    for (i = 0; i <= HYDRA_FUZZ_OPS_MAX; i++) {
        free(events[i].text);
    }

    free(events);
    free(copy);
    free(r);

    return 0;
}


/* all that a valid ring holds, read every way the glue reads it */

static void
hydra_fuzz_read_all(const hydra_ring_t *r, size_t size)
{
    char                 *buf;
    size_t                len, n;
    uint32_t              repo;
    uint64_t              id;
    const char           *json, *type;
    hydra_ring_copied_t   copied[HYDRA_FUZZ_COPY_MAX];

    hydra_fuzz_assert(hydra_ring_valid(r, size) == HYDRA_OK);

    for (id = hydra_ring_oldest(r); id < hydra_ring_next(r); id++) {
        if (hydra_ring_get(r, id, &json, &len, &repo, &type) == HYDRA_OK) {
            hydra_fuzz_assert(len > 0 && len <= size);
            hydra_fuzz_assert(strlen(type) < HYDRA_RING_TYPE_SIZE);

            /* every byte of it, where AddressSanitizer can see */
            buf = hydra_fuzz_copy(json, len, 0);
            free(buf);
        }
    }

    buf = malloc(size);
    hydra_fuzz_assert(buf != NULL);

    n = hydra_ring_copy(r, 0, buf, size, copied, HYDRA_FUZZ_COPY_MAX);
    hydra_fuzz_assert(n <= HYDRA_FUZZ_COPY_MAX);

    free(buf);
}
