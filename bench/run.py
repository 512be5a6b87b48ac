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
    BENCH_CONNECTIONS wrk connections (default: the row's, 50 for
                      passthrough, 32 for the aggregation rows)
    BENCH_ONLY        comma list of scenario or contender names to run,
                      e.g. "plain" (no module needed), "passthrough" or
                      "pipeline.njs"
    BENCH_PIN         1 (default when >= 2 CPUs): pin the front's nginx
                      worker (or the Python aggregator) to the last CPU,
                      wrk and the backends' nginx to the others; 0: none
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

import sessions                 # bench/sessions.py: the sessions row
import fanout                   # bench/fanout.py: the fanout row


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
    connections: int            # 0: each row's own
    only: List[str]
    pin: bool
    strict: bool
    outdir: Path
    module_snapshot: Optional[Path] = None   # main(): the run's copy
    module_info: Optional[str] = None


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
                   default=int(env("BENCH_CONNECTIONS", "0")),
                   help="0: the row's own (50, 32 for aggregation)")
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
    backend_cpu_s: Optional[float] = None   # the backends' nginx, if apart
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

    def describe(self, ctx):
        return (f"wrk -t{ctx.settings.threads} -c{ctx.connections} "
                f"--latency GET {self.path}")

    def run(self, ctx, port, seconds):
        st = ctx.settings
        cmd = [st.wrk, f"-t{st.threads}", f"-c{ctx.connections}",
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
    workers of its front nginx.  A contender served by a helper process
    (a Python aggregator) counts that process instead.
    front: which of the scenario's front nginx instances serves it
    (Scenario.fronts(); "main" in a row with one nginx)."""
    name: str
    label: str
    role: str
    port: str
    load: object
    cpu_pids: Optional[Callable] = None
    front: str = "main"


@dataclass
class Front:
    """One nginx of a scenario that serves contenders: its http {} body,
    top-level lines (load_module of njs or Lua) and whether it loads the
    module.  Each front is its own nginx under <row>/<name>/, one worker
    pinned like the others, so its CPU is its contenders' alone."""
    name: str
    http_conf: str
    main_conf: str = ""
    module: bool = False


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
        self.fronts = {}            # name -> Nginx
        self.backend = None         # Nginx of the backends, if apart
        self.wrk_cpus = None
        self.nginx_cpu = None
        self.connections = settings.connections
        self.duration = settings.duration
        self.warmup = settings.warmup

    @property
    def nginx(self):
        """The row's front nginx when it has one ("main")."""
        return self.fronts.get("main") or next(iter(self.fronts.values()),
                                               None)

    def all_nginx(self):
        return list(self.fronts.items()) + (
            [("backend", self.backend)] if self.backend else [])

    def port(self, name):
        if name not in self.ports:
            self.ports[name] = free_port()
        return self.ports[name]

    def spawn(self, cmd, pin_front=False, **kw):
        """A helper process (fake repo, Python aggregator) that lives as
        long as the scenario; returns its Popen.  pin_front: on the
        front's CPU, where an nginx front's worker would be."""
        cpu = self.nginx_cpu if pin_front else None
        if cpu is not None:
            kw["preexec_fn"] = lambda: os.sched_setaffinity(0, {cpu})
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, **kw)
        self.helpers.append(p)
        return p

    def wait_port(self, port, proc=None, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{proc.args[:2]} exited with "
                                   f"{proc.returncode}")
            if _listening(port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"nothing listens on {port} in time")

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
    http_conf() (one nginx) or fronts() (one nginx per front, e.g. when
    the contenders need different modules loaded); backend_conf() puts
    the backends in an nginx apart from the fronts; files() writes what
    the config refers to; check() tells whether one response of a
    contender is right (None) or not (why)."""

    name = ""
    title = ""
    what = ""
    needs_module = True         # load_module MODULE when a module contender
    contenders: List[Contender] = []
    goal: Goal = None           # for every module/alternative pair
    goals: dict = {}            # or per alternative: name -> [Goal, ...]
    connections = 50            # wrk -c, unless BENCH_CONNECTIONS is set
    duration_factor = 1.0       # of BENCH_DURATION, for rows with many
    cpu_note = ("CPU/req includes the backend (same worker).")

    def goals_for(self, alt):
        return self.goals.get(alt) or ([self.goal] if self.goal else [])

    def fronts(self, ctx, with_module):
        """The nginx instances that serve the contenders; by default one,
        "main", from main_conf() and http_conf()."""
        return [Front("main", self.http_conf(ctx, with_module),
                      self.main_conf(ctx), with_module)]

    def backend_conf(self, ctx):
        """The http {} body of an nginx of backends apart from the fronts
        (pinned with wrk, never measured as a contender's CPU); None: the
        backends, if any, live in the front (passthrough)."""
        return None

    def main_conf(self, ctx):
        """Top-level directives besides load_module of our module (e.g.
        load_module of njs or nchan)."""
        return ""

    def files(self, ctx):
        pass

    def http_conf(self, ctx, with_module):
        raise NotImplementedError

    def backend_ports(self, ctx):
        """The ports backend_conf() listens on (to wait for)."""
        return []

    def start(self, ctx):
        """Start helper processes before the fronts (ctx.spawn), after
        the backends' nginx."""
        pass

    def ready(self, ctx):
        """Everything is up: wait for what must settle (health probes)
        before the first response is checked."""
        pass

    def helper_problems(self, ctx):
        """Lines of the helpers' logs a reader must see."""
        return []

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


# ------------------------------------------------------- aggregation rows

PEERS = ROOT / "bench" / "peers"
NREPOS = 8
REPO_TAGS = [f"acme-r{i}" for i in range(NREPOS)]      # the module's keys
LIFETIME_INTS = [
    "issues_completed", "prs_merged", "issues_created",
    "total_quality_fix_rounds", "total_ci_fix_rounds",
    "total_hitl_escalations", "total_review_request_changes",
    "total_review_approvals", "total_reviewer_fixes",
    "total_outcomes_merged", "total_outcomes_already_satisfied",
    "total_outcomes_hitl_closed", "total_outcomes_hitl_skipped",
    "total_outcomes_failed", "total_outcomes_manual_close",
    "total_outcomes_hitl_approved",
]
THRESHOLDS = ["quality_fix_rate_high", "hitl_escalation_rate_high",
              "first_pass_approval_low", "ci_fix_rounds_high"]


def metrics_body(repo="acme/bench", seed=8, durations=100):
    """A realistic /api/metrics body (hydraflow-api.md 1.2,
    MetricsResponse): lifetime counters, `durations` merge_durations,
    per-issue retries, the repo's own rates and time_to_merge (which an
    aggregator must recompute, never average), inference counters."""
    rng = random.Random(seed)
    completed = rng.randint(150, 400)
    merged = int(completed * rng.uniform(0.7, 0.95))
    approvals = rng.randint(100, 300)
    changes = rng.randint(20, 120)
    lt = {
        "issues_completed": completed, "prs_merged": merged,
        "issues_created": rng.randint(20, 90),
        "total_quality_fix_rounds": rng.randint(30, 200),
        "total_ci_fix_rounds": rng.randint(20, 150),
        "total_hitl_escalations": rng.randint(5, 40),
        "total_review_request_changes": changes,
        "total_review_approvals": approvals,
        "total_reviewer_fixes": rng.randint(10, 80),
        "total_implementation_seconds": round(
            completed * rng.uniform(600, 2400), 1),
        "total_review_seconds": round(approvals * rng.uniform(120, 600), 1),
        "merge_durations": [round(rng.lognormvariate(8.3, 0.6), 1)
                            for _ in range(durations)],
        "retries_per_stage": {
            str(n): {st: rng.randint(1, 3) for st in rng.sample(
                ["triage", "plan", "implement", "review"],
                rng.randint(1, 2))}
            for n in rng.sample(range(40, 1400), 10)},
        "fired_thresholds": rng.sample(THRESHOLDS, rng.randint(0, 2)),
    }
    for k in LIFETIME_INTS[9:]:
        lt[k] = rng.randint(0, merged // 4)
    d = sorted(lt["merge_durations"])
    n = len(d)
    body = {
        "lifetime": lt,
        "rates": {
            "merge_rate": merged / completed,
            "quality_fix_rate": lt["total_quality_fix_rounds"] / completed,
            "hitl_escalation_rate": lt["total_hitl_escalations"] / completed,
            "avg_implementation_seconds":
                lt["total_implementation_seconds"] / completed,
            "first_pass_approval_rate": approvals / (approvals + changes),
            "reviewer_fix_rate":
                lt["total_reviewer_fixes"] / (approvals + changes)},
        "time_to_merge": {"avg": round(sum(d) / n, 1),
                          "p50": round(d[n // 2], 1),
                          "p90": round(d[min(int(n * 0.9), n - 1)], 1)},
        "thresholds": [{
            "name": "quality_fix_rate_high", "metric": "quality_fix_rate",
            "threshold": 0.5, "value": round(
                lt["total_quality_fix_rounds"] / completed, 3),
            "action": "review the quality gate prompts"}],
        "inference_lifetime": {
            "inference_calls": rng.randint(2000, 9000),
            "total_tokens": rng.randint(10**8, 9 * 10**8),
            "input_tokens": rng.randint(10**8, 6 * 10**8),
            "output_tokens": rng.randint(10**6, 9 * 10**7),
            "cache_read_tokens": rng.randint(10**8, 5 * 10**8)},
        "inference_session": {
            "inference_calls": rng.randint(10, 200),
            "total_tokens": rng.randint(10**5, 9 * 10**6)},
    }
    return json.dumps(body, separators=(",", ":"))


# The merge rules (DESIGN.md 3) restated here as the reference every
# contender's answer is compared with, the module's included.

def ref_pipeline(roots):
    stages, ready = {}, True
    for tag, root in roots:
        if root.get("ready") is False:
            ready = False
        for name, issues in root["stages"].items():
            out = stages.setdefault(name, [])
            out.extend(dict(i, repo=tag) for i in issues)
    return {"stages": stages, "ready": ready,
            "hydra": {"answered": [t for t, _ in roots], "failed": {}}}


def ref_metrics(roots):
    lts = [(t, r["lifetime"]) for t, r in roots]
    lt = {}
    for k in LIFETIME_INTS + ["total_implementation_seconds",
                              "total_review_seconds"]:
        lt[k] = sum(x.get(k, 0) for _, x in lts)
    lt["merge_durations"] = [d for _, x in lts for d in x["merge_durations"]]
    lt["retries_per_stage"] = {f"{t}#{i}": v for t, x in lts
                               for i, v in x["retries_per_stage"].items()}
    lt["fired_thresholds"] = list(dict.fromkeys(
        f for _, x in lts for f in x["fired_thresholds"]))
    c = lt["issues_completed"]
    rv = lt["total_review_approvals"] + lt["total_review_request_changes"]
    rates = {
        "merge_rate": lt["prs_merged"] / c,
        "quality_fix_rate": lt["total_quality_fix_rounds"] / c,
        "hitl_escalation_rate": lt["total_hitl_escalations"] / c,
        "avg_implementation_seconds": lt["total_implementation_seconds"] / c,
        "first_pass_approval_rate": lt["total_review_approvals"] / rv,
        "reviewer_fix_rate": lt["total_reviewer_fixes"] / rv,
        "retries_per_stage": sum(n for v in lt["retries_per_stage"].values()
                                 for n in v.values())}
    d = sorted(lt["merge_durations"])
    n = len(d)
    ttm = {"avg": round(sum(d) / n, 1), "p50": round(d[n // 2], 1),
           "p90": round(d[min(int(n * 0.9), n - 1)], 1)}
    il, ses = {}, {}
    for _, r in roots:
        for k, v in r["inference_lifetime"].items():
            il[k] = il.get(k, 0) + v
        for k, v in r["inference_session"].items():
            ses[k] = ses.get(k, 0) + v
    return {"lifetime": lt, "rates": rates, "time_to_merge": ttm,
            "thresholds": [], "inference_lifetime": il,
            "inference_session": ses,
            "hydra": {"answered": [t for t, _ in roots], "failed": {}}}


def json_diff(want, got, path="", out=None, limit=6):
    """Where got differs from want: objects by key (order is free), lists
    in order, numbers within 1e-9 relative (Lua writes 14 digits), and
    time_to_merge.avg within 0.1 (njs's toFixed rounds a tie up where
    Python and printf round it to even)."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    num = (int, float)
    if isinstance(want, bool) or isinstance(got, bool):
        if want is not got:
            out.append(f"{path or '/'}: {got!r}, want {want!r}")
    elif isinstance(want, num) and isinstance(got, num):
        tol = 0.1 + 1e-9 if path.endswith("time_to_merge.avg") else \
            1e-9 * max(1.0, abs(want))
        if abs(want - got) > tol:
            out.append(f"{path}: {got!r}, want {want!r}")
    elif isinstance(want, dict) and isinstance(got, dict):
        for k in want:
            if k not in got:
                out.append(f"{path}.{k}: missing")
            else:
                json_diff(want[k], got[k], f"{path}.{k}", out, limit)
        for k in got:
            if k not in want:
                out.append(f"{path}.{k}: unexpected ({str(got[k])[:40]})")
    elif isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            out.append(f"{path}: {len(got)} items, want {len(want)}")
        else:
            for i, (w, g) in enumerate(zip(want, got)):
                json_diff(w, g, f"{path}[{i}]", out, limit)
    elif want != got:
        out.append(f"{path or '/'}: {str(got)[:60]!r}, want "
                   f"{str(want)[:60]!r}")
    return out[:limit]


def python_cpu(ctx):
    p = getattr(ctx, "python", None)
    return [p.pid] if p else []


class Aggregation(Scenario):
    """An aggregated view over NREPOS repos, merged by the module and by
    what users would write instead (bench/README.md)."""

    view = ""
    connections = 32
    duration_factor = 0.5
    cpu_note = ("CPU/req is the front's alone: its nginx worker (or the "
                "Python process), the backends run in an nginx apart; "
                "backends' CPU: that nginx's CPU during the runs, in % of "
                "one core (100% would make the backends the bottleneck).")

    def __init__(self):
        v = self.view
        self.contenders = [
            Contender("module", "hydra_api, merged in C", "module",
                      "module", WrkLoad(v), front="module"),
            Contender("njs", "njs: r.subrequest x8, Promise.all, JSON",
                      "alternative", "njs", WrkLoad(v), front="njs"),
            Contender("lua", "Lua: capture_multi x8, cjson",
                      "alternative", "lua", WrkLoad(v), front="lua"),
            Contender("python", "aiohttp: gather x8, json",
                      "alternative", "python", WrkLoad(v),
                      cpu_pids=python_cpu, front="none"),
            Contender("limit", "Lua capture_multi x8, raw bodies, no JSON",
                      "alternative", "limit", WrkLoad(v), front="lua"),
        ]

    goals = {
        "njs": [Goal("rps", ">=", 2.5)],
        "lua": [Goal("rps", ">=", 2.0)],
        "python": [Goal("rps", ">=", 10.0)],
        "limit": [Goal("rps", ">=", 0.8), Goal("cpu", "<=", 1.6)],
    }

    def body(self, i):
        raise NotImplementedError

    def reference(self, roots):
        raise NotImplementedError

    def files(self, ctx):
        html = ctx.prefix / "backend" / "html"
        self.bodies = []
        for i in range(NREPOS):
            d = html / f"r{i}"
            d.mkdir(parents=True, exist_ok=True)
            body = self.body(i)
            self.bodies.append(body)
            (d / self.view.rsplit("/", 1)[1]).write_text(body)
            (d / "healthz.json").write_text(HEALTHZ)
            (d / "control.json").write_text(
                CONTROL_STATUS.replace("acme/bench", f"acme/r{i}"))
        self.expected = self.reference(
            [(t, json.loads(b)) for t, b in zip(REPO_TAGS, self.bodies)])
        self.raw_size = sum(len(b) for b in self.bodies)

    def backend_ports(self, ctx):
        return [ctx.port(f"r{i}") for i in range(NREPOS)]

    def backend_conf(self, ctx):
        html = ctx.prefix / "backend" / "html"
        name = self.view.rsplit("/", 1)[1]
        conf = """
    # Each repo's dashboard: a static view, and what the module's health
    # probe asks; anything else 404 as FastAPI answers.  Keepalive as long
    # as the fronts keep their connections.
    default_type application/json;
    open_file_cache max=64;
    open_file_cache_valid 1h;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
"""
        for i in range(NREPOS):
            conf += f"""
    server {{
        listen 127.0.0.1:{ctx.port(f"r{i}")};
        location = {self.view} {{ alias {html}/r{i}/{name}; }}
        location = /healthz {{ alias {html}/r{i}/healthz.json; }}
        location = /api/control/status {{
            alias {html}/r{i}/control.json;
        }}
        location / {{ return 404 '{{"detail":"Not Found"}}'; }}
    }}
"""
        return conf

    def _peer_upstreams(self, ctx):
        """One upstream per repo, keepalive 32 each, and one internal
        location per repo: how njs and Lua reach the repos."""
        conf = ""
        for i, tag in enumerate(REPO_TAGS):
            conf += f"""
    upstream {tag} {{
        server 127.0.0.1:{ctx.port(f"r{i}")};
        keepalive 32;
        keepalive_requests 1000000;
    }}"""
        return conf

    def _peer_locations(self):
        conf = ""
        for tag in REPO_TAGS:
            conf += f"""
        location /_repo/{tag}/ {{
            internal;
            proxy_pass http://{tag}/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            subrequest_output_buffer_size 1m;
        }}"""
        return conf

    def fronts(self, ctx, with_module):
        repos = " ".join(REPO_TAGS)
        common = """
    keepalive_requests 1000000;
"""
        fronts = []
        if with_module:
            lines = "".join(
                f"    hydra_repo acme/r{i} 127.0.0.1:{ctx.port(f'r{i}')};\n"
                for i in range(NREPOS))
            fronts.append(Front("module", common + f"""
    # The module's front: 8 static repos, merged by hydra_api in C.
    hydra_zone hydra 16m;
{lines}
    # keepalive 32 per repo, as the others' 8 upstreams of keepalive 32:
    # one cache for the 8 repos, so 8 x 32.
    upstream hydra_repos {{
        hydra_balancer;
        keepalive {32 * NREPOS};
        keepalive_requests 1000000;
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
""", module=True))
        fronts.append(Front("njs", common + self._peer_upstreams(ctx) + f"""
    js_import agg from {PEERS}/agg.js;
    server {{
        listen 127.0.0.1:{ctx.port("njs")};
        location /api/ {{
            set $agg_repos "{repos}";
            js_content agg.aggregate;
        }}{self._peer_locations()}
    }}
""", "load_module /usr/lib/nginx/modules/ngx_http_js_module.so;\n"))
        fronts.append(Front("lua", common + self._peer_upstreams(ctx) + f"""
    server {{
        listen 127.0.0.1:{ctx.port("lua")};
        location /api/ {{
            set $agg_repos "{repos}";
            content_by_lua_file {PEERS}/agg.lua;
        }}{self._peer_locations()}
    }}
    # The limit: the same 8 fetches, no JSON work.
    server {{
        listen 127.0.0.1:{ctx.port("limit")};
        location /api/ {{
            set $agg_repos "{repos}";
            content_by_lua_file {PEERS}/limit.lua;
        }}{self._peer_locations()}
    }}
""", "load_module /usr/lib/nginx/modules/ndk_http_module.so;\n"
     "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\n"))
        return fronts

    def start(self, ctx):
        ctx.python = None
        if not any(c.name == "python" and selected(ctx.settings, self, c)
                   for c in self.contenders):
            return
        log_file = open(ctx.prefix / "python.log", "w")
        ctx.python = ctx.spawn(
            ["/usr/bin/python3", str(PEERS / "agg_aiohttp.py"),
             str(ctx.port("python"))]
            + [f"{t}=127.0.0.1:{ctx.port(f'r{i}')}"
               for i, t in enumerate(REPO_TAGS)],
            pin_front=True, stdout=log_file, stderr=subprocess.STDOUT)
        log_file.close()
        ctx.wait_port(ctx.port("python"), ctx.python)

    def ready(self, ctx):
        """The module's probes see every repo up (at most a few s)."""
        if "module" not in ctx.fronts:
            return
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            try:
                _, _, body = http_get(ctx.port("module"), "/api/repos")
                repos = json.loads(body)["repos"]
                if len(repos) == NREPOS and all(
                        r["status"] == "up" for r in repos):
                    return
            except (OSError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.1)
        log(f"[{self.name}] the module's /api/repos does not show "
            f"{NREPOS} repos up; measuring anyway")

    def helper_problems(self, ctx):
        f = ctx.prefix / "python.log"
        if not f.exists():
            return []
        return ["[python] " + ln for ln in f.read_text(
            errors="replace").splitlines() if ln.strip()][-15:]

    def check(self, ctx, contender, status, headers, body):
        if status != 200:
            return f"HTTP {status}: {body[:300]!r}"
        if contender.name == "limit":
            if len(body) != self.raw_size:
                return (f"{len(body)} bytes, want the {NREPOS} bodies "
                        f"({self.raw_size} bytes)")
            return None
        try:
            got = json.loads(body)
        except ValueError:
            return f"not JSON: {body[:300]!r}"
        diff = json_diff(self.expected, got)
        if diff:
            return "differs from the merge rule: " + "; ".join(diff)
        return None


class AggPipeline(Aggregation):
    name = "pipeline"
    title = f"pipeline: aggregated GET /api/pipeline over {NREPOS} repos"
    view = "/api/pipeline"
    what = (f"the pipeline of {NREPOS} repos (30 issues each, about 5 KB "
            f"of JSON per repo) fetched in parallel through keepalive "
            f"upstreams, each issue tagged with its repo, stage lists "
            f"concatenated: the module (C, yajl) vs the same merge in njs, "
            f"Lua and a Python aiohttp service, and the limit: the same "
            f"fetches with no JSON work")

    def body(self, i):
        return pipeline_body(repo=f"acme/r{i}", seed=100 + i)

    def reference(self, roots):
        return ref_pipeline(roots)


class AggMetrics(Aggregation):
    name = "metrics"
    title = f"metrics: aggregated GET /api/metrics over {NREPOS} repos"
    view = "/api/metrics"
    what = (f"the metrics of {NREPOS} repos (MetricsResponse, lifetime "
            f"counters and 100 merge_durations each, about 3 KB per repo): "
            f"counters summed, durations concatenated, rates and "
            f"time_to_merge avg/p50/p90 recomputed, by the module and by "
            f"njs, Lua and Python, and the limit")

    def body(self, i):
        return metrics_body(repo=f"acme/r{i}", seed=200 + i)

    def reference(self, roots):
        return ref_metrics(roots)


# Rows of the table, in order.
SCENARIOS = [Passthrough(), AggPipeline(), AggMetrics()]
# Measured its own way, no wrk (bench/sessions.py): a Scenario with run().
SCENARIOS.append(sessions.Sessions())
# WebSocket fan-out vs nchan (bench/fanout.py, load from bench/loadws.c).
SCENARIOS.append(fanout.Fanout())


# ------------------------------------------------------------------ runner


NGINX_CONF = """# generated by bench/run.py for scenario "{name}"; do not edit
{load_module}{main_conf}
{comment}
worker_processes {workers};
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

FRONT_COMMENT = """\
# One worker: on this 2-core machine wrk needs a core of its own, so one
# worker (pinned to the other core when BENCH_PIN=1) makes nginx the
# bottleneck and req/s a direct reading of nginx's cost per request.
# With 2 workers, nginx and wrk would share 2 cores and the ratio would
# mostly measure the scheduler."""

SAME_WORKER_COMMENT = """
# The backend lives in the same worker: its cost is the same for every
# contender, and the "backend direct" reference row shows how large it is."""

APART_COMMENT = """
# The backends run in an nginx of their own (backend/), pinned with wrk:
# this worker's CPU is the front's alone."""

BACKEND_COMMENT = """\
# The backends of the row, apart from the fronts so that a front's CPU is
# measured alone; pinned with wrk to the CPU(s) the fronts do not use."""


def cpu_mask(cpus):
    """worker_cpu_affinity's bit mask of a set of CPUs."""
    return "".join("1" if i in cpus else "0"
                   for i in range(max(cpus), -1, -1))


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
    def front_load(self):
        """The contender's own CPU during the runs, in cores (median):
        near 1 when its single worker is the bottleneck, as intended."""
        vals = [s.cpu_s / s.seconds for s in self.samples if s.seconds]
        return statistics.median(vals) if vals else None

    @property
    def backend_load(self):
        """The backends' nginx CPU during the runs, in cores (median)."""
        vals = [s.backend_cpu_s / s.seconds for s in self.samples
                if s.backend_cpu_s is not None and s.seconds]
        return statistics.median(vals) if vals else None

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
    connections: int = 0
    duration: int = 0
    warmup: int = 0

    def by_role(self, role):
        return [r for r in self.results if r.contender.role == role]


def selected(settings, scenario, contender):
    if not settings.only:
        return True
    return any(x in (scenario.name, contender.name,
                     f"{scenario.name}.{contender.name}")
               for x in settings.only)


def module_info(copy, orig, mtime=None):
    h = hashlib.sha256(copy.read_bytes()).hexdigest()[:12]
    t = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(
        orig.stat().st_mtime if mtime is None else mtime))
    return f"{orig} (built {t}, sha256 {h}...)"


def measure(ctx, c, seconds):
    front = ctx.fronts.get(c.front)
    pids_of = c.cpu_pids or (lambda ctx: front.workers())
    pids = pids_of(ctx)
    before = {p: proc_cpu(p) for p in pids}
    bpids = ctx.backend.workers() if ctx.backend else []
    bbefore = {p: proc_cpu(p) for p in bpids}
    sample, out = c.load.run(ctx, ctx.ports[c.port], seconds)
    after_pids = pids_of(ctx)
    after = {p: proc_cpu(p) for p in pids}
    bafter = {p: proc_cpu(p) for p in bpids}
    sample.cpu_s = sum(after[p] - before[p] for p in pids
                       if after[p] is not None and before[p] is not None)
    if bpids:
        sample.backend_cpu_s = sum(
            bafter[p] - bbefore[p] for p in bpids
            if bafter[p] is not None and bbefore[p] is not None)
    if sorted(after_pids) != sorted(pids):
        sample.note = (f"workers changed during the run "
                       f"({pids} -> {after_pids}): a worker died")
    return sample, out


def start_nginx(ctx, name, prefix, conf_args, ports):
    """One nginx under prefix, started and waited for."""
    prefix.mkdir(parents=True, exist_ok=True)
    n = Nginx(ctx.settings.nginx, prefix)
    if name == "backend":
        ctx.backend = n
    else:
        ctx.fronts[name] = n
    n.start(NGINX_CONF.format(**conf_args), ports)
    return n


def run_scenario(sc, st):
    if hasattr(sc, "run"):      # its own measurement (bench/sessions.py)
        return sc.run(st, sys.modules[__name__])
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
    ctx.connections = st.connections or sc.connections
    ctx.duration = max(1, round(st.duration * sc.duration_factor))
    ctx.warmup = (st.warmup if sc.duration_factor == 1 else
                  max(1, min(st.warmup, ctx.duration // 3)))
    res.connections, res.duration, res.warmup = (
        ctx.connections, ctx.duration, ctx.warmup)
    cpus = sorted(os.sched_getaffinity(0))
    if st.pin:
        ctx.nginx_cpu = cpus[-1]
        ctx.wrk_cpus = set(cpus[:-1])
    try:
        sc.files(ctx)
        fronts = [f for f in sc.fronts(ctx, with_module)
                  if any(c.front == f.name for c in contenders)]
        backend = sc.backend_conf(ctx)
        for c in contenders:
            ctx.port(c.port)
        module = None
        if any(f.module for f in fronts):
            # Load a copy: `make build` rewrites the .so in place (cp), and
            # a library rewritten under a running nginx crashes every
            # worker.  The copy also pins what was measured (results.md);
            # it comes from the run's snapshot (main()), so every row
            # measures the same build even while the tree is rebuilt.
            module = prefix / st.module.name
            shutil.copy2(st.module_snapshot or st.module, module)
            res.module = st.module_info or module_info(module, st.module)
        if backend is not None:
            workers = max(1, min(4, len(ctx.wrk_cpus or ())))
            start_nginx(ctx, "backend", prefix / "backend", dict(
                name=f"{sc.name}, backends", load_module="", main_conf="",
                comment=BACKEND_COMMENT, workers=workers,
                affinity=(f"worker_cpu_affinity {cpu_mask(ctx.wrk_cpus)};\n"
                          if st.pin else ""),
                http_conf=backend), sc.backend_ports(ctx))
        sc.start(ctx)
        one = len(fronts) == 1 and backend is None
        for f in fronts:
            start_nginx(
                ctx, f.name, prefix if one else prefix / f.name, dict(
                    name=sc.name if one else f"{sc.name}, front {f.name}",
                    load_module=(f"load_module {module};\n"
                                 if f.module else ""),
                    main_conf=f.main_conf,
                    comment=FRONT_COMMENT + (APART_COMMENT if backend
                                             else SAME_WORKER_COMMENT),
                    workers=1,
                    affinity=(f"worker_cpu_affinity "
                              f"{cpu_mask({ctx.nginx_cpu})};\n"
                              if st.pin else ""),
                    http_conf=f.http_conf),
                [ctx.ports[c.port] for c in contenders if c.front == f.name])
        sc.ready(ctx)
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
            log(f"[{sc.name}] warm-up {r.contender.name} ({ctx.warmup}s)")
            r.contender.load.run(ctx, ctx.ports[r.contender.port],
                                 ctx.warmup)
        # Alternate the contenders, reversing the order every round, so
        # that a slow drift of the machine hits all of them alike.
        for rnd in range(st.repeat):
            order = results if rnd % 2 == 0 else results[::-1]
            for r in order:
                s, out = measure(ctx, r.contender, ctx.duration)
                r.samples.append(s)
                (prefix / f"wrk-{r.contender.name}-{rnd + 1}.txt"
                 ).write_text(out)
                log(f"[{sc.name}] run {rnd + 1}/{st.repeat} "
                    f"{r.contender.name:>8}: {s.rps:10,.0f} req/s  "
                    f"p99 {fmt_ms(s.p99_ms):>8}  "
                    f"cpu {fmt_us(s.cpu_us_per_req):>8}/req"
                    + (f"  backends {s.backend_cpu_s / s.seconds:.0%} CPU"
                       if s.backend_cpu_s is not None and s.seconds
                       else "")
                    + (f"  non-2xx {s.non2xx}" if s.non2xx else "")
                    + (f"  socket errors {s.socket_errors}"
                       if s.socket_errors else "")
                    + (f"  {s.note}" if s.note else ""))
                dead = [n for n, x in ctx.all_nginx() if not x.workers()]
                if dead or "worker" in s.note:
                    raise RuntimeError(
                        "a worker died (" + (", ".join(dead) or
                                             r.contender.name)
                        + "; see error.log); the remaining runs are skipped")
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        res.error = str(e)
        log(f"[{sc.name}] FAILED: {e}")
    finally:
        for name, n in ctx.all_nginx():
            n.stop()
            tag = "" if len(ctx.all_nginx()) == 1 else f"[{name}] "
            res.problems += [tag + ln for ln in n.problems()]
        ctx.stop_helpers()
        res.problems += sc.helper_problems(ctx)
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
                delta = (None if m.cpu is None or a.cpu is None
                         else m.cpu - a.cpu)
                cells = [
                    f"{fmt_ratio(r_rps)} ({fmt_rps(m.rps)} / "
                    f"{fmt_rps(a.rps)})",
                    f"{fmt_ratio(r_p99)} ({fmt_ms(m.p99)} / "
                    f"{fmt_ms(a.p99)})",
                    f"{fmt_ratio(r_cpu)} ({fmt_us(m.cpu)} / "
                    f"{fmt_us(a.cpu)}"
                    + ("" if delta is None else f", {delta:+.1f} µs") + ")"]
                # one row per goal of the pair (the limit has two)
                for goal in sc.goals_for(a.contender.name):
                    if sr.error or not (m.ok and a.ok):
                        met = "NO (errors, see below)"
                        all_met = False
                    else:
                        ok = goal.met(value[goal.metric])
                        met = "yes" if ok else "NO"
                        all_met = all_met and ok
                    rows.append([
                        sc.name, f"{m.contender.name} vs {a.contender.name}",
                        *cells, goal.text(a.contender.name), met])
    return rows, all_met


def detail_rows(sr):
    rows = []
    apart = any(r.backend_load is not None for r in sr.results)
    for r in sr.results:
        runs = " / ".join(fmt_rps(s.rps) for s in r.samples)
        status = "ok" if r.ok else "BROKEN"
        rows.append([
            r.contender.name, r.contender.role, r.contender.label,
            fmt_rps(r.rps),
            "-" if r.spread is None else f"{r.spread:.1f}%",
            fmt_ms(r.p99), fmt_us(r.cpu),
            "-" if r.front_load is None else f"{r.front_load * 100:.0f}%"]
            + (["-" if r.backend_load is None
                else f"{r.backend_load * 100:.0f}%"] if apart else [])
            + [str(r.non2xx), str(r.socket_errors), runs or "-", status])
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
    # Rows measured their own way (sessions.py) bring their own table.
    own = [sr for sr in results if hasattr(sr, "summary")]
    results = [sr for sr in results if not hasattr(sr, "summary")]
    out = []
    out.append("# hydra bench results\n")
    out.append(f"{time.strftime('%Y-%m-%d %H:%M:%S %z', started)}; "
               f"{info['cpus']} CPUs, kernel {info['kernel']}, "
               f"{info['nginx']}, {info['wrk']}.")
    rounds = sorted({(sr.warmup, sr.duration, sr.connections)
                     for sr in results})
    out.append("Each contender: " + "; ".join(
        f"{w}s warm-up, then {st.repeat} x {d}s runs, wrk -t{st.threads} "
        f"-c{c} (" + ", ".join(sr.scenario.name for sr in results
                               if (sr.warmup, sr.duration, sr.connections)
                               == (w, d, c)) + ")"
        for w, d, c in rounds)
               + "; the median kept, alternating with the others; one nginx "
               f"worker per front" + (
                   ", pinned to its own CPU, wrk (and backends) on the "
                   "other(s)" if st.pin else ", not pinned")
               + f". Load average before/after: {load_before} / "
               f"{load_after}.")
    out.append("")
    out.append("Each ratio is module / alternative, the median of the "
               "per-round ratios (both ran back to back in each round); "
               "in brackets the medians of module / alternative. req/s: "
               "higher is better; p99 and CPU per request (utime+stime "
               "of the contender's front nginx worker, or of the Python "
               "aggregator, / requests): lower is better. A pair with "
               "two goals (the limit) has a row per goal."
               "\n")
    rows, all_met = summary_rows(results)
    if rows:
        out.append(table(["row", "contenders", "req/s", "p99 latency",
                          "CPU/req", "goal", "met"], rows))
    elif not own:
        out.append("(no module-vs-alternative pair was run: BENCH_ONLY)")
    for sr in own:
        text, met = sr.summary()
        out.append("\n" + text)
        all_met = all_met and met
    for sr in results:
        sc = sr.scenario
        out.append(f"\n## {sc.title}\n")
        out.append(sc.what[0].upper() + sc.what[1:] + ".\n")
        if sr.module:
            out.append(f"Module: `{sr.module}`.\n")
        if sr.error:
            out.append(f"**Failed:** `{sr.error}`\n")
        if sr.results:
            apart = any(r.backend_load is not None for r in sr.results)
            out.append("spread: (max - min) / median of req/s over the "
                       "runs; " + sc.cpu_note + " busy: the contender's "
                       "CPU during the runs in % of one core; well under "
                       "100%, something else (another process on its CPU, "
                       "or wrk's) held it back, and its req/s reads low "
                       "while its CPU/req stays right.\n")
            out.append(table(
                ["contender", "role", "what", "req/s", "spread",
                 "p99", "CPU/req", "busy"]
                + (["backends' CPU"] if apart else [])
                + ["non-2xx", "socket err", "runs (req/s)", "status"],
                detail_rows(sr)))
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
    out.extend(sr.section() for sr in own)
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
    if need_module:
        # One snapshot of the module for the whole run: the rows take
        # minutes, and a `make build` meanwhile must not change what the
        # later rows load.
        snap = st.outdir / f"snapshot-{st.module.name}"
        info_t = st.module.stat().st_mtime
        shutil.copy2(st.module, snap)
        st.module_snapshot = snap
        st.module_info = module_info(snap, st.module, info_t)
        log(f"module: {st.module_info}")
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
