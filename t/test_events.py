"""GET /ws: one repo's WebSocket through nginx's own proxying (HydraFlow's
behaviour untouched), and the refusals of a request that names no
reachable repo."""

import asyncio
import json

import pytest
import websockets

from lib.hydra_nginx import repos_doc, wait_for, wait_up


def ws_frames(url, count, headers=None, timeout=5.0):
    """The first `count` text frames of a WebSocket, as JSON."""

    async def run():
        async with websockets.connect(url, extra_headers=headers or {},
                                      open_timeout=timeout) as ws:
            out = []
            while len(out) < count:
                out.append(json.loads(await asyncio.wait_for(ws.recv(),
                                                             timeout)))
            return out

    return asyncio.run(run())


def ws_refused(url):
    """The HTTP status a refused handshake got."""

    async def run():
        try:
            async with websockets.connect(url, open_timeout=5):
                return 101
        except websockets.exceptions.InvalidStatusCode as exc:
            return exc.status_code

    return asyncio.run(run())


@pytest.fixture
def env(fleet, nginx):
    api = fleet.repo("acme/api")
    web = fleet.repo("acme/web")
    ngx = nginx(repos=[("acme/api", api), ("acme/web", web)])
    wait_up(ngx, [api, web])
    return ngx, api, web


def test_one_repo_is_proxied_with_its_history(env):
    ngx, api, web = env
    history = api.history()
    assert len(history) >= 3
    got = ws_frames("ws://127.0.0.1:%d/ws?repo=acme-api" % ngx.port,
                    len(history))
    # the repo's own frames, ids and all: nothing rewritten on this path
    assert got == history[:len(got)]
    # and the repo saw its /ws without our "repo" argument
    seen = [q for q in api.requests if q.path == "/ws"]
    assert seen and "repo=" not in seen[-1].query_string


def test_live_event_passes(env):
    ngx, api, web = env
    n = len(api.history())

    async def run():
        url = "ws://127.0.0.1:%d/ws?repo=acme%%2Fweb" % ngx.port
        async with websockets.connect(url) as ws:
            for _ in range(len(web.history())):
                await asyncio.wait_for(ws.recv(), 5)
            web.emit("hitl_update", {"issue": 12, "status": "pending"})
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    event = asyncio.run(run())
    assert event["type"] == "hitl_update"
    assert event["data"] == {"issue": 12, "status": "pending"}
    assert len(api.history()) == n


@pytest.mark.parametrize("query, status", [
    ("?repo=acme-nope", 404),
    ("?repo=..%2F..%2Fetc", 404),
    ("?repo=%00", 400),
    ("?repo=a&repo=b", 400),
])
def test_refused_before_the_handshake(env, query, status):
    ngx, api, web = env

    # the module's own requests: its event feeds, once (they may come
    # after wait_up, under valgrind), and its probes, every second
    def passed():
        return [q for f in (api, web) for q in list(f.requests)
                if q.path != "/api/control/status"]
    wait_for(lambda: all(e["events"] for e in repos_doc(ngx)["repos"]),
             interval=0.02, message="event feeds not up")
    before = len(passed())
    assert ws_refused("ws://127.0.0.1:%d/ws%s" % (ngx.port, query)) \
        == status
    assert len(passed()) == before


def test_plain_get_is_told_to_upgrade(env):
    ngx, api, web = env
    r = ngx.get("/ws?repo=acme-api")
    assert r.status == 400, r
    assert "Upgrade" in r.json()["error"]
