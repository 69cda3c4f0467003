# diff: -u 2 -r 100 -t 4s
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
# diff-normalize: 127\.0\.0\.1:\d+ => HOST
"""requests' Response surface on what HttpSession returns (Locust hands back a requests.Response subclass):
iteration in chunks of 128 bytes (`in`, `list()`, `for`), truth and `ok` (a connection error's response raises its
error from `ok`, as Locust's ResponseContextManager.raise_for_status does), no `len()`, with-blocks (refused without
catch_response; a redirect's own response is requests' context manager), pickling and copying, `isinstance(r,
requests.Response)`, and the same special methods on a catch_response block's response. A FastHttpUser's response is
not a requests.Response. Each case prints what a user would look at."""
import copy
import pickle
import sys

import requests

from locust import FastHttpUser, HttpUser, constant, task


def case_contains(c):
    r = c.get("/hello", name="contains")
    big = c.get("/bytes/300", name="contains")
    return "Hello" in r, b"Hello!" in r, b"Hell" in r, "x" in big, b"\x00" in big


def case_list(c):
    r = c.get("/bytes/300", name="list")
    empty = c.get("/status/204", name="list")
    return [len(x) for x in list(r)], [type(x).__name__ for x in r][:1], list(empty)


def case_for(c):
    r = c.get("/json", name="for")
    parts = []
    for chunk in r:
        parts.append(chunk)
    return len(parts), b"".join(parts) == r.content, list(r) == parts


def case_truth(c):
    ok = c.get("/hello", name="truth")
    nf = c.get("/status/404", name="truth")
    err = c.get("/status/500", name="truth")
    redirect = c.get("/redirect", allow_redirects=False, name="truth")
    return bool(ok), ok.ok, bool(nf), nf.ok, bool(err), err.ok, bool(redirect), redirect.ok, not nf


def case_truth_connection_error(c):
    r = c.get("http://127.0.0.1:1/", name="truth dead")
    out = [r.status_code]
    for probe in (lambda: r.ok, lambda: bool(r)):
        try:
            out.append(probe())
        except Exception as e:
            out.append(f"{type(e).__module__}.{type(e).__name__}")
    return out


def case_len(c):
    r = c.get("/hello", name="len")
    try:
        return len(r)
    except TypeError as e:
        return "TypeError", "has no len()" in str(e)


def case_with_plain(c):
    try:
        with c.get("/hello", name="with plain") as r:
            return "entered", r.status_code
    except Exception as e:
        return type(e).__name__, str(e)


def case_with_history(c):
    r = c.get("/redirect", name="with history")
    hop = r.history[0]
    with hop as inner:
        same = inner is hop
    return hop.status_code, same, isinstance(hop, requests.Response)


def case_pickle(c):
    r = c.get("/json", name="pickle")
    back = pickle.loads(pickle.dumps(r))
    return (back.status_code, back.text == r.text, back.json(), back.headers["Content-Type"], back.url == r.url,
            back.reason, type(back.elapsed).__name__, back.encoding, back.ok, isinstance(back, requests.Response),
            back.request.method if back.request is not None else None)


def case_pickle_redirected(c):
    r = c.get("/redirect/2", name="pickle redirected")
    back = pickle.loads(pickle.dumps(r))
    return back.status_code, [h.status_code for h in back.history], back.text


def case_copy(c):
    r = c.get("/hello", name="copy")
    shallow = copy.copy(r)
    deep = copy.deepcopy(r)
    return shallow.status_code, shallow.text, deep.status_code, deep.text, deep.headers.get("content-length")


def case_isinstance(c):
    r = c.get("/hello", name="isinstance")
    dead = c.get("http://127.0.0.1:1/", name="isinstance dead")
    redirected = c.get("/redirect", name="isinstance")
    return (isinstance(r, requests.Response), isinstance(dead, requests.Response),
            isinstance(redirected.history[0], requests.Response), isinstance(r, requests.models.Response),
            isinstance(r, (int, requests.Response)), isinstance(r, str))


def case_catch_response(c):
    with c.get("/bytes/200", name="catch", catch_response=True) as r:
        out = [isinstance(r, requests.Response), "x" in r, [len(x) for x in r], list(r) == list(r), bool(r), r.ok]
        try:
            out.append(len(r))
        except TypeError:
            out.append("no len")
        r.success()
    with c.get("/status/500", name="catch", catch_response=True) as r:
        out += [bool(r), r.ok]
        r.success()
        out += [bool(r), r.ok]
    with c.get("/status/200", name="catch", catch_response=True) as r:
        r.failure("nope")
        try:
            out.append(r.ok)
        except Exception as e:
            out.append(type(e).__name__)
    with c.get("/hello", name="catch", catch_response=True) as r:
        back = pickle.loads(pickle.dumps(r))
        out += [back.status_code, back.text, isinstance(back, requests.Response)]
    return out


CASES = [(name[5:], fn) for name, fn in sorted(globals().items()) if name.startswith("case_")]


class Probe(HttpUser):
    wait_time = constant(100)
    fixed_count = 1

    @task
    def cases(self):
        for name, fn in CASES:
            try:
                result = fn(self.client)
            except Exception as e:
                result = f"raised {type(e).__module__}.{type(e).__name__}: {e}"
            print(f"MARK {name}: {result}", file=sys.stderr)


class FastProbe(FastHttpUser):
    wait_time = constant(100)
    fixed_count = 1

    @task
    def cases(self):
        r = self.client.get("/hello", name="fast")
        out = [isinstance(r, requests.Response), bool(r), r.ok]
        with self.client.get("/hello", name="fast", catch_response=True) as rc:
            out.append(isinstance(rc, requests.Response))
        print(f"MARK fast: {out}", file=sys.stderr)
