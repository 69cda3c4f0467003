# diff: -u 1 -r 100 -t 5s
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
"""More of the requests API a locustfile uses every day: the session's cookie jar (get_dict, set, clear), session
auth and headers, HTTPBasicAuth, params and form pairs, request bodies as requests keeps them (str for text and
forms, bytes for JSON), redirects not followed (`next`), HEAD/OPTIONS/DELETE, a changed encoding with
iter_content(decode_unicode=True), file objects in files=, json() errors and keywords, repeated headers, and the
history's requests."""
import io
import re
import sys

import requests
from requests.auth import HTTPBasicAuth

from locust import HttpUser, constant, task


def n(x):
    return re.sub(r"127\.0\.0\.1:\d+", "HOST", str(x))

CASES = []
def case(f):
    CASES.append(f)
    return f

@case
def cookies_api(c):
    c.get("/set-cookie?a=1&b=2", name="sc")
    jar = c.cookies
    out = (sorted(jar.get_dict().items()), "a" in jar, jar.get("a"), sorted(jar.keys()), len(jar))
    c.cookies.set("z", "9")
    r = c.get("/cookies", name="ck")
    c.cookies.clear()
    r2 = c.get("/cookies", name="ck")
    return out, r.json(), r2.json()

@case
def session_auth_headers(c):
    c.auth = ("u", "p")
    c.headers.update({"X-Session": "s"})
    r = c.get("/basic-auth/u/p", name="sess auth")
    h = c.get("/headers", name="sess hdr").json()["headers"]
    c.auth = None
    del c.headers["X-Session"]
    return r.status_code, h.get("x-session"), h.get("authorization", "")[:6]

@case
def basic_class(c):
    return c.get("/basic-auth/u/p", auth=HTTPBasicAuth("u", "p"), name="b").status_code

@case
def params_forms(c):
    r = c.get("/echo", params=[("a", "1"), ("a", "2"), ("b", None)], name="p")
    r2 = c.post("/echo", data=[("x", "1"), ("x", "2")], name="d")
    r3 = c.post("/echo", json={"k": [1, 2]}, name="j")
    return r.json()["query"] if "query" in r.json() else r.json(), r2.json().get("body"), r3.request.body, r3.request.headers.get("Content-Type")

@case
def redirects_off(c):
    r = c.get("/redirect/2", allow_redirects=False, name="noredir")
    nx = r.next
    return r.status_code, r.is_redirect, r.headers.get("Location"), type(nx).__name__, nx.method if nx else None, n(nx.url) if nx else None

@case
def head_options_delete(c):
    h = c.head("/hello", name="head")
    o = c.options("/hello", name="opt")
    d = c.delete("/todos/999", name="del")
    return h.status_code, h.content, h.headers.get("Content-Length"), o.status_code, d.status_code

@case
def encoding_set(c):
    r = c.get("/encoding/utf8", name="enc")
    before = r.text[:8]
    r.encoding = "utf-8"
    chunks = list(r.iter_content(chunk_size=10, decode_unicode=True))
    return before, r.text[:8], type(chunks[0]).__name__, "".join(chunks)[:10]

@case
def files_objects(c):
    r = c.post("/upload", files={"f": io.BytesIO(b"abc"), "g": ("g.txt", io.StringIO("xyz"))}, name="up")
    return r.json()

@case
def json_errors(c):
    r = c.get("/json", name="js")
    try:
        c.get("/hello", name="js").json()
    except requests.exceptions.JSONDecodeError as e:
        err = (e.msg, e.pos, isinstance(e, ValueError))
    return r.json(parse_int=str)["items"], err

@case
def headers_multi(c):
    r = c.get("/set-cookie?a=1&b=2", name="sc")
    return r.headers.get("Set-Cookie"), sorted(r.cookies.keys()), r.headers["content-type"]

@case
def request_attrs(c):
    r = c.post("/echo?q=1", data="raw", headers={"Content-Type": "text/plain"}, name="ra")
    p = r.request
    return p.method, n(p.url), p.body, p.headers.get("Content-Length"), p.path_url

@case
def history_details(c):
    r = c.get("/redirect/1", name="hd")
    h = r.history[0]
    return h.status_code, n(h.url), h.headers.get("Location"), h.request.method if h.request else None, h.is_redirect

class P(HttpUser):
    wait_time = constant(100)
    fixed_count = 1
    @task
    def t(self):
        for f in CASES:
            try:
                out = f(self.client)
            except Exception as e:
                out = f"raised {type(e).__name__}: {e}"
            print(f"MARK {f.__name__}: {n(out)}", file=sys.stderr)
