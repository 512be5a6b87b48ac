"""Scoping errors: an unknown repo is a 404, a mutation needs one specific
repo (400), a registered repo that is not running is a 503.  All are JSON
with an `error`, and none reaches a repo."""

import uuid
from types import SimpleNamespace

import pytest

from lib.hydra_nginx import wait_entry, wait_up


@pytest.fixture(scope="module")
def env(fleet_module, nginx_module):
    sup = fleet_module.supervisor()
    api = fleet_module.repo("acme/api", supervisor=sup)
    idle = fleet_module.repo("acme/idle", supervisor=sup)
    web = fleet_module.repo("acme/web")
    sup.add(api)
    sup.add(idle, running=False)
    sup.add(None, slug="fresh", path="/home/dev/src/fresh", port=0,
            running=False, log_file="")
    ngx = nginx_module(supervisor=sup, repos=[("acme/web", web)])
    wait_up(ngx, [api, web])
    wait_entry(ngx, slug="fresh")
    return SimpleNamespace(ngx=ngx, api=api, idle=idle, web=web,
                           fakes=(api, idle, web))


def send(env, method, path, body=None):
    """Send with a marker; return (response, requests that reached a
    fake with the marker)."""
    mark = "m" + uuid.uuid4().hex[:12]
    sep = "&" if "?" in path else "?"
    r = env.ngx.request(method, path + sep + "m=" + mark, body=body,
                        headers={"X-Test-Marker": mark})
    reached = [(f.repo, q) for f in env.fakes for q in list(f.requests)
               if mark in q.query_string
               or q.header("x-test-marker") == mark]
    return r, reached


def assert_json_error(r, status):
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith(
        "application/json"), r
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), r
    assert body["error"]
    return body


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/pipeline?repo=acme/nope"),
    ("GET", "/api/control/status?repo=nope"),
    ("GET", "/api/sessions?repo=acme-apix"),
    ("POST", "/api/control/start?repo=acme/nope"),
    ("PATCH", "/api/control/config?repo=nope"),
    ("DELETE", "/api/sessions/x?repo=nope"),
])
def test_unknown_repo_is_404(env, method, path):
    r, reached = send(env, method, path,
                      body={"x": 1} if method == "PATCH" else None)
    assert_json_error(r, 404)
    assert reached == []


MUTATIONS = [
    ("POST", "/api/control/start", None),
    ("POST", "/api/control/stop", None),
    ("PATCH", "/api/control/config", {"max_workers": 3}),
    ("POST", "/api/control/bg-worker", {"name": "metrics",
                                        "enabled": False}),
    ("POST", "/api/hitl/12/skip", {"reason": "x"}),
    ("POST", "/api/human-input/12", {"answer": "yes"}),
    ("POST", "/api/request-changes", {"issue_number": 1, "feedback": "x",
                                      "stage": "plan"}),
    ("POST", "/api/intent", {"text": "x"}),
    ("DELETE", "/api/sessions/acme-api-20260101T000000", None),
]


@pytest.mark.parametrize("scope", ["", "repo=__all__"])
@pytest.mark.parametrize("method, path, body", MUTATIONS)
def test_mutation_needs_a_specific_repo(env, method, path, body, scope):
    r, reached = send(env, method, path + ("?" + scope if scope else ""),
                      body)
    err = assert_json_error(r, 400)
    assert "requires a specific repo" in err["error"], err
    assert reached == []


def test_mutation_with_empty_repo_is_refused(env):
    r, reached = send(env, "POST", "/api/control/stop?repo=")
    assert 400 <= r.status < 500, r
    assert r.is_json() and "error" in r.json()
    assert reached == []
    assert env.api.view("/api/control/status")[1]["status"] == "running"


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/control/status?repo=acme/idle"),
    ("GET", "/api/pipeline?repo=acme-idle"),
    ("POST", "/api/control/start?repo=acme/idle"),
    ("GET", "/api/pipeline?repo=fresh"),
    ("DELETE", "/api/sessions/x?repo=fresh"),
])
def test_not_running_repo_is_503(env, method, path):
    r, reached = send(env, method, path)
    assert_json_error(r, 503)
    assert reached == []
    assert env.idle.requests == []


def test_ambiguous_name_reaches_nobody(fleet, nginx):
    """A slug that could name two repos (their bare name) must not pick
    one of them silently."""
    a = fleet.repo("acme/api")
    b = fleet.repo("other/api")
    ngx = nginx(repos=[("acme/api", a), ("other/api", b)])
    wait_up(ngx, [a, b])
    for method, path in (("GET", "/api/queue?repo=api"),
                         ("POST", "/api/control/stop?repo=API")):
        r = ngx.request(method, path)
        assert 400 <= r.status < 500, r
        assert r.is_json() and "error" in r.json()
    # only the module's own probes and event feeds
    assert [q for q in a.requests + b.requests
            if q.path not in ("/api/control/status", "/ws")] == []
    r = ngx.get("/api/pipeline?repo=other-api")
    assert r.status == 200 and r.json() == b.view("/api/pipeline")[1]


def test_errors_keep_the_connection_usable(env):
    conn = env.ngx.connection()
    try:
        r1 = env.ngx.post("/api/control/start", conn=conn)
        r2 = env.ngx.get("/api/pipeline?repo=nope", conn=conn)
        r3 = env.ngx.get("/api/pipeline?repo=acme/idle", conn=conn)
        r4 = env.ngx.get("/api/control/status?repo=acme/web", conn=conn)
    finally:
        conn.close()
    assert [r1.status, r2.status, r3.status, r4.status] == \
        [400, 404, 503, 200]
    assert r4.json()["config"]["repo"] == "acme/web"


def test_default_repo(fleet, nginx):
    """hydra_default_repo: no `repo` means that repo, for reads and
    mutations alike; `__all__` still aggregates."""
    api = fleet.repo("acme/api")
    web = fleet.repo("acme/web")
    ngx = nginx(repos=[("acme/api", api), ("acme/web", web)],
                http_extra="hydra_default_repo acme-web;")
    wait_up(ngx, [api, web])
    env = SimpleNamespace(ngx=ngx, fakes=(api, web))

    r, reached = send(env, "GET", "/api/pipeline")
    assert r.status == 200, r
    urls = [i["url"] for stage in r.json()["stages"].values() for i in stage]
    assert urls and all("/acme/web/" in u for u in urls), urls
    assert [repo for repo, _ in reached] == ["acme/web"]

    r, reached = send(env, "POST", "/api/control/stop")
    assert r.status in (200, 400), r
    assert [(repo, q.method) for repo, q in reached] == [("acme/web",
                                                         "POST")]

    r, reached = send(env, "GET", "/api/pipeline?repo=__all__")
    assert r.status == 200, r
    assert sorted(repo for repo, _ in reached) == ["acme/api", "acme/web"]
    assert r.headers.get("x-hydra-repos") == "acme-api, acme-web"
