"""Passthrough: `?repo=X` under /api/ reaches repo X unchanged except for
the `repo` argument, which is removed (other arguments kept, in order);
method, body, headers and status travel both ways untouched."""

import json
import uuid
from types import SimpleNamespace

import pytest

from lib.hydra_nginx import wait_up


@pytest.fixture(scope="module")
def env(fleet_module, nginx_module):
    sup = fleet_module.supervisor()
    api = fleet_module.repo("acme/api", supervisor=sup)
    web = fleet_module.repo("acme/web", supervisor=sup)
    tools = fleet_module.repo("acme/tools", history=3000)
    sup.add(api)                         # owner/name slug
    sup.add(web, slug="web")             # directory-name slug
    ngx = nginx_module(supervisor=sup, repos=[("acme/tools", tools)])
    wait_up(ngx, [api, web, tools])
    return SimpleNamespace(ngx=ngx, sup=sup, api=api, web=web, tools=tools,
                           fakes=(api, web, tools))


def marker():
    return "m" + uuid.uuid4().hex[:12]


def hits(fake, mark):
    """The requests fake got that carry the marker."""
    return [r for r in list(fake.requests)
            if mark in r.query_string or mark in r.raw_path
            or r.header("x-test-marker") == mark]


def only_hit(env, fake, mark):
    """fake got exactly one request with the marker, nobody else any."""
    got = hits(fake, mark)
    assert len(got) == 1, "%s got %r" % (fake.repo, got)
    for other in env.fakes:
        if other is not fake:
            assert not hits(other, mark), "%s reached too" % other.repo
    return got[0]


# ---------------------------------------------------------------------------
# query string


@pytest.mark.parametrize("query, forwarded", [
    ("repo=acme/api", ""),
    ("repo=acme/api&limit=5", "limit=5"),
    ("limit=5&repo=acme/api", "limit=5"),
    ("limit=5&repo=acme/api&x=1", "limit=5&x=1"),
    ("b=2&repo=acme%2Fapi&a=1&b=3", "b=2&a=1&b=3"),
    ("y=a%20b&repo=acme-api&z=%2F%26&e=", "y=a%20b&z=%2F%26&e="),
    ("reponame=keep&repo=acme/api&my_repo=keep2",
     "reponame=keep&my_repo=keep2"),
])
def test_repo_argument_is_stripped(env, query, forwarded):
    mark = marker()
    r = env.ngx.get("/api/queue?%s" % query,
                    headers={"X-Test-Marker": mark})
    assert r.status == 200, r
    rec = only_hit(env, env.api, mark)
    assert rec.path == "/api/queue"
    assert rec.query_string == forwarded


def test_sessions_filter_is_not_fooled(env):
    """S0 filters /api/sessions exactly on ?repo=; the stripped argument
    means the repo's own sessions come back, not []."""
    want = env.api.view("/api/sessions")[1]
    assert want
    for slug in ("acme/api", "acme-api", "ACME-API"):
        r = env.ngx.get("/api/sessions?repo=" + slug)
        assert r.status == 200
        assert r.json() == want, slug


# ---------------------------------------------------------------------------
# methods, bodies, statuses, headers


def test_get_body_is_the_repos(env):
    for fake, slug in ((env.api, "acme/api"), (env.web, "web"),
                       (env.tools, "acme/tools")):
        r = env.ngx.get("/api/pipeline?repo=" + slug)
        assert r.status == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json() == fake.view("/api/pipeline")[1]
        issues = [i for s in r.json()["stages"].values() for i in s]
        assert all(("/%s/issues/" % fake.repo) in i["url"] for i in issues)


def test_post_conflict_comes_back_unchanged(env):
    mark = marker()
    r = env.ngx.post("/api/control/start?repo=acme/api",
                     headers={"X-Test-Marker": mark})
    assert r.status == 409
    assert r.json() == {"error": "already running"}
    assert r.headers["content-type"] == "application/json"
    rec = only_hit(env, env.api, mark)
    assert (rec.method, rec.path, rec.query_string) == \
        ("POST", "/api/control/start", "")


def test_patch_body_and_422(env):
    mark = marker()
    body = b'{"max_workers": 0, "model": "opus"}'
    r = env.ngx.patch("/api/control/config?repo=acme-api", body=body,
                      headers={"Content-Type": "application/json",
                               "X-Test-Marker": mark})
    assert r.status == 422
    assert r.json() == {"status": "error", "message":
                        "max_workers: Input should be greater than or "
                        "equal to 1"}
    rec = only_hit(env, env.api, mark)
    assert rec.method == "PATCH" and rec.body == body
    assert rec.header("content-type") == "application/json"
    assert rec.header("content-length") == str(len(body))

    r = env.ngx.patch("/api/control/config?repo=ACME/API",
                      body={"max_workers": 3})
    assert (r.status, r.json()) == (200, {"status": "ok",
                                          "updated": {"max_workers": 3}})
    cfg = env.api.view("/api/control/status")[1]["config"]
    assert cfg["max_workers"] == 3
    assert env.web.view("/api/control/status")[1]["config"][
        "max_workers"] == 2                      # the other one untouched


def test_delete_passthrough(env):
    sessions = env.web.view("/api/sessions")[1]
    oldest = sessions[-1]["id"]
    active = sessions[0]["id"]
    r = env.ngx.delete("/api/sessions/%s?repo=web" % active)
    assert (r.status, r.json()) == (400, {"error":
                                          "Cannot delete active session"})
    mark = marker()
    r = env.ngx.delete("/api/sessions/%s?repo=web&m=%s" % (oldest, mark))
    assert (r.status, r.json()) == (200, {"status": "ok"})
    rec = only_hit(env, env.web, mark)
    assert rec.method == "DELETE" and rec.path == "/api/sessions/" + oldest
    assert rec.query_string == "m=" + mark
    r = env.ngx.delete("/api/sessions/%s?repo=web" % oldest)
    assert (r.status, r.json()) == (404, {"error": "Session not found"})


def test_post_hitl_validation_and_action(env):
    hitl = env.web.view("/api/hitl")[1]
    n = hitl[0]["issue"]
    r = env.ngx.post("/api/hitl/%d/skip?repo=acme-web" % n,
                     body={"reason": ""})
    assert r.status == 422
    assert r.json()["detail"][0]["loc"] == ["body", "reason"]
    r = env.ngx.post("/api/hitl/%d/skip?repo=acme-web" % n,
                     body={"reason": "not ours"})
    assert (r.status, r.json()) == (200, {"status": "ok"})
    assert n not in [h["issue"] for h in env.web.view("/api/hitl")[1]]
    ev = env.web.history()[-1]
    assert ev["type"] == "hitl_update" and ev["data"]["reason"] == \
        "not ours"


def test_other_mutations(env):
    r = env.ngx.post("/api/intent?repo=acme/tools",
                     body={"text": "Port the CLI to Rust"})
    assert r.status == 200
    created = r.json()
    assert created["status"] == "created"
    assert created["url"].startswith("https://github.com/acme/tools/")
    plan = env.tools.view("/api/pipeline")[1]["stages"]["plan"]
    assert created["issue_number"] in [i["issue_number"] for i in plan]

    q = next(iter(env.tools.view("/api/human-input")[1]))
    r = env.ngx.post("/api/human-input/%s?repo=acme/tools" % q,
                     body={"answer": "yes"})
    assert (r.status, r.json()) == (200, {"status": "ok"})
    assert q not in env.tools.view("/api/human-input")[1]

    r = env.ngx.post("/api/request-changes?repo=acme/tools",
                     body={"issue_number": 1, "feedback": ""})
    assert r.status == 400
    assert r.json() == {"status": "error", "detail":
                        "issue_number and feedback are required"}

    r = env.ngx.post("/api/control/bg-worker?repo=acme/tools",
                     body={"name": "metrics", "enabled": False})
    assert r.json() == {"status": "ok", "name": "metrics",
                        "enabled": False}
    workers = env.tools.view("/api/system/workers")[1]["workers"]
    assert [w["enabled"] for w in workers if w["name"] == "metrics"] == \
        [False]


def test_request_headers_reach_the_repo(env):
    mark = marker()
    r = env.ngx.get("/api/stats?repo=acme/api",
                    headers={"X-Test-Marker": mark,
                             "X-Custom": "abc def",
                             "Accept": "application/json",
                             "Cookie": "session=xyz",
                             "User-Agent": "hydra-tests/1"})
    assert r.status == 200
    rec = only_hit(env, env.api, mark)
    assert rec.header("x-custom") == "abc def"
    assert rec.header("accept") == "application/json"
    assert rec.header("cookie") == "session=xyz"
    assert rec.header("user-agent") == "hydra-tests/1"
    assert r.json()["issues_completed"] == \
        env.api.view("/api/stats")[1]["issues_completed"]


def test_response_headers_come_back(env):
    env.web.extra_headers.update({"X-Fake-Repo": "acme/web",
                                  "Cache-Control": "no-store"})
    try:
        r = env.ngx.get("/api/hitl?repo=web")
    finally:
        env.web.extra_headers.clear()
    assert r.status == 200
    assert r.headers.get("x-fake-repo") == "acme/web"
    assert r.headers.get("cache-control") == "no-store"
    assert r.json() == env.web.view("/api/hitl")[1]


def test_large_request_body(env):
    text = "x" * 300000                    # beyond client_body_buffer_size
    r = env.ngx.post("/api/intent?repo=acme/api", body={"text": text})
    assert r.status == 200, r
    assert r.json()["title"] == text[:120]
    rec = [q for q in env.api.requests if q.path == "/api/intent"][-1]
    assert json.loads(rec.body) == {"text": text}


def test_large_response_body(env):
    want = env.tools.view("/api/events")[1]
    assert len(want) >= 3000
    r = env.ngx.get("/api/events?repo=acme/tools")
    assert r.status == 200
    assert len(r.body) > 500000            # beyond the proxy buffers
    assert r.json() == want


# ---------------------------------------------------------------------------
# slug forms


@pytest.mark.parametrize("slug, fake", [
    ("acme/api", "api"),
    ("acme-api", "api"),
    ("ACME/API", "api"),
    ("Acme-Api", "api"),
    ("acme%2Fapi", "api"),
    ("acme%2fAPI", "api"),
    ("web", "web"),                        # the supervisor's slug
    ("WEB", "web"),
    ("acme/web", "web"),                   # learned from config.repo
    ("acme-web", "web"),
    ("acme/tools", "tools"),               # static
    ("acme-tools", "tools"),
])
def test_slug_forms(env, slug, fake):
    fake = getattr(env, fake)
    mark = marker()
    r = env.ngx.get("/api/control/status?repo=%s&m=%s" % (slug, mark))
    assert r.status == 200, r
    assert r.json()["config"]["repo"] == fake.repo
    rec = only_hit(env, fake, mark)
    assert rec.query_string == "m=" + mark


# ---------------------------------------------------------------------------
# keepalive


def test_client_keepalive(env):
    conn = env.ngx.connection()
    try:
        r1 = env.ngx.get("/api/control/status?repo=acme/api", conn=conn)
        sock = conn.sock
        assert sock is not None, "nginx closed the client connection"
        r2 = env.ngx.post("/api/control/start?repo=web", conn=conn)
        assert conn.sock is sock
        r3 = env.ngx.get("/api/pipeline?repo=nope", conn=conn)
        assert conn.sock is sock
        r4 = env.ngx.get("/api/prs?repo=acme-tools", conn=conn)
        assert conn.sock is sock
    finally:
        conn.close()
    assert r1.status == 200 and r1.json()["config"]["repo"] == "acme/api"
    assert (r2.status, r2.json()) == (409, {"error": "already running"})
    assert r3.status == 404 and "error" in r3.json()
    assert r4.status == 200 and r4.json() == env.tools.view("/api/prs")[1]
    for r in (r1, r2, r3, r4):
        assert r.headers.get("connection", "").lower() != "close"


def test_upstream_keepalive(env):
    """`keepalive 16` in the upstream block: sequential passthroughs from
    one worker reuse one connection to the repo."""
    conn = env.ngx.connection()
    marks = [marker() for _ in range(3)]
    try:
        for m in marks:
            r = env.ngx.get("/api/queue?repo=acme/tools",
                            headers={"X-Test-Marker": m}, conn=conn)
            assert r.status == 200
    finally:
        conn.close()
    peers = [only_hit(env, env.tools, m).peer for m in marks]
    assert len(set(peers)) == 1, "a new upstream connection each time: %r" \
        % peers


# ---------------------------------------------------------------------------
# a repo that does not answer


def test_unreachable_repo_is_a_json_502(fleet, nginx):
    """nginx's own 502 (the repo refused the connection) reaches the
    client as JSON naming the repo, on a connection that stays open; the
    repo's own 502 comes back untouched."""
    api = fleet.repo("acme/api")
    web = fleet.repo("acme/web")
    ngx = nginx(repos=[("acme/api", api), ("acme/web", web)])
    wait_up(ngx, [api, web])
    api.set_mode("down")

    conn = ngx.connection()
    try:
        r1 = ngx.get("/api/pipeline?repo=acme/api", conn=conn)
        sock = conn.sock
        r2 = ngx.post("/api/control/start?repo=acme-api", conn=conn)
        r3 = ngx.request("HEAD", "/api/pipeline?repo=acme/api", conn=conn)
        r4 = ngx.get("/api/pipeline?repo=acme/web", conn=conn)
        assert conn.sock is sock, "nginx closed the client connection"
    finally:
        conn.close()

    for r in (r1, r2):
        assert r.status == 502
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {"error": "repo acme-api did not answer "
                                     "(HTTP 502)", "repo": "acme-api"}
    assert r3.status == 502 and r3.body == b""
    assert r4.status == 200 and r4.json() == web.view("/api/pipeline")[1]

    web.set_mode("error5xx", status=502)
    r = ngx.get("/api/pipeline?repo=acme/web")
    assert r.status == 502
    assert "did not answer" not in r.body.decode(errors="replace")
    ngx.allow_log("connect() failed")
