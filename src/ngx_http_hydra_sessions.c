
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hydra_module.h"
#include "ngx_http_hydra_sessions.h"
#include "ngx_http_hydra_reply.h"
#include "ngx_http_hydra_shm.h"
#include "ngx_http_hydra_sfile.h"
#include "hydra_args.h"
#include "hydra_sessions.h"


/* HydraFlow's default page, and the most one request may ask */
#define NGX_HTTP_HYDRA_LIMIT          50
#define NGX_HTTP_HYDRA_LIMIT_MAX      1000

#define NGX_HTTP_HYDRA_SESSIONS_URI   "/api/sessions"

/* a source's facts in X-Hydra-Sessions / X-Hydra-Partial */
#define NGX_HTTP_HYDRA_SOURCE_REPORT  (NGX_MAX_PATH + 96)


typedef struct {
    ngx_http_request_t          *request;
    ngx_array_t                  sources;    /* of ngx_http_hydra_sfile_t * */
    ngx_event_t                  resume;
    ngx_str_t                    id;         /* /api/sessions/{id} */
    char                        *repo_fold;  /* NULL: every repo */
    ngx_uint_t                   limit;
    unsigned                     group:1;
} ngx_http_hydra_sreq_t;


typedef struct {
    hydra_session_ref_t          ref;
    ngx_http_hydra_sfile_t      *file;
} ngx_http_hydra_sref_t;


static const char *ngx_http_hydra_sessions_args(ngx_http_request_t *r,
    ngx_http_hydra_sreq_t *sreq, ngx_uint_t *status);
static ngx_int_t ngx_http_hydra_sessions_sources(ngx_http_request_t *r,
    ngx_http_hydra_sreq_t *sreq);
static ngx_int_t ngx_http_hydra_sessions_add(ngx_http_hydra_sreq_t *sreq,
    ngx_str_t *path, ngx_log_t *log);
static ngx_int_t ngx_http_hydra_sessions_run(ngx_http_hydra_sreq_t *sreq);
static void ngx_http_hydra_sessions_resume(ngx_event_t *ev);
static void ngx_http_hydra_sessions_cleanup(void *data);
static ngx_int_t ngx_http_hydra_sessions_answer(ngx_http_hydra_sreq_t *sreq);
static ngx_int_t ngx_http_hydra_sessions_one(ngx_http_hydra_sreq_t *sreq);
static ngx_int_t ngx_http_hydra_sessions_line(ngx_http_request_t *r,
    ngx_http_hydra_sref_t *sref, ngx_str_t *line);
static ngx_int_t ngx_http_hydra_sessions_headers(ngx_http_hydra_sreq_t *sreq,
    ngx_uint_t *readable);
static int ngx_libc_cdecl ngx_http_hydra_sref_cmp(const void *a,
    const void *b);
static int ngx_libc_cdecl ngx_http_hydra_sref_id_cmp(const void *a,
    const void *b);


/* HydraFlow's own answer for an unknown session, to the byte */

static ngx_str_t  ngx_http_hydra_not_found =
    ngx_string("{\"error\":\"Session not found\"}");

static const char  ngx_http_hydra_session_not_found[] = "Session not found";


/* GET or HEAD of /api/sessions or /api/sessions/{id}, with a source */

ngx_int_t
ngx_http_hydra_sessions_wanted(ngx_http_request_t *r)
{
    size_t                       len;
    ngx_http_hydra_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);

    if (hmcf->session_files->nelts == 0 && hmcf->sessions_pattern.len == 0)
    {
        return 0;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return 0;
    }

    len = sizeof(NGX_HTTP_HYDRA_SESSIONS_URI) - 1;

    return r->uri.len >= len
           && ngx_strncmp(r->uri.data, NGX_HTTP_HYDRA_SESSIONS_URI, len) == 0
           && (r->uri.len == len
               || (r->uri.data[len] == '/' && r->uri.len > len + 1));
}


ngx_int_t
ngx_http_hydra_sessions_handler(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_uint_t              status;
    const char             *error;
    ngx_pool_cleanup_t     *cln;
    ngx_http_hydra_sreq_t  *sreq;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hydra sessions \"%V\"", &r->uri);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    sreq = ngx_pcalloc(r->pool, sizeof(ngx_http_hydra_sreq_t));
    if (sreq == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sreq->request = r;

    error = ngx_http_hydra_sessions_args(r, sreq, &status);

    if (error == ngx_http_hydra_session_not_found) {
        return ngx_http_hydra_send_json(r, NGX_HTTP_NOT_FOUND,
                                        ngx_http_hydra_not_found.data,
                                        ngx_http_hydra_not_found.len);
    }

    if (error != NULL) {
        return ngx_http_hydra_error(r, status, "%s", error);
    }

    if (ngx_http_hydra_sessions_sources(r, sreq) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hydra_sessions_cleanup;
    cln->data = sreq;

    sreq->resume.handler = ngx_http_hydra_sessions_resume;
    sreq->resume.data = sreq;
    sreq->resume.log = r->connection->log;

    rc = ngx_http_hydra_sessions_run(sreq);

    if (rc == NGX_AGAIN) {
        r->main->count++;
        return NGX_DONE;
    }

    return rc;
}


/*
 * limit, group=repo, repo in any slug form, and the id of the path; what
 * is wrong with them, or NULL
 */

static const char *
ngx_http_hydra_sessions_args(ngx_http_request_t *r,
    ngx_http_hydra_sreq_t *sreq, ngx_uint_t *status)
{
    u_char                      *v;
    size_t                       len, i;
    ngx_int_t                    n;
    hydra_arg_t                  arg;
    hydra_registry_t            *reg;
    ngx_http_hydra_zone_t       *zone;
    ngx_http_hydra_main_conf_t  *hmcf;
    char                         name[HYDRA_NAME_SIZE];

    sreq->limit = NGX_HTTP_HYDRA_LIMIT;

    hydra_args_find((const char *) r->args.data, r->args.len, "limit", &arg);

    if (arg.count) {
        n = ngx_atoi((u_char *) arg.value, arg.value_len);

        if (n == NGX_ERROR || n == 0 || n > NGX_HTTP_HYDRA_LIMIT_MAX) {
            *status = NGX_HTTP_BAD_REQUEST;
            return "limit must be 1 to " ngx_value(NGX_HTTP_HYDRA_LIMIT_MAX);
        }

        sreq->limit = n;
    }

    hydra_args_find((const char *) r->args.data, r->args.len, "group", &arg);

    if (arg.count) {
        if (arg.value_len != sizeof("repo") - 1
            || ngx_strncmp(arg.value, "repo", arg.value_len) != 0)
        {
            *status = NGX_HTTP_BAD_REQUEST;
            return "group can only be \"repo\"";
        }

        sreq->group = 1;
    }

    len = sizeof(NGX_HTTP_HYDRA_SESSIONS_URI) - 1;

    if (r->uri.len > len) {
        sreq->id.data = r->uri.data + len + 1;
        sreq->id.len = r->uri.len - len - 1;

        if (!hydra_slug_valid((const char *) sreq->id.data, sreq->id.len)
            || ngx_strlchr(sreq->id.data, sreq->id.data + sreq->id.len, '/'))
        {
            return ngx_http_hydra_session_not_found;
        }
    }

    hydra_args_find((const char *) r->args.data, r->args.len, "repo", &arg);

    if (arg.differ) {
        *status = NGX_HTTP_BAD_REQUEST;
        return "repo is given more than once";
    }

    if (arg.count == 0) {
        return NULL;
    }

    *status = NGX_HTTP_INTERNAL_SERVER_ERROR;

    v = ngx_pnalloc(r->pool, arg.value_len + 1);
    if (v == NULL) {
        return "no memory";
    }

    len = hydra_args_unescape((char *) v, arg.value, arg.value_len);

    if (len == 0 || hydra_slug_is_all((const char *) v, len)) {
        return NULL;
    }

    if (!hydra_slug_valid((const char *) v, len)) {
        *status = NGX_HTTP_BAD_REQUEST;
        return "invalid repo slug";
    }

    /*
     * A registry repo is matched by owner/name, which is what SessionLog
     * records; a slug the registry does not know still filters by its
     * own folded form (sessions outlive repos).
     */

    ngx_memcpy(name, v, len);
    name[len] = '\0';

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);
    zone = hmcf->shm_zone->data;
    reg = &zone->sh->registry;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (hydra_registry_find(reg, (const char *) v, len, &i) == HYDRA_FIND_OK)
    {
        ngx_cpystrn((u_char *) name,
                    (u_char *) (reg->repos[i].full_name[0]
                                ? reg->repos[i].full_name
                                : reg->repos[i].spec.name),
                    HYDRA_NAME_SIZE);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    sreq->repo_fold = ngx_pnalloc(r->pool, HYDRA_NAME_SIZE);
    if (sreq->repo_fold == NULL) {
        return "no memory";
    }

    hydra_slug_fold(sreq->repo_fold, HYDRA_NAME_SIZE, name, ngx_strlen(name));

    return NULL;
}


/*
 * The files of this request: hydra_sessions and sessions= paths, and
 * hydra_repo_sessions' pattern for every repo of the registry.
 */

static ngx_int_t
ngx_http_hydra_sessions_sources(ngx_http_request_t *r,
    ngx_http_hydra_sreq_t *sreq)
{
    u_char                         *p, *q, *end;
    size_t                          len;
    ngx_str_t                      *paths, path, *pat;
    ngx_uint_t                      i, n;
    ngx_http_hydra_main_conf_t     *hmcf;
    ngx_http_hydra_peer_binding_t  *bindings;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hydra_module);

    if (ngx_array_init(&sreq->sources, r->pool, 4,
                       sizeof(ngx_http_hydra_sfile_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    paths = hmcf->session_files->elts;

    for (i = 0; i < hmcf->session_files->nelts; i++) {
        if (ngx_http_hydra_sessions_add(sreq, &paths[i], r->connection->log)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    pat = &hmcf->sessions_pattern;

    if (pat->len == 0) {
        return NGX_OK;
    }

    if (ngx_http_hydra_bindings(hmcf, r->pool, &bindings, &n) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (bindings[i].dot_dot) {
            continue;
        }

        len = pat->len + 2 * HYDRA_NAME_SIZE;
        path.data = ngx_pnalloc(r->pool, len + 1);
        if (path.data == NULL) {
            return NGX_ERROR;
        }

        p = path.data;
        end = path.data + len;

        for (q = pat->data; q < pat->data + pat->len; q++) {
            if ((size_t) (pat->data + pat->len - q) >= 6
                && ngx_strncmp(q, "{slug}", 6) == 0)
            {
                p = ngx_cpymem(p, bindings[i].slug.data,
                               ngx_min(bindings[i].slug.len,
                                       (size_t) (end - p)));
                q += 5;
                continue;
            }

            if ((size_t) (pat->data + pat->len - q) >= 5
                && ngx_strncmp(q, "{key}", 5) == 0)
            {
                p = ngx_cpymem(p, bindings[i].key.data,
                               ngx_min(bindings[i].key.len,
                                       (size_t) (end - p)));
                q += 4;
                continue;
            }

            if (p < end) {
                *p++ = *q;
            }
        }

        *p = '\0';
        path.len = p - path.data;

        if (ngx_http_hydra_sessions_add(sreq, &path, r->connection->log)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* adds a file to this request's sources */

static ngx_int_t
ngx_http_hydra_sessions_add(ngx_http_hydra_sreq_t *sreq, ngx_str_t *path,
    ngx_log_t *log)
{
    ngx_uint_t               i;
    ngx_http_hydra_sfile_t  *sf, **sfp, **known;

    sf = ngx_http_hydra_sfile_get(path, log);
    if (sf == NULL) {
        return NGX_ERROR;
    }

    /* a file named twice (sessions= and the pattern) is read once */

    known = sreq->sources.elts;

    for (i = 0; i < sreq->sources.nelts; i++) {
        if (known[i] == sf) {
            return NGX_OK;
        }
    }

    sfp = ngx_array_push(&sreq->sources);
    if (sfp == NULL) {
        return NGX_ERROR;
    }

    *sfp = sf;

    return NGX_OK;
}


/*
 * Brings every file up to date within this turn's budget: NGX_AGAIN to
 * be called again on the next turn, else the answer's status.
 */

static ngx_int_t
ngx_http_hydra_sessions_run(ngx_http_hydra_sreq_t *sreq)
{
    size_t                   budget;
    ngx_uint_t               i;
    ngx_http_request_t      *r;
    ngx_http_hydra_sfile_t **sources;

    r = sreq->request;
    budget = NGX_HTTP_HYDRA_SLICE;
    sources = sreq->sources.elts;

    for (i = 0; i < sreq->sources.nelts; i++) {
        if (ngx_http_hydra_sfile_sync(sources[i], &budget, r->connection->log)
            == NGX_AGAIN)
        {
            /* posted for the next turn: other connections go first */

            ngx_post_event(&sreq->resume, &ngx_posted_next_events);
            return NGX_AGAIN;
        }
    }

    return ngx_http_hydra_sessions_answer(sreq);
}


static void
ngx_http_hydra_sessions_resume(ngx_event_t *ev)
{
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_http_request_t     *r;
    ngx_http_hydra_sreq_t  *sreq;

    sreq = ev->data;
    r = sreq->request;
    c = r->connection;

    rc = ngx_http_hydra_sessions_run(sreq);

    if (rc != NGX_AGAIN) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_hydra_sessions_cleanup(void *data)
{
    ngx_http_hydra_sreq_t  *sreq = data;

    if (sreq->resume.posted) {
        ngx_delete_posted_event(&sreq->resume);
    }
}


static ngx_int_t
ngx_http_hydra_sessions_answer(ngx_http_hydra_sreq_t *sreq)
{
    u_char                   *p, *key;
    size_t                    size;
    ngx_str_t                *lines;
    ngx_buf_t                *b;
    ngx_uint_t                i, j, n, total, readable;
    ngx_http_request_t       *r;
    ngx_http_hydra_sref_t    *refs;
    ngx_http_hydra_sfile_t  **sources;
    hydra_session_ref_t      *got;
    u_char                    dash[HYDRA_NAME_SIZE];

    r = sreq->request;

    if (ngx_http_hydra_sessions_headers(sreq, &readable) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (readable == 0 && sreq->sources.nelts > 0) {
        return ngx_http_hydra_error(r, NGX_HTTP_BAD_GATEWAY,
                                    "no sessions file could be read");
    }

    if (sreq->id.len) {
        return ngx_http_hydra_sessions_one(sreq);
    }

    sources = sreq->sources.elts;
    n = sreq->sources.nelts;

    refs = ngx_palloc(r->pool, sizeof(ngx_http_hydra_sref_t)
                               * (n * sreq->limit + 1));
    got = ngx_palloc(r->pool, sizeof(hydra_session_ref_t) * sreq->limit);
    if (refs == NULL || got == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* each file's newest, then the newest of them all */

    total = 0;

    for (i = 0; i < n; i++) {
        if (sources[i]->error) {
            continue;
        }

        if (hydra_sessions_newest(sources[i]->store, sreq->repo_fold, got,
                                  sreq->limit, &j)
            != HYDRA_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        while (j--) {
            refs[total].ref = got[j];
            refs[total].file = sources[i];
            total++;
        }
    }

    /*
     * A session in two files (HydraFlow copies its old flat file into the
     * per-repo one) counts once: as the file written last has it.
     */

    if (n > 1) {
        ngx_qsort(refs, total, sizeof(ngx_http_hydra_sref_t),
                  ngx_http_hydra_sref_id_cmp);

        for (i = 0, j = 0; i < total; i++) {
            if (j > 0 && ngx_strcmp(refs[j - 1].ref.id, refs[i].ref.id) == 0)
            {
                continue;
            }

            refs[j++] = refs[i];
        }

        total = j;
    }

    ngx_qsort(refs, total, sizeof(ngx_http_hydra_sref_t),
              ngx_http_hydra_sref_cmp);

    total = ngx_min(total, sreq->limit);

    lines = ngx_palloc(r->pool, sizeof(ngx_str_t) * (total + 1));
    if (lines == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    size = sizeof("{}") + sizeof("[]");

    for (i = 0, j = 0; i < total; i++) {
        if (ngx_http_hydra_sessions_line(r, &refs[i], &lines[j]) == NGX_OK) {
            size += lines[j].len + sizeof(",\"\":[]") + HYDRA_NAME_SIZE;
            refs[j] = refs[i];
            j++;
        }
    }

    total = j;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * The lines are copied as they are: each passed the parser's check of
     * a JSON object.  Grouped, the keys are the repos' dash slugs, which
     * hold no character JSON would escape.
     */

    p = b->last;

    if (!sreq->group) {
        *p++ = '[';

        for (i = 0; i < total; i++) {
            if (i) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, lines[i].data, lines[i].len);
        }

        *p++ = ']';

    } else {
        *p++ = '{';

        for (i = 0; i < total; i++) {
            if (lines[i].data == NULL) {
                continue;
            }

            key = (u_char *) refs[i].ref.repo;

            if (!hydra_slug_valid((const char *) key, ngx_strlen(key))) {
                key = (u_char *) "";
            }

            hydra_slug_dash((char *) dash, sizeof(dash), (const char *) key,
                            ngx_strlen(key));

            if (p[-1] != '{') {
                *p++ = ',';
            }

            p = ngx_sprintf(p, "\"%s\":[", dash);

            for (j = i; j < total; j++) {
                if (lines[j].data == NULL
                    || ngx_strcmp(refs[j].ref.repo, refs[i].ref.repo) != 0)
                {
                    continue;
                }

                if (p[-1] != '[') {
                    *p++ = ',';
                }

                p = ngx_cpymem(p, lines[j].data, lines[j].len);

                if (j != i) {
                    lines[j].data = NULL;
                }
            }

            *p++ = ']';
            lines[i].data = NULL;
        }

        *p++ = '}';
    }

    return ngx_http_hydra_send_json(r, NGX_HTTP_OK, b->pos, p - b->pos);
}


/* /api/sessions/{id} */

static ngx_int_t
ngx_http_hydra_sessions_one(ngx_http_hydra_sreq_t *sreq)
{
    ngx_str_t                 line;
    ngx_uint_t                i;
    ngx_http_request_t       *r;
    ngx_http_hydra_sref_t     sref, best;
    ngx_http_hydra_sfile_t  **sources;

    r = sreq->request;
    sources = sreq->sources.elts;
    best.file = NULL;

    /* in several files: as the file written last has it */

    for (i = 0; i < sreq->sources.nelts; i++) {
        if (sources[i]->error
            || hydra_sessions_find(sources[i]->store,
                                   (const char *) sreq->id.data,
                                   sreq->id.len, &sref.ref)
               != HYDRA_OK)
        {
            continue;
        }

        sref.file = sources[i];

        if (best.file == NULL || sref.file->mtime > best.file->mtime) {
            best = sref;
        }
    }

    if (best.file != NULL
        && ngx_http_hydra_sessions_line(r, &best, &line) == NGX_OK)
    {
        return ngx_http_hydra_send_json(r, NGX_HTTP_OK, line.data, line.len);
    }

    return ngx_http_hydra_send_json(r, NGX_HTTP_NOT_FOUND,
                                    ngx_http_hydra_not_found.data,
                                    ngx_http_hydra_not_found.len);
}


/*
 * Reads back the line a ref points at, and checks it is still that
 * session's: a file rewritten since the sync must not answer garbage.
 */

static ngx_int_t
ngx_http_hydra_sessions_line(ngx_http_request_t *r,
    ngx_http_hydra_sref_t *sref, ngx_str_t *line)
{
    ssize_t               n;
    hydra_session_line_t  parsed;

    line->data = ngx_pnalloc(r->pool, sref->ref.len + 1);
    if (line->data == NULL) {
        return NGX_ERROR;
    }

    n = ngx_http_hydra_sfile_read(sref->file, line->data, sref->ref.len,
                                  (off_t) sref->ref.offset,
                                  r->connection->log);

    if (n != (ssize_t) sref->ref.len
        || hydra_sessions_parse_line((const char *) line->data, n, &parsed)
           != HYDRA_OK
        || parsed.id_len != ngx_strlen(sref->ref.id)
        || ngx_strncmp(parsed.id, sref->ref.id, parsed.id_len) != 0)
    {
        return NGX_DECLINED;
    }

    line->len = n;

    /* a trailing "\r" of a CRLF file is not part of the JSON */

    while (line->len && line->data[line->len - 1] == '\r') {
        line->len--;
    }

    return NGX_OK;
}


/*
 * X-Hydra-Sessions: what each file holds; X-Hydra-Partial: the files
 * that could not be read, and why.
 */

static ngx_int_t
ngx_http_hydra_sessions_headers(ngx_http_hydra_sreq_t *sreq,
    ngx_uint_t *readable)
{
    u_char                   *ok, *bad, *p, *q;
    ngx_uint_t                i, n;
    ngx_http_request_t       *r;
    ngx_http_hydra_sfile_t  **sources;
    hydra_sessions_stats_t    st;

    r = sreq->request;
    sources = sreq->sources.elts;
    n = sreq->sources.nelts;
    *readable = 0;

    ok = ngx_pnalloc(r->pool, n * NGX_HTTP_HYDRA_SOURCE_REPORT + 1);
    bad = ngx_pnalloc(r->pool, n * NGX_HTTP_HYDRA_SOURCE_REPORT + 1);
    if (ok == NULL || bad == NULL) {
        return NGX_ERROR;
    }

    p = ok;
    q = bad;

    for (i = 0; i < n; i++) {
        if (sources[i]->error) {
            q = ngx_sprintf(q, "%s%V=%s", q == bad ? "" : ", ",
                            &sources[i]->path, sources[i]->error);
            continue;
        }

        (*readable)++;
        hydra_sessions_stats(sources[i]->store, &st);

        p = ngx_sprintf(p, "%s%V=%uL sessions %uL corrupt",
                        p == ok ? "" : ", ", &sources[i]->path,
                        st.sessions, st.corrupt);
    }

    if (p != ok
        && ngx_http_hydra_add_header(r, "X-Hydra-Sessions", ok, p - ok)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (q != bad
        && ngx_http_hydra_add_header(r, "X-Hydra-Partial", bad, q - bad)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* newest started first; the later-written line first on a tie */

static int ngx_libc_cdecl
ngx_http_hydra_sref_cmp(const void *a, const void *b)
{
    const ngx_http_hydra_sref_t  *x = a;
    const ngx_http_hydra_sref_t  *y = b;

    if (x->ref.started != y->ref.started) {
        return x->ref.started < y->ref.started ? 1 : -1;
    }

    if (x->ref.offset != y->ref.offset) {
        return x->ref.offset < y->ref.offset ? 1 : -1;
    }

    return 0;
}


/* by id, and for one id the file written last first */

static int ngx_libc_cdecl
ngx_http_hydra_sref_id_cmp(const void *a, const void *b)
{
    const ngx_http_hydra_sref_t  *x = a;
    const ngx_http_hydra_sref_t  *y = b;

    int  rc;

    rc = ngx_strcmp(x->ref.id, y->ref.id);

    if (rc != 0) {
        return rc;
    }

    if (x->file->mtime != y->file->mtime) {
        return x->file->mtime < y->file->mtime ? 1 : -1;
    }

    return 0;
}
