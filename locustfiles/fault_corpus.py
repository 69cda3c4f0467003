# diff[http]: -u 8 -r 100 -t 8s RawHttp
# diff-sequential: response times against the one fault server decide the outcome
# diff[http-listener]: -u 8 -r 100 -t 8s RawHttp
# diff[fast]: -u 8 -r 100 -t 8s RawFast
# diff[fast-listener]: -u 8 -r 100 -t 8s RawFast
# diff-host: {fault_host}
# diff-env[http-listener]: FAULT_LISTENER=1
# diff-env[fast-listener]: FAULT_LISTENER=1
# diff-check: names failures exceptions exit csv-headers markers
# diff-expect: failures>=50
# diff-markers: mode=count ^CASE .*
"""Generated broken responses (tests/faults/corpus.py), each requested once: both tools must give every case
the same verdict and failure text (the failures CSV, written from the engine's own texts), and with a request
listener the same exception repr, status and body length as the locustfile sees them."""
import itertools
import os

import gevent

from locust import FastHttpUser, HttpUser, constant, events, task

CASES = int(os.environ.get("FAULT_CASES", "400"))
_next = itertools.count()

if os.environ.get("FAULT_LISTENER"):

    @events.request.add_listener
    def show(name, response_length, exception, response, **_kw):
        status = getattr(response, "status_code", None)
        print(f"CASE {name} status={status} len={response_length} {exception!r}", flush=True)


def one_case(user):
    i = next(_next)
    if i >= CASES:
        gevent.sleep(3600)  # every case was requested: idle until the run ends
        return
    # (no redirect following: the corpus's 301 seed has no `Connection: close`, and the server closes after every
    # response, so requests' follow-up to /ok on the same pooled connection raced that close: Locust 2.47 then
    # reported RemoteDisconnected under the name /ok now and then, which failed a CI run)
    user.client.get(f"/raw/{i}", allow_redirects=False)
    if isinstance(user, HttpUser):
        # The server closes every connection after its one response. requests could reuse it before the close
        # arrives and then report RemoteDisconnected (urllib3 does not retry); a fresh connection keeps the
        # verdict about the response itself. (FastHttpUser retries such a connection on its own.)
        user.client.close()


class RawHttp(HttpUser):
    wait_time = constant(0)

    @task
    def case(self):
        one_case(self)


class RawFast(FastHttpUser):
    wait_time = constant(0)

    @task
    def case(self):
        one_case(self)
