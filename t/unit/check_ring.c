
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_ring: ids, reading back, overwriting by slots and by bytes, the
 * wrap, the since/gap rules of a reconnecting browser, the copy-out, the
 * check of a kept zone, and a ring that moved to another address.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_ring.h"


#define HYDRA_TEST_REPO       7
#define HYDRA_TEST_TYPE       "worker_update"
#define HYDRA_TEST_TEXT_SIZE  8192
#define HYDRA_TEST_COPIED     64
#define HYDRA_TEST_SOAK       3000

/* "{"id":1," ... "{"id":9,": the head of the first nine ids */
#define HYDRA_TEST_HEAD1      8


static void hydra_setup(void);
static void hydra_teardown(void);
static hydra_ring_t *hydra_new(uint32_t nslots, size_t data_size);
static uint64_t hydra_push(const char *rest);
static const char *hydra_rest(size_t total, uint64_t id);
static uint64_t hydra_push_total(size_t total);
static const char *hydra_event(uint64_t id, const char *rest);
static void hydra_check_get(const hydra_ring_t *r, uint64_t id,
    const char *rest);
static void hydra_check_gone(const hydra_ring_t *r, uint64_t id);
static const char *hydra_soak_rest(uint64_t id);
static uint64_t hydra_random(void);


static hydra_ring_t  *ring;
static size_t         ring_size;
static char          *text;
static uint64_t       seed;


START_TEST(test_size)
{
    ck_assert_uint_eq(sizeof(hydra_ring_slot_t), 64);
    ck_assert_uint_eq(sizeof(hydra_ring_t) % 8, 0);
    ck_assert_uint_eq(hydra_ring_size(4, 100),
                      sizeof(hydra_ring_t) + 4 * 64 + 100);
    ck_assert_uint_eq(hydra_ring_size(HYDRA_RING_SLOTS_MAX + 1, 100), 0);
    ck_assert_uint_eq(hydra_ring_size(4, SIZE_MAX), 0);
}
END_TEST


START_TEST(test_init_bad)
{
    size_t     size;
    uint64_t  *mem;

    size = hydra_ring_size(8, HYDRA_RING_DATA_MIN) + 8;
    mem = malloc(size);
    ck_assert_ptr_nonnull(mem);

    ck_assert_int_eq(hydra_ring_init(mem, size, 0), HYDRA_ERROR);
    ck_assert_int_eq(hydra_ring_init(mem, size, 3), HYDRA_ERROR);
    ck_assert_int_eq(hydra_ring_init(mem, size, 12), HYDRA_ERROR);
    ck_assert_int_eq(hydra_ring_init(mem, size, HYDRA_RING_SLOTS_MAX * 2),
                     HYDRA_ERROR);

    /* a byte area under the minimum, or no room for the slots at all */
    ck_assert_int_eq(hydra_ring_init(mem, hydra_ring_size(8, 63), 8),
                     HYDRA_ERROR);
    ck_assert_int_eq(hydra_ring_init(mem, 16, 8), HYDRA_ERROR);
    ck_assert_int_eq(hydra_ring_init(mem, 0, 1), HYDRA_ERROR);

    /* not aligned as the slab allocator aligns */
    ck_assert_int_eq(hydra_ring_init((char *) mem + 4, size - 8, 8),
                     HYDRA_ERROR);

    ck_assert_int_eq(hydra_ring_init(mem, hydra_ring_size(8, 64), 8),
                     HYDRA_OK);
    ck_assert_int_eq(hydra_ring_init(mem, size, 1), HYDRA_OK);
    ck_assert_uint_eq(((hydra_ring_t *) mem)->data_size,
                      size - hydra_ring_size(1, 0));

    free(mem);
}
END_TEST


START_TEST(test_init_empty)
{
    size_t               len;
    uint32_t             repo;
    const char          *json, *type;
    hydra_ring_copied_t  out[4];

    hydra_new(8, 1000);

    ck_assert_uint_eq(ring->data_size, 1000);
    ck_assert_uint_eq(ring->nslots, 8);
    ck_assert_uint_eq(hydra_ring_next(ring), 1);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 1);
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);

    ck_assert_int_eq(hydra_ring_get(ring, 1, &json, &len, &repo, &type),
                     HYDRA_AGAIN);
    ck_assert_int_eq(hydra_ring_get(ring, 0, &json, &len, &repo, &type),
                     HYDRA_DECLINED);
    ck_assert_uint_eq(hydra_ring_copy(ring, 0, text, HYDRA_TEST_TEXT_SIZE,
                                      out, 4), 0);
}
END_TEST


START_TEST(test_ids_from_one)
{
    uint64_t  i;

    hydra_new(8, 1000);

    for (i = 1; i <= 5; i++) {
        ck_assert_uint_eq(hydra_push("\"type\":\"a\"}"), i);
        ck_assert_uint_eq(hydra_ring_next(ring), i + 1);
        ck_assert_uint_eq(hydra_ring_oldest(ring), 1);
    }
}
END_TEST


START_TEST(test_get_after_push)
{
    const char  *json, *type;
    size_t       len;
    uint32_t     repo;

    hydra_new(8, 1000);

    ck_assert_uint_eq(hydra_ring_push(ring, "\"type\":\"a\"}", 11, 3, "a"),
                      1);
    ck_assert_uint_eq(hydra_ring_push(ring, "\"type\":\"bb\"}xyz", 12, 9,
                                      "bb"), 2);

    ck_assert_int_eq(hydra_ring_get(ring, 2, &json, &len, &repo, &type),
                     HYDRA_OK);
    ck_assert_uint_eq(len, strlen("{\"id\":2,\"type\":\"bb\"}"));
    ck_assert_int_eq(memcmp(json, "{\"id\":2,\"type\":\"bb\"}", len), 0);
    ck_assert_uint_eq(repo, 9);
    ck_assert_str_eq(type, "bb");

    /* repo and type are optional outputs */
    ck_assert_int_eq(hydra_ring_get(ring, 1, &json, &len, NULL, NULL),
                     HYDRA_OK);
    ck_assert_int_eq(memcmp(json, "{\"id\":1,\"type\":\"a\"}", len), 0);

    ck_assert_int_eq(hydra_ring_get(ring, 3, &json, &len, &repo, &type),
                     HYDRA_AGAIN);
    ck_assert_int_eq(hydra_ring_get(ring, UINT64_MAX, &json, &len, &repo,
                                    &type), HYDRA_AGAIN);
}
END_TEST


START_TEST(test_overwrite_by_slots)
{
    uint64_t  i;

    hydra_new(4, 4096);

    for (i = 1; i <= 6; i++) {
        ck_assert_uint_eq(hydra_push(hydra_rest(40, i)), i);
    }

    ck_assert_uint_eq(hydra_ring_oldest(ring), 3);
    ck_assert_uint_eq(hydra_ring_next(ring), 7);

    hydra_check_gone(ring, 1);
    hydra_check_gone(ring, 2);

    for (i = 3; i <= 6; i++) {
        hydra_check_get(ring, i, hydra_rest(40, i));
    }
}
END_TEST


START_TEST(test_overwrite_by_bytes)
{
    uint64_t  i;

    hydra_new(64, 200);

    /* four records of 50 bytes fill the area exactly */

    for (i = 1; i <= 4; i++) {
        ck_assert_uint_eq(hydra_push_total(50), i);
    }

    ck_assert_uint_eq(ring->write_pos, 200);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 1);

    for (i = 1; i <= 4; i++) {
        hydra_check_get(ring, i, hydra_rest(50, i));
    }

    /* the fifth takes the first one's bytes, and only the first one's */

    ck_assert_uint_eq(hydra_push_total(50), 5);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 2);
    hydra_check_gone(ring, 1);

    for (i = 2; i <= 5; i++) {
        hydra_check_get(ring, i, hydra_rest(50, i));
    }

    /* a big one takes as many as it needs */

    ck_assert_uint_eq(hydra_push_total(120), 6);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 5);
    hydra_check_gone(ring, 4);
    hydra_check_get(ring, 5, hydra_rest(50, 5));
    hydra_check_get(ring, 6, hydra_rest(120, 6));

    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);
}
END_TEST


START_TEST(test_wrap_padding)
{
    const char  *json;
    size_t       len;

    hydra_new(64, 200);

    ck_assert_uint_eq(hydra_push_total(60), 1);
    ck_assert_uint_eq(hydra_push_total(60), 2);
    ck_assert_uint_eq(hydra_push_total(60), 3);
    ck_assert_uint_eq(ring->write_pos, 180);

    /* 20 bytes left: the fourth goes to the start, the tail is dead */

    ck_assert_uint_eq(hydra_push_total(60), 4);
    ck_assert_uint_eq(ring->write_pos, 260);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 2);
    hydra_check_gone(ring, 1);

    ck_assert_int_eq(hydra_ring_get(ring, 4, &json, &len, NULL, NULL),
                     HYDRA_OK);
    ck_assert_ptr_eq(json, (const char *) ring + ring_size - 200);

    hydra_check_get(ring, 2, hydra_rest(60, 2));
    hydra_check_get(ring, 3, hydra_rest(60, 3));
    hydra_check_get(ring, 4, hydra_rest(60, 4));

    /* the padding counts as written: the fifth ends the second */

    ck_assert_uint_eq(hydra_push_total(60), 5);
    ck_assert_uint_eq(ring->write_pos, 320);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 3);
    hydra_check_gone(ring, 2);
    hydra_check_get(ring, 3, hydra_rest(60, 3));
    hydra_check_get(ring, 4, hydra_rest(60, 4));
    hydra_check_get(ring, 5, hydra_rest(60, 5));

    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);
}
END_TEST


START_TEST(test_exact_fit)
{
    hydra_new(64, 200);

    /* a record as big as the area */

    ck_assert_uint_eq(hydra_push_total(200), 1);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 1);
    hydra_check_get(ring, 1, hydra_rest(200, 1));

    ck_assert_uint_eq(hydra_push_total(200), 2);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 2);
    hydra_check_gone(ring, 1);
    hydra_check_get(ring, 2, hydra_rest(200, 2));

    /* a record that ends exactly at the end of the area is not moved */

    ck_assert_uint_eq(hydra_push_total(120), 3);
    ck_assert_uint_eq(hydra_push_total(80), 4);
    ck_assert_uint_eq(ring->write_pos, 600);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 3);
    hydra_check_get(ring, 3, hydra_rest(120, 3));
    hydra_check_get(ring, 4, hydra_rest(80, 4));

    ck_assert_uint_eq(hydra_push_total(20), 5);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 4);
    hydra_check_get(ring, 4, hydra_rest(80, 4));
    hydra_check_get(ring, 5, hydra_rest(20, 5));
}
END_TEST


START_TEST(test_too_big)
{
    hydra_new(8, 200);

    ck_assert_uint_eq(hydra_push_total(50), 1);

    /* one byte more than the area: refused, and no id used */

    ck_assert_uint_eq(hydra_push(hydra_rest(201, 2)), 0);
    ck_assert_uint_eq(hydra_ring_next(ring), 2);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 1);
    hydra_check_get(ring, 1, hydra_rest(50, 1));

    ck_assert_uint_eq(hydra_ring_push(ring, "}", 0, 1, "a"), 0);
    ck_assert_uint_eq(hydra_ring_push(ring, text, SIZE_MAX, 1, "a"), 0);
    ck_assert_uint_eq(hydra_ring_next(ring), 2);

    ck_assert_uint_eq(hydra_push(hydra_rest(200, 2)), 2);
}
END_TEST


START_TEST(test_since_empty)
{
    hydra_new(4, 1000);

    ck_assert_uint_eq(hydra_ring_since(ring, 0), 1);
    ck_assert_int_eq(hydra_ring_gap(ring, 0), 0);

    /* a since this ring never gave out: the zone was made anew */
    ck_assert_uint_eq(hydra_ring_since(ring, 5), 1);
    ck_assert_int_eq(hydra_ring_gap(ring, 5), 1);
}
END_TEST


START_TEST(test_since)
{
    uint64_t  i;

    hydra_new(4, 1000);

    for (i = 1; i <= 6; i++) {
        hydra_push(hydra_rest(40, i));
    }

    ck_assert_uint_eq(hydra_ring_oldest(ring), 3);
    ck_assert_uint_eq(hydra_ring_next(ring), 7);

    /* a new browser: all the history there is, no gap */
    ck_assert_uint_eq(hydra_ring_since(ring, 0), 3);
    ck_assert_int_eq(hydra_ring_gap(ring, 0), 0);

    /* it saw 1, and 2 is gone */
    ck_assert_uint_eq(hydra_ring_since(ring, 1), 3);
    ck_assert_int_eq(hydra_ring_gap(ring, 1), 1);

    /* it saw 2, and 3 is the oldest: no gap */
    ck_assert_uint_eq(hydra_ring_since(ring, 2), 3);
    ck_assert_int_eq(hydra_ring_gap(ring, 2), 0);

    ck_assert_uint_eq(hydra_ring_since(ring, 4), 5);
    ck_assert_int_eq(hydra_ring_gap(ring, 4), 0);

    /* up to date: nothing until the next push */
    ck_assert_uint_eq(hydra_ring_since(ring, 6), 7);
    ck_assert_int_eq(hydra_ring_gap(ring, 6), 0);

    /* from the future */
    ck_assert_uint_eq(hydra_ring_since(ring, 7), 3);
    ck_assert_int_eq(hydra_ring_gap(ring, 7), 1);
    ck_assert_uint_eq(hydra_ring_since(ring, UINT64_MAX), 3);
    ck_assert_int_eq(hydra_ring_gap(ring, UINT64_MAX), 1);
}
END_TEST


START_TEST(test_copy_all)
{
    size_t               n, i;
    uint64_t             id;
    hydra_ring_copied_t  out[HYDRA_TEST_COPIED];

    hydra_new(16, 1024);

    for (id = 1; id <= 5; id++) {
        ck_assert_uint_eq(hydra_ring_push(ring, hydra_rest(30 + id, id),
                                          30 + id - HYDRA_TEST_HEAD1,
                                          (uint32_t) id, "t"), id);
    }

    n = hydra_ring_copy(ring, 1, text, HYDRA_TEST_TEXT_SIZE, out,
                        HYDRA_TEST_COPIED);
    ck_assert_uint_eq(n, 5);

    for (i = 0; i < n; i++) {
        id = i + 1;
        ck_assert_uint_eq(out[i].id, id);
        ck_assert_uint_eq(out[i].len, 30 + id);
        ck_assert_uint_eq(out[i].off, i == 0 ? 0 : out[i - 1].off
                                                   + out[i - 1].len);
        ck_assert_uint_eq(out[i].repo, id);
        ck_assert_str_eq(out[i].type, "t");
        ck_assert_int_eq(memcmp(text + out[i].off,
                                hydra_event(id, hydra_rest(30 + id, id)),
                                out[i].len), 0);
    }

    /* from the middle, from 0, and from the next id */

    n = hydra_ring_copy(ring, 3, text, HYDRA_TEST_TEXT_SIZE, out,
                        HYDRA_TEST_COPIED);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0].id, 3);
    ck_assert_uint_eq(out[0].off, 0);

    ck_assert_uint_eq(hydra_ring_copy(ring, 0, text, HYDRA_TEST_TEXT_SIZE,
                                      out, HYDRA_TEST_COPIED), 5);
    ck_assert_uint_eq(out[0].id, 1);

    ck_assert_uint_eq(hydra_ring_copy(ring, 6, text, HYDRA_TEST_TEXT_SIZE,
                                      out, HYDRA_TEST_COPIED), 0);
    ck_assert_uint_eq(hydra_ring_copy(ring, 100, text, HYDRA_TEST_TEXT_SIZE,
                                      out, HYDRA_TEST_COPIED), 0);
}
END_TEST


START_TEST(test_copy_stops)
{
    hydra_ring_copied_t  out[HYDRA_TEST_COPIED];

    hydra_new(16, 1024);

    hydra_push_total(40);
    hydra_push_total(50);
    hydra_push_total(60);

    /* one byte short of the third */
    ck_assert_uint_eq(hydra_ring_copy(ring, 1, text, 149, out,
                                      HYDRA_TEST_COPIED), 2);
    ck_assert_uint_eq(hydra_ring_copy(ring, 1, text, 150, out,
                                      HYDRA_TEST_COPIED), 3);

    /* the first does not fit: nothing */
    ck_assert_uint_eq(hydra_ring_copy(ring, 1, text, 39, out,
                                      HYDRA_TEST_COPIED), 0);
    ck_assert_uint_eq(hydra_ring_copy(ring, 1, text, 0, out,
                                      HYDRA_TEST_COPIED), 0);

    /* by the count of reports */
    ck_assert_uint_eq(hydra_ring_copy(ring, 1, text, HYDRA_TEST_TEXT_SIZE,
                                      out, 2), 2);
    ck_assert_uint_eq(out[1].id, 2);
    ck_assert_uint_eq(hydra_ring_copy(ring, 1, text, HYDRA_TEST_TEXT_SIZE,
                                      out, 0), 0);

    /* what a call stopped at, the next one starts from */
    ck_assert_uint_eq(hydra_ring_copy(ring, 3, text, HYDRA_TEST_TEXT_SIZE,
                                      out, 2), 1);
    ck_assert_uint_eq(out[0].id, 3);
    ck_assert_int_eq(memcmp(text, hydra_event(3, hydra_rest(60, 3)), 60),
                     0);
}
END_TEST


START_TEST(test_copy_across_wrap)
{
    size_t               n, i;
    hydra_ring_copied_t  out[HYDRA_TEST_COPIED];

    hydra_new(64, 200);

    for (i = 1; i <= 5; i++) {
        hydra_push_total(60);
    }

    /* 3 at the end of the area, 4 and 5 at its start */

    n = hydra_ring_copy(ring, 0, text, HYDRA_TEST_TEXT_SIZE, out,
                        HYDRA_TEST_COPIED);
    ck_assert_uint_eq(n, 3);

    for (i = 0; i < n; i++) {
        ck_assert_uint_eq(out[i].id, i + 3);
        ck_assert_uint_eq(out[i].off, i * 60);
        ck_assert_uint_eq(out[i].len, 60);
        ck_assert_int_eq(memcmp(text + out[i].off,
                                hydra_event(i + 3, hydra_rest(60, i + 3)),
                                60), 0);
    }

    /* a cursor on an overwritten id starts at the oldest */

    n = hydra_ring_copy(ring, 1, text, HYDRA_TEST_TEXT_SIZE, out,
                        HYDRA_TEST_COPIED);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0].id, 3);
}
END_TEST


START_TEST(test_valid)
{
    uint64_t      i;
    hydra_ring_t  saved;

    hydra_new(8, 300);

    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);

    for (i = 1; i <= 20; i++) {
        hydra_push_total(30 + (i * 7) % 50);
        ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);
    }

    /* a zone of another size than the ring says */
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size - 1), HYDRA_ERROR);
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size + 64), HYDRA_ERROR);
    ck_assert_int_eq(hydra_ring_valid(ring, 8), HYDRA_ERROR);

    saved = *ring;

    ring->magic ^= 1;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *ring = saved;

    ring->nslots = 6;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *ring = saved;

    ring->data_size += 8;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *ring = saved;

    ring->oldest = ring->next_id + 1;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *ring = saved;

    ring->oldest = 0;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *ring = saved;

    ring->oldest = ring->next_id - 9;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *ring = saved;

    /* an event that would read past the byte area */
    ring->write_pos += 1000;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *ring = saved;

    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);
}
END_TEST


START_TEST(test_valid_slots)
{
    uint64_t            i, id;
    hydra_ring_slot_t  *slot, saved;

    hydra_new(8, 300);

    for (i = 1; i <= 5; i++) {
        hydra_push_total(40);
    }

    /* 0, 40, 80, 120, 160: the third starts at 80 */

    id = 3;
    slot = (hydra_ring_slot_t *) (ring + 1) + (id & 7);
    ck_assert_uint_eq(slot->id, id);
    ck_assert_uint_eq(slot->pos, 80);
    saved = *slot;

    slot->id++;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *slot = saved;

    slot->len = 0;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *slot = saved;

    slot->len = 301;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *slot = saved;

    /* before the end of the previous one */
    slot->pos = 79;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *slot = saved;

    memset(slot->type, 'x', HYDRA_RING_TYPE_SIZE);
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
    *slot = saved;

    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);

    /* one event said to run across the end of the area */

    ck_assert_int_eq(hydra_ring_init(ring, ring_size, 8), HYDRA_OK);
    ck_assert_uint_eq(hydra_push_total(40), 1);
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);

    slot = (hydra_ring_slot_t *) (ring + 1) + 1;
    slot->pos = 290;
    ring->write_pos = 330;
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_ERROR);
}
END_TEST


START_TEST(test_valid_garbage)
{
    size_t     i, size;
    uint64_t  *mem;

    size = hydra_ring_size(16, 1024);
    mem = malloc(size);
    ck_assert_ptr_nonnull(mem);

    memset(mem, 0, size);
    ck_assert_int_eq(hydra_ring_valid((hydra_ring_t *) mem, size),
                     HYDRA_ERROR);

    memset(mem, 0xa5, size);
    ck_assert_int_eq(hydra_ring_valid((hydra_ring_t *) mem, size),
                     HYDRA_ERROR);

    for (i = 0; i < size / sizeof(uint64_t); i++) {
        mem[i] = hydra_random();
    }

    ck_assert_int_eq(hydra_ring_valid((hydra_ring_t *) mem, size),
                     HYDRA_ERROR);

    /* a good header over garbage slots */
    ck_assert_int_eq(hydra_ring_init(mem, size, 16), HYDRA_OK);
    ((hydra_ring_t *) mem)->next_id = 9;

    for (i = sizeof(hydra_ring_t) / sizeof(uint64_t);
         i < size / sizeof(uint64_t);
         i++)
    {
        mem[i] = hydra_random();
    }

    ck_assert_int_eq(hydra_ring_valid((hydra_ring_t *) mem, size),
                     HYDRA_ERROR);

    free(mem);
}
END_TEST


START_TEST(test_relocated)
{
    uint64_t       i;
    hydra_ring_t  *moved;

    hydra_new(8, 200);

    for (i = 1; i <= 5; i++) {
        hydra_push_total(60);
    }

    /* another worker's mapping: the same bytes at another address */

    moved = malloc(ring_size);
    ck_assert_ptr_nonnull(moved);
    memcpy(moved, ring, ring_size);
    memset(ring, 0xff, ring_size);

    ck_assert_int_eq(hydra_ring_valid(moved, ring_size), HYDRA_OK);
    ck_assert_uint_eq(hydra_ring_oldest(moved), 3);
    ck_assert_uint_eq(hydra_ring_next(moved), 6);
    hydra_check_gone(moved, 2);

    for (i = 3; i <= 5; i++) {
        hydra_check_get(moved, i, hydra_rest(60, i));
    }

    ck_assert_uint_eq(hydra_ring_push(moved, hydra_rest(60, 6),
                                      60 - HYDRA_TEST_HEAD1, 1, "t"), 6);
    hydra_check_get(moved, 6, hydra_rest(60, 6));
    ck_assert_int_eq(hydra_ring_valid(moved, ring_size), HYDRA_OK);

    free(moved);
}
END_TEST


START_TEST(test_ids_never_reset)
{
    uint64_t  i;

    hydra_new(8, 512);

    for (i = 1; i <= 10000; i++) {
        ck_assert_uint_eq(hydra_push("\"type\":\"a\"}"), i);
    }

    ck_assert_uint_eq(hydra_ring_next(ring), 10001);
    ck_assert_uint_eq(hydra_ring_oldest(ring), 9993);
    hydra_check_get(ring, 10000, "\"type\":\"a\"}");
    hydra_check_gone(ring, 9992);
    ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);
}
END_TEST


/*
 * Random sizes into a small ring, against a model of where each record
 * goes: after every push every id from the oldest on reads back as
 * written, and the oldest is exactly the first id that still has both
 * its slot and its bytes.
 */

START_TEST(test_soak)
{
    size_t            total;
    uint64_t          i, id, first, off, wpos;
    const char       *rest;
    static uint64_t   pos[HYDRA_TEST_SOAK + 1];

    hydra_new(16, 700);

    first = 1;
    wpos = 0;

    for (i = 1; i <= HYDRA_TEST_SOAK; i++) {
        rest = hydra_soak_rest(i);
        total = strlen(hydra_event(i, rest));

        pos[i] = wpos;
        off = wpos % 700;

        if (off + total > 700) {
            pos[i] += 700 - off;
        }

        wpos = pos[i] + total;

        while (i + 1 - first > 16 || wpos - pos[first] > 700) {
            first++;
        }

        ck_assert_uint_eq(hydra_push(hydra_soak_rest(i)), i);
        ck_assert_uint_eq(ring->write_pos, wpos);
        ck_assert_uint_eq(hydra_ring_oldest(ring), first);

        for (id = first; id <= i; id++) {
            hydra_check_get(ring, id, hydra_soak_rest(id));
        }

        if (first > 1) {
            hydra_check_gone(ring, first - 1);
        }

        if (i % 100 == 0) {
            ck_assert_int_eq(hydra_ring_valid(ring, ring_size), HYDRA_OK);
        }
    }
}
END_TEST


START_TEST(test_type)
{
    const char  *json, *type;
    size_t       len;
    uint32_t     repo;
    char         name[100];

    hydra_new(8, 1000);

    /* 60 bytes: the ring keeps 39 */
    memset(name, 'a', 60);
    name[60] = '\0';
    hydra_ring_push(ring, "}", 1, 1, name);

    ck_assert_int_eq(hydra_ring_get(ring, 1, &json, &len, &repo, &type),
                     HYDRA_OK);
    ck_assert_uint_eq(strlen(type), HYDRA_RING_TYPE_SIZE - 1);
    ck_assert_int_eq(strncmp(type, name, HYDRA_RING_TYPE_SIZE - 1), 0);

    /* "é" is two bytes: the 39th would be half of one */
    strcpy(name, "");

    for (len = 0; len < 25; len++) {
        strcat(name, "\xc3\xa9");
    }

    hydra_ring_push(ring, "}", 1, 1, name);
    ck_assert_int_eq(hydra_ring_get(ring, 2, &json, &len, &repo, &type),
                     HYDRA_OK);
    ck_assert_uint_eq(strlen(type), 38);
    ck_assert_int_eq(strncmp(type, name, 38), 0);

    hydra_ring_push(ring, "}", 1, 1, NULL);
    ck_assert_int_eq(hydra_ring_get(ring, 3, &json, &len, &repo, &type),
                     HYDRA_OK);
    ck_assert_str_eq(type, "");
}
END_TEST


START_TEST(test_head)
{
    char  head[HYDRA_RING_HEAD_SIZE];

    ck_assert_uint_eq(hydra_ring_head(head, 1), 8);
    ck_assert_str_eq(head, "{\"id\":1,");

    ck_assert_uint_eq(hydra_ring_head(head, UINT64_MAX), 27);
    ck_assert_str_eq(head, "{\"id\":18446744073709551615,");
}
END_TEST


Suite *
hydra_ring_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_ring");

    tc = tcase_create("layout");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_init_bad);
    tcase_add_test(tc, test_init_empty);
    tcase_add_test(tc, test_head);
    suite_add_tcase(s, tc);

    tc = tcase_create("push_get");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_ids_from_one);
    tcase_add_test(tc, test_get_after_push);
    tcase_add_test(tc, test_type);
    tcase_add_test(tc, test_ids_never_reset);
    suite_add_tcase(s, tc);

    tc = tcase_create("overwrite");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_overwrite_by_slots);
    tcase_add_test(tc, test_overwrite_by_bytes);
    tcase_add_test(tc, test_wrap_padding);
    tcase_add_test(tc, test_exact_fit);
    tcase_add_test(tc, test_too_big);
    tcase_add_test(tc, test_soak);
    suite_add_tcase(s, tc);

    tc = tcase_create("since");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_since_empty);
    tcase_add_test(tc, test_since);
    suite_add_tcase(s, tc);

    tc = tcase_create("copy");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_copy_all);
    tcase_add_test(tc, test_copy_stops);
    tcase_add_test(tc, test_copy_across_wrap);
    suite_add_tcase(s, tc);

    tc = tcase_create("valid");
    tcase_add_checked_fixture(tc, hydra_setup, hydra_teardown);
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_valid_slots);
    tcase_add_test(tc, test_valid_garbage);
    tcase_add_test(tc, test_relocated);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_ring_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


static void
hydra_setup(void)
{
    ring = NULL;
    ring_size = 0;
    seed = 0x9e3779b97f4a7c15ULL;

    text = malloc(HYDRA_TEST_TEXT_SIZE);
    ck_assert_ptr_nonnull(text);
}


static void
hydra_teardown(void)
{
    free(ring);
    free(text);
}


static hydra_ring_t *
hydra_new(uint32_t nslots, size_t data_size)
{
    ring_size = hydra_ring_size(nslots, data_size);
    ck_assert_uint_ne(ring_size, 0);

    ring = malloc(ring_size);
    ck_assert_ptr_nonnull(ring);

    /* what the zone held before does not matter */
    memset(ring, 0x5a, ring_size);

    ck_assert_int_eq(hydra_ring_init(ring, ring_size, nslots), HYDRA_OK);
    ck_assert_uint_eq(ring->data_size, data_size);

    return ring;
}


static uint64_t
hydra_push(const char *rest)
{
    return hydra_ring_push(ring, rest, strlen(rest), HYDRA_TEST_REPO,
                           HYDRA_TEST_TYPE);
}


/*
 * The rest of event id whose whole text, head included, is total bytes:
 * "x":"<id>......"}
 */

static const char *
hydra_rest(size_t total, uint64_t id)
{
    int          n;
    size_t       len;
    static char  rest[HYDRA_TEST_TEXT_SIZE];

    len = total - (id < 10 ? HYDRA_TEST_HEAD1 : (id < 100 ? 9 : 10));
    ck_assert_uint_ge(len, 10);
    ck_assert_uint_lt(len, sizeof(rest));

    n = snprintf(rest, sizeof(rest), "\"x\":\"%llu",
                 (unsigned long long) id);
    memset(rest + n, '.', len - n - 2);
    memcpy(rest + len - 2, "\"}", 3);

    return rest;
}


static uint64_t
hydra_push_total(size_t total)
{
    uint64_t  id;

    id = hydra_push(hydra_rest(total, hydra_ring_next(ring)));
    ck_assert_uint_ne(id, 0);

    return id;
}


/* the whole text of an event, as the ring should hold it */

static const char *
hydra_event(uint64_t id, const char *rest)
{
    static char  json[HYDRA_TEST_TEXT_SIZE + HYDRA_RING_HEAD_SIZE];

    snprintf(json, sizeof(json), "{\"id\":%llu,%s",
             (unsigned long long) id, rest);

    return json;
}


static void
hydra_check_get(const hydra_ring_t *r, uint64_t id, const char *rest)
{
    size_t       len;
    uint32_t     repo;
    const char  *json, *type, *expect;

    ck_assert_msg(hydra_ring_get(r, id, &json, &len, &repo, &type)
                  == HYDRA_OK, "get %llu", (unsigned long long) id);

    expect = hydra_event(id, rest);

    ck_assert_uint_eq(len, strlen(expect));
    ck_assert_msg(memcmp(json, expect, len) == 0, "event %llu: %.*s",
                  (unsigned long long) id, (int) len, json);

    /* inside the byte area */
    ck_assert(json >= (const char *) r + r->size - r->data_size);
    ck_assert(json + len <= (const char *) r + r->size);
}


static void
hydra_check_gone(const hydra_ring_t *r, uint64_t id)
{
    size_t       len;
    uint32_t     repo;
    const char  *json, *type;

    ck_assert_msg(hydra_ring_get(r, id, &json, &len, &repo, &type)
                  == HYDRA_DECLINED, "get %llu", (unsigned long long) id);
}


/* 1..300 bytes that depend on the id alone */

static const char *
hydra_soak_rest(uint64_t id)
{
    size_t       len;
    uint64_t     x;
    static char  rest[512];

    x = id * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    len = 1 + x % 300;

    snprintf(rest, sizeof(rest), "\"n\":%llu,\"p\":\"%.*s\"}",
             (unsigned long long) id, (int) len,
             "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij"
             "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij"
             "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij"
             "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij"
             "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij"
             "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij");

    return rest;
}


/* xorshift64: garbage that is the same on every run */

static uint64_t
hydra_random(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;

    return seed;
}
