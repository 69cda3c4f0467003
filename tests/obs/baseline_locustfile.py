"""Three names against rlocust-target for the baseline tests (tests/obs/test_baseline.py): /fast (about 0.1 ms),
/other (20 ms) and /slow (SLOW_MS, 50 by default; the tests make it 20 % slower between two runs)."""

import os

from locust import HttpUser, between, task

SLOW_MS = int(os.environ.get("SLOW_MS", "50"))


class Compared(HttpUser):
    wait_time = between(0.0, 0.01)

    @task(2)
    def fast(self):
        self.client.get("/hello", name="/fast")

    @task
    def other(self):
        self.client.get("/delay/20", name="/other")

    @task
    def slow(self):
        self.client.get(f"/delay/{SLOW_MS}", name="/slow")
