"""The engine's cost of counting streamed tokens with --tokenizer (issue 53's "Measure").

rlocust-target streams 1,000-event chat answers without `usage` (no gaps between events); an HttpUser reads them
with `iter_lines`, `-u 4 -t 15s`, once without and once with `--tokenizer` (the byte-level test tokenizer unless
`--tokenizer PATH` says), alternated for `--rounds` rounds. The CPU is the whole rlocust process's (user + system,
`getrusage` of the finished child), divided by the content events it read. Loopback only; each run is bounded.

    .venv/bin/python bench/tokenizer_cost.py [--rounds 3] [--tokenizer PATH]
"""

import argparse
import csv
import os
import resource
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LOCUSTFILE = '''
from locust import HttpUser, constant, task


class U(HttpUser):
    wait_time = constant(0)

    @task
    def chat(self):
        body = {"model": "m", "stream": True, "max_tokens": 1000,
                "messages": [{"role": "user", "content": "Count these tokens at the wire, please."}]}
        with self.client.post("/v1/chat/completions", json=body, stream=True, name="chat") as r:
            for _ in r.iter_lines():
                pass
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tokenizer", default=str(ROOT / "tests/llm/tokenizers/byte-level/tokenizer.json"))
    p.add_argument("--rlocust", default=str(ROOT / "target/release/rlocust"))
    p.add_argument("--target", default=str(ROOT / "target/release/rlocust-target"))
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rlocust-tokcost-"))
    (tmp / "lf.py").write_text(LOCUSTFILE)
    port = free_port()
    srv = subprocess.Popen([a.target, "--port", str(port), "--max-seconds", str(60 * a.rounds * 2 + 60),
                            "--llm-ttft-ms", "0", "--llm-itl-ms", "0", "--llm-tokens", "1000"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_"))}
    per_event: dict[bool, list[float]] = {False: [], True: []}
    time.sleep(1)
    try:
        for _ in range(a.rounds):
            for with_tok in (False, True):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                prefix = tmp / f"run{int(with_tok)}"
                argv = [a.rlocust, "-f", "lf.py", "--headless", "-u", "4", "-r", "4", "-t", "15s",
                        "--stop-timeout", "10", "-H", f"http://127.0.0.1:{port}", "--csv", str(prefix),
                        "--only-summary"] + (["--tokenizer", a.tokenizer] if with_tok else [])
                subprocess.run(argv, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                               env=env)  # (exit 1 when a stream was cut by the end of the run: a failure)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                with open(f"{prefix}_metrics.csv") as f:
                    rows = {(r["Metric"], r["Name"]): r for r in csv.DictReader(f)}
                events = int(rows[("e2e", "chat")]["Count"]) * 1000
                counted = rows.get(("output_tokens", "chat"))
                per_event[with_tok].append(cpu / events * 1e6)
                print(f"--tokenizer {'on ' if with_tok else 'off'}: {events:,} content events, CPU {cpu:.2f} s, "
                      f"{cpu / events * 1e6:.2f} µs per event, tokens counted "
                      f"{counted['Sum'] if counted else '-'}", flush=True)
    finally:
        srv.kill()
        srv.wait()
    med = {k: sorted(v)[len(v) // 2] for k, v in per_event.items()}
    print(f"\nmedian CPU per content event: without {med[False]:.1f} µs, with {med[True]:.1f} µs "
          f"(counting: {med[True] - med[False]:.1f} µs per event); load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
