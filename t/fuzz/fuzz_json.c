
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_json: the module's own JSON from a snapshot of the registry
 * whose strings, numbers and states come from the input (any bytes,
 * any int64), as a corrupt zone or a strange supervisor could leave
 * them.  With yajl_gen_validate_utf8, as the glue writes, every emitter
 * either gives JSON that yajl reads back with the same strings, or
 * fails because a string was not UTF-8.  A time is written for any
 * int64, and for years 1970..9999 reads back as the same millisecond.
 */


#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "hydra_json.h"
#include "hydra_jsonl.h"


#define HYDRA_FUZZ_REPOS_MAX  4

/* 9999-12-31T23:59:59.999, in milliseconds */
#define HYDRA_FUZZ_MS_MAX     (253402300800LL * 1000 - 1)


static hydra_repo_t  hydra_fuzz_repos[HYDRA_FUZZ_REPOS_MAX];


static int hydra_fuzz_string(hydra_fuzz_in_t *in, char *dst, size_t size);
static int hydra_fuzz_utf8_shape(const char *s);
static void hydra_fuzz_time(int64_t ms);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                        bad, rc;
    char                       message[HYDRA_ERROR_SIZE];
    char                       addr[HYDRA_ADDR_SIZE];
    size_t                     i, n, len;
    unsigned                   flags;
    yajl_gen                   g;
    yajl_val                   tree, list, v;
    hydra_repo_t              *repo;
    hydra_fuzz_in_t            in;
    const unsigned char       *buf;
    hydra_json_registry_t      reg;
    hydra_supervisor_state_t   sup;
    const char                *repos_path[] = { "repos", NULL };
    const char                *slug_path[] = { "slug", NULL };

    hydra_fuzz_init(&in, data, size);
    flags = hydra_fuzz_byte(&in);
    n = flags % (HYDRA_FUZZ_REPOS_MAX + 1);

    memset(hydra_fuzz_repos, 0, sizeof(hydra_fuzz_repos));
    memset(&sup, 0, sizeof(hydra_supervisor_state_t));
    bad = 0;

    for (i = 0; i < n; i++) {
        repo = &hydra_fuzz_repos[i];

        bad |= hydra_fuzz_string(&in, repo->spec.name, HYDRA_NAME_SIZE);
        bad |= hydra_fuzz_string(&in, repo->spec.path, HYDRA_PATH_SIZE);
        bad |= hydra_fuzz_string(&in, repo->spec.dashboard_url,
                                 HYDRA_URL_SIZE);
        bad |= hydra_fuzz_string(&in, repo->spec.log_file, HYDRA_PATH_SIZE);
        bad |= hydra_fuzz_string(&in, repo->full_name, HYDRA_NAME_SIZE);
        bad |= hydra_fuzz_string(&in, repo->key, HYDRA_NAME_SIZE);
        bad |= hydra_fuzz_string(&in, repo->addr_text, HYDRA_ADDR_SIZE);
        bad |= hydra_fuzz_string(&in, repo->last_error, HYDRA_ERROR_SIZE);

        repo->spec.port = hydra_fuzz_u16(&in);
        repo->spec.running = hydra_fuzz_byte(&in) & 1;
        repo->source = hydra_fuzz_byte(&in) & 1;
        repo->health = hydra_fuzz_byte(&in) % 3;
        repo->last_ok = (int64_t) hydra_fuzz_u64(&in);
        repo->latency_ms = (int64_t) hydra_fuzz_u64(&in);
        repo->events = hydra_fuzz_byte(&in) & 1;

        hydra_fuzz_time(repo->last_ok);
    }

    bad |= hydra_fuzz_string(&in, sup.last_error, HYDRA_ERROR_SIZE);
    bad |= hydra_fuzz_string(&in, addr, HYDRA_ADDR_SIZE);
    sup.health = hydra_fuzz_byte(&in) % 3;
    sup.last_ok = (int64_t) hydra_fuzz_u64(&in);
    sup.nrepos = hydra_fuzz_u16(&in);

    hydra_fuzz_time(sup.last_ok);

    reg.repos = hydra_fuzz_repos;
    reg.nrepos = n;
    reg.supervisor = (flags & 0x80) ? &sup : NULL;
    reg.supervisor_addr = addr;

    /* GET /api/repos */

    g = yajl_gen_alloc(NULL);
    hydra_fuzz_assert(g != NULL);
    hydra_fuzz_assert(yajl_gen_config(g, yajl_gen_validate_utf8, 1));

    rc = hydra_json_repos(g, &reg);

    if (rc != HYDRA_OK) {
        hydra_fuzz_assert(bad);

    } else {
        hydra_fuzz_assert(yajl_gen_get_buf(g, &buf, &len)
                          == yajl_gen_status_ok);

        tree = yajl_tree_parse((const char *) buf, NULL, 0);
        hydra_fuzz_assert(tree != NULL);

        list = yajl_tree_get(tree, repos_path, yajl_t_array);
        hydra_fuzz_assert(list != NULL && YAJL_GET_ARRAY(list)->len == n);

        for (i = 0; i < n; i++) {
            v = yajl_tree_get(YAJL_GET_ARRAY(list)->values[i], slug_path,
                              yajl_t_string);
            hydra_fuzz_assert(v != NULL);
            hydra_fuzz_assert(strcmp(hydra_yajl_string(v),
                                     hydra_fuzz_repos[i].spec.name) == 0);
        }

        yajl_tree_free(tree);
    }

    yajl_gen_free(g);

    /* an error, with the list of what there is; a repo's status event */

    bad |= hydra_fuzz_string(&in, message, sizeof(message));

    g = yajl_gen_alloc(NULL);
    hydra_fuzz_assert(g != NULL);
    hydra_fuzz_assert(yajl_gen_config(g, yajl_gen_validate_utf8, 1));

    rc = hydra_json_error(g, message, (flags & 0x40) ? &reg : NULL);

    if (rc == HYDRA_OK) {
        hydra_fuzz_assert(yajl_gen_get_buf(g, &buf, &len)
                          == yajl_gen_status_ok);
        tree = yajl_tree_parse((const char *) buf, NULL, 0);
        hydra_fuzz_assert(tree != NULL);
        yajl_tree_free(tree);

    } else {
        hydra_fuzz_assert(bad);
    }

    yajl_gen_free(g);

    for (i = 0; i < n; i++) {
        g = yajl_gen_alloc(NULL);
        hydra_fuzz_assert(g != NULL);
        hydra_fuzz_assert(yajl_gen_config(g, yajl_gen_validate_utf8, 1));

        if (hydra_json_repo_status(g, &hydra_fuzz_repos[i]) == HYDRA_OK) {
            hydra_fuzz_assert(yajl_gen_get_buf(g, &buf, &len)
                              == yajl_gen_status_ok);
            tree = yajl_tree_parse((const char *) buf, NULL, 0);
            hydra_fuzz_assert(tree != NULL);
            yajl_tree_free(tree);

        } else {
            hydra_fuzz_assert(!hydra_fuzz_utf8_shape(hydra_fuzz_repos[i].key)
                              || !hydra_fuzz_utf8_shape(
                                     hydra_fuzz_repos[i].last_error));
        }

        yajl_gen_free(g);
    }

    g = yajl_gen_alloc(NULL);
    hydra_fuzz_assert(g != NULL);
    hydra_fuzz_assert(hydra_json_registry_size(g, (size_t) flags * 1000003)
                      == HYDRA_OK);
    yajl_gen_free(g);

    return 0;
}


/* the next piece of input as a NUL-terminated string that fits size */

static int
hydra_fuzz_string(hydra_fuzz_in_t *in, char *dst, size_t size)
{
    size_t          len;
    const uint8_t  *p;

    p = hydra_fuzz_piece(in, 0, &len);

    if (len >= size) {
        len = size - 1;
    }

    memcpy(dst, p, len);
    dst[len] = '\0';

    return !hydra_fuzz_utf8_shape(dst);
}


/* UTF-8 as yajl_gen_validate_utf8 checks it: structure, not ranges */

static int
hydra_fuzz_utf8_shape(const char *s)
{
    size_t                n, k;
    const unsigned char  *p;

    for (p = (const unsigned char *) s; *p; p += n) {
        if (*p < 0x80) {
            n = 1;
            continue;
        }

        n = ((*p & 0xe0) == 0xc0) ? 2 : ((*p & 0xf0) == 0xe0) ? 3
            : ((*p & 0xf8) == 0xf0) ? 4 : 0;

        if (n == 0) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[k] & 0xc0) != 0x80) {
                return 0;
            }
        }
    }

    return 1;
}


static void
hydra_fuzz_time(int64_t ms)
{
    char     buf[HYDRA_ISO_TIME_SIZE];
    int64_t  us;

    hydra_json_iso_time(buf, ms);
    hydra_fuzz_assert(memchr(buf, '\0', sizeof(buf)) != NULL);

    if (ms < 0 || ms > HYDRA_FUZZ_MS_MAX) {
        return;
    }

    hydra_fuzz_assert(hydra_jsonl_parse_time(buf, strlen(buf), &us)
                      == HYDRA_OK);
    hydra_fuzz_assert(us == ms * 1000);
}
