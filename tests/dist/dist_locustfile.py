"""The locustfile of the distributed tests: two user classes (one with failures, one with a task exception) and a
custom message exchange: the master sends `test_users` to every worker at test start, each worker answers
`acknowledge_users` with how many it got, and the master logs it."""

import logging

from locust import HttpUser, constant, events, task
from locust.runners import MasterRunner, WorkerRunner


class WebsiteUser(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def hello(self):
        self.client.get("/hello")

    @task
    def missing(self):
        self.client.get("/status/404", name="/status/404")


class OtherUser(HttpUser):
    wait_time = constant(0.2)

    @task
    def boom(self):
        self.client.get("/json")
        raise ValueError("intentional test exception")


def on_test_users(environment, msg, **_kw):
    logging.info(f"worker got test_users: {len(msg.data)} users, first {msg.data[0]['name']}")
    environment.runner.send_message("acknowledge_users", {"got": len(msg.data)})


def on_acknowledge(environment, msg, **_kw):
    logging.info(f"master got acknowledge_users from a worker: {msg.data['got']}")


@events.init.add_listener
def on_init(environment, **_kw):
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message("test_users", on_test_users)
    elif isinstance(environment.runner, MasterRunner):
        environment.runner.register_message("acknowledge_users", on_acknowledge)


@events.test_start.add_listener
def on_test_start(environment, **_kw):
    if isinstance(environment.runner, MasterRunner):
        environment.runner.send_message("test_users", [{"name": "u1"}, {"name": "u2"}])
