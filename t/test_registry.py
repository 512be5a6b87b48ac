"""GET /api/repos: where the registry comes from (supervisor, static lines,
both), what each entry says, and how supervisor failures are survived."""

import datetime
import time

from lib.hydra_nginx import (find_entries, find_entry, repos_doc, wait_for,
                             wait_entry, wait_up)


SUPERVISOR_FIELDS = ("slug", "path", "port", "dashboard_url", "log_file",
                     "running")
ENTRY_FIELDS = set(SUPERVISOR_FIELDS) | {
    "key", "repo", "source", "address", "status", "last_ok", "last_error",
    "latency_ms", "events"}


def parse_iso(s):
    assert isinstance(s, str), s
    dt = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    assert dt.tzinfo is not None, "last_ok has no timezone: %r" % s
    return dt


def assert_recent(s, seconds=60):
    dt = parse_iso(s)
    age = (datetime.datetime.now(datetime.timezone.utc) - dt
           ).total_seconds()
    assert -5 < age < seconds, "timestamp %s is %.1fs old" % (s, age)


def assert_up_entry(e, fake):
    assert set(e) >= ENTRY_FIELDS, "missing %s" % (ENTRY_FIELDS - set(e))
    assert e["address"] == fake.address
    assert e["status"] == "up"
    assert e["last_error"] is None
    assert_recent(e["last_ok"])
    assert isinstance(e["latency_ms"], (int, float)) \
        and not isinstance(e["latency_ms"], bool)
    assert 0 <= e["latency_ms"] < 1000
    assert isinstance(e["events"], bool)
    assert e["repo"] == fake.repo                # learned by the probe
    assert e["key"] == fake.repo.replace("/", "-")


def test_registry_from_supervisor_only(fleet, nginx):
    sup = fleet.supervisor()
    api = fleet.repo("acme/api", supervisor=sup)
    web = fleet.repo("acme/web", supervisor=sup)
    tools = fleet.repo("acme/tools", supervisor=sup)
    sup.add(api)                                   # slug acme/api
    sup.add(web, slug="web")                       # directory-name slugs
    sup.add(tools, slug="tools", path="/srv/checkouts/tools")
    ngx = nginx(supervisor=sup)
    doc = wait_up(ngx, [api, web, tools])

    assert len(doc["repos"]) == 3
    listed = {r["slug"]: r for r in sup.list_repos()}
    for fake, slug in ((api, "acme/api"), (web, "web"), (tools, "tools")):
        e = find_entry(doc, slug=slug)
        assert e is not None, (slug, doc)
        for field in SUPERVISOR_FIELDS:          # HydraFlow's own fields
            assert e[field] == listed[slug][field], (field, e)
        assert e["source"] == "supervisor"
        assert_up_entry(e, fake)
    assert find_entry(doc, slug="tools")["path"] == "/srv/checkouts/tools"

    s = doc["supervisor"]
    assert set(s) >= {"address", "status", "last_ok", "last_error",
                      "repos"}
    assert s["address"] == sup.address
    assert s["status"] == "up" and s["last_error"] is None
    assert_recent(s["last_ok"])
    assert s["repos"] == 3
    # it spoke the supervisor's protocol: one list_repos per connection
    assert sup.requests_for("list_repos")
    assert all(r.json is not None and r.raw.endswith(b"\n")
               for r in sup.requests)


def test_registry_from_static_lines_only(fleet, nginx):
    api = fleet.repo("acme/api")
    web = fleet.repo("acme/web")
    ngx = nginx(repos=[("acme/api", api), ("acme/web", web)])
    doc = wait_up(ngx, [api, web])
    assert doc["supervisor"] is None
    assert len(doc["repos"]) == 2
    for fake in (api, web):
        e = find_entry(doc, address=fake.address)
        assert e["source"] == "static"
        assert e["slug"] == fake.repo
        assert e["port"] == fake.port
        assert e["running"] is True
        assert_up_entry(e, fake)


def test_static_wins_over_supervisor_for_the_same_repo(fleet, nginx):
    sup = fleet.supervisor()
    api_sup = fleet.repo("acme/api", supervisor=sup)     # the one to lose
    api_static = fleet.repo("acme/api")
    web = fleet.repo("acme/web", supervisor=sup)
    sup.add(api_sup)
    sup.add(web)
    ngx = nginx(supervisor=sup, repos=[("acme/api", api_static)])
    wait_up(ngx, [api_static, web])
    doc = wait_for(lambda: (lambda d: d if d["supervisor"]["status"] == "up"
                            else None)(repos_doc(ngx)), 5)

    api_entries = find_entries(doc, repo="acme/api")
    assert len(api_entries) == 1, api_entries
    e = api_entries[0]
    assert (e["source"], e["address"]) == ("static", api_static.address)
    assert find_entry(doc, address=api_sup.address) is None
    assert find_entry(doc, repo="acme/web")["source"] == "supervisor"
    assert len(doc["repos"]) == 2

    r = ngx.get("/api/control/status?repo=acme/api&t=static-wins")
    assert r.status == 200
    assert [q for q in api_static.requests
            if "t=static-wins" in q.query_string]
    assert not [q for q in api_sup.requests
                if "t=static-wins" in q.query_string]


def test_not_running_entries_are_listed_but_never_contacted(fleet, nginx):
    sup = fleet.supervisor()
    live = fleet.repo("acme/live", supervisor=sup)
    idle = fleet.repo("acme/idle", supervisor=sup)  # alive, but running:false
    sup.add(live)
    sup.add(idle, running=False)
    sup.add(None, slug="acme/new", path="/home/dev/src/new", port=0,
            running=False, log_file="")             # register_repo style
    ngx = nginx(supervisor=sup)
    wait_up(ngx, [live])
    doc = wait_for(lambda: (lambda d: d if len(d["repos"]) == 3 else None)(
        repos_doc(ngx)), 5)

    e = find_entry(doc, slug="acme/idle")
    assert e["running"] is False and e["port"] == idle.port
    assert e["status"] == "down"
    assert e["last_error"] == "not running"
    assert e["last_ok"] is None and e["source"] == "supervisor"
    n = find_entry(doc, slug="acme/new")
    assert (n["port"], n["running"], n["status"], n["last_error"]) == \
        (0, False, "down", "not running")
    assert n["dashboard_url"] == "http://localhost:0"

    # two more probe rounds: still nobody knocks on the idle one
    before = len(live.requests_for("/api/control/status"))
    wait_for(lambda: len(live.requests_for("/api/control/status"))
             >= before + 2, 5, message="live repo not probed again")
    assert idle.requests == []
    for method in ("GET", "POST"):
        r = ngx.request(method, "/api/control/status?repo=acme/idle"
                        if method == "GET" else
                        "/api/control/start?repo=acme/idle")
        assert r.status == 503, r
        assert r.is_json() and "error" in r.json(), r
    assert idle.requests == []


def test_registry_follows_supervisor_changes(fleet, nginx):
    sup = fleet.supervisor()
    api = fleet.repo("acme/api", supervisor=sup)
    web = fleet.repo("acme/web", supervisor=sup)
    sup.add(api)
    ngx = nginx(supervisor=sup)
    wait_up(ngx, [api])
    sup.add(web)
    wait_up(ngx, [api, web], timeout=4)
    sup.remove("acme/api")
    wait_for(lambda: find_entry(repos_doc(ngx), slug="acme/api") is None,
             4, message="removed repo still listed")
    r = ngx.get("/api/control/status?repo=acme/api")
    assert r.status == 404 and "error" in r.json()
    assert wait_entry(ngx, slug="acme/web")["status"] == "up"
    assert repos_doc(ngx)["supervisor"]["repos"] == 1


def _supervisor_failure(fleet, nginx, mode, error_part):
    sup = fleet.supervisor(slow_delay=3.0)
    api = fleet.repo("acme/api", supervisor=sup)
    web = fleet.repo("acme/web", supervisor=sup)
    sup.add(api)
    sup.add(web, slug="web")
    ngx = nginx(supervisor=sup)
    good = wait_up(ngx, [api, web])
    good_ok = good["supervisor"]["last_ok"]

    sup.set_mode(mode)

    def supervisor_down():
        d = repos_doc(ngx)
        return d if d["supervisor"]["status"] == "down" else None
    doc = wait_for(supervisor_down, 5,
                   message="supervisor not reported down (%s)" % mode)
    s = doc["supervisor"]
    assert isinstance(s["last_error"], str) and error_part in s["last_error"]
    assert s["last_ok"] is not None and s["last_ok"] >= good_ok
    # the last good registry is kept, and keeps working
    assert sorted(e["slug"] for e in doc["repos"]) == ["acme/api", "web"]
    for fake in (api, web):
        assert find_entry(doc, address=fake.address)["status"] == "up"
    r = ngx.get("/api/control/status?repo=web")
    assert r.status == 200 and r.json()["config"]["repo"] == "acme/web"

    sup.set_mode("ok")

    def supervisor_up():
        d = repos_doc(ngx)
        return d if d["supervisor"]["status"] == "up" else None
    doc = wait_for(supervisor_up, 6, message="supervisor not back up")
    assert doc["supervisor"]["last_error"] is None
    assert len(doc["repos"]) == 2


def test_supervisor_down_keeps_last_registry(fleet, nginx):
    _supervisor_failure(fleet, nginx, "down", "connect")


def test_supervisor_garbage_keeps_last_registry(fleet, nginx):
    _supervisor_failure(fleet, nginx, "garbage", "bad")


def test_supervisor_timeout_keeps_last_registry(fleet, nginx):
    _supervisor_failure(fleet, nginx, "slow", "timeout")


def test_supervisor_down_at_start_then_up(fleet, nginx):
    sup = fleet.supervisor()
    static = fleet.repo("acme/static")
    web = fleet.repo("acme/web", supervisor=sup)
    sup.add(web)
    sup.set_mode("down")
    ngx = nginx(supervisor=sup, repos=[("acme/static", static)])
    doc = wait_up(ngx, [static])
    doc = wait_for(lambda: (lambda d: d if d["supervisor"]["status"]
                            == "down" else None)(repos_doc(ngx)), 4)
    assert doc["supervisor"]["last_ok"] is None
    assert "connect" in doc["supervisor"]["last_error"]
    assert [e["slug"] for e in doc["repos"]] == ["acme/static"]
    r = ngx.get("/api/control/status?repo=acme/web")
    assert r.status == 404
    sup.set_mode("ok")
    wait_up(ngx, [static, web], timeout=5)
    r = ngx.get("/api/control/status?repo=acme/web")
    assert r.status == 200 and r.json()["config"]["repo"] == "acme/web"


def test_supervisor_restart_forgets_running(fleet, nginx):
    """After a supervisor restart every entry says running:false (the
    contract's gotcha): the module must stop sending anything there."""
    sup = fleet.supervisor()
    api = fleet.repo("acme/api", supervisor=sup)
    sup.add(api)
    ngx = nginx(supervisor=sup)
    wait_up(ngx, [api])
    fleet.run(sup.restart(forget_running=True))

    def not_running():
        e = find_entry(repos_doc(ngx), slug="acme/api")
        assert e and e["running"] is False and e["status"] == "down" \
            and e["last_error"] == "not running", e
        return e
    # next list_repos (1s), plus a probe interval for one already running
    wait_for(not_running, 3.5, message="running:false not picked up")
    time.sleep(0.3)                  # a probe already in flight may land
    api.clear_requests()
    r = ngx.get("/api/pipeline?repo=acme/api")
    assert r.status == 503 and "error" in r.json()
    time.sleep(2.2)                  # two probe intervals
    assert api.requests == []


def test_static_shadows_a_directory_named_supervisor_entry(fleet, nginx):
    """The supervisor calls it "api"; its probe says acme/api; a static
    acme/api line exists: one entry, the static one."""
    sup = fleet.supervisor()
    api_sup = fleet.repo("acme/api", supervisor=sup)
    api_static = fleet.repo("acme/api")
    sup.add(api_sup, slug="api")
    ngx = nginx(supervisor=sup, repos=[("acme/api", api_static)])

    def single():
        d = repos_doc(ngx)
        found = find_entries(d, repo="acme/api")
        # until the probe tells "api" is acme/api, both may be listed
        assert d["supervisor"]["status"] == "up" and len(found) == 1 \
            and len(d["repos"]) == 1 and found[0]["status"] == "up", [
                {k: e.get(k) for k in ("slug", "repo", "source", "address",
                                       "status")} for e in d["repos"]]
        return found[0]
    e = wait_for(single, 5, message="acme/api not listed exactly once")
    assert (e["source"], e["address"]) == ("static", api_static.address)
    for slug in ("acme/api", "api", "acme-api"):
        r = ngx.get("/api/pipeline?repo=%s&t=shadow" % slug)
        assert r.status == 200, (slug, r)
    assert not [q for q in api_sup.requests if "t=shadow" in q.query_string]
    assert len([q for q in api_static.requests
                if "t=shadow" in q.query_string]) == 3
