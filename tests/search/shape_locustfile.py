"""A locustfile with a LoadTestShape: --search refuses it (the shape sets the load itself)."""

from locust import HttpUser, LoadTestShape, constant, task


class Visitor(HttpUser):
    wait_time = constant(1)

    @task
    def visit(self):
        self.client.get("/hello")


class Steps(LoadTestShape):
    def tick(self):
        return (1, 1) if self.get_run_time() < 2 else None
