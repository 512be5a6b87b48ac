"""`make run` (t/bin/run.py): the demo comes up behind nginx, and SIGTERM
or Ctrl-C stops all of it."""

import os
import signal
import subprocess
import sys
import time

import pytest

from lib.hydra_nginx import (_children, free_port, http_request, scaled,
                             wait_for)


HERE = os.path.dirname(os.path.abspath(__file__))


def descendants(pid):
    out = []
    todo = [pid]
    while todo:
        kids = _children(todo.pop())
        out.extend(kids)
        todo.extend(kids)
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def start_run(tmp_path, **env):
    port = free_port()
    e = dict(os.environ, PORT=str(port), WORKERS="2",
             RUN_PREFIX=str(tmp_path / "run"), SUPERVISOR="", REPOS="",
             SESSIONS="")
    e.update(env)
    proc = subprocess.Popen([sys.executable,
                             os.path.join(HERE, "bin", "run.py")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=e)
    lines = []
    deadline = time.monotonic() + scaled(15)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("hydra: open "):
            break
    assert lines and lines[-1].strip() == \
        "hydra: open http://127.0.0.1:%d/" % port, "".join(lines)
    return proc, port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_demo_fleet_behind_nginx(tmp_path, module_so, sig):
    proc, port = start_run(tmp_path)
    kids = descendants(proc.pid)
    try:
        def three_up():
            doc = http_request(port, "GET", "/api/repos").json()
            ups = [e for e in doc["repos"] if e["status"] == "up"]
            return doc if len(ups) == 3 else None
        doc = wait_for(three_up, 20, interval=0.3)
        assert sorted(e["slug"] for e in doc["repos"]) == \
            ["acme/api", "acme/web", "tools"]
        assert sorted(e["repo"] for e in doc["repos"]) == \
            ["acme/api", "acme/tools", "acme/web"]
        assert doc["supervisor"]["status"] == "up"
        r = http_request(port, "GET", "/api/pipeline?repo=tools")
        assert r.status == 200 and "acme/tools" in r.text
    finally:
        proc.send_signal(sig)
        rc = proc.wait(scaled(15))
    assert rc == 0
    assert "hydra: stopped" in proc.stdout.read()
    assert len(kids) >= 4                  # fleet, nginx master, 2 workers
    wait_for(lambda: not [k for k in kids if alive(k)], 5,
             message="processes left behind")
    bad = [ln for ln in (tmp_path / "run" / "error.log").read_text()
           .splitlines() if "[alert]" in ln or "[emerg]" in ln
           or "[crit]" in ln or "exited on signal" in ln]
    assert not bad, bad


def test_static_repos_no_demo(tmp_path, module_so, fleet):
    api = fleet.repo("acme/api")
    proc, port = start_run(tmp_path, REPOS="acme/api=%s" % api.address)
    try:
        kids = descendants(proc.pid)
        cmdlines = []
        for k in kids:
            with open("/proc/%d/cmdline" % k, "rb") as f:
                cmdlines.append(f.read())
        assert not [c for c in cmdlines if b"fleet.py" in c]
        r = wait_for(lambda: (lambda r: r if r.status == 200 else None)(
            http_request(port, "GET", "/api/control/status?repo=acme-api")),
            10)
        assert r.json()["config"]["repo"] == "acme/api"
        doc = http_request(port, "GET", "/api/repos").json()
        assert [e["slug"] for e in doc["repos"]] == ["acme/api"]
        assert doc["supervisor"] is None
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(scaled(15)) == 0
