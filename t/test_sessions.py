"""Sessions read from sessions.jsonl files (DESIGN.md 4, hydraflow-api.md 3,
README "Sessions"): `hydra_sessions`, `hydra_repo ... sessions=` and
`hydra_repo_sessions`.

HydraFlow appends a line when a session starts and one with the same id
when it ends (the last line wins), prunes by rewriting the file, and a
reader may catch a line half written.  Every nginx here has 2 workers, each
with its own parsed state of each file, and tags its answers with
`X-Worker: $pid`: a check is repeated on fresh connections until every
worker has passed it (`on_every_worker`), and before a file changes every
worker has parsed it (`prime`), so the incremental path of each worker is
what is checked.

Expected answers come from `reference()`, HydraFlow's `load_sessions` in
Python (last line wins by id, started_at descending, limit), never from the
module; list answers are compared byte for byte with the file's lines,
which the module writes out verbatim.
"""

import collections
import datetime
import http.client
import json
import os
import random
import re
import select
import time

import pytest

from lib.hydra_nginx import scaled, wait_entry, wait_up


WORKER_HEADER = "add_header X-Worker $pid always;"
LINE_MAX = 1024 * 1024      # a longer line is corrupt (hydra_sessions.h)
EPOCH = datetime.datetime(2026, 3, 5, 9, 0, 0,
                          tzinfo=datetime.timezone.utc)


# ---------------------------------------------------------------------------
# sessions and lines as HydraFlow writes them


def iso(seconds, micro=123456):
    """started_at as SessionLog writes it (isoformat, microseconds)."""
    t = EPOCH + datetime.timedelta(seconds=seconds, microseconds=micro)
    return t.isoformat()


def sid(repo, seconds):
    """<owner-name>-YYYYMMDDTHHMMSS, as HydraFlow names sessions."""
    t = EPOCH + datetime.timedelta(seconds=seconds)
    return "%s-%s" % (repo.replace("/", "-"), t.strftime("%Y%m%dT%H%M%S"))


def start(repo, seconds, id_=None):
    """A session's start line (dict, HydraFlow's field order)."""
    return {"id": id_ or sid(repo, seconds), "repo": repo,
            "started_at": iso(seconds), "ended_at": None,
            "issues_processed": [], "issues_succeeded": 0,
            "issues_failed": 0, "status": "active"}


def end(s, processed=(11, 12), ok=1, failed=1, after=600):
    """The same session's end line."""
    started = datetime.datetime.fromisoformat(s["started_at"])
    ended = started + datetime.timedelta(seconds=after)
    return dict(s, ended_at=ended.isoformat(),
                issues_processed=list(processed), issues_succeeded=ok,
                issues_failed=failed, status="completed")


def line(obj):
    """One line: json.dumps as Python writes it, newline included."""
    return json.dumps(obj).encode() + b"\n"


def lines(*objs):
    return b"".join(line(o) for o in objs)


def append(path, data):
    with open(path, "ab") as f:
        f.write(data)


def replace_atomically(path, data):
    """HydraFlow's prune: a temp file renamed over the path."""
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# the reference: load_sessions in Python


def fold(slug):
    """The comparison form of a slug: lower case, non-word runs to "-"."""
    return re.sub(r"[^a-z0-9_-]+", "-", slug.lower())


def parse_file(data):
    """{id: (session, raw line)}, the last complete line of each id winning;
    corrupt lines (not a JSON object with a string id, or over LINE_MAX)
    and a torn last line skipped."""
    out = {}
    for raw in data.split(b"\n")[:-1]:
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        if len(raw) >= LINE_MAX:
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except ValueError:
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) \
                or not obj["id"]:
            continue
        out[obj["id"]] = (obj, raw)
    return out


def reference(*datas, repo=None, limit=50):
    """[(session, raw line)] newest started_at first, at most limit; an id
    in several files is there once (the later file's line)."""
    merged = {}
    for data in datas:
        merged.update(parse_file(data))
    items = list(merged.values())
    if repo is not None:
        items = [it for it in items
                 if fold(str(it[0].get("repo") or "")) == fold(repo)]
    items.sort(key=lambda it: it[0].get("started_at") or "", reverse=True)
    return items[:limit]


def ref_ids(*datas, **kw):
    return [s["id"] for s, _ in reference(*datas, **kw)]


def ref_body(*datas, **kw):
    """The exact body: the winning lines, verbatim, in a JSON array."""
    return b"[" + b",".join(raw for _, raw in reference(*datas, **kw)) + b"]"


# ---------------------------------------------------------------------------
# requests on every worker


def ids(r):
    doc = r.json()
    assert isinstance(doc, list), r
    return [s["id"] for s in doc]


def on_every_worker(ngx, path, check, method="GET", per_worker=2,
                    attempts=200):
    """Request path on fresh connections until every worker answered it
    per_worker times; check(response) must hold for each answer."""
    seen = collections.Counter()
    last = None
    for _ in range(attempts):
        r = ngx.request(method, path)
        worker = r.headers.get("x-worker")
        assert worker, "no X-Worker header: %r" % (r,)
        try:
            check(r)
        except AssertionError as exc:
            raise AssertionError("%s %s answered by worker %s: %s\n%r"
                                 % (method, path, worker, exc, r)) from None
        seen[worker] += 1
        last = r
        if len(seen) >= ngx.workers and min(seen.values()) >= per_worker:
            return last
    pytest.fail("not every worker answered %s %s in %d tries: %r"
                % (method, path, attempts, dict(seen)))


def expect_ids(ngx, path, want, status=200):
    def check(r):
        assert r.status == status, r
        assert ids(r) == want
    return on_every_worker(ngx, path, check)


def expect_body(ngx, path, body):
    def check(r):
        assert r.status == 200, r
        assert r.headers.get("content-type", "").startswith(
            "application/json"), r
        assert r.body == body, "\n got: %r\nwant: %r" % (r.body[:600],
                                                          body[:600])
    return on_every_worker(ngx, path, check)


def expect_missing(ngx, id_, exact=False):
    """GET /api/sessions/{id} is a 404 "Session not found" on every worker;
    exact: the body is HydraFlow's very {"error":"Session not found"} (a
    test of its own, so that the other tests check what they are about)."""
    def check(r):
        assert r.status == 404, r
        assert r.is_json(), r
        if exact:
            assert r.json() == {"error": "Session not found"}
        else:
            assert r.json().get("error") == "Session not found"
    return on_every_worker(ngx, "/api/sessions/" + id_, check)


def prime(ngx):
    """Every worker parses every file as it is now."""
    def answered(r):
        assert r.status in (200, 502), r
    on_every_worker(ngx, "/api/sessions?limit=1000", answered)


def facts(r, header="x-hydra-sessions"):
    """X-Hydra-Sessions as {path: (sessions, corrupt)}, or X-Hydra-Partial
    as {path: reason}."""
    value = r.headers.get(header)
    out = {}
    if value is None:
        return out
    for part in value.split(", "):
        path, _, what = part.rpartition("=")
        assert path, "bad %s: %r" % (header, value)
        if header == "x-hydra-sessions":
            m = re.fullmatch(r"(\d+) sessions (\d+) corrupt", what)
            assert m, "bad X-Hydra-Sessions: %r" % value
            out[path] = (int(m.group(1)), int(m.group(2)))
        else:
            out[path] = what
    return out


def facts_of(value):
    """facts() of an X-Hydra-Sessions value."""
    class R:
        headers = {"x-hydra-sessions": value}
    return facts(R)


def expect_facts(ngx, want):
    """X-Hydra-Sessions says want ({path: (sessions, corrupt)})."""
    def check(r):
        assert r.status == 200, r
        assert facts(r) == want
    return on_every_worker(ngx, "/api/sessions?limit=1", check)


def start_nginx(nginx, sessions=None, **kw):
    kw["server_extra"] = WORKER_HEADER + "\n" + kw.get("server_extra", "")
    return nginx(sessions=str(sessions) if sessions else None, **kw)


# ---------------------------------------------------------------------------
# a file that changes under the workers


def test_appends_end_line_wins_and_new_session_first(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    a = start("acme/api", 0)
    b = start("acme/api", 100)
    path.write_bytes(lines(a, b, end(b, ok=2, failed=0)))
    ngx = start_nginx(nginx, path)

    data = path.read_bytes()
    assert ref_ids(data) == [b["id"], a["id"]]
    expect_body(ngx, "/api/sessions", ref_body(data))
    prime(ngx)

    # a's end line replaces its start line
    a_end = end(a, processed=(7,), ok=1, failed=0)
    append(path, line(a_end))
    data = path.read_bytes()
    r = expect_body(ngx, "/api/sessions", ref_body(data))
    doc = r.json()
    assert doc[1]["id"] == a["id"] and doc[1]["status"] == "completed"
    assert doc[1]["ended_at"] == a_end["ended_at"]
    assert doc[1]["issues_processed"] == [7]
    expect_body(ngx, "/api/sessions/" + a["id"], line(a_end)[:-1])
    expect_facts(ngx, {str(path): (2, 0)})

    # a new session starts: first in the list
    c = start("acme/api", 200)
    append(path, line(c))
    data = path.read_bytes()
    r = expect_body(ngx, "/api/sessions", ref_body(data))
    assert ids(r) == [c["id"], b["id"], a["id"]]
    assert r.json()[0]["status"] == "active"
    expect_facts(ngx, {str(path): (3, 0)})

    # ... and its end, the file growing by one line at a time
    append(path, line(end(c, ok=3)))
    data = path.read_bytes()
    r = expect_body(ngx, "/api/sessions", ref_body(data))
    assert r.json()[0]["issues_succeeded"] == 3


def test_prune_rename_over_is_read_again(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    api = [start("acme/api", 100 * i) for i in range(12)]
    web = [start("acme/web", 100 * i + 50) for i in range(3)]
    content = b""
    for s in sorted(api + web, key=lambda s: s["started_at"]):
        content += line(s) + line(end(s))
    path.write_bytes(content)
    ngx = start_nginx(nginx, path)
    expect_body(ngx, "/api/sessions?limit=1000", ref_body(content))

    # a new session starts, every worker sees it ...
    new = start("acme/api", 5000)
    append(path, line(new))
    prime(ngx)

    # ... it ends, and prune_sessions keeps acme/api's newest 10 plus
    # every acme/web session, oldest first, in a new file renamed over
    kept = sorted(api[3:] + [new] + web, key=lambda s: s["started_at"])
    pruned = b"".join(line(end(s) if s is not new else end(s, ok=4))
                      for s in kept)
    replace_atomically(path, pruned)

    want = ref_ids(pruned, limit=1000)
    assert len(want) == 13 and want[0] == new["id"]
    expect_body(ngx, "/api/sessions?limit=1000", ref_body(pruned, limit=1000))
    for gone in api[:3]:
        expect_missing(ngx, gone["id"])
    r = expect_body(ngx, "/api/sessions/" + new["id"],
                    line(end(new, ok=4))[:-1])
    assert r.json()["issues_succeeded"] == 4
    expect_facts(ngx, {str(path): (13, 0)})


def _same_size_contents():
    """Two files of the same length with different sessions, whose last
    64 bytes differ too (the part the module compares)."""
    def content(day, processed, ok, failed):
        out = b""
        for i in range(6):
            s = start("acme/api", day * 86400 + 60 * i)
            out += line(s) + line(end(s, processed=processed, ok=ok,
                                      failed=failed))
        return out
    old = content(0, (11, 12), 1, 1)
    new = content(1, (71, 72), 3, 2)
    assert len(old) == len(new)
    assert old[-64:] != new[-64:]
    assert not set(parse_file(old)) & set(parse_file(new))
    return old, new


def test_rewrite_in_place_same_size_and_truncations(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    old, new = _same_size_contents()
    path.write_bytes(old)
    ngx = start_nginx(nginx, path)
    expect_body(ngx, "/api/sessions", ref_body(old))
    prime(ngx)
    ino = os.stat(path).st_ino

    # truncated and written again through the same inode, same size
    with open(path, "r+b") as f:
        f.truncate(0)
        f.seek(0)
        f.write(new)
    assert os.stat(path).st_ino == ino and os.stat(path).st_size == len(old)
    expect_body(ngx, "/api/sessions", ref_body(new))
    for gone in parse_file(old):
        expect_missing(ngx, gone)
    expect_facts(ngx, {str(path): (6, 0)})
    prime(ngx)

    # shorter: the file shrank under the parsed offset
    shorter = lines(start("acme/web", 9000), start("acme/web", 9100))
    with open(path, "r+b") as f:
        f.truncate(0)
        f.write(shorter)
    expect_body(ngx, "/api/sessions", ref_body(shorter))
    expect_facts(ngx, {str(path): (2, 0)})
    prime(ngx)

    # longer: grown past the parsed offset, but the bytes before it changed
    longer = b"".join(line(end(start("acme/tools", 20000 + 10 * i)))
                      for i in range(8))
    assert len(longer) > len(shorter)
    assert longer[len(shorter) - 64:len(shorter)] != shorter[-64:]
    with open(path, "wb") as f:
        f.write(longer)
    assert os.stat(path).st_ino == ino
    expect_body(ngx, "/api/sessions", ref_body(longer))
    expect_facts(ngx, {str(path): (8, 0)})
    for gone in parse_file(shorter):
        expect_missing(ngx, gone)


def test_rotation(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    rotated = tmp_path / "sessions.jsonl.1"
    v1 = lines(start("acme/api", 0), start("acme/api", 10))
    path.write_bytes(v1)
    ngx = start_nginx(nginx, path)
    expect_body(ngx, "/api/sessions", ref_body(v1))
    prime(ngx)

    # renamed away: the path is missing, the only source, so 502
    os.rename(path, rotated)

    def gone(r):
        assert r.status == 502, r
        assert r.is_json() and "error" in r.json(), r
        assert facts(r, "x-hydra-partial") == {str(path): "missing"}
    on_every_worker(ngx, "/api/sessions", gone)
    on_every_worker(ngx, "/api/sessions/" + sid("acme/api", 0), gone)

    # a new file at the path: only its sessions
    v2 = lines(start("acme/web", 500))
    path.write_bytes(v2)
    expect_body(ngx, "/api/sessions", ref_body(v2))
    expect_missing(ngx, sid("acme/api", 0))
    expect_facts(ngx, {str(path): (1, 0)})

    # writes to the rotated file are not seen, writes to the new one are
    append(rotated, line(start("acme/api", 9999)))
    append(path, line(start("acme/web", 600)))
    data = path.read_bytes()
    expect_body(ngx, "/api/sessions", ref_body(data))
    prime(ngx)

    # rotated again with no gap (a bigger new file in place at once)
    os.rename(path, str(rotated) + ".2")
    v3 = b"".join(line(start("acme/tools", 1000 + i)) for i in range(5))
    path.write_bytes(v3)
    expect_body(ngx, "/api/sessions", ref_body(v3))
    expect_facts(ngx, {str(path): (5, 0)})


def test_torn_last_line_waits_for_its_newline(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    s1 = start("acme/api", 0)
    s2 = start("acme/api", 100)
    path.write_bytes(lines(s1, s2))
    ngx = start_nginx(nginx, path)
    prime(ngx)

    # half of s1's end line: s1 stays active
    e1 = line(end(s1, ok=5))
    append(path, e1[:len(e1) // 2])
    data = path.read_bytes()
    assert ref_ids(data) == [s2["id"], s1["id"]]
    r = expect_body(ngx, "/api/sessions", ref_body(data))
    assert [s["status"] for s in r.json()] == ["active", "active"]
    expect_body(ngx, "/api/sessions/" + s1["id"], line(s1)[:-1])
    expect_facts(ngx, {str(path): (2, 0)})

    # the rest of it, and half of a new session's start line
    s3 = start("acme/api", 200)
    l3 = line(s3)
    append(path, e1[len(e1) // 2:] + l3[:40])
    data = path.read_bytes()
    r = expect_body(ngx, "/api/sessions", ref_body(data))
    assert ids(r) == [s2["id"], s1["id"]]
    assert r.json()[1]["issues_succeeded"] == 5
    expect_missing(ngx, s3["id"])
    expect_facts(ngx, {str(path): (2, 0)})

    # more of it, still no newline
    append(path, l3[40:-2])
    expect_ids(ngx, "/api/sessions", [s2["id"], s1["id"]])
    expect_missing(ngx, s3["id"])

    # completed: visible, first
    append(path, l3[-2:])
    data = path.read_bytes()
    r = expect_body(ngx, "/api/sessions", ref_body(data))
    assert ids(r) == [s3["id"], s2["id"], s1["id"]]
    expect_body(ngx, "/api/sessions/" + s3["id"], l3[:-1])
    expect_facts(ngx, {str(path): (3, 0)})


def test_garbage_lines_skipped_and_counted(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    g = [start("acme/api", 10 * i) for i in range(7)]
    huge = dict(start("acme/api", 99999, id_="huge-line"),
                pad="x" * (2 * 1024 * 1024))
    content = b"".join([
        line(g[0]),
        b"this is not json\n",
        b'[{"id": "in-an-array", "repo": "acme/api"}]\n',
        b'{"repo": "acme/api", "started_at": "2026-03-05T10:00:00+00:00"}\n',
        line(g[1])[:-1] + b"\r\n",                       # CRLF: fine
        b"\x00\x01\xff\xfe binary \x80\x81 junk \x00\n",
        b'{"id": 42, "repo": "acme/api"}\n',
        line(huge),                                      # 2 MiB: corrupt
        b'{"id": "unterminated", "repo": "acme/api"\n',
        b"\n",                                           # blank: not a line
        line(g[2]),
        b'{"id": "bad-utf8-\xff\xfe", "repo": "acme/api"}\n',
        b"{}\n",
        line(g[3]),
    ])
    path.write_bytes(content)
    assert len(line(huge)) > 2 * 1024 * 1024
    corrupt = 9
    ngx = start_nginx(nginx, path)

    want = ref_body(content)
    assert ref_ids(content) == [g[3]["id"], g[2]["id"], g[1]["id"],
                                g[0]["id"]]
    expect_body(ngx, "/api/sessions", want)
    expect_facts(ngx, {str(path): (4, corrupt)})
    expect_body(ngx, "/api/sessions/" + g[1]["id"], line(g[1])[:-1])
    for bad in ("huge-line", "in-an-array", "unterminated"):
        expect_missing(ngx, bad)

    # more garbage appended between requests, counted once more
    append(path, b"{\"id\": \"half\", oops}\n" + line(g[4]))
    data = path.read_bytes()
    corrupt += 1
    expect_body(ngx, "/api/sessions", ref_body(data))
    expect_facts(ngx, {str(path): (5, corrupt)})

    # a line over the limit written in two parts: counted once, and the
    # line after it is read
    long_line = line(dict(start("acme/api", 88888, id_="long-line"),
                          pad="y" * (1536 * 1024)))
    append(path, long_line[:1024 * 1024 + 4096])
    before = ref_ids(data)

    def unchanged(r):
        assert r.status == 200, r
        assert ids(r) == before
    on_every_worker(ngx, "/api/sessions", unchanged)
    append(path, long_line[1024 * 1024 + 4096:] + line(g[5]))
    data = path.read_bytes()
    corrupt += 1
    expect_body(ngx, "/api/sessions", ref_body(data))
    expect_facts(ngx, {str(path): (6, corrupt)})
    expect_missing(ngx, "long-line")

    log = ngx.read_error_log()
    warns = [ln for ln in log.splitlines()
             if "[warn]" in ln and str(path) in ln and "corrupt" in ln]
    assert warns, "no [warn] about corrupt lines in error.log:\n%s" \
        % log[-3000:]
    assert not ngx.bad_log_lines(), ngx.bad_log_lines()
    assert not [ln for ln in log.splitlines() if "[error]" in ln], \
        "garbage is not an error:\n%s" % log[-3000:]


# ---------------------------------------------------------------------------
# what a request asks


SLUG_REPOS = ("acme/api", "acme/web", "other/api", "acme/my.repo")


def slug_content():
    rng = random.Random(3)
    out = []
    for i in range(40):
        repo = SLUG_REPOS[i % len(SLUG_REPOS)]
        s = start(repo, rng.randrange(100000) * 10 + i)
        out.append(line(s))
        if i % 3:
            out.append(line(end(s)))
    return b"".join(out)


def test_repo_filter_any_slug_form(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    content = slug_content()
    path.write_bytes(content)
    ngx = start_nginx(nginx, path)

    cases = {
        "acme/api": "acme/api", "acme-api": "acme/api",
        "ACME-API": "acme/api", "acme%2Fapi": "acme/api",
        "Acme/API": "acme/api", "acme/web": "acme/web",
        "other-api": "other/api", "acme-my-repo": "acme/my.repo",
        "acme/my.repo": "acme/my.repo",
    }
    for slug, repo in cases.items():
        want = ref_body(content, repo=repo, limit=1000)
        r = expect_body(ngx, "/api/sessions?limit=1000&repo=" + slug, want)
        got = r.json()
        assert got and {s["repo"] for s in got} == {repo}, (slug, got)

    expect_body(ngx, "/api/sessions?repo=__all__&limit=1000",
                ref_body(content, limit=1000))
    expect_ids(ngx, "/api/sessions?repo=nosuch/repo", [])
    # limit applies after the filter, as load_sessions(repo=...) does
    expect_body(ngx, "/api/sessions?repo=acme-web&limit=3",
                ref_body(content, repo="acme/web", limit=3))


def test_repo_filter_through_the_registry(fleet, nginx, tmp_path):
    tools = fleet.repo("acme/tools")
    path = tmp_path / "sessions.jsonl"
    rng = random.Random(5)
    out = []
    for i in range(30):
        repo = ("acme/tools", "acme/api", "other/tools")[i % 3]
        s = start(repo, rng.randrange(100000) * 10 + i)
        out += [line(s), line(end(s))] if i % 2 else [line(s)]
    content = b"".join(out)
    path.write_bytes(content)
    ngx = start_nginx(nginx, path, repos=[("tools", tools)])
    wait_entry(ngx, slug="tools", repo="acme/tools", status="up",
               message="the probe did not learn acme/tools for `tools`")

    want = ref_body(content, repo="acme/tools", limit=1000)
    for slug in ("tools", "TOOLS", "acme/tools", "acme-tools"):
        r = expect_body(ngx, "/api/sessions?limit=1000&repo=" + slug, want)
        assert {s["repo"] for s in r.json()} == {"acme/tools"}
    expect_body(ngx, "/api/sessions?limit=1000&repo=other-tools",
                ref_body(content, repo="other/tools", limit=1000))
    # read from the file, never asked of the repo
    assert tools.requests_for("/api/sessions") == []


def test_limit(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    rng = random.Random(11)
    content = b"".join(line(start("acme/api", t))
                       for t in rng.sample(range(100000), 60))
    path.write_bytes(content)
    ngx = start_nginx(nginx, path)

    r = expect_body(ngx, "/api/sessions", ref_body(content))
    assert len(ids(r)) == 50                    # HydraFlow's default
    r = expect_body(ngx, "/api/sessions?limit=5", ref_body(content, limit=5))
    assert len(ids(r)) == 5
    expect_body(ngx, "/api/sessions?limit=1", ref_body(content, limit=1))
    r = expect_body(ngx, "/api/sessions?limit=1000",
                    ref_body(content, limit=1000))
    assert len(ids(r)) == 60

    for bad in ("0", "abc", "5000", "1001", "-1"):
        def check(r, bad=bad):
            assert r.status == 400, r
            assert r.is_json() and "error" in r.json(), r
        on_every_worker(ngx, "/api/sessions?limit=" + bad, check,
                        per_worker=1)

    # the 400 says keep-alive: the connection answers the next request
    conn = ngx.connection()
    try:
        r = ngx.get("/api/sessions?limit=0", conn=conn)
        assert r.status == 400, r
        try:
            r = ngx.get("/api/sessions?limit=5", conn=conn)
        except (http.client.HTTPException, OSError) as exc:
            pytest.fail("GET /api/sessions?limit=5 on the keep-alive "
                        "connection of a 400: %r\nerror.log: %s"
                        % (exc, "\n".join(ngx.bad_log_lines()[-2:])))
        assert r.status == 200 and r.body == ref_body(content, limit=5), r
    finally:
        conn.close()
    assert not ngx.bad_log_lines(), \
        "a refused limit must not log [alert]/[crit]:\n" \
        + "\n".join(ngx.bad_log_lines()[:5])


def test_group_by_repo(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    content = slug_content()
    path.write_bytes(content)
    ngx = start_nginx(nginx, path)

    def check(r, only=None):
        assert r.status == 200, r
        doc = r.json()
        assert isinstance(doc, dict), r
        repos = [only] if only else SLUG_REPOS
        assert set(doc) == {repo.replace("/", "-") for repo in repos}
        for repo in repos:
            got = [s["id"] for s in doc[repo.replace("/", "-")]]
            assert got == ref_ids(content, repo=repo, limit=1000), repo
            assert {s["repo"] for s in doc[repo.replace("/", "-")]} \
                == {repo}
        return True
    on_every_worker(ngx, "/api/sessions?group=repo&limit=1000", check)
    on_every_worker(ngx, "/api/sessions?group=repo&limit=1000&repo=ACME-WEB",
                    lambda r: check(r, only="acme/web"))
    # within the default limit of 50 too (40 sessions)
    on_every_worker(ngx, "/api/sessions?group=repo", check)


def test_session_by_id_and_head(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    a = start("acme/api", 0)
    b = start("acme/web", 100)
    a_end = end(a, processed=(3, 4, 5), ok=2, failed=1)
    path.write_bytes(lines(a, b, a_end))
    ngx = start_nginx(nginx, path)

    r = expect_body(ngx, "/api/sessions/" + a["id"], line(a_end)[:-1])
    assert r.json() == a_end
    expect_body(ngx, "/api/sessions/" + b["id"], line(b)[:-1])
    expect_missing(ngx, "acme-api-20990101T000000")

    get = ngx.get("/api/sessions")
    assert get.status == 200 and get.body == ref_body(path.read_bytes())

    def head_of(length, status=200):
        def check(r):
            assert r.status == status, r
            assert r.body == b"", r
            assert r.headers.get("content-length") == str(length), r
            assert r.headers.get("content-type", "").startswith(
                "application/json"), r
        return check
    h = on_every_worker(ngx, "/api/sessions", head_of(len(get.body)),
                        method="HEAD")
    assert facts(h) == {str(path): (2, 0)}
    one = ngx.get("/api/sessions/" + a["id"])
    on_every_worker(ngx, "/api/sessions/" + a["id"], head_of(len(one.body)),
                    method="HEAD")
    nf = ngx.get("/api/sessions/nope")
    on_every_worker(ngx, "/api/sessions/nope", head_of(len(nf.body), 404),
                    method="HEAD")


def test_unknown_session_is_hydraflows_404(nginx, tmp_path):
    """README: 404 {"error":"Session not found"} as HydraFlow does."""
    path = tmp_path / "sessions.jsonl"
    a = start("acme/api", 0)
    path.write_bytes(lines(a))
    ngx = start_nginx(nginx, path)
    expect_missing(ngx, "acme-api-20990101T000000", exact=True)
    expect_missing(ngx, a["id"] + "x", exact=True)
    # an id no session can have (a space) is not found either
    expect_missing(ngx, "no%20such%20id", exact=True)


# ---------------------------------------------------------------------------
# many sessions


def thousand_sessions(rng, repos, n=1000):
    """n sessions over repos: start lines in random order, end lines
    (for ~90%) written some time after their start, started_at shuffled
    with respect to the order of the file."""
    times = rng.sample(range(0, 30 * 86400), n)
    sessions = [start(repos[i % len(repos)], t) for i, t in enumerate(times)]
    rng.shuffle(sessions)
    out, pending = [], []
    for s in sessions:
        out.append(line(s))
        if rng.random() < 0.9:
            pending.append(s)
        while pending and rng.random() < 0.5:
            done = pending.pop(rng.randrange(len(pending)))
            out.append(line(end(done, processed=(rng.randrange(999),),
                                ok=rng.randrange(9), failed=rng.randrange(9))))
    for s in pending[: len(pending) // 2]:
        out.append(line(end(s, ok=9)))
    return out


def test_thousand_sessions_match_the_reference(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    repos = ["acme/r%d" % i for i in range(9)] + ["acme/my.repo"]
    rng = random.Random(1000)
    out = thousand_sessions(rng, repos)
    assert len(out) > 1800
    half = len(out) // 2
    path.write_bytes(b"".join(out[:half]))
    ngx = start_nginx(nginx, path)
    data = path.read_bytes()
    expect_body(ngx, "/api/sessions?limit=1000",
                ref_body(data, limit=1000))
    prime(ngx)

    append(path, b"".join(out[half:]))
    data = path.read_bytes()
    parsed = parse_file(data)
    assert len(parsed) == 1000
    assert sum(1 for s, _ in parsed.values()
               if s["status"] == "completed") > 500

    r = expect_body(ngx, "/api/sessions?limit=1000",
                    ref_body(data, limit=1000))
    assert len(ids(r)) == 1000
    expect_body(ngx, "/api/sessions", ref_body(data))
    expect_body(ngx, "/api/sessions?limit=7", ref_body(data, limit=7))
    for repo in ("acme/r3", "acme-r7", "ACME-MY-REPO"):
        expect_body(ngx, "/api/sessions?limit=1000&repo=" + repo,
                    ref_body(data, repo=repo, limit=1000))
        expect_body(ngx, "/api/sessions?limit=13&repo=" + repo,
                    ref_body(data, repo=repo, limit=13))
    expect_facts(ngx, {str(path): (1000, 0)})

    def grouped(r):
        assert r.status == 200, r
        doc = r.json()
        assert set(doc) == {x.replace("/", "-") for x in repos}
        for repo in repos:
            got = [s["id"] for s in doc[repo.replace("/", "-")]]
            assert got == ref_ids(data, repo=repo, limit=1000), repo
    on_every_worker(ngx, "/api/sessions?group=repo&limit=1000", grouped)

    for sid_ in rng.sample(sorted(parsed), 5):
        expect_body(ngx, "/api/sessions/" + sid_, parsed[sid_][1])


# ---------------------------------------------------------------------------
# several sources


def test_several_sources_partial_and_all_missing(fleet, nginx, tmp_path):
    sup = fleet.supervisor()
    tools = fleet.repo("acme/tools", supervisor=sup)
    web = fleet.repo("acme/web")
    sup.add(tools, slug="tools", path="/home/dev/src/tools")

    shared = tmp_path / "shared" / "sessions.jsonl"
    web_file = tmp_path / "web" / "sessions.jsonl"
    hf = tmp_path / "hf"
    tools_file = hf / "tools" / "acme-tools" / "sessions.jsonl"
    # where the pattern puts the static acme/web: whether the pattern
    # applies to static repos is left open here, so this path is ignored
    web_pattern = str(hf / "acme/web" / "acme-web" / "sessions.jsonl")
    for p in (shared, web_file, tools_file):
        p.parent.mkdir(parents=True)

    rng = random.Random(9)
    t = iter(rng.sample(range(100000), 100))
    shared_data = b"".join(line(start("acme/api", next(t)))
                           for _ in range(6))
    web_sessions = [start("acme/web", next(t)) for _ in range(5)]
    web_data = b"".join(line(s) + line(end(s)) for s in web_sessions)
    tools_data = b"".join(line(start("acme/tools", next(t)))
                          for _ in range(4))
    shared.write_bytes(shared_data)
    web_file.write_bytes(web_data)
    tools_file.write_bytes(tools_data)

    ngx = start_nginx(
        nginx, shared, supervisor=sup,
        repos=["acme/web %s sessions=%s" % (web.address, web_file)],
        http_extra='hydra_repo_sessions "%s/{slug}/{key}/sessions.jsonl";'
                   % hf)
    wait_up(ngx, [tools, web])
    wait_entry(ngx, slug="tools", repo="acme/tools", key="acme-tools")

    datas = (shared_data, web_data, tools_data)
    files = {str(shared): (6, 0), str(web_file): (5, 0),
             str(tools_file): (4, 0)}

    def merged(*datas_, partial, want_facts):
        body = ref_body(*datas_, limit=1000)

        def check(r):
            assert r.status == 200, r
            assert r.body == body, "\n got: %r\nwant: %r" % (r.body[:400],
                                                              body[:400])
            got = facts(r)
            got.pop(web_pattern, None)
            assert got == want_facts
            bad = facts(r, "x-hydra-partial")
            bad.pop(web_pattern, None)
            assert bad == partial
        return check

    on_every_worker(ngx, "/api/sessions?limit=1000",
                    merged(*datas, partial={}, want_facts=files))
    expect_body(ngx, "/api/sessions?repo=tools&limit=1000",
                ref_body(*datas, repo="acme/tools", limit=1000))
    expect_body(ngx, "/api/sessions/" + web_sessions[2]["id"],
                line(end(web_sessions[2]))[:-1])
    prime(ngx)

    # one missing: the others answer, the missing one is named
    os.unlink(tools_file)
    on_every_worker(ngx, "/api/sessions?limit=1000",
                    merged(shared_data, web_data,
                           partial={str(tools_file): "missing"},
                           want_facts={str(shared): (6, 0),
                                       str(web_file): (5, 0)}))
    os.unlink(web_file)
    on_every_worker(ngx, "/api/sessions?limit=1000",
                    merged(shared_data,
                           partial={str(tools_file): "missing",
                                    str(web_file): "missing"},
                           want_facts={str(shared): (6, 0)}))

    # none left: 502 JSON, every file named
    os.unlink(shared)

    def none(r):
        assert r.status == 502, r
        assert r.is_json() and "error" in r.json(), r
        bad = facts(r, "x-hydra-partial")
        bad.pop(web_pattern, None)
        assert bad == {str(shared): "missing", str(web_file): "missing",
                       str(tools_file): "missing"}
    on_every_worker(ngx, "/api/sessions", none)
    on_every_worker(ngx, "/api/sessions/" + web_sessions[2]["id"], none)

    # back: answers again
    tools_file.write_bytes(tools_data)
    expect_body(ngx, "/api/sessions?limit=1000",
                ref_body(tools_data, limit=1000))


def answered_once(want):
    def check(r):
        assert r.status == 200, r
        got = ids(r)
        dup = sorted(i for i, n in collections.Counter(got).items() if n > 1)
        assert not dup, "ids answered more than once: %s\n%s" % (dup, got)
        assert got == want
    return check


def test_a_session_copied_to_the_repo_file_is_answered_once(fleet, nginx,
                                                           tmp_path):
    """HydraFlow copies the old flat sessions.jsonl into the repo-scoped
    one on first run (hydraflow-api.md 3): with the old file still named
    by hydra_sessions, a session is in two files; the answer holds each id
    once, as load_sessions does."""
    sup = fleet.supervisor()
    tools = fleet.repo("acme/tools", supervisor=sup)
    sup.add(tools, slug="tools")
    hf = tmp_path / "hf"
    shared = tmp_path / "sessions.jsonl"
    tools_file = hf / "tools" / "acme-tools" / "sessions.jsonl"
    tools_file.parent.mkdir(parents=True)

    old = [start("acme/tools", 100 * i) for i in range(3)]
    shared_data = lines(*old)
    tools_data = shared_data + lines(end(old[2]), start("acme/tools", 900))
    shared.write_bytes(shared_data)
    tools_file.write_bytes(tools_data)

    ngx = start_nginx(
        nginx, shared, supervisor=sup,
        http_extra='hydra_repo_sessions "%s/{slug}/{key}/sessions.jsonl";'
                   % hf)
    wait_up(ngx, [tools])
    wait_entry(ngx, slug="tools", repo="acme/tools", key="acme-tools")

    want = ref_ids(shared_data, tools_data, limit=1000)
    assert len(want) == 4
    on_every_worker(ngx, "/api/sessions?limit=1000", answered_once(want))


def test_a_file_named_twice_is_read_once(fleet, nginx, tmp_path):
    """A `sessions=` path that is also the one hydra_repo_sessions gives
    for that repo: its sessions are answered once."""
    web = fleet.repo("acme/web")
    hf = tmp_path / "hf"
    web_file = hf / "acme/web" / "acme-web" / "sessions.jsonl"
    web_file.parent.mkdir(parents=True)
    web_data = lines(start("acme/web", 50), start("acme/web", 150))
    web_file.write_bytes(web_data)

    ngx = start_nginx(
        nginx, repos=["acme/web %s sessions=%s" % (web.address, web_file)],
        http_extra='hydra_repo_sessions "%s/{slug}/{key}/sessions.jsonl";'
                   % hf)
    wait_up(ngx, [web])

    want = ref_ids(web_data, limit=1000)
    assert len(want) == 2
    on_every_worker(ngx, "/api/sessions?limit=1000", answered_once(want))


# ---------------------------------------------------------------------------
# a large file


def big_content(n=80000):
    """~20 MB of sessions whose started_at is shuffled through the file."""
    rng = random.Random(20)
    times = rng.sample(range(40 * 86400), n)
    pad = "p" * 60
    parts = []
    for i, t in enumerate(times):
        dt = EPOCH + datetime.timedelta(seconds=t, microseconds=1 + i % 997)
        parts.append(
            '{"id": "acme-api-%08d", "repo": "acme/r%d", "started_at": '
            '"%s", "ended_at": null, "issues_processed": [1, 2, 3, 4], '
            '"issues_succeeded": 0, "issues_failed": 0, "status": '
            '"active", "note": "%s"}\n' % (i, i % 10, dt.isoformat(), pad))
    return "".join(parts).encode()


def pinned_connections(ngx, per_worker, tries=200):
    """Keepalive connections, per_worker of them on each worker, found by
    GET /api/repos (which reads no sessions file)."""
    conns = collections.defaultdict(list)
    spare = []
    for _ in range(tries):
        c = ngx.connection(timeout=30)
        c.request("GET", "/api/repos")
        r = c.getresponse()
        r.read()
        assert r.status == 200
        w = r.getheader("X-Worker")
        if len(conns[w]) < per_worker:
            conns[w].append(c)
        else:
            spare.append(c)
        if len(conns) >= ngx.workers \
                and all(len(v) >= per_worker for v in conns.values()):
            break
    for c in spare:
        c.close()
    assert len(conns) >= ngx.workers \
        and all(len(v) >= per_worker for v in conns.values()), dict(conns)
    return conns


def test_large_file_worker_stays_responsive(nginx, tmp_path):
    path = tmp_path / "sessions.jsonl"
    t0 = time.monotonic()
    data = big_content()
    path.write_bytes(data)
    assert len(data) > 19 * 1024 * 1024
    assert time.monotonic() - t0 < 5
    want = ref_body(data, limit=20)
    want_ids = ref_ids(data, limit=20)

    ngx = start_nginx(nginx, path)
    conns = pinned_connections(ngx, per_worker=3)
    try:
        for worker, (a, b, c) in conns.items():
            # a: the first sessions request of this worker, which parses
            # the whole file; c: another one meanwhile, sharing the
            # progress; b: /api/repos on the same worker during the parse
            t0 = time.monotonic()
            a.request("GET", "/api/sessions?limit=20")
            time.sleep(0.002)
            c.request("GET", "/api/sessions?limit=20")
            b.request("GET", "/api/repos")
            rb = b.getresponse()
            body_b = rb.read()
            t_b = time.monotonic() - t0
            a_done_first = bool(select.select([a.sock], [], [], 0)[0])
            ra = a.getresponse()
            body_a = ra.read()
            t_a = time.monotonic() - t0
            rc = c.getresponse()
            body_c = rc.read()

            assert rb.status == 200 and json.loads(body_b)["repos"] == []
            assert rb.getheader("X-Worker") == worker
            assert ra.status == 200 and ra.getheader("X-Worker") == worker
            assert body_a == want, [s["id"] for s in json.loads(body_a)] \
                + ["want"] + want_ids
            assert facts_of(ra.getheader("X-Hydra-Sessions")) \
                == {str(path): (80000, 0)}
            assert rc.status == 200 and body_c == want

            assert not a_done_first and t_b < t_a, (
                "worker %s: GET /api/repos answered after %.0f ms, the "
                "sessions parse took %.0f ms and %s" % (
                    worker, t_b * 1000, t_a * 1000,
                    "was already answered" if a_done_first else "not yet"))
            assert t_b < scaled(0.5), "GET /api/repos took %.0f ms" % (
                t_b * 1000)
    finally:
        for cs in conns.values():
            for c in cs:
                c.close()

    # later requests: caught up, answered at once, on every worker
    expect_body(ngx, "/api/sessions?limit=20", want)
    expect_body(ngx, "/api/sessions?limit=50&repo=acme/r4",
                ref_body(data, repo="acme/r4"))


# ---------------------------------------------------------------------------
# without any sessions directive


def test_without_sessions_directive_aggregates_the_repos(fleet, nginx):
    api = fleet.repo("acme/api")
    web = fleet.repo("acme/web")
    ngx = start_nginx(nginx, repos=[("acme/api", api), ("acme/web", web)])
    wait_up(ngx, [api, web])

    everyone = api.view("/api/sessions")[1] + web.view("/api/sessions")[1]
    assert len(everyone) >= 6
    everyone.sort(key=lambda s: s["started_at"], reverse=True)
    want = [s["id"] for s in everyone]

    def check(r):
        assert r.status == 200, r
        assert "x-hydra-repos" in r.headers, r.headers
        assert {k.strip() for k in r.headers["x-hydra-repos"].split(",")} \
            == {"acme-api", "acme-web"}
        assert "x-hydra-sessions" not in r.headers
        assert ids(r) == want
    on_every_worker(ngx, "/api/sessions", check, per_worker=1)
    api.clear_requests()
    web.clear_requests()
    r = ngx.get("/api/sessions?limit=2")
    assert r.status == 200 and ids(r) == want[:2], r
    assert api.requests_for("/api/sessions") \
        and web.requests_for("/api/sessions")
