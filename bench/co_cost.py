#!/usr/bin/env python3
"""CPU per request of fixed-rate users, two rlocust binaries alternated (the cost of the coordinated-omission
correction, docs/performance.md).

    python3 bench/co_cost.py --before /tmp/rlocust-base --after target/release/rlocust [--pairs 3]

Scenarios against the bundled rlocust-target on loopback (one process each, headless):
- `paced-fast`: 5,000 users, constant_throughput(1), GET /hello (no request is late: the correction only
  counts the requests);
- `paced-slow`: 500 users, constant_throughput(20) (T = 50 ms), GET /delay/60 (every request is 10 ms late:
  each adds one synthetic sample);
- `unpaced`: 5,000 users, constant(1), GET /hello (nothing changes: the control).

CPU = user + sys seconds of the rlocust process (its rusage at exit, interpreter start and spawn included) /
requests it recorded (`--json`). Prints one line per run and the median per binary and scenario.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOCUSTFILE = """
from locust import HttpUser, task, {wait}

class U(HttpUser):
    wait_time = {wait}({arg})

    @task
    def t(self):
        self.client.get("{path}")
"""

SCENARIOS = {
    "paced-fast": dict(users=5000, wait="constant_throughput", arg=1, path="/hello"),
    "paced-slow": dict(users=500, wait="constant_throughput", arg=20, path="/delay/60"),
    "unpaced": dict(users=5000, wait="constant", arg=1, path="/hello"),
}


def one(binary, scenario, host, seconds, workdir):
    s = SCENARIOS[scenario]
    lf = os.path.join(workdir, f"{scenario}.py")
    with open(lf, "w") as f:
        f.write(LOCUSTFILE.format(**s))
    cmd = [binary, "-f", lf, "--headless", "-H", host, "-u", str(s["users"]), "-r", str(s["users"]),
           "-t", f"{seconds}s", "--json", "--only-summary"]
    out = open(os.path.join(workdir, "out.json"), "w+")
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + seconds + 90
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"{binary} did not end")
        time.sleep(0.2)
    out.seek(0)
    requests = sum(e["num_requests"] for e in json.load(out))
    cpu = ru.ru_utime + ru.ru_stime
    return cpu, requests


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default=os.path.join(REPO, "target", "release", "rlocust"))
    ap.add_argument("--target", default=os.path.join(REPO, "target", "release", "rlocust-target"))
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    a = ap.parse_args()
    target = subprocess.Popen([a.target, "--port", "0", "--max-seconds", "3600"], stdout=subprocess.PIPE, text=True)
    host = target.stdout.readline().strip().rsplit(" ", 1)[-1]
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="rlocust-co-cost-") as work:
            for scenario in a.scenarios.split(","):
                for i in range(a.pairs):
                    order = [("before", a.before), ("after", a.after)]
                    if i % 2:
                        order.reverse()
                    for label, binary in order:
                        cpu, n = one(binary, scenario, host, a.seconds, work)
                        us = cpu / n * 1e6
                        results.setdefault((scenario, label), []).append(us)
                        print(f"{scenario:11} {label:6} cpu {cpu:7.2f} s  requests {n:8d}  {us:6.1f} µs/request",
                              flush=True)
    finally:
        target.kill()
        target.wait()
    print()
    for (scenario, label), v in sorted(results.items()):
        print(f"{scenario:11} {label:6} median {statistics.median(v):6.1f} µs/request  runs {[round(x, 1) for x in v]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
