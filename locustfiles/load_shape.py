# diff:
# diff-check: all -shares
# diff-counts: abs=0 spawn
# diff-markers: mode=seq ^MARK
# diff-expect: exit=0 count[spawn]=4
"""A LoadTestShape: 2 users for 1.5 s, then 4 users until 3 s, then None (the shape ends the run; no -t)."""
import sys

from locust import HttpUser, LoadTestShape, constant, events, task


@events.spawning_complete.add_listener
def spawned(user_count, **kwargs):
    print(f"MARK spawning_complete user_count={user_count}", file=sys.stderr)


class ShapedUser(HttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        self.client.get("/hello", name="spawn")

    @task
    def work(self):
        self.client.get("/items/1", name="work")


class Steps(LoadTestShape):
    def tick(self):
        t = self.get_run_time()
        if t < 1.5:
            return 2, 100
        if t < 3:
            return 4, 100
        return None
