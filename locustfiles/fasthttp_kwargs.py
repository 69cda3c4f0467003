# diff: -u 1 -r 1 -t 3s
# diff-check: names failures exceptions exit markers
# diff-expect: exit=0
# diff-markers: mode=set ^ECHO .*
"""FastHttpUser passes keyword arguments it does not know to geventhttpclient, which sends them as query
parameters (GET, DELETE, ...) or form fields (POST): `timeout=3` is not a timeout there. The target echoes what
it received."""
import gevent

from locust import FastHttpUser, constant, task


class Kwargs(FastHttpUser):
    wait_time = constant(0)

    @task
    def once(self):
        if getattr(self, "done", False):
            gevent.sleep(3600)
            return
        self.done = True
        for label, call in [
            ("get timeout", lambda: self.client.get("/echo", timeout=3)),
            ("get extra", lambda: self.client.get("/echo?x=1", params={"y": "2"}, foo="bar")),
            ("post timeout", lambda: self.client.post("/echo", timeout=3)),
            ("post dict", lambda: self.client.post("/echo", data={"a": "1"}, foo="bar")),
            ("post str", lambda: self.client.post("/echo", data="raw", foo="bar")),
            ("delete", lambda: self.client.delete("/echo", verify=False)),
        ]:
            r = call()
            seen = r.json()
            print(f"ECHO {label}: {r.status_code} {seen['method']} {seen['path']} query={seen['query']} "
                  f"body={seen['body']!r}", flush=True)
