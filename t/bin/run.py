#!/usr/bin/python3
"""`make run`: nginx with the module, the built UI, and a demo fleet.

Environment (DESIGN.md section 6):

    MODULE      the .so (default build/ngx_http_hydra_module.so)
    PORT        where nginx listens on 127.0.0.1 (default 8080)
    WORKERS     nginx worker processes (default 2)
    SUPERVISOR  host:port of a real HydraFlow supervisor
    REPOS       "slug=host:port ..." static repos
    SESSIONS    a sessions.jsonl to read directly (hydra_sessions)
    NGINX_BIN   default /usr/sbin/nginx
    RUN_PREFIX  nginx's prefix directory (default build/run)

Without SUPERVISOR and REPOS it starts the demo fleet (t/fakes/fleet.py:
a fake supervisor and three fake repos with live data).  nginx runs in
the foreground with its prefix in build/run/; Ctrl-C or SIGTERM stops
nginx and the fleet.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
T_DIR = HERE.parent
REPO_ROOT = T_DIR.parent
sys.path.insert(0, str(T_DIR))

from lib.hydra_nginx import (Nginx, NginxError, module_path,   # noqa: E402
                             render_conf)


def fail(msg):
    print("hydra: %s" % msg, file=sys.stderr)
    sys.exit(1)


def parse_repos(text):
    """'slug=host:port ...' -> [(slug, 'host:port')]."""
    out = []
    for item in text.split():
        slug, sep, addr = item.rpartition("=")
        if not sep or not slug or ":" not in addr:
            fail("REPOS: expected slug=host:port, got %r" % item)
        out.append((slug, addr))
    return out


def start_fleet():
    """Start t/fakes/fleet.py; return (process, supervisor address)."""
    proc = subprocess.Popen(
        [sys.executable, str(T_DIR / "fakes" / "fleet.py")],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        start_new_session=True)            # Ctrl-C is ours to forward
    line = proc.stdout.readline().strip()
    if not line.startswith("SUPERVISOR="):
        proc.kill()
        fail("demo fleet did not start (%r)" % line)
    addr = line.split("=", 1)[1]
    for _ in range(3):
        print("hydra: demo %s" % proc.stdout.readline().strip().lower())
    return proc, addr


def stop(proc, sig=signal.SIGTERM, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def main():
    module = module_path()
    if not module.exists():
        fail("%s not found (make build)" % module)
    port = int(os.environ.get("PORT") or 8080)
    workers = int(os.environ.get("WORKERS") or 2)
    supervisor = os.environ.get("SUPERVISOR", "").strip() or None
    repos = parse_repos(os.environ.get("REPOS", ""))
    sessions = os.environ.get("SESSIONS", "").strip() or None

    prefix = Path(os.environ.get("RUN_PREFIX")
                  or REPO_ROOT / "build" / "run").resolve()
    prefix.mkdir(parents=True, exist_ok=True)
    ui = REPO_ROOT / "ui" / "dist"
    root = ui if (ui / "index.html").exists() else None

    fleet = None
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    if supervisor is None and not repos:
        fleet, supervisor = start_fleet()

    render_conf(prefix, port, module=module, workers=workers,
                supervisor=supervisor, supervisor_args=None, repos=repos,
                probe=None, sessions=sessions, root=root)
    # its own session: the terminal's Ctrl-C is ours, we stop nginx
    ngx = Nginx(prefix, port, workers=workers, new_session=True)
    ok, out = ngx.test_config()
    if not ok:
        stop(fleet)
        fail("nginx -t failed:\n%s" % out)
    try:
        ngx.start()
    except NginxError as exc:
        stop(fleet)
        fail(str(exc))

    print("hydra: nginx %s, logs in %s" % (ngx.conf_path, prefix))
    if root is None:
        print("hydra: no ui/dist (make ui): serving the API only")
    print("hydra: open http://127.0.0.1:%d/" % port, flush=True)

    rc = 0
    try:
        while not stopping:
            if not ngx.running:
                print("hydra: nginx exited; see %s" % ngx.error_log_path,
                      file=sys.stderr)
                rc = 1
                break
            if fleet is not None and fleet.poll() is not None:
                print("hydra: the demo fleet exited", file=sys.stderr)
                rc = 1
                break
            time.sleep(0.2)
    finally:
        ngx.stop()
        stop(fleet)
    if stopping:
        print("hydra: stopped")
    return rc


if __name__ == "__main__":
    sys.exit(main())
