#!/usr/bin/env python3
"""Baseline comparison, repeated (issue 42): N pairs of runs against rlocust-target on loopback, the second run of
each pair with one of three names made slower (/slow: /delay/50 → /delay/60 by default), compared with
`--baseline FIRST.json --baseline-gate`; then N control pairs where nothing changed. Prints, per pair, the names the
comparison flagged, the gate's exit code and the regressed figures, and at the end how many pairs flagged exactly
the slowed name (and, for the controls, nothing).

    python3 bench/baseline_pairs.py --rlocust target/release/rlocust [--pairs 5] [--seconds 8] [--users 10]
        [--slow-ms 50] [--factor 1.2] [--server target|python] [--target target/release/rlocust-target]

`--server python` serves the same paths from a Python `ThreadingHTTPServer` (`time.sleep` delays) instead of
rlocust-target, a server with the jitter of the ones users test. Each control pair also prints the largest change
of an unchanged name's p50/p95/p99, the noise the default limits must stay above.

Loopback only; every run is bounded by -t and a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the tests' locustfile (/fast, /other, /slow at SLOW_MS)
LOCUSTFILE = Path(__file__).resolve().parents[1] / "tests/obs/baseline_locustfile.py"


PY_SERVER = """\
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/delay/"):
            time.sleep(int(self.path.rsplit("/", 1)[1]) / 1000)
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128
ThreadingHTTPServer.handle_error = lambda self, request, address: None  # clients closing at the end of a run
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
deadline = time.monotonic() + float(sys.argv[1])
server.timeout = 1
while time.monotonic() < deadline:
    server.handle_request()
"""


def noise(doc: dict) -> str:
    """The largest relative and absolute change of an unchanged name's p50/p95/p99."""
    worst = []
    for r in doc["rows"]:
        if r["name"] in ("/fast", "/other"):
            for k in ("p50", "p95", "p99"):
                f = r["figures"][k]
                if f["delta"] is not None and f["delta_pct"] is not None:
                    worst.append((abs(f["delta_pct"]), f"{r['name']} {k} {f['delta']:+.2f} ms ({f['delta_pct']:+.1f}%)"))
    return max(worst)[1] if worst else "-"


def one_run(a, url: str, d: Path, slow_ms: int, *extra: str) -> subprocess.CompletedProcess:
    argv = [a.rlocust, "-f", "lf.py", "--headless", "-u", str(a.users), "-r", str(a.users * 5), "-t",
            f"{a.seconds}s", "-H", url, "--only-summary", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_"))}
    env["SLOW_MS"] = str(slow_ms)
    return subprocess.run(argv, cwd=d, env=env, capture_output=True, text=True, timeout=a.seconds + 60)


def pair(a, url: str, d: Path, i: int, slow_ms_after: int) -> tuple[list[str], int, list[str], dict]:
    base = one_run(a, url, d, a.slow_ms, "--summary-json", f"base{i}.json")
    if base.returncode != 0:
        sys.exit(f"the baseline run failed ({base.returncode}):\n{base.stderr[-2000:]}")
    cur = one_run(a, url, d, slow_ms_after, "--baseline", f"base{i}.json", "--baseline-gate",
                  "--summary-json", f"cur{i}.json")
    doc = json.loads((d / f"cur{i}.json").read_text())["baseline"]
    flagged = [r["name"] for r in doc["rows"] if r["verdict"] == "regressed"]
    return flagged, cur.returncode, doc["breaches"], doc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rlocust", default="target/release/rlocust")
    p.add_argument("--target", default="target/release/rlocust-target")
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--slow-ms", type=int, default=50)
    p.add_argument("--factor", type=float, default=1.2)
    p.add_argument("--server", choices=["target", "python"], default="target")
    a = p.parse_args()
    a.rlocust = str(Path(a.rlocust).resolve())
    slower = round(a.slow_ms * a.factor)
    budget = a.pairs * 4 * (a.seconds + 10) + 60
    if a.server == "python":
        server = subprocess.Popen([sys.executable, "-c", PY_SERVER, str(budget)], stdout=subprocess.PIPE, text=True)
    else:
        server = subprocess.Popen([a.target, "--port", "0", "--max-seconds", str(budget)], stdout=subprocess.PIPE,
                                  text=True)
    try:
        line = server.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            (d / "lf.py").write_text(LOCUSTFILE.read_text())
            exact = quiet = 0
            print(f"server: {a.server}\n\n| pair | /slow | flagged | gate exit | breach or largest unchanged change |\n"
                  "|---|---|---|---|---|", flush=True)
            for i in range(a.pairs):
                flagged, code, breaches, doc = pair(a, url, d, i, slower)
                exact += flagged == ["/slow"] and code == 3
                print(f"| {i + 1} | {a.slow_ms} → {slower} ms | {', '.join(flagged) or '-'} | {code} | "
                      f"{breaches[0] if breaches else '-'}; unchanged names: {noise(doc)} |", flush=True)
            for i in range(a.pairs):
                flagged, code, breaches, doc = pair(a, url, d, 100 + i, a.slow_ms)
                quiet += not flagged and code == 0
                print(f"| control {i + 1} | {a.slow_ms} → {a.slow_ms} ms | {', '.join(flagged) or '-'} | {code} | "
                      f"{breaches[0] if breaches else noise(doc)} |", flush=True)
            print(f"\nslowed pairs flagging exactly /slow (exit 3): {exact} of {a.pairs}; "
                  f"control pairs flagging nothing (exit 0): {quiet} of {a.pairs}")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
