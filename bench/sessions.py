#!/usr/bin/python3
"""The sessions row of bench/run.py (bench/README.md, "sessions"):
`GET /api/sessions` read by the module from a large sessions.jsonl
(`hydra_sessions`), against what HydraFlow's `load_sessions` does in
Python on the same file.

Not a wrk row: what matters is the time of one request at a cold start,
of the next one after an append, and the memory the worker keeps.
bench/run.py calls Sessions().run(settings, run_module); standard library
only (Debian's python3).  Also usable alone:

    /usr/bin/python3 bench/sessions.py generate OUT.jsonl MB
    /usr/bin/python3 bench/sessions.py reader FILE      # load_sessions, JSON

Environment, besides run.py's (BENCH_DURATION, BENCH_REPEAT, BENCH_PIN,
BENCH_DIR, MODULE, NGINX_BIN):
    BENCH_SESSIONS_MB   size of the generated file (default 100; 10 when
                        BENCH_DURATION < 5, the smoke run)
"""

import heapq
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List, Optional


HERE = Path(__file__).resolve()

# Bump when the generated file changes: the cache is keyed by it.
GEN_VERSION = 2
GEN_SEED = 2026

# ~10 repos, as a shared (ADR-0008) or unpruned file would hold them.
REPOS = ["acme/api", "acme/web", "acme/worker", "acme/infra", "acme/docs",
         "acme/tools", "globex/billing", "globex/search", "initech/tps",
         "initech/reports"]

LIMIT = 50              # HydraFlow's and the module's default page


# ---------------------------------------------------------- the data file


def _iso(us):
    """HydraFlow's started_at: datetime.now(UTC).isoformat()."""
    return datetime.fromtimestamp(us / 1e6, timezone.utc).isoformat()


def _line(rec):
    return json.dumps(rec, separators=(",", ":")) + "\n"


def generate(path, size, seed=GEN_SEED):
    """Writes a sessions.jsonl of about `size` bytes in HydraFlow's shape
    (hydraflow-api.md 3): per repo one session at a time, a start line
    (active, no issues) when it starts and a line with the same id when
    it ends (completed, issues_processed and the counts); the repos'
    lines interleaved in time order.  About 1% of sessions never end (a
    crash); the last session of each repo is still active.  A torn line
    (the first part of the next one, no closing brace) as a crash
    mid-write leaves, after ~10k lines and then every ~70k.  started_at
    is unique to the microsecond, so the order is the same by any
    reader.  Deterministic for a seed.  Returns facts about what was
    written."""
    rng = random.Random(seed)
    t0 = int(datetime(2021, 6, 1, 8, 0, tzinfo=timezone.utc).timestamp()
             * 1e6)
    used = set()
    # per repo: the issue counter; heap of (time us, seq, repo, kind, data)
    counter = [rng.randint(40, 600) for _ in REPOS]
    heap, seq = [], 0
    for i in range(len(REPOS)):
        heap.append((t0 + rng.randint(0, 3600 * 10**6), seq, i, "start",
                     None))
        seq += 1
    heapq.heapify(heap)
    written = lines = sessions = ended = torn = 0
    next_torn = rng.randint(5000, 20000)
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", buffering=1 << 20) as f:
        while written < size:
            t, _, i, kind, data = heapq.heappop(heap)
            repo = REPOS[i]
            if kind == "start":
                t = t - t % 10**6 + rng.randint(1, 999999)
                while t in used:
                    t += 1
                used.add(t)
                start = datetime.fromtimestamp(t / 1e6, timezone.utc)
                rec = {
                    "id": repo.replace("/", "-") + "-"
                    + start.strftime("%Y%m%dT%H%M%S"),
                    "repo": repo, "started_at": start.isoformat(),
                    "ended_at": None, "issues_processed": [],
                    "issues_succeeded": 0, "issues_failed": 0,
                    "status": "active"}
                sessions += 1
                # a session: minutes to hours; then idle until the next
                dur = int(min(12 * 3600, max(120, rng.lognormvariate(
                    8.0, 0.9))) * 1e6)
                gap = int(min(2 * 86400, max(60, rng.lognormvariate(
                    7.0, 1.2))) * 1e6)
                if rng.random() < 0.01:         # crashed: never ends
                    heapq.heappush(heap, (t + dur + gap, seq, i, "start",
                                          None))
                else:
                    heapq.heappush(heap, (t + dur, seq, i, "end",
                                          (rec, gap)))
                seq += 1
            else:
                rec, gap = data
                k = min(40, int(rng.expovariate(1 / 7)))
                c = counter[i]
                issues = sorted(rng.sample(range(max(1, c - 40), c + k), k))
                counter[i] = c + k + rng.randint(0, 3)
                ok = sum(rng.random() < 0.85 for _ in issues)
                rec = dict(rec, ended_at=_iso(t), issues_processed=issues,
                           issues_succeeded=ok, issues_failed=k - ok,
                           status="completed")
                ended += 1
                heapq.heappush(heap, (t + gap, seq, i, "start", None))
                seq += 1
            text = _line(rec)
            if lines >= next_torn:
                cut = text[:rng.randint(20, len(text) - 10)] + "\n"
                f.write(cut)
                written += len(cut.encode())
                lines += 1
                torn += 1
                next_torn = lines + rng.randint(40000, 100000)
            f.write(text)
            written += len(text.encode())
            lines += 1
    os.replace(tmp, path)
    return {"bytes": written, "lines": lines, "sessions": sessions,
            "ended": ended, "corrupt": torn, "last_us": max(used)}


# ----------------------------------------------- HydraFlow's load_sessions


def load_sessions(path, repo=None, limit=LIMIT):
    """What HydraFlow's load_sessions(repo, limit) does: every line,
    json.loads, corrupt ones skipped, the last line of an id wins, the
    repo filter (exact), newest started_at first, the first `limit`.
    Returns (sessions, distinct ids, corrupt lines)."""
    by_id = {}
    corrupt = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                s = json.loads(line)
            except ValueError:
                corrupt += 1
                continue
            # SessionLog's validation, as far as the list depends on it
            if not (isinstance(s, dict) and isinstance(s.get("id"), str)
                    and isinstance(s.get("started_at"), str)):
                corrupt += 1
                continue
            by_id[s["id"]] = s
    out = [s for s in by_id.values() if repo is None or s["repo"] == repo]
    out.sort(key=lambda s: s["started_at"], reverse=True)
    return out[:limit], len(by_id), corrupt


def _vm(key):
    with open("/proc/self/status") as f:
        for ln in f:
            if ln.startswith(key + ":"):
                return int(ln.split()[1])
    return 0


def reader_main(path):
    """`sessions.py reader FILE`: load_sessions timed in this process
    (its start-up is not counted), as JSON on stdout."""
    rss0 = _vm("VmRSS")
    t = time.perf_counter()
    top, n, corrupt = load_sessions(path)
    secs = time.perf_counter() - t
    json.dump({"seconds": secs, "sessions": n, "corrupt": corrupt,
               "top": top, "rss_before_kb": rss0,
               "rss_peak_kb": _vm("VmHWM")}, sys.stdout)
    return 0


# --------------------------------------------------------------- the row


@dataclass
class Member:
    """A contender of the row as run.py lists and selects it."""
    name: str
    label: str
    role: str
    port: str = "module"
    load: object = None
    front: str = "main"


@dataclass
class Outcome:
    """What run.py's main() asks of a row's contenders: ok."""
    contender: Member
    ok: bool = True
    error: Optional[str] = None


def worker_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


def timed_get(port, path, timeout=120):
    """(seconds, status, headers, body) of one GET on a new connection,
    from the connect to the last byte of the body."""
    t = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        return (time.perf_counter() - t, r.status,
                {k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        c.close()


def fmt_t(s):
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def fmt_mb(kb):
    return "-" if kb is None else f"{kb / 1024:.1f} MB"


def compare(want, body):
    """None if the module's body is the reader's list, else what
    differs: the ids in order first (the check the row is about), then
    the records themselves."""
    try:
        got = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    if not isinstance(got, list):
        return f"not a list: {body[:200]!r}"
    gids = [s.get("id") if isinstance(s, dict) else s for s in got]
    wids = [s["id"] for s in want]
    if gids != wids:
        first = next((i for i, (a, b) in enumerate(zip(gids, wids))
                      if a != b), min(len(gids), len(wids)))
        return (f"ids differ: {len(gids)} ids, want {len(wids)}; from "
                f"[{first}] on: {gids[first:first + 4]}, want "
                f"{wids[first:first + 4]}")
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"record [{i}] ({w['id']}) differs: {g!r}, want {w!r}"
    return None


class Sessions:
    name = "sessions"
    title = "sessions: GET /api/sessions from a large sessions.jsonl"
    needs_module = True
    contenders = [
        Member("module", "hydra_sessions: GET /api/sessions", "module"),
        Member("python", "HydraFlow's load_sessions (json.loads)",
               "alternative", port="-"),
    ]
    goal_cold = 0.1         # first GET <= 0.1x Python's load_sessions
    goal_append = 0.01      # GET after one append <= 0.01x the first

    def size_mb(self, st):
        env = os.environ.get("BENCH_SESSIONS_MB", "")
        if env.strip():
            return max(1, int(env))
        return 10 if st.duration < 5 else 100

    def data_file(self, st):
        """The generated file, cached under BENCH_DIR/cache/."""
        mb = self.size_mb(st)
        cache = st.outdir / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        path = cache / f"sessions-v{GEN_VERSION}-{mb}MB-{GEN_SEED}.jsonl"
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists():
            return path, json.loads(meta.read_text()), 0.0
        self.log(f"generating {path.name} ({mb} MB, cached)")
        t = time.perf_counter()
        facts = generate(path, mb * 10**6)
        meta.write_text(json.dumps(facts))
        return path, facts, time.perf_counter() - t

    def log(self, msg):
        print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)

    def run(self, st, bench):
        """The row: returns a SessionsResult (bench is run.py)."""
        members = [c for c in self.contenders
                   if bench.selected(st, self, c)]
        if not members:
            return None
        res = SessionsResult(self, [Outcome(c) for c in members],
                             bench=bench)
        with_module = any(c.role == "module" for c in members)
        with_python = any(c.name == "python" for c in members)
        prefix = st.outdir / self.name
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        cpus = sorted(os.sched_getaffinity(0))
        cpu = cpus[-1] if st.pin else None
        self.nginx = None
        self.nginx_bin = st.nginx
        self.port = bench.free_port()
        try:
            src, res.facts, res.gen_s = self.data_file(st)
            # A copy: the appends must not touch the cache.
            data = prefix / "sessions.jsonl"
            shutil.copyfile(src, data)
            res.bytes = data.stat().st_size
            rounds = st.repeat
            # The reader once first: the reference for the checks.
            ref = self.python(data, cpu)
            res.python_ref = ref
            res.want = ref["top"]
            if with_module:
                # a copy of the run's snapshot of it, as the other rows
                module = prefix / st.module.name
                snap = getattr(st, "module_snapshot", None)
                shutil.copy2(snap or st.module, module)
                res.module = (getattr(st, "module_info", None)
                              or bench.module_info(module, st.module))
                conf = self.conf(st, bench, prefix, module, data, cpu)
                # the check, on a fresh nginx (also warms nginx's code up)
                dt, status, hdr, body, rss = self.fresh(bench, prefix,
                                                        conf)
                err = (f"HTTP {status}: {body[:300]!r}" if status != 200
                       else compare(res.want, body))
                res.header = hdr.get("x-hydra-sessions", "")
                res.check_s = dt
                if not err:
                    err = self.check_header(res, ref)
                if err:
                    res.outcome("module").ok = False
                    res.outcome("module").error = err
                    raise RuntimeError("the module's first answer is "
                                       "wrong: " + err)
            # Rounds: the reader, and a fresh nginx's first GET, back to
            # back, the order flipped every round.
            for rnd in range(rounds):
                steps = []
                if with_python:
                    steps.append("python")
                if with_module:
                    steps.append("module")
                if rnd % 2:
                    steps.reverse()
                for step in steps:
                    if step == "python":
                        # the reference run counts as round 1's
                        r = ref if rnd == 0 else self.python(data, cpu)
                        res.python_s.append(r["seconds"])
                        res.python_rss.append(r["rss_peak_kb"]
                                              - r["rss_before_kb"])
                        self.log(f"round {rnd + 1}/{rounds} python: "
                                 f"{fmt_t(r['seconds'])}")
                    else:
                        if self.nginx:
                            self.nginx.stop()
                        dt, status, hdr, body, rss = self.fresh(
                            bench, prefix, conf)
                        if status != 200 or compare(res.want, body):
                            raise RuntimeError(
                                f"round {rnd + 1}: the first GET answers "
                                f"{status}, "
                                f"{compare(res.want, body) or 'ok'}")
                        res.first_s.append(dt)
                        res.rss.append(rss)
                        self.log(f"round {rnd + 1}/{rounds} module: first "
                                 f"GET {fmt_t(dt)}, worker RSS "
                                 f"{fmt_mb(rss[0])} -> {fmt_mb(rss[1])}")
                if with_python and with_module:
                    res.pairs.append(res.first_s[-1] / res.python_s[-1])
            if with_module:
                self.appends(res, data, max(5, 3 * rounds))
        except (RuntimeError, OSError, subprocess.SubprocessError,
                ValueError, http.client.HTTPException) as e:
            res.error = str(e)
            self.log(f"FAILED: {e}")
            for o in res.results:
                if o.contender.role == "module" and o.ok and not res.rss:
                    o.ok = False
        finally:
            if self.nginx:
                self.nginx.stop()
                res.problems = self.nginx.problems()
        return res

    def python(self, data, cpu):
        """One run of the reader, pinned where the worker is."""
        out = subprocess.run(
            ["/usr/bin/python3", str(HERE), "reader", str(data)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=600, preexec_fn=(lambda: os.sched_setaffinity(0, {cpu}))
            if cpu is not None else None)
        if out.returncode != 0:
            raise RuntimeError("the Python reader failed: "
                               + out.stderr.strip()[-500:])
        return json.loads(out.stdout)

    def conf(self, st, bench, prefix, module, data, cpu):
        http_conf = f"""
    # The module reads the file itself: no repo, no upstream needed.
    hydra_zone hydra 16m;
    hydra_sessions {data};
    server {{
        listen 127.0.0.1:{self.port};
        location /api/ {{ hydra_api; }}
    }}
"""
        return bench.NGINX_CONF.format(
            name=self.name, load_module=f"load_module {module};\n",
            main_conf="", comment=bench.FRONT_COMMENT, workers=1,
            affinity=(f"worker_cpu_affinity {bench.cpu_mask({cpu})};\n"
                      if cpu is not None else ""),
            http_conf=http_conf)

    def fresh(self, bench, prefix, conf):
        """A new nginx, its worker's RSS, its first GET /api/sessions,
        the RSS after it."""
        self.nginx = bench.Nginx(self.nginx_bin, prefix)
        self.nginx.start(conf, [self.port])
        pid = self.nginx.workers()[0]
        before = worker_rss_kb(pid)
        dt, status, hdr, body = self.get()
        after = worker_rss_kb(pid)
        return dt, status, hdr, body, (before, after)

    def get(self):
        """timed_get(/api/sessions), and the worker must have lived."""
        pids = self.nginx.workers()
        out = timed_get(self.port, "/api/sessions")
        if self.nginx.workers() != pids:
            raise RuntimeError(f"the worker died ({pids} -> "
                               f"{self.nginx.workers()}, see error.log)")
        return out

    def check_header(self, res, ref):
        """X-Hydra-Sessions counts the reader's sessions and corrupt
        lines."""
        h = res.header
        want = f"{ref['sessions']} sessions {ref['corrupt']} corrupt"
        if not h.endswith("=" + want):
            return f"X-Hydra-Sessions: {h!r}, want ...={want}"
        return None

    def appends(self, res, data, n):
        """n rounds on the running nginx: append one line, time the
        next GET.  Odd rounds a new session's start line (it must come
        first), even rounds its end line (the same id, now completed:
        the last line wins).  Then the same GET with nothing new."""
        rng = random.Random(7)
        want = list(res.want)
        last = res.facts["last_us"]
        cur = None
        for i in range(n):
            if cur is None:
                last += rng.randint(60, 3600) * 10**6 + rng.randint(1, 999)
                repo = rng.choice(REPOS)
                start = datetime.fromtimestamp(last / 1e6, timezone.utc)
                cur = {"id": repo.replace("/", "-") + "-"
                       + start.strftime("%Y%m%dT%H%M%S"), "repo": repo,
                       "started_at": start.isoformat(), "ended_at": None,
                       "issues_processed": [], "issues_succeeded": 0,
                       "issues_failed": 0, "status": "active"}
                rec = cur
                want = [rec] + want[:LIMIT - 1]
            else:
                issues = sorted(rng.sample(range(900, 1000), 5))
                rec = dict(cur, ended_at=_iso(last + 1800 * 10**6),
                           issues_processed=issues, issues_succeeded=4,
                           issues_failed=1, status="completed")
                want = [rec] + want[1:]
                cur = None
            with open(data, "a") as f:
                f.write(_line(rec))
            dt, status, hdr, body = self.get()
            err = (f"HTTP {status}" if status != 200
                   else compare(want, body))
            if err:
                res.outcome("module").ok = False
                res.outcome("module").error = (
                    f"after append {i + 1}: {err}")
                raise RuntimeError(f"after append {i + 1} ({rec['id']}, "
                                   f"{rec['status']}): {err}")
            res.append_s.append(dt)
        self.log(f"{n} appends: next GET median "
                 f"{fmt_t(statistics.median(res.append_s))} "
                 f"(" + ", ".join(fmt_t(x) for x in res.append_s) + ")")
        for _ in range(n):
            dt, status, _, body = self.get()
            err = f"HTTP {status}" if status != 200 else compare(want, body)
            if err:
                res.outcome("module").ok = False
                res.outcome("module").error = f"with nothing new: {err}"
                raise RuntimeError(f"GET with nothing new: {err}")
            res.idle_s.append(dt)
        res.rss_end = worker_rss_kb(self.nginx.workers()[0])


@dataclass
class SessionsResult:
    scenario: Sessions
    results: List[Outcome]
    error: Optional[str] = None
    problems: List[str] = field(default_factory=list)
    module: Optional[str] = None
    facts: dict = field(default_factory=dict)
    gen_s: float = 0.0
    bytes: int = 0
    header: str = ""
    check_s: Optional[float] = None
    python_ref: dict = field(default_factory=dict)
    want: list = field(default_factory=list)
    python_s: List[float] = field(default_factory=list)
    python_rss: List[int] = field(default_factory=list)
    first_s: List[float] = field(default_factory=list)
    pairs: List[float] = field(default_factory=list)
    rss: List[tuple] = field(default_factory=list)
    append_s: List[float] = field(default_factory=list)
    idle_s: List[float] = field(default_factory=list)
    rss_end: Optional[int] = None

    bench: object = None            # run.py, for its table()

    def outcome(self, name):
        return next(o for o in self.results if o.contender.name == name)

    # What run.py's report() prints: summary() under the main table,
    # section() with the other rows' sections.

    def med(self, xs):
        return statistics.median(xs) if xs else None

    def summary(self):
        """(the row's table, whether every goal is met)."""
        first, py = self.med(self.first_s), self.med(self.python_s)
        app = self.med(self.append_s)
        r_cold = self.med(self.pairs)
        r_app = app / first if app is not None and first else None
        mb = f"{self.bytes / 1e6:.0f} MB" if self.bytes else "the file"
        ok = self.error is None and all(o.ok for o in self.results)

        def met(r, goal):
            if not ok:
                return "NO (failed, see below)"
            if r is None:
                return "- (not run)"
            return "yes" if r <= goal else "NO"

        def ratio(r, digits):
            return ("-" if r is None
                    else f"{r:.{digits}f}x ({1 / r:,.1f}x faster)")

        rows = [
            ["sessions", f"first GET /api/sessions (newest {LIMIT}), "
             f"fresh nginx, {mb}", fmt_t(first),
             f"load_sessions {fmt_t(py)}", ratio(r_cold, 3),
             f"time <= {Sessions.goal_cold:g}x python",
             met(r_cold, Sessions.goal_cold)],
            ["sessions", f"next GET after appending 1 line (median of "
             f"{len(self.append_s)})", fmt_t(app),
             f"first GET {fmt_t(first)}", ratio(r_app, 4),
             f"time <= {Sessions.goal_append:g}x first GET",
             met(r_app, Sessions.goal_append)]]
        d = self.rss_delta()
        n = self.python_ref.get("sessions")
        pyd = self.med(self.python_rss)
        rows.append([
            "sessions", "worker RSS for the parsed file (after the first "
            "GET - before)",
            "-" if d is None or not n else f"+{fmt_mb(d)} "
            f"({d * 1024 / n:.0f} B/session, {n:,} sessions)",
            "-" if pyd is None else f"load_sessions +{fmt_mb(pyd)} (peak)",
            "-" if d is None or not pyd else f"{d / pyd:.3f}x",
            "- (measured, no goal)", "-"])
        met_all = ok and all(
            r is not None and r <= g for r, g in
            ((r_cold, Sessions.goal_cold), (r_app, Sessions.goal_append)))
        return self.bench.table(
            ["row", "measure", "module", "compared with", "ratio",
             "goal", "met"], rows), met_all

    def rss_delta(self):
        ds = [b - a for a, b in self.rss if a is not None and b is not None]
        return self.med(ds)

    def section(self):
        out = [f"\n## {Sessions.title}\n"]
        f = self.facts
        out.append(
            f"`GET /api/sessions` answered by the module from "
            f"`hydra_sessions` (one file, {self.bytes:,} bytes, "
            f"{f.get('lines', 0):,} lines: {f.get('sessions', 0):,} "
            f"sessions over {len(REPOS)} repos, a start line each and an "
            f"end line with the same id for {f.get('ended', 0):,} of them, "
            f"{f.get('corrupt', 0)} torn lines), vs HydraFlow's "
            f"`load_sessions` in `/usr/bin/python3` (every line "
            f"`json.loads`, last line of an id wins, sorted by "
            f"`started_at`, newest {LIMIT}), on the same file in the page "
            f"cache, the reader pinned where the nginx worker is. The "
            f"file: "
            + ("generated in " + fmt_t(self.gen_s) if self.gen_s
               else "cached") + " (bench/sessions.py).\n")
        if self.module:
            out.append(f"Module: `{self.module}`.\n")
        if self.error:
            out.append(f"**Failed:** `{self.error}`\n")
        for o in self.results:
            if not o.ok:
                out.append(f"**{o.contender.name} is broken.**"
                           + (f" `{o.error}`" if o.error else "") + "\n")
        if self.header and all(o.ok for o in self.results):
            out.append(f"Checked first, on a fresh nginx of its own (that "
                       f"first GET took {fmt_t(self.check_s)}, not "
                       f"counted): the module's {LIMIT} ids equal the "
                       f"reader's, in order, and so do the records; "
                       f"`X-Hydra-Sessions: {self.header}` (the reader: "
                       f"{self.python_ref.get('sessions', 0):,} sessions "
                       f"{self.python_ref.get('corrupt', 0)} corrupt).\n")
        rows = []
        for i in range(max(len(self.python_s), len(self.first_s))):
            py = self.python_s[i] if i < len(self.python_s) else None
            m = self.first_s[i] if i < len(self.first_s) else None
            a, b = self.rss[i] if i < len(self.rss) else (None, None)
            rows.append([
                str(i + 1), fmt_t(py),
                "-" if py is None else
                f"+{fmt_mb(self.python_rss[i])}", fmt_t(m),
                "-" if m is None or not py else f"{m / py:.3f}x",
                fmt_mb(a), fmt_mb(b),
                "-" if a is None or b is None else f"+{fmt_mb(b - a)}"])
        if rows:
            out.append("Each round: the reader (`load_sessions` timed in "
                       "its process, start-up not counted; its VmHWM "
                       "minus its VmRSS before), and a fresh nginx's "
                       "first GET (wall time from connect to the last "
                       "byte), back to back; the worker's VmRSS before "
                       "and after that GET. The worker's delta includes "
                       "the 4 MiB buffer it reads slices into, kept for "
                       "the next requests.\n")
            out.append(self.bench.table(
                ["round", "load_sessions", "its peak RSS", "module first "
                 "GET", "ratio", "worker RSS before", "after", "delta"],
                rows))
        if self.append_s:
            out.append(
                f"\nThen on the last nginx, {len(self.append_s)} rounds "
                f"of: append one line (a new session's start line, then "
                f"its end line), GET, check the newest {LIMIT} (the new "
                f"session first; after its end line, completed): "
                + ", ".join(fmt_t(x) for x in self.append_s)
                + f"; median {fmt_t(self.med(self.append_s))}. The same "
                f"GET with nothing appended: median "
                f"{fmt_t(self.med(self.idle_s))}. Worker RSS at the end: "
                f"{fmt_mb(self.rss_end)}.")
        if self.problems:
            out.append(f"\nerror.log ({len(self.problems)} warn+ lines, "
                       f"last 15; the torn lines are there on purpose):\n")
            out.append("```")
            out.extend(self.problems[-15:])
            out.append("```")
        return "\n".join(out)


def main(argv):
    if len(argv) == 2 and argv[0] == "reader":
        return reader_main(argv[1])
    if len(argv) == 3 and argv[0] == "generate":
        print(json.dumps(generate(Path(argv[1]), int(argv[2]) * 10**6)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
