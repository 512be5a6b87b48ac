"""The event feeds: one upstream WebSocket per running repo, held by one
worker at a time (a lease in the zone), its events tagged, renumbered
and deduplicated on their way to the browsers' GET /ws.

What each repo sees of nginx on its /ws (one connection at a time, pings
answered, closes echoed, backoff) and the `events` flag of /api/repos;
then what reaches a browser's GET /ws, across restarts on new ports and
the owner worker being killed (skipped where GET /ws answers 501).
"""

import asyncio
import base64
import hashlib
import json
import os
import re
import signal
import struct
import time

import pytest
import websockets

from lib.hydra_nginx import find_entry, repos_doc, wait_for, wait_up


REPOS = ("acme/api", "acme/web", "acme/tools")


def open_ws(fake):
    """How many /ws connections the fake has open now."""
    return fake.call(lambda: len(fake._websockets))


def ws_requests(fake):
    return [q for q in list(fake.requests) if q.path == "/ws"]


def events_flags(ngx):
    """{slug: events} from /api/repos."""
    return {e["slug"]: e["events"] for e in repos_doc(ngx)["repos"]}


def wait_events(ngx, slugs, value=True, timeout=10.0):
    def check():
        flags = events_flags(ngx)
        return all(flags.get(s) is value for s in slugs) and flags
    return wait_for(check, timeout, message="events not %s for %s"
                    % (value, slugs))


def feed_owner(ngx, fake):
    """The pid of the worker whose feed to fake came up last."""
    pattern = re.compile(r"\[info\] (\d+)#\d+: hydra feed %s of \S+ is up"
                         % re.escape(fake.address))
    pids = [int(m.group(1)) for m in
            map(pattern.search, ngx.read_error_log().splitlines()) if m]
    return pids[-1] if pids else None


def watch_open_ws(fakes, seconds):
    """The most /ws connections each fake had open at once, sampled."""
    most = [0] * len(fakes)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for i, f in enumerate(fakes):
            most[i] = max(most[i], open_ws(f))
        time.sleep(0.02)
    return most


@pytest.fixture
def three(fleet, nginx):
    """nginx (2 workers) in front of 3 fake repos from a supervisor."""
    sup = fleet.supervisor()
    fakes = [fleet.repo(name, supervisor=sup) for name in REPOS]
    for f in fakes:
        sup.add(f)
    ngx = nginx(supervisor=sup)
    wait_up(ngx, fakes)
    return ngx, sup, fakes


def test_events_flag_follows_the_feed(three):
    ngx, sup, fakes = three
    wait_events(ngx, REPOS)

    api = fakes[0]
    api.set_mode("down")
    wait_for(lambda: events_flags(ngx)["acme/api"] is False, 10,
             message="events still true with acme/api down")
    flags = events_flags(ngx)
    assert flags["acme/web"] is True and flags["acme/tools"] is True

    api.set_mode("ok")
    wait_events(ngx, REPOS, timeout=40)
    ngx.assert_log_clean()


def test_one_feed_per_repo(three):
    ngx, sup, fakes = three
    wait_events(ngx, REPOS)

    # two workers tick, one connection to each repo, and it stays
    assert watch_open_ws(fakes, 3.0) == [1, 1, 1]
    for f in fakes:
        assert len(ws_requests(f)) == 1, ws_requests(f)
        q = ws_requests(f)[0]
        assert q.is_websocket and q.query_string == ""
        assert q.header("Sec-WebSocket-Version") == "13"
    ngx.assert_log_clean()


def test_not_running_has_no_feed(fleet, nginx):
    sup = fleet.supervisor()
    api = fleet.repo("acme/api", supervisor=sup)
    web = fleet.repo("acme/web", supervisor=sup)
    sup.add(api)
    sup.add(web, running=False)
    ngx = nginx(supervisor=sup)
    wait_events(ngx, ["acme/api"])
    time.sleep(1.5)
    assert events_flags(ngx)["acme/web"] is False
    assert ws_requests(web) == []

    # it stops: its feed goes
    sup.set_running("acme/api", False)
    wait_for(lambda: open_ws(api) == 0, 10,
             message="the feed of a stopped repo is still open")
    assert events_flags(ngx)["acme/api"] is False


def test_restart_on_new_port(fleet, three):
    ngx, sup, fakes = three
    wait_events(ngx, REPOS)
    api = fakes[0]
    old = api.port

    # the supervisor restarts it on a new port
    fleet.restart(api)
    assert api.port != old
    wait_for(lambda: find_entry(repos_doc(ngx), slug="acme/api")["address"]
             == api.address, 10, message="new port not in the registry")
    wait_events(ngx, ["acme/api"], timeout=40)
    wait_for(lambda: open_ws(api) == 1, 5)
    assert watch_open_ws([api], 1.5) == [1]
    ngx.assert_log_clean()


def test_owner_killed_another_worker_takes_over(three):
    ngx, sup, fakes = three
    wait_events(ngx, REPOS)
    api = fakes[0]
    owner = wait_for(lambda: feed_owner(ngx, api), 5)
    assert owner in ngx.worker_pids()

    ngx.allow_log("worker process %d exited on signal 9" % owner)
    os.kill(owner, signal.SIGKILL)

    # the socket dies with it; the lease runs out; another worker connects
    wait_for(lambda: feed_owner(ngx, api) not in (None, owner), 20,
             message="no other worker took over the feed")
    wait_events(ngx, REPOS)
    wait_for(lambda: open_ws(api) == 1, 5)
    assert watch_open_ws(fakes, 1.5) == [1, 1, 1]
    assert len(ws_requests(api)) == 2


def test_reload_hands_feeds_over(three):
    ngx, sup, fakes = three
    wait_events(ngx, REPOS)
    before = [len(ws_requests(f)) for f in fakes]
    ngx.reload()

    # the old workers let go at once, the new ones connect
    wait_for(lambda: [len(ws_requests(f)) for f in fakes]
             == [n + 1 for n in before], 10,
             message="feeds not reconnected after reload")
    wait_events(ngx, REPOS)
    assert watch_open_ws(fakes, 1.5) == [1, 1, 1]
    ngx.assert_log_clean()


# ---------------------------------------------------------------------------
# the protocol, against a scripted repo


GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class ScriptedRepo:
    """A repo dashboard whose /ws runs a test's script: the probe gets a
    HydraFlow status, /ws a 101 (with a wrong accept if asked) and then
    script(conn), a coroutine writing and reading raw frames."""

    def __init__(self, script, bad_accept=False):
        self.script = script
        self.bad_accept = bad_accept
        self.connects = []               # monotonic time of each upgrade
        self.open = 0
        self.port = None
        self.server = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    async def start(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1",
                                                 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                headers[k.strip().lower()] = v.strip()
            if not lines[0].startswith("GET /ws "):
                body = json.dumps({"status": "running",
                                   "config": {"repo": "edge/repo"}})
                writer.write(("HTTP/1.0 200 OK\r\nContent-Type: "
                              "application/json\r\n\r\n"
                              + body).encode())
                return
            accept = base64.b64encode(hashlib.sha1(
                headers["sec-websocket-key"].encode() + GUID).digest())
            if self.bad_accept:
                accept = base64.b64encode(b"x" * 20)
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\n"
                         b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            self.connects.append(time.monotonic())
            self.open += 1
            try:
                await self.script(Conn(reader, writer))
            finally:
                self.open -= 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class Conn:
    """Raw frames on an upgraded connection (server side)."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    async def send(self, opcode, payload=b"", fin=True, mask=None):
        if isinstance(payload, str):
            payload = payload.encode()
        head = bytes([(0x80 if fin else 0) | opcode])
        bit = 0x80 if mask else 0
        n = len(payload)
        if n < 126:
            head += bytes([bit | n])
        elif n < 65536:
            head += bytes([bit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([bit | 127]) + struct.pack("!Q", n)
        if mask:
            head += mask
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(head + payload)
        await self.writer.drain()

    async def recv(self, timeout=5.0):
        """(opcode, payload, masked) of the client's next frame."""
        async def read():
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            mask = await self.reader.readexactly(4) if b1 & 0x80 else None
            data = await self.reader.readexactly(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            return b0 & 0x0f, data, mask is not None
        return await asyncio.wait_for(read(), timeout)

    async def event(self, id_, type_="worker_update", data=None):
        await self.send(0x1, json.dumps({
            "id": id_, "type": type_,
            "timestamp": "2026-03-05T10:00:%02d.000000+00:00" % id_,
            "data": data or {"issue": id_}, "session_id": None}))


@pytest.fixture
def scripted(fleet, nginx):
    """start(script, **kw): nginx in front of one ScriptedRepo."""
    made = []

    def start(script, **kw):
        repo = ScriptedRepo(script, **kw)
        fleet.run(repo.start())
        made.append(repo)
        ngx = nginx(repos=[("edge/repo", repo.address)])
        return ngx, repo

    yield start
    for repo in made:
        fleet.run(repo.stop())


def test_pings_answered_fragments_taken(scripted):
    seen = []

    async def script(conn):
        await conn.event(1)
        await conn.send(0x9, b"are you there")
        seen.append(await conn.recv())
        # a message in three fragments, a ping between them
        text = json.dumps({"id": 2, "type": "transcript_line",
                           "timestamp": "2026-03-05T10:00:02+00:00",
                           "data": {"line": "x" * 3000}})
        await conn.send(0x1, text[:10], fin=False)
        await conn.send(0x0, text[10:2000], fin=False)
        await conn.send(0x9, b"")
        seen.append(await conn.recv())
        await conn.send(0x0, text[2000:], fin=True)
        await asyncio.sleep(30)

    ngx, repo = scripted(script)
    wait_events(ngx, ["edge/repo"])
    wait_for(lambda: len(seen) == 2, 5, message="pongs missing")
    assert seen == [(0xA, b"are you there", True), (0xA, b"", True)]
    time.sleep(1.0)
    assert repo.open == 1 and len(repo.connects) == 1
    assert events_flags(ngx)["edge/repo"] is True
    if served(ngx):
        got = [e for e in browser(ngx) if e.get("source_id") is not None]
        assert [(e["repo"], e["source_id"]) for e in got] \
            == [("edge-repo", 1), ("edge-repo", 2)]
        assert got[1]["data"] == {"line": "x" * 3000}
    ngx.assert_log_clean()


def test_close_echoed_then_backoff(scripted):
    got = []

    async def script(conn):
        await conn.event(1)
        if len(got) < 2:
            await conn.send(0x8, struct.pack("!H", 1001) + b"going away")
            got.append(await conn.recv())
            return
        await asyncio.sleep(30)

    ngx, repo = scripted(script)
    wait_for(lambda: len(repo.connects) >= 3, 15,
             message="no reconnect after the repo closed")
    # the code back, masked; then 1..2 s, then 1..4 s of backoff
    assert got == [(0x8, struct.pack("!H", 1001), True)] * 2
    gaps = [b - a for a, b in zip(repo.connects, repo.connects[1:])]
    assert 0.9 <= gaps[0] <= 3.5, gaps
    assert 0.9 <= gaps[1] <= 5.5, gaps
    wait_events(ngx, ["edge/repo"])
    ngx.assert_log_clean()


def test_protocol_error_closes_with_1002(scripted):
    got = []

    async def script(conn):
        if not got:
            # a server must not mask its frames
            await conn.send(0x1, b'{"id":1}', mask=b"abcd")
            got.append(await conn.recv())
            return
        await asyncio.sleep(30)

    ngx, repo = scripted(script)
    wait_for(lambda: len(repo.connects) >= 2, 10,
             message="no reconnect after a protocol error")
    assert got == [(0x8, struct.pack("!H", 1002), True)]
    assert ngx.log_lines("hydra feed", "broke the WebSocket protocol")


def test_message_over_4_mib_closes_with_1009(scripted):
    got = []

    async def script(conn):
        if not got:
            # the length alone says it: 4 MiB + 1 in two fragments
            await conn.send(0x1, b"x" * (2 << 20), fin=False)
            conn.writer.write(b"\x80\x7f" + struct.pack("!Q", (2 << 20) + 1))
            await conn.writer.drain()
            got.append(await conn.recv())
            return
        await conn.event(1)
        await asyncio.sleep(30)

    ngx, repo = scripted(script)
    wait_for(lambda: len(repo.connects) >= 2, 10,
             message="no reconnect after a message too big")
    assert got == [(0x8, struct.pack("!H", 1009), True)]
    wait_events(ngx, ["edge/repo"])


def test_wrong_accept_refused(scripted):
    async def script(conn):
        await conn.event(1)
        await asyncio.sleep(30)

    ngx, repo = scripted(script, bad_accept=True)
    time.sleep(5.0)
    # never up, and the attempts back off: t, +1..2, +1..4, +1..8, ...
    assert events_flags(ngx)["edge/repo"] is False
    gaps = [b - a for a, b in zip(repo.connects, repo.connects[1:])]
    assert 2 <= len(repo.connects) <= 5 and min(gaps) >= 0.9, gaps
    assert ngx.log_lines("wrong Sec-WebSocket-Accept")


# ---------------------------------------------------------------------------
# what reaches a browser: needs GET /ws for all repos


def browser(ngx, until=None, query="", idle=1.5, during=None):
    """The events of GET /ws?query, as JSON, until until(events) holds
    or none came for `idle` seconds; `during` is called once the socket
    is open."""

    async def run():
        url = "ws://127.0.0.1:%d/ws%s" % (ngx.port, query)
        out = []
        async with websockets.connect(url, open_timeout=5,
                                      max_size=None) as ws:
            if during is not None:
                await asyncio.get_running_loop().run_in_executor(None,
                                                                 during)
            while until is None or not until(out):
                try:
                    frame = await asyncio.wait_for(ws.recv(), idle)
                except asyncio.TimeoutError:
                    break
                out.append(json.loads(frame))
        return out

    return asyncio.run(run())


def served(ngx):
    """Whether GET /ws serves all repos (not the 501 of before)."""
    r = ngx.get("/ws", headers={"Upgrade": "websocket",
                                "Connection": "Upgrade",
                                "Sec-WebSocket-Version": "13",
                                "Sec-WebSocket-Key":
                                "dGhlIHNhbXBsZSBub25jZQ=="})
    return r.status != 501


@pytest.fixture
def fan_out(three):
    ngx, sup, fakes = three
    if not served(ngx):
        pytest.skip("GET /ws for all repos is not served yet")
    wait_events(ngx, REPOS)
    return three


def repo_events(events, key):
    return [e for e in events if e.get("repo") == key
            and e.get("source_id") is not None]


def key(fake):
    return fake.repo.replace("/", "-")


def complete(fakes):
    """until(): every fake's whole history is in."""
    def check(got):
        return all(len(repo_events(got, key(f))) == len(f.history())
                   for f in fakes)
    return check


def wait_history(ngx, fakes):
    """Every repo's history, as a browser gets it once all is in."""
    until = complete(fakes)

    def check():
        got = browser(ngx, until)
        return until(got) and got
    return wait_for(check, 20, interval=0.5,
                    message="history of every repo not in the ring")


def test_browser_gets_every_repo_tagged(fan_out):
    ngx, sup, fakes = fan_out
    got = wait_history(ngx, fakes)
    ids = [e["id"] for e in got]
    assert ids == sorted(set(ids)), "global ids not strictly increasing"
    for f in fakes:
        mine = repo_events(got, key(f))
        assert [e["source_id"] for e in mine] \
            == [e["id"] for e in f.history()]
        assert [e["type"] for e in mine] == [e["type"] for e in f.history()]
        assert [e["data"] for e in mine] == [e["data"] for e in f.history()]

    # a live event of each repo, after the history
    def emit():
        for i, f in enumerate(fakes):
            f.emit("hitl_update", {"issue": 100 + i, "status": "live test"})

    got = browser(ngx, complete(fakes), during=emit)
    live = [e for e in got if e.get("type") == "hitl_update"
            and e["data"].get("status") == "live test"]
    assert sorted(e["repo"] for e in live) == sorted(key(f) for f in fakes)
    assert all(e["id"] > ids[-1] for e in live)


def test_browser_no_duplicates_after_restart(fleet, fan_out):
    ngx, sup, fakes = fan_out
    api = fakes[0]
    wait_history(ngx, fakes)
    fleet.restart(api)
    wait_for(lambda: find_entry(repos_doc(ngx), slug="acme/api")["address"]
             == api.address, 10)
    wait_for(lambda: len(ws_requests(api)) == 2 and open_ws(api) == 1, 40,
             message="no feed to the restarted repo")
    api.emit("hitl_update", {"issue": 7, "status": "after restart"})

    def check():
        got = browser(ngx, complete(fakes))
        return complete(fakes)(got) and got
    got = wait_for(check, 15, interval=0.5)
    mine = repo_events(got, "acme-api")
    assert [e["source_id"] for e in mine] == [e["id"] for e in api.history()]
    assert mine[-1]["data"] == {"issue": 7, "status": "after restart"}
    ids = [e["id"] for e in got]
    assert ids == sorted(set(ids))


def test_browser_events_flow_after_owner_killed(fan_out):
    ngx, sup, fakes = fan_out
    api = fakes[0]
    wait_history(ngx, fakes)
    owner = wait_for(lambda: feed_owner(ngx, api), 5)
    ngx.allow_log("worker process %d exited on signal 9" % owner)
    os.kill(owner, signal.SIGKILL)
    wait_for(lambda: feed_owner(ngx, api) not in (None, owner), 20)
    wait_events(ngx, REPOS)
    api.emit("hitl_update", {"issue": 8, "status": "after kill"})

    def check():
        got = browser(ngx, complete(fakes))
        return complete(fakes)(got) and got
    got = wait_for(check, 15, interval=0.5)
    mine = repo_events(got, "acme-api")
    assert [e["source_id"] for e in mine] == [e["id"] for e in api.history()]
    assert mine[-1]["data"] == {"issue": 8, "status": "after kill"}


def test_browser_gets_health_and_registry_events(fleet, fan_out):
    ngx, sup, fakes = fan_out
    api = fakes[0]
    api.set_mode("down")

    def module_events(type_):
        got = browser(ngx, query="?types=repo_status,registry")
        return [e for e in got if e.get("type") == type_]

    def api_down():
        return [e for e in module_events("repo_status")
                if e["repo"] == "acme-api"
                and e["data"]["status"] == "down"]
    down = wait_for(api_down, 10, interval=0.5)[-1]
    assert down["data"]["repo"] == "acme-api"
    assert down["data"]["last_error"]
    assert down.get("source_id") is None

    new = fleet.repo("acme/new", supervisor=sup)
    sup.add(new)
    wait_for(lambda: [e for e in module_events("registry")
                      if e["data"] == {"repos": 4}], 10, interval=0.5,
             message="no registry event for the new repo")
