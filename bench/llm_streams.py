#!/usr/bin/env python3
"""Streams timed at the wire against the server's own stamps, with the Python thread kept busy (issue 40).

    python3 bench/llm_streams.py [--users 100] [--busy 6] [--seconds 30] [--rounds 1] [--guidellm PATH]

rlocust-target streams OpenAI-style chat completions: the first token 300 ms after the request, then one every
25 ms, 40 tokens (`--llm-ttft-ms 300 --llm-itl-ms 25`). One rlocust run has two user classes: `--users` streaming
users (HttpUser, `stream=True`, `iter_lines`), and `--busy` users whose tasks spin the Python thread for 5 ms at a
time, so the interpreter is busy (the run reports how busy its thread was). Compared, per round:
- the server's stamps (`/v1/_stamps`: request arrival to the first token written, the gaps between tokens);
- rlocust's `ttft` and `itl` (timed by the engine as the bytes arrive);
- a TTFT timed in the locustfile in Python (today's workaround: `time.perf_counter()` around the call and the first
  data line), recorded with `rlocust.metric` so it adds no request rows;
- with `--guidellm PATH` (GuideLLM 0.8's `guidellm` command in its own venv, `pip install guidellm==0.8.*`, which
  pulls torch: not in the default path), GuideLLM's `run` at the same concurrency on the same server (a local
  word-level tokenizer for its synthetic prompts), its TTFT and ITL (GuideLLM's ITL is one value per request,
  (latency - TTFT) / (tokens - 1)) and its CPU per streamed request. rlocust's CPU per stream is printed beside it.
Every process is bounded in time and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TTFT_MS, ITL_MS, TOKENS = 300, 25, 40

LOCUSTFILE = '''
import json, os, time
from locust import HttpUser, User, constant, task
from rlocust import metric

BUSY_MS = 5.0


class Streamer(HttpUser):
    weight = int(os.environ["LLM_BENCH_USERS"])
    wait_time = constant(0.2)

    @task
    def chat(self):
        t0 = time.perf_counter()
        first = None
        body = {"model": "m", "stream": True, "stream_options": {"include_usage": True}, "max_tokens": %(tokens)d,
                "messages": [{"role": "user", "content": "hi"}]}
        r = self.client.post("/v1/chat/completions", json=body, stream=True, name="chat")
        for line in r.iter_lines():
            if first is None and line.startswith(b"data: ") and b'"content":"tok' in line:
                first = time.perf_counter()
        if first is not None:
            metric("python_ttft", (first - t0) * 1000, unit="ms", name="chat")


class Busy(User):
    weight = int(os.environ["LLM_BENCH_BUSY"])
    wait_time = constant(0)

    @task
    def spin(self):
        end = time.perf_counter() + BUSY_MS / 1000
        while time.perf_counter() < end:
            pass
''' % {"tokens": TOKENS}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name of a process (utime + stime)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return out


def rlocust_round(rlocust: str, base: str, users: int, busy: int, seconds: int, work: Path) -> dict:
    lf = work / "llm_bench_locustfile.py"
    lf.write_text(LOCUSTFILE)
    get_json(base + "/v1/_stamps?reset=1")
    env = dict(os.environ, LLM_BENCH_USERS=str(users), LLM_BENCH_BUSY=str(busy))
    total = users + busy
    c0 = os.times()
    # (spawned over 5 s: 100 requests arriving at once queue in the server before its stamps start)
    proc = subprocess.Popen([rlocust, "-f", str(lf), "--headless", "-u", str(total), "-r", str(total / 5), "-t",
                             f"{seconds}s", "--stop-timeout", "5", "-H", base, "--csv", str(work / "r"),
                             "--only-summary"], env=env, cwd=work, stdout=subprocess.DEVNULL,
                            stderr=open(work / "rlocust.log", "wb"))
    # the Python thread's share of one core over the steady part of the run
    time.sleep(3)
    before, t0 = thread_cpu(proc.pid), time.monotonic()
    time.sleep(max(seconds - 6, 1))
    after, t1 = thread_cpu(proc.pid), time.monotonic()
    try:
        proc.wait(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit("rlocust did not end in time")
    c1 = os.times()
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    main = proc.args[0].rsplit("/", 1)[-1][:15]
    hub = (after.get(main, 0) - before.get(main, 0)) / (t1 - t0)
    if not (work / "r_metrics.csv").exists():
        sys.exit("rlocust wrote no metrics:\n" + (work / "rlocust.log").read_text()[-3000:])
    rows = {(r["Metric"], r["Name"]): r for r in csv.DictReader(open(work / "r_metrics.csv", newline=""))}
    stats = {r["Name"]: r for r in csv.DictReader(open(work / "r_stats.csv", newline=""))}
    server = get_json(base + "/v1/_stamps")

    def pct(metric: str, p: str) -> float:
        return float(rows[(metric, "chat")][p])

    return {
        "hub_busy": hub,
        "requests": int(stats["chat"]["Request Count"]),
        "aggregated": int(stats["Aggregated"]["Request Count"]),
        "streams_completed": int(rows[("e2e", "chat")]["Count"]),
        "cpu_us_per_stream": cpu / max(int(rows[("e2e", "chat")]["Count"]), 1) * 1e6,
        "server": {"ttft_p50": server["ttft_ms"]["p50"], "ttft_p99": server["ttft_ms"]["p99"],
                   "itl_p50": server["itl_ms"]["p50"], "itl_p99": server["itl_ms"]["p99"],
                   "streams": server["streams"]},
        "rlocust": {"ttft_p50": pct("ttft", "50%"), "ttft_p99": pct("ttft", "99%"),
                    "itl_p50": pct("itl", "50%"), "itl_p99": pct("itl", "99%")},
        "python": {"ttft_p50": pct("python_ttft", "50%"), "ttft_p99": pct("python_ttft", "99%")},
    }


def local_tokenizer(work: Path, guidellm: str) -> Path:
    """A word-level tokenizer saved on disk for GuideLLM's synthetic prompts (its default would come from the Hugging
    Face hub, which a loopback benchmark does not reach), made with the interpreter GuideLLM runs on."""
    out = work / "tokenizer"
    code = (
        "from tokenizers import Tokenizer, models, pre_tokenizers\n"
        "from transformers import PreTrainedTokenizerFast\n"
        "words = ['[UNK]', '[BOS]', '[EOS]'] + [f'w{i}' for i in range(2000)]\n"
        "t = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token='[UNK]'))\n"
        "t.pre_tokenizer = pre_tokenizers.Whitespace()\n"
        f"PreTrainedTokenizerFast(tokenizer_object=t, unk_token='[UNK]', bos_token='[BOS]', eos_token='[EOS]')"
        f".save_pretrained({str(out)!r})\n"
    )
    python = str(Path(guidellm).with_name("python"))
    subprocess.run([python, "-c", code], check=True, timeout=120)
    return out


def guidellm_round(guidellm: str, base: str, users: int, seconds: int, work: Path) -> dict | None:
    """GuideLLM 0.8's `run` at `users` concurrent streams on the same server, for `seconds`."""
    tokenizer = local_tokenizer(work, guidellm)
    get_json(base + "/v1/_stamps?reset=1")
    out = work / "guidellm.json"
    t0 = os.times()
    r = subprocess.run([guidellm, "run", "--backend", f"kind=openai_http,target={base},model=m,validate_backend=false",
                        "--profile", f"kind=concurrent,streams={users}",
                        "--constraint", f"kind=max_duration,seconds={seconds}",
                        "--data", f"kind=synthetic_text,prompt_tokens=16,output_tokens={TOKENS}",
                        "--tokenizer", f"kind=hf_auto,model={tokenizer}",
                        "--output", f"kind=json,path={out}", "--disable-console-interactive"],
                       cwd=work, capture_output=True, text=True, timeout=seconds + 600)
    t1 = os.times()
    if r.returncode != 0 or not out.exists():
        print(f"guidellm failed ({r.returncode}): {r.stderr[-2000:]}", file=sys.stderr)
        return None
    server = get_json(base + "/v1/_stamps")
    cpu = (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
    metrics = json.loads(out.read_text())["benchmarks"][0]["metrics"]

    def stat(name: str, p: str) -> float | None:
        try:
            return float(metrics[name]["successful"]["percentiles"][p])
        except (KeyError, TypeError, ValueError):
            return None

    streams = int(metrics["time_to_first_token_ms"]["successful"]["count"])
    return {
        "server": {"ttft_p50": server["ttft_ms"]["p50"], "ttft_p99": server["ttft_ms"]["p99"],
                   "itl_p50": server["itl_ms"]["p50"], "itl_p99": server["itl_ms"]["p99"],
                   "streams": server["streams"]},
        "guidellm": {"ttft_p50": stat("time_to_first_token_ms", "p50"), "ttft_p99": stat("time_to_first_token_ms", "p99"),
                     "itl_p50": stat("inter_token_latency_ms", "p50"), "itl_p99": stat("inter_token_latency_ms", "p99")},
        "streams": streams,
        "cpu_us_per_stream": cpu / max(server["streams"], 1) * 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--busy", type=int, default=6)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--rlocust", default=str(REPO / "target/release/rlocust"))
    ap.add_argument("--target", default=str(REPO / "target/release/rlocust-target"))
    ap.add_argument("--guidellm", default=None)
    a = ap.parse_args()
    port = free_port()
    server = subprocess.Popen([a.target, "--port", str(port), "--max-seconds", str(a.rounds * (a.seconds + 120) + 60),
                               "--llm-ttft-ms", str(TTFT_MS), "--llm-itl-ms", str(ITL_MS),
                               "--llm-tokens", str(TOKENS)], stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                get_json(base + "/v1/_stamps")
                break
            except OSError:
                time.sleep(0.1)
        print(f"server: first token after {TTFT_MS} ms, then one every {ITL_MS} ms, {TOKENS} tokens; "
              f"{a.users} streaming users, {a.busy} busy users, {a.seconds} s\n")
        print("| round | source | ttft p50 | ttft p99 | itl p50 | itl p99 | streams | Python thread busy |")
        print("|---|---|---|---|---|---|---|---|")
        for i in range(1, a.rounds + 1):
            with tempfile.TemporaryDirectory() as d:
                r = rlocust_round(a.rlocust, base, a.users, a.busy, a.seconds, Path(d))
            s, rl, py = r["server"], r["rlocust"], r["python"]
            print(f"| {i} | server's stamps | {s['ttft_p50']:.2f} | {s['ttft_p99']:.2f} | {s['itl_p50']:.2f} | "
                  f"{s['itl_p99']:.2f} | {s['streams']} | |")
            print(f"| {i} | rlocust ttft/itl | {rl['ttft_p50']:.2f} | {rl['ttft_p99']:.2f} | {rl['itl_p50']:.2f} | "
                  f"{rl['itl_p99']:.2f} | {r['streams_completed']} | {r['hub_busy'] * 100:.0f}% |")
            print(f"| {i} | TTFT timed in Python | {py['ttft_p50']:.2f} | {py['ttft_p99']:.2f} | | | | |")
            print(f"|   | (requests: chat {r['requests']}, Aggregated {r['aggregated']}) | | | | | | |")
            if a.guidellm:
                # the CPU comparison: rlocust alone (no busy users) and GuideLLM, the same streams
                with tempfile.TemporaryDirectory() as d:
                    q = rlocust_round(a.rlocust, base, a.users, 0, a.seconds, Path(d))
                ql = q["rlocust"]
                print(f"| {i} | rlocust, no busy users | {ql['ttft_p50']:.2f} | {ql['ttft_p99']:.2f} | "
                      f"{ql['itl_p50']:.2f} | {ql['itl_p99']:.2f} | {q['streams_completed']} | "
                      f"CPU {q['cpu_us_per_stream']:.0f} µs/stream |")
                with tempfile.TemporaryDirectory() as d:
                    g = guidellm_round(a.guidellm, base, a.users, a.seconds, Path(d))
                if g:
                    gs, gl = g["server"], g["guidellm"]
                    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
                    print(f"| {i} | server's stamps (GuideLLM's run) | {gs['ttft_p50']:.2f} | {gs['ttft_p99']:.2f} | "
                          f"{gs['itl_p50']:.2f} | {gs['itl_p99']:.2f} | {gs['streams']} | |")
                    print(f"| {i} | GuideLLM (its ITL: per request) | {fmt(gl['ttft_p50'])} | {fmt(gl['ttft_p99'])} | "
                          f"{fmt(gl['itl_p50'])} | {fmt(gl['itl_p99'])} | {g['streams']} | "
                          f"CPU {g['cpu_us_per_stream']:.0f} µs/stream |")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
