"""A LoadTestShape (a closed model): an arrival rate cannot run with it."""

from locust import HttpUser, LoadTestShape, task


class Visitor(HttpUser):
    @task
    def visit(self):
        self.client.get("/hello")


class Steps(LoadTestShape):
    def tick(self):
        return (2, 2) if self.get_run_time() < 2 else None
