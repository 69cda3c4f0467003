#!/usr/bin/env python3
"""`async def` tasks against sync ones, memory (issue 41): peak RSS per user at N users (`constant(1)`, `GET /` on
one nginx over loopback, as ../shared/bench/compare.py's memory scenario), the same locustfile with its task written
both ways, one run after another.

    python3 bench/async_cost.py --rlocust target/release/rlocust [--users 10000] [--seconds 20] [--client HttpUser]

CPU per request, both flavours at the same time: `bench/simultaneous.py BIN BIN --async-after`. Loopback only; every
run is bounded by -t.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
import compare  # noqa: E402  (nginx and its echo module)

SYNC = """\
from locust import {client}, constant, task


class Bench({client}):
    wait_time = constant(1)

    @task
    def t(self):
        self.client.get("/")
"""
ASYNC = SYNC.replace("    def t(self):", "    async def t(self):").replace("self.client.get", "await self.client.get")


def run(binary: str, text: str, users: int, seconds: int, host: str, work: Path, label: str) -> dict:
    d = work / label
    d.mkdir()
    (d / "locustfile.py").write_text(text)
    args = [binary, "-f", "locustfile.py", "--headless", "-u", str(users), "-r", str(min(users, 1000)), "-t",
            f"{seconds}s", "-H", host, "--csv", "r", "--only-summary", "--loglevel", "WARNING"]
    p = subprocess.Popen(args, cwd=d, stdout=subprocess.DEVNULL, stderr=open(d / "stderr", "w"))
    _, status, usage = os.wait4(p.pid, 0)
    rows = (d / "r_stats.csv").read_text().splitlines()
    agg = next(r for r in rows if ",Aggregated," in r).split(",")
    return {"label": label, "rss_kb": usage.ru_maxrss, "requests": int(agg[2]), "failures": int(agg[3]),
            "exit": os.waitstatus_to_exitcode(status), "cpu_s": usage.ru_utime + usage.ru_stime}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rlocust", required=True)
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--client", default="HttpUser")
    a = ap.parse_args()
    compare.ensure_nginx()
    work = Path(tempfile.mkdtemp(prefix="async-cost-"))
    nginx, host = compare.start_nginx(str(work))
    try:
        rows = [run(a.rlocust, text.format(client=a.client), a.users, a.seconds, host, work, label)
                for label, text in (("sync", SYNC), ("async", ASYNC))]
    finally:
        nginx.terminate()
        nginx.wait()
    print(f"users={a.users} seconds={a.seconds} client={a.client}")
    print("| task | requests | failures | peak RSS MB | RSS KB/user | CPU s | exit |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['label']} | {r['requests']:,} | {r['failures']} | {r['rss_kb'] / 1024:.0f} | "
              f"{r['rss_kb'] / a.users:.1f} | {r['cpu_s']:.1f} | {r['exit']} |")


if __name__ == "__main__":
    main()
