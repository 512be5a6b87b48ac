#!/usr/bin/python3
"""Side-by-side benchmarks of ngx_http_hydra_module against what users
would otherwise run (bench/README.md).

    MODULE=/abs/build/ngx_http_hydra_module.so /usr/bin/python3 bench/run.py

Each *scenario* is one row of the result table: one nginx started for it
alone, a module contender, one or more alternatives (and optional
references), measured alternately with wrk in the same run, then compared
against the scenario's goal.  Standard library only (Debian's python3).

Environment (each also a command-line option, see --help):
    MODULE            the module .so (default build/ngx_http_hydra_module.so)
    NGINX_BIN         nginx binary (default /usr/sbin/nginx)
    BENCH_DURATION    seconds per measured run (default 10)
    BENCH_REPEAT      measured runs per contender, median kept (default 3)
    BENCH_WARMUP      seconds of warm-up per contender (default: from duration)
    BENCH_THREADS     wrk threads (default 2)
    BENCH_CONNECTIONS wrk connections (default 50)
    BENCH_ONLY        comma list of scenario or contender names to run,
                      e.g. "plain" (no module needed) or "passthrough"
    BENCH_PIN         1 (default when >= 2 CPUs): pin the nginx worker to
                      the last CPU and wrk to the others; 0: no pinning
    BENCH_STRICT      1: exit 1 when a goal is missed (default: only when a
                      contender is broken)
    BENCH_DIR         output directory (default build/bench)
"""

import argparse
import hashlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional


ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- settings


@dataclass
class Settings:
    module: Path
    nginx: str
    wrk: str
    duration: int
    repeat: int
    warmup: int
    threads: int
    connections: int
    only: List[str]
    pin: bool
    strict: bool
    outdir: Path


def parse_settings(argv):
    env = os.environ.get
    ncpu = len(os.sched_getaffinity(0))
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--module", default=env(
        "MODULE", str(ROOT / "build" / "ngx_http_hydra_module.so")))
    p.add_argument("--nginx", default=env("NGINX_BIN", "/usr/sbin/nginx"))
    p.add_argument("--wrk", default=env("WRK", "wrk"))
    p.add_argument("--duration", type=int,
                   default=int(env("BENCH_DURATION", "10")))
    p.add_argument("--repeat", type=int,
                   default=int(env("BENCH_REPEAT", "3")))
    p.add_argument("--warmup", type=int,
                   default=int(env("BENCH_WARMUP", "-1")))
    p.add_argument("--threads", type=int,
                   default=int(env("BENCH_THREADS", "2")))
    p.add_argument("--connections", type=int,
                   default=int(env("BENCH_CONNECTIONS", "50")))
    p.add_argument("--only", default=env("BENCH_ONLY", ""))
    p.add_argument("--pin", type=int,
                   default=int(env("BENCH_PIN", "1" if ncpu >= 2 else "0")))
    p.add_argument("--strict", type=int,
                   default=int(env("BENCH_STRICT", "0")))
    p.add_argument("--outdir", default=env(
        "BENCH_DIR", str(ROOT / "build" / "bench")))
    p.add_argument("--list", action="store_true",
                   help="list scenarios and contenders, then exit")
    a = p.parse_args(argv)
    warmup = a.warmup if a.warmup >= 0 else max(1, min(3, a.duration // 3))
    s = Settings(
        module=Path(a.module).resolve(), nginx=a.nginx, wrk=a.wrk,
        duration=max(1, a.duration), repeat=max(1, a.repeat), warmup=warmup,
        threads=a.threads, connections=a.connections,
        only=[x.strip() for x in a.only.split(",") if x.strip()],
        pin=bool(a.pin) and ncpu >= 2, strict=bool(a.strict),
        outdir=Path(a.outdir).resolve())
    return s, a.list


# ------------------------------------------------------------- measurement


@dataclass
class Sample:
    """One measured load run of one contender."""
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p99_ms: Optional[float] = None
    non2xx: int = 0
    socket_errors: int = 0
    cpu_s: float = 0.0          # nginx (and helpers) CPU during the run
    note: str = ""              # e.g. a worker died

    @property
    def cpu_us_per_req(self):
        if self.requests <= 0:
            return None
        return self.cpu_s * 1e6 / self.requests

    @property
    def ok(self):
        return (self.requests > 0 and self.non2xx == 0
                and self.socket_errors == 0 and not self.note)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(value, unit):
    return float(value) * _UNITS[unit]


def parse_wrk(text):
    """The numbers we use from `wrk --latency` output."""
    s = Sample()
    m = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)",
                  text, re.M)
    if m:
        s.requests = int(m.group(1))
        s.seconds = _ms(m.group(2), m.group(3)) / 1e3
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        s.rps = float(m.group(1))
    m = re.search(r"^\s+99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)", text, re.M)
    if m:
        s.p99_ms = _ms(m.group(1), m.group(2))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        s.non2xx = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", text)
    if m:
        s.socket_errors = sum(int(x) for x in m.groups())
    return s


def proc_cpu(pid):
    """utime + stime of one process in seconds (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == ppid:
            out.append(int(d))
    return sorted(out)


class WrkLoad:
    """HTTP load with wrk: one URL path, optionally a wrk Lua script
    (for POSTs, several paths, ...).  Other load generators (a WebSocket
    client for the event fan-out rows) only need the same run()."""

    def __init__(self, path, script=None):
        self.path = path
        self.script = script

    def describe(self, st):
        return (f"wrk -t{st.threads} -c{st.connections} --latency "
                f"GET {self.path}")

    def run(self, ctx, port, seconds):
        st = ctx.settings
        cmd = [st.wrk, f"-t{st.threads}", f"-c{st.connections}",
               f"-d{seconds}s", "--latency"]
        if self.script:
            cmd += ["-s", str(self.script)]
        cmd.append(f"http://127.0.0.1:{port}{self.path}")
        cpus = ctx.wrk_cpus
        res = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=seconds + 60,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus))
            if cpus else None)
        s = parse_wrk(res.stdout)
        if res.returncode != 0 or s.requests == 0:
            s.note = ("wrk failed: "
                      + " | ".join(res.stdout.strip().splitlines()[-3:]))
        return s, res.stdout


# ------------------------------------------------------------------ nginx


def free_port():
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


class Nginx:
    """One nginx in the foreground (daemon off) under its own prefix."""

    def __init__(self, binary, prefix):
        self.binary = binary
        self.prefix = prefix
        self.proc = None
        self.stderr = None

    @property
    def error_log(self):
        return self.prefix / "error.log"

    def start(self, conf, ports, timeout=10):
        (self.prefix / "nginx.conf").write_text(conf)
        for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.prefix / "temp" / d).mkdir(parents=True, exist_ok=True)
        self.stderr = open(self.prefix / "stderr.log", "w")
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(self.prefix) + "/", "-e", "error.log",
             "-c", "nginx.conf"],
            stdin=subprocess.DEVNULL, stdout=self.stderr,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"nginx exited with {self.proc.returncode}:\n"
                    + self.tail_stderr())
            if self.workers() and all(_listening(p) for p in ports):
                return
            time.sleep(0.05)
        raise RuntimeError("nginx did not come up in time:\n"
                           + self.tail_stderr())

    def tail_stderr(self):
        text = (self.prefix / "stderr.log").read_text(errors="replace")
        if self.error_log.exists():
            text += self.error_log.read_text(errors="replace")
        return "\n".join(text.strip().splitlines()[-20:])

    def workers(self):
        return children(self.proc.pid) if self.proc else []

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.stderr:
            self.stderr.close()

    def problems(self):
        """warn-or-worse lines of error.log: what a reader must see."""
        if not self.error_log.exists():
            return []
        bad = re.compile(r"\[(warn|error|crit|alert|emerg)\]|exited on "
                         r"signal|Sanitizer")
        return [ln for ln in self.error_log.read_text(
            errors="replace").splitlines() if bad.search(ln)]


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def http_get(port, path, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


# -------------------------------------------------------------- framework


@dataclass
class Contender:
    """One way of serving the scenario's requests.

    role is "module" (ngx_http_hydra_module), "alternative" (what it is
    compared with) or "reference" (measured and shown, never compared;
    e.g. the backend alone, to show how much of nginx's CPU it takes).
    port is a name that the scenario's config also uses ({ports[name]}).
    cpu_pids: which processes' CPU counts for this contender; default the
    nginx workers.  A contender with a helper process (a Python
    aggregator) adds that process."""
    name: str
    label: str
    role: str
    port: str
    load: object
    cpu_pids: Optional[Callable] = None


@dataclass
class Goal:
    """module/alternative ratio of one metric, e.g. rps >= 0.95."""
    metric: str                 # "rps", "p99" or "cpu"
    op: str                     # ">=" or "<="
    ratio: float

    NAMES = {"rps": "req/s", "p99": "p99", "cpu": "CPU/req"}

    def text(self, alt):
        return f"{self.NAMES[self.metric]} {self.op} {self.ratio:g}x {alt}"

    def met(self, r):
        if r is None:
            return False
        return r >= self.ratio if self.op == ">=" else r <= self.ratio


class Context:
    """What a scenario sees while being set up and run."""

    def __init__(self, settings, prefix):
        self.settings = settings
        self.prefix = prefix
        self.ports = {}
        self.helpers = []
        self.nginx = None
        self.wrk_cpus = None
        self.nginx_cpu = None

    def port(self, name):
        if name not in self.ports:
            self.ports[name] = free_port()
        return self.ports[name]

    def spawn(self, cmd, **kw):
        """A helper process (fake repo, Python aggregator) that lives as
        long as the scenario; returns its Popen."""
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, **kw)
        self.helpers.append(p)
        return p

    def stop_helpers(self):
        for p in self.helpers:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


class Scenario:
    """A row of the table.  Subclasses set the attributes and write
    http_conf(); files() writes what the config refers to; check() tells
    whether one response of a contender is right (None) or not (why)."""

    name = ""
    title = ""
    what = ""
    needs_module = True         # load_module MODULE when a module contender
    contenders: List[Contender] = []
    goal: Goal = None

    def main_conf(self, ctx):
        """Top-level directives besides load_module of our module (e.g.
        load_module of njs or nchan)."""
        return ""

    def files(self, ctx):
        pass

    def http_conf(self, ctx, with_module):
        raise NotImplementedError

    def start(self, ctx):
        """Start helper processes before nginx (ctx.spawn)."""
        pass

    def check(self, ctx, contender, status, headers, body):
        return None if status == 200 else f"HTTP {status}"


# ----------------------------------------------------------- scenarios

STAGES = {
    # stage: (issue count, statuses an issue there can have)
    "triage": (8, ["queued", "queued", "active"]),
    "plan": (6, ["queued", "active"]),
    "implement": (7, ["queued", "active", "processing"]),
    "review": (5, ["queued", "active", "processing"]),
    "hitl": (4, ["hitl", "hitl", "processing"]),
}

TITLES = [
    "Add retry with backoff to the GitHub poller",
    "Fix login redirect loop behind a proxy",
    "Flaky CI: test_merge_queue times out on arm64",
    "Dashboard: show worker cap per stage",
    "Planner ignores epic ordering constraints",
    "Migrate sessions.jsonl writes to append-only",
    "Review agent leaves duplicate comments on re-run",
    "Support GitLab merge requests in the PR unsticker",
    "Crash when an issue body contains a null byte",
    "Rate-limit the triage agent per repository",
    "Document the supervisor JSON-lines protocol",
    "HITL escalation loses the reviewer's last question",
    "Worktree cleanup races with the implement stage",
    "Metrics: time_to_merge p90 is off by one sample",
    "Upgrade FastAPI and pin starlette",
    "Memory sync stalls when the memory repo is archived",
    "Add dark mode to the pipeline board",
    "Handle 'credits paused' in the control status",
    "Retrospective report drops issues closed as duplicate",
    "Make the batch size configurable per stage",
    "Tokens counted twice when a session is resumed",
    "ADR reviewer should skip draft ADRs",
    "Timeline view is slow with 5k events",
    "Release 0.9: changelog and version bump",
    "Report issue command attaches the wrong log",
    "Plan stage: split oversized issues automatically",
    "Label sync removes labels added by humans",
    "Close stale HITL items after 14 days",
    "Reviewer approves PRs with failing required checks",
    "Show per-repo health in the repo selector",
]


def pipeline_body(repo="acme/bench", seed=8):
    """A realistic /api/pipeline body (hydraflow-api.md 1.2): 30 issues in
    the five stages, compact JSON as FastAPI sends it."""
    rng = random.Random(seed)
    total = sum(n for n, _ in STAGES.values())
    numbers = sorted(rng.sample(range(40, 1400), total), reverse=True)
    titles = rng.sample(TITLES, total)
    epics = [0] * 5 + [1187, 902]
    stages, i = {}, 0
    for stage, (count, statuses) in STAGES.items():
        issues = []
        for _ in range(count):
            epic = rng.choice(epics)
            issues.append({
                "issue_number": numbers[i], "title": titles[i],
                "url": f"https://github.com/{repo}/issues/{numbers[i]}",
                "status": rng.choice(statuses), "epic_number": epic,
                "is_epic_child": epic != 0})
            i += 1
        stages[stage] = issues
    return json.dumps({"stages": stages}, separators=(",", ":"))


CONTROL_STATUS = json.dumps({
    "status": "running", "credits_paused_until": None, "config": {
        "app_version": "0.9.0", "latest_version": "0.9.0",
        "update_available": False, "repo": "acme/bench",
        "ready_label": ["hydraflow-ready"],
        "review_label": ["hydraflow-review"],
        "hitl_label": ["hydraflow-hitl"], "max_triagers": 1,
        "max_workers": 2, "max_planners": 1, "max_reviewers": 1,
        "max_hitl_workers": 1, "batch_size": 15, "model": "opus",
        "memory_auto_approve": False, "pr_unstick_batch_size": 10,
        "worktree_base": "/tmp/hydraflow-worktrees"},
    "current_session_id": "acme-bench-20260305T100000"},
    separators=(",", ":"))


HEALTHZ = json.dumps({
    "status": "ok", "version": "0.9.0", "timestamp":
    "2026-03-05T10:00:05+00:00", "orchestrator_running": True,
    "active_issue_count": 7, "active_worktrees": 3, "worker_count": 4,
    "worker_errors": [], "dashboard": {"host": "127.0.0.1", "port": 0},
    "ready": True}, separators=(",", ":"))


class Passthrough(Scenario):
    name = "passthrough"
    title = "passthrough: GET /api/pipeline?repo=bench"
    what = ("one repo's view through the module's passthrough (registry "
            "lookup, ?repo= stripped, internal redirect to proxy_pass to a "
            "keepalive upstream) vs a plain proxy_pass to the same backend "
            "with the same keepalive policy")
    contenders = [
        Contender("module", "hydra_api passthrough", "module", "module",
                  WrkLoad("/api/pipeline?repo=bench")),
        Contender("plain", "plain proxy_pass", "alternative", "plain",
                  WrkLoad("/api/pipeline?repo=bench")),
        Contender("backend", "backend direct (no proxy)", "reference",
                  "backend", WrkLoad("/api/pipeline?repo=bench")),
    ]
    goal = Goal("rps", ">=", 0.95)

    def files(self, ctx):
        self.body = pipeline_body()
        (ctx.prefix / "html").mkdir(exist_ok=True)
        (ctx.prefix / "html" / "pipeline.json").write_text(self.body)
        (ctx.prefix / "html" / "healthz.json").write_text(HEALTHZ)
        (ctx.prefix / "html" / "control.json").write_text(CONTROL_STATUS)

    def http_conf(self, ctx, with_module):
        html = ctx.prefix / "html"
        b = ctx.port("backend")
        conf = f"""
    # The repo's dashboard: a static /api/pipeline, and what the module's
    # health probe may ask (/api/control/status, /healthz); everything
    # else 404 as FastAPI answers.
    server {{
        listen 127.0.0.1:{b};
        default_type application/json;
        open_file_cache max=16;
        open_file_cache_valid 1h;
        location = /api/pipeline {{ alias {html}/pipeline.json; }}
        location = /healthz {{ alias {html}/healthz.json; }}
        location = /api/control/status {{
            alias {html}/control.json;
        }}
        location / {{ return 404 '{{"detail":"Not Found"}}'; }}
    }}

    # The alternative: what a user writes without the module.
    upstream plain {{
        server 127.0.0.1:{b};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{ctx.port("plain")};
        location /api/ {{
            proxy_pass http://plain;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
"""
        if with_module:
            conf += f"""
    # The module's front.
    hydra_zone hydra 16m;
    hydra_repo bench 127.0.0.1:{b};
    upstream hydra_repos {{
        hydra_balancer;
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{ctx.port("module")};
        location /api/ {{ hydra_api; }}
        location /_hydra/ {{
            internal;
            proxy_pass http://hydra_repos/;
            proxy_http_version 1.1;
            proxy_set_header Connection $hydra_connection;
        }}
    }}
"""
        return conf

    def check(self, ctx, contender, status, headers, body):
        if status != 200:
            return f"HTTP {status}: {body[:200]!r}"
        try:
            if json.loads(body) != json.loads(self.body):
                return f"body differs from the backend's: {body[:200]!r}"
        except ValueError:
            return f"not JSON: {body[:200]!r}"
        return None


# Rows of the table, in order.  Next: aggregation vs njs / Lua / Python,
# sessions, WebSocket fan-out vs nchan.
SCENARIOS = [Passthrough()]


# ------------------------------------------------------------------ runner


NGINX_CONF = """# generated by bench/run.py for scenario "{name}"; do not edit
{load_module}{main_conf}
# One worker: on this 2-core machine wrk needs a core of its own, so one
# worker (pinned to the other core when BENCH_PIN=1) makes nginx the
# bottleneck and req/s a direct reading of nginx's cost per request.
# With 2 workers, nginx and wrk would share 2 cores and the ratio would
# mostly measure the scheduler.  The backend lives in the same worker:
# its cost is the same for every contender, and the "backend direct"
# reference row shows how large it is.
worker_processes 1;
{affinity}daemon off;
master_process on;
pid nginx.pid;
error_log error.log notice;

events {{
    worker_connections 4096;
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


@dataclass
class ContenderResult:
    contender: Contender
    samples: List[Sample] = field(default_factory=list)
    check_error: Optional[str] = None

    def med(self, attr):
        vals = [getattr(s, attr) for s in self.samples]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    @property
    def rps(self):
        return self.med("rps")

    @property
    def p99(self):
        return self.med("p99_ms")

    @property
    def cpu(self):
        return self.med("cpu_us_per_req")

    @property
    def spread(self):
        """(max - min) / median of req/s over the runs, in %."""
        v = [s.rps for s in self.samples]
        if len(v) < 2 or not statistics.median(v):
            return None
        return (max(v) - min(v)) / statistics.median(v) * 100

    @property
    def non2xx(self):
        return sum(s.non2xx for s in self.samples)

    @property
    def socket_errors(self):
        return sum(s.socket_errors for s in self.samples)

    @property
    def ok(self):
        return (self.check_error is None and bool(self.samples)
                and all(s.ok for s in self.samples))


@dataclass
class ScenarioResult:
    scenario: Scenario
    results: List[ContenderResult] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    error: Optional[str] = None
    module: Optional[str] = None

    def by_role(self, role):
        return [r for r in self.results if r.contender.role == role]


def selected(settings, scenario, contender):
    if not settings.only:
        return True
    return any(x in (scenario.name, contender.name,
                     f"{scenario.name}.{contender.name}")
               for x in settings.only)


def module_info(copy, orig):
    h = hashlib.sha256(copy.read_bytes()).hexdigest()[:12]
    t = time.strftime("%Y-%m-%d %H:%M:%S",
                      time.localtime(orig.stat().st_mtime))
    return f"{orig} (built {t}, sha256 {h}...)"


def measure(ctx, c, seconds):
    pids_of = c.cpu_pids or (lambda ctx: ctx.nginx.workers())
    pids = pids_of(ctx)
    before = {p: proc_cpu(p) for p in pids}
    sample, out = c.load.run(ctx, ctx.ports[c.port], seconds)
    after_pids = pids_of(ctx)
    after = {p: proc_cpu(p) for p in pids}
    sample.cpu_s = sum(after[p] - before[p] for p in pids
                       if after[p] is not None and before[p] is not None)
    if sorted(after_pids) != sorted(pids):
        sample.note = (f"nginx workers changed during the run "
                       f"({pids} -> {after_pids}): a worker died")
    return sample, out


def run_scenario(sc, st):
    res = ScenarioResult(sc)
    contenders = [c for c in sc.contenders if selected(st, sc, c)]
    if not contenders:
        return None
    with_module = sc.needs_module and any(
        c.role == "module" for c in contenders)
    prefix = st.outdir / sc.name
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    ctx = Context(st, prefix)
    cpus = sorted(os.sched_getaffinity(0))
    if st.pin:
        ctx.nginx_cpu = cpus[-1]
        ctx.wrk_cpus = set(cpus[:-1])
    try:
        sc.files(ctx)
        http_conf = sc.http_conf(ctx, with_module)
        for c in contenders:
            ctx.port(c.port)
        module = None
        if with_module:
            # Load a copy: `make build` rewrites the .so in place (cp), and
            # a library rewritten under a running nginx crashes every
            # worker.  The copy also pins what was measured (results.md).
            module = prefix / st.module.name
            shutil.copy2(st.module, module)
            res.module = module_info(module, st.module)
        conf = NGINX_CONF.format(
            name=sc.name,
            load_module=f"load_module {module};\n" if module else "",
            main_conf=sc.main_conf(ctx),
            affinity=(f"worker_cpu_affinity 1{'0' * ctx.nginx_cpu};\n"
                      if st.pin else ""),
            http_conf=http_conf)
        sc.start(ctx)
        ctx.nginx = Nginx(st.nginx, prefix)
        ctx.nginx.start(conf, [ctx.ports[c.port] for c in contenders])
        results = [ContenderResult(c) for c in contenders]
        res.results = results
        for r in results:
            try:
                status, headers, body = http_get(
                    ctx.ports[r.contender.port], r.contender.load.path)
                r.check_error = sc.check(ctx, r.contender, status, headers,
                                         body)
            except OSError as e:
                r.check_error = f"{type(e).__name__}: {e}"
            if r.check_error:
                log(f"[{sc.name}] {r.contender.name}: WRONG RESPONSE: "
                    f"{r.check_error}")
        for r in results:
            log(f"[{sc.name}] warm-up {r.contender.name} ({st.warmup}s)")
            r.contender.load.run(ctx, ctx.ports[r.contender.port],
                                 st.warmup)
        # Alternate the contenders, reversing the order every round, so
        # that a slow drift of the machine hits all of them alike.
        for rnd in range(st.repeat):
            order = results if rnd % 2 == 0 else results[::-1]
            for r in order:
                s, out = measure(ctx, r.contender, st.duration)
                r.samples.append(s)
                (prefix / f"wrk-{r.contender.name}-{rnd + 1}.txt"
                 ).write_text(out)
                log(f"[{sc.name}] run {rnd + 1}/{st.repeat} "
                    f"{r.contender.name:>8}: {s.rps:10,.0f} req/s  "
                    f"p99 {fmt_ms(s.p99_ms):>8}  "
                    f"cpu {fmt_us(s.cpu_us_per_req):>8}/req"
                    + (f"  non-2xx {s.non2xx}" if s.non2xx else "")
                    + (f"  socket errors {s.socket_errors}"
                       if s.socket_errors else "")
                    + (f"  {s.note}" if s.note else ""))
                if not ctx.nginx.workers() or "worker" in s.note:
                    raise RuntimeError("an nginx worker died (error.log); "
                                       "the remaining runs are skipped")
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        res.error = str(e)
        log(f"[{sc.name}] FAILED: {e}")
    finally:
        if ctx.nginx:
            ctx.nginx.stop()
            res.problems = ctx.nginx.problems()
        ctx.stop_helpers()
    return res


# ----------------------------------------------------------------- report


def fmt_ms(v):
    return "-" if v is None else f"{v:.2f} ms"


def fmt_us(v):
    return "-" if v is None else f"{v:.1f} µs"


def fmt_rps(v):
    return "-" if v is None else f"{v:,.0f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def paired_ratio(m, a, attr):
    """Median over the rounds of module/alternative within a round: the
    two ran back to back, so a drift of the machine between rounds
    cancels out."""
    rs = [ratio(getattr(x, attr), getattr(y, attr))
          for x, y in zip(m.samples, a.samples)]
    rs = [r for r in rs if r is not None]
    return statistics.median(rs) if rs else None


def fmt_ratio(r):
    return "-" if r is None else f"{r:.3f}x"


def table(header, rows):
    rows = [[str(c) for c in row] for row in rows]
    w = [max(len(x) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(   # noqa: E731
        c.ljust(n) for c, n in zip(cells, w)) + " |"
    return "\n".join([line(header), "|" + "|".join(
        "-" * (n + 2) for n in w) + "|"] + [line(r) for r in rows])


def summary_rows(results):
    rows, all_met = [], True
    for sr in results:
        sc = sr.scenario
        mods, alts = sr.by_role("module"), sr.by_role("alternative")
        if sr.error and not (mods and alts):
            rows.append([sc.name, "-", "-", "-", "-", "-",
                         "NO (failed, see below)"])
            all_met = False
            continue
        for m in mods:
            for a in alts:
                r_rps = paired_ratio(m, a, "rps")
                r_p99 = paired_ratio(m, a, "p99_ms")
                r_cpu = paired_ratio(m, a, "cpu_us_per_req")
                value = {"rps": r_rps, "p99": r_p99, "cpu": r_cpu}
                if sr.error or not (m.ok and a.ok):
                    met = "NO (errors, see below)"
                    all_met = False
                else:
                    ok = sc.goal.met(value[sc.goal.metric])
                    met = "yes" if ok else "NO"
                    all_met = all_met and ok
                delta = (None if m.cpu is None or a.cpu is None
                         else m.cpu - a.cpu)
                rows.append([
                    sc.name, f"{m.contender.name} vs {a.contender.name}",
                    f"{fmt_ratio(r_rps)} ({fmt_rps(m.rps)} / "
                    f"{fmt_rps(a.rps)})",
                    f"{fmt_ratio(r_p99)} ({fmt_ms(m.p99)} / "
                    f"{fmt_ms(a.p99)})",
                    f"{fmt_ratio(r_cpu)} ({fmt_us(m.cpu)} / "
                    f"{fmt_us(a.cpu)}"
                    + ("" if delta is None else f", {delta:+.1f} µs") + ")",
                    sc.goal.text(a.contender.name), met])
    return rows, all_met


def detail_rows(sr):
    rows = []
    for r in sr.results:
        runs = " / ".join(fmt_rps(s.rps) for s in r.samples)
        status = "ok" if r.ok else "BROKEN"
        rows.append([
            r.contender.name, r.contender.role, r.contender.label,
            fmt_rps(r.rps),
            "-" if r.spread is None else f"{r.spread:.1f}%",
            fmt_ms(r.p99), fmt_us(r.cpu),
            str(r.non2xx), str(r.socket_errors), runs or "-", status])
    return rows


def machine_info(st):
    def first_line(cmd):
        try:
            out = subprocess.run(cmd, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            return out.stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    return {
        "cpus": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)",
        "kernel": platform.release(),
        "nginx": first_line([st.nginx, "-v"]),
        "wrk": first_line([st.wrk, "-v"]),
    }


def report(results, st, info, load_before, load_after, started):
    out = []
    out.append("# hydra bench results\n")
    out.append(f"{time.strftime('%Y-%m-%d %H:%M:%S %z', started)}; "
               f"{info['cpus']} CPUs, kernel {info['kernel']}, "
               f"{info['nginx']}, {info['wrk']}.")
    out.append(f"Each contender: {st.warmup}s warm-up, then {st.repeat} x "
               f"{st.duration}s runs (median kept), alternating with the "
               f"others; wrk -t{st.threads} -c{st.connections}; one nginx "
               f"worker" + (", pinned to its own CPU, wrk on the other(s)"
                            if st.pin else ", not pinned")
               + f". Load average before/after: {load_before} / "
               f"{load_after}.")
    out.append("")
    out.append("Each ratio is module / alternative, the median of the "
               "per-round ratios (both ran back to back in each round); "
               "in brackets the medians of module / alternative. req/s: "
               "higher is better; p99 and nginx CPU per request (all "
               "nginx workers' utime+stime / requests): lower is better."
               "\n")
    rows, all_met = summary_rows(results)
    if rows:
        out.append(table(["row", "contenders", "req/s", "p99 latency",
                          "nginx CPU/req", "goal", "met"], rows))
    else:
        out.append("(no module-vs-alternative pair was run: BENCH_ONLY)")
    for sr in results:
        sc = sr.scenario
        out.append(f"\n## {sc.title}\n")
        out.append(sc.what[0].upper() + sc.what[1:] + ".\n")
        if sr.module:
            out.append(f"Module: `{sr.module}`.\n")
        if sr.error:
            out.append(f"**Failed:** `{sr.error}`\n")
        if sr.results:
            out.append("spread: (max - min) / median of req/s over the "
                       "runs; CPU/req includes the backend (same worker)."
                       "\n")
            out.append(table(
                ["contender", "role", "what", "req/s", "spread",
                 "p99", "nginx CPU/req", "non-2xx", "socket err",
                 "runs (req/s)", "status"], detail_rows(sr)))
        broken = [r for r in sr.results if not r.ok]
        for r in broken:
            out.append(f"\n**{r.contender.name} is broken.**")
            if r.check_error:
                out.append(f"- first response: `{r.check_error}`")
            for s in r.samples:
                if not s.ok:
                    out.append(f"- run: {s.requests} requests, "
                               f"{s.non2xx} non-2xx, {s.socket_errors} "
                               f"socket errors" +
                               (f", {s.note}" if s.note else ""))
        if sr.problems:
            out.append(f"\nerror.log ({len(sr.problems)} warn+ lines, "
                       f"last 15):\n")
            out.append("```")
            out.extend(sr.problems[-15:])
            out.append("```")
    return "\n".join(out) + "\n", all_met


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main(argv=None):
    st, list_only = parse_settings(argv)
    if list_only:
        for sc in SCENARIOS:
            print(f"{sc.name}: {sc.title}")
            for c in sc.contenders:
                print(f"    {c.name:10} {c.role:11} {c.label}")
        return 0
    scenarios = [sc for sc in SCENARIOS
                 if any(selected(st, sc, c) for c in sc.contenders)]
    if not scenarios:
        log(f"BENCH_ONLY={','.join(st.only)} matches nothing (--list)")
        return 2
    need_module = any(
        sc.needs_module and any(c.role == "module" and selected(st, sc, c)
                                for c in sc.contenders)
        for sc in scenarios)
    if need_module and not st.module.is_file():
        log(f"module not found: {st.module} (build it with `make build`, "
            f"or set MODULE=..., or BENCH_ONLY=plain to skip it)")
        return 2
    if shutil.which(st.wrk) is None:
        log("wrk not found (apt-get install wrk, or `make deps-bench`)")
        return 2

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    st.outdir.mkdir(parents=True, exist_ok=True)
    started = time.localtime()
    load_before = loadavg()
    info = machine_info(st)
    results = []
    for sc in scenarios:
        sr = run_scenario(sc, st)
        if sr is not None:
            results.append(sr)
    text, all_met = report(results, st, info, load_before, loadavg(),
                           started)
    print()
    print(text)
    (st.outdir / "results.md").write_text(text)
    log(f"written: {st.outdir / 'results.md'}")
    broken = any(sr.error or not all(r.ok for r in sr.results)
                 for sr in results)
    if broken:
        return 1
    if st.strict and not all_met:
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
