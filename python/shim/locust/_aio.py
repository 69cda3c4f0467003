"""rlocust internals: `async def` tasks and awaitable client calls, beside Locust's greenlets (docs/async.md).

- A task, `on_start` or `on_stop` (of a User or a TaskSet) that returns a coroutine has it stepped in the user's
  own greenlet as an asyncio Task of the process's one loop (`locust._aioloop`, imported with the first coroutine)
  would step it (`run`): the loop running and the user's task current during each step, parked on the hub while
  it waits for a future. Weights, tags, wait_time, pacing, `interrupt()`, StopUser, the exceptions table and a task
  that never yields are therefore as for a sync task. A kill of the greenlet (a stop, `-t`) cancels the task
  (CancelledError at its await) and lets it unwind before the user's on_stop runs.
- The current task (`asyncio.current_task()`) is one per user, for its life: asyncio.timeout, TaskGroup and
  `cancel()` work on it as on a Task of its own per coroutine, but it never ends, `add_done_callback` on it never
  fires, and `asyncio.all_tasks()` does not list it.
- A client call made in coroutine code returns a `Call` to await (`await`, `async with`); a verb's (`get`, `post`,
  ...) is its Rust twin `_rlocust.AwaitedCall` (src/py/awaited.rs), which hands every use but the first case below
  to a `Call`. Awaited by a user's own coroutine, the call is made right there, as the sync call (the greenlet parks
  on the engine's ticket, the loop is not involved). Awaited anywhere else (a task the coroutine started, e.g. by
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

from _rlocust import aio_run as _run
from _rlocust import aio_set_aside as _set_aside
from _rlocust import aio_set_for_step as _set_for_step
from _rlocust import aio_stepping as _stepping_of

_getcurrent = greenlet.getcurrent
_greenlet = greenlet.greenlet

loop = None  # the asyncio loop, once a coroutine has run
loop_greenlet = None  # the greenlet it runs in
inside = None  # the greenlet running coroutine code now (the loop's, or a user's stepping its own coroutine, not
# inside a call it makes): a client call made there returns a Call. Set by that greenlet as it starts running such
# code and cleared as it stops or waits (`switch_out` for a wait inside a step), so it is exact. Written here only:
# the loop's greenlet says so through `loop_runs`/`loop_waits`.
creating = False  # a user's `_UserTask` is being made: the loop does not schedule its first step
# (which user greenlet runs a step of its coroutine now, not inside a call it makes: `_stepping_of(g)`, its driver)
_asyncio = None
_hub = None
_UserTask = None
_CancelledError = None
_SCOPES = contextvars.ContextVar("rlocust_user_tasks")


class _Interrupted(BaseException):
    """Thrown into a user greenlet parked in a call its coroutine awaits, when the coroutine's task is cancelled."""


def _ensure():
    global loop, loop_greenlet, _asyncio, _hub, _UserTask, _CancelledError, _enter_task, _leave_task, _running
    global _set_running, _unregister_task, _inspect_isgenerator
    if loop is None:
        import asyncio
        import inspect
        from asyncio import events, tasks

        import gevent

        from locust import _aioloop

        class UserTask(asyncio.Task):
            """The task current while a user's coroutines run (`run`): a cancel is delivered to the coroutine being
            run, as a Task delivers it (the future it waits on cancelled, else CancelledError at its next step; a
            call it is parked in ends where it waits). Between two coroutines there is nothing to cancel."""

            __slots__ = ("_rlocust_driver",)  # (no dict per user: 10,000 of these live as long as their users)

            def cancel(self, msg=None):
                driver = self._rlocust_driver
                if not driver.running:
                    return False
                super().cancel(msg)  # (counted: cancelling() and uncancel(), which asyncio.timeout and TaskGroup read)
                driver.cancels = True
                waiting = driver.waiting
                if waiting is not None and waiting.cancel(msg=msg):
                    return True
                driver.must_cancel = True
                driver.cancel_msg = msg
                if driver.inline is not None:  # parked in a call: end the call where it waits
                    _hub.loop.run_callback(_interrupt, driver, driver.inline)
                return True

        _asyncio = asyncio
        _UserTask = UserTask
        _CancelledError = asyncio.CancelledError
        _enter_task, _leave_task, _unregister_task = tasks._enter_task, tasks._leave_task, tasks._unregister_task
        _running, _set_running = events._get_running_loop, events._set_running_loop
        _inspect_isgenerator = inspect.isgenerator
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
    if g is loop_greenlet:
        if loop._hub_selector.parked:
            return  # (the loop waiting for work: it has set everything aside itself)
    elif _stepping_of(g) is None:
        return  # (a user's greenlet outside a step: nothing set to put aside)
    lp = loop
    task = _asyncio.current_task(lp)
    if task is not None:
        _leave_task(lp, task)
    _suspended[g] = task
    driver = _stepping_of(g)
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
            driver = _stepping_of(target)
            if driver is not None:
                driver.outer = foreign(_running())  # (what is running as it comes back: put back after)
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
#
# A user's coroutine (a task, on_start, on_stop) is stepped by `run`, in the user's greenlet, as asyncio's Task would
# step it: `send`/`throw`, with the loop running and the user's task current; when it yields a future, the greenlet
# parks on the hub until the future is done. The current task is one `_UserTask` per user, made with its first
# coroutine and never stepped by the loop: a Task made per iteration (its creation, registration, first step handed
# through the loop and its end) was half of what an empty coroutine task cost over a sync one, and a third of what an
# awaited call cost over a sync call (docs/performance.md, issue 54's third step).


class _Driver:
    """A user's coroutine being stepped in its greenlet (`run`): the state a Task keeps (the future it waits on, a
    cancel requested), and the greenlet's wait on the hub."""

    __slots__ = ("cancel_msg", "cancels", "greenlet", "inline", "killed", "must_cancel", "outer", "parked", "running",
                 "seq", "task", "waiting", "woken")

    def __init__(self, g):
        self.greenlet = g
        self.parked = False
        self.woken = False
        self.inline = None  # the number of the call the coroutine is parked in, if it is
        self.seq = 0
        self.killed = None  # the exception that killed the greenlet while its coroutine ran
        self.task = None  # the user's `_UserTask`
        self.outer = None  # the thread's running loop when the step began (another greenlet's asyncio.run, or none)
        self.running = False  # a coroutine is being stepped (the task is current while it runs)
        self.waiting = None  # the future the coroutine waits on
        self.must_cancel = False  # a cancel to deliver at the coroutine's next step (asyncio's Task._must_cancel)
        self.cancel_msg = None
        self.cancels = False  # the task was cancelled during this coroutine: its count starts at 0 for the next

    def cancelled(self):
        """The CancelledError a cancel requested of the running coroutine delivers (with its message, if any)."""
        return _CancelledError() if self.cancel_msg is None else _CancelledError(self.cancel_msg)

    def wake(self, *_):
        """The hub switches the parked greenlet back in at its next callback (a future it waits on is done)."""
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
        g.switch_out = switch_out  # (for its life: it acts only inside a step)
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


async def _user_coroutines():
    """What every user's `_UserTask` says it runs (it never steps it: `run` steps the user's coroutines)."""


_NOTHING = None  # one closed `_user_coroutines()`, shared by the users' tasks


def _user_task(scopes, lp):
    """The task that is current while the user's coroutines run: made once, never stepped by the loop (its first
    step is not scheduled), not in `asyncio.all_tasks()` (it never ends), silent when the user is gone. Named after
    the user's class; its coroutine is one closed placeholder shared by all (a user's task: 200 bytes, getsizeof)."""
    global creating, _NOTHING
    if _NOTHING is None:
        _NOTHING = _user_coroutines()
        _NOTHING.close()
    creating = True
    try:
        task = _UserTask(_NOTHING, loop=lp, name=type(scopes.user).__name__, context=scopes.context)
    finally:
        creating = False
    task._log_destroy_pending = False
    _unregister_task(task)
    task._rlocust_driver = scopes.driver
    return task


def _begin(user, coro):
    """`run`'s start where it is not the common one (`_rlocust.aio_run` takes that itself: a coroutine, the loop
    made, the user's task made and not cancelled by the last coroutine): `coro` made a coroutine, the loop made, the
    user's scopes and task made, the task's cancel count put back to 0. Returns (coroutine, scopes), or (`coro`,
    None) when it is not awaitable (then `run` returns it as it is)."""
    if type(coro) is not _CoroutineType:
        if not hasattr(coro, "__await__"):
            return coro, None
        coro = _awaiting(coro)
    lp = loop or _ensure()
    me = _getcurrent()
    if me is loop_greenlet or _stepping_of(me) is not None:
        raise RuntimeError("a task's coroutine cannot be run from inside another coroutine: await it")
    d = user.__dict__
    scopes = d.get("_rlocust_aio")
    if scopes is None or scopes.driver.greenlet is not me:
        scopes = d["_rlocust_aio"] = _Scopes(me, user)
    driver = scopes.driver
    task = driver.task
    if task is None:
        driver.task = _user_task(scopes, lp)
    elif driver.cancels:  # (as a new Task's: asyncio.timeout and TaskGroup read the count)
        driver.cancels = False
        while task.uncancel():
            pass
    return coro, scopes


run = _run  # run(user, coro, keep=False): `coro` (what a task, on_start or on_stop of `user` returned) run here, in
# the user's greenlet, as an asyncio Task would run it; returns its result or raises its exception. `keep`: the tasks
# it starts live until the user stops (on_start). Each step as Task.__step makes it, with the loop running and the
# user's task current during it; a yielded future waited for by `_wait`; a kill while it waits cancels the task, and
# is raised once the coroutine has unwound; the tasks it started cancelled at its end unless `keep`. (In Rust,
# src/py/aio_step.rs: the Python function's frame and attribute reads were a tenth of an awaited call's cost.)


def _wait(driver, yielded, lp):
    """What the coroutine yielded, awaited as a Task awaits it: a future of the loop until it is done (the greenlet
    parked on the hub), None for one turn of the hub. Returns the exception to throw in at the next step, if any. A
    kill (a stop, -t; a gevent.Timeout) while it waits cancels the task: the coroutine gets CancelledError at its
    await and unwinds; a second one while it unwinds leaves it."""
    if getattr(yielded, "_asyncio_future_blocking", None) is not None:
        if _asyncio.futures._get_loop(yielded) is not lp:
            return RuntimeError(f"Task {driver.task!r} got Future {yielded!r} attached to a different loop")
        if not yielded._asyncio_future_blocking:
            return RuntimeError(f"yield was used instead of yield from in task {driver.task!r} with {yielded!r}")
        yielded._asyncio_future_blocking = False
        if driver.must_cancel and yielded.cancel(msg=driver.cancel_msg):
            driver.must_cancel = False
        if not yielded.done():
            yielded.add_done_callback(driver.wake)
            driver.waiting = yielded
            while not yielded.done():
                _park(driver)
            driver.waiting = None
        try:
            yielded.result()
        except BaseException as e:  # noqa: BLE001 (thrown into the coroutine, as a Task throws it)
            return e
        return None
    if yielded is None:  # a bare yield (asyncio.sleep(0)): the others run first
        _hub.loop.run_callback(driver._wake)
        _park(driver)
        return None
    if _inspect_isgenerator(yielded):
        return RuntimeError(f"yield was used instead of yield from for generator in task {driver.task!r} with {yielded!r}")
    return RuntimeError(f"Task got bad yield: {yielded!r}")


def _park(driver):
    driver.parked = True
    try:
        _hub.switch()
    except BaseException as e:
        if driver.killed is not None:
            driver.killed = e  # a second kill while it unwinds: `run` leaves with this one
            raise
        driver.killed = e
        driver.task.cancel()
    finally:
        driver.parked = False


async def _awaiting(awaitable):
    return await awaitable


def _value(value):
    """An await iterator that is done, with `value`."""
    return value
    yield  # noqa: RET503 (a generator)


def _thrown(*args):
    """What `throw(*args)` raises from a coroutine that has not started: the exception itself, as given."""
    return _value(None).throw(*args)


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


_ENTERING = object()
_SPENT = object()


class Call(Coroutine):
    """A client call made inside a coroutine: a coroutine (so `asyncio.create_task`, `TaskGroup.create_task` and
    `gather` take it) of what the call returns (a Response, or with catch_response=True the context manager), and an
    async context manager that enters that (a catch_response block, a `rest()` block). Nothing is sent before it
    is awaited, as with any coroutine. (A verb's call is `_rlocust.AwaitedCall`, which makes the call its user's
    own coroutine awaits in Rust, as `__await__` below does, and hands any other use to one of these.)"""

    __slots__ = ("_args", "_cm", "_it", "_kwargs", "_method", "_self")

    def __init__(self, method, owner, args, kwargs):
        self._method = method
        self._self = owner
        self._args = args
        self._kwargs = kwargs
        self._cm = None  # `_ENTERING` while `__aenter__` makes the call; then what the call returned
        self._it = None  # the await's iterator, once awaited (`_SPENT`: closed before, or the call raised)

    def _call(self):
        return self._method(self._self, *self._args, **self._kwargs)

    def __await__(self):
        """The await's iterator. Awaited by the user greenlet running its coroutine's step, the call is made here
        and now: the greenlet parks on the engine's ticket as in a sync call (the task is not the loop's current one
        meanwhile, and the loop is not running: other greenlets may step theirs). The iterator is then already
        finished with the call's value (made outside it: a parked user keeps one interpreter frame less on its
        stack). A cancel of the task (asyncio.timeout, a TaskGroup) or a kill of the greenlet ends the call where
        it waits (abandoned) and is delivered as CancelledError at this await. (One frame, not a helper's: this is
        an awaited call's whole Python side.)"""
        if self._it is not None:
            raise RuntimeError("cannot reuse already awaited coroutine")
        self._it = _SPENT  # (until its iterator is made: a call that raised is not made again either)
        entering = self._cm is _ENTERING
        me = _getcurrent()
        driver = _stepping_of(me)
        if driver is None:
            self._it = it = offload(self._enter if entering else self._call).__await__()
            return it
        lp = loop
        if driver.must_cancel:  # a cancel pending (a kill; one not delivered yet): not made, as asyncio's first wait
            self._it = it = _pending(lp.create_future())  # would deliver it (the cancel cancels this future)
            return it
        task = driver.task
        driver.seq += 1
        driver.inline = driver.seq
        _set_aside(me, driver, task)
        try:
            if entering:
                self._it = it = _value(self._enter())
            else:
                self._it = it = _value(self._method(self._self, *self._args, **self._kwargs))
            return it
        except _Interrupted:
            pass  # the task was cancelled; its cancel is delivered below
        except GreenletExit as e:
            driver.inline = None
            driver.killed = e  # a stop: the coroutine unwinds from here, then the user exits
            task.cancel()
        finally:
            driver.inline = None
            # (the loop to put back when the step ends is the one found now: another greenlet's asyncio.run may
            # have started while this call waited, its loop running as it waits on the hub)
            _set_for_step(me, driver, task)
        self._it = it = _pending(lp.create_future())  # the cancel pending on the task cancels it at once
        return it

    def _iterator(self):
        it = self._it
        if it is None:
            return self.__await__()
        if it is _SPENT:
            raise RuntimeError("cannot reuse already awaited coroutine")
        return it

    def send(self, value):
        return self._iterator().send(value)

    def throw(self, typ, val=None, tb=None):
        given = (typ,) if val is None and tb is None else (typ, val, tb)  # (the 3-argument form warns on 3.12)
        if self._it is None:  # not awaited yet: it ends with the exception, and nothing is sent
            self._it = _SPENT
            return _thrown(*given)
        return self._iterator().throw(*given)

    def close(self):
        it = self._it
        if it is None:
            self._it = _SPENT
        elif it is not _SPENT:
            it.close()

    def _enter(self):
        cm = self._call()
        enter = getattr(type(cm), "__enter__", None)
        if enter is None:
            raise TypeError(f"{type(cm).__name__!r} object does not support the asynchronous context manager protocol")
        self._cm = cm
        return enter(cm)

    def __aenter__(self):
        if self._it is None:
            self._cm = _ENTERING
        return _Awaiting(self.__await__())

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
