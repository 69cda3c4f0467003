"""The capacity search tests' locustfile: one task whose response takes SEARCH_DELAY_MS (default 100) ms. With
--arrival-max-users M the open model can start at most M / 0.1 s iterations per second: above that arrivals are
dropped, so the capacity is known (M = 4: about 40/s, a little less for the generator's and the target's own time)."""

import os

from locust import HttpUser, constant, task

DELAY_MS = int(os.environ.get("SEARCH_DELAY_MS", "100"))


class Visitor(HttpUser):
    wait_time = constant(60)

    @task
    def visit(self):
        self.client.get(f"/delay/{DELAY_MS}", name="visit")
