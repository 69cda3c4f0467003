#!/usr/bin/env python3
"""rlocust's benchmark scenarios, one command each (loopback only, every run bounded in time).

    python3 bench/bench.py throughput              # 50 users, no wait, GET / (6-byte body)
    python3 bench/bench.py fidelity --users 10000  # constant(1) wait, GET /delay50 (the server answers in 50 ms)
    python3 bench/bench.py memory --users 10000    # constant(1) wait, GET /
    python3 bench/bench.py scaling                 # the fidelity workload at 50 ... 10,000 users

Each scenario runs the same generated locustfile under rlocust's HttpUser and FastHttpUser (and, with
`--locust PATH`, under real Locust's HttpUser and FastHttpUser) against one nginx on 127.0.0.1 (with the echo
module for the 50 ms endpoint; `--target builtin` or a missing nginx uses target/release/rlocust-target) and
prints a Markdown table:

- requests/s: steady state (the stats CSV after --reset-stats) for fidelity and scaling, whole run otherwise;
  "of intended" compares it with users / (1 s wait + 50 ms);
- CPU µs/request: user+system CPU of the whole run divided by the requests it made (what compare.py reports);
- steady µs/request: CPU and requests between two points after every user runs (read from /proc and the
  stats history), so spawning and shutdown do not count: the figure for the scaling curve;
- p50/p99: what the generator reported; peak RSS and RSS per user from the kernel's accounting.
"""

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
ECHO = "/usr/lib/nginx/modules/ngx_http_echo_module.so"

SCRIPT = """\
from locust import {cls}, constant, task


class Bench({cls}):
    wait_time = constant({wait})

    @task
    def request(self):
        self.client.get("{path}")
"""

NGINX = """\
{modules}
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 65536; }}
http {{
  {access_log}
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path {dir};
  proxy_temp_path {dir};
  fastcgi_temp_path {dir};
  uwsgi_temp_path {dir};
  scgi_temp_path {dir};
  server {{
    listen 127.0.0.1:{port} backlog=65535;
    location / {{ default_type text/plain; return 200 "Hello!"; }}
    location /delay50 {{ default_type text/plain; echo_sleep 0.05; echo "slow"; }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"the target exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("the target did not start listening")


def start_target(kind, work, seconds):
    """(process, base URL, path of the 50 ms endpoint)."""
    if kind == "nginx" or (kind == "auto" and shutil.which("nginx") and os.path.exists(ECHO)):
        port = free_port()
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX.format(modules=f"load_module {ECHO};", access_log="access_log off;", dir=work, port=port))
        proc = subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL)
        wait_listening(port, proc)
        return proc, f"http://127.0.0.1:{port}", "/delay50"
    exe = os.path.join(REPO, "target", "release", "rlocust-target")
    if not os.path.exists(exe):
        sys.exit(f"no nginx with the echo module and no {exe} (run `cargo build --release`)")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--max-seconds", str(int(seconds) + 60)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_listening(port, proc)
    return proc, f"http://127.0.0.1:{port}", "/delay/50"


def proc_cpu(pid):
    """User+system CPU seconds of a live process (all threads), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def steady_window(history_path, samples, ramp_end, end):
    """CPU µs per request between two moments of the steady state, from /proc samples and the stats history."""
    try:
        with open(history_path, newline="") as f:
            rows = [
                (int(r["Timestamp"]), int(r["Total Request Count"]))
                for r in csv.DictReader(f)
                if r["Name"] == "Aggregated"
            ]
    except (OSError, KeyError, ValueError):
        return None
    lo, hi = ramp_end + 3, end - 2
    rows = [r for r in rows if lo <= r[0] <= hi]
    if len(rows) < 2:
        return None
    (t0, n0), (t1, n1) = rows[0], rows[-1]

    def cpu_at(t):
        best = min(samples, key=lambda s: abs(s[0] - t))
        return best[1]

    requests = n1 - n0
    # --reset-stats zeroes the counters once: a window that spans it has no meaning
    if requests <= 0 or t1 - t0 < 3:
        return None
    return (cpu_at(t1) - cpu_at(t0)) / requests * 1e6


def run(label, cmd, cls, users, seconds, wait, host, path, work, steady):
    d = os.path.join(work, label.replace(" ", "-"))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "locustfile.py"), "w") as f:
        f.write(SCRIPT.format(cls=cls, wait=wait, path=path))
    rate = min(users, 1000)
    args = cmd + [
        "-f",
        "locustfile.py",
        "--headless",
        "-u",
        str(users),
        "-r",
        str(rate),
        "-t",
        f"{seconds}s",
        "-H",
        host,
        "--csv",
        "r",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if steady:
        args.append("--reset-stats")
    before = os.times()
    start = time.time()
    err = open(os.path.join(d, "stderr"), "w")
    p = subprocess.Popen(args, cwd=d, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    samples = []
    deadline = start + seconds + 120
    while p.poll() is None:
        c = proc_cpu(p.pid)
        if c is not None:
            samples.append((time.time(), c))
        if time.time() > deadline:
            os.killpg(p.pid, signal.SIGKILL)
        time.sleep(0.5)
    end = time.time()
    after = os.times()
    err.close()
    usage = after.children_user + after.children_system - before.children_user - before.children_system
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far, see below
    row = {"label": label, "users": users, "exit": p.returncode, "cpu": usage, "rss_kb": rss_kb}
    try:
        with open(os.path.join(d, "r_stats.csv"), newline="") as f:
            agg = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
        row.update(
            requests=int(agg["Request Count"]),
            failures=int(agg["Failure Count"]),
            p50=agg["50%"],
            p99=agg["99%"],
            rps=float(agg["Requests/s"]) if steady else int(agg["Request Count"]) / seconds,
        )
    except (OSError, IndexError, KeyError, ValueError):
        with open(os.path.join(d, "stderr")) as f:
            row.update(requests=0, failures=0, p50="n/a", p99="n/a", rps=0.0, error=f.read()[-300:])
    ramp_end = start + users / rate
    row["steady"] = steady_window(os.path.join(d, "r_stats_history.csv"), samples, ramp_end, end)
    return row


def measure_rss(fn):
    """Run fn in a forked child so RUSAGE_CHILDREN's max RSS is that run's generator alone."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        row = fn()
        os.write(w, json.dumps(row).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.waitpid(pid, 0)
    return json.loads(data)


def table(rows, intended):
    out = [
        "| generator | users | requests/s | of intended | failures | CPU µs/request | steady µs/request | "
        "p50 ms | p99 ms | peak RSS MB | RSS KB/user | exit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        share = f"{r['rps'] / (r['users'] / intended) * 100:.0f}%" if intended else "-"
        cpu = f"{r['cpu'] / r['requests'] * 1e6:.1f}" if r["requests"] else "n/a"
        steady = f"{r['steady']:.1f}" if r.get("steady") else "n/a"
        out.append(
            f"| {r['label']} | {r['users']:,} | {r['rps']:,.0f} | {share} | {r['failures']} | {cpu} | "
            f"{steady} | {r['p50']} | {r['p99']} | {r['rss_kb'] / 1024:.0f} | "
            f"{r['rss_kb'] / r['users']:.1f} | {r['exit']} |"
        )
        if r.get("error"):
            out.append(f"<!-- {r['label']}: {r['error']!r} -->")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=["throughput", "fidelity", "memory", "scaling"])
    ap.add_argument("--users", type=int, help="simulated users (default: 50 / 10000 / 10000)")
    ap.add_argument("--seconds", type=int, help="run time of each generator (default: 15 / 40 / 30 / 35)")
    ap.add_argument("--rlocust", default=os.path.join(REPO, "target", "release", "rlocust"))
    ap.add_argument("--locust", help="also run real Locust (path of its `locust` executable)")
    ap.add_argument("--only", choices=["http", "fast"], help="one user class only")
    ap.add_argument("--target", choices=["auto", "nginx", "builtin"], default="auto")
    ap.add_argument("--steps", default="50,500,2000,5000,10000", help="user counts of the scaling scenario")
    a = ap.parse_args()

    defaults = {"throughput": (50, 15), "fidelity": (10000, 40), "memory": (10000, 30), "scaling": (None, 35)}
    users, seconds = defaults[a.scenario]
    users = a.users or users
    seconds = a.seconds or seconds
    if not os.path.exists(a.rlocust):
        sys.exit(f"{a.rlocust} not found: run `cargo build --release` first")
    generators = []
    if a.locust:
        generators += [("locust HttpUser", [a.locust], "HttpUser"), ("locust FastHttpUser", [a.locust], "FastHttpUser")]
    generators += [("rlocust HttpUser", [a.rlocust], "HttpUser"), ("rlocust FastHttpUser", [a.rlocust], "FastHttpUser")]
    if a.only:
        generators = [g for g in generators if (g[2] == "FastHttpUser") == (a.only == "fast")]

    work = tempfile.mkdtemp(prefix="rlocust-bench-")
    target, host, slow = start_target(a.target, work, seconds * 12)
    try:
        steps = [int(x) for x in a.steps.split(",")] if a.scenario == "scaling" else [users]
        wait, path, steady, intended = {
            "throughput": (0, "/", False, None),
            "fidelity": (1, slow, True, 1.05),
            "memory": (1, "/", False, None),
            "scaling": (1, slow, True, 1.05),
        }[a.scenario]
        print(
            f"scenario={a.scenario} seconds={seconds} path={path} wait={wait}s target={host} cpus={os.cpu_count()}",
            flush=True,
        )
        rows = []
        for n in steps:
            for label, cmd, cls in generators:
                rows.append(measure_rss(lambda: run(label, cmd, cls, n, seconds, wait, host, path, work, steady)))
        print(table(rows, intended))
    finally:
        target.terminate()
        target.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
