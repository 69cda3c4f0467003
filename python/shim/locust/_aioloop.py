"""rlocust internals: asyncio's event loop as a view of the hub's loop (imported on the first coroutine only).

There is one asyncio loop in the process and it runs in one greenlet. It never blocks in a poll of its own: its
selector hands every socket it watches to the hub's loop (a gevent io watcher per file descriptor), and when it has
nothing to run it parks its greenlet on the hub, to be switched back in by a watcher, a timer for its next
scheduled callback, or a `kick` when another greenlet (a user starting a task, a finished client call) gives it
work. Users' greenlets, the Rust engine's completions and asyncio's callbacks therefore share the hub's one wait,
and neither side can starve the other: the loop greenlet yields to the hub at least once per switch interval
(5 ms) while it has callbacks ready, as `_hub.yield_now` does for greenlets.

asyncio's running loop is kept per thread, and greenlets share the thread: the loop is the running one only
while its greenlet runs (it hands back whatever was running, usually none, each time it parks).

A user's own coroutine (its task, on_start, on_stop) is stepped in the user's greenlet, not here (`locust._aio`),
with the user's one task current, which this loop never steps (`call_soon` does not schedule its first step).
"""

import asyncio
import selectors
import sys
from asyncio import events as _events
from time import perf_counter

import gevent
import greenlet

_aio = None  # the users' side (`locust._aio`, handed to `start`): told when the loop runs or waits; the task being made

_BUDGET = sys.getswitchinterval()


class HubSelector(selectors._BaseSelectorImpl):
    """A selector whose `select` waits on the hub: one io watcher per registered file descriptor, stopped once it
    fires (the loop reads the event before the watcher is started again, so a readable socket the loop has not
    read yet does not wake the hub on every pass)."""

    def __init__(self):
        super().__init__()
        self._hub = gevent.get_hub()
        self._watchers = {}  # fd -> io watcher
        self._fired = {}  # fd -> EVENT_READ | EVENT_WRITE seen since the last select
        self._rearm = []  # fds whose watcher fired and waits to be started again
        self._loop = None  # the asyncio loop (set by it)
        self._greenlet = None  # the loop's greenlet (set when it starts)
        self.parked = False  # the loop's greenlet waits in select
        self._kicked = False
        self._later = None  # a 0 s timer: the hub's next pass, after it polled
        self._since = perf_counter()  # when the loop's greenlet last let the hub run
        self._outer = None  # the running loop the thread had when this greenlet was switched in

    # ---- registration -------------------------------------------------------------------------------------

    def register(self, fileobj, events, data=None):
        key = super().register(fileobj, events, data)
        try:
            watcher = self._hub.loop.io(key.fd, events)  # gevent's READ/WRITE bits are the selectors' own
        except OSError as e:
            super().unregister(fileobj)
            raise ValueError("Invalid file descriptor") from e
        watcher.start(self._on_io, key.fd, pass_events=True)
        self._watchers[key.fd] = watcher
        return key

    def unregister(self, fileobj):
        key = super().unregister(fileobj)
        watcher = self._watchers.pop(key.fd, None)
        if watcher is not None:
            watcher.stop()
            watcher.close()
        self._fired.pop(key.fd, None)
        return key

    def close(self):
        for watcher in self._watchers.values():
            watcher.stop()
            watcher.close()
        self._watchers.clear()
        self._fired.clear()
        super().close()

    # ---- wake-ups (from the hub greenlet) -----------------------------------------------------------------------

    def _on_io(self, events, fd):
        self._fired[fd] = self._fired.get(fd, 0) | events
        watcher = self._watchers.get(fd)
        if watcher is not None:
            watcher.stop()
        self._resume()

    def _resume(self, *_):
        self._kicked = False
        if self.parked:
            self._greenlet.switch()

    def kick(self):
        """Have the hub switch the parked loop back in at its next callback (from any greenlet but the hub's
        own callbacks need not care: this only queues a callback)."""
        if not self._kicked:
            self._kicked = True
            self._hub.loop.run_callback(self._resume)

    # ---- the wait -------------------------------------------------------------------------------------------

    def select(self, timeout=None):
        if self._rearm:
            for fd in self._rearm:
                watcher = self._watchers.get(fd)
                if watcher is not None:
                    watcher.start(self._on_io, fd, pass_events=True)
            self._rearm.clear()
        if not self._fired:
            if timeout is None or timeout > 0:
                self._park(timeout)
            elif perf_counter() - self._since >= _BUDGET:
                self._park(0)  # callbacks ready for a while: let the hub poll and run its greenlets once
        elif perf_counter() - self._since >= _BUDGET:
            self._park(0)
        if not self._fired:
            return []
        ready = []
        get_key = self._fd_to_key.get
        for fd, mask in self._fired.items():
            key = get_key(fd)
            if key is not None:
                ready.append((key, mask & key.events))
                self._rearm.append(fd)
        self._fired.clear()
        return ready

    def _park(self, timeout):
        timer = None
        if timeout is not None:
            if timeout <= 0:
                timer = self._later
                if timer is None:
                    timer = self._later = self._hub.loop.timer(0.0)
            else:
                timer = self._hub.loop.timer(timeout)
            timer.start(self._resume)
        self.parked = True
        loop = self._loop
        # the thread's running loop is asyncio's per-thread state: hand back what the thread had (another
        # greenlet's asyncio.run, or none) while parked
        _events._set_running_loop(_aio.foreign(self._outer))
        _aio.loop_waits()
        try:
            self._hub.switch()
        finally:
            self.parked = False
            self._outer = _events._get_running_loop()
            _events._set_running_loop(loop)
            _aio.loop_runs(self._greenlet)
            self._since = perf_counter()
            if timer is not None:
                timer.stop()
                if timer is not self._later:
                    timer.close()


class HubLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop over `HubSelector`: work scheduled from outside its greenlet (a completion, a task a
    user starts) wakes it."""

    def __init__(self):
        selector = HubSelector()
        super().__init__(selector)
        selector._loop = self
        self._hub_selector = selector

    def call_soon(self, callback, *args, context=None):
        if _aio.creating:
            return None  # the first step of a user's task (`locust._aio` steps the user's coroutines itself)
        handle = super().call_soon(callback, *args, context=context)
        if self._hub_selector.parked:
            self._hub_selector.kick()
        return handle

    def call_at(self, when, callback, *args, context=None):
        handle = super().call_at(when, callback, *args, context=context)
        if self._hub_selector.parked:
            self._hub_selector.kick()  # (the new time may come before the one it waits for)
        return handle

    def _check_thread(self):
        # Debug mode's check that a call comes from the loop's thread: with gevent's threading patch a "thread" is a
        # greenlet, and greenlets other than the loop's schedule work on it by design (all on one OS thread).
        pass


def start(task_factory, on_escape, users_side):
    """Make the loop and its greenlet (started at the hub's next callback); returns (loop, greenlet). `users_side` is
    `locust._aio` (handed in, not imported: it imports this module)."""
    global _aio
    _aio = users_side
    loop = HubLoop()
    loop.set_task_factory(task_factory)
    hub = gevent.get_hub()

    def run():
        selector = loop._hub_selector
        selector._outer = _events._get_running_loop()
        _aio.loop_runs(g)
        _events._set_running_loop(None)
        while True:
            try:
                loop.run_forever()
            except BaseException as e:  # noqa: BLE001 (asyncio re-raises a task's SystemExit/KeyboardInterrupt here)
                on_escape(e)
                # one turn of the hub before the loop goes on (as a wait of the loop's own: `switch_out` leaves it)
                hub.loop.run_callback(g.switch)
                _aio.loop_waits()
                selector.parked = True
                try:
                    hub.switch()
                finally:
                    selector.parked = False
                _events._set_running_loop(None)
                _aio.loop_runs(g)

    g = greenlet.greenlet(run, parent=hub)
    g.switch_out = _aio.switch_out  # (gevent calls it before this greenlet waits on the hub)
    loop._hub_selector._greenlet = g
    hub.loop.run_callback(g.switch)
    return loop, g
