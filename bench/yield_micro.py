"""The CPU cost of one zero-second wait (a user's `constant(0)`): gevent.sleep(0) against the hub's batched
yield (locust._hub.yield_now's scheme, copied here with its budget check because locust._hub needs the engine: one
hub callback resumes every user that yielded in one pass, where gevent makes a Waiter and a callback per yield).
A benchmark, not a test; no network.

    .venv/bin/python bench/yield_micro.py [--users 50] [--yields 4000] [--rounds 3]

Alternates the two, prints µs of process CPU per yield for each round and the medians.
"""

import argparse
import statistics
import sys
import time

import gevent
import greenlet
from gevent.hub import get_hub

_hub = get_hub()
_getcurrent = greenlet.getcurrent
_ready = []
_BUDGET = sys.getswitchinterval()


def _resume_ready():
    global _ready
    batch, _ready = _ready, []
    deadline = time.perf_counter() + _BUDGET
    for i, g in enumerate(batch):
        if g is not None:  # (as locust._hub: None marks one that left by an exception)
            g.switch()
        if i & 15 == 15 and time.perf_counter() > deadline:
            _ready[:0] = batch[i + 1 :]  # (the shipped code resumes these after the loop's next poll)
            _hub.loop.run_callback(_resume_ready)
            break


def batched():
    me = _getcurrent()
    if not _ready:
        _hub.loop.run_callback(_resume_ready)
    _ready.append(me)
    _hub.switch()


def gevent_sleep0():
    gevent.sleep(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--yields", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()

    def user(f):
        for _ in range(a.yields):
            f()

    results = {"gevent.sleep(0)": [], "batched": []}
    for r in range(a.rounds):
        for name, f in (("gevent.sleep(0)", gevent_sleep0), ("batched", batched)):
            t = time.process_time()
            gevent.joinall([gevent.spawn(user, f) for _ in range(a.users)])
            us = (time.process_time() - t) / (a.users * a.yields) * 1e6
            results[name].append(us)
            print(f"round {r + 1}: {name}: {us:.2f} µs per yield")
    for name, xs in results.items():
        print(f"median {name}: {statistics.median(xs):.2f} µs per yield")


if __name__ == "__main__":
    main()
