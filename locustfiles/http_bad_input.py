# diff: -u 2 -r 100 -t 4s
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
# diff-normalize: 127\.0\.0\.1:\d+ => HOST
"""Requests a user gets wrong, with both clients: bad methods, bad header names and values (of the wrong type,
bytes, None, outside latin-1), URLs that cannot be parsed, have no host or no HTTP scheme. What escapes into the
task (type and message), what is recorded as a failure, and what reaches the server must read as in Locust.
Each user runs every case once, then idles."""
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
    # the same family, on /echo (which answers with the method and headers it got)
    ("method-mixed", lambda c: c.request("Purge", "/echo")),
    ("method-nonascii", lambda c: c.request("gét", "/echo")),
    ("method-del", lambda c: c.request("GE\x7fT", "/echo")),
    ("header-name-empty", lambda c: c.get("/echo", headers={"": "1"})),
    ("header-name-lead-space", lambda c: c.get("/echo", headers={" x": "1"})),
    ("header-name-paren", lambda c: c.get("/echo", headers={"x(y": "1"})),
    ("header-name-nul", lambda c: c.get("/echo", headers={"x\x00y": "1"})),
    ("header-name-nonascii", lambda c: c.get("/echo", headers={"X-\u00e9": "1"})),
    ("header-name-bytes", lambda c: c.get("/echo", headers={b"X-B": "1"})),
    ("header-name-bytes-colon", lambda c: c.get("/echo", headers={b"x:y": "1"})),
    ("header-value-none", lambda c: c.get("/echo", headers={"X-None": None})),
    ("header-value-bytes", lambda c: c.get("/echo", headers={"X-B": b"v"})),
    ("header-value-bytes-newline", lambda c: c.get("/echo", headers={"X-B": b"a\r\nb"})),
    ("header-value-float", lambda c: c.get("/echo", headers={"X-F": 1.5})),
    ("header-value-list", lambda c: c.get("/echo", headers={"X-L": ["a", "b"]})),
    ("header-value-tab", lambda c: c.get("/echo", headers={"X-T": "a\tb"})),
    ("header-value-tab-lead", lambda c: c.get("/echo", headers={"X-T": "\tb"})),
    ("header-value-latin1", lambda c: c.get("/echo", headers={"X-L": "caf\u00e9"})),
    ("header-value-euro", lambda c: c.get("/echo", headers={"X-E": "\u20ac"})),
    ("header-value-del", lambda c: c.get("/echo", headers={"X-D": "a\x7fb"})),
    ("header-value-nul", lambda c: c.get("/echo", headers={"X-D": "a\x00b"})),
    ("header-bad-and-method", lambda c: c.request("GE T", "/echo", headers={"x:y": "1"})),
    ("url-empty-host", lambda c: c.get("http://")),
    ("url-https-no-host", lambda c: c.get("https:///x")),
    ("url-ipv6-open", lambda c: c.get("http://[::1/x")),
    ("url-unresolvable", lambda c: c.get("http://nonexistent.invalid/x")),
    ("url-tab", lambda c: c.get("/ec\tho")),
    ("url-bytes", lambda c: c.get(b"/echo")),
]


def describe(result):
    text = str(result)
    return re.sub(r"0x[0-9a-f]+", "0x?", re.sub(r"127\.0\.0\.1:\d+", "HOST", text))


def echoed(r):
    """What /echo got: the method and the X- headers."""
    if r.status_code != 200 or not r.text.startswith("{"):
        return ""
    d = r.json()
    return " sent " + d["method"] + " " + repr(sorted((k, v) for k, v in d["headers"].items() if k.startswith("x-")))


def run_cases(user, kind):
    for name, call in CASES:
        try:
            r = call(user.client)
        except Exception as e:
            print(f"MARK {kind} {name} raised {type(e).__module__}.{type(e).__name__}: {describe(e)}", file=sys.stderr)
        else:
            err = getattr(r, "error", None)
            print(f"MARK {kind} {name} status={r.status_code} error={type(err).__name__ if err else None}: "
                  f"{describe(err) if err else ''}{echoed(r)}", file=sys.stderr)


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
