"""A wait of 0 still gives every other greenlet its turn (locust._hub.yield_now).

A user that has just come back from a request goes on without yielding again (it handed the hub its turn in the
request); one whose task does no I/O yields on every wait, as gevent.sleep(0) does, so it starves neither the
users that make requests nor a greenlet of the locustfile's own. Each test runs the built binary on a locustfile
against the loopback target and bounds every wait.
"""

import re

LOCUSTFILE = """
import gevent
from locust import HttpUser, constant, events, task

counts = {"spins": 0, "calls": 0, "ticks": 0, "mixed": 0}


def ticker():
    while True:
        counts["ticks"] += 1
        gevent.sleep(0)


@events.test_start.add_listener
def on_test_start(**kw):
    gevent.spawn(ticker)


@events.quitting.add_listener
def on_quitting(**kw):
    print("MARK " + " ".join(f"{k} {v}" for k, v in counts.items()), flush=True)


class Spinner(HttpUser):
    wait_time = constant(0)

    @task
    def spin(self):
        counts["spins"] += 1


class Caller(HttpUser):
    wait_time = constant(0)

    @task
    def call(self):
        counts["calls"] += 1
        self.client.get("/hello")


class Mixed(HttpUser):
    # a request on every other task only: the task without one yields
    wait_time = constant(0)

    @task
    def maybe(self):
        counts["mixed"] += 1
        if counts["mixed"] % 2:
            self.client.get("/hello", name="mixed")
"""


def test_users_without_io_and_the_locustfiles_greenlet_all_get_turns(headless):
    r = headless(LOCUSTFILE, users=6, seconds=2)
    assert r.returncode == 0, r.stderr[-3000:]
    m = re.search(r"MARK spins (\d+) calls (\d+) ticks (\d+) mixed (\d+)", r.stdout)
    assert m, (r.stdout[-2000:], r.stderr[-2000:])
    spins, calls, ticks, mixed = map(int, m.groups())
    # every one of them ran all along: a greenlet that never got its turn back would stay near 0
    assert calls > 100 and mixed > 100 and ticks > 1000, (spins, calls, ticks, mixed)
    # NOTE: the spinners get far fewer turns than under Locust beside a greenlet that yields in a loop (about 800
    # against Locust's 119,000 in 2 s, and it was so before the users that come back from a request stopped
    # yielding): `_resume_ready` resumes the users that yield again at the loop's next pass, after up to a switch
    # interval of the other greenlet's callbacks.
    assert spins > 100, (spins, calls, ticks, mixed)
    # the watchdog did not have to interrupt anything: the run stopped as asked
    assert "did not yield" not in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]


WATCHED_STATE = """
from locust import HttpUser, constant, events, task

seen = {"prop_tasks": 0, "prop": [], "hook_tasks": 0, "hook": []}


@events.quitting.add_listener
def on_quitting(**kw):
    for who in ("prop", "hook"):
        writes = seen[who]
        flips = sum(1 for a, b in zip(writes, writes[1:]) if (a, b) == ("waiting", "running"))
        print(f"MARK {who} tasks {seen[who + '_tasks']} waiting {writes.count('waiting')} flips {flips}", flush=True)


class Property(HttpUser):
    # `_state` a property: every write runs code of the locustfile's
    wait_time = constant(0)

    @property
    def _state(self):
        return self.__dict__.get("_watched_state")

    @_state.setter
    def _state(self, value):
        seen["prop"].append(value)
        self.__dict__["_watched_state"] = value

    @task
    def call(self):
        seen["prop_tasks"] += 1
        self.client.get("/hello")


class Hook(HttpUser):
    # every attribute set through the class's own __setattr__
    wait_time = constant(0)

    def __setattr__(self, name, value):
        if name == "_state":
            seen["hook"].append(value)
        super().__setattr__(name, value)

    @task
    def call(self):
        seen["hook_tasks"] += 1
        self.client.get("/hello")
"""


def test_a_user_whose_state_writes_run_code_sees_every_wait_as_under_locust(headless):
    # A zero wait just after a request sets no state (nothing could see it): unless setting `_state` runs the
    # locustfile's code, which then sees the user waiting and running again after every task, as Locust's wait() sets them.
    r = headless(WATCHED_STATE, users=2, seconds=2)
    assert r.returncode == 0, r.stderr[-3000:]
    for who in ("prop", "hook"):
        m = re.search(rf"MARK {who} tasks (\d+) waiting (\d+) flips (\d+)", r.stdout)
        assert m, (r.stdout[-2000:], r.stderr[-2000:])
        tasks, waiting, flips = map(int, m.groups())
        assert tasks > 50, (who, tasks, waiting, flips)
        # (the last task's wait may be cut short by the stop)
        assert waiting >= tasks - 1 and flips >= tasks - 1, (who, tasks, waiting, flips)
