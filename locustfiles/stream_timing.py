# diff: -u 2 -r 10 -t 12s
# diff-sequential: response times against the one fault server decide the outcome
# diff-host: {fault_host}
# diff-check: names failures exceptions exit markers
# diff-markers: mode=set ^MARK .*
"""What Locust records for `stream=True`: requests and geventhttpclient return at the response head, so the
response time stops there and the length is the Content-Length header's value; without `stream` the time
includes the body. The fault server sends its head at once and a 10-byte body over 5 s (/trickle-body); a
request listener prints whether each recorded time was under a second."""
from locust import FastHttpUser, HttpUser, constant, events, task


@events.request.add_listener
def _(request_type, name, response_time, response_length, exception, **kwargs):
    print("MARK", request_type, name, "fast" if response_time < 1000 else "slow", response_length,
          type(exception).__name__ if exception else None)


class Streamer(HttpUser):
    wait_time = constant(10)

    @task
    def t(self):
        r = self.client.get("/trickle-body", stream=True, name="http stream")
        print("MARK http content", r.content)
        self.client.get("/trickle-body", name="http whole", timeout=8)


class FastStreamer(FastHttpUser):
    wait_time = constant(10)

    @task
    def t(self):
        r = self.client.get("/trickle-body", stream=True, name="fast stream")
        print("MARK fast content", r.content)
