# diff[plain]: -u 1 -r 10 -t 2s
# diff[guarded]: -u 1 -r 10 -t 2s
# diff-env[guarded]: DEPRECATED_EVENTS_GUARD=1
# diff-check: all -shares
# diff-counts: abs=0 .*
# diff-expect: exit=1 rows=3 failures=2 exceptions=0 count[/hello]=3 count[/status/404]=3 count[legacy]=3
# diff-markers: mode=seq ^MARK
# diff-xfail[plain]: Locust 2.47 has no events.request_success/request_failure (removed in 2.15): importing this locustfile fails with "AttributeError: 'Events' object has no attribute 'request_success'" (exit 1, no CSV files); rlocust keeps them as deprecated aliases of events.request (a warning per add_listener)
"""Locust 1.x request_success / request_failure listeners, and a custom client that fires request_success /
request_failure itself (as 1.x custom clients did). The `plain` variant uses them as a 1.x locustfile did: real
Locust 2.47 stops at import with AttributeError, rlocust runs it with a deprecation warning (an expected
difference, marked xfail). The `guarded` variant (DEPRECATED_EVENTS_GUARD=1) falls back, when the events are
missing (real Locust), to a stand-in built on events.request: both tools must then show the same listener calls
and statistics, which checks that rlocust's aliases split and forward every request as 1.x did."""
import os
import sys

from locust import HttpUser, constant, events, task


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


class StandIn:
    """events.request_success / request_failure written on top of events.request (for Locust 2.x)."""

    def __init__(self, failure):
        self.failure = failure

    def add_listener(self, handler):
        def forward(request_type, name, response_time, response_length, exception=None, **_kwargs):
            if (exception is not None) == self.failure:
                extra = {"exception": exception} if self.failure else {}
                handler(request_type=request_type, name=name, response_time=response_time,
                        response_length=response_length, **extra)

        events.request.add_listener(forward)
        return handler

    def fire(self, **kwargs):
        kwargs.setdefault("exception", None)
        events.request.fire(context={}, **kwargs)


if os.environ.get("DEPRECATED_EVENTS_GUARD") and not hasattr(events, "request_success"):
    request_success, request_failure = StandIn(False), StandIn(True)
else:
    request_success, request_failure = events.request_success, events.request_failure


@request_success.add_listener
def on_success(request_type, name, response_time, response_length, **kwargs):
    mark(f"success {request_type} {name} length={response_length} timed={response_time is not None}")


@request_failure.add_listener
def on_failure(request_type, name, response_time, response_length, exception, **kwargs):
    mark(f"failure {request_type} {name} length={response_length} {type(exception).__name__}: {exception}")


class LegacyUser(HttpUser):
    wait_time = constant(0.2)

    def on_start(self):
        self.n = 0

    @task
    def work(self):
        if self.n == 3:
            return
        self.n += 1
        self.client.get("/hello")
        self.client.get("/status/404")
        if self.n % 2:
            request_success.fire(request_type="legacy", name="legacy", response_time=1, response_length=2)
        else:
            request_failure.fire(request_type="legacy", name="legacy", response_time=1, response_length=0,
                                 exception=RuntimeError("legacy client failed"))
