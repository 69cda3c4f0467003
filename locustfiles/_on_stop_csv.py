# Not a scenario of its own (tests/diff/test_on_stop_csv.py runs it under both tools): each user's on_stop
# makes one request, after the -t limit has stopped the users.
from locust import HttpUser, constant, task


class OnStopUser(HttpUser):
    wait_time = constant(0.5)

    @task
    def work(self):
        self.client.get("/", name="task")

    def on_stop(self):
        self.client.get("/", name="on_stop")
