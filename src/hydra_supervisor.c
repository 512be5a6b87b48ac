
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "hydra_supervisor.h"


static int hydra_supervisor_repo(yajl_val item, hydra_repo_spec_t *spec);
static int hydra_supervisor_string(yajl_val obj, const char *key,
    char *dst, size_t size, int required);


/*
 * Parses a NUL-terminated list_repos answer:
 *
 *   {"status":"ok","repos":[{"path":..., "slug":..., "port":53117,
 *     "dashboard_url":..., "log_file":..., "running":true}, ...]}
 *
 * A malformed answer is an error and the caller keeps its registry; a
 * malformed entry is skipped and counted, so one bad entry does not hide
 * the others.  Addresses are left to the caller.
 */

int
hydra_supervisor_parse(const char *json, hydra_repo_spec_t *specs,
    size_t max, hydra_supervisor_reply_t *reply)
{
    char         errbuf[HYDRA_ERROR_SIZE];
    size_t       i;
    yajl_val     root, status, repos, error;
    const char  *status_path[] = { "status", NULL };
    const char  *repos_path[] = { "repos", NULL };
    const char  *error_path[] = { "error", NULL };

    memset(reply, 0, sizeof(hydra_supervisor_reply_t));

    root = yajl_tree_parse(json, errbuf, sizeof(errbuf));

    if (root == NULL) {
        snprintf(reply->error, HYDRA_ERROR_SIZE, "bad json");
        return HYDRA_ERROR;
    }

    if (!YAJL_IS_OBJECT(root)) {
        snprintf(reply->error, HYDRA_ERROR_SIZE, "bad json: not an object");
        goto failed;
    }

    status = yajl_tree_get(root, status_path, yajl_t_string);

    if (status == NULL || strcmp(hydra_yajl_string(status), "ok") != 0) {
        error = yajl_tree_get(root, error_path, yajl_t_string);
        snprintf(reply->error, HYDRA_ERROR_SIZE, "supervisor error: %.40s",
                 error ? hydra_yajl_string(error) : "no status");
        goto failed;
    }

    repos = yajl_tree_get(root, repos_path, yajl_t_array);

    if (repos == NULL) {
        snprintf(reply->error, HYDRA_ERROR_SIZE, "bad json: no repos");
        goto failed;
    }

    for (i = 0; i < YAJL_GET_ARRAY(repos)->len; i++) {
        if (reply->nspecs == max) {
            reply->skipped += YAJL_GET_ARRAY(repos)->len - i;
            break;
        }

        if (hydra_supervisor_repo(YAJL_GET_ARRAY(repos)->values[i],
                                  &specs[reply->nspecs])
            != HYDRA_OK)
        {
            reply->skipped++;
            continue;
        }

        reply->nspecs++;
    }

    yajl_tree_free(root);

    return HYDRA_OK;

failed:

    yajl_tree_free(root);

    return HYDRA_ERROR;
}


static int
hydra_supervisor_repo(yajl_val item, hydra_repo_spec_t *spec)
{
    long long    port;
    yajl_val     v;
    const char  *port_path[] = { "port", NULL };
    const char  *running_path[] = { "running", NULL };

    memset(spec, 0, sizeof(hydra_repo_spec_t));

    if (!YAJL_IS_OBJECT(item)) {
        return HYDRA_ERROR;
    }

    if (hydra_supervisor_string(item, "slug", spec->name, HYDRA_NAME_SIZE, 1)
        != HYDRA_OK
        || !hydra_slug_valid(spec->name, strlen(spec->name)))
    {
        return HYDRA_ERROR;
    }

    if (hydra_supervisor_string(item, "path", spec->path,
                                HYDRA_PATH_SIZE, 0) != HYDRA_OK
        || hydra_supervisor_string(item, "dashboard_url", spec->dashboard_url,
                                   HYDRA_URL_SIZE, 0) != HYDRA_OK
        || hydra_supervisor_string(item, "log_file", spec->log_file,
                                   HYDRA_PATH_SIZE, 0) != HYDRA_OK)
    {
        return HYDRA_ERROR;
    }

    v = yajl_tree_get(item, port_path, yajl_t_any);

    if (v == NULL || !YAJL_IS_INTEGER(v)) {
        return HYDRA_ERROR;
    }

    port = YAJL_GET_INTEGER(v);

    if (port < 0 || port > 65535) {
        return HYDRA_ERROR;
    }

    spec->port = (unsigned) port;

    /* "running" is added by list_repos; an old supervisor may omit it */

    v = yajl_tree_get(item, running_path, yajl_t_any);
    spec->running = (v != NULL && YAJL_IS_TRUE(v) && spec->port != 0);

    return HYDRA_OK;
}


/* a missing or null optional string is "", a wrong type is an error */

static int
hydra_supervisor_string(yajl_val obj, const char *key, char *dst,
    size_t size, int required)
{
    size_t       len;
    yajl_val     v;
    const char  *path[] = { key, NULL };

    dst[0] = '\0';
    v = yajl_tree_get(obj, path, yajl_t_any);

    if (v == NULL || YAJL_IS_NULL(v)) {
        return required ? HYDRA_ERROR : HYDRA_OK;
    }

    if (!YAJL_IS_STRING(v)) {
        return HYDRA_ERROR;
    }

    len = strlen(hydra_yajl_string(v));

    if (len >= size) {
        return HYDRA_ERROR;
    }

    memcpy(dst, hydra_yajl_string(v), len + 1);

    return HYDRA_OK;
}
