"""User.run / TaskSet.run semantics (reference §1.2, §3.2, §3.3, §3.6), driven in gevent with a fake env."""

# ruff: noqa: RUF012
# (class-level ``tasks`` lists, exactly as locustfiles write them)

import itertools
import logging
import random
import time
from collections import deque

import gevent
import pytest
from conftest import EMBEDDED
from gevent.pool import Group

from locust import SequentialTaskSet, TaskSet, User, constant, task
from locust.exception import (
    InterruptTaskSet,
    MissingWaitTimeError,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)
from locust.user.task import (
    LOCUST_STATE_RUNNING,
    LOCUST_STATE_STOPPING,
    LOCUST_STATE_WAITING,
    DefaultTaskSet,
)


def test_state_constants():
    assert (LOCUST_STATE_RUNNING, LOCUST_STATE_WAITING, LOCUST_STATE_STOPPING) == (
        "running",
        "waiting",
        "stopping",
    )


def test_basic_loop_waits_after_each_task(env, sleeps, run):
    log = []

    class U(User):
        wait_time = constant(1.5)

        def on_start(self):
            log.append(("on_start", self._state))

        def on_stop(self):
            log.append(("on_stop", self._state))

        @task
        def t(self):
            log.append(("task", type(self).__name__, self._state))

    sleeps.limit = 5
    user = U(env)
    greenlet = run(user)
    assert user.greenlet is greenlet
    assert greenlet.successful()
    assert log[0] == ("on_start", "running")
    assert log[1:6] == [("task", "U", "running")] * 5
    assert log[-1] == ("on_stop", "waiting")  # killed during the 5th wait
    assert sleeps.seconds == [1.5] * 5
    assert all(state == "waiting" for _, _, state in sleeps.calls)
    assert all(type(ts) is DefaultTaskSet for ts, _, _ in sleeps.calls)
    assert env.user_errors == []


def test_weighted_random_choice(env, sleeps, run):
    counts = {"heavy": 0, "light": 0}

    class U(User):
        @task(3)
        def heavy(self):
            counts["heavy"] += 1

        @task(1)
        def light(self):
            counts["light"] += 1

    random.seed(12345)
    sleeps.limit = 2000
    run(U(env))
    assert counts["heavy"] + counts["light"] == 2000
    assert 0.70 < counts["heavy"] / 2000 < 0.80


def test_a_seeded_run_picks_the_tasks_random_choice_picks(env, sleeps, run):
    # (a loop that draws the task itself, as one in Rust would, must take the same bits of random's generator as
    # random.choice: a seeded run then picks what Locust picks)
    picked = []

    class TS(TaskSet):
        @task(2)
        def x(self):
            picked.append("x")

        @task
        def y(self):
            picked.append("y")

        @task(4)
        def z(self):
            picked.append("z")

    class U(User):
        wait_time = constant(0)

        @task(3)
        def a(self):
            picked.append("a")

        @task
        def b(self):
            picked.append("b")

    for user_class, tasks in ((U, U.tasks), (type("V", (User,), {"wait_time": constant(0), "tasks": [TS]}), TS.tasks)):
        picked.clear()
        random.seed(2024)
        sleeps.calls.clear()
        sleeps.limit = 300
        run(user_class(env))
        same = random.Random(2024)
        if user_class is not U:
            same.choice(user_class.tasks)  # (the user's one task, the TaskSet, drawn first)
        assert len(picked) == 300
        assert picked == [same.choice(tasks).__name__ for _ in picked]


def test_what_a_task_gives_its_taskset_is_seen_by_the_wait_after_it(env, sleeps, run):
    later = []

    class TS(TaskSet):
        @task
        def t(self):
            if len(sleeps.calls) == 2:
                self.wait_time = lambda: 7  # an instance's own wait_time, from this very wait on
            if len(sleeps.calls) == 4:
                self.schedule_task(TS.later_task)  # a task scheduled by hand runs next

        def later_task(self):
            later.append(len(sleeps.calls))

    class U(User):
        wait_time = constant(1)
        tasks = [TS]

    sleeps.limit = 8
    run(U(env))
    assert sleeps.seconds == [1, 1, 7, 7, 7, 7, 7, 7]
    assert later == [5]


def test_nested_tasksets_interrupt_and_reschedule(env, sleeps, run):
    log = []

    class Inner(TaskSet):
        wait_time = constant(2)
        n = 0

        def on_start(self):
            log.append(
                ("inner on_start", type(self.parent).__name__, type(self.user).__name__)
            )

        def on_stop(self):
            log.append("inner on_stop")

        @task
        def step(self):
            Inner.n += 1
            log.append(("inner", Inner.n))
            if Inner.n == 2:
                raise RescheduleTask()
            if Inner.n == 3:
                raise RescheduleTaskImmediately()
            if Inner.n == 4:
                raise ValueError("inner boom")
            if Inner.n == 5:
                self.interrupt(reschedule=False)
            if Inner.n == 7:
                self.interrupt()

    class U(User):
        wait_time = constant(1)
        k = 0

        def on_stop(self):
            log.append("user on_stop")

        @task
        def t(self):
            U.k += 1
            log.append(("user", U.k))
            if U.k == 1:
                self._taskset_instance.schedule_task(Inner)
            if U.k == 2:
                self._taskset_instance.schedule_task(Inner, first=True)
                self._taskset_instance.schedule_task(U.extra)
            if U.k == 4:
                raise StopUser()

        def extra(self):
            log.append("extra")

    greenlet = run(U(env))
    assert greenlet.successful()
    assert log == [
        ("user", 1),
        ("inner on_start", "U", "U"),
        ("inner", 1),
        ("inner", 2),  # RescheduleTask: still waits
        ("inner", 3),  # RescheduleTaskImmediately: no wait
        ("inner", 4),  # generic error: logged, then waits
        ("inner", 5),  # interrupt(reschedule=False): parent waits
        "inner on_stop",
        ("user", 2),
        ("inner on_start", "U", "U"),  # scheduled first
        ("inner", 6),
        ("inner", 7),  # interrupt(): parent does not wait
        "inner on_stop",
        "extra",  # then the queued function task
        ("user", 3),
        ("user", 4),
        "user on_stop",
    ]
    waits = [(type(ts).__name__, s) for ts, s, _ in sleeps.calls]
    assert waits == [
        ("DefaultTaskSet", 1),  # after user 1
        ("Inner", 2),  # after inner 1
        ("Inner", 2),  # after inner 2 (RescheduleTask)
        ("Inner", 2),  # after inner 4 (error)
        ("DefaultTaskSet", 1),  # interrupt(reschedule=False) -> parent waits
        ("DefaultTaskSet", 1),  # after user 2
        ("Inner", 2),  # after inner 6
        ("DefaultTaskSet", 1),  # after extra
        ("DefaultTaskSet", 1),  # after user 3
    ]
    [(instance, error, tb)] = env.user_errors
    assert (
        type(instance) is Inner
        and isinstance(error, ValueError)
        and tb is error.__traceback__
    )


def test_generic_exception_logged_fired_then_wait(env, sleeps, run, caplog):
    class U(User):
        wait_time = constant(0.25)

        @task
        def t(self):
            raise KeyError("broken task")

    sleeps.limit = 3
    with caplog.at_level(logging.DEBUG):
        run(U(env))
    assert len(env.user_errors) == 3
    instance, error, tb = env.user_errors[0]
    assert (
        type(instance) is DefaultTaskSet
        and isinstance(error, KeyError)
        and tb is not None
    )
    assert sleeps.seconds == [0.25] * 3
    records = [r for r in caplog.records if r.name == "locust.user.task"]
    assert len(records) == 3
    msg = records[0].getMessage()
    assert records[0].levelno == logging.ERROR
    assert msg.startswith("'broken task'\nTraceback (most recent call last):")
    assert msg.rstrip().endswith("KeyError: 'broken task'")


def test_exception_not_caught_kills_user_without_on_stop(make_env, sleeps, run):
    env = make_env(catch_exceptions=False)
    stopped = []

    class U(User):
        def on_stop(self):
            stopped.append(1)

        @task
        def t(self):
            raise KeyError("fatal")

    greenlet = run(U(env))
    assert isinstance(greenlet.exception, KeyError)
    assert stopped == [] and sleeps.calls == []
    assert len(env.user_errors) == 1


@pytest.mark.parametrize("exc", [StopUser(), StopTest("only this user")])
def test_stop_exceptions_run_on_stop_chain_innermost_first(
    env, sleeps, run, caplog, exc
):
    order = []

    class Level2(TaskSet):
        def on_stop(self):
            order.append("Level2")

        @task
        def x(self):
            raise exc

    class Level1(TaskSet):
        tasks = [Level2]

        def on_stop(self):
            order.append("Level1")
            raise RuntimeError("on_stop failure is only logged")

    class U(User):
        tasks = [Level1]

        def on_stop(self):
            order.append("User")

    with caplog.at_level(logging.DEBUG):
        greenlet = run(U(env))
    assert greenlet.successful() and greenlet.value is None
    assert order == ["Level2", "Level1", "User"]
    assert env.user_errors == [] and sleeps.calls == []
    logged = [r.getMessage() for r in caplog.records if r.name == "root"]
    assert any(
        m.startswith("Uncaught exception in on_stop: \n") and "RuntimeError" in m
        for m in logged
    )


def test_interrupt_at_user_level_kills_the_greenlet(env, sleeps, run):
    stopped = []

    class U(User):
        def on_stop(self):
            stopped.append(1)

        @task
        def t(self):
            raise InterruptTaskSet()

    greenlet = run(U(env))
    assert type(greenlet.exception) is RescheduleTaskImmediately
    assert stopped == []

    class V(User):
        @task
        def t(self):
            self._taskset_instance.interrupt(reschedule=False)

    assert type(run(V(env)).exception) is RescheduleTask


def test_interrupt_in_nested_on_start(env, sleeps, run):
    log = []

    class Leaves(TaskSet):
        def on_start(self):
            log.append("on_start")
            if len(log) > 5:
                raise StopUser()  # bound the run if the parent stopped waiting
            self.interrupt(reschedule=False)

        def on_stop(self):
            log.append("on_stop (must not run)")

        @task
        def never(self):
            log.append("never")

    class U(User):
        wait_time = constant(7)
        tasks = [Leaves]

    sleeps.limit = 2
    run(U(env))
    assert log == ["on_start", "on_start"]
    assert [(type(ts).__name__, s) for ts, s, _ in sleeps.calls] == [
        ("DefaultTaskSet", 7)
    ] * 2


def test_on_start_generic_exception(env, sleeps, run, caplog):
    stopped = []

    class U(User):
        def on_start(self):
            raise ValueError("bad start")

        def on_stop(self):
            stopped.append(1)

        @task
        def t(self):
            stopped.append("task must not run")

    with caplog.at_level(logging.DEBUG):
        user = U(env)
        greenlet = run(user)
    assert isinstance(greenlet.exception, ValueError)
    assert stopped == []
    [(instance, error, tb)] = env.user_errors
    assert instance is user and isinstance(error, ValueError) and tb is not None
    [record] = [r for r in caplog.records if r.name == "locust.user.users"]
    assert record.levelno == logging.ERROR and record.getMessage().startswith(
        "bad start\nTraceback"
    )


@pytest.mark.parametrize("exc_type", [StopUser, StopTest])
def test_on_start_stop_exceptions_run_on_stop(env, sleeps, run, caplog, exc_type):
    stopped = []

    class U(User):
        def on_start(self):
            raise exc_type("leaving")

        def on_stop(self):
            stopped.append(1)

    with caplog.at_level(logging.DEBUG):
        greenlet = run(U(env))
    assert greenlet.successful()
    assert stopped == [1]
    assert env.user_errors == []  # no user_error for StopUser/StopTest
    assert any(
        r.name == "locust.user.users" and r.getMessage().startswith("leaving\n")
        for r in caplog.records
    )


def test_graceful_stop_while_running(env, sleeps, run):
    log = []

    class U(User):
        @task
        def t(self):
            log.append(("task", self._state))
            log.append(("stop returned", self.stop()))
            log.append(("state", self._state))

        def on_stop(self):
            log.append(("on_stop", self._state))

    greenlet = run(U(env))
    assert greenlet.successful()
    assert log == [
        ("task", "running"),
        ("stop returned", False),
        ("state", "stopping"),
        ("on_stop", "stopping"),
    ]
    assert sleeps.calls == []  # wait() raised StopUser before sleeping


def test_stop_while_waiting_kills_immediately(env):
    log = []

    class U(User):
        wait_time = constant(30)

        @task
        def t(self):
            log.append("task")

        def on_stop(self):
            log.append(("on_stop", self._state))

    user = U(env)
    group = Group()
    greenlet = user.start(group)
    assert user.group is group and user.greenlet is greenlet
    assert greenlet.args[0] is user  # the runner finds the user this way
    assert greenlet in group
    gevent.sleep(0.05)
    assert user._state == "waiting"
    started = time.monotonic()
    assert user.stop() is True
    assert time.monotonic() - started < 5
    assert greenlet.dead and greenlet.successful()
    assert log == ["task", ("on_stop", "waiting")]
    assert len(group) == 0


def test_stop_before_running_and_unexpected_state(env):
    class U(User):
        @task
        def t(self):
            pass

    user = U(env)
    with pytest.raises(AttributeError):
        user.stop()  # never started: no group yet
    greenlet = user.start(Group())
    assert user._state is None
    assert user.stop() is True and greenlet.dead
    user._state = "bogus"
    with pytest.raises(
        Exception,
        match="Tried to stop User in an unexpected state: bogus. This should never happen.",
    ):
        user.stop()


def test_force_stop_while_running(env):
    log = []

    class U(User):
        @task
        def t(self):
            log.append("task")
            gevent.sleep(30)  # "mid-request"

        def on_stop(self):
            log.append("on_stop")

    user = U(env)
    greenlet = user.start(Group())
    gevent.sleep(0.05)
    assert user._state == "running"
    assert user.stop(force=True) is True
    assert greenlet.dead
    assert log == ["task", "on_stop"]


def test_a_users_constant_wait_time_is_read_where_the_call_would_find_it(env, sleeps, run):
    # (the binary's task loop reads `constant(x)`'s x without calling it: the instance, then the class, as the
    # call's own lookup goes)
    class U(User):
        wait_time = constant(1)

        @task
        def t(self):
            n = len(sleeps.calls)
            if n == 2:
                self.wait_time = lambda: 5  # the instance's own, from this wait on
            elif n == 4:
                del self.wait_time
                U.wait_time = constant(6)  # the class changed
            elif n == 6:
                cell = True
                U.wait_time.__code__ = (lambda instance: 7 if cell else 0).__code__  # the function changed in place

    sleeps.limit = 8
    run(U(env))
    assert sleeps.seconds == [1, 1, 5, 5, 6, 6, 7, 7]


def test_wait_time_sources(env, sleeps, run):
    class TSOwn(TaskSet):
        wait_time = constant(3)

        @task
        def t(self):
            pass

    class TSMethod(TaskSet):
        def wait_time(self):
            return 4

        @task
        def t(self):
            pass

    class TSUser(TaskSet):
        @task
        def t(self):
            pass

    for ts, expected in ((TSOwn, 3), (TSMethod, 4), (TSUser, 9)):

        class U(User):
            wait_time = constant(9)
            tasks = [ts]

        sleeps.calls.clear()
        sleeps.limit = 2
        run(U(env))
        assert sleeps.seconds == [expected, expected], ts


def test_min_max_wait_fallback(env, sleeps, run):
    class U(User):
        wait_time = None
        min_wait = 1000
        max_wait = 3000

        @task
        def t(self):
            pass

    sleeps.limit = 20
    run(U(env))
    assert all(1.0 <= s <= 3.0 for s in sleeps.seconds), sleeps.seconds
    # whole milliseconds, divided by 1000.0 (35 of the 2,001 such values times 1000 are not whole in floating point)
    assert all(s == round(s * 1000) / 1000.0 for s in sleeps.seconds), sleeps.seconds
    assert len(set(sleeps.seconds)) > 1


def test_missing_wait_time(env, sleeps, run):
    class U(User):
        wait_time = None

        @task
        def t(self):
            pass

    greenlet = run(U(env))
    assert type(greenlet.exception) is MissingWaitTimeError
    assert str(greenlet.exception) == (
        "You must define a wait_time method on either the {type(self.user).__name__} or {type(self).__name__} class"
    )
    # the first one is reported, the second one (from the error handler's wait) escapes
    assert [type(e) for _, e, _ in env.user_errors] == [MissingWaitTimeError]


def test_task_arguments(env, sleeps, run):
    seen = []

    class Other:
        def method(self, arg):
            seen.append(("other.method", type(arg).__name__))

    other = Other()

    def plain(arg):
        seen.append(("plain", type(arg).__name__))

    class TS(TaskSet):
        tasks = [plain, other.method]

        @task
        def own(self):
            seen.append(("own", type(self).__name__))

        def on_start(self):
            self.schedule_task(
                self.own
            )  # a bound method of this TaskSet: called without args

    class U(User):
        tasks = [TS]

        def on_start(self):
            self._taskset_instance.schedule_task(plain)
            self._taskset_instance.schedule_task(other.method)

    random.seed(7)
    sleeps.limit = 40
    run(U(env))
    assert seen[:3] == [("plain", "U"), ("other.method", "U"), ("own", "TS")]
    assert set(seen[3:]) == {("plain", "TS"), ("other.method", "TS"), ("own", "TS")}


def test_no_tasks_messages(env, sleeps, run):
    class WithTypo(User):
        task = "oops"

    class Empty(User):
        pass

    class TSTypo(TaskSet):
        task = 1

    class NestedTypo(User):
        tasks = [TSTypo]

    expected = {
        WithTypo: "No tasks defined on WithTypo, but you have set a 'task' attribute on your class - maybe you meant "
        "to set 'tasks'? Use the @task decorator or set the 'tasks' attribute of the User (or mark it as "
        "abstract = True if you only intend to subclass it)",
        Empty: "No tasks defined on Empty. Use the @task decorator or set the 'tasks' attribute of the User "
        "(or mark it as abstract = True if you only intend to subclass it)",
        NestedTypo: "No tasks defined on TSTypo, but you have set a 'task' attribute - maybe you meant to set "
        "'tasks'? use the @task decorator or set the 'tasks' attribute of the TaskSet",
    }
    for cls, message in expected.items():
        env.user_errors.clear()
        sleeps.calls.clear()
        sleeps.limit = 3
        greenlet = run(cls(env))
        assert greenlet.successful()
        assert len(env.user_errors) == 3  # logged and retried after every wait
        assert [str(e) for _, e, _ in env.user_errors] == [message] * 3

    class Plain(TaskSet):
        pass

    class NestedEmpty(User):
        tasks = [Plain]

    env.user_errors.clear()
    sleeps.calls.clear()
    run(NestedEmpty(env))
    assert str(env.user_errors[0][1]) == (
        "No tasks defined on Plain. use the @task decorator or set the 'tasks' attribute of the TaskSet"
    )


def test_sequential_taskset_runs_in_order(env, sleeps, run):
    seen = []

    class Seq(SequentialTaskSet):
        @task(2)
        def first(self):
            seen.append("first")

        tasks = [lambda ts: seen.append(("lambda", type(ts).__name__))]

        @task
        def last(self):
            seen.append("last")

    class U(User):
        tasks = [Seq]

    sleeps.limit = 8
    run(U(env))
    cycle = ["first", "first", ("lambda", "Seq"), "last"]
    assert seen == cycle * 2


def test_empty_sequential_taskset(env, sleeps, run):
    class Seq(SequentialTaskSet):
        pass

    class U(User):
        tasks = [Seq]

    sleeps.limit = 1
    run(U(env))
    assert str(env.user_errors[0][1]) == (
        "No tasks defined. Use the @task decorator or set the 'tasks' attribute of the SequentialTaskSet"
    )


def test_real_time_wait_and_user_wait(env, run):
    calls = []

    class U(User):
        wait_time = constant(0.05)

        @task
        def t(self):
            calls.append(time.perf_counter())

    user = U(env)
    greenlet = user.start(Group())
    gevent.sleep(0.32)
    user.stop(force=True)
    assert greenlet.dead
    assert 4 <= len(calls) <= 8
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert all(g >= 0.045 for g in gaps)

    class W(User):
        wait_time = constant(0.1)

        @task
        def t(self):
            started = time.perf_counter()
            self.wait()
            calls.append(("waited", time.perf_counter() - started))
            raise StopUser()

    calls.clear()
    run(W(env))
    assert len(calls) == 1 and calls[0][1] >= 0.09


def test_user_level_helpers(env):
    def make():
        class Inner(User):
            host = "http://example.invalid"
            weight = 2.5
            fixed_count = 3

            @task(2)
            def first(self):
                pass

            @task
            class Nested(TaskSet):
                @task
                def n(self):
                    pass

        return Inner

    cls = make()
    assert cls.fullname() == f"{__name__}.test_user_level_helpers.make.Inner"
    assert cls.json() == {
        "host": "http://example.invalid",
        "weight": 2.5,
        "fixed_count": 3,
        "tasks": ["first", "first", "Nested"],
    }
    user = cls(env)
    assert user.environment is env
    assert (
        user._state is None
        and user._greenlet is None
        and user._taskset_instance is None
    )
    assert user.context() == {}
    assert user._cp_last_wait_time == 0 and user._cp_last_run <= time.perf_counter()
    assert User.wait_time(user) == 0
    assert (
        User.host,
        User.weight,
        User.fixed_count,
        User.min_wait,
        User.max_wait,
        User.wait_function,
    ) == (
        None,
        1,
        0,
        None,
        None,
        None,
    )


def test_taskset_init_attributes(env):
    class U(User):
        min_wait = 100
        max_wait = 200
        wait_function = staticmethod(lambda: 1)
        client = "the-client"

    class Outer(TaskSet):
        pass

    class Inner(TaskSet):
        min_wait = 5

    user = U(env)
    outer = Outer(user)
    inner = Inner(outer)
    assert outer.user is user and outer.parent is user
    assert inner.user is user and inner.parent is outer
    assert (outer.min_wait, outer.max_wait) == (100, 200)
    assert (inner.min_wait, inner.max_wait) == (5, 200)
    assert inner.client == "the-client"
    assert len(inner._task_queue) == 0 and inner._cp_last_wait_time == 0
    inner.schedule_task("a")
    inner.schedule_task("b", first=True)
    assert list(inner._task_queue) == ["b", "a"]
    # the queue is a list (a deque's first block is ~770 bytes a user) with the deque methods Locust's is used by
    queue = inner._task_queue
    queue.extendleft(["c", "d"])
    assert list(queue) == ["d", "c", "b", "a"]
    queue.rotate()
    assert list(queue) == ["a", "d", "c", "b"]
    queue.rotate(-2)
    assert list(queue) == ["c", "b", "a", "d"]
    assert queue.popleft() == "c" and queue.pop() == "d"
    queue.appendleft("e")
    assert list(queue) == ["e", "b", "a"]


def test_a_deque_put_in_the_task_queue_is_used_as_locust_uses_its_own(env, sleeps, run):
    # (Locust's own tests replace a TaskSet's _task_queue with a deque of bound methods)
    log = []

    class U(User):
        wait_time = constant(0)

        @task
        def t(self):
            log.append("t")
            if len(log) >= 4:
                raise StopUser()

        def on_start(self):
            self._taskset_instance._task_queue = deque([U.first, U.second])

        def first(self):
            log.append("first")

        def second(self):
            log.append("second")
            self._taskset_instance.schedule_task(U.first, first=True)

    run(U(env))
    assert log == ["first", "second", "first", "t"]


@pytest.mark.parametrize("exc_type", [StopUser, StopTest])
def test_stop_exception_from_on_stop_during_interrupt_propagates(
    env, sleeps, run, caplog, exc_type
):
    log = []

    class Inner(TaskSet):
        @task
        def leave(self):
            log.append("leave")
            if log.count("leave") > 3:
                raise StopUser()  # bound the run even if the on_stop exception were swallowed
            self.interrupt()

        def on_stop(self):
            log.append("inner on_stop")
            raise exc_type()

    class U(User):
        tasks = [Inner]

        def on_stop(self):
            log.append("user on_stop")

    with caplog.at_level(logging.DEBUG):
        greenlet = run(U(env))
    assert greenlet.successful()
    assert log == ["leave", "inner on_stop", "user on_stop"]
    assert not [
        r for r in caplog.records if "Uncaught exception in on_stop" in r.getMessage()
    ]


def test_stop_requested_during_wait_raises_stop_user_after_sleep(env, run, monkeypatch):
    log = []

    def sleep_and_get_stopped(self, seconds):
        log.append(("sleep", seconds, self.user._state))
        if len(log) > 10:
            raise gevent.GreenletExit()  # bound the run even if the stop were ignored
        self.user._state = LOCUST_STATE_STOPPING  # e.g. stop() arriving from elsewhere
        gevent.sleep(0)

    monkeypatch.setattr(TaskSet, "_sleep", sleep_and_get_stopped)

    class U(User):
        wait_time = constant(2)

        @task
        def t(self):
            log.append("task")

        def on_stop(self):
            log.append(("on_stop", self._state))

    assert run(U(env)).successful()
    assert log == ["task", ("sleep", 2, "waiting"), ("on_stop", "stopping")]


def _entries(tb):
    """(function, line, instruction) of each entry. An entry at a call of a C function (`_aio.run`) is at its
    PRECALL once CPython 3.11 has specialized that call and at its CALL before (the same call, the same text): taken
    as the CALL."""
    import dis

    out = []
    while tb is not None:
        code, lasti = tb.tb_frame.f_code, tb.tb_lasti
        ins = list(dis.get_instructions(code))
        at = [i for i, x in enumerate(ins) if x.offset == lasti and x.opname == "PRECALL"]
        if at:
            lasti = next(x.offset for x in ins[at[0]:] if x.opname == "CALL")
        out.append((code.co_name, tb.tb_lineno, lasti))
        tb = tb.tb_next
    return out


def _failing_user(case):
    """A user whose pass raises, for each place of the loop an exception can come from."""

    class Inner(TaskSet):
        @task
        def t(self):
            raise KeyError("in a TaskSet's task")

    class Waits(TaskSet):
        def wait_time(self):
            raise ValueError("the TaskSet's wait_time")

        @task
        def t(self):
            pass

    class U(User):
        if case == "function":
            @task
            def t(self):
                raise KeyError("in a task")
        elif case == "async":
            @task
            async def t(self):
                raise KeyError("in an async task")
        elif case == "taskset":
            tasks = [Inner]
        elif case == "taskset-wait-time":
            tasks = [Waits]
        elif case in ("wait-time", "rescheduled"):
            def wait_time(self):
                raise ValueError("the user's wait_time")

            @task
            def t(self):
                if case == "rescheduled":
                    raise RescheduleTask()
        elif case == "bad-seconds":
            def wait_time(self):
                return "soon"

            @task
            def t(self):
                pass

    return U


# The task loop in Rust is the binary's: this test exists where the shim runs on it (`make test-python` runs this
# file under rlocust-python too); the stand-in engine of a plain `python -m pytest` has the Python loop only.
if EMBEDDED:

    @pytest.mark.parametrize("case", ["function", "async", "taskset", "taskset-wait-time", "wait-time", "rescheduled",
                                      "bad-seconds"])
    def test_an_exception_of_a_pass_has_the_traceback_the_python_loop_gives_it(env, run, monkeypatch, request, case):
        # The task loop in Rust (src/py/task_loop.rs) calls a task without the frames of execute_next_task and
        # execute_task; the report groups exceptions by their traceback, so it must read as the Python loop's.
        import sys
        import traceback

        shim = sys.modules["locust.user.task"]
        assert shim._task_loop is not None, "the binary's shim runs the task loop in Rust"
        # (a recorder's sleeps end the runs whose wait does not fail; "bad-seconds" fails in gevent's own sleep)
        sleeps = None if case == "bad-seconds" else request.getfixturevalue("sleeps")
        seen = {}
        for loop in ("rust", "python"):
            if loop == "python":
                monkeypatch.setattr(shim, "_task_loop", None)
            env.user_errors.clear()
            if sleeps is not None:
                sleeps.calls.clear()
                sleeps.limit = 3
            run(_failing_user(case)(env))
            assert env.user_errors, loop
            _, error, tb = env.user_errors[0]
            seen[loop] = (type(error), "".join(traceback.format_tb(tb)), _entries(tb))
        assert seen["rust"] == seen["python"]
        names = [name for name, _, _ in seen["python"][2]]
        waits = ("taskset-wait-time", "wait-time", "rescheduled", "bad-seconds")
        assert names[:2] == ["run", "wait" if case in waits else "execute_next_task"], names
