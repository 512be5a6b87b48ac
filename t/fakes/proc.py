#!/usr/bin/python3
"""A FakeRepo in a process of its own, for the faults a thread cannot
play: SIGSTOP/SIGCONT (a frozen repo) and SIGKILL (a repo that dies with
its connections, its listener and whatever it was writing).

    cd t && /usr/bin/python3 -m fakes.proc --repo acme/api [--port 0]
        [--history 60] [--issues 30] [--seed N] [--supervisor host:port]

prints one line `PORT=<port>` once it listens, then serves until SIGTERM,
SIGINT or the end of its standard input.  Commands come on standard
input, one JSON object a line, and each gets one JSON line on standard
output:

    {"cmd":"ping"}                               {"ok":true}
    {"cmd":"emit","type":T,"data":D}             the event published
    {"cmd":"history"}                            [every event it holds]
    {"cmd":"stream","every":0.02}                {"ok":true}: from now on
        an event ("hitl_update", {"n":i,"stream":true}) every `every`
        seconds; "every":0 stops it
    {"cmd":"mode","mode":M,"delay":S}            {"ok":true} (FakeRepo's)
    {"cmd":"stall","path":P,"before_headers":B}  {"ok":true}: every GET of
        P from now on hangs, after its headers and half its body (or
        before anything when B); "path":null stops stalling
    {"cmd":"stalled"}                            {"count":N}: GETs hanging
    {"cmd":"die","rst":true}                     no answer: the process
        exits at once; with "rst" every connection is reset (SO_LINGER 0),
        else the kernel closes them as for a killed process

`ProcRepo`, imported from here, starts one and speaks that protocol, with
the address/port/repo/emit/history of a FakeRepo, plus freeze() and
thaw() (SIGSTOP, SIGCONT), kill() (SIGKILL) and stop().
"""

import argparse
import asyncio
import json
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading

T_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if T_DIR not in sys.path:
    sys.path.insert(0, T_DIR)

from aiohttp import web                               # noqa: E402

from fakes.repo import FakeRepo                       # noqa: E402


# ---------------------------------------------------------------------------
# the child: a FakeRepo driven from standard input


class StallingRepo(FakeRepo):
    """FakeRepo whose GETs of one path can hang, before or in the body."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stall_path = None
        self.stall_before_headers = False
        self.stalled = 0

    async def _dispatch(self, request, body):
        if request.method != "GET" or request.path != self.stall_path:
            return await super()._dispatch(request, body)
        if self.stall_before_headers:
            self.stalled += 1
            await asyncio.sleep(3600)
        resp = await super()._dispatch(request, body)
        data = resp.body
        stream = web.StreamResponse(status=resp.status)
        stream.content_type = "application/json"
        stream.content_length = len(data)
        await stream.prepare(request)
        await stream.write(data[:len(data) // 2])
        self.stalled += 1
        await asyncio.sleep(3600)
        return stream


def _die(repo, rst):
    if rst and repo._runner is not None and repo._runner.server is not None:
        linger = struct.pack("ii", 1, 0)
        for handler in repo._runner.server.connections:
            transport = handler.transport
            sock = transport.get_extra_info("socket") if transport else None
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    linger)
                except OSError:
                    pass
    sys.stdout.flush()
    os._exit(0)


async def _command(repo, obj, streamer):
    cmd = obj.get("cmd")
    if cmd == "ping":
        return {"ok": True}
    if cmd == "emit":
        return repo.state.publish(obj["type"], obj.get("data") or {})
    if cmd == "history":
        return list(repo.state.history)
    if cmd == "stream":
        streamer["every"] = float(obj.get("every") or 0)
        streamer["wake"].set()
        return {"ok": True}
    if cmd == "mode":
        await repo.aset_mode(obj["mode"], delay=obj.get("delay"))
        return {"ok": True}
    if cmd == "stall":
        repo.stall_path = obj.get("path")
        repo.stall_before_headers = bool(obj.get("before_headers"))
        return {"ok": True}
    if cmd == "stalled":
        return {"count": repo.stalled}
    if cmd == "die":
        _die(repo, bool(obj.get("rst")))
    return {"error": "unknown command %r" % cmd}


async def _stream(repo, streamer):
    n = 0
    while True:
        every = streamer["every"]
        if every <= 0:
            streamer["wake"].clear()
            await streamer["wake"].wait()
            continue
        repo.state.publish("hitl_update", {"n": n, "stream": True})
        n += 1
        await asyncio.sleep(every)


async def child_main(args):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    repo = StallingRepo(args.repo, port=args.port, seed=args.seed,
                        history=args.history, issues=args.issues,
                        supervisor=args.supervisor)
    await repo.start()
    streamer = {"every": 0.0, "wake": asyncio.Event()}
    stream_task = asyncio.ensure_future(_stream(repo, streamer))

    lines = asyncio.Queue()

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_stdin, daemon=True).start()
    print("PORT=%d" % repo.port, flush=True)

    async def serve_commands():
        while True:
            line = await lines.get()
            if line is None:
                stop.set()
                return
            if not line.strip():
                continue
            try:
                reply = await _command(repo, json.loads(line), streamer)
            except Exception as exc:                 # noqa: BLE001
                reply = {"error": repr(exc)}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()

    commands = asyncio.ensure_future(serve_commands())
    await stop.wait()
    commands.cancel()
    stream_task.cancel()
    await repo.stop()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", default="acme/api", help="owner/name")
    p.add_argument("--port", type=int, default=0,
                   help="port to listen on (default: OS-chosen)")
    p.add_argument("--history", type=int, default=60,
                   help="events in the bus at start")
    p.add_argument("--issues", type=int, default=30,
                   help="issues of its pipeline (3000: about 500 KB)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--supervisor", default=None,
                   help="host:port of the supervisor (for /api/repos)")
    return p.parse_args(argv)


# ---------------------------------------------------------------------------
# the parent's handle


class ProcRepoError(Exception):
    pass


class ProcRepo:
    """A fakes.proc child.  spawn() then wait_ready() (or start())."""

    def __init__(self, repo="acme/api", *, port=0, history=60, issues=30,
                 seed=None, supervisor=None, host="127.0.0.1"):
        self.repo = repo
        self.host = host
        self.port = port
        self.history_size = history
        self.issues = issues
        self.seed = seed
        self.supervisor = supervisor
        self.proc = None
        self._lines = queue.Queue()
        self._lock = threading.Lock()

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def spawn(self):
        cmd = [sys.executable, "-m", "fakes.proc", "--repo", self.repo,
               "--port", str(self.port), "--history",
               str(self.history_size), "--issues", str(self.issues)]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        if self.supervisor is not None:
            sup = self.supervisor
            cmd += ["--supervisor",
                    sup.address if hasattr(sup, "address") else str(sup)]
        self.proc = subprocess.Popen(cmd, cwd=T_DIR, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        self._lines = queue.Queue()
        threading.Thread(target=self._reader, args=(self.proc,),
                         daemon=True).start()
        return self

    def _reader(self, proc):
        lines = self._lines
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def _line(self, timeout):
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise ProcRepoError("%s (pid %s): no answer in %ss"
                                % (self.repo, self.pid, timeout))
        if line is None:
            raise ProcRepoError("%s (pid %s) exited: %s"
                                % (self.repo, self.pid, self.proc.poll()))
        return line

    def wait_ready(self, timeout=20):
        line = self._line(timeout)
        if not line.startswith("PORT="):
            raise ProcRepoError("%s: unexpected first line %r"
                                % (self.repo, line))
        self.port = int(line[5:])
        return self

    def start(self, timeout=20):
        return self.spawn().wait_ready(timeout)

    def command(self, cmd, timeout=10, **args):
        obj = dict(args, cmd=cmd)
        with self._lock:
            self.proc.stdin.write(json.dumps(obj) + "\n")
            self.proc.stdin.flush()
            if cmd == "die":
                return None
            reply = json.loads(self._line(timeout))
        if isinstance(reply, dict) and "error" in reply:
            raise ProcRepoError("%s: %s" % (self.repo, reply["error"]))
        return reply

    # --- FakeRepo's hooks ------------------------------------------------

    def emit(self, type_, data):
        return self.command("emit", type=type_, data=data)

    def history(self):
        return self.command("history")

    def set_mode(self, mode, delay=None):
        return self.command("mode", mode=mode, delay=delay)

    def stream(self, every):
        return self.command("stream", every=every)

    def stall(self, path, before_headers=False):
        return self.command("stall", path=path,
                            before_headers=before_headers)

    def stalled(self):
        return self.command("stalled")["count"]

    # --- signals ---------------------------------------------------------

    def freeze(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self, timeout=5):
        """SIGKILL: the kernel closes its sockets as it would for a crash."""
        self.proc.kill()
        self.proc.wait(timeout)

    def die(self, rst=True, timeout=5):
        """Exits at once, every connection reset (rst) or closed."""
        self.command("die", rst=rst)
        self.proc.wait(timeout)

    def stop(self, timeout=5):
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGCONT)
                proc.terminate()
                proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(timeout)
        for f in (proc.stdin, proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def __repr__(self):
        return "<ProcRepo %s %s pid %s>" % (self.repo, self.address,
                                            self.pid)


def start_all(repos, timeout=20):
    """Spawns every ProcRepo at once, then waits for each to listen."""
    for r in repos:
        r.spawn()
    for r in repos:
        r.wait_ready(timeout)
    return repos


if __name__ == "__main__":
    try:
        asyncio.run(child_main(parse_args()))
    except KeyboardInterrupt:
        pass
