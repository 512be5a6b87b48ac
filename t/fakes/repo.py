"""A fake HydraFlow per-repo dashboard, supervisor era (S0).

One `FakeRepo` is one `python <repo>/src/cli.py --dashboard-port P` process
as /work/shared/docs/hydraflow-api.md describes it: FastAPI-style JSON on
127.0.0.1:<OS-chosen port>, `?repo=` ignored everywhere except the exact,
case-sensitive filter of `/api/sessions`, `/ws` that replays the history
then streams, `/api/repos` answered by calling the supervisor over TCP,
no `/healthz` (S0: the SPA catch-all answers it, as it answers every
non-`api/` path).

Test hooks (not part of HydraFlow):

    fake.requests                 every request received (Recorded)
    fake.set_mode(m)              "ok" | "down" | "slow" | "error5xx" |
                                  "garbage"
    await fake.restart(new_port=True)
    await fake.kill(rst=True)     die with every connection cut (restart()
                                  brings it back)
    fake.emit(type, data)         publish a live event
    fake.tick()                   move the simulation one step
    fake.view(path, query)        what a GET would answer, without a request
    fake.extra_headers            added to every response (empty by default)

The public methods may be called from the fakes' loop thread or from any
other thread (the pytest thread): they hop onto the loop and wait.
"""

import asyncio
import concurrent.futures
import json
import re
import socket
import struct
import time
import urllib.parse

from aiohttp import web, WSMsgType

try:
    from .state import RepoState, SUBSCRIBER_QUEUE, INTERVAL_BOUNDS
except ImportError:                                  # run as a script
    from state import RepoState, SUBSCRIBER_QUEUE, INTERVAL_BOUNDS


MODES = ("ok", "down", "slow", "error5xx", "garbage")
GARBAGE = b"<html><body>Internal proxy page</body></html>\x00\xff{not json"
SPA_INDEX = (b"<!doctype html><html><head><title>HydraFlow</title></head>"
             b"<body><h1>HydraFlow Dashboard</h1><p>Run 'make ui' to "
             b"build.</p></body></html>")


def dumps(obj):
    """JSON the way FastAPI's JSONResponse and pydantic write it."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":"))


def json_response(status, obj):
    return web.Response(status=status, body=dumps(obj).encode(),
                        content_type="application/json")


class Reply(Exception):
    """Raised inside a handler to answer at once (validation errors)."""

    def __init__(self, status, obj):
        super().__init__(status)
        self.response = json_response(status, obj)


class Recorded:
    """One request as the fake received it."""

    __slots__ = ("method", "path", "raw_path", "query_string", "headers",
                 "body", "peer", "time", "is_websocket")

    def __init__(self, request, body):
        self.method = request.method
        target = request.raw_path
        raw_path, _, raw_query = target.partition("?")
        self.raw_path = raw_path
        self.path = request.path
        self.query_string = raw_query
        self.headers = dict(request.headers.items())
        self.body = body
        peer = request.transport.get_extra_info("peername") \
            if request.transport else None
        self.peer = tuple(peer[:2]) if peer else None
        self.time = time.monotonic()
        self.is_websocket = (
            request.headers.get("Upgrade", "").lower() == "websocket")

    @property
    def query(self):
        """The query as (name, value) pairs, decoded, order kept."""
        return urllib.parse.parse_qsl(self.query_string,
                                      keep_blank_values=True)

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers.items():
            if k.lower() == name:
                return v
        return default

    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        q = "?" + self.query_string if self.query_string else ""
        return "<%s %s%s %dB>" % (self.method, self.raw_path, q,
                                  len(self.body or b""))


class _LoopBound:
    """Helpers to run code on the fakes' loop from any thread."""

    _loop = None

    def _in_loop(self):
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def call(self, fn, *args, **kwargs):
        """Run fn on the loop thread and return its result."""
        if self._loop is None or self._in_loop():
            return fn(*args, **kwargs)
        fut = concurrent.futures.Future()

        def run():
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as exc:             # noqa: B902
                fut.set_exception(exc)
        self._loop.call_soon_threadsafe(run)
        return fut.result(30)

    def _submit(self, coro):
        """From the loop: schedule and return the task; else wait."""
        if self._in_loop():
            return asyncio.ensure_future(coro)
        if self._loop is None:
            raise RuntimeError("fake not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)


class FakeRepo(_LoopBound):
    """A fake HydraFlow dashboard process for one repo."""

    def __init__(self, repo="acme/api", *, port=0, host="127.0.0.1",
                 supervisor=None, tick_interval=None, seed=None, issues=30,
                 history=60, running=True, slow_delay=3.0,
                 extra_headers=None):
        self.repo = repo
        self.host = host
        self.port = port
        self.supervisor = supervisor          # FakeSupervisor or "h:p"
        self.tick_interval = tick_interval
        self.slow_delay = slow_delay
        self.error_status = 503
        self.extra_headers = dict(extra_headers or {})
        self.state = RepoState(repo, seed=seed, issues=issues,
                               history=history, running=running)
        self.requests = []
        self.mode = "ok"
        self._runner = None
        self._alive = False
        self._tick_task = None
        self._websockets = set()
        self._routes = self._build_routes()

    # ------------------------------------------------------------------
    # lifecycle

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    @property
    def listening(self):
        return self._runner is not None

    async def start(self, port=None):
        self._loop = asyncio.get_running_loop()
        self._alive = True
        await self._listen(self.port if port is None else port)
        if self.tick_interval and self._tick_task is None:
            self._tick_task = asyncio.ensure_future(self._ticker())
        return self

    async def stop(self):
        """Stop for good (teardown)."""
        self._alive = False
        if self._tick_task is not None:
            self._tick_task.cancel()
            self._tick_task = None
        await self._unlisten()

    async def restart(self, new_port=True):
        """Die and come back, on a new OS-chosen port by default."""
        await self._unlisten()
        self.mode = "ok"
        await self._listen(0 if new_port else self.port)
        return self.port

    async def kill(self, rst=True):
        """Die as a killed process does: the listener goes and every
        connection (HTTP, WebSocket, keepalive) is cut at once, with a
        reset (SO_LINGER 0) when rst, else a plain close.  The state (the
        bus's history) stays: restart() brings the same repo back."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for site in list(runner.sites):
            server = getattr(site, "_server", None)
            if server is not None:
                server.close()                   # the listener, at once
        handlers = runner.server.connections if runner.server else []
        for handler in handlers:
            transport = handler.transport
            if transport is None:
                continue
            sock = transport.get_extra_info("socket")
            if rst and sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                except OSError:
                    pass
            transport.abort()
        await runner.cleanup()

    async def _listen(self, port):
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_response_prepare.append(self._on_prepare)
        # uvicorn closes idle keep-alive connections after 5 s.
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               keepalive_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port, shutdown_timeout=0.2,
                           reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        sock = site._server.sockets[0]
        self.port = sock.getsockname()[1]
        self._runner = runner

    async def _unlisten(self):
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for ws in list(self._websockets):
            # A dying process: the TCP connection just goes away.
            if ws._req is not None and ws._req.transport is not None:
                ws._req.transport.abort()
        await runner.cleanup()

    async def _ticker(self):
        while True:
            jitter = self.state.rng.uniform(0.7, 1.3)
            await asyncio.sleep(self.tick_interval * jitter)
            if self._runner is not None:
                self.state.tick()

    # ------------------------------------------------------------------
    # test hooks

    def set_mode(self, mode, *, delay=None, status=None):
        """Switch failure mode; returns once it is in effect."""
        return self._submit(self.aset_mode(mode, delay=delay,
                                           status=status))

    async def aset_mode(self, mode, *, delay=None, status=None):
        if mode not in MODES:
            raise ValueError("unknown mode %r" % mode)
        if delay is not None:
            self.slow_delay = delay
        if status is not None:
            self.error_status = status
        self.mode = mode
        if mode == "down":
            await self._unlisten()
        elif self._runner is None and self._alive:
            await self._listen(self.port)

    def emit(self, type_, data, session_id=False):
        """Publish a live event; returns it (with its id)."""
        return self.call(self.state.publish, type_, data,
                         session_id=session_id)

    def tick(self, n=1):
        def run():
            for _ in range(n):
                self.state.tick()
        self.call(run)

    def view(self, path, query=""):
        """(status, body) a GET of path?query would answer in mode ok."""
        def run():
            q = urllib.parse.parse_qsl(query, keep_blank_values=True)
            return self._view(path, dict(q))
        return self.call(run)

    def history(self):
        return self.call(lambda: list(self.state.history))

    def clear_requests(self):
        del self.requests[:]

    def requests_for(self, path=None, method=None):
        return [r for r in list(self.requests)
                if (path is None or r.path == path)
                and (method is None or r.method == method)]

    # ------------------------------------------------------------------
    # HTTP

    async def _on_prepare(self, request, response):
        response.headers["Server"] = "uvicorn"
        for k, v in self.extra_headers.items():
            response.headers[k] = v

    async def _handle(self, request):
        body = await request.read()
        self.requests.append(Recorded(request, body))
        if self.mode == "slow":
            await asyncio.sleep(self.slow_delay)
        elif self.mode == "error5xx":
            return json_response(self.error_status,
                                 {"error": "Service Unavailable"})
        elif self.mode == "garbage":
            return web.Response(status=200, body=GARBAGE,
                                content_type="application/json")
        try:
            return await self._dispatch(request, body)
        except Reply as r:
            return r.response
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception:                            # noqa: BLE001
            import traceback
            traceback.print_exc()
            return web.Response(status=500, text="Internal Server Error")

    def _build_routes(self):
        r = []

        def add(method, pattern, fn):
            r.append((method, re.compile("^" + pattern + "$"), fn))
        for path in ("/api/pipeline", "/api/pipeline/stats", "/api/queue",
                     "/api/stats", "/api/metrics", "/api/metrics/github",
                     "/api/metrics/history", "/api/hitl",
                     "/api/system/workers", "/api/prs", "/api/timeline",
                     "/api/events", "/api/control/status", "/api/sessions",
                     "/api/human-input", "/api/epics", "/api/runtimes"):
            add("GET", re.escape(path), self._get_view)
        add("GET", r"/api/sessions/(?P<sid>[^/]+)", self._get_session)
        add("DELETE", r"/api/sessions/(?P<sid>[^/]+)", self._delete_session)
        add("GET", r"/api/epics/(?P<n>[^/]+)", self._get_epic)
        add("GET", r"/api/repos", self._get_repos)
        add("POST", r"/api/repos", self._post_repos)
        add("POST", r"/api/control/start", self._post_start)
        add("POST", r"/api/control/stop", self._post_stop)
        add("PATCH", r"/api/control/config", self._patch_config)
        add("POST", r"/api/control/bg-worker", self._post_bg_worker)
        add("POST", r"/api/control/bg-worker/interval",
            self._post_bg_interval)
        add("POST", r"/api/hitl/(?P<n>[^/]+)/(?P<action>skip|close)",
            self._post_hitl)
        add("POST", r"/api/human-input/(?P<n>[^/]+)", self._post_human)
        add("POST", r"/api/request-changes", self._post_request_changes)
        add("POST", r"/api/intent", self._post_intent)
        add("POST", r"/api/runtimes/(?P<slug>[^/]+)/(?P<op>start|stop)",
            self._no_runtimes)
        add("GET", r"/ws", self._ws)
        return r

    async def _dispatch(self, request, body):
        path = request.path
        wrong_method = False
        for method, pattern, fn in self._routes:
            m = pattern.match(path)
            if m is None:
                continue
            if method != request.method:
                wrong_method = True
                continue
            return await fn(request, body, **m.groupdict())
        if wrong_method or request.method != "GET":
            # The SPA catch-all is a GET route that matches every path.
            return json_response(405, {"detail": "Method Not Allowed"})
        return self._spa(path)

    def _spa(self, path):
        tail = path.lstrip("/")
        if tail.startswith(("api/", "ws/", "assets/", "static/")) \
                or tail == "ws":
            return json_response(404, {"detail": "Not Found"})
        return web.Response(status=200, body=SPA_INDEX,
                            content_type="text/html", charset="utf-8")

    # --- request parsing, FastAPI style --------------------------------

    @staticmethod
    def _int_param(name, raw):
        try:
            return int(raw)
        except ValueError:
            raise Reply(422, {"detail": [{
                "type": "int_parsing", "loc": ["path", name],
                "msg": "Input should be a valid integer, unable to parse "
                       "string as an integer", "input": raw}]})

    @staticmethod
    def _body_dict(body):
        if not body:
            raise Reply(422, {"detail": [{
                "type": "missing", "loc": ["body"], "msg": "Field required",
                "input": None}]})
        try:
            obj = json.loads(body)
        except ValueError as exc:
            raise Reply(422, {"detail": [{
                "type": "json_invalid", "loc": ["body", exc.pos],
                "msg": "JSON decode error", "input": {},
                "ctx": {"error": exc.msg}}]})
        if not isinstance(obj, dict):
            raise Reply(422, {"detail": [{
                "type": "dict_type", "loc": ["body"],
                "msg": "Input should be a valid dictionary", "input": obj}]})
        return obj

    @staticmethod
    def _str_field(obj, field, min_length=0):
        if field not in obj:
            raise Reply(422, {"detail": [{
                "type": "missing", "loc": ["body", field],
                "msg": "Field required", "input": obj}]})
        value = obj[field]
        if not isinstance(value, str):
            raise Reply(422, {"detail": [{
                "type": "string_type", "loc": ["body", field],
                "msg": "Input should be a valid string", "input": value}]})
        if len(value) < min_length:
            raise Reply(422, {"detail": [{
                "type": "string_too_short", "loc": ["body", field],
                "msg": "String should have at least %d character%s"
                       % (min_length, "" if min_length == 1 else "s"),
                "input": value, "ctx": {"min_length": min_length}}]})
        return value

    # --- GET views -----------------------------------------------------

    def _view(self, path, query):
        s = self.state
        if path == "/api/pipeline":
            return 200, s.pipeline()
        if path == "/api/pipeline/stats":
            return 200, s.pipeline_stats()
        if path == "/api/queue":
            return 200, s.queue_stats()
        if path == "/api/stats":
            return 200, s.stats()
        if path == "/api/metrics":
            return 200, s.metrics()
        if path == "/api/metrics/github":
            return 200, s.github_metrics()
        if path == "/api/metrics/history":
            return 200, s.metrics_history()
        if path == "/api/hitl":
            return 200, s.hitl()
        if path == "/api/system/workers":
            return 200, s.workers()
        if path == "/api/prs":
            return 200, s.prs()
        if path == "/api/timeline":
            return 200, s.timeline()
        if path == "/api/events":
            return 200, s.events_since(query.get("since"))
        if path == "/api/control/status":
            return 200, s.control_status()
        if path == "/api/sessions":
            # S0: load_sessions(repo=<query>), exact and case-sensitive.
            return 200, s.session_list(repo=query.get("repo"))
        if path == "/api/human-input":
            return 200, dict(s.human_input)
        if path == "/api/epics":
            if not s.has_orchestrator or s.run_status != "running":
                return 503, {"error": "orchestrator not running"}
            return 200, s.epics_list()
        if path == "/api/runtimes":
            return 200, {"runtimes": []}
        if path.startswith("/api/sessions/"):
            detail = s.session_detail(path[len("/api/sessions/"):])
            if detail is None:
                return 404, {"error": "Session not found"}
            return 200, detail
        return 404, {"detail": "Not Found"}

    async def _get_view(self, request, body):
        q = dict(urllib.parse.parse_qsl(request.rel_url.raw_query_string,
                                        keep_blank_values=True))
        status, obj = self._view(request.path, q)
        return json_response(status, obj)

    async def _get_session(self, request, body, sid):
        detail = self.state.session_detail(sid)
        if detail is None:
            return json_response(404, {"error": "Session not found"})
        return json_response(200, detail)

    async def _delete_session(self, request, body, sid):
        return json_response(*self.state.delete_session(sid))

    async def _get_epic(self, request, body, n):
        number = self._int_param("epic_number", n)
        s = self.state
        if not s.has_orchestrator or s.run_status != "running":
            return json_response(503, {"error": "orchestrator not running"})
        detail = s.epic_detail(number)
        if detail is None:
            return json_response(404, {"error": "Epic not found"})
        return json_response(200, detail)

    # --- supervisor ----------------------------------------------------

    def _supervisor_address(self):
        sup = self.supervisor
        if sup is None:
            return None
        if isinstance(sup, str):
            host, _, port = sup.rpartition(":")
            return host, int(port)
        return sup.host, sup.port

    async def _supervisor(self, request, timeout=1.0):
        addr = self._supervisor_address()
        if addr is None:
            raise OSError("no supervisor")
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(*addr), timeout)
        try:
            writer.write((json.dumps(request) + "\n").encode())
            await writer.drain()
            data = await asyncio.wait_for(reader.read(65535), timeout)
        finally:
            writer.close()
        return json.loads(data.decode())

    async def _get_repos(self, request, body):
        try:
            resp = await self._supervisor({"action": "list_repos"})
            if resp.get("status") != "ok":
                raise RuntimeError(resp.get("error"))
        except Exception:                            # noqa: BLE001
            return json_response(503, {"error": "Supervisor unavailable"})
        return json_response(200, {"repos": list(resp.get("repos", []))})

    async def _post_repos(self, request, body):
        """Start a known repo by slug through the supervisor."""
        q = request.rel_url.query
        slug = q.get("slug") or q.get("repo")
        if not slug and body:
            try:
                obj = json.loads(body)
            except ValueError:
                obj = {}
            if isinstance(obj, dict):
                req = obj.get("req") if isinstance(obj.get("req"),
                                                   dict) else {}
                slug = obj.get("slug") or obj.get("repo") or req.get("slug")
        slug = (slug or "").strip()
        if not slug:
            return json_response(400, {"error": "slug required"})
        try:
            listing = await self._supervisor({"action": "list_repos"})
            repos = listing.get("repos", [])
        except Exception:                            # noqa: BLE001
            return json_response(503, {"error": "Supervisor unavailable"})
        match = next((r for r in repos if r.get("slug") == slug), None) \
            or next((r for r in repos
                     if str(r.get("slug", "")).lower() == slug.lower()),
                    None)
        if match is None:
            return json_response(404, {"error": "repo '%s' not found" % slug})
        try:
            info = await self._supervisor(
                {"action": "add_repo", "path": match["path"],
                 "repo_slug": match["slug"]}, timeout=25.0)
        except Exception as exc:                     # noqa: BLE001
            return json_response(500, {"error": str(exc)})
        return json_response(200, info)

    async def _no_runtimes(self, request, body, slug, op):
        return json_response(501,
                             {"error": "No runtime registry configured"})

    # --- mutations -----------------------------------------------------

    async def _post_start(self, request, body):
        return json_response(*self.state.start())

    async def _post_stop(self, request, body):
        status, obj = self.state.stop()
        if status == 200:
            self._loop.call_later(0.5, self._finish_stop)
        return json_response(status, obj)

    def _finish_stop(self):
        if self.state.run_status == "stopping":
            self.state._set_idle()

    async def _patch_config(self, request, body):
        return json_response(*self.state.patch_config(
            self._body_dict(body)))

    async def _post_bg_worker(self, request, body):
        return json_response(*self.state.toggle_worker(
            self._body_dict(body)))

    async def _post_bg_interval(self, request, body):
        obj = self._body_dict(body)
        name = obj.get("name")
        interval = obj.get("interval_seconds")
        if not name or interval is None:
            return json_response(400, {
                "error": "name and interval_seconds are required"})
        if name not in INTERVAL_BOUNDS:
            return json_response(400, {
                "error": "interval not editable for worker '%s'" % name})
        try:
            interval = int(interval)
        except (TypeError, ValueError):
            return json_response(400, {
                "error": "interval_seconds must be an integer"})
        lo, hi = INTERVAL_BOUNDS[name]
        if interval < lo or interval > hi:
            return json_response(422, {
                "error": "interval_seconds must be between %d and %d"
                         % (lo, hi)})
        if not self.state.has_orchestrator:
            return json_response(400, {"error": "no orchestrator"})
        self.state.worker_interval[name] = interval
        return json_response(200, {"status": "ok", "name": name,
                                   "interval_seconds": interval})

    async def _post_hitl(self, request, body, n, action):
        number = self._int_param("issue_number", n)
        obj = self._body_dict(body)
        reason = self._str_field(obj, "reason", min_length=1)
        return json_response(*self.state.hitl_action(number, action,
                                                     reason))

    async def _post_human(self, request, body, n):
        number = self._int_param("issue_number", n)
        obj = self._body_dict(body)
        return json_response(*self.state.answer_human_input(
            number, obj.get("answer", "")))

    async def _post_request_changes(self, request, body):
        return json_response(*self.state.request_changes(
            self._body_dict(body)))

    async def _post_intent(self, request, body):
        obj = self._body_dict(body)
        text = self._str_field(obj, "text", min_length=1)
        return json_response(*self.state.intent(text))

    # --- WebSocket -----------------------------------------------------

    async def _ws(self, request, body):
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return json_response(404, {"detail": "Not Found"})
        ws = web.WebSocketResponse(heartbeat=20.0, autoping=True)
        await ws.prepare(request)
        # Snapshot the history BEFORE subscribing, as HydraFlow does.
        history = list(self.state.history)
        queue = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self.state.subscribers.add(queue)
        self._websockets.add(ws)
        reader = asyncio.ensure_future(self._ws_drain(ws))
        try:
            for event in history:
                await ws.send_str(dumps(event))
            while not ws.closed:
                get = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {get, reader}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    break
                await ws.send_str(dumps(get.result()))
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self.state.subscribers.discard(queue)
            self._websockets.discard(ws)
            reader.cancel()
        if not ws.closed:
            try:
                await ws.close()
            except Exception:                        # noqa: BLE001
                pass
        return ws

    @staticmethod
    async def _ws_drain(ws):
        """Client frames are read only to notice the close."""
        async for msg in ws:
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING,
                            WSMsgType.CLOSED, WSMsgType.ERROR):
                break
