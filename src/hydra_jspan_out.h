
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * Numbers of hydra_jspan.h both ways, and the output side: a growing
 * buffer that values are copied to as their text, and that keys, our
 * own strings and computed numbers are written to; its first failure
 * sticks, so a writer checks once, at the end.  Every value and key
 * writer puts the "," it needs first.  No nginx headers, no yajl.
 */


#ifndef _HYDRA_JSPAN_OUT_H_INCLUDED_
#define _HYDRA_JSPAN_OUT_H_INCLUDED_


#include <stddef.h>
#include <string.h>

#include "hydra.h"
#include "hydra_jspan.h"


/*
 * What is written: start..pos, with room up to end, the memory up to
 * last.  A write that does not fit in max bytes, or finds no memory,
 * fails the buffer: end becomes pos, every later write is ignored, and
 * failed stays set until a reset.
 */

typedef struct {
    char                         *start;
    char                         *pos;
    char                         *end;
    char                         *last;
    size_t                        max;
    int                           failed;
} hydra_jspan_out_t;


/* a literal as it is; a literal key, its "," first and its ":" after */
#define hydra_jspan_lit(out, s)   hydra_jspan_put(out, s, sizeof(s) - 1)

#define hydra_jspan_name(out, s)                                              \
    do {                                                                      \
        hydra_jspan_sep(out);                                                 \
        hydra_jspan_lit(out, "\"" s "\":");                                   \
    } while (0)


int hydra_jspan_integer(const hydra_jspan_node_t *v, long long *n);
double hydra_jspan_double(const hydra_jspan_node_t *v);

int hydra_jspan_out_init(hydra_jspan_out_t *out, size_t size);
void hydra_jspan_out_reset(hydra_jspan_out_t *out);
void hydra_jspan_out_limit(hydra_jspan_out_t *out, size_t max);
void hydra_jspan_out_free(hydra_jspan_out_t *out);
int hydra_jspan_out_grow(hydra_jspan_out_t *out, size_t n);
void hydra_jspan_string(hydra_jspan_out_t *out, const char *s, size_t len);
void hydra_jspan_escape(hydra_jspan_out_t *out, const char *s, size_t len);
void hydra_jspan_longlong(hydra_jspan_out_t *out, long long n);
void hydra_jspan_real(hydra_jspan_out_t *out, double d);


/* len bytes as they are */

static inline void
hydra_jspan_put(hydra_jspan_out_t *out, const void *p, size_t len)
{
    if ((size_t) (out->end - out->pos) < len
        && hydra_jspan_out_grow(out, len) != HYDRA_OK)
    {
        return;
    }

    memcpy(out->pos, p, len);
    out->pos += len;
}


static inline void
hydra_jspan_putc(hydra_jspan_out_t *out, char c)
{
    if (out->pos == out->end && hydra_jspan_out_grow(out, 1) != HYDRA_OK) {
        return;
    }

    *out->pos++ = c;
}


/*
 * The "," before a value in an array, or before a key: none after "[",
 * "{" or a key's ":", which are the only bytes that may end the output
 * where no value has just ended.
 */

static inline void
hydra_jspan_sep(hydra_jspan_out_t *out)
{
    char  c;

    if (out->pos == out->start) {
        return;
    }

    c = out->pos[-1];

    if (c != '[' && c != '{' && c != ':') {
        hydra_jspan_putc(out, ',');
    }
}


/* the buffer fails: something it was to hold could not be written */

static inline void
hydra_jspan_out_fail(hydra_jspan_out_t *out)
{
    out->failed = 1;
    out->end = out->pos;
}


/* a value's text as it came; NULL (absent) is null */

static inline void
hydra_jspan_copy(hydra_jspan_out_t *out, const hydra_jspan_node_t *v)
{
    hydra_jspan_sep(out);

    if (v == NULL) {
        hydra_jspan_lit(out, "null");
        return;
    }

    hydra_jspan_put(out, v->text, v->len);
}


/* a member's key as it came, and its ":" */

static inline void
hydra_jspan_copy_key(hydra_jspan_out_t *out, const hydra_jspan_node_t *v)
{
    hydra_jspan_sep(out);
    hydra_jspan_put(out, hydra_jspan_key(v), v->key_len);
    hydra_jspan_putc(out, ':');
}


#endif /* _HYDRA_JSPAN_OUT_H_INCLUDED_ */
