#!/usr/bin/env python3
"""How long the stop at the end of a run takes against the number of users, rlocust beside real Locust 2.47.

    python3 bench/stop_time.py [--users 100,300,1000] [--rounds 2] [--locust .venv-oracle/bin/locust]

Three workloads, no HTTP (the stop is the runner's work, not the client's):
- raising: every user's task raises on every run, no wait (each run logs a traceback: the users stay busy);
- passing: every user's task does nothing, no wait;
- shape: a LoadTestShape ramps to the user count in about 2 s and ends; the users have no tasks (each run
  fails with "No tasks defined", logged).
raising and passing run for `-t 3s`. The figures are seconds from `test_stopping` to `test_stop` (the users
stopped, as a listener in the locustfile measures it) and from `test_stopping` to the end of the process. The
tools alternate, one run at a time; every run is bounded (120 s) and makes no network traffic.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LOCUSTFILE = '''
import os, sys, time
from locust import LoadTestShape, User, events, task

MODE = os.environ["STOP_BENCH_MODE"]
USERS = int(os.environ["STOP_BENCH_USERS"])
T = {}


@events.test_stopping.add_listener
def _stopping(**kw):
    T["t"] = time.monotonic()
    print(f"STOPPING {time.time():.6f}", file=sys.stderr, flush=True)


@events.test_stop.add_listener
def _stop(**kw):
    print(f"STOPPED {time.monotonic() - T['t']:.4f}", file=sys.stderr, flush=True)


if MODE == "shape":
    class NoTasks(User):
        pass

    class Ramp(LoadTestShape):
        def tick(self):
            if self.get_run_time() < 3:
                return USERS, USERS / 2
            return None
else:
    class Busy(User):
        @task
        def work(self):
            if MODE == "raising":
                raise ValueError("boom")
'''


def one_run(tool, locustfile, mode, users):
    env = dict(os.environ, STOP_BENCH_MODE=mode, STOP_BENCH_USERS=str(users))
    args = [tool, "-f", locustfile, "--headless", "--only-summary", "--loglevel", "INFO"]
    if mode != "shape":
        args += ["-u", str(users), "-r", str(users), "-t", "3s"]
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return None, None
        ended = time.time()
        err.seek(0)
        stopping = stopped = None
        for line in err.read().decode(errors="replace").splitlines():
            if line.startswith("STOPPING "):
                stopping = float(line.split()[1])
            elif line.startswith("STOPPED "):
                stopped = float(line.split()[1])
    return stopped, (ended - stopping) if stopping is not None else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rlocust", default=str(REPO / "target" / "release" / "rlocust"))
    ap.add_argument("--locust", default=str(REPO / ".venv-oracle" / "bin" / "locust"))
    ap.add_argument("--users", default="100,300,1000")
    ap.add_argument("--modes", default="raising,passing,shape")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    tools = {"locust": a.locust, "rlocust": a.rlocust}
    for name, path in tools.items():
        if not os.access(path, os.X_OK):
            sys.exit(f"stop_time: {name} not found at {path}")
    with tempfile.TemporaryDirectory() as tmp:
        locustfile = os.path.join(tmp, "stopbench.py")
        Path(locustfile).write_text(LOCUSTFILE)
        rows = []
        for mode in a.modes.split(","):
            for users in [int(u) for u in a.users.split(",")]:
                got = {t: ([], []) for t in tools}
                for _ in range(a.rounds):
                    for name, path in tools.items():
                        stop, exit_after = one_run(path, locustfile, mode, users)
                        if stop is not None:
                            got[name][0].append(stop)
                        if exit_after is not None:
                            got[name][1].append(exit_after)
                cells = []
                for name in tools:
                    stops, exits = got[name]
                    cells.append(f"{statistics.median(stops):.2f}" if stops else "timeout")
                    cells.append(f"{statistics.median(exits):.2f}" if exits else "timeout")
                rows.append((mode, users, *cells))
                print(f"{mode:8} {users:6}  " + "  ".join(f"{c:>8}" for c in cells), file=sys.stderr, flush=True)
    print("| workload | users | Locust stop (s) | Locust stop → exit (s) | rlocust stop (s) | rlocust stop → exit (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode, users, *cells in rows:
        print(f"| {mode} | {users:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
