
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_ws: RFC 6455 frames in both roles, fed whole and in every split
 * down to a byte at a time, each protocol error with its close code,
 * UTF-8 at its boundaries, the writers, and the handshake text.
 */


#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "hydra_ws.h"


#define HYDRA_TEST_MAX      32
#define HYDRA_TEST_STREAM   (70 * 1024)

#define HYDRA_TEST_ACCEPT   "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define HYDRA_TEST_KEY      "dGhlIHNhbXBsZSBub25jZQ=="

/* "κόσμε", Autobahn's 6.2 */
#define HYDRA_TEST_KOSME    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

/* not ck_assert(), which talks to the runner every time: a byte a call */
#define hydra_expect(c)                                                      \
    do {                                                                     \
        if (!(c)) {                                                          \
            ck_abort_msg("expected %s", #c);                                 \
        }                                                                    \
    } while (0)

#define hydra_feed(u, s)                                                     \
    hydra_utf8_feed(u, (const unsigned char *) s, sizeof(s) - 1)


/* a frame or a message as the caller puts it together from pieces */
typedef struct {
    int                  opcode;
    int                  message;
    int                  fin;
    unsigned             close_code;
    size_t               len;
    size_t               cap;
    unsigned char       *data;
} hydra_test_frame_t;


typedef struct {
    int                  rc;          /* of the last call */
    unsigned             close_code;  /* after HYDRA_ERROR */
    size_t               pieces;
    size_t               nframes;
    size_t               nmessages;
    int                  in_message;
    hydra_test_frame_t   frame;       /* being put together */
    hydra_test_frame_t   message;
    hydra_test_frame_t   frames[HYDRA_TEST_MAX];
    hydra_test_frame_t   messages[HYDRA_TEST_MAX];
} hydra_test_run_t;


typedef struct {
    const char          *bytes;
    size_t               len;
    size_t               fail_at;     /* the first byte that is wrong */
} hydra_test_utf8_t;


static void hydra_run(hydra_test_run_t *run, hydra_ws_role_e role,
    uint64_t max, const unsigned char *in, size_t len, size_t step);
static void hydra_run_splits(hydra_test_run_t *run, hydra_ws_role_e role,
    uint64_t max, const unsigned char *in, size_t len);
static void hydra_run_free(hydra_test_run_t *run);
static void hydra_piece(hydra_test_run_t *run, const hydra_ws_frame_t *f,
    hydra_ws_role_e role);
static void hydra_append(hydra_test_frame_t *t, const unsigned char *data,
    size_t len);
static void hydra_same(const hydra_test_run_t *a, const hydra_test_run_t *b);
static size_t hydra_add(unsigned char *out, size_t len,
    hydra_ws_role_e role, int opcode, int fin, const void *payload,
    size_t n);
static void hydra_check_frame(const hydra_test_frame_t *t, int opcode,
    int fin, const void *data, size_t len);
static void hydra_check_error(hydra_ws_role_e role, uint64_t max,
    const unsigned char *in, size_t len, unsigned code);
static void hydra_check_early(hydra_ws_role_e role, uint64_t max,
    const unsigned char *in, size_t len, unsigned code);
static void hydra_check_utf8_valid(const char *s, size_t len);
static void hydra_check_utf8_invalid(const hydra_test_utf8_t *t);
static size_t hydra_request(const char *host, const char *path,
    const char *key);
static int hydra_response(const char *text, char *accept, size_t *hlen);
static void hydra_check_response_bad(const char *text);


static const unsigned char  hydra_test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

static unsigned char        stream[HYDRA_TEST_STREAM];


/* RFC 6455 section 5.7 */

START_TEST(test_rfc_hello_unmasked)
{
    hydra_test_run_t            run;
    static const unsigned char  bytes[] = {
        0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f
    };

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, bytes, sizeof(bytes));

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nframes, 1);
    hydra_check_frame(&run.frames[0], HYDRA_WS_TEXT, 1, "Hello", 5);
    ck_assert_uint_eq(run.nmessages, 1);
    hydra_check_frame(&run.messages[0], HYDRA_WS_TEXT, 1, "Hello", 5);

    hydra_run_free(&run);
}
END_TEST


START_TEST(test_rfc_hello_masked)
{
    hydra_test_run_t            run;
    static const unsigned char  bytes[] = {
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };

    hydra_run_splits(&run, HYDRA_WS_SERVER, 0, bytes, sizeof(bytes));

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nframes, 1);
    hydra_check_frame(&run.frames[0], HYDRA_WS_TEXT, 1, "Hello", 5);
    ck_assert_uint_eq(run.nmessages, 1);

    hydra_run_free(&run);
}
END_TEST


START_TEST(test_rfc_fragmented)
{
    hydra_test_run_t            run;
    static const unsigned char  bytes[] = {
        0x01, 0x03, 0x48, 0x65, 0x6c,
        0x80, 0x02, 0x6c, 0x6f
    };

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, bytes, sizeof(bytes));

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nframes, 2);
    hydra_check_frame(&run.frames[0], HYDRA_WS_TEXT, 0, "Hel", 3);
    hydra_check_frame(&run.frames[1], HYDRA_WS_CONTINUATION, 1, "lo", 2);
    ck_assert_int_eq(run.frames[1].message, HYDRA_WS_TEXT);

    ck_assert_uint_eq(run.nmessages, 1);
    hydra_check_frame(&run.messages[0], HYDRA_WS_TEXT, 1, "Hello", 5);

    hydra_run_free(&run);
}
END_TEST


START_TEST(test_rfc_ping_pong)
{
    hydra_test_run_t            run;
    static const unsigned char  ping[] = {
        0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f
    };
    static const unsigned char  pong[] = {
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };

    /* the unmasked ping comes from a server, the masked pong from a client */

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, ping, sizeof(ping));

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nframes, 1);
    hydra_check_frame(&run.frames[0], HYDRA_WS_PING, 1, "Hello", 5);
    ck_assert_uint_eq(run.nmessages, 0);
    hydra_run_free(&run);

    hydra_run_splits(&run, HYDRA_WS_SERVER, 0, pong, sizeof(pong));

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nframes, 1);
    hydra_check_frame(&run.frames[0], HYDRA_WS_PONG, 1, "Hello", 5);
    ck_assert_uint_eq(run.nmessages, 0);
    hydra_run_free(&run);
}
END_TEST


START_TEST(test_rfc_256_bytes)
{
    size_t            i;
    hydra_test_run_t  run;
    unsigned char     payload[256];

    stream[0] = 0x82;
    stream[1] = 0x7e;
    stream[2] = 0x01;
    stream[3] = 0x00;

    for (i = 0; i < sizeof(payload); i++) {
        payload[i] = (unsigned char) i;
    }

    memcpy(stream + 4, payload, sizeof(payload));

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, stream, 4 + sizeof(payload));

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nframes, 1);
    hydra_check_frame(&run.frames[0], HYDRA_WS_BINARY, 1, payload, 256);
    hydra_check_frame(&run.messages[0], HYDRA_WS_BINARY, 1, payload, 256);

    hydra_run_free(&run);
}
END_TEST


START_TEST(test_rfc_64k)
{
    size_t                      i, n;
    unsigned char              *payload;
    hydra_test_run_t            run;
    static const unsigned char  header[] = {
        0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00
    };

    payload = malloc(65536);
    ck_assert_ptr_nonnull(payload);

    for (i = 0; i < 65536; i++) {
        payload[i] = (unsigned char) (i * 7 + (i >> 8));
    }

    memcpy(stream, header, sizeof(header));
    memcpy(stream + sizeof(header), payload, 65536);

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, stream, 10 + 65536);

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nframes, 1);
    hydra_check_frame(&run.frames[0], HYDRA_WS_BINARY, 1, payload, 65536);
    hydra_run_free(&run);

    /* the same masked, as a browser would send it: pieces of a chunk */

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_BINARY, 1, payload,
                  65536);
    ck_assert_uint_eq(n, 14 + 65536);

    hydra_run(&run, HYDRA_WS_SERVER, 0, stream, n, 0);

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.pieces, 65536 / HYDRA_WS_CHUNK);
    hydra_check_frame(&run.frames[0], HYDRA_WS_BINARY, 1, payload, 65536);
    hydra_run_free(&run);

    hydra_run_splits(&run, HYDRA_WS_SERVER, 0, stream, n);

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    hydra_check_frame(&run.messages[0], HYDRA_WS_BINARY, 1, payload, 65536);
    hydra_run_free(&run);

    free(payload);
}
END_TEST


/* pieces and splits */

START_TEST(test_split_mixed_stream)
{
    int               role;
    size_t            n;
    hydra_test_run_t  run;
    unsigned char     bin[300];

    memset(bin, 0xa5, sizeof(bin));

    for (role = HYDRA_WS_CLIENT; role <= HYDRA_WS_SERVER; role++) {
        n = hydra_add(stream, 0, role, HYDRA_WS_TEXT, 0, "\xce\xba\xe1", 3);
        n = hydra_add(stream, n, role, HYDRA_WS_PING, 1, "p", 1);
        n = hydra_add(stream, n, role, HYDRA_WS_CONTINUATION, 0,
                      "\xbd\xb9\xcf\x83\xce", 5);
        n = hydra_add(stream, n, role, HYDRA_WS_CONTINUATION, 0, "", 0);
        n = hydra_add(stream, n, role, HYDRA_WS_CONTINUATION, 1,
                      "\xbc\xce\xb5", 3);
        n = hydra_add(stream, n, role, HYDRA_WS_BINARY, 1, bin, sizeof(bin));
        n = hydra_add(stream, n, role, HYDRA_WS_TEXT, 1, "", 0);
        n = hydra_add(stream, n, role, HYDRA_WS_PONG, 1, "", 0);
        n = hydra_add(stream, n, role, HYDRA_WS_CLOSE, 1, "\x03\xe8" "bye",
                      5);

        hydra_run_splits(&run, role, 0, stream, n);

        ck_assert_int_eq(run.rc, HYDRA_AGAIN);
        ck_assert_uint_eq(run.nframes, 9);
        hydra_check_frame(&run.frames[1], HYDRA_WS_PING, 1, "p", 1);
        hydra_check_frame(&run.frames[3], HYDRA_WS_CONTINUATION, 0, "", 0);
        hydra_check_frame(&run.frames[7], HYDRA_WS_PONG, 1, "", 0);
        hydra_check_frame(&run.frames[8], HYDRA_WS_CLOSE, 1, "\x03\xe8" "bye",
                          5);
        ck_assert_uint_eq(run.frames[8].close_code, 1000);

        ck_assert_uint_eq(run.nmessages, 3);
        hydra_check_frame(&run.messages[0], HYDRA_WS_TEXT, 1,
                          HYDRA_TEST_KOSME, sizeof(HYDRA_TEST_KOSME) - 1);
        hydra_check_frame(&run.messages[1], HYDRA_WS_BINARY, 1, bin,
                          sizeof(bin));
        hydra_check_frame(&run.messages[2], HYDRA_WS_TEXT, 1, "", 0);

        hydra_run_free(&run);
    }
}
END_TEST


START_TEST(test_split_again_consumes)
{
    int                         rc;
    size_t                      consumed;
    hydra_ws_frame_t            f;
    hydra_ws_parser_t           p;
    static const unsigned char  bytes[] = {
        0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f
    };

    hydra_ws_parser_init(&p, HYDRA_WS_CLIENT, 0);

    rc = hydra_ws_parse(&p, bytes, 0, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_AGAIN);
    ck_assert_uint_eq(consumed, 0);

    /* the header is kept in the parser: the caller may drop its bytes */

    rc = hydra_ws_parse(&p, bytes, 1, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_AGAIN);
    ck_assert_uint_eq(consumed, 1);

    rc = hydra_ws_parse(&p, bytes + 1, 1, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_AGAIN);
    ck_assert_uint_eq(consumed, 1);

    /* part of the payload is given at once, pointing into buf */

    rc = hydra_ws_parse(&p, bytes + 2, 3, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_uint_eq(consumed, 3);
    ck_assert_ptr_eq(f.data, bytes + 2);
    ck_assert_uint_eq(f.len, 3);
    ck_assert_uint_eq(f.offset, 0);
    ck_assert_uint_eq(f.frame_len, 5);
    ck_assert_int_eq(f.last, 0);
    ck_assert_int_eq(f.end, 0);

    rc = hydra_ws_parse(&p, bytes + 5, 0, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_AGAIN);

    rc = hydra_ws_parse(&p, bytes + 5, 2, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_uint_eq(consumed, 2);
    ck_assert_mem_eq(f.data, "lo", 2);
    ck_assert_uint_eq(f.offset, 3);
    ck_assert_int_eq(f.last, 1);
    ck_assert_int_eq(f.end, 1);
}
END_TEST


START_TEST(test_split_several_frames_one_buffer)
{
    int                rc;
    size_t             consumed, n;
    hydra_ws_frame_t   f;
    hydra_ws_parser_t  p;

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 1, "ab", 2);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 1, "cd", 2);

    hydra_ws_parser_init(&p, HYDRA_WS_CLIENT, 0);

    /* one frame a call: the caller calls again with what is left */

    rc = hydra_ws_parse(&p, stream, n, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_uint_eq(consumed, 4);
    ck_assert_mem_eq(f.data, "ab", 2);

    rc = hydra_ws_parse(&p, stream + 4, n - 4, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_uint_eq(consumed, 4);
    ck_assert_mem_eq(f.data, "cd", 2);

    rc = hydra_ws_parse(&p, stream + 8, 0, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_AGAIN);
}
END_TEST


START_TEST(test_split_masked_pieces)
{
    int                rc;
    size_t             consumed, n, i;
    hydra_ws_frame_t   f;
    hydra_ws_parser_t  p;
    unsigned char      payload[HYDRA_WS_CHUNK + 10];

    for (i = 0; i < sizeof(payload); i++) {
        payload[i] = (unsigned char) ('a' + i % 26);
    }

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_TEXT, 1, payload,
                  sizeof(payload));

    hydra_ws_parser_init(&p, HYDRA_WS_SERVER, 0);

    /* 3 payload bytes first: the mask offset must carry over */

    rc = hydra_ws_parse(&p, stream, 8 + 3, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_uint_eq(consumed, 11);
    ck_assert_uint_eq(f.len, 3);
    ck_assert_mem_eq(f.data, payload, 3);

    rc = hydra_ws_parse(&p, stream + 11, n - 11, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_uint_eq(consumed, HYDRA_WS_CHUNK);
    ck_assert_uint_eq(f.offset, 3);
    ck_assert_mem_eq(f.data, payload + 3, HYDRA_WS_CHUNK);
    ck_assert_int_eq(f.last, 0);

    rc = hydra_ws_parse(&p, stream + 11 + HYDRA_WS_CHUNK,
                        n - 11 - HYDRA_WS_CHUNK, &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_uint_eq(f.len, 7);
    ck_assert_mem_eq(f.data, payload + 3 + HYDRA_WS_CHUNK, 7);
    ck_assert_int_eq(f.last, 1);
    ck_assert_int_eq(f.end, 1);
}
END_TEST


START_TEST(test_split_noncanonical_length)
{
    hydra_test_run_t            run;
    static const unsigned char  bytes[] = {
        0x81, 0x7e, 0x00, 0x05, 'H', 'e', 'l', 'l', 'o',
        0x81, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 'h', 'i'
    };

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, bytes, sizeof(bytes));

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nframes, 2);
    hydra_check_frame(&run.frames[0], HYDRA_WS_TEXT, 1, "Hello", 5);
    hydra_check_frame(&run.frames[1], HYDRA_WS_TEXT, 1, "hi", 2);

    hydra_run_free(&run);
}
END_TEST


/* 1002 */

START_TEST(test_error_reserved_bits)
{
    static const unsigned char  rsv1[] = { 0xc1, 0x00 };
    static const unsigned char  rsv2[] = { 0xa1, 0x00 };
    static const unsigned char  rsv3[] = { 0x91, 0x00 };
    static const unsigned char  ping[] = { 0xc9, 0x00 };

    hydra_check_error(HYDRA_WS_CLIENT, 0, rsv1, 2, 1002);
    hydra_check_error(HYDRA_WS_CLIENT, 0, rsv2, 2, 1002);
    hydra_check_error(HYDRA_WS_CLIENT, 0, rsv3, 2, 1002);
    hydra_check_error(HYDRA_WS_CLIENT, 0, ping, 2, 1002);
}
END_TEST


START_TEST(test_error_unknown_opcode)
{
    int            op;
    unsigned char  bytes[6];

    for (op = 0; op < 16; op++) {
        if (op <= 2 || (op >= 8 && op <= 10)) {
            continue;
        }

        bytes[0] = (unsigned char) (0x80 | op);
        bytes[1] = 0x00;
        hydra_check_error(HYDRA_WS_CLIENT, 0, bytes, 2, 1002);

        bytes[1] = 0x80;
        memcpy(bytes + 2, hydra_test_mask, 4);
        hydra_check_error(HYDRA_WS_SERVER, 0, bytes, 6, 1002);
    }
}
END_TEST


START_TEST(test_error_control_fragmented)
{
    static const unsigned char  ping[] = { 0x09, 0x00 };
    static const unsigned char  pong[] = { 0x0a, 0x01, 'x' };
    static const unsigned char  close[] = { 0x08, 0x02, 0x03, 0xe8 };

    hydra_check_error(HYDRA_WS_CLIENT, 0, ping, sizeof(ping), 1002);
    hydra_check_error(HYDRA_WS_CLIENT, 0, pong, sizeof(pong), 1002);
    hydra_check_error(HYDRA_WS_CLIENT, 0, close, sizeof(close), 1002);
}
END_TEST


START_TEST(test_error_control_too_long)
{
    size_t                      n;
    unsigned char               payload[126];
    static const unsigned char  ping[] = { 0x89, 0x7e, 0x00, 0x7e };
    static const unsigned char  close[] = { 0x88, 0x7e, 0x00, 0x7e };
    static const unsigned char  short_form[] = { 0x89, 0x7e, 0x00, 0x05 };

    memset(payload, 'x', sizeof(payload));

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_PING, 1, payload,
                  sizeof(payload));

    hydra_check_error(HYDRA_WS_CLIENT, 0, stream, n, 1002);
    hydra_check_error(HYDRA_WS_CLIENT, 0, ping, sizeof(ping), 1002);
    hydra_check_error(HYDRA_WS_CLIENT, 0, close, sizeof(close), 1002);

    /* a 16-bit length is wrong for a control frame, whatever it says */
    hydra_check_error(HYDRA_WS_CLIENT, 0, short_form, 2, 1002);

    /* 125 is fine */

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_PING, 1, payload,
                  125);
    hydra_check_early(HYDRA_WS_SERVER, 0, stream, n, 0);
}
END_TEST


START_TEST(test_error_continuation_first)
{
    size_t  n;

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_CONTINUATION, 1, "x",
                  1);
    hydra_check_error(HYDRA_WS_CLIENT, 0, stream, n, 1002);

    /* after a whole message, too */

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_TEXT, 0, "a", 1);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_CONTINUATION, 1, "b",
                  1);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_CONTINUATION, 1, "c",
                  1);
    hydra_check_error(HYDRA_WS_SERVER, 0, stream, n, 1002);
}
END_TEST


START_TEST(test_error_data_in_open_message)
{
    size_t  n;

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 0, "a", 1);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 1, "b", 1);
    hydra_check_error(HYDRA_WS_CLIENT, 0, stream, n, 1002);

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_BINARY, 0, "a", 1);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_PING, 1, "", 0);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_BINARY, 1, "b", 1);
    hydra_check_error(HYDRA_WS_SERVER, 0, stream, n, 1002);

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 0, "a", 1);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_BINARY, 0, "b", 1);
    hydra_check_error(HYDRA_WS_CLIENT, 0, stream, n, 1002);
}
END_TEST


START_TEST(test_error_masking)
{
    static const unsigned char  unmasked[] = {
        0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f
    };
    static const unsigned char  masked[] = {
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };
    static const unsigned char  close[] = { 0x88, 0x00 };

    /* a browser must mask; a repo must not */

    hydra_check_error(HYDRA_WS_SERVER, 0, unmasked, sizeof(unmasked), 1002);
    hydra_check_error(HYDRA_WS_CLIENT, 0, masked, sizeof(masked), 1002);
    hydra_check_error(HYDRA_WS_SERVER, 0, close, sizeof(close), 1002);
}
END_TEST


START_TEST(test_error_length_top_bit)
{
    static const unsigned char  top[] = {
        0x82, 0x7f, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01
    };
    static const unsigned char  huge[] = {
        0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    };

    hydra_check_error(HYDRA_WS_CLIENT, 0, top, sizeof(top), 1002);

    /* 2^63 - 1 is a length: unlimited, it waits; limited, too big */
    hydra_check_early(HYDRA_WS_CLIENT, 0, huge, sizeof(huge), 0);
    hydra_check_error(HYDRA_WS_CLIENT, 1 << 20, huge, sizeof(huge), 1009);
}
END_TEST


START_TEST(test_error_found_early)
{
    static const unsigned char  rsv[] = { 0xc1, 0x05 };
    static const unsigned char  cont[] = { 0x80, 0x05 };
    static const unsigned char  unmasked[] = { 0x81, 0x05 };
    static const unsigned char  big[] = { 0x82, 0x7e, 0x10, 0x00 };
    static const unsigned char  close[] = { 0x88, 0x01 };

    /* the header alone, without its payload */

    hydra_check_early(HYDRA_WS_CLIENT, 0, rsv, sizeof(rsv), 1002);
    hydra_check_early(HYDRA_WS_CLIENT, 0, cont, sizeof(cont), 1002);
    hydra_check_early(HYDRA_WS_SERVER, 0, unmasked, sizeof(unmasked), 1002);
    hydra_check_early(HYDRA_WS_CLIENT, 1000, big, sizeof(big), 1009);
    hydra_check_early(HYDRA_WS_CLIENT, 0, close, sizeof(close), 1002);
}
END_TEST


START_TEST(test_error_sticks)
{
    int                         rc;
    size_t                      consumed;
    hydra_ws_frame_t            f;
    hydra_ws_parser_t           p;
    static const unsigned char  bad[] = { 0xc1, 0x00 };
    static const unsigned char  good[] = { 0x81, 0x00 };

    hydra_ws_parser_init(&p, HYDRA_WS_CLIENT, 0);

    rc = hydra_ws_parse(&p, bad, sizeof(bad), &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_ERROR);
    ck_assert_uint_eq(p.close_code, 1002);

    rc = hydra_ws_parse(&p, good, sizeof(good), &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_ERROR);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_uint_eq(p.close_code, 1002);

    /* init starts over */

    hydra_ws_parser_init(&p, HYDRA_WS_CLIENT, 0);

    rc = hydra_ws_parse(&p, good, sizeof(good), &consumed, &f);
    ck_assert_int_eq(rc, HYDRA_OK);
}
END_TEST


START_TEST(test_control_between_fragments)
{
    size_t            n;
    hydra_test_run_t  run;

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_BINARY, 0, "ab", 2);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_PING, 1, "1", 1);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_CONTINUATION, 0, "c",
                  1);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_PONG, 1, "2", 1);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_CONTINUATION, 1, "d",
                  1);

    hydra_run_splits(&run, HYDRA_WS_SERVER, 0, stream, n);

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nframes, 5);
    ck_assert_int_eq(run.frames[1].opcode, HYDRA_WS_PING);
    ck_assert_int_eq(run.frames[3].opcode, HYDRA_WS_PONG);
    ck_assert_uint_eq(run.nmessages, 1);
    hydra_check_frame(&run.messages[0], HYDRA_WS_BINARY, 1, "abcd", 4);

    hydra_run_free(&run);
}
END_TEST


/* close frames */

START_TEST(test_close_valid_codes)
{
    size_t                 i, n, len;
    hydra_test_run_t       run;
    unsigned char          payload[HYDRA_WS_CONTROL_MAX];
    static const unsigned  codes[] = {
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
        3000, 3999, 4000, 4999
    };

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        len = hydra_ws_close_payload(payload, codes[i], "ok");
        n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_CLOSE, 1,
                      payload, len);

        hydra_run_splits(&run, HYDRA_WS_SERVER, 0, stream, n);

        ck_assert_int_eq(run.rc, HYDRA_AGAIN);
        ck_assert_uint_eq(run.nframes, 1);
        ck_assert_uint_eq(run.frames[0].close_code, codes[i]);

        hydra_run_free(&run);
    }
}
END_TEST


START_TEST(test_close_invalid_codes)
{
    size_t                 i, n, len;
    unsigned char          payload[HYDRA_WS_CONTROL_MAX];
    static const unsigned  codes[] = {
        0, 1, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100,
        2000, 2999, 5000, 65535
    };

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        len = hydra_ws_close_payload(payload, codes[i], NULL);

        if (codes[i] == 0) {
            payload[0] = 0;
            payload[1] = 0;
            len = 2;
        }

        n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_CLOSE, 1,
                      payload, len);

        hydra_check_error(HYDRA_WS_CLIENT, 0, stream, n, 1002);
    }
}
END_TEST


START_TEST(test_close_empty_and_reason)
{
    int                rc;
    size_t             consumed, n;
    hydra_ws_frame_t   f;
    hydra_ws_parser_t  p;

    hydra_ws_parser_init(&p, HYDRA_WS_SERVER, 0);

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_CLOSE, 1, "", 0);
    rc = hydra_ws_parse(&p, stream, n, &consumed, &f);

    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_int_eq(f.opcode, HYDRA_WS_CLOSE);
    ck_assert_uint_eq(f.close_code, HYDRA_WS_NO_STATUS);
    ck_assert_ptr_null(f.reason);
    ck_assert_uint_eq(f.reason_len, 0);

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_CLOSE, 1,
                  "\x0f\xa0" "caf\xc3\xa9", 7);
    rc = hydra_ws_parse(&p, stream, n, &consumed, &f);

    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_uint_eq(f.close_code, 4000);
    ck_assert_uint_eq(f.reason_len, 5);
    ck_assert_mem_eq(f.reason, "caf\xc3\xa9", 5);
    ck_assert_uint_eq(f.len, 7);
}
END_TEST


START_TEST(test_close_one_byte)
{
    size_t  n;

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_CLOSE, 1, "\x03", 1);
    hydra_check_error(HYDRA_WS_SERVER, 0, stream, n, 1002);
}
END_TEST


START_TEST(test_close_bad_reason)
{
    size_t  n;

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_CLOSE, 1,
                  "\x03\xe8" "a\xc0\x80", 5);
    hydra_check_error(HYDRA_WS_CLIENT, 0, stream, n, 1007);

    /* cut in the middle of a character */
    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_CLOSE, 1,
                  "\x03\xe8" "caf\xc3", 6);
    hydra_check_error(HYDRA_WS_CLIENT, 0, stream, n, 1007);
}
END_TEST


/* 1009 */

START_TEST(test_too_big_frame)
{
    size_t            n;
    hydra_test_run_t  run;

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_TEXT, 1,
                  "0123456789a", 11);
    hydra_check_error(HYDRA_WS_SERVER, 10, stream, n, 1009);

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_TEXT, 1,
                  "0123456789", 10);
    hydra_run_splits(&run, HYDRA_WS_SERVER, 10, stream, n);
    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nmessages, 1);
    hydra_run_free(&run);
}
END_TEST


START_TEST(test_too_big_fragments)
{
    size_t            n;
    unsigned char     ping[HYDRA_WS_CONTROL_MAX];
    hydra_test_run_t  run;

    memset(ping, 'p', sizeof(ping));

    /* every fragment counts, control frames do not */

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_BINARY, 0, "01234", 5);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_PING, 1, ping,
                  sizeof(ping));
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_CONTINUATION, 1,
                  "56789", 5);

    /* and the count starts again with each message */

    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 0, "0123", 4);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_CONTINUATION, 1,
                  "456789", 6);

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 10, stream, n);
    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nmessages, 2);
    hydra_run_free(&run);

    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 0, "01234", 5);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_CONTINUATION, 0,
                  "56789", 5);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_CONTINUATION, 1,
                  "!", 1);

    hydra_check_error(HYDRA_WS_CLIENT, 10, stream, n, 1009);

    /* 0 is no limit */

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, stream, n);
    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nmessages, 3);
    hydra_run_free(&run);
}
END_TEST


/* UTF-8 */

START_TEST(test_utf8_boundaries)
{
    /* U+007F, 0080, 07FF, 0800, D7FF, E000, FFFD, FFFF, 10000, 10FFFF */

    hydra_check_utf8_valid("\x7f", 1);
    hydra_check_utf8_valid("\xc2\x80", 2);
    hydra_check_utf8_valid("\xdf\xbf", 2);
    hydra_check_utf8_valid("\xe0\xa0\x80", 3);
    hydra_check_utf8_valid("\xed\x9f\xbf", 3);
    hydra_check_utf8_valid("\xee\x80\x80", 3);
    hydra_check_utf8_valid("\xef\xbf\xbd", 3);
    hydra_check_utf8_valid("\xef\xbf\xbf", 3);
    hydra_check_utf8_valid("\xf0\x90\x80\x80", 4);
    hydra_check_utf8_valid("\xf4\x8f\xbf\xbf", 4);
    hydra_check_utf8_valid(HYDRA_TEST_KOSME, sizeof(HYDRA_TEST_KOSME) - 1);
    hydra_check_utf8_valid("", 0);
    hydra_check_utf8_valid("\0", 1);
}
END_TEST


START_TEST(test_utf8_invalid_classes)
{
    size_t                          i;
    static const hydra_test_utf8_t  cases[] = {

        /* lone continuations and bytes that never appear */
        { "\x80", 1, 0 },
        { "\xbf", 1, 0 },
        { "a\x80", 2, 1 },
        { "\xfe", 1, 0 },
        { "\xff", 1, 0 },
        { "\xf5\x80\x80\x80", 4, 0 },
        { "\xf8\x88\x80\x80\x80", 5, 0 },
        { "\xfc\x84\x80\x80\x80\x80", 6, 0 },

        /* overlong forms */
        { "\xc0\x80", 2, 0 },
        { "\xc1\xbf", 2, 0 },
        { "\xe0\x80\x80", 3, 1 },
        { "\xe0\x9f\xbf", 3, 1 },
        { "\xf0\x80\x80\x80", 4, 1 },
        { "\xf0\x8f\xbf\xbf", 4, 1 },

        /* surrogates U+D800, U+DBFF, U+DC00, U+DFFF */
        { "\xed\xa0\x80", 3, 1 },
        { "\xed\xaf\xbf", 3, 1 },
        { "\xed\xb0\x80", 3, 1 },
        { "\xed\xbf\xbf", 3, 1 },

        /* above U+10FFFF */
        { "\xf4\x90\x80\x80", 4, 1 },
        { "\xf4\xbf\xbf\xbf", 4, 1 },

        /* a sequence broken off by another byte */
        { "\xc2\x41", 2, 1 },
        { "\xe2\x82\x41", 3, 2 },
        { "\xf0\x90\x80\xc2", 4, 3 },
        { "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", 14, 12 }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hydra_check_utf8_invalid(&cases[i]);
    }
}
END_TEST


START_TEST(test_utf8_truncated)
{
    hydra_utf8_t  u;

    hydra_utf8_init(&u);
    ck_assert_int_eq(hydra_feed(&u, "a\xc2"), HYDRA_OK);
    ck_assert_int_eq(hydra_utf8_done(&u), HYDRA_ERROR);

    hydra_utf8_init(&u);
    ck_assert_int_eq(hydra_feed(&u, "\xe2\x82"), HYDRA_OK);
    ck_assert_int_eq(hydra_utf8_done(&u), HYDRA_ERROR);

    hydra_utf8_init(&u);
    ck_assert_int_eq(hydra_feed(&u, "\xf4\x8f\xbf"), HYDRA_OK);
    ck_assert_int_eq(hydra_utf8_done(&u), HYDRA_ERROR);

    /* the rest completes it */
    ck_assert_int_eq(hydra_feed(&u, "\xbf"), HYDRA_OK);
    ck_assert_int_eq(hydra_utf8_done(&u), HYDRA_OK);
}
END_TEST


START_TEST(test_utf8_error_sticks)
{
    hydra_utf8_t  u;

    hydra_utf8_init(&u);
    ck_assert_int_eq(hydra_feed(&u, "\xff"), HYDRA_ERROR);
    ck_assert_int_eq(hydra_feed(&u, "a"), HYDRA_ERROR);
    ck_assert_int_eq(hydra_utf8_done(&u), HYDRA_ERROR);
}
END_TEST


START_TEST(test_utf8_text_fragments)
{
    size_t            cut, n;
    hydra_test_run_t  run;
    const char       *s;

    s = HYDRA_TEST_KOSME;

    /* every place to cut the message in two, fed in every split */

    for (cut = 0; cut <= sizeof(HYDRA_TEST_KOSME) - 1; cut++) {
        n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_TEXT, 0, s, cut);
        n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_CONTINUATION, 1,
                      s + cut, sizeof(HYDRA_TEST_KOSME) - 1 - cut);

        hydra_run_splits(&run, HYDRA_WS_SERVER, 0, stream, n);

        ck_assert_int_eq(run.rc, HYDRA_AGAIN);
        ck_assert_uint_eq(run.nmessages, 1);
        hydra_check_frame(&run.messages[0], HYDRA_WS_TEXT, 1, s,
                          sizeof(HYDRA_TEST_KOSME) - 1);

        hydra_run_free(&run);
    }

    /* U+10000 in four fragments of one byte */

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 0, "\xf0", 1);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_CONTINUATION, 0,
                  "\x90", 1);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_CONTINUATION, 0,
                  "\x80", 1);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_CONTINUATION, 1,
                  "\x80", 1);

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, stream, n);
    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    hydra_check_frame(&run.messages[0], HYDRA_WS_TEXT, 1,
                      "\xf0\x90\x80\x80", 4);
    hydra_run_free(&run);
}
END_TEST


START_TEST(test_utf8_text_invalid)
{
    size_t  n;

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 1,
                  "\xf4\x90\x80\x80", 4);
    hydra_check_error(HYDRA_WS_CLIENT, 0, stream, n, 1007);

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_TEXT, 1,
                  "ok\xed\xa0\x80", 5);
    hydra_check_error(HYDRA_WS_SERVER, 0, stream, n, 1007);

    /* invalid in a later fragment */

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_TEXT, 0, "ok", 2);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_CONTINUATION, 1,
                  "\xc0\xaf", 2);
    hydra_check_error(HYDRA_WS_SERVER, 0, stream, n, 1007);

    /* found in the first fragment, before the message ends */

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 0,
                  HYDRA_TEST_KOSME "\xed\xa0\x80", 14);
    hydra_check_early(HYDRA_WS_CLIENT, 0, stream, n, 1007);

    /* and at the first bad byte, even as the frame goes on */

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 1,
                  "a\xff" "bcdef", 7);
    hydra_check_early(HYDRA_WS_CLIENT, 0, stream, 2 + 2, 1007);
}
END_TEST


START_TEST(test_utf8_text_truncated)
{
    size_t  n;

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_TEXT, 1, "ab\xe2\x82",
                  4);
    hydra_check_error(HYDRA_WS_CLIENT, 0, stream, n, 1007);

    n = hydra_add(stream, 0, HYDRA_WS_SERVER, HYDRA_WS_TEXT, 0, "\xce", 1);
    n = hydra_add(stream, n, HYDRA_WS_SERVER, HYDRA_WS_CONTINUATION, 1, "",
                  0);
    hydra_check_error(HYDRA_WS_SERVER, 0, stream, n, 1007);
}
END_TEST


START_TEST(test_utf8_binary_not_checked)
{
    size_t            n;
    hydra_test_run_t  run;

    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_BINARY, 0, "\xff", 1);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_CONTINUATION, 1,
                  "\xc0\x80\xed\xa0\x80\xe2", 6);
    n = hydra_add(stream, n, HYDRA_WS_CLIENT, HYDRA_WS_PING, 1, "\xff", 1);

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, stream, n);

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.nmessages, 1);
    ck_assert_uint_eq(run.nframes, 3);

    hydra_run_free(&run);
}
END_TEST


/* writers */

START_TEST(test_header_sizes)
{
    size_t                 i, n;
    unsigned char          h[HYDRA_WS_HEADER_MAX];
    static const uint64_t  lens[] = { 0, 125, 126, 65535, 65536 };
    static const size_t    sizes[] = { 2, 2, 4, 4, 10 };

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        n = hydra_ws_header(h, HYDRA_WS_BINARY, 1, lens[i], NULL);
        ck_assert_uint_eq(n, sizes[i]);
        ck_assert_int_eq(h[1] & 0x80, 0);

        n = hydra_ws_header(h, HYDRA_WS_BINARY, 1, lens[i], hydra_test_mask);
        ck_assert_uint_eq(n, sizes[i] + 4);
        ck_assert_int_eq(h[1] & 0x80, 0x80);
        ck_assert_mem_eq(h + sizes[i], hydra_test_mask, 4);
    }
}
END_TEST


START_TEST(test_header_bytes)
{
    size_t         n;
    unsigned char  h[HYDRA_WS_HEADER_MAX];

    n = hydra_ws_header(h, HYDRA_WS_TEXT, 1, 5, NULL);
    ck_assert_uint_eq(n, 2);
    ck_assert_mem_eq(h, "\x81\x05", 2);

    n = hydra_ws_header(h, HYDRA_WS_CONTINUATION, 0, 126, NULL);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(h, "\x00\x7e\x00\x7e", 4);

    n = hydra_ws_header(h, HYDRA_WS_BINARY, 1, 65535, NULL);
    ck_assert_mem_eq(h, "\x82\x7e\xff\xff", 4);

    n = hydra_ws_header(h, HYDRA_WS_BINARY, 1, 65536, NULL);
    ck_assert_mem_eq(h, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);

    n = hydra_ws_header(h, HYDRA_WS_TEXT, 0, 0x0102030405060708ULL,
                        hydra_test_mask);
    ck_assert_uint_eq(n, 14);
    ck_assert_mem_eq(h, "\x01\xff\x01\x02\x03\x04\x05\x06\x07\x08", 10);

    n = hydra_ws_header(h, HYDRA_WS_CLOSE, 1, 2, hydra_test_mask);
    ck_assert_uint_eq(n, 6);
    ck_assert_mem_eq(h, "\x88\x82\x37\xfa\x21\x3d", 6);
}
END_TEST


START_TEST(test_header_round_trip)
{
    int                  role;
    size_t               i, j, n;
    unsigned char       *payload;
    hydra_test_run_t     run;
    static const size_t  lens[] = { 0, 125, 126, 65535, 65536 };

    payload = malloc(65536);
    ck_assert_ptr_nonnull(payload);

    for (j = 0; j < 65536; j++) {
        payload[j] = (unsigned char) (j % 251);
    }

    for (role = HYDRA_WS_CLIENT; role <= HYDRA_WS_SERVER; role++) {
        for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            n = hydra_add(stream, 0, role, HYDRA_WS_BINARY, 0, payload,
                          lens[i]);
            n = hydra_add(stream, n, role, HYDRA_WS_CONTINUATION, 1, "!", 1);

            hydra_run(&run, role, 0, stream, n, 0);

            ck_assert_int_eq(run.rc, HYDRA_AGAIN);
            ck_assert_uint_eq(run.nframes, 2);
            hydra_check_frame(&run.frames[0], HYDRA_WS_BINARY, 0, payload,
                              lens[i]);
            hydra_check_frame(&run.frames[1], HYDRA_WS_CONTINUATION, 1, "!",
                              1);
            ck_assert_uint_eq(run.messages[0].len, lens[i] + 1);

            hydra_run_free(&run);
        }
    }

    free(payload);
}
END_TEST


START_TEST(test_mask_offsets)
{
    size_t         i, piece, off;
    unsigned char  plain[64], whole[64], pieces[64];

    for (i = 0; i < sizeof(plain); i++) {
        plain[i] = (unsigned char) (i * 13);
    }

    memcpy(whole, plain, sizeof(plain));
    hydra_ws_mask(whole, sizeof(whole), hydra_test_mask, 0);

    for (i = 0; i < sizeof(plain); i++) {
        ck_assert_uint_eq(whole[i], plain[i] ^ hydra_test_mask[i % 4]);
    }

    /* in pieces of every size, each given its offset */

    for (piece = 1; piece <= 9; piece++) {
        memcpy(pieces, plain, sizeof(plain));

        for (off = 0; off < sizeof(pieces); off += piece) {
            hydra_ws_mask(pieces + off,
                          (sizeof(pieces) - off < piece)
                          ? sizeof(pieces) - off : piece,
                          hydra_test_mask, off);
        }

        ck_assert_mem_eq(pieces, whole, sizeof(whole));

        /* masking again unmasks */
        hydra_ws_mask(pieces, sizeof(pieces), hydra_test_mask, 0);
        ck_assert_mem_eq(pieces, plain, sizeof(plain));
    }

    memcpy(pieces, "Hello", 5);
    hydra_ws_mask(pieces, 5, hydra_test_mask, 0);
    ck_assert_mem_eq(pieces, "\x7f\x9f\x4d\x51\x58", 5);
}
END_TEST


START_TEST(test_close_payload)
{
    size_t         n;
    char           reason[201];
    unsigned char  dst[HYDRA_WS_CONTROL_MAX];
    hydra_utf8_t   u;

    n = hydra_ws_close_payload(dst, 1000, "bye");
    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(dst, "\x03\xe8" "bye", 5);

    n = hydra_ws_close_payload(dst, 1008, NULL);
    ck_assert_uint_eq(n, 2);
    ck_assert_mem_eq(dst, "\x03\xf0", 2);

    n = hydra_ws_close_payload(dst, 1001, "");
    ck_assert_uint_eq(n, 2);

    n = hydra_ws_close_payload(dst, 0, "ignored");
    ck_assert_uint_eq(n, 0);

    memset(reason, 'a', 200);
    reason[200] = '\0';
    n = hydra_ws_close_payload(dst, 1009, reason);
    ck_assert_uint_eq(n, HYDRA_WS_CONTROL_MAX);

    /* "é" across the 123-byte line is left out whole */

    memset(reason, 'a', 122);
    strcpy(reason + 122, "\xc3\xa9zz");
    n = hydra_ws_close_payload(dst, 1000, reason);
    ck_assert_uint_eq(n, 2 + 122);

    hydra_utf8_init(&u);
    ck_assert_int_eq(hydra_utf8_feed(&u, dst + 2, n - 2), HYDRA_OK);
    ck_assert_int_eq(hydra_utf8_done(&u), HYDRA_OK);

    memset(reason, 'a', 121);
    strcpy(reason + 121, "\xc3\xa9zz");
    n = hydra_ws_close_payload(dst, 1000, reason);
    ck_assert_uint_eq(n, 2 + 123);
}
END_TEST


START_TEST(test_close_payload_round_trip)
{
    size_t            n, len;
    hydra_test_run_t  run;
    unsigned char     payload[HYDRA_WS_CONTROL_MAX];

    len = hydra_ws_close_payload(payload, 1008,
                                 "Unknown repo: acme/\xc3\xa9t\xc3\xa9");
    n = hydra_add(stream, 0, HYDRA_WS_CLIENT, HYDRA_WS_CLOSE, 1, payload,
                  len);

    hydra_run_splits(&run, HYDRA_WS_CLIENT, 0, stream, n);

    ck_assert_int_eq(run.rc, HYDRA_AGAIN);
    ck_assert_uint_eq(run.frames[0].close_code, 1008);
    ck_assert_uint_eq(run.frames[0].len, len);
    ck_assert_mem_eq(run.frames[0].data + 2, "Unknown repo: ", 14);

    hydra_run_free(&run);
}
END_TEST


/* handshake */

START_TEST(test_key_valid)
{
    ck_assert_int_eq(hydra_ws_key_valid(HYDRA_TEST_KEY, 24), 1);
    ck_assert_int_eq(hydra_ws_key_valid("AAAAAAAAAAAAAAAAAAAAAA==", 24), 1);
    ck_assert_int_eq(hydra_ws_key_valid("+/+/+/+/+/+/+/+/+/+/+w==", 24), 1);

    ck_assert_int_eq(hydra_ws_key_valid(HYDRA_TEST_KEY, 23), 0);
    ck_assert_int_eq(hydra_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ===", 25), 0);
    ck_assert_int_eq(hydra_ws_key_valid("dGhlIHNhbXBsZSBub25jZQAA", 24), 0);
    ck_assert_int_eq(hydra_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=A", 24), 0);
    ck_assert_int_eq(hydra_ws_key_valid("dGhlIHNhbXBsZSBub25jZQA=", 24), 0);
    ck_assert_int_eq(hydra_ws_key_valid("dGhlIHNhbXBsZSBub25jZ===", 24), 0);
    ck_assert_int_eq(hydra_ws_key_valid("dGhlIHNhbXBsZSBub25j-_==", 24), 0);
    ck_assert_int_eq(hydra_ws_key_valid("dGhlIHNhbXBsZSBub25j Q==", 24), 0);
    ck_assert_int_eq(hydra_ws_key_valid("", 0), 0);

    ck_assert_str_eq(HYDRA_WS_GUID, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
}
END_TEST


START_TEST(test_client_request)
{
    char         buf[512];
    size_t       n;
    const char  *expect;

    expect = "GET /ws HTTP/1.1\r\n"
             "Host: 127.0.0.1:5101\r\n"
             "Upgrade: websocket\r\n"
             "Connection: Upgrade\r\n"
             "Sec-WebSocket-Key: " HYDRA_TEST_KEY "\r\n"
             "Sec-WebSocket-Version: 13\r\n"
             "\r\n";

    n = hydra_ws_client_request(buf, sizeof(buf), "127.0.0.1:5101", "/ws",
                                HYDRA_TEST_KEY);
    ck_assert_uint_eq(n, strlen(expect));
    ck_assert_str_eq(buf, expect);

    /* room for the NUL too, or nothing */

    n = hydra_ws_client_request(buf, strlen(expect), "127.0.0.1:5101", "/ws",
                                HYDRA_TEST_KEY);
    ck_assert_uint_eq(n, 0);

    n = hydra_ws_client_request(buf, strlen(expect) + 1, "127.0.0.1:5101",
                                "/ws", HYDRA_TEST_KEY);
    ck_assert_uint_eq(n, strlen(expect));
}
END_TEST


START_TEST(test_client_request_bad_input)
{
    /* a header smuggled in through a name from the registry */
    ck_assert_uint_eq(hydra_request("h\r\nX-Evil: 1", "/ws", HYDRA_TEST_KEY),
                      0);
    ck_assert_uint_eq(hydra_request("h", "/ws HTTP/1.0\r\n", HYDRA_TEST_KEY),
                      0);
    ck_assert_uint_eq(hydra_request("h", "/a b", HYDRA_TEST_KEY), 0);
    ck_assert_uint_eq(hydra_request("h", "/a\x7f", HYDRA_TEST_KEY), 0);
    ck_assert_uint_eq(hydra_request("h", "ws", HYDRA_TEST_KEY), 0);
    ck_assert_uint_eq(hydra_request("", "/ws", HYDRA_TEST_KEY), 0);
    ck_assert_uint_eq(hydra_request("h", "", HYDRA_TEST_KEY), 0);
    ck_assert_uint_eq(hydra_request("h", "/ws", "short=="), 0);
    ck_assert_uint_eq(hydra_request("h", "/ws", "x\r\n"), 0);

    ck_assert_uint_gt(hydra_request("[::1]:5101", "/ws?repo=a%2Fb",
                                    HYDRA_TEST_KEY), 0);
}
END_TEST


START_TEST(test_response_good)
{
    char         accept[HYDRA_WS_ACCEPT_LEN + 1];
    size_t       hlen;
    const char  *text;

    text = "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
           "\r\n";

    ck_assert_int_eq(hydra_response(text, accept, &hlen), HYDRA_OK);
    ck_assert_uint_eq(hlen, strlen(text));
    ck_assert_str_eq(accept, HYDRA_TEST_ACCEPT);

    /* as uvicorn writes it: lower case, more headers, no reason */

    text = "HTTP/1.1 101\r\n"
           "date: Thu, 05 Mar 2026 10:02:11 GMT\r\n"
           "server: uvicorn\r\n"
           "upgrade: WebSocket\r\n"
           "connection: keep-alive,  upgrade \r\n"
           "sec-websocket-accept:\t" HYDRA_TEST_ACCEPT "  \r\n"
           "Sec-WebSocket-Protocol:\r\n"
           "\r\n";

    ck_assert_int_eq(hydra_response(text, accept, &hlen), HYDRA_OK);
    ck_assert_uint_eq(hlen, strlen(text));
    ck_assert_str_eq(accept, HYDRA_TEST_ACCEPT);

    /* bare LF line ends */

    text = "HTTP/1.1 101 Switching Protocols\n"
           "Upgrade: websocket\n"
           "Connection: Upgrade\n"
           "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\n"
           "\n";

    ck_assert_int_eq(hydra_response(text, accept, &hlen), HYDRA_OK);
    ck_assert_uint_eq(hlen, strlen(text));
}
END_TEST


START_TEST(test_response_frames_follow)
{
    int          rc;
    char         accept[HYDRA_WS_ACCEPT_LEN + 1];
    size_t       hlen, len;
    const char  *text;

    /* the repo replays its history right behind the 101 */

    text = "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
           "\r\n"
           "\x81\x02{}\x81\x02{}";

    len = strlen(text);
    rc = hydra_ws_client_response(text, len, &hlen, accept, sizeof(accept));

    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_uint_eq(hlen, len - 8);
    ck_assert_mem_eq(text + hlen, "\x81\x02{}", 4);
}
END_TEST


START_TEST(test_response_bad)
{
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: keep-alive\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: h2c\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Protocol: chat\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
}
END_TEST


START_TEST(test_response_bad_lines)
{
    /* each in an answer that is good but for it */

    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "no colon here\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "X-Spaced : 1\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "X-Folded: a\r\n"
                             "\tb: c\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             ": empty name\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
}
END_TEST


START_TEST(test_response_not_101)
{
    hydra_check_response_bad("HTTP/1.1 200 OK\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 403 Forbidden\r\n"
                             "Content-Length: 0\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 404 Not Found\r\n"
                             "Content-Type: text/html\r\n"
                             "\r\n"
                             "<html><body>404</body></html>");
    hydra_check_response_bad("HTTP/1.0 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 1010 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 101x\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
                             "\r\n");
    hydra_check_response_bad("HTTP/1.1 10\r\n\r\n");
    hydra_check_response_bad("<!DOCTYPE html>\n<html></html>\n\n");
    hydra_check_response_bad("\r\n\r\n");
    hydra_check_response_bad("SSH-2.0-OpenSSH_9.2\r\n");
}
END_TEST


START_TEST(test_response_split_every_byte)
{
    int          rc;
    char         accept[HYDRA_WS_ACCEPT_LEN + 1];
    size_t       hlen, i, len;
    const char  *text;

    text = "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
           "\r\n";
    len = strlen(text);

    for (i = 0; i < len; i++) {
        rc = hydra_ws_client_response(text, i, &hlen, accept,
                                      sizeof(accept));
        ck_assert_int_eq(rc, HYDRA_AGAIN);
    }

    rc = hydra_ws_client_response(text, len, &hlen, accept, sizeof(accept));
    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_str_eq(accept, HYDRA_TEST_ACCEPT);

    /* a 404 is known as soon as its status shows */

    text = "HTTP/1.1 404 Not Found\r\n\r\n";

    for (i = 0; i < 10; i++) {
        rc = hydra_ws_client_response(text, i, &hlen, accept,
                                      sizeof(accept));
        ck_assert_int_eq(rc, HYDRA_AGAIN);
    }

    for (i = 10; i <= strlen(text); i++) {
        rc = hydra_ws_client_response(text, i, &hlen, accept,
                                      sizeof(accept));
        ck_assert_int_eq(rc, HYDRA_ERROR);
    }

    /* so is garbage */

    rc = hydra_ws_client_response("<", 1, &hlen, accept, sizeof(accept));
    ck_assert_int_eq(rc, HYDRA_ERROR);
}
END_TEST


START_TEST(test_response_accept_size)
{
    int          rc;
    char         accept[HYDRA_WS_ACCEPT_LEN + 1];
    size_t       hlen;
    const char  *text;

    text = "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " HYDRA_TEST_ACCEPT "\r\n"
           "\r\n";

    rc = hydra_ws_client_response(text, strlen(text), &hlen, accept,
                                  HYDRA_WS_ACCEPT_LEN);
    ck_assert_int_eq(rc, HYDRA_ERROR);

    /* a value of another length is copied; comparing it is the caller's */

    text = "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: wrong\r\n"
           "\r\n";

    rc = hydra_ws_client_response(text, strlen(text), &hlen, accept,
                                  sizeof(accept));
    ck_assert_int_eq(rc, HYDRA_OK);
    ck_assert_str_eq(accept, "wrong");
}
END_TEST


Suite *
hydra_ws_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hydra_ws");

    tc = tcase_create("rfc_examples");
    tcase_add_test(tc, test_rfc_hello_unmasked);
    tcase_add_test(tc, test_rfc_hello_masked);
    tcase_add_test(tc, test_rfc_fragmented);
    tcase_add_test(tc, test_rfc_ping_pong);
    tcase_add_test(tc, test_rfc_256_bytes);
    tcase_add_test(tc, test_rfc_64k);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("pieces_and_splits");
    tcase_add_test(tc, test_split_mixed_stream);
    tcase_add_test(tc, test_split_again_consumes);
    tcase_add_test(tc, test_split_several_frames_one_buffer);
    tcase_add_test(tc, test_split_masked_pieces);
    tcase_add_test(tc, test_split_noncanonical_length);
    tcase_add_test(tc, test_control_between_fragments);
    suite_add_tcase(s, tc);

    tc = tcase_create("protocol_errors");
    tcase_add_test(tc, test_error_reserved_bits);
    tcase_add_test(tc, test_error_unknown_opcode);
    tcase_add_test(tc, test_error_control_fragmented);
    tcase_add_test(tc, test_error_control_too_long);
    tcase_add_test(tc, test_error_continuation_first);
    tcase_add_test(tc, test_error_data_in_open_message);
    tcase_add_test(tc, test_error_masking);
    tcase_add_test(tc, test_error_length_top_bit);
    tcase_add_test(tc, test_error_found_early);
    tcase_add_test(tc, test_error_sticks);
    suite_add_tcase(s, tc);

    tc = tcase_create("close_frames");
    tcase_add_test(tc, test_close_valid_codes);
    tcase_add_test(tc, test_close_invalid_codes);
    tcase_add_test(tc, test_close_empty_and_reason);
    tcase_add_test(tc, test_close_one_byte);
    tcase_add_test(tc, test_close_bad_reason);
    suite_add_tcase(s, tc);

    tc = tcase_create("message_too_big");
    tcase_add_test(tc, test_too_big_frame);
    tcase_add_test(tc, test_too_big_fragments);
    suite_add_tcase(s, tc);

    tc = tcase_create("utf8");
    tcase_add_test(tc, test_utf8_boundaries);
    tcase_add_test(tc, test_utf8_invalid_classes);
    tcase_add_test(tc, test_utf8_truncated);
    tcase_add_test(tc, test_utf8_error_sticks);
    tcase_add_test(tc, test_utf8_text_fragments);
    tcase_add_test(tc, test_utf8_text_invalid);
    tcase_add_test(tc, test_utf8_text_truncated);
    tcase_add_test(tc, test_utf8_binary_not_checked);
    suite_add_tcase(s, tc);

    tc = tcase_create("writers");
    tcase_add_test(tc, test_header_sizes);
    tcase_add_test(tc, test_header_bytes);
    tcase_add_test(tc, test_header_round_trip);
    tcase_add_test(tc, test_mask_offsets);
    tcase_add_test(tc, test_close_payload);
    tcase_add_test(tc, test_close_payload_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("handshake");
    tcase_add_test(tc, test_key_valid);
    tcase_add_test(tc, test_client_request);
    tcase_add_test(tc, test_client_request_bad_input);
    tcase_add_test(tc, test_response_good);
    tcase_add_test(tc, test_response_frames_follow);
    tcase_add_test(tc, test_response_bad);
    tcase_add_test(tc, test_response_bad_lines);
    tcase_add_test(tc, test_response_not_101);
    tcase_add_test(tc, test_response_split_every_byte);
    tcase_add_test(tc, test_response_accept_size);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(hydra_ws_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}


/*
 * Feeds in to a new parser step bytes a call (0: all at once), and
 * puts frames and data messages together from the pieces, checking how
 * the pieces follow each other.  Stops at the first HYDRA_ERROR.
 */

static void
hydra_run(hydra_test_run_t *run, hydra_ws_role_e role, uint64_t max,
    const unsigned char *in, size_t len, size_t step)
{
    size_t             pos, n, off, consumed;
    hydra_ws_frame_t   f;
    hydra_ws_parser_t  p;

    memset(run, 0, sizeof(hydra_test_run_t));
    hydra_ws_parser_init(&p, role, max);
    run->rc = HYDRA_AGAIN;

    for (pos = 0; pos < len; pos += n) {
        n = (step == 0 || len - pos < step) ? len - pos : step;
        off = 0;

        for ( ;; ) {
            consumed = (size_t) -1;
            run->rc = hydra_ws_parse(&p, in + pos + off, n - off,
                                     &consumed, &f);
            hydra_expect(consumed <= n - off);
            off += consumed;

            if (run->rc == HYDRA_OK) {
                hydra_piece(run, &f, role);
                continue;
            }

            if (run->rc == HYDRA_ERROR) {
                run->close_code = p.close_code;
                hydra_expect(p.close_code != 0);
                return;
            }

            hydra_expect(run->rc == HYDRA_AGAIN);
            hydra_expect(off == n);
            break;
        }
    }
}


/* fed whole and in splits of 1, 2, 3, 5, 7 and 13: always the same */

static void
hydra_run_splits(hydra_test_run_t *run, hydra_ws_role_e role, uint64_t max,
    const unsigned char *in, size_t len)
{
    size_t               i;
    hydra_test_run_t     other;
    static const size_t  steps[] = { 1, 2, 3, 5, 7, 13 };

    hydra_run(run, role, max, in, len, 0);

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        hydra_run(&other, role, max, in, len, steps[i]);
        hydra_same(run, &other);
        hydra_run_free(&other);
    }
}


static void
hydra_run_free(hydra_test_run_t *run)
{
    size_t  i;

    for (i = 0; i < run->nframes; i++) {
        free(run->frames[i].data);
    }

    for (i = 0; i < run->nmessages; i++) {
        free(run->messages[i].data);
    }

    free(run->frame.data);
    free(run->message.data);
}


static void
hydra_piece(hydra_test_run_t *run, const hydra_ws_frame_t *f,
    hydra_ws_role_e role)
{
    hydra_test_frame_t  *t;

    hydra_expect(++run->pieces < 1000000);
    hydra_expect(f->len == 0 || f->data != NULL);
    hydra_expect(f->offset + f->len <= f->frame_len);
    hydra_expect(f->last == (f->offset + f->len == f->frame_len));
    hydra_expect(f->end == (f->last && f->fin));

    t = &run->frame;

    if (f->offset == 0) {
        t->opcode = f->opcode;
        t->message = f->message;
        t->fin = f->fin;
        t->close_code = f->close_code;
        t->len = 0;
    }

    hydra_expect(f->offset == t->len);
    hydra_expect(f->opcode == t->opcode);
    hydra_expect(f->fin == t->fin);

    if (f->opcode & 0x08) {
        hydra_expect(f->offset == 0 && f->last && f->fin);
        hydra_expect(f->message == f->opcode);

    } else {
        hydra_expect(f->message == HYDRA_WS_TEXT
                     || f->message == HYDRA_WS_BINARY);
        hydra_expect(f->opcode == HYDRA_WS_CONTINUATION
                     || f->opcode == f->message);

        /* a continuation, exactly when a message is open */

        if (f->offset == 0) {
            hydra_expect((f->opcode == HYDRA_WS_CONTINUATION)
                         == run->in_message);
        }

        if (role == HYDRA_WS_SERVER) {
            hydra_expect(f->len <= HYDRA_WS_CHUNK);
        }

        if (!run->in_message) {
            run->message.opcode = f->message;
            run->message.message = f->message;
            run->message.fin = 1;
            run->message.len = 0;
        }

        run->in_message = 1;
        hydra_append(&run->message, f->data, f->len);
    }

    hydra_append(t, f->data, f->len);

    if (f->last) {
        hydra_expect(run->nframes < HYDRA_TEST_MAX);
        run->frames[run->nframes++] = *t;
        memset(t, 0, sizeof(hydra_test_frame_t));
    }

    if (!(f->opcode & 0x08) && f->end) {
        hydra_expect(run->nmessages < HYDRA_TEST_MAX);
        run->messages[run->nmessages++] = run->message;
        memset(&run->message, 0, sizeof(hydra_test_frame_t));
        run->in_message = 0;
    }
}


static void
hydra_append(hydra_test_frame_t *t, const unsigned char *data, size_t len)
{
    size_t          cap;
    unsigned char  *p;

    if (t->len + len + 1 > t->cap) {
        cap = t->cap ? t->cap : 64;

        while (cap < t->len + len + 1) {
            cap *= 2;
        }

        p = realloc(t->data, cap);
        ck_assert_ptr_nonnull(p);
        t->data = p;
        t->cap = cap;
    }

    if (len > 0) {
        memcpy(t->data + t->len, data, len);
    }

    t->len += len;
}


static void
hydra_same(const hydra_test_run_t *a, const hydra_test_run_t *b)
{
    size_t  i;

    ck_assert_int_eq(a->rc, b->rc);
    ck_assert_uint_eq(a->close_code, b->close_code);
    ck_assert_uint_eq(a->nframes, b->nframes);
    ck_assert_uint_eq(a->nmessages, b->nmessages);

    for (i = 0; i < a->nframes; i++) {
        hydra_check_frame(&b->frames[i], a->frames[i].opcode,
                          a->frames[i].fin, a->frames[i].data,
                          a->frames[i].len);
        ck_assert_int_eq(a->frames[i].message, b->frames[i].message);
        ck_assert_uint_eq(a->frames[i].close_code, b->frames[i].close_code);
    }

    for (i = 0; i < a->nmessages; i++) {
        hydra_check_frame(&b->messages[i], a->messages[i].opcode, 1,
                          a->messages[i].data, a->messages[i].len);
    }
}


/* appends a frame as the peer of role sends it: a client masks */

static size_t
hydra_add(unsigned char *out, size_t len, hydra_ws_role_e role,
    int opcode, int fin, const void *payload, size_t n)
{
    size_t                h;
    const unsigned char  *mask;

    mask = (role == HYDRA_WS_SERVER) ? hydra_test_mask : NULL;

    ck_assert_uint_le(len + HYDRA_WS_HEADER_MAX + n, HYDRA_TEST_STREAM);

    h = hydra_ws_header(out + len, opcode, fin, n, mask);

    if (n > 0) {
        memcpy(out + len + h, payload, n);
    }

    if (mask != NULL) {
        hydra_ws_mask(out + len + h, n, mask, 0);
    }

    return len + h + n;
}


static void
hydra_check_frame(const hydra_test_frame_t *t, int opcode, int fin,
    const void *data, size_t len)
{
    ck_assert_int_eq(t->opcode, opcode);
    ck_assert_int_eq(t->fin, fin);
    ck_assert_uint_eq(t->len, len);

    if (len > 0) {
        ck_assert_mem_eq(t->data, data, len);
    }
}


static void
hydra_check_error(hydra_ws_role_e role, uint64_t max,
    const unsigned char *in, size_t len, unsigned code)
{
    hydra_test_run_t  run;

    hydra_run_splits(&run, role, max, in, len);

    ck_assert_int_eq(run.rc, HYDRA_ERROR);
    ck_assert_uint_eq(run.close_code, code);

    hydra_run_free(&run);
}


/*
 * Only the first len bytes of a frame: the error (code) is known from
 * them alone, or (code 0) nothing is wrong yet.
 */

static void
hydra_check_early(hydra_ws_role_e role, uint64_t max,
    const unsigned char *in, size_t len, unsigned code)
{
    hydra_test_run_t  run;

    hydra_run_splits(&run, role, max, in, len);

    if (code == 0) {
        ck_assert_int_eq(run.rc, HYDRA_AGAIN);

    } else {
        ck_assert_int_eq(run.rc, HYDRA_ERROR);
        ck_assert_uint_eq(run.close_code, code);
    }

    hydra_run_free(&run);
}


/* whole, and cut in two at every byte */

static void
hydra_check_utf8_valid(const char *s, size_t len)
{
    size_t                cut;
    hydra_utf8_t          u;
    const unsigned char  *p;

    p = (const unsigned char *) s;

    for (cut = 0; cut <= len; cut++) {
        hydra_utf8_init(&u);

        ck_assert_int_eq(hydra_utf8_feed(&u, p, cut), HYDRA_OK);
        ck_assert_int_eq(hydra_utf8_feed(&u, p + cut, len - cut), HYDRA_OK);
        ck_assert_int_eq(hydra_utf8_done(&u), HYDRA_OK);
    }
}


/* whole, and a byte at a time: it fails at fail_at, not before */

static void
hydra_check_utf8_invalid(const hydra_test_utf8_t *t)
{
    size_t                i;
    hydra_utf8_t          u;
    const unsigned char  *p;

    p = (const unsigned char *) t->bytes;

    hydra_utf8_init(&u);
    ck_assert_int_eq(hydra_utf8_feed(&u, p, t->len), HYDRA_ERROR);

    hydra_utf8_init(&u);

    for (i = 0; i < t->fail_at; i++) {
        ck_assert_int_eq(hydra_utf8_feed(&u, p + i, 1), HYDRA_OK);
    }

    ck_assert_int_eq(hydra_utf8_feed(&u, p + t->fail_at, 1), HYDRA_ERROR);
    ck_assert_int_eq(hydra_utf8_done(&u), HYDRA_ERROR);
}


static size_t
hydra_request(const char *host, const char *path, const char *key)
{
    char  buf[512];

    return hydra_ws_client_request(buf, sizeof(buf), host, path, key);
}


static int
hydra_response(const char *text, char *accept, size_t *hlen)
{
    return hydra_ws_client_response(text, strlen(text), hlen, accept,
                                    HYDRA_WS_ACCEPT_LEN + 1);
}


/*
 * Fails whole, and no prefix of it passes: every one is HYDRA_AGAIN until
 * the first HYDRA_ERROR, and then HYDRA_ERROR.
 */

static void
hydra_check_response_bad(const char *text)
{
    int     rc, failed;
    char    accept[HYDRA_WS_ACCEPT_LEN + 1];
    size_t  hlen, i, len;

    len = strlen(text);
    failed = 0;

    for (i = 0; i <= len; i++) {
        rc = hydra_ws_client_response(text, i, &hlen, accept,
                                      sizeof(accept));

        if (failed) {
            ck_assert_int_eq(rc, HYDRA_ERROR);

        } else if (rc != HYDRA_AGAIN) {
            ck_assert_int_eq(rc, HYDRA_ERROR);
            failed = 1;
        }
    }

    ck_assert_int_eq(failed, 1);
}
