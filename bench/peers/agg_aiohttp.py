#!/usr/bin/python3
"""The aggregated views of ngx_http_hydra_module as a Python service in
HydraFlow's style: what a HydraFlow user would write instead of the
module (bench/README.md, rows "pipeline" and "metrics").

    /usr/bin/python3 bench/peers/agg_aiohttp.py PORT TAG=HOST:PORT ...

One process, one shared aiohttp.ClientSession whose connector keeps up to
32 connections per repo alive (the nginx contenders' `keepalive 32` per
repo), asyncio.gather over the repos, json.loads, the module's merge
(DESIGN.md 3), web.json_response.  Debian's python3-aiohttp, standard
asyncio event loop.
"""

import asyncio
import json
import sys

import aiohttp
from aiohttp import web


TIMEOUT = aiohttp.ClientTimeout(total=2)     # hydra_timeout's default

LIFETIME_ZEROES = [
    "issues_completed", "prs_merged", "issues_created",
    "total_quality_fix_rounds", "total_ci_fix_rounds",
    "total_hitl_escalations", "total_review_request_changes",
    "total_review_approvals", "total_reviewer_fixes",
    "total_outcomes_merged", "total_outcomes_already_satisfied",
    "total_outcomes_hitl_closed", "total_outcomes_hitl_skipped",
    "total_outcomes_failed", "total_outcomes_manual_close",
    "total_outcomes_hitl_approved",
]


def valid_pipeline(root):
    return (isinstance(root, dict) and isinstance(root.get("stages"), dict)
            and all(isinstance(v, list) for v in root["stages"].values()))


def valid_object(root):
    return isinstance(root, dict)


def merge_pipeline(inputs, hydra):
    """Per stage, the repos' issues one repo after the other, tagged."""
    stages = {}
    ready = True
    for tag, root in inputs:
        if root.get("ready") is False:
            ready = False
        for name, issues in root["stages"].items():
            out = stages.setdefault(name, [])
            for item in issues:
                if isinstance(item, dict):
                    item["repo"] = tag
                    out.append(item)
    return {"stages": stages, "ready": ready, "hydra": hydra}


def add_into(out, key, value):
    """Numbers added, lists joined, maps merged key by key, else the
    first value."""
    have = out.get(key)
    if have is None:
        if isinstance(value, list):
            out[key] = list(value)
        elif isinstance(value, dict):
            o = out[key] = {}
            for k, v in value.items():
                add_into(o, k, v)
        else:
            out[key] = value
    elif isinstance(have, bool) or isinstance(value, bool):
        pass
    elif isinstance(have, (int, float)):
        if isinstance(value, (int, float)):
            out[key] = have + value
    elif isinstance(have, list):
        if isinstance(value, list):
            have.extend(value)
    elif isinstance(have, dict) and isinstance(value, dict):
        for k, v in value.items():
            add_into(have, k, v)


def num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) \
        else 0


def merge_metrics(inputs, hydra):
    lifetime, il, ses = {}, {}, {}
    retries = fired = None
    for tag, root in inputs:
        lt = root.get("lifetime")
        if isinstance(lt, dict):
            for k, v in lt.items():
                if k == "retries_per_stage":
                    # issue numbers of two repos never meet
                    if retries is None:
                        retries = lifetime[k] = {}
                    if isinstance(v, dict):
                        for issue, stages in v.items():
                            retries[f"{tag}#{issue}"] = stages
                elif k == "fired_thresholds":
                    if fired is None:
                        fired = lifetime[k] = []
                        seen = set()
                    if isinstance(v, list):
                        for name in v:
                            if isinstance(name, str) and name not in seen:
                                seen.add(name)
                                fired.append(name)
                elif k != "hydra":
                    add_into(lifetime, k, v)
        for k, v in (root.get("inference_lifetime") or {}).items():
            add_into(il, k, v)
        for k, v in (root.get("inference_session") or {}).items():
            add_into(ses, k, v)

    for k in LIFETIME_ZEROES:
        lifetime.setdefault(k, 0)
    for k in ("total_implementation_seconds", "total_review_seconds"):
        lifetime.setdefault(k, 0.0)
    lifetime.setdefault("merge_durations", [])
    lifetime.setdefault("retries_per_stage", {})
    lifetime.setdefault("fired_thresholds", [])

    # rates from the fleet's sums, never averages of the repos' rates
    rates = {}
    issues = num(lifetime["issues_completed"])
    reviews = (num(lifetime["total_review_approvals"])
               + num(lifetime["total_review_request_changes"]))
    if issues > 0:
        rates["merge_rate"] = num(lifetime["prs_merged"]) / issues
        rates["quality_fix_rate"] = (
            num(lifetime["total_quality_fix_rounds"]) / issues)
        rates["hitl_escalation_rate"] = (
            num(lifetime["total_hitl_escalations"]) / issues)
        rates["avg_implementation_seconds"] = (
            num(lifetime["total_implementation_seconds"]) / issues)
    if reviews > 0:
        rates["first_pass_approval_rate"] = (
            num(lifetime["total_review_approvals"]) / reviews)
        rates["reviewer_fix_rate"] = (
            num(lifetime["total_reviewer_fixes"]) / reviews)
    total = sum(num(c) for stages in lifetime["retries_per_stage"].values()
                if isinstance(stages, dict) for c in stages.values())
    if total > 0:
        rates["retries_per_stage"] = total

    # HydraFlow's get_merge_duration_stats over all repos' durations
    d = sorted(x for x in lifetime["merge_durations"]
               if isinstance(x, (int, float)) and not isinstance(x, bool))
    ttm = {}
    if d:
        n = len(d)
        ttm = {"avg": round(sum(d) / n, 1), "p50": round(d[n // 2], 1),
               "p90": round(d[min(int(n * 0.9), n - 1)], 1)}

    return {"lifetime": lifetime, "rates": rates, "time_to_merge": ttm,
            "thresholds": [], "inference_lifetime": il,
            "inference_session": ses, "hydra": hydra}


VIEWS = {
    "/api/pipeline": (valid_pipeline, merge_pipeline),
    "/api/metrics": (valid_object, merge_metrics),
}


async def fetch(session, tag, base, path):
    """(tag, root, None) or (tag, None, why)."""
    try:
        async with session.get(base + path) as resp:
            if resp.status != 200:
                return tag, None, f"http {resp.status}"
            body = await resp.read()
    except asyncio.TimeoutError:
        return tag, None, "timeout"
    except aiohttp.ClientError:
        return tag, None, "connect"
    try:
        return tag, json.loads(body), None
    except ValueError:
        return tag, None, "bad json"


async def aggregate(request):
    view = VIEWS.get(request.path)
    if view is None:
        return web.json_response(
            {"error": f"{request.path} has no merge rule: add ?repo="},
            status=400)
    valid, merge = view
    app = request.app
    results = await asyncio.gather(*(
        fetch(app["session"], tag, base, request.path)
        for tag, base in app["repos"]))
    inputs, answered, failed = [], [], {}
    for tag, root, why in results:
        if why is None and not valid(root):
            why = "bad shape"
        if why is not None:
            failed[tag] = why
            continue
        inputs.append((tag, root))
        answered.append(tag)
    if not inputs:
        return web.json_response(
            {"error": "no repo answered", "failed": failed}, status=502)
    return web.json_response(
        merge(inputs, {"answered": answered, "failed": failed}))


async def on_startup(app):
    app["session"] = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=32,
                                       keepalive_timeout=60),
        timeout=TIMEOUT, auto_decompress=False)


async def on_cleanup(app):
    await app["session"].close()


def main(argv):
    port = int(argv[1])
    repos = []
    for arg in argv[2:]:
        tag, addr = arg.split("=", 1)
        repos.append((tag, f"http://{addr}"))
    app = web.Application()
    app["repos"] = repos
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/api/{view:.*}", aggregate)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None,
                print=None)


if __name__ == "__main__":
    main(sys.argv)
