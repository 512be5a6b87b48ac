"""Run a real nginx with ngx_http_hydra_module for the integration tests.

    conf = render_conf(prefix, port, supervisor="127.0.0.1:8765",
                       repos=[("acme/api", "127.0.0.1:5101")])
    ngx = Nginx(prefix, port)   # or Nginx.create(prefix, **render_kwargs)
    ngx.start()
    r = ngx.get("/api/repos")   # Response(status, headers, body)
    ngx.stop()
    assert not ngx.bad_log_lines()

Each nginx gets its own prefix (conf, logs, pid, temp dirs) and port, as
nginx-tests does, so tests can run side by side.

HYDRA_VALGRIND=1 (make test-sanitize) runs every nginx under valgrind
memcheck, one log per process in <prefix>/logs/valgrind.<pid>.log (the
suppressions of nginx's own reports: t/valgrind.supp).  A stop is then
graceful (SIGQUIT: workers close their connections and exit through
nginx's own paths), and valgrind_report() finds the memory errors and
definite leaks of a log.  nginx's own work is several times slower
there, so every wait and timeout of this file is scaled by SLOW
(HYDRA_SLOW overrides it); a test that times nginx itself uses scaled().
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODULE = REPO_ROOT / "build" / "ngx_http_hydra_module.so"
NGINX_BIN = os.environ.get("NGINX_BIN") or "/usr/sbin/nginx"
MIME_TYPES = "/etc/nginx/mime.types"

# error.log lines that fail a test.
BAD_LOG_MARKERS = ("[alert]", "[emerg]", "[crit]", "exited on signal",
                   "Sanitizer")
TEMP_DIRS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")

VALGRIND = os.environ.get("HYDRA_VALGRIND", "") not in ("", "0")
VALGRIND_SUPP = REPO_ROOT / "t" / "valgrind.supp"
VALGRIND_OPTS = [
    "valgrind",
    "--tool=memcheck",
    # nginx forks its workers without exec, and memcheck follows a fork
    # anyway; this covers an exec (a binary upgrade) too
    "--trace-children=yes",
    # each worker reports too, in its own log (%p in --log-file)
    "--child-silent-after-fork=no",
    "--leak-check=full",
    "--show-leak-kinds=definite",
    "--errors-for-leak-kinds=definite",
    # the module is dlclose()d with the cycle's pool before the exit's
    # leak check: without this its frames would all read "???"
    "--keep-debuginfo=yes",
    "--num-callers=40",
    "--vgdb=no",
    "--suppressions=%s" % VALGRIND_SUPP,
]
# more, e.g. HYDRA_VALGRIND_OPTS="--track-origins=yes --gen-suppressions=all"
VALGRIND_OPTS += os.environ.get("HYDRA_VALGRIND_OPTS", "").split()

# the factor of every wait and timeout of the helpers below
SLOW = float(os.environ.get("HYDRA_SLOW") or (5 if VALGRIND else 1))


def scaled(seconds):
    """seconds, times SLOW: a wait or timeout that nginx must meet."""
    return seconds if SLOW == 1 else seconds * SLOW


def module_path():
    """The .so under test: $MODULE, else <repo>/build/...so."""
    return Path(os.environ.get("MODULE") or DEFAULT_MODULE).resolve()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _address(a):
    """'h:p', (h, p), or anything with .address (a fake)."""
    if hasattr(a, "address"):
        return a.address
    if isinstance(a, tuple):
        return "%s:%d" % a
    return str(a)


def render_conf(prefix, port, *, module=None, workers=2,
                zone="hydra 16m", supervisor=None,
                supervisor_args="interval=1s timeout=1s", repos=(),
                probe="interval=1s timeout=1s", sessions=None, root=None,
                main_extra="", http_extra="", server_extra="", user=None):
    """Write <prefix>/nginx.conf and the directories it needs.

    supervisor: "host:port" (or a fake) for `hydra_supervisor`, or None.
    supervisor_args: the rest of that line ("" or None for the defaults).
    repos: (slug, "host:port" or fake) pairs, or "slug host:port" strings,
        one `hydra_repo` line each.
    probe: the arguments of `hydra_probe` ("" for the defaults, None to
        leave the directive out).
    sessions: a path for `hydra_sessions`, or None (left out).
    root: the server root (the built UI); default an empty <prefix>/html.
    user: the `user` directive; by default `root` when running as root, so
        workers can use temp files under pytest's private (0700) tmp dirs.
    Returns the path of nginx.conf.
    """
    prefix = Path(prefix).resolve()
    module = Path(module or module_path())
    for d in ("logs", "html") + tuple("tmp/" + t for t in TEMP_DIRS):
        (prefix / d).mkdir(parents=True, exist_ok=True)
    root = Path(root).resolve() if root else prefix / "html"

    main = []
    if user is None and os.geteuid() == 0:
        user = "root"
    if user:
        main.append("user %s;" % user)

    hydra = ["hydra_zone        %s;" % zone]
    if supervisor is not None:
        line = "hydra_supervisor  %s" % _address(supervisor)
        if supervisor_args:
            line += " " + supervisor_args
        hydra.append(line + ";")
    for r in repos:
        if isinstance(r, str):
            hydra.append("hydra_repo        %s;" % r)
        else:
            slug, addr = r
            hydra.append("hydra_repo        %s %s;" % (slug, _address(addr)))
    if probe is not None:
        hydra.append(("hydra_probe       %s" % probe).rstrip() + ";")
    if sessions:
        hydra.append("hydra_sessions    %s;" % sessions)

    def indent(text, n):
        lines = [ln for ln in str(text or "").splitlines() if ln.strip()]
        return "\n".join(" " * n + ln.strip() for ln in lines)

    conf = """\
# generated by t/lib/hydra_nginx.py
load_module {module};
worker_processes {workers};
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
{main}
{main_extra}

events {{
    worker_connections 1024;
}}

http {{
    include {mime};
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;

{hydra}
{http_extra}

    upstream hydra_repos {{
        hydra_balancer;
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port};
        root {root};
{server_extra}

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
}}
""".format(module=module, workers=workers, prefix=prefix,
           main="\n".join(main), main_extra=indent(main_extra, 0),
           mime=MIME_TYPES, hydra=indent("\n".join(hydra), 4),
           http_extra=indent(http_extra, 4), port=port, root=root,
           server_extra=indent(server_extra, 8))
    path = prefix / "nginx.conf"
    path.write_text(conf)
    return path


class Response:
    """An HTTP response: status, headers (lower-case keys), body bytes."""

    def __init__(self, status, headers, body, reason=""):
        self.status = status
        self.reason = reason
        self.header_list = list(headers)
        self.headers = {}
        for k, v in self.header_list:
            self.headers.setdefault(k.lower(), v)
        self.body = body

    def __iter__(self):                      # status, headers, body = r
        return iter((self.status, self.headers, self.body))

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def is_json(self):
        ctype = self.headers.get("content-type", "")
        if "json" not in ctype:
            return False
        try:
            json.loads(self.body)
        except ValueError:
            return False
        return True

    def __repr__(self):
        return "<Response %d %s %r>" % (self.status,
                                        self.headers.get("content-type"),
                                        self.body[:300])


def http_request(port, method, path, body=None, headers=None, conn=None,
                 timeout=10, host="127.0.0.1"):
    """One request; never raises on 4xx/5xx.

    body: bytes, str, or a JSON-able object (sent as application/json).
    conn: an http.client.HTTPConnection to reuse (keepalive); if None, a
        new connection is opened and closed.
    """
    headers = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(host, port,
                                          timeout=scaled(timeout))
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.getheaders(), data, resp.reason)
    finally:
        if own:
            conn.close()


def raw_request(port, data, timeout=10, host="127.0.0.1"):
    """Send raw bytes, read until close; return Response (or None)."""
    with socket.create_connection((host, port),
                                  timeout=scaled(timeout)) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except socket.timeout:
            pass
    raw = b"".join(chunks)
    if not raw:
        return None
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = []
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers.append((k.strip(), v.strip()))
    return Response(status, headers, body, parts[2] if len(parts) > 2
                    else "")


def _children(pid):
    """Pids whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces/parens.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(d))
    return out


class NginxError(Exception):
    pass


class Nginx:
    """One nginx master (foreground) in its own prefix."""

    def __init__(self, prefix, port, *, workers=2, conf_kwargs=None,
                 new_session=False):
        self.prefix = Path(prefix).resolve()
        self.new_session = new_session
        self.port = port
        self.workers = workers
        self.conf_kwargs = dict(conf_kwargs or {})
        self.proc = None
        self._stderr = None
        self.allowed = []

    @classmethod
    def create(cls, prefix, port=None, **conf_kwargs):
        """Render a conf (render_conf keywords) and return an Nginx."""
        port = port or free_port()
        workers = conf_kwargs.get("workers", 2)
        ngx = cls(prefix, port, workers=workers, conf_kwargs=conf_kwargs)
        ngx.render()
        return ngx

    # ------------------------------------------------------------------

    @property
    def conf_path(self):
        return self.prefix / "nginx.conf"

    @property
    def error_log_path(self):
        return self.prefix / "error.log"

    @property
    def stderr_path(self):
        return self.prefix / "stderr.log"

    def render(self, **changes):
        """(Re)write nginx.conf; changes update the render_conf keywords."""
        self.conf_kwargs.update(changes)
        return render_conf(self.prefix, self.port, **self.conf_kwargs)

    def command(self, *extra):
        cmd = [NGINX_BIN, "-p", str(self.prefix) + "/", "-c",
               str(self.conf_path)] + list(extra)
        if VALGRIND:
            (self.prefix / "logs").mkdir(parents=True, exist_ok=True)
            cmd = (VALGRIND_OPTS + ["--log-file=%s" % (
                self.prefix / "logs" / "valgrind.%p.log")] + cmd)
        return cmd

    def test_config(self):
        """`nginx -t`: (ok, output)."""
        p = subprocess.run(self.command("-t"), capture_output=True,
                           text=True, timeout=scaled(30))
        return p.returncode == 0, p.stdout + p.stderr

    def start(self, timeout=10):
        if self.proc is not None:
            raise NginxError("already started")
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._stderr,
                                     stderr=subprocess.STDOUT,
                                     cwd=str(self.prefix),
                                     start_new_session=self.new_session)
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise NginxError("nginx exited with %s at startup:\n%s\n%s"
                                 % (rc, self.read_stderr()[-3000:],
                                    self.read_error_log()[-3000:]))
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              timeout=0.5):
                    pass
                if len(self.worker_pids()) >= self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise NginxError("nginx did not answer on port %d within %ss:\n%s"
                         % (self.port, scaled(timeout),
                            self.read_error_log()[-3000:]))

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def worker_pids(self):
        if self.proc is None:
            return []
        return _children(self.proc.pid)

    def reload(self, timeout=10):
        """SIGHUP to the master (nginx -s reload); wait for new workers."""
        if not self.running:
            raise NginxError("nginx is not running")
        old = set(self.worker_pids())
        os.kill(self.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            if not self.running:
                raise NginxError("nginx died on reload:\n%s"
                                 % self.read_error_log()[-3000:])
            new = set(self.worker_pids()) - old
            if len(new) >= self.workers:
                return self
            time.sleep(0.05)
        raise NginxError("no new workers %ss after reload:\n%s"
                         % (scaled(timeout), self.read_error_log()[-3000:]))

    def stop(self, timeout=10):
        """Fast shutdown (SIGTERM), SIGKILL if it hangs.

        Under valgrind: graceful shutdown (SIGQUIT), so that workers
        close their connections and free what they hold before the leak
        check; SIGTERM if that hangs, then SIGKILL.
        """
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            if VALGRIND:
                self._stop_valgrind(proc, scaled(timeout))
            else:
                self._stop(proc, signal.SIGTERM, timeout)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _stop(self, proc, sig, timeout):
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            with open(self.error_log_path, "a") as f:
                f.write("hydra-test: [alert] nginx did not exit %ss "
                        "after %s, killed\n" % (timeout, sig.name))

    def _stop_valgrind(self, proc, timeout):
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            # a client of the test still connected, say: not the
            # module's fault, and a fast shutdown checks leaks as well
            with open(self.error_log_path, "a") as f:
                f.write("hydra-test: [notice] nginx did not exit %ss "
                        "after SIGQUIT, SIGTERM\n" % timeout)
            self._stop(proc, signal.SIGTERM, timeout)
        # a killed master leaves its workers running
        for pid in workers:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    mine = str(self.conf_path).encode() in f.read()
                if mine:
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    # ------------------------------------------------------------------

    def read_error_log(self):
        try:
            return self.error_log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def read_stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def allow_log(self, text):
        """Lines holding text are expected, and fail no test (a worker
        that the test itself killed)."""
        self.allowed.append(text)

    def bad_log_lines(self):
        """error.log (and stderr) lines that must fail a test."""
        bad = []
        for text in (self.read_error_log(), self.read_stderr()):
            for line in text.splitlines():
                if any(m in line for m in BAD_LOG_MARKERS) \
                        and not any(a in line for a in self.allowed):
                    bad.append(line)
        return bad

    def valgrind_logs(self):
        """Under valgrind: the log of each process (of -t runs too)."""
        return sorted((self.prefix / "logs").glob("valgrind.*.log"))

    def log_lines(self, *needles):
        return [ln for ln in self.read_error_log().splitlines()
                if all(n in ln for n in needles)]

    def assert_log_clean(self):
        bad = self.bad_log_lines()
        assert not bad, "nginx error.log:\n" + "\n".join(bad[:40])

    # ------------------------------------------------------------------

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def request(self, method, path, body=None, headers=None, conn=None,
                timeout=10):
        return http_request(self.port, method, path, body=body,
                            headers=headers, conn=conn, timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def connection(self, timeout=10):
        """A keepalive connection for several requests."""
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=scaled(timeout))

    def raw(self, data, timeout=10):
        return raw_request(self.port, data, timeout=timeout)


# ---------------------------------------------------------------------------
# valgrind logs


def _valgrind_blocks(text):
    """A valgrind log's lines, without "==pid== ", in blank-line blocks."""
    blocks, block = [], []
    for line in text.splitlines():
        if line.startswith("=="):
            line = line.split("== ", 1)[1] if "== " in line else ""
        if line.strip():
            block.append(line)
        elif block:
            blocks.append(block)
            block = []
    if block:
        blocks.append(block)
    return blocks


def valgrind_report(path, seen=None, max_lines=400):
    """The problems of one valgrind log as text, or "" if it has none.

    A log with an "ERROR SUMMARY" (the process exited) fails on a
    non-zero count or on definitely lost bytes; one without it (a
    process killed with SIGKILL) fails on any report in it.  seen: a set
    of the stacks already shown (the same in every worker, say), which
    are then only counted.
    """
    text = Path(path).read_text(errors="replace")
    blocks = _valgrind_blocks(text)
    errors = lost = None
    reports = []
    for b in blocks:
        for line in b:
            if line.startswith("ERROR SUMMARY:"):
                errors = int(line.split()[2].replace(",", ""))
            elif line.strip().startswith("definitely lost:"):
                lost = int(line.split()[2].replace(",", ""))
        # a report is a block with a stack; valgrind's own "Warning:"
        # blocks (an unknown ioctl, say) count as none
        if not b[0].startswith("Warning:") and any(
                ln.lstrip().startswith(("at 0x", "by 0x")) for ln in b):
            reports.append(b)
    if errors is None:
        if not reports:
            return ""
        head = "%s: no summary (killed?), %d reports" % (path, len(reports))
    else:
        if errors == 0 and not lost:
            return ""
        head = "%s: %d errors, %s bytes definitely lost" % (path, errors,
                                                            lost or 0)
    lines = [head]
    again = 0
    for b in reports:
        stack = tuple(ln.split(":", 1)[-1] for ln in b
                      if ln.lstrip().startswith(("at 0x", "by 0x")))
        if seen is not None and stack in seen:
            again += 1
            continue
        if seen is not None:
            seen.add(stack)
        lines.extend("    " + ln for ln in b)
        lines.append("")
    if again:
        lines.append("    and %d more, of a stack shown above" % again)
    if len(lines) > max_lines:
        lines = lines[:max_lines] + ["    ... (%d more lines)"
                                     % (len(lines) - max_lines)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# helpers for the tests


def wait_for(fn, timeout=5.0, interval=0.1, message=None):
    """Call fn until it returns something truthy; return that.

    An AssertionError raised by fn counts as "not yet".  On timeout
    (scaled by SLOW), raise AssertionError with the message and the last
    value.
    """
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except AssertionError as exc:
            last = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError("%s (after %.1fs); last: %r"
                         % (message or "condition not met", timeout, last))


def repos_doc(ngx):
    """GET /api/repos, checked to be a 200 JSON object."""
    r = ngx.get("/api/repos")
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith(
        "application/json"), r
    doc = r.json()
    assert isinstance(doc, dict) and isinstance(doc.get("repos"), list), doc
    return doc


def find_entries(doc, **match):
    """The /api/repos entries whose fields equal every keyword."""
    return [e for e in doc["repos"]
            if all(e.get(k) == v for k, v in match.items())]


def find_entry(doc, **match):
    """The one entry matching; None if there is none; fails if several."""
    found = find_entries(doc, **match)
    assert len(found) <= 1, "several entries match %r: %r" % (match, found)
    return found[0] if found else None


def wait_entry(ngx, timeout=6.0, message=None, **match):
    """Poll /api/repos until exactly one entry matches; return it."""
    def check():
        return find_entry(repos_doc(ngx), **match)
    return wait_for(check, timeout, message=message
                    or "no /api/repos entry with %r" % (match,))


def wait_up(ngx, fakes, timeout=6.0):
    """Wait until every fake (FakeRepo) is listed up at its address."""
    def check():
        doc = repos_doc(ngx)
        for f in fakes:
            e = find_entry(doc, address=f.address)
            if e is None or e.get("status") != "up":
                return None
        return doc
    return wait_for(check, timeout, message="repos %s not all up"
                    % [f.address for f in fakes])
