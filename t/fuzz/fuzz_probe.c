
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_probe: a repo's answer to the health probe, whole or cut short
 * (the first byte's low bit), as the glue reads it into a buffer with
 * room for one NUL.  Up is a 2xx with a JSON object whose config.repo,
 * when taken, is an owner/name slug; down always says why.  The bytes
 * after the first 0x00 of the input, if any, make a probe request.
 */


#include "fuzz.h"
#include "hydra_probe.h"


/* "GET <uri> HTTP/1.0" and three short headers fit in this with room */
#define HYDRA_FUZZ_REQUEST_SIZE  256


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc, complete;
    char                 *buf, *uri, *host, *req;
    size_t                len, ulen, hlen, n;
    const uint8_t        *p;
    hydra_fuzz_in_t       in;
    hydra_probe_reply_t   reply;

    hydra_fuzz_init(&in, data, size);
    complete = hydra_fuzz_byte(&in) & 1;

    p = hydra_fuzz_piece(&in, 0, &len);

    /* the glue's buffer: the answer and room for the NUL parse puts */

    buf = hydra_fuzz_copy(p, len, 1);

    rc = hydra_probe_parse(buf, len, complete, &reply);

    hydra_fuzz_assert(memchr(reply.error, '\0', HYDRA_ERROR_SIZE) != NULL);
    hydra_fuzz_assert(memchr(reply.full_name, '\0', HYDRA_NAME_SIZE)
                      != NULL);

    if (rc == HYDRA_OK) {
        hydra_fuzz_assert(complete && reply.complete);
        hydra_fuzz_assert(reply.status >= 200 && reply.status <= 299);
        hydra_fuzz_assert(reply.error[0] == '\0');
        hydra_fuzz_assert(memcmp(buf, "HTTP/1.", 7) == 0);

        if (reply.full_name[0] != '\0') {
            hydra_fuzz_assert(hydra_slug_valid(reply.full_name,
                                               strlen(reply.full_name)));
            hydra_fuzz_assert(strchr(reply.full_name, '/') != NULL);
        }

    } else {
        hydra_fuzz_assert(rc == HYDRA_ERROR);
        hydra_fuzz_assert(reply.error[0] != '\0');
        hydra_fuzz_assert(reply.full_name[0] == '\0');
    }

    free(buf);

    /* the request: whole, NUL-terminated and within size, or 0 */

    p = hydra_fuzz_piece(&in, 0, &ulen);
    uri = hydra_fuzz_copy(p, ulen, 1);
    p = hydra_fuzz_piece(&in, 0, &hlen);
    host = hydra_fuzz_copy(p, hlen, 1);

    req = malloc(HYDRA_FUZZ_REQUEST_SIZE);
    hydra_fuzz_assert(req != NULL);

    n = hydra_probe_request(req, HYDRA_FUZZ_REQUEST_SIZE, uri, host);

    if (n > 0) {
        hydra_fuzz_assert(n < HYDRA_FUZZ_REQUEST_SIZE && req[n] == '\0');
        hydra_fuzz_assert(n == strlen(req));
        hydra_fuzz_assert(memcmp(req + n - 4, "\r\n\r\n", 4) == 0);
    }

    free(req);
    free(host);
    free(uri);

    return 0;
}
