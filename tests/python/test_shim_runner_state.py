"""runner.state as Locust's LocalRunner shows it, and stop()/quit() called in a user's own greenlet (Locust runs
stop() in that greenlet and the caller dies inside it). The state is the Rust runner's (`runner::Shared`, tested
in Rust); here a small stand-in keeps it with the same transitions, and the tests check that the Python side asks
for them at the right moments relative to the events and the greenlet kills."""

import pytest

import _rlocust
from locust import User, constant, task
from locust.env import Environment
from locust.event import Events
from locust.runners import STATE_CLEANUP, STATE_RUNNING, STATE_SPAWNING, STATE_STOPPED


class FakeEngine:
    """The runner functions of `_rlocust`: the Rust state with `runner::Shared`'s transitions, and a record of the
    control messages."""

    def __init__(self):
        self.state = STATE_RUNNING
        self.controls = []
        self.alive = {}

    def user_stop(self, step):
        if step == "begin":
            return self.state != STATE_STOPPED
        self.state = STATE_CLEANUP if step == "cleanup" else STATE_STOPPED
        return True

    def spawning_complete(self):
        if self.state == STATE_SPAWNING:
            self.state = STATE_RUNNING

    def install(self, monkeypatch):
        monkeypatch.setattr(_rlocust, "runner_state", lambda: self.state, raising=False)
        monkeypatch.setattr(_rlocust, "runner_user_stop", self.user_stop, raising=False)
        monkeypatch.setattr(_rlocust, "runner_spawning_complete", self.spawning_complete, raising=False)
        monkeypatch.setattr(_rlocust, "runner_control", lambda what, *a: self.controls.append(what), raising=False)
        monkeypatch.setattr(_rlocust, "user_started", lambda n: self.alive.update({n: self.alive.get(n, 0) + 1}),
                            raising=False)
        monkeypatch.setattr(_rlocust, "user_stopped", lambda n: self.alive.update({n: self.alive[n] - 1}),
                            raising=False)
        monkeypatch.setattr(_rlocust, "user_count", lambda: sum(self.alive.values()), raising=False)
        monkeypatch.setattr(_rlocust, "user_classes_count", lambda: list(self.alive.items()), raising=False)
        monkeypatch.setattr(_rlocust, "log_request", lambda *a: None, raising=False)


@pytest.fixture
def engine(monkeypatch):
    e = FakeEngine()
    e.install(monkeypatch)
    return e


def make(user_classes, log):
    events = Events()
    for name in ("spawning_complete", "test_stopping", "test_stop"):
        events.__dict__[name].add_listener(
            lambda _n=name, **_kw: log.append((_n, env.runner.state, env.runner.user_count)))
    env = Environment(user_classes=user_classes, events=events)
    env.create_local_runner()
    return env


def test_state_during_spawning_complete_and_stopping(engine):
    log = []

    class Idle(User):
        wait_time = constant(1)

        @task
        def t(self):
            pass

    env = make([Idle], log)
    seen_late = []
    env.events.spawning_complete.add_listener(lambda **_kw: seen_late.append(env.runner.state))
    runner = env.runner
    engine.state = STATE_SPAWNING
    runner._spawn("Idle", 1)
    runner._fire("spawning_complete", {"user_count": 1})  # the runner's own listener makes it "running"
    # the Rust runner's stop: test_stopping in the state it was in, then cleanup, stopped, test_stop
    runner._fire("test_stopping", {})
    engine.state = STATE_CLEANUP
    runner._stop(None, None, 0)  # every user (Stop with no class)
    engine.state = STATE_STOPPED
    runner._fire("test_stop", {})
    assert log == [("spawning_complete", STATE_SPAWNING, 1), ("test_stopping", STATE_RUNNING, 1),
                   ("test_stop", STATE_STOPPED, 0)]
    assert seen_late == [STATE_RUNNING]  # a listener added after the runner's own sees the new state


def test_quit_from_a_task_with_other_users_aborts_the_stop(engine):
    log = []
    after = []

    class Quitter(User):
        wait_time = constant(0.01)

        @task
        def t(self):
            self.environment.runner.quit()
            after.append("quit returned")

        def on_stop(self):
            log.append(("Quitter.on_stop",))

    class Other(User):
        wait_time = constant(0.01)

        @task
        def t(self):
            pass

        def on_stop(self):
            log.append(("Other.on_stop",))

    env = make([Quitter, Other], log)
    runner = env.runner
    runner._spawn("Other", 1)
    runner._fire("spawning_complete", {"user_count": 1})
    runner._spawn("Quitter", 1)  # (a second ramp: its own spawning_complete is not needed here)
    assert runner.user_greenlets.join(timeout=5), "the users did not end"
    assert after == [] and engine.controls == []  # the caller died inside quit(); the Rust runner was not told
    assert log[1:] == [("test_stopping", STATE_RUNNING, 2), ("Quitter.on_stop",), ("Other.on_stop",)]
    assert runner.state == STATE_CLEANUP and runner.user_count == 0
    # the run time ends: the Rust runner stops (again, for Locust too: a second test_stopping, in "cleanup")
    runner._fire("test_stopping", {})
    engine.state = STATE_STOPPED
    runner._fire("test_stop", {})
    assert log[-2:] == [("test_stopping", STATE_CLEANUP, 0), ("test_stop", STATE_STOPPED, 0)]
    assert runner.state == STATE_STOPPED


@pytest.mark.parametrize("how", ["quit", "stop"])
def test_quit_or_stop_from_the_only_user_completes(engine, how):
    log = []
    after = []

    class Alone(User):
        wait_time = constant(0.01)

        @task
        def t(self):
            getattr(self.environment.runner, how)()
            after.append(f"{how} returned")

        def on_stop(self):
            log.append(("on_stop",))

    env = make([Alone], log)
    runner = env.runner
    runner._spawn("Alone", 1)
    runner._fire("spawning_complete", {"user_count": 1})
    assert runner.user_greenlets.join(timeout=5), "the user did not end"
    # Locust: test_stop fires while the caller still counts; quit() never returns, stop() does
    assert log[1:] == [("test_stopping", STATE_RUNNING, 1), ("test_stop", STATE_STOPPED, 1), ("on_stop",)]
    assert after == ([] if how == "quit" else ["stop returned"])
    assert engine.controls == [how]
    assert runner.state == STATE_STOPPED  # so the Rust runner's stop fires nothing again (Shared::user_stop_begin)


def test_spawn_commands_construct_users_one_at_a_time(engine):
    """Two spawn commands running at once (the Rust runner's commands each get a greenlet) construct their users
    one after the other, as Locust's single spawning greenlet does: a User.__init__ that waits on I/O (connecting a
    client, starting milvus-lite) is never interleaved with another's."""
    import gevent

    log = []

    class Slow(User):
        wait_time = constant(1)

        def __init__(self, environment):
            log.append(("begin", type(self).__name__))
            gevent.sleep(0.02)
            log.append(("end", type(self).__name__))
            super().__init__(environment)

        @task
        def t(self):
            pass

    class First(Slow):
        pass

    class Second(Slow):
        pass

    env = make([First, Second], [])
    runner = env.runner
    engine.state = STATE_SPAWNING
    gevent.joinall([gevent.spawn(runner._spawn, "First", 2), gevent.spawn(runner._spawn, "Second", 1)], timeout=5)
    assert log == [("begin", "First"), ("end", "First"), ("begin", "First"), ("end", "First"),
                   ("begin", "Second"), ("end", "Second")]
    assert engine.alive == {"First": 2, "Second": 1}
    runner._stop(None, None, 0)
