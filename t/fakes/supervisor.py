"""A fake HydraFlow supervisor (S0/P, contract section 4).

TCP on 127.0.0.1, one JSON object per line: each connection carries one
request line, gets one reply line, and is closed by the server.

Actions: ping, list_repos, add_repo, register_repo, remove_repo; anything
else is `{"status":"error","error":"unknown action"}`.

Test hooks (not part of HydraFlow):

    sup.add(repo=FakeRepo|None, slug=..., path=..., port=..., running=...)
    sup.entry(slug) / sup.remove(slug) / sup.set_running(slug, b) /
    sup.set_port(slug, p)
    sup.requests                  every request received (SupervisorRequest)
    sup.set_mode(m)               "ok" | "down" | "garbage" | "slow"

An entry linked to a FakeRepo reports that repo's current port (so a
restart on a new port is handed out at the next list_repos), unless a port
was set explicitly.  `running` is what the test says (default True), as in
HydraFlow it only means "this supervisor launched it and it is alive".
"""

import asyncio
import json
import os
import time

try:
    from .repo import FakeRepo, _LoopBound
except ImportError:                                  # run as a script
    from repo import FakeRepo, _LoopBound


MODES = ("ok", "down", "garbage", "slow")
GARBAGE = b"HTTP/1.1 400 Bad Request\r\n\r\n{\"status\": \"ok\", \"rep\n"


class SupervisorEntry:
    """One repo the supervisor knows (SupervisorRepo plus test links)."""

    def __init__(self, slug, path, repo=None, port=None, running=True,
                 log_file=None):
        self.slug = slug
        self.path = path
        self.repo = repo                 # linked FakeRepo or None
        self._port = port                # explicit port, or None
        self.running = running
        self._log_file = log_file
        self.owned = False               # started by add_repo

    @property
    def port(self):
        if self._port is not None:
            return self._port
        if self.repo is not None:
            return self.repo.port
        return 0

    @port.setter
    def port(self, value):
        self._port = value

    @property
    def log_file(self):
        if self._log_file is not None:
            return self._log_file
        if self.port == 0:
            return ""
        return "/home/dev/.hydraflow/logs/%s-%d.log" % (
            self.slug.replace("/", "-"), self.port)

    def to_json(self):
        return {
            "path": self.path,
            "slug": self.slug,
            "port": self.port,
            "dashboard_url": "http://localhost:%d" % self.port,
            "log_file": self.log_file,
            "running": bool(self.running),
        }


class SupervisorRequest:
    __slots__ = ("raw", "json", "time")

    def __init__(self, raw, obj):
        self.raw = raw
        self.json = obj
        self.time = time.monotonic()

    @property
    def action(self):
        return self.json.get("action") if isinstance(self.json, dict) \
            else None

    def __repr__(self):
        return "<supervisor %r>" % (self.json if self.json is not None
                                    else self.raw,)


class FakeSupervisor(_LoopBound):
    """The `hf supervisor` TCP service."""

    def __init__(self, *, port=0, host="127.0.0.1", slow_delay=3.0,
                 repo_factory=None):
        self.host = host
        self.port = port
        self.slow_delay = slow_delay
        self.entries = []
        self.requests = []
        self.mode = "ok"
        self._server = None
        self._alive = False
        # add_repo of an unknown path starts a new FakeRepo through this.
        self.repo_factory = repo_factory or (
            lambda slug: FakeRepo(slug if "/" in slug else "local/" + slug,
                                  supervisor=self))

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    # ------------------------------------------------------------------
    # lifecycle

    async def start(self, port=None):
        self._loop = asyncio.get_running_loop()
        self._alive = True
        await self._listen(self.port if port is None else port)
        return self

    async def stop(self):
        self._alive = False
        await self._unlisten()
        for e in self.entries:
            if e.owned and e.repo is not None:
                await e.repo.stop()

    async def restart(self, new_port=False, forget_running=True):
        """A supervisor restart: entries stay, running becomes false."""
        await self._unlisten()
        if forget_running:
            for e in self.entries:
                e.running = False
        self.mode = "ok"
        await self._listen(0 if new_port else self.port)
        return self.port

    async def _listen(self, port):
        self._server = await asyncio.start_server(
            self._handle, self.host, port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _unlisten(self):
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    # ------------------------------------------------------------------
    # test hooks

    def set_mode(self, mode, *, delay=None):
        return self._submit(self.aset_mode(mode, delay=delay))

    async def aset_mode(self, mode, *, delay=None):
        if mode not in MODES:
            raise ValueError("unknown mode %r" % mode)
        if delay is not None:
            self.slow_delay = delay
        self.mode = mode
        if mode == "down":
            await self._unlisten()
        elif self._server is None and self._alive:
            await self._listen(self.port)

    def add(self, repo=None, *, slug=None, path=None, port=None,
            running=True, log_file=None):
        """Register a repo; slug defaults to the FakeRepo's owner/name."""
        if slug is None:
            if repo is None:
                raise ValueError("slug or repo needed")
            slug = repo.repo
        if path is None:
            path = "/home/dev/src/%s" % slug.split("/")[-1]
        entry = SupervisorEntry(slug, path, repo=repo, port=port,
                                running=running, log_file=log_file)
        self.entries.append(entry)
        return entry

    def entry(self, slug):
        for e in self.entries:
            if e.slug == slug:
                return e
        raise KeyError(slug)

    def remove(self, slug):
        self.entries.remove(self.entry(slug))

    def set_running(self, slug, running):
        self.entry(slug).running = running

    def set_port(self, slug, port):
        self.entry(slug).port = port

    def list_repos(self):
        return [e.to_json() for e in self.entries]

    def clear_requests(self):
        del self.requests[:]

    def requests_for(self, action):
        return [r for r in list(self.requests) if r.action == action]

    # ------------------------------------------------------------------
    # protocol

    async def _handle(self, reader, writer):
        try:
            try:
                raw = await asyncio.wait_for(reader.readline(), 10)
            except (asyncio.TimeoutError, ValueError, ConnectionError):
                return
            try:
                obj = json.loads(raw.decode())
            except ValueError:
                obj = None
            self.requests.append(SupervisorRequest(raw, obj))
            if self.mode == "slow":
                await asyncio.sleep(self.slow_delay)
            if self.mode == "garbage":
                writer.write(GARBAGE)
            else:
                reply = await self._dispatch(obj)
                writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _dispatch(self, req):
        if not isinstance(req, dict):
            return {"status": "error", "error": "invalid request"}
        action = req.get("action")
        if action == "ping":
            return {"status": "ok"}
        if action == "list_repos":
            return {"status": "ok", "repos": self.list_repos()}
        if action == "add_repo":
            return await self._add_repo(req)
        if action == "register_repo":
            return self._register_repo(req)
        if action == "remove_repo":
            return await self._remove_repo(req)
        return {"status": "error", "error": "unknown action"}

    def _find(self, path=None, slug=None):
        for e in self.entries:
            if (slug and e.slug == slug) or (path and e.path == path):
                return e
        return None

    @staticmethod
    def _slug_for(req):
        path = req.get("path") or ""
        slug = req.get("repo_slug")
        if not slug:
            slug = os.path.basename(path.rstrip("/")).replace(" ", "-")
        return path, slug

    async def _add_repo(self, req):
        path, slug = self._slug_for(req)
        if not path:
            return {"status": "error", "error": "path required"}
        entry = self._find(path=path, slug=slug)
        started = False
        if entry is None:
            entry = self.add(None, slug=slug, path=path, running=False)
        if not entry.running:
            repo = entry.repo
            if repo is None:
                repo = self.repo_factory(entry.slug)
                entry.repo = repo
                entry.owned = True
                await repo.start()
            elif not repo.listening:
                await repo.restart(new_port=True)
            entry._port = None
            entry.running = True
            started = True
        return {"status": "ok", "slug": entry.slug, "port": entry.port,
                "dashboard_url": "http://localhost:%d" % entry.port,
                "log_file": entry.log_file, "started": started}

    def _register_repo(self, req):
        path, slug = self._slug_for(req)
        if not path:
            return {"status": "error", "error": "path required"}
        entry = self._find(path=path, slug=slug)
        if entry is None:
            self.add(None, slug=slug, path=path, port=0, running=False,
                     log_file="")
        return {"status": "ok", "slug": slug, "path": path}

    async def _remove_repo(self, req):
        entry = self._find(path=req.get("path"), slug=req.get("slug"))
        if entry is None:
            return {"status": "error", "error": "Repo not found"}
        self.entries.remove(entry)
        if entry.repo is not None and entry.owned:
            await entry.repo.stop()
        return {"status": "ok"}
