#!/usr/bin/env python3
"""What HTTP/2 costs the generator: CPU per request of rlocust over HTTP/1.1 and HTTP/2, plain and TLS, against
one nginx on 127.0.0.1 (`return 200 "Hello!"`, keep-alive without a request limit).

    python3 bench/http2.py [--users 50] [--seconds 15] [--only http|fast] [--rlocust PATH]

Cases: http/1.1 and h2c (prior knowledge) on plain ports; https with http/1.1 and with h2 (ALPN) on TLS ports (a
self-signed certificate made here with openssl; verify=False). Each case runs N users without wait for the given
time, one after the other, and reports requests/s, the generator's CPU per request (user+sys of the rlocust
process from getrusage) and its peak RSS. Every process is bounded and stopped at the end.
"""

import argparse
import csv
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOCUSTFILE = """\
from locust import {base}, task, constant


class Bench({base}):
    wait_time = constant(0)
    http2 = {http2}

    @task
    def t(self):
        self.client.get("/"{verify})
"""

NGINX = """\
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
  ssl_certificate {d}/cert.pem;
  ssl_certificate_key {d}/key.pem;
  server {{
    listen 127.0.0.1:{h1};
    listen 127.0.0.1:{h2c} http2;
    listen 127.0.0.1:{tls1} ssl;
    listen 127.0.0.1:{tls2} ssl http2;
    location / {{ default_type text/plain; return 200 "Hello!"; }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def run_case(rlocust, work, label, base, url, http2, users, seconds):
    d = os.path.join(work, label.replace(" ", "_").replace("/", ""))
    os.makedirs(d, exist_ok=True)
    lf = os.path.join(d, "locustfile.py")
    with open(lf, "w") as f:
        f.write(LOCUSTFILE.format(base=base, http2=http2,
                                  verify=", verify=False" if base == "HttpUser" and "https" in url else ""))
    args = [rlocust, "-f", lf, "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "-H", url,
            "--csv", os.path.join(d, "r"), "--only-summary", "--loglevel", "WARNING"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(args, cwd=d, stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "w"))
    _, status, usage = os.wait4(p.pid, 0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(os.path.join(d, "r_stats.csv"), newline="") as f:
        agg = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
    n, fails = int(agg["Request Count"]), int(agg["Failure Count"])
    return {"label": label, "rps": n / seconds, "us": cpu / n * 1e6 if n else float("inf"), "fails": fails,
            "rss_mb": usage.ru_maxrss / 1024, "exit": os.waitstatus_to_exitcode(status)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--only", choices=["http", "fast"])
    ap.add_argument("--rlocust", default=os.path.join(REPO, "target", "release", "rlocust"))
    a = ap.parse_args()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx) or not shutil.which("openssl"):
        sys.exit("needs nginx and openssl (apt-get install nginx openssl)")
    work = tempfile.mkdtemp(prefix="rlocust-h2-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-keyout", f"{work}/key.pem", "-out", f"{work}/cert.pem"],
                   check=True, capture_output=True)
    ports = {k: free_port() for k in ("h1", "h2c", "tls1", "tls2")}
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(NGINX.format(d=work, **ports))
    proc = subprocess.Popen([nginx, "-c", f"{work}/nginx.conf", "-e", f"{work}/error.log"],
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        if not all(wait_listening(p, proc) for p in ports.values()):
            sys.exit("nginx did not start: " + open(f"{work}/error.log").read()[-500:])
        cases = [("http/1.1", f"http://127.0.0.1:{ports['h1']}", False),
                 ("h2c", f"http://127.0.0.1:{ports['h2c']}", True),
                 ("https http/1.1", f"https://localhost:{ports['tls1']}", False),
                 ("https h2", f"https://localhost:{ports['tls2']}", True)]
        bases = [b for b, k in (("HttpUser", "http"), ("FastHttpUser", "fast")) if a.only in (None, k)]
        rows = [run_case(a.rlocust, work, f"{base} {label}", base, url, h2, a.users, a.seconds)
                for base in bases for label, url, h2 in cases]
    finally:
        os.killpg(proc.pid, 15)
        proc.wait()
    print(f"{a.users} users, no wait, {a.seconds} s each, GET / on nginx (127.0.0.1)\n")
    print("| case | req/s | CPU µs/request | failures | peak RSS MB |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['label']} | {r['rps']:,.0f} | {r['us']:.1f} | {r['fails']} | {r['rss_mb']:.0f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
