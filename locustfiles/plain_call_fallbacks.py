# diff: -u 3 -r 100 -t 4s
# diff-extra-args: --proxy-open {proxy_open}
# diff-check: all -shares
# diff-markers: mode=seq ^MARK probe .*
# diff-markers: mode=seq ^MARK fast .*
# diff-markers: mode=set ^MARK spinner .*
# diff-normalize: 127\.0\.0\.1:\d+ => HOST
"""The plain call (`client.get(url)` / `client.get(url, name=...)` on an HttpUser's own session) and everything
that must take it off its short path in rlocust (issue 29), in one sequence: each case changes one thing the short
path leaves out, mid-run, and prints what the server received or what a listener saw; then the change is undone
and a plain call shows the session back as it was; a FastHttpUser does the same with its session's own settings.
A third user spins with a wait of 0 and no request (the hub's
batched yield) until the run ends; its on_stop runs."""
import os

import gevent

from locust import FastHttpUser, HttpUser, User, constant, events, task
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

PROXY_ENV = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--proxy-open", default="")


def mark(*parts):
    print("MARK probe", *parts, flush=True)


def headers(client, path="/headers", **kwargs):
    got = client.get(path, **kwargs).json()["headers"]
    keep = ("x-mid", "via", "authorization", "x-sub")
    return sorted((k, v) for k, v in got.items() if k in keep)


def listener_sees(user, say, failing_name):
    """A request listener added mid-run sees the plain calls from then on, and none once removed."""
    c = user.client
    seen = []
    me = gevent.getcurrent()

    def listener(request_type, name, response_length, exception, context, url, response, **kw):
        if gevent.getcurrent() is me:  # (the other probe's calls are seen too)
            seen.append((request_type, name, response_length, exception, context, url.replace(user.host, "HOST"),
                         response.status_code))

    events.request.add_listener(listener)
    c.get("/hello")
    c.get("/status/500", name=failing_name)
    c.delete("/hello")
    events.request.remove_listener(listener)
    c.get("/world")
    for row in seen:
        say("listener", repr(row[:3]), type(row[3]).__name__, row[4:])


def through_patched_request(cls, c, say, name):
    """`cls.request` patched on the class: every call goes through the patch (and none once it is taken back)."""
    original = cls.request

    def patched(session, method, url, *args, **kwargs):
        say("patched request", method, url, sorted(kwargs))
        return original(session, method, url, *args, **kwargs)

    cls.request = patched
    try:
        c.get("/hello")
        c.get("/hello", name=name)
        c.delete("/hello")
    finally:
        cls.request = original


class Probe(HttpUser):
    fixed_count = 1
    wait_time = constant(100)

    @task
    def cases(self):
        c = self.client
        mark("plain", c.get("/hello").text, headers(c))
        mark("absolute", c.get(self.host + "/world").text)
        mark("requoted", c.get("/hello?q=a b", name=None).status_code)
        mark("named", c.get("/hello", name="given name").status_code)
        with c.rename_request("renamed"):
            mark("renamed", c.get("/hello").status_code, c.get("/world", name="named inside").status_code)
        mark("after rename", c.get("/hello").status_code)

        listener_sees(self, mark, "five hundred")

        # the environment's proxy: ignored while the session does not trust the environment (HttpUser's), used
        # once it does
        os.environ["HTTP_PROXY"] = self.environment.parsed_options.proxy_open
        try:
            mark("env proxy, untrusted", headers(c))
            c.trust_env = True
            mark("env proxy, trusted", headers(c))
            c.trust_env = False
            mark("env proxy, untrusted again", headers(c))
        finally:
            for k in PROXY_ENV:
                os.environ.pop(k, None)

        # HttpSession.request patched on the class: every call goes through the patch
        through_patched_request(HttpSession, c, mark, "patched name")
        mark("unpatched", c.get("/hello").status_code)

        # a session class of the locustfile's own, with its own request
        class Stamped(HttpSession):
            def request(self, method, url, *args, **kwargs):
                kwargs.setdefault("headers", {})["X-Sub"] = "stamped"
                return super().request(method, url, *args, **kwargs)

        self.client = Stamped(base_url=self.host, request_event=self.environment.events.request, user=self)
        mark("own session class", headers(self.client))
        self.client = c
        mark("own session back", headers(c))

        # an instance attribute that shadows the verb
        c.get = lambda url, **kw: mark("instance get", url) or HttpSession.get(c, "/world", **kw)
        mark("instance get result", c.get("/hello").text)
        del c.get

        # the session's attributes written into its __dict__ (no setattr), once it has made plain calls as it is
        mark("plain again", c.get("/hello").text, c.get("/world").text)
        vars(c)["auth"] = ("user", "pass")
        mark("auth in __dict__", headers(c))
        vars(c)["auth"] = None
        mark("auth out of __dict__", headers(c))
        vars(c)["request_name"] = "name in __dict__"
        mark("request_name in __dict__", c.get("/hello").status_code, c.get("/world", name="own name").status_code)
        vars(c)["request_name"] = None
        mark("request_name out of __dict__", c.get("/hello").status_code)

        # the session's own auth, params and headers, set and then taken back (last: a session whose headers were
        # touched keeps them)
        c.auth = ("user", "pass")
        mark("session auth", headers(c))
        c.auth = None
        mark("auth removed", headers(c))
        c.params = {"p": "1"}
        mark("session params", c.get("/echo").json().get("query"))
        c.params = {}
        mark("params removed", c.get("/echo").json().get("query"))
        c.params["p"] = "2"  # the session's own dict, changed in place
        mark("params set in place", c.get("/echo").json().get("query"))
        c.params.clear()
        mark("params cleared in place", c.get("/echo").json().get("query"))
        c.headers["X-Mid"] = "1"
        mark("session header", headers(c))
        del c.headers["X-Mid"]
        mark("header removed", headers(c))
        mark("done", c.get("/hello").text)


def fmark(*parts):
    print("MARK fast", *parts, flush=True)


class FastProbe(FastHttpUser):
    fixed_count = 1
    wait_time = constant(100)

    @task
    def cases(self):
        c = self.client
        fmark("plain", c.get("/hello").text, headers(c))
        fmark("absolute", c.get(self.host + "/world").text)
        fmark("named", c.get("/hello", name="fast given name").status_code)
        with c.rename_request("fast renamed"):
            fmark("renamed", c.get("/hello").status_code, c.get("/world", name="fast named inside").status_code)

        listener_sees(self, fmark, "fast five hundred")

        through_patched_request(FastHttpSession, c, fmark, "fast patched name")
        fmark("unpatched", c.get("/hello").status_code)

        class Stamped(FastHttpSession):
            def request(self, method, url, **kwargs):
                kwargs.setdefault("headers", {})["X-Sub"] = "stamped"
                return super().request(method, url, **kwargs)

        self.client = Stamped(base_url=self.host, request_event=self.environment.events.request, user=self)
        fmark("own session class", headers(self.client))
        self.client = c

        with_headers = FastHttpSession(base_url=self.host, request_event=self.environment.events.request, user=self,
                                       headers={"X-Mid": "1"})
        fmark("session headers", headers(with_headers))
        fmark("without", headers(c))
        fmark("done", c.get("/hello").text)


class Spinner(User):
    fixed_count = 1
    wait_time = constant(0)
    turns = 0

    @task
    def spin(self):
        Spinner.turns += 1

    def on_stop(self):
        print("MARK spinner stopped, spun:", Spinner.turns > 1000, flush=True)
