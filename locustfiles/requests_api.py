# diff: -u 1 -r 100 -t 6s
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
# diff-normalize: 127\.0\.0\.1:\d+ => HOST
"""The requests API a locustfile leans on beyond get/post: auth classes (digest with its 401 round trip, any
AuthBase subclass), response hooks (per request, per session, registered by an auth class), prepare_request/send
with Request objects, streaming (raw, iter_content, iter_lines), links, apparent_encoding, history, elapsed,
content decoding (gzip, deflate, br), multipart files, (connect, read) timeouts and max_redirects. Each case prints
what a user would look at; the stats rows show which calls Locust records (send() of a prepared request is not)."""
import sys

import requests
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from locust import HttpUser, constant, task


class TokenAuth(AuthBase):
    """A custom auth class: a header on every request."""

    def __init__(self, token):
        self.token = token

    def __call__(self, r):
        r.headers["X-Token"] = self.token
        return r


class HookingAuth(AuthBase):
    """An auth class that also watches the response, as digest auth does."""

    def __init__(self):
        self.seen = []

    def __call__(self, r):
        r.headers["X-Hooked"] = "yes"
        r.register_hook("response", self.on_response)
        return r

    def on_response(self, r, **kwargs):
        self.seen.append((r.status_code, sorted(k for k in kwargs if k in ("timeout", "verify", "proxies", "stream"))))


def sent_headers(r, *names):
    got = r.json()["headers"]
    return {n: got.get(n) for n in names}


def case_digest(c):
    auth = HTTPDigestAuth("ann", "pw")
    r1 = c.get("/digest-auth/auth/ann/pw", auth=auth, name="digest")
    r2 = c.get("/digest-auth/auth/ann/pw", auth=auth, name="digest")
    bad = c.get("/digest-auth/auth/ann/pw", auth=HTTPDigestAuth("ann", "wrong"), name="digest wrong")
    return (r1.status_code, r1.json(), [h.status_code for h in r1.history], r2.status_code, len(r2.history),
            bad.status_code, [h.status_code for h in bad.history], r1.request.headers["Authorization"][:7])


def case_digest_sha256(c):
    r = c.get("/digest-auth/auth/bob/pw/SHA-256", auth=HTTPDigestAuth("bob", "pw"), name="digest sha256")
    return r.status_code, r.json(), len(r.history)


def case_basic_class(c):
    r = c.get("/basic-auth/u/p", auth=HTTPBasicAuth("u", "p"), name="basic class")
    return r.status_code, r.json()


def case_custom_auth(c):
    r = c.get("/headers", auth=TokenAuth("t0k"), name="custom auth")
    return sent_headers(r, "x-token")


def case_hooking_auth(c):
    auth = HookingAuth()
    r = c.get("/headers", auth=auth, name="hooking auth")
    return sent_headers(r, "x-hooked"), auth.seen


def case_request_hooks(c):
    seen = []

    def first(r, *args, **kwargs):
        seen.append(("first", r.status_code, r.url.rsplit("/", 1)[-1]))

    def second(r, *args, **kwargs):
        seen.append(("second", r.status_code))

    c.get("/status/404", hooks={"response": [first, second]}, name="hooks list")
    c.get("/hello", hooks={"response": first}, name="hooks one")
    return seen


def case_session_hooks(c):
    seen = []

    def hook(r, *args, **kwargs):
        seen.append(r.status_code)

    c.hooks["response"].append(hook)
    try:
        c.get("/hello", name="session hook")
        c.get("/status/500", name="session hook")
    finally:
        c.hooks["response"].remove(hook)
    c.get("/hello", name="session hook")
    return seen


def case_hook_replaces(c):
    def swap(r, *args, **kwargs):
        if r.status_code == 404:
            return c.get("/hello", name="hook inner")

    r = c.get("/status/404", hooks={"response": swap}, name="hook replaces")
    return r.status_code, r.text


def case_prepare_send(c):
    req = requests.Request("POST", c.base_url + "/echo", headers={"X-Prep": "1"}, data={"a": "b"},
                           params={"q": "1"})
    prep = c.prepare_request(req)
    info = (prep.method, prep.url.replace(c.base_url, "BASE"), prep.headers.get("X-Prep"),
            prep.headers.get("Content-Type"), prep.body, "User-Agent" in prep.headers)
    r = c.send(prep)
    d = r.json()
    return info, r.status_code, d["method"], d["body"], d["headers"].get("x-prep")


def case_request_prepare(c):
    prep = requests.Request("GET", c.base_url + "/headers", headers={"X-Raw": "1"}).prepare()
    r = c.send(prep, timeout=5)
    return r.status_code, sent_headers(r, "x-raw", "user-agent")


def case_stream_lines(c):
    r = c.get("/stream/5", stream=True, name="stream")
    lines = list(r.iter_lines())
    r2 = c.get("/stream/3", stream=True, name="stream")
    text_lines = list(r2.iter_lines(decode_unicode=True))
    return len(lines), lines[0], lines[-1], [type(x).__name__ for x in text_lines], text_lines[-1]


def case_iter_content(c):
    r = c.get("/stream/4", stream=True, name="stream")
    chunks = list(r.iter_content(chunk_size=7))
    r2 = c.get("/bytes/10", name="bytes")
    return sum(len(x) for x in chunks), b"".join(chunks).count(b"\n"), [len(x) for x in r2.iter_content(4)]


def case_raw(c):
    r = c.get("/stream/2", stream=True, name="stream")
    body = r.raw.read()
    r2 = c.get("/hello", name="raw after read")
    return body.count(b"\n"), r2.raw.read(), hasattr(r.raw, "read")


def case_links(c):
    r = c.get("/links", name="links")
    r2 = c.get("/hello", name="no links")
    return r.links, r2.links


def case_apparent_encoding(c):
    out = []
    for kind in ["ascii", "utf8", "utf8-charset", "latin1", "html", "json"]:
        r = c.get(f"/encoding/{kind}", name="encoding")
        guess = r.apparent_encoding
        if kind == "latin1":  # a guess that varies with the detector's version: only that it is not UTF-8
            guess = guess not in ("utf-8", "ascii")
        out.append((kind, r.encoding, guess, r.text[:12]))
    return out


def case_decoding(c):
    sent = sent_headers(c.get("/headers", name="headers"), "accept-encoding")
    out = [sent]
    for path in ["/gzip", "/deflate", "/brotli"]:
        r = c.get(path, name="decoding")
        out.append((path, r.headers.get("Content-Encoding"), r.json()))
    return out


def case_history_elapsed(c):
    r = c.get("/redirect/2", name="history")
    return ([(h.status_code, h.url.rsplit("/", 1)[-1], h.is_redirect) for h in r.history], r.url.rsplit("/", 1)[-1],
            type(r.elapsed).__name__, r.elapsed.total_seconds() >= 0, r.is_redirect)


def case_max_redirects(c):
    c.max_redirects = 2
    try:
        try:
            r = c.get("/redirect/4", name="max redirects")
            return "returned", r.status_code, type(r.error).__name__ if getattr(r, "error", None) else None
        except Exception as e:
            return "raised", type(e).__name__, str(e)
    finally:
        c.max_redirects = 30


def case_files(c):
    r = c.post("/upload", files={"f": ("a.txt", b"hello world", "text/plain")}, data={"k": "v"}, name="upload")
    r2 = c.post("/upload", files=[("g", ("b.bin", b"\x00\x01"))], name="upload")
    return r.json(), r2.json()


def case_timeouts(c):
    r = c.get("/delay/10", timeout=(5, 5), name="timeout pair")
    r2 = c.get("/delay/400", timeout=(5, 0.1), name="read timeout")
    return r.status_code, r2.status_code, type(r2.error).__name__ if r2.error else None


def case_request_object(c):
    r = c.get("/echo?x=1", name="request object")
    p = r.request
    return (p.method, p.url.replace(c.base_url, "BASE"), p.path_url, p.body, sorted(p.headers)[:4],
            type(p).__name__)


def case_response_misc(c):
    r = c.get("/set-cookie?a=1", name="misc")
    bad = c.get("/hello", name="misc")
    try:
        bad.json()
        err = None
    except requests.exceptions.JSONDecodeError as e:
        err = (type(e).__name__, str(e))
    nf = c.get("/status/404", name="misc")
    try:
        nf.raise_for_status()
        hs = None
    except requests.exceptions.HTTPError as e:
        hs = str(e).replace(c.base_url, "BASE")
    return (r.cookies.get_dict(), r.reason, r.ok, r.headers.get("content-type"), err, hs,
            r.is_permanent_redirect, r.next)


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
