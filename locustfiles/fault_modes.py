# diff[http]: -u 40 -r 100 -t 8s RequestsUser
# diff-sequential: response times against the one fault server decide the outcome
# diff[http-listener]: -u 40 -r 100 -t 8s RequestsUser
# diff[fast]: -u 40 -r 100 -t 8s FastUser
# diff[fast-listener]: -u 40 -r 100 -t 8s FastUser
# diff-host: {fault_host}
# diff-env[http-listener]: FAULT_LISTENER=1
# diff-env[fast-listener]: FAULT_LISTENER=1
# diff-check: names failures exceptions exit csv-headers markers
# diff-expect: exit=1 exceptions=0 failures>=12
# diff-markers: mode=count ^CASE .*
"""Servers that misbehave (tests/faults/faultserver.py, one fault per path), each path requested once by its own
user: a reset before or in the middle of the body, a close before the response, broken framing, bad status lines,
a 1 MiB header, 10,000 headers, 100,000 '100 Continue' responses, content that does not decode, a redirect loop.
Both tools must give every path the same verdict and failure text, and (with a listener) the same exception,
status and body length."""
import itertools
import os

import gevent

from locust import FastHttpUser, HttpUser, constant, events, task

# Paths whose verdict does not depend on time (timeouts are in fault_timeouts.py, TLS in fault_tls.py).
PATHS = [
    "/ok", "/chunk-size-overflow", "/chunk-size-overflow2", "/chunk-size-invalid", "/chunk-incomplete",
    "/chunk-no-terminator", "/gzip-invalid", "/gzip-truncated", "/gzip-ok", "/deflate-invalid",
    "/content-length-huge", "/content-length-conflict", "/content-length-same-twice", "/content-length-negative",
    "/content-length-invalid", "/lf-only", "/incomplete-body", "/reset-mid-body", "/reset-before-response",
    "/close-before-response", "/bad-status-line", "/bad-status-code", "/http09", "/bad-header-line",
    "/many-headers", "/huge-header", "/informational-flood", "/no-framing", "/http10",
    "/content-length-too-long-body", "/status-999", "/status-no-reason", "/redirect-loop", "/big-body",
]
_next = itertools.count()

if os.environ.get("FAULT_LISTENER"):

    @events.request.add_listener
    def show(name, response_length, exception, response, **_kw):
        status = getattr(response, "status_code", None)
        print(f"CASE {name} status={status} len={response_length} {exception!r}", flush=True)


def one_path(user):
    i = next(_next)
    if i >= len(PATHS):
        gevent.sleep(3600)
        return
    user.client.get(PATHS[i])
    gevent.sleep(3600)  # one request per user: a reused connection would change what the server sees


class RequestsUser(HttpUser):
    wait_time = constant(0)

    @task
    def fault(self):
        one_path(self)


class FastUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def fault(self):
        one_path(self)
