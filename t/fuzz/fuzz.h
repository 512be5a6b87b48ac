
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * What the fuzz targets share.  Each t/fuzz/fuzz_<name>.c is one
 * libFuzzer target over the nginx-free code; the same file, linked with
 * t/fuzz/replay.c instead of libFuzzer, replays the committed corpus and
 * the regressions under plain gcc in "make unit".
 *
 * A target reads its input as a stream: a few bytes of choices first
 * (which view, where to split, which role), then the bytes to parse.
 * Every piece it parses is copied into a buffer of exactly its size, so
 * AddressSanitizer sees a read one byte past it.  A property that does
 * not hold aborts, which the fuzzer keeps as a crash like any other.
 */


#ifndef _HYDRA_FUZZ_H_INCLUDED_
#define _HYDRA_FUZZ_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define hydra_fuzz_assert(cond)                                               \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: property failed: %s\n",                   \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)


typedef struct {
    const uint8_t  *p;
    size_t          left;
} hydra_fuzz_in_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static inline void
hydra_fuzz_init(hydra_fuzz_in_t *in, const uint8_t *data, size_t size)
{
    in->p = data;
    in->left = size;
}


/* the next byte of choices; an input that ran out chooses 0 */

static inline unsigned
hydra_fuzz_byte(hydra_fuzz_in_t *in)
{
    if (in->left == 0) {
        return 0;
    }

    in->left--;

    return *in->p++;
}


static inline unsigned
hydra_fuzz_u16(hydra_fuzz_in_t *in)
{
    unsigned  hi;

    hi = hydra_fuzz_byte(in);

    return hi << 8 | hydra_fuzz_byte(in);
}


static inline uint64_t
hydra_fuzz_u64(hydra_fuzz_in_t *in)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < 8; i++) {
        v = v << 8 | hydra_fuzz_byte(in);
    }

    return v;
}


/*
 * Up to the next sep byte (not included, and skipped) or the end: how
 * a target splits its input into several texts.  *len is its length.
 */

static inline const uint8_t *
hydra_fuzz_piece(hydra_fuzz_in_t *in, uint8_t sep, size_t *len)
{
    const uint8_t  *p, *end;

    p = in->p;
    end = (in->left > 0) ? memchr(p, sep, in->left) : NULL;

    if (end == NULL) {
        *len = in->left;
        in->p += in->left;
        in->left = 0;
        return p;
    }

    *len = end - p;
    in->left -= *len + 1;
    in->p = end + 1;

    return p;
}


/* a malloc'd copy of exactly len bytes, or of len and a NUL */

static inline char *
hydra_fuzz_copy(const void *p, size_t len, int nul)
{
    char    *s;
    size_t   size;

    /* malloc(0) too: AddressSanitizer catches any read of it */

    size = len + (nul ? 1 : 0);

    s = malloc(size);
    if (s == NULL && size > 0) {
        abort();
    }

    if (len > 0) {
        memcpy(s, p, len);
    }

    if (nul) {
        s[len] = '\0';
    }

    return s;
}


/*
 * RFC 3629 UTF-8 (no overlong forms, no surrogates, at most U+10FFFF),
 * checked byte by byte here, apart from the code under test
 */

static inline int
hydra_fuzz_utf8(const void *s, size_t len)
{
    size_t          i, n, k;
    uint32_t        cp;
    const uint8_t  *p;

    p = s;

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            n = 1;
            continue;
        }

        if ((p[i] & 0xe0) == 0xc0) {
            n = 2;
            cp = p[i] & 0x1f;

        } else if ((p[i] & 0xf0) == 0xe0) {
            n = 3;
            cp = p[i] & 0x0f;

        } else if ((p[i] & 0xf8) == 0xf0) {
            n = 4;
            cp = p[i] & 0x07;

        } else {
            return 0;
        }

        if (len - i < n) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            cp = cp << 6 | (p[i + k] & 0x3f);
        }

        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
            || (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff)
            || cp > 0x10ffff)
        {
            return 0;
        }
    }

    return 1;
}


#endif /* _HYDRA_FUZZ_H_INCLUDED_ */
