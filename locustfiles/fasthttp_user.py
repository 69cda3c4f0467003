# diff: -u 3 -r 100 -t 4s
# diff-shares: cluster=4
# diff-expect: exit=1 rows=14 failures=6 exceptions=0
"""FastHttpUser (seed 001 tuning): plain calls, LocustBadStatusCode failures, catch_response with JSON, the rest()
helper (its JSON parse and assertion failures), rename_request (new for FastHttpSession in 2.47), an absolute URL
(kept whole as the name), default_headers, redirects and gzip."""
from locust import FastHttpUser, constant, task


class Fast(FastHttpUser):
    wait_time = constant(0)
    default_headers = {"X-Client": "fast"}

    @task
    def plain(self):
        self.client.get("/")
        self.client.get("/status/404")
        self.client.post("/status/500", name="/status/[5xx]")
        self.client.get("/status/299", name="/status/299 (not in FastHttp's valid codes)")

    @task
    def validate_json(self):
        with self.client.get("/json", catch_response=True) as response:
            if response.json()["greeting"] != "hello":
                response.failure("Did not get expected value in greeting")
        with self.client.get("/headers", catch_response=True) as response:
            if response.json()["headers"].get("x-client") != "fast":
                response.failure("default_headers were not sent")

    @task
    def rest_helper(self):
        with self.rest("POST", "/items/4", json={"a": 1}) as resp:
            if resp.js["id"] != "4":
                resp.failure(f"unexpected id {resp.js['id']}")
        with self.rest("GET", "/hello", name="rest:text page") as resp:
            pass
        with self.rest("GET", "/json", name="rest:assert with comma") as resp:
            assert resp.js["greeting"] == "bye", "wrong greeting,"
        with self.rest("GET", "/json", name="rest:bare assert") as resp:
            assert resp.js["items"] == []

    @task
    def grouping(self):
        with self.client.rename_request("/items/[id] fast"):
            for i in range(3):
                self.client.get(f"/items/{i}")
        self.client.get(f"{self.host}/items/42?full=1")
        self.client.get("/redirect/2", name="/redirect/[n] fast")
        if self.client.get("/gzip").json()["gzipped"] is not True:
            raise AssertionError("gzip body was not decoded")
