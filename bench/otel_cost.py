#!/usr/bin/env python3
"""What `--otel` costs per request: rlocust with 50 HttpUsers, no wait, GET / against rlocust-target on
127.0.0.1, without --otel and with it (metrics and logs only; and with spans too), alternating, a few rounds.

    python3 bench/otel_cost.py [--rlocust target/release/rlocust] [--seconds 10] [--rounds 2]

The OTLP data goes over HTTP/protobuf to a sink in this script that reads each export and answers 200 without
decoding it (a real collector's cost is not the generator's). The figure is user+system CPU of the rlocust
process / requests it made (its --json total), as bench.py reports it. Loopback only; every run bounded.
"""

import argparse
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCUSTFILE = """
from locust import HttpUser, task

class U(HttpUser):
    @task
    def t(self):
        self.client.get("/")
"""


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    exports = 0

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Sink.exports += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def one_run(rlocust, locustfile, host, env, seconds):
    args = [rlocust, "-f", locustfile, "--headless", "-u", "50", "-r", "50", "-t", f"{seconds}s", "-H", host,
            "--json", "--only-summary", "--loglevel", "WARNING"]
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    timer = threading.Timer(seconds + 60, p.kill)
    timer.start()
    out = p.stdout.read()
    _, _, usage = os.wait4(p.pid, 0)
    timer.cancel()
    stats = json.loads(out[out.index("["):])
    requests = sum(e["num_requests"] for e in stats)
    cpu = usage.ru_utime + usage.ru_stime
    return requests, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rlocust", default=str(REPO / "target" / "release" / "rlocust"))
    ap.add_argument("--target", default=str(REPO / "target" / "release" / "rlocust-target"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    sink.daemon_threads = True
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    target = subprocess.Popen([a.target, "--port", "0", "--max-seconds", str((a.seconds + 30) * 3 * a.rounds)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    host = re.search(r"(http://127\.0\.0\.1:\d+)", target.stdout.readline().decode()).group(1)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LOCUST_"))}
    otel = dict(base, LOCUST_ENABLE_OPENTELEMETRY="true", OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{sink.server_address[1]}",
                OTEL_METRIC_EXPORT_INTERVAL="1000")
    configs = {
        "off": base,
        "--otel, metrics+logs": dict(otel, OTEL_TRACES_EXPORTER="none"),
        "--otel, metrics+logs+spans": otel,
    }
    results = {name: [] for name in configs}
    try:
        with tempfile.TemporaryDirectory() as d:
            lf = str(Path(d) / "locustfile.py")
            Path(lf).write_text(LOCUSTFILE)
            for _ in range(a.rounds):
                for name, env in configs.items():
                    requests, cpu = one_run(a.rlocust, lf, host, env, a.seconds)
                    results[name].append((requests, cpu))
                    print(f"{name:28} {requests / a.seconds:9.0f} req/s  {cpu * 1e6 / requests:6.1f} CPU µs/request",
                          flush=True)
    finally:
        target.kill()
        sink.shutdown()
    print("\n| configuration | requests/s | CPU µs per request |\n|---|---|---|")
    for name, runs in results.items():
        req = sum(r for r, _ in runs)
        cpu = sum(c for _, c in runs)
        print(f"| {name} | {req / (a.seconds * len(runs)):,.0f} | {cpu * 1e6 / req:.1f} |")
    print(f"(exports received by the sink: {Sink.exports})")


if __name__ == "__main__":
    time.sleep(0)
    main()
