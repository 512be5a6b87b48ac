
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "hydra_probe.h"


#define HYDRA_HTTP_STATUS_MIN   100
#define HYDRA_HTTP_STATUS_MAX   599
#define HYDRA_HTTP_ERROR_MIN    500


static int hydra_probe_digits(const char *p, size_t n);
static int hydra_probe_status(char *body, hydra_probe_reply_t *reply);


size_t
hydra_probe_request(char *dst, size_t size, const char *uri,
    const char *host)
{
    int  n;

    n = snprintf(dst, size,
                 "GET %s HTTP/1.0\r\n"
                 "Host: %s\r\n"
                 "User-Agent: ngx_http_hydra_module probe\r\n"
                 "Accept: application/json\r\n"
                 "\r\n", uri, host);

    return (n < 0 || (size_t) n >= size) ? 0 : (size_t) n;
}


/*
 * Reads the status line and, from a whole 2xx JSON body, config.repo.
 * buf must have room for a NUL at buf[len].  Returns HYDRA_OK when the
 * repo is up (a 2xx with a JSON object), HYDRA_ERROR with the reason in
 * reply->error when it is down.
 */

int
hydra_probe_parse(char *buf, size_t len, int complete,
    hydra_probe_reply_t *reply)
{
    char      *body;
    unsigned   status;

    memset(reply, 0, sizeof(hydra_probe_reply_t));
    reply->complete = complete;
    buf[len] = '\0';

    /* "HTTP/1.x NNN" then a space or the end of the line */

    if (len < sizeof("HTTP/1.x NNN") - 1
        || memcmp(buf, "HTTP/1.", sizeof("HTTP/1.") - 1) != 0
        || (buf[7] != '0' && buf[7] != '1')
        || buf[8] != ' '
        || !hydra_probe_digits(buf + 9, 3)
        || (len > 12 && buf[12] != ' ' && buf[12] != '\r'))
    {
        snprintf(reply->error, HYDRA_ERROR_SIZE, "bad response");
        return HYDRA_ERROR;
    }

    status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');

    if (status < HYDRA_HTTP_STATUS_MIN || status > HYDRA_HTTP_STATUS_MAX) {
        snprintf(reply->error, HYDRA_ERROR_SIZE, "bad response");
        return HYDRA_ERROR;
    }

    reply->status = status;

    if (status >= HYDRA_HTTP_ERROR_MIN) {
        snprintf(reply->error, HYDRA_ERROR_SIZE, "http %u", status);
        return HYDRA_ERROR;
    }

    /*
     * A dashboard answers its status as a JSON object; anything else on
     * its port (another program that took it after a restart) is not it.
     */

    if (status / 100 != 2) {
        snprintf(reply->error, HYDRA_ERROR_SIZE, "http %u", status);
        return HYDRA_ERROR;
    }

    body = strstr(buf, "\r\n\r\n");

    if (!complete || body == NULL
        || hydra_probe_status(body + 4, reply) != HYDRA_OK)
    {
        snprintf(reply->error, HYDRA_ERROR_SIZE, "bad response");
        return HYDRA_ERROR;
    }

    return HYDRA_OK;
}


/* the body must be a JSON object; its config.repo is the owner/name */

static int
hydra_probe_status(char *body, hydra_probe_reply_t *reply)
{
    size_t       len;
    yajl_val     root, repo;
    const char  *path[] = { "config", "repo", NULL };

    root = yajl_tree_parse(body, NULL, 0);

    if (root == NULL) {
        return HYDRA_ERROR;
    }

    if (!YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        return HYDRA_ERROR;
    }

    repo = yajl_tree_get(root, path, yajl_t_string);

    if (repo != NULL) {
        len = strlen(hydra_yajl_string(repo));

        if (hydra_slug_valid(hydra_yajl_string(repo), len)
            && strchr(hydra_yajl_string(repo), '/') != NULL)
        {
            memcpy(reply->full_name, hydra_yajl_string(repo), len + 1);
        }
    }

    yajl_tree_free(root);

    return HYDRA_OK;
}


static int
hydra_probe_digits(const char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }

    return 1;
}
