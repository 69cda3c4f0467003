# diff: -u 50 -t 60s
# diff-check: all -shares
# diff-counts: abs=0 spawn-.*
# diff-markers: mode=seq ^MARK
# diff-expect: exit=0 count[spawn-A]=2 count[spawn-B]=1
"""A LoadTestShape whose ticks name the user classes (2 A, then 3 users spawning only B: the A users keep running),
run with -u/-t that the shape ignores (Locust warns about them); the shape ends the run."""
import sys

from locust import HttpUser, LoadTestShape, constant, events, task


@events.spawning_complete.add_listener
def spawned(user_count, **kwargs):
    print(f"MARK spawning_complete user_count={user_count}", file=sys.stderr)


@events.test_stop.add_listener
def stopped(environment, **kwargs):
    print("MARK test_stop", file=sys.stderr)


class A(HttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        self.client.get("/hello", name="spawn-A")

    @task
    def work(self):
        self.client.get("/items/1", name="work-A")


class B(HttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        self.client.get("/hello", name="spawn-B")

    @task
    def work(self):
        self.client.get("/items/2", name="work-B")


class ClassSteps(LoadTestShape):
    def tick(self):
        t = self.get_run_time()
        if t < 1.5:
            return 2, 100, [A]
        if t < 3:
            return 3, 100, [B]
        return None
