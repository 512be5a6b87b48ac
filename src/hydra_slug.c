
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <string.h>

#include "hydra_slug.h"


static int hydra_slug_word_char(unsigned char c);


/*
 * A slug is 1..HYDRA_SLUG_MAX bytes of visible ASCII other than the
 * characters that have a meaning in a URL or in JSON.  HydraFlow's own
 * forms only ever use [A-Za-z0-9._/-] (and "-" for spaces), so this
 * refuses nothing real and keeps control bytes, NUL, quotes, "%" and
 * "\" out of everything downstream.
 */

int
hydra_slug_valid(const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > HYDRA_SLUG_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c <= ' ' || c >= 0x7f) {
            return 0;
        }

        if (strchr("\"'%\\?#&=<>{}|^`", c) != NULL) {
            return 0;
        }
    }

    return 1;
}


int
hydra_slug_is_all(const char *s, size_t len)
{
    size_t  i;

    if (len != sizeof(HYDRA_SLUG_ALL) - 1) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((s[i] | 0x20) != HYDRA_SLUG_ALL[i] && s[i] != HYDRA_SLUG_ALL[i]) {
            return 0;
        }
    }

    return 1;
}


/*
 * The dash form "owner-name" that HydraFlow uses for keys, event tags and
 * session ids: "/" and "\" become "-", case is kept.  Writes at most
 * size - 1 bytes and a NUL; returns the length it needed.
 */

size_t
hydra_slug_dash(char *dst, size_t size, const char *s, size_t len)
{
    size_t  i;
    char    c;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c == '/' || c == '\\') {
            c = '-';
        }

        if (i + 1 < size) {
            dst[i] = c;
        }
    }

    if (size > 0) {
        dst[len < size ? len : size - 1] = '\0';
    }

    return len;
}


/*
 * The comparison form: lower case, and every run of characters outside
 * [a-z0-9_-] folded into one "-", as HydraFlow's repos.json does.  Two
 * slugs name the same repo when their folds are equal, so "acme/my.repo",
 * "acme-my.repo", "ACME-my-repo" all meet.
 */

size_t
hydra_slug_fold(char *dst, size_t size, const char *s, size_t len)
{
    size_t         i, n;
    unsigned char  c;
    int            in_run;

    n = 0;
    in_run = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (!hydra_slug_word_char(c)) {
            if (in_run) {
                continue;
            }

            in_run = 1;
            c = '-';

        } else {
            in_run = 0;
        }

        if (n + 1 < size) {
            dst[n] = (char) c;
        }

        n++;
    }

    if (size > 0) {
        dst[n < size ? n : size - 1] = '\0';
    }

    return n;
}


/* the part after the last "/": "api" of "acme/api" */

const char *
hydra_slug_base(const char *s, size_t len, size_t *base_len)
{
    size_t  i;

    for (i = len; i > 0; i--) {
        if (s[i - 1] == '/') {
            break;
        }
    }

    *base_len = len - i;

    return s + i;
}


/* a ".." path segment: "..", "../api", "acme/..", "acme/../api" */

int
hydra_slug_dot_dot(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i + 1 < len; i++) {
        if (s[i] == '.' && s[i + 1] == '.'
            && (i == 0 || s[i - 1] == '/')
            && (i + 2 == len || s[i + 2] == '/'))
        {
            return 1;
        }
    }

    return 0;
}


static int
hydra_slug_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '_' || c == '-';
}
