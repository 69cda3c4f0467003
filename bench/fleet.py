#!/usr/bin/env python3
"""A master's cost with a large fleet: real Locust 2.47's master and rlocust's, each directing 100 ... 10,000
simulated Locust workers (bench/fleet.rs: Locust's worker protocol over ZeroMQ, 20 request names per report, a
heartbeat every second and a report every three, as a real worker does). Everything on 127.0.0.1; every process
is bounded in time and killed at the end.

    cargo build --release --example fleet          # the simulator (make build builds rlocust itself)
    python3 bench/fleet.py --workers 100,1000,10000 [--tools rlocust,locust] [--seconds 60]

Per run: the master is started headless with --expect-workers N (pinned to CPU 0 when the machine has two or more,
the simulator to the others), the fleet connects over a few seconds, the test runs --seconds after the last
worker got its users, then the master quits its workers. Reported:
- cpu: the master's CPU (user+sys from /proc) over the steady part (every worker running, until 3 s before the
  end), as a share of one core; rss: its peak resident memory;
- kept: no worker was ever declared missing (the master logs "failed to send heartbeat" for each);
- exact: the master's final request and failure counts (--json) equal what the workers reported, per name;
- rtt p50/p99: from a worker's heartbeat to the master's reply, as the workers measured it;
- running: seconds from the first `spawn` a worker received to the last worker's last `spawning_complete`;
- quit: how many workers received `quit` at the end.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

LOCUSTFILE = """\
from locust import User, task, constant


class User1(User):
    wait_time = constant(1)

    @task
    def t(self):
        pass
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


class Sampler(threading.Thread):
    """The master's CPU time and RSS once a second."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float, int]] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.samples.append((time.monotonic(), cpu_seconds(self.pid), rss_bytes(self.pid)))
            except (OSError, IndexError, ValueError):
                return
            self.stop.wait(1.0)


class Lines(threading.Thread):
    """A pipe's lines, with when they came."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines: list[tuple[float, str]] = []

    def run(self):
        for line in self.pipe:
            self.lines.append((time.monotonic(), line.rstrip("\n")))


NICE: list[str] = []


class Poller(threading.Thread):
    """The web UI's main poll (`/stats/requests`, the dashboard's every 2 s) during the run: time, size, workers."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.samples: list[tuple[float, float, int, int]] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(2.0):
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as r:
                    body = r.read()
            except OSError:
                continue
            took = time.monotonic() - t0
            try:
                workers = json.loads(body).get("worker_count", 0)
            except ValueError:
                workers = 0
            self.samples.append((t0, took, len(body), workers))


def pinning(cores: list[int]) -> list[str]:
    return NICE + (["taskset", "-c", ",".join(map(str, cores))] if cores else [])


def run_one(tool: str, binary: str, fleet: str, workers: int, args) -> dict:
    ncpu = os.cpu_count() or 1
    master_cores = [0] if ncpu >= 2 else []
    fleet_cores = list(range(1, ncpu)) if ncpu >= 2 else []
    port = free_port()
    users = workers * args.users_per_worker
    rate = max(1.0, users / args.ramp)
    with tempfile.TemporaryDirectory() as tmp:
        lf = os.path.join(tmp, "locustfile.py")
        with open(lf, "w") as f:
            f.write(LOCUSTFILE)
        web_port = free_port()
        mode = (["--autostart", "--autoquit", "0", "--web-host", "127.0.0.1", "--web-port", str(web_port)]
                if args.web else ["--headless"])
        master_cmd = pinning(master_cores) + [
            binary, "-f", lf, "--master", *mode, "-u", str(users), "-r", str(rate),
            "-t", f"{args.seconds}s", "--expect-workers", str(workers), "--expect-workers-max-wait",
            str(int(args.connect) + 60), "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--json", "--loglevel", "INFO",
        ]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        master = subprocess.Popen(master_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  cwd=tmp, env=env)
        out, err = Lines(master.stdout), Lines(master.stderr)
        out.start()
        err.start()
        sampler = Sampler(master.pid)
        sampler.start()
        poller = Poller(f"http://127.0.0.1:{web_port}/stats/requests")
        if args.web:
            poller.start()
        procs = max(1, -(-workers // args.per_process))
        budget = args.connect + args.ramp + args.seconds + 90
        fleet_cmd = pinning(fleet_cores) + [
            fleet, "--master", f"127.0.0.1:{port}", "--workers", str(workers), "--procs", str(procs),
            "--classes", "User1", "--names", str(args.names), "--connect-over", str(args.connect),
            "--max-seconds", str(budget),
        ]
        time.sleep(0.5)
        sim = subprocess.run(fleet_cmd, stdout=subprocess.PIPE, text=True, timeout=budget + 30)
        try:
            master.wait(timeout=60)
        except subprocess.TimeoutExpired:
            master.send_signal(signal.SIGKILL)
            master.wait()
        sampler.stop.set()
        sampler.join()
        poller.stop.set()
        out.join(timeout=5)
        err.join(timeout=5)
    tally = json.loads(sim.stdout.strip().splitlines()[-1]) if sim.stdout.strip() else {}
    if args.keep:
        with open(os.path.join(args.keep, f"{tool}-{workers}-master.log"), "w") as f:
            f.write("\n".join(line for _, line in err.lines))
    # the steady window: from the ramp's end ("All users spawned") to 3 s before the quit
    spawned_at = next((t for t, line in err.lines if "All users spawned" in line or "Spawning is complete" in line),
                      None)
    quit_at = next((t for t, line in err.lines if "Shutting down" in line or "Time limit reached" in line), None)
    cpu = None
    if spawned_at and quit_at and quit_at - spawned_at > 6:
        window = [(t, c) for t, c, _ in sampler.samples if spawned_at + 1 <= t <= quit_at - 3]
        if len(window) >= 2:
            cpu = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
    peak = max((r for _, _, r in sampler.samples), default=0)
    missing = sum(1 for _, line in err.lines if "failed to send heartbeat" in line)
    healed = sum(1 for _, line in err.lines if "self-healed" in line)
    exact = None
    try:
        doc = json.loads("\n".join(line for _, line in out.lines))
        got = {row["name"]: (row["num_requests"], row["num_failures"]) for row in doc}
        want = {k: tuple(v) for k, v in tally.get("requests", {}).items()}
        exact = got == want and bool(want)
        lost = sum(v[0] for v in want.values()) - sum(v[0] for v in got.values())
    except (ValueError, KeyError, TypeError):
        lost = None
    rtt = percentiles(tally.get("rtt_us", []), (0.5, 0.99))
    polls = [(took, size) for t, took, size, n in poller.samples if n >= workers * 0.99]
    running = None
    if tally.get("first_spawn") and tally.get("last_running"):
        running = tally["last_running"] - tally["first_spawn"]
    return {
        "tool": tool,
        "workers": workers,
        "connected": tally.get("acked"),
        "cpu": cpu,
        "rss_mb": peak / 1e6,
        "missing": missing,
        "healed": healed,
        "exact": exact,
        "lost": lost,
        "rtt_ms": [None if v is None else v / 1000 for v in rtt],
        "running_s": running,
        "quit": tally.get("got_quit"),
        "web_ms": [max((p[0] for p in polls), default=None), sorted(p[0] for p in polls)[len(polls) // 2]
                   if polls else None],
        "web_kb": max((p[1] for p in polls), default=0) / 1000,
        "exit": master.returncode,
    }


def percentiles(rows, qs):
    total = sum(c for _, c in rows)
    out = []
    for q in qs:
        if not total:
            out.append(None)
            continue
        need, seen = q * total, 0
        for value, count in rows:
            seen += count
            if seen >= need:
                out.append(value)
                break
    return out


def fmt(r: dict) -> str:
    def f(v, spec):
        return "—" if v is None else format(v, spec)

    p50, p99 = r["rtt_ms"]
    kept = "yes" if r["missing"] == 0 else f"no ({r['missing']} missing, {r['healed']} back)"
    exact = {True: "yes", False: f"no ({r['lost']} lost)", None: "—"}[r["exact"]]
    return (f"| {r['workers']:,} | {r['tool']} | {f(r['cpu'] and r['cpu'] * 100, '.1f')}% | {r['rss_mb']:.0f} MB | "
            f"{kept} | {exact} | {f(p50, '.1f')} / {f(p99, '.1f')} ms | {f(r['running_s'], '.1f')} s | "
            f"{r['quit']}/{r['workers']} |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", default="100,1000,10000")
    p.add_argument("--tools", default="rlocust,locust")
    p.add_argument("--seconds", type=int, default=60, help="steady run time (-t)")
    p.add_argument("--users-per-worker", type=int, default=1)
    p.add_argument("--ramp", type=float, default=10.0, help="seconds to spawn all users")
    p.add_argument("--connect", type=float, default=10.0, help="seconds over which the fleet connects")
    p.add_argument("--names", type=int, default=20)
    p.add_argument("--per-process", type=int, default=2500, help="simulated workers per simulator process")
    p.add_argument("--rlocust", default=os.path.join(REPO, "target/release/rlocust"))
    p.add_argument("--locust", default=os.path.join(REPO, ".venv-oracle/bin/locust"))
    p.add_argument("--fleet", default=os.path.join(REPO, "target/release/examples/fleet"))
    p.add_argument("--json", help="also write the rows here")
    p.add_argument("--keep", help="write each master's log into this directory")
    p.add_argument("--web", action="store_true",
                   help="run the master with its web UI (--autostart) and time /stats/requests every 2 s")
    p.add_argument("--rt", action="store_true",
                   help="run master and fleet under SCHED_FIFO (chrt -f 20, needs root): on a machine busy with other "
                        "work, so that what is measured is the master, not the scheduler's share for it")
    args = p.parse_args()
    if args.rt:
        NICE.extend(["chrt", "-f", "20"])
    for b in (args.fleet,):
        if not os.access(b, os.X_OK):
            sys.exit(f"fleet.py: {b} not found (cargo build --release --example fleet)")
    rows = []
    print("| workers | master | CPU (one core) | peak RSS | workers kept | counts exact | heartbeat RTT p50 / p99 "
          "| to all running | got quit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in [int(x) for x in args.workers.split(",")]:
        for tool in args.tools.split(","):
            binary = args.rlocust if tool == "rlocust" else args.locust
            r = run_one(tool, binary, args.fleet, n, args)
            rows.append(r)
            print(fmt(r), flush=True)
            if args.web and r["web_ms"][0] is not None:
                print(f"|   | /stats/requests with all workers: median {r['web_ms'][1] * 1000:.0f} ms, "
                      f"max {r['web_ms'][0] * 1000:.0f} ms, {r['web_kb']:.0f} KB |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
