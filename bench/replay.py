#!/usr/bin/env python3
"""Replay timing of `--arrival-trace` measured at the wire (issue 53's "Measure").

Generates a bursty trace (by default 1,000 rows/s on average for 5 s: half the rows in bursts of 50 at the same
millisecond, ten bursts a second, the other half spread at random), replays it with rlocust against rlocust-target
on loopback (a FastHttpUser sending `GET /hello?row=N` per row, connections opened in `on_start`), captures the
requests with `tcpdump -i lo -tt -n -A`, and prints, for every row, when its request's first byte reached the
server's port against the row's time in the trace: p50/p90/p99/max of the difference.

The run's zero is not visible on the wire, so the zero is the earliest row's `arrival - row time` (a constant
offset common to every row is left out: rlocust's own start lag in the summary, measured from the true zero, has
it). Without tcpdump (or without the right to capture) it falls back to the times the locustfile took just before
each request (`time.time()`), and says so.

    python bench/replay.py [--rows-per-s 1000] [--seconds 5] [--burst 50] [--users 300] [--processes N] [--nice N]

Everything runs on 127.0.0.1 and ends by itself (rlocust-target with --max-seconds, rlocust at the trace's end or
-t, tcpdump killed at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LOCUSTFILE = '''
import os, time
from locust import FastHttpUser, task

STAMPS = os.environ.get("REPLAY_STAMPS")


class Replayed(FastHttpUser):
    def on_start(self):
        self.client.get("/hello?warm=1")  # the connection is open before the first row
        self.out = open(f"{STAMPS}.{os.getpid()}.{id(self)}", "a") if STAMPS else None

    @task
    def row(self):
        n = self.arrival["row"]
        if self.out:
            self.out.write(f"{n} {time.time():.6f}\\n")
        self.client.get(f"/hello?row={n}", name="/hello?row=N")

    def on_stop(self):
        if self.out:
            self.out.close()
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_trace(path: Path, rate: float, seconds: float, burst: int, seed: int) -> list[float]:
    """Half of the rows in bursts of `burst` at one millisecond, the rest at random times; sorted; in ms."""
    rng = random.Random(seed)
    total = int(rate * seconds)
    bursts = max(1, total // 2 // burst)
    times = []
    for b in range(bursts):
        t = round((b + 0.5) * seconds * 1000 / bursts)
        times += [t] * burst
    while len(times) < total:
        times.append(round(rng.uniform(0, seconds * 1000)))
    times.sort()
    with path.open("w") as f:
        f.write("timestamp_ms,row\n")
        for i, t in enumerate(times):
            f.write(f"{t},{i}\n")
    return [t / 1000 for t in times]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows-per-s", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--processes", type=int, default=None, help="rlocust --processes N (the rows split over N workers)")
    ap.add_argument("--nice", type=int, default=None,
                    help="run rlocust and rlocust-target under `nice -n N` (e.g. -10 on a machine busy with builds)")
    ap.add_argument("--rlocust", default=str(ROOT / "target/release/rlocust"))
    ap.add_argument("--target", default=str(ROOT / "target/release/rlocust-target"))
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rlocust-replay-"))
    rows = make_trace(tmp / "trace.csv", a.rows_per_s, a.seconds, a.burst, a.seed)
    (tmp / "lf.py").write_text(LOCUSTFILE)
    port = free_port()
    limit = a.seconds + 60
    nice = ["nice", "-n", str(a.nice)] if a.nice is not None else []
    target = subprocess.Popen([*nice, a.target, "--port", str(port), "--max-seconds", str(limit)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    tcpdump = None
    cap = tmp / "cap.txt"
    if shutil.which("tcpdump"):
        # (written raw to a file and decoded after the run: printing each packet as text while capturing took
        # enough of the 2 cores to move the replay's own tail by ~10 ms)
        tcpdump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-s", "200", "-w", str(tmp / "cap.pcap"),
                                    f"tcp dst port {port} and (tcp[tcpflags] & tcp-push != 0)"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(1.5)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_"))}
    if tcpdump is None:
        env["REPLAY_STAMPS"] = str(tmp / "stamps")
    argv = [*nice, a.rlocust, "-f", "lf.py", "--headless", "-H", f"http://127.0.0.1:{port}", "--arrival-trace",
            "trace.csv", "--arrival-max-users", str(a.users), "--arrival-initial-users", str(a.users),
            "--summary-json", "summary.json", "-t", str(int(limit))]
    if a.processes:
        argv += ["--processes", str(a.processes)]
    try:
        run = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=limit + 30,
                             start_new_session=True)
    finally:
        time.sleep(0.5)
        for p in (tcpdump, target):
            if p is not None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait()
    if run.returncode != 0:
        print(run.stderr[-3000:], file=sys.stderr)
        return 1
    summary = json.loads((tmp / "summary.json").read_text())["arrivals"]

    wire: dict[int, float] = {}
    source = "tcpdump -i lo (first request byte)"
    if tcpdump is not None and (tmp / "cap.pcap").exists():
        with cap.open("w") as out:
            subprocess.run(["tcpdump", "-r", str(tmp / "cap.pcap"), "-tt", "-n", "-A"], stdout=out,
                           stderr=subprocess.DEVNULL, timeout=120)
        stamp = None
        for line in cap.read_text(errors="replace").splitlines():
            m = re.match(r"^(\d+\.\d+) IP ", line)
            if m:
                stamp = float(m.group(1))
                continue
            m = re.search(r"GET /hello\?row=(\d+) ", line)
            if m and stamp is not None:
                wire.setdefault(int(m.group(1)), stamp)
    if len(wire) < len(rows) // 2:
        source = "the locustfile's time.time() before each request (tcpdump unavailable)"
        wire = {}
        for f in tmp.glob("stamps.*"):
            for line in f.read_text().splitlines():
                n, t = line.split()
                wire[int(n)] = float(t)
    missing = [i for i in range(len(rows)) if i not in wire]
    offset = min(wire[i] - rows[i] for i in wire)
    diffs = [(wire[i] - rows[i] - offset) * 1000 for i in wire]
    in_burst = set()
    for i in range(1, len(rows)):
        if rows[i] == rows[i - 1]:
            in_burst.update((i - 1, i))
    burst_diffs = [(wire[i] - rows[i] - offset) * 1000 for i in wire if i in in_burst]

    def line(label: str, xs: list[float]) -> str:
        return (f"| {label} | {len(xs):,} | {pct(xs, 50):.2f} | {pct(xs, 90):.2f} | {pct(xs, 99):.2f} | "
                f"{max(xs):.2f} |")

    load = os.getloadavg()[0]
    print(f"trace: {len(rows):,} rows over {a.seconds:g} s ({a.rows_per_s:g}/s on average, bursts of {a.burst} "
          f"rows at one ms), --arrival-max-users {a.users} (all started first); "
          f"{os.cpu_count()} cores, load average {load:.1f}{'; nice ' + str(a.nice) if nice else ''}"
          f"{'; --processes ' + str(a.processes) if a.processes else ''}")
    print(f"arrival time: {source}; zero: the earliest row's arrival - row time")
    print(f"rows seen at the server: {len(wire):,}; missing: {len(missing)}; "
          f"rlocust: started {summary['started']:,}, dropped {summary['dropped']:,}")
    print()
    print("| rows | n | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print(line("all", diffs))
    if burst_diffs:
        print(line(f"in a burst of {a.burst}", burst_diffs))
    lag = summary.get("start_lag_ms") or {}
    if lag:
        print()
        print(f"rlocust's own start lag (intended instant -> the task starts, from the true zero): "
              f"p50 {lag.get('p50')} ms, p99 {lag.get('p99')} ms, max {lag.get('max')} ms")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if not missing else 2


if __name__ == "__main__":
    sys.exit(main())
