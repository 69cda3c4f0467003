"""rlocust internals: `async def` tasks and awaitable client calls, beside Locust's greenlets (docs/async.md).

- A task, `on_start` or `on_stop` (of a User or a TaskSet) that returns a coroutine has it run as an asyncio Task
  of the process's one loop (`locust._aioloop`, imported with the first coroutine), whose steps run in the user's
  own greenlet: the loop hands them to the task's driver (`_Driver`), which the greenlet runs until the task is
  done, parked on the hub in between. Weights, tags, wait_time, pacing, `interrupt()`, StopUser, the exceptions
  table and a task that never yields are therefore as for a sync task. A kill of the greenlet (a stop, `-t`)
  cancels the Task (CancelledError at its await) and lets it unwind before the user's on_stop runs.
- A client call made in coroutine code returns a `Call` to await (`await`, `async with`). Awaited by a user's own
  coroutine, the call is made right there, as the sync call (the greenlet parks on the engine's ticket, the loop is
  not involved): it costs what a sync call costs. Awaited anywhere else (a task the coroutine started, e.g. by
  `asyncio.gather`; code running in the loop's greenlet), it runs in a greenlet of its own (`offload`) while the
  loop goes on. Either way both clients' every feature gives the same Response and the same row, and a cancelled
  call is abandoned as a killed user's is: nothing is recorded for it.
- asyncio tasks a user's coroutine starts run in the loop's greenlet and belong to that user: those left running
  when its task ends are cancelled then (as `asyncio.run` cancels what its main coroutine left), those started by
  `on_start` when the user stops.
"""

import contextvars
import sys
from collections.abc import Coroutine
from types import CoroutineType as _CoroutineType

import greenlet
from greenlet import GreenletExit

_getcurrent = greenlet.getcurrent
_greenlet = greenlet.greenlet

loop = None  # the asyncio loop, once a coroutine has run
loop_greenlet = None  # the greenlet it runs in
inside = None  # the greenlet running coroutine code now (the loop's, or a user's stepping its own coroutine, not
# inside a call it makes): a client call made there returns a Call. Set by that greenlet as it starts running such
# code and cleared as it stops or waits (`switch_out` for a wait inside a step), so it is exact. Written here only:
# the loop's greenlet says so through `loop_runs`/`loop_waits`.
creating = None  # the driver of the task being made (its first step is handed over before the task knows it)
_stepping = {}  # user greenlet -> its driver, while it runs a step of its coroutine (not inside a call it makes)
_asyncio = None
_hub = None
_DrivenTask = None
_SCOPES = contextvars.ContextVar("rlocust_user_tasks")


class _Interrupted(BaseException):
    """Thrown into a user greenlet parked in a call its coroutine awaits, when the coroutine's task is cancelled."""


def _ensure():
    global loop, loop_greenlet, _asyncio, _hub, _DrivenTask, _enter_task, _leave_task, _running, _set_running
    if loop is None:
        import asyncio
        from asyncio import events, tasks

        import gevent

        from locust import _aioloop

        class DrivenTask(asyncio.Task):
            """A user's own coroutine: its steps run in the user's greenlet (the loop hands them to `driver`)."""

            def cancel(self, msg=None):
                driver = self._rlocust_driver
                if driver.inline is not None:  # parked in a call: end the call where it waits
                    _hub.loop.run_callback(_interrupt, driver, driver.inline)
                return super().cancel(msg)

        _asyncio = asyncio
        _DrivenTask = DrivenTask
        _enter_task, _leave_task = tasks._enter_task, tasks._leave_task
        _running, _set_running = events._get_running_loop, events._set_running_loop
        _hub = gevent.get_hub()
        loop, loop_greenlet = _aioloop.start(_task_factory, _escaped, sys.modules[__name__])
    return loop


def loop_runs(g):
    """The loop's greenlet `g` runs coroutine code from now on (it starts, or is back from a wait of its own): a
    client call made there returns a Call. Called by `_aioloop`, which owns no state of this module."""
    global inside
    inside = g


def loop_waits():
    """The loop's greenlet waits on the hub from now on (it parks, or gives the hub a turn): no coroutine code runs
    until `loop_runs`. Called by `_aioloop`."""
    global inside
    inside = None


def _escaped(error):
    """An exception that left the loop (asyncio lets a SystemExit or KeyboardInterrupt through after storing it in its
    task, which raises it to whoever awaits it); the loop goes on after one turn of the hub."""


# ---- greenlets that wait inside a step ------------------------------------------------------------------------------
#
# asyncio keeps the running loop and the current task per thread, and a step of a task runs with both set. A greenlet
# that waits on the hub inside a step (a blocking call in coroutine code; a library starting a thread pool's worker,
# which waits for it to start) would leave them set for every other greenlet, and the next task to step would fail
# ("Cannot enter into task ... while another task ... is being executed"). gevent calls a greenlet's `switch_out`
# before it waits: the stepping greenlets' and the loop's is `switch_out` below, which sets both aside until a
# greenlet tracer sees that greenlet switched back in (the tracer runs only while such a wait lasts).

_suspended = {}  # greenlet -> the task set aside while it waits inside that task's step
_tracer = None  # the tracer that was installed before ours (ours is installed while _suspended is not empty)
_tracing = False


def switch_out():
    global _tracer, _tracing, inside
    g = _getcurrent()
    if g is loop_greenlet and loop._hub_selector.parked:
        return  # (the loop waiting for work: it has set everything aside itself)
    lp = loop
    task = _asyncio.current_task(lp)
    if task is not None:
        _leave_task(lp, task)
    _suspended[g] = task
    driver = _stepping.get(g)
    _set_running(driver.outer if driver is not None else None)
    inside = None
    if not _tracing:
        _tracing = True
        _tracer = greenlet.settrace(_trace)


def _trace(event, args):
    global inside, _tracing
    if _tracer is not None:
        _tracer(event, args)
    if event == "switch" or event == "throw":
        target = args[1]
        if target in _suspended:
            task = _suspended.pop(target)
            _set_running(loop)
            if task is not None:
                _enter_task(loop, task)
            inside = target
            if not _suspended:
                _tracing = False
                greenlet.settrace(_tracer)


def foreign(outer):
    """What the thread's running loop goes back to when rlocust's leaves it: the loop of another greenlet's
    asyncio.run() that was running when rlocust's took over, if it still runs (else none)."""
    if outer is None or outer is loop or not outer.is_running():
        return None
    return outer


def _interrupt(driver, seq):
    if driver.inline == seq:  # (still in the same call)
        driver.greenlet.throw(_Interrupted)


# ---- a user's coroutines -----------------------------------------------------------------------------------------


class _Driver:
    """Runs the steps of a user's own coroutine in the user's greenlet: the loop hands them over (`hand`, from any
    greenlet), the greenlet runs them and parks on the hub when there are none (`_drive`)."""

    __slots__ = ("greenlet", "inline", "killed", "outer", "parked", "seq", "steps", "task", "woken")

    def __init__(self, g):
        self.greenlet = g
        self.steps = []
        self.parked = False
        self.woken = False
        self.inline = None  # the number of the call the coroutine is parked in, if it is
        self.seq = 0
        self.killed = None  # the exception that killed the greenlet while its coroutine ran
        self.task = None
        self.outer = None  # the thread's running loop when the step began (another greenlet's asyncio.run, or none)

    def hand(self, callback, args, context):
        self.steps.append((callback, args, context))
        if self.parked and not self.woken:
            self.woken = True
            _hub.loop.run_callback(self._wake)

    def _wake(self):
        self.woken = False
        if self.parked:
            self.greenlet.switch()


class _Scopes:
    """A user's coroutine state: the context its coroutines run in (one for the user's life, as its greenlet has
    one), its driver, and the asyncio tasks its coroutines started that are still running: `kept` (started by
    on_start, cancelled when the user stops) and `task` (started by the task running now, cancelled when it ends)."""

    __slots__ = ("context", "driver", "keeping", "kept", "task", "user")

    def __init__(self, g, user=None):
        self.user = user  # (whose coroutines these are: an httpx client made in them sends as this user, `_httpx`)
        self.kept = self.task = None  # (made when a first task is started: most users start none)
        self.keeping = False  # on_start runs: the tasks it starts go to `kept`
        self.driver = _Driver(g)
        self.context = contextvars.copy_context()
        self.context.run(_SCOPES.set, self)


def _task_factory(lp, coro, **kwargs):
    """The loop's task factory: a Task started inside a user's coroutine joins that user's current scope."""
    task = _asyncio.Task(coro, loop=lp, **kwargs)
    context = kwargs.get("context")
    scopes = context.get(_SCOPES) if context is not None else _SCOPES.get(None)
    if scopes is not None:
        if scopes.keeping:
            bucket = scopes.kept = scopes.kept or set()
        else:
            bucket = scopes.task = scopes.task or set()
        bucket.add(task)
        task.add_done_callback(bucket.discard)
    return task


def run(user, coro, keep=False):
    """Run `coro` (what a task, on_start or on_stop of `user` returned) as an asyncio Task whose steps run here, in
    the user's greenlet; returns its result or raises its exception. `keep`: the tasks it starts live until the
    user stops (on_start)."""
    if type(coro) is not _CoroutineType:
        if not hasattr(coro, "__await__"):
            return coro
        coro = _awaiting(coro)
    lp = loop or _ensure()
    me = _getcurrent()
    if me is loop_greenlet or me in _stepping:
        raise RuntimeError("a task's coroutine cannot be run from inside another coroutine: await it")
    d = user.__dict__
    scopes = d.get("_rlocust_aio")
    if scopes is None or scopes.driver.greenlet is not me:
        scopes = d["_rlocust_aio"] = _Scopes(me, user)
    driver = scopes.driver
    scopes.keeping = keep
    driver.killed = None
    global creating
    creating = driver
    try:
        task = _DrivenTask(coro, loop=lp, context=scopes.context)
    finally:
        creating = None
    task._rlocust_driver = driver
    driver.task = task
    try:
        _drive(driver, task, lp)
    finally:
        driver.task = None
        scopes.keeping = False
        if not keep and scopes.task:
            _cancel_all(scopes.task)
    if driver.killed is not None:
        if not task.cancelled():
            task.exception()  # (retrieved: the kill is what the user reports, not asyncio's "never retrieved")
        raise driver.killed
    return task.result()


def _drive(driver, task, lp):
    """Run the task's steps as the loop hands them over, parked on the hub in between, until it is done. A kill (a
    stop, -t; a gevent.Timeout) while it waits cancels it: the coroutine gets CancelledError at its await and
    unwinds here; a second one while it unwinds leaves it."""
    global inside
    steps = driver.steps
    switch = _hub.switch
    me = driver.greenlet
    while True:
        while steps:
            callback, args, context = steps.pop(0)
            outer = _running()
            if outer is not None:
                outer = foreign(outer)
            driver.outer = outer
            _set_running(lp)
            inside = me
            _stepping[me] = driver
            me.switch_out = switch_out
            try:
                if context is None:
                    callback(*args)
                else:
                    context.run(callback, *args)
            finally:
                me.switch_out = None
                _stepping.pop(me, None)
                inside = None
                _set_running(outer)
        if task.done():
            return
        driver.parked = True
        try:
            switch()
        except BaseException as e:
            if driver.killed is not None:
                raise
            driver.killed = e
            task.cancel()
        finally:
            driver.parked = False


async def _awaiting(awaitable):
    return await awaitable


def _value(value):
    """An await iterator that is done, with `value`."""
    return value
    yield  # noqa: RET503 (a generator)


def _pending(future):
    """An await iterator of `future`."""
    return (yield from future)


class _Awaiting:
    """An awaitable whose await iterator is `it`."""

    __slots__ = ("_it",)

    def __init__(self, it):
        self._it = it

    def __await__(self):
        return self._it


def _cancel_all(tasks):
    if not tasks:
        return
    for t in list(tasks):
        t.cancel()
    tasks.clear()


def user_stopped(user):
    """The user's greenlet ends: cancel the tasks its on_start left running (and any others still running)."""
    scopes = user.__dict__.get("_rlocust_aio")
    if scopes is not None:
        _cancel_all(scopes.kept)
        _cancel_all(scopes.task)


# ---- client calls inside coroutines ------------------------------------------------------------------------------


def awaitable(method):
    """Wrap a client method (`rest`, `rest_`): called from coroutine code it returns a `Call` to await instead of
    waiting; called anywhere else it is the method itself. (The clients' own methods check `inside` inline: a
    wrapper's frame cost a sync call 0.28 µs.)"""

    def call(self, *args, **kwargs):
        if _getcurrent() is not inside:
            return method(self, *args, **kwargs)
        return Call(method, self, args, kwargs)

    call.__name__ = method.__name__
    call.__qualname__ = method.__qualname__
    call.__doc__ = method.__doc__
    call.__wrapped__ = method
    return call


class Call(Coroutine):
    """A client call made inside a coroutine: a coroutine (so `asyncio.create_task`, `TaskGroup.create_task` and
    `gather` take it) of what the call returns (a Response, or with catch_response=True the context manager), and an
    async context manager that enters that (a catch_response block, a `rest()` block). Nothing is sent before it
    is awaited, as with any coroutine."""

    __slots__ = ("_args", "_cm", "_it", "_kwargs", "_method", "_self", "_used")

    def __init__(self, method, owner, args, kwargs):
        self._method = method
        self._self = owner
        self._args = args
        self._kwargs = kwargs
        self._cm = None
        self._it = None
        self._used = False

    def _call(self):
        return self._method(self._self, *self._args, **self._kwargs)

    def __await__(self):
        if self._used:
            raise RuntimeError("cannot reuse already awaited coroutine")
        self._used = True
        driver = _stepping.get(_getcurrent())
        if driver is not None:
            self._it = it = self._inline(driver, False)
        else:
            self._it = it = offload(self._call).__await__()
        return it

    def _inline(self, driver, enter):
        """The call made here and now, by the user greenlet running its coroutine's step: the greenlet parks on the
        engine's ticket as in a sync call (the task is not the loop's current one meanwhile, and the loop is not
        running: other greenlets may step theirs). Returns the await's iterator, already finished with the call's
        value (made outside it: a parked user keeps one interpreter frame less on its stack). A cancel of the task
        (asyncio.timeout, a TaskGroup) or a kill of the greenlet ends the call where it waits (abandoned) and is
        delivered as CancelledError at this await, by the task itself."""
        global inside
        me = driver.greenlet
        task = driver.task
        lp = loop
        driver.seq += 1
        driver.inline = driver.seq
        inside = None
        del _stepping[me]
        me.switch_out = None
        _leave_task(lp, task)
        _set_running(driver.outer)
        try:
            if enter:
                return _value(self._enter())
            return _value(self._method(self._self, *self._args, **self._kwargs))
        except _Interrupted:
            pass  # the task was cancelled; its cancel is delivered below
        except GreenletExit as e:
            driver.inline = None
            driver.killed = e  # a stop: the coroutine unwinds from here, then the user exits
            task.cancel()
        finally:
            driver.inline = None
            _set_running(lp)
            _enter_task(lp, task)
            _stepping[me] = driver
            me.switch_out = switch_out
            inside = me
        return _pending(lp.create_future())  # the task cancels it at once (its cancel is pending)

    def send(self, value):
        it = self._it or self.__await__()
        return it.send(value)

    def throw(self, typ, val=None, tb=None):
        it = self._it or self.__await__()
        return it.throw(typ, val, tb)

    def close(self):
        self._used = True
        if self._it is not None:
            self._it.close()

    def _enter(self):
        cm = self._call()
        enter = getattr(type(cm), "__enter__", None)
        if enter is None:
            raise TypeError(f"{type(cm).__name__!r} object does not support the asynchronous context manager protocol")
        self._cm = cm
        return enter(cm)

    def __aenter__(self):
        self._used = True
        driver = _stepping.get(_getcurrent())
        if driver is not None:
            return _Awaiting(self._inline(driver, True))
        return offload(self._enter)

    async def __aexit__(self, exc_type, exc, tb):
        cm = self._cm
        return type(cm).__exit__(cm, exc_type, exc, tb)

    def _what(self):
        return f"{type(self._self).__name__}.{self._method.__name__}()"

    def __enter__(self):
        raise TypeError(f"inside an async task, {self._what()} is awaitable: write `async with`, not `with`")

    def __exit__(self, *exc):
        return False

    def __getattr__(self, name):
        raise AttributeError(
            f"inside an async task, {self._what()} returns a coroutine, which has no {name!r}: "
            "write `await self.client...`"
        )



class offload:
    """Await `function(*args)`, a sync call that may wait on the hub (a request, a streamed body's next piece), run
    in a greenlet of its own so that the loop goes on meanwhile. Cancelling the await kills that greenlet where it
    waits (a request is then abandoned, as a killed user's is)."""

    __slots__ = ("_args", "_function")

    def __init__(self, function, *args):
        self._function = function
        self._args = args

    def __await__(self):
        lp = loop or _ensure()
        future = lp.create_future()
        child = _greenlet(_offloaded, parent=_hub)
        child.gr_context = contextvars.copy_context()
        _hub.loop.run_callback(child.switch, future, self._function, self._args)
        try:
            return (yield from future)
        except BaseException:
            if not child.dead:
                _hub.loop.run_callback(child.throw, GreenletExit)
            raise


def _offloaded(future, function, args):
    try:
        value = function(*args)
    except GreenletExit:
        return
    except StopIteration as e:  # (a Future cannot carry one)
        if not future.done():
            future.set_exception(RuntimeError("StopIteration raised in an awaited call").with_traceback(e.__traceback__))
        return
    except BaseException as e:  # noqa: BLE001 (handed to the awaiting coroutine, which raises it)
        if not future.done():
            future.set_exception(e)
        return
    if not future.done():
        future.set_result(value)


_END = object()


async def aiter_pieces(iterator):
    """An async iterator over a sync one whose next item may wait on the hub (a streamed body's pieces or lines)."""
    while True:
        item = await offload(next, iterator, _END)
        if item is _END:
            return
        yield item


def aiter_content(response, *args, **kwargs):
    """`response.aiter_content(...)`: `iter_content(...)` with `async for`."""
    return aiter_pieces(response.iter_content(*args, **kwargs))


def aiter_lines(response, *args, **kwargs):
    """`response.aiter_lines(...)`: requests' `iter_lines(...)` with `async for`; for a FastHttpUser response, the
    body's lines as text, split as its session's `iter_lines` splits them."""
    try:
        lines = response.iter_lines
    except AttributeError:
        from locust import _stream

        return aiter_pieces(_stream.fast_lines(response))
    return aiter_pieces(lines(*args, **kwargs))


def in_loop():
    """Whether the current code is coroutine code (a client call made here returns a Call)."""
    return _getcurrent() is inside
