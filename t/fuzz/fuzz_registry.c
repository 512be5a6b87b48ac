
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_registry: the input is a program of the registry's life in the
 * zone: static lines and supervisor lists applied (repo names taken
 * from the input, kept to valid slugs as the directive and the
 * supervisor parser keep them), slugs looked up in any form, probes and
 * event feeds handed out and reported.  After every step the registry
 * must hold together: at most HYDRA_REPOS_MAX entries with distinct
 * ids, NUL-terminated names, a static entry for every static line that
 * fits, no supervisor entry that names a static one; a lookup that
 * finds an entry names it; every entry is found by its key and its
 * name (unless another one shares them); and /api/repos written from it
 * is JSON that lists every entry.
 */


#include <netinet/in.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "hydra_json.h"
#include "hydra_registry.h"


#define HYDRA_FUZZ_OPS_MAX     64
#define HYDRA_FUZZ_SPECS_MAX   (HYDRA_REPOS_MAX + 4)
#define HYDRA_FUZZ_OWNERS      3


static hydra_registry_t   hydra_fuzz_reg;
static hydra_repo_spec_t  hydra_fuzz_specs[HYDRA_FUZZ_SPECS_MAX];


static size_t hydra_fuzz_name(hydra_fuzz_in_t *in, char *dst);
static void hydra_fuzz_check(const hydra_registry_t *reg, int all);
static void hydra_fuzz_check_json(const hydra_registry_t *reg);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    failed;
    char                   slug[HYDRA_NAME_SIZE], stamp[HYDRA_FEED_TIME_SIZE];
    size_t                 i, j, n, op, len, dropped, index;
    int64_t                owner;
    unsigned               b;
    hydra_find_e           found;
    hydra_clock_t          now;
    hydra_fuzz_in_t        in;
    hydra_registry_t      *reg;
    hydra_source_e         source;
    hydra_feed_job_t       feeds[HYDRA_REPOS_MAX];
    hydra_probe_job_t      probes[HYDRA_REPOS_MAX];
    hydra_repo_spec_t     *spec;
    struct sockaddr_in    *sin;
    hydra_probe_result_t   res;
    const hydra_repo_t    *repo;

    hydra_fuzz_init(&in, data, size);

    reg = &hydra_fuzz_reg;
    hydra_registry_init(reg);

    now.mono = 1000;
    now.wall = 1772700000000;

    for (op = 0; op < HYDRA_FUZZ_OPS_MAX && in.left > 0; op++) {
        b = hydra_fuzz_byte(&in);
        now.mono += b & 0x0f;
        now.wall += b & 0x0f;

        switch (b >> 4 & 7) {

        case 0:
        case 1:
            /* a list: the static lines, or the supervisor's answer */

            source = (b >> 4 & 1) ? HYDRA_SOURCE_SUPERVISOR
                                  : HYDRA_SOURCE_STATIC;
            n = hydra_fuzz_byte(&in) % HYDRA_FUZZ_SPECS_MAX;
            j = 0;

            for (i = 0; i < n && in.left > 0; i++) {
                spec = &hydra_fuzz_specs[j];
                memset(spec, 0, sizeof(hydra_repo_spec_t));

                if (hydra_fuzz_name(&in, spec->name) == 0) {
                    continue;
                }

                spec->port = hydra_fuzz_byte(&in) % 4;
                spec->running = (spec->port & 1);
                spec->port = spec->port ? 5100 + spec->port : 0;

                sin = (struct sockaddr_in *) &spec->sockaddr;
                sin->sin_family = AF_INET;
                sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                hydra_fuzz_assert(hydra_registry_set_port(&spec->sockaddr,
                                                          spec->port)
                                  == HYDRA_OK);
                spec->socklen = sizeof(struct sockaddr_in);
                j++;
            }

            dropped = hydra_registry_apply(reg, source, hydra_fuzz_specs, j,
                                           &now);
            hydra_fuzz_assert(dropped <= j);

            /* each line that fit is there, under its own name */

            for (i = 0; i < j && dropped == 0; i++) {
                found = hydra_registry_find(reg, hydra_fuzz_specs[i].name,
                                            strlen(hydra_fuzz_specs[i].name),
                                            &index);

                if (hydra_slug_dot_dot(hydra_fuzz_specs[i].name,
                                       strlen(hydra_fuzz_specs[i].name)))
                {
                    hydra_fuzz_assert(found == HYDRA_FIND_NONE);

                } else {
                    /* itself, or the static entry that shadows it */
                    hydra_fuzz_assert(found != HYDRA_FIND_NONE);
                }
            }

            break;

        case 2:
            /* a lookup of any slug */

            len = hydra_fuzz_name(&in, slug);
            found = hydra_registry_find(reg, slug, len, &index);

            if (found == HYDRA_FIND_OK) {
                hydra_fuzz_assert(index < reg->nrepos);
            }

            break;

        case 3:
            /* the probes due, each answered up or down */

            n = hydra_registry_due_probes(reg, &now, 5000, 2000, probes,
                                          hydra_fuzz_byte(&in)
                                          % (HYDRA_REPOS_MAX + 1));

            for (i = 0; i < n; i++) {
                hydra_fuzz_assert(hydra_registry_by_id(reg, probes[i].id)
                                  != NULL);
            }

            /* an answer may remove others (shadowed): theirs are dropped */

            for (i = 0; i < n; i++) {
                b = hydra_fuzz_byte(&in);
                memset(&res, 0, sizeof(hydra_probe_result_t));
                res.up = b & 1;
                res.latency_ms = b;
                res.error = (b & 2) ? "connect" : NULL;

                len = hydra_fuzz_name(&in, slug);
                res.full_name = (b & 4) && len ? slug : NULL;

                (void) hydra_registry_probe_done(reg, &probes[i], &res,
                                                 &now);
                hydra_fuzz_check(reg, 0);
            }

            break;

        case 4:
            /* the feeds due to an owner, and their lives */

            owner = 100 + hydra_fuzz_byte(&in) % HYDRA_FUZZ_OWNERS;
            n = hydra_registry_due_feeds(reg, &now, owner, 3000, feeds,
                                         HYDRA_REPOS_MAX);

            for (i = 0; i < n; i++) {
                b = hydra_fuzz_byte(&in);

                if (b & 1) {
                    (void) hydra_registry_feed_up(reg, feeds[i].id, owner);
                }

                if (b & 2) {
                    len = hydra_fuzz_byte(&in) % sizeof(stamp);
                    len = (len > in.left) ? in.left : len;
                    memcpy(stamp, in.p, len);
                    stamp[len] = '\0';
                    in.p += len;
                    in.left -= len;

                    (void) hydra_registry_feed_take(reg, feeds[i].id, owner,
                                                    stamp, (int64_t) b - 8);
                }

                if (b & 4) {
                    (void) hydra_registry_feed_renew(reg, &feeds[i], owner,
                                                     &now, 3000);
                    hydra_fuzz_assert(memchr(feeds[i].key, '\0',
                                             HYDRA_NAME_SIZE) != NULL);
                }

                if (b & 8) {
                    failed = (b >> 4) & 1;
                    hydra_registry_feed_release(reg, feeds[i].id, owner,
                                                &now, failed, b * 977u);
                }
            }

            break;

        default:
            /* a feed's backoff, for any count of failures */

            n = hydra_fuzz_byte(&in);
            hydra_fuzz_assert(hydra_registry_feed_backoff((unsigned) n,
                                                          b * 7919u)
                              >= HYDRA_FEED_BACKOFF_MIN);
            hydra_fuzz_assert(hydra_registry_feed_backoff((unsigned) n,
                                                          b * 7919u)
                              <= HYDRA_FEED_BACKOFF_MAX);
            break;
        }

        hydra_fuzz_check(reg, 0);
    }

    hydra_fuzz_check(reg, 1);
    hydra_fuzz_check_json(reg);

    /* every entry is known by its id */

    for (i = 0; i < reg->nrepos; i++) {
        repo = hydra_registry_by_id(reg, reg->repos[i].id);
        hydra_fuzz_assert(repo == &reg->repos[i]);
    }

    return 0;
}


/* a slug from the input, 1..HYDRA_SLUG_MAX valid bytes; "" when none */

static size_t
hydra_fuzz_name(hydra_fuzz_in_t *in, char *dst)
{
    size_t          len, n;
    const uint8_t  *p;

    p = hydra_fuzz_piece(in, 0, &len);
    n = 0;

    while (len-- > 0 && n < HYDRA_SLUG_MAX) {
        if (hydra_slug_valid((const char *) p, 1)) {
            dst[n++] = (char) *p;
        }

        p++;
    }

    dst[n] = '\0';

    return n;
}


static void
hydra_fuzz_check(const hydra_registry_t *reg, int all)
{
    size_t               i, j, index;
    hydra_find_e         found;
    const hydra_repo_t  *a, *b;

    hydra_fuzz_assert(reg->nrepos <= HYDRA_REPOS_MAX);

    for (i = 0; i < reg->nrepos; i++) {
        a = &reg->repos[i];

        hydra_fuzz_assert(memchr(a->spec.name, '\0', HYDRA_NAME_SIZE));
        hydra_fuzz_assert(memchr(a->full_name, '\0', HYDRA_NAME_SIZE));
        hydra_fuzz_assert(memchr(a->key, '\0', HYDRA_NAME_SIZE));
        hydra_fuzz_assert(memchr(a->addr_text, '\0', HYDRA_ADDR_SIZE));
        hydra_fuzz_assert(memchr(a->last_error, '\0', HYDRA_ERROR_SIZE));
        hydra_fuzz_assert(a->id > 0 && a->id < reg->next_id);
        hydra_fuzz_assert(a->health <= HYDRA_HEALTH_DOWN);

        for (j = i + 1; j < reg->nrepos; j++) {
            b = &reg->repos[j];

            hydra_fuzz_assert(a->id != b->id);
            hydra_fuzz_assert(a->source != b->source
                              || strcmp(a->spec.name, b->spec.name) != 0);
        }

        /* its key finds it, or it among others: at the end (slow) */

        if (!all) {
            continue;
        }

        found = hydra_registry_find(reg, a->key, strlen(a->key), &index);

        if (!hydra_slug_dot_dot(a->key, strlen(a->key))) {
            hydra_fuzz_assert(found != HYDRA_FIND_NONE);
        }

        if (found == HYDRA_FIND_OK) {
            hydra_fuzz_assert(index < reg->nrepos);
        }
    }
}


/* /api/repos over the registry: JSON, one entry per repo, in order */

static void
hydra_fuzz_check_json(const hydra_registry_t *reg)
{
    size_t                           len, i;
    yajl_gen                         g;
    yajl_val                         tree, repos, slug;
    const unsigned char             *buf;
    hydra_json_registry_t            jr;
    const char                      *path[] = { "repos", NULL };
    const char                      *slug_path[] = { "slug", NULL };

    g = yajl_gen_alloc(NULL);
    hydra_fuzz_assert(g != NULL);
    hydra_fuzz_assert(yajl_gen_config(g, yajl_gen_validate_utf8, 1));

    memset(&jr, 0, sizeof(hydra_json_registry_t));
    jr.repos = reg->repos;
    jr.nrepos = reg->nrepos;
    jr.supervisor = &reg->supervisor;
    jr.supervisor_addr = "127.0.0.1:8765";

    hydra_fuzz_assert(hydra_json_repos(g, &jr) == HYDRA_OK);
    hydra_fuzz_assert(yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok);

    tree = yajl_tree_parse((const char *) buf, NULL, 0);
    hydra_fuzz_assert(tree != NULL);

    repos = yajl_tree_get(tree, path, yajl_t_array);
    hydra_fuzz_assert(repos != NULL && YAJL_GET_ARRAY(repos)->len
                                       == reg->nrepos);

    for (i = 0; i < reg->nrepos; i++) {
        slug = yajl_tree_get(YAJL_GET_ARRAY(repos)->values[i], slug_path,
                             yajl_t_string);
        hydra_fuzz_assert(slug != NULL);
        hydra_fuzz_assert(strcmp(hydra_yajl_string(slug),
                                 reg->repos[i].spec.name) == 0);
    }

    yajl_tree_free(tree);
    yajl_gen_free(g);
}
