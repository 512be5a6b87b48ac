"""The fakes alone (no nginx): they must follow the HydraFlow contract,
or every module test built on them proves nothing."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import websockets

from fakes.state import FIRST_EVENT_ID, STAGES
from lib.hydra_nginx import http_request


HERE = os.path.dirname(os.path.abspath(__file__))


def get(fake, path, **kw):
    return http_request(fake.port, "GET", path, **kw)


def call(fake, method, path, body=None, **kw):
    return http_request(fake.port, method, path, body=body, **kw)


def sup_call(sup, obj, raw=None, timeout=5):
    """One supervisor exchange as HydraFlow's client does it."""
    with socket.create_connection(("127.0.0.1", sup.port),
                                  timeout=timeout) as s:
        s.sendall(raw if raw is not None else
                  (json.dumps(obj) + "\n").encode())
        data = b""
        while True:
            chunk = s.recv(65535)
            if not chunk:
                break
            data += chunk
    return data


def sup_json(sup, obj):
    return json.loads(sup_call(sup, obj))


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# ---------------------------------------------------------------------------
# per-repo dashboard: reads


def test_read_endpoints_follow_the_contract(fleet):
    api = fleet.repo("acme/api")
    pipe = get(api, "/api/pipeline")
    assert pipe.status == 200
    assert pipe.headers["content-type"] == "application/json"
    stages = pipe.json()["stages"]
    assert set(stages) == set(STAGES)
    issues = [i for s in stages.values() for i in s]
    assert 25 <= len(issues) <= 35
    for issue in issues:
        assert set(issue) == {"issue_number", "title", "url", "status",
                              "epic_number", "is_epic_child"}
        assert issue["url"].startswith("https://github.com/acme/api/issues/")
    assert {i["status"] for i in stages["hitl"]} <= {"hitl", "processing"}
    assert any(i["status"] == "active" for i in stages["implement"])

    q = get(api, "/api/queue").json()
    assert set(q["queue_depth"]) == {"find", "plan", "ready", "review",
                                     "hitl"}
    assert q["in_flight_count"] == sum(q["active_count"].values())
    assert sum(q["queue_depth"].values()) + q["in_flight_count"] \
        == len(issues)

    ps = get(api, "/api/pipeline/stats").json()
    assert set(ps["stages"]) == set(STAGES) | {"merged"}
    assert ps["stages"]["merged"]["worker_cap"] is None
    assert set(ps["throughput"]) == set(STAGES)

    stats = get(api, "/api/stats").json()
    assert stats["issues_completed"] >= stats["prs_merged"] > 0
    assert isinstance(stats["merge_durations"], list)
    assert "queue" in stats

    m = get(api, "/api/metrics").json()
    assert set(m) == {"lifetime", "rates", "time_to_merge", "thresholds",
                      "inference_lifetime", "inference_session"}
    lt = m["lifetime"]
    assert m["rates"]["merge_rate"] == pytest.approx(
        lt["prs_merged"] / lt["issues_completed"])
    assert set(m["time_to_merge"]) == {"avg", "p50", "p90"}

    gh = get(api, "/api/metrics/github").json()
    assert sum(gh["open_by_label"].values()) == len(issues)
    hist = get(api, "/api/metrics/history").json()
    assert len(hist["snapshots"]) == 10 and hist["current"] is not None

    hitl = get(api, "/api/hitl").json()
    assert [h["issue"] for h in hitl] == \
        [i["issue_number"] for i in stages["hitl"]]
    assert {"issue", "title", "issueUrl", "pr", "prUrl", "branch", "cause",
            "status", "isMemorySuggestion", "llmSummary",
            "llmSummaryUpdatedAt", "visualEvidence"} == set(hitl[0])

    workers = get(api, "/api/system/workers").json()["workers"]
    assert [w["name"] for w in workers][:4] == ["triage", "plan",
                                                "implement", "review"]
    assert len(workers) == 12

    prs = get(api, "/api/prs").json()
    assert prs and set(prs[0]) == {"pr", "issue", "branch", "url", "draft",
                                   "title"}
    assert isinstance(get(api, "/api/timeline").json(), list)

    cs = get(api, "/api/control/status").json()
    assert cs["status"] == "running"
    assert cs["config"]["repo"] == "acme/api"
    assert cs["current_session_id"].startswith("acme-api-")

    hi = get(api, "/api/human-input").json()
    assert isinstance(hi, dict) and all(k.isdigit() for k in hi)
    epics = get(api, "/api/epics").json()
    assert epics and "epic_number" in epics[0]


def test_sessions_s0_semantics(fleet):
    api = fleet.repo("acme/api")
    all_ = get(api, "/api/sessions").json()
    assert len(all_) == 4
    assert [s["started_at"] for s in all_] == sorted(
        (s["started_at"] for s in all_), reverse=True)
    assert all_[0]["status"] == "active"
    # S0: exact, case-sensitive filter on owner/name.
    assert get(api, "/api/sessions?repo=acme/api").json() == all_
    assert get(api, "/api/sessions?repo=acme-api").json() == []
    assert get(api, "/api/sessions?repo=ACME/api").json() == []
    sid = all_[1]["id"]
    one = get(api, "/api/sessions/" + sid)
    assert one.status == 200 and one.json()["id"] == sid
    assert "events" in one.json()
    active = get(api, "/api/sessions/" + all_[0]["id"]).json()
    assert active["events"] and all(e["session_id"] == all_[0]["id"]
                                    for e in active["events"])
    nf = get(api, "/api/sessions/nope")
    assert (nf.status, nf.json()) == (404, {"error": "Session not found"})


def test_unknown_paths_and_no_healthz(fleet):
    api = fleet.repo("acme/api")
    r = get(api, "/api/does-not-exist")
    assert (r.status, r.json()) == (404, {"detail": "Not Found"})
    # S0 has no /healthz: like every non-api path it is the SPA catch-all.
    r = get(api, "/healthz")
    assert r.status == 200 and r.headers["content-type"].startswith(
        "text/html")
    r = call(api, "POST", "/api/does-not-exist")
    assert (r.status, r.json()) == (405, {"detail": "Method Not Allowed"})
    r = get(api, "/ws")                      # not an upgrade
    assert (r.status, r.json()) == (404, {"detail": "Not Found"})


def test_events_since(fleet):
    api = fleet.repo("acme/api")
    everything = get(api, "/api/events").json()
    assert len(everything) == len(api.history()) >= 60
    mid = everything[len(everything) // 2]["timestamp"]
    since = get(api, "/api/events?since=" + mid.replace("+", "%2B")).json()
    assert since and all(e["timestamp"] >= mid for e in since)
    assert len(since) < len(everything)


# ---------------------------------------------------------------------------
# per-repo dashboard: mutations


def test_control_start_stop(fleet, wait_for):
    api = fleet.repo("acme/api")
    r = call(api, "POST", "/api/control/start")
    assert (r.status, r.json()) == (409, {"error": "already running"})
    r = call(api, "POST", "/api/control/stop")
    assert (r.status, r.json()) == (200, {"status": "stopping"})
    wait_for(lambda: get(api, "/api/control/status").json()["status"]
             == "idle", 3)
    r = call(api, "POST", "/api/control/stop")
    assert (r.status, r.json()) == (400, {"error": "not running"})
    r = call(api, "POST", "/api/control/start")
    assert (r.status, r.json()) == (200, {"status": "started"})
    types = [e["type"] for e in api.history()[-4:]]
    assert "session_start" in types and "orchestrator_status" in types


def test_patch_config(fleet):
    api = fleet.repo("acme/api")
    r = call(api, "PATCH", "/api/control/config",
             {"max_workers": 4, "persist": True, "repo": "evil/x"})
    assert (r.status, r.json()) == (200, {"status": "ok",
                                          "updated": {"max_workers": 4}})
    assert get(api, "/api/control/status").json()["config"][
        "max_workers"] == 4
    r = call(api, "PATCH", "/api/control/config", {"max_workers": 0})
    assert r.status == 422
    assert r.json() == {"status": "error", "message":
                        "max_workers: Input should be greater than or "
                        "equal to 1"}
    r = call(api, "PATCH", "/api/control/config", {"not_mutable": 1})
    assert (r.status, r.json()) == (200, {"status": "ok", "updated": {}})
    r = call(api, "PATCH", "/api/control/config", b"not json")
    assert r.status == 422 and r.json()["detail"][0]["type"] == \
        "json_invalid"


def test_other_mutations(fleet):
    api = fleet.repo("acme/api")
    r = call(api, "POST", "/api/control/bg-worker",
             {"name": "metrics", "enabled": False})
    assert r.json() == {"status": "ok", "name": "metrics", "enabled": False}
    r = call(api, "POST", "/api/control/bg-worker", {"name": "metrics"})
    assert (r.status, r.json()) == (400, {"error":
                                          "name and enabled are required"})

    hitl = get(api, "/api/hitl").json()
    n = hitl[0]["issue"]
    r = call(api, "POST", "/api/hitl/%d/skip" % n, {"reason": ""})
    assert r.status == 422
    assert r.json()["detail"][0]["type"] == "string_too_short"
    r = call(api, "POST", "/api/hitl/%d/close" % n, {"reason": "dup"})
    assert (r.status, r.json()) == (200, {"status": "ok"})
    assert n not in [h["issue"] for h in get(api, "/api/hitl").json()]
    assert api.history()[-1]["type"] == "hitl_update"

    questions = get(api, "/api/human-input").json()
    q = next(iter(questions))
    r = call(api, "POST", "/api/human-input/" + q, {"answer": "yes"})
    assert r.json() == {"status": "ok"}
    assert q not in get(api, "/api/human-input").json()

    r = call(api, "POST", "/api/request-changes",
             {"issue_number": 5, "feedback": ""})
    assert r.status == 400
    r = call(api, "POST", "/api/request-changes",
             {"issue_number": 5, "feedback": "x", "stage": "review"})
    assert r.json() == {"status": "ok"}

    r = call(api, "POST", "/api/intent", {"text": "Add a dark mode"})
    body = r.json()
    assert body["status"] == "created" and body["title"] == "Add a dark mode"
    plan = get(api, "/api/pipeline").json()["stages"]["plan"]
    assert body["issue_number"] in [i["issue_number"] for i in plan]

    sessions = get(api, "/api/sessions").json()
    r = call(api, "DELETE", "/api/sessions/" + sessions[0]["id"])
    assert (r.status, r.json()) == (400, {"error":
                                          "Cannot delete active session"})
    r = call(api, "DELETE", "/api/sessions/" + sessions[-1]["id"])
    assert (r.status, r.json()) == (200, {"status": "ok"})
    r = call(api, "DELETE", "/api/sessions/" + sessions[-1]["id"])
    assert r.status == 404


def test_requests_are_recorded(fleet):
    api = fleet.repo("acme/api")
    call(api, "PATCH", "/api/control/config?b=2&a=1&b=3", {"model": "opus"},
         headers={"X-Test": "yes"})
    rec = api.requests[-1]
    assert rec.method == "PATCH"
    assert rec.path == "/api/control/config"
    assert rec.query_string == "b=2&a=1&b=3"
    assert rec.query == [("b", "2"), ("a", "1"), ("b", "3")]
    assert rec.header("x-test") == "yes"
    assert rec.json() == {"model": "opus"}


# ---------------------------------------------------------------------------
# WebSocket


async def _ws_collect(port, n, timeout=5):
    out = []
    async with websockets.connect("ws://127.0.0.1:%d/ws" % port,
                                  max_queue=None) as ws:
        while len(out) < n:
            out.append(json.loads(await asyncio.wait_for(ws.recv(),
                                                         timeout)))
    return out


def test_ws_replays_history_then_streams(fleet):
    api = fleet.repo("acme/api")
    web = fleet.repo("acme/web")
    history = api.history()

    async def scenario():
        async with websockets.connect("ws://127.0.0.1:%d/ws"
                                      % api.port) as ws:
            got = [json.loads(await asyncio.wait_for(ws.recv(), 5))
                   for _ in history]
            api.emit("system_alert", {"message": "hello"})
            live = json.loads(await asyncio.wait_for(ws.recv(), 5))
            return got, live

    got, live = fleet.run(scenario())
    assert got == history
    assert [e["id"] for e in got] == sorted(e["id"] for e in got)
    assert got[0]["id"] == FIRST_EVENT_ID
    assert set(got[0]) == {"id", "type", "timestamp", "data", "session_id"}
    assert got[0]["timestamp"].endswith("+00:00")
    assert live["type"] == "system_alert" and live["id"] == got[-1]["id"] + 1
    # Separate processes: the same ids again (they clash across repos).
    other = fleet.run(_ws_collect(web.port, 3))
    assert [e["id"] for e in other] == [e["id"] for e in got[:3]]


# ---------------------------------------------------------------------------
# failure switches


def test_modes(fleet):
    api = fleet.repo("acme/api")
    port = api.port
    api.set_mode("down")
    assert refused(port)
    api.set_mode("ok")
    assert api.port == port
    assert get(api, "/api/queue").status == 200

    api.set_mode("slow", delay=0.6)
    t0 = time.monotonic()
    assert get(api, "/api/queue").status == 200
    assert time.monotonic() - t0 >= 0.6

    api.set_mode("error5xx")
    r = get(api, "/api/control/status")
    assert r.status == 503 and "error" in r.json()

    api.set_mode("garbage")
    r = get(api, "/api/control/status")
    assert r.status == 200 and not r.is_json()
    api.set_mode("ok")
    assert get(api, "/api/control/status").json()["config"]["repo"] == \
        "acme/api"


def test_restart_on_new_port_keeps_history(fleet):
    api = fleet.repo("acme/api")
    old = api.port
    last = api.history()[-1]["id"]
    new = fleet.restart(api)
    assert new != old and api.port == new
    assert refused(old)
    assert get(api, "/api/control/status").status == 200
    assert api.emit("system_alert", {})["id"] == last + 1


def test_tick_moves_cards(fleet):
    api = fleet.repo("acme/api")
    before = get(api, "/api/pipeline").json()
    n = len(api.history())
    api.tick(30)
    after = get(api, "/api/pipeline").json()
    assert before != after
    assert len(api.history()) > n + 20
    count = sum(len(v) for v in after["stages"].values())
    assert 25 <= count <= 35


# ---------------------------------------------------------------------------
# supervisor


def test_supervisor_protocol(fleet):
    sup = fleet.supervisor()
    api = fleet.repo("acme/api", supervisor=sup)
    sup.add(api)
    sup.add(None, slug="web", path="/home/dev/src/web", port=0,
            running=False)
    assert sup_json(sup, {"action": "ping"}) == {"status": "ok"}
    listing = sup_json(sup, {"action": "list_repos"})
    assert listing["status"] == "ok"
    a, w = listing["repos"]
    assert a == {"path": "/home/dev/src/api", "slug": "acme/api",
                 "port": api.port,
                 "dashboard_url": "http://localhost:%d" % api.port,
                 "log_file": "/home/dev/.hydraflow/logs/acme-api-%d.log"
                             % api.port,
                 "running": True}
    assert (w["slug"], w["port"], w["running"], w["log_file"]) == \
        ("web", 0, False, "")
    assert sup_json(sup, {"action": "nope"}) == {"status": "error",
                                                 "error": "unknown action"}
    assert sup_json(sup, {"action": "remove_repo", "slug": "zzz"}) == \
        {"status": "error", "error": "Repo not found"}
    reg = sup_json(sup, {"action": "register_repo",
                         "path": "/home/dev/src/My Tool"})
    assert reg == {"status": "ok", "slug": "My-Tool",
                   "path": "/home/dev/src/My Tool"}
    assert sup.entry("My-Tool").to_json()["port"] == 0

    # add_repo of a running repo returns its port, started false
    r = sup_json(sup, {"action": "add_repo", "path": "/home/dev/src/api",
                       "repo_slug": "acme/api"})
    assert (r["port"], r["started"]) == (api.port, False)
    # add_repo of a registered-only repo starts a fake process
    r = sup_json(sup, {"action": "add_repo", "path": "/home/dev/src/web"})
    assert r["started"] is True and r["slug"] == "web" and r["port"] > 0
    st = http_request(r["port"], "GET", "/api/control/status")
    assert st.json()["config"]["repo"] == "local/web"
    assert sup_json(sup, {"action": "remove_repo", "slug": "web"}) == \
        {"status": "ok"}
    assert refused(r["port"])
    assert [q.action for q in sup.requests][:2] == ["ping", "list_repos"]
    # the connection carries one request and is closed by the server
    assert sup_call(sup, None, raw=b"not json\n") .endswith(b"\n")


def test_supervisor_modes_and_new_ports(fleet):
    sup = fleet.supervisor()
    api = fleet.repo("acme/api", supervisor=sup)
    sup.add(api)
    port = sup.port
    sup.set_mode("down")
    assert refused(port)
    sup.set_mode("garbage")
    with pytest.raises(ValueError):
        json.loads(sup_call(sup, {"action": "list_repos"}))
    sup.set_mode("slow", delay=0.5)
    t0 = time.monotonic()
    sup_json(sup, {"action": "ping"})
    assert time.monotonic() - t0 >= 0.5
    sup.set_mode("ok")
    new = fleet.restart(api)
    assert sup_json(sup, {"action": "list_repos"})["repos"][0]["port"] \
        == new


def test_repo_api_repos_calls_the_supervisor(fleet):
    sup = fleet.supervisor()
    api = fleet.repo("acme/api", supervisor=sup)
    sup.add(api)
    r = get(api, "/api/repos")
    assert r.status == 200
    assert r.json() == {"repos": sup.list_repos()}
    assert sup.requests[-1].action == "list_repos"
    sup.set_mode("down")
    r = get(api, "/api/repos")
    assert (r.status, r.json()) == (503, {"error": "Supervisor unavailable"})
    lonely = fleet.repo("acme/lonely")
    assert get(lonely, "/api/repos").status == 503


def test_fleet_cli():
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "fakes",
                                                        "fleet.py")],
                         stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip()
        assert line.startswith("SUPERVISOR=127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        repos = dict(p.stdout.readline().strip()[5:].split("=")
                     for _ in range(3))
        assert set(repos) == {"acme/api", "acme/web", "tools"}

        class S:
            pass
        s = S()
        s.port = port
        listing = sup_json(s, {"action": "list_repos"})["repos"]
        assert [r["slug"] for r in listing] == ["acme/api", "acme/web",
                                                "tools"]
        tools_port = int(repos["tools"].rsplit(":", 1)[1])
        st = http_request(tools_port, "GET", "/api/control/status").json()
        assert st["config"]["repo"] == "acme/tools"
        q1 = http_request(tools_port, "GET", "/api/events").json()
        time.sleep(2.5)
        q2 = http_request(tools_port, "GET", "/api/events").json()
        assert len(q2) > len(q1)                 # live, changing data
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
