"""Capacity searches against servers whose capacity is known (issue 52's measure). Loopback only: rlocust-target's
`/capacity/{slots}/{service_ms}` pools (true capacity = slots / service time) and its streamed inference endpoint
with `--llm-slots N` (true capacity = N / (ttft + (tokens - 1) x itl)); every search bounded by -t.

    python3 bench/capacity.py --rlocust target/release/rlocust --target target/release/rlocust-target \
        [--rounds 3] [--scenarios pool,pool-processes,stream] [--json out.json]

For each scenario, `--rounds` searches, each a fresh rlocust-target (the pool's queue starts empty); prints a table:
the true capacity, each search's capacity and first failing level (and their ratio to the truth), the spread of the
capacities, the probes and the wall time. Issue 52's bar: capacity within 5 % below the truth and the first
failing level within 10 % above it (10 % for the streamed endpoint).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POOL_LOCUSTFILE = '''
from locust import HttpUser, task


class Client(HttpUser):
    @task
    def call(self):
        self.client.get("/capacity/{slots}/{service_ms}", name="/capacity")
'''

STREAM_LOCUSTFILE = '''
from locust import HttpUser, task


class Chat(HttpUser):
    @task
    def chat(self):
        body = {{"model": "m", "messages": [{{"role": "user", "content": "hi"}}], "max_tokens": {tokens},
                "stream": True}}
        with self.client.post("/v1/chat/completions", json=body, stream=True, catch_response=True,
                              name="chat") as r:
            for _ in r.iter_lines():
                pass
'''

SCENARIOS = {
    # 8 slots x 25 ms: 320/s
    "pool": dict(kind="pool", slots=8, service_ms=25, slo="p95<100", start=40, processes=0, bar=(0.05, 0.10)),
    "pool-processes": dict(kind="pool", slots=8, service_ms=25, slo="p95<100", start=40, processes=2,
                           bar=(0.05, 0.10)),
    # 8 slots, first token 20 ms 32 tokens 5 ms apart: each request holds a slot 20 + 31 x 5 = 175 ms -> 45.7/s
    "stream": dict(kind="stream", slots=8, ttft_ms=20, itl_ms=5, tokens=32, slo="ttft.p95<100", start=6,
                   processes=0, bar=(0.10, 0.10)),
    "stream-processes": dict(kind="stream", slots=8, ttft_ms=20, itl_ms=5, tokens=32, slo="ttft.p95<100", start=6,
                             processes=2, bar=(0.10, 0.10)),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def true_capacity(sc: dict) -> float:
    if sc["kind"] == "pool":
        return sc["slots"] / sc["service_ms"] * 1000.0
    return sc["slots"] / (sc["ttft_ms"] + (sc["tokens"] - 1) * sc["itl_ms"]) * 1000.0


def start_target(binary: str, sc: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [binary, "--port", str(port), "--max-seconds", "900"]
    if sc["kind"] == "stream":
        args += ["--llm-slots", str(sc["slots"]), "--llm-ttft-ms", str(sc["ttft_ms"]), "--llm-itl-ms",
                 str(sc["itl_ms"]), "--llm-tokens", str(sc["tokens"])]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("rlocust-target did not start")


def search(rlocust: str, target: str, sc: dict, args, workdir: Path, n: int) -> dict:
    proc, host = start_target(target, sc)
    try:
        lf = workdir / f"{sc['kind']}.py"
        text = POOL_LOCUSTFILE if sc["kind"] == "pool" else STREAM_LOCUSTFILE
        lf.write_text(text.format(**sc))
        summary = workdir / f"summary-{n}.json"
        cmd = [rlocust, "-f", str(lf), "--headless", "-H", host, "-t", f"{args.max_minutes}m",
               "--search", "arrival-rate", "--slo", sc["slo"], "--search-start", str(sc["start"]),
               "--search-probe-time", args.probe_time, "--search-warmup", args.warmup,
               "--arrival-max-users", "4000", "--summary-json", str(summary), "--only-summary"]
        if sc["processes"]:
            cmd += ["--processes", str(sc["processes"])]
        t0 = time.time()
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=args.max_minutes * 60 + 120)
        wall = time.time() - t0
        headline = [ln for ln in (run.stdout + run.stderr).splitlines() if "Capacity" in ln][-1:]
        doc = json.loads(summary.read_text())["search"]
        first = doc.get("first_failing") or {}
        return {"capacity": doc.get("capacity"), "first_failing": first.get("offered"),
                "probes": len(doc.get("probes", [])), "wall": wall, "ended_by": doc.get("ended_by"),
                "exit": run.returncode, "headline": headline[0] if headline else ""}
    finally:
        proc.kill()
        proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rlocust", default="target/release/rlocust")
    ap.add_argument("--target", default="target/release/rlocust-target")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scenarios", default="pool,pool-processes,stream")
    ap.add_argument("--probe-time", default="10s")
    ap.add_argument("--warmup", default="3s")
    ap.add_argument("--max-minutes", type=int, default=8)
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenarios.split(","):
            sc = SCENARIOS[name]
            truth = true_capacity(sc)
            runs = []
            for n in range(args.rounds):
                r = search(os.path.abspath(args.rlocust), os.path.abspath(args.target), sc, args, Path(tmp), n)
                runs.append(r)
                print(f"{name} #{n + 1}: {r}", file=sys.stderr)
            results[name] = {"truth": truth, "slo": sc["slo"], "runs": runs}
    print("| scenario | true | capacity found (÷ true) | first failing (÷ true) | spread | probes | wall s | within bar |")
    print("|---|---|---|---|---|---|---|---|")
    ok_all = True
    for name, res in results.items():
        truth, runs = res["truth"], res["runs"]
        below, above = SCENARIOS[name]["bar"]
        caps = [r["capacity"] for r in runs if r["capacity"] is not None]
        fmt = lambda v: "none" if v is None else f"{v:.0f} ({v / truth:.3f})"  # noqa: E731
        ok = all(r["capacity"] is not None and truth * (1 - below) <= r["capacity"] <= truth * (1 + 0.005)
                 and r["first_failing"] is not None and truth <= r["first_failing"] * 1.005
                 and r["first_failing"] <= truth * (1 + above) for r in runs)
        ok_all &= ok
        spread = f"{(max(caps) - min(caps)) / truth:.1%}" if caps else "-"
        print(f"| {name} ({res['slo']}) | {truth:.1f} | {', '.join(fmt(r['capacity']) for r in runs)} | "
              f"{', '.join(fmt(r['first_failing']) for r in runs)} | {spread} | "
              f"{', '.join(str(r['probes']) for r in runs)} | {', '.join('%.0f' % r['wall'] for r in runs)} | "
              f"{'yes' if ok else 'NO'} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
