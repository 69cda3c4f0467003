# diff: -u 16 -r 100 -t 8s
# diff-sequential: response times against the one fault server decide the outcome
# diff-host: {fault_host}
# diff-extra-args: --tls-urls {fault_https},{fault_tls_alert},{fault_tls_slow},{fault_tls_reset}
# diff-check: names failures exceptions exit csv-headers markers
# diff-expect: exit=1 exceptions=0 failures>=8
# diff-markers: mode=set ^CASE .*
"""TLS faults (tests/faults/faultserver.py): a server that answers the ClientHello with a fatal alert, one that
waits 3 s before its handshake (with connect timeouts of 1 s and 5 s: both clients bound the handshake by the
connect timeout), one that resets the connection during the handshake, a self-signed certificate with
verification on, and a broken body over TLS. Each case is one user's one request; both tools must show the
same verdict and failure text (OpenSSL's texts, as Python's ssl module prints them)."""
import gevent

from locust import FastHttpUser, HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--tls-urls", default="", help="https, alert, slow and reset listeners of the fault server")


@events.request.add_listener
def show(name, exception, response, **_kw):
    print(f"CASE {name} status={getattr(response, 'status_code', None)} {exception!r}", flush=True)


def urls(user):
    https, alert, slow, reset = user.environment.parsed_options.tls_urls.split(",")
    return {"https": https, "alert": alert, "slow": slow, "reset": reset}


REQUESTS = [
    ("https", "/ok", {"verify": False}),
    ("https", "/chunk-incomplete", {"verify": False}),
    ("https", "/ok", {}),  # verify=True against a self-signed certificate
    ("alert", "/ok", {"verify": False}),
    ("slow", "/ok", {"verify": False, "timeout": (1, 5)}),
    ("slow", "/ok", {"verify": False, "timeout": 5}),
    ("reset", "/ok", {"verify": False}),
]


class Requests(HttpUser):
    fixed_count = len(REQUESTS)
    wait_time = constant(0)
    started = 0

    def on_start(self):
        self.case = REQUESTS[Requests.started]
        Requests.started += 1

    @task
    def one(self):
        if getattr(self, "done", False):
            gevent.sleep(3600)
            return
        self.done = True
        where, path, kw = self.case
        self.client.get(urls(self)[where] + path, name=f"requests {where}{path} {sorted(kw.items())}", **kw)


FAST = [("https", "/ok", True), ("https", "/chunk-incomplete", True), ("https", "/ok", False),
        ("alert", "/ok", True), ("slow", "/ok", True), ("reset", "/ok", True)]


class Fast(FastHttpUser):
    fixed_count = len(FAST)
    wait_time = constant(0)
    connection_timeout = 1
    network_timeout = 5
    started = 0

    def __init__(self, environment):
        case = FAST[Fast.started]
        Fast.started += 1
        self.insecure = case[2]
        super().__init__(environment)
        self.case = case

    @task
    def one(self):
        if getattr(self, "done", False):
            gevent.sleep(3600)
            return
        self.done = True
        where, path, insecure = self.case
        self.client.get(urls(self)[where] + path, name=f"fast {where}{path} insecure={insecure}")
