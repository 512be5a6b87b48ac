"""The React dashboard (ui/dist) in Debian's headless Chromium, driven
through playwright-core (ui/browser/driver.mjs), served by a real nginx
with the module in front of the fake fleet.

Needs `make ui` (ui/dist and ui/node_modules) and /usr/bin/chromium
(`t/bin/deps ui`); skipped otherwise, unless UI_TEST_REQUIRED is set (as
`make ui-browser`, part of `make ui-test` and `make test`, sets it).
Screenshots go to build/ui-shots/.
"""

import json
import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from lib.hydra_nginx import REPO_ROOT, free_port, wait_for, wait_up

UI = REPO_ROOT / "ui"
DIST = UI / "dist"
DRIVER = UI / "browser" / "driver.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("UI_SHOTS") or REPO_ROOT / "build" / "ui-shots")

# (owner/name, supervisor slug), as the demo fleet (t/fakes/fleet.py)
DEMO = (("acme/api", "acme/api"), ("acme/web", "acme/web"),
        ("acme/tools", "tools"))
KEYS = ("acme-api", "acme-web", "acme-tools")


def _missing():
    if not (DIST / "index.html").exists():
        return "ui/dist not built (make ui)"
    if not (UI / "node_modules" / "playwright-core").exists():
        return "ui/node_modules missing (make ui)"
    if not os.access(CHROMIUM, os.X_OK):
        return "%s missing (t/bin/deps ui)" % CHROMIUM
    if shutil.which("node") is None:
        return "node missing (t/bin/deps ui)"
    return None


if _missing() is not None and os.environ.get("UI_TEST_REQUIRED"):
    raise RuntimeError("browser tests required: " + _missing())
pytestmark = pytest.mark.skipif(_missing() is not None,
                                reason=_missing() or "")


LEGACY = """
server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
    location /api/ {
        proxy_pass http://127.0.0.1:%(module_port)d;
    }
    location = /ws {
        if ($arg_repo = "") {
            return 501;
        }
        proxy_pass http://127.0.0.1:%(module_port)d;
        proxy_http_version 1.1;
        # as an outer proxy must: the module checks Origin against Host
        proxy_set_header Host $http_host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_read_timeout 1h;
    }
}
"""


class Browser:
    """One headless Chromium; each call is one command of driver.mjs."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["node", str(DRIVER)], cwd=str(UI), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            bufsize=1)
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, args=(self.proc.stdout,
                                                  self.lines.put),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr,
                                                  self.stderr.append),
                         daemon=True).start()
        hello = self._answer(60)
        assert hello.get("value") == "ready", hello

    @staticmethod
    def _read(stream, put):
        for line in stream:
            put(line)
        put(None)

    def _answer(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("browser driver silent for %ss" % timeout)
        if line is None:
            raise AssertionError("browser driver exited: %s"
                                 % "".join(self.stderr[-20:]))
        return json.loads(line)

    def __call__(self, cmd, **kw):
        """Run a command; return its value or fail the test."""
        kw["cmd"] = cmd
        self.proc.stdin.write(json.dumps(kw) + "\n")
        self.proc.stdin.flush()
        wait = kw.get("timeout", 5000) / 1000.0 + 30
        ans = self._answer(wait)
        if not ans.get("ok"):
            raise AssertionError("%s %s: %s" % (cmd, kw, ans.get("error")))
        return ans.get("value")

    def try_(self, cmd, **kw):
        """Run a command; return (ok, value or error)."""
        try:
            return True, self(cmd, **kw)
        except AssertionError as exc:
            return False, str(exc)

    def close(self):
        if self.proc.poll() is None:
            try:
                self("quit")
            except Exception:                        # noqa: BLE001
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="module")
def site(fleet_module, nginx_module):
    sup = fleet_module.supervisor()
    fakes = {}
    for name, slug in DEMO:
        repo = fleet_module.repo(name, supervisor=sup)
        sup.add(repo, slug=slug)
        fakes[name.replace("/", "-")] = repo
    ngx = nginx_module(start=False, supervisor=sup, root=DIST)
    # A second server, in the same nginx, that stands for a module without
    # the all-repos stream: GET /ws answers 501, the rest is the module's.
    ngx.legacy_port = free_port()
    ngx.render(http_extra=LEGACY % {"port": ngx.legacy_port,
                                    "module_port": ngx.port,
                                    "root": DIST})
    ngx.start()
    wait_up(ngx, list(fakes.values()), timeout=10)
    # the all-repos stream: 501 while it is not built, else a WebSocket
    all_ws = ngx.get("/ws").status != 501
    return ngx, fakes, all_ws


@pytest.fixture(scope="module")
def browser(site):
    b = Browser()
    yield b
    b.close()


@pytest.fixture
def page(site, browser):
    """The browser, checked for console errors after the test."""
    ngx, fakes, all_ws = site
    before = len(browser("console"))
    yield browser
    problems = browser("console")[before:]
    if not all_ws:
        # a refused WebSocket handshake (and its probe) is logged by the
        # browser itself, whatever the page does
        problems = [p for p in problems if "/ws" not in p["text"]
                    and "/ws" not in p["url"]]
    assert problems == [], problems


def url(ngx, path="/"):
    return "http://127.0.0.1:%d%s" % (ngx.port, path)


def shot(b, name, full=True):
    return b("screenshot", path=str(SHOTS / name), fullPage=full)


def card_repos(b):
    return b("eval", expr="[...document.querySelectorAll('.card')]"
                          ".map(c => c.dataset.repo)")


def test_aggregated_board_shows_every_repo(site, page):
    ngx, fakes, _ = site
    page("viewport", width=1366, height=900)
    page("goto", url=url(ngx))
    for key in KEYS:
        page("wait", selector=".card[data-repo='%s']" % key, timeout=10000)
    assert page("eval", expr="location.search") == ""
    pressed = page("eval", expr="document.querySelector("
                   "\"button[aria-pressed='true']\").dataset.repo")
    assert pressed == ""
    # one card per (repo, issue) of every repo's own pipeline
    want = set()
    for key, fake in fakes.items():
        status, body = fake.view("/api/pipeline")
        for issues in body["stages"].values():
            want.update("%s#%d" % (key, i["issue_number"]) for i in issues)
    keys = set(page("eval", expr="[...document.querySelectorAll('.card')]"
                                 ".map(c => c.dataset.key)"))
    assert keys == want
    # every card links to its issue and wears its repo
    links = page("eval", expr="[...document.querySelectorAll('.card')]"
                 ".every(c => c.querySelector('a[href^=\"https://github.com"
                 "/\"]') && c.querySelector('.tag'))")
    assert links is True
    # the repo selector shows live health
    for key in KEYS:
        page("wait", selector="button[data-repo='%s'][data-status='up']"
             % key)
    page("wait", selector=".stats [data-rate='merge_rate'] dd")
    page("wait", selector=".chart svg rect.bar", count=1)
    page("wait", selector="#sessions-h ~ .group", count=3)
    shot(page, "all-repos.png")


def test_phone_width_has_no_sideways_scroll(site, page):
    ngx, _, _ = site
    page("viewport", width=390, height=844)
    try:
        page("goto", url=url(ngx))
        page("wait", selector=".card", count=5, timeout=10000)
        page("wait", selector=".chart svg")
        width = page("eval", expr="[document.documentElement.scrollWidth,"
                                  " window.innerWidth]")
        assert width[0] <= width[1], width
        shot(page, "phone.png", full=False)
    finally:
        page("viewport", width=1366, height=900)


def test_choosing_a_repo_scopes_every_view(site, page):
    ngx, fakes, _ = site
    page("goto", url=url(ngx))
    page("wait", selector=".card[data-repo='acme-web']", timeout=10000)
    page("click", selector="button[data-repo='acme-api']")
    wait_for(lambda: page("eval", expr="location.search")
             == "?repo=acme-api", 5, message="URL keeps the choice")

    def only_api():
        repos = card_repos(page)
        return repos and set(repos) == {"acme-api"}
    wait_for(only_api, 10, message="board scoped to acme-api")
    status, body = fakes["acme-api"].view("/api/pipeline")
    n = sum(len(v) for v in body["stages"].values())
    assert len(card_repos(page)) == n
    # HITL and workers scoped too
    page("wait", selector="#workers-h ~ table .pill", timeout=10000)
    pills = page("eval", expr="[...document.querySelectorAll('.pill')]"
                              ".map(p => p.textContent.split(' ')[0])")
    assert set(pills) == {"acme-api"}
    hitl = page("eval", expr="[...document.querySelectorAll("
                             "'#hitl-h ~ .rows .row')].map(r => r.dataset"
                             ".key.split('#')[0])")
    assert set(hitl) <= {"acme-api"}
    shot(page, "acme-api.png")

    # back to all repos through history
    page("eval", expr="history.back()")
    wait_for(lambda: page("eval", expr="location.search") == "", 5)
    wait_for(lambda: set(card_repos(page)) == set(KEYS), 10,
             message="all repos again after Back")

    # a page URL with another slug form of a repo
    page("goto", url=url(ngx, "/?repo=tools"))
    page("wait", selector="button[data-repo='acme-tools']"
                          "[aria-pressed='true']", timeout=10000)
    wait_for(lambda: set(card_repos(page) or ["?"]) == {"acme-tools"}, 10,
             message="board scoped to tools = acme-tools")


def test_keyboard_reaches_the_repo_selector(site, page):
    ngx, _, _ = site
    page("goto", url=url(ngx))
    page("wait", selector="button[data-repo='acme-web']", timeout=10000)
    for _ in range(12):
        page("press", key="Tab")
        if page("eval", expr="document.activeElement.dataset.repo") \
                == "acme-web":
            break
    else:
        pytest.fail("Tab never reached the acme-web button")
    page("press", key="Enter")
    wait_for(lambda: page("eval", expr="location.search")
             == "?repo=acme-web", 5)
    wait_for(lambda: set(card_repos(page) or ["?"]) == {"acme-web"}, 10)
    # the skip link is the first stop
    page("goto", url=url(ngx))
    page("wait", selector="button[data-repo='acme-web']", timeout=10000)
    page("press", key="Tab")
    assert page("eval", expr="document.activeElement.className") == "skip"


def test_a_repo_that_is_down_brings_the_banner(site, page):
    ngx, fakes, _ = site
    web = fakes["acme-web"]
    page("goto", url=url(ngx))
    page("wait", selector=".card[data-repo='acme-web']", timeout=10000)
    assert page("eval", expr="!!document.querySelector('.banner')") is False
    web.set_mode("down")
    try:
        page("wait", selector=".banner li[data-repo='acme-web']",
             timeout=15000)
        text = page("eval", expr="document.querySelector('.banner')"
                                 ".textContent")
        assert "acme-web" in text and "connect" in text, text
        assert "acme-api" not in text and "acme-tools" not in text, text
        # the rest of the page still works
        wait_for(lambda: set(card_repos(page)) == {"acme-api",
                                                   "acme-tools"}, 10)
        page("wait", selector="button[data-repo='acme-web']"
                              "[data-status='down']", timeout=10000)
        shot(page, "banner.png", full=False)
    finally:
        web.set_mode("ok")
    wait_up(ngx, [web], timeout=10)
    page("wait", selector=".banner", state="detached", timeout=15000)
    page("wait", selector=".card[data-repo='acme-web']", timeout=10000)


def _emit_and_see(page, fake, scope_key):
    marker = "ui-test-%s" % uuid.uuid4().hex[:10]
    t0 = time.monotonic()
    fake.emit("system_alert", {"message": marker})
    page("wait", selector=".event[data-repo='%s']" % scope_key,
         text=marker, timeout=2000)
    return time.monotonic() - t0


def test_live_event_of_one_repo_within_2s(site, page):
    ngx, fakes, _ = site
    page("goto", url=url(ngx, "/?repo=acme-api"))
    page("wait", selector=".feed-status[data-state='live']", timeout=10000)
    page("wait", selector=".event[data-repo='acme-api']", timeout=5000)
    took = _emit_and_see(page, fakes["acme-api"], "acme-api")
    assert took < 2.0
    # the type filter
    page("eval", expr="(() => { const s = document.querySelectorAll("
                      "'.filters select')[1]; const set = Object."
                      "getOwnPropertyDescriptor(HTMLSelectElement.prototype,"
                      " 'value').set; set.call(s, 'system_alert'); "
                      "s.dispatchEvent(new Event('change', {bubbles: true}))"
                      "; })()")
    wait_for(lambda: set(page("eval", expr="[...document.querySelectorAll("
                              "'.event')].map(e => e.dataset.type)"))
             == {"system_alert"}, 5)


def test_feed_for_all_repos(site, page):
    ngx, fakes, all_ws = site
    page("goto", url=url(ngx))
    if not all_ws:
        page("wait", selector=".feed-status[data-state='unavailable']",
             text="live events for all repos not available", timeout=10000)
        # the rest of the page works
        page("wait", selector=".card", count=3)
        return
    page("wait", selector=".feed-status[data-state='live']", timeout=10000)
    took = _emit_and_see(page, fakes["acme-web"], "acme-web")
    assert took < 2.0
    shot(page, "feed.png", full=False)


def test_gap_notice_and_since_on_reconnect(site, page):
    """A mocked all-repos stream: a gap event is shown, and a reconnect
    asks for ?since=<last id>."""
    ngx, _, _ = site
    page("mockws", frames=[
        {"id": 7, "repo": "acme-api", "type": "worker_update",
         "timestamp": "2026-11-27T10:00:00+00:00", "data": {"issue": 1}},
        {"id": 60, "repo": None, "type": "gap",
         "timestamp": "2026-11-27T10:00:01+00:00",
         "data": {"from": 8, "to": 60, "missed": 52}},
        {"id": 61, "repo": "acme-web", "type": "pr_created",
         "timestamp": "2026-11-27T10:00:02+00:00", "data": {"pr": 5}}],
        closeAfter=True)
    try:
        page("goto", url=url(ngx))
        page("wait", selector=".gap-notice", text="52 events were missed",
             timeout=5000)
        page("wait", selector=".event.gap")
        urls = wait_for(lambda: [u for u in page("mockws_urls")
                                 if "since=61" in u], 10,
                        message="a reconnect with ?since=61")
        assert urls
        shot(page, "gap.png", full=False)
    finally:
        page("unmockws")


def test_feed_when_all_repos_answers_501(site, browser):
    """Against a /ws that answers 501 without ?repo= (the module before
    its all-repos stream): the page says so, keeps retrying, and works;
    a chosen repo's own stream is live."""
    ngx, fakes, _ = site
    page = browser
    before = len(page("console"))
    base = "http://127.0.0.1:%d" % ngx.legacy_port
    page("goto", url=base + "/")
    page("wait", selector=".feed-status[data-state='unavailable']",
         text="live events for all repos not available", timeout=10000)
    page("wait", selector=".card", count=3, timeout=10000)
    shot(page, "ws-501.png", full=False)
    # it keeps retrying (backoff from 1 s)
    wait_for(lambda: page("eval", expr="+document.querySelector("
                          "'.feed-status').dataset.attempts") >= 2, 8,
             message="a second attempt")
    page("wait", selector=".feed-status[data-state='unavailable']",
         timeout=5000)
    page("click", selector="button[data-repo='acme-tools']")
    page("wait", selector=".feed-status[data-state='live']", timeout=10000)
    took = _emit_and_see(page, fakes["acme-tools"], "acme-tools")
    assert took < 2.0
    problems = [p for p in page("console")[before:]
                if "/ws" not in p["text"] and "/ws" not in p["url"]]
    assert problems == [], problems


def test_sessions_file_grouped_by_repo(site, browser, nginx, tmp_path):
    """With a sessions file, /api/sessions?group=repo answers an object
    keyed by repo: the page shows its groups as they are."""
    _, fakes, _ = site
    lines = []
    for i, repo in enumerate(("acme/api", "acme/web", "acme/api")):
        lines.append(json.dumps({
            "id": "ui-s%d" % i, "repo": repo,
            "started_at": "2026-11-2%dT10:00:00+00:00" % (i + 1),
            "ended_at": None, "issues_processed": [1, 2],
            "issues_succeeded": 1, "issues_failed": 0,
            "status": "completed"}))
    path = tmp_path / "sessions.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ngx = nginx(repos=[(k.replace("-", "/", 1), f) for k, f in
                       fakes.items()], root=DIST, sessions=str(path))
    wait_up(ngx, list(fakes.values()), timeout=10)
    page = browser
    before = len(page("console"))
    page("goto", url=url(ngx))
    page("wait", selector=".group[data-repo='acme-api'] .row", count=2,
         timeout=10000)
    groups = page("eval", expr="[...document.querySelectorAll("
                               "'#sessions-h ~ .group')].map(g => "
                               "[g.dataset.repo, g.querySelectorAll('.row')"
                               ".length])")
    assert groups == [["acme-api", 2], ["acme-web", 1]]
    assert page("console")[before:] == []


def test_unknown_repo_in_the_url(site, browser):
    """?repo=<a slug nginx does not know>: every view says so (404), the
    feed gives up instead of retrying, the selector offers the others."""
    ngx, _, _ = site
    page = browser
    page("goto", url=url(ngx, "/?repo=nope"))
    page("wait", selector=".feed-status[data-state='refused']",
         text="unknown repo", timeout=10000)
    page("wait", selector=".banner li[data-repo='nope']", text="http 404",
         timeout=10000)
    page("wait", selector="button[data-repo='nope'][aria-pressed='true']",
         text="not in the registry")
    page("click", selector="button[data-repo='']")
    wait_for(lambda: set(card_repos(page) or ["?"]) == set(KEYS), 10)
    page("wait", selector=".banner", state="detached", timeout=5000)
