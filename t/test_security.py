"""Security: what a hostile client can make the module do.

- Reach: no client input (Host, X-Forwarded-*, an absolute request line,
  `?repo=` written as an address, paths, headers) makes nginx connect
  anywhere but a registered repo.  A canary TCP listener records any
  connection; the registered repos (FakeRepo records every request) see
  only well-formed requests for the path asked, with Host the upstream's
  and no `repo` argument; answers are a JSON 4xx of the module, the
  repo's own answer, or nginx's own refusal of a malformed request (the
  module never saw it); error.log has no [alert]/[crit]/[emerg].
- Smuggling basics: Content-Length with Transfer-Encoding, a duplicate
  Content-Length, bad chunk sizes; a body the module does not read is
  never taken for the next request.
- Size: request bodies over client_max_body_size, a repo's answer over
  hydra_max_response_size in a view, WebSocket frames from a browser
  that are oversized, fragmented without end, unmasked, or use reserved
  bits and opcodes (test_events_fanout.py has the basic close codes;
  these are the others), with other clients unaffected.
- Cross-site WebSocket: the Origin policy of `hydra_events_origin`.
- `hydra_read_only on`: every method but GET, HEAD and OPTIONS refused
  with 403 before any repo, whatever the scope or the headers claim,
  while reads and the event stream go on.

test_hostile.py has the hostile slug values themselves (every one
refused with a JSON 4xx and no request anywhere); this file does not
repeat them.
"""

import asyncio
import json
import os
import select
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from types import SimpleNamespace

import pytest
import websockets
from aiohttp import web

from fakes.repo import FakeRepo
from lib.hydra_nginx import wait_for, wait_up
from test_events_fanout import KEY, Reader, frame, handshake

try:                                   # make test-sanitize: nginx is slow
    from lib.hydra_nginx import VALGRIND, scaled
except ImportError:
    VALGRIND, scaled = False, (lambda seconds: seconds)


BODY_LIMIT = 64 * 1024                  # client_max_body_size here
SERVER_EXTRA = ("client_max_body_size 64k;\n"
                "large_client_header_buffers 4 16k;")


# ---------------------------------------------------------------------------
# the canary: a listener nobody may ever reach


class Canary:
    """A TCP listener on 127.0.0.1 (and ::1 on the same port when the
    host has IPv6) that records every connection made to it."""

    def __init__(self):
        self.hits = []
        self.socks = []
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        self.port = s.getsockname()[1]
        self.socks.append(s)
        try:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s6.bind(("::1", self.port))
            s6.listen(64)
            self.socks.append(s6)
        except OSError:
            pass
        self.ipv6 = len(self.socks) == 2
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name="canary")
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _run(self):
        while not self._stop:
            ready, _, _ = select.select(self.socks, [], [], 0.1)
            for s in ready:
                try:
                    conn, peer = s.accept()
                except OSError:
                    continue
                conn.settimeout(0.5)
                try:
                    first = conn.recv(2048)
                except OSError:
                    first = b""
                conn.close()
                self.hits.append((peer, first))

    def close(self):
        self._stop = True
        self.thread.join(2)
        for s in self.socks:
            s.close()


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def env(fleet_module, nginx_module):
    canary = Canary()
    sup = fleet_module.supervisor()
    api = fleet_module.repo("acme/api", supervisor=sup)
    web_ = fleet_module.repo("acme/web")
    sup.add(api)                                   # from the supervisor
    conf = dict(supervisor=sup, repos=[("acme/web", web_)],
                server_extra=SERVER_EXTRA)
    ngx = nginx_module(**conf)
    ro = nginx_module(http_extra="hydra_read_only on;", **conf)
    wait_up(ngx, [api, web_])
    wait_up(ro, [api, web_])
    yield SimpleNamespace(ngx=ngx, ro=ro, sup=sup, api=api, web=web_,
                          fakes=(api, web_), canary=canary)
    canary.close()
    assert not canary.hits, "the canary was reached: %r" % canary.hits


def marker():
    return "m" + uuid.uuid4().hex[:12]


def reached(env, mark):
    """(fake, request) for every request that carries the marker."""
    return [(f, q) for f in env.fakes for q in list(f.requests)
            if mark in q.query_string or mark in q.raw_path
            or q.header("x-test-marker") == mark]


def raw(port, method, target, headers=(), body=b"", version="HTTP/1.1",
        host=None, timeout=5):
    """One raw request, Connection: close; the Response or None."""
    lines = ["%s %s %s" % (method, target, version)]
    if host is not False:
        lines.append("Host: %s" % (host or "127.0.0.1:%d" % port))
    lines += ["%s: %s" % kv for kv in headers]
    lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    return raw_bytes(port, data, timeout)


def raw_bytes(port, data, timeout=5):
    """Sends bytes, reads to the close; every response in them, in order
    (a list of (status, headers dict, body))."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return parse_responses(buf)


def parse_responses(buf):
    out = []
    while buf:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs.setdefault(k.strip().lower(), v.strip())
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            body, buf = rest[:n], rest[n:]
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size, _, rest = rest.partition(b"\r\n")
                n = int(size.split(b";")[0], 16)
                body += rest[:n]
                rest = rest[n + 2:]
                if n == 0:
                    rest = rest.partition(b"\r\n")[2] \
                        if not rest.startswith(b"\r\n") else rest[2:]
                    break
            buf = rest
        else:
            body, buf = rest, b""
        out.append(SimpleNamespace(status=status, headers=hdrs, body=body))
    return out


def one(responses):
    assert len(responses) == 1, responses
    return responses[0]


def is_module_json_error(r):
    if "json" not in r.headers.get("content-type", ""):
        return False
    try:
        doc = json.loads(r.body)
    except ValueError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("error"), str)


def well_formed(q, path=None, method=None):
    """What is wrong with one request a repo received."""
    bad = []
    if method and q.method != method:
        bad.append("method %s" % q.method)
    if path is not None and q.path != path:
        bad.append("path %r, want %r" % (q.path, path))
    if path is None and not (q.path.startswith("/api/") or q.path == "/ws"):
        bad.append("path %r outside /api/" % q.path)
    if [k for k, _ in q.query if k == "repo"]:
        bad.append("a repo argument reached it: %r" % q.query_string)
    if q.header("host") != "hydra_repos":
        bad.append("Host %r (the client's?)" % q.header("host"))
    for k, v in q.headers.items():
        if k.lower() == "x-injected" or "\r" in v or "\n" in v:
            bad.append("injected header %r: %r" % (k, v))
    return bad


def verdict(env, r, mark, reach=(), path=None, method="GET"):
    """Problems with one answer: reach is the fakes that must each get
    exactly one request with the marker (nobody else any); an answer
    that reached nobody must be a module JSON error or nginx's own
    refusal of a malformed request."""
    problems = []
    hits = reached(env, mark)
    got = sorted(f.repo for f, _ in hits)
    want = sorted(f.repo for f in reach)
    if got != want:
        problems.append("reached %s, want %s: %r" % (got, want, hits))
    for f, q in hits:
        problems += ["%s: %s" % (f.repo, b) for b in
                     well_formed(q, path, method)]
    if r is None:
        problems.append("no answer")
    else:
        if r.status >= 500:
            problems.append("status %d" % r.status)
        if r.status >= 400 and not hits and not is_module_json_error(r) \
                and not r.headers.get("content-type", "").startswith(
                    "text/html"):
            problems.append("refusal neither JSON nor nginx's: %r"
                            % (r.body[:200],))
        if "x-injected" in r.headers:
            problems.append("header injected into the answer")
    if env.canary.hits:
        problems.append("canary reached: %r" % env.canary.hits)
    return problems


# ---------------------------------------------------------------------------
# the canary itself


def test_canary_records_a_connection():
    """The canary is a real listener: what it would say is not vacuous."""
    c = Canary()
    try:
        with socket.create_connection(("127.0.0.1", c.port), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        wait_for(lambda: c.hits, 2, message="canary saw nothing")
        assert c.hits[0][1].startswith(b"GET / ")
    finally:
        c.close()


# ---------------------------------------------------------------------------
# host injection: nothing names a host or a port


def host_cases(canary):
    """(id, method, target, headers, reach, path): reach is 'api',
    'both' (an aggregated view) or None (refused)."""
    c = canary.address
    enc = urllib.parse.quote
    forwarded = [("X-Forwarded-Host", c), ("X-Forwarded-Port",
                                           str(canary.port)),
                 ("X-Forwarded-Proto", "http"), ("X-Real-IP", "127.0.0.1"),
                 ("X-Forwarded-For", "127.0.0.1"),
                 ("Forwarded", "for=127.0.0.1;host=%s;proto=http" % c),
                 ("X-Forwarded-Server", c), ("X-Original-URL",
                                             "http://%s/api/x" % c),
                 ("X-Rewrite-URL", "http://%s/api/x" % c)]
    return [
        ("host-header-pass", "GET", "/api/pipeline?repo=acme/api",
         [], "api", "/api/pipeline", c),
        ("host-header-agg", "GET", "/api/queue", [], "both", "/api/queue",
         c),
        ("host-header-post", "POST", "/api/control/start?repo=acme/api",
         [("Content-Length", "0")], "api", "/api/control/start", c),
        ("host-ipv6", "GET", "/api/pipeline?repo=acme/api", [], "api",
         "/api/pipeline", "[::1]:%d" % canary.port),
        ("host-userinfo", "GET", "/api/pipeline?repo=acme/api", [], "api",
         "/api/pipeline", "evil@%s" % c),
        ("forwarded-pass", "GET", "/api/pipeline?repo=acme/api",
         forwarded, "api", "/api/pipeline", None),
        ("forwarded-agg", "GET", "/api/queue", forwarded, "both",
         "/api/queue", None),
        ("forwarded-no-repo-post", "POST", "/api/control/start",
         forwarded + [("Content-Length", "0")], None, None, c),
        ("absolute-uri-pass", "GET",
         "http://%s/api/pipeline?repo=acme/api" % c, [], "api",
         "/api/pipeline", None),
        ("absolute-uri-agg", "GET", "http://%s/api/queue" % c, [], "both",
         "/api/queue", None),
        ("absolute-uri-ipv6", "GET",
         "http://[::1]:%d/api/pipeline?repo=acme/api" % canary.port, [],
         "api", "/api/pipeline", None),
        ("absolute-uri-userinfo", "GET",
         "http://u:p@%s/api/pipeline?repo=acme/api" % c, [], None, None,
         None),
        ("absolute-uri-no-repo-post", "POST",
         "http://%s/api/control/stop" % c, [("Content-Length", "0")], None,
         None, None),
        ("repo-address", "GET", "/api/pipeline?repo=%s" % c, [], None,
         None, None),
        ("repo-address-enc", "GET", "/api/pipeline?repo=%s" % enc(c, ""),
         [], None, None, None),
        ("repo-address-double-enc", "GET", "/api/pipeline?repo=%s"
         % enc(enc(c, ""), ""), [], None, None, None),
        ("repo-at", "GET", "/api/pipeline?repo=acme/api@%s" % c, [], None,
         None, None),
        ("repo-at-enc", "GET", "/api/pipeline?repo=%s"
         % enc("acme/api@" + c, ""), [], None, None, None),
        ("repo-userinfo", "GET", "/api/pipeline?repo=user:pw@%s" % c, [],
         None, None, None),
        ("repo-url", "GET", "/api/pipeline?repo=http://%s/" % c, [], None,
         None, None),
        ("repo-url-enc", "GET", "/api/pipeline?repo=%s"
         % enc("http://%s/" % c, ""), [], None, None, None),
        ("repo-scheme-relative", "GET", "/api/pipeline?repo=//%s" % c, [],
         None, None, None),
        ("repo-ipv6", "GET", "/api/pipeline?repo=[::1]:%d" % canary.port,
         [], None, None, None),
        ("repo-ipv6-enc", "GET", "/api/pipeline?repo=%s"
         % enc("[::1]:%d" % canary.port, ""), [], None, None, None),
        ("repo-ipv4-mapped", "GET", "/api/pipeline?repo=[::ffff:127.0.0.1]"
         ":%d" % canary.port, [], None, None, None),
        ("repo-localhost", "GET", "/api/pipeline?repo=localhost:%d"
         % canary.port, [], None, None, None),
        ("repo-decimal-ip", "GET", "/api/pipeline?repo=2130706433:%d"
         % canary.port, [], None, None, None),
        ("repo-hex-ip", "GET", "/api/pipeline?repo=0x7f.1:%d"
         % canary.port, [], None, None, None),
        ("repo-address-post", "POST", "/api/control/stop?repo=%s" % c,
         [("Content-Length", "0")], None, None, c),
        ("repo-address-agg-all", "GET", "/api/queue?repo=__all__,%s" % c,
         [], None, None, None),
        ("repo-plus-host-args", "GET", "/api/queue?repo=acme/api&host="
         "127.0.0.1&port=%d&upstream=%s" % (canary.port, c), [], "api",
         "/api/queue", c),
        ("path-is-a-url", "GET", "/api/http://%s/x?repo=acme/api" % c, [],
         "api", None, None),
        ("path-at-host", "GET", "/api/@%s/x?repo=acme/api" % c, [], "api",
         None, None),
    ]


def host_ids():
    return [c[0] for c in host_cases(SimpleNamespace(address="h:1", port=1))]


@pytest.mark.parametrize("case", range(len(host_ids())), ids=host_ids())
def test_host_injection_reaches_no_one_else(env, case):
    name, method, target, headers, reach, path, host = \
        host_cases(env.canary)[case]
    mark = marker()
    sep = "&" if "?" in target else "?"
    r = raw(env.ngx.port, method, target + sep + "m=" + mark,
            headers=[("X-Test-Marker", mark)] + list(headers), host=host)
    r = one(r)
    fakes = {"api": (env.api,), "both": env.fakes, None: ()}[reach]
    problems = verdict(env, r, mark, fakes, path, method)
    if reach is None:
        if not 400 <= r.status < 500:
            problems.append("status %d, want a 4xx" % r.status)
    elif reach == "both":
        if r.status != 200 or "acme-api" not in r.headers.get(
                "x-hydra-repos", ""):
            problems.append("not the aggregated view: %d %r"
                            % (r.status, r.headers))
    assert not problems, (name, r.status, r.body[:200], problems)


@pytest.mark.parametrize("query, host, reach", [
    ("?repo=%s", None, False),
    ("?repo=%s,acme-api", None, False),
    ("?repo=acme-api", "%s", True),
    ("", "%s", False),
], ids=["repo-address", "list-with-address", "passthrough-host",
        "all-repos-host"])
def test_ws_host_injection(env, query, host, reach):
    c = env.canary.address
    before = len([q for q in env.api.requests if q.path == "/ws"])
    headers = {"X-Forwarded-Host": c}
    if host:
        headers["Host"] = host % c
    s, status, h, rest = handshake(env.ngx.port, query.replace("%s", c),
                                   headers=headers)
    s.close()
    seen = [q for q in env.api.requests if q.path == "/ws"][before:]
    if reach:
        assert status == 101
        wait_for(lambda: len([q for q in env.api.requests
                              if q.path == "/ws"]) > before, scaled(3))
        seen = [q for q in env.api.requests if q.path == "/ws"][before:]
        assert len(seen) == 1 and not well_formed(seen[0], "/ws", "GET"), \
            seen
    elif query:
        assert 400 <= status < 500 and json.loads(rest)["error"]
        assert not seen
    else:
        assert status == 101            # the module's own fan-out
    assert not env.canary.hits


# ---------------------------------------------------------------------------
# path injection


@pytest.mark.parametrize("target, reach, path", [
    ("/api/../../etc/passwd?repo=acme/api", None, None),
    ("/api/%2e%2e/%2e%2e/etc/passwd?repo=acme/api", None, None),
    ("/api/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd?repo=acme/api", None, None),
    ("/api/x/%2e%2e/pipeline?repo=acme/api", "api", "/api/pipeline"),
    ("/api/x/../pipeline?repo=acme/api", "api", "/api/pipeline"),
    ("/api/pipeline%2F..%2F..%2F_hydra%2Fapi%2Fqueue?repo=acme/api", None,
     None),
    ("/api/..%2F_hydra%2Fapi%2Fqueue?repo=acme/api", None, None),
    ("/_hydra/api/queue", None, None),
    ("/_hydra/api/queue?repo=acme/api", None, None),
    ("//_hydra//api/queue", None, None),
    ("/_hydra/../_hydra/api/queue", None, None),
    ("//api//pipeline?repo=acme/api", "api", "/api/pipeline"),
    ("/api//pipeline//?repo=acme/api", "api", "/api/pipeline/"),
    ("/api/pipeline\\..\\..\\x?repo=acme/api", "api",
     "/api/pipeline\\..\\..\\x"),
    ("/api/pipeline%5C..%5C..%5Cx?repo=acme/api", "api",
     "/api/pipeline\\..\\..\\x"),
    ("/api/x/%252e%252e/%252e%252e/y?repo=acme/api", "api",
     "/api/x/%2e%2e/%2e%2e/y"),
    ("/api/x%252F..%252F..%252Fy?repo=acme/api", "api",
     "/api/x%2F..%2F..%2Fy"),
    ("/api/pipeline%00?repo=acme/api", None, None),
    ("/api/pipeline%3Frepo=acme/web?repo=acme/api", "api",
     "/api/pipeline?repo=acme/web"),
    ("/api/pipeline%23x?repo=acme/api", "api", "/api/pipeline#x"),
    ("/api/pipeline?repo=acme/api&repo=acme/web", None, None),
    ("/api/pipeline?repo=acme/web&repo=acme/api", None, None),
    ("/api/pipeline?repo=acme/api&repo=acme/api", "api", "/api/pipeline"),
    ("/api/pipeline?repo=acme/api&repo=", None, None),
    ("/api/pipeline?repo=&repo=acme/api", None, None),
    ("/api/pipeline?repo=acme/api#repo=acme/web", "api", "/api/pipeline"),
])
def test_path_injection(env, target, reach, path):
    mark = marker()
    sep = "&" if "?" in target.split("#")[0] else "?"
    base, _, frag = target.partition("#")
    r = one(raw(env.ngx.port, "GET", base + sep + "m=" + mark
                + ("#" + frag if frag else ""),
                headers=[("X-Test-Marker", mark)]))
    fakes = (env.api,) if reach else ()
    problems = verdict(env, r, mark, fakes, path)
    if reach is None and not 400 <= r.status < 500:
        problems.append("status %d, want a 4xx" % r.status)
    assert not problems, (r.status, r.body[:200], problems)


def test_repo_twice_in_two_encodings_reaches_one_repo_at_most(env):
    """`repo` twice, once percent-encoded: refused as different, or the
    one repo it names, the argument stripped both times."""
    mark = marker()
    r = one(raw(env.ngx.port, "GET",
                "/api/queue?repo=acme/api&repo=acme%%2Fapi&m=%s" % mark,
                headers=[("X-Test-Marker", mark)]))
    fakes = (env.api,) if r.status == 200 else ()
    assert not verdict(env, r, mark, fakes, "/api/queue")
    assert r.status in (200, 400)


@pytest.mark.parametrize("name", ["%72epo", "rep%6F", "%72%65%70%6f",
                                  "re%70o"])
def test_encoded_repo_argument_never_reaches_a_repo(env, name):
    """A `repo` argument the repo would decode as `repo` must be stripped
    (or the request refused): a per-repo dashboard filters sessions on
    it."""
    mark = marker()
    r = env.ngx.get("/api/sessions?repo=acme/api&%s=acme/web&m=%s"
                    % (name, mark), headers={"X-Test-Marker": mark})
    problems = verdict(env, r, mark, (env.api,) if r.status == 200 else (),
                       "/api/sessions")
    assert not problems, problems
    assert r.status == 400 or r.json() == env.api.view("/api/sessions")[1]


@pytest.mark.parametrize("ctype, body", [
    ("application/json", b'{"repo": "acme/web", "slug": "acme/web"}'),
    ("application/x-www-form-urlencoded", b"repo=acme%2Fweb&slug=web"),
    ("multipart/form-data; boundary=b",
     b'--b\r\nContent-Disposition: form-data; name="repo"\r\n\r\n'
     b'acme/web\r\n--b--\r\n'),
])
def test_repo_in_the_body_names_no_repo(env, ctype, body):
    """The body is the repo's business: without ?repo= a mutation is
    refused, with ?repo= it goes to that repo alone, body intact."""
    mark = marker()
    r = env.ngx.post("/api/request-changes?m=" + mark, body=body,
                     headers={"Content-Type": ctype, "X-Test-Marker": mark})
    assert r.status == 400 and "specific repo" in r.json()["error"], r
    assert not verdict(env, r, mark)

    mark = marker()
    r = env.ngx.post("/api/request-changes?repo=acme/api&m=" + mark,
                     body=body, headers={"Content-Type": ctype,
                                         "X-Test-Marker": mark})
    assert not verdict(env, r, mark, (env.api,), "/api/request-changes",
                       "POST"), r
    (_, q), = reached(env, mark)
    assert q.body == body


# ---------------------------------------------------------------------------
# header injection


@pytest.mark.parametrize("target, reach, path", [
    ("/api/pipeline?repo=acme/api&x=%0d%0aX-Injected:%20y", "api",
     "/api/pipeline"),
    ("/api/pipeline?repo=acme/api&x=%0aX-Injected:%20y%0a%0a", "api",
     "/api/pipeline"),
    ("/api/pipeline%0d%0aX-Injected:%20y?repo=acme/api", "api",
     "/api/pipeline\r\nX-Injected: y"),
    ("/api/queue%0d%0aX-Injected:%20y", None, None),
    ("/api/queue?x=%0d%0aX-Injected:%20y", "both", "/api/queue"),
    ("/ws?repo=acme-api%0d%0aX-Injected:%20y", None, None),
])
def test_crlf_in_the_target_injects_nothing(env, target, reach, path):
    mark = marker()
    r = one(raw(env.ngx.port, "GET", target + "&m=" + mark
                if "?" in target else target + "?m=" + mark,
                headers=[("X-Test-Marker", mark)]))
    fakes = {"api": (env.api,), "both": env.fakes, None: ()}[reach]
    problems = verdict(env, r, mark, fakes, path)
    for f, q in reached(env, mark):
        if "x" in dict(q.query):
            assert "X-Injected" in dict(q.query)["x"]    # data, not header
    assert not problems, (r.status, r.body[:200], problems)


@pytest.mark.parametrize("head", [
    b"X-A: b\rX-Injected: y",                  # bare CR
    b"X-A: b\r\n X-Injected: y",                # obs-fold
    b"X-A: b\r\n\tX-Injected: y",
    b"X-A: a\x00b",                              # NUL
])
def test_raw_crlf_in_headers_is_refused(env, head):
    mark = marker()
    data = (b"GET /api/pipeline?repo=acme/api&m=" + mark.encode()
            + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test-Marker: "
            + mark.encode() + b"\r\n" + head + b"\r\nConnection: close"
            b"\r\n\r\n")
    rs = raw_bytes(env.ngx.port, data)
    r = rs[0] if rs else None
    problems = verdict(env, r, mark)
    assert r is not None and r.status == 400, rs
    assert not problems, problems


def test_hop_by_hop_headers_do_not_steer_a_passthrough(env):
    """Connection naming headers, Keep-Alive, TE, Proxy-Connection: the
    repo sees nginx's own Connection, no TE or Keep-Alive, and the
    request reaches the repo named by ?repo= alone."""
    mark = marker()
    r = env.ngx.get("/api/pipeline?repo=acme/api&m=" + mark, headers={
        "X-Test-Marker": mark,
        "Connection": "keep-alive, X-Hydra-Repo, Host, Upgrade, TE",
        "X-Hydra-Repo": "acme/web", "Keep-Alive": "timeout=1, max=1",
        "TE": "trailers, deflate", "Trailer": "X-Injected",
        "Proxy-Connection": "close", "Expect": ""})
    assert r.status == 200 and r.json() == env.api.view("/api/pipeline")[1]
    assert not verdict(env, r, mark, (env.api,), "/api/pipeline")
    (_, q), = reached(env, mark)
    conn = (q.header("connection") or "").lower()
    assert "x-hydra" not in conn and "host" not in conn \
        and "upgrade" not in conn, q.headers
    assert q.header("te") is None and q.header("keep-alive") is None, \
        q.headers
    assert q.header("upgrade") is None, q.headers


def test_hop_by_hop_headers_do_not_strip_the_views_facts(env):
    """A client naming the module's headers in Connection does not make
    them vanish from an aggregated answer, nor reach a repo."""
    mark = marker()
    r = env.ngx.get("/api/queue?m=" + mark, headers={
        "X-Test-Marker": mark,
        "Connection": "X-Hydra-Repos, X-Hydra-Partial, Content-Length",
        "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAAQAAP__",
        "TE": "trailers", "Keep-Alive": "1"})
    assert r.status == 200
    assert set(r.headers["x-hydra-repos"].split(", ")) == \
        {"acme-api", "acme-web"}
    assert r.json()["hydra"]["answered"]
    assert not verdict(env, r, mark, env.fakes, "/api/queue")
    for _, q in reached(env, mark):
        assert q.header("upgrade") is None, q.headers
        assert "upgrade" not in (q.header("connection") or "").lower()
        assert q.header("te") is None and q.header("keep-alive") is None


@pytest.mark.parametrize("upgrade", ["h2c", "websocket", "TLS/1.2"])
def test_upgrade_on_an_api_path_never_reaches_a_repo(env, upgrade):
    mark = marker()
    headers = {"X-Test-Marker": mark, "Upgrade": upgrade,
               "Connection": "Upgrade, HTTP2-Settings",
               "HTTP2-Settings": "AAMAAABkAAQAAP__",
               "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
    r = env.ngx.get("/api/pipeline?repo=acme/api&m=" + mark,
                    headers=headers)
    hits = reached(env, mark)
    if r.status >= 400:                 # refused: fine, if nobody saw it
        assert is_module_json_error(r) and not hits, (r, hits)
        return
    assert not verdict(env, r, mark, (env.api,), "/api/pipeline")
    (_, q), = hits
    assert q.header("upgrade") is None, q.headers
    assert "upgrade" not in (q.header("connection") or "").lower(), \
        q.headers


# ---------------------------------------------------------------------------
# request smuggling basics


SMUGGLED = "GET /api/control/status?repo=acme/api&smuggled=%s HTTP/1.1\r\n" \
           "Host: x\r\n\r\n"


def smuggled_reached(env, mark):
    return [q for f in env.fakes for q in list(f.requests)
            if ("smuggled=" + mark) in q.query_string]


@pytest.mark.parametrize("headers, body, status", [
    ([("Content-Length", "%d"), ("Transfer-Encoding", "chunked")],
     "0\r\n\r\n%s", 400),
    ([("Transfer-Encoding", "chunked"), ("Content-Length", "%d")],
     "0\r\n\r\n%s", 400),
    ([("Content-Length", "%d"), ("Content-Length", "%d")], "%s", 400),
    ([("Content-Length", "0"), ("Content-Length", "%d")], "%s", 400),
    ([("Content-Length", "%d, %d")], "%s", 400),
    ([("Content-Length", "+%d")], "%s", 400),
    ([("Content-Length", "-1")], "%s", 400),
    ([("Content-Length", "0x10")], "%s", 400),
    ([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")],
     "0\r\n\r\n%s", 400),
    ([("Transfer-Encoding", "gzip, chunked")], "0\r\n\r\n%s", 501),
    ([("Transfer-Encoding", "xchunked")], "0\r\n\r\n%s", 501),
    ([("Transfer-Encoding", "chunked")], "zz\r\nabcd\r\n0\r\n\r\n%s", 400),
    ([("Transfer-Encoding", "chunked")],
     "fffffffffffffffffffff\r\nabcd\r\n0\r\n\r\n%s", 400),
], ids=["cl-te", "te-cl", "cl-twice", "cl-0-then-n", "cl-list", "cl-plus",
        "cl-negative", "cl-hex", "te-twice", "te-gzip-chunked",
        "te-xchunked", "chunk-size-bad", "chunk-size-overflow"])
def test_smuggling_is_refused_before_any_repo(env, headers, body, status):
    mark = marker()
    smuggled = SMUGGLED % mark
    text = body.replace("%s", smuggled)
    n = len(text.encode())
    hdrs = [(k, v.replace("%d", str(n))) for k, v in headers]
    head = "POST /api/intent?repo=acme/api&m=%s HTTP/1.1\r\nHost: x\r\n" \
        "X-Test-Marker: %s\r\n" % (mark, mark)
    head += "".join("%s: %s\r\n" % kv for kv in hdrs) + "\r\n"
    rs = raw_bytes(env.ngx.port, head.encode("latin-1") + text.encode())
    assert rs and rs[0].status == status, rs
    assert len(rs) == 1, "a second answer: %r" % rs      # and closed
    assert not reached(env, mark)
    assert not smuggled_reached(env, mark)
    assert not env.canary.hits


def test_http10_transfer_encoding_is_refused(env):
    mark = marker()
    rs = raw_bytes(env.ngx.port, (
        "POST /api/intent?repo=acme/api&m=%s HTTP/1.0\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % mark
        + SMUGGLED % mark).encode())
    assert rs and rs[0].status == 400 and len(rs) == 1, rs
    assert not reached(env, mark) and not smuggled_reached(env, mark)


def test_chunked_passthrough_is_dechunked_and_the_next_request_is_own(env):
    """A chunked body reaches the repo whole, with a Content-Length and
    no Transfer-Encoding; the request pipelined after it is a request of
    its own, answered second."""
    mark = marker()
    body = b'{"text": "chunked intent ' + mark.encode() + b'"}'
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p)
                      for p in (body[:7], body[7:20], body[20:])) \
        + b"0\r\n\r\n"
    data = ("POST /api/intent?repo=acme/api&m=%s HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked"
            "\r\n\r\n" % mark).encode() + chunks + (
        "GET /api/control/status?repo=acme/web&m=%s HTTP/1.1\r\n"
        "Host: x\r\nConnection: close\r\n\r\n" % mark).encode()
    rs = raw_bytes(env.ngx.port, data)
    assert [r.status for r in rs] == [200, 200], rs
    assert json.loads(rs[0].body)["status"] == "created"
    assert json.loads(rs[1].body)["config"]["repo"] == "acme/web"
    hits = reached(env, mark)
    assert sorted((f.repo, q.method, q.path) for f, q in hits) == \
        [("acme/api", "POST", "/api/intent"),
         ("acme/web", "GET", "/api/control/status")]
    q = next(q for f, q in hits if q.method == "POST")
    assert q.body == body
    assert q.header("content-length") == str(len(body))
    assert q.header("transfer-encoding") is None
    for f, q in hits:
        assert not well_formed(q)


@pytest.mark.parametrize("target", [
    "/api/queue",                               # aggregated view
    "/api/queue?repo=acme-nope",                # the module's 404
    "/api/nomerge",                             # the module's 400
    "/api/repos",                               # the registry
])
def test_a_body_the_module_does_not_read_is_not_a_request(env, target):
    """GET with a body the module answers itself: the body (holding a
    whole request) is read and dropped, the next request on the
    connection is the one pipelined after it."""
    mark = marker()
    smuggled = (SMUGGLED % mark).encode()
    sep = "&" if "?" in target else "?"
    data = ("GET %s%sm=%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
            % (target, sep, mark, len(smuggled))).encode() + smuggled + (
        "GET /api/control/status?repo=acme/web&m=%s HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n" % mark).encode()
    rs = raw_bytes(env.ngx.port, data)
    assert len(rs) == 2, rs
    assert json.loads(rs[1].body)["config"]["repo"] == "acme/web"
    assert not smuggled_reached(env, mark)
    assert not env.canary.hits


# ---------------------------------------------------------------------------
# sizes: request bodies


@pytest.mark.parametrize("how", ["length", "chunked", "expect"])
def test_body_over_client_max_body_size_is_413_and_reaches_no_one(env, how):
    mark = marker()
    body = b'{"text": "' + b"x" * (BODY_LIMIT + 10) + b'"}'
    head = ("POST /api/intent?repo=acme/api&m=%s HTTP/1.1\r\nHost: x\r\n"
            "X-Test-Marker: %s\r\nContent-Type: application/json\r\n"
            % (mark, mark))
    if how == "chunked":
        data = (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + \
            b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]),
                                         body[i:i + 8192])
                     for i in range(0, len(body), 8192)) + b"0\r\n\r\n"
    elif how == "expect":
        data = (head + "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                % len(body)).encode()        # the body is never sent
    else:
        data = (head + "Content-Length: %d\r\n\r\n" % len(body)).encode() \
            + body
    rs = raw_bytes(env.ngx.port, data)
    assert rs and rs[-1].status == 413, [r.status for r in rs]
    assert not reached(env, mark)
    assert not env.canary.hits


def test_body_under_the_limit_passes_whole(env):
    """The positive control of the 413s: the same request, just under
    the limit, reaches the repo byte for byte."""
    mark = marker()
    body = b'{"text": "' + b"y" * (BODY_LIMIT - 100) + b'"}'
    r = env.ngx.post("/api/intent?repo=acme/api&m=" + mark, body=body,
                     headers={"Content-Type": "application/json",
                              "X-Test-Marker": mark})
    assert r.status == 200, r
    (_, q), = reached(env, mark)
    assert q.body == body


def test_body_over_the_limit_to_an_aggregated_view_is_413(env):
    mark = marker()
    r = env.ngx.request("GET", "/api/queue?m=" + mark,
                        body=b"z" * (BODY_LIMIT + 1),
                        headers={"X-Test-Marker": mark})
    assert r.status == 413
    assert not reached(env, mark)


# ---------------------------------------------------------------------------
# sizes: a repo's answer over hydra_max_response_size


class Hog(FakeRepo):
    """Answers /api/queue with more than any view takes: an endless
    chunked stream, or a huge Content-Length trickled out."""

    hog = None

    async def _dispatch(self, request, body):
        if request.path != "/api/queue" or self.hog is None:
            return await super()._dispatch(request, body)
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/json"
        if self.hog == "endless":
            resp.enable_chunked_encoding()
        else:
            resp.content_length = 10 ** 12
        await resp.prepare(request)
        try:
            await resp.write(b'{"pad":"')
            for _ in range(100000):
                if self.hog == "endless":
                    await resp.write(b"x" * 65536)
                else:
                    await resp.write(b"x" * 64)
                    await asyncio.sleep(0.05)
        except (ConnectionError, RuntimeError):
            pass
        return resp


@pytest.fixture
def hog_env(fleet, nginx):
    api = fleet.repo("acme/api")
    hog = Hog("acme/hog")
    fleet.run(hog.start())
    fleet.fakes.append(hog)
    ngx = nginx(repos=[("acme/api", api), ("acme/hog", hog)],
                http_extra="hydra_timeout 3s; hydra_max_response_size 64k;")
    wait_up(ngx, [api, hog])
    return SimpleNamespace(ngx=ngx, api=api, hog=hog)


@pytest.mark.parametrize("hog", ["endless", "declared"])
def test_answer_over_the_limit_is_too_big_at_once(hog_env, hog):
    hog_env.hog.hog = hog
    t0 = time.monotonic()
    r = hog_env.ngx.get("/api/queue", timeout=scaled(10))
    took = time.monotonic() - t0
    assert r.status == 200, r
    assert r.headers.get("x-hydra-repos") == "acme-api"
    assert r.json()["hydra"]["failed"] == {"acme-hog": "too big"}, r.json()
    assert took < 1.5 or VALGRIND, "took %.2fs of the 3s budget" % took


@pytest.mark.parametrize("hog", ["endless", "declared"])
def test_answer_over_the_limit_costs_one_budget_at_most(hog_env, hog):
    """Whatever the name it gets, a hog is left out within the budget,
    its connection closed, and the next view is the same."""
    hog_env.hog.hog = hog
    for _ in range(2):
        t0 = time.monotonic()
        r = hog_env.ngx.get("/api/queue", timeout=scaled(10))
        assert time.monotonic() - t0 < 3.0 + scaled(0.8)
        assert r.status == 200 and r.headers.get("x-hydra-repos") == \
            "acme-api", r
        assert list(r.json()["hydra"]["failed"]) == ["acme-hog"]
    hog_env.hog.hog = None
    r = hog_env.ngx.get("/api/queue")
    assert set(r.headers["x-hydra-repos"].split(", ")) == \
        {"acme-api", "acme-hog"}


# ---------------------------------------------------------------------------
# WebSocket frames from a browser (the codes test_events_fanout.py does not
# cover), and the others unaffected


def masked_header(b0, length_bytes):
    return bytes([b0]) + length_bytes + os.urandom(4)


HOSTILE_FRAMES = [
    ("len64-msb-set", masked_header(0x82, bytes([0xFF]) + struct.pack(
        "!Q", 1 << 63)), 1002),
    ("len64-all-ones", masked_header(0x81, bytes([0xFF]) + b"\xff" * 8),
     1002),
    ("len64-max", masked_header(0x82, bytes([0xFF]) + struct.pack(
        "!Q", (1 << 63) - 1)), 1009),
    ("len64-just-over", masked_header(0x81, bytes([0xFF]) + struct.pack(
        "!Q", 64 * 1024 + 1)), 1009),
    ("continuation-over", frame(0x1, b"a" * 1000, fin=False)
     + masked_header(0x00, bytes([0xFF]) + struct.pack("!Q", 1 << 32)),
     1009),
    ("endless-1-byte-fragments", frame(0x1, b"a", fin=False)
     + b"".join(frame(0x0, b"a", fin=False) for _ in range(66000)), 1009),
    ("unmasked-ping", frame(0x9, b"x", mask=False), 1002),
    ("unmasked-close", frame(0x8, b"\x03\xe8", mask=False), 1002),
    ("unmasked-continuation", frame(0x1, b"a", fin=False)
     + frame(0x0, b"b", mask=False), 1002),
    ("rsv2", masked_header(0xA1, b"\x80"), 1002),
    ("rsv3", masked_header(0x91, b"\x80"), 1002),
    ("rsv1-on-ping", masked_header(0xC9, b"\x80"), 1002),
    ("rsv-on-continuation", frame(0x1, b"a", fin=False)
     + masked_header(0xF0, b"\x80"), 1002),
] + [("opcode-%x" % op, frame(op, b"x"), 1002)
     for op in (0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF)] + [
    ("close-126", frame(0x8, b"\x03\xe8" + b"r" * 124), 1002),
    ("pong-126", frame(0xA, b"p" * 126), 1002),
    ("text-surrogate", frame(0x1, b"\xed\xa0\x80"), 1007),
    ("text-cut-character", frame(0x1, b"ok \xe2\x82"), 1007),
    ("text-bad-in-second-fragment", frame(0x1, b"ok", fin=False)
     + frame(0x0, b"\xf8\x88\x80\x80\x80"), 1007),
    ("text-over-u10ffff", frame(0x1, b"\xf4\x90\x80\x80"), 1007),
    ("binary-then-text-start", frame(0x2, b"a", fin=False)
     + frame(0x1, b"b"), 1002),
]


@pytest.mark.parametrize("data, code", [(d, c) for _, d, c in
                                        HOSTILE_FRAMES],
                         ids=[n for n, _, _ in HOSTILE_FRAMES])
def test_hostile_frame_is_closed_with_its_code(env, data, code):
    s, status, h, rest = handshake(env.ngx.port, "?types=nothing")
    with s:
        assert status == 101
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass                        # closed before all of it was sent
        rd = Reader(s, rest)
        assert rd.close_code() == code
        assert rd.eof()


def test_empty_fragments_without_end_hold_nothing(env):
    """100,000 empty continuation frames: nothing accumulates (the
    message stays at 0 bytes), a ping between them is answered, and the
    message may still end."""
    s, status, h, rest = handshake(env.ngx.port, "?types=nothing")
    with s:
        assert status == 101
        rd = Reader(s, rest)
        s.sendall(frame(0x1, b"", fin=False))
        for _ in range(10):
            s.sendall(b"".join(frame(0x0, b"", fin=False)
                               for _ in range(10000)))
        s.sendall(frame(0x9, b"still here"))
        assert rd.control() == (True, 0xA, b"still here")
        s.sendall(frame(0x0, b"", fin=False) + frame(0x0, b"end")
                  + frame(0x9, b"after"))
        assert rd.control() == (True, 0xA, b"after")


def worker_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def test_hostile_browsers_leave_the_others_untouched(env):
    """Every hostile frame above at once, a ping flood from a socket that
    never reads its pongs, and a frame header cut in the middle: the
    good subscribers on both workers keep getting every event, no worker
    dies, and the workers' memory does not grow with the flood."""
    ngx = env.ngx
    pids = sorted(ngx.worker_pids())
    ev_type = "sec_%s" % uuid.uuid4().hex[:8]
    rss0 = sum(worker_rss_kb(p) for p in pids)

    good = []
    for _ in range(12):
        s, status, h, rest = handshake(ngx.port, "?types=" + ev_type)
        assert status == 101
        s.settimeout(scaled(10))
        good.append((s, Reader(s, rest)))

    def everyone_gets(n):
        data = env.api.emit(ev_type, {"n": n})
        for s, rd in good:
            fin, op, payload = rd.next()
            e = json.loads(payload)
            assert op == 0x1 and e["type"] == ev_type, e
            assert e["data"] == {"n": n} and e["source_id"] == data["id"]

    everyone_gets(0)

    hostile = []
    for name, data, code in HOSTILE_FRAMES:
        s, status, h, rest = handshake(ngx.port, "?types=nothing")
        assert status == 101
        hostile.append((name, s, Reader(s, rest), code))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
    half, status, h, rest = handshake(ngx.port, "?types=nothing")
    half.sendall(frame(0x1, b"x" * 300)[:3])        # a cut header

    # the flood: 30 MB of pings (3 under valgrind), pongs never read
    flood, status, h, rest = handshake(ngx.port, "?types=nothing")
    assert status == 101
    ping = frame(0x9, b"f" * 120)
    burst = ping * ((1 << 20) // len(ping))
    flood.settimeout(scaled(20))
    size = (3 if VALGRIND else 30) << 20
    sent = 0
    while sent < size:
        flood.sendall(burst)
        sent += len(burst)
        if sent % (size // 5) < len(burst):
            everyone_gets(sent)         # events flow during the flood

    for name, s, rd, code in hostile:
        assert rd.close_code() == code, name
        s.close()
    everyone_gets(-1)
    rss1 = sum(worker_rss_kb(p) for p in pids)
    for s, _ in good:
        s.close()
    half.close()
    flood.close()
    assert sorted(ngx.worker_pids()) == pids, "a worker died"
    assert VALGRIND or rss1 - rss0 < 8 * 1024, \
        "workers grew by %d kB over the flood" % (rss1 - rss0)
    ngx.assert_log_clean()


# ---------------------------------------------------------------------------
# cross-site WebSocket


def ws_status(port, query="", origin=None, host=None):
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if host is not None:
        headers["Host"] = host
    s, status, h, rest = handshake(port, query, headers=headers)
    s.close()
    if status != 101:
        assert json.loads(rest)["error"], rest
    return status


def tricky_origins(port):
    here = "127.0.0.1:%d" % port
    return [
        "http://evil.example",
        "http://%s.evil.example" % here,
        "http://%s@evil.example" % here,
        "http://evil.example#%s" % here,
        "http://evil.example/http://%s" % here,
        "http://%s/" % here,
        "http://%sx" % here,
        "http://127.0.0.1",
        "http://127.0.0.1:%d" % (port + 1),
        "http://localhost:%d" % port,
        "null",
        "",
        here,
    ]


def test_all_repos_ws_from_a_foreign_origin_is_refused_by_default(env):
    port = env.ngx.port
    for query in ("", "?repo=__all__", "?repo=acme-api,acme-web",
                  "?repo=acme-api,__all__&types=gap"):
        for origin in tricky_origins(port):
            assert ws_status(port, query, origin) == 403, (query, origin)
        assert ws_status(port, query, "http://127.0.0.1:%d" % port) == 101
        assert ws_status(port, query, "http://LOCALHOST:%d" % port,
                         host="localhost:%d" % port) == 101
        assert ws_status(port, query) == 101        # not a browser


def test_two_origins_are_refused(env):
    port = env.ngx.port
    good = "http://127.0.0.1:%d" % port
    assert ws_status(port, "", good) == 101
    for pair in ((good, "http://evil.example"),
                 ("http://evil.example", good), (good, good)):
        raw_hs = ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: "
                  "websocket\r\nConnection: Upgrade, close\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                  "Origin: %s\r\nOrigin: %s\r\n\r\n"
                  % (port, KEY, pair[0], pair[1]))
        r = one(raw_bytes(port, raw_hs.encode()))
        assert r.status == 403 and is_module_json_error(r), pair


def test_configured_origins(env, nginx):
    ngx = nginx(supervisor=env.sup, repos=[("acme/web", env.web)],
                server_extra="hydra_events_origin https://dash.example "
                             "http://localhost:5173;")
    wait_up(ngx, env.fakes)
    port = ngx.port
    for query in ("", "?repo=__all__", "?repo=acme-api,acme-web"):
        assert ws_status(port, query, "https://dash.example") == 101
        assert ws_status(port, query, "HTTPS://DASH.EXAMPLE") == 101
        assert ws_status(port, query, "http://localhost:5173") == 101
        for origin in ("http://dash.example", "https://dash.example:443",
                       "https://dash.example/", "https://evil.dash.example",
                       "https://dash.example.evil", "http://localhost:5174",
                       "http://127.0.0.1:%d" % port, "null"):
            assert ws_status(port, query, origin) == 403, (query, origin)


def ws_passthrough_case(ngx, fake, origin):
    """(status, whether the repo saw the handshake).  The module's own
    feeds open /ws on every repo too, without an Origin: only handshakes
    carrying this one count when there is one."""
    def handshakes():
        return len([q for q in fake.requests if q.path == "/ws"
                    and (origin is None or q.header("origin") == origin)])

    before = handshakes()
    status = ws_status(ngx.port, "?repo=acme-api", origin)
    time.sleep(scaled(0.2))
    return status, handshakes() > before


def test_passthrough_ws_from_the_same_origin_works(env):
    status, seen = ws_passthrough_case(env.ngx, env.api,
                                       "http://127.0.0.1:%d" % env.ngx.port)
    assert (status, seen) == (101, True)
    status, seen = ws_passthrough_case(env.ngx, env.api, None)
    assert (status, seen) == (101, True)


@pytest.mark.parametrize("configured", [False, True],
                         ids=["default", "hydra_events_origin"])
def test_passthrough_ws_from_a_foreign_origin_is_refused(env, nginx,
                                                         configured):
    ngx = env.ngx
    if configured:
        ngx = nginx(supervisor=env.sup, repos=[("acme/web", env.web)],
                    server_extra="hydra_events_origin https://dash.example;")
        wait_up(ngx, env.fakes)
    status, seen = ws_passthrough_case(ngx, env.api, "http://evil.example")
    assert (status, seen) == (403, False)


# ---------------------------------------------------------------------------
# hydra_read_only


# hydraflow-api.md 1.3 and 1.4: every mutating endpoint, with a body it
# would take
MUTATIONS = [
    ("POST", "/api/control/start", None),
    ("POST", "/api/control/stop", None),
    ("PATCH", "/api/control/config", {"max_workers": 3, "persist": True}),
    ("POST", "/api/control/bg-worker", {"name": "metrics",
                                        "enabled": False}),
    ("POST", "/api/control/bg-worker/trigger", {"name": "metrics"}),
    ("POST", "/api/control/bg-worker/interval",
     {"name": "metrics", "interval_seconds": 60}),
    ("POST", "/api/hitl/12/correct", {"correction": "do it"}),
    ("POST", "/api/hitl/12/skip", {"reason": "not ours"}),
    ("POST", "/api/hitl/12/close", {"reason": "dup"}),
    ("POST", "/api/hitl/12/approve-memory", None),
    ("POST", "/api/hitl/12/approve-process", None),
    ("POST", "/api/human-input/12", {"answer": "yes"}),
    ("POST", "/api/request-changes",
     {"issue_number": 1, "feedback": "redo", "stage": "plan"}),
    ("POST", "/api/intent", {"text": "Port the CLI to Rust"}),
    ("POST", "/api/report", {"description": "broken"}),
    ("POST", "/api/epics/5/release", None),
    ("POST", "/api/crates", {"title": "c1"}),
    ("PATCH", "/api/crates/3", {"title": "c2"}),
    ("DELETE", "/api/crates/3", None),
    ("POST", "/api/crates/active", {"crate_number": 3}),
    ("POST", "/api/crates/advance", None),
    ("DELETE", "/api/sessions/acme-api-20260305T090000", None),
    ("POST", "/api/repos", {"slug": "acme/api"}),
    ("POST", "/api/repos/add", {"path": "/home/dev/src/x"}),
    ("POST", "/api/repos/pick-folder", None),
    ("DELETE", "/api/repos/api", None),
    ("POST", "/api/runtimes/acme-api/start", None),
    ("POST", "/api/runtimes/acme-api/stop", None),
    ("DELETE", "/api/runtimes/acme-api", None),
    ("PUT", "/api/control/config", {"max_workers": 3}),
]
SCOPES = ["repo=acme/api", "repo=acme-web", "repo=__all__", "",
          "repo=acme-nope"]


def refused_read_only(r):
    assert r.status == 403, r
    assert r.headers.get("content-type", "").startswith(
        "application/json"), r
    doc = r.json()
    assert isinstance(doc.get("error"), str), doc
    assert "read-only" in doc["error"].lower() \
        or "read only" in doc["error"].lower(), doc


def sup_mutations(env):
    return [q for q in list(env.sup.requests)
            if q.action in ("add_repo", "register_repo", "remove_repo")]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s or "no-repo")
@pytest.mark.parametrize("method, path, body", MUTATIONS,
                         ids=["%s %s" % (m, p) for m, p, _ in MUTATIONS])
def test_read_only_refuses_every_mutation(env, method, path, body, scope):
    mark = marker()
    q = "?%s&m=%s" % (scope, mark) if scope else "?m=" + mark
    before = len(sup_mutations(env))
    r = env.ro.request(method, path + q, body=body,
                       headers={"X-Test-Marker": mark})
    refused_read_only(r)
    assert not reached(env, mark)
    assert len(sup_mutations(env)) == before


def test_read_only_positive_control(env):
    """Without the directive the same requests do reach the repo (so the
    403s above are the directive's, and the marker check can see)."""
    for method, path, body in (("POST", "/api/report", {"d": 1}),
                               ("DELETE", "/api/runtimes/acme-api", None),
                               ("PUT", "/api/control/config", {})):
        mark = marker()
        r = env.ngx.request(method, path + "?repo=acme/api&m=" + mark,
                            body=body, headers={"X-Test-Marker": mark})
        assert r.status in (405, 501), r             # the fake's answer
        assert [(f.repo, q.method) for f, q in reached(env, mark)] == \
            [("acme/api", method)]


@pytest.mark.parametrize("headers, query", [
    ({"X-HTTP-Method-Override": "GET"}, ""),
    ({"X-HTTP-Method": "GET"}, ""),
    ({"X-Method-Override": "GET"}, ""),
    ({"X-HTTP-Method-Override": "HEAD", "X-Method-Override": "OPTIONS"},
     ""),
    ({}, "&_method=GET"),
    ({}, "&method=GET&_method=HEAD"),
])
def test_read_only_ignores_method_overrides(env, headers, query):
    for scope in ("repo=acme/api&", ""):
        mark = marker()
        h = dict(headers, **{"X-Test-Marker": mark})
        r = env.ro.post("/api/control/stop?%sm=%s%s" % (scope, mark, query),
                        body={}, headers=h)
        refused_read_only(r)
        assert not reached(env, mark)
    assert env.api.call(lambda: env.api.state.run_status) == "running"


@pytest.mark.parametrize("method", ["PROPPATCH", "MKCOL", "COPY", "MOVE",
                                    "LOCK", "UNLOCK", "PROPFIND", "PATCH",
                                    "FOO", "GETX", "POSTGET"])
def test_read_only_refuses_other_methods(env, method):
    mark = marker()
    r = one(raw(env.ro.port, method,
                "/api/control/status?repo=acme/api&m=%s" % mark,
                headers=[("X-Test-Marker", mark),
                         ("Content-Length", "0")]))
    assert r.status == 403 and is_module_json_error(r), r
    assert "read-only" in json.loads(r.body)["error"]
    assert not reached(env, mark)


def test_read_only_over_http10_chunked_and_keepalive(env):
    mark = marker()
    # HTTP/1.0
    r = one(raw(env.ro.port, "POST", "/api/control/stop?repo=acme/api&m="
                + mark, headers=[("Content-Length", "2")], body=b"{}",
                version="HTTP/1.0"))
    assert r.status == 403 and is_module_json_error(r), r
    # chunked, with a whole request as its body, then keepalive: a POST
    # with a smuggled request in its chunked body, a GET, a DELETE with
    # one in its body, a GET
    smuggled = (SMUGGLED % mark).encode()
    data = ("POST /api/control/stop?repo=acme/api&m=%s HTTP/1.1\r\n"
            "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n"
            % (mark, len(smuggled))).encode() + smuggled + b"\r\n0\r\n\r\n"
    data += ("GET /api/control/status?repo=acme/api&m=%s HTTP/1.1\r\n"
             "Host: x\r\n\r\n" % mark).encode()
    data += ("DELETE /api/sessions/x?repo=acme/api&m=%s HTTP/1.1\r\n"
             "Host: x\r\nContent-Length: %d\r\n\r\n"
             % (mark, len(smuggled))).encode() + smuggled
    data += ("GET /api/queue?repo=acme/web&m=%s HTTP/1.1\r\nHost: x\r\n"
             "Connection: close\r\n\r\n" % mark).encode()
    rs = raw_bytes(env.ro.port, data)
    assert [r.status for r in rs] == [403, 200, 403, 200], rs
    assert all(is_module_json_error(r) for r in rs if r.status == 403)
    got = sorted((f.repo, q.method, q.path) for f, q in reached(env, mark))
    assert got == [("acme/api", "GET", "/api/control/status"),
                   ("acme/web", "GET", "/api/queue")], got
    assert not smuggled_reached(env, mark)
    assert env.api.call(lambda: env.api.state.run_status) == "running"


def test_read_only_keeps_reads(env):
    ro = env.ro
    mark = marker()
    r = ro.get("/api/pipeline?m=" + mark, headers={"X-Test-Marker": mark})
    assert r.status == 200 and set(r.headers["x-hydra-repos"].split(
        ", ")) == {"acme-api", "acme-web"}
    assert sorted(f.repo for f, _ in reached(env, mark)) == \
        ["acme/api", "acme/web"]

    mark = marker()
    r = ro.get("/api/pipeline?repo=acme/api&m=" + mark,
               headers={"X-Test-Marker": mark})
    assert r.status == 200 and r.json() == env.api.view("/api/pipeline")[1]
    assert [(f.repo, q.method) for f, q in reached(env, mark)] == \
        [("acme/api", "GET")]

    mark = marker()        # HEAD of a view: the repos are asked GET
    r = ro.request("HEAD", "/api/queue?m=" + mark,
                   headers={"X-Test-Marker": mark})
    assert r.status == 200 and r.body == b""
    assert sorted((f.repo, q.method) for f, q in reached(env, mark)) == \
        [("acme/api", "GET"), ("acme/web", "GET")]

    mark = marker()        # HEAD passed through: the repo answers it
    r = ro.request("HEAD", "/api/queue?repo=acme-web&m=" + mark,
                   headers={"X-Test-Marker": mark})
    assert r.status < 500 and r.body == b""
    assert [(f.repo, q.method) for f, q in reached(env, mark)] == \
        [("acme/web", "HEAD")]

    mark = marker()        # OPTIONS goes through: the repo answers it
    r = ro.request("OPTIONS", "/api/control/start?repo=acme/api&m=" + mark,
                   headers={"X-Test-Marker": mark})
    assert r.status == 405 and r.json() == {"detail": "Method Not Allowed"}
    assert [(f.repo, q.method) for f, q in reached(env, mark)] == \
        [("acme/api", "OPTIONS")]

    r = ro.get("/api/repos")
    assert r.status == 200 and len(r.json()["repos"]) == 2
    ro.assert_log_clean()


def test_read_only_keeps_the_event_streams(env):
    ro = env.ro
    ev_type = "ro_%s" % uuid.uuid4().hex[:8]

    async def run():
        all_url = "ws://127.0.0.1:%d/ws?types=%s" % (ro.port, ev_type)
        one_url = "ws://127.0.0.1:%d/ws?repo=acme-api" % ro.port
        async with websockets.connect(all_url) as all_ws, \
                websockets.connect(one_url, max_size=None) as one_ws:
            n = len(env.api.history())
            for _ in range(n):                   # the repo's own replay
                await asyncio.wait_for(one_ws.recv(), 5)
            ev = env.api.emit(ev_type, {"ro": True})
            got_all = json.loads(await asyncio.wait_for(all_ws.recv(), 10))
            got_one = json.loads(await asyncio.wait_for(one_ws.recv(), 10))
            return ev, got_all, got_one

    ev, got_all, got_one = asyncio.run(run())
    assert got_all["type"] == ev_type and got_all["source_id"] == ev["id"]
    assert got_all["repo"] == "acme-api"
    # the repo's own frame, its id untouched
    assert (got_one["id"], got_one["type"], got_one["data"]) == \
        (ev["id"], ev["type"], ev["data"])


def test_read_only_contexts(fleet, nginx):
    """On at http or server level, off again in a location; with a
    default repo a mutation without ?repo= is refused too."""
    api = fleet.repo("acme/api")
    a = nginx(repos=[("acme/api", api)],
              http_extra="hydra_read_only on;",
              server_extra="location /api/control/ {\n"
                           "    hydra_read_only off;\n    hydra_api;\n}")
    b = nginx(repos=[("acme/api", api)],
              server_extra="hydra_read_only on;\n"
                           "hydra_default_repo acme/api;")
    wait_up(a, [api])
    wait_up(b, [api])

    def hits(mark):
        return [q for q in list(api.requests) if mark in q.query_string]

    mark = marker()
    r = a.post("/api/control/start?repo=acme/api&m=" + mark)
    assert (r.status, r.json()) == (409, {"error": "already running"})
    assert len(hits(mark)) == 1
    mark = marker()
    refused_read_only(a.post("/api/intent?repo=acme/api&m=" + mark,
                             body={"text": "x"}))
    assert not hits(mark)

    mark = marker()
    refused_read_only(b.post("/api/control/start?m=" + mark))
    assert not hits(mark)
    mark = marker()
    r = b.get("/api/control/status?m=" + mark)  # the default repo's
    assert r.status == 200 and r.json()["config"]["repo"] == "acme/api"
    assert len(hits(mark)) == 1


@pytest.mark.parametrize("line, ok", [
    ("hydra_read_only on;", True),
    ("hydra_read_only off;", True),
    ("hydra_read_only yes;", False),
    ("hydra_read_only;", False),
    ("hydra_read_only on off;", False),
])
def test_read_only_config(nginx, line, ok):
    ngx = nginx(start=False, repos=[("acme/quiet", "127.0.0.1:9")],
                probe=None, server_extra=line)
    good, out = ngx.test_config()
    assert good == ok, out
    if not ok:
        assert "hydra_read_only" in out, out


# ---------------------------------------------------------------------------
# the end: nobody reached the canary, the logs are clean


def test_canary_never_reached_and_logs_clean(env):
    time.sleep(0.3)
    assert env.canary.hits == []
    env.ngx.assert_log_clean()
    env.ro.assert_log_clean()
    for ngx in (env.ngx, env.ro):
        assert not ngx.log_lines("[error]", "hydra"), \
            ngx.log_lines("[error]", "hydra")[:5]
