# diff: -u 3 -r 100 -t 6s
# diff-host: {host}
# diff-extra-args: --proxy-open {proxy_open} --proxy-auth {proxy_auth} --https-url {fault_https} --dead {dead_host}
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
"""Proxies as requests applies them: `proxies=` per request and `session.proxies`, HTTP forwarding and CONNECT
tunnels for https, proxy credentials in the proxy URL, the proxy's own 407, a proxy that is not there, and the
environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, ALL_PROXY) with requests' precedence. Two tinyproxy instances on
loopback (one open, one requiring Basic credentials pxuser:pxpass); each case prints what the server answered."""
import os
import re
import sys

from locust import FastHttpUser, HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--proxy-open", default="")
    parser.add_argument("--proxy-auth", default="")
    parser.add_argument("--https-url", default="")
    parser.add_argument("--dead", default="")


def with_creds(url, user="pxuser", password="pxpass"):
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"


ENV_KEYS = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy",
            "all_proxy"]


class env:
    """Set proxy variables for one case (requests reads them on every request)."""

    def __init__(self, **values):
        self.values = values

    def __enter__(self):
        self.saved = {k: os.environ.pop(k) for k in ENV_KEYS if k in os.environ}
        os.environ.update(self.values)

    def __exit__(self, *exc):
        for k in ENV_KEYS:
            os.environ.pop(k, None)
        os.environ.update(self.saved)


def result(r):
    """status, whether the request went through a proxy (tinyproxy adds a Via header), and the error."""
    err = r.error if getattr(r, "error", None) else None
    if r.status_code == 200 and r.headers.get("content-type", "").startswith("application/json"):
        body = "proxied" if "via" in r.json()["headers"] else "direct"
    else:
        body = r.text[:20] if r.status_code else ""
    return r.status_code, body, type(err).__name__ if err else None, str(err)[:400] if err else ""


class Probe(HttpUser):
    wait_time = constant(100)
    fixed_count = 1

    @task
    def cases(self):
        o = self.environment.parsed_options
        c = self.client
        https_ok = o.https_url + "/ok"
        cases = [
            ("http via proxies=", lambda: c.get("/headers", proxies={"http": o.proxy_open}, name="p http")),
            ("https via CONNECT", lambda: c.get(https_ok, proxies={"https": o.proxy_open}, verify=False,
                                                name="p https")),
            ("scheme not proxied", lambda: c.get("/headers", proxies={"https": o.proxy_open}, name="p other")),
            ("host key", lambda: c.get("/headers", proxies={"http://" + self.host.split("//")[1]: o.proxy_open},
                                       name="p hostkey")),
            ("all key", lambda: c.get("/headers", proxies={"all": o.proxy_open}, name="p all")),
            ("auth missing http", lambda: c.get("/headers", proxies={"http": o.proxy_auth}, name="p 407")),
            ("auth missing https", lambda: c.get(https_ok, proxies={"https": o.proxy_auth}, verify=False,
                                                 name="p 407 tunnel")),
            ("auth http", lambda: c.get("/headers", proxies={"http": with_creds(o.proxy_auth)}, name="p auth")),
            ("auth https", lambda: c.get(https_ok, proxies={"https": with_creds(o.proxy_auth)}, verify=False,
                                         name="p auth tunnel")),
            ("auth wrong", lambda: c.get("/headers", proxies={"http": with_creds(o.proxy_auth, password="no")},
                                         name="p auth wrong")),
            ("dead proxy", lambda: c.get("/headers", proxies={"http": o.dead}, name="p dead")),
            ("dead proxy https", lambda: c.get(https_ok, proxies={"https": o.dead}, verify=False,
                                               name="p dead tunnel")),
        ]
        for label, call in cases:
            self.run_case(label, call)

        c.proxies = {"http": o.proxy_open}
        self.run_case("session proxies", lambda: c.get("/headers", name="s http"))
        self.run_case("request overrides session", lambda: c.get("/headers", proxies={"http": o.dead}, name="s over"))
        c.proxies = {}

        # HttpUser's session does not read the environment (Locust sets trust_env = False); a locustfile can turn
        # it on, as requests has it
        with env(HTTP_PROXY=o.proxy_open):
            self.run_case("env ignored by HttpUser", lambda: c.get("/headers", name="e ignored"))
        c.trust_env = True
        with env(HTTP_PROXY=o.proxy_open):
            self.run_case("env HTTP_PROXY", lambda: c.get("/headers", name="e http"))
        with env(HTTP_PROXY=o.dead, NO_PROXY="127.0.0.1"):
            self.run_case("env NO_PROXY", lambda: c.get("/headers", name="e no_proxy"))
        with env(ALL_PROXY=o.proxy_open):
            self.run_case("env ALL_PROXY", lambda: c.get("/headers", name="e all"))
        with env(HTTPS_PROXY=o.proxy_open):
            self.run_case("env HTTPS_PROXY", lambda: c.get(https_ok, verify=False, name="e https"))
        with env(HTTP_PROXY=o.dead):
            self.run_case("env below proxies=", lambda: c.get("/headers", proxies={"http": o.proxy_open},
                                                              name="e below"))
            c.trust_env = False
            self.run_case("trust_env off", lambda: c.get("/headers", name="e untrusted"))
            c.trust_env = True

    def run_case(self, label, call):
        try:
            r = call()
            out = result(r)
        except Exception as e:
            out = f"raised {type(e).__name__}: {e}"
        out = re.sub(r"0x[0-9a-f]+", "0x?", re.sub(r"127\.0\.0\.1:\d+", "HOST", str(out)))
        print(f"MARK {label}: {out}", file=sys.stderr)


def fast_result(label, call):
    try:
        r = call()
        if r.status_code == 200 and r.headers.get("content-type", "").startswith("application/json"):
            body = "proxied" if "via" in r.json()["headers"] else "direct"
        else:
            body = r.text[:10] if r.status_code else ""
        err = getattr(r, "error", None)  # a successful FastResponse has no `error`
        out = (r.status_code, body, type(err).__name__ if err else None, str(err)[:200] if err else "")
    except Exception as e:
        out = f"raised {type(e).__name__}: {e}"
    out = re.sub(r"0x[0-9a-f]+", "0x?", re.sub(r"127\.0\.0\.1:\d+", "HOST", str(out)))
    print(f"MARK {label}: {out}", file=sys.stderr)


class FastProbe(FastHttpUser):
    """FastHttpUser's proxy_host/proxy_port (geventhttpclient: forwarding and CONNECT; a dead proxy is the refused
    connect itself)."""

    wait_time = constant(100)
    fixed_count = 1

    def __init__(self, environment):
        self.proxy_host = "127.0.0.1"
        self.proxy_port = int(environment.parsed_options.proxy_open.rsplit(":", 1)[1])
        super().__init__(environment)

    @task
    def cases(self):
        https_ok = self.environment.parsed_options.https_url + "/ok"
        fast_result("fast http", lambda: self.client.get("/headers", name="f http"))
        fast_result("fast https", lambda: self.client.get(https_ok, name="f https"))


class FastDeadProxy(FastHttpUser):
    wait_time = constant(100)
    fixed_count = 1
    proxy_host = "127.0.0.1"
    proxy_port = 1

    @task
    def cases(self):
        https_ok = self.environment.parsed_options.https_url + "/ok"
        fast_result("fast dead", lambda: self.client.get("/headers", name="f dead"))
        fast_result("fast dead https", lambda: self.client.get(https_ok, name="f dead https"))
