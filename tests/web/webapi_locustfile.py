"""The locustfile of the web API side-by-side test (tests/web/test_api.py): two user classes, a failing request
and a task exception, so every table of the API has rows."""

from locust import HttpUser, constant, task


class WebsiteUser(HttpUser):
    wait_time = constant(0.2)

    @task(5)
    def index(self):
        self.client.get("/")

    @task
    def missing(self):
        self.client.get("/status/404", name="/does-not-exist")

    @task
    def boom(self):
        raise ValueError("intentional test exception")


class OtherUser(HttpUser):
    wait_time = constant(0.2)

    @task
    def post_it(self):
        self.client.post("/status/501", name="POST root")
