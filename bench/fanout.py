#!/usr/bin/python3
"""The fanout row of bench/run.py (bench/README.md, "fanout"): the
all-repos `GET /ws` of the module (`hydra_events`, events fanned out
through the ring in the zone) against nchan's WebSocket subscribers, the
same nginx binary, one worker each, events published at a fixed rate.

Not a wrk row: the load is bench/loadws.c (N WebSocket subscribers on
one epoll loop, built here with cc -O2), the publishers are this file's
helpers.  bench/run.py calls Fanout().run(settings, run_module); standard
library only (Debian's python3).  Helpers, also usable alone:

    fanout.py repo PORT          a fake HydraFlow repo: /api/control/status
                                 answers {"config":{"repo":"acme/bench"}},
                                 /ws replays nothing then streams what
                                 GET /bench/emit?rate=R&seconds=S&k0=K
                                 makes it emit (the answer: JSON facts)
    fanout.py post PORT PATH RATE SECONDS K0 [WAIT]
                                 POSTs the same events to nchan's
                                 publisher location at the fixed rate,
                                 pipelined on one keepalive connection
                                 (open loop), waits up to WAIT s (30)
                                 for the answers; prints JSON facts

Every event: {"id":K,"type":"bench","timestamp":"<UTC, µs>","data":
{"t":<CLOCK_MONOTONIC µs at send>,"k":K},"session_id":null}.

Environment, besides run.py's (BENCH_DURATION, BENCH_PIN, BENCH_DIR,
MODULE, NGINX_BIN):
    BENCH_FANOUT_SUBS   comma list of the fixed-rate phases' subscriber
                        counts (default 100,1000,5000; 100,1000,2000 when
                        BENCH_DURATION < 5)
    BENCH_FANOUT_SAT    offered msg/s of the saturation phase (1000
                        subscribers; default 1000)
"""

import asyncio
import base64
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional


HERE = Path(__file__).resolve()
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
NCHAN_SO = "/usr/lib/nginx/modules/ngx_nchan_module.so"


def mono_us():
    return time.monotonic_ns() // 1000


def event(k):
    ts = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    return ('{"id":%d,"type":"bench","timestamp":"%s","data":{"t":%d,'
            '"k":%d},"session_id":null}' % (k, ts, mono_us(), k)).encode()


async def emit(rate, seconds, k0, send):
    """send(bytes) at `rate` per second for `seconds`, on a fixed
    schedule (not paced by the receiver: open loop); each event's t is
    taken as it is made.  Returns facts."""
    total = max(1, int(rate * seconds))
    start = time.monotonic()
    sent, late = 0, 0.0
    while sent < total:
        now = time.monotonic()
        due = min(total, int((now - start) * rate) + 1)
        if due - sent > 1:
            late = max(late, now - (start + sent / rate))
        while sent < due:
            await send(event(k0 + sent))
            sent += 1
        nxt = start + sent / rate - time.monotonic()
        if nxt > 0:
            await asyncio.sleep(nxt)
    end = time.monotonic()
    return {"sent": sent, "start_us": int(start * 1e6),
            "end_us": int(end * 1e6), "rate": sent / max(1e-9, end - start),
            "late_max_ms": late * 1e3}


# ------------------------------------------------------- the fake repo


def ws_frame(payload, opcode=1):
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
    return head + payload


class FakeRepo:
    """What the module's feed and probe need of a HydraFlow repo."""

    def __init__(self):
        self.clients = set()

    async def handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target = (lines[0].split(" ") + ["", ""])[:2]
        hdr = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                hdr[k.strip().lower()] = v.strip()
        u = urllib.parse.urlsplit(target)
        if u.path == "/ws" and hdr.get("upgrade", "").lower() == "websocket":
            await self.ws(reader, writer, hdr)
            return
        if u.path == "/bench/emit":
            q = dict(urllib.parse.parse_qsl(u.query))
            facts = await emit(float(q["rate"]), float(q["seconds"]),
                               int(q["k0"]), self.broadcast)
            facts["clients"] = len(self.clients)
            body = json.dumps(facts).encode()
        elif u.path in ("/api/control/status", "/healthz"):
            body = b'{"status":"running","config":{"repo":"acme/bench"}}'
        else:
            body = b'{"detail":"Not Found"}'
        status = "404 Not Found" if body.startswith(b'{"detail"') \
            else "200 OK"
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json"
                     f"\r\nContent-Length: {len(body)}\r\nConnection: close"
                     f"\r\n\r\n".encode() + body)
        try:
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async def ws(self, reader, writer, hdr):
        acc = base64.b64encode(hashlib.sha1(
            hdr.get("sec-websocket-key", "").encode() + GUID).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
                     b"websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
        # the history replay: nothing (no event before the bench's)
        self.clients.add(writer)
        try:
            while True:             # the feed's pongs and close: dropped
                b = await reader.read(65536)
                if not b:
                    break
        except ConnectionError:
            pass
        finally:
            self.clients.discard(writer)
            writer.close()

    async def broadcast(self, payload):
        frame = ws_frame(payload)
        for w in list(self.clients):
            w.write(frame)
            if w.transport.get_write_buffer_size() > 1 << 20:
                try:
                    await w.drain()
                except ConnectionError:
                    self.clients.discard(w)

    async def pinger(self):
        while True:                 # the feed's 75 s idle timeout
            await asyncio.sleep(20)
            for w in list(self.clients):
                w.write(ws_frame(b"", 9))


async def repo_main(port):
    repo = FakeRepo()
    srv = await asyncio.start_server(repo.handle, "127.0.0.1", port,
                                     backlog=128)
    asyncio.ensure_future(repo.pinger())
    async with srv:
        await srv.serve_forever()


# ------------------------------------------------- nchan's publisher


async def post_main(port, path, rate, seconds, k0, wait=30):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses, pending = {}, 0
    done = asyncio.Event()
    finished = False

    async def responses():
        nonlocal pending
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            st = head.split(b" ", 2)[1].decode()
            n = 0
            for ln in head.split(b"\r\n"):
                if ln.lower().startswith(b"content-length:"):
                    n = int(ln.split(b":")[1])
            if n:
                await reader.readexactly(n)
            statuses[st] = statuses.get(st, 0) + 1
            pending -= 1
            if finished and pending == 0:
                done.set()
                return

    async def send(body):
        nonlocal pending
        pending += 1
        writer.write(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n"
                     % (path.encode(), len(body)) + body)
        if writer.transport.get_write_buffer_size() > 1 << 20:
            await writer.drain()

    rtask = asyncio.ensure_future(responses())
    facts = await emit(rate, seconds, k0, send)
    finished = True
    if pending:
        try:
            await asyncio.wait_for(done.wait(), wait)
        except asyncio.TimeoutError:
            pass
    rtask.cancel()
    facts["statuses"] = statuses
    facts["unanswered"] = pending
    writer.close()
    print(json.dumps(facts), flush=True)



# ------------------------------------------------------------ configs

CONF = """# generated by bench/fanout.py (the fanout row, {name}); do not edit
{load_module}
# One worker for both contenders, pinned to the last CPU (BENCH_PIN=1);
# the subscribers (loadws) and the publishers on the other(s).
worker_processes 1;
{affinity}worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid nginx.pid;
error_log error.log notice;

events {{
    worker_connections 16384;
}}

http {{
    access_log off;
    client_body_temp_path temp/client_body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
{http_conf}}}
"""

MODULE_HTTP = """
    # The module's all-repos /ws: one feed to the fake repo's /ws, its
    # events through the ring in the zone to every subscriber.
    hydra_zone hydra 16m;
    hydra_repo bench 127.0.0.1:{repo_port};
    hydra_probe interval=2s timeout=2s;

    upstream hydra_repos {{
        hydra_balancer;
        keepalive 8;
    }}

    server {{
        listen 127.0.0.1:{port} backlog=4096;

        location /api/ {{
            hydra_api;
        }}

        location = /ws {{
            hydra_events;
        }}

        location /_hydra/ {{
            internal;
            proxy_pass http://hydra_repos/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $hydra_connection;
            proxy_read_timeout 1h;
        }}
    }}
"""

NCHAN_HTTP = """
    # nchan: one channel, WebSocket subscribers, an HTTP publisher
    # location (POST); a new subscriber starts after the newest message.
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        # the publisher's one connection carries every POST of the row
        keepalive_requests 10000000;

        location = /sub {{
            nchan_subscriber websocket;
            nchan_channel_id bench;
            nchan_subscriber_first_message newest;
        }}

        location = /pub {{
            nchan_publisher;
            nchan_channel_id bench;
        }}
    }}
"""



# --------------------------------------------------------------- the row


@dataclass
class Member:
    """A contender of the row as run.py lists and selects it."""
    name: str
    label: str
    role: str
    port: str = "-"
    load: object = None
    front: str = "main"


@dataclass
class Outcome:
    """What run.py's main() asks of a row's contenders: ok."""
    contender: Member
    ok: bool = True
    error: Optional[str] = None


@dataclass
class Phase:
    name: str
    subs: int
    rate: float             # offered msg/s
    seconds: float
    idle: bool = False      # measure the worker's RSS per idle subscriber
    saturated: bool = False  # offered more than nginx can fan out: the
    # backlog is not waited for (1 s after the publisher), and what is
    # not delivered by then (nchan's queue, the module's gaps) is a fact
    # of the phase, not an error
    goal: str = ""          # "p99" or "rps": the phase a goal reads


@dataclass
class Run:
    """One phase of one contender."""
    phase: Phase
    contender: str
    connected: int = 0
    connect_failed: int = 0
    connect_s: float = 0.0
    sent: int = 0
    sent_rate: float = 0.0
    late_ms: float = 0.0
    delivered: int = 0
    expected: int = 0
    dps: Optional[float] = None     # deliveries/s in the window
    p50_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    max_ms: Optional[float] = None
    cpu_s: float = 0.0
    busy: Optional[float] = None    # worker CPU / window, cores
    client_busy: Optional[float] = None
    rss_kb: tuple = (None, None)
    per_conn: tuple = (0, 0)
    gaps: int = 0
    other: int = 0
    server_closed: int = 0
    errors: int = 0
    pub_errors: str = ""
    drain_s: float = 0.0
    note: str = ""

    @property
    def lost(self):
        return max(0, self.expected - self.delivered)

    @property
    def cpu_us(self):
        return self.cpu_s * 1e6 / self.delivered if self.delivered else None

    @property
    def idle_b(self):
        a, b = self.rss_kb
        if a is None or b is None or not self.connected:
            return None
        return (b - a) * 1024 / self.connected

    @property
    def ok(self):
        sat = self.phase.saturated
        return (not self.note and self.connected == self.phase.subs
                and (sat or (self.lost == 0 and not self.gaps))
                and not self.server_closed and not self.errors
                and (sat or not self.pub_errors))

    def problems(self):
        out = []
        if self.note:
            out.append(self.note)
        if self.connected != self.phase.subs:
            out.append(f"{self.connected}/{self.phase.subs} connected "
                       f"({self.connect_failed} failed)")
        if self.lost and not self.phase.saturated:
            out.append(f"{self.lost:,} of {self.expected:,} deliveries "
                       f"missing (per subscriber {self.per_conn[0]:,} to "
                       f"{self.per_conn[1]:,} of {self.sent:,})")
        if self.gaps and not self.phase.saturated:
            out.append(f"{self.gaps} gap events")
        if self.server_closed:
            out.append(f"{self.server_closed} sockets closed by nginx")
        if self.errors:
            out.append(f"{self.errors} socket/protocol errors")
        if self.pub_errors and not self.phase.saturated:
            out.append(f"publisher: {self.pub_errors}")
        return out


def worker_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


def last_event_id(port, timeout=2.0):
    """The newest global id the module's /ws replays (its history), so
    that the subscribers connect with ?since= it and get no replay."""
    import socket
    key = base64.b64encode(os.urandom(16))
    sk = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sk.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: "
                   b"websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                   + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        buf = b""
        sk.settimeout(0.5)
        while True:
            try:
                b = sk.recv(1 << 20)
            except socket.timeout:
                break
            if not b:
                break
            buf += b
        if not buf.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"/ws answers {buf[:80]!r}")
        buf = buf[buf.index(b"\r\n\r\n") + 4:]
        last, i = 0, 0
        while len(buf) - i >= 2:
            n, h = buf[i + 1] & 0x7F, 2
            if n == 126:
                n, h = int.from_bytes(buf[i + 2:i + 4], "big"), 4
            elif n == 127:
                n, h = int.from_bytes(buf[i + 2:i + 10], "big"), 10
            msg = buf[i + h:i + h + n]
            if len(msg) < n:
                break
            if buf[i] & 0x0F == 1:
                last = max(last, json.loads(msg).get("id") or 0)
            i += h + n
        return last
    finally:
        sk.close()


def drain(cl, expected, limit, quiet):
    """Asks a running loadws for its counts until every one of expected
    deliveries is in, quiet seconds pass without one, or limit seconds
    pass: the seconds it waited."""
    t = time.monotonic()
    last, still = -1, t
    while time.monotonic() - t < limit:
        cl.stdin.write("stat\n")
        cl.stdin.flush()
        s = json.loads(cl.stdout.readline())["stat"]
        if s["bench"] >= expected:
            break
        if s["bench"] != last:
            last, still = s["bench"], time.monotonic()
        elif time.monotonic() - still > quiet:
            break
        time.sleep(0.1)
    return time.monotonic() - t


def fmt_ms(v):
    return "-" if v is None else (f"{v:.1f} ms" if v < 100
                                  else f"{v:.0f} ms")


def fmt_n(v):
    return "-" if v is None else f"{v:,.0f}"


class Fanout:
    name = "fanout"
    title = "fanout: events to N WebSocket subscribers, the module vs nchan"
    needs_module = True
    contenders = [
        Member("module", "hydra_events: GET /ws, a fake repo's /ws feed",
               "module"),
        Member("nchan", "nchan: websocket subscriber, POST publisher",
               "alternative"),
    ]
    goal_p99 = 0.5          # p99 <= 0.5x nchan's, 1000 subs, 200 msg/s
    goal_rps = 1.5          # deliveries/s >= 1.5x nchan's, saturated
    goal_idle_b = 4096      # worker RSS per idle subscriber

    def log(self, msg):
        print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)

    def phases(self, st):
        smoke = st.duration < 5
        env = os.environ.get("BENCH_FANOUT_SUBS", "").strip()
        subs = ([int(x) for x in env.split(",") if x.strip()] if env else
                [100, 1000, 2000] if smoke else [100, 1000, 5000])
        sat = float(os.environ.get("BENCH_FANOUT_SAT", "1000"))
        short = max(1.0, st.duration * 0.5)
        big = max(subs)
        # the largest count first, on the fresh nginx: its idle RSS;
        # then 100k deliveries/s (5000 x 20 msg/s), half what one worker
        # fans out here
        out = [Phase(f"{big} idle, then {100_000 // big} msg/s", big,
                     max(1, 100_000 // big), short, idle=True)]
        for n in subs:
            if n == big:
                continue
            if n == 1000:
                # the goal's phase: 3 rounds (order flipped each), the
                # median of the per-round p99 ratios
                for i in range(3):
                    out.append(Phase(f"1000 x 200 msg/s, round {i + 1}",
                                     1000, 200, short, goal="p99"))
            else:
                out.append(Phase(f"{n} x 200 msg/s", n, 200, short))
        if 1000 in subs:
            out.append(Phase(f"1000 x {sat:g} msg/s (saturated)", 1000,
                             sat, short, goal="rps", saturated=True))
        return out

    def run(self, st, bench):
        members = [c for c in self.contenders
                   if bench.selected(st, self, c)]
        if not members:
            return None
        res = FanoutResult(self, [Outcome(c) for c in members],
                           bench=bench)
        prefix = st.outdir / self.name
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        cpus = sorted(os.sched_getaffinity(0))
        self.cpu = cpus[-1] if st.pin else None
        self.client_cpus = set(cpus[:-1]) if st.pin else None
        self.bench = bench
        self.nginx = {}
        self.helpers = []
        self.k = 1000
        names = [c.name for c in members]
        try:
            self.loadws = prefix / "loadws"
            out = subprocess.run(
                ["cc", "-O2", "-Wall", "-o", str(self.loadws),
                 str(HERE.parent / "loadws.c")], stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
            if out.returncode:
                raise RuntimeError("cc loadws.c failed: " + out.stdout)
            self.ports = {n: bench.free_port() for n in
                          ("module", "nchan", "repo")}
            if "module" in names:
                module = prefix / st.module.name
                snap = getattr(st, "module_snapshot", None)
                shutil.copy2(snap or st.module, module)
                res.module = (getattr(st, "module_info", None)
                              or bench.module_info(module, st.module))
                repo = self.spawn([sys.executable, str(HERE), "repo",
                                   str(self.ports["repo"])],
                                  prefix / "repo.log")
                self.wait_port(self.ports["repo"], repo)
                self.start_nginx(
                    st, prefix / "module", "module",
                    f"load_module {module};",
                    MODULE_HTTP.format(repo_port=self.ports["repo"],
                                       port=self.ports["module"]))
            if "nchan" in names:
                self.start_nginx(
                    st, prefix / "nchan", "nchan",
                    f"load_module {NCHAN_SO};",
                    NCHAN_HTTP.format(port=self.ports["nchan"]))
            if "module" in names:
                self.wait_feed()
            for i, ph in enumerate(self.phases(st)):
                order = names if i % 2 == 0 else names[::-1]
                for name in order:
                    r = self.measure(st, name, ph)
                    res.runs.append(r)
                    cpu = "-" if r.cpu_us is None else f"{r.cpu_us:.2f} µs"
                    busy = "-" if r.busy is None else f"{r.busy:.0%}"
                    self.log(f"{ph.name:>32} {name:>6}: "
                             f"{fmt_n(r.dps):>9} deliveries/s  p50 "
                             f"{fmt_ms(r.p50_ms):>8} p99 "
                             f"{fmt_ms(r.p99_ms):>8}  CPU {cpu}/delivery"
                             f"  busy {busy}"
                             + (f"  idle {r.idle_b:,.0f} B/sub"
                                if r.idle_b is not None else "")
                             + ("" if r.ok else "  PROBLEM: "
                                + "; ".join(r.problems())))
                    if r.note.startswith("worker died"):
                        raise RuntimeError(f"{name}: {r.note}")
        except (RuntimeError, OSError, subprocess.SubprocessError,
                ValueError) as e:
            res.error = str(e)
            self.log(f"FAILED: {e}")
        finally:
            for name, n in self.nginx.items():
                n.stop()
                res.problems += [f"[{name}] {ln}" for ln in n.problems()]
            for p in self.helpers:
                if p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(5)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
        for o in res.results:
            runs = [r for r in res.runs if r.contender == o.contender.name]
            bad = [f"{r.phase.name}: " + "; ".join(r.problems())
                   for r in runs if not r.ok]
            if bad:
                o.ok = False
                o.error = " | ".join(bad)
            if res.error and not runs:
                o.ok = False
        return res

    def spawn(self, cmd, logfile):
        cpus = self.client_cpus
        p = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=open(logfile, "w"),
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus))
            if cpus else None)
        self.helpers.append(p)
        return p

    def wait_port(self, port, proc, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the fake repo exited with "
                                   f"{proc.returncode} (see repo.log)")
            if self.bench._listening(port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the fake repo does not listen on {port}")

    def start_nginx(self, st, prefix, name, load, http_conf):
        prefix.mkdir(parents=True, exist_ok=True)
        n = self.bench.Nginx(st.nginx, prefix)
        self.nginx[name] = n
        n.start(CONF.format(
            name=name, load_module=load,
            affinity=(f"worker_cpu_affinity "
                      f"{self.bench.cpu_mask({self.cpu})};\n"
                      if self.cpu is not None else ""),
            http_conf=http_conf), [self.ports[name]])

    def wait_feed(self, timeout=60):
        """The module's feed must be up: /api/repos says events:true."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                status, _, body = self.bench.http_get(self.ports["module"],
                                                      "/api/repos")
                last = body[:300]
                repos = json.loads(body).get("repos") or []
                if status == 200 and repos and repos[0].get("events"):
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the module's feed of the fake repo is not up "
                           f"in {timeout}s: /api/repos {last!r}")

    def measure(self, st, name, ph):
        r = Run(ph, name)
        n = self.nginx[name]
        pids = n.workers()
        pid = pids[0]
        k0, self.k = self.k, self.k + int(ph.rate * ph.seconds) + 100
        if name == "module":
            path = f"/ws?since={last_event_id(self.ports['module'])}"
        else:
            path = "/sub"
        time.sleep(0.3)
        rss0 = worker_rss_kb(pid)
        cpus = self.client_cpus
        cl = subprocess.Popen(
            [str(self.loadws), "-p", str(self.ports[name]), "-u", path,
             "-n", str(ph.subs), "-k", str(k0)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus))
            if cpus else None)
        try:
            ready = json.loads(cl.stdout.readline() or "{}").get("ready")
            if not ready:
                r.note = "loadws: " + cl.stderr.read()[-300:]
                return r
            r.connected, r.connect_failed = (ready["connected"],
                                             ready["failed"])
            r.connect_s = ready["connect_s"]
            time.sleep(1.0)             # settle: idle sockets connected
            rss1 = worker_rss_kb(pid)
            r.rss_kb = (rss0, rss1) if ph.idle else (None, None)
            cpu0 = self.bench.proc_cpu(pid)
            ccpu0 = self.bench.proc_cpu(cl.pid)
            w0 = time.monotonic()
            facts = self.publish(name, ph, k0)
            r.sent, r.sent_rate = facts["sent"], facts["rate"]
            r.late_ms = facts["late_max_ms"]
            if name == "nchan":
                bad = {k: v for k, v in facts["statuses"].items()
                       if not k.startswith("2")}
                if bad or facts["unanswered"]:
                    r.pub_errors = (f"statuses {facts['statuses']}, "
                                    f"{facts['unanswered']} unanswered")
            elif facts.get("clients") != 1:
                r.pub_errors = (f"the fake repo had {facts.get('clients')} "
                                f"/ws clients, not the module's feed alone")
            r.expected = r.sent * r.connected
            # drain: until every delivery is in, or 1.5 s without one
            r.drain_s = drain(cl, r.expected,
                              1.0 if ph.saturated else 30, 1.5)
            cpu1 = self.bench.proc_cpu(pid)
            ccpu1 = self.bench.proc_cpu(cl.pid)
            window = time.monotonic() - w0
            cl.stdin.write("stop\n")
            cl.stdin.flush()
            s = json.loads(cl.stdout.readline())["summary"]
        finally:
            if cl.poll() is None:
                try:
                    cl.stdin.close()
                except OSError:
                    pass
                try:
                    cl.wait(10)
                except subprocess.TimeoutExpired:
                    cl.kill()
                    cl.wait()
        if n.workers() != pids:
            r.note = f"worker died ({pids} -> {n.workers()}, see error.log)"
        r.delivered = s["bench"]
        r.gaps, r.other = s["gaps"], s["other"]
        r.server_closed, r.errors = s["server_closed"], s["errors"]
        r.per_conn = (s["per_conn_min"], s["per_conn_max"])
        if s["lat_n"]:
            r.p50_ms, r.p99_ms = s["p50_us"] / 1e3, s["p99_us"] / 1e3
            r.max_ms = s["max_us"] / 1e3
        # deliveries/s: received within the publishing window, its first
        # quarter (at most 1 s) left out, in whole 100 ms buckets
        bu, base = s["bucket_us"], s["ready_us"]
        a = facts["start_us"] + min(1e6, (facts["end_us"]
                                          - facts["start_us"]) / 4)
        lo = int((a - base) // bu) + 1
        hi = int((facts["end_us"] - base) // bu)
        tl = s["timeline"]
        if hi > lo:
            r.dps = sum(tl[lo:hi]) / ((hi - lo) * bu / 1e6)
        if cpu0 is not None and cpu1 is not None:
            r.cpu_s = cpu1 - cpu0
            r.busy = r.cpu_s / window
        if ccpu0 is not None and ccpu1 is not None:
            r.client_busy = (ccpu1 - ccpu0) / window
        return r

    def publish(self, name, ph, k0):
        cpus = self.client_cpus
        if name == "module":
            status, _, body = self.bench.http_get(
                self.ports["repo"], f"/bench/emit?rate={ph.rate:g}&seconds="
                f"{ph.seconds:g}&k0={k0}", timeout=ph.seconds + 60)
            if status != 200:
                raise RuntimeError(f"the fake repo's emit: HTTP {status}")
            return json.loads(body)
        out = subprocess.run(
            [sys.executable, str(HERE), "post", str(self.ports["nchan"]),
             "/pub", f"{ph.rate:g}", f"{ph.seconds:g}", str(k0),
             "2" if ph.saturated else "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=ph.seconds + 60,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus))
            if cpus else None)
        if out.returncode:
            raise RuntimeError("the nchan publisher failed: "
                               + out.stderr[-400:])
        return json.loads(out.stdout)


@dataclass
class FanoutResult:
    scenario: Fanout
    results: List[Outcome]
    bench: object = None            # run.py, for its table()
    runs: List[Run] = field(default_factory=list)
    error: Optional[str] = None
    problems: List[str] = field(default_factory=list)
    module: Optional[str] = None

    def run_of(self, contender, goal=None, idle=False):
        for r in self.runs:
            if r.contender == contender and (
                    (goal and r.phase.goal == goal)
                    or (idle and r.phase.idle)):
                return r
        return None

    def ok_of(self, name):
        o = next((o for o in self.results if o.contender.name == name),
                 None)
        return o is not None and o.ok

    def summary(self):
        """(the row's tables, whether every goal is met)."""
        F = Fanout
        rows, met_all = [], self.error is None

        def pair(goal=None, idle=False):
            return (self.run_of("module", goal, idle),
                    self.run_of("nchan", goal, idle))

        def met(ok, runs):
            if any(r is None for r in runs):
                return "- (not run)"
            if not all(r.ok for r in runs):
                return "NO (errors, see below)"
            return "yes" if ok else "NO"

        ms = [x for x in self.runs
              if x.contender == "module" and x.phase.goal == "p99"]
        As = [x for x in self.runs
              if x.contender == "nchan" and x.phase.goal == "p99"]
        rs = [x.p99_ms / y.p99_ms for x, y in zip(ms, As)
              if x.p99_ms and y.p99_ms]
        r = statistics.median(rs) if rs else None
        mp = statistics.median([x.p99_ms for x in ms if x.p99_ms] or [0])
        ap = statistics.median([x.p99_ms for x in As if x.p99_ms] or [0])
        ok = r is not None and r <= F.goal_p99
        both = (ms[0] if ms else None, As[0] if As else None)
        rows.append(["fanout", "1000 x 200 msg/s: p99 emit to receive"
                     + (f" (median of {len(rs)} rounds; per round "
                        + " / ".join(f"{x:.2f}x" for x in rs) + ")"
                        if rs else ""),
                     fmt_ms(mp) if ms else "-", fmt_ms(ap) if As else "-",
                     "-" if r is None else f"{r:.3f}x",
                     f"p99 <= {F.goal_p99:g}x nchan",
                     met(ok, both) if not all(both) or all(
                         x.ok for x in ms + As) else
                     "NO (errors, see below)"])
        met_all = (met_all and ok and all(x.ok for x in ms + As)
                   if ms and As else False)
        m, a = pair(goal="rps")
        r = m.dps / a.dps if m and a and m.dps and a.dps else None
        label = m.phase.name if m else (a.phase.name if a else "saturated")
        ok = r is not None and r >= F.goal_rps
        rows.append(["fanout", f"{label}: deliveries/s",
                     fmt_n(m.dps) if m else "-",
                     fmt_n(a.dps) if a else "-",
                     "-" if r is None else f"{r:.3f}x",
                     f"deliveries/s >= {F.goal_rps:g}x nchan",
                     met(ok, (m, a))])
        met_all = met_all and ok and m.ok and a.ok if m and a else False
        m, a = pair(idle=True)
        mb = m.idle_b if m else None
        ab = a.idle_b if a else None
        ok = mb is not None and mb <= F.goal_idle_b
        rows.append(["fanout", f"worker RSS per idle subscriber "
                     f"({(m or a).phase.subs if m or a else '-'} "
                     f"connected)",
                     "-" if mb is None else f"{mb:,.0f} B",
                     "-" if ab is None else f"{ab:,.0f} B",
                     "-" if mb is None or not ab else f"{mb / ab:.3f}x",
                     f"<= {F.goal_idle_b / 1024:g} kB per subscriber",
                     met(ok, (m,)) if m else "- (not run)"])
        met_all = met_all and ok
        phases = []
        for r0 in self.runs:
            if r0.phase not in phases:
                phases.append(r0.phase)
        for ph in phases:
            m = next((x for x in self.runs if x.phase is ph
                      and x.contender == "module"), None)
            a = next((x for x in self.runs if x.phase is ph
                      and x.contender == "nchan"), None)
            mc, ac = (m.cpu_us if m else None), (a.cpu_us if a else None)
            rows.append(["fanout", f"{ph.name}: CPU per delivery",
                         "-" if mc is None else f"{mc:.2f} µs",
                         "-" if ac is None else f"{ac:.2f} µs",
                         "-" if mc is None or not ac else f"{mc / ac:.3f}x",
                         "- (measured, no goal)", "-"])
        text = self.bench.table(["row", "measure", "module", "nchan",
                                 "ratio", "goal", "met"], rows)
        text += "\n\n" + self.detail()
        return text, met_all

    def detail(self):
        rows = []
        for r in self.runs:
            rows.append([
                r.phase.name, r.contender, f"{r.connected:,}",
                f"{r.phase.rate:g} / {r.sent_rate:,.0f}",
                fmt_n(r.dps), fmt_ms(r.p50_ms), fmt_ms(r.p99_ms),
                fmt_ms(r.max_ms),
                "-" if r.cpu_us is None else f"{r.cpu_us:.2f} µs",
                "-" if r.busy is None else f"{r.busy:.0%}",
                "-" if r.client_busy is None else f"{r.client_busy:.0%}",
                "-" if r.idle_b is None else f"{r.idle_b:,.0f} B",
                f"{r.delivered:,} / {r.expected:,}"
                + (f", {r.gaps} gaps" if r.gaps else ""),
                str(r.other) if r.contender == "module" else "-",
                "ok" if r.ok else "PROBLEM"])
        return self.bench.table(
            ["phase", "contender", "subscribers", "msg/s offered / sent",
             "deliveries/s", "p50", "p99", "max", "CPU/delivery",
             "worker busy", "loadws busy", "RSS/idle sub",
             "delivered / expected", "own events", "status"], rows)

    def section(self):
        out = [f"\n## {Fanout.title}\n"]
        out.append(
            "Events published at a fixed rate to N WebSocket subscribers "
            "(bench/loadws.c, one epoll loop, pinned with the publishers "
            "to the CPU(s) the worker does not use), the same nginx "
            "binary, one worker per contender pinned to its own CPU. "
            "module: a fake repo (bench/fanout.py repo) whose /ws the "
            "module's feed holds; the subscribers on `GET /ws?since=<the "
            "newest id>` (no history replay). nchan: POSTs to "
            "`nchan_publisher`, pipelined on one keepalive connection; the "
            "subscribers on `nchan_subscriber websocket`. Latency: the "
            "event's CLOCK_MONOTONIC send time (in its data) to its "
            "receipt. deliveries/s: received within the publishing window "
            "(its first quarter, at most 1 s, left out). CPU/delivery: "
            "utime+stime of the worker from the publisher's start to the "
            "last delivery, / deliveries (what the worker spends on "
            "taking the events in is counted too). RSS per idle "
            "subscriber: the worker's VmRSS with N sockets connected "
            "(1 s after the last handshake) minus before, / N, measured "
            "on the fresh nginx, first phase. busy: CPU in % of one "
            "core over the window; a worker well under 100% in the "
            "saturated phase means the load generator, not nginx, was "
            "the limit.\n")
        if self.module:
            out.append(f"Module: `{self.module}`.\n")
        if self.error:
            out.append(f"**Failed:** `{self.error}`\n")
        for o in self.results:
            if not o.ok:
                out.append(f"**{o.contender.name}: problems.**"
                           + (f" `{o.error}`" if o.error else "") + "\n")
        if self.problems:
            out.append(f"\nerror.log ({len(self.problems)} warn+ lines, "
                       f"last 15):\n")
            out.append("```")
            out.extend(self.problems[-15:])
            out.append("```")
        return "\n".join(out)


def main(argv):
    if len(argv) == 2 and argv[0] == "repo":
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        asyncio.run(repo_main(int(argv[1])))
        return 0
    if len(argv) in (6, 7) and argv[0] == "post":
        asyncio.run(post_main(int(argv[1]), argv[2], float(argv[3]),
                              float(argv[4]), int(argv[5]),
                              float(argv[6]) if len(argv) == 7 else 30))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
