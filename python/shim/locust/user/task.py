"""Tasks, tags and TaskSets (rlocust shim of ``locust.user.task``)."""

# ruff: noqa: BLE001, LOG015, TRY002, RUF012
# (Locust's behaviour: root-logger messages, plain Exception types, catch-all task error handling,
# and mutable class-level ``tasks`` lists that locustfiles read and assign.)

from __future__ import annotations

import logging
import random
import traceback
from collections import deque
from collections.abc import Callable
from time import perf_counter, time
from types import BuiltinFunctionType, FunctionType
from typing import TYPE_CHECKING, Protocol, TypeVar, final, overload, runtime_checkable

import gevent
from gevent import GreenletExit

import _rlocust
from locust import _aio, _hub, _open
from locust._hub import killing as _killing
from locust.exception import (
    InterruptTaskSet,
    MissingWaitTimeError,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)

if TYPE_CHECKING:
    from locust import User

logger = logging.getLogger(__name__)

TaskT = TypeVar("TaskT", Callable[..., None], type["TaskSet"])

LOCUST_STATE_RUNNING = "running"
LOCUST_STATE_WAITING = "waiting"
LOCUST_STATE_STOPPING = "stopping"


@runtime_checkable
class TaskHolder(Protocol[TaskT]):
    tasks: list[TaskT]


def _mark_task(func, weight):
    if func.__name__ in ("on_stop", "on_start"):
        logging.warning(
            "You have tagged your on_stop/start function with @task. "
            "This will make the method get called both as a task AND on stop/start."
        )
    if func.__name__ == "run":
        raise Exception(
            "User.run() is a method used internally by Locust, and you must not override it or register it as a task"
        )
    func.locust_task_weight = weight
    return func


@overload
def task(weight: TaskT) -> TaskT: ...


@overload
def task(weight: int) -> Callable[[TaskT], TaskT]: ...


def task(weight=1):
    """Declare a method (or an inline TaskSet class) as a task: ``@task`` or ``@task(weight)``."""
    if callable(weight):
        # used bare: @task
        return _mark_task(weight, 1)

    def decorate(func):
        return _mark_task(func, weight)

    return decorate


def tag(*tags: str) -> Callable[[TaskT], TaskT]:
    """Attach tag names to a task, or to every task of a TaskSet class."""
    if not tags or callable(tags[0]):
        raise ValueError("No tag name was supplied")

    def decorate(target):
        if hasattr(target, "tasks"):
            # a TaskSet (or anything holding tasks): tag each of its tasks instead
            target.tasks = [tag(*tags)(t) for t in target.tasks]
        else:
            if "locust_tag_set" not in target.__dict__:
                target.locust_tag_set = set()
            target.locust_tag_set |= set(tags)
        return target

    return decorate


def _has_task_weight(obj) -> bool:
    # dir() (not hasattr) on purpose: it sees inherited class attributes but ignores __getattr__
    return "locust_task_weight" in dir(obj)


def get_tasks_from_base_classes(bases, class_dict):
    """Build the expanded task list of a new User/TaskSet class.

    Order: inherited tasks of each base, then the class body's ``tasks`` (list entries,
    ``(task, n)`` tuples and ``{task: n}`` dicts expanded to n copies), then the ``@task``
    items of the class body, each repeated ``weight`` times.
    """
    collected = []
    for base in bases:
        inherited = getattr(base, "tasks", None)
        if inherited:
            collected += inherited

    declared = class_dict.get("tasks")
    if declared is not None:
        if isinstance(declared, dict):
            declared = declared.items()
        for entry in declared:
            if isinstance(entry, tuple):
                fn, count = entry
                collected.extend(fn for _ in range(count))
            else:
                collected.append(entry)

    for value in class_dict.values():
        if _has_task_weight(value):
            collected.extend(value for _ in range(value.locust_task_weight))

    return collected


def is_markov_taskset(task) -> bool:
    """True when ``task`` is a MarkovTaskSet class (checked by metaclass name to avoid an import cycle)."""
    return type(task).__name__ == "MarkovTaskSetMeta"


def filter_tasks_by_tags(task_holder, tags=None, exclude_tags=None, checked=None):
    """Remove, in place and recursively, the tasks of ``task_holder`` not selected by the tag options.

    ``checked`` caches the decision per task object, so weighted duplicates (and tasks shared
    between classes) are decided once.
    """
    if checked is None:
        checked = {}
    kept = []
    for t in task_holder.tasks:
        if t in checked:
            if checked[t]:
                kept.append(t)
            continue

        if hasattr(t, "tasks"):
            filter_tasks_by_tags(t, tags, exclude_tags, checked)
            keep = len(t.tasks) > 0 or is_markov_taskset(t)
        else:
            has_tags = "locust_tag_set" in dir(t)
            keep = True
            if tags is not None:
                keep = keep and has_tags and len(t.locust_tag_set & tags) > 0
            if exclude_tags is not None:
                keep = keep and (
                    not has_tags or len(t.locust_tag_set & exclude_tags) == 0
                )

        checked[t] = keep
        if keep:
            kept.append(t)

    task_holder.tasks = kept
    if (
        not kept
        and not is_markov_taskset(task_holder)
        and not getattr(task_holder, "functions", False)
    ):
        logging.warning(
            f"{task_holder.__name__} had no tasks left after filtering, instantiating it will fail!"
        )


class TaskSetMeta(type):
    """Collects and expands the tasks of TaskSet classes at class creation."""

    def __new__(mcs, classname, bases, class_dict):
        class_dict["tasks"] = get_tasks_from_base_classes(bases, class_dict)
        return type.__new__(mcs, classname, bases, class_dict)


class _TaskQueue(list):
    """A TaskSet's queue of scheduled tasks, with the deque methods Locust's queue is used through.

    Locust's is a ``deque``, whose first block (~770 bytes) every user keeps for a queue that holds one task at a
    time; a list of one is ~80 bytes (issue 29's memory per user). Locust's tests put a ``deque`` there, which works
    as well."""

    __slots__ = ()

    def popleft(self):
        return self.pop(0)

    def appendleft(self, item):
        self.insert(0, item)

    def extendleft(self, items):
        for item in items:
            self.insert(0, item)

    def rotate(self, n=1):
        if self:
            n %= len(self)
            self[:] = self[-n:] + self[:-n]


class TaskSet(metaclass=TaskSetMeta):
    """A group of tasks run by a User; may be nested (a TaskSet class can be a task)."""

    tasks: list[TaskSet | Callable] = []
    min_wait: float | None = None
    max_wait: float | None = None
    wait_function = None

    _user: User
    _parent: User

    def __init__(self, parent: User) -> None:
        self._task_queue: deque = _TaskQueue()
        self._time_start = time()
        self._user = parent.user if isinstance(parent, TaskSet) else parent
        self._parent = parent
        # fall back on the (deprecated) wait settings of the user
        if not self.min_wait:
            self.min_wait = self.user.min_wait
        if not self.max_wait:
            self.max_wait = self.user.max_wait
        if not self.wait_function:
            self.wait_function = self.user.wait_function
        self._cp_last_run: float = perf_counter()
        self._cp_last_wait_time: float = 0

    @property
    def user(self) -> User:
        return self._user

    @property
    def parent(self):
        return self._parent

    def on_start(self) -> None:
        pass

    def on_stop(self):
        pass

    @final
    def run(self):
        try:
            started = self.on_start()
            if started is not None:
                _aio.run(self._user, started, keep=True)  # async def on_start
        except InterruptTaskSet as e:
            # leaving during on_start: no on_stop, hand control back to the parent
            replacement = RescheduleTaskImmediately if e.reschedule else RescheduleTask
            raise replacement(e.reschedule).with_traceback(e.__traceback__)

        while True:
            try:
                if _task_loop is not None:
                    # the passes the locustfile leaves as written here, in Rust (src/py/task_loop.rs); it returns
                    # at the top of one that is not, which the lines below make, or to park on a wait's timer
                    # here (a waiting user's stack is then what it was with this loop's own wait)
                    try:
                        parked = _task_loop(self, None)
                        while parked is not None:
                            _park(parked)
                            parked = _task_loop(self, parked)
                    except BaseException as e:
                        # what a pass raised gets the traceback the lines below give it (their frames, this
                        # frame's line), so a report groups it as one exception whichever loop raised it
                        _mend_traceback(e)
                        raise
                if not self._task_queue:
                    self.schedule_task(self.get_next_task())

                try:
                    if self._user._state == LOCUST_STATE_STOPPING:
                        raise StopUser()
                    self.execute_next_task()
                except RescheduleTaskImmediately:
                    pass
                except RescheduleTask:
                    self.wait()
                else:
                    self.wait()
            except InterruptTaskSet as e:
                try:
                    self._on_stop()
                except (StopUser, StopTest, GreenletExit):
                    raise
                except Exception:
                    logging.error(
                        "Uncaught exception in on_stop: \n%s", traceback.format_exc()
                    )
                replacement = (
                    RescheduleTaskImmediately if e.reschedule else RescheduleTask
                )
                raise replacement(e.reschedule) from e
            except (StopUser, StopTest, GreenletExit):
                try:
                    self._on_stop()
                except Exception:
                    logging.error(
                        "Uncaught exception in on_stop: \n%s", traceback.format_exc()
                    )
                raise
            except Exception as e:
                self.user.environment.events.user_error.fire(
                    user_instance=self, exception=e, tb=e.__traceback__
                )
                if not self.user.environment.catch_exceptions:
                    raise
                logger.error("%s\n%s", e, traceback.format_exc())
                self.wait()

    def _on_stop(self):
        stopped = self.on_stop()
        if stopped is not None:
            _aio.run(self._user, stopped)  # async def on_stop

    def execute_next_task(self):
        queue = self._task_queue  # (a locustfile may have put a deque there)
        self.execute_task(queue.pop(0) if type(queue) is _TaskQueue else queue.popleft())

    def execute_task(self, task):
        if _open.ACTIVE and not (hasattr(task, "tasks") and issubclass(task, TaskSet)):
            _open.arrive(self.user)  # an open workload: the task starts with an arrival
        if hasattr(task, "__self__") and task.__self__ == self:
            # a method bound to this TaskSet
            done = task()
        elif hasattr(task, "tasks") and issubclass(task, TaskSet):
            # a nested TaskSet class: run it with us as parent
            task(self).run()
            return
        else:
            # a plain function: gets this TaskSet as argument
            done = task(self)
        if done is not None:
            _aio.run(self._user, done)  # an async def task: its coroutine runs on the loop

    def schedule_task(self, task_callable, first=False):
        """Queue ``task_callable`` to run next (``first=True``) or after the queued ones."""
        if first:
            self._task_queue.appendleft(task_callable)
        else:
            self._task_queue.append(task_callable)

    def get_next_task(self):
        if not self.tasks:
            if getattr(self, "task", None):
                hint = ", but you have set a 'task' attribute - maybe you meant to set 'tasks'?"
            else:
                hint = "."
            raise Exception(
                f"No tasks defined on {type(self).__name__}{hint} "
                "use the @task decorator or set the 'tasks' attribute of the TaskSet"
            )
        return random.choice(self.tasks)

    def wait_time(self):
        """Seconds to sleep after a task: the user's wait_time, else min_wait/max_wait (ms)."""
        user = self._user
        if user.wait_time:
            return user.wait_time()
        if self.min_wait is not None and self.max_wait is not None:
            return random.randint(self.min_wait, self.max_wait) / 1000.0
        # the placeholders are deliberately left unformatted (as in Locust)
        raise MissingWaitTimeError(
            "You must define a wait_time method on either the {type(self.user).__name__} or {type(self).__name__} class"
        )

    def wait(self):
        """Sleep for wait_time(); a user being stopped gets StopUser before or after the sleep."""
        # (self._user: the `user` property's value, read on every task without the property call)
        user = self._user
        if user._state == LOCUST_STATE_STOPPING:
            raise StopUser()
        if _open.ACTIVE:
            return  # an open workload: the arrivals pace the users, wait_time is not used
        user._state = LOCUST_STATE_WAITING
        seconds = self.wait_time()
        start = perf_counter()
        # A plain number of seconds waits on Rust's timers (resumed in batches: less CPU per wait than a libev
        # timer), a plain 0 yields to the hub as gevent.sleep(0) does (batched too); anything else (negative, a
        # Decimal, a bad value) goes to gevent.sleep with its own behaviour: a bad wait_time fails there, with
        # gevent's error, as in Locust. A TaskSet whose _sleep is its own (on its class or on the instance) sleeps
        # with that, as in Locust.
        if (
            (type(seconds) is float or type(seconds) is int)
            and 0 <= seconds < 1e7
            and _hub._watcher is not None
            and type(self)._sleep is _SLEEP
            and "_sleep" not in self.__dict__
        ):
            if seconds:
                _hub.sleep(seconds)
            else:
                _hub.yield_now()
        else:
            self._sleep(seconds)
        try:
            # how late the hub resumed this user (the generator's own lateness, not the target's)
            _rlocust.note_wait_late(perf_counter() - start - seconds)
        except TypeError:  # a number gevent sleeps on but a float cannot subtract (e.g. a Decimal)
            pass
        if user._state == LOCUST_STATE_STOPPING:
            raise StopUser()
        if _killing and gevent.getcurrent() in _killing:
            _hub.await_kill()  # a stop killed this user as it waited; the kill lands before the next task
        user._state = LOCUST_STATE_RUNNING

    def _sleep(self, seconds):
        """gevent.sleep(seconds): a wait that is not a plain number of seconds, or outside an rlocust run. A
        locustfile may override it (its TaskSet's, or an instance's): every wait then sleeps here, as in Locust (the
        unit tests put a recorder here too)."""
        gevent.sleep(seconds)

    def interrupt(self, reschedule=True):
        """Leave this TaskSet and return control to the parent."""
        raise InterruptTaskSet(reschedule)

    @property
    def client(self):
        return self.user.client


_SLEEP = TaskSet._sleep  # (TaskSet.wait sleeps on Rust's timers itself only where _sleep is this one)


class DefaultTaskSet(TaskSet):
    """Root TaskSet of a User: runs ``User.tasks``, passing the User instance to function tasks."""

    def get_next_task(self):
        tasks = self._user.tasks
        if not tasks:
            if getattr(self.user, "task", None):
                hint = ", but you have set a 'task' attribute on your class - maybe you meant to set 'tasks'?"
            else:
                hint = "."
            raise Exception(
                f"No tasks defined on {type(self.user).__name__}{hint} "
                "Use the @task decorator or set the 'tasks' attribute of the User "
                "(or mark it as abstract = True if you only intend to subclass it)"
            )
        return random.choice(tasks)

    def execute_task(self, task):
        user = self._user
        # (a plain function first: hasattr on one fails inside, which costs more than the task's own call)
        if not (task.__class__ is FunctionType and "tasks" not in task.__dict__) and hasattr(task, "tasks") \
                and issubclass(task, TaskSet):
            task(user).run()
        else:
            if _open.ACTIVE:
                _open.arrive(user)  # an open workload: the task starts with an arrival
            done = task(user)
            if done is not None:
                _aio.run(user, done)  # an async def task: its coroutine runs on the loop


# The task loop in Rust (the binary's `_rlocust`; the abi3 wheel keeps the loop above): what a pass reads of this
# module, registered once. (Only the engine's own function: the unit tests' stand-in engine answers every name.)
_task_loop = getattr(_rlocust, "task_loop", None)
if not isinstance(_task_loop, BuiltinFunctionType):
    _task_loop = None


def _site(func, text, nth=0, c_call=False):
    """Where a traceback's entry for a frame of ``func`` points when what the frame raised came from the ``nth`` of
    its lines holding ``text``: (code, globals, tb_lasti, tb_lineno) as the interpreter makes them (the end of the
    line's last call, or its raise; the call itself when it calls a C function, ``c_call``: CPython 3.11 leaves the
    frame at its PRECALL once it has specialized the call, at its CALL before). What the task loop in Rust gives a
    traceback for the frames it stands for. The lines searched are those the function's own code is on, read from
    the module's source once (``linecache``), and its instructions are listed once per function: 18 sites found
    with ``inspect.getsourcelines`` took about 45 ms of every start, tokenizing the module again for each."""
    code = func.__code__
    ins = _listed.get(code)
    if ins is None:
        ins = _listed[code] = list(dis.get_instructions(code))
    lines = linecache.getlines(code.co_filename, func.__globals__)
    own = sorted({x.positions.lineno for x in ins if x.positions.lineno})
    lineno = [n for n in own if text in lines[n - 1]][nth]
    on_line = [i for i, x in enumerate(ins) if x.positions.lineno == lineno]
    if lines[lineno - 1].strip().startswith("raise"):
        lasti = next(ins[i].offset for i in on_line if ins[i].opname == "RAISE_VARARGS")
    else:
        call = [i for i in on_line if ins[i].opname.startswith("CALL")][-1]
        if not c_call:
            lasti = ins[call + 1].offset - 2
        else:
            lasti = ins[call - 1].offset if ins[call - 1].opname == "PRECALL" else ins[call].offset
    return code, func.__globals__, lasti, lineno


_listed = {}  # (code -> its instructions, while the sites are found)

if _task_loop is not None:
    import dis
    import linecache

    try:
        _sites = {
            "run.task": _site(TaskSet.run, "self.execute_next_task()"),
            "run.wait.rescheduled": _site(TaskSet.run, "self.wait()", 0),
            "run.wait": _site(TaskSet.run, "self.wait()", 1),
            "run.stop": _site(TaskSet.run, "raise StopUser()"),
            "next_task": _site(TaskSet.execute_next_task, "self.execute_task("),
            "default.arrive": _site(DefaultTaskSet.execute_task, "_open.arrive(user)"),
            "default.call": _site(DefaultTaskSet.execute_task, "done = task(user)"),
            "default.aio": _site(DefaultTaskSet.execute_task, "_aio.run(user, done)", c_call=True),
            "plain.arrive": _site(TaskSet.execute_task, "_open.arrive(self.user)"),
            "plain.call": _site(TaskSet.execute_task, "done = task(self)"),
            "plain.aio": _site(TaskSet.execute_task, "_aio.run(self._user, done)", c_call=True),
            "wait.stop_before": _site(TaskSet.wait, "raise StopUser()", 0),
            "wait.seconds": _site(TaskSet.wait, "seconds = self.wait_time()"),
            "wait.yield": _site(TaskSet.wait, "_hub.yield_now()"),
            "wait.sleep": _site(TaskSet.wait, "self._sleep(seconds)"),
            "wait.stop_after": _site(TaskSet.wait, "raise StopUser()", 1),
            "wait.kill": _site(TaskSet.wait, "_hub.await_kill()"),
            "wait_time.user": _site(TaskSet.wait_time, "return user.wait_time()"),
        }
    except (OSError, IndexError, StopIteration):  # (no source to read: the Python loop, whose tracebacks are its own)
        _task_loop = None
    _listed.clear()
if _task_loop is not None:
    _park = _rlocust.park
    _mend_traceback = _rlocust.mend_traceback
    _rlocust.register_task_loop({
        "sites": _sites,
        "DefaultTaskSet": DefaultTaskSet, "TaskSet": TaskSet, "_TaskQueue": _TaskQueue,
        "RescheduleTask": RescheduleTask, "RescheduleTaskImmediately": RescheduleTaskImmediately, "StopUser": StopUser,
        "random": vars(random), "choice": random.choice, "open": vars(_open), "hub": vars(_hub), "aio_run": _aio.run,
        "running": LOCUST_STATE_RUNNING, "waiting": LOCUST_STATE_WAITING, "stopping": LOCUST_STATE_STOPPING,
    })
