
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_ws, both ends: the input is a list of frames that a peer may
 * send (data messages in fragments, pings and pongs between them, a
 * close with a code and a reason), written with hydra_ws_header(),
 * hydra_ws_mask() and hydra_ws_close_payload() as a client (masked) or
 * a server (not), then read back by the parser of the other role in
 * slices.  What is read must be what was written, frame for frame:
 * opcode, fin, payload, close code and reason; a text message that is
 * not UTF-8, or a message past the limit, must fail with 1007 or 1009
 * at that message and not before.
 */


#include "fuzz.h"
#include "hydra_ws.h"


#define HYDRA_FUZZ_FRAMES_MAX   64
#define HYDRA_FUZZ_SLICE_MAX    64

/* a payload of up to 300 bytes reaches the 16-bit length form */
#define HYDRA_FUZZ_PAYLOAD_MAX  300


typedef struct {
    int                    opcode;
    int                    fin;
    unsigned               code;      /* a close's, 0: none */
    const unsigned char   *payload;   /* unmasked */
    size_t                 len;
} hydra_fuzz_frame_t;


static size_t hydra_fuzz_write(unsigned char *dst, const hydra_fuzz_frame_t *f,
    const unsigned char *mask);
static int hydra_fuzz_utf8_prefix(const unsigned char *p, size_t len,
    int prefix);


static const unsigned  hydra_fuzz_codes[] = {
    0, 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999
};

#define HYDRA_FUZZ_NCODES  (sizeof(hydra_fuzz_codes) / sizeof(unsigned))


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc, message, fail_at, expect_code;
    char                *reason;
    size_t               i, n, k, total, pos, end, consumed, got, off;
    size_t               msg_len, msg_start;
    unsigned             flags, seed, b;
    uint32_t             x;
    uint64_t             max;
    unsigned char        mask[4], *wire, *slice, close[HYDRA_WS_CONTROL_MAX];
    unsigned char       *payloads;
    hydra_ws_role_e      reader;
    hydra_fuzz_in_t      in;
    hydra_ws_frame_t     f;
    hydra_ws_parser_t    p;
    hydra_fuzz_frame_t   frames[HYDRA_FUZZ_FRAMES_MAX], *fr;

    static const uint64_t  maxes[] = { 0, 64, 600, 1 << 20 };

    hydra_fuzz_init(&in, data, size);
    flags = hydra_fuzz_byte(&in);
    seed = hydra_fuzz_byte(&in);

    /* a client masks what it sends, so a server reads masked frames */

    reader = (flags & 1) ? HYDRA_WS_SERVER : HYDRA_WS_CLIENT;
    max = maxes[(flags >> 1) & 3];

    for (i = 0; i < 4; i++) {
        mask[i] = (unsigned char) hydra_fuzz_byte(&in);
    }

    /* the frames: each a byte of kind, a byte of length, the payload */

    payloads = malloc(HYDRA_FUZZ_FRAMES_MAX * (HYDRA_WS_CONTROL_MAX + 1));
    hydra_fuzz_assert(payloads != NULL);

    n = 0;
    message = 0;
    msg_len = 0;
    msg_start = 0;
    fail_at = -1;
    expect_code = 0;

    while (in.left > 0 && n < HYDRA_FUZZ_FRAMES_MAX) {
        fr = &frames[n];
        b = hydra_fuzz_byte(&in);
        k = hydra_fuzz_byte(&in) | (b & 0x80 ? (b & 0x01) << 8 : 0);
        k = (k > in.left) ? in.left : k;

        memset(fr, 0, sizeof(hydra_fuzz_frame_t));
        fr->payload = in.p;

        switch (b % 5) {

        case 0:
        case 1:
            /* a data fragment: starts a message or continues one */

            if (message == 0) {
                message = (b % 5 == 0) ? HYDRA_WS_TEXT : HYDRA_WS_BINARY;
                fr->opcode = message;
                msg_len = 0;
                msg_start = n;

            } else {
                fr->opcode = HYDRA_WS_CONTINUATION;
            }

            fr->len = k > HYDRA_FUZZ_PAYLOAD_MAX ? HYDRA_FUZZ_PAYLOAD_MAX : k;
            fr->fin = (b >> 3) & 1;
            msg_len += fr->len;

            if (fr->fin) {
                message = 0;
            }

            break;

        case 2:
        case 3:
            fr->opcode = (b % 5 == 2) ? HYDRA_WS_PING : HYDRA_WS_PONG;
            fr->fin = 1;
            fr->len = k % (HYDRA_WS_CONTROL_MAX + 1);
            break;

        default:
            /* a close: its payload made by hydra_ws_close_payload() */

            fr->opcode = HYDRA_WS_CLOSE;
            fr->fin = 1;
            fr->code = hydra_fuzz_codes[(b >> 3) % HYDRA_FUZZ_NCODES];
            k = k % (2 * HYDRA_WS_CONTROL_MAX);

            reason = hydra_fuzz_copy(in.p, k, 1);

            fr->len = hydra_ws_close_payload(close, fr->code,
                                             (k & 1) ? NULL : reason);
            hydra_fuzz_assert(fr->len <= HYDRA_WS_CONTROL_MAX);
            hydra_fuzz_assert(fr->code != 0 || fr->len == 0);

            /* cut at a character, never in one */
            if (fr->len > 2 && hydra_fuzz_utf8((unsigned char *) reason,
                                               strlen(reason)))
            {
                hydra_fuzz_assert(hydra_fuzz_utf8(close + 2, fr->len - 2));
            }

            memcpy(payloads + n * (HYDRA_WS_CONTROL_MAX + 1), close,
                   fr->len);
            fr->payload = payloads + n * (HYDRA_WS_CONTROL_MAX + 1);
            free(reason);
            break;
        }

        if (fr->opcode != HYDRA_WS_CLOSE) {
            in.p += fr->len;
            in.left -= fr->len;

        } else {
            in.p += k;
            in.left -= k;
        }

        n++;

        /* where the reader must stop, and why: the first broken rule */

        if (fail_at < 0 && fr->opcode == HYDRA_WS_CLOSE && fr->len > 2
            && !hydra_fuzz_utf8(fr->payload + 2, fr->len - 2))
        {
            fail_at = (int) n - 1;
            expect_code = HYDRA_WS_INVALID_DATA;
        }

        if (fail_at < 0 && !(fr->opcode & 0x08) && max > 0 && msg_len > max) {
            fail_at = (int) n - 1;
            expect_code = HYDRA_WS_TOO_BIG;
        }

        if (fail_at < 0 && !(fr->opcode & 0x08)
            && frames[msg_start].opcode == HYDRA_WS_TEXT)
        {
            total = 0;
            slice = malloc(msg_len + 1);
            hydra_fuzz_assert(slice != NULL);

            for (i = msg_start; i < n; i++) {
                if (!(frames[i].opcode & 0x08)) {
                    memcpy(slice + total, frames[i].payload, frames[i].len);
                    total += frames[i].len;
                }
            }

            /* text fails at the first byte it cannot go on from */

            if (!hydra_fuzz_utf8_prefix(slice, total, !fr->fin)) {
                fail_at = (int) n - 1;
                expect_code = HYDRA_WS_INVALID_DATA;
            }

            free(slice);
        }
    }

    /* the wire: each frame's header, then its payload, masked or not */

    wire = malloc(n * (HYDRA_WS_HEADER_MAX + HYDRA_FUZZ_PAYLOAD_MAX) + 1);
    hydra_fuzz_assert(wire != NULL);

    total = 0;

    for (i = 0; i < n; i++) {
        total += hydra_fuzz_write(wire + total, &frames[i],
                                  reader == HYDRA_WS_SERVER ? mask : NULL);
    }

    /* read back, in slices */

    hydra_ws_parser_init(&p, reader, max);

    x = seed * 2654435761u + 7;
    pos = 0;
    i = 0;
    got = 0;
    off = 0;
    rc = HYDRA_AGAIN;

    while (pos < total && rc != HYDRA_ERROR) {
        x = x * 1103515245u + 12345;
        k = 1 + (x >> 16) % HYDRA_FUZZ_SLICE_MAX;
        end = (total - pos < k) ? total : pos + k;

        slice = (unsigned char *) hydra_fuzz_copy(wire + pos, end - pos, 0);
        k = 0;

        for ( ;; ) {
            rc = hydra_ws_parse(&p, slice + k, end - pos - k, &consumed, &f);
            k += consumed;

            if (rc != HYDRA_OK) {
                break;
            }

            /* the piece is frame i's bytes from off on */

            hydra_fuzz_assert(i < n);
            fr = &frames[i];

            hydra_fuzz_assert(f.opcode == fr->opcode && f.fin == fr->fin);
            hydra_fuzz_assert(f.frame_len == fr->len && f.offset == off);
            hydra_fuzz_assert(f.len == 0
                              || memcmp(f.data, fr->payload + off, f.len)
                                 == 0);

            if (fr->opcode == HYDRA_WS_CLOSE) {
                hydra_fuzz_assert(f.close_code
                                  == (fr->len ? fr->code
                                              : HYDRA_WS_NO_STATUS));
            }

            off += f.len;

            if (f.last) {
                hydra_fuzz_assert(off == fr->len);
                i++;
                got++;
                off = 0;
            }
        }

        free(slice);
        pos = end;
    }

    if (fail_at >= 0) {
        hydra_fuzz_assert(rc == HYDRA_ERROR);
        hydra_fuzz_assert(p.close_code == (unsigned) expect_code);

        /* every frame before it is read whole, and that one never is */
        hydra_fuzz_assert(got == (size_t) fail_at);

    } else {
        hydra_fuzz_assert(rc != HYDRA_ERROR);
        hydra_fuzz_assert(got == n);
    }

    free(wire);
    free(payloads);

    return 0;
}


static size_t
hydra_fuzz_write(unsigned char *dst, const hydra_fuzz_frame_t *f,
    const unsigned char *mask)
{
    size_t  h;

    h = hydra_ws_header(dst, f->opcode, f->fin, f->len, mask);
    hydra_fuzz_assert(h <= HYDRA_WS_HEADER_MAX);

    if (f->len > 0) {
        memcpy(dst + h, f->payload, f->len);
    }

    if (mask != NULL) {
        hydra_ws_mask(dst + h, f->len, mask, 0);
    }

    return h + f->len;
}


/*
 * RFC 3629, checked here apart from the code under test: 1 when the
 * bytes are UTF-8, or (prefix) could begin some UTF-8 text, a character
 * being cut at the end; the ranges of a second byte after E0, ED, F0
 * and F4 make an overlong form or a surrogate certain there already
 */

static int
hydra_fuzz_utf8_prefix(const unsigned char *p, size_t len, int prefix)
{
    size_t         i, n, k;
    unsigned char  lo, hi;

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            n = 1;
            continue;
        }

        lo = 0x80;
        hi = 0xbf;

        if (p[i] >= 0xc2 && p[i] <= 0xdf) {
            n = 2;

        } else if (p[i] >= 0xe0 && p[i] <= 0xef) {
            n = 3;
            lo = (p[i] == 0xe0) ? 0xa0 : 0x80;
            hi = (p[i] == 0xed) ? 0x9f : 0xbf;

        } else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
            n = 4;
            lo = (p[i] == 0xf0) ? 0x90 : 0x80;
            hi = (p[i] == 0xf4) ? 0x8f : 0xbf;

        } else {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if (i + k == len) {
                return prefix;
            }

            if (p[i + k] < (k == 1 ? lo : 0x80)
                || p[i + k] > (k == 1 ? hi : 0xbf))
            {
                return 0;
            }
        }
    }

    return 1;
}
