"""Debugging with `python locustfile.py` (the shape of Locust's examples/debugging_advanced.py): run_single_user
runs each user once in this process; the users stop themselves with StopUser. The host comes from TARGET_URL."""
import os

from locust import HttpUser, run_single_user, task
from locust.exception import StopUser


class User1(HttpUser):
    host = os.environ["TARGET_URL"]

    @task
    def hello_world(self):
        with self.client.get("/hello", catch_response=True):
            pass
        raise StopUser()


class User2(HttpUser):
    host = os.environ["TARGET_URL"]

    @task
    def hello_world(self):
        with self.client.get("/status/500", catch_response=True):
            pass
        raise StopUser()


if __name__ == "__main__":
    print("running User1")
    run_single_user(User1)
    print("running User2")
    run_single_user(User2, include_length=True)
    print("done!")
