"""Clients for the fault tests (t/test_faults.py): browsers that follow a
WebSocket of nginx through closes and reconnects, a load of keepalive HTTP
clients that records what each request got, and the checks of an event
stream (no id lost, none twice).

    ws = WsFollower(ngx.port).start()     # GET /ws, resumes with ?since=
    load = HttpLoad(ngx.port, ["/api/pipeline", ...], clients=4).start()
    ...
    ws.stop(); load.stop()
    check_contiguous(ws.events)

Everything runs in threads of its own, so the test's thread can kill,
freeze and reload meanwhile.
"""

import asyncio
import http.client
import json
import socket
import threading
import time

import websockets

from lib import hydra_nginx
from lib.hydra_nginx import repos_doc, wait_for


# a wait or timeout that nginx must meet, longer under valgrind
scaled = getattr(hydra_nginx, "scaled", lambda seconds: seconds)

# the clients started and not stopped yet (stop_all() after a test)
_running = set()


def stop_all():
    """Stops every WsFollower and HttpLoad still running."""
    for client in list(_running):
        client.stop()


def key_of(fake):
    """The dash form HydraFlow tags events and items with."""
    return fake.repo.replace("/", "-")


# ---------------------------------------------------------------------------
# browsers


class WsFollower:
    """A browser on ws://nginx/ws<query>, in a thread of its own.

    Every text message is kept (parsed JSON) in `events`.  After a close
    or an error it connects again (unless reconnect is false), with
    `since=<last id>` when resume is true, as HydraFlow's UI would.
    hold() closes the socket and stays away until release().

        connects    handshakes that succeeded
        closes      (monotonic time, close code or error name) per socket
        failures    (monotonic time, error) per failed connect
    """

    def __init__(self, port, query="", resume=True, reconnect=True,
                 name="ws"):
        self.base = "ws://127.0.0.1:%d/ws" % port
        self.query = query
        self.resume = resume
        self.reconnect = reconnect
        self.name = name
        self.events = []
        self.arrived = []                # monotonic time of each event
        self.connects = 0
        self.closes = []
        self.failures = []
        self.urls = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._hold = threading.Event()
        self._open = threading.Event()
        self._thread = None

    # --- control -----------------------------------------------------

    def start(self, wait=True):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="ws-" + self.name)
        _running.add(self)
        self._thread.start()
        if wait:
            wait_for(self._open.is_set, scaled(10),
                     message="%s: no handshake" % self.name)
        return self

    def stop(self):
        self._stop.set()
        _running.discard(self)
        if self._thread is not None:
            self._thread.join(10)

    def hold(self, timeout=5):
        """Close the socket now and stay disconnected."""
        self._hold.set()
        wait_for(lambda: not self._open.is_set(), timeout,
                 message="%s: still open" % self.name)

    def release(self, wait=True):
        self._hold.clear()
        if wait:
            wait_for(self._open.is_set, scaled(10),
                     message="%s: no handshake after release" % self.name)

    @property
    def is_open(self):
        return self._open.is_set()

    # --- reading what came ---------------------------------------------

    def snapshot(self):
        with self._lock:
            return list(self.events)

    def count(self):
        with self._lock:
            return len(self.events)

    def last_id(self):
        with self._lock:
            for e in reversed(self.events):
                if isinstance(e.get("id"), int):
                    return e["id"]
        return None

    def of_repo(self, key, since=0):
        """Events of repo `key` (with a source_id), from index since."""
        with self._lock:
            return [e for e in self.events[since:]
                    if e.get("repo") == key
                    and e.get("source_id") is not None]

    def wait(self, cond, timeout, message):
        """Waits until cond(snapshot of events) is true; returns it."""
        def check():
            got = self.snapshot()
            return got if cond(got) else None
        return wait_for(check, timeout, message="%s: %s" % (self.name,
                                                            message))

    # --- the thread ----------------------------------------------------

    def _url(self):
        url = self.base + self.query
        last = self.last_id() if self.resume else None
        if last is not None:
            url += ("&" if "?" in url else "?") + "since=%d" % last
        return url

    def _run(self):
        asyncio.run(self._main())

    async def _main(self):
        while not self._stop.is_set():
            if self._hold.is_set():
                await asyncio.sleep(0.02)
                continue
            url = self._url()
            self.urls.append(url)
            opened = False
            try:
                async with websockets.connect(
                        url, open_timeout=scaled(5), close_timeout=1,
                        max_size=None, ping_interval=None) as ws:
                    opened = True
                    self.connects += 1
                    self._open.set()
                    try:
                        await self._read(ws)
                    finally:
                        self._open.clear()
                self.closes.append((time.monotonic(), "client"))
            except websockets.ConnectionClosed as exc:
                rcvd = getattr(exc, "rcvd", None)
                code = rcvd.code if rcvd is not None else None
                self.closes.append((time.monotonic(), code))
            except (OSError, asyncio.TimeoutError,
                    websockets.WebSocketException) as exc:
                if opened:
                    self.closes.append((time.monotonic(),
                                        type(exc).__name__))
                else:
                    self.failures.append((time.monotonic(), repr(exc)))
            self._open.clear()
            if not self.reconnect:
                break
            await asyncio.sleep(0.05)

    async def _read(self, ws):
        while not self._stop.is_set() and not self._hold.is_set():
            try:
                msg = await asyncio.wait_for(ws.recv(), 0.1)
            except asyncio.TimeoutError:
                continue
            e = json.loads(msg)
            with self._lock:
                self.events.append(e)
                self.arrived.append(time.monotonic())


# ---------------------------------------------------------------------------
# checks of a stream of the all-repos /ws


def check_contiguous(events, name="stream"):
    """The global ids one browser got over all its sockets: each once, in
    order, none missing (a reconnect with since= resumes exactly), and
    no gap event."""
    ids = [e["id"] for e in events]
    assert ids, "%s: no events" % name
    dup = sorted({i for i in ids if ids.count(i) > 1})
    assert not dup, "%s: ids received twice: %s" % (name, dup[:20])
    missing = sorted(set(range(ids[0], ids[-1] + 1)) - set(ids))
    assert not missing, "%s: ids lost: %s" % (name, missing[:20])
    assert ids == sorted(ids), "%s: ids out of order" % name
    gaps = [e for e in events if e.get("type") == "gap"]
    assert not gaps, "%s: gap events %s" % (name, gaps[:3])


def check_repo_events(events, key, history, name="stream"):
    """A repo's events in a browser's stream are its history exactly:
    every event it published, in its order, once, unchanged."""
    mine = [e for e in events if e.get("repo") == key
            and e.get("source_id") is not None]
    got = [e["source_id"] for e in mine]
    want = [h["id"] for h in history]
    if got != want:
        lost = sorted(set(want) - set(got))
        twice = sorted({i for i in got if got.count(i) > 1})
        extra = sorted(set(got) - set(want))
        raise AssertionError(
            "%s: %s events differ from its history (%d got, %d published)"
            ": lost %s, twice %s, unknown %s" % (
                name, key, len(got), len(want), lost[:20], twice[:20],
                extra[:20]))
    for e, h in zip(mine, history):
        assert (e["type"], e["data"], e["timestamp"]) == \
            (h["type"], h["data"], h["timestamp"]), (name, e, h)


def complete(keys_histories):
    """cond() for WsFollower.wait: every repo's whole history is in."""
    def cond(events):
        for key, history in keys_histories.items():
            n = sum(1 for e in events if e.get("repo") == key
                    and e.get("source_id") is not None)
            if n < len(history):
                return False
        return True
    return cond


def histories(fakes):
    return {key_of(f): f.history() for f in fakes}


# ---------------------------------------------------------------------------
# HTTP load


class Result:
    __slots__ = ("t0", "t1", "client", "path", "status", "error", "partial",
                 "worker", "retry", "body")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    @property
    def took(self):
        return self.t1 - self.t0

    def __repr__(self):
        return "<%s %s %s%s at %.3f took %.3f%s>" % (
            self.client, self.path, self.status or self.error,
            " partial=%s" % self.partial if self.partial else "",
            self.t0, self.took, " retry" if self.retry else "")


CONNECTION_ERRORS = (http.client.HTTPException, OSError)


class HttpLoad:
    """`clients` threads, each with one keepalive connection, asking the
    paths round and round.  A request that fails on the connection
    (reset, closed) is recorded, then asked again once on a new
    connection (recorded with retry=True).  Each Result has the status,
    X-Hydra-Partial and X-Worker (when the server adds it).  `pause`
    seconds between two requests of a client (none by default)."""

    def __init__(self, port, paths, clients=4, timeout=10, keep_body=False,
                 pause=0.0):
        self.port = port
        self.pause = pause
        self.paths = list(paths)
        self.clients = clients
        self.timeout = scaled(timeout)
        self.keep_body = keep_body
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        _running.add(self)
        for i in range(self.clients):
            t = threading.Thread(target=self._client, args=(i,),
                                 daemon=True, name="http-%d" % i)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        _running.discard(self)
        for t in self._threads:
            t.join(self.timeout + 5)

    def snapshot(self):
        with self._lock:
            return list(self.results)

    def done(self, since=0.0, ok_only=True):
        """Requests finished after `since` (monotonic), per client."""
        per = [0] * self.clients
        for r in self.snapshot():
            if r.t1 >= since and (r.status == 200 or not ok_only):
                per[r.client] += 1
        return per

    def wait_done(self, n, since=0.0, timeout=20):
        """Waits until every client finished n more requests."""
        return wait_for(lambda: min(self.done(since)) >= n, timeout,
                        message="HTTP clients stalled: %r"
                        % (self.done(since),))

    def _connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=self.timeout)

    def _one(self, conn, client, path, retry):
        t0 = time.monotonic()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        except CONNECTION_ERRORS as exc:
            conn.close()
            res = Result(t0=t0, t1=time.monotonic(), client=client,
                         path=path, error=type(exc).__name__, retry=retry)
        else:
            res = Result(t0=t0, t1=time.monotonic(), client=client,
                         path=path, status=resp.status,
                         partial=resp.getheader("X-Hydra-Partial"),
                         worker=resp.getheader("X-Worker"), retry=retry,
                         body=body if (self.keep_body
                                       or resp.status != 200) else None)
        with self._lock:
            self.results.append(res)
        return res

    def _client(self, client):
        conn = self._connection()
        i = client
        while not self._stop.is_set():
            path = self.paths[i % len(self.paths)]
            i += 1
            res = self._one(conn, client, path, False)
            if res.error is not None:
                conn = self._connection()
                self._one(conn, client, path, True)
            if self.pause:
                self._stop.wait(self.pause)
        conn.close()


# ---------------------------------------------------------------------------
# the module's view of the fleet


def events_flags(ngx):
    """{slug: events} from /api/repos."""
    return {e["slug"]: e["events"] for e in repos_doc(ngx)["repos"]}


def wait_feeds(ngx, slugs, timeout=20):
    """Until /api/repos says the feed of every slug is up."""
    def check():
        flags = events_flags(ngx)
        return all(flags.get(s) is True for s in slugs) and flags
    return wait_for(check, scaled(timeout),
                    message="feeds not all up: %s" % (slugs,))


def supervisor_call(sup, request, timeout=5):
    """One request to a HydraFlow supervisor (TCP, a JSON line each way)."""
    host, _, port = sup.address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall((json.dumps(request) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def worker_of_each(ngx, path="/api/repos", most=200, fast=1.0):
    """Opens new connections (kept open, so the kernel spreads them)
    until every worker answered one; each answer must come within
    `fast` seconds.  Returns {worker pid: answers}.  Needs
    `add_header X-Worker $pid always;`."""
    pids = {str(p) for p in ngx.worker_pids()}
    seen = {}
    conns = []
    try:
        for _ in range(most):
            conn = http.client.HTTPConnection("127.0.0.1", ngx.port,
                                              timeout=scaled(10))
            conns.append(conn)
            t0 = time.monotonic()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            took = time.monotonic() - t0
            assert resp.status == 200, (path, resp.status)
            assert took < scaled(fast), \
                "a worker took %.2fs to answer %s" % (took, path)
            w = resp.getheader("X-Worker")
            seen[w] = seen.get(w, 0) + 1
            if pids <= set(seen):
                break
    finally:
        for c in conns:
            c.close()
    assert pids <= set(seen), "workers %s never answered (%r)" % (
        sorted(pids - set(seen)), seen)
    return seen
