
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdlib.h>
#include <string.h>

#include "hydra_jspan.h"

#if (defined __SSE2__)
#include <emmintrin.h>
#define HYDRA_JSPAN_SSE2        1
#endif


/* a node per 8 bytes of text is more than HydraFlow's answers need */
#define HYDRA_JSPAN_NODES(len)  ((len) / 8 + 16)

#define hydra_jspan_number_starts(c)                                          \
    ((c) == '-' || (unsigned) ((c) - '0') <= 9)

/* a string compared decoded on the stack up to this, else malloc'd */
#define HYDRA_JSPAN_STACK_MAX   256


typedef struct {
    hydra_jspan_doc_t            *doc;
    const unsigned char          *start;
    const unsigned char          *p;
    const unsigned char          *end;
    size_t                        parent;     /* its index + 1, 0: none */
    unsigned                      depth;
    unsigned                      max_depth;
    const unsigned char          *key;        /* of the value coming next */
    uint32_t                      key_len;
    uint8_t                       key_flags;
} hydra_jspan_parser_t;


static int hydra_jspan_value(hydra_jspan_parser_t *ps);
static int hydra_jspan_after(hydra_jspan_parser_t *ps);
static int hydra_jspan_member(hydra_jspan_parser_t *ps);
static int hydra_jspan_numbers(hydra_jspan_parser_t *ps);
static void hydra_jspan_close(hydra_jspan_parser_t *ps);
static inline hydra_jspan_node_t *hydra_jspan_node(hydra_jspan_parser_t *ps);
static int hydra_jspan_fail(hydra_jspan_parser_t *ps, const char *why);
static const unsigned char *hydra_jspan_ws(const unsigned char *p,
    const unsigned char *end);
static const unsigned char *hydra_jspan_scan_escape(const unsigned char *p,
    const unsigned char *end);
static int hydra_jspan_text_cmp(const char *a, size_t alen, int aesc,
    const char *b, size_t blen, int besc);


/*
 * Parses text (RFC 8259: one value, whitespace around it, UTF-8 strings
 * without overlong forms or surrogates, no comments) into doc, "[" and
 * "{" nested at most max_depth deep.  HYDRA_ERROR with doc->error set
 * when it is not JSON, or not enough memory ("out of memory").  The
 * nodes point into text, which must outlive them; doc is freed with
 * hydra_jspan_free() whatever the result.
 */

int
hydra_jspan_parse(hydra_jspan_doc_t *doc, const char *text, size_t len,
    unsigned max_depth)
{
    int                   rc;
    hydra_jspan_parser_t  ps;

    doc->nnodes = 0;
    doc->error = NULL;
    doc->error_at = 0;
    doc->cap = HYDRA_JSPAN_NODES(len);
    doc->nodes = malloc(doc->cap * sizeof(hydra_jspan_node_t));

    ps.doc = doc;
    ps.start = (const unsigned char *) text;
    ps.p = ps.start;
    ps.end = ps.start + len;
    ps.parent = 0;
    ps.depth = 0;
    ps.max_depth = max_depth;
    ps.key = NULL;
    ps.key_len = 0;
    ps.key_flags = 0;

    if (doc->nodes == NULL) {
        doc->cap = 0;
        return hydra_jspan_fail(&ps, "out of memory");
    }

    if (len >= UINT32_MAX) {
        return hydra_jspan_fail(&ps, "too long");
    }

    ps.p = hydra_jspan_ws(ps.p, ps.end);

    for ( ;; ) {
        rc = hydra_jspan_value(&ps);

        if (rc == HYDRA_AGAIN) {
            continue;
        }

        if (rc == HYDRA_OK) {
            rc = hydra_jspan_after(&ps);
        }

        if (rc == HYDRA_ERROR) {
            return HYDRA_ERROR;
        }

        if (rc == HYDRA_OK) {
            break;
        }
    }

    if (hydra_jspan_ws(ps.p, ps.end) != ps.end) {
        return hydra_jspan_fail(&ps, "more after the value");
    }

    return HYDRA_OK;
}


void
hydra_jspan_free(hydra_jspan_doc_t *doc)
{
    free(doc->nodes);

    doc->nodes = NULL;
    doc->nnodes = 0;
    doc->cap = 0;
}


/*
 * One value at p: HYDRA_OK when it is whole (a scalar, an empty
 * container), HYDRA_AGAIN when a container opened and its first value
 * (after its first key) is next.
 */

static int
hydra_jspan_value(hydra_jspan_parser_t *ps)
{
    int                   flag;
    size_t                n;
    unsigned char         close;
    hydra_jspan_node_t   *v;
    const unsigned char  *p, *q;

    p = ps->p;

    if (p == ps->end) {
        return hydra_jspan_fail(ps, "a value expected");
    }

    v = hydra_jspan_node(ps);
    if (v == NULL) {
        return HYDRA_ERROR;
    }

    switch (*p) {

    case '"':
        q = hydra_jspan_scan_string(p + 1, ps->end, &flag);
        if (q == NULL) {
            return hydra_jspan_fail(ps, "a bad string");
        }

        v->type = HYDRA_JSPAN_STRING;
        v->flags |= flag ? HYDRA_JSPAN_ESCAPED : 0;
        v->len = (uint32_t) (q + 1 - p);
        ps->p = q + 1;
        return HYDRA_OK;

    case '{':
    case '[':
        if (++ps->depth > ps->max_depth) {
            return hydra_jspan_fail(ps, "nested too deep");
        }

        n = v - ps->doc->nodes;
        close = (*p == '{') ? '}' : ']';

        /* while open: len is the last child's index, next the parent's */

        v->type = (*p == '{') ? HYDRA_JSPAN_OBJECT : HYDRA_JSPAN_ARRAY;
        v->len = 0;
        v->next = (uint32_t) ps->parent;
        ps->parent = n + 1;

        ps->p = hydra_jspan_ws(p + 1, ps->end);

        if (ps->p == ps->end) {
            return hydra_jspan_fail(ps, "unterminated");
        }

        if (*ps->p == close) {
            hydra_jspan_close(ps);
            return HYDRA_OK;
        }

        if (close == '}') {
            return (hydra_jspan_member(ps) == HYDRA_OK) ? HYDRA_AGAIN
                                                        : HYDRA_ERROR;
        }

        if (hydra_jspan_number_starts(*ps->p)) {
            return hydra_jspan_numbers(ps);
        }

        return HYDRA_AGAIN;

    case 't':
    case 'n':
        if (ps->end - p < 4
            || memcmp(p, (*p == 't') ? "true" : "null", 4) != 0)
        {
            return hydra_jspan_fail(ps, "a bad literal");
        }

        v->type = (*p == 't') ? HYDRA_JSPAN_TRUE : HYDRA_JSPAN_NULL;
        v->len = 4;
        ps->p = p + 4;
        return HYDRA_OK;

    case 'f':
        if (ps->end - p < 5 || memcmp(p, "false", 5) != 0) {
            return hydra_jspan_fail(ps, "a bad literal");
        }

        v->type = HYDRA_JSPAN_FALSE;
        v->len = 5;
        ps->p = p + 5;
        return HYDRA_OK;

    default:
        q = hydra_jspan_number(p, ps->end, &flag);
        if (q == NULL) {
            return hydra_jspan_fail(ps, "a bad value");
        }

        v->type = HYDRA_JSPAN_NUMBER;
        v->flags |= flag ? HYDRA_JSPAN_DIGITS : 0;
        v->len = (uint32_t) (q - p);
        ps->p = q;
        return HYDRA_OK;
    }
}


/*
 * After a whole value: closes the containers that end there.  HYDRA_OK
 * when the root is whole, HYDRA_AGAIN when another value is next.
 */

static int
hydra_jspan_after(hydra_jspan_parser_t *ps)
{
    unsigned char        close;
    hydra_jspan_node_t  *parent;

    for ( ;; ) {
        if (ps->parent == 0) {
            return HYDRA_OK;
        }

        ps->p = hydra_jspan_ws(ps->p, ps->end);

        if (ps->p == ps->end) {
            return hydra_jspan_fail(ps, "unterminated");
        }

        parent = &ps->doc->nodes[ps->parent - 1];
        close = (parent->type == HYDRA_JSPAN_OBJECT) ? '}' : ']';

        if (*ps->p == ',') {
            ps->p = hydra_jspan_ws(ps->p + 1, ps->end);

            if (close == '}') {
                return hydra_jspan_member(ps) == HYDRA_OK ? HYDRA_AGAIN
                                                          : HYDRA_ERROR;
            }

            return HYDRA_AGAIN;
        }

        if (*ps->p != close) {
            return hydra_jspan_fail(ps, "\",\" or the end expected");
        }

        hydra_jspan_close(ps);
    }
}


/*
 * An array's run of numbers (duration lists are long ones): each a node,
 * without the round through hydra_jspan_value() and hydra_jspan_after()
 * per number.  As those would: HYDRA_OK when the array is closed,
 * HYDRA_AGAIN when a value of another kind comes next, after its ",".
 */

static int
hydra_jspan_numbers(hydra_jspan_parser_t *ps)
{
    int                   flag;
    hydra_jspan_node_t   *v;
    const unsigned char  *p, *q;

    for ( ;; ) {
        v = hydra_jspan_node(ps);
        if (v == NULL) {
            return HYDRA_ERROR;
        }

        p = ps->p;

        q = hydra_jspan_number(p, ps->end, &flag);
        if (q == NULL) {
            return hydra_jspan_fail(ps, "a bad value");
        }

        v->type = HYDRA_JSPAN_NUMBER;
        v->flags |= flag ? HYDRA_JSPAN_DIGITS : 0;
        v->len = (uint32_t) (q - p);

        ps->p = hydra_jspan_ws(q, ps->end);

        if (ps->p == ps->end) {
            return hydra_jspan_fail(ps, "unterminated");
        }

        if (*ps->p == ']') {
            hydra_jspan_close(ps);
            return HYDRA_OK;
        }

        if (*ps->p != ',') {
            return hydra_jspan_fail(ps, "\",\" or the end expected");
        }

        ps->p = hydra_jspan_ws(ps->p + 1, ps->end);

        if (ps->p == ps->end || !hydra_jspan_number_starts(*ps->p)) {
            return HYDRA_AGAIN;
        }
    }
}


/* a member's key and ":", up to its value */

static int
hydra_jspan_member(hydra_jspan_parser_t *ps)
{
    int                   esc;
    const unsigned char  *p, *q;

    p = ps->p;

    if (p == ps->end || *p != '"') {
        return hydra_jspan_fail(ps, "a key expected");
    }

    q = hydra_jspan_scan_string(p + 1, ps->end, &esc);
    if (q == NULL) {
        return hydra_jspan_fail(ps, "a bad key");
    }

    ps->key = p;
    ps->key_len = (uint32_t) (q + 1 - p);
    ps->key_flags = esc ? HYDRA_JSPAN_KEY_ESCAPED : 0;

    ps->p = hydra_jspan_ws(q + 1, ps->end);

    if (ps->p == ps->end || *ps->p != ':') {
        return hydra_jspan_fail(ps, "\":\" expected");
    }

    ps->p = hydra_jspan_ws(ps->p + 1, ps->end);

    return HYDRA_OK;
}


/* the open container ends at p */

static void
hydra_jspan_close(hydra_jspan_parser_t *ps)
{
    hydra_jspan_node_t  *c;

    c = &ps->doc->nodes[ps->parent - 1];

    ps->parent = c->next;
    ps->depth--;
    ps->p++;

    c->next = 0;
    c->len = (uint32_t) ((const char *) ps->p - c->text);
}


/* a new node at p, the next child of the open container */

static inline hydra_jspan_node_t *
hydra_jspan_node(hydra_jspan_parser_t *ps)
{
    size_t               n, cap;
    hydra_jspan_doc_t   *doc;
    hydra_jspan_node_t  *v, *parent, *nodes;

    doc = ps->doc;
    n = doc->nnodes;

    if (n == doc->cap) {
        cap = doc->cap * 2;

        nodes = realloc(doc->nodes, cap * sizeof(hydra_jspan_node_t));
        if (nodes == NULL) {
            (void) hydra_jspan_fail(ps, "out of memory");
            return NULL;
        }

        doc->nodes = nodes;
        doc->cap = cap;
    }

    doc->nnodes = n + 1;
    v = &doc->nodes[n];

    v->text = (const char *) ps->p;
    v->next = 0;
    v->count = 0;
    v->key_back = 0;
    v->key_len = 0;
    v->flags = 0;

    if (ps->parent == 0) {
        return v;
    }

    parent = &doc->nodes[ps->parent - 1];

    if (parent->len != 0) {
        doc->nodes[parent->len].next = (uint32_t) (n - parent->len);
    }

    parent->len = (uint32_t) n;
    parent->count++;

    if (parent->type == HYDRA_JSPAN_OBJECT) {
        v->key_back = (uint32_t) (ps->p - ps->key);
        v->key_len = ps->key_len;
        v->flags = ps->key_flags;
    }

    return v;
}


static int
hydra_jspan_fail(hydra_jspan_parser_t *ps, const char *why)
{
    ps->doc->error = why;
    ps->doc->error_at = ps->p - ps->start;

    return HYDRA_ERROR;
}


static const unsigned char *
hydra_jspan_ws(const unsigned char *p, const unsigned char *end)
{
    /* compact JSON has none: one test for the usual visible byte */

    while (p < end && *p <= ' '
           && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    return p;
}


/*
 * The text of a string after its opening quote: returns its closing
 * quote, or NULL.  Sixteen plain bytes at a time where SSE2 is there,
 * one at a time elsewhere; escapes and UTF-8 are checked one by one.
 */

const unsigned char *
hydra_jspan_scan_string(const unsigned char *p, const unsigned char *end,
    int *escaped)
{
    unsigned char  c;
#if (HYDRA_JSPAN_SSE2)
    int            m;
    __m128i        x, quote, bslash, space;

    quote = _mm_set1_epi8('"');
    bslash = _mm_set1_epi8('\\');
    space = _mm_set1_epi8(0x20);
#endif

    *escaped = 0;

    for ( ;; ) {
#if (HYDRA_JSPAN_SSE2)
        /* a signed "< 0x20" flags the controls and every byte >= 0x80 */

        while (end - p >= 16) {
            x = _mm_loadu_si128((const __m128i *) p);
            m = _mm_movemask_epi8(
                    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                              _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmplt_epi8(x, space)));

            if (m != 0) {
                p += __builtin_ctz((unsigned) m);
                break;
            }

            p += 16;
        }
#endif

        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"'
               && *p != '\\')
        {
            p++;
        }

        if (p == end) {
            return NULL;
        }

        c = *p;

        if (c == '"') {
            return p;
        }

        if (c == '\\') {
            *escaped = 1;
            p = hydra_jspan_scan_escape(p, end);

        } else if (c >= 0x80) {
            p = hydra_jspan_utf8(p, end);

        } else {
            return NULL;
        }

        if (p == NULL) {
            return NULL;
        }
    }
}


static const unsigned char *
hydra_jspan_scan_escape(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 2) {
        return NULL;
    }

    switch (p[1]) {

    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 2;

    case 'u':
        if (end - p < 6 || hydra_jspan_hex4(p + 2) < 0) {
            return NULL;
        }

        return p + 6;

    default:
        return NULL;
    }
}


/*
 * One UTF-8 sequence at p < end, with no overlong form, no surrogate, up
 * to U+10FFFF: returns what follows it, or NULL.
 */

const unsigned char *
hydra_jspan_utf8(const unsigned char *p, const unsigned char *end)
{
    size_t         i, n;
    unsigned char  c, lo, hi;

    c = *p;
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        lo = (c == 0xe0) ? 0xa0 : 0x80;
        hi = (c == 0xed) ? 0x9f : 0xbf;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        lo = (c == 0xf0) ? 0x90 : 0x80;
        hi = (c == 0xf4) ? 0x8f : 0xbf;

    } else {
        return NULL;
    }

    if ((size_t) (end - p) <= n || p[1] < lo || p[1] > hi) {
        return NULL;
    }

    for (i = 2; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return NULL;
        }
    }

    return p + n + 1;
}


/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; *digits: no . or e */

const unsigned char *
hydra_jspan_number(const unsigned char *p, const unsigned char *end,
    int *digits)
{
    const unsigned char  *d;

    *digits = 1;

    if (*p == '-') {
        p++;
    }

    if (p == end || *p < '0' || *p > '9') {
        return NULL;
    }

    if (*p++ != '0') {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && *p == '.') {
        *digits = 0;
        d = ++p;

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }

        if (p == d) {
            return NULL;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        *digits = 0;
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        d = p;

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }

        if (p == d) {
            return NULL;
        }
    }

    return p;
}


/* four hex digits, or -1 */

int
hydra_jspan_hex4(const unsigned char *p)
{
    int            i, v;
    unsigned char  c;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            v = v * 16 + (c - '0');

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v = v * 16 + ((c | 0x20) - 'a' + 10);

        } else {
            return -1;
        }
    }

    return v;
}


/* obj[key], the first one if the key is there twice; NULL: none */

const hydra_jspan_node_t *
hydra_jspan_get(const hydra_jspan_node_t *obj, const char *key, size_t len)
{
    const hydra_jspan_node_t  *v;

    if (!hydra_jspan_is_object(obj)) {
        return NULL;
    }

    for (v = hydra_jspan_first(obj); v != NULL; v = hydra_jspan_next(v)) {
        if (hydra_jspan_key_is(v, key, len)) {
            return v;
        }
    }

    return NULL;
}


/* 1 when the member's key, decoded, is the len bytes of key */

int
hydra_jspan_key_is(const hydra_jspan_node_t *v, const char *key, size_t len)
{
    if (!(v->flags & HYDRA_JSPAN_KEY_ESCAPED)) {
        return v->key_len == len + 2
               && memcmp(hydra_jspan_key(v) + 1, key, len) == 0;
    }

    return hydra_jspan_text_cmp(hydra_jspan_key(v) + 1, v->key_len - 2, 1,
                                key, len, 0)
           == 0;
}


/* 1 when v is a string whose text, decoded, is the len bytes of s */

int
hydra_jspan_str_is(const hydra_jspan_node_t *v, const char *s, size_t len)
{
    if (!hydra_jspan_is_string(v)) {
        return 0;
    }

    if (!(v->flags & HYDRA_JSPAN_ESCAPED)) {
        return v->len == len + 2 && memcmp(v->text + 1, s, len) == 0;
    }

    return hydra_jspan_text_cmp(v->text + 1, v->len - 2, 1, s, len, 0) == 0;
}


/* two strings compared decoded, byte by byte as strcmp() does */

int
hydra_jspan_str_cmp(const hydra_jspan_node_t *a, const hydra_jspan_node_t *b)
{
    return hydra_jspan_text_cmp(a->text + 1, a->len - 2,
                                a->flags & HYDRA_JSPAN_ESCAPED,
                                b->text + 1, b->len - 2,
                                b->flags & HYDRA_JSPAN_ESCAPED);
}


/*
 * Compares two texts, either maybe escaped: decoded first, on the stack
 * when short.  Without memory for a long one the escaped bytes are
 * compared as they are.
 */

static int
hydra_jspan_text_cmp(const char *a, size_t alen, int aesc, const char *b,
    size_t blen, int besc)
{
    int      c;
    char    *heap, *da, *db;
    size_t   n;
    char     buf[2 * HYDRA_JSPAN_STACK_MAX];

    heap = NULL;

    if (aesc || besc) {
        n = (aesc ? alen : 0) + (besc ? blen : 0);

        if (n <= sizeof(buf)) {
            da = buf;

        } else {
            heap = malloc(n);
            da = heap;
        }

        if (da != NULL) {
            db = da;

            if (aesc) {
                (void) hydra_jspan_unescape(a, alen, da, &alen);
                a = da;
                db = da + alen;
            }

            if (besc) {
                (void) hydra_jspan_unescape(b, blen, db, &blen);
                b = db;
            }
        }
    }

    c = memcmp(a, b, alen < blen ? alen : blen);

    if (c == 0) {
        c = (alen > blen) - (alen < blen);
    }

    free(heap);

    return c;
}


/*
 * Decodes the len bytes of a valid string's text into dst, which has
 * room for len bytes: what is decoded is never longer.  A lone surrogate
 * becomes U+FFFD.
 */

int
hydra_jspan_unescape(const char *p, size_t len, char *dst, size_t *n)
{
    int          lo;
    char        *d;
    uint32_t     cp;
    const char  *end;

    end = p + len;
    d = dst;

    while (p < end) {
        if (*p != '\\') {
            *d++ = *p++;
            continue;
        }

        switch (p[1]) {
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case 'n':
            *d++ = '\n';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 't':
            *d++ = '\t';
            break;
        case 'u':
            break;
        default:
            *d++ = p[1];
        }

        if (p[1] != 'u') {
            p += 2;
            continue;
        }

        cp = (uint32_t) hydra_jspan_hex4((const unsigned char *) p + 2);
        p += 6;

        if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\'
            && p[1] == 'u')
        {
            lo = hydra_jspan_hex4((const unsigned char *) p + 2);

            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10)
                     + ((uint32_t) lo - 0xdc00);
                p += 6;
            }
        }

        if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = 0xfffd;
        }

        if (cp < 0x80) {
            *d++ = (char) cp;

        } else if (cp < 0x800) {
            *d++ = (char) (0xc0 | (cp >> 6));
            *d++ = (char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            *d++ = (char) (0xe0 | (cp >> 12));
            *d++ = (char) (0x80 | ((cp >> 6) & 0x3f));
            *d++ = (char) (0x80 | (cp & 0x3f));

        } else {
            *d++ = (char) (0xf0 | (cp >> 18));
            *d++ = (char) (0x80 | ((cp >> 12) & 0x3f));
            *d++ = (char) (0x80 | ((cp >> 6) & 0x3f));
            *d++ = (char) (0x80 | (cp & 0x3f));
        }
    }

    *n = d - dst;

    return HYDRA_OK;
}
