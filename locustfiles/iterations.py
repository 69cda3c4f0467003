# diff-oracle: LOCUST_PLUGINS_BIN
# diff[three]: -u 3 -r 3 -t 30s -i 30
# diff[ramp]: -u 2 -r 1 -t 30s --iterations 4
# diff[respawn]: -u 3 -r 1 -t 30s --iterations 4
# diff[env]: -u 2 -r 2 -t 30s
# diff-env[env]: LOCUST_ITERATIONS=8
# diff-timeout: 20
# diff-check: all -shares
# diff-markers: mode=seq INFO/root: .*
# diff-markers: mode=count --run-time limit reached.*
# diff-expect: exit=0 rows=5 failures=0 exceptions=0
# diff-expect[three]: requests=33 count[start]=3
# diff-expect[ramp]: requests=6 count[start]=2
# diff-expect[respawn]: requests=8 count[start]=4
# diff-expect[env]: requests=10 count[start]=2
"""-i/--iterations N (locust-plugins' option; the oracle is Locust 2.47.0 with locust-plugins, see
tests/diff/README.md): N task runs in total, then each user stops at the start of its next task, and the
last one quits the runner, long before -t. Every counted task makes one request, so each run has exactly
N + (users started) requests; entering a TaskSet is not a task run. In `ramp`, the first user reaches the
limit alone; the user spawned a second later makes its on_start request and stops at its first task. In
`respawn`, Locust's ramp-up step at 2 s tops the live users up to 3 again (the one stopped at 1 s is
replaced), so four users start in all.

After the limit, users wait 3.1 s + 0.2 s per user before their next task (every task is followed by a wait:
the interrupts do not reschedule at once), so they stop one at a time (two users stopping in the same instant
would both see another user still running, and nobody would quit) and Locust has written its CSV files (once
a second) after the last request."""
import itertools

from locust import HttpUser, SequentialTaskSet, TaskSet, task

_numbers = itertools.count()


class Checkout(SequentialTaskSet):
    @task
    def cart(self):
        self.client.get("/items/1", name="cart")

    @task
    class Review(TaskSet):
        @task
        def write(self):
            self.client.post("/echo", json={"stars": 5}, name="review")
            self.interrupt(reschedule=False)

    @task
    def pay(self):
        self.client.post("/echo", json={"paid": True}, name="pay")

    @task
    def leave(self):
        self.client.get("/", name="leave")
        self.interrupt(reschedule=False)


class Shopper(HttpUser):
    tasks = [Checkout]

    def on_start(self):
        self.number = next(_numbers)
        self.client.get("/hello", name="start")

    def wait_time(self):
        runner = self.environment.runner
        if runner.iterations_started >= self.environment.parsed_options.iterations:
            return 3.1 + 0.2 * self.number
        return 0.05
