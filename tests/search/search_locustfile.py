"""The capacity search tests' locustfile: one task whose response takes SEARCH_DELAY_MS (default 100) ms. With
--arrival-max-users M the open model can start at most M / 0.1 s iterations per second: above that arrivals are
dropped, so the capacity is known (M = 4: about 40/s, a little less for the generator's and the target's own time).
SEARCH_WAIT_S (default 60, far longer than a test) is the users' wait_time: a users search sets it to 0."""

import os

from locust import HttpUser, constant, task

DELAY_MS = int(os.environ.get("SEARCH_DELAY_MS", "100"))
WAIT_S = float(os.environ.get("SEARCH_WAIT_S", "60"))


class Visitor(HttpUser):
    wait_time = constant(WAIT_S)

    @task
    def visit(self):
        self.client.get(f"/delay/{DELAY_MS}", name="visit")
