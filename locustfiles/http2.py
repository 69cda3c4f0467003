# diff: -u 2 -r 100 -t 6s
# diff-extra-args: --h2-url {h2_url} --h2-ca {h2_ca}
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
# diff-normalize: localhost:\d+ => HOST
"""rlocust's HTTP/2 (`http2 = True` on the user classes) gives the stats rows, failure rows and responses that
Locust gives over HTTP/1.1: the server is nginx with `http2` in front of the loopback target, offering h2 and
http/1.1 by ALPN. Locust ignores the attribute and speaks HTTP/1.1 to it; rlocust speaks HTTP/2 (checked on the
wire by tests/diff/test_http2_wire.py). Covered: bodies up and down, redirects, cookies, gzip/deflate/br,
catch_response, error statuses, a read timeout, HEAD, streaming, digest auth's 401 round trip, concurrent
requests of one user (multiplexed on one connection under rlocust), and FastHttpUser."""
import gevent
from requests.auth import HTTPDigestAuth

from locust import FastHttpUser, HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--h2-url", default="")
    parser.add_argument("--h2-ca", default="")


def low(headers, *names):
    return {n: headers.get(n) for n in names}


class H2(HttpUser):
    http2 = True
    wait_time = constant(0.05)

    def on_start(self):
        self.host = self.environment.parsed_options.h2_url
        self.client.base_url = self.host
        self.client.verify = self.environment.parsed_options.h2_ca

    @task
    def every_kind(self):
        # one task calls the three in order: with random picks, a 6 s run could miss one of them (a row only one
        # tool has), as Locust's run once did in CI
        self.pages()
        self.failures()
        self.concurrent()

    def pages(self):
        r = self.client.get("/hello")
        print("MARK hello", r.status_code, r.reason, r.text, low(r.headers, "content-type"))
        r = self.client.get("/json")
        print("MARK json", r.status_code, sorted(r.json()) if r.ok else None)
        r = self.client.post("/echo", data=b"x" * 300_000, headers={"Content-Type": "application/octet-stream"})
        print("MARK echo", r.status_code, len(r.content))
        r = self.client.get("/redirect/3")
        print("MARK redirects", r.status_code, [h.status_code for h in r.history], r.url.rsplit("/", 1)[-1])
        self.client.get("/set-cookie?flavor=oat")
        r = self.client.get("/cookies")
        print("MARK cookies", r.status_code, r.text.strip()[:80], sorted(self.client.cookies.keys()))
        for path in ("/gzip", "/deflate", "/brotli"):
            r = self.client.get(path)
            print("MARK encoded", path, r.status_code, low(r.headers, "content-encoding"), len(r.content))
        r = self.client.head("/hello")
        print("MARK head", r.status_code, r.content)
        r = self.client.get("/stream/5", stream=True)
        print("MARK stream", r.status_code, len(list(r.iter_lines())))
        r = self.client.get("/digest-auth/auth/u/p", auth=HTTPDigestAuth("u", "p"))
        print("MARK digest", r.status_code, [h.status_code for h in r.history])

    def failures(self):
        self.client.get("/status/404")
        self.client.post("/status/500", json={"a": 1})
        self.client.get("/delay/2000", timeout=0.5, name="/delay timeout")
        with self.client.get("/json", catch_response=True) as r:
            if r.status_code == 200:
                r.failure("rejected by the locustfile")

    def concurrent(self):
        calls = [gevent.spawn(self.client.get, f"/items/{i}", name="/items/[id]") for i in range(8)]
        gevent.joinall(calls, timeout=10)
        print("MARK concurrent", sorted(g.value.status_code for g in calls if g.value is not None))


class FastH2(FastHttpUser):
    http2 = True
    wait_time = constant(0.05)

    def on_start(self):
        self.host = self.environment.parsed_options.h2_url
        self.client.base_url = self.host

    @task
    def fast(self):
        r = self.client.get("/hello", name="fast /hello")
        print("MARK fast hello", r.status_code, r.text)
        r = self.client.post("/echo", data=b"y" * 100_000, name="fast /echo")
        print("MARK fast echo", r.status_code, len(r.content))
        self.client.get("/status/503", name="fast /status/503")
        r = self.client.get("/gzip", name="fast /gzip")
        print("MARK fast gzip", r.status_code, len(r.content))
