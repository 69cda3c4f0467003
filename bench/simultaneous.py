#!/usr/bin/env python3
"""Two rlocust binaries measured at the same time (issue 29's before/after figures on a machine whose speed wanders).

    python3 bench/simultaneous.py BEFORE AFTER [--users 25] [--rounds 4] [--window 10] [--async-after] [--client C]
                                   [--call-alone]

On this VM the same binary's CPU per request moves by a third between minutes, so runs one after another (even
alternated) need many pairs to show a 5-10% change. Here both binaries run the throughput workload of
bench/breakdown.py (no wait, `GET /` on one nginx over loopback, `--users` each) side by side, and each one's CPU
(user + sys, per thread) and requests (its `/metrics`) are read over the same window: whatever the machine does
then, both see it. The order the two start in alternates between rounds. Prints one line per round: requests/s and
CPU µs per request of each (I/O threads, with their user time apart, and the Python thread), and AFTER/BEFORE.

With --async-after, AFTER runs the same task as a coroutine (`async def t(self): await self.client.get("/")`,
issue 41): give the same binary twice to compare an awaited call with the sync one; with --async-both both run it
(two builds' awaited calls). --client FastHttpUser for the other client.

Loopback only; every run is bounded by -t.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import breakdown  # noqa: E402  (the workload, its nginx, and the per-thread CPU reading)


def measure(runs, window):
    """Each run's requests and CPU split over one window that starts 6 s in."""
    time.sleep(6)
    start = {label: (breakdown.requests_total(r.metrics), breakdown.thread_cpu(r.pid, split=True)) for label, r in runs}
    time.sleep(window)
    out = {}
    for label, r in runs:
        n0, c0 = start[label]
        n = breakdown.requests_total(r.metrics) - n0
        cpu = {k: v - c0.get(k, 0) for k, v in breakdown.thread_cpu(r.pid, split=True).items()}
        io = sum(v for k, v in cpu.items() if k.startswith("rlocust-io"))
        io_user = sum(v for k, v in cpu.items() if k.startswith("rlocust-io") and k.endswith(" user"))
        total = sum(cpu.values())
        out[label] = (n / window, total * 1e6 / n, io * 1e6 / n, (total - io) * 1e6 / n, io_user * 1e6 / n)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--users", type=int, default=25)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--async-after", action="store_true", help="AFTER's task is `async def` and awaits its call")
    ap.add_argument("--async-both", action="store_true",
                    help="both run the task as a coroutine: two builds' awaited calls compared")
    ap.add_argument("--client", default="HttpUser")
    ap.add_argument("--call-alone", action="store_true",
                    help="each user's one task calls client.get in a loop (bench/floor.py's `call`)")
    o = ap.parse_args()
    breakdown.compare.ensure_nginx()
    work = Path(tempfile.mkdtemp(prefix="simultaneous-"))
    nginx, host = breakdown.compare.start_nginx(str(work))
    ratios, io_ratios = [], []
    try:
        for i in range(o.rounds):
            order = [("before", o.before), ("after", o.after)]
            if i % 2:
                order.reverse()
            runs = []
            for label, binary in order:
                flavour = "async" if o.async_both or (o.async_after and label == "after") else "sync"
                args = argparse.Namespace(rlocust=binary, client=o.client, users=o.users, host=host,
                                          seconds=int(o.window) + 12, window=o.window, flavour=flavour,
                                          call_alone=o.call_alone)
                runs.append((label, breakdown.Run(args, work, f"round{i + 1}-{label}")))
            res = measure(runs, o.window)
            for _, r in runs:
                r.finish()
            b, a = res["before"], res["after"]
            ratios.append(a[1] / b[1])
            io_ratios.append(a[4] / b[4])
            print(f"round {i + 1}: before {b[0]:,.0f}/s {b[1]:.1f} µs (I/O {b[2]:.2f}, user {b[4]:.2f}; Python "
                  f"{b[3]:.2f}) | after {a[0]:,.0f}/s {a[1]:.1f} µs (I/O {a[2]:.2f}, user {a[4]:.2f}; Python "
                  f"{a[3]:.2f}) | after/before {a[1] / b[1]:.3f}, I/O user {a[4] / b[4]:.3f}", flush=True)
    finally:
        nginx.terminate()
        nginx.wait()
    print(f"median after/before: {statistics.median(ratios):.3f}; the I/O threads' user time: "
          f"{statistics.median(io_ratios):.3f}")


if __name__ == "__main__":
    main()
