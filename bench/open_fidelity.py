"""Open vs closed workload model against a target that slows down mid-test (issue 31), and the arrival clock's
scheduling error at a high rate. Loopback only (rlocust-target), every run bounded by -t.

    python3 bench/open_fidelity.py --rlocust target/release/rlocust --target target/release/rlocust-target \
        --svg docs/open-fidelity.svg

Runs, each `--seconds` long (the target answers after 50 ms in the first half, after 2 s in the second):
  - closed: `-u USERS` with no wait (Locust's model: USERS * 20 iterations/s while responses take 50 ms);
  - open:   `--arrival-rate RATE --arrival-max-users BIG` (enough users for 2 s responses: the rate holds);
  - capped: `--arrival-rate RATE --arrival-max-users CAP` (too few for 2 s responses: iterations are dropped);
  - lag:    `--arrival-rate FAST` against `/hello` (the scheduling error of the arrivals at a high rate).
Prints a table of started iterations per second per half (after a 2 s settling at the start of each half), the
dropped iterations and the start lag, and draws the per-second started rate of the three first runs as an SVG.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOCUSTFILE = '''
import os, time
from locust import HttpUser, events, task

HALF = float(os.environ["BENCH_HALF"])
PATH = os.environ.get("BENCH_PATH")
T0 = [None]


@events.test_start.add_listener
def _(**kw):
    T0[0] = time.monotonic()


class Visitor(HttpUser):
    @task
    def visit(self):
        if PATH:
            self.client.get(PATH, name="fast")
        elif time.monotonic() - T0[0] < HALF:
            self.client.get("/delay/50", name="visit")
        else:
            self.client.get("/delay/2000", name="visit")
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(rlocust, workdir: Path, name: str, args: list[str], env: dict, seconds: float) -> Path:
    prefix = workdir / name
    argv = [rlocust, "-f", str(workdir / "lf.py"), "--headless", "--only-summary", "-t", f"{seconds:g}s",
            "--csv", str(prefix), "--summary-json", f"{prefix}.json", *args]
    print(" ".join(argv[1:]), file=sys.stderr)
    t0 = time.time()
    cpu0 = os.times()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=open(f"{prefix}.log", "w"), timeout=seconds + 60,
                   check=False)
    cpu1 = os.times()
    cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
    print(f"  {time.time() - t0:.1f} s wall, {cpu:.1f} CPU-s", file=sys.stderr)
    return prefix


def per_second(rows: list[dict], key: str) -> list[tuple[float, float]]:
    """(second since the first row, count in that second) from rows of cumulative counts."""
    out = []
    for a, b in zip(rows, rows[1:], strict=False):
        dt = int(b["Timestamp"]) - int(a["Timestamp"])
        if dt > 0:
            out.append((int(b["Timestamp"]), (float(b[key]) - float(a[key])) / dt))
    return out


def rate_between(rows: list[dict], key: str, t_from: int, t_to: int) -> float:
    """Count per second between two timestamps (the rows nearest them; cumulative counts)."""
    pick = [r for r in rows if t_from <= int(r["Timestamp"]) <= t_to]
    if len(pick) < 2:
        return float("nan")
    a, b = pick[0], pick[-1]
    return (float(b[key]) - float(a[key])) / (int(b["Timestamp"]) - int(a["Timestamp"]))


def closed_rows(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats_history.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    # started iterations: completed requests plus the ones in flight (each user has one in flight once it runs)
    for r in rows:
        r["Started"] = str(int(r["Total Request Count"]) + int(r["User Count"]))
    return rows


def open_rows(prefix: Path) -> list[dict]:
    with open(f"{prefix}_arrivals.csv", newline="") as f:
        return list(csv.DictReader(f))


def svg(series: dict[str, list[tuple[float, float]]], half: float, rate: float) -> str:
    w, h, left, bottom, top, right = 720, 360, 60, 40, 30, 150
    t_max = max(t for s in series.values() for t, _ in s) or 1
    v_max = rate * 1.3

    def px(t):
        return left + (w - left - right) * t / t_max

    def py(v):
        return h - bottom - (h - bottom - top) * min(v, v_max) / v_max

    colors = {"closed": "#d62728", "open": "#1f77b4", "capped": "#2ca02c"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
           'font-size="12">', f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="18">Iterations started per second; the target slows from 50 ms to 2 s at '
           f'{half:.0f} s</text>']
    for i in range(6):
        v = v_max * i / 5
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    for i in range(int(t_max // 5) + 1):
        t = i * 5
        out.append(f'<text x="{px(t):.1f}" y="{h - bottom + 16}" text-anchor="middle">{t} s</text>')
    out.append(f'<line x1="{px(half):.1f}" x2="{px(half):.1f}" y1="{top}" y2="{h - bottom}" stroke="#999" '
               'stroke-dasharray="4 3"/>')
    for n, (name, pts) in enumerate(series.items()):
        line = " ".join(f"{px(t):.1f},{py(v):.1f}" for t, v in pts)
        c = colors.get(name, "#000")
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{line}"/>')
        out.append(f'<line x1="{w - right + 10}" x2="{w - right + 30}" y1="{top + 20 * n}" y2="{top + 20 * n}" '
                   f'stroke="{c}" stroke-width="2"/>')
        label = {"closed": "closed (-u)", "open": "open, enough users", "capped": "open, max users capped"}[name]
        out.append(f'<text x="{w - right + 35}" y="{top + 20 * n + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rlocust", default="target/release/rlocust")
    ap.add_argument("--target", default="target/release/rlocust-target")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=float, default=100, help="the arrival rate of the slow-down runs")
    ap.add_argument("--users", type=int, default=5, help="the closed run's users (rate * 0.05 matches the rate)")
    ap.add_argument("--max-users", type=int, default=300, help="the open run's maximum (rate * 2 s fits)")
    ap.add_argument("--cap", type=int, default=100, help="the capped run's maximum (fewer than rate * 2 s)")
    ap.add_argument("--fast-rate", type=float, default=5000, help="the scheduling-error run's rate")
    ap.add_argument("--fast-seconds", type=float, default=15)
    ap.add_argument("--only", help="comma-separated runs: closed,open,capped,lag")
    ap.add_argument("--svg", help="write the chart here")
    a = ap.parse_args()
    only = set((a.only or "closed,open,capped,lag").split(","))
    port = free_port()
    target = subprocess.Popen([a.target, "--port", str(port), "--max-seconds", "900"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    host = f"http://127.0.0.1:{port}"
    half = a.seconds / 2
    work = Path(tempfile.mkdtemp(prefix="open-fidelity-"))
    (work / "lf.py").write_text(LOCUSTFILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_"))}
    env["BENCH_HALF"] = str(half)
    results = {}
    try:
        common = ["-H", host]
        if "closed" in only:
            results["closed"] = closed_rows(run(a.rlocust, work, "closed", [*common, "-u", str(a.users), "-r",
                                                                             str(a.users)], env, a.seconds))
        if "open" in only:
            results["open"] = open_rows(run(a.rlocust, work, "open", [*common, "--arrival-rate", str(a.rate),
                                                                       "--arrival-max-users", str(a.max_users)],
                                            env, a.seconds))
        if "capped" in only:
            results["capped"] = open_rows(run(a.rlocust, work, "capped", [*common, "--arrival-rate", str(a.rate),
                                                                           "--arrival-max-users", str(a.cap)],
                                              env, a.seconds))
        lag = None
        if "lag" in only:
            fast_env = dict(env, BENCH_PATH="/hello")
            prefix = run(a.rlocust, work, "lag", [*common, "--arrival-rate", str(a.fast_rate), "--arrival-max-users", "200",
                                                  "--arrival-initial-users", "50"], fast_env, a.fast_seconds)
            lag = json.loads(Path(f"{prefix}.json").read_text())["arrivals"]
    finally:
        target.kill()
        target.wait()

    print(f"work directory: {work}")
    print(f"| run | first half: started/s | second half: started/s | of {a.rate:.0f}/s (2nd half) | dropped |")
    print("|---|---|---|---|---|")
    series = {}
    for name, rows in results.items():
        t0 = int(rows[0]["Timestamp"]) - 1
        mid = t0 + int(half)
        first = rate_between(rows, "Started", t0 + 2, mid)
        second = rate_between(rows, "Started", mid + 3, t0 + int(a.seconds) - 1)
        dropped = rows[-1].get("Dropped", "-")
        print(f"| {name} | {first:.1f} | {second:.1f} | {100 * second / a.rate:.1f}% | {dropped} |")
        series[name] = [(t - t0, v) for t, v in per_second(rows, "Started")]
    if lag:
        s = lag["start_lag_ms"]
        rate = lag["started"] / max(lag["elapsed_s"], 1e-9)
        print(f"\nlag run: {lag['started']} started in {lag['elapsed_s']:.1f} s ({rate:.0f}/s of {a.fast_rate:.0f}/s),"
              f" dropped {lag['dropped']}; start lag ms: p50 {s['p50']:.3f}, p90 {s['p90']:.3f}, p99 {s['p99']:.3f},"
              f" p99.9 {s['p99.9']:.3f}, max {s['max']:.3f}")
        c = lag.get("clock_lag_ms")
        if c:
            print(f"  the clock alone (arrivals handed out) ms: p50 {c['p50']:.3f}, p90 {c['p90']:.3f},"
                  f" p99 {c['p99']:.3f}, p99.9 {c['p99.9']:.3f}, max {c['max']:.3f}")
    if a.svg and series:
        Path(a.svg).write_text(svg(series, half, a.rate))
        print(f"chart: {a.svg}")


if __name__ == "__main__":
    main()
