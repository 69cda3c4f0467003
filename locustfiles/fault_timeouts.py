# diff: -u 20 -r 100 -t 9s
# diff-sequential: response times against the one fault server decide the outcome
# diff-host: {fault_host}
# diff-check: names failures exceptions exit csv-headers markers
# diff-expect: exit=1 failures>=4 exceptions>=5
# diff-markers: mode=set ^CASE .*
"""Timeouts as each client applies them. HttpUser (requests): `timeout=` bounds the connect and each read, so a
body trickled over 5 s with timeout=2 succeeds, a silent server fails with ReadTimeout and a body that stalls
with urllib3's ReadTimeoutError; 1e30, inf and nan mean no timeout; 0, negative, True, '2' and (0, 5) raise
requests' ValueError. FastHttpUser: network_timeout bounds the reads (a silent server ends in RetriesExceeded),
0 makes every request fail with BlockingIOError (asked of a silent server: geventhttpclient's non-blocking read of
a server that answered at once can find the answer there on a busy machine, and Locust then records a success), a
negative value raises ValueError."""
import gevent

from locust import FastHttpUser, HttpUser, constant, events, task


@events.request.add_listener
def show(name, exception, response, **_kw):
    print(f"CASE {name} status={getattr(response, 'status_code', None)} {exception!r}", flush=True)


def once(user, fn):
    """Run `fn` the first time this user runs its task (a ValueError it raises becomes a task exception row);
    afterwards the user idles."""
    if getattr(user, "done", False):
        gevent.sleep(3600)
        return
    user.done = True
    try:
        fn()
    except Exception as e:
        print(f"CASE raised {e!r}", flush=True)
        raise


class Requests(HttpUser):
    fixed_count = 14
    wait_time = constant(0)
    calls = [
        lambda c: c.get("/trickle-body", timeout=2, name="trickle-body timeout=2"),
        lambda c: c.get("/silent", timeout=1, name="silent timeout=1"),
        lambda c: c.get("/silent", timeout=(5, 1.5), name="silent timeout=(5, 1.5)"),
        lambda c: c.get("/stall-body", timeout=1, name="stall-body timeout=1"),
        lambda c: c.get("/slow-head", timeout=5, name="slow-head timeout=5"),
        lambda c: c.get("/ok", timeout=1e30, name="ok timeout=1e30"),
        lambda c: c.get("/ok", timeout=float("inf"), name="ok timeout=inf"),
        lambda c: c.get("/ok", timeout=float("nan"), name="ok timeout=nan"),
        lambda c: c.get("/ok", timeout=(None, 3), name="ok timeout=(None, 3)"),
        lambda c: c.get("/ok", timeout=0, name="ok timeout=0"),
        lambda c: c.get("/ok", timeout=-1, name="ok timeout=-1"),
        lambda c: c.get("/ok", timeout=True, name="ok timeout=True"),
        lambda c: c.get("/ok", timeout="2", name="ok timeout='2'"),
        lambda c: c.get("/ok", timeout=(0, 5), name="ok timeout=(0, 5)"),
    ]
    started = 0

    def on_start(self):
        self.call = self.calls[Requests.started]
        Requests.started += 1

    @task
    def one(self):
        once(self, lambda: self.call(self.client))


class FastSilent(FastHttpUser):
    fixed_count = 1
    wait_time = constant(0)
    network_timeout = 1

    @task
    def one(self):
        once(self, lambda: self.client.get("/silent", name="fast silent network_timeout=1"))


class FastStall(FastHttpUser):
    fixed_count = 1
    wait_time = constant(0)
    network_timeout = 1

    @task
    def one(self):
        once(self, lambda: self.client.get("/stall-body", name="fast stall-body network_timeout=1"))


class FastTrickle(FastHttpUser):
    fixed_count = 1
    wait_time = constant(0)
    network_timeout = 2

    @task
    def one(self):
        once(self, lambda: self.client.get("/trickle-body", name="fast trickle-body network_timeout=2"))


class FastZero(FastHttpUser):
    fixed_count = 1
    wait_time = constant(0)
    network_timeout = 0

    @task
    def one(self):
        once(self, lambda: self.client.get("/silent", name="fast silent network_timeout=0"))


class FastNegative(FastHttpUser):
    fixed_count = 1
    wait_time = constant(0)
    network_timeout = -1

    @task
    def one(self):
        once(self, lambda: self.client.get("/ok", name="fast ok network_timeout=-1"))


class FastHuge(FastHttpUser):
    fixed_count = 1
    wait_time = constant(0)
    network_timeout = 1e30

    @task
    def one(self):
        once(self, lambda: self.client.get("/ok", name="fast ok network_timeout=1e30"))
