# diff: -u 2 -r 2 -t 4s
# diff-check: all -shares
# diff-expect: exit=0 rows=10 failures=0
"""Grouping requests (seed 000): name=, client.request_name, rename_request(), absolute URLs, redirects."""
from locust import HttpUser, constant, task


class BlogUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def name_kwarg(self):
        for i in range(10):
            self.client.get("/blog?id=%i" % i, name="/blog?id=[id]")

    @task
    def request_name_attribute(self):
        self.client.request_name = "/article?id=[id]"
        for i in range(5):
            self.client.get("/article?id=%i" % i)
        self.client.request_name = None
        self.client.get("/article?id=99")

    @task
    def rename_context_manager(self):
        with self.client.rename_request("/blog?id=[id] (ctx)"):
            for i in range(3):
                self.client.get("/blog?id=%i" % i)
        with self.client.rename_request("/items/[id]"):
            self.client.get("/items/1")
            self.client.post("/items/2", json={"n": 2})
        self.client.get("/items/3")

    @task
    def absolute_url_and_redirects(self):
        self.client.get(self.host + "/items/5?x=1")
        self.client.get("/redirect?to=/json")
        self.client.get("/redirect/2", name="/redirect/[n]")
