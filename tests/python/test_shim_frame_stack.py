"""A user's greenlet on a small frame stack (src/py/frame_stack.rs): its frames start in a 1 KiB chunk of a shared slab
in the binary, and whatever a locustfile does with them works as on CPython's own chunks: deep calls (past the
small chunk, and past a 16 KiB one), frames read while the user is parked (`gr_frame`, gevent's run info),
tracebacks, and users stopped while parked deep."""

import traceback
from types import BuiltinFunctionType

import gevent
import gevent.event
import gevent.util
from conftest import EMBEDDED
from gevent.pool import Group

from locust import User, constant, task
from locust.exception import StopUser
from locust.user import users

DEPTH = 300  # frames of ~100 bytes each: past the small chunk and past two 16 KiB chunks


def _down(n, at_bottom):
    if n == 0:
        return at_bottom()
    return _down(n - 1, at_bottom) + 1


# (the binary's engine only: the stand-in engine of a plain `python -m pytest` has no small frame stack; `make
# test-python` runs this file under rlocust-python too)
if EMBEDDED:

    def test_a_users_greenlet_runs_on_the_small_frame_stack_in_the_binary(env):
        wrapped = users._run_user_greenlet
        assert isinstance(wrapped, BuiltinFunctionType)
        assert wrapped is not users._run_user
        assert wrapped.__name__ == "_run_user"
        assert wrapped.__self__ is None  # so gevent names the greenlet `_run_user(<user>)`, as before

        class U(User):
            wait_time = constant(0)

            @task
            def t(self):
                raise StopUser()

        user = U(env)
        g = user.start(Group())
        assert ": _run_user(<" in repr(g)
        g.join(timeout=5)


def test_deep_calls_in_tasks_and_on_start_return_what_they_compute(env, run):
    log = []

    class U(User):
        wait_time = constant(0)

        def on_start(self):
            log.append(("on_start", _down(DEPTH, lambda: 0)))

        @task
        def t(self):
            log.append(("task", _down(DEPTH, lambda: 0)))
            if len(log) >= 4:
                raise StopUser()

    run(U(env))
    assert log == [("on_start", DEPTH)] + [("task", DEPTH)] * 3


def test_frames_of_a_user_parked_deep_are_readable_and_it_stops_cleanly(env):
    parked = gevent.event.Event()
    stopped = []

    class U(User):
        wait_time = constant(0)

        @task
        def t(self):
            def bottom():
                parked.set()
                gevent.sleep(30)
                return 0

            _down(DEPTH, bottom)

        def on_stop(self):
            stopped.append(_down(50, lambda: 0))

    group = Group()
    user = U(env)
    g = user.start(group)
    assert parked.wait(timeout=5)
    names = [f.name for f in traceback.extract_stack(g.gr_frame)]
    assert names.count("_down") == DEPTH + 1
    # the whole stack, from the greenlet's first frame to the sleep it is parked in
    assert names[:3] == ["_run_user", "run", "run"]
    assert names[-3:] == ["_down", "bottom", "sleep"]
    assert "t" in names
    info = "\n".join(gevent.util.format_run_info())
    assert "_down" in info
    user.stop(force=True)
    g.join(timeout=5)
    assert g.dead
    assert stopped == [50]


def test_a_deep_exception_has_every_frame_in_its_traceback(env, run):
    seen = []

    class U(User):
        wait_time = constant(0)

        @task
        def t(self):
            def boom():
                raise ValueError("deep")

            try:
                _down(DEPTH, boom)
            except ValueError as e:
                seen.append(sum(f.name == "_down" for f in traceback.extract_tb(e.__traceback__)))
            raise StopUser()

    run(U(env))
    assert seen == [DEPTH + 1]


def test_many_users_started_and_stopped_reuse_the_stacks_without_harm(env):
    counts = []

    class U(User):
        wait_time = constant(0)

        @task
        def t(self):
            counts.append(_down(20, lambda: 0))
            gevent.sleep(0)
            raise StopUser()

    for _ in range(3):
        group = Group()
        started = [U(env).start(group) for _ in range(200)]
        group.join(timeout=10)
        assert all(g.dead for g in started)
    assert counts == [20] * 600


def test_users_parked_deep_at_once_each_get_their_own_frames_back(env):
    results = []

    class U(User):
        wait_time = constant(0)

        @task
        def t(self):
            me = id(self)

            def bottom():
                gevent.sleep(0.01)  # every user parks here with its chain of chunks, then resumes on its own
                return me

            # twice: the second time the small chunk has been left for a larger one and come back to once
            for _ in range(2):
                results.append((me, _down(DEPTH, bottom) - DEPTH))
            raise StopUser()

    group = Group()
    made = [U(env) for _ in range(50)]
    for u in made:
        u.start(group)
    group.join(timeout=10)
    assert sorted(results) == sorted((id(u), id(u)) for u in made for _ in range(2))
