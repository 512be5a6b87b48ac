#!/usr/bin/python3
"""A demo HydraFlow fleet: the fake supervisor plus three fake repos.

    /usr/bin/python3 t/fakes/fleet.py [--port N] [--interval 1.0]

Repos: `acme/api` and `acme/web` (supervisor slugs in owner/name form) and
`tools` (a directory-name slug, as `hf run` registers it; its dashboard
says `config.repo = acme/tools`).  Cards move and events flow about every
`--interval` seconds.  Prints `SUPERVISOR=127.0.0.1:<port>` then one
`REPO <slug>=127.0.0.1:<port>` line per repo, and runs until SIGTERM or
SIGINT.
"""

import argparse
import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from fakes.repo import FakeRepo                       # noqa: E402
from fakes.supervisor import FakeSupervisor           # noqa: E402


DEMO = (
    # (owner/name, supervisor slug, checkout path)
    ("acme/api", "acme/api", "/home/dev/src/api"),
    ("acme/web", "acme/web", "/home/dev/src/web"),
    ("acme/tools", "tools", "/home/dev/src/tools"),
)


async def main(args):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    sup = FakeSupervisor(port=args.port)
    await sup.start()
    repos = []
    for name, slug, path in DEMO:
        repo = FakeRepo(name, supervisor=sup, tick_interval=args.interval)
        await repo.start()
        sup.add(repo, slug=slug, path=path)
        repos.append((slug, repo))

    print("SUPERVISOR=%s" % sup.address, flush=True)
    for slug, repo in repos:
        print("REPO %s=%s" % (slug, repo.address), flush=True)

    await stop.wait()
    for _, repo in repos:
        await repo.stop()
    await sup.stop()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0,
                   help="supervisor port (default: OS-chosen)")
    p.add_argument("--interval", type=float, default=1.0,
                   help="seconds between simulation steps (default 1)")
    return p.parse_args(argv)


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args()))
    except KeyboardInterrupt:
        pass
