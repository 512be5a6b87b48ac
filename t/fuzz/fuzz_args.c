
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_args: a query string against a plain split of it on "&".  The
 * first byte picks the name looked for; find must see each of its
 * parameters, however its name is percent-encoded, strip must leave all
 * the others in order and none of it,
 * and unescape must give back any bytes that were percent-encoded.
 */


#include "fuzz.h"
#include "hydra_args.h"


static const char  *hydra_fuzz_names[] = {
    "repo", "limit", "since", "types", "group", "r", ""
};

#define HYDRA_FUZZ_NNAMES  (sizeof(hydra_fuzz_names) / sizeof(char *))

/* longer than any of the names: a longer one is none of them */
#define HYDRA_FUZZ_NAME_MAX  16


static int hydra_fuzz_named(const char *p, size_t n, const char *name);
static int hydra_fuzz_hex(char c);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               differ;
    char             *args, *dst, *enc, *dec;
    size_t            i, len, n, count, out, seg, vlen;
    const char       *name, *p, *end, *amp, *v, *value;
    hydra_arg_t       arg;
    hydra_fuzz_in_t   in;

    static const char  hex[] = "0123456789ABCDEF";

    hydra_fuzz_init(&in, data, size);
    name = hydra_fuzz_names[hydra_fuzz_byte(&in) % HYDRA_FUZZ_NNAMES];

    len = in.left;
    args = hydra_fuzz_copy(in.p, len, 0);

    /* the reference: every "&"-separated parameter, in order */

    hydra_args_find(args, len, name, &arg);

    dst = malloc(len ? len : 1);
    hydra_fuzz_assert(dst != NULL);
    n = hydra_args_strip(dst, args, len, name);
    hydra_fuzz_assert(n <= len);

    count = 0;
    differ = 0;
    out = 0;
    value = NULL;
    vlen = 0;
    p = args;
    end = args + len;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        seg = (amp ? amp : end) - p;

        if (hydra_fuzz_named(p, seg, name)) {
            v = memchr(p, '=', seg);
            v = (v != NULL) ? v + 1 : p + seg;

            if (count > 0
                && ((size_t) (p + seg - v) != vlen
                    || memcmp(v, value, vlen) != 0))
            {
                differ = 1;
            }

            value = v;
            vlen = p + seg - v;
            count++;

        } else if (seg > 0) {
            if (out > 0) {
                hydra_fuzz_assert(out < n && dst[out] == '&');
                out++;
            }

            hydra_fuzz_assert(out + seg <= n
                              && memcmp(dst + out, p, seg) == 0);
            out += seg;
        }

        if (amp == NULL) {
            break;
        }

        p = amp + 1;
    }

    hydra_fuzz_assert(out == n);
    hydra_fuzz_assert(arg.count == count);
    hydra_fuzz_assert(arg.value == value && arg.value_len == vlen);
    hydra_fuzz_assert(arg.differ == differ);

    /* stripped, the name is gone */

    hydra_args_find(dst, n, name, &arg);
    hydra_fuzz_assert(arg.count == 0);

    /* unescape: never longer; %XX of every byte gives the bytes back */

    dec = malloc(len ? len : 1);
    hydra_fuzz_assert(dec != NULL);
    hydra_fuzz_assert(hydra_args_unescape(dec, args, len) <= len);

    enc = malloc(3 * len + 1);
    hydra_fuzz_assert(enc != NULL);

    for (i = 0; i < len; i++) {
        enc[3 * i] = '%';
        enc[3 * i + 1] = hex[(unsigned char) args[i] >> 4];
        enc[3 * i + 2] = hex[(unsigned char) args[i] & 0xf];
    }

    free(dec);
    dec = malloc(3 * len + 1);
    hydra_fuzz_assert(dec != NULL);

    hydra_fuzz_assert(hydra_args_unescape(dec, enc, 3 * len) == len);
    hydra_fuzz_assert(len == 0 || memcmp(dec, args, len) == 0);

    free(enc);
    free(dec);
    free(dst);
    free(args);

    return 0;
}


/*
 * "name" or "name=...": the part before the first "=" percent-decoded
 * ("%72epo" is "repo", as the repo's FastAPI reads it) is the name
 * exactly
 */

static int
hydra_fuzz_named(const char *p, size_t n, const char *name)
{
    char     dec[HYDRA_FUZZ_NAME_MAX];
    size_t   i, k, len;

    len = strlen(name);
    k = 0;

    for (i = 0; i < n && p[i] != '='; i++) {
        if (k == sizeof(dec)) {
            return 0;
        }

        if (p[i] == '%' && n - i > 2 && hydra_fuzz_hex(p[i + 1]) >= 0
            && hydra_fuzz_hex(p[i + 2]) >= 0)
        {
            dec[k++] = (char) (hydra_fuzz_hex(p[i + 1]) * 16
                               + hydra_fuzz_hex(p[i + 2]));
            i += 2;
            continue;
        }

        dec[k++] = p[i];
    }

    return k == len && memcmp(dec, name, len) == 0;
}


static int
hydra_fuzz_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
        return (c | 0x20) - 'a' + 10;
    }

    return -1;
}
