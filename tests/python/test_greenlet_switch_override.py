"""A user's greenlet given a `switch` of its own while it waits for a response is resumed through it, as gevent's
hub resumes a greenlet (`Waiter.switch` calls `greenlet.switch(value)`, the instance's attribute first).

The hub resumes plain greenlets with greenlet's own switch and remembers, from the park, that a greenlet's dict set
neither `switch` nor `switch_out` (`py::call`, by the dict's version tag): a dict changed while the user waited must
be read again. An awaited call's park remembers the same, its greenlet holding only the shim's idle `switch_out`.
The tests run the built binary on a locustfile against the loopback target; each run is bounded by -t.
"""

import re

LOCUSTFILE = """
import gevent
import greenlet
from locust import HttpUser, constant, events, task

seen = {"rounds": 0, "through": 0, "plain": 0}
# the greenlets whose last resume went through their own switch (each user's own: the users run side by side)
hit = set()


def give_switch(g):
    # runs while the user waits for its response
    def switch(*args, **kwargs):
        hit.add(g)
        return greenlet.greenlet.switch(g, *args, **kwargs)

    g.switch = switch


@events.quitting.add_listener
def report(**kw):
    print("MARK rounds %(rounds)d through %(through)d plain %(plain)d" % seen, flush=True)


class Overridden(HttpUser):
    wait_time = constant(0)

    @task
    def two_requests(self):
        me = gevent.getcurrent()
        me.__dict__.pop("switch", None)
        hit.discard(me)
        # a request without the override first: the greenlet parks and comes back plain
        self.client.get("/hello")
        seen["plain"] += 0 if me in hit else 1
        gevent.spawn(give_switch, me)
        self.client.get("/delay/20")
        seen["rounds"] += 1
        seen["through"] += 1 if me in hit else 0
        hit.discard(me)
"""


def test_a_switch_given_while_parked_is_the_one_the_resume_calls(headless):
    r = headless(LOCUSTFILE, users=2, seconds=2)
    assert r.returncode == 0, r.stderr[-3000:]
    m = re.search(r"MARK rounds (\d+) through (\d+) plain (\d+)", r.stdout)
    assert m, (r.stdout[-2000:], r.stderr[-2000:])
    rounds, through, plain = map(int, m.groups())
    assert rounds > 20, (rounds, through, plain)
    # every response after the override came back through it, and none before it did
    assert through == rounds, (rounds, through, plain)
    assert plain >= rounds, (rounds, through, plain)
    assert "Traceback" not in r.stderr, r.stderr[-2000:]


# the same task awaiting its calls (`async def`): the user's greenlet has the shim's `switch_out`, idle while parked
AWAITED = LOCUSTFILE.replace("    def two_requests(self):", "    async def two_requests(self):").replace(
    "        self.client.get(", "        await self.client.get("
)


def test_a_switch_given_while_an_awaited_call_is_parked_is_the_one_the_resume_calls(headless):
    assert AWAITED.count("await self.client.get(") == 2
    r = headless(AWAITED, users=2, seconds=2)
    assert r.returncode == 0, r.stderr[-3000:]
    m = re.search(r"MARK rounds (\d+) through (\d+) plain (\d+)", r.stdout)
    assert m, (r.stdout[-2000:], r.stderr[-2000:])
    rounds, through, plain = map(int, m.groups())
    assert rounds > 20, (rounds, through, plain)
    assert through == rounds, (rounds, through, plain)
    assert plain >= rounds, (rounds, through, plain)
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
