# diff: -u 5 -r 5 -t 4s
# diff-expect: exit=1 failures=1 exceptions=0
"""The README demo: a small shop-like flow against the bundled target (`make demo`).

Browses items, reads JSON, logs in once per user, and hits one missing page so the failure report has a row.
"""
from locust import HttpUser, between, task


class ShopVisitor(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self):
        self.client.post("/login", json={"username": "demo", "password": "secret"})

    @task(5)
    def browse(self):
        self.client.get("/")

    @task(3)
    def item(self):
        with self.client.get("/items/42", name="/items/[id]", catch_response=True) as resp:
            if resp.json().get("name") != "item-42":
                resp.failure("wrong item")

    @task(2)
    def profile(self):
        self.client.get("/me")

    @task(1)
    def missing(self):
        self.client.get("/status/404")
