"""Two Environments one after another in one script (as Locust's own test modules make them): each one's
statistics hold its own requests only, from the moment it is created; clear_all() empties the rows."""
import sys

import gevent

from locust import HttpUser, constant, task
from locust.env import Environment

HOST = sys.argv[1]


class First(HttpUser):
    host = HOST
    wait_time = constant(0.1)

    @task
    def a(self):
        self.client.get("/hello", name="/first")


class Second(HttpUser):
    host = HOST
    wait_time = constant(0.1)

    @task
    def b(self):
        self.client.get("/hello", name="/second")


def rows(env):
    return sorted(f"{method} {name}" for name, method in env.stats.entries.keys())


e1 = Environment(user_classes=[First])
r1 = e1.create_local_runner()
r1.start(2, spawn_rate=10)
gevent.sleep(0.6)
r1.quit()
print("first:", rows(e1), e1.stats.total.num_requests > 0)

e2 = Environment(user_classes=[Second])
print("second, new:", rows(e2), e2.stats.total.num_requests)
r2 = e2.create_local_runner()
r2.start(2, spawn_rate=10)
gevent.sleep(0.6)
r2.quit()
print("second:", rows(e2), e2.stats.total.num_requests > 0)
e2.stats.clear_all()
print("second, cleared:", rows(e2), e2.stats.total.num_requests, len(e2.stats.errors))
