# diff: -u 3 -r 100 -t 4s
# diff-shares: cluster=1
# diff-markers: mode=count ^(start|end) test
# diff-expect: exit=1 rows=10 failures=2 exceptions=1 spread[seq:.*]<=3
"""Seed 001: a SequentialTaskSet declared inline with @task inside a class that shadows the name `User`,
OPTIONS calls to absolute URLs, the seed's literal `post("url", ...)` (an invalid URL: an exception in the task),
and the seed's sample user posting json.dumps() bodies with explicit headers and printing in on_start/on_stop."""
import json

from locust import HttpUser, SequentialTaskSet, between, task


class User(HttpUser):
    wait_time = between(0.01, 0.02)

    @task
    class SequenceOfTasks(SequentialTaskSet):
        @task
        def mainPage(self):
            self.client.get("/", name="seq:mainPage")

        @task
        def login(self):
            self.client.options(self.user.host + "/login", name="seq:login options")
            self.client.post("url", json={"username": "haha"})

        @task
        def clickProduct(self):
            self.client.options(self.user.host + "/items/1", name="seq:clickProduct options")
            self.client.post("/echo", json={"username": "haha"}, name="seq:clickProduct")

        @task
        def addToCart(self):
            self.client.options(self.user.host + "/todos", name="seq:addToCart options")
            self.client.post("/echo", json={"username": "haha"}, name="seq:addToCart")

        @task
        def viewCart(self):
            self.client.options(self.user.host + "/echo", name="seq:viewCart options")
            self.client.post("/echo", json={"username": "haha"}, name="seq:viewCart")
            self.interrupt()


class sample(HttpUser):
    fixed_count = 1
    wait_time = between(0.05, 0.15)
    access_token = ""

    def on_start(self):
        print("start test")

    def on_stop(self):
        print("end test")

    @task
    def login(self):
        data = {"id": "sample", "password": "ssss"}
        self.client.post("/api/auth/sign-in", json.dumps(data), headers={"Content-Type": "application/json"})

    @task
    def logout(self):
        self.client.post("/api/auth/sign-out", headers={"Content-Type": "application/json"})
