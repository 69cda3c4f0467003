"""Each user makes exactly 20 requests in on_start (16 `/hello`, 4 failing `/fail`), then idles: the totals are
known while the run goes on, for queries against a scraper."""

from locust import HttpUser, constant, task

REQUESTS_PER_USER = 20
FAILURES_PER_USER = 4


class Counted(HttpUser):
    wait_time = constant(600)

    def on_start(self):
        for i in range(REQUESTS_PER_USER):
            if i % 5 == 4:
                self.client.get("/status/500", name="/fail")
            else:
                self.client.get("/hello", name="/hello")

    @task
    def idle(self):
        pass
