"""Exercises the requests-style client surface through the real engine; writes what it saw to $SURFACE_OUT."""
import json
import os

from locust import HttpUser, events, task
from locust.exception import StopUser

seen = {}


class Surface(HttpUser):
    @task
    def probe(self):
        c = self.client
        r = c.get("/echo", params={"a": "1", "b": ["x", "y"]}, headers={"X-Test": "t"})
        body = r.json()
        seen["query"] = body["query"]
        seen["x_test"] = body["headers"].get("x-test")
        seen["ua"] = body["headers"].get("user-agent", "")
        seen["status"] = [r.status_code, r.ok, r.reason, bool(r)]
        seen["content_type"] = r.headers["Content-Type"]
        seen["content_is_bytes"] = isinstance(r.content, bytes)
        seen["text_is_str"] = isinstance(r.text, str)
        seen["url"] = r.url
        seen["elapsed_positive"] = r.elapsed.total_seconds() > 0

        r = c.post("/echo", data={"k": "v"})
        seen["form"] = r.json()["form"]
        r = c.post("/echo", json={"n": 1})
        seen["json_body"] = r.json()["json"]
        r = c.put("/echo", data=b"raw")
        seen["put"] = [r.json()["method"], r.json()["body"]]
        seen["patch"] = c.patch("/echo", json={}).json()["method"]
        seen["delete"] = c.delete("/echo").json()["method"]
        seen["head"] = c.head("/hello").status_code
        seen["options"] = c.options("/echo").status_code
        seen["request"] = c.request("GET", "/echo").json()["method"]

        r = c.get("/basic-auth/u/p", auth=("u", "p"))
        seen["auth"] = r.status_code
        r = c.get("/set-cookie?flavor=choc")
        seen["response_cookie"] = r.cookies.get("flavor")
        seen["jar_cookie"] = c.cookies.get("flavor")
        seen["cookie_sent"] = c.get("/cookies").json()["cookies"]
        seen["extra_cookie"] = c.get("/cookies", cookies={"one": "1"}).json()["cookies"].get("one")

        r = c.get("/redirect/2")
        seen["redirect"] = [r.status_code, len(r.history), r.history[0].status_code if r.history else None]
        r = c.get("/redirect/2", allow_redirects=False)
        seen["no_redirect"] = r.status_code
        r = c.get("/gzip")
        seen["gzip"] = r.json()
        r = c.post("/upload", files={"f": ("a.txt", b"hello")})
        seen["upload"] = r.status_code

        r = c.get("/status/404", name="/missing-page")
        seen["404"] = [r.status_code, r.ok]
        try:
            r.raise_for_status()
        except Exception as e:
            seen["raise_for_status"] = [type(e).__name__, str(e)]
        r = c.get("/delay/300", timeout=0.05)
        seen["timeout"] = [r.status_code, type(r.error).__name__]

        with c.get("/json", catch_response=True) as r:
            seen["catch_json"] = isinstance(r.json(), dict)
            r.failure("custom failure")
        with c.rename_request("/renamed"):
            c.get("/hello")
        c.request_name = "/via-attribute"
        c.get("/hello")
        c.request_name = None
        raise StopUser()


@events.quitting.add_listener
def dump(environment, **_kw):
    errors = sorted((e.method, e.name, e.error) for e in environment.stats.errors.values())
    seen["failures"] = errors
    seen["names"] = sorted(n for n, _m in environment.stats.entries.keys())
    with open(os.environ["SURFACE_OUT"], "w") as f:
        json.dump(seen, f)
