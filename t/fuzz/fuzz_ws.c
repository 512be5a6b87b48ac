
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_ws, the decoder: any bytes as frames, in either role, with or
 * without a message limit (the first byte), fed at once and again in
 * slices cut where the second byte (a seed) says.  Both feeds must end
 * alike (all taken, or the same protocol error and close code) and give
 * the same messages and control frames, whatever the slicing.  Each
 * piece must keep the promises of hydra_ws.h: in order without gaps, no
 * longer than its frame, a masked one at most a chunk, text messages
 * UTF-8, a close code one a peer may send, no call that takes nothing.
 *
 * After the first 0xff 0xff of the input, the rest is also an answer to
 * our opening handshake, read as it grows, byte by byte.
 */


#include "fuzz.h"
#include "hydra_ws.h"


#define HYDRA_FUZZ_SLICE_MAX      16

/* a handshake is read once per length: keep it quadratic but short */
#define HYDRA_FUZZ_HANDSHAKE_MAX  512

/* what one feed saw, in order, as one text: each record tagged */
typedef struct {
    char                  *buf;
    size_t                 len;
    size_t                 cap;
    int                    rc;
    unsigned               close_code;

    int                    in_frame;     /* a data frame is under way */
    uint64_t               next_offset;  /* of its next piece */
    uint64_t               frame_len;
    char                  *msg;          /* the open message's data */
    size_t                 msg_len;
} hydra_fuzz_log_t;


static void hydra_fuzz_run(const uint8_t *data, size_t len,
    hydra_ws_role_e role, uint64_t max, unsigned seed, hydra_fuzz_log_t *log);
static void hydra_fuzz_piece_check(hydra_fuzz_log_t *log,
    const hydra_ws_parser_t *p, const hydra_ws_frame_t *f);
static void hydra_fuzz_append(hydra_fuzz_log_t *log, const void *p,
    size_t len);
static void hydra_fuzz_handshake(const uint8_t *data, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t            n;
    unsigned          flags, seed;
    uint64_t          max;
    const uint8_t    *hs;
    hydra_ws_role_e   role;
    hydra_fuzz_in_t   in;
    hydra_fuzz_log_t  whole, sliced;

    static const uint64_t  maxes[] = { 0, 16, 300, 70000 };

    hydra_fuzz_init(&in, data, size);
    flags = hydra_fuzz_byte(&in);
    seed = hydra_fuzz_byte(&in);

    role = (flags & 1) ? HYDRA_WS_SERVER : HYDRA_WS_CLIENT;
    max = maxes[(flags >> 1) & 3];

    memset(&whole, 0, sizeof(hydra_fuzz_log_t));
    memset(&sliced, 0, sizeof(hydra_fuzz_log_t));

    hydra_fuzz_run(in.p, in.left, role, max, 0, &whole);
    hydra_fuzz_run(in.p, in.left, role, max, seed + 1, &sliced);

    hydra_fuzz_assert(whole.rc == sliced.rc);
    hydra_fuzz_assert(whole.close_code == sliced.close_code);
    hydra_fuzz_assert(whole.len == sliced.len);
    hydra_fuzz_assert(whole.len == 0
                      || memcmp(whole.buf, sliced.buf, whole.len) == 0);

    free(whole.buf);
    free(whole.msg);
    free(sliced.buf);
    free(sliced.msg);

    for (hs = in.p; hs + 1 < in.p + in.left; hs++) {
        if (hs[0] == 0xff && hs[1] == 0xff) {
            n = in.p + in.left - hs - 2;
            hydra_fuzz_handshake(hs + 2, n < HYDRA_FUZZ_HANDSHAKE_MAX
                                         ? n : HYDRA_FUZZ_HANDSHAKE_MAX);
            break;
        }
    }

    return 0;
}


/* one feed: whole (seed 0) or in slices, each in its own buffer */

static void
hydra_fuzz_run(const uint8_t *data, size_t len, hydra_ws_role_e role,
    uint64_t max, unsigned seed, hydra_fuzz_log_t *log)
{
    int                rc;
    size_t             pos, end, n, consumed;
    uint32_t           x;
    unsigned char     *slice;
    hydra_ws_frame_t   f;
    hydra_ws_parser_t  p;

    hydra_ws_parser_init(&p, role, max);

    x = seed * 2654435761u;
    pos = 0;
    rc = HYDRA_AGAIN;

    while (pos < len) {
        if (seed == 0) {
            n = len;

        } else {
            x = x * 1103515245u + 12345;
            n = 1 + (x >> 16) % HYDRA_FUZZ_SLICE_MAX;
        }

        end = (len - pos < n) ? len : pos + n;
        slice = (unsigned char *) hydra_fuzz_copy(data + pos, end - pos, 0);
        n = 0;

        for ( ;; ) {
            rc = hydra_ws_parse(&p, slice + n, end - pos - n, &consumed, &f);

            hydra_fuzz_assert(consumed <= end - pos - n);
            n += consumed;

            if (rc != HYDRA_OK) {
                break;
            }

            /* a piece costs a byte at least: no call loops in place */
            hydra_fuzz_assert(consumed > 0);

            hydra_fuzz_piece_check(log, &p, &f);
        }

        free(slice);

        if (rc == HYDRA_ERROR) {
            break;
        }

        hydra_fuzz_assert(n == end - pos);
        pos = end;
    }

    log->rc = rc;
    log->close_code = (rc == HYDRA_ERROR) ? p.close_code : 0;

    if (rc == HYDRA_ERROR) {
        hydra_fuzz_assert(p.close_code == HYDRA_WS_PROTOCOL_ERROR
                          || p.close_code == HYDRA_WS_INVALID_DATA
                          || p.close_code == HYDRA_WS_TOO_BIG);

        /* and it stays failed */
        hydra_fuzz_assert(hydra_ws_parse(&p, data, len, &n, &f)
                          == HYDRA_ERROR && n == 0);
    }
}


static void
hydra_fuzz_piece_check(hydra_fuzz_log_t *log, const hydra_ws_parser_t *p,
    const hydra_ws_frame_t *f)
{
    unsigned char  rec[16];

    hydra_fuzz_assert(f->len <= f->frame_len);
    hydra_fuzz_assert(f->offset + f->len <= f->frame_len);
    hydra_fuzz_assert(f->len == 0 || f->data != NULL);

    if (f->opcode & 0x08) {
        /* a control frame: whole, in one piece, never fragmented */

        hydra_fuzz_assert(f->fin && f->last && f->end && f->offset == 0);
        hydra_fuzz_assert(f->len == f->frame_len
                          && f->len <= HYDRA_WS_CONTROL_MAX);
        hydra_fuzz_assert(f->message == f->opcode);

        if (f->opcode == HYDRA_WS_CLOSE) {
            hydra_fuzz_assert(f->len != 1);

            if (f->len == 0) {
                hydra_fuzz_assert(f->close_code == HYDRA_WS_NO_STATUS);

            } else {
                hydra_fuzz_assert((f->close_code >= 1000
                                   && f->close_code <= 1003)
                                  || (f->close_code >= 1007
                                      && f->close_code <= 1011)
                                  || (f->close_code >= 3000
                                      && f->close_code <= 4999));
                hydra_fuzz_assert(f->reason_len == f->len - 2
                                  && f->reason == f->data + 2);
                hydra_fuzz_assert(hydra_fuzz_utf8(f->reason,
                                                  f->reason_len));
            }
        }

        rec[0] = 'C';
        rec[1] = (unsigned char) f->opcode;
        rec[2] = (unsigned char) (f->close_code >> 8);
        rec[3] = (unsigned char) f->close_code;
        rec[4] = (unsigned char) f->len;
        hydra_fuzz_append(log, rec, 5);
        hydra_fuzz_append(log, f->data, f->len);

        return;
    }

    /* a data frame: pieces from offset 0, in order, without gaps */

    hydra_fuzz_assert(f->message == HYDRA_WS_TEXT
                      || f->message == HYDRA_WS_BINARY);

    if (!log->in_frame) {
        hydra_fuzz_assert(f->offset == 0);
        log->in_frame = 1;
        log->frame_len = f->frame_len;

    } else {
        hydra_fuzz_assert(f->offset == log->next_offset);
        hydra_fuzz_assert(f->frame_len == log->frame_len);
    }

    if (p->role == HYDRA_WS_SERVER) {
        hydra_fuzz_assert(f->len <= HYDRA_WS_CHUNK);
    }

    log->next_offset = f->offset + f->len;
    hydra_fuzz_assert(f->last == (log->next_offset == f->frame_len));
    hydra_fuzz_assert(f->end == (f->last && f->fin));

    log->msg = realloc(log->msg, log->msg_len + f->len + 1);
    hydra_fuzz_assert(log->msg != NULL);

    if (f->len > 0) {
        memcpy(log->msg + log->msg_len, f->data, f->len);
    }

    log->msg_len += f->len;

    if (p->max_message > 0) {
        hydra_fuzz_assert(log->msg_len <= p->max_message);
    }

    if (f->last) {
        log->in_frame = 0;
        log->next_offset = 0;
    }

    if (!f->end) {
        return;
    }

    /* a whole message */

    if (f->message == HYDRA_WS_TEXT) {
        hydra_fuzz_assert(hydra_fuzz_utf8((unsigned char *) log->msg,
                                          log->msg_len));
    }

    rec[0] = 'M';
    rec[1] = (unsigned char) f->message;
    memcpy(rec + 2, &log->msg_len, sizeof(size_t));
    hydra_fuzz_append(log, rec, 2 + sizeof(size_t));
    hydra_fuzz_append(log, log->msg, log->msg_len);

    log->msg_len = 0;
}


static void
hydra_fuzz_append(hydra_fuzz_log_t *log, const void *p, size_t len)
{
    if (log->len + len > log->cap) {
        log->cap = (log->len + len) * 2;
        log->buf = realloc(log->buf, log->cap);
        hydra_fuzz_assert(log->buf != NULL);
    }

    if (len > 0) {
        memcpy(log->buf + log->len, p, len);
        log->len += len;
    }
}


/*
 * The answer to our handshake, read as it grows: AGAIN until it is
 * certain, and once OK or ERROR, every longer read says the same (the
 * same header length and accept value)
 */

static void
hydra_fuzz_handshake(const uint8_t *data, size_t len)
{
    int      rc, last;
    char    *buf, accept[HYDRA_WS_ACCEPT_LEN + 1], first[sizeof(accept)];
    size_t   i, hlen, first_hlen;

    last = HYDRA_AGAIN;
    first_hlen = 0;
    first[0] = '\0';

    for (i = 0; i <= len; i++) {
        buf = hydra_fuzz_copy(data, i, 0);
        hlen = (size_t) -1;

        rc = hydra_ws_client_response(buf, i, &hlen, accept, sizeof(accept));

        free(buf);

        if (last == HYDRA_ERROR) {
            hydra_fuzz_assert(rc == HYDRA_ERROR);
            continue;
        }

        if (rc == HYDRA_OK) {
            hydra_fuzz_assert(hlen <= i && hlen > 0);
            hydra_fuzz_assert(data[hlen - 1] == '\n');
            hydra_fuzz_assert(strlen(accept) < sizeof(accept));

            if (last == HYDRA_OK) {
                hydra_fuzz_assert(hlen == first_hlen
                                  && strcmp(accept, first) == 0);

            } else {
                first_hlen = hlen;
                memcpy(first, accept, sizeof(accept));
            }

        } else if (last == HYDRA_OK) {
            hydra_fuzz_assert(rc == HYDRA_OK);
        }

        last = rc;
    }
}
