"""Helper of tests/diff/test_http2_wire.py (not a differential scenario): one user per kind of server, each
printing the HTTP version its responses came in. URLs come from the environment (WIRE_*)."""
import os

import gevent

from locust import FastHttpUser, HttpUser, constant, task
from locust.exception import StopUser

URLS = {k: os.environ[f"WIRE_{k.upper()}"] for k in ("alpn", "h2c", "h1", "tls_h1", "goaway")}


class Wire(HttpUser):
    abstract = True
    wait_time = constant(0)
    kind = ""

    @task
    def go(self):
        base = URLS[self.kind]
        versions = set()
        for _ in range(5):
            r = self.client.get(base + "/hello", verify=False, name=f"{self.kind} /hello")
            versions.add((r.status_code, r.raw.version))
        calls = [gevent.spawn(self.client.get, base + f"/items/{i}", verify=False, name=f"{self.kind} /items")
                 for i in range(8)]
        gevent.joinall(calls, timeout=10)
        versions.update((g.value.status_code, g.value.raw.version) for g in calls)
        r = self.client.get(base + "/delay/1500", verify=False, timeout=0.3, name=f"{self.kind} timeout")
        print("MARK", self.kind, sorted(versions), type(r.error).__name__)
        raise StopUser()


class Alpn(Wire):
    kind = "alpn"


class H2c(Wire):
    kind = "h2c"


class H1(Wire):
    kind = "h1"


class TlsH1(Wire):
    kind = "tls_h1"


class Goaway(Wire):
    kind = "goaway"


class FastAlpn(FastHttpUser):
    wait_time = constant(0)

    @task
    def go(self):
        r = self.client.get(URLS["alpn"] + "/hello", name="fast alpn /hello")
        print("MARK fast", r.status_code, r.text)
        raise StopUser()
