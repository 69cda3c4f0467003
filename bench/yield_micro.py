"""The CPU cost of one zero-second wait (a user's `constant(0)`): gevent.sleep(0) against the hub's batched
yield (locust._hub.yield_now's scheme: one hub callback resumes every user that yielded in one pass, where gevent
makes a Waiter and a callback per yield). A benchmark, not a test; no network.

    .venv/bin/python bench/yield_micro.py [--users 50] [--yields 4000] [--rounds 3]

Alternates the two, prints µs of process CPU per yield for each round and the medians.
"""

import argparse
import statistics
import time

import gevent
import greenlet
from gevent.hub import get_hub


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--yields", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    hub = get_hub()
    getcurrent = greenlet.getcurrent
    ready = []

    def resume():
        nonlocal ready
        batch, ready = ready, []
        for g in batch:
            if not g.dead:
                g.switch()

    def batched():
        if not ready:
            hub.loop.run_callback(resume)
        ready.append(getcurrent())
        hub.switch()

    def gevent_sleep0():
        gevent.sleep(0)

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
