"""The open workload tests' locustfile: one task whose response takes OPEN_DELAY_MS (default 10) milliseconds,
and a wait_time far longer than a test, so a run that still waited between iterations would start almost none."""

import os

from locust import HttpUser, constant, task

DELAY_MS = int(os.environ.get("OPEN_DELAY_MS", "10"))


class Visitor(HttpUser):
    wait_time = constant(60)

    def on_start(self):
        self.client.get("/hello", name="on_start")

    @task
    def visit(self):
        self.client.get(f"/delay/{DELAY_MS}", name="visit")
