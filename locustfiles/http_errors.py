# diff: -u 2 -r 100 -t 3s
# diff-check: all -shares
# diff-expect: exit=1 rows=12 failures=9 exceptions=0
"""HTTP error statuses become failure rows with requests' HTTPError text ("404 Client Error: Not Found for url:
<name>"), for every method; redirects and 204 are successes; a 404 JSON body from the todo API; 401 from /me."""
from locust import HttpUser, constant, task


class Errors(HttpUser):
    wait_time = constant(0.05)

    @task
    def errors(self):
        self.client.get("/status/404")
        self.client.post("/status/500", json={"x": 1})
        self.client.put("/status/503", name="/status/[5xx]")
        self.client.patch("/status/422")
        self.client.delete("/todos/999999999")
        self.client.head("/status/404")
        self.client.options("/status/400")
        self.client.get("/me")
        self.client.get("/status/302", name="/status/302 -> /hello")
        self.client.get("/status/204")
        self.client.get("/nothing/here", params={"q": "1 2"})
        self.client.get("/status/201")
