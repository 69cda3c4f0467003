# diff: -u 1 -r 1 -t 4s
# diff-check: exit markers
# diff-markers: mode=set ^MARK .*
"""`response.request.body` of a FastHttpUser's call, as Locust's FastRequest keeps it: geventhttpclient encodes a
str payload to bytes (with its text/plain Content-Type) unless the call already names a Content-Type, in which case
the str stays (as json='s does); bytes stay bytes, a dict becomes its URL-encoded bytes."""
from locust import FastHttpUser, constant, task


class Bodies(FastHttpUser):
    wait_time = constant(60)

    @task
    def cases(self):
        cases = [
            ("str", dict(data="abc")),
            ("str with a content type", dict(data="abc", headers={"Content-Type": "text/csv"})),
            ("str with a lower-case content type", dict(data="a=1", headers={"content-type": "x/y"})),
            ("bytes", dict(data=b"abc")),
            ("dict", dict(data={"a": "1", "b": "x y"})),
            ("json", dict(json={"a": 1})),
        ]
        for label, kwargs in cases:
            r = self.client.post("/echo", **kwargs)
            body = r.request.body
            print("MARK", label, type(body).__name__, repr(body), r.status_code, flush=True)
        self.environment.runner.quit()
