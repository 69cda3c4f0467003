"""Tokens counted at the wire and token throughput (issue 53, items 3 and 4).

With `--tokenizer`, a stream that reports no `usage` gets `output_tokens` equal to the tokenizer's count of its
content (checked against the Python `tokenizers` package on the same tokenizer.json, for OpenAI chat and completions,
the Responses API, Anthropic's messages, Ollama's NDJSON and plain-text events, served by a small loopback server in
this module), a stream that reports usage keeps the server's figures, and a request's prompt gets `input_tokens`.
The run's tokens per second agree in every output (console, CSV, summary JSON, HTML report, `/rlocust/metrics`,
`/metrics`) and equal its tokens over its span. A bad `--tokenizer` is one line and exit 1.
Loopback only; every process and the server bounded in time."""

from __future__ import annotations

import csv
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import tokenizers  # (requirements-test.txt: a missing package fails the suite, never skips it)
from support.bounded import clean_env, finish, free_port, run, start

TOKENIZERS = Path(__file__).resolve().parent / "tokenizers"

# what every stream of the loopback server generates: several scripts, digits, punctuation, runs of spaces, a newline
TEXT = ("Streams are timed at the wire. Ünïcödé, 漢字 and émojis 🚀!\n  Tokens: 1234 + 5678 = 6912;"
        " the\ttab, the  double  spaces, and the end.")
PROMPT = "Write a haiku about load testing, counted by the engine."
SYSTEM = "Be brief."
PIECE = 7  # characters per event


def pieces(text: str = TEXT) -> list[str]:
    return [text[i:i + PIECE] for i in range(0, len(text), PIECE)]


def sse(data: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n").encode()


def body_of(fmt: str) -> tuple[str, list[bytes]]:
    """The content type and the events of one answer in format `fmt`, without any usage."""
    if fmt == "chat":
        events = [sse(json.dumps({"choices": [{"delta": {"role": "assistant", "content": ""}}]}))]
        events += [sse(json.dumps({"choices": [{"delta": {"content": p}}]})) for p in pieces()]
        events += [sse(json.dumps({"choices": [{"delta": {}, "finish_reason": "stop"}]})), sse("[DONE]")]
    elif fmt == "completions":
        events = [sse(json.dumps({"choices": [{"text": p}]})) for p in pieces()] + [sse("[DONE]")]
    elif fmt == "responses":
        events = [sse(json.dumps({"type": "response.created", "response": {}}))]
        events += [sse(json.dumps({"type": "response.output_text.delta", "delta": p})) for p in pieces()]
        events += [sse(json.dumps({"type": "response.completed", "response": {"status": "completed"}}))]
    elif fmt == "anthropic":
        events = [sse(json.dumps({"type": "message_start", "message": {"role": "assistant"}}), "message_start")]
        events += [sse(json.dumps({"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "text_delta", "text": p}}), "content_block_delta")
                   for p in pieces()]
        events += [sse(json.dumps({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}), "message_delta"),
                   sse(json.dumps({"type": "message_stop"}), "message_stop")]
    elif fmt == "ollama":
        lines = [json.dumps({"message": {"role": "assistant", "content": p}, "done": False}) for p in pieces()]
        lines.append(json.dumps({"message": {"role": "assistant", "content": ""}, "done": True}))
        return "application/x-ndjson", [(line + "\n").encode() for line in lines]
    elif fmt == "plain":
        events = [sse(p) for p in pieces()]
    else:
        raise ValueError(fmt)
    return "text/event-stream", events


FORMATS = ["chat", "completions", "responses", "anthropic", "ollama", "plain"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ctype, events = body_of(self.path.strip("/"))
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(sum(map(len, events))))
        self.end_headers()
        try:
            for e in events:
                self.wfile.write(e)
                self.wfile.flush()
                time.sleep(0.001)
        except OSError:  # the client went (its run ended)
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def streams_url():
    """The loopback server of the formats above, for this module's tests only (a daemon thread, shut down after)."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


LOCUSTFILE = '''
import json
from locust import HttpUser, constant, task

PROMPT = {prompt!r}
SYSTEM = {system!r}
STREAMS = {streams!r}
TARGET = {target!r}
FORMATS = {formats!r}


class Reader(HttpUser):
    wait_time = constant(0.2)

    def read(self, url, body, name):
        r = self.client.post(url, json=body, stream=True, name=name)
        for _ in r.iter_lines():
            pass

    @task
    def every_format(self):
        for fmt in FORMATS:
            if fmt == "completions":
                body = {{"model": "m", "prompt": PROMPT, "stream": True}}
            else:
                body = {{"model": "m", "stream": True, "messages": [
                    {{"role": "system", "content": SYSTEM}},
                    {{"role": "user", "content": [{{"type": "text", "text": PROMPT}}]}}]}}
            self.read(STREAMS + "/" + fmt, body, fmt)
        if TARGET:
            chat = {{"model": "m", "stream": True, "max_tokens": 16,
                     "messages": [{{"role": "user", "content": PROMPT}}]}}
            self.read(TARGET + "/v1/chat/completions?ttft_ms=5&itl_ms=1", chat, "target-nousage")
            chat["stream_options"] = {{"include_usage": True}}
            self.read(TARGET + "/v1/chat/completions?ttft_ms=5&itl_ms=1", chat, "target-usage")
'''


def locustfile(tmp_path, streams: str, target: str = "", formats=FORMATS):
    path = tmp_path / "tokens_locustfile.py"
    path.write_text(LOCUSTFILE.format(prompt=PROMPT, system=SYSTEM, streams=streams, target=target,
                                      formats=list(formats)))
    return path


def metrics_csv(path) -> dict:
    with open(path, newline="") as f:
        return {(r["Metric"], r["Name"]): r for r in csv.DictReader(f)}


def count(tok, text: str) -> int:
    return len(tok.encode(text, add_special_tokens=False).ids)


def test_a_stream_without_usage_gets_the_tokenizers_count_of_its_content(rlocust, target, streams_url,
                                                                          tokenizer_path, tmp_path):
    tok = tokenizers.Tokenizer.from_file(str(tokenizer_path))
    r = run([rlocust, "-f", locustfile(tmp_path, streams_url, target), "--headless", "-u", "2", "-r", "2",
             "-t", "2s", "--stop-timeout", "5", "-H", streams_url, "--csv", tmp_path / "tok", "--only-summary",
             "--tokenizer", tokenizer_path], tmp_path, timeout=60)
    assert r.code == 0, r.stderr
    rows = metrics_csv(tmp_path / "tok_metrics.csv")
    expected = count(tok, TEXT)
    assert expected > 20
    for fmt in FORMATS:
        out = rows[("output_tokens", fmt)]
        n = int(rows[("e2e", fmt)]["Count"])
        # every stream that ended has its count, and it is the tokenizer's count of the whole content
        assert n > 0 and int(out["Count"]) == n, (fmt, out)
        assert out["Min"] == out["Max"] == str(expected), (fmt, out, expected)
        assert int(rows[("tpot", fmt)]["Count"]) == n
        # the prompt: a completion's `prompt`, a chat's messages (system and user parts, each counted)
        inp = rows[("input_tokens", fmt)]
        want = count(tok, PROMPT) if fmt == "completions" else count(tok, SYSTEM) + count(tok, PROMPT)
        assert inp["Min"] == inp["Max"] == str(want) and int(inp["Count"]) == n, (fmt, inp, want)
    # rlocust-target without usage: its 16 "tok " pieces counted; with usage: the server's figures win
    nousage = rows[("output_tokens", "target-nousage")]
    assert nousage["Min"] == nousage["Max"] == str(count(tok, "tok " * 16)), nousage
    assert rows[("input_tokens", "target-nousage")]["Max"] == str(count(tok, PROMPT))
    usage = rows[("output_tokens", "target-usage")]
    assert usage["Min"] == usage["Max"] == "16"
    assert rows[("input_tokens", "target-usage")]["Min"] == rows[("input_tokens", "target-usage")]["Max"] == "8"


def test_without_a_tokenizer_nothing_is_counted(rlocust, streams_url, tmp_path):
    r = run([rlocust, "-f", locustfile(tmp_path, streams_url, formats=["chat"]), "--headless", "-u", "1", "-r", "1",
             "-t", "1s", "--stop-timeout", "5", "-H", streams_url, "--csv", tmp_path / "none", "--only-summary"],
            tmp_path, timeout=60)
    assert r.code == 0, r.stderr
    rows = metrics_csv(tmp_path / "none_metrics.csv")
    assert int(rows[("e2e", "chat")]["Count"]) > 0
    assert ("output_tokens", "chat") not in rows and ("input_tokens", "chat") not in rows


@pytest.mark.parametrize("path, words", [("missing/tokenizer.json", "no such file"), ("broken.json", "tokenizer")])
def test_a_bad_tokenizer_is_one_line_and_exit_1_before_the_run(rlocust, tmp_path, path, words):
    (tmp_path / "broken.json").write_text("{not json")
    lf = tmp_path / "lf.py"
    lf.write_text("from locust import User, task\n\nclass U(User):\n    @task\n    def t(self):\n        pass\n")
    r = run([rlocust, "-f", lf, "--headless", "-u", "1", "-t", "1s", "--tokenizer", tmp_path / path], tmp_path,
            timeout=30)
    assert r.code == 1, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--tokenizer" in lines[0] and words in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "panicked" not in r.stderr


def prom_value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split(" ")[1])
    raise AssertionError(f"{series} not in /metrics")


def test_tokens_per_second_agree_in_every_output(rlocust, target, tmp_path):
    tokenizer = TOKENIZERS / "byte-level" / "tokenizer.json"
    tok = tokenizers.Tokenizer.from_file(str(tokenizer))
    lf = tmp_path / "tp.py"
    lf.write_text(
        "from locust import HttpUser, constant, task\n\n"
        "class U(HttpUser):\n    wait_time = constant(0.05)\n\n    @task\n    def chat(self):\n"
        "        body = {'model': 'm', 'stream': True, 'max_tokens': 24, 'messages': [{'role': 'user', 'content': "
        f"{PROMPT!r}}}]}}\n"
        "        r = self.client.post('/v1/chat/completions?ttft_ms=5&itl_ms=2', json=body, stream=True,"
        " name='chat')\n"
        "        for _ in r.iter_lines():\n            pass\n")
    port = free_port()
    summary, html = tmp_path / "summary.json", tmp_path / "report.html"
    proc = start([rlocust, "-f", lf, "-u", "3", "-r", "3", "-t", "6s", "--stop-timeout", "5", "-H", target,
                  "--web-port", str(port), "--web-host", "127.0.0.1", "--autostart", "--autoquit", "4",
                  "--tokenizer", tokenizer, "--csv", tmp_path / "tp", "--summary-json", summary, "--html", html],
                 tmp_path, env=clean_env())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        state = ""
        while time.monotonic() < deadline:
            try:
                state = requests.get(base + "/stats/requests", timeout=2).json()["state"]
            except (requests.RequestException, ValueError, KeyError):
                state = ""
            if state == "stopped":
                break
            time.sleep(0.2)
        assert state == "stopped"
        route = requests.get(base + "/rlocust/metrics", timeout=5).json()
        web = {(m["metric"], m["name"]): m for m in route["metrics"]}
        prom = requests.get(base + "/metrics", timeout=5).text
    finally:
        code = finish(proc, timeout=40)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert code == 0, stderr[-3000:]

    doc = json.loads(summary.read_text())
    by = {(m["metric"], m["name"]): m for m in doc["metrics"]}
    agg = by[("output_tokens", "Aggregated")]
    chat = by[("output_tokens", "chat")]
    per_stream = count(tok, "tok " * 24)
    # the tokens: every stream's count, summed
    assert chat["count"] > 10 and chat["sum"] == chat["count"] * per_stream == agg["sum"]
    span = doc["token_span"]
    # the run's span: from its start to its last record, about the 6 s it ran
    assert 5.5 <= span["seconds"] <= 6 + 5 + 1, span
    rate = agg["per_second"]
    assert rate == pytest.approx(agg["sum"] / span["seconds"], rel=1e-12)
    assert chat["per_second"] == pytest.approx(rate, rel=1e-12)
    current = agg["current_per_second"]
    assert current > 0
    inp = by[("input_tokens", "Aggregated")]
    assert inp["per_second"] == pytest.approx(inp["sum"] / span["seconds"], rel=1e-12)

    # the CSV (two decimals)
    rows = metrics_csv(tmp_path / "tp_metrics.csv")
    for key, m in (("chat", chat), ("Aggregated", agg)):
        row = rows[("output_tokens", key)]
        assert float(row["Sum"]) == m["sum"]
        assert row["Per Second"] == f"{m['per_second']:.2f}" and row["Current Per Second"] == f"{current:.2f}"
    assert rows[("ttft", "chat")]["Per Second"] == ""
    # the console's throughput table
    table = stderr[stderr.rindex("Token throughput"):]
    line = next(x for x in table.splitlines() if x.startswith("output_tokens ") and " chat " in x)
    assert line.split()[-3:] == [str(int(chat["sum"])), f"{rate:.2f}", f"{current:.2f}"], line
    # the web UI's rows (the same snapshot figures after the run)
    assert web[("output_tokens", "Aggregated")]["per_second"] == pytest.approx(rate, rel=1e-12)
    assert web[("output_tokens", "Aggregated")]["current_per_second"] == pytest.approx(current, rel=1e-12)
    # the Metrics charts' history: the whole run, sampled every 5 s, tokens/s for the rows in tokens
    history = route["history"]
    names = [m["metric"] for m in history["metrics"]]
    assert {"ttft", "output_tokens", "input_tokens"} <= set(names), history
    assert history["points"], history
    last = history["points"][-1]["values"][names.index("output_tokens")]
    assert last[2] is not None and last[2] > 0 and last[0] == per_stream, history
    # Prometheus
    assert prom_value(prom, 'rlocust_tokens_total{metric="output_tokens",name="Aggregated"}') == agg["sum"]
    assert prom_value(prom, 'rlocust_tokens_per_second{metric="output_tokens",name="Aggregated"}') == \
        pytest.approx(rate, rel=1e-9)
    assert prom_value(prom, 'rlocust_tokens_current_per_second{metric="output_tokens",name="chat"}') == \
        pytest.approx(current, rel=1e-9)
    assert prom_value(prom, 'rlocust_tokens_total{metric="input_tokens",name="chat"}') == inp["sum"]
    # the HTML report's data
    page = html.read_text()
    m = re.search(r"window\.templateArgs = ", page)
    args, _ = json.JSONDecoder().raw_decode(page[m.end():])
    rep = {(x["metric"], x["name"]): x for x in args["metrics"]}
    assert rep[("output_tokens", "Aggregated")]["per_second"] == pytest.approx(rate, rel=1e-12)
