
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <string.h>

#include "hydra_args.h"


static int hydra_args_name_is(const char *p, size_t n, const char *name,
    size_t name_len);
static int hydra_args_hex(char c);


void
hydra_args_find(const char *args, size_t len, const char *name,
    hydra_arg_t *arg)
{
    size_t       name_len, n, vlen;
    const char  *p, *end, *amp, *eq, *v;

    memset(arg, 0, sizeof(hydra_arg_t));

    name_len = strlen(name);
    p = args;
    end = args + len;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        n = (amp ? amp : end) - p;

        if (hydra_args_name_is(p, n, name, name_len)) {
            eq = memchr(p, '=', n);
            v = eq ? eq + 1 : p + n;
            vlen = (p + n) - v;

            if (arg->count > 0
                && (vlen != arg->value_len
                    || memcmp(v, arg->value, vlen) != 0))
            {
                arg->differ = 1;
            }

            arg->value = v;
            arg->value_len = vlen;
            arg->count++;
        }

        if (amp == NULL) {
            break;
        }

        p = amp + 1;
    }
}


/*
 * Copies args to dst without any "name" or "name=..." parameter, keeping
 * the others in order, and returns the new length.  dst needs len bytes
 * and may not overlap args.
 */

size_t
hydra_args_strip(char *dst, const char *args, size_t len, const char *name)
{
    size_t       name_len, n, out;
    const char  *p, *end, *amp;

    name_len = strlen(name);
    p = args;
    end = args + len;
    out = 0;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        n = (amp ? amp : end) - p;

        if (n > 0 && !hydra_args_name_is(p, n, name, name_len)) {
            if (out > 0) {
                dst[out++] = '&';
            }

            memcpy(dst + out, p, n);
            out += n;
        }

        if (amp == NULL) {
            break;
        }

        p = amp + 1;
    }

    return out;
}


/*
 * Percent-decoding of a query value: "%XX" and "+" (a space in forms).
 * A "%" not followed by two hex digits stays as it is.  dst needs len
 * bytes; the result can hold NUL bytes, so callers validate it.
 */

size_t
hydra_args_unescape(char *dst, const char *src, size_t len)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '%' && i + 2 < len) {
            hi = hydra_args_hex(src[i + 1]);
            lo = hydra_args_hex(src[i + 2]);

            if (hi >= 0 && lo >= 0) {
                dst[n++] = (char) (hi << 4 | lo);
                i += 2;
                continue;
            }
        }

        dst[n++] = (src[i] == '+') ? ' ' : src[i];
    }

    return n;
}


static int
hydra_args_name_is(const char *p, size_t n, const char *name,
    size_t name_len)
{
    int          hi, lo;
    char         c;
    size_t       k;
    const char  *end;

    end = p + n;
    k = 0;

    /*
     * The name as the repo reads it, percent-decoded: "%72epo" is "repo"
     * to it, and must be to us, or it would pass what we strip
     */

    while (p < end && *p != '=') {
        c = *p++;

        if (c == '%' && end - p >= 2
            && (hi = hydra_args_hex(p[0])) >= 0
            && (lo = hydra_args_hex(p[1])) >= 0)
        {
            c = (char) (hi * 16 + lo);
            p += 2;
        }

        if (k == name_len || c != name[k]) {
            return 0;
        }

        k++;
    }

    return k == name_len;
}


static int
hydra_args_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}
