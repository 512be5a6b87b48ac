
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_jsonl: one sessions.jsonl line, against hydra_jspan, a parser
 * written apart.  A line the scanner takes is a JSON object that jspan
 * takes at the same depth, and its id, repo and started_at are the
 * last such members jspan sees, decoded; a JSON object with a usable id
 * is never refused.  Every started_at read goes back and forth through
 * hydra_json_iso_time() (gmtime) to the same millisecond.
 */


#include "fuzz.h"
#include "hydra_jsonl.h"
#include "hydra_jspan.h"
#include "hydra_json.h"


/* 0000-01-01 and 9999-12-31T23:59:59.999999, in microseconds */
#define HYDRA_FUZZ_TIME_MIN   (-62167219200LL * 1000000)
#define HYDRA_FUZZ_TIME_MAX   (253402300800LL * 1000000 - 1)

/* a day's worth of offset either way */
#define HYDRA_FUZZ_DAY_US     (86400LL * 1000000)


static const hydra_jspan_node_t *hydra_fuzz_last(
    const hydra_jspan_node_t *obj, const char *key);
static char *hydra_fuzz_text(const hydra_jspan_node_t *v, size_t *len,
    int *lone);
static int hydra_fuzz_id_ok(const char *s, size_t len);
static void hydra_fuzz_time(const char *p, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                         rc, jrc, lone;
    char                       *line, *s;
    size_t                      len, n;
    int64_t                     us;
    hydra_jspan_doc_t           doc;
    hydra_session_line_t        sl;
    const hydra_jspan_node_t   *root, *id, *repo, *started;

    len = size;
    line = hydra_fuzz_copy(data, len, 0);

    rc = hydra_jsonl_parse_line(line, len, &sl);
    jrc = hydra_jspan_parse(&doc, line, len, HYDRA_SESSIONS_DEPTH);

    root = (jrc == HYDRA_OK) ? hydra_jspan_root(&doc) : NULL;

    if (rc == HYDRA_DECLINED) {
        /* blank: JSON's whitespace only */
        hydra_fuzz_assert(jrc == HYDRA_ERROR);

        for (n = 0; n < len; n++) {
            hydra_fuzz_assert(strchr(" \t\r\n", line[n]) != NULL
                              && line[n] != '\0');
        }

        goto done;
    }

    id = hydra_fuzz_last(root, "id");

    if (rc == HYDRA_ERROR) {
        /* no object, or its last id is not a usable string */

        if (hydra_jspan_is_object(root) && hydra_jspan_is_string(id)) {
            s = hydra_fuzz_text(id, &n, &lone);
            hydra_fuzz_assert(lone || !hydra_fuzz_id_ok(s, n));
            free(s);
        }

        goto done;
    }

    hydra_fuzz_assert(rc == HYDRA_OK);
    hydra_fuzz_assert(hydra_jspan_is_object(root));
    hydra_fuzz_assert(hydra_jspan_is_string(id));

    /* the id */

    s = hydra_fuzz_text(id, &n, &lone);
    hydra_fuzz_assert(!lone && hydra_fuzz_id_ok(s, n));
    hydra_fuzz_assert(sl.id_len == n && memcmp(sl.id, s, n) == 0);
    hydra_fuzz_assert(hydra_jsonl_id_valid(sl.id, sl.id_len));
    free(s);

    /* the repo, "" when it is not a usable string */

    repo = hydra_fuzz_last(root, "repo");

    if (hydra_jspan_is_string(repo)) {
        s = hydra_fuzz_text(repo, &n, &lone);

        if (!lone && hydra_fuzz_id_ok(s, n)) {
            hydra_fuzz_assert(sl.repo_len == n
                              && memcmp(sl.repo, s, n) == 0);

        } else {
            hydra_fuzz_assert(sl.repo_len == 0);
        }

        free(s);

    } else {
        hydra_fuzz_assert(sl.repo_len == 0);
    }

    /* started_at, 0 when it does not read (an escaped one fits 64) */

    started = hydra_fuzz_last(root, "started_at");

    if (hydra_jspan_is_string(started)) {
        s = hydra_fuzz_text(started, &n, &lone);
        us = 0;

        if (!lone
            && (!(started->flags & HYDRA_JSPAN_ESCAPED) || n <= 64)
            && hydra_jsonl_parse_time(s, n, &us) == HYDRA_OK)
        {
            hydra_fuzz_assert(sl.started == us);

        } else {
            hydra_fuzz_assert(sl.started == 0);
        }

        free(s);

    } else {
        hydra_fuzz_assert(sl.started == 0);
    }

done:

    hydra_jspan_free(&doc);

    /* the whole line as a time too */

    hydra_fuzz_time(line, len);

    free(line);

    return 0;
}


/* the last member named key, as Python's json keeps it */

static const hydra_jspan_node_t *
hydra_fuzz_last(const hydra_jspan_node_t *obj, const char *key)
{
    const hydra_jspan_node_t  *v, *last;

    if (!hydra_jspan_is_object(obj)) {
        return NULL;
    }

    last = NULL;

    for (v = hydra_jspan_first(obj); v != NULL; v = hydra_jspan_next(v)) {
        if (hydra_jspan_key_is(v, key, strlen(key))) {
            last = v;
        }
    }

    return last;
}


/*
 * A string's text decoded; *lone when it has a lone surrogate, which
 * jspan makes U+FFFD and the line scanner refuses
 */

static char *
hydra_fuzz_text(const hydra_jspan_node_t *v, size_t *len, int *lone)
{
    int          hi, lo;
    char        *s;
    size_t       i, n;
    const char  *p;

    p = v->text + 1;
    n = v->len - 2;
    *lone = 0;

    for (i = 0; i + 6 <= n; i++) {
        if (p[i] == '\\' && p[i + 1] == '\\') {
            i++;
            continue;
        }

        if (p[i] != '\\' || p[i + 1] != 'u') {
            continue;
        }

        hi = hydra_jspan_hex4((const unsigned char *) p + i + 2);

        if (hi >= 0xdc00 && hi <= 0xdfff) {
            *lone = 1;
        }

        if (hi >= 0xd800 && hi <= 0xdbff) {
            lo = (i + 12 <= n && p[i + 6] == '\\' && p[i + 7] == 'u')
                 ? hydra_jspan_hex4((const unsigned char *) p + i + 8) : -1;

            if (lo < 0xdc00 || lo > 0xdfff) {
                *lone = 1;

            } else {
                i += 6;
            }
        }

        i += 5;
    }

    s = malloc(n ? n : 1);
    hydra_fuzz_assert(s != NULL);
    hydra_jspan_unescape(p, n, s, len);

    return s;
}


/* 1..200 bytes, no control byte, no DEL */

static int
hydra_fuzz_id_ok(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > HYDRA_SESSIONS_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/*
 * A time that reads is a real instant of years 0..9999 (an offset may
 * take it a day beyond); written back by hydra_json_iso_time(), it reads
 * as the same instant cut to the millisecond
 */

static void
hydra_fuzz_time(const char *p, size_t len)
{
    char     buf[HYDRA_ISO_TIME_SIZE];
    int64_t  us, back;

    if (hydra_jsonl_parse_time(p, len, &us) != HYDRA_OK) {
        return;
    }

    hydra_fuzz_assert(us >= HYDRA_FUZZ_TIME_MIN - HYDRA_FUZZ_DAY_US
                      && us <= HYDRA_FUZZ_TIME_MAX + HYDRA_FUZZ_DAY_US);

    if (us < 0 || us > HYDRA_FUZZ_TIME_MAX) {
        return;
    }

    hydra_json_iso_time(buf, us / 1000);

    hydra_fuzz_assert(hydra_jsonl_parse_time(buf, strlen(buf), &back)
                      == HYDRA_OK);
    hydra_fuzz_assert(back == us - us % 1000);
}
