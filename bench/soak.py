#!/usr/bin/env python3
"""Soak: a long rlocust run against nginx whose own access log is the ground truth.

    python3 bench/soak.py                          # 10 minutes, 500 users, constant(0.05) wait, GET /
    python3 bench/soak.py --seconds 60 --users 100 # a short one

Checks, and prints as a Markdown table:
- the requests rlocust counted (its final stats CSV) against the requests nginx logged: equal when nothing is
  lost or invented (the users stop with a stop timeout, so no request is cut off in flight);
- failures (none expected);
- rlocust's RSS sampled every 5 s: at the first sample after all users run, at the end, and the peak, with the
  growth between the first and the last quarter of the run (flat when nothing leaks);
- CPU µs per request.

Needs nginx with the echo module (installed with apt-get when missing and running as root) and target/release/rlocust. Loopback
only; the run is bounded by --seconds plus a grace period. Exit status 1 when the counts differ or a request
failed. `--json FILE` also writes the figures as JSON.
"""

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (free_port, wait_listening, proc_cpu)


def ensure_nginx():
    """nginx with the echo module (bench.py's configuration loads it)."""
    if shutil.which("nginx") and os.path.exists(bench.ECHO):
        return
    if os.geteuid() != 0:
        sys.exit("nginx with the echo module is not installed (apt-get install nginx-light libnginx-mod-http-echo)")
    subprocess.run(["apt-get", "install", "-y", "-q", "nginx-light", "libnginx-mod-http-echo"], check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdout=subprocess.DEVNULL)


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--users", type=int, default=500)
    ap.add_argument("--wait", type=float, default=0.05)
    ap.add_argument("--only", choices=["http", "fast"], default="http")
    ap.add_argument("--rlocust", default=os.path.join(bench.REPO, "target", "release", "rlocust"))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    ensure_nginx()
    work = tempfile.mkdtemp(prefix="rlocust-soak-")
    port = bench.free_port()
    with open(os.path.join(work, "nginx.conf"), "w") as f:
        # the access log is the ground truth: one line ("200") per request nginx answered
        log = f"log_format status '$status'; access_log {work}/access.log status buffer=256k flush=1s;"
        f.write(bench.NGINX.format(modules=f"load_module {bench.ECHO};", access_log=log, dir=work, port=port))
    nginx = subprocess.Popen(["nginx", "-c", os.path.join(work, "nginx.conf"), "-p", work],
                             stderr=subprocess.DEVNULL)
    try:
        bench.wait_listening(port, nginx)
        cls = "HttpUser" if args.only == "http" else "FastHttpUser"
        lf = os.path.join(work, "locustfile.py")
        with open(lf, "w") as f:
            f.write(bench.SCRIPT.format(cls=cls, wait=args.wait, path="/"))
        prefix = os.path.join(work, "soak")
        cmd = [args.rlocust, "-f", lf, "--headless", "-u", str(args.users), "-r", str(max(args.users // 10, 1)),
               "-t", f"{args.seconds}s", "-s", "10", "-H", f"http://127.0.0.1:{port}", "--csv", prefix,
               "--only-summary"]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "rlocust.err"), "w"))
        samples = []  # (seconds since start, RSS KB)
        cpu = None
        while proc.poll() is None:
            if time.monotonic() - t0 > args.seconds + 120:
                proc.send_signal(signal.SIGINT)
                proc.wait(30)
                sys.exit("rlocust did not end within its run time plus 120 s")
            kb = rss_kb(proc.pid)
            c = bench.proc_cpu(proc.pid)
            if kb is not None:
                samples.append((time.monotonic() - t0, kb))
            if c is not None:
                cpu = c
            time.sleep(5)
        rc = proc.returncode
        os.kill(nginx.pid, signal.SIGQUIT)  # graceful: flushes the access log
        nginx.wait(30)
        with open(prefix + "_stats.csv", newline="") as f:
            total = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
        counted, failures = int(total["Request Count"]), int(total["Failure Count"])
        with open(os.path.join(work, "access.log")) as f:
            logged = sum(1 for _ in f)
        ramp = args.users / max(args.users // 10, 1) + 5
        steady = [kb for t, kb in samples if t >= ramp]
        quarter = max(len(steady) // 4, 1)
        first_q = sum(steady[:quarter]) / quarter if steady else 0
        last_q = sum(steady[-quarter:]) / quarter if steady else 0
        figures = {
            "seconds": args.seconds, "users": args.users, "user_class": cls, "exit_code": rc,
            "requests_rlocust": counted, "requests_nginx": logged, "difference": counted - logged,
            "failures": failures, "requests_per_s": round(counted / args.seconds, 1),
            "rss_mb_start": round(steady[0] / 1024, 1) if steady else None,
            "rss_mb_end": round(steady[-1] / 1024, 1) if steady else None,
            "rss_mb_peak": round(max(kb for _, kb in samples) / 1024, 1) if samples else None,
            "rss_growth_first_to_last_quarter_mb": round((last_q - first_q) / 1024, 1),
            "cpu_us_per_request": round((cpu or 0) * 1e6 / counted, 1) if counted else None,
        }
        print("| users | seconds | requests (rlocust) | requests (nginx log) | difference | failures | req/s "
              "| RSS start MB | RSS end MB | RSS peak MB | RSS growth MB | CPU µs/req |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        print("| {users} | {seconds} | {requests_rlocust:,} | {requests_nginx:,} | {difference} | {failures} | "
              "{requests_per_s:,} | {rss_mb_start} | {rss_mb_end} | {rss_mb_peak} | "
              "{rss_growth_first_to_last_quarter_mb} | {cpu_us_per_request} |".format(**figures))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=2)
        ok = counted == logged and failures == 0 and rc == 0
        print(("ok" if ok else "MISMATCH") + f": rlocust counted {counted:,}, nginx logged {logged:,}")
        return 0 if ok else 1
    finally:
        if nginx.poll() is None:
            nginx.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
