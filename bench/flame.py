#!/usr/bin/env python3
"""A flame graph of one rlocust thread under the throughput workload (issue 54: each thread before and after).

    python3 bench/flame.py OUT [--rlocust target/release/rlocust] [--thread io|python] [--seconds 6]
        [--users 50] [--client HttpUser] [--call-alone] [--async]

Runs bench/breakdown.py's throughput workload (no wait, `GET /` on one nginx over loopback), waits for it to
settle, and samples one thread with `perf record -F 999 --call-graph dwarf` for the window: `io` is the tokio
I/O thread (`rlocust-io`), `python` the thread that runs the interpreter and the hub (the process's main thread).
Writes OUT.folded (folded stacks: `root;...;leaf count`) and OUT.svg, drawn by inferno (the `inferno` crate's
`inferno-collapse-perf` and `inferno-flamegraph`, installed with `cargo install inferno --locked` when missing),
and prints the thread's CPU per request in the window and the leaves that took the most samples.

A profile's shares are what to read: perf's own sampling adds to the thread's time. Loopback only; the run is
bounded by -t.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import breakdown  # noqa: E402  (the workload and its window)


def inferno() -> None:
    """inferno's two commands on PATH (or ~/.cargo/bin), installed with cargo when missing."""
    cargo_bin = Path.home() / ".cargo" / "bin"
    if shutil.which("inferno-flamegraph") is None and not (cargo_bin / "inferno-flamegraph").exists():
        subprocess.run(["cargo", "install", "inferno", "--locked"], check=True)


def tool(name: str) -> str:
    return shutil.which(name) or str(Path.home() / ".cargo" / "bin" / name)


def thread_id(pid: int, which: str) -> str:
    if which == "python":
        return str(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        if (task / "comm").read_text().strip() == "rlocust-io":
            return task.name
    sys.exit("no rlocust-io thread in the run")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rlocust", default="target/release/rlocust")
    ap.add_argument("--thread", choices=["io", "python"], default="io")
    ap.add_argument("--seconds", type=int, default=6, help="the sampled window")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--client", default="HttpUser", choices=["HttpUser", "FastHttpUser"])
    ap.add_argument("--call-alone", action="store_true", help="the client call in a loop (bench/floor.py's `call`)")
    ap.add_argument("--async", dest="flavour", action="store_const", const="async", default="sync",
                    help="the task as a coroutine awaiting its call (bench/simultaneous.py --async-after)")
    o = ap.parse_args()
    inferno()
    out = Path(o.out).resolve()
    breakdown.compare.ensure_nginx()
    work = Path(tempfile.mkdtemp(prefix="rlocust-flame-"))
    nginx, host = breakdown.compare.start_nginx(str(work))
    data = work / "perf.data"
    try:
        args = argparse.Namespace(rlocust=str(Path(o.rlocust).resolve()), client=o.client, users=o.users, host=host,
                                  seconds=o.seconds + 14, window=o.seconds, call_alone=o.call_alone,
                                  flavour=o.flavour)
        run = breakdown.Run(args, work, "flame")

        def perf(pid, seconds):
            return subprocess.Popen(["perf", "record", "-F", "999", "--call-graph", "dwarf,16384", "-t",
                                     thread_id(pid, o.thread), "-o", str(data), "--", "sleep", str(seconds)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        n, cpu = run.window(perf)
        run.finish()
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    script = subprocess.run(["perf", "script", "-i", str(data)], capture_output=True, check=True).stdout
    folded = subprocess.run([tool("inferno-collapse-perf")], input=script, capture_output=True, check=True).stdout
    out.with_suffix(".folded").write_bytes(folded)
    title = f"rlocust {o.thread} thread, {o.client}{' call alone' if o.call_alone else ''}, {o.users} users"
    with open(out.with_suffix(".svg"), "wb") as svg:
        subprocess.run([tool("inferno-flamegraph"), "--title", title, "--width", "1600"], input=folded, stdout=svg,
                       check=True)
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.decode().splitlines():
        stack, _, count = line.rpartition(" ")
        leaves[stack.rsplit(";", 1)[-1]] += int(count)
        total += int(count)
    name = "rlocust" if o.thread == "python" else "rlocust-io"
    print(f"{n:,} requests in {o.seconds} s; the {o.thread} thread {cpu.get(name, 0) * 1e6 / max(n, 1):.2f} µs/request"
          f" with perf attached -> {out.with_suffix('.svg')}")
    # (inferno weighs each stack by the samples' period, ns of CPU for perf's cpu-clock: the shares are what to read)
    for leaf, count in leaves.most_common(15):
        print(f"  {count / total * 100:5.1f}%  {leaf[:110]}")


if __name__ == "__main__":
    main()
