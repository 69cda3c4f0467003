"""rlocust against a real inference server on loopback (issue 53, item 6): llama.cpp's server from PyPI's
llama-cpp-python, generating with a tiny random-weight llama model written at test time (tiny_gguf.py), so the
tokens are real llama.cpp decode steps, streamed by a real OpenAI-compatible server (uvicorn, server-sent events).

What is checked: the streamed answers get `ttft`, `itl` and `e2e` (one gap per token after the first), the whole
answers get `output_tokens` equal to the server's own `usage`, a stream that reports no `usage` (llama-cpp-python
never sends it in a stream) gets `output_tokens` only when counted with `--tokenizer`, and the TTFT rlocust records
agrees with tcpdump's timestamps on lo (when tcpdump is installed). `make test-llama-server` runs it (not part of
`make test`: its venv compiles llama.cpp, docs/llm.md says how long)."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import time

import requests
from conftest import HERE, TOKENIZER
from support.bounded import clean_env, run

MAX_TOKENS = 32
LOCUSTFILE = HERE / "llama_chat.py"


def chat(url: str, stream: bool) -> requests.Response:
    return requests.post(url + "/v1/chat/completions", timeout=30, stream=stream, json={
        "model": "tiny", "max_tokens": MAX_TOKENS, "stream": stream,
        "messages": [{"role": "user", "content": "Write about the load test run."}]})


def metric_rows(summary) -> dict:
    return {(m["metric"], m["name"]): m for m in json.loads(summary.read_text())["metrics"]}


def run_rlocust(rlocust, url, tmp_path, *extra, seconds=8, users=1):
    summary = tmp_path / "summary.json"
    r = run([rlocust, "-f", LOCUSTFILE, "--headless", "-u", users, "-r", users, "-t", f"{seconds}s",
             "--stop-timeout", "10", "-H", url, "--summary-json", summary, "--only-summary", *extra],
            tmp_path, timeout=seconds + 60,
            env=clean_env({"LLAMA_MAX_TOKENS": str(MAX_TOKENS)}))
    assert r.code == 0, r.stderr[-3000:]
    return r, metric_rows(summary)


def test_the_server_generates_exactly_max_tokens_and_streams_no_usage(llama_server):
    whole = chat(llama_server, False).json()
    assert whole["usage"]["completion_tokens"] == MAX_TOKENS, whole
    content, usage = [], []
    with chat(llama_server, True) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith(b"data: ") and line != b"data: [DONE]":
                event = json.loads(line[6:])
                usage.append(event.get("usage"))
                content += [c["delta"]["content"] for c in event["choices"] if c.get("delta", {}).get("content")]
    # one content event per generated token, and no usage anywhere in the stream
    assert len(content) == MAX_TOKENS and not any(usage), (content, usage)
    # every token is one of the tokenizer's whole words, so the text counts back to as many tokens
    from tokenizers import Tokenizer
    assert len(Tokenizer.from_file(str(TOKENIZER)).encode("".join(content)).ids) == MAX_TOKENS


def test_streams_and_whole_answers_get_their_metrics(rlocust, llama_server, tmp_path):
    r, rows = run_rlocust(rlocust, llama_server, tmp_path)
    streams = rows[("content_chunks", "stream")]
    assert streams["count"] >= 5 and streams["min"] == streams["max"] == MAX_TOKENS, streams
    # every stream that ended: a ttft and an e2e; every gap between its 32 content events: an itl (the engine may
    # have seen one more stream end than the locustfile, when -t stopped the user while it read the last lines)
    assert streams["count"] <= rows[("e2e", "stream")]["count"] <= streams["count"] + 1
    assert rows[("ttft", "stream")]["count"] >= streams["count"]
    assert rows[("itl", "stream")]["count"] >= streams["count"] * (MAX_TOKENS - 1)
    assert rows[("ttft", "stream")]["max"] <= rows[("e2e", "stream")]["max"]
    # the whole answers: output_tokens from the server's usage, exactly what the locustfile read there
    usage = rows[("usage_completion_tokens", "json")]
    tokens = rows[("output_tokens", "json")]
    assert usage["count"] >= 2 and tokens["count"] == usage["count"], (tokens, usage)
    assert tokens["min"] == tokens["max"] == usage["max"] == MAX_TOKENS
    # a stream without usage has no output_tokens (nor tpot) unless the engine counts them with a tokenizer
    assert ("output_tokens", "stream") not in rows and ("tpot", "stream") not in rows


def test_tokenizer_counts_the_streams_tokens(rlocust, llama_server, tmp_path):
    _, rows = run_rlocust(rlocust, llama_server, tmp_path, "--tokenizer", TOKENIZER)
    streams = rows[("content_chunks", "stream")]
    counted = rows[("output_tokens", "stream")]
    assert counted["count"] == streams["count"] and counted["min"] == counted["max"] == MAX_TOKENS, counted


def test_ttft_agrees_with_tcpdump_on_lo(rlocust, llama_server, tmp_path):
    assert shutil.which("tcpdump"), "tcpdump is not installed (Debian's tcpdump; `make test-llama-server` installs it as root)"
    from wire import stream_ttfts
    port = int(llama_server.rsplit(":", 1)[1])
    capture = tmp_path / "lo.pcap"
    dump = subprocess.Popen(["timeout", "-s", "KILL", "120", "tcpdump", "-i", "lo", "-U", "-s", "0", "-w", capture,
                             f"tcp port {port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    # tcpdump's first line says it is listening (it is killed after 120 s whatever happens)
    first = dump.stderr.readline()
    assert b"listening" in first, first
    time.sleep(0.5)
    try:
        _, rows = run_rlocust(rlocust, llama_server, tmp_path)
    finally:
        # tcpdump may lag behind on a busy machine, and what it has not read when stopped is lost: stop it once
        # its file has not grown for a second (at most 15 s)
        size, still, deadline = -1, 0, time.monotonic() + 15
        while still < 4 and time.monotonic() < deadline:
            time.sleep(0.25)
            now = capture.stat().st_size if capture.exists() else 0
            still, size = (still + 1 if now == size else 0), now
        os.killpg(dump.pid, signal.SIGINT)
        dump.wait(timeout=10)
    wire = sorted(stream_ttfts(capture, port))
    ttft = rows[("ttft", "stream")]
    # the same streams (a stream whose first token was on the wire when -t stopped the one user may be unrecorded)
    assert ttft["count"] <= len(wire) <= ttft["count"] + 1, (len(wire), ttft)
    # rlocust's median and 90th percentile against the wire's values within 5 ranks of a hundred either side (the two
    # count ranks differently, and ~40 streams leave gaps) and 1 ms: not the extremes, single streams whose stamps a
    # busy machine's scheduler moves (docs/llm.md)
    n = len(wire)
    for p in (50, 90):
        low = wire[max(0, math.ceil((p - 5) / 100 * n) - 1)] - 1.0
        high = wire[min(n - 1, math.ceil((p + 5) / 100 * n) - 1)] + 1.0
        assert low <= ttft["percentiles"][str(p)] <= high, (p, ttft, wire)
