"""The locustfile of the docker-compose example: users that browse the master's web UI."""
from locust import HttpUser, between, task


class UiVisitor(HttpUser):
    wait_time = between(0.5, 2)

    @task(3)
    def dashboard(self):
        self.client.get("/")

    @task
    def stats(self):
        self.client.get("/stats/requests")
