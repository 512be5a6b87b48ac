"""Run the fakes on an asyncio loop in a background thread.

Synchronous pytest code creates fakes, flips their switches and reads
`fake.requests` while nginx talks to them over real sockets:

    loop = FakesLoop()
    scope = loop.scope()
    sup = scope.supervisor()
    api = scope.repo("acme/api", supervisor=sup)
    sup.add(api)
    api.set_mode("down")             # waits until it is in effect
    scope.run(api.restart())         # any coroutine, run on the loop
    scope.close()                    # stops every fake of the scope
    loop.close()
"""

import asyncio
import threading

try:
    from .repo import FakeRepo
    from .supervisor import FakeSupervisor
except ImportError:                                  # run as a script
    from repo import FakeRepo
    from supervisor import FakeSupervisor


class FakesLoop:
    """An event loop running forever in a daemon thread."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._main, name="fakes-loop",
                                       daemon=True)
        self.thread.start()
        self._ready.wait()

    def _main(self):
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def run(self, coro, timeout=30):
        """Run a coroutine on the loop and return its result."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def call(self, fn, *args, **kwargs):
        """Run a plain function on the loop thread, return its result."""
        async def wrapper():
            return fn(*args, **kwargs)
        return self.run(wrapper())

    def scope(self):
        return FakesScope(self)

    def close(self):
        if self.loop.is_closed():
            return

        async def cancel_all():
            tasks = [t for t in asyncio.all_tasks()
                     if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            self.run(cancel_all(), timeout=10)
        except Exception:                            # noqa: BLE001
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class FakesScope:
    """Creates started fakes on a FakesLoop and stops them on close()."""

    def __init__(self, fakes_loop):
        self.fakes_loop = fakes_loop
        self.loop = fakes_loop.loop
        self.fakes = []

    def run(self, coro, timeout=30):
        return self.fakes_loop.run(coro, timeout)

    def call(self, fn, *args, **kwargs):
        return self.fakes_loop.call(fn, *args, **kwargs)

    def repo(self, repo="acme/api", **kwargs):
        """A started FakeRepo (see FakeRepo for the keyword arguments)."""
        fake = FakeRepo(repo, **kwargs)
        self.run(fake.start())
        self.fakes.append(fake)
        return fake

    def supervisor(self, **kwargs):
        sup = FakeSupervisor(**kwargs)
        self.run(sup.start())
        self.fakes.append(sup)
        return sup

    def restart(self, fake, new_port=True):
        """Restart a FakeRepo (new OS port by default); returns the port."""
        return self.run(fake.restart(new_port=new_port))

    def close(self):
        errors = []
        for fake in reversed(self.fakes):
            try:
                self.run(fake.stop(), timeout=10)
            except Exception as exc:                 # noqa: BLE001
                errors.append(exc)
        self.fakes = []
        if errors:
            raise errors[0]
