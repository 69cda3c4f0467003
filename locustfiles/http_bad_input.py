# diff: -u 2 -r 100 -t 4s
# diff-xfail: the clients' texts for bad methods, header names/values and host-less URLs are not Locust's yet
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
# diff-normalize: 127\.0\.0\.1:\d+ => HOST
"""Requests a user gets wrong, with both clients: bad methods, bad header names and values, URLs that cannot
be parsed or have no HTTP scheme. What escapes into the task (type and message) and what is recorded as a
failure must read as in Locust. Each user runs every case once, then idles."""
import re
import sys

from locust import FastHttpUser, HttpUser, constant, task

CASES = [
    ("method-empty", lambda c: c.request("", "/hello")),
    ("method-space", lambda c: c.request("GE T", "/hello")),
    ("method-lower", lambda c: c.request("get", "/hello")),
    ("method-ctl", lambda c: c.request("GET\r\n", "/hello")),
    ("header-name-space", lambda c: c.get("/hello", headers={"x y": "1"})),
    ("header-name-colon", lambda c: c.get("/hello", headers={"x:y": "1"})),
    ("header-name-newline", lambda c: c.get("/hello", headers={"x\ny": "1"})),
    ("header-value-int", lambda c: c.get("/hello", headers={"X-Num": 1})),
    ("header-value-lead", lambda c: c.get("/hello", headers={"X-Lead": " lead"})),
    ("header-value-newline", lambda c: c.get("/hello", headers={"X-Nl": "a\r\nb: c"})),
    ("url-bad-port", lambda c: c.get("http://127.0.0.1:99999/hello")),
    ("url-ftp", lambda c: c.get("ftp://127.0.0.1/hello")),
    ("url-no-host", lambda c: c.get("http:///hello")),
    ("path-protocol-relative", lambda c: c.get("//127.0.0.1/hello")),
]


def describe(result):
    text = str(result)
    return re.sub(r"0x[0-9a-f]+", "0x?", re.sub(r"127\.0\.0\.1:\d+", "HOST", text))


def run_cases(user, kind):
    for name, call in CASES:
        try:
            r = call(user.client)
        except Exception as e:
            print(f"MARK {kind} {name} raised {type(e).__module__}.{type(e).__name__}: {describe(e)}", file=sys.stderr)
        else:
            err = getattr(r, "error", None)
            print(f"MARK {kind} {name} status={r.status_code} error={type(err).__name__ if err else None}: "
                  f"{describe(err) if err else ''}", file=sys.stderr)


class Plain(HttpUser):
    wait_time = constant(10)
    fixed_count = 1

    @task
    def cases(self):
        run_cases(self, "http")


class Fast(FastHttpUser):
    wait_time = constant(10)
    fixed_count = 1

    @task
    def cases(self):
        run_cases(self, "fast")
