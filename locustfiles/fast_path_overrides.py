# diff: -u 7 -r 100 -t 3s
# diff-check: all -shares
# diff-expect: exit=0 failures=0
# diff-markers: mode=seq ^MARK next .*
# diff-markers: mode=seq ^MARK sleep .*
# diff-markers: mode=seq ^MARK wait .*
# diff-markers: mode=seq ^MARK execute .*
# diff-markers: mode=seq ^MARK method .*
# diff-markers: mode=seq ^MARK client .*
# diff-markers: mode=seq ^MARK instance .*
"""What a locustfile may override in the loop a user runs (issue 29's fast paths must fall back to it): a TaskSet's
own get_next_task, _sleep, wait and execute_task, a wait_time method that returns 0 and then seconds, the user's
client replaced by a wrapper in on_start, and a wait_time and _sleep set on the instance. One user each; each prints
what it saw for its first few tasks, in order, then goes on quietly until the run ends."""
import gevent

from locust import HttpUser, TaskSet, constant, task

SHOWN = 5


def mark(user, *parts):
    user.marked = getattr(user, "marked", 0) + 1
    if user.marked <= SHOWN:
        print("MARK", *parts, flush=True)


class Cycle(TaskSet):
    """Its own task order: a, b, c, a, ... (Locust picks at random)."""

    turn = 0

    def get_next_task(self):
        chosen = self.tasks[self.turn % len(self.tasks)]
        self.turn += 1
        return chosen

    @task
    def a(self):
        mark(self.user, "next", "a")
        self.client.get("/hello?next=a")

    @task
    def b(self):
        mark(self.user, "next", "b")
        self.client.get("/hello?next=b")

    @task
    def c(self):
        mark(self.user, "next", "c")
        self.client.get("/hello?next=c")


class NextTask(HttpUser):
    fixed_count = 1
    wait_time = constant(0)
    tasks = [Cycle]


class Sleeps(TaskSet):
    """Its own _sleep (what TaskSet.wait sleeps with): sees every wait's seconds, sleeps a tenth of them."""

    waits = iter([0, 0.01, 0.2, 0, 0.02, 1.5])

    def wait_time(self):
        return next(self.waits, 0.01)

    def _sleep(self, seconds):
        mark(self.user, "sleep", repr(seconds))
        gevent.sleep(seconds / 10)

    @task
    def t(self):
        self.client.get("/hello?sleep")


class SleepHook(HttpUser):
    fixed_count = 1
    tasks = [Sleeps]


class Waits(TaskSet):
    """Its own wait(): counts, then waits as TaskSet does."""

    wait_time = constant(0.01)
    count = 0

    def wait(self):
        self.count += 1
        mark(self.user, "wait", self.count, self.user._state)
        super().wait()

    @task
    def t(self):
        self.client.get("/hello?wait")


class WaitOverride(HttpUser):
    fixed_count = 1
    tasks = [Waits]


class Executes(TaskSet):
    """Its own execute_task(): names each task, then runs it as TaskSet does."""

    wait_time = constant(0)

    def execute_task(self, task):
        mark(self.user, "execute", task.__name__)
        super().execute_task(task)

    @task
    def only(self):
        self.client.get("/hello?execute")


class ExecuteOverride(HttpUser):
    fixed_count = 1
    tasks = [Executes]


class WaitMethod(HttpUser):
    """wait_time as a method: 0 (the hub's yield), then seconds, then 0 again."""

    fixed_count = 1
    n = 0

    def wait_time(self):
        self.n += 1
        seconds = 0 if self.n % 3 else 0.01
        mark(self, "method", self.n, seconds)
        return seconds

    @task
    def t(self):
        self.client.get("/hello?method")


class Counting:
    """A client of the locustfile's own around the user's session: counts the calls, then passes them on."""

    def __init__(self, user, inner):
        self.user = user
        self.inner = inner
        self.calls = 0

    def get(self, url, **kwargs):
        self.calls += 1
        response = self.inner.get(url, **kwargs)
        mark(self.user, "client", self.calls, url, response.status_code, kwargs.get("name"))
        return response


class ClientReplaced(HttpUser):
    fixed_count = 1
    wait_time = constant(0)

    def on_start(self):
        self.client = Counting(self, self.client)

    @task
    def t(self):
        self.client.get("/hello?client", name="wrapped" if self.client.calls % 2 else None)


class Instance(HttpUser):
    """wait_time and the TaskSet's _sleep set on the instances in on_start."""

    fixed_count = 1
    wait_time = constant(5)

    def on_start(self):
        self.wait_time = lambda: 0.02
        tasks = self._taskset_instance

        def recorded(seconds):
            mark(self, "instance", "sleep", seconds)
            gevent.sleep(seconds)

        tasks._sleep = recorded

    @task
    def t(self):
        self.client.get("/hello?instance")
