"""Health probes: a repo dying, failing, hanging, answering garbage, coming
back, or restarting on a new port shows in /api/repos within about one
probe interval (hydra_probe interval=1s timeout=1s here)."""

import time

from lib.hydra_nginx import (find_entry, repos_doc, scaled, wait_for,
                             wait_up)


INTERVAL = 1.0
TIMEOUT = 1.0
SLACK = 1.0


def wait_status(ngx, fake, status, timeout, error_part=None):
    """Poll until fake's entry has status (and last_error containing
    error_part); return (entry, seconds it took)."""
    t0 = time.monotonic()

    def check():
        e = find_entry(repos_doc(ngx), address=fake.address)
        if e is None or e["status"] != status:
            return None
        if error_part is not None and (
                not isinstance(e["last_error"], str)
                or error_part not in e["last_error"]):
            return None
        return e
    e = wait_for(check, timeout, interval=0.05,
                 message="%s not %s (last_error ~ %r)"
                 % (fake.repo, status, error_part))
    return e, time.monotonic() - t0


def test_repo_dies_and_comes_back(fleet, nginx):
    api = fleet.repo("acme/api")
    web = fleet.repo("acme/web")
    ngx = nginx(repos=[("acme/api", api), ("acme/web", web)])
    doc = wait_up(ngx, [api, web])
    first_ok = find_entry(doc, address=api.address)["last_ok"]

    api.set_mode("down")
    e, took = wait_status(ngx, api, "down", INTERVAL + SLACK, "connect")
    assert e["last_ok"] is not None and e["last_ok"] >= first_ok
    assert e["repo"] == "acme/api"              # still known by name
    # the other repo is not affected
    assert find_entry(repos_doc(ngx), address=web.address)["status"] == "up"

    api.set_mode("ok")
    e, took = wait_status(ngx, api, "up", INTERVAL + SLACK)
    assert e["last_error"] is None
    assert e["last_ok"] > first_ok
    r = ngx.get("/api/control/status?repo=acme/api")
    assert r.status == 200 and r.json()["config"]["repo"] == "acme/api"


def test_repo_answering_503_is_down(fleet, nginx):
    api = fleet.repo("acme/api")
    ngx = nginx(repos=[("acme/api", api)])
    wait_up(ngx, [api])
    api.set_mode("error5xx")
    e, _ = wait_status(ngx, api, "down", INTERVAL + SLACK)
    assert e["last_error"] == "http 503"
    api.set_mode("ok")
    wait_status(ngx, api, "up", INTERVAL + SLACK)


def test_repo_answering_garbage_is_down(fleet, nginx):
    api = fleet.repo("acme/api")
    ngx = nginx(repos=[("acme/api", api)])
    wait_up(ngx, [api])
    api.set_mode("garbage")
    e, _ = wait_status(ngx, api, "down", INTERVAL + SLACK)
    assert e["last_error"] in ("bad response", "bad json"), e
    api.set_mode("ok")
    wait_status(ngx, api, "up", INTERVAL + SLACK)


def test_hanging_repo_times_out(fleet, nginx):
    api = fleet.repo("acme/api", slow_delay=5.0)
    ngx = nginx(repos=[("acme/api", api)])
    wait_up(ngx, [api])
    api.set_mode("slow")
    e, _ = wait_status(ngx, api, "down", INTERVAL + TIMEOUT + SLACK,
                       "timeout")
    # /api/repos itself never waits for a hanging repo
    t0 = time.monotonic()
    repos_doc(ngx)
    assert time.monotonic() - t0 < scaled(0.5)
    api.set_mode("ok")
    wait_status(ngx, api, "up", INTERVAL + TIMEOUT + SLACK)


def test_latency_is_measured(fleet, nginx):
    api = fleet.repo("acme/api", slow_delay=0.4)
    ngx = nginx(repos=[("acme/api", api)])
    e = find_entry(wait_up(ngx, [api]), address=api.address)
    assert e["latency_ms"] < 300
    api.set_mode("slow")                         # slower, under timeout

    def slow_seen():
        e = find_entry(repos_doc(ngx), address=api.address)
        return e if e["latency_ms"] is not None and \
            e["latency_ms"] >= 400 else None
    e = wait_for(slow_seen, INTERVAL * 2 + 0.4 + SLACK,
                 message="latency_ms does not show a 400 ms answer")
    assert e["status"] == "up" and e["latency_ms"] < 1000


def test_probes_are_paced(fleet, nginx):
    """About one probe per interval, whatever the number of workers."""
    api = fleet.repo("acme/api")
    ngx = nginx(repos=[("acme/api", api)])
    wait_up(ngx, [api])
    api.clear_requests()
    time.sleep(3.2)
    probes = [r for r in api.requests
              if r.method == "GET" and r.path != "/ws"]  # not the feed
    assert 2 <= len(probes) <= 6, probes
    assert {r.path for r in probes} == {"/api/control/status"}


def test_restart_on_new_port_through_supervisor(fleet, nginx):
    sup = fleet.supervisor()
    api = fleet.repo("acme/api", supervisor=sup)
    web = fleet.repo("acme/web", supervisor=sup)
    sup.add(api, slug="api")
    sup.add(web)
    ngx = nginx(supervisor=sup)
    wait_up(ngx, [api, web])
    old_port = api.port

    new_port = fleet.restart(api)                # HydraFlow restarted
    assert new_port != old_port

    def moved():
        e = find_entry(repos_doc(ngx), slug="api")
        if e and e["port"] == new_port and e["status"] == "up":
            return e
        return None
    # next supervisor poll (1s) plus the next probe (1s)
    e = wait_for(moved, 2 * INTERVAL + TIMEOUT + SLACK,
                 message="new port not picked up")
    assert e["address"] == "127.0.0.1:%d" % new_port
    assert e["dashboard_url"] == "http://localhost:%d" % new_port
    assert e["repo"] == "acme/api"

    api.clear_requests()
    r = ngx.get("/api/pipeline?repo=api&t=after-restart")
    assert r.status == 200
    assert r.json() == api.view("/api/pipeline")[1]
    assert [q for q in api.requests if "t=after-restart" in q.query_string]
