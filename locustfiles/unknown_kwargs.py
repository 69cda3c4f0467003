# diff: -u 1 -r 1 -t 3s
# diff-check: all -shares
# diff-markers: mode=seq ^MARK
# diff-expect: exit=0 failures=0 exceptions=0
"""A keyword argument a client call does not know: HttpSession refuses it as requests' Session.request does
(TypeError naming the first one, before anything is sent: no row), FastHttpSession lets it pass and sends."""
import sys

from locust import HttpUser, constant, task
from locust.contrib.fasthttp import FastHttpSession


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


class Caller(HttpUser):
    wait_time = constant(1)

    def on_start(self):  # (one user: once)
        fast = FastHttpSession(self.environment.host, self.environment.events.request, None)
        for label, session in (("HttpSession", self.client), ("FastHttpSession", fast)):
            for kwargs in ({"no_such_argument": 1}, {"params": {"a": "1"}, "bogus": None, "other": 2}):
                try:
                    response = session.get("/hello", name=f"{label} {sorted(kwargs)}", **kwargs)
                    mark(f"{label} {sorted(kwargs)}: sent, {response.status_code}")
                except TypeError as e:
                    mark(f"{label} {sorted(kwargs)}: TypeError: {e}")
            try:
                response = session.request("POST", "/hello", no_such_argument=1)
                mark(f"{label} request(): sent, {response.status_code}")
            except TypeError as e:
                mark(f"{label} request(): TypeError: {e}")

    @task
    def idle(self):
        pass
