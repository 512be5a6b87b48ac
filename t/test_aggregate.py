"""Aggregated views: `GET /api/<view>` without `repo` (or `?repo=__all__`)
asks every running repo at once and merges the answers by the view's rule
(DESIGN.md 3, hydraflow-api.md 8); a repo that fails is left out, says why
(`hydra.failed`, `X-Hydra-Partial`), and never costs more than
`hydra_timeout` nor holds the client's connection.

Expected values are computed here from each repo's own answer, fetched
through nginx with `?repo=<key>`, never copied from the module.
"""

import asyncio
import gzip
import http.client
import json
import re
import socket
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from aiohttp import web

from fakes.repo import FakeRepo
from lib.hydra_nginx import scaled, wait_for, wait_up


BUDGET = 1.0                        # hydra_timeout of every nginx here
# nginx's own work, slower under valgrind; still under every hang below
SLACK = scaled(0.5)                 # what the answer may take beyond it
PROMPT = scaled(0.5)                # "at once"
HTTP_EXTRA = "hydra_timeout %ds;" % BUDGET

OBJECT_VIEWS = ("/api/pipeline", "/api/pipeline/stats", "/api/queue",
                "/api/stats", "/api/metrics", "/api/metrics/github",
                "/api/metrics/history", "/api/system/workers",
                "/api/control/status")
# maps keyed by "<repo>#<issue>": the facts go in headers only, so a UI
# walking the keys never takes them for an issue
MAP_VIEWS = ("/api/issues/outcomes", "/api/human-input")
ARRAY_VIEWS = ("/api/hitl", "/api/prs", "/api/timeline", "/api/events",
               "/api/sessions")


# ---------------------------------------------------------------------------
# a FakeRepo that can also answer what HydraFlow's fakes do not


class Repo(FakeRepo):
    """FakeRepo plus per-path canned answers and gzip on request.

    repo.answer(path, obj_or_bytes, status=200, chunked=False): the next
    GETs of path get exactly that (failure modes still apply first).
    A response is gzip-compressed when the request accepts gzip, as a
    dashboard behind a compressing middleware would do.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.overrides = {}

    def answer(self, path, body, status=200, chunked=False, stall=None):
        """stall: send the headers and half the body, then wait that long
        before the rest."""
        if not isinstance(body, bytes):
            body = json.dumps(body, separators=(",", ":")).encode()
        self.overrides[path] = (status, body, chunked, stall)
        return body

    def reset(self):
        self.overrides.clear()
        self.set_mode("ok")
        self.error_status = 503

    async def _dispatch(self, request, body):
        canned = self.overrides.get(request.path)
        if canned is not None and request.method == "GET":
            status, data, chunked, stall = canned
            if stall:
                resp = web.StreamResponse(status=status)
                resp.content_type = "application/json"
                resp.content_length = len(data)
                await resp.prepare(request)
                await resp.write(data[:len(data) // 2])
                await asyncio.sleep(stall)
                await resp.write(data[len(data) // 2:])
                await resp.write_eof()
                return resp
            if not chunked:
                resp = web.Response(status=status, body=data,
                                    content_type="application/json")
            else:
                resp = web.StreamResponse(status=status)
                resp.content_type = "application/json"
                resp.enable_chunked_encoding()
                await resp.prepare(request)
                for i in range(0, len(data), 1000):
                    await resp.write(data[i:i + 1000])
                await resp.write_eof()
                return resp
        else:
            resp = await super()._dispatch(request, body)
        if isinstance(resp, web.Response) and "gzip" in \
                request.headers.get("Accept-Encoding", ""):
            resp.enable_compression()
        return resp


def start_repo(scope, name, **kwargs):
    fake = Repo(name, **kwargs)
    scope.run(fake.start())
    scope.fakes.append(fake)            # stopped with the scope
    return fake


def key_of(fake):
    return fake.repo.replace("/", "-")


# ---------------------------------------------------------------------------
# the fleet: acme/api and acme/web from the supervisor, acme/tools static


@pytest.fixture(scope="module")
def fleet_env(fleet_module, nginx_module):
    sup = fleet_module.supervisor()
    api = start_repo(fleet_module, "acme/api", supervisor=sup)
    web = start_repo(fleet_module, "acme/web", supervisor=sup)
    tools = start_repo(fleet_module, "acme/tools")
    sup.add(api)
    sup.add(web)
    ngx = nginx_module(supervisor=sup, repos=[("acme/tools", tools)],
                       http_extra=HTTP_EXTRA)
    wait_up(ngx, [api, web, tools])
    fakes = (api, web, tools)
    return SimpleNamespace(ngx=ngx, sup=sup, api=api, web=web, tools=tools,
                           fakes=fakes, keys={key_of(f) for f in fakes})


@pytest.fixture
def env(fleet_env):
    for f in fleet_env.fakes:
        f.reset()
    yield fleet_env
    for f in fleet_env.fakes:
        f.reset()


# ---------------------------------------------------------------------------
# helpers


def marker():
    return "m" + uuid.uuid4().hex[:12]


def with_arg(path, arg):
    return path + ("&" if "?" in path else "?") + arg


def agg(ngx, path, **kw):
    """An aggregated GET; returns (response, seconds it took)."""
    t0 = time.monotonic()
    r = ngx.get(path, **kw)
    return r, time.monotonic() - t0


def one(ngx, path, fake):
    """What fake answers to path, through nginx (?repo=<key>)."""
    r = ngx.get(with_arg(path, "repo=" + key_of(fake)))
    assert r.status == 200, (fake.repo, r)
    return r.json()


def repos_header(r):
    value = r.headers.get("x-hydra-repos")
    assert value is not None, "no X-Hydra-Repos: %r" % r.header_list
    return [k for k in value.split(", ") if k] if value else []


def partial_header(r):
    """X-Hydra-Partial as {key: reason} ({} when absent)."""
    value = r.headers.get("x-hydra-partial")
    if value is None:
        return {}
    assert re.fullmatch(r"[^=, ]+=[^=,]+(, [^=, ]+=[^=,]+)*", value), value
    return dict(item.split("=", 1) for item in value.split(", "))


def check_facts(r, answered, failed, shape="object"):
    """The answer says who answered and who failed, in body and headers."""
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith(
        "application/json"), r
    doc = r.json()
    assert sorted(repos_header(r)) == sorted(answered), r.header_list
    assert partial_header(r) == failed, r.header_list
    if shape == "object":
        assert isinstance(doc, dict), doc
        assert list(doc)[-1] == "hydra", list(doc)
        facts = doc["hydra"]
        assert sorted(facts["answered"]) == sorted(answered), facts
        assert facts["failed"] == failed, facts
        assert repos_header(r) == facts["answered"], \
            "header and body disagree on the order"
    elif shape == "map":
        assert isinstance(doc, dict), doc
        assert "hydra" not in doc, list(doc)
    else:
        assert isinstance(doc, list), doc
    return doc


def shape_of(path):
    if path in OBJECT_VIEWS:
        return "object"
    return "map" if path in MAP_VIEWS else "array"


def tagged(items, key):
    return [dict(i, repo=key) for i in items]


def repo_part(items, key):
    return [i for i in items if i.get("repo") == key]


def approx(got, want, path="$"):
    """Deep equality, floats within 1e-9 relative."""
    if isinstance(want, float) or isinstance(got, float):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), \
            "%s: %r != %r" % (path, got, want)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), \
            "%s: %r != %r" % (path, got, want)
    elif isinstance(want, dict):
        assert isinstance(got, dict), "%s: %r" % (path, got)
        assert set(got) == set(want), "%s: keys %s != %s" % (
            path, sorted(got), sorted(want))
        for k in want:
            approx(got[k], want[k], "%s.%s" % (path, k))
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), \
            "%s: %r != %r" % (path, got, want)
        for i, (g, w) in enumerate(zip(got, want)):
            approx(g, w, "%s[%d]" % (path, i))
    else:
        assert got == want, "%s: %r != %r" % (path, got, want)


def add_maps(maps):
    """Counter maps added key by key."""
    out = {}
    for m in maps:
        for k, v in m.items():
            out[k] = out.get(k, 0) + v
    return out


def expected_queue(qs):
    stamps = [q["last_poll_timestamp"] for q in qs
              if q.get("last_poll_timestamp")]
    return {
        "queue_depth": add_maps(q["queue_depth"] for q in qs),
        "active_count": add_maps(q["active_count"] for q in qs),
        "total_processed": add_maps(q["total_processed"] for q in qs),
        "dedup_stats": add_maps(q["dedup_stats"] for q in qs),
        "in_flight_count": sum(q["in_flight_count"] for q in qs),
        "last_poll_timestamp": max(stamps) if stamps else None,
    }


def freeze(fake, path, change):
    """Make fake answer path with its current answer, changed: the views
    that carry the time of the request then stay put between requests."""
    _, body = fake.view(path)
    change(body)
    fake.answer(path, body)
    return body


def marked_requests(fake, mark):
    return [q for q in list(fake.requests)
            if q.header("x-test-marker") == mark]


# ---------------------------------------------------------------------------
# every view with a rule: 200, JSON, the facts, no repo argument upstream


@pytest.mark.parametrize("path", OBJECT_VIEWS + ARRAY_VIEWS)
@pytest.mark.parametrize("scope", ["", "?repo=__all__"])
def test_every_view_is_aggregated(env, path, scope):
    for f in env.fakes:                 # fakes have no outcomes view
        f.answer("/api/issues/outcomes", {})
    mark = marker()
    r = env.ngx.get(path + scope, headers={"X-Test-Marker": mark})
    check_facts(r, env.keys, {},
                shape_of(path))
    for f in env.fakes:
        got = marked_requests(f, mark)
        assert len(got) == 1, (f.repo, got)
        assert (got[0].method, got[0].path, got[0].query_string) == \
            ("GET", path, ""), got[0]


def test_other_arguments_reach_every_repo(env):
    mark = marker()
    r = env.ngx.get("/api/events?since=2020-01-01T00%3A00%3A00%2B00%3A00"
                    "&repo=__all__&x=1", headers={"X-Test-Marker": mark})
    assert r.status == 200, r
    for f in env.fakes:
        got = marked_requests(f, mark)
        assert len(got) == 1, (f.repo, got)
        assert got[0].query_string == \
            "since=2020-01-01T00%3A00%3A00%2B00%3A00&x=1"


# ---------------------------------------------------------------------------
# merge rules, view by view


def test_pipeline_concatenates_and_tags(env):
    per = {key_of(f): one(env.ngx, "/api/pipeline", f) for f in env.fakes}
    r = env.ngx.get("/api/pipeline")
    doc = check_facts(r, env.keys, {})
    assert set(doc) == {"stages", "ready", "hydra"}
    assert doc["ready"] is True
    stages = set().union(*(p["stages"] for p in per.values()))
    assert set(doc["stages"]) == stages
    for stage in stages:
        merged = doc["stages"][stage]
        want = sum(len(p["stages"].get(stage, [])) for p in per.values())
        assert len(merged) == want, stage
        for key, p in per.items():
            assert repo_part(merged, key) == \
                tagged(p["stages"].get(stage, []), key), (stage, key)
    # repos are not all alike: a merge from one repo would not pass
    assert len({json.dumps(p["stages"]) for p in per.values()}) == 3


def test_pipeline_not_ready_if_one_repo_is_not(env):
    freeze(env.web, "/api/pipeline", lambda b: b.update(ready=False))
    freeze(env.api, "/api/pipeline", lambda b: b.update(ready=True))
    r = env.ngx.get("/api/pipeline")
    doc = check_facts(r, env.keys, {})
    assert doc["ready"] is False
    assert repo_part(doc["stages"]["plan"], "acme-web")


def test_pipeline_stats_sums(env):
    stamps = {env.api: ("2026-03-05T10:00:05.120000+00:00", 3605.2),
              env.web: ("2026-03-05T11:30:00.000000+00:00", 120.5),
              env.tools: ("2026-03-04T23:59:59.999999+00:00", 99999.5)}
    for f, (ts, up) in stamps.items():
        def change(b, f=f, ts=ts, up=up):
            b["timestamp"] = ts
            b["uptime_seconds"] = up
            b["queue"]["last_poll_timestamp"] = ts
            if f is env.web:            # a cap in one repo only
                b["stages"]["merged"]["worker_cap"] = 4
        freeze(f, "/api/pipeline/stats", change)
    per = [one(env.ngx, "/api/pipeline/stats", f) for f in env.fakes]
    r = env.ngx.get("/api/pipeline/stats")
    doc = check_facts(r, env.keys, {})

    stages = {}
    for name in set().union(*(p["stages"] for p in per)):
        rows = [p["stages"][name] for p in per if name in p["stages"]]
        row = {k: sum(x[k] for x in rows) for k in (
            "queued", "active", "completed_session", "completed_lifetime",
            "worker_count")}
        caps = [x["worker_cap"] for x in rows if x["worker_cap"] is not None]
        row["worker_cap"] = sum(caps) if caps else None
        stages[name] = row
    approx(doc["stages"], stages, "stages")
    assert doc["stages"]["merged"]["worker_cap"] == 4
    assert doc["stages"]["implement"]["worker_cap"] == 6
    approx(doc["throughput"], {s: sum(p["throughput"][s] for p in per)
                               for s in per[0]["throughput"]}, "throughput")
    assert doc["timestamp"] == "2026-03-05T11:30:00.000000+00:00"
    assert doc["uptime_seconds"] == 99999.5
    approx(doc["queue"], expected_queue([p["queue"] for p in per]), "queue")


def test_queue_sums(env):
    stamps = {env.api: "2026-01-02T00:00:00+00:00",
              env.web: "2026-02-01T00:00:00+00:00", env.tools: None}
    for f, ts in stamps.items():
        def change(b, ts=ts):
            b["last_poll_timestamp"] = ts
            b["total_processed"] = {"ready": len(f.repo), "plan": 1}
            b["dedup_stats"] = {"skipped_duplicates": len(f.repo) * 3}
        freeze(f, "/api/queue", change)
    per = [one(env.ngx, "/api/queue", f) for f in env.fakes]
    r = env.ngx.get("/api/queue")
    doc = check_facts(r, env.keys, {})
    want = expected_queue(per)
    assert want["last_poll_timestamp"] == "2026-02-01T00:00:00+00:00"
    assert sum(want["queue_depth"].values()) > 0
    approx({k: v for k, v in doc.items() if k != "hydra"}, want)


def test_stats_sums_concatenates_and_unions(env):
    def change_for(f, fired, extra):
        def change(b):
            b["fired_thresholds"] = fired
            b["total_future_counter"] = extra
            b["queue"]["last_poll_timestamp"] = "2026-01-0%dT00:00:00+00:00" \
                % (extra % 9 + 1)
        return change
    freeze(env.api, "/api/stats", change_for(env.api, ["quality_low",
                                                       "hitl_high"], 5))
    freeze(env.web, "/api/stats", change_for(env.web, ["hitl_high",
                                                       "ci_slow"], 7))
    freeze(env.tools, "/api/stats", change_for(env.tools, [], 1))
    per = {key_of(f): one(env.ngx, "/api/stats", f) for f in env.fakes}
    r = env.ngx.get("/api/stats")
    doc = check_facts(r, env.keys, {})
    values = list(per.values())

    for k, v in values[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            approx(doc[k], sum(p[k] for p in values), k)
    assert doc["total_future_counter"] == 13
    assert sorted(doc["merge_durations"]) == sorted(
        d for p in values for d in p["merge_durations"])
    assert sorted(doc["fired_thresholds"]) == ["ci_slow", "hitl_high",
                                               "quality_low"]
    # retries per issue: the key of an issue is (repo, issue)
    want = {"%s#%s" % (key, issue): stages for key, p in per.items()
            for issue, stages in p["retries_per_stage"].items()}
    assert len(want) == 9
    assert doc["retries_per_stage"] == want
    approx(doc["queue"], expected_queue([p["queue"] for p in values]),
           "queue")


def percentile_ok(value, ordered, p):
    """value is an element of ordered at about the p-th fraction."""
    n = len(ordered)
    ranks = [i for i, d in enumerate(ordered) if d == value]
    assert ranks, "%r is none of the durations" % value
    lo, hi = int(p * (n - 1)) - 1, int(p * n) + 1
    assert any(lo <= i <= hi for i in ranks), (value, ranks, lo, hi, n)


def test_metrics_rates_are_recomputed_from_sums(env):
    per = [one(env.ngx, "/api/metrics", f) for f in env.fakes]
    r = env.ngx.get("/api/metrics")
    doc = check_facts(r, env.keys, {})
    lts = [p["lifetime"] for p in per]

    def total(k):
        return sum(lt[k] for lt in lts)

    issues = total("issues_completed")
    reviews = total("total_review_approvals") + \
        total("total_review_request_changes")
    want = {
        "merge_rate": total("prs_merged") / issues,
        "quality_fix_rate": total("total_quality_fix_rounds") / issues,
        "hitl_escalation_rate": total("total_hitl_escalations") / issues,
        "avg_implementation_seconds":
            total("total_implementation_seconds") / issues,
        "first_pass_approval_rate": total("total_review_approvals")
        / reviews,
        "reviewer_fix_rate": total("total_reviewer_fixes") / reviews,
    }
    for name, value in want.items():
        got = doc["rates"].get(name)
        assert got == pytest.approx(value, rel=1e-9), \
            "%s: got %r, sums give %r, repos' rates %r" % (
                name, got, value, [p["rates"][name] for p in per])
    # the data tells a sum of ratios from an average of them
    avg = sum(p["rates"]["merge_rate"] for p in per) / len(per)
    assert abs(avg - want["merge_rate"]) > 1e-4, "fake data too uniform"
    retries = sum(n for lt in lts for st in lt["retries_per_stage"].values()
                  for n in st.values())
    assert doc["rates"]["retries_per_stage"] == pytest.approx(retries)

    approx(doc["lifetime"]["issues_completed"], issues)
    approx(doc["lifetime"]["total_implementation_seconds"],
           total("total_implementation_seconds"))
    durations = sorted(d for lt in lts for d in lt["merge_durations"])
    assert sorted(doc["lifetime"]["merge_durations"]) == durations
    ttm = doc["time_to_merge"]
    assert ttm["avg"] == pytest.approx(sum(durations) / len(durations),
                                       abs=0.051)
    percentile_ok(ttm["p50"], durations, 0.5)
    percentile_ok(ttm["p90"], durations, 0.9)
    assert doc["thresholds"] == []
    assert doc["inference_lifetime"] == add_maps(
        p["inference_lifetime"] for p in per)
    assert doc["inference_session"] == add_maps(
        p["inference_session"] for p in per)


def test_metrics_github_sums(env):
    per = [one(env.ngx, "/api/metrics/github", f) for f in env.fakes]
    r = env.ngx.get("/api/metrics/github")
    doc = check_facts(r, env.keys, {})
    assert doc["open_by_label"] == add_maps(p["open_by_label"] for p in per)
    assert doc["total_closed"] == sum(p["total_closed"] for p in per)
    assert doc["total_merged"] == sum(p["total_merged"] for p in per)


def test_metrics_history_is_empty(env):
    assert one(env.ngx, "/api/metrics/history", env.api)["snapshots"]
    r = env.ngx.get("/api/metrics/history")
    doc = check_facts(r, env.keys, {})
    assert {k: v for k, v in doc.items() if k != "hydra"} == \
        {"snapshots": [], "current": None}


@pytest.mark.parametrize("path", ["/api/hitl", "/api/prs", "/api/timeline"])
def test_lists_concatenate_and_tag(env, path):
    per = {key_of(f): one(env.ngx, path, f) for f in env.fakes}
    assert all(per.values()), "a fake has an empty %s" % path
    r = env.ngx.get(path)
    doc = check_facts(r, env.keys, {}, "array")
    assert len(doc) == sum(len(p) for p in per.values())
    for key, items in per.items():
        assert repo_part(doc, key) == tagged(items, key), key


def test_workers_concatenate_and_tag(env):
    per = {key_of(f): one(env.ngx, "/api/system/workers", f)
           for f in env.fakes}
    r = env.ngx.get("/api/system/workers")
    doc = check_facts(r, env.keys, {})
    assert len(doc["workers"]) == sum(len(p["workers"])
                                      for p in per.values())
    for key, p in per.items():
        assert repo_part(doc["workers"], key) == tagged(p["workers"], key)


def test_events_union_sorted(env):
    hist = env.api.history()
    since = hist[len(hist) // 2]["timestamp"]
    q = "?since=" + since.replace("+", "%2B").replace(":", "%3A")
    per = {key_of(f): one(env.ngx, "/api/events" + q, f) for f in env.fakes}
    assert 0 < len(per["acme-api"]) < len(hist)
    r = env.ngx.get("/api/events" + q)
    doc = check_facts(r, env.keys, {}, "array")
    want = [e for key, p in per.items() for e in tagged(p, key)]
    assert sorted(map(json.dumps, doc)) == sorted(map(json.dumps, want))
    order = [(e["timestamp"], e["id"]) for e in doc]
    assert order == sorted(order), "not in (timestamp, id) order"


def test_control_status_rollup(env):
    def set_state(fake, status, until):
        def run():
            fake.state.run_status = status
            fake.state.credits_paused_until = until
        fake.call(run)

    try:
        set_state(env.api, "running", None)
        set_state(env.web, "credits_paused", "2026-12-01T10:00:00+00:00")
        set_state(env.tools, "auth_failed", "2026-11-30T08:00:00+00:00")
        per = {key_of(f): one(env.ngx, "/api/control/status", f)
               for f in env.fakes}
        r = env.ngx.get("/api/control/status")
        doc = check_facts(r, env.keys, {})
        assert doc["status"] == "credits_paused"
        assert doc["credits_paused_until"] == "2026-11-30T08:00:00+00:00"
        assert doc["current_session_id"] is None
        assert doc["config"] in [p["config"] for p in per.values()]
        assert len(doc["repos"]) == 3
        for item in doc["repos"]:
            p = per[item["slug"]]
            assert item["status"] == p["status"]
            assert item["credits_paused_until"] == p["credits_paused_until"]
            assert item["config"] == p["config"]

        set_state(env.web, "idle", None)
        r = env.ngx.get("/api/control/status")
        doc = check_facts(r, env.keys, {})
        assert doc["status"] == "auth_failed"
        set_state(env.tools, "done", None)
        doc = check_facts(env.ngx.get("/api/control/status"), env.keys, {})
        assert (doc["status"], doc["credits_paused_until"]) == \
            ("running", None)
    finally:
        for f in env.fakes:
            set_state(f, "running", None)


def test_sessions_newest_first_and_limit(env):
    per = {key_of(f): one(env.ngx, "/api/sessions", f) for f in env.fakes}
    assert all(per.values())
    everyone = [(key, s) for key, p in per.items() for s in p]
    everyone.sort(key=lambda ks: ks[1]["started_at"], reverse=True)

    def same(got, want):
        key, s = want
        assert got["repo"] in (s["repo"], key), got
        assert dict(got, repo=None) == dict(s, repo=None)

    r = env.ngx.get("/api/sessions?repo=__all__")
    doc = check_facts(r, env.keys, {}, "array")
    assert len(doc) == len(everyone)
    for got, want in zip(doc, everyone):
        same(got, want)

    r = env.ngx.get("/api/sessions?limit=5")
    doc = check_facts(r, env.keys, {}, "array")
    assert len(doc) == 5
    for got, want in zip(doc, everyone[:5]):
        same(got, want)


def test_human_input_keys_are_repo_and_issue(env):
    per = {key_of(f): one(env.ngx, "/api/human-input", f)
           for f in env.fakes}
    assert all(per.values())
    r = env.ngx.get("/api/human-input")
    doc = check_facts(r, env.keys, {}, "map")
    want = {"%s#%s" % (key, n): q for key, p in per.items()
            for n, q in p.items()}
    assert doc == want


def test_outcomes_keys_are_repo_and_issue(env):
    outcome = {"outcome": "merged", "reason": "", "pr_number": 57,
               "closed_at": "2026-03-01T10:00:00+00:00", "phase": "review"}
    env.api.answer("/api/issues/outcomes", {"12": outcome,
                                            "13": dict(outcome, pr_number=58)})
    env.web.answer("/api/issues/outcomes", {"12": dict(outcome,
                                                       outcome="failed")})
    env.tools.answer("/api/issues/outcomes", {})
    r = env.ngx.get("/api/issues/outcomes")
    doc = check_facts(r, env.keys, {}, "map")
    assert doc == {
        "acme-api#12": dict(outcome, repo="acme-api"),
        "acme-api#13": dict(outcome, pr_number=58, repo="acme-api"),
        "acme-web#12": dict(outcome, outcome="failed", repo="acme-web"),
    }


# ---------------------------------------------------------------------------
# partial failure


REASONS = [("down", {}, "connect"),
           ("error5xx", {}, "http 503"),
           ("error5xx", {"status": 500}, "http 500"),
           ("garbage", {}, "bad json"),
           ("slow", {"delay": 4.0}, "timeout")]


@pytest.mark.parametrize("mode, kw, reason", REASONS,
                         ids=[r[2] for r in REASONS])
def test_one_repo_failing_is_left_out(env, mode, kw, reason):
    per = {key_of(f): one(env.ngx, "/api/pipeline", f)
           for f in (env.api, env.tools)}
    env.web.set_mode(mode, **kw)
    r, took = agg(env.ngx, "/api/pipeline")
    doc = check_facts(r, ["acme-api", "acme-tools"], {"acme-web": reason})
    assert took < BUDGET + SLACK, took
    for stage, items in doc["stages"].items():
        assert not repo_part(items, "acme-web"), stage
        for key, p in per.items():
            assert repo_part(items, key) == tagged(p["stages"][stage], key)

    r, took = agg(env.ngx, "/api/hitl")            # an array view
    doc = check_facts(r, ["acme-api", "acme-tools"], {"acme-web": reason},
                      "array")
    assert took < BUDGET + SLACK, took
    assert {i["repo"] for i in doc} == {"acme-api", "acme-tools"}


def test_two_repos_failing_differently(env):
    env.web.set_mode("down")
    env.tools.set_mode("slow", delay=4.0)
    r, took = agg(env.ngx, "/api/queue")
    assert took < BUDGET + SLACK, took
    check_facts(r, ["acme-api"], {"acme-web": "connect",
                                  "acme-tools": "timeout"})
    want = expected_queue([one(env.ngx, "/api/queue", env.api)])
    doc = r.json()
    assert doc["queue_depth"] == want["queue_depth"]
    assert doc["in_flight_count"] == want["in_flight_count"]


@pytest.mark.parametrize("path, body", [
    ("/api/pipeline", []),
    ("/api/pipeline", {"stages": []}),
    ("/api/pipeline", {"stages": {"plan": {"issue_number": 1}}}),
    ("/api/system/workers", {"workers": {}}),
    ("/api/system/workers", []),
    ("/api/hitl", {"items": []}),
    ("/api/events", {"events": []}),
    ("/api/metrics", []),
    ("/api/queue", "just a string"),
], ids=lambda v: v if isinstance(v, str) else json.dumps(v)[:24])
def test_wrong_shape_is_left_out(env, path, body):
    env.web.answer(path, body)
    r = env.ngx.get(path)
    shape = shape_of(path)
    doc = check_facts(r, ["acme-api", "acme-tools"],
                      {"acme-web": "bad shape"}, shape)
    items = doc if shape == "array" else doc.get("workers") or []
    assert all(i.get("repo") != "acme-web" for i in items)


@pytest.mark.parametrize("mode, kw, reason", [
    ("down", {}, "connect"), ("error5xx", {}, "http 503"),
    ("garbage", {}, "bad json"), ("slow", {"delay": 4.0}, "timeout")],
    ids=["connect", "http 503", "bad json", "timeout"])
def test_all_failing_is_502_naming_the_reasons(env, mode, kw, reason):
    for f in env.fakes:
        f.set_mode(mode, **kw)
    for path in ("/api/pipeline", "/api/hitl"):
        r, took = agg(env.ngx, path)
        assert took < BUDGET + SLACK, (path, took)
        assert r.status == 502, r
        assert r.headers.get("content-type", "").startswith(
            "application/json"), r
        error = r.json()["error"]
        for key in env.keys:
            assert "%s=%s" % (key, reason) in error, error
        assert partial_header(r) == {k: reason for k in env.keys}


def test_all_failing_mixed_reasons(env):
    env.api.set_mode("down")
    env.web.set_mode("error5xx")
    env.tools.set_mode("garbage")
    r = env.ngx.get("/api/metrics")
    assert r.status == 502, r
    error = r.json()["error"]
    for part in ("acme-api=connect", "acme-web=http 503",
                 "acme-tools=bad json"):
        assert part in error, error


# ---------------------------------------------------------------------------
# the budget, and the client's connection afterwards


def test_hanging_repo_costs_the_budget_once(env):
    env.tools.set_mode("slow", delay=5.0)
    conn = env.ngx.connection(timeout=10)
    try:
        r, took = agg(env.ngx, "/api/pipeline", conn=conn)
        check_facts(r, ["acme-api", "acme-web"], {"acme-tools": "timeout"})
        assert BUDGET - 0.05 <= took < BUDGET + SLACK, took
        sock = conn.sock
        assert sock is not None, "nginx closed the client connection"

        # the next request on this connection is not held by acme-tools
        r, took = agg(env.ngx, "/api/repos", conn=conn)
        assert r.status == 200 and took < PROMPT, (r, took)
        assert conn.sock is sock

        r, took = agg(env.ngx, "/api/queue", conn=conn)
        check_facts(r, ["acme-api", "acme-web"], {"acme-tools": "timeout"})
        assert took < BUDGET + SLACK, took
        assert conn.sock is sock

        env.tools.set_mode("ok")
        r, took = agg(env.ngx, "/api/pipeline", conn=conn)
        check_facts(r, env.keys, {})
        assert took < PROMPT, took
        r, took = agg(env.ngx, "/api/hitl?repo=acme/tools", conn=conn)
        assert r.status == 200 and took < PROMPT, (r, took)
        assert conn.sock is sock
    finally:
        conn.close()


def test_every_repo_hanging_is_502_within_budget(env):
    for f in env.fakes:
        f.set_mode("slow", delay=5.0)
    conn = env.ngx.connection(timeout=10)
    try:
        r, took = agg(env.ngx, "/api/stats", conn=conn)
        assert r.status == 502, r
        assert took < BUDGET + SLACK, took
        for f in env.fakes:
            f.set_mode("ok")
        r, took = agg(env.ngx, "/api/stats", conn=conn)
        check_facts(r, env.keys, {})
        assert took < PROMPT, took
    finally:
        conn.close()


def test_repo_stalling_mid_body_costs_the_budget_once(env):
    body = freeze(env.web, "/api/pipeline", lambda b: None)
    env.web.answer("/api/pipeline", body, stall=5.0)
    conn = env.ngx.connection(timeout=10)
    try:
        r, took = agg(env.ngx, "/api/pipeline", conn=conn)
        check_facts(r, ["acme-api", "acme-tools"], {"acme-web": "timeout"})
        assert took < BUDGET + SLACK, took
        sock = conn.sock
        assert sock is not None
        env.web.answer("/api/pipeline", body)
        r, took = agg(env.ngx, "/api/pipeline", conn=conn)
        doc = check_facts(r, env.keys, {})
        assert took < PROMPT, took
        assert conn.sock is sock
        assert repo_part(doc["stages"]["plan"], "acme-web") == \
            tagged(body["stages"]["plan"], "acme-web")
    finally:
        conn.close()


def test_client_leaving_before_the_budget(env):
    """The client goes away while a repo hangs: the budget's timer and the
    subrequests must not outlive the request (a crash would show here or
    in error.log)."""
    workers = sorted(env.ngx.worker_pids())
    env.tools.set_mode("slow", delay=3.0)
    for path in ("/api/pipeline", "/api/events", "/api/sessions"):
        with socket.create_connection(("127.0.0.1", env.ngx.port)) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
                      .encode())
            time.sleep(0.1)
    time.sleep(BUDGET + 0.3)            # past every budget's timer
    env.tools.set_mode("ok")
    r, took = agg(env.ngx, "/api/pipeline")
    check_facts(r, env.keys, {})
    assert sorted(env.ngx.worker_pids()) == workers, "a worker died"
    env.ngx.assert_log_clean()


def test_concurrent_aggregations(env):
    env.tools.set_mode("slow", delay=3.0)
    results = []

    def client(i):
        conn = env.ngx.connection(timeout=10)
        try:
            for path in ("/api/queue", "/api/hitl", "/api/metrics"):
                r, took = agg(env.ngx, path, conn=conn)
                results.append((path, r, took))
        finally:
            conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    total = time.monotonic() - t0
    assert len(results) == 48
    for path, r, took in results:
        check_facts(r, ["acme-api", "acme-web"], {"acme-tools": "timeout"},
                    shape_of(path))
        assert took < BUDGET + SLACK, (path, took)
    assert total < 3 * (BUDGET + SLACK), total
    hitl = [r.json() for p, r, _ in results if p == "/api/hitl"]
    assert all(h == hitl[0] for h in hitl)


def test_large_answer_is_merged(env):
    """A repo's answer larger than nginx's proxy buffers (it goes through
    a temporary file) is captured whole."""
    items = [{"issue_number": 100000 + n, "title": "Issue %d %s" % (
        n, "y" * 200), "url": "https://github.com/acme/web/issues/%d" % n,
        "status": "queued", "epic_number": 0, "is_epic_child": False}
        for n in range(4000)]
    body = env.web.answer("/api/pipeline", {"stages": {"plan": items}})
    assert len(body) > 900 * 1024
    r = env.ngx.get("/api/pipeline")
    doc = check_facts(r, env.keys, {})
    assert repo_part(doc["stages"]["plan"], "acme-web") == \
        tagged(items, "acme-web")


def test_absurdly_deep_answer_is_bad_json(env):
    deep = "[" * 5000 + "]" * 5000
    env.web.answer("/api/hitl", deep.encode())
    doc = check_facts(env.ngx.get("/api/hitl"), ["acme-api", "acme-tools"],
                      {"acme-web": "bad json"}, "array")
    assert doc
    env.web.answer("/api/pipeline", ('{"stages":{"plan":[%s]}}' % (
        "{\"a\":" * 100 + "1" + "}" * 100)).encode())
    check_facts(env.ngx.get("/api/pipeline"), ["acme-api", "acme-tools"],
                {"acme-web": "bad json"})


# ---------------------------------------------------------------------------
# views without a rule, mutations


@pytest.mark.parametrize("path", ["/api/epics", "/api/state",
                                  "/api/epics?repo=__all__",
                                  "/api/runs/3"])
def test_view_without_rule_is_400_listing_repos(env, path):
    mark = marker()
    r = env.ngx.get(path, headers={"X-Test-Marker": mark})
    assert r.status == 400, r
    assert r.headers.get("content-type", "").startswith(
        "application/json"), r
    body = r.json()
    assert "repo" in body["error"], body
    assert sorted(body["repos"]) == sorted(env.keys), body
    assert not any(marked_requests(f, mark) for f in env.fakes)


@pytest.mark.parametrize("path", ["/api/control/start",
                                  "/api/control/start?repo=__all__",
                                  "/api/pipeline?repo=__all__"])
def test_post_without_repo_is_400(env, path):
    mark = marker()
    r = env.ngx.post(path, body={}, headers={"X-Test-Marker": mark})
    assert r.status == 400, r
    body = r.json()
    assert "requires a specific repo" in body["error"], body
    assert sorted(body["repos"]) == sorted(env.keys), body
    assert not any(marked_requests(f, mark) for f in env.fakes)


# ---------------------------------------------------------------------------
# HEAD, gzip


def test_head_has_no_body(env):
    mark = marker()
    conn = env.ngx.connection()
    try:
        conn.request("HEAD", "/api/pipeline",
                     headers={"X-Test-Marker": mark})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200
        assert body == b""
        assert resp.getheader("Content-Type", "").startswith(
            "application/json")
        assert sorted(resp.getheader("X-Hydra-Repos", "").split(", ")) == \
            sorted(env.keys)
        length = resp.getheader("Content-Length")
        for f in env.fakes:             # the repos are asked a GET
            got = marked_requests(f, mark)
            assert [q.method for q in got] == ["GET"], (f.repo, got)
        # a body sent anyway would be read as the next response here
        r = env.ngx.get("/api/pipeline", conn=conn)
        doc = check_facts(r, env.keys, {})
        assert doc["stages"]
        if length is not None:
            assert int(length) == len(r.body)
    finally:
        conn.close()
    raw = env.ngx.raw(b"HEAD /api/hitl?repo=__all__ HTTP/1.1\r\n"
                      b"Host: localhost\r\nConnection: close\r\n\r\n")
    assert raw is not None and raw.status == 200, raw
    assert raw.body == b"", raw.body[:200]


def test_client_gzip_does_not_break_the_merge(env):
    # the fakes compress for a client that accepts it
    c = http.client.HTTPConnection(env.api.host, env.api.port, timeout=5)
    try:
        c.request("GET", "/api/pipeline", headers={"Accept-Encoding":
                                                  "gzip"})
        resp = c.getresponse()
        raw = resp.read()
        assert resp.getheader("Content-Encoding") == "gzip"
        assert json.loads(gzip.decompress(raw))["stages"]
    finally:
        c.close()

    per = {key_of(f): one(env.ngx, "/api/pipeline", f) for f in env.fakes}
    mark = marker()
    r = env.ngx.get("/api/pipeline", headers={
        "Accept-Encoding": "gzip, deflate", "X-Test-Marker": mark})
    if r.headers.get("content-encoding") == "gzip":
        r.body = gzip.decompress(r.body)
    doc = check_facts(r, env.keys, {})
    for key, p in per.items():
        assert repo_part(doc["stages"]["plan"], key) == \
            tagged(p["stages"]["plan"], key)
    for f in env.fakes:
        got = marked_requests(f, mark)
        assert len(got) == 1, (f.repo, got)
        assert got[0].header("accept-encoding") is None, got[0].headers


# ---------------------------------------------------------------------------
# fleets of their own


def test_same_issue_number_in_two_repos(fleet, nginx):
    one_ = start_repo(fleet, "acme/one", seed=11)
    two = start_repo(fleet, "acme/two", seed=11)
    three = start_repo(fleet, "acme/three")
    ngx = nginx(repos=[("acme/one", one_), ("acme/two", two),
                       ("acme/three", three)], http_extra=HTTP_EXTRA)
    wait_up(ngx, [one_, two, three])
    keys = ["acme-one", "acme-two", "acme-three"]

    p1 = one(ngx, "/api/pipeline", one_)
    p2 = one(ngx, "/api/pipeline", two)
    nums = sorted(i["issue_number"] for s in p1["stages"].values() for i in s)
    assert nums and nums == sorted(i["issue_number"] for s in
                                   p2["stages"].values() for i in s)
    doc = check_facts(ngx.get("/api/pipeline"), keys, {})
    merged = [i for s in doc["stages"].values() for i in s]
    for n in nums:
        tags = sorted(i["repo"] for i in merged if i["issue_number"] == n
                      and i["repo"] != "acme-three")
        assert tags == ["acme-one", "acme-two"], (n, tags)

    h1 = one(ngx, "/api/hitl", one_)
    doc = check_facts(ngx.get("/api/hitl"), keys, {}, "array")
    for item in h1:
        tags = sorted(i["repo"] for i in doc if i["issue"] == item["issue"]
                      and i["repo"] != "acme-three")
        assert tags == ["acme-one", "acme-two"], (item["issue"], tags)

    q1 = one(ngx, "/api/human-input", one_)
    doc = check_facts(ngx.get("/api/human-input"), keys, {}, "map")
    for n, question in q1.items():
        assert doc["acme-one#" + n] == question
        assert doc["acme-two#" + n] == question


def test_response_over_max_size_is_too_big(fleet, nginx):
    a = start_repo(fleet, "acme/a")
    b = start_repo(fleet, "acme/b")
    big = start_repo(fleet, "acme/big")
    ngx = nginx(repos=[("acme/a", a), ("acme/b", b), ("acme/big", big)],
                http_extra=HTTP_EXTRA + " hydra_max_response_size 4k;")
    wait_up(ngx, [a, b, big])
    small = {f: freeze(f, "/api/queue", lambda q: None) for f in (a, b)}
    assert all(len(json.dumps(q)) < 2000 for q in small.values())
    want = expected_queue([one(ngx, "/api/queue", f) for f in (a, b)])

    def sized(n):
        """A valid QueueStats of exactly n bytes."""
        q = {"queue_depth": {"find": 1}, "active_count": {},
             "total_processed": {}, "last_poll_timestamp": None,
             "dedup_stats": {}, "in_flight_count": 0, "pad": ""}
        q["pad"] = "x" * (n - len(json.dumps(q, separators=(",", ":"))))
        data = json.dumps(q, separators=(",", ":")).encode()
        assert len(data) == n
        return data

    for chunked in (False, True):
        big.answer("/api/queue", sized(4097), chunked=chunked)
        r = ngx.get("/api/queue")
        doc = check_facts(r, ["acme-a", "acme-b"], {"acme-big": "too big"})
        assert doc["queue_depth"] == want["queue_depth"], chunked

        big.answer("/api/queue", sized(4096), chunked=chunked)
        r = ngx.get("/api/queue")
        doc = check_facts(r, ["acme-a", "acme-b", "acme-big"], {})
        assert doc["queue_depth"]["find"] == \
            want["queue_depth"]["find"] + 1, chunked

    big.set_mode("ok")
    r = ngx.get("/api/pipeline")         # every fake's is over 4k
    for f in (a, b, big):
        assert len(json.dumps(f.view("/api/pipeline")[1])) > 4096
    assert r.status == 502, r
    assert partial_header(r) == {"acme-a": "too big", "acme-b": "too big",
                                 "acme-big": "too big"}


def test_repo_not_running_is_left_out(fleet, nginx):
    sup = fleet.supervisor()
    api = start_repo(fleet, "acme/api", supervisor=sup)
    web = start_repo(fleet, "acme/web", supervisor=sup)
    idle = start_repo(fleet, "acme/idle", supervisor=sup)
    sup.add(api)
    sup.add(web)
    sup.add(idle, running=False)
    ngx = nginx(supervisor=sup, http_extra=HTTP_EXTRA)
    wait_up(ngx, [api, web])
    idle.clear_requests()

    r = ngx.get("/api/pipeline")
    doc = check_facts(r, ["acme-api", "acme-web"],
                      {"acme-idle": "not running"})
    assert {i["repo"] for s in doc["stages"].values() for i in s} == \
        {"acme-api", "acme-web"}
    r = ngx.get("/api/prs")
    check_facts(r, ["acme-api", "acme-web"], {"acme-idle": "not running"},
                "array")
    assert not idle.requests_for("/api/pipeline")
    assert not idle.requests_for("/api/prs")

    sup.set_running("acme/api", False)
    sup.set_running("acme/web", False)

    def all_stopped():
        r = ngx.get("/api/queue")
        return r if r.status == 502 else None
    r = wait_for(all_stopped, timeout=6, message="still answered")
    assert partial_header(r) == {k: "not running" for k in
                                 ("acme-api", "acme-web", "acme-idle")}
    error = r.json()["error"]
    assert "acme-api=not running" in error, error
