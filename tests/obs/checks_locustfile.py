"""A small steady load with one failing request name, for the threshold and check tests."""

from locust import HttpUser, constant, task


class Checked(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def ok(self):
        self.client.get("/hello", name="/hello")

    @task
    def slow(self):
        self.client.get("/delay/30", name="/slow")

    @task
    def fail(self):
        self.client.get("/status/500", name="/fail")
