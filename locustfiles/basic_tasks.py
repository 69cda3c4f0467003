# diff: -u 4 -r 4 -t 4s
# diff-shares: cluster=2 group=^(\w+):
# diff-expect: exit=0 rows=5 failures=0 exceptions=0 requests>=200
# requests>=200 proves the users loop with no wait (4 users, 4 s); the oracle made only 811 on a loaded CI machine.
"""Quick start (seed 000): @task methods with weights, a task making two requests, a shared pool_manager."""
from urllib3 import PoolManager

from locust import HttpUser, task


class HelloWorldUser(HttpUser):
    # no wait_time: the default constant(0)

    @task
    def hello_world(self):
        self.client.get("/hello", name="quick:/hello")
        self.client.get("/world", name="quick:/world")

    @task(3)
    def item(self):
        self.client.get("/items/1", name="quick:/items/1")

    @task(2)
    def index(self):
        self.client.get("/", name="quick:/")


class PooledUser(HttpUser):
    # All users of this class share one pool of at most 10 connections (seed 001 "Tuning").
    pool_manager = PoolManager(maxsize=10, block=True)

    @task
    def index(self):
        self.client.get("/json", name="pooled:/json")
