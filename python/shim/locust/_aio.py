"""rlocust internals: `async def` tasks and awaitable client calls, beside Locust's greenlets (docs/async.md).

- A task, `on_start` or `on_stop` (of a User or a TaskSet) that returns a coroutine has it run as an asyncio Task
  on the process's one loop (`locust._aioloop`, imported with the first coroutine); the user's greenlet waits for
  it as for a request, so weights, tags, wait_time, pacing, `interrupt()`, StopUser and the exceptions table treat
  it as a sync task. A kill of the greenlet (a stop, `-t`) cancels the Task (CancelledError at its await) and
  waits for it to unwind before the user's on_stop runs.
- Coroutine code runs in the loop's greenlet. A client call made there (`self.client.get(...)`, `rest(...)`)
  returns a `Call` to await (`await`, `async with`): awaiting it runs the sync call, unchanged, in a greenlet of
  its own that parks on the engine's ticket as a user does, so both clients' every feature (catch_response, hooks,
  redirects, streams) gives the same Response and the same row. Calls awaited together (`asyncio.gather`) are in
  flight together. A cancelled call abandons its request, as a killed user's is: nothing is recorded for it.
- asyncio tasks a user's coroutine starts belong to that user: those left running when its task ends are
  cancelled then (as `asyncio.run` cancels what its main coroutine left), those started by `on_start` when the
  user stops.
"""

import contextvars
import warnings
from collections.abc import Coroutine

import greenlet
from greenlet import GreenletExit

_getcurrent = greenlet.getcurrent
_greenlet = greenlet.greenlet

loop = None  # the asyncio loop, once a coroutine has run
loop_greenlet = None  # the greenlet it runs in: client calls made there return a Call
_asyncio = None
_hub = None
_waiting = {}  # asyncio Task -> the user greenlet waiting for it
_SCOPES = contextvars.ContextVar("rlocust_user_tasks")


def _ensure():
    global loop, loop_greenlet, _asyncio, _hub
    if loop is None:
        import asyncio

        import gevent

        from locust import _aioloop

        _asyncio = asyncio
        _hub = gevent.get_hub()
        loop, loop_greenlet = _aioloop.start(_task_factory, _escaped)
    return loop


def _escaped(error):
    """An exception that left the loop (asyncio lets a task's SystemExit or KeyboardInterrupt through after storing it
    in the task): the task's user raises it where it waits, as its sync task would have, before the loop goes on
    (which it does after one turn of the hub: another task that never awaits must not keep that user from it)."""
    for task in list(_waiting):
        if task.done() and not task.cancelled() and task.exception() is error:
            _hub.loop.run_callback(_resume, task)


# ---- a user's coroutines -----------------------------------------------------------------------------------------


class _Scopes:
    """A user's coroutine state: the context its coroutines run in (one for the user's life, as its greenlet has
    one), and the asyncio tasks they started that are still running: `kept` (started by on_start, cancelled when
    the user stops) and `task` (started by the task running now, cancelled when it ends)."""

    __slots__ = ("context", "current", "kept", "task")

    def __init__(self):
        self.kept = set()
        self.task = set()
        self.current = self.task
        self.context = contextvars.copy_context()
        self.context.run(_SCOPES.set, self)


def _task_factory(lp, coro, **kwargs):
    """The loop's task factory: a Task started inside a user's coroutine joins that user's current scope."""
    task = _asyncio.Task(coro, loop=lp, **kwargs)
    context = kwargs.get("context")
    scopes = context.get(_SCOPES) if context is not None else _SCOPES.get(None)
    if scopes is not None:
        bucket = scopes.current
        bucket.add(task)
        task.add_done_callback(bucket.discard)
    return task


def _on_done(task):
    _hub.loop.run_callback(_resume, task)


def _resume(task):
    g = _waiting.get(task)  # (None once the user has gone on: a kill got there first)
    if g is not None:
        g.switch()


def _scopes(user):
    d = user.__dict__
    scopes = d.get("_rlocust_aio")
    if scopes is None:
        scopes = d["_rlocust_aio"] = _Scopes()
    return scopes


def run(user, coro, keep=False):
    """Run `coro` (what a task, on_start or on_stop of `user` returned) on the loop while the user's greenlet waits;
    returns its result or raises its exception. `keep`: tasks it starts live until the user stops (on_start)."""
    if not hasattr(coro, "__await__"):
        return coro
    lp = loop or _ensure()
    if _getcurrent() is loop_greenlet:
        raise RuntimeError("a task's coroutine cannot be run from inside another coroutine: await it")
    scopes = _scopes(user)
    bucket = scopes.current = scopes.kept if keep else scopes.task
    if _asyncio.iscoroutine(coro):
        task = _asyncio.Task(coro, loop=lp, context=scopes.context)
    else:
        task = _asyncio.Task(_awaiting(coro), loop=lp, context=scopes.context)
    me = _getcurrent()
    _waiting[task] = me
    task.add_done_callback(_on_done)
    switch = _hub.switch
    try:
        while not task.done():
            switch()
    except BaseException:
        # a kill (a stop, -t), a gevent.Timeout, an interrupt: the coroutine gets CancelledError at its await and
        # unwinds (its finally blocks, its `async with` exits) before the user goes on to on_stop
        _cancel_and_wait(task, switch)
        raise
    finally:
        del _waiting[task]
        scopes.current = scopes.task
        if bucket is scopes.task and bucket:
            _cancel_all(bucket)
    return task.result()


async def _awaiting(awaitable):
    return await awaitable


def _cancel_and_wait(task, switch):
    if not task.done():
        task.cancel()
        try:
            while not task.done():
                switch()
        except BaseException:  # noqa: BLE001 (killed again while it unwinds: leave it to finish on its own)
            return
    if not task.cancelled():
        task.exception()  # (retrieved: the kill is what the user reports, not asyncio's "never retrieved")


def _cancel_all(tasks):
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
    """Wrap a client method: called from coroutine code (the loop's greenlet) it returns a `Call` to await instead
    of waiting; called anywhere else it is the method itself (one identity check more)."""

    def call(self, *args, **kwargs):
        if _getcurrent() is not loop_greenlet:
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
        self._it = it = offload(self._call).__await__()
        return it

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

    async def __aenter__(self):
        self._used = True
        return await offload(self._enter)

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

    def __del__(self):
        if not self._used:
            warnings.warn(f"{self._what()} was never awaited (nothing was sent)", RuntimeWarning, stacklevel=1)


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
    """Whether the current code runs in the loop's greenlet (inside a coroutine)."""
    return _getcurrent() is loop_greenlet
