
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The incremental reader of one sessions.jsonl (hydraflow-api.md, 3;
 * DESIGN.md, 4).  The nginx side owns the file: it preads it in slices
 * and feeds the bytes here; it asks for the newest sessions and then
 * preads just their lines to write them out verbatim.  So the store keeps
 * per id only the id, the repo, started_at and where its last line is,
 * never the line itself.  No nginx headers: unit tests and fuzzers link
 * it directly.
 */


#ifndef _HYDRA_SESSIONS_H_INCLUDED_
#define _HYDRA_SESSIONS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "hydra.h"


/* a session id is 1..200 bytes once decoded, with no control byte */
#define HYDRA_SESSIONS_ID_MAX      200

/* a longer repo is kept as none: it could not name a slug anyway */
#define HYDRA_SESSIONS_REPO_MAX    200

/* nesting of arrays and objects in a line, the line's own object is 1 */
#define HYDRA_SESSIONS_DEPTH       32

/*
 * A longer line is corrupt.  It is consumed as it comes, so a feed of
 * at least this many bytes always makes progress.
 */
#define HYDRA_SESSIONS_LINE_MAX    (1024 * 1024)


typedef struct hydra_sessions_s  hydra_sessions_t;


/* where a session's last line is, and what the store knows of it */
typedef struct {
    uint64_t      offset;     /* of the line in the file */
    uint32_t      len;        /* without its "\n" or "\r\n" */
    int64_t       started;    /* microseconds since the epoch, UTC; 0: none */
    const char   *id;         /* NUL-terminated, owned by the store */
    const char   *repo;       /* owner/name as written, "" when none */
} hydra_session_ref_t;


/* a distinct repo and how many sessions name it */
typedef struct {
    const char   *name;       /* as written, "" for sessions without one */
    size_t        sessions;
} hydra_sessions_repo_t;


typedef struct {
    uint64_t      lines;      /* complete lines that were not blank */
    uint64_t      corrupt;    /* of them, skipped */
    uint64_t      sessions;   /* distinct ids */
    uint64_t      repos;      /* distinct repo strings, "" included */
    size_t        memory;     /* bytes allocated, all in */
} hydra_sessions_stats_t;


/*
 * One line, validated and decoded.  The strings point into the line, or
 * into the buffers below when the JSON text had escapes; they are not
 * NUL-terminated.
 */
typedef struct {
    const char   *id;
    const char   *repo;       /* "" when missing, null or unusable */
    size_t        id_len;
    size_t        repo_len;
    int64_t       started;    /* as hydra_session_ref_t */
    char          id_buf[HYDRA_SESSIONS_ID_MAX];
    char          repo_buf[HYDRA_SESSIONS_REPO_MAX];
} hydra_session_line_t;


hydra_sessions_t *hydra_sessions_create(void);
void hydra_sessions_destroy(hydra_sessions_t *s);
void hydra_sessions_reset(hydra_sessions_t *s);
int hydra_sessions_feed(hydra_sessions_t *s, const char *buf, size_t len,
    uint64_t offset, size_t *consumed);
int hydra_sessions_newest(hydra_sessions_t *s, const char *repo,
    hydra_session_ref_t *out, size_t max, size_t *n);
int hydra_sessions_find(const hydra_sessions_t *s, const char *id,
    size_t len, hydra_session_ref_t *out);
size_t hydra_sessions_repos(const hydra_sessions_t *s,
    hydra_sessions_repo_t *out, size_t max);
void hydra_sessions_stats(const hydra_sessions_t *s,
    hydra_sessions_stats_t *st);

int hydra_sessions_parse_line(const char *p, size_t len,
    hydra_session_line_t *line);
int hydra_sessions_parse_time(const char *p, size_t len, int64_t *us);


#endif /* _HYDRA_SESSIONS_H_INCLUDED_ */
