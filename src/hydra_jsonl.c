
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <string.h>

#include "hydra_jsonl.h"
#include "hydra_jspan.h"


/* the member values of the line's own object that the store reads */
#define HYDRA_JSONL_KEY_OTHER   0
#define HYDRA_JSONL_KEY_ID      1
#define HYDRA_JSONL_KEY_REPO    2
#define HYDRA_JSONL_KEY_STARTED 3
#define HYDRA_JSONL_KEYS        4

#define HYDRA_JSONL_NONE        0
#define HYDRA_JSONL_STRING      1
#define HYDRA_JSONL_NULL        2
#define HYDRA_JSONL_OTHER       3

/* "2026-03-05T09:00:00.402113+00:00" with room for long fractions */
#define HYDRA_JSONL_TIME_MAX    64


typedef struct {
    const unsigned char      *p;        /* the text between the quotes */
    size_t                    len;
    int                       type;
    int                       escaped;
} hydra_jsonl_value_t;


static const unsigned char *hydra_jsonl_ws(const unsigned char *p,
    const unsigned char *end);
static const unsigned char *hydra_jsonl_value(const unsigned char *p,
    const unsigned char *end, unsigned depth);
static const unsigned char *hydra_jsonl_container(
    const unsigned char *p, const unsigned char *end, unsigned depth);
static const unsigned char *hydra_jsonl_literal(const unsigned char *p,
    const unsigned char *end, const char *word, size_t len);
static int hydra_jsonl_key(const unsigned char *p, size_t len,
    int escaped);
static int hydra_jsonl_text(const hydra_jsonl_value_t *v, char *buf,
    size_t size, const char **text, size_t *len);
static int hydra_jsonl_unescape(char *dst, size_t size,
    const unsigned char *p, size_t len, size_t *n);
static int hydra_jsonl_digits(const char **pp, const char *end, int n);
static int64_t hydra_jsonl_days(int64_t y, int m, int d);


/*
 * Validates one line as one JSON object (RFC 8259: UTF-8, escapes,
 * numbers, literals, nesting up to HYDRA_SESSIONS_DEPTH) and takes the
 * top-level "id", "repo" and "started_at"; the last of duplicate keys
 * wins, as in Python.  HYDRA_DECLINED for a blank line, HYDRA_ERROR for
 * a corrupt one: not an object, or no string id of 1..200 bytes without
 * control bytes.  A repo that is not a usable string is "", a started_at
 * that does not parse is 0.
 */

int
hydra_jsonl_parse_line(const char *p, size_t len,
    hydra_session_line_t *line)
{
    int                   key, esc;
    char                  tbuf[HYDRA_JSONL_TIME_MAX];
    size_t                tlen;
    const char           *ts;
    const unsigned char  *c, *end, *k;
    hydra_jsonl_value_t   vals[HYDRA_JSONL_KEYS], *v;

    memset(vals, 0, sizeof(vals));

    c = (const unsigned char *) p;
    end = c + len;

    c = hydra_jsonl_ws(c, end);

    if (c == end) {
        return HYDRA_DECLINED;
    }

    if (*c != '{') {
        return HYDRA_ERROR;
    }

    c = hydra_jsonl_ws(c + 1, end);

    if (c == end || *c == '}') {
        return HYDRA_ERROR;
    }

    for ( ;; ) {
        if (*c != '"') {
            return HYDRA_ERROR;
        }

        k = c + 1;
        c = hydra_jspan_scan_string(k, end, &esc);
        if (c == NULL) {
            return HYDRA_ERROR;
        }

        key = hydra_jsonl_key(k, c - k, esc);

        c = hydra_jsonl_ws(c + 1, end);

        if (c == end || *c != ':') {
            return HYDRA_ERROR;
        }

        c = hydra_jsonl_ws(c + 1, end);

        if (c == end) {
            return HYDRA_ERROR;
        }

        v = (key != HYDRA_JSONL_KEY_OTHER) ? &vals[key] : NULL;

        if (v != NULL && *c == '"') {
            k = c + 1;
            c = hydra_jspan_scan_string(k, end, &esc);
            if (c == NULL) {
                return HYDRA_ERROR;
            }

            v->type = HYDRA_JSONL_STRING;
            v->p = k;
            v->len = c - k;
            v->escaped = esc;
            c++;

        } else {
            if (v != NULL) {
                v->type = (*c == 'n') ? HYDRA_JSONL_NULL
                                      : HYDRA_JSONL_OTHER;
            }

            c = hydra_jsonl_value(c, end, 2);
            if (c == NULL) {
                return HYDRA_ERROR;
            }
        }

        c = hydra_jsonl_ws(c, end);

        if (c == end) {
            return HYDRA_ERROR;
        }

        if (*c == '}') {
            break;
        }

        if (*c != ',') {
            return HYDRA_ERROR;
        }

        c = hydra_jsonl_ws(c + 1, end);

        if (c == end) {
            return HYDRA_ERROR;
        }
    }

    if (hydra_jsonl_ws(c + 1, end) != end) {
        return HYDRA_ERROR;
    }

    /* the id decides whether the line counts */

    v = &vals[HYDRA_JSONL_KEY_ID];

    if (v->type != HYDRA_JSONL_STRING
        || hydra_jsonl_text(v, line->id_buf, HYDRA_SESSIONS_ID_MAX,
                            &line->id, &line->id_len)
           != HYDRA_OK
        || line->id_len == 0)
    {
        return HYDRA_ERROR;
    }

    /* the scanner lets no control byte through but DEL, except escaped */

    if (v->escaped ? !hydra_jsonl_id_valid(line->id, line->id_len)
                   : memchr(line->id, 0x7f, line->id_len) != NULL)
    {
        return HYDRA_ERROR;
    }

    /* a repo is held to an id's rules, which no slug breaks */

    v = &vals[HYDRA_JSONL_KEY_REPO];

    if (v->type != HYDRA_JSONL_STRING
        || hydra_jsonl_text(v, line->repo_buf, HYDRA_SESSIONS_REPO_MAX,
                            &line->repo, &line->repo_len)
           != HYDRA_OK
        || !hydra_jsonl_id_valid(line->repo, line->repo_len))
    {
        line->repo = "";
        line->repo_len = 0;
    }

    /* any length as written, a fraction may be long; tbuf when escaped */

    line->started = 0;
    v = &vals[HYDRA_JSONL_KEY_STARTED];

    if (v->type == HYDRA_JSONL_STRING
        && hydra_jsonl_text(v, tbuf, v->escaped ? sizeof(tbuf) : v->len,
                            &ts, &tlen)
           == HYDRA_OK)
    {
        (void) hydra_jsonl_parse_time(ts, tlen, &line->started);
    }

    return HYDRA_OK;
}


/*
 * ISO 8601 as Python's isoformat() writes it, to microseconds since the
 * epoch, UTC: "2026-03-05T09:00:00.402113+00:00", also with "Z", any
 * other offset ("+02:00", "+0200", "+02"), a fraction of any length (cut
 * to microseconds) or none, no seconds, no offset (taken as UTC), a " "
 * for the "T", or a date alone.  *us is left alone on error.
 */

int
hydra_jsonl_parse_time(const char *p, size_t len, int64_t *us)
{
    int          year, mon, day, hour, min, sec, oh, om, sign, n;
    int64_t      frac, off, days;
    const char  *end;

    static const int  mdays[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    end = p + len;
    hour = 0;
    min = 0;
    sec = 0;
    frac = 0;
    off = 0;

    year = hydra_jsonl_digits(&p, end, 4);

    if (year < 0 || p == end || *p++ != '-') {
        return HYDRA_ERROR;
    }

    mon = hydra_jsonl_digits(&p, end, 2);

    if (mon < 1 || mon > 12 || p == end || *p++ != '-') {
        return HYDRA_ERROR;
    }

    day = hydra_jsonl_digits(&p, end, 2);

    if (day < 1
        || (day > mdays[mon - 1]
            && !(mon == 2 && day == 29 && year % 4 == 0
                 && (year % 100 != 0 || year % 400 == 0))))
    {
        return HYDRA_ERROR;
    }

    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;

        hour = hydra_jsonl_digits(&p, end, 2);

        if (hour < 0 || hour > 23 || p == end || *p++ != ':') {
            return HYDRA_ERROR;
        }

        min = hydra_jsonl_digits(&p, end, 2);

        if (min < 0 || min > 59) {
            return HYDRA_ERROR;
        }

        if (p < end && *p == ':') {
            p++;
            sec = hydra_jsonl_digits(&p, end, 2);

            if (sec < 0 || sec > 59) {
                return HYDRA_ERROR;
            }

            if (p < end && (*p == '.' || *p == ',')) {
                p++;

                for (n = 0; p < end && *p >= '0' && *p <= '9'; n++, p++) {
                    if (n < 6) {
                        frac = frac * 10 + (*p - '0');
                    }
                }

                if (n == 0) {
                    return HYDRA_ERROR;
                }

                for ( /* void */ ; n < 6; n++) {
                    frac *= 10;
                }
            }
        }

        if (p < end && (*p == 'Z' || *p == 'z')) {
            p++;

        } else if (p < end && (*p == '+' || *p == '-')) {
            sign = (*p++ == '-') ? -1 : 1;
            om = 0;

            oh = hydra_jsonl_digits(&p, end, 2);

            if (oh < 0 || oh > 23) {
                return HYDRA_ERROR;
            }

            if (p < end) {
                if (*p == ':') {
                    p++;
                }

                om = hydra_jsonl_digits(&p, end, 2);

                if (om < 0 || om > 59) {
                    return HYDRA_ERROR;
                }
            }

            off = sign * (oh * 3600 + om * 60);
        }
    }

    if (p != end) {
        return HYDRA_ERROR;
    }

    days = hydra_jsonl_days(year, mon, day);

    *us = (days * 86400 + hour * 3600 + min * 60 + sec - off) * 1000000
          + frac;

    return HYDRA_OK;
}


/* 1..200 bytes, none of them a control byte (NUL included) */

int
hydra_jsonl_id_valid(const char *id, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > HYDRA_SESSIONS_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) id[i];

        if (c < 0x20 || c == 0x7f) {
            return 0;
        }
    }

    return 1;
}


static const unsigned char *
hydra_jsonl_ws(const unsigned char *p, const unsigned char *end)
{
    /* compact JSON has none: one test for the usual visible byte */

    while (p < end && *p <= ' '
           && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    return p;
}


/* one value at p < end; returns what follows it, or NULL */

static const unsigned char *
hydra_jsonl_value(const unsigned char *p, const unsigned char *end,
    unsigned depth)
{
    int  esc, digits;

    switch (*p) {

    case '"':
        p = hydra_jspan_scan_string(p + 1, end, &esc);
        return (p != NULL) ? p + 1 : NULL;

    case '{':
    case '[':
        return hydra_jsonl_container(p, end, depth);

    case 't':
        return hydra_jsonl_literal(p, end, "true", 4);

    case 'f':
        return hydra_jsonl_literal(p, end, "false", 5);

    case 'n':
        return hydra_jsonl_literal(p, end, "null", 4);

    default:
        return hydra_jspan_number(p, end, &digits);
    }
}


/* an object or an array at depth "depth", the line's own object being 1 */

static const unsigned char *
hydra_jsonl_container(const unsigned char *p, const unsigned char *end,
    unsigned depth)
{
    int            esc;
    unsigned char  close;

    if (depth > HYDRA_SESSIONS_DEPTH) {
        return NULL;
    }

    close = (*p == '{') ? '}' : ']';

    p = hydra_jsonl_ws(p + 1, end);

    if (p == end) {
        return NULL;
    }

    if (*p == close) {
        return p + 1;
    }

    for ( ;; ) {
        if (close == '}') {
            if (*p != '"') {
                return NULL;
            }

            p = hydra_jspan_scan_string(p + 1, end, &esc);
            if (p == NULL) {
                return NULL;
            }

            p = hydra_jsonl_ws(p + 1, end);

            if (p == end || *p != ':') {
                return NULL;
            }

            p = hydra_jsonl_ws(p + 1, end);

            if (p == end) {
                return NULL;
            }
        }

        p = hydra_jsonl_value(p, end, depth + 1);
        if (p == NULL) {
            return NULL;
        }

        p = hydra_jsonl_ws(p, end);

        if (p == end) {
            return NULL;
        }

        if (*p == close) {
            return p + 1;
        }

        if (*p != ',') {
            return NULL;
        }

        p = hydra_jsonl_ws(p + 1, end);

        if (p == end) {
            return NULL;
        }
    }
}


static const unsigned char *
hydra_jsonl_literal(const unsigned char *p, const unsigned char *end,
    const char *word, size_t len)
{
    if ((size_t) (end - p) < len || memcmp(p, word, len) != 0) {
        return NULL;
    }

    return p + len;
}


/* which of the keys the store reads, escaped or not */

static int
hydra_jsonl_key(const unsigned char *p, size_t len, int escaped)
{
    char  buf[16];

    if (escaped) {
        if (hydra_jsonl_unescape(buf, sizeof(buf), p, len, &len)
            != HYDRA_OK)
        {
            return HYDRA_JSONL_KEY_OTHER;
        }

        p = (const unsigned char *) buf;
    }

    switch (len) {

    case 2:
        if (p[0] == 'i' && p[1] == 'd') {
            return HYDRA_JSONL_KEY_ID;
        }

        break;

    case 4:
        if (memcmp(p, "repo", 4) == 0) {
            return HYDRA_JSONL_KEY_REPO;
        }

        break;

    case 10:
        if (memcmp(p, "started_at", 10) == 0) {
            return HYDRA_JSONL_KEY_STARTED;
        }

        break;
    }

    return HYDRA_JSONL_KEY_OTHER;
}


/* a string value as text: in place, or decoded into buf */

static int
hydra_jsonl_text(const hydra_jsonl_value_t *v, char *buf,
    size_t size, const char **text, size_t *len)
{
    if (v->escaped) {
        *text = buf;
        return hydra_jsonl_unescape(buf, size, v->p, v->len, len);
    }

    if (v->len > size) {
        return HYDRA_ERROR;
    }

    *text = (const char *) v->p;
    *len = v->len;

    return HYDRA_OK;
}


/*
 * Decodes the text of a valid JSON string into at most size bytes of
 * UTF-8.  HYDRA_ERROR when it does not fit, or for a lone surrogate,
 * which UTF-8 cannot hold.
 */

static int
hydra_jsonl_unescape(char *dst, size_t size, const unsigned char *p,
    size_t len, size_t *n)
{
    int                   lo;
    size_t                d, k;
    uint32_t              cp;
    unsigned char         c;
    const unsigned char  *end;

    end = p + len;
    d = 0;

    while (p < end) {
        c = *p;

        if (c != '\\') {
            if (d == size) {
                return HYDRA_ERROR;
            }

            dst[d++] = (char) c;
            p++;
            continue;
        }

        if (p[1] != 'u') {
            switch (p[1]) {
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            default:
                c = p[1];
            }

            if (d == size) {
                return HYDRA_ERROR;
            }

            dst[d++] = (char) c;
            p += 2;
            continue;
        }

        cp = (uint32_t) hydra_jspan_hex4(p + 2);
        p += 6;

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            return HYDRA_ERROR;
        }

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u') {
                return HYDRA_ERROR;
            }

            lo = hydra_jspan_hex4(p + 2);

            if (lo < 0xdc00 || lo > 0xdfff) {
                return HYDRA_ERROR;
            }

            cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t) lo - 0xdc00);
            p += 6;
        }

        k = (cp < 0x80) ? 1 : (cp < 0x800) ? 2 : (cp < 0x10000) ? 3 : 4;

        if (size - d < k) {
            return HYDRA_ERROR;
        }

        switch (k) {
        case 1:
            dst[d++] = (char) cp;
            break;
        case 2:
            dst[d++] = (char) (0xc0 | (cp >> 6));
            dst[d++] = (char) (0x80 | (cp & 0x3f));
            break;
        case 3:
            dst[d++] = (char) (0xe0 | (cp >> 12));
            dst[d++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            dst[d++] = (char) (0x80 | (cp & 0x3f));
            break;
        default:
            dst[d++] = (char) (0xf0 | (cp >> 18));
            dst[d++] = (char) (0x80 | ((cp >> 12) & 0x3f));
            dst[d++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            dst[d++] = (char) (0x80 | (cp & 0x3f));
        }
    }

    *n = d;

    return HYDRA_OK;
}


/* exactly n decimal digits, or -1 */

static int
hydra_jsonl_digits(const char **pp, const char *end, int n)
{
    int          v;
    const char  *p;

    p = *pp;

    if (end - p < n) {
        return -1;
    }

    for (v = 0; n > 0; n--, p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        v = v * 10 + (*p - '0');
    }

    *pp = p;

    return v;
}


/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant) */

static int64_t
hydra_jsonl_days(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}
