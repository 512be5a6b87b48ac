"""Hostile `repo` values: never a 5xx, always a JSON 4xx, never a request
to any repo (nor to a bystander process whose address is named in the
slug), and a clean error.log."""

import uuid
from types import SimpleNamespace

import pytest

from lib.hydra_nginx import wait_up


@pytest.fixture(scope="module")
def env(fleet_module, nginx_module):
    sup = fleet_module.supervisor()
    api = fleet_module.repo("acme/api")
    web = fleet_module.repo("acme/web", supervisor=sup)
    bystander = fleet_module.repo("evil/bystander")    # not registered
    sup.add(web, slug="web")
    ngx = nginx_module(supervisor=sup, repos=[("acme/api", api)],
                       # let 10 kB slugs reach the module
                       server_extra="large_client_header_buffers 4 32k;")
    wait_up(ngx, [api, web])
    return SimpleNamespace(ngx=ngx, api=api, web=web, bystander=bystander,
                           fakes=(api, web, bystander))


HOSTILE = [
    "../",
    "..%2F..%2Fetc",
    "..%2f..%2f..%2fetc%2fpasswd",
    "acme/api/../web",
    "acme%2Fapi%2F..%2F..%2Fweb",
    "%00",
    "acme/api%00",
    "acme%2Fapi%00.evil",
    "web%00",
    "a" * 10240,
    "acme/" + "b" * 10240,
    "127.0.0.1:22",
    "127.0.0.1%3A22",
    "BYSTANDER",                       # replaced by the bystander's address
    "http://BYSTANDER/",
    "acme/api@evil",
    "acme/api@BYSTANDER",
    "%0d%0aX:%20y",
    "acme/api%0d%0aX-Injected:%20y",
    "acme/api%0aHost:%20evil",
    "acme%252Fapi",                    # double-encoded
    "%ff%fe",
    "%D0%B0cme/api",                   # Cyrillic a
    "acme\\api",
    "acme%5Capi",
    "acme/api%20",
    "%20acme/api",
    "acme/api;rm",
    "$hydra_upstream",
    "acme/%2e%2e",
    "acme%00/api",
]


# Not HydraFlow forms, but their fold (lower case, runs of other characters
# as one "-", like HydraFlow's repos.json slugs) is "acme-api": refusing
# them or serving acme/api are both fine; anything else is not.
LENIENT = [
    "acme//api",
    "/acme/api",
    "acme/api/",
    "acme.api",
    "ACME--API",
]


def expand(env, slug):
    return slug.replace("BYSTANDER", env.bystander.address)


def ids(slug):
    return slug if len(slug) < 40 else slug[:20] + "...(%d)" % len(slug)


def marker():
    return "m" + uuid.uuid4().hex[:12]


def check(env, method, path, mark, body=None):
    r = env.ngx.request(method, path, body=body,
                        headers={"X-Test-Marker": mark})
    problems = []
    if not 400 <= r.status < 500:
        problems.append("status %d" % r.status)
    if not r.is_json():
        problems.append("not JSON: %r" % r.body[:200])
    elif not isinstance(r.json(), dict) or "error" not in r.json():
        problems.append("no error field: %r" % r.body[:200])
    for f in env.fakes:
        reached = [q for q in list(f.requests)
                   if mark in q.query_string or mark in q.raw_path
                   or q.header("x-test-marker") == mark]
        if reached:
            problems.append("reached %s: %r" % (f.repo, reached))
    if "x-injected" in r.headers or "x" in r.headers:
        problems.append("header injected into the response")
    return r, problems


@pytest.mark.parametrize("slug", HOSTILE, ids=ids)
def test_hostile_slug_get(env, slug):
    mark = marker()
    path = "/api/control/status?repo=%s&m=%s" % (expand(env, slug), mark)
    r, problems = check(env, "GET", path, mark)
    assert not problems, (r, problems)


@pytest.mark.parametrize("slug", HOSTILE, ids=ids)
def test_hostile_slug_post(env, slug):
    mark = marker()
    path = "/api/control/stop?m=%s&repo=%s" % (mark, expand(env, slug))
    try:
        r, problems = check(env, "POST", path, mark, body={"x": 1})
    finally:
        restart_if_stopped(env)
    assert not problems, (r, problems)


def restart_if_stopped(env):
    """A hostile POST that got through stopped acme/api: undo it, so the
    next tests start from the same state."""
    def run():
        if env.api.state.run_status != "running":
            env.api.state.start()
    env.api.call(run)


@pytest.mark.parametrize("slug", LENIENT)
def test_lenient_slug_reaches_only_its_repo(env, slug):
    mark = marker()
    path = "/api/control/status?repo=%s&m=%s" % (slug, mark)
    r = env.ngx.get(path, headers={"X-Test-Marker": mark})
    reached = [(f.repo, q) for f in env.fakes for q in list(f.requests)
               if mark in q.query_string]
    if r.status == 200:
        assert r.json()["config"]["repo"] == "acme/api"
        assert [(name, q.query_string) for name, q in reached] == \
            [("acme/api", "m=" + mark)]
    else:
        assert 400 <= r.status < 500 and r.is_json(), r
        assert reached == []


def test_bystander_never_contacted_and_log_clean(env):
    assert env.bystander.requests == []
    env.ngx.assert_log_clean()
    # and nginx still serves
    r = env.ngx.get("/api/control/status?repo=acme/api")
    assert r.status == 200 and r.json()["config"]["repo"] == "acme/api"


def test_repo_given_twice(env):
    """Two repo arguments: refused, or the request goes to exactly one
    of the named repos with no repo argument left."""
    mark = marker()
    r = env.ngx.get("/api/queue?repo=acme/api&repo=web&m=" + mark)
    assert r.status < 500, r
    reached = [(f.repo, q) for f in env.fakes for q in list(f.requests)
               if mark in q.query_string]
    if r.status >= 400:
        assert r.is_json() and reached == []
    else:
        assert len(reached) == 1
        assert reached[0][0] in ("acme/api", "acme/web")
        assert "repo=" not in reached[0][1].query_string


def test_hostile_paths(env):
    for path in ("/api/../etc/passwd?repo=acme/api",
                 "/api/%2e%2e/%2e%2e/etc/passwd?repo=acme/api",
                 "/api/control/status%00?repo=acme/api",
                 "/api/control/status?repo=acme/api#frag"):
        r = env.ngx.get(path)
        assert r.status < 500, (path, r)
    assert env.bystander.requests == []
    env.ngx.assert_log_clean()
