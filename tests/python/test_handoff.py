"""While the hub's loop resumes a batch of users, a user parking again switches straight to the next user of that
batch instead of back to the hub (`py::call`, "the handoff"): each user must still get its own responses, in its
own greenlet, whether its task is a plain function or a coroutine, and the hub must still get control back to run
its loop.

The locustfile traces greenlet's switches (`greenlet.settrace`), counts those from one user's greenlet straight to
another's, and checks every response against the query its user sent. The test runs the built binary against the
loopback target; the run is bounded by -t.
"""

import re

LOCUSTFILE = """
import itertools

import gevent
import greenlet
from locust import HttpUser, constant, events, task

counts = {"direct": 0, "to_hub": 0, "checked": 0, "crossed": 0, "awaited": 0}
ids = itertools.count()
users = set()


def trace(event, args):
    if event not in ("switch", "throw"):
        return
    origin, target = args
    if origin in users and target in users:
        counts["direct"] += 1
    elif origin in users and target is gevent.get_hub():
        counts["to_hub"] += 1


greenlet.settrace(trace)


@events.quitting.add_listener
def report(**kw):
    print("MARK direct %(direct)d to_hub %(to_hub)d checked %(checked)d crossed %(crossed)d "
          "awaited %(awaited)d" % counts, flush=True)


class Mixed(HttpUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self):
        self.uid = next(ids)
        self.n = 0
        users.add(gevent.getcurrent())

    def check(self, r, n):
        counts["checked"] += 1
        if r.text != "blog u=%d&n=%d" % (self.uid, n) or gevent.getcurrent() not in users:
            counts["crossed"] += 1


class Plain(Mixed):
    @task
    def one(self):
        self.n += 1
        n = self.n
        r = self.client.get("/blog?u=%d&n=%d" % (self.uid, n))
        self.check(r, n)


class Awaited(Mixed):
    @task
    async def one(self):
        self.n += 1
        n = self.n
        r = await self.client.get("/blog?u=%d&n=%d" % (self.uid, n))
        counts["awaited"] += 1
        self.check(r, n)
"""


def test_a_parking_user_resumes_the_next_one_and_every_response_is_its_own(headless):
    r = headless(LOCUSTFILE, users=16, seconds=3)
    assert r.returncode == 0, r.stderr[-3000:]
    m = re.search(r"MARK direct (\d+) to_hub (\d+) checked (\d+) crossed (\d+) awaited (\d+)", r.stdout)
    assert m, (r.stdout[-2000:], r.stderr[-2000:])
    direct, to_hub, checked, crossed, awaited = map(int, m.groups())
    counts = dict(direct=direct, to_hub=to_hub, checked=checked, crossed=crossed, awaited=awaited)
    assert checked > 500 and awaited > 100, counts
    assert crossed == 0, counts
    # users handed the batch on among themselves, and the hub still got control back after each batch
    assert direct > 0 and to_hub > 0, counts
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
