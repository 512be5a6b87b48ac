
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "hydra_event.h"
#include "hydra_merge.h"


#define hydra_event_check(call)                                               \
    do {                                                                      \
        if ((call) != yajl_gen_status_ok) {                                   \
            return HYDRA_ERROR;                                               \
        }                                                                     \
    } while (0)

#define hydra_event_key(g, key)                                               \
    hydra_event_check(yajl_gen_string(g, (const unsigned char *) key,         \
                                      sizeof(key) - 1))

#define hydra_event_is(key, len, name)                                        \
    ((len) == sizeof(name) - 1 && memcmp(key, name, len) == 0)

/* U+FFFD, for each byte of a string that is not UTF-8 */
#define HYDRA_EVENT_REPLACEMENT  "\xef\xbf\xbd"

/* a callback's answer: 1 when the event was written, or is not copied */
#define hydra_event_emit(ctx, call)                                           \
    (!hydra_event_copied(ctx) || (call) == yajl_gen_status_ok)


/* what a member of a frame's own object becomes */
typedef enum {
    HYDRA_EVENT_COPY = 0,       /* copied as it is */
    HYDRA_EVENT_TYPE,           /* copied, and read */
    HYDRA_EVENT_TIMESTAMP,      /* copied, and read */
    HYDRA_EVENT_ID,             /* read: it becomes source_id */
    HYDRA_EVENT_DROP            /* source_id, repo: the hub writes its own */
} hydra_event_member_e;


/*
 * The parser's callbacks serve three passes: reading a frame (g is NULL:
 * id, type and timestamp go to ev), writing a frame's members but the
 * dropped ones (g and ev), and copying a data object whole (g, no ev).
 * yajl's parser keeps its own stack on the heap, so nothing recurses.
 */

typedef struct {
    yajl_gen                 g;
    hydra_event_t           *ev;
    unsigned                 depth;     /* of open "{" and "[" */
    unsigned                 ntypes;    /* "type" members of a frame */
    hydra_event_member_e     member;    /* the frame's member being read */
} hydra_event_ctx_t;


static int hydra_event_write(yajl_gen g, const char *frame, size_t len,
    const char *repo_key, hydra_event_t *ev);
static int hydra_event_write_own(yajl_gen g, const char *type,
    const char *repo_key, const char *timestamp, const char *data_json);
static int hydra_event_rest(yajl_gen g, char *rest, size_t size,
    size_t *rest_len);
static int hydra_event_parse(const char *json, size_t len, yajl_gen g,
    hydra_event_t *ev, unsigned *ntypes);
static yajl_gen hydra_event_gen(void);
static yajl_gen_status hydra_event_string_or_null(yajl_gen g,
    const char *s);
static yajl_gen_status hydra_event_text(yajl_gen g, const unsigned char *s,
    size_t len);
static int hydra_event_null(void *data);
static int hydra_event_boolean(void *data, int b);
static int hydra_event_number(void *data, const char *s, size_t len);
static int hydra_event_string(void *data, const unsigned char *s,
    size_t len);
static int hydra_event_start_map(void *data);
static int hydra_event_map_key(void *data, const unsigned char *key,
    size_t len);
static int hydra_event_end_map(void *data);
static int hydra_event_start_array(void *data);
static int hydra_event_end_array(void *data);
static int hydra_event_value(hydra_event_ctx_t *ctx, int string);
static int hydra_event_open(hydra_event_ctx_t *ctx);
static int hydra_event_copied(hydra_event_ctx_t *ctx);
static hydra_event_member_e hydra_event_member(const unsigned char *key,
    size_t len);
static int64_t hydra_event_id(const char *s, size_t len);
static int hydra_event_utf8_ok(const unsigned char *s, size_t len);
static size_t hydra_event_utf8(const unsigned char *s, size_t len);
static void hydra_event_copy(char *dst, size_t size, const unsigned char *s,
    size_t len);
static int hydra_event_type_char(int c);


static const yajl_callbacks  hydra_event_callbacks = {
    hydra_event_null,
    hydra_event_boolean,
    NULL,                       /* integers and doubles come as text */
    NULL,
    hydra_event_number,
    hydra_event_string,
    hydra_event_start_map,
    hydra_event_map_key,
    hydra_event_end_map,
    hydra_event_start_array,
    hydra_event_end_array
};


/*
 * A repo's text frame to what the ring appends to {"id":<global id>,:
 *
 *   "source_id":1842,"repo":"acme-api",<every other member>}
 *
 * The frame must be one JSON object with exactly one "type", a non-empty
 * string; its "id" (a non-negative integer, else source_id is null and
 * ev->source_id -1), "source_id" and "repo" are replaced, the rest is
 * copied in order, numbers as written, and each byte of a string that is
 * not UTF-8 as U+FFFD.  repo_key NULL writes "repo":null.  HYDRA_ERROR:
 * not such a frame; HYDRA_DECLINED: the rest is longer than rest_size.
 */

int
hydra_event_tag(const char *frame, size_t len, const char *repo_key,
    hydra_event_t *ev, char *rest, size_t rest_size, size_t *rest_len)
{
    int       rc;
    unsigned  ntypes;
    yajl_gen  g;

    ev->source_id = -1;
    ev->type[0] = '\0';
    ev->timestamp[0] = '\0';

    if (!hydra_merge_depth_ok(frame, len, HYDRA_EVENT_DEPTH_MAX)) {
        return HYDRA_ERROR;
    }

    /* first the members the rest starts with, wherever they are */

    if (hydra_event_parse(frame, len, NULL, ev, &ntypes) != HYDRA_OK
        || ntypes != 1)
    {
        return HYDRA_ERROR;
    }

    g = hydra_event_gen();
    if (g == NULL) {
        return HYDRA_ERROR;
    }

    rc = hydra_event_write(g, frame, len, repo_key, ev);

    if (rc == HYDRA_OK) {
        rc = hydra_event_rest(g, rest, rest_size, rest_len);
    }

    yajl_gen_free(g);

    return rc;
}


/*
 * The module's own events (registry and health changes, gaps), in the
 * shape of a tagged frame:
 *
 *   "repo":"acme-api"|null,"type":"gap","timestamp":"..."|null,
 *   "data":{...},"session_id":null}
 *
 * data_json is the text of a JSON object (NULL: {}).  HYDRA_DECLINED: the
 * rest is longer than size.
 */

int
hydra_event_make(const char *type, const char *repo_key,
    const char *timestamp, const char *data_json, char *rest, size_t size,
    size_t *rest_len)
{
    int       rc;
    yajl_gen  g;

    if (type == NULL || type[0] == '\0') {
        return HYDRA_ERROR;
    }

    if (data_json != NULL
        && !hydra_merge_depth_ok(data_json, strlen(data_json),
                                 HYDRA_EVENT_DEPTH_MAX))
    {
        return HYDRA_ERROR;
    }

    g = hydra_event_gen();
    if (g == NULL) {
        return HYDRA_ERROR;
    }

    rc = hydra_event_write_own(g, type, repo_key, timestamp, data_json);

    if (rc == HYDRA_OK) {
        rc = hydra_event_rest(g, rest, size, rest_len);
    }

    yajl_gen_free(g);

    return rc;
}


/*
 * A browser's ?types=a,b,c as the query has it: names of [a-z0-9_],
 * 1..HYDRA_EVENT_TYPE_MAX bytes, split by "," or its escape "%2C" (what
 * URLSearchParams sends); at most HYDRA_EVENT_TYPES_MAX distinct names.
 * An empty value is no filter.  On error t filters nothing.
 */

int
hydra_event_types_parse(const char *arg, size_t len, hydra_event_types_t *t)
{
    size_t       n;
    unsigned     i;
    const char  *p, *end, *name;

    t->n = 0;

    if (len == 0) {
        return HYDRA_OK;
    }

    p = arg;
    end = arg + len;

    for ( ;; ) {
        name = p;

        while (p < end && hydra_event_type_char((unsigned char) *p)) {
            p++;
        }

        n = p - name;

        if (n == 0 || n > HYDRA_EVENT_TYPE_MAX) {
            goto invalid;
        }

        for (i = 0; i < t->n; i++) {
            if (strncmp(t->names[i], name, n) == 0
                && t->names[i][n] == '\0')
            {
                break;
            }
        }

        if (i == t->n) {
            if (t->n == HYDRA_EVENT_TYPES_MAX) {
                goto invalid;
            }

            memcpy(t->names[t->n], name, n);
            t->names[t->n][n] = '\0';
            t->n++;
        }

        if (p == end) {
            return HYDRA_OK;
        }

        if (*p == ',') {
            p++;

        } else if (end - p >= 3 && p[0] == '%' && p[1] == '2'
                   && (p[2] == 'C' || p[2] == 'c'))
        {
            p += 3;

        } else {
            goto invalid;
        }
    }

invalid:

    t->n = 0;

    return HYDRA_ERROR;
}


int
hydra_event_types_match(const hydra_event_types_t *t, const char *type)
{
    unsigned  i;

    if (t->n == 0) {
        return 1;
    }

    if (type == NULL) {
        return 0;
    }

    for (i = 0; i < t->n; i++) {
        if (strcmp(t->names[i], type) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
hydra_event_write(yajl_gen g, const char *frame, size_t len,
    const char *repo_key, hydra_event_t *ev)
{
    hydra_event_check(yajl_gen_map_open(g));

    hydra_event_key(g, "source_id");

    if (ev->source_id >= 0) {
        hydra_event_check(yajl_gen_integer(g, (long long) ev->source_id));

    } else {
        hydra_event_check(yajl_gen_null(g));
    }

    hydra_event_key(g, "repo");
    hydra_event_check(hydra_event_string_or_null(g, repo_key));

    /* BEGIN the frame's members */

    if (hydra_event_parse(frame, len, g, ev, NULL) != HYDRA_OK) {
        return HYDRA_ERROR;
    }

    /* END the frame's members */

    hydra_event_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


static int
hydra_event_write_own(yajl_gen g, const char *type, const char *repo_key,
    const char *timestamp, const char *data_json)
{
    hydra_event_check(yajl_gen_map_open(g));

    hydra_event_key(g, "repo");
    hydra_event_check(hydra_event_string_or_null(g, repo_key));

    hydra_event_key(g, "type");
    hydra_event_check(hydra_event_string_or_null(g, type));

    hydra_event_key(g, "timestamp");
    hydra_event_check(hydra_event_string_or_null(g, timestamp));

    /* BEGIN data */

    hydra_event_key(g, "data");

    if (data_json == NULL) {
        hydra_event_check(yajl_gen_map_open(g));
        hydra_event_check(yajl_gen_map_close(g));

    } else if (hydra_event_parse(data_json, strlen(data_json), g, NULL, NULL)
               != HYDRA_OK)
    {
        return HYDRA_ERROR;
    }

    /* END data */

    hydra_event_key(g, "session_id");
    hydra_event_check(yajl_gen_null(g));

    hydra_event_check(yajl_gen_map_close(g));

    return HYDRA_OK;
}


/* the generator's "{" is the ring's head: the rest is what follows it */

static int
hydra_event_rest(yajl_gen g, char *rest, size_t size, size_t *rest_len)
{
    size_t                len;
    const unsigned char  *buf;

    hydra_event_check(yajl_gen_get_buf(g, &buf, &len));

    if (len < 2 || buf[0] != '{' || buf[len - 1] != '}') {
        return HYDRA_ERROR;
    }

    if (len - 1 > size) {
        return HYDRA_DECLINED;
    }

    memcpy(rest, buf + 1, len - 1);
    *rest_len = len - 1;

    return HYDRA_OK;
}


/*
 * One pass of the parser over a JSON object: reading a frame (g NULL),
 * writing it (g and ev), or copying it (g, ev NULL).  Anything but one
 * object, or nesting past HYDRA_EVENT_DEPTH_MAX, fails.
 */

static int
hydra_event_parse(const char *json, size_t len, yajl_gen g,
    hydra_event_t *ev, unsigned *ntypes)
{
    yajl_handle        h;
    yajl_status        rc;
    hydra_event_ctx_t  ctx;

    memset(&ctx, 0, sizeof(hydra_event_ctx_t));
    ctx.g = g;
    ctx.ev = ev;
    ctx.member = HYDRA_EVENT_COPY;

    h = yajl_alloc(&hydra_event_callbacks, NULL, &ctx);
    if (h == NULL) {
        return HYDRA_ERROR;
    }

    /*
     * yajl lets surrogates, overlong forms and code points past U+10FFFF
     * through, which a browser fails a WebSocket on: strings are checked
     * strictly as they are written instead (hydra_event_text())
     */

    if (!yajl_config(h, yajl_dont_validate_strings, 1)) {
        yajl_free(h);
        return HYDRA_ERROR;
    }

    rc = yajl_parse(h, (const unsigned char *) json, len);

    if (rc == yajl_status_ok) {
        rc = yajl_complete_parse(h);
    }

    yajl_free(h);

    if (rc != yajl_status_ok || ctx.depth != 0) {
        return HYDRA_ERROR;
    }

    if (ntypes != NULL) {
        *ntypes = ctx.ntypes;
    }

    return HYDRA_OK;
}


/* a generator as every event is written: compact, strict UTF-8 */

static yajl_gen
hydra_event_gen(void)
{
    yajl_gen  g;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }

    if (!yajl_gen_config(g, yajl_gen_validate_utf8, 1)) {
        yajl_gen_free(g);
        return NULL;
    }

    return g;
}


/* the module's own strings: any that is not UTF-8 is a bug, refused */

static yajl_gen_status
hydra_event_string_or_null(yajl_gen g, const char *s)
{
    size_t  len;

    if (s == NULL) {
        return yajl_gen_null(g);
    }

    len = strlen(s);

    if (!hydra_event_utf8_ok((const unsigned char *) s, len)) {
        return yajl_gen_invalid_string;
    }

    return yajl_gen_string(g, (const unsigned char *) s, len);
}


/*
 * A repo's string: each byte that is not part of a UTF-8 character
 * becomes U+FFFD, as a browser would show it, so that one bad transcript
 * line neither kills the event nor the browsers' sockets.
 */

static yajl_gen_status
hydra_event_text(yajl_gen g, const unsigned char *s, size_t len)
{
    size_t           i, n, k;
    unsigned char   *fixed;
    yajl_gen_status  rc;

    if (hydra_event_utf8_ok(s, len)) {
        return yajl_gen_string(g, s, len);
    }

    fixed = malloc(3 * len);
    if (fixed == NULL) {
        return yajl_gen_in_error_state;
    }

    k = 0;

    for (i = 0; i < len; i += n) {
        n = hydra_event_utf8(s + i, len - i);

        if (n == 0) {
            memcpy(fixed + k, HYDRA_EVENT_REPLACEMENT, 3);
            k += 3;
            n = 1;

        } else {
            memcpy(fixed + k, s + i, n);
            k += n;
        }
    }

    rc = yajl_gen_string(g, fixed, k);
    free(fixed);

    return rc;
}


static int
hydra_event_null(void *data)
{
    hydra_event_ctx_t  *ctx = data;

    return hydra_event_value(ctx, 0)
           && hydra_event_emit(ctx, yajl_gen_null(ctx->g));
}


static int
hydra_event_boolean(void *data, int b)
{
    hydra_event_ctx_t  *ctx = data;

    return hydra_event_value(ctx, 0)
           && hydra_event_emit(ctx, yajl_gen_bool(ctx->g, b));
}


static int
hydra_event_number(void *data, const char *s, size_t len)
{
    hydra_event_ctx_t  *ctx = data;

    if (!hydra_event_value(ctx, 0)) {
        return 0;
    }

    if (ctx->g == NULL && ctx->depth == 1
        && ctx->member == HYDRA_EVENT_ID)
    {
        ctx->ev->source_id = hydra_event_id(s, len);
    }

    return hydra_event_emit(ctx, yajl_gen_number(ctx->g, s, len));
}


static int
hydra_event_string(void *data, const unsigned char *s, size_t len)
{
    hydra_event_ctx_t  *ctx = data;

    if (!hydra_event_value(ctx, 1)) {
        return 0;
    }

    if (ctx->g == NULL && ctx->depth == 1) {

        if (ctx->member == HYDRA_EVENT_TYPE) {

            /* what filters see is what browsers see */

            if (len == 0 || memchr(s, '\0', len) != NULL
                || !hydra_event_utf8_ok(s, len))
            {
                return 0;
            }

            hydra_event_copy(ctx->ev->type, HYDRA_RING_TYPE_SIZE, s, len);

        } else if (ctx->member == HYDRA_EVENT_TIMESTAMP
                   && hydra_event_utf8_ok(s, len))
        {
            hydra_event_copy(ctx->ev->timestamp, HYDRA_EVENT_TIME_SIZE, s,
                             len);
        }
    }

    return hydra_event_emit(ctx, hydra_event_text(ctx->g, s, len));
}


static int
hydra_event_start_map(void *data)
{
    hydra_event_ctx_t  *ctx = data;

    if (ctx->depth == 0) {
        ctx->depth = 1;

        /* a frame's own braces are written around its members */

        return ctx->ev != NULL
               || hydra_event_emit(ctx, yajl_gen_map_open(ctx->g));
    }

    return hydra_event_open(ctx)
           && hydra_event_emit(ctx, yajl_gen_map_open(ctx->g));
}


static int
hydra_event_map_key(void *data, const unsigned char *key, size_t len)
{
    hydra_event_ctx_t  *ctx = data;

    if (ctx->depth == 1 && ctx->ev != NULL) {
        ctx->member = hydra_event_member(key, len);

        /* of members given twice, the last counts, as in a browser */

        if (ctx->g == NULL) {
            switch (ctx->member) {

            case HYDRA_EVENT_TYPE:
                ctx->ntypes++;
                break;

            case HYDRA_EVENT_TIMESTAMP:
                ctx->ev->timestamp[0] = '\0';
                break;

            case HYDRA_EVENT_ID:
                ctx->ev->source_id = -1;
                break;

            default:
                break;
            }
        }
    }

    return hydra_event_emit(ctx, hydra_event_text(ctx->g, key, len));
}


static int
hydra_event_end_map(void *data)
{
    hydra_event_ctx_t  *ctx = data;

    if (--ctx->depth == 0 && ctx->ev != NULL) {
        return 1;
    }

    return hydra_event_emit(ctx, yajl_gen_map_close(ctx->g));
}


static int
hydra_event_start_array(void *data)
{
    hydra_event_ctx_t  *ctx = data;

    return hydra_event_open(ctx)
           && hydra_event_emit(ctx, yajl_gen_array_open(ctx->g));
}


static int
hydra_event_end_array(void *data)
{
    hydra_event_ctx_t  *ctx = data;

    ctx->depth--;

    return hydra_event_emit(ctx, yajl_gen_array_close(ctx->g));
}


/* 1 when a value may come here: inside the object, a type as a string */

static int
hydra_event_value(hydra_event_ctx_t *ctx, int string)
{
    if (ctx->depth == 0) {
        return 0;
    }

    return string || ctx->depth != 1 || ctx->member != HYDRA_EVENT_TYPE;
}


static int
hydra_event_open(hydra_event_ctx_t *ctx)
{
    if (!hydra_event_value(ctx, 0) || ctx->depth >= HYDRA_EVENT_DEPTH_MAX) {
        return 0;
    }

    ctx->depth++;

    return 1;
}


static int
hydra_event_copied(hydra_event_ctx_t *ctx)
{
    return ctx->g != NULL && ctx->member <= HYDRA_EVENT_TIMESTAMP;
}


static hydra_event_member_e
hydra_event_member(const unsigned char *key, size_t len)
{
    if (hydra_event_is(key, len, "type")) {
        return HYDRA_EVENT_TYPE;
    }

    if (hydra_event_is(key, len, "timestamp")) {
        return HYDRA_EVENT_TIMESTAMP;
    }

    if (hydra_event_is(key, len, "id")) {
        return HYDRA_EVENT_ID;
    }

    if (hydra_event_is(key, len, "source_id")
        || hydra_event_is(key, len, "repo"))
    {
        return HYDRA_EVENT_DROP;
    }

    return HYDRA_EVENT_COPY;
}


/* a number's text as an id: digits only, up to INT64_MAX, else -1 */

static int64_t
hydra_event_id(const char *s, size_t len)
{
    size_t   i;
    int64_t  id, d;

    if (len == 0) {
        return -1;
    }

    id = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        d = s[i] - '0';

        if (id > (INT64_MAX - d) / 10) {
            return -1;
        }

        id = id * 10 + d;
    }

    return id;
}


static int
hydra_event_utf8_ok(const unsigned char *s, size_t len)
{
    size_t  i, n;

    for (i = 0; i < len; i += n) {
        n = hydra_event_utf8(s + i, len - i);

        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


/*
 * The length of the UTF-8 character s starts with (RFC 3629, 4), or 0:
 * no overlong form, no surrogate, nothing past U+10FFFF.
 */

static size_t
hydra_event_utf8(const unsigned char *s, size_t len)
{
    size_t  n, i;

    if (s[0] < 0x80) {
        return 1;
    }

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;

    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;

    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }

    if ((s[0] == 0xe0 && s[1] < 0xa0)
        || (s[0] == 0xed && s[1] > 0x9f)
        || (s[0] == 0xf0 && s[1] < 0x90)
        || (s[0] == 0xf4 && s[1] > 0x8f))
    {
        return 0;
    }

    return n;
}


/* up to a NUL and size - 1 bytes, never half a UTF-8 character */

static void
hydra_event_copy(char *dst, size_t size, const unsigned char *s, size_t len)
{
    const unsigned char  *nul;

    nul = memchr(s, '\0', len);

    if (nul != NULL) {
        len = nul - s;
    }

    if (len >= size) {
        len = size - 1;

        while (len > 0 && (s[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    memcpy(dst, s, len);
    dst[len] = '\0';
}


static int
hydra_event_type_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}
