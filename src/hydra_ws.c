
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hydra_ws.h"


#define HYDRA_WS_STATUS_101   "HTTP/1.1 101"
#define HYDRA_WS_STATUS_LEN   (sizeof(HYDRA_WS_STATUS_101) - 1)


static int hydra_ws_read_header(hydra_ws_parser_t *p,
    const unsigned char *buf, size_t len, size_t *used);
static int hydra_ws_check_start(hydra_ws_parser_t *p);
static int hydra_ws_check_length(hydra_ws_parser_t *p);
static int hydra_ws_read_control(hydra_ws_parser_t *p,
    const unsigned char *buf, size_t len, size_t *used,
    hydra_ws_frame_t *frame);
static int hydra_ws_read_data(hydra_ws_parser_t *p,
    const unsigned char *buf, size_t len, size_t *used,
    hydra_ws_frame_t *frame);
static int hydra_ws_fail(hydra_ws_parser_t *p, unsigned code);
static int hydra_ws_close_code_valid(unsigned code);
static int hydra_ws_base64_char(char c);
static int hydra_ws_safe(const char *s);
static int hydra_ws_name_is(const char *p, const char *end,
    const char *name);
static int hydra_ws_has_token(const char *v, size_t n, const char *token);
static void hydra_ws_trim(const char **v, const char **end);


void
hydra_ws_parser_init(hydra_ws_parser_t *p, hydra_ws_role_e role,
    uint64_t max_message)
{
    memset(p, 0, sizeof(hydra_ws_parser_t));

    p->role = role;
    p->max_message = max_message;
    p->state = HYDRA_WS_ST_HEADER;
    p->header_need = 2;
}


/*
 * Reads from buf and returns:
 *
 *   HYDRA_OK      frame holds the next piece of a frame (see hydra_ws.h;
 *                 frame is set only then);
 *   HYDRA_AGAIN   all of buf was taken in (kept in the parser), and the
 *                 next piece needs more bytes;
 *   HYDRA_ERROR   the peer broke the protocol; p->close_code is the code
 *                 to close with (1002, 1007 or 1009), and every later
 *                 call fails too.
 *
 * *consumed says how many bytes of buf were used either way, so a caller
 * calls again with buf + *consumed until HYDRA_AGAIN.  Bytes may arrive
 * in any split, one at a time included: errors are found at the first
 * byte that makes them certain (a header as soon as its first two bytes
 * are in, a too big message from its length alone, bad UTF-8 at the
 * first byte that cannot be part of a character).  After a CLOSE the
 * caller stops reading: the parser would go on.
 */

int
hydra_ws_parse(hydra_ws_parser_t *p, const unsigned char *buf, size_t len,
    size_t *consumed, hydra_ws_frame_t *frame)
{
    int     rc;
    size_t  pos, n;

    *consumed = 0;

    if (p->state == HYDRA_WS_ST_FAILED) {
        return HYDRA_ERROR;
    }

    pos = 0;

    if (p->state == HYDRA_WS_ST_HEADER) {
        rc = hydra_ws_read_header(p, buf, len, &pos);

        if (rc != HYDRA_OK) {
            *consumed = pos;
            return rc;
        }
    }

    n = 0;

    if (p->state == HYDRA_WS_ST_CONTROL) {
        rc = hydra_ws_read_control(p, buf + pos, len - pos, &n, frame);

    } else {
        rc = hydra_ws_read_data(p, buf + pos, len - pos, &n, frame);
    }

    *consumed = pos + n;

    return rc;
}


/*
 * Writes a frame header: fin and opcode (no reserved bit), the length in
 * its shortest form (2, 4 or 10 bytes in all), and the mask if one is
 * given (4 bytes more); dst needs HYDRA_WS_HEADER_MAX bytes.  Returns the
 * length.  The payload is left to the caller: a client masks it with
 * hydra_ws_mask(payload, len, mask, 0).
 */

size_t
hydra_ws_header(unsigned char *dst, int opcode, int fin, uint64_t len,
    const unsigned char *mask)
{
    int            i;
    size_t         n;
    unsigned char  bit;

    dst[0] = (unsigned char) ((fin ? 0x80 : 0) | (opcode & 0x0f));
    bit = mask ? 0x80 : 0;

    if (len < 126) {
        dst[1] = (unsigned char) (bit | len);
        n = 2;

    } else if (len <= 0xffff) {
        dst[1] = (unsigned char) (bit | 126);
        dst[2] = (unsigned char) (len >> 8);
        dst[3] = (unsigned char) len;
        n = 4;

    } else {
        dst[1] = (unsigned char) (bit | 127);

        for (i = 0; i < 8; i++) {
            dst[2 + i] = (unsigned char) (len >> (56 - 8 * i));
        }

        n = 10;
    }

    if (mask != NULL) {
        memcpy(dst + n, mask, 4);
        n += 4;
    }

    return n;
}


/*
 * Masks or unmasks (the same thing) len bytes in place.  offset is where
 * data starts in the frame's payload, so a payload can be done in pieces.
 */

void
hydra_ws_mask(unsigned char *data, size_t len, const unsigned char mask[4],
    size_t offset)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        data[i] ^= mask[(offset + i) & 3];
    }
}


/*
 * A close frame's payload: the code in network order and the reason,
 * cut at a character boundary to fit in HYDRA_WS_CONTROL_MAX bytes, which
 * dst must have.  Code 0 gives an empty payload (no code, no reason).
 * reason is UTF-8 and may be NULL.
 */

size_t
hydra_ws_close_payload(unsigned char *dst, unsigned code, const char *reason)
{
    size_t  n;

    if (code == 0) {
        return 0;
    }

    dst[0] = (unsigned char) (code >> 8);
    dst[1] = (unsigned char) code;

    if (reason == NULL) {
        return 2;
    }

    n = strlen(reason);

    if (n > HYDRA_WS_REASON_MAX) {
        n = HYDRA_WS_REASON_MAX;

        while (n > 0 && ((unsigned char) reason[n] & 0xc0) == 0x80) {
            n--;
        }
    }

    memcpy(dst + 2, reason, n);

    return n + 2;
}


void
hydra_utf8_init(hydra_utf8_t *u)
{
    u->need = 0;
    u->lo = 0x80;
    u->hi = 0xbf;
    u->error = 0;
}


/*
 * Well-formed UTF-8 (RFC 3629): no overlong form, no surrogate, nothing
 * above U+10FFFF.  The range of a sequence's second byte is narrowed by
 * its first (E0, ED, F0, F4), so a bad byte fails where it stands, not
 * at the end of its sequence.  A sequence may be split across calls;
 * hydra_utf8_done() says whether the text ends between characters.
 */

int
hydra_utf8_feed(hydra_utf8_t *u, const unsigned char *p, size_t len)
{
    unsigned char         c;
    const unsigned char  *end;

    if (u->error) {
        return HYDRA_ERROR;
    }

    for (end = p + len; p < end; p++) {
        c = *p;

        if (u->need > 0) {
            if (c < u->lo || c > u->hi) {
                u->error = 1;
                return HYDRA_ERROR;
            }

            u->need--;
            u->lo = 0x80;
            u->hi = 0xbf;
            continue;
        }

        if (c < 0x80) {
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            u->need = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            u->need = 2;
            u->lo = (c == 0xe0) ? 0xa0 : 0x80;
            u->hi = (c == 0xed) ? 0x9f : 0xbf;

        } else if (c >= 0xf0 && c <= 0xf4) {
            u->need = 3;
            u->lo = (c == 0xf0) ? 0x90 : 0x80;
            u->hi = (c == 0xf4) ? 0x8f : 0xbf;

        } else {
            u->error = 1;
            return HYDRA_ERROR;
        }
    }

    return HYDRA_OK;
}


int
hydra_utf8_done(const hydra_utf8_t *u)
{
    return (u->error || u->need > 0) ? HYDRA_ERROR : HYDRA_OK;
}


/*
 * Sec-WebSocket-Key: base64 of 16 bytes, so 22 characters of the base64
 * alphabet and "==".  The unused low bits of the 22nd are not checked,
 * as base64 decoders (Python's among them) do not check them either.
 */

int
hydra_ws_key_valid(const char *key, size_t len)
{
    size_t  i;

    if (len != HYDRA_WS_KEY_LEN
        || key[HYDRA_WS_KEY_LEN - 2] != '='
        || key[HYDRA_WS_KEY_LEN - 1] != '=')
    {
        return 0;
    }

    for (i = 0; i < HYDRA_WS_KEY_LEN - 2; i++) {
        if (!hydra_ws_base64_char(key[i])) {
            return 0;
        }
    }

    return 1;
}


/*
 * The opening handshake of our client to a repo's /ws.  path must start
 * with "/", and nothing may carry a control character or a space (which
 * would let a registry name inject a header).  Returns the length, or 0
 * when an argument is bad or dst is too small.
 */

size_t
hydra_ws_client_request(char *dst, size_t size, const char *host,
    const char *path, const char *key)
{
    int  n;

    if (!hydra_ws_safe(host) || !hydra_ws_safe(path) || path[0] != '/'
        || !hydra_ws_key_valid(key, strlen(key)))
    {
        return 0;
    }

    n = snprintf(dst, size,
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "\r\n", path, host, key);

    return (n < 0 || (size_t) n >= size) ? 0 : (size_t) n;
}


/*
 * Reads a repo's answer to hydra_ws_client_request(), all of it so far
 * from its first byte (call again with more).  Returns:
 *
 *   HYDRA_OK      "HTTP/1.1 101", "Upgrade: websocket", "Connection:" with
 *                 an "upgrade" token (names and values in any case), and
 *                 one Sec-WebSocket-Accept, whose value (trimmed, with a
 *                 NUL) is in accept for the caller to compare with the
 *                 base64 SHA-1 of key + HYDRA_WS_GUID.  *header_len is
 *                 the length up to the blank line: the bytes after it are
 *                 already frames (a repo replays its history at once);
 *   HYDRA_AGAIN   no blank line yet, and nothing wrong so far;
 *   HYDRA_ERROR   anything else: another status (as soon as the status
 *                 line shows it), not HTTP, a header missing, an
 *                 extension or subprotocol we did not ask for, a bad
 *                 header line, an accept value longer than accept_size - 1.
 *
 * Lines may end in CRLF or LF.  A caller whose buffer fills up before
 * HYDRA_OK gives up.
 */

int
hydra_ws_client_response(const char *buf, size_t len, size_t *header_len,
    char *accept, size_t accept_size)
{
    int          upgrade, connection, found;
    size_t       n;
    const char  *p, *end, *eol, *line, *colon, *v, *vend;

    n = (len < HYDRA_WS_STATUS_LEN) ? len : HYDRA_WS_STATUS_LEN;

    if (memcmp(buf, HYDRA_WS_STATUS_101, n) != 0) {
        return HYDRA_ERROR;
    }

    end = buf + len;
    eol = memchr(buf, '\n', len);

    if (eol == NULL) {
        return HYDRA_AGAIN;
    }

    /* the status line is "HTTP/1.1 101" (matched), then its end or " " */

    n = ((eol > buf && eol[-1] == '\r') ? eol - 1 : eol) - buf;

    if (n > HYDRA_WS_STATUS_LEN && buf[HYDRA_WS_STATUS_LEN] != ' ') {
        return HYDRA_ERROR;
    }

    p = eol + 1;
    upgrade = 0;
    connection = 0;
    found = 0;

    for ( ;; ) {
        eol = memchr(p, '\n', end - p);

        if (eol == NULL) {
            return HYDRA_AGAIN;
        }

        line = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;

        if (line == p) {
            break;
        }

        colon = memchr(p, ':', line - p);

        if (colon == NULL || colon == p
            || p[0] == ' ' || p[0] == '\t'
            || colon[-1] == ' ' || colon[-1] == '\t')
        {
            return HYDRA_ERROR;
        }

        v = colon + 1;
        vend = line;
        hydra_ws_trim(&v, &vend);
        n = vend - v;

        if (hydra_ws_name_is(p, colon, "Upgrade")) {
            if (n != sizeof("websocket") - 1
                || strncasecmp(v, "websocket", n) != 0)
            {
                return HYDRA_ERROR;
            }

            upgrade = 1;

        } else if (hydra_ws_name_is(p, colon, "Connection")) {
            if (hydra_ws_has_token(v, n, "upgrade")) {
                connection = 1;
            }

        } else if (hydra_ws_name_is(p, colon, "Sec-WebSocket-Accept")) {
            if (found || n >= accept_size) {
                return HYDRA_ERROR;
            }

            memcpy(accept, v, n);
            accept[n] = '\0';
            found = 1;

        } else if (n > 0
                   && (hydra_ws_name_is(p, colon, "Sec-WebSocket-Extensions")
                       || hydra_ws_name_is(p, colon, "Sec-WebSocket-Protocol")))
        {
            return HYDRA_ERROR;
        }

        p = eol + 1;
    }

    if (!upgrade || !connection || !found) {
        return HYDRA_ERROR;
    }

    *header_len = (eol + 1) - buf;

    return HYDRA_OK;
}


/* takes header bytes in; HYDRA_OK once the whole header is read */

static int
hydra_ws_read_header(hydra_ws_parser_t *p, const unsigned char *buf,
    size_t len, size_t *used)
{
    size_t  i;

    i = 0;

    while (p->header_len < p->header_need) {
        if (i == len) {
            *used = i;
            return HYDRA_AGAIN;
        }

        p->header[p->header_len++] = buf[i++];

        if (p->header_len == 2 && hydra_ws_check_start(p) != HYDRA_OK) {
            *used = i;
            return HYDRA_ERROR;
        }
    }

    *used = i;

    return hydra_ws_check_length(p);
}


/* the first two bytes: all that can be checked before the length */

static int
hydra_ws_check_start(hydra_ws_parser_t *p)
{
    unsigned  len7;

    p->fin = p->header[0] >> 7;
    p->opcode = p->header[0] & 0x0f;
    p->masked = p->header[1] >> 7;
    len7 = p->header[1] & 0x7f;

    /* no extension was negotiated, so no reserved bit has a meaning */

    if (p->header[0] & 0x70) {
        return hydra_ws_fail(p, HYDRA_WS_PROTOCOL_ERROR);
    }

    switch (p->opcode) {

    case HYDRA_WS_CONTINUATION:
        if (p->message == 0) {
            return hydra_ws_fail(p, HYDRA_WS_PROTOCOL_ERROR);
        }

        break;

    case HYDRA_WS_TEXT:
    case HYDRA_WS_BINARY:
        if (p->message != 0) {
            return hydra_ws_fail(p, HYDRA_WS_PROTOCOL_ERROR);
        }

        break;

    case HYDRA_WS_CLOSE:
    case HYDRA_WS_PING:
    case HYDRA_WS_PONG:
        if (!p->fin || len7 > HYDRA_WS_CONTROL_MAX
            || (p->opcode == HYDRA_WS_CLOSE && len7 == 1))
        {
            return hydra_ws_fail(p, HYDRA_WS_PROTOCOL_ERROR);
        }

        break;

    default:
        return hydra_ws_fail(p, HYDRA_WS_PROTOCOL_ERROR);
    }

    /* a client masks every frame, a server none (section 5.1) */

    if (p->masked != (p->role == HYDRA_WS_SERVER)) {
        return hydra_ws_fail(p, HYDRA_WS_PROTOCOL_ERROR);
    }

    p->header_need = 2 + (len7 == 126 ? 2 : 0) + (len7 == 127 ? 8 : 0)
                     + (p->masked ? 4 : 0);

    return HYDRA_OK;
}


/*
 * The whole header is in: the length (any encoding of it, minimal or
 * not, but a 64-bit one within 63 bits), the mask, and the message the
 * frame starts or continues.  The header buffer is free again after.
 */

static int
hydra_ws_check_length(hydra_ws_parser_t *p)
{
    size_t    i;
    unsigned  len7;
    uint64_t  len;

    len7 = p->header[1] & 0x7f;
    i = 2;

    if (len7 == 126) {
        len = (uint64_t) p->header[2] << 8 | p->header[3];
        i = 4;

    } else if (len7 == 127) {
        len = 0;

        for ( /* void */ ; i < 10; i++) {
            len = len << 8 | p->header[i];
        }

        if (len >> 63) {
            return hydra_ws_fail(p, HYDRA_WS_PROTOCOL_ERROR);
        }

    } else {
        len = len7;
    }

    if (p->masked) {
        memcpy(p->mask, p->header + i, 4);
    }

    p->frame_len = len;
    p->frame_done = 0;
    p->header_len = 0;
    p->header_need = 2;

    if (p->opcode & 0x08) {
        p->state = HYDRA_WS_ST_CONTROL;
        return HYDRA_OK;
    }

    if (p->opcode != HYDRA_WS_CONTINUATION) {
        p->message = p->opcode;
        p->message_len = 0;
        hydra_utf8_init(&p->utf8);
    }

    if (p->max_message > 0 && len > p->max_message - p->message_len) {
        return hydra_ws_fail(p, HYDRA_WS_TOO_BIG);
    }

    p->message_len += len;
    p->state = HYDRA_WS_ST_PAYLOAD;

    return HYDRA_OK;
}


/* a control frame is gathered in p->buf and given whole */

static int
hydra_ws_read_control(hydra_ws_parser_t *p, const unsigned char *buf,
    size_t len, size_t *used, hydra_ws_frame_t *frame)
{
    size_t        n;
    unsigned      code;
    hydra_utf8_t  utf8;

    n = (size_t) (p->frame_len - p->frame_done);

    if (n > len) {
        n = len;
    }

    memcpy(p->buf + p->frame_done, buf, n);
    p->frame_done += n;
    *used = n;

    if (p->frame_done < p->frame_len) {
        return HYDRA_AGAIN;
    }

    n = (size_t) p->frame_len;

    if (p->masked) {
        hydra_ws_mask(p->buf, n, p->mask, 0);
    }

    memset(frame, 0, sizeof(hydra_ws_frame_t));

    frame->opcode = p->opcode;
    frame->message = p->opcode;
    frame->fin = 1;
    frame->last = 1;
    frame->end = 1;
    frame->data = p->buf;
    frame->len = n;
    frame->frame_len = n;

    if (p->opcode == HYDRA_WS_CLOSE) {
        frame->close_code = HYDRA_WS_NO_STATUS;

        if (n >= 2) {
            code = (unsigned) p->buf[0] << 8 | p->buf[1];

            if (!hydra_ws_close_code_valid(code)) {
                return hydra_ws_fail(p, HYDRA_WS_PROTOCOL_ERROR);
            }

            hydra_utf8_init(&utf8);

            if (hydra_utf8_feed(&utf8, p->buf + 2, n - 2) != HYDRA_OK
                || hydra_utf8_done(&utf8) != HYDRA_OK)
            {
                return hydra_ws_fail(p, HYDRA_WS_INVALID_DATA);
            }

            frame->close_code = code;
            frame->reason = p->buf + 2;
            frame->reason_len = n - 2;
        }
    }

    p->state = HYDRA_WS_ST_HEADER;

    return HYDRA_OK;
}


/*
 * The next piece of a data frame: what buf holds of it, in place when it
 * is not masked, else up to HYDRA_WS_CHUNK bytes unmasked into p->buf.
 * A text message is validated piece by piece, and must end between two
 * characters.
 */

static int
hydra_ws_read_data(hydra_ws_parser_t *p, const unsigned char *buf,
    size_t len, size_t *used, hydra_ws_frame_t *frame)
{
    size_t                n;
    uint64_t              left;
    const unsigned char  *data;

    left = p->frame_len - p->frame_done;
    n = (left < len) ? (size_t) left : len;
    *used = 0;

    if (n == 0 && left > 0) {
        return HYDRA_AGAIN;
    }

    if (p->masked) {
        if (n > HYDRA_WS_CHUNK) {
            n = HYDRA_WS_CHUNK;
        }

        memcpy(p->buf, buf, n);
        hydra_ws_mask(p->buf, n, p->mask, (size_t) (p->frame_done & 3));
        data = p->buf;

    } else {
        data = buf;
    }

    *used = n;

    if (p->message == HYDRA_WS_TEXT
        && hydra_utf8_feed(&p->utf8, data, n) != HYDRA_OK)
    {
        return hydra_ws_fail(p, HYDRA_WS_INVALID_DATA);
    }

    memset(frame, 0, sizeof(hydra_ws_frame_t));

    frame->opcode = p->opcode;
    frame->message = p->message;
    frame->fin = p->fin;
    frame->data = data;
    frame->len = n;
    frame->offset = p->frame_done;
    frame->frame_len = p->frame_len;

    p->frame_done += n;

    if (p->frame_done < p->frame_len) {
        return HYDRA_OK;
    }

    frame->last = 1;
    frame->end = p->fin;
    p->state = HYDRA_WS_ST_HEADER;

    if (!p->fin) {
        return HYDRA_OK;
    }

    if (p->message == HYDRA_WS_TEXT && hydra_utf8_done(&p->utf8) != HYDRA_OK)
    {
        return hydra_ws_fail(p, HYDRA_WS_INVALID_DATA);
    }

    p->message = 0;

    return HYDRA_OK;
}


static int
hydra_ws_fail(hydra_ws_parser_t *p, unsigned code)
{
    p->state = HYDRA_WS_ST_FAILED;
    p->close_code = code;

    return HYDRA_ERROR;
}


/*
 * The codes a peer may send (section 7.4): those defined for the wire,
 * and the ranges for libraries and applications.  1004, 1005, 1006 and
 * 1015 are reserved or never sent; 1012 and up to 2999 are not ours.
 */

static int
hydra_ws_close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003)
           || (code >= 1007 && code <= 1011)
           || (code >= 3000 && code <= 4999);
}


static int
hydra_ws_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '+' || c == '/';
}


/* non-empty, with no control character and no space */

static int
hydra_ws_safe(const char *s)
{
    unsigned char  c;

    if (*s == '\0') {
        return 0;
    }

    for ( /* void */ ; *s; s++) {
        c = (unsigned char) *s;

        if (c <= 0x20 || c == 0x7f) {
            return 0;
        }
    }

    return 1;
}


static int
hydra_ws_name_is(const char *p, const char *end, const char *name)
{
    size_t  n;

    n = end - p;

    return n == strlen(name) && strncasecmp(p, name, n) == 0;
}


/* a comma-separated list of tokens holds token, in any case */

static int
hydra_ws_has_token(const char *v, size_t n, const char *token)
{
    const char  *p, *end, *comma, *t, *tend;

    p = v;
    end = v + n;

    while (p <= end) {
        comma = memchr(p, ',', end - p);
        tend = comma ? comma : end;
        t = p;
        hydra_ws_trim(&t, &tend);

        if (hydra_ws_name_is(t, tend, token)) {
            return 1;
        }

        if (comma == NULL) {
            break;
        }

        p = comma + 1;
    }

    return 0;
}


static void
hydra_ws_trim(const char **v, const char **end)
{
    while (*v < *end && (**v == ' ' || **v == '\t')) {
        (*v)++;
    }

    while (*end > *v && ((*end)[-1] == ' ' || (*end)[-1] == '\t')) {
        (*end)--;
    }
}
