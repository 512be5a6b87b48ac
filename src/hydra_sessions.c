
/*
 * Copyright (C) The ngx_http_hydra_module authors
 */


#include <stdlib.h>
#include <string.h>

#include "hydra_sessions.h"
#include "hydra_jsonl.h"
#include "hydra_slug.h"


/*
 * Keeping the order sorted while lines come in costs a memmove; past
 * this many entries to move, the order is given up instead and sorted
 * once by the next query (a file far from started_at order).
 */
#define HYDRA_SESSIONS_SHIFT_MAX   512

#if (defined __GNUC__)
#define hydra_sessions_prefetch(p) __builtin_prefetch(p)
#else
#define hydra_sessions_prefetch(p)
#endif


/* a session: 32 bytes */
typedef struct {
    uint64_t                  offset;
    int64_t                   started;
    uint32_t                  len;
    uint32_t                  id;       /* into the id arena */
    uint32_t                  repo;     /* into repos */
    uint32_t                  pos;      /* into order, while it is sorted */
} hydra_sessions_rec_t;


typedef struct {
    uint32_t                  hash;
    uint32_t                  rec;      /* index + 1, 0: empty */
} hydra_sessions_slot_t;


typedef struct {
    char                     *name;     /* and its fold after its NUL */
    char                     *fold;
    size_t                    len;
    uint32_t                  hash;
    uint32_t                  count;    /* records that name it */
    int                       match;    /* scratch of a query */
} hydra_sessions_name_t;


/* a parsed line on its way into the store */
typedef struct {
    const char               *start;
    uint64_t                  offset;
    uint32_t                  len;
    uint32_t                  hash;     /* of its id */
    uint64_t                  lines;    /* the counts before it */
    uint64_t                  corrupt;
} hydra_sessions_pending_t;


/* a record's sort key, copied out to sort the order from scratch */
typedef struct {
    int64_t                   started;
    uint64_t                  offset;
    uint32_t                  rec;
} hydra_sessions_key_t;


struct hydra_sessions_s {
    hydra_sessions_rec_t     *recs;
    uint32_t                 *order;    /* by (started, offset), oldest first */
    size_t                    nrecs;
    size_t                    norder;
    size_t                    recs_cap; /* of recs and of order */
    int                       sorted;   /* order is sorted, pos is right */
    int                       skipping; /* the rest of an overlong line */

    hydra_sessions_slot_t    *slots;    /* id -> record, open addressing */
    size_t                    nslots;   /* a power of two, or 0 */

    char                     *ids;      /* NUL-terminated ids, end to end */
    size_t                    ids_len;
    size_t                    ids_cap;

    hydra_sessions_name_t    *repos;
    size_t                    nrepos;
    size_t                    repos_cap;
    uint32_t                 *repo_slots;   /* index + 1, 0: empty */
    size_t                    nrepo_slots;
    size_t                    repo_bytes;

    uint64_t                  lines;
    uint64_t                  corrupt;
};


static int hydra_sessions_add(hydra_sessions_t *s,
    const hydra_session_line_t *line, const hydra_sessions_pending_t *pl);
static void hydra_sessions_update(hydra_sessions_t *s, uint32_t r,
    uint32_t repo, uint64_t offset, uint32_t len, int64_t started);
static int hydra_sessions_in_place(const hydra_sessions_t *s, size_t pos,
    int64_t started, uint64_t offset);
static int hydra_sessions_order_remove(hydra_sessions_t *s, size_t pos);
static void hydra_sessions_order_add(hydra_sessions_t *s, uint32_t r);
static int hydra_sessions_sort(hydra_sessions_t *s);
static int hydra_sessions_key_cmp(const void *a, const void *b);
static int hydra_sessions_cmp(int64_t sa, uint64_t oa, int64_t sb,
    uint64_t ob);
static int hydra_sessions_reserve(hydra_sessions_t *s, size_t id_len);
static int hydra_sessions_grow_slots(hydra_sessions_t *s);
static hydra_sessions_slot_t *hydra_sessions_slot(const hydra_sessions_t *s,
    const char *id, size_t len, uint32_t hash);
static int hydra_sessions_intern(hydra_sessions_t *s, const char *name,
    size_t len, uint32_t *index);
static int hydra_sessions_grow_repo_slots(hydra_sessions_t *s);
static void hydra_sessions_ref(const hydra_sessions_t *s, uint32_t r,
    hydra_session_ref_t *out);
static uint32_t hydra_sessions_hash(const char *p, size_t len);


hydra_sessions_t *
hydra_sessions_create(void)
{
    hydra_sessions_t  *s;

    s = calloc(1, sizeof(hydra_sessions_t));
    if (s == NULL) {
        return NULL;
    }

    s->sorted = 1;

    return s;
}


void
hydra_sessions_destroy(hydra_sessions_t *s)
{
    if (s == NULL) {
        return;
    }

    hydra_sessions_reset(s);
    free(s);
}


/* forgets everything: the file was replaced, truncated or rewritten */

void
hydra_sessions_reset(hydra_sessions_t *s)
{
    size_t  i;

    for (i = 0; i < s->nrepos; i++) {
        free(s->repos[i].name);
    }

    free(s->recs);
    free(s->order);
    free(s->slots);
    free(s->ids);
    free(s->repos);
    free(s->repo_slots);

    memset(s, 0, sizeof(hydra_sessions_t));
    s->sorted = 1;
}


/*
 * Reads every complete line of buf, the bytes at file offset "offset":
 * all up to and including the last "\n".  A torn last line is left for
 * the next call with the bytes that complete it; *consumed says where it
 * starts.  A line longer than HYDRA_SESSIONS_LINE_MAX is corrupt and is
 * consumed as it comes, so a buffer of that size always makes progress.
 * HYDRA_ERROR only when memory runs out; the lines before the one that
 * failed are in, and *consumed points at it.
 */

int
hydra_sessions_feed(hydra_sessions_t *s, const char *buf, size_t len,
    uint64_t offset, size_t *consumed)
{
    int                       rc, cur, pending;
    size_t                    n;
    const char               *p, *end, *nl;
    hydra_session_line_t      line[2];
    hydra_sessions_pending_t  pl[2];

    p = buf;
    end = buf + len;
    cur = 0;
    pending = 0;

    if (s->skipping) {
        nl = memchr(p, '\n', len);

        if (nl == NULL) {
            *consumed = len;
            return HYDRA_OK;
        }

        s->skipping = 0;
        p = nl + 1;
    }

    while (p < end) {
        nl = memchr(p, '\n', end - p);

        if (nl == NULL) {
            if ((size_t) (end - p) >= HYDRA_SESSIONS_LINE_MAX) {
                s->lines++;
                s->corrupt++;
                s->skipping = 1;
                p = end;
            }

            break;
        }

        n = nl - p;

        if (n >= HYDRA_SESSIONS_LINE_MAX) {
            rc = HYDRA_ERROR;

        } else {
            rc = hydra_jsonl_parse_line(p, n, &line[cur]);
        }

        if (rc == HYDRA_DECLINED) {
            p = nl + 1;
            continue;
        }

        if (rc != HYDRA_OK) {
            s->lines++;
            s->corrupt++;
            p = nl + 1;
            continue;
        }

        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }

        pl[cur].start = p;
        pl[cur].offset = offset + (uint64_t) (p - buf);
        pl[cur].len = (uint32_t) n;
        pl[cur].hash = hydra_sessions_hash(line[cur].id, line[cur].id_len);
        pl[cur].lines = s->lines;
        pl[cur].corrupt = s->corrupt;

        s->lines++;

        /*
         * A line waits in pl[] while the next is parsed, so that the hash
         * slot of its id, in a table of megabytes, has time to arrive.
         */

        if (s->nslots > 0) {
            hydra_sessions_prefetch(&s->slots[pl[cur].hash
                                              & (s->nslots - 1)]);
        }

        if (pending && hydra_sessions_add(s, &line[!cur], &pl[!cur])
                       != HYDRA_OK)
        {
            goto failed;
        }

        pending = 1;
        cur = !cur;
        p = nl + 1;
    }

    if (pending && hydra_sessions_add(s, &line[!cur], &pl[!cur]) != HYDRA_OK)
    {
        goto failed;
    }

    *consumed = p - buf;

    return HYDRA_OK;

failed:

    /* the lines from the one that failed on are to be fed again */

    s->lines = pl[!cur].lines;
    s->corrupt = pl[!cur].corrupt;
    s->skipping = 0;
    *consumed = pl[!cur].start - buf;

    return HYDRA_ERROR;
}


/*
 * The newest sessions first: by started_at, then the later-written line
 * first.  With a repo, in any slug form ("acme/api", "acme-api",
 * "ACME/api"), only the sessions whose repo folds to the same; NULL or
 * "": all.  The strings of the refs live until the next feed or reset.
 * HYDRA_ERROR only when memory runs out for a sort.
 */

int
hydra_sessions_newest(hydra_sessions_t *s, const char *repo,
    hydra_session_ref_t *out, size_t max, size_t *n)
{
    int                     filter;
    char                    fold[HYDRA_SESSIONS_REPO_MAX + 1];
    size_t                  i, k, total;
    uint32_t                r;
    hydra_sessions_name_t  *name;

    *n = 0;
    filter = (repo != NULL && repo[0] != '\0');

    if (!s->sorted && hydra_sessions_sort(s) != HYDRA_OK) {
        return HYDRA_ERROR;
    }

    total = s->norder;

    if (filter) {
        if (hydra_slug_fold(fold, sizeof(fold), repo, strlen(repo))
            > HYDRA_SESSIONS_REPO_MAX)
        {
            return HYDRA_OK;
        }

        total = 0;

        for (i = 0; i < s->nrepos; i++) {
            name = &s->repos[i];
            name->match = (strcmp(name->fold, fold) == 0);

            if (name->match) {
                total += name->count;
            }
        }
    }

    k = 0;
    i = s->norder;

    while (i > 0 && k < max && k < total) {
        r = s->order[--i];

        if (filter && !s->repos[s->recs[r].repo].match) {
            continue;
        }

        hydra_sessions_ref(s, r, &out[k++]);
    }

    *n = k;

    return HYDRA_OK;
}


int
hydra_sessions_find(const hydra_sessions_t *s, const char *id, size_t len,
    hydra_session_ref_t *out)
{
    hydra_sessions_slot_t  *slot;

    if (s->nslots == 0 || !hydra_jsonl_id_valid(id, len)) {
        return HYDRA_DECLINED;
    }

    slot = hydra_sessions_slot(s, id, len, hydra_sessions_hash(id, len));

    if (slot->rec == 0) {
        return HYDRA_DECLINED;
    }

    hydra_sessions_ref(s, slot->rec - 1, out);

    return HYDRA_OK;
}


/* the distinct repos that sessions name, "" too; returns how many there are */

size_t
hydra_sessions_repos(const hydra_sessions_t *s, hydra_sessions_repo_t *out,
    size_t max)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < s->nrepos; i++) {
        if (s->repos[i].count == 0) {
            continue;
        }

        if (n < max) {
            out[n].name = s->repos[i].name;
            out[n].sessions = s->repos[i].count;
        }

        n++;
    }

    return n;
}


void
hydra_sessions_stats(const hydra_sessions_t *s, hydra_sessions_stats_t *st)
{
    st->lines = s->lines;
    st->corrupt = s->corrupt;
    st->sessions = s->nrecs;
    st->repos = s->nrepos;
    st->memory = sizeof(hydra_sessions_t)
                 + s->recs_cap * (sizeof(hydra_sessions_rec_t)
                                  + sizeof(uint32_t))
                 + s->nslots * sizeof(hydra_sessions_slot_t)
                 + s->ids_cap
                 + s->repos_cap * sizeof(hydra_sessions_name_t)
                 + s->nrepo_slots * sizeof(uint32_t)
                 + s->repo_bytes;
}


/* the line scanner and started_at live in hydra_jsonl.c */

int
hydra_sessions_parse_line(const char *p, size_t len,
    hydra_session_line_t *line)
{
    return hydra_jsonl_parse_line(p, len, line);
}


int
hydra_sessions_parse_time(const char *p, size_t len, int64_t *us)
{
    return hydra_jsonl_parse_time(p, len, us);
}


static int
hydra_sessions_add(hydra_sessions_t *s, const hydra_session_line_t *line,
    const hydra_sessions_pending_t *pl)
{
    uint32_t                r, repo;
    hydra_sessions_rec_t   *rec;
    hydra_sessions_slot_t  *slot;

    if (hydra_sessions_intern(s, line->repo, line->repo_len, &repo)
        != HYDRA_OK)
    {
        return HYDRA_ERROR;
    }

    /* at most 3/4 full, so that probes stay short */

    if ((s->nrecs + 1) * 4 > s->nslots * 3
        && hydra_sessions_grow_slots(s) != HYDRA_OK)
    {
        return HYDRA_ERROR;
    }

    slot = hydra_sessions_slot(s, line->id, line->id_len, pl->hash);

    if (slot->rec != 0) {
        hydra_sessions_update(s, slot->rec - 1, repo, pl->offset, pl->len,
                              line->started);
        return HYDRA_OK;
    }

    if (hydra_sessions_reserve(s, line->id_len) != HYDRA_OK) {
        return HYDRA_ERROR;
    }

    r = (uint32_t) s->nrecs;
    rec = &s->recs[r];

    rec->offset = pl->offset;
    rec->started = line->started;
    rec->len = pl->len;
    rec->id = (uint32_t) s->ids_len;
    rec->repo = repo;
    rec->pos = 0;

    memcpy(s->ids + s->ids_len, line->id, line->id_len);
    s->ids[s->ids_len + line->id_len] = '\0';
    s->ids_len += line->id_len + 1;

    slot->hash = pl->hash;
    slot->rec = r + 1;

    s->nrecs++;
    s->repos[repo].count++;

    hydra_sessions_order_add(s, r);

    return HYDRA_OK;
}


/*
 * A later line for a known id, usually its end: the record keeps its
 * place in the order unless its key passes a neighbour's.
 */

static void
hydra_sessions_update(hydra_sessions_t *s, uint32_t r, uint32_t repo,
    uint64_t offset, uint32_t len, int64_t started)
{
    int                    moved;
    hydra_sessions_rec_t  *rec;

    rec = &s->recs[r];

    if (rec->repo != repo) {
        s->repos[rec->repo].count--;
        s->repos[repo].count++;
        rec->repo = repo;
    }

    moved = 0;

    if (s->sorted && !hydra_sessions_in_place(s, rec->pos, started, offset)) {
        moved = hydra_sessions_order_remove(s, rec->pos);
    }

    rec->offset = offset;
    rec->len = len;
    rec->started = started;

    if (moved) {
        hydra_sessions_order_add(s, r);
    }
}


static int
hydra_sessions_in_place(const hydra_sessions_t *s, size_t pos,
    int64_t started, uint64_t offset)
{
    const hydra_sessions_rec_t  *o;

    if (pos + 1 < s->norder) {
        o = &s->recs[s->order[pos + 1]];

        if (hydra_sessions_cmp(started, offset, o->started, o->offset) > 0) {
            return 0;
        }
    }

    if (pos > 0) {
        o = &s->recs[s->order[pos - 1]];

        if (hydra_sessions_cmp(started, offset, o->started, o->offset) < 0) {
            return 0;
        }
    }

    return 1;
}


/* 0: too far from the end, the order is given up and keeps the entry */

static int
hydra_sessions_order_remove(hydra_sessions_t *s, size_t pos)
{
    size_t  i;

    if (s->norder - pos - 1 > HYDRA_SESSIONS_SHIFT_MAX) {
        s->sorted = 0;
        return 0;
    }

    memmove(&s->order[pos], &s->order[pos + 1],
            (s->norder - pos - 1) * sizeof(uint32_t));
    s->norder--;

    for (i = pos; i < s->norder; i++) {
        s->recs[s->order[i]].pos = (uint32_t) i;
    }

    return 1;
}


/* appended when newest, the common case; else inserted, or left unsorted */

static void
hydra_sessions_order_add(hydra_sessions_t *s, uint32_t r)
{
    size_t                       i, lo, hi, mid, n;
    hydra_sessions_rec_t        *rec;
    const hydra_sessions_rec_t  *o;

    n = s->norder;
    rec = &s->recs[r];

    if (s->sorted && n > 0) {
        o = &s->recs[s->order[n - 1]];

        if (hydra_sessions_cmp(rec->started, rec->offset,
                               o->started, o->offset)
            < 0)
        {
            lo = 0;
            hi = n;

            while (lo < hi) {
                mid = lo + (hi - lo) / 2;
                o = &s->recs[s->order[mid]];

                if (hydra_sessions_cmp(o->started, o->offset,
                                       rec->started, rec->offset)
                    > 0)
                {
                    hi = mid;

                } else {
                    lo = mid + 1;
                }
            }

            if (n - lo <= HYDRA_SESSIONS_SHIFT_MAX) {
                memmove(&s->order[lo + 1], &s->order[lo],
                        (n - lo) * sizeof(uint32_t));
                s->order[lo] = r;
                s->norder++;

                for (i = lo; i < s->norder; i++) {
                    s->recs[s->order[i]].pos = (uint32_t) i;
                }

                return;
            }

            s->sorted = 0;
        }
    }

    rec->pos = (uint32_t) n;
    s->order[n] = r;
    s->norder++;
}


static int
hydra_sessions_sort(hydra_sessions_t *s)
{
    size_t                 i;
    hydra_sessions_key_t  *keys;
    hydra_sessions_rec_t  *rec;

    keys = malloc((s->norder + 1) * sizeof(hydra_sessions_key_t));
    if (keys == NULL) {
        return HYDRA_ERROR;
    }

    for (i = 0; i < s->norder; i++) {
        rec = &s->recs[s->order[i]];
        keys[i].started = rec->started;
        keys[i].offset = rec->offset;
        keys[i].rec = s->order[i];
    }

    qsort(keys, s->norder, sizeof(hydra_sessions_key_t),
          hydra_sessions_key_cmp);

    for (i = 0; i < s->norder; i++) {
        s->order[i] = keys[i].rec;
        s->recs[keys[i].rec].pos = (uint32_t) i;
    }

    free(keys);
    s->sorted = 1;

    return HYDRA_OK;
}


static int
hydra_sessions_key_cmp(const void *a, const void *b)
{
    const hydra_sessions_key_t  *ka, *kb;

    ka = a;
    kb = b;

    return hydra_sessions_cmp(ka->started, ka->offset,
                              kb->started, kb->offset);
}


static int
hydra_sessions_cmp(int64_t sa, uint64_t oa, int64_t sb, uint64_t ob)
{
    if (sa != sb) {
        return sa < sb ? -1 : 1;
    }

    if (oa != ob) {
        return oa < ob ? -1 : 1;
    }

    return 0;
}


/* room for one more record and its id, grown by half each time */

static int
hydra_sessions_reserve(hydra_sessions_t *s, size_t id_len)
{
    char                  *ids;
    size_t                 cap;
    uint32_t              *order;
    hydra_sessions_rec_t  *recs;

    if (s->nrecs == s->recs_cap) {
        if (s->recs_cap >= UINT32_MAX / 2) {
            return HYDRA_ERROR;
        }

        cap = s->recs_cap ? s->recs_cap + s->recs_cap / 2 : 256;

        recs = realloc(s->recs, cap * sizeof(hydra_sessions_rec_t));
        if (recs == NULL) {
            return HYDRA_ERROR;
        }

        s->recs = recs;

        order = realloc(s->order, cap * sizeof(uint32_t));
        if (order == NULL) {
            return HYDRA_ERROR;
        }

        s->order = order;
        s->recs_cap = cap;
    }

    if (s->ids_len + id_len + 1 > s->ids_cap) {
        cap = s->ids_cap ? s->ids_cap + s->ids_cap / 2 : 4096;

        if (cap < s->ids_len + id_len + 1) {
            cap = s->ids_len + id_len + 1;
        }

        if (cap > UINT32_MAX) {
            if (s->ids_len + id_len + 1 > UINT32_MAX) {
                return HYDRA_ERROR;
            }

            cap = UINT32_MAX;
        }

        ids = realloc(s->ids, cap);
        if (ids == NULL) {
            return HYDRA_ERROR;
        }

        s->ids = ids;
        s->ids_cap = cap;
    }

    return HYDRA_OK;
}


static int
hydra_sessions_grow_slots(hydra_sessions_t *s)
{
    size_t                  i, j, n, mask;
    hydra_sessions_slot_t  *slots;

    n = s->nslots ? s->nslots * 2 : 1024;

    if (n > (size_t) UINT32_MAX + 1) {
        return HYDRA_ERROR;
    }

    slots = calloc(n, sizeof(hydra_sessions_slot_t));
    if (slots == NULL) {
        return HYDRA_ERROR;
    }

    mask = n - 1;

    for (i = 0; i < s->nslots; i++) {
        if (s->slots[i].rec == 0) {
            continue;
        }

        j = s->slots[i].hash & mask;

        while (slots[j].rec != 0) {
            j = (j + 1) & mask;
        }

        slots[j] = s->slots[i];
    }

    free(s->slots);
    s->slots = slots;
    s->nslots = n;

    return HYDRA_OK;
}


/* the id's slot, or the empty slot where it would go */

static hydra_sessions_slot_t *
hydra_sessions_slot(const hydra_sessions_t *s, const char *id, size_t len,
    uint32_t hash)
{
    size_t                  i, mask;
    const char             *p;
    hydra_sessions_slot_t  *slot;

    mask = s->nslots - 1;
    i = hash & mask;

    for ( ;; ) {
        slot = &s->slots[i];

        if (slot->rec == 0) {
            return slot;
        }

        if (slot->hash == hash) {
            p = s->ids + s->recs[slot->rec - 1].id;

            /* ids hold no NUL: strncmp stops at the end of a shorter one */

            if (strncmp(p, id, len) == 0 && p[len] == '\0') {
                return slot;
            }
        }

        i = (i + 1) & mask;
    }
}


/* the index of a repo string; few are distinct, each is stored once */

static int
hydra_sessions_intern(hydra_sessions_t *s, const char *name, size_t len,
    uint32_t *index)
{
    char                   *buf;
    size_t                  i, mask, cap;
    uint32_t                hash;
    hydra_sessions_name_t  *repos, *rp;

    if ((s->nrepos + 1) * 2 > s->nrepo_slots
        && hydra_sessions_grow_repo_slots(s) != HYDRA_OK)
    {
        return HYDRA_ERROR;
    }

    hash = hydra_sessions_hash(name, len);
    mask = s->nrepo_slots - 1;

    for (i = hash & mask; s->repo_slots[i] != 0; i = (i + 1) & mask) {
        rp = &s->repos[s->repo_slots[i] - 1];

        if (rp->hash == hash && rp->len == len
            && memcmp(rp->name, name, len) == 0)
        {
            *index = s->repo_slots[i] - 1;
            return HYDRA_OK;
        }
    }

    if (s->nrepos == s->repos_cap) {
        cap = s->repos_cap ? s->repos_cap * 2 : 16;

        repos = realloc(s->repos, cap * sizeof(hydra_sessions_name_t));
        if (repos == NULL) {
            return HYDRA_ERROR;
        }

        s->repos = repos;
        s->repos_cap = cap;
    }

    buf = malloc(2 * (len + 1));
    if (buf == NULL) {
        return HYDRA_ERROR;
    }

    rp = &s->repos[s->nrepos];

    memcpy(buf, name, len);
    buf[len] = '\0';

    rp->name = buf;
    rp->fold = buf + len + 1;
    rp->len = len;
    rp->hash = hash;
    rp->count = 0;
    rp->match = 0;

    hydra_slug_fold(rp->fold, len + 1, name, len);

    s->repo_slots[i] = (uint32_t) (s->nrepos + 1);
    s->repo_bytes += 2 * (len + 1);
    *index = (uint32_t) s->nrepos++;

    return HYDRA_OK;
}


static int
hydra_sessions_grow_repo_slots(hydra_sessions_t *s)
{
    size_t     i, j, n, mask;
    uint32_t  *slots;

    n = s->nrepo_slots ? s->nrepo_slots * 2 : 64;

    slots = calloc(n, sizeof(uint32_t));
    if (slots == NULL) {
        return HYDRA_ERROR;
    }

    mask = n - 1;

    for (i = 0; i < s->nrepos; i++) {
        j = s->repos[i].hash & mask;

        while (slots[j] != 0) {
            j = (j + 1) & mask;
        }

        slots[j] = (uint32_t) (i + 1);
    }

    free(s->repo_slots);
    s->repo_slots = slots;
    s->nrepo_slots = n;

    return HYDRA_OK;
}


static void
hydra_sessions_ref(const hydra_sessions_t *s, uint32_t r,
    hydra_session_ref_t *out)
{
    const hydra_sessions_rec_t  *rec;

    rec = &s->recs[r];

    out->offset = rec->offset;
    out->len = rec->len;
    out->started = rec->started;
    out->id = s->ids + rec->id;
    out->repo = s->repos[rec->repo].name;
}


/* a multiply-xorshift hash, eight bytes at a time */

static uint32_t
hydra_sessions_hash(const char *p, size_t len)
{
    uint64_t  h, w;

    h = 0x9e3779b97f4a7c15ULL ^ (uint64_t) len;

    while (len >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        p += 8;
        len -= 8;
    }

    w = 0;
    memcpy(&w, p, len);

    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;

    return (uint32_t) h;
}
