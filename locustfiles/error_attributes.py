# diff: -u 2 -r 2 -t 8s
# diff-sequential: response times against the one fault server decide the outcome
# diff-host: {fault_host}
# diff-check: exit markers
# diff-expect: exit=1
# diff-markers: mode=set ^MARK .*
"""What a locustfile can read off an HttpUser's connection and timeout errors beyond their text: requests'
`e.request` (the very PreparedRequest of the failed response), urllib3's `MaxRetryError.url`/`.reason`/`_message`
and `ReadTimeoutError.url` (the path and query requests passed to urllib3, the whole URL without its fragment
through an HTTP proxy; None for a body that stalls, whose error, raised reading the body, has no request, and
whose response then has none either). Locust 2.47's HttpSession gives these; each case prints them. (The user
quits right after its cases, before the CSVs are written again: only the markers and the exit code are compared.)
A FastHttpUser's RetriesExceeded keeps geventhttpclient's `url`, `text`, `kw_text` and `original`; a socket error
it lets through has the request (its URL is compared), and the response of a call that got none has no headers,
content or text (Locust's ErrorResponse)."""
import socket

from locust import FastHttpUser, HttpUser, constant, task


def dead_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def describe(label, r):
    e = r.error
    inner = e.args[0] if e is not None and e.args else None
    reason = getattr(inner, "reason", "-")
    message = getattr(inner, "_message", "-")
    port = str(DEAD)
    print(
        "MARK", label, type(e).__name__, type(inner).__name__,
        "url=%r" % (getattr(inner, "url", "-"),),
        "reason=%s" % (type(reason).__name__ if reason != "-" else "-"),
        "message=%s" % (message.replace(port, "<dead>")[:60] if isinstance(message, str) else message),
        "request=%s" % type(e.request).__name__,
        "same=%s" % (e.request is r.request),
        "response=%r" % (e.response,),
        flush=True,
    )


DEAD = dead_port()


class Errors(HttpUser):
    wait_time = constant(60)

    @task
    def cases(self):
        cases = [
            ("silent", lambda: self.client.get("/silent?a=1#frag", timeout=1, catch_response=True)),
            ("stall-body", lambda: self.client.get("/stall-body", timeout=1, catch_response=True)),
            ("refused", lambda: self.client.get(f"http://127.0.0.1:{DEAD}/p/q?x=1#f", catch_response=True)),
            ("dead-proxy", lambda: self.client.get(
                "/ok?via=proxy#f", proxies={"http": f"http://127.0.0.1:{DEAD}"}, catch_response=True)),
        ]
        for label, call in cases:
            with call() as r:
                describe(label, r)
                r.failure(label)
        finished(self)


FINISHED = set()


def finished(user):
    """The run ends once both users have shown their cases."""
    FINISHED.add(type(user).__name__)
    if len(FINISHED) == 2:
        user.environment.runner.quit()


class FastErrors(FastHttpUser):
    wait_time = constant(60)
    network_timeout = 1

    @task
    def cases(self):
        for label, url in [("fast silent", "/silent?a=1#frag"), ("fast refused", f"http://127.0.0.1:{DEAD}/p")]:
            with self.client.get(url, catch_response=True) as r:
                e = r.error
                print(
                    "MARK", label, type(e).__name__,
                    *("%s=%r" % (k, str(getattr(e, k, "-")).replace(str(DEAD), "<dead>").split("//")[-1].split("/", 1)[-1])
                      for k in ("url", "text", "kw_text")),
                    "original=%s" % type(getattr(e, "original", None)).__name__,
                    "request=%s" % getattr(getattr(e, "request", None), "url", "-").replace(str(DEAD), "<dead>"),
                    "headers=%r content=%r text=%r" % (r.headers, r.content, r.text),
                    flush=True,
                )
                r.failure(label)
        finished(self)
