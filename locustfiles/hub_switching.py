# diff: -u 1 -r 1 -t 3s
# diff-check: all -shares
# diff-markers: mode=seq ^MARK
# diff-expect: exit=0 failures=0 exceptions=0
"""How a client call leaves its greenlet, seen from the greenlets gevent treats specially: a call made in an event
loop callback (on the hub itself) raises gevent's BlockingSwitchOutError for both clients, as a blocking socket
call there does; a call made in a greenlet whose class defines `switch_out` runs it each time the call waits,
then completes, and so does one set on the greenlet itself (as rlocust's asyncio bridge sets one); and a class
that overrides `switch` is switched back into through its override. rlocust switches
to the hub and back with greenlet's own switch only for classes that have neither."""
import sys

import gevent
from gevent import Greenlet

from locust import HttpUser, constant, events, task
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

SWITCHED_OUT = []
SWITCHED_IN = []


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


def on_hub(environment):
    for name, make in (
        ("HttpSession", lambda: HttpSession(environment.host, environment.events.request, None)),
        ("FastHttpSession", lambda: FastHttpSession(environment.host, environment.events.request, None)),
    ):
        try:
            make().get("/hello", name="on the hub")
            mark(f"{name} on the hub returned")
        except BaseException as e:
            mark(f"{name} on the hub: {type(e).__name__}: {e}")


class Watched(Greenlet):
    def switch_out(self):
        SWITCHED_OUT.append(1)


class OwnSwitch(Greenlet):
    def switch(self, *args, **kwargs):
        SWITCHED_IN.append(1)
        return super().switch(*args, **kwargs)


@events.test_start.add_listener
def on_test_start(environment, **kw):
    gevent.get_hub().loop.run_callback(on_hub, environment)


class Caller(HttpUser):
    wait_time = constant(0.2)
    done = False

    @task
    def t(self):
        if Caller.done:
            self.client.get("/hello", name="plain")
            return
        Caller.done = True
        for cls in (Watched, OwnSwitch, Greenlet):
            before_out, before_in = len(SWITCHED_OUT), len(SWITCHED_IN)
            g = cls(lambda: self.client.get("/delay/20", name=cls.__name__).status_code)
            if cls is Greenlet:
                g.switch_out = lambda: SWITCHED_OUT.append(1)
            g.start()
            status = g.get(timeout=5)
            mark(f"{cls.__name__}: {status}, switch_out ran: {len(SWITCHED_OUT) > before_out}, "
                 f"own switch ran: {len(SWITCHED_IN) > before_in}")
