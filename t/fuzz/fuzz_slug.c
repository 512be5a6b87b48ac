
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_slug: every function on any bytes, each against a plain
 * reading of its contract.  The first byte is the size of the buffer
 * the dash and fold forms are written to, so truncation is driven too.
 */


#include <strings.h>

#include "fuzz.h"
#include "hydra_slug.h"


/* the bytes a slug may not hold, as hydra_slug.c's comment lists them */
#define HYDRA_FUZZ_SLUG_BAD  "\"'%\\?#&=<>{}|^`"


static int hydra_fuzz_word_char(unsigned char c);
static int hydra_fuzz_dot_dot(const char *s, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               valid;
    char             *s, *dst, *again;
    size_t            i, len, dsize, n, m, base_len;
    const char       *base;
    unsigned char     c;
    hydra_fuzz_in_t   in;

    hydra_fuzz_init(&in, data, size);
    dsize = hydra_fuzz_byte(&in);

    len = in.left;
    s = hydra_fuzz_copy(in.p, len, 0);

    /* valid: 1..HYDRA_SLUG_MAX visible ASCII bytes, none of the bad ones */

    valid = (len > 0 && len <= HYDRA_SLUG_MAX);

    for (i = 0; i < len && valid; i++) {
        c = (unsigned char) s[i];

        if (c <= ' ' || c >= 0x7f || strchr(HYDRA_FUZZ_SLUG_BAD, c) != NULL) {
            valid = 0;
        }
    }

    hydra_fuzz_assert(hydra_slug_valid(s, len) == valid);

    hydra_fuzz_assert(hydra_slug_is_all(s, len)
                      == (len == sizeof(HYDRA_SLUG_ALL) - 1
                          && strncasecmp(s, HYDRA_SLUG_ALL, len) == 0));

    hydra_fuzz_assert(hydra_slug_dot_dot(s, len) == hydra_fuzz_dot_dot(s, len));

    /* dash: the same bytes but "/" and "\", cut to dsize - 1, a NUL */

    dst = malloc(dsize ? dsize : 1);
    hydra_fuzz_assert(dst != NULL);

    n = hydra_slug_dash(dst, dsize, s, len);
    hydra_fuzz_assert(n == len);

    if (dsize > 0) {
        m = (len < dsize) ? len : dsize - 1;
        hydra_fuzz_assert(dst[m] == '\0');

        for (i = 0; i < m; i++) {
            c = (unsigned char) s[i];
            hydra_fuzz_assert(dst[i] == ((c == '/' || c == '\\') ? '-'
                                                                 : s[i]));
        }
    }

    /* fold: [a-z0-9_-] only, one "-" per run of others, idempotent */

    n = hydra_slug_fold(dst, dsize, s, len);
    hydra_fuzz_assert(n <= len);

    if (dsize > 0) {
        m = (n < dsize) ? n : dsize - 1;
        hydra_fuzz_assert(dst[m] == '\0');

        for (i = 0; i < m; i++) {
            hydra_fuzz_assert(hydra_fuzz_word_char(dst[i]));
        }

        if (n < dsize) {
            again = malloc(n + 1);
            hydra_fuzz_assert(again != NULL);

            hydra_fuzz_assert(hydra_slug_fold(again, n + 1, dst, n) == n);
            hydra_fuzz_assert(memcmp(again, dst, n + 1) == 0);

            free(again);
        }
    }

    free(dst);

    /* base: the part after the last "/" */

    base = hydra_slug_base(s, len, &base_len);

    hydra_fuzz_assert(base_len <= len && base == s + len - base_len);
    hydra_fuzz_assert(base_len == 0 || memchr(base, '/', base_len) == NULL);
    hydra_fuzz_assert(base == s || base[-1] == '/');

    free(s);

    return 0;
}


static int
hydra_fuzz_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '_' || c == '-';
}


/* a ".." segment between "/"s or the ends */

static int
hydra_fuzz_dot_dot(const char *s, size_t len)
{
    size_t  start, i;

    start = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '/') {
            if (i - start == 2 && s[start] == '.' && s[start + 1] == '.') {
                return 1;
            }

            start = i + 1;
        }
    }

    return 0;
}
