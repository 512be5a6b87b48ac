#!/usr/bin/python3
"""Load and stability of the module (bench/README.md, "load"): many
WebSocket subscribers on the all-repos `/ws`, and the aggregated views
under sustained wrk load, on a 2-worker nginx.

    MODULE=/abs/build/ngx_http_hydra_module.so /usr/bin/python3 bench/load.py
    make bench-load

Not a comparison and no timing goal: it reports figures (a Markdown table
on stdout and in build/bench/load.md) and fails (exit 1) only when
something is broken: a subscriber not connected or missing an event, a
worker that died, a wrong aggregated answer.

Phase `ws`: LOAD_CLIENTS (10,000) WebSocket clients (bench/loadws.c, one
epoll loop) on `GET /ws?since=<newest id>` of a 2-worker nginx with the
module; LOAD_REPOS (2) fake repos (this file's `repo` helper, HydraFlow's
/ws as bench/fanout.py fakes it) each publish LOAD_RATE (5) events/s for
LOAD_WS_SECONDS (20) s.  Reported: connected, deliveries / expected and
the per-client minimum and maximum (every client must get every event),
emit-to-receive latency p50/p99/p99.9/max, each worker's VmRSS, RssAnon,
RssShmem and open sockets before, with the clients connected, after the
events and after they closed; bytes of worker RSS per client.

Phase `agg`: 8 repos served as static JSON files by an nginx of their own
(bench/run.py's pipeline and metrics rows' bodies), the module's front
(2 workers) merging them; for `/api/pipeline` then `/api/metrics`, wrk
with LOAD_CONNECTIONS (200) connections for LOAD_SECONDS (60) s, read in
windows of LOAD_WINDOW (10) s (one wrk run per window, back to back):
req/s, p50, p99, errors (non-2xx and socket errors), repos left out of a
view (the module's "missed the budget" lines), the workers' RSS and CPU;
then the first window against the last.

Environment:
    MODULE, NGINX_BIN, BENCH_DIR   as bench/run.py's
    LOAD_ONLY          ws, agg or both (default ws,agg)
    LOAD_CLIENTS       WebSocket clients (10000)
    LOAD_REPOS         publishing fake repos (2)
    LOAD_RATE          events/s per repo (5)
    LOAD_WS_SECONDS    publishing time (20)
    LOAD_VIEWS         the views of phase agg (pipeline,metrics)
    LOAD_CONNECTIONS   wrk connections (200)
    LOAD_SECONDS       wrk time per view (60)
    LOAD_WINDOW        seconds per window (10)
    LOAD_KEEPALIVE     the front's upstream keepalive (default connections
                       x 8: one idle connection per subrequest in flight;
                       a smaller cache makes the front open and close
                       connections to the repos all the time, and the
                       views' p99 grows 5x, see bench/README.md)

Helper, also usable alone:
    load.py repo PORT OWNER/NAME   a fake repo (bench/fanout.py's, whose
                                   /api/control/status names OWNER/NAME)
"""

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

import fanout                   # noqa: E402  bench/fanout.py
import run as bench             # noqa: E402  bench/run.py


ROOT = HERE.parent.parent
NREPOS = bench.NREPOS
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"[load] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- settings


@dataclass
class Settings:
    module: Path
    nginx: str
    wrk: str
    outdir: Path
    only: List[str]
    clients: int
    repos: int
    rate: float
    ws_seconds: float
    connections: int
    seconds: int
    window: int
    keepalive: int
    views: List[str]


def parse_settings(argv):
    env = os.environ.get
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--module", default=env(
        "MODULE", str(ROOT / "build" / "ngx_http_hydra_module.so")))
    p.add_argument("--nginx", default=env("NGINX_BIN", "/usr/sbin/nginx"))
    p.add_argument("--wrk", default=env("WRK", "wrk"))
    p.add_argument("--outdir", default=env(
        "BENCH_DIR", str(ROOT / "build" / "bench")))
    p.add_argument("--only", default=env("LOAD_ONLY", "ws,agg"))
    p.add_argument("--clients", type=int,
                   default=int(env("LOAD_CLIENTS", "10000")))
    p.add_argument("--repos", type=int, default=int(env("LOAD_REPOS", "2")))
    p.add_argument("--rate", type=float,
                   default=float(env("LOAD_RATE", "5")))
    p.add_argument("--ws-seconds", type=float,
                   default=float(env("LOAD_WS_SECONDS", "20")))
    p.add_argument("--connections", type=int,
                   default=int(env("LOAD_CONNECTIONS", "200")))
    p.add_argument("--seconds", type=int,
                   default=int(env("LOAD_SECONDS", "60")))
    p.add_argument("--window", type=int,
                   default=int(env("LOAD_WINDOW", "10")))
    p.add_argument("--views", default=env("LOAD_VIEWS",
                                          "pipeline,metrics"))
    p.add_argument("--keepalive", type=int,
                   default=int(env("LOAD_KEEPALIVE", "0")),
                   help="0: connections x 8")
    a = p.parse_args(argv)
    return Settings(
        module=Path(a.module).resolve(), nginx=a.nginx, wrk=a.wrk,
        outdir=Path(a.outdir).resolve(),
        only=[x.strip() for x in a.only.split(",") if x.strip()],
        clients=max(1, a.clients), repos=max(1, a.repos),
        rate=max(0.1, a.rate), ws_seconds=max(1.0, a.ws_seconds),
        connections=max(1, a.connections), seconds=max(1, a.seconds),
        window=max(1, min(a.window, a.seconds)),
        keepalive=a.keepalive if a.keepalive > 0
        else max(1, a.connections) * NREPOS,
        views=[v.strip() for v in a.views.split(",")
               if v.strip() in ("pipeline", "metrics")])


# ------------------------------------------------------------ process facts


def mem(pid):
    """VmRSS, RssAnon, RssShmem (kB) and open fds of a process."""
    out = {"rss": None, "anon": None, "shmem": None, "fds": None}
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                k, _, v = ln.partition(":")
                key = {"VmRSS": "rss", "RssAnon": "anon",
                       "RssShmem": "shmem"}.get(k)
                if key:
                    out[key] = int(v.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    return out


def mems(pids):
    return {p: mem(p) for p in pids}


def total(ms, key):
    vals = [m[key] for m in ms.values() if m[key] is not None]
    return sum(vals) if vals else None


def cpus(pids):
    return {p: bench.proc_cpu(p) for p in pids}


def cpu_delta(a, b):
    return sum(b[p] - a[p] for p in a
               if a.get(p) is not None and b.get(p) is not None)


def machine_busy():
    """CPU seconds all CPUs spent busy so far (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(v) - v[3] - v[4]) / CLK_TCK


def children_cpu():
    """CPU seconds of this process's reaped children (wrk runs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def pct(x):
    return "-" if x is None else f"{x:.0%}"


def loadavg():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def mib(kb):
    return "-" if kb is None else f"{kb / 1024:.1f} MiB"


def fmt_ms(us):
    if us is None or us < 0:
        return "-"
    ms = us / 1000
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


# ------------------------------------------------------------ the fake repo


class Repo(fanout.FakeRepo):
    """bench/fanout.py's fake repo, its /api/control/status naming the
    repo it is (the module learns each repo's owner/name from it)."""

    def __init__(self, name):
        super().__init__()
        self.status = json.dumps({"status": "running",
                                  "config": {"repo": name}}).encode()

    async def handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        target = (lines[0].split(" ") + ["", ""])[1]
        hdr = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                hdr[k.strip().lower()] = v.strip()
        u = urllib.parse.urlsplit(target)
        if u.path == "/ws" and hdr.get("upgrade", "").lower() == "websocket":
            await self.ws(reader, writer, hdr)
            return
        status = "200 OK"
        if u.path == "/bench/emit":
            q = dict(urllib.parse.parse_qsl(u.query))
            facts = await fanout.emit(float(q["rate"]), float(q["seconds"]),
                                      int(q["k0"]), self.broadcast)
            facts["clients"] = len(self.clients)
            body = json.dumps(facts).encode()
        elif u.path in ("/api/control/status", "/healthz"):
            body = self.status
        else:
            status, body = "404 Not Found", b'{"detail":"Not Found"}'
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json"
                     f"\r\nContent-Length: {len(body)}\r\nConnection: close"
                     f"\r\n\r\n".encode() + body)
        try:
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()


async def repo_main(port, name):
    repo = Repo(name)
    srv = await asyncio.start_server(repo.handle, "127.0.0.1", port,
                                     backlog=128)
    asyncio.ensure_future(repo.pinger())
    async with srv:
        await srv.serve_forever()


# ------------------------------------------------------------------ configs


CONF = """# generated by bench/load.py ({name}); do not edit
{load_module}
# 2 workers, as deployed; no pinning: the machine's 2 cores are shared by
# nginx, the load generator and the fake repos (and other jobs).
worker_processes {workers};
worker_rlimit_nofile {nofile};
daemon off;
master_process on;
pid nginx.pid;
error_log error.log notice;

events {{
    worker_connections {connections};
}}

http {{
    access_log off;
    client_body_temp_path temp/client_body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
{http}}}
"""

PASS_LOCATION = """
        location /_hydra/ {
            internal;
            proxy_pass http://hydra_repos/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $hydra_connection;
            proxy_read_timeout 1h;
        }"""

WS_HTTP = """
    hydra_zone hydra 16m;
{repos}
    hydra_probe interval=2s timeout=2s;

    upstream hydra_repos {{
        hydra_balancer;
        keepalive 8;
    }}

    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /api/ {{ hydra_api; }}
        location = /ws {{ hydra_events; }}{pass_location}
    }}
"""

AGG_HTTP = """
    hydra_zone hydra 16m;
{repos}
    keepalive_requests 1000000;

    # an idle connection per subrequest that may be in flight
    upstream hydra_repos {{
        hydra_balancer;
        keepalive {keepalive};
        keepalive_requests 1000000;
    }}

    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /api/ {{ hydra_api; }}{pass_location}
    }}
"""

BACKEND_HTTP = """
    # 8 repos' dashboards: static views and what the module's probe asks
    default_type application/json;
    open_file_cache max=64;
    open_file_cache_valid 1h;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
{servers}
"""

BACKEND_SERVER = """
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /api/pipeline {{ alias {html}/pipeline.json; }}
        location = /api/metrics {{ alias {html}/metrics.json; }}
        location = /healthz {{ alias {html}/healthz.json; }}
        location = /api/control/status {{ alias {html}/control.json; }}
        location / {{ return 404 '{{"detail":"Not Found"}}'; }}
    }}
"""


class Phase:
    """What both phases share: a prefix, helper processes, nginx."""

    def __init__(self, st, name):
        self.st = st
        self.name = name
        self.prefix = st.outdir / "load" / name
        shutil.rmtree(self.prefix, ignore_errors=True)
        self.prefix.mkdir(parents=True)
        self.helpers = []
        self.nginx = []
        self.problems = []          # what makes the run fail
        self.log_lines = []         # error.log warn+ lines

    def spawn(self, cmd, log_name):
        f = open(self.prefix / log_name, "w")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f,
                             stderr=subprocess.STDOUT)
        f.close()
        self.helpers.append(p)
        return p

    def wait_port(self, port, proc, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"helper exited with {proc.returncode}")
            if bench._listening(port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"nothing listens on {port} after {timeout}s")

    def start_nginx(self, name, http, workers, with_module, ports):
        prefix = self.prefix / name
        prefix.mkdir(parents=True, exist_ok=True)
        load_module = ""
        if with_module:
            so = prefix / self.st.module.name
            shutil.copy2(self.st.module, so)
            load_module = f"load_module {so};"
        n = bench.Nginx(self.st.nginx, prefix)
        self.nginx.append((name, n))
        # as many sockets as the hard limit allows (raising it needs
        # CAP_SYS_RESOURCE): 10,000 clients may all land on one worker
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nofile = 30000 if hard == resource.RLIM_INFINITY \
            else min(30000, hard)
        n.start(CONF.format(name=f"{self.name}/{name}",
                            load_module=load_module, workers=workers,
                            nofile=nofile, connections=nofile - 64,
                            http=http), ports)
        return n

    def wait_repos(self, port, n, events, timeout=20):
        """/api/repos lists n repos up (and their feeds up)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                status, _, body = bench.http_get(port, "/api/repos")
                repos = json.loads(body).get("repos") or []
                last = [(r.get("key"), r.get("status"), r.get("events"))
                        for r in repos]
                if status == 200 and len(repos) == n and all(
                        r.get("status") == "up"
                        and (r.get("events") or not events)
                        for r in repos):
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"repos not all up in {timeout}s: {last}")

    def stop(self):
        for name, n in reversed(self.nginx):       # the fronts first
            n.stop()
            # the static repos serve no /ws: their feeds' refusals are
            # expected, counted, not listed
            lines = [ln for ln in n.problems()
                     if "not a WebSocket upgrade" not in ln]
            self.log_lines += [f"[{self.name}/{name}] {ln}" for ln in lines]
            fatal = [ln for ln in lines if re.search(
                r"\[(alert|crit|emerg)\]|exited on signal|Sanitizer", ln)]
            if fatal:
                self.problems.append(f"{name}'s error.log: {fatal[:3]}")
        for p in self.helpers:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


# ------------------------------------------------------------ phase 1: ws


@dataclass
class WsResult:
    clients: int = 0
    connected: int = 0
    failed: int = 0
    connect_s: float = 0.0
    workers: int = 0
    sent: int = 0
    sent_rate: float = 0.0
    expected: int = 0
    delivered: int = 0
    per_conn: tuple = (0, 0)
    gaps: int = 0
    other: int = 0
    server_closed: int = 0
    errors: int = 0
    p50: Optional[float] = None
    p99: Optional[float] = None
    p999: Optional[float] = None
    max: Optional[float] = None
    mem: dict = field(default_factory=dict)     # stage -> {pid: mem}
    cpu_s: float = 0.0
    loadws_cpu_s: float = 0.0
    repos_cpu_s: float = 0.0
    machine_cpu_s: Optional[float] = None
    window_s: float = 0.0
    drain_s: float = 0.0
    repos: int = 0
    rate: float = 0.0


def build_loadws(prefix):
    exe = prefix / "loadws"
    out = subprocess.run(["cc", "-O2", "-Wall", "-o", str(exe),
                          str(HERE.parent / "loadws.c")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    if out.returncode:
        raise RuntimeError("cc loadws.c failed: " + out.stdout)
    return exe


def emit_all(ports, rate, seconds, k0s):
    """Every repo publishes at once; their facts."""
    facts = [None] * len(ports)

    def one(i):
        try:
            status, _, body = bench.http_get(
                ports[i], f"/bench/emit?rate={rate:g}&seconds={seconds:g}"
                f"&k0={k0s[i]}", timeout=seconds + 60)
            facts[i] = json.loads(body) if status == 200 else \
                {"error": f"HTTP {status}"}
        except (OSError, ValueError) as e:
            facts[i] = {"error": str(e)}

    threads = [threading.Thread(target=one, args=(i,))
               for i in range(len(ports))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return facts


def ws_phase(st):
    ph = Phase(st, "ws")
    res = WsResult(clients=st.clients, repos=st.repos, rate=st.rate)
    cl = None
    try:
        loadws = build_loadws(ph.prefix)
        repo_ports = [bench.free_port() for _ in range(st.repos)]
        for i, port in enumerate(repo_ports):
            p = ph.spawn([sys.executable, str(HERE), "repo", str(port),
                          f"acme/load{i}"], f"repo{i}.log")
            ph.wait_port(port, p)
        port = bench.free_port()
        lines = "".join(f"    hydra_repo acme/load{i} 127.0.0.1:{p};\n"
                        for i, p in enumerate(repo_ports))
        n = ph.start_nginx("front", WS_HTTP.format(
            repos=lines, port=port, pass_location=PASS_LOCATION), 2, True,
            [port])
        ph.wait_repos(port, st.repos, events=True)
        pids = n.workers()
        res.workers = len(pids)
        time.sleep(1.0)
        res.mem["before"] = mems(pids)

        since = fanout.last_event_id(port)
        k0 = 1000
        k0s = [k0 + i * 10 ** 8 for i in range(st.repos)]
        log(f"ws: {st.clients:,} clients connecting to /ws?since={since}")
        cl = subprocess.Popen(
            [str(loadws), "-p", str(port), "-u", f"/ws?since={since}",
             "-n", str(st.clients), "-k", str(k0), "-c", "256"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        ready = json.loads(cl.stdout.readline() or "{}").get("ready")
        if not ready:
            raise RuntimeError("loadws: " + cl.stderr.read()[-400:])
        res.connected, res.failed = ready["connected"], ready["failed"]
        res.connect_s = ready["connect_s"]
        log(f"ws: {res.connected:,} connected in {res.connect_s:.2f}s, "
            f"{res.failed} failed")
        time.sleep(2.0)                     # idle, settled
        res.mem["connected"] = mems(pids)

        hpids = [p.pid for p in ph.helpers]
        c0, l0 = cpus(pids), bench.proc_cpu(cl.pid)
        h0, m0 = cpus(hpids), machine_busy()
        w0 = time.monotonic()
        log(f"ws: {st.repos} repos x {st.rate:g} events/s for "
            f"{st.ws_seconds:g}s")
        facts = emit_all(repo_ports, st.rate, st.ws_seconds, k0s)
        bad = [f for f in facts if "error" in f or f.get("clients") != 1]
        if bad:
            ph.problems.append(f"publishers: {bad}")
        res.sent = sum(f.get("sent", 0) for f in facts)
        res.sent_rate = sum(f.get("rate", 0) for f in facts)
        res.expected = res.sent * res.connected
        res.drain_s = fanout.drain(cl, res.expected, 60, 3)
        res.window_s = time.monotonic() - w0
        c1, l1 = cpus(pids), bench.proc_cpu(cl.pid)
        h1, m1 = cpus(hpids), machine_busy()
        res.cpu_s = cpu_delta(c0, c1)
        if l0 is not None and l1 is not None:
            res.loadws_cpu_s = l1 - l0
        res.repos_cpu_s = cpu_delta(h0, h1)
        if m0 is not None and m1 is not None:
            res.machine_cpu_s = m1 - m0
        res.mem["after events"] = mems(pids)

        cl.stdin.write("stop\n")
        cl.stdin.flush()
        s = json.loads(cl.stdout.readline())["summary"]
        cl.wait(10)
        res.delivered = s["bench"]
        res.per_conn = (s["per_conn_min"], s["per_conn_max"])
        res.gaps, res.other = s["gaps"], s["other"]
        res.server_closed, res.errors = s["server_closed"], s["errors"]
        if s["lat_n"]:
            res.p50, res.p99 = s["p50_us"], s["p99_us"]
            res.p999, res.max = s["p999_us"], s["max_us"]
        time.sleep(2.0)
        res.mem["closed"] = mems(pids)

        if n.workers() != pids:
            ph.problems.append(f"a worker died: {pids} -> {n.workers()}")
        if res.connected != st.clients:
            ph.problems.append(f"{res.connected:,} of {st.clients:,} "
                               f"connected ({res.failed} failed)")
        if res.per_conn != (res.sent, res.sent) or res.delivered \
                != res.expected:
            ph.problems.append(
                f"events missed: {res.delivered:,} of {res.expected:,} "
                f"delivered, per client {res.per_conn[0]:,} to "
                f"{res.per_conn[1]:,} of {res.sent:,}")
        if res.gaps:
            ph.problems.append(f"{res.gaps} gap events")
        if res.server_closed or res.errors:
            ph.problems.append(f"{res.server_closed} sockets closed by "
                               f"nginx, {res.errors} socket errors")
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError,
            KeyError) as e:
        ph.problems.append(f"failed: {e}")
        log(f"ws: FAILED: {e}")
    finally:
        if cl is not None and cl.poll() is None:
            cl.kill()
            cl.wait()
        ph.stop()
    return res, ph


def ws_cpu(res):
    if not res.window_s:
        return "-"
    w = res.window_s
    ours = res.cpu_s + res.loadws_cpu_s + res.repos_cpu_s
    text = (f"workers {res.cpu_s / w:.0%}, loadws {res.loadws_cpu_s / w:.0%}"
            f", fake repos {res.repos_cpu_s / w:.0%}")
    if res.machine_cpu_s is not None:
        text += (f"; the whole machine {res.machine_cpu_s / w:.0%}, of "
                 f"which other jobs {(res.machine_cpu_s - ours) / w:.0%}")
    return text


def ws_report(res, ph, st):
    out = [f"## ws: {st.clients:,} WebSocket clients on the all-repos "
           f"/ws, 2 workers\n"]
    dps = res.delivered / res.window_s if res.window_s else 0
    rows = [
        ["clients connected", f"{res.connected:,} of {res.clients:,} "
         f"in {res.connect_s:.2f} s ({res.failed} failed)"],
        ["events published", f"{res.sent:,} ({res.repos} repos x "
         f"{res.rate:g}/s, {res.sent_rate:.1f}/s sent)"],
        ["deliveries", f"{res.delivered:,} of {res.expected:,} expected "
         f"({dps:,.0f}/s over the {res.window_s:.1f} s window)"],
        ["per client", f"min {res.per_conn[0]:,}, max {res.per_conn[1]:,} "
         f"of {res.sent:,}: " + ("every client got every event"
                                 if res.per_conn == (res.sent, res.sent)
                                 and res.sent else "EVENTS MISSED")],
        ["gaps / closed by nginx / errors", f"{res.gaps} / "
         f"{res.server_closed} / {res.errors}"],
        ["module's own events per client", f"{res.other / max(1, res.connected):.1f} "
         f"(repo_status, registry)"],
        ["latency emit to receive", f"p50 {fmt_ms(res.p50)}, p99 "
         f"{fmt_ms(res.p99)}, p99.9 {fmt_ms(res.p999)}, max "
         f"{fmt_ms(res.max)}"],
        ["CPU over the window, in % of one core (the machine has "
         f"{os.cpu_count()})", ws_cpu(res)],
    ]
    b, c = res.mem.get("before"), res.mem.get("connected")
    if b and c and res.connected:
        d = total(c, "rss") - total(b, "rss")
        da = total(c, "anon") - total(b, "anon")
        rows.append(["worker RSS per client (connected, idle)",
                     f"{d * 1024 / res.connected:,.0f} B (VmRSS), "
                     f"{da * 1024 / res.connected:,.0f} B (RssAnon)"])
    a = res.mem.get("after events")
    if b and a and res.connected:
        d = total(a, "rss") - total(b, "rss")
        rows.append(["worker RSS per client (after the events)",
                     f"{d * 1024 / res.connected:,.0f} B"])
    shm = [m["shmem"] for st_ in res.mem.values() for m in st_.values()
           if m["shmem"] is not None]
    if shm:
        rows.append(["shared memory touched (RssShmem, largest worker)",
                     f"{mib(max(shm))} of the 16 MiB hydra_zone (the "
                     f"registry, the history ring as far as written)"])
    out.append(bench.table(["measure", "value"], rows))
    out.append("\nEach worker's memory and open fds at each stage (the "
               "clients are spread over the workers by the kernel):\n")
    mrows = []
    for stage, ms in res.mem.items():
        for pid, m in sorted(ms.items()):
            mrows.append([stage, str(pid), mib(m["rss"]), mib(m["anon"]),
                          mib(m["shmem"]),
                          "-" if m["fds"] is None else f"{m['fds']:,}"])
        mrows.append([stage, "both", mib(total(ms, "rss")),
                      mib(total(ms, "anon")), mib(total(ms, "shmem")),
                      f"{total(ms, 'fds') or 0:,}"])
    out.append(bench.table(["stage", "worker", "VmRSS", "RssAnon",
                            "RssShmem", "open fds"], mrows))
    return "\n".join(out)


# ----------------------------------------------------------- phase 2: agg


@dataclass
class Window:
    n: int
    seconds: float = 0.0
    requests: int = 0
    rps: float = 0.0
    p50: Optional[float] = None     # ms
    p99: Optional[float] = None
    non2xx: int = 0
    socket_errors: int = 0
    partial: int = 0                # "missed the budget" log lines
    rss: Optional[int] = None       # kB, both workers
    busy: Optional[float] = None    # workers' CPU / wall, in cores
    backend_busy: Optional[float] = None
    wrk_busy: Optional[float] = None
    others_busy: Optional[float] = None     # the rest of the machine


def parse_p50(text):
    m = re.search(r"^\s+50(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)", text, re.M)
    return bench._ms(m.group(1), m.group(2)) if m else None


def count_budget_misses(error_log):
    try:
        return sum(1 for ln in error_log.read_text(
            errors="replace").splitlines() if "missed the" in ln)
    except OSError:
        return 0


def wrk(st, port, path, seconds):
    # --timeout 10s: an answer at the 2 s budget is measured, not dropped
    cmd = [st.wrk, "-t2", f"-c{st.connections}", f"-d{seconds}s",
           "--timeout", "10s", "--latency", f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         timeout=seconds + 60)
    return out.stdout


def agg_phase(st):
    ph = Phase(st, "agg")
    views = {}
    try:
        html = ph.prefix / "backend" / "html"
        ports = [bench.free_port() for _ in range(NREPOS)]
        servers = ""
        bodies = {"pipeline": [], "metrics": []}
        for i in range(NREPOS):
            d = html / f"r{i}"
            d.mkdir(parents=True)
            pb = bench.pipeline_body(repo=f"acme/r{i}", seed=100 + i)
            mb = bench.metrics_body(repo=f"acme/r{i}", seed=200 + i)
            bodies["pipeline"].append(pb)
            bodies["metrics"].append(mb)
            (d / "pipeline.json").write_text(pb)
            (d / "metrics.json").write_text(mb)
            (d / "healthz.json").write_text(bench.HEALTHZ)
            (d / "control.json").write_text(bench.CONTROL_STATUS.replace(
                "acme/bench", f"acme/r{i}"))
            servers += BACKEND_SERVER.format(port=ports[i], html=d)
        backend = ph.start_nginx("backend", BACKEND_HTTP.format(
            servers=servers), 1, False, ports)
        port = bench.free_port()
        lines = "".join(f"    hydra_repo acme/r{i} 127.0.0.1:{p};\n"
                        for i, p in enumerate(ports))
        front = ph.start_nginx("front", AGG_HTTP.format(
            repos=lines, port=port, keepalive=st.keepalive,
            pass_location=PASS_LOCATION), 2, True, [port])
        ph.wait_repos(port, NREPOS, events=False)
        pids = front.workers()
        bpids = backend.workers()

        tags = bench.REPO_TAGS
        refs = {
            "pipeline": bench.ref_pipeline(
                [(t, json.loads(b)) for t, b in zip(tags,
                                                   bodies["pipeline"])]),
            "metrics": bench.ref_metrics(
                [(t, json.loads(b)) for t, b in zip(tags,
                                                   bodies["metrics"])])}
        for view in st.views:
            path = f"/api/{view}"
            status, _, body = bench.http_get(port, path)
            diff = (["HTTP %d" % status] if status != 200 else
                    bench.json_diff(refs[view], json.loads(body)))
            if diff:
                ph.problems.append(f"{path}: wrong answer: {diff}")
                continue
            log(f"agg: {path}, wrk -c{st.connections}, {st.seconds}s in "
                f"{st.window}s windows")
            # warm-up: the upstream keepalive cache fills (the first
            # second opens a connection per subrequest, and some miss
            # the budget); then one budget more, so that the warm-up's
            # stragglers are not counted in window 1
            wrk(st, port, path, 5)
            time.sleep(2.5)
            windows = []
            nwin = max(1, st.seconds // st.window)
            for w in range(nwin):
                c0, b0 = cpus(pids), cpus(bpids)
                k0, m0 = children_cpu(), machine_busy()
                miss0 = count_budget_misses(front.error_log)
                t0 = time.monotonic()
                text = wrk(st, port, path, st.window)
                wall = time.monotonic() - t0
                c1, b1 = cpus(pids), cpus(bpids)
                k1, m1 = children_cpu(), machine_busy()
                s = bench.parse_wrk(text)
                win = Window(w + 1, s.seconds, s.requests, s.rps,
                             parse_p50(text), s.p99_ms, s.non2xx,
                             s.socket_errors)
                (ph.prefix / f"wrk-{view}-{w + 1}.txt").write_text(text)
                win.partial = count_budget_misses(front.error_log) - miss0
                win.rss = total(mems(pids), "rss")
                win.busy = cpu_delta(c0, c1) / wall
                win.backend_busy = cpu_delta(b0, b1) / wall
                win.wrk_busy = (k1 - k0) / wall
                if m0 is not None and m1 is not None:
                    win.others_busy = (m1 - m0) / wall - win.busy \
                        - win.backend_busy - win.wrk_busy
                windows.append(win)
                log(f"agg: {path} window {w + 1}/{nwin}: {win.rps:,.0f} "
                    f"req/s, p50 {win.p50} ms, p99 {win.p99} ms, errors "
                    f"{win.non2xx + win.socket_errors}, RSS {mib(win.rss)}")
                if s.requests == 0:
                    ph.problems.append(f"{path} window {w + 1}: wrk "
                                       f"failed: {text[-300:]}")
            views[view] = windows
        if front.workers() != pids:
            ph.problems.append(f"a worker died: {pids} -> "
                               f"{front.workers()}")
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError,
            KeyError) as e:
        ph.problems.append(f"failed: {e}")
        log(f"agg: FAILED: {e}")
    finally:
        ph.stop()
    return views, ph


def agg_report(views, st):
    out = [f"## agg: aggregated views over {NREPOS} repos, wrk -t2 "
           f"-c{st.connections}, {st.seconds} s in {st.window} s windows, "
           f"2 workers, upstream keepalive {st.keepalive}\n"]
    for view, windows in views.items():
        out.append(f"### /api/{view}\n")
        rows = []
        for w in windows:
            rows.append([
                str(w.n), f"{w.rps:,.0f}",
                "-" if w.p50 is None else f"{w.p50:.1f} ms",
                "-" if w.p99 is None else f"{w.p99:.1f} ms",
                f"{w.non2xx + w.socket_errors:,}"
                + (f" ({w.non2xx} non-2xx, {w.socket_errors} socket)"
                   if w.non2xx + w.socket_errors else ""),
                str(w.partial), mib(w.rss), pct(w.busy),
                pct(w.backend_busy), pct(w.wrk_busy),
                pct(None if w.others_busy is None
                    else max(0.0, w.others_busy))])
        out.append(bench.table(
            ["window", "req/s", "p50", "p99", "errors", "repos left out",
             "workers' RSS", "workers' CPU", "backends' CPU", "wrk CPU",
             "other jobs' CPU"], rows))
        if len(windows) >= 2:
            a, b = windows[0], windows[-1]

            def ratio(x, y):
                return f"{y / x:.2f}x" if x and y else "-"
            out.append("")
            out.append(
                f"First window vs last: req/s {a.rps:,.0f} -> "
                f"{b.rps:,.0f} ({ratio(a.rps, b.rps)}), p50 "
                f"{ratio(a.p50, b.p50)}, p99 {a.p99} -> {b.p99} ms "
                f"({ratio(a.p99, b.p99)}), workers' RSS {mib(a.rss)} -> "
                f"{mib(b.rss)} ({(b.rss - a.rss) / 1024:+.1f} MiB); "
                f"RSS over all windows {mib(min(w.rss for w in windows))}"
                f" to {mib(max(w.rss for w in windows))}; other jobs' CPU "
                f"{pct(a.others_busy)} -> {pct(b.others_busy)}.")
        out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------- main


def main(argv=None):
    st = parse_settings(argv)
    if not st.module.exists():
        log(f"no module at {st.module} (make build)")
        return 2
    for tool in (st.wrk, "cc"):
        if shutil.which(tool) is None:
            log(f"{tool} is missing (make deps-bench)")
            return 2
    st.outdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load0 = loadavg()
    info = bench.module_info(st.module, st.module)
    text = ["# bench/load.py: load and stability\n",
            f"- when: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
            f"- module: `{info}`",
            f"- machine: {os.cpu_count()} CPUs "
            f"({len(os.sched_getaffinity(0))} usable), kernel "
            f"{platform.release()}, shared with other jobs: nginx, the "
            f"load generators and the fake repos all run on these cores, "
            f"unpinned, so every figure includes their contention",
            f"- load average before: {load0}"]
    problems, log_lines = [], []
    sections = []
    if "ws" in st.only:
        res, ph = ws_phase(st)
        sections.append(ws_report(res, ph, st))
        problems += [f"ws: {p}" for p in ph.problems]
        log_lines += ph.log_lines
    if "agg" in st.only:
        views, ph = agg_phase(st)
        sections.append(agg_report(views, st))
        problems += [f"agg: {p}" for p in ph.problems]
        log_lines += ph.log_lines
    text.append(f"- load average after: {loadavg()}; took "
                f"{time.time() - started:.0f} s")
    text.append("")
    for sec in sections:
        text += [sec, ""]
    text.append("## problems\n")
    text.append("\n".join(f"- {p}" for p in problems) if problems
                else "none: every client connected and got every event, "
                     "every answer checked was right, no worker died")
    if log_lines:
        text.append(f"\nerror.log warn+ lines ({len(log_lines)}, last 15):"
                    "\n\n```")
        text += log_lines[-15:]
        text.append("```")
    out = "\n".join(text) + "\n"
    print(out)
    (st.outdir / "load.md").write_text(out)
    log(f"written: {st.outdir / 'load.md'}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "repo":
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        asyncio.run(repo_main(int(sys.argv[2]), sys.argv[3]))
        sys.exit(0)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
