# diff: -u 2 -r 2 -t 8s
# diff-host: {fault_host}
# diff-env: FAULT_HTTP_B={fault_http_b} FAULT_ALT={fault_alt} FAULT_HTTPS={fault_https}
# diff-check: exit markers
# diff-expect: exit=0
# diff-markers: mode=set ^MARK .*
"""Which credentials a redirect carries (issue 51): the locustfile sets `Cookie`, `Cookie2`, `Authorization` and
`Proxy-Authorization` on a call that the fault server (tests/faults/faultserver.py, `/hop` and `/echo`) redirects
to the same origin, to another host (localhost, 127.0.0.2), to another port, from https to http and from http to
https, away and back, with a 307 POST and a 301 PUT, and once after setting a cookie in the session's jar. Each
case prints what arrived at the end of the chain, for HttpUser (requests strips `Cookie` and
`Proxy-Authorization` on every hop and `Authorization` on a host, port or scheme change) and for FastHttpUser
(geventhttpclient strips `Cookie`/`Cookie2` on every hop and `Authorization` off the first origin)."""
import os
from urllib.parse import quote

from locust import FastHttpUser, HttpUser, constant, task

B = os.environ["FAULT_HTTP_B"]  # http://127.0.0.1:<another port>
ALT = os.environ["FAULT_ALT"]  # http://127.0.0.2:<the host's port>
TLS = os.environ["FAULT_HTTPS"]  # https://127.0.0.1:<a third port>, self-signed
SECRETS = {
    "Cookie": "manual=1",
    "Cookie2": "c2=1",
    "Authorization": "Bearer secret",
    "Proxy-Authorization": "Basic cHg6cHg=",
}


def hop(to, code=302, set_cookie=None):
    path = f"/hop?code={code}&to={quote(to, safe='')}"
    if set_cookie:
        path += f"&set={quote(set_cookie, safe='')}"
    return path


def cases(host):
    port = host.rsplit(":", 1)[1]
    local = f"http://localhost:{port}"
    return [
        ("same-origin", "GET", host + hop(host + "/echo"), None),
        ("to-localhost", "GET", host + hop(local + "/echo"), None),
        ("to-127.0.0.2", "GET", host + hop(ALT + "/echo"), None),
        ("to-other-port", "GET", host + hop(B + "/echo"), None),
        ("https-to-http", "GET", TLS + hop(host + "/echo"), None),
        ("http-to-https", "GET", host + hop(TLS + "/echo"), None),
        ("away-and-back", "GET", host + hop(local + hop(host + "/echo")), None),
        ("post-307-to-localhost", "POST", host + hop(local + "/echo", 307), b"x=1"),
        ("put-301-same-origin", "PUT", host + hop(host + "/echo", 301), b"x=1"),
        ("jar-then-same-origin", "GET", host + hop(host + "/echo", set_cookie="jar=1"), None),
        ("jar-to-localhost", "GET", host + hop(local + "/echo", set_cookie="jar2=1"), None),
    ]


def show(user, label, response):
    seen = (response.content or b"").decode("latin-1").replace("\n", " ")
    print("MARK", type(user).__name__, label, response.status_code, seen, flush=True)


FINISHED = set()


def finished(user):
    FINISHED.add(type(user).__name__)
    if len(FINISHED) == 2:
        user.environment.runner.quit()


class Requests(HttpUser):
    wait_time = constant(60)

    @task
    def redirects(self):
        for label, method, url, body in cases(self.host):
            headers = dict(SECRETS, **({"Content-Type": "application/x-www-form-urlencoded"} if body else {}))
            r = self.client.request(method, url, data=body, headers=headers, verify=False, name=label)
            show(self, label, r)
        finished(self)


class Fast(FastHttpUser):
    wait_time = constant(60)

    @task
    def redirects(self):
        for label, method, url, body in cases(self.host):
            headers = dict(SECRETS, **({"Content-Type": "application/x-www-form-urlencoded"} if body else {}))
            r = self.client.request(method, url, data=body, headers=headers, name=label)
            show(self, label, r)
        finished(self)
