#!/usr/bin/env python3
"""Where one request's CPU goes (issue 29, item 1): the throughput workload of ../shared/bench/compare.py (50 users,
no wait, `GET /` on nginx over loopback), split by thread and by what the code is doing, in CPU microseconds per
request.

    python3 bench/breakdown.py --rlocust target/release/rlocust [--client HttpUser] [--seconds 24] [--window 12]

Each tool gets a run of its own (the same workload; the tools' own overhead stays out of the other figures), and
each measures the steady state only: a window of `--window` seconds starting 6 s into the run, the requests in it
counted from rlocust's `/metrics` (`rlocust_requests_total`) at both ends.

1. plain:  the process's CPU (user + sys, /proc/PID/stat) per request, and per thread (/proc/PID/task/*/stat).
2. perf stat: context switches, CPU migrations and system calls per request (`raw_syscalls:sys_enter`), and
   `perf trace -s` for the calls by name.
3. perf record (999 Hz, call graphs): the samples of each thread by where they are (the
   interpreter, Rust called from Python, greenlet, libc, the kernel; on the I/O threads the kernel's TCP and
   epoll, the exchange, allocation, stats), turned into µs per request with the thread's CPU from step 1.
4. py-spy (`--native`, 250 Hz): the Python thread's samples by Locust-level activity (task selection, wait(),
   the client call's argument handling, `Response` construction, event firing, the gevent hub and greenlet
   switches), turned into µs per request the same way.

Needs nginx with the echo module (as compare.py), perf, and py-spy (`pip install py-spy`; give --py-spy). Loopback
only; every run is bounded by -t. Prints one table per step (docs/performance.md quotes them).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
import compare  # noqa: E402  (nginx and the locustfile of the throughput scenario)

TICKS = os.sysconf("SC_CLK_TCK")


def requests_total(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(int(float(m.group(1))) for m in re.finditer(r"^rlocust_requests_total\{[^}]*\} (\S+)$", text, re.M))


def thread_cpu(pid: int, split: bool = False) -> dict[str, float]:
    """CPU seconds (user + sys) of each thread, by thread name (threads of one name summed); with `split`, user and
    system time apart, as `NAME user` and `NAME sys`."""
    out: dict[str, float] = collections.defaultdict(float)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if split:
            out[f"{name} user"] += int(fields[11]) / TICKS
            out[f"{name} sys"] += int(fields[12]) / TICKS
        else:
            out[name] += (int(fields[11]) + int(fields[12])) / TICKS
    return dict(out)


class Run:
    """One run of the workload, with its window."""

    def __init__(self, args, work: Path, label: str):
        self.args = args
        self.dir = work / label
        self.dir.mkdir(parents=True, exist_ok=True)
        lf = self.dir / "locustfile.py"
        template = compare.LOCUSTFILE
        if getattr(args, "call_alone", False):  # the client call alone, no task loop or wait (bench/floor.py's `call`)
            from floor import CALL_ONLY
            template = CALL_ONLY
        text = template.format(base=args.client, wait="0", path="/")
        if getattr(args, "flavour", "sync") == "async":  # the same task as a coroutine (bench/simultaneous.py --async)
            text = text.replace("    def t(self):", "    async def t(self):").replace("self.client.", "await self.client.")
        lf.write_text(text)
        self.metrics = compare.free_port()
        cmd = [args.rlocust, "-f", str(lf), "--headless", "-u", str(args.users), "-r", str(args.users),
               "-t", f"{args.seconds}s", "-H", args.host, "--only-summary", "--loglevel", "WARNING",
               "--metrics-port", str(self.metrics)]
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "stderr", "w"))
        self.pid = self.proc.pid

    def window(self, during=None, split=False):
        """Waits for the window, runs `during(pid, seconds)` (a tool attached for the window) in it; returns the
        requests and each thread's CPU seconds in the window (user and system apart with `split`)."""
        time.sleep(6)
        r0, c0 = requests_total(self.metrics), thread_cpu(self.pid, split)
        tool = during(self.pid, self.args.window) if during else None
        if tool is None:
            time.sleep(self.args.window)
        else:
            tool.wait(timeout=self.args.window + 30)
        r1, c1 = requests_total(self.metrics), thread_cpu(self.pid, split)
        return r1 - r0, {k: c1.get(k, 0) - c0.get(k, 0) for k in c1}

    def finish(self):
        try:
            self.proc.wait(timeout=self.args.seconds + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def step_plain(args, work):
    run = Run(args, work, "plain")
    n, cpu = run.window(split=True)
    run.finish()
    total = sum(cpu.values())
    print(f"\n## plain: {n:,} requests in {args.window} s ({n / args.window:,.0f}/s), "
          f"{total * 1e6 / n:.1f} CPU µs per request "
          f"(user {sum(v for k, v in cpu.items() if k.endswith(' user')) * 1e6 / n:.2f}, "
          f"system {sum(v for k, v in cpu.items() if k.endswith(' sys')) * 1e6 / n:.2f})")
    threads = sorted({k.rsplit(" ", 1)[0] for k in cpu}, key=lambda t: -(cpu[t + " user"] + cpu[t + " sys"]))
    for name in threads:
        u, s = cpu[name + " user"], cpu[name + " sys"]
        if u + s > 0:
            print(f"  {name:20} {(u + s) * 1e6 / n:6.2f} µs/request (user {u * 1e6 / n:5.2f}, system "
                  f"{s * 1e6 / n:5.2f}; {(u + s) / args.window * 100:5.1f}% of a core)")


def step_stat(args, work):
    run = Run(args, work, "stat")
    events = "context-switches,cpu-migrations,raw_syscalls:sys_enter"
    out = run.dir / "perf-stat.txt"
    n, _ = run.window(lambda pid, secs: subprocess.Popen(
        ["perf", "stat", "-e", events, "-x", ",", "-o", str(out), "-p", str(pid), "--", "sleep", str(secs)]))
    run.finish()
    print(f"\n## perf stat ({n:,} requests)")
    for line in out.read_text().splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[0].replace(".", "").isdigit():
            print(f"  {parts[2]:28} {int(float(parts[0])) / n:6.2f} per request")
    run = Run(args, work, "trace")
    trace = run.dir / "perf-trace.txt"
    n, _ = run.window(lambda pid, secs: subprocess.Popen(
        ["timeout", "-s", "INT", str(secs), "perf", "trace", "-s", "-p", str(pid), "-o", str(trace)]))
    run.finish()
    calls = collections.Counter()
    for m in re.finditer(r"^\s+(\w+)\s+(\d+)\s+\d+\s+[\d.]+", trace.read_text(), re.M):
        calls[m.group(1)] += int(m.group(2))
    print(f"  system calls by name (perf trace, {n:,} requests; the tracing slows the run):")
    for name, c in calls.most_common(10):
        print(f"    {name:22} {c / n:6.3f} per request")


# perf record: where each sample of a thread is, by the first matching frame from the leaf up
GROUPS = [
    ("kernel: TCP/IP", re.compile(r"tcp_|ip_|__dev_queue|loopback|net_rx|__netif|skb|sock_|inet_")),
    ("kernel: epoll, futex, scheduler", re.compile(r"ep_|epoll|futex|schedule|__switch_to|finish_task_switch|try_to_wake")),
    ("kernel: other", re.compile(r"^\[k\]")),  # (the fallback of classify)
    ("allocation", re.compile(r"mi_|malloc|free|realloc|_int_malloc|_int_free|cfree|alloc::")),
    ("memcpy/memmove", re.compile(r"memmove|memcpy|memset")),
    ("greenlet switches", re.compile(r"greenlet|slp_")),
    ("stats recording", re.compile(r"rlocust::stats::")),
    ("HTTP exchange (write, parse, headers)", re.compile(r"rlocust::http::|httparse|http::header")),
    ("bridge/hub (jobs, completions)", re.compile(r"rlocust::bridge|rlocust::engine|tokio::sync|crossbeam")),
    ("Rust called from Python (Session.send, Response)", re.compile(r"rlocust::py::|pyo3::")),
    ("tokio runtime", re.compile(r"tokio::")),
    ("interpreter", re.compile(r"_PyEval|PyObject_|_Py|Py[A-Z]|libpython|method_|dict_|list_|tuple|unicode|frame_")),
]


def classify(stack: list[str]) -> str:
    if stack and stack[0].startswith("[k]"):
        # in the kernel: by the first kernel frame of a known path from the leaf up (a copy or a lock under
        # tcp_sendmsg is TCP's), else the kernel's own (syscall entry and exit, page faults, timers)
        for frame in stack:
            if not frame.startswith("[k]"):
                break
            for name, rx in GROUPS[:2]:
                if rx.search(frame):
                    return name
        return "kernel: other"
    for frame in stack:  # leaf first
        for name, rx in GROUPS[3:]:
            if rx.search(frame):
                return name
    return "other"


def step_record(args, work):
    run = Run(args, work, "record")
    data = run.dir / "perf.data"
    n, cpu = run.window(lambda pid, secs: subprocess.Popen(
        ["perf", "record", "-F", "999", "-g", "-o", str(data), "-p", str(pid), "--", "sleep", str(secs)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    run.finish()
    script = subprocess.run(["perf", "script", "-i", str(data), "-F", "comm,ip,sym,dso"], capture_output=True,
                            text=True).stdout
    by_thread: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for block in script.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        comm = lines[0].split()[0]
        stack = []
        for ln in lines[1:]:
            parts = ln.split(None, 1)
            if len(parts) < 2:
                continue
            rest = parts[1]
            sym = rest.rsplit(" (", 1)[0]
            dso = rest.rsplit(" (", 1)[1].rstrip(")") if " (" in rest else ""
            stack.append(("[k] " if "kernel" in dso else "") + sym + " " + os.path.basename(dso))
        by_thread[comm][classify(stack)] += 1
    print(f"\n## perf record ({n:,} requests): each thread's CPU per request, by where its samples are")
    for comm, groups in sorted(by_thread.items(), key=lambda kv: -sum(kv[1].values())):
        samples = sum(groups.values())
        us = cpu.get(comm, 0) * 1e6 / n
        print(f"  {comm}: {us:.2f} µs/request ({samples} samples)")
        for g, c in groups.most_common():
            print(f"    {g:50} {us * c / samples:6.2f} µs ({c / samples * 100:4.1f}%)")


# py-spy: the Python thread by Locust-level activity, by the first matching frame from the leaf up
ACTIVITIES = [
    ("greenlet switch / gevent hub", re.compile(r"\bswitch\b|greenlet|hub\.py|_hub\.py|Waiter|gevent")),
    ("event firing (request event, listeners)", re.compile(r"events\.py|\bfire\b|_fire")),
    ("Response construction", re.compile(r"Response|response\.rs|_ffi\.py|CaseInsensitiveDict")),
    ("client call: argument handling, Session.send", re.compile(r"clients\.py|fasthttp\.py|_clientlib|send|request")),
    ("wait() and wait_time", re.compile(r"wait_time\.py|\bwait\b|_wait|sleep")),
    ("task selection and the user loop", re.compile(r"users\.py|task\.py|execute_next_task|get_next_task|"
                                                    r"schedule_task|execute_task|\brun\b")),
    ("the locustfile's task", re.compile(r"locustfile\.py")),
]


def step_pyspy(args, work):
    if not args.py_spy:
        print("\n## py-spy: skipped (give --py-spy PATH)")
        return
    run = Run(args, work, "pyspy")
    raw = run.dir / "pyspy.txt"
    n, cpu = run.window(lambda pid, secs: subprocess.Popen(
        [args.py_spy, "record", "--native", "-r", "250", "-d", str(int(secs)), "-f", "raw",
         "-o", str(raw), "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    run.finish()
    counts = collections.Counter()
    py_leaf = collections.Counter()  # the innermost Python frame of each sample
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, c = line.rpartition(" ")
        if not c.isdigit():
            continue
        frames = stack.split(";")
        if not frames or "idle" in frames[-1]:
            continue
        total += int(c)
        leaf = next((f for f in reversed(frames) if re.search(r"\.py:\d+\)$", f)), "(no Python frame)")
        py_leaf[re.sub(r":\d+\)$", ")", leaf)] += int(c)
        name = "other"
        for frame in reversed(frames):
            hit = next((a for a, rx in ACTIVITIES if rx.search(frame)), None)
            if hit:
                name = hit
                break
        counts[name] += int(c)
    py = max(cpu.items(), key=lambda kv: kv[1] if "tokio" not in kv[0] and "rlocust-" not in kv[0] else 0)
    us = py[1] * 1e6 / n
    print(f"\n## py-spy ({n:,} requests): the Python thread ({py[0]}, {us:.2f} µs/request, {total} samples)")
    for a, c in counts.most_common():
        print(f"    {a:50} {us * c / total:6.2f} µs ({c / total * 100:4.1f}%)")
    print("  the innermost Python function of the samples:")
    for f, c in py_leaf.most_common(20):
        print(f"    {f[:70]:70} {us * c / total:6.2f} µs ({c / total * 100:4.1f}%)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rlocust", default="target/release/rlocust")
    ap.add_argument("--client", default="HttpUser", choices=["HttpUser", "FastHttpUser"])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=24)
    ap.add_argument("--window", type=float, default=12)
    ap.add_argument("--py-spy", help="the py-spy executable")
    ap.add_argument("--only", help="comma-separated steps: plain,stat,record,pyspy")
    ap.add_argument("--call-alone", action="store_true",
                    help="each user's one task calls client.get in a loop (bench/floor.py's `call`): no task "
                         "selection, no wait, no task loop")
    args = ap.parse_args()
    args.rlocust = os.path.abspath(args.rlocust) if os.path.exists(args.rlocust) else args.rlocust
    steps = set((args.only or "plain,stat,record,pyspy").split(","))
    compare.ensure_nginx()
    work = Path(tempfile.mkdtemp(prefix="breakdown-"))
    nginx, args.host = compare.start_nginx(str(work))
    try:
        if "plain" in steps:
            step_plain(args, work)
        if "stat" in steps and shutil.which("perf"):
            step_stat(args, work)
        if "record" in steps and shutil.which("perf"):
            step_record(args, work)
        if "pyspy" in steps:
            step_pyspy(args, work)
    finally:
        nginx.terminate()
        nginx.wait()
    print(f"\nwork directory: {work}")


if __name__ == "__main__":
    main()
