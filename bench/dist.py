#!/usr/bin/env python3
"""What a distributed master costs: its own CPU with many workers, and its memory over a long run with many
request names. Everything on 127.0.0.1 against rlocust-target; every process is bounded and killed at the end.

    python3 bench/dist.py master-cost   [--workers 20] [--users-per-worker 5] [--seconds 60]
    python3 bench/dist.py master-memory [--names 1000] [--seconds 600] [--workers 2]
    python3 bench/dist.py processes     [--processes 1,2,4] [--seconds 15] [--iterations 6000]

master-cost    one rlocust master, N rlocust workers (separate processes), each with a few users of
               constant(1) over 10 request names. Reports the master's CPU (user+sys from /proc, as a share of
               one core over the run), its peak RSS, whether its request total equals what the target served (every
               report arrived), and the spacing of its CSV history rows (the stats arriving on time).
master-memory  one master, two workers, users that request `/items/<i>` under 1,000 distinct names. Samples
               the master's RSS every 10 s and prints the first and last minute's average: flat means no growth
               per report.

processes      the case `--processes` is for: a locustfile whose tasks spend Python CPU (about 0.2 ms of
               arithmetic per request, as parsing and building payloads do), 50 users without wait, against
               rlocust-target. One process is then bound by its one Python thread while the machine has cores to
               spare; prints requests/s and CPU µs per request for each process count, and the speed-up.

Options --rlocust and --target select the binaries (default: target/release/).
"""

import argparse
import csv
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

LOCUSTFILE = """\
import random
from locust import HttpUser, task, constant

NAMES = {names}


class U(HttpUser):
    wait_time = constant({wait})

    @task
    def t(self):
        i = random.randrange(NAMES)
        self.client.get(f"/items/{{i}}", name=f"/items/{{i}}")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def start_target(binary: str, seconds: float):
    proc = subprocess.Popen([binary, "--port", "0", "--max-seconds", str(seconds + 120)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    url = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stdout.readline().decode()).group(1)
    return proc, url


def served(url: str) -> int:
    import json

    with urllib.request.urlopen(url + "/_served", timeout=5) as r:
        return json.loads(r.read())["requests"]


def run(args, names: int, wait: float, workers: int, users: int, seconds: int, sample):
    work = tempfile.mkdtemp(prefix="rlocust-dist-bench-")
    lf = os.path.join(work, "locustfile.py")
    with open(lf, "w") as f:
        f.write(LOCUSTFILE.format(names=names, wait=wait))
    target, url = start_target(args.target, seconds)
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    master = subprocess.Popen([args.rlocust, "-f", lf, "--master", "--headless", "--master-bind-host", "127.0.0.1",
                               "--master-bind-port", str(port), "--expect-workers", str(workers),
                               "-u", str(workers * users), "-r", str(workers * users), "-t", f"{seconds}s",
                               "-H", url, "--csv", os.path.join(work, "r"), "--csv-full-history", "--only-summary"],
                              cwd=work, **quiet)
    procs = [subprocess.Popen([args.rlocust, "-f", lf, "--worker", "--master-port", str(port)], cwd=work, **quiet)
             for _ in range(workers)]
    samples = []
    try:
        t_start = time.monotonic()
        cpu0 = cpu_seconds(master.pid)
        while master.poll() is None and time.monotonic() - t_start < seconds + 120:
            sample(master.pid, samples)
            time.sleep(1)
        wall = time.monotonic() - t_start
        master.wait(timeout=60)
    finally:
        for p in [master, *procs]:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()
    total_served = served(url)
    target.kill()
    target.wait()
    return work, samples, wall, cpu0, total_served


def master_cost(args):
    last = {}

    def sample(pid, samples):
        try:
            last["cpu"] = cpu_seconds(pid)
            samples.append(rss_bytes(pid))
        except OSError:
            pass

    work, samples, wall, cpu0, total_served = run(args, 10, 1.0, args.workers, args.users_per_worker,
                                                   args.seconds, sample)
    with open(os.path.join(work, "r_stats.csv"), newline="") as f:
        agg = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
    with open(os.path.join(work, "r_stats_history.csv"), newline="") as f:
        stamps = sorted({int(r["Timestamp"]) for r in csv.DictReader(f)})
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    cpu = last.get("cpu", cpu0) - cpu0
    print(f"workers {args.workers} x {args.users_per_worker} users, {args.seconds} s")
    print(f"master CPU: {cpu:.2f} s over {wall:.1f} s = {100 * cpu / wall:.2f}% of one core")
    print(f"master peak RSS: {max(samples) / 2**20:.1f} MiB")
    print(f"master total {agg['Request Count']} requests, target served {total_served}")
    if gaps:
        print(f"CSV history rows every {statistics.mean(gaps):.2f} s (max gap {max(gaps)} s)")


def master_memory(args):
    def sample(pid, samples):
        try:
            samples.append((time.monotonic(), rss_bytes(pid)))
        except OSError:
            pass

    _, samples, wall, _, total_served = run(args, args.names, 0.05, args.workers, 10, args.seconds, sample)
    t0 = samples[0][0]
    first = [r for t, r in samples if 30 <= t - t0 < 90]
    last = [r for t, r in samples if t - t0 >= samples[-1][0] - t0 - 60]
    every = [(round(t - t0), r) for t, r in samples[::60]]
    print(f"{args.names} names, {args.workers} workers, {args.seconds} s, {total_served} requests served")
    for t, r in every:
        print(f"  t={t:4d}s RSS {r / 2**20:.1f} MiB")
    print(f"master RSS: minute 1 (after 30 s) {statistics.mean(first) / 2**20:.1f} MiB, "
          f"last minute {statistics.mean(last) / 2**20:.1f} MiB")


HEAVY = """\
from locust import HttpUser, task, constant


class Heavy(HttpUser):
    wait_time = constant(0)

    @task
    def t(self):
        acc = 0
        for i in range({iterations}):
            acc += i * i % 7
        self.client.get("/hello")
"""


def processes(args):
    import resource

    counts = [int(x) for x in args.processes.split(",")]
    work = tempfile.mkdtemp(prefix="rlocust-dist-bench-")
    lf = os.path.join(work, "heavy.py")
    with open(lf, "w") as f:
        f.write(HEAVY.format(iterations=args.iterations))
    target, url = start_target(args.target, args.seconds * len(counts) + 60)
    base = None
    print("| processes | requests/s | CPU µs/request | speed-up |")
    print("|---|---|---|---|")
    try:
        for n in counts:
            d = os.path.join(work, f"p{n}")
            os.makedirs(d)
            cmd = [args.rlocust, "-f", lf, "--headless", "-u", "50", "-r", "50", "-t", f"{args.seconds}s", "-H", url,
                   "--csv", os.path.join(d, "r"), "--only-summary", "--loglevel", "WARNING"]
            if n > 1:
                cmd += ["--processes", str(n), "--master-bind-host", "127.0.0.1", "--master-bind-port", "0"]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(cmd, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=args.seconds + 120)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            with open(os.path.join(d, "r_stats.csv"), newline="") as f:
                agg = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
            requests = int(agg["Request Count"])
            rps = requests / args.seconds
            base = base or rps
            print(f"| {n} | {rps:,.0f} | {cpu / requests * 1e6:.1f} | {rps / base:.2f}x |")
    finally:
        target.kill()
        target.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=["master-cost", "master-memory", "processes"])
    ap.add_argument("--rlocust", default=os.path.join(REPO, "target", "release", "rlocust"))
    ap.add_argument("--target", default=os.path.join(REPO, "target", "release", "rlocust-target"))
    ap.add_argument("--workers", type=int)
    ap.add_argument("--users-per-worker", type=int, default=5)
    ap.add_argument("--names", type=int, default=1000)
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--processes", default="1,2")
    ap.add_argument("--iterations", type=int, default=6000,
                    help="processes: Python loop iterations per request (6000 = about 0.2 ms on the reference machine)")
    args = ap.parse_args()
    if args.scenario == "processes":
        args.seconds = args.seconds or 15
        processes(args)
    elif args.scenario == "master-cost":
        args.workers = args.workers or 20
        args.seconds = args.seconds or 60
        master_cost(args)
    else:
        args.workers = args.workers or 2
        args.seconds = args.seconds or 600
        master_memory(args)


if __name__ == "__main__":
    sys.exit(main())
