#!/usr/bin/env python3
"""What the exporters cost the generator: CPU per request of rlocust with and without Prometheus scraping
`/metrics`, with `--otel` (OTLP over HTTP/protobuf to a sink in this script that reads each export and answers
200, bench/otel_cost.py's: a collector's own cost is not the generator's), and with thresholds + the JSON summary, at 10,000 users.

    python3 bench/observability.py [--users 10000] [--seconds 30] [--names 20] [--rounds 2] [--rlocust PATH]

One nginx on 127.0.0.1 answers `GET /n/<i>` with 200 "Hello!". Each case runs N users with `constant(1)` (about N
requests per second) spread over `--names` request names, one case after the other, `--rounds` times alternating,
and reports requests/s, the generator's CPU per request (user+sys of the rlocust process from getrusage), its peak
RSS, and for the scraped case what a real Prometheus (Debian's package, scraping every second) measured: the
scrape's duration and its sample count. The fd limit is raised for the run inside this script. Every process is
bounded and stopped at the end.
"""

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import ThreadingHTTPServer

from http2 import free_port  # bench/: the script's own directory is on sys.path
from otel_cost import Sink

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOCUSTFILE = """\
import random
from locust import HttpUser, task, constant


class Bench(HttpUser):
    wait_time = constant(1)

    @task
    def t(self):
        self.client.get("/n/%d" % random.randrange({names}))
"""

NGINX = """\
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
worker_rlimit_nofile 65536;
events {{ worker_connections 30000; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{
    listen 127.0.0.1:{port} backlog=16384;
    location / {{ default_type text/plain; return 200 "Hello!"; }}
  }}
}}
"""


def wait_http(url, proc, limit=30.0):
    end = time.monotonic() + limit
    while time.monotonic() < end and proc.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 65536), hard), hard))


class Prometheus:
    def __init__(self, work, target):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                    f"  - job_name: rlocust\n    static_configs:\n      - targets: ['{target}']\n")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={work}/tsdb",
             f"--web.listen-address=127.0.0.1:{self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        if not wait_http(self.url + "/-/ready", self.proc):
            sys.exit("prometheus did not start")

    def value(self, expr):
        q = urllib.parse.urlencode({"query": expr})
        doc = json.load(urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=5))
        result = doc["data"]["result"]
        return float(result[0]["value"][1]) if result else float("nan")

    def close(self):
        os.killpg(self.proc.pid, 15)
        self.proc.wait()


def run_case(rlocust, work, label, url, users, seconds, extra, prometheus, env=None):
    d = os.path.join(work, f"{label.replace(' ', '_')}_{time.monotonic_ns()}")
    os.makedirs(d)
    args = [rlocust, "-f", os.path.join(work, "locustfile.py"), "--headless", "-u", str(users), "-r",
            str(max(users // 5, 1)), "-t", f"{seconds}s", "-H", url, "--csv", os.path.join(d, "r"), "--only-summary",
            "--loglevel", "WARNING", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(args, cwd=d, stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "w"),
                         preexec_fn=raise_fd_limit, env={**os.environ, **(env or {})})
    scrape = None
    if prometheus is not None:
        time.sleep(seconds * 0.8)
        scrape = (prometheus.value('avg_over_time(scrape_duration_seconds{job="rlocust"}[10s]) * 1000'),
                  prometheus.value('scrape_samples_scraped{job="rlocust"}'))
    _, status, usage = os.wait4(p.pid, 0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(os.path.join(d, "r_stats.csv"), newline="") as f:
        agg = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
    n, fails = int(agg["Request Count"]), int(agg["Failure Count"])
    return {"label": label, "rps": n / seconds, "us": cpu / n * 1e6 if n else float("inf"), "fails": fails,
            "rss_mb": usage.ru_maxrss / 1024, "exit": os.waitstatus_to_exitcode(status), "scrape": scrape}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--names", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rlocust", default=os.path.join(REPO, "target", "release", "rlocust"))
    a = ap.parse_args()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx) or not shutil.which("prometheus"):
        sys.exit("needs nginx and prometheus (apt-get install nginx prometheus)")
    raise_fd_limit()
    work = tempfile.mkdtemp(prefix="rlocust-obs-")
    with open(os.path.join(work, "locustfile.py"), "w") as f:
        f.write(LOCUSTFILE.format(names=a.names))
    port = free_port()
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(NGINX.format(d=work, port=port))
    ngx = subprocess.Popen([nginx, "-c", f"{work}/nginx.conf", "-e", f"{work}/error.log"],
                           stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    metrics_port = free_port()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    otel_env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.server_address[1]}",
                "OTEL_METRIC_EXPORT_INTERVAL": "5000"}
    prom = None
    rows = []
    try:
        if not wait_http(url + "/", ngx):
            sys.exit("nginx did not start")
        prom = Prometheus(work, f"127.0.0.1:{metrics_port}")
        cases = [
            ("baseline", [], None, None),
            ("--metrics-port, scraped every 1 s", ["--metrics-port", str(metrics_port)], prom, None),
            ("--otel (metrics, logs, a span per request)", ["--otel"], None, otel_env),
            ("--otel, traces off", ["--otel"], None, {**otel_env, "OTEL_TRACES_EXPORTER": "none"}),
            ("--thresholds + --summary-json", ["--thresholds", "p95<500; p99.9<2000; fail_ratio<0.01; rps>1",
                                               "--summary-json", os.path.join(work, "summary.json")], None, None),
        ]
        for _ in range(a.rounds):
            for label, extra, scraper, env in cases:
                rows.append(run_case(a.rlocust, work, label, url, a.users, a.seconds, extra, scraper, env))
    finally:
        sink.shutdown()
        if prom:
            prom.close()
        os.killpg(ngx.pid, 15)
        ngx.wait()
    print(f"{a.users} users, constant(1), {a.names} request names, {a.seconds} s per run, GET on nginx (127.0.0.1)\n")
    print("| case | req/s | CPU µs/request | failures | peak RSS MB | scrape ms | samples/scrape |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        s = r["scrape"]
        scrape = f"| {s[0]:.1f} | {s[1]:,.0f} |" if s else "| | |"
        print(f"| {r['label']} | {r['rps']:,.0f} | {r['us']:.1f} | {r['fails']} | {r['rss_mb']:.0f} {scrape}")
    print(f"\nOTLP exports received: {Sink.exports:,}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
