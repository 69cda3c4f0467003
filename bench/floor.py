#!/usr/bin/env python3
"""The floor every client pays (issue 43): CPU per request of wrk, Goose, rlocust (HttpUser, FastHttpUser) and
Locust 2.47 FastHttpUser against one nginx on loopback, 50 connections/users, no wait, `GET /` (6-byte body),
alternated in rounds within one run, with each generator's ratio to wrk's.

    python3 bench/floor.py --rlocust target/release/rlocust [--rounds 3] [--seconds 15] [--users 50]
        [--only wrk,goose,http,fast,locust,call] [--locust PATH]

- wrk: Debian's `wrk -t1 -c50` (installed with apt-get when missing and running as root). C, nothing per request
  but the kernel's loopback TCP: the floor.
- Goose: the crate in bench/goose_floor/ (its own Cargo.lock), built on demand into target/goose-floor with cargo;
  `--users 50 --increase-rate 50`, no wait.
- rlocust and Locust: ../shared/bench/compare.py's throughput locustfile (`constant(0)`, `GET /`), counted from
  each one's own CSV as compare.py counts them; Locust 2.47 from compare.py's cached venv unless --locust is given.
- `call` (not in the default set): rlocust HttpUser running the client call alone, one task per user that calls
  `self.client.get("/")` in a loop (bounded by the run time), so no task selection, no `wait()` and no task
  loop: what rlocust pays per request below everything Locust's semantics add, the part a faster task loop
  cannot reach.

CPU is user+system of the generator's process tree (getrusage of the children) over the whole run, divided by
the requests it made. Each round runs every generator once, the order rotated by one each round so a drifting
machine favours none; the table gives the medians. Loopback only; every run is bounded by its duration and a
timeout.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT.parent / "shared" / "bench"))
import compare  # noqa: E402  (nginx with its echo module, Locust's venv, the locustfile runner)

GOOSE_DIR = ROOT / "bench" / "goose_floor"
GOOSE_TARGET = ROOT / "target" / "goose-floor"
GOOSE_BIN = GOOSE_TARGET / "release" / "goose_floor"


def ensure_wrk() -> str:
    if shutil.which("wrk"):
        return shutil.which("wrk")
    if os.geteuid() != 0:
        sys.exit("needs wrk: apt-get install wrk")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("wrk did not install")


def ensure_goose() -> str:
    """Build the Goose load test (once; cargo is a no-op when it is up to date)."""
    r = subprocess.run(["cargo", "build", "--release", "--locked", "--manifest-path", str(GOOSE_DIR / "Cargo.toml"),
                        "--target-dir", str(GOOSE_TARGET)], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0 or not GOOSE_BIN.exists():
        sys.exit(f"building bench/goose_floor failed:\n{r.stderr[-3000:]}")
    return str(GOOSE_BIN)


def timed(argv: list[str], cwd: str, timeout: float) -> tuple[float, str]:
    """Run a generator to its end: (CPU seconds of its process tree, its stdout and stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        sys.exit(f"{argv[0]} exited with {p.returncode}:\n{(p.stdout + p.stderr)[-3000:]}")
    return cpu, p.stdout + p.stderr


def run_wrk(wrk: str, host: str, a, work: str) -> dict:
    cpu, out = timed([wrk, "-t1", f"-c{a.users}", f"-d{a.seconds}s", host + "/"], work, a.seconds + 60)
    m = re.search(r"(\d+) requests in", out)
    if not m or "Non-2xx" in out:
        sys.exit(f"wrk's output is not what was expected:\n{out}")
    return {"requests": int(m.group(1)), "cpu_s": cpu}


def run_goose(goose: str, host: str, a, work: str) -> dict:
    cpu, out = timed([goose, "--host", host, "--users", str(a.users), "--increase-rate", str(a.users),
                      "--run-time", f"{a.seconds}s", "--no-reset-metrics"], work, a.seconds + 60)
    # the per-request table's row for GET /: "GET /   |   123,456 |   0 (0%) | ..."
    m = re.search(r"GET /\s*\|\s*([\d,]+)\s*\|\s*([\d,]+)", out)
    if not m:
        sys.exit(f"Goose's metrics are not what was expected:\n{out[-3000:]}")
    if int(m.group(2).replace(",", "")):
        sys.exit(f"Goose had failures:\n{out[-3000:]}")
    return {"requests": int(m.group(1).replace(",", "")), "cpu_s": cpu}


# the `call` generator's locustfile: each user's one task makes its requests in a loop of its own
CALL_ONLY = """\
from locust import {base}, task, constant


class Bench({base}):
    wait_time = constant({wait})

    @task
    def t(self):
        get = self.client.get
        while True:  # ends with the run (-t stops the user)
            get("{path}")
"""


def run_locustfile(label: str, cmd: str, base: str, host: str, a, work: str, text: str | None = None) -> dict:
    saved = compare.LOCUSTFILE
    compare.LOCUSTFILE = text or saved  # (compare.run_generator writes its locustfile from this template)
    try:
        row = compare.run_generator(label, cmd, base, 0, "/", a.users, a.seconds, host, work, False)
    finally:
        compare.LOCUSTFILE = saved
    if not row.get("requests") or row.get("failures"):
        sys.exit(f"{label}: {row}")
    return {"requests": row["requests"], "cpu_s": row["cpu_s"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rlocust", default=str(ROOT / "target/release/rlocust"))
    p.add_argument("--locust", help="Locust 2.47's `locust` (default: compare.py's cached venv)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--only", default="wrk,goose,http,fast,locust")
    a = p.parse_args()
    only = a.only.split(",")
    rlocust = str(Path(a.rlocust).resolve())
    compare.ensure_nginx()
    gens: list[tuple[str, object]] = []
    if "wrk" in only:
        wrk = ensure_wrk()
        gens.append((f"wrk -t1 -c{a.users}", lambda h, w: run_wrk(wrk, h, a, w)))
    if "goose" in only:
        goose = ensure_goose()
        gens.append((f"Goose 0.19 ({a.users} users)", lambda h, w: run_goose(goose, h, a, w)))
    if "http" in only:
        gens.append(("rlocust HttpUser", lambda h, w: run_locustfile("rlocust HttpUser", rlocust, "HttpUser", h, a, w)))
    if "fast" in only:
        gens.append(("rlocust FastHttpUser", lambda h, w: run_locustfile(
            "rlocust FastHttpUser", rlocust, "FastHttpUser", h, a, w)))
    if "call" in only:
        gens.append(("rlocust HttpUser, the call alone", lambda h, w: run_locustfile(
            "rlocust HttpUser call", rlocust, "HttpUser", h, a, w, CALL_ONLY)))
    if "locust" in only:
        locust = str(Path(a.locust).resolve()) if a.locust else compare.ensure_locust()
        gens.append(("Locust 2.47 FastHttpUser", lambda h, w: run_locustfile(
            "Locust FastHttpUser", locust, "FastHttpUser", h, a, w)))
    results: dict[str, list[dict]] = {name: [] for name, _ in gens}
    with tempfile.TemporaryDirectory() as work:
        nginx, host = compare.start_nginx(work)
        try:
            for r in range(a.rounds):
                order = gens[r % len(gens):] + gens[:r % len(gens)]
                for name, run in order:
                    d = os.path.join(work, f"r{r}")
                    os.makedirs(d, exist_ok=True)
                    row = run(host, d)
                    row["us"] = row["cpu_s"] / row["requests"] * 1e6
                    row["rps"] = row["requests"] / a.seconds
                    results[name].append(row)
                    print(f"round {r + 1}: {name}: {row['requests']} requests, {row['cpu_s']:.2f} CPU s, "
                          f"{row['us']:.1f} µs/request", flush=True)
                    time.sleep(1)
        finally:
            nginx.terminate()
            nginx.wait()
    med = {name: statistics.median(x["us"] for x in rows) for name, rows in results.items()}
    floor = next((v for k, v in med.items() if k.startswith("wrk")), None)
    print(f"\n{a.users} connections/users, no wait, GET / on one nginx, {a.seconds} s per run, {a.rounds} rounds "
          f"alternated, cpus={os.cpu_count()}\n")
    print("| generator | CPU µs/request (median) | × wrk | requests/s (median) | each round (µs) |\n|---|---|---|---|---|")
    for name, rows in results.items():
        ratio = f"{med[name] / floor:.1f}" if floor else "-"
        rps = statistics.median(x["rps"] for x in rows)
        rounds = ", ".join(f"{x['us']:.1f}" for x in rows)
        print(f"| {name} | {med[name]:.1f} | {ratio} | {rps:,.0f} | {rounds} |")


if __name__ == "__main__":
    main()
