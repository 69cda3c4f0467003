# diff: -u 1 -r 100 -t 5s
# diff-extra-args: --dead {dead_host}
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
"""Transport adapters mounted on the session (`session.mount(prefix, adapter)`): a custom adapter that counts and
marks what it sends, urllib3 retries on a status (`HTTPAdapter(max_retries=Retry(...))`: a RetryError failure), a
connection error through a mounted adapter, catch_response, and cookies shared between mounted and unmounted
URLs. Locust records these calls as any other; their statistics rows must match."""
import re
import sys

from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from locust import HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--dead", default="")


class MarkingAdapter(HTTPAdapter):
    def __init__(self):
        super().__init__()
        self.sent = 0

    def send(self, request, **kwargs):
        self.sent += 1
        request.headers["X-Adapter"] = "marking"
        return super().send(request, **kwargs)


def show(label, out):
    out = re.sub(r"0x[0-9a-f]+", "0x?", re.sub(r"127\.0\.0\.1:\d+", "HOST", str(out)))
    print(f"MARK {label}: {out}", file=sys.stderr)


class Mounted(HttpUser):
    wait_time = constant(100)
    fixed_count = 1

    @task
    def cases(self):
        c = self.client
        base = self.host.rstrip("/")
        marking = MarkingAdapter()
        c.mount(base + "/headers", marking)
        c.mount(base + "/status/503", HTTPAdapter(max_retries=Retry(total=2, status_forcelist=[503],
                                                                    backoff_factor=0)))
        c.mount(self.environment.parsed_options.dead, HTTPAdapter())
        c.mount(base + "/set-cookie", HTTPAdapter())

        r = c.get("/headers", name="mounted headers")
        show("custom adapter", (r.status_code, r.json()["headers"].get("x-adapter"), marking.sent))
        r = c.get("/hello", name="not mounted")
        show("unmounted", (r.status_code, r.text, marking.sent))
        r = c.get("/status/503", name="retried")
        show("retry", (r.status_code, type(getattr(r, "error", None)).__name__))
        r = c.get(self.environment.parsed_options.dead + "/x", name="mounted dead")
        show("dead", (r.status_code, type(getattr(r, "error", None)).__name__))
        c.get("/set-cookie?flavor=mint", name="mounted cookie")
        r = c.get("/cookies", name="cookies after")
        show("cookie from mounted", r.json()["cookies"])
        with c.get("/headers", name="mounted catch", catch_response=True) as r:
            r.failure("marked failed")
        with c.get("/headers", name="mounted catch ok", catch_response=True) as r:
            show("catch", (r.status_code, marking.sent))
