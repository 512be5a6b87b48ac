"""Shared fixtures of the integration suite.

    fleet         the in-process fakes (FakesScope): fleet.repo(...),
                  fleet.supervisor(...), fleet.run(coro); stopped after the
                  test
    nginx         factory: nginx(supervisor=sup, repos=[...], ...) returns a
                  started Nginx (t/lib/hydra_nginx.py) in its own prefix on
                  a free port; stopped after the test, and the test fails if
                  its error.log has [alert]/[emerg]/[crit], "exited on
                  signal" or sanitizer lines; under valgrind
                  (HYDRA_VALGRIND=1) also on any memory error or definite
                  leak in its valgrind logs
    fleet_module, nginx_module   the same, shared by all tests of a file
    wait_for      poll a function until it returns a truthy value

Run: cd t && /usr/bin/python3 -m pytest -q -p no:cacheprovider
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakes.loop import FakesLoop                      # noqa: E402
from lib import hydra_nginx                           # noqa: E402
from lib.hydra_nginx import Nginx, NginxError         # noqa: E402


@pytest.fixture(scope="session")
def fakes_loop():
    loop = FakesLoop()
    yield loop
    loop.close()


@pytest.fixture
def fleet(fakes_loop):
    scope = fakes_loop.scope()
    yield scope
    scope.close()


@pytest.fixture(scope="module")
def fleet_module(fakes_loop):
    scope = fakes_loop.scope()
    yield scope
    scope.close()


@pytest.fixture(scope="session")
def module_so():
    path = hydra_nginx.module_path()
    if not path.exists():
        pytest.skip("module not built: %s (make build)" % path)
    return path


class NginxFactory:
    def __init__(self, base):
        self.base = base
        self.instances = []

    def __call__(self, start=True, **conf_kwargs):
        prefix = self.base / ("nginx%d" % len(self.instances))
        last = None
        for _ in range(3):                 # a free port can be stolen
            ngx = Nginx.create(prefix, **conf_kwargs)
            self.instances.append(ngx)
            if not start:
                return ngx
            try:
                return ngx.start()
            except NginxError as exc:
                last = exc
                if "Address already in use" not in str(exc):
                    raise
                self.instances.remove(ngx)
        raise last

    def finish(self):
        problems = []
        for ngx in self.instances:
            ngx.stop()
            bad = ngx.bad_log_lines()
            if bad:
                problems.append("%s:\n  %s" % (ngx.error_log_path,
                                               "\n  ".join(bad[:40])))
            if hydra_nginx.VALGRIND:
                problems.extend(_valgrind_check(ngx.valgrind_logs()))
        self.instances = []
        return problems


# valgrind logs already checked (HYDRA_VALGRIND=1)
_valgrind_checked = set()


def _valgrind_check(logs):
    problems = []
    seen = set()
    for log in logs:
        if log not in _valgrind_checked:
            _valgrind_checked.add(log)
            report = hydra_nginx.valgrind_report(log, seen)
            if report:
                problems.append("valgrind " + report)
    return problems


def _nginx_fixture(base):
    factory = NginxFactory(base)
    yield factory
    problems = factory.finish()
    if problems:
        pytest.fail("nginx logged fatal lines:\n" + "\n".join(problems),
                    pytrace=False)


if hydra_nginx.VALGRIND:
    @pytest.fixture(autouse=True)
    def _valgrind_other_logs(request):
        """The valgrind logs of an nginx that no factory started
        (t/bin/run.py's, say), if the test has a tmp_path."""
        yield
        tmp = request.node.funcargs.get("tmp_path")
        if tmp is not None:
            problems = _valgrind_check(sorted(tmp.glob("**/valgrind.*.log")))
            if problems:
                pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def nginx(tmp_path, module_so):
    yield from _nginx_fixture(tmp_path)


@pytest.fixture(scope="module")
def nginx_module(tmp_path_factory, module_so):
    yield from _nginx_fixture(tmp_path_factory.mktemp("nginx"))


@pytest.fixture(scope="session")
def wait_for():
    return hydra_nginx.wait_for
