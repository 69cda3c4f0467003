# diff: -u 1 -r 10 -t 16s
# diff-sequential: response times against the one fault server decide the outcome
# diff-host: {fault_host}
# diff-check: names failures exceptions exit markers
# diff-markers: mode=set ^MARK .*
# diff-normalize: 127\.0\.0\.1:\d+ => HOST
"""Broken and odd bodies read with `stream=True`: the call returns at the head and is recorded there (a body that
breaks later is no failure row), and reading the body with iter_content or content raises what requests raises
reading it (ChunkedEncodingError, ContentDecodingError, ConnectionError with urllib3's ReadTimeoutError, ...).
The fault server answers each path with the fault its name says."""
from locust import HttpUser, constant, task
from locust.exception import StopUser

PATHS = ["/ok", "/chunk-incomplete", "/chunk-no-terminator", "/chunk-size-invalid", "/gzip-invalid",
         "/gzip-truncated", "/gzip-ok", "/deflate-invalid", "/incomplete-body", "/reset-mid-body", "/no-framing",
         "/http10", "/content-length-too-long-body", "/lf-only", "/big-body", "/status-no-reason"]
# `raw` of identity bodies only: rlocust's raw gives the decoded body and requests' exception classes, urllib3's
# gives the bytes as sent and its own ProtocolError (see README, "stream=True")
RAW_PATHS = ["/ok", "/no-framing", "/http10", "/big-body", "/lf-only", "/trickle-body"]


def outcome(call):
    try:
        return call()
    except Exception as e:
        return f"raised {type(e).__name__}: {e}"


class Streamer(HttpUser):
    wait_time = constant(1)

    @task
    def faults(self):
        for path in PATHS:
            r = self.client.get(path, stream=True, timeout=(2, 1))
            got = outcome(lambda: sum(len(c) for c in r.iter_content(1000)))
            print("MARK iter_content", path, r.status_code, got)
            r = self.client.get(path, stream=True, timeout=(2, 1), name=f"{path} content")
            print("MARK content", path, outcome(lambda: len(r.content)))
        for path in RAW_PATHS:
            r = self.client.get(path, stream=True, timeout=(2, 1), name=f"{path} raw")
            print("MARK raw", path, outcome(lambda: len(r.raw.read(7))), outcome(lambda: len(r.raw.read())))
        # content after a partial iter_content or raw.read is the rest of the body; after iter_content went
        # through, content and text raise
        r = self.client.get("/trickle-body", stream=True, timeout=(2, 2), name="/trickle-body partly iterated")
        print("MARK partly iterated", next(r.iter_content(1)), outcome(lambda: r.content))
        r = self.client.get("/big-body", stream=True, name="/big-body raw then content")
        print("MARK raw then content", r.raw.read(3), outcome(lambda: len(r.content)))
        r = self.client.get("/ok", stream=True, name="/ok iterated")
        print("MARK iterated", list(r.iter_content(1)), outcome(lambda: r.content), outcome(lambda: r.text))
        r = self.client.get("/stall-body", stream=True, timeout=(2, 1))
        print("MARK stall", r.status_code, outcome(lambda: r.content))
        r = self.client.get("/redirect-loop", stream=True, timeout=(2, 1))
        print("MARK loop", r.status_code)
        r = self.client.get("/chunk-endless", stream=True, timeout=(2, 1))
        first = next(r.iter_content(64))
        r.close()
        print("MARK endless first piece", len(first))
        raise StopUser()
