
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_supervisor: a list_repos answer, NUL-terminated as the glue
 * hands it over, into an array of exactly max specs (the first byte).
 * What it takes must be a usable spec; what it does not take is counted,
 * so taken and skipped add up to the entries yajl sees in "repos".
 */


#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "hydra_supervisor.h"


/* beyond the zone's limit, so "max" cuts a list short now and then */
#define HYDRA_FUZZ_SPECS_MAX  (HYDRA_REPOS_MAX + 8)


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                        rc;
    char                      *json;
    size_t                     i, max, len;
    yajl_val                   root, repos;
    hydra_fuzz_in_t            in;
    hydra_repo_spec_t         *specs, *spec;
    hydra_supervisor_reply_t   reply;
    const char                *path[] = { "repos", NULL };

    hydra_fuzz_init(&in, data, size);
    max = hydra_fuzz_byte(&in) % (HYDRA_FUZZ_SPECS_MAX + 1);

    json = hydra_fuzz_copy(in.p, in.left, 1);

    specs = malloc(max * sizeof(hydra_repo_spec_t));
    hydra_fuzz_assert(specs != NULL || max == 0);

    rc = hydra_supervisor_parse(json, specs, max, &reply);

    hydra_fuzz_assert(memchr(reply.error, '\0', HYDRA_ERROR_SIZE) != NULL);

    root = yajl_tree_parse(json, NULL, 0);

    if (rc != HYDRA_OK) {
        hydra_fuzz_assert(rc == HYDRA_ERROR && reply.error[0] != '\0');
        hydra_fuzz_assert(reply.nspecs == 0);
        goto done;
    }

    hydra_fuzz_assert(reply.error[0] == '\0');
    hydra_fuzz_assert(reply.nspecs <= max);

    /* the same parser said yes: the same tree has the same entries */

    hydra_fuzz_assert(root != NULL);
    repos = yajl_tree_get(root, path, yajl_t_array);
    hydra_fuzz_assert(repos != NULL);
    hydra_fuzz_assert(reply.nspecs + reply.skipped
                      == YAJL_GET_ARRAY(repos)->len);

    for (i = 0; i < reply.nspecs; i++) {
        spec = &specs[i];

        len = strnlen(spec->name, HYDRA_NAME_SIZE);
        hydra_fuzz_assert(len < HYDRA_NAME_SIZE);
        hydra_fuzz_assert(hydra_slug_valid(spec->name, len));

        hydra_fuzz_assert(strnlen(spec->path, HYDRA_PATH_SIZE)
                          < HYDRA_PATH_SIZE);
        hydra_fuzz_assert(strnlen(spec->dashboard_url, HYDRA_URL_SIZE)
                          < HYDRA_URL_SIZE);
        hydra_fuzz_assert(strnlen(spec->log_file, HYDRA_PATH_SIZE)
                          < HYDRA_PATH_SIZE);

        hydra_fuzz_assert(spec->port <= 65535);
        hydra_fuzz_assert(!spec->running || spec->port != 0);
    }

done:

    if (root != NULL) {
        yajl_tree_free(root);
    }

    free(specs);
    free(json);

    return 0;
}
