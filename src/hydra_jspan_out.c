
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hydra_jspan_out.h"


/* the longest number read in place; longer ones are copied out first */
#define HYDRA_JSPAN_NUMBER_MAX  64

/* "-1.2345678901234567e+308" and ".0" fit */
#define HYDRA_JSPAN_REAL_SIZE   32

/* 2^53: every integer up to it is a double */
#define HYDRA_JSPAN_EXACT       9007199254740992ULL

/* 19 characters, so at most 19 digits: less than 2^64 */
#define HYDRA_JSPAN_FAST_LEN    19

/*
 * Below 2^50 a number times 10^k is within 0.375 of the integer that a
 * decimal of k places reading back as the number has, so rounding the
 * product finds it; from 1e15 on, and below 1e-4, printf's %g writes an
 * exponent, which the fixed form here does not
 */
#define HYDRA_JSPAN_SHORT_MAX   1125899906842624.0
#define HYDRA_JSPAN_FIXED_MAX   1e15
#define HYDRA_JSPAN_FIXED_MIN   1e-4
#define HYDRA_JSPAN_PLACES_MAX  22

/* %.17g reads back as any double; fewer digits are tried first */
#define HYDRA_JSPAN_PREC_MIN    15
#define HYDRA_JSPAN_PREC_MAX    17


static int hydra_jspan_fast_double(const char *p, size_t len, double *d);
static double hydra_jspan_strtod(const char *p, size_t len);
static int hydra_jspan_short_real(hydra_jspan_out_t *out, double d,
    int *prec);


static const double  hydra_jspan_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


/*
 * 1 and *n when v is a number written as an integer that a long long
 * holds, as yajl reads one: -?[0-9]+ of magnitude at most LLONG_MAX.
 */

int
hydra_jspan_integer(const hydra_jspan_node_t *v, long long *n)
{
    int                   neg;
    unsigned              d;
    long long             r;
    const unsigned char  *p, *end;

    if (!hydra_jspan_is_number(v) || !(v->flags & HYDRA_JSPAN_DIGITS)) {
        return 0;
    }

    p = (const unsigned char *) v->text;
    end = p + v->len;
    neg = (*p == '-');
    p += neg;
    r = 0;

    for ( /* void */ ; p < end; p++) {
        d = *p - '0';

        if (r > (LLONG_MAX - (long long) d) / 10) {
            return 0;
        }

        r = r * 10 + d;
    }

    *n = neg ? -r : r;

    return 1;
}


/*
 * A number's value, the double nearest to its text, as strtod() reads
 * it (and +-HUGE_VAL beyond the range): the short ones that are exact
 * after one multiplication or division are read here.
 */

double
hydra_jspan_double(const hydra_jspan_node_t *v)
{
    double  d;

    if (hydra_jspan_fast_double(v->text, v->len, &d) == HYDRA_OK) {
        return d;
    }

    return hydra_jspan_strtod(v->text, v->len);
}


/*
 * Clinger's fast path: up to 19 significant digits that make at most
 * 2^53, times or over 10^e with |e| <= 22, both exact as doubles, so
 * one rounding gives the nearest double, as strtod().
 */

static int
hydra_jspan_fast_double(const char *p, size_t len, double *d)
{
#if (FLT_EVAL_METHOD == 0)
    int          neg, e, x, xneg;
    double       r;
    unsigned     c;
    uint64_t     w;
    const char  *end, *frac;

    end = p + len;
    neg = (*p == '-');
    p += neg;
    w = 0;
    e = 0;

    /* JSON's grammar is already checked; a text this short fits w */

    if (len > HYDRA_JSPAN_FAST_LEN) {
        return HYDRA_ERROR;
    }

    for ( /* void */ ; p < end && (c = (unsigned) (*p - '0')) <= 9; p++) {
        w = w * 10 + c;
    }

    if (p < end && *p == '.') {
        frac = ++p;

        for ( /* void */ ; p < end && (c = (unsigned) (*p - '0')) <= 9; p++)
        {
            w = w * 10 + c;
        }

        e = (int) (frac - p);
    }

    if (p < end) {
        p++;
        xneg = (*p == '-');
        p += (*p == '-' || *p == '+');

        for (x = 0; p < end; p++) {
            if (x > 1000) {
                return HYDRA_ERROR;
            }

            x = x * 10 + (*p - '0');
        }

        e += xneg ? -x : x;
    }

    if (w == 0) {
        *d = neg ? -0.0 : 0.0;
        return HYDRA_OK;
    }

    if (w > HYDRA_JSPAN_EXACT || e < -22 || e > 22) {
        return HYDRA_ERROR;
    }

    r = (double) w;
    r = (e < 0) ? r / hydra_jspan_pow10[-e] : r * hydra_jspan_pow10[e];

    *d = neg ? -r : r;

    return HYDRA_OK;
#else
    return HYDRA_ERROR;
#endif
}


static double
hydra_jspan_strtod(const char *p, size_t len)
{
    char    *s;
    double   d;
    char     buf[HYDRA_JSPAN_NUMBER_MAX + 1];

    s = (len < sizeof(buf)) ? buf : malloc(len + 1);
    if (s == NULL) {
        return 0.0;
    }

    memcpy(s, p, len);
    s[len] = '\0';

    d = strtod(s, NULL);

    if (s != buf) {
        free(s);
    }

    return d;
}


int
hydra_jspan_out_init(hydra_jspan_out_t *out, size_t size)
{
    size = size ? size : 1;

    out->start = malloc(size);
    out->pos = out->start;
    out->end = out->start ? out->start + size : NULL;
    out->last = out->end;
    out->max = (size_t) -1;
    out->failed = (out->start == NULL);

    return out->failed ? HYDRA_ERROR : HYDRA_OK;
}


/* empty again, and no longer failed */

void
hydra_jspan_out_reset(hydra_jspan_out_t *out)
{
    out->pos = out->start;
    out->end = out->last;
    out->failed = (out->start == NULL);

    if ((size_t) (out->end - out->start) > out->max) {
        out->end = out->start + out->max;
    }
}


/* at most max bytes from now on, from the start */

void
hydra_jspan_out_limit(hydra_jspan_out_t *out, size_t max)
{
    out->max = max;

    if ((size_t) (out->end - out->start) > max) {
        out->end = out->start + max;
    }

    if (out->pos > out->end) {
        hydra_jspan_out_fail(out);
    }
}


void
hydra_jspan_out_free(hydra_jspan_out_t *out)
{
    free(out->start);

    out->start = NULL;
    out->pos = NULL;
    out->end = NULL;
    out->last = NULL;
}


/* room for n more bytes, or the buffer fails: no room is left at all */

int
hydra_jspan_out_grow(hydra_jspan_out_t *out, size_t n)
{
    char    *p;
    size_t   used, size;

    if (out->failed) {
        return HYDRA_ERROR;
    }

    used = out->pos - out->start;

    if (n > out->max || used > out->max - n) {
        goto failed;
    }

    size = (size_t) (out->last - out->start) * 2;

    if (size < used + n) {
        size = used + n;
    }

    if (size > out->max) {
        size = out->max;
    }

    /* the memory may be there already, only cut short by max */

    if (size <= (size_t) (out->last - out->start)) {
        out->end = out->start + size;
        return HYDRA_OK;
    }

    p = realloc(out->start, size ? size : 1);
    if (p == NULL) {
        goto failed;
    }

    out->start = p;
    out->pos = p + used;
    out->end = p + size;
    out->last = out->end;

    return HYDRA_OK;

failed:

    hydra_jspan_out_fail(out);

    return HYDRA_ERROR;
}


/*
 * A string of ours (a repo's tag, a reason) as a value: its "," first,
 * then as hydra_jspan_escape() writes it, between quotes.
 */

void
hydra_jspan_string(hydra_jspan_out_t *out, const char *s, size_t len)
{
    hydra_jspan_sep(out);
    hydra_jspan_putc(out, '"');
    hydra_jspan_escape(out, s, len);
    hydra_jspan_putc(out, '"');
}


/*
 * The text of a string, escaped as yajl_gen escapes ("\"", "\\" and the
 * controls), and only if it is UTF-8, else the buffer fails.
 */

void
hydra_jspan_escape(hydra_jspan_out_t *out, const char *s, size_t len)
{
    size_t                i, run;
    unsigned char         c;
    const unsigned char  *p, *next;
    char                  esc[8];

    static const char  hex[] = "0123456789abcdef";

    p = (const unsigned char *) s;
    run = 0;

    for (i = 0; i < len; /* void */ ) {
        c = p[i];

        if (c >= 0x80) {
            next = hydra_jspan_utf8(p + i, p + len);
            if (next == NULL) {
                hydra_jspan_out_fail(out);
                return;
            }

            i = next - p;
            continue;
        }

        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }

        hydra_jspan_put(out, p + run, i - run);

        esc[0] = '\\';

        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char) c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
        }

        hydra_jspan_put(out, esc, (esc[1] == 'u') ? 6 : 2);
        run = ++i;
    }

    hydra_jspan_put(out, p + run, len - run);
}


void
hydra_jspan_longlong(hydra_jspan_out_t *out, long long n)
{
    char                *p;
    unsigned long long   u;
    char                 buf[24];

    p = buf + sizeof(buf);
    u = (n < 0) ? 0 - (unsigned long long) n : (unsigned long long) n;

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u != 0);

    if (n < 0) {
        *--p = '-';
    }

    hydra_jspan_sep(out);
    hydra_jspan_put(out, p, buf + sizeof(buf) - p);
}


/*
 * The shortest text that reads back as d, and looks like a double
 * ("3.0", as Python writes it).  inf and nan have no JSON: null.
 */

void
hydra_jspan_real(hydra_jspan_out_t *out, double d)
{
    int     prec;
    char    buf[HYDRA_JSPAN_REAL_SIZE];
    double  r;
    size_t  len;

    hydra_jspan_sep(out);

    if (!isfinite(d)) {
        hydra_jspan_lit(out, "null");
        return;
    }

    prec = HYDRA_JSPAN_PREC_MIN;

    if (hydra_jspan_short_real(out, d, &prec) == HYDRA_OK) {
        return;
    }

    /* 17 digits always read back */

    for ( /* void */ ; prec <= HYDRA_JSPAN_PREC_MAX; prec++) {
        len = (size_t) snprintf(buf, sizeof(buf), "%.*g", prec, d);

        if (prec == HYDRA_JSPAN_PREC_MAX
            || (hydra_jspan_fast_double(buf, len, &r) == HYDRA_OK
                ? r : strtod(buf, NULL)) == d)
        {
            break;
        }
    }

    if (strspn(buf, "-0123456789") == len) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }

    hydra_jspan_put(out, buf, len);
}


/*
 * The common case of hydra_jspan_real() without printf: d is a decimal
 * of k places, k as small as it can be, written in the fixed form that
 * %g and Python use at its magnitude.  HYDRA_DECLINED: printf's turn,
 * from *prec digits on (16 when no decimal of 15 digits reads back).
 */

static int
hydra_jspan_short_real(hydra_jspan_out_t *out, double d, int *prec)
{
    int       k, i;
    char     *p;
    double    a, scaled;
    uint64_t  m;
    char      buf[HYDRA_JSPAN_REAL_SIZE];

    a = (d < 0) ? -d : d;

    if (!(a >= HYDRA_JSPAN_FIXED_MIN && a < HYDRA_JSPAN_FIXED_MAX)) {
        return HYDRA_DECLINED;
    }

    for (k = 0; k <= HYDRA_JSPAN_PLACES_MAX; k++) {
        scaled = a * hydra_jspan_pow10[k];

        /*
         * past 2^50 every decimal of 15 digits that could read back as d
         * has been tried: printf needs 16 or 17
         */

        if (scaled >= HYDRA_JSPAN_SHORT_MAX) {
            *prec = HYDRA_JSPAN_PREC_MIN + 1;
            return HYDRA_DECLINED;
        }

        m = (uint64_t) (scaled + 0.5);

        /* m and 10^k exact, so one rounding: what strtod() reads */

        if ((double) m / hydra_jspan_pow10[k] == a) {
            break;
        }
    }

    if (k > HYDRA_JSPAN_PLACES_MAX) {
        return HYDRA_DECLINED;
    }

    p = buf + sizeof(buf);

    if (k == 0) {
        *--p = '0';

    } else {
        for (i = 0; i < k; i++) {
            *--p = (char) ('0' + m % 10);
            m /= 10;
        }
    }

    *--p = '.';

    do {
        *--p = (char) ('0' + m % 10);
        m /= 10;
    } while (m != 0);

    if (d < 0) {
        *--p = '-';
    }

    hydra_jspan_put(out, p, buf + sizeof(buf) - p);

    return HYDRA_OK;
}
