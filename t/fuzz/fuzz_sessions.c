
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * hydra_sessions: a sessions.jsonl fed to the store whole, and again in
 * slices cut where the first two bytes (a seed) say, as the glue preads
 * it, torn lines and all.  Both stores must agree with each other and
 * with a plain reading of the file: one record per id, from its last
 * line, the newest first by (started_at, offset); each record's offset
 * and length point at that line; the repo filter keeps exactly the
 * records whose repo folds to the same; lines and corrupt lines are
 * counted the same whatever the slicing.
 */


#include "fuzz.h"
#include "hydra_sessions.h"
#include "hydra_slug.h"


/* slices of 1..64 bytes, each read after the torn rest of the last */
#define HYDRA_FUZZ_SLICE_MAX   64

/*
 * With the seed's top bit, the file starts with this many sessions, each
 * older than the last: more than the store shifts its order for, so it
 * gives the order up and sorts it at the next query
 */
#define HYDRA_FUZZ_OLDER       600
#define HYDRA_FUZZ_OLDER_BIT   0x8000
#define HYDRA_FUZZ_LINE_SIZE   80


typedef struct {
    uint64_t                offset;
    uint32_t                len;
    int64_t                 started;
    char                   *id;
    size_t                  id_len;
    char                   *repo;
} hydra_fuzz_rec_t;


static char *hydra_fuzz_file(hydra_fuzz_in_t *in, unsigned seed,
    size_t *len);
static void hydra_fuzz_feed_whole(hydra_sessions_t *s, const char *buf,
    size_t len);
static void hydra_fuzz_feed_slices(hydra_sessions_t *s, const char *buf,
    size_t len, unsigned seed);
static size_t hydra_fuzz_reference(const char *buf, size_t len,
    hydra_fuzz_rec_t *recs, uint64_t *lines, uint64_t *corrupt);
static int hydra_fuzz_newer(const void *a, const void *b);
static void hydra_fuzz_check_refs(const hydra_session_ref_t *a,
    const hydra_session_ref_t *b, size_t n);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                     *buf, fold[HYDRA_SESSIONS_REPO_MAX + 1];
    char                      rfold[HYDRA_SESSIONS_REPO_MAX + 1];
    size_t                    i, j, k, len, n, nw, nrecs, nrepos, count;
    unsigned                  seed;
    uint64_t                  lines, corrupt;
    hydra_fuzz_in_t           in;
    hydra_sessions_t         *whole, *sliced;
    hydra_fuzz_rec_t         *recs;
    hydra_session_ref_t      *refs, *refs2, ref;
    hydra_sessions_repo_t    *repos;
    hydra_sessions_stats_t    st, st2;
    hydra_session_line_t      line;

    hydra_fuzz_init(&in, data, size);
    seed = hydra_fuzz_u16(&in);

    buf = hydra_fuzz_file(&in, seed, &len);

    whole = hydra_sessions_create();
    sliced = hydra_sessions_create();
    hydra_fuzz_assert(whole != NULL && sliced != NULL);

    hydra_fuzz_feed_whole(whole, buf, len);
    hydra_fuzz_feed_slices(sliced, buf, len, seed);

    /* the file read plainly: the last complete line of each id */

    recs = calloc(len + 1, sizeof(hydra_fuzz_rec_t));
    refs = calloc(len + 1, sizeof(hydra_session_ref_t));
    refs2 = calloc(len + 1, sizeof(hydra_session_ref_t));
    hydra_fuzz_assert(recs != NULL && refs != NULL && refs2 != NULL);

    nrecs = hydra_fuzz_reference(buf, len, recs, &lines, &corrupt);
    qsort(recs, nrecs, sizeof(hydra_fuzz_rec_t), hydra_fuzz_newer);

    hydra_sessions_stats(whole, &st);
    hydra_sessions_stats(sliced, &st2);

    hydra_fuzz_assert(st.lines == lines && st2.lines == lines);
    hydra_fuzz_assert(st.corrupt == corrupt && st2.corrupt == corrupt);
    hydra_fuzz_assert(st.sessions == nrecs && st2.sessions == nrecs);

    /* every session, newest first, in both */

    hydra_fuzz_assert(hydra_sessions_newest(whole, NULL, refs, len + 1, &n)
                      == HYDRA_OK);
    hydra_fuzz_assert(n == nrecs);

    for (i = 0; i < n; i++) {
        hydra_fuzz_assert(refs[i].offset == recs[i].offset);
        hydra_fuzz_assert(refs[i].len == recs[i].len);
        hydra_fuzz_assert(refs[i].started == recs[i].started);
        hydra_fuzz_assert(strlen(refs[i].id) == recs[i].id_len
                          && memcmp(refs[i].id, recs[i].id, recs[i].id_len)
                             == 0);
        hydra_fuzz_assert(strcmp(refs[i].repo, recs[i].repo) == 0);

        /* the line is where the record says, and names the same id */

        hydra_fuzz_assert(refs[i].offset + refs[i].len <= len);
        hydra_fuzz_assert(hydra_sessions_parse_line(buf + refs[i].offset,
                                                    refs[i].len, &line)
                          == HYDRA_OK);
        hydra_fuzz_assert(line.id_len == recs[i].id_len
                          && memcmp(line.id, recs[i].id, line.id_len) == 0);

        hydra_fuzz_assert(hydra_sessions_find(whole, refs[i].id,
                                              strlen(refs[i].id), &ref)
                          == HYDRA_OK);
        hydra_fuzz_assert(ref.offset == refs[i].offset);
    }

    hydra_fuzz_assert(hydra_sessions_newest(sliced, "", refs2, len + 1, &nw)
                      == HYDRA_OK);
    hydra_fuzz_assert(nw == n);
    hydra_fuzz_check_refs(refs, refs2, n);

    /* the newest few only: a prefix of all */

    k = seed % (n + 1);
    hydra_fuzz_assert(hydra_sessions_newest(whole, NULL, refs2, k, &nw)
                      == HYDRA_OK);
    hydra_fuzz_assert(nw == k);
    hydra_fuzz_check_refs(refs, refs2, k);

    /* per repo: exactly the records that fold to it, in the same order */

    nrepos = hydra_sessions_repos(whole, NULL, 0);
    hydra_fuzz_assert(nrepos == hydra_sessions_repos(sliced, NULL, 0));

    repos = calloc(nrepos + 1, sizeof(hydra_sessions_repo_t));
    hydra_fuzz_assert(repos != NULL);
    hydra_fuzz_assert(hydra_sessions_repos(whole, repos, nrepos) == nrepos);

    for (i = 0; i < nrepos; i++) {
        hydra_fuzz_assert(repos[i].sessions > 0);

        if (repos[i].name[0] == '\0') {
            continue;
        }

        hydra_slug_fold(fold, sizeof(fold), repos[i].name,
                        strlen(repos[i].name));

        hydra_fuzz_assert(hydra_sessions_newest(sliced, repos[i].name,
                                                refs2, len + 1, &nw)
                          == HYDRA_OK);

        count = 0;
        k = 0;

        for (j = 0; j < n; j++) {
            hydra_slug_fold(rfold, sizeof(rfold), refs[j].repo,
                            strlen(refs[j].repo));

            if (refs[j].repo[0] != '\0' && strcmp(rfold, fold) == 0) {
                hydra_fuzz_assert(k < nw && refs2[k].offset == refs[j].offset);
                k++;
            }

            if (strcmp(refs[j].repo, repos[i].name) == 0) {
                count++;
            }
        }

        hydra_fuzz_assert(k == nw);
        hydra_fuzz_assert(count == repos[i].sessions);
    }

    for (i = 0; i < nrecs; i++) {
        free(recs[i].id);
        free(recs[i].repo);
    }

    free(repos);
    free(refs2);
    free(refs);
    free(recs);
    hydra_sessions_destroy(sliced);
    hydra_sessions_destroy(whole);
    free(buf);

    return 0;
}


/* the input as a file, after the generated older sessions if asked */

static char *
hydra_fuzz_file(hydra_fuzz_in_t *in, unsigned seed, size_t *len)
{
    int      n;
    char    *buf, *file;
    size_t   i, pos;

    if (!(seed & HYDRA_FUZZ_OLDER_BIT)) {
        *len = in->left;
        return hydra_fuzz_copy(in->p, in->left, 0);
    }

    buf = malloc(HYDRA_FUZZ_OLDER * HYDRA_FUZZ_LINE_SIZE + in->left);
    hydra_fuzz_assert(buf != NULL);

    pos = 0;

    for (i = 0; i < HYDRA_FUZZ_OLDER; i++) {
        /* every seventh one again, so an update moves it */

        n = snprintf(buf + pos, HYDRA_FUZZ_LINE_SIZE,
                     "{\"id\":\"g%zu\",\"repo\":\"gen/r%zu\","
                     "\"started_at\":\"2026-01-01T00:00:00.%06zuZ\"}\n",
                     (i % 7 == 6) ? i - 6 : i, i % 3, 999999 - i);
        hydra_fuzz_assert(n > 0 && n < HYDRA_FUZZ_LINE_SIZE);
        pos += n;
    }

    memcpy(buf + pos, in->p, in->left);
    *len = pos + in->left;

    /* exactly its size, as the input is */

    file = hydra_fuzz_copy(buf, *len, 0);
    free(buf);

    return file;
}


static void
hydra_fuzz_feed_whole(hydra_sessions_t *s, const char *buf, size_t len)
{
    size_t  consumed;

    hydra_fuzz_assert(hydra_sessions_feed(s, buf, len, 0, &consumed)
                      == HYDRA_OK);

    /* all up to the last "\n": the torn rest waits for more */

    hydra_fuzz_assert(consumed <= len);
    hydra_fuzz_assert(consumed == 0 || buf[consumed - 1] == '\n');
    hydra_fuzz_assert(memchr(buf + consumed, '\n', len - consumed) == NULL);
}


/*
 * As the glue reads: each pread appends a slice to what the last feed
 * left, which is fed again from the file offset where it starts
 */

static void
hydra_fuzz_feed_slices(hydra_sessions_t *s, const char *buf, size_t len,
    unsigned seed)
{
    char      *pending;
    size_t     start, end, n, consumed;
    uint32_t   x;

    x = seed * 2654435761u + 1;
    start = 0;
    end = 0;

    while (end < len) {
        x = x * 1103515245u + 12345;
        n = 1 + (x >> 16) % HYDRA_FUZZ_SLICE_MAX;
        end = (len - end < n) ? len : end + n;

        /* its own buffer, so that a read past the slice is caught */

        pending = hydra_fuzz_copy(buf + start, end - start, 0);

        hydra_fuzz_assert(hydra_sessions_feed(s, pending, end - start, start,
                                              &consumed)
                          == HYDRA_OK);
        hydra_fuzz_assert(consumed <= end - start);

        start += consumed;
        free(pending);
    }
}


/* every complete line parsed on its own; the last line of an id wins */

static size_t
hydra_fuzz_reference(const char *buf, size_t len, hydra_fuzz_rec_t *recs,
    uint64_t *lines, uint64_t *corrupt)
{
    int                    rc;
    size_t                 i, n, nrecs;
    const char            *p, *nl, *end;
    hydra_fuzz_rec_t      *r;
    hydra_session_line_t   line;

    nrecs = 0;
    *lines = 0;
    *corrupt = 0;
    p = buf;
    end = buf + len;

    while (p < end && (nl = memchr(p, '\n', end - p)) != NULL) {
        n = nl - p;
        rc = hydra_sessions_parse_line(p, n, &line);

        if (rc == HYDRA_DECLINED) {
            p = nl + 1;
            continue;
        }

        (*lines)++;

        if (rc != HYDRA_OK) {
            (*corrupt)++;
            p = nl + 1;
            continue;
        }

        for (i = 0; i < nrecs; i++) {
            if (recs[i].id_len == line.id_len
                && memcmp(recs[i].id, line.id, line.id_len) == 0)
            {
                break;
            }
        }

        r = &recs[i];

        if (i == nrecs) {
            nrecs++;
            r->id = hydra_fuzz_copy(line.id, line.id_len, 1);
            r->id_len = line.id_len;

        } else {
            free(r->repo);
        }

        r->offset = p - buf;
        r->len = (uint32_t) ((n > 0 && p[n - 1] == '\r') ? n - 1 : n);
        r->started = line.started;
        r->repo = hydra_fuzz_copy(line.repo, line.repo_len, 1);

        p = nl + 1;
    }

    return nrecs;
}


/* newest first: by started_at, then the later line first */

static int
hydra_fuzz_newer(const void *a, const void *b)
{
    const hydra_fuzz_rec_t  *x, *y;

    x = a;
    y = b;

    if (x->started != y->started) {
        return x->started > y->started ? -1 : 1;
    }

    return x->offset > y->offset ? -1 : (x->offset < y->offset);
}


static void
hydra_fuzz_check_refs(const hydra_session_ref_t *a,
    const hydra_session_ref_t *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        hydra_fuzz_assert(a[i].offset == b[i].offset);
        hydra_fuzz_assert(a[i].len == b[i].len);
        hydra_fuzz_assert(a[i].started == b[i].started);
        hydra_fuzz_assert(strcmp(a[i].id, b[i].id) == 0);
        hydra_fuzz_assert(strcmp(a[i].repo, b[i].repo) == 0);
    }
}
