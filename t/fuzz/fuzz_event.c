
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_event: a repo's frame tagged for the fan-out, the module's own
 * events, and a browser's ?types=.  The input is split at 0x00 into a
 * frame, a repo key, a type, a timestamp, a data object and a types
 * argument; the first byte picks the size of the buffer of the rest.
 *
 * A tagged or made event, behind the ring's head, is one JSON object in
 * strict UTF-8 that yajl reads too: its "id" is the head's, "source_id"
 * and "repo" are ours and said once, "type" is there once and is what
 * ev says; a rest that does not fit is declined, and fits in a buffer
 * as long as it is.  Every name a ?types= list takes matches.
 */


#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "hydra_event.h"
#include "hydra_jspan.h"
#include "hydra_ring.h"


/* larger than any frame of the fuzzer, so "declined" never comes of it */
#define HYDRA_FUZZ_REST_MAX   (64 * 1024)


static void hydra_fuzz_check_event(const char *rest, size_t len,
    const char *repo, const char *type);
static size_t hydra_fuzz_count(const hydra_jspan_node_t *obj,
    const char *key);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc, rc2;
    char                 *frame, *repo, *type, *stamp, *djson, *targ;
    char                 *rest, *big;
    size_t                flen, rlen, tlen, slen, dlen, alen, n, m, i;
    size_t                rest_size;
    const char           *p, *q, *end;
    hydra_fuzz_in_t       in;
    hydra_event_t         ev;
    hydra_event_types_t   types;

    hydra_fuzz_init(&in, data, size);
    rest_size = hydra_fuzz_u16(&in) % 2048;

    p = (const char *) hydra_fuzz_piece(&in, 0, &flen);
    frame = hydra_fuzz_copy(p, flen, 0);
    p = (const char *) hydra_fuzz_piece(&in, 0, &rlen);
    repo = hydra_fuzz_copy(p, rlen, 1);
    p = (const char *) hydra_fuzz_piece(&in, 0, &tlen);
    type = hydra_fuzz_copy(p, tlen, 1);
    p = (const char *) hydra_fuzz_piece(&in, 0, &slen);
    stamp = hydra_fuzz_copy(p, slen, 1);
    p = (const char *) hydra_fuzz_piece(&in, 0, &dlen);
    djson = hydra_fuzz_copy(p, dlen, 1);
    p = (const char *) hydra_fuzz_piece(&in, 0, &alen);
    targ = hydra_fuzz_copy(p, alen, 0);

    rest = malloc(rest_size ? rest_size : 1);
    big = malloc(HYDRA_FUZZ_REST_MAX);
    hydra_fuzz_assert(rest != NULL && big != NULL);

    /* a repo's frame, tagged; with no key, "repo" is null */

    rc = hydra_event_tag(frame, flen, rlen ? repo : NULL, &ev, rest,
                         rest_size, &n);
    rc2 = hydra_event_tag(frame, flen, rlen ? repo : NULL, &ev, big,
                          HYDRA_FUZZ_REST_MAX, &m);

    hydra_fuzz_assert(rc2 != HYDRA_DECLINED);

    if (rc == HYDRA_DECLINED) {
        hydra_fuzz_assert(rc2 == HYDRA_OK && m > rest_size);

    } else {
        hydra_fuzz_assert(rc == rc2);
    }

    if (rc == HYDRA_OK) {
        hydra_fuzz_assert(n == m && n <= rest_size
                          && memcmp(rest, big, n) == 0);
    }

    if (rc2 == HYDRA_OK) {
        hydra_fuzz_assert(ev.type[0] != '\0');
        hydra_fuzz_assert(memchr(ev.type, '\0', HYDRA_RING_TYPE_SIZE)
                          != NULL);
        hydra_fuzz_assert(memchr(ev.timestamp, '\0', HYDRA_EVENT_TIME_SIZE)
                          != NULL);
        hydra_fuzz_assert(ev.source_id >= -1);

        hydra_fuzz_check_event(big, m, rlen ? repo : NULL, ev.type);

    } else {
        hydra_fuzz_assert(rc2 == HYDRA_ERROR);
    }

    /* one of the module's own */

    rc = hydra_event_make(tlen ? type : NULL, rlen ? repo : NULL,
                          slen ? stamp : NULL, dlen ? djson : NULL, big,
                          HYDRA_FUZZ_REST_MAX, &m);

    hydra_fuzz_assert(rc != HYDRA_DECLINED);

    if (rc == HYDRA_OK) {
        hydra_fuzz_check_event(big, m, rlen ? repo : NULL, type);
    }

    /* ?types=: each name it takes lets its type through */

    if (hydra_event_types_parse(targ, alen, &types) == HYDRA_OK) {
        hydra_fuzz_assert(types.n <= HYDRA_EVENT_TYPES_MAX);
        hydra_fuzz_assert(alen > 0 || types.n == 0);

        p = targ;
        end = targ + alen;

        while (p < end) {
            for (q = p; q < end && *q != ',' && *q != '%'; q++) {
                /* void */
            }

            memcpy(big, p, q - p);
            big[q - p] = '\0';

            hydra_fuzz_assert(q - p > 0
                              && (size_t) (q - p) <= HYDRA_EVENT_TYPE_MAX);
            hydra_fuzz_assert(hydra_event_types_match(&types, big));

            p = (q < end && *q == '%') ? q + 3 : q + 1;
        }

        for (i = 0; i < types.n; i++) {
            hydra_fuzz_assert(strspn(types.names[i],
                                     "abcdefghijklmnopqrstuvwxyz0123456789_")
                              == strlen(types.names[i]));
        }

    } else {
        hydra_fuzz_assert(types.n == 0);
        hydra_fuzz_assert(hydra_event_types_match(&types, "any"));
    }

    free(big);
    free(rest);
    free(targ);
    free(djson);
    free(stamp);
    free(type);
    free(repo);
    free(frame);

    return 0;
}


/* the ring's head and the rest: one event a browser can take */

static void
hydra_fuzz_check_event(const char *rest, size_t len, const char *repo,
    const char *type)
{
    char                       *text;
    size_t                      hlen;
    yajl_val                    tree;
    hydra_jspan_doc_t           doc;
    const hydra_jspan_node_t   *root, *v;
    char                        head[HYDRA_RING_HEAD_SIZE];

    hlen = hydra_ring_head(head, 1);

    text = malloc(hlen + len + 1);
    hydra_fuzz_assert(text != NULL);

    memcpy(text, head, hlen);
    memcpy(text + hlen, rest, len);
    text[hlen + len] = '\0';

    hydra_fuzz_assert(hydra_jspan_parse(&doc, text, hlen + len,
                                        HYDRA_EVENT_DEPTH_MAX + 1)
                      == HYDRA_OK);

    root = hydra_jspan_root(&doc);
    hydra_fuzz_assert(hydra_jspan_is_object(root));

    hydra_fuzz_assert(hydra_fuzz_count(root, "id") == 1);
    hydra_fuzz_assert(hydra_fuzz_count(root, "repo") == 1);
    hydra_fuzz_assert(hydra_fuzz_count(root, "type") == 1);
    hydra_fuzz_assert(hydra_fuzz_count(root, "source_id") <= 1);

    v = hydra_jspan_get(root, "repo", 4);

    if (repo == NULL) {
        hydra_fuzz_assert(hydra_jspan_is_null(v));

    } else {
        hydra_fuzz_assert(hydra_jspan_str_is(v, repo, strlen(repo)));
    }

    /* ev's type may be cut, never changed */

    v = hydra_jspan_get(root, "type", 4);
    hydra_fuzz_assert(hydra_jspan_is_string(v));
    hydra_fuzz_assert(v->len >= strlen(type) + 2);
    hydra_fuzz_assert(memcmp(v->text + 1, type, strlen(type)) == 0
                      || (v->flags & HYDRA_JSPAN_ESCAPED));

    tree = yajl_tree_parse(text, NULL, 0);
    hydra_fuzz_assert(tree != NULL);
    yajl_tree_free(tree);

    hydra_jspan_free(&doc);
    free(text);
}


static size_t
hydra_fuzz_count(const hydra_jspan_node_t *obj, const char *key)
{
    size_t                      n;
    const hydra_jspan_node_t   *v;

    n = 0;

    for (v = hydra_jspan_first(obj); v != NULL; v = hydra_jspan_next(v)) {
        n += hydra_jspan_key_is(v, key, strlen(key));
    }

    return n;
}
