"""The locustfile of tests/otel, run unchanged by real Locust 2.47 (with locust[otel]) and by rlocust.

Web (HttpUser) makes named, unnamed and failing calls and asks the target which `traceparent` it saw (a call
without one fails, and each one seen is appended to $OTEL_TEST_TRACEPARENTS when that is set); Fast
(FastHttpUser) gets no spans under Locust; both log through Python `logging`.
"""

import logging
import os
import re

from locust import FastHttpUser, HttpUser, constant, task

log = logging.getLogger("otel_test")
SEEN = os.environ.get("OTEL_TEST_TRACEPARENTS")
TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


class Web(HttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        log.warning("web user started")

    @task
    def calls(self):
        self.client.get("/")
        self.client.get("/status/500")
        self.client.get("/items/7?x=1", name="/items/[id]")
        with self.client.get("/headers", catch_response=True) as r:
            tp = r.json()["headers"].get("traceparent", "")
            if SEEN:
                with open(SEEN, "a") as f:
                    f.write(tp + "\n")
            if TRACEPARENT.fullmatch(tp):
                r.success()
            else:
                r.failure("no traceparent")


class Fast(FastHttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        log.warning("fast user started")

    @task
    def hello(self):
        self.client.get("/hello")
