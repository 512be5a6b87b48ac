
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * RFC 6455 for both of our roles: the server of browsers (their frames
 * must be masked) and the client of each repo's /ws (its frames must not
 * be; ours must).  An incremental frame parser, the header and mask
 * writers, an incremental UTF-8 validator, and the text parts of the
 * opening handshake (SHA-1 and base64 come from nginx in the glue).
 * No nginx headers.
 */


#ifndef _HYDRA_WS_H_INCLUDED_
#define _HYDRA_WS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "hydra.h"


/* appended to Sec-WebSocket-Key before SHA-1 (RFC 6455 section 1.3) */
#define HYDRA_WS_GUID            "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#define HYDRA_WS_CONTINUATION    0x0
#define HYDRA_WS_TEXT            0x1
#define HYDRA_WS_BINARY          0x2
#define HYDRA_WS_CLOSE           0x8
#define HYDRA_WS_PING            0x9
#define HYDRA_WS_PONG            0xa

/* close codes (section 7.4.1); 1005 and 1006 are never sent */
#define HYDRA_WS_NORMAL          1000
#define HYDRA_WS_GOING_AWAY      1001
#define HYDRA_WS_PROTOCOL_ERROR  1002
#define HYDRA_WS_UNSUPPORTED     1003
#define HYDRA_WS_NO_STATUS       1005
#define HYDRA_WS_ABNORMAL        1006
#define HYDRA_WS_INVALID_DATA    1007
#define HYDRA_WS_POLICY          1008
#define HYDRA_WS_TOO_BIG         1009
#define HYDRA_WS_INTERNAL        1011

#define HYDRA_WS_HEADER_MAX      14      /* 2 + 8 length + 4 mask */
#define HYDRA_WS_CONTROL_MAX     125     /* payload of a control frame */
#define HYDRA_WS_REASON_MAX      123     /* a close reason, in bytes */
#define HYDRA_WS_KEY_LEN         24      /* base64 of 16 bytes */
#define HYDRA_WS_ACCEPT_LEN      28      /* base64 of a SHA-1 */

/* the largest piece of a masked data frame, unmasked in the parser */
#define HYDRA_WS_CHUNK           1024


typedef enum {
    HYDRA_WS_CLIENT = 0,         /* frames come unmasked from a server */
    HYDRA_WS_SERVER              /* frames come masked from a client */
} hydra_ws_role_e;


typedef enum {
    HYDRA_WS_ST_HEADER = 0,
    HYDRA_WS_ST_PAYLOAD,
    HYDRA_WS_ST_CONTROL,
    HYDRA_WS_ST_FAILED
} hydra_ws_state_e;


/* incremental UTF-8 validation: init, feed any number of times, done */
typedef struct {
    unsigned              need;          /* continuation bytes to come */
    unsigned char         lo;            /* the range of the next one */
    unsigned char         hi;
    unsigned char         error;
} hydra_utf8_t;


/*
 * One HYDRA_OK of hydra_ws_parse(): a piece of one frame's payload.
 *
 * Every frame gives at least one piece (an empty frame gives one of
 * length 0).  A control frame always comes whole, in one piece, even
 * between the fragments of a data message.  A data frame may come in
 * several pieces, offset 0 first, in order, without gaps; "last" marks
 * the frame's final piece and "end" the final piece of the message
 * (last and fin).  So a caller just appends the data of every TEXT or
 * BINARY piece ("message") and takes the message at "end".
 *
 * data is unmasked.  It points into the caller's buf when the frame was
 * not masked (no copy), or into the parser (masked frames, at most
 * HYDRA_WS_CHUNK bytes a piece; control frames), and stays valid until
 * the next call or until the caller changes buf.
 */

typedef struct {
    int                   opcode;        /* of this frame */
    int                   message;       /* TEXT, BINARY, or = opcode */
    int                   fin;
    int                   last;          /* the frame's payload is done */
    int                   end;           /* the message is done */
    const unsigned char  *data;
    size_t                len;
    uint64_t              offset;        /* of data in the payload */
    uint64_t              frame_len;     /* the whole payload */
    unsigned              close_code;    /* CLOSE: its code, or 1005 */
    const unsigned char  *reason;        /* CLOSE: UTF-8, no NUL */
    size_t                reason_len;
} hydra_ws_frame_t;


/*
 * The parser's state between calls; set up by hydra_ws_parser_init()
 * and otherwise private, but for close_code after a HYDRA_ERROR.
 */

typedef struct {
    hydra_ws_role_e       role;
    uint64_t              max_message;   /* all fragments; 0: no limit */
    unsigned              close_code;    /* why, after HYDRA_ERROR */

    hydra_ws_state_e      state;
    unsigned char         header[HYDRA_WS_HEADER_MAX];
    size_t                header_len;
    size_t                header_need;
    int                   opcode;
    int                   fin;
    int                   masked;
    unsigned char         mask[4];
    uint64_t              frame_len;
    uint64_t              frame_done;

    int                   message;       /* open data message, or 0 */
    uint64_t              message_len;   /* its fragments so far */
    hydra_utf8_t          utf8;          /* of an open TEXT message */

    unsigned char         buf[HYDRA_WS_CHUNK];
} hydra_ws_parser_t;


void hydra_ws_parser_init(hydra_ws_parser_t *p, hydra_ws_role_e role,
    uint64_t max_message);
int hydra_ws_parse(hydra_ws_parser_t *p, const unsigned char *buf,
    size_t len, size_t *consumed, hydra_ws_frame_t *frame);

size_t hydra_ws_header(unsigned char *dst, int opcode, int fin,
    uint64_t len, const unsigned char *mask);
void hydra_ws_mask(unsigned char *data, size_t len,
    const unsigned char mask[4], size_t offset);
size_t hydra_ws_close_payload(unsigned char *dst, unsigned code,
    const char *reason);

void hydra_utf8_init(hydra_utf8_t *u);
int hydra_utf8_feed(hydra_utf8_t *u, const unsigned char *p, size_t len);
int hydra_utf8_done(const hydra_utf8_t *u);

int hydra_ws_key_valid(const char *key, size_t len);
size_t hydra_ws_client_request(char *dst, size_t size, const char *host,
    const char *path, const char *key);
int hydra_ws_client_response(const char *buf, size_t len,
    size_t *header_len, char *accept, size_t accept_size);


#endif /* _HYDRA_WS_H_INCLUDED_ */
