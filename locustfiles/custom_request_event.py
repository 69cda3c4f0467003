# diff: -u 2 -r 2 -t 2s
# diff-check: all -shares
# diff-expect: exit=0 failures=0 exceptions=0
# diff-markers: mode=set ^MARK .*
"""Clients built by the locustfile with a request_event of its own that is not an EventHook, only an object with a
`fire` method, as Locust's HttpSession and FastHttpSession accept: Locust fires it once per request (here it
renames the request and forwards it to the environment's event, so the stats show the new names), and one that
drops every request leaves no row at all."""
from locust import User, constant, events, task
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

fired = {"forward": 0, "drop": 0}
# requests that came back to the task, counted as each returns (a request still out when the run stops is killed
# with its user, under Locust as under rlocust, and fires nothing)
made = {"forward": 0, "drop": 0}


class Forward:
    def __init__(self, environment, prefix):
        self.environment = environment
        self.prefix = prefix

    def fire(self, **kw):
        fired["forward"] += 1
        kw["name"] = self.prefix + kw["name"]
        self.environment.events.request.fire(**kw)


class Drop:
    def fire(self, **kw):
        fired["drop"] += 1


class Own(User):
    wait_time = constant(0.05)

    def on_start(self):
        env = self.environment
        self.plain = HttpSession(base_url=self.host, request_event=Forward(env, "fwd:"), user=self)
        self.fast = FastHttpSession(base_url=self.host, request_event=Forward(env, "fastfwd:"), user=self)
        self.dropped = HttpSession(base_url=self.host, request_event=Drop(), user=self)

    @task
    def t(self):
        self.plain.get("/hello")
        made["forward"] += 1
        self.plain.get("/items/1", name="item")
        made["forward"] += 1
        self.fast.get("/hello")
        made["forward"] += 1
        with self.plain.get("/json", catch_response=True) as r:
            r.success()
        made["forward"] += 1
        self.dropped.get("/world")
        made["drop"] += 1


@events.test_stop.add_listener
def _(environment, **kw):
    print("MARK every forwarded request fired its event once:", fired["forward"] == made["forward"] > 0, flush=True)
    print("MARK every dropped request fired its event once:", fired["drop"] == made["drop"] > 0, flush=True)
