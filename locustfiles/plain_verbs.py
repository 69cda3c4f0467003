# diff: -u 2 -r 100 -t 3s
# diff-check: all -shares
# diff-markers: mode=seq ^MARK http .*
# diff-markers: mode=seq ^MARK fast .*
"""Every verb's plain call (issue 54: `get`, `post`, ... send a URL and `name=` without Python frames, in Rust):
what the server receives (method, the length and type of the body) and what the call returns, for HttpUser and
FastHttpUser; then the same verbs with what takes them off that path: a catch_response block, `name=` and
`rename_request`, a request listener and hooks, a response hook set on the session after the first call, a
session attribute changed after the first call, a subclass whose own `request` stamps a header, and an exception
from a bad URL (its traceback's frames in this file). One user each prints what it saw once, in order; the run's
statistics (names, counts, failures) are compared too."""
import gevent

from locust import FastHttpUser, HttpUser, constant, events, task
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

VERBS = ("get", "post", "put", "patch", "delete", "head", "options")


def seen(response):
    """What the server received (the target's /echo) and what the call gave back."""
    if not response.text:  # (HEAD)
        return (response.status_code, "no body")
    got = response.json()
    h = got["headers"]
    # (requests sends `Content-Length: 0` with a DELETE or OPTIONS without a body; rlocust sent none before 2026-11-27)
    length = h.get("content-length")
    return (response.status_code, got["method"], length, h.get("content-type"), got["body"],
            h.get("x-sub"))


def probe(c, say, cls):
    for verb in VERBS:
        say(verb, seen(getattr(c, verb)("/echo")))
        say(verb, "named", seen(getattr(c, verb)("/echo", name="verb " + verb)))
    with c.rename_request("renamed"):
        say("renamed", seen(c.post("/echo")))
    for verb in VERBS:
        with getattr(c, verb)("/status/404", name="caught " + verb, catch_response=True) as r:
            say("caught", verb, r.status_code)
            r.success()
    said = []
    me = gevent.getcurrent()

    def listener(request_type, name, response_length, exception, **kw):
        if gevent.getcurrent() is me:  # (the other user's calls are seen too)
            said.append((request_type, name, response_length, type(exception).__name__))

    events.request.add_listener(listener)
    try:
        for verb in VERBS:
            getattr(c, verb)("/status/500", name="heard " + verb)
    finally:
        events.request.remove_listener(listener)
    c.get("/status/500", name="not heard")
    say("listener", said)
    try:
        c.get("http:///no-host")
    except Exception as e:  # noqa: BLE001 (what the call raises, and where)
        say("bad url", type(e).__name__)

    class Stamped(cls):
        def request(self, method, url, *args, **kwargs):
            kwargs.setdefault("headers", {})["X-Sub"] = "stamped " + method
            return super().request(method, url, *args, **kwargs)

    own = Stamped(base_url=c.base_url, request_event=c.request_event, user=c.user)
    for verb in ("get", "post", "delete"):
        say("subclass", verb, seen(getattr(own, verb)("/echo")))


def hmark(*parts):
    print("MARK http", *parts, flush=True)


def fmark(*parts):
    print("MARK fast", *parts, flush=True)


class Http(HttpUser):
    fixed_count = 1
    wait_time = constant(100)

    @task
    def cases(self):
        c = self.client
        probe(c, hmark, HttpSession)
        hooked = []
        c.hooks["response"].append(lambda r, *a, **kw: hooked.append(r.status_code))
        c.get("/hello")
        c.post("/echo")
        hmark("session hook", hooked)
        c.hooks["response"].clear()
        c.stream = True
        r = c.get("/hello")
        hmark("streamed", r.status_code, r.content)
        c.stream = False
        c.max_redirects = 0
        hmark("max_redirects 0", c.get("/redirect/1").status_code)
        c.max_redirects = 30
        hmark("max_redirects back", c.get("/redirect/1").status_code)
        c.base_url = self.host + "/status"
        hmark("base changed", c.get("/201").status_code)


class Fast(FastHttpUser):
    fixed_count = 1
    wait_time = constant(100)

    @task
    def cases(self):
        c = self.client
        probe(c, fmark, FastHttpSession)
        c.base_url = self.host + "/status"
        fmark("base changed", c.get("/201").status_code)
