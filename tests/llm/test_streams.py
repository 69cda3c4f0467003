"""The streams watched since issue 53 (item 5), end to end on loopback: HTTP/2 responses (`--http2` against
`rlocust-target --h2c`), httpx's AsyncClient and openai's AsyncOpenAI inside `async def` tasks (sent on the engine by
rlocust's httpx transport), and the in-flight gauges added up at a master. The stream metrics are checked against
the server's token schedule (ttft 120 ms, itl 20 ms). Every process is bounded in time and killed at the end."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import ROOT
from support.bounded import binary, clean_env, free_port
from support.bounded import run as run_bounded

TTFT, ITL, TOKENS = 120, 20, 8
SITE = Path(os.environ.get("AIO_SITE", ROOT / ".aio-site"))

H2_STREAMS = f"""
from locust import HttpUser, constant, task

BODY = {{"model": "m", "stream": True, "stream_options": {{"include_usage": True}}, "max_tokens": {TOKENS},
        "messages": [{{"role": "user", "content": "hi"}}]}}


class H2(HttpUser):
    wait_time = constant(0.05)
    http2 = True

    @task
    def streamed(self):
        r = self.client.post("/v1/chat/completions", json=BODY, stream=True, name="h2 stream")
        assert sum(1 for line in r.iter_lines() if line.startswith(b"data: ")) >= {TOKENS}

    @task
    def read_whole(self):
        # an event stream read whole: watched by its content type
        r = self.client.post("/v1/chat/completions", json=BODY, name="h2 whole")
        assert r.text.count("data: ") >= {TOKENS}
"""

ASYNC_CLIENTS = f"""
import httpx
from openai import AsyncOpenAI

from locust import User, constant, task


class Async(User):
    wait_time = constant(0.05)

    async def on_start(self):
        self.openai = AsyncOpenAI(base_url=self.host + "/v1", api_key="x", max_retries=0)
        self.httpx = httpx.AsyncClient(base_url=self.host)

    @task
    async def openai_stream(self):
        stream = await self.openai.chat.completions.create(
            model="m", messages=[{{"role": "user", "content": "hi"}}], max_tokens={TOKENS}, stream=True,
            stream_options={{"include_usage": True}})
        tokens = [c async for c in stream if c.choices and c.choices[0].delta.content]
        assert len(tokens) == {TOKENS}, len(tokens)

    @task
    async def httpx_stream(self):
        body = {{"model": "m", "prompt": "hi", "max_tokens": {TOKENS}, "stream": True}}
        async with self.httpx.stream("POST", "/v1/completions", json=body) as r:
            lines = [line async for line in r.aiter_lines() if line.startswith("data: ")]
        assert len(lines) >= {TOKENS}, lines

    async def on_stop(self):
        await self.openai.close()
        await self.httpx.aclose()
"""

SLOW = """
from locust import HttpUser, constant, task


class Slow(HttpUser):
    wait_time = constant(0)

    @task
    def hang(self):
        self.client.get("/delay/2500", name="slow")
"""


def metric_rows(prefix: Path) -> dict:
    path = Path(f"{prefix}_metrics.csv")
    if not path.exists():
        return {}
    with path.open() as f:
        return {(r["Metric"], r["Name"]): r for r in csv.DictReader(f)}


def request_names(prefix: Path) -> set:
    with Path(f"{prefix}_stats.csv").open() as f:
        return {r["Name"] for r in csv.DictReader(f) if r["Name"] != "Aggregated"}


def check_schedule(rows: dict, name: str, tokens: int = TOKENS):
    """The stream metrics of `name` follow the server's schedule: first token TTFT ms after the request, then one
    every ITL ms (loopback: a few ms of slack, the server's timer included)."""
    ttft, itl = rows[("ttft", name)], rows[("itl", name)]
    assert int(ttft["Count"]) >= 3, ttft
    assert TTFT - 1 <= float(ttft["50%"]) <= TTFT + 15, ttft
    assert ITL - 3 <= float(itl["50%"]) <= ITL + 5, itl
    assert int(itl["Count"]) >= (tokens - 1) * int(ttft["Count"]) - tokens, (itl, ttft)
    e2e = rows[("e2e", name)]
    assert float(e2e["50%"]) >= TTFT + (tokens - 1) * ITL - 2, e2e


def start_h2c_target(tmp: Path) -> tuple[subprocess.Popen, str]:
    """rlocust-target speaking HTTP/2 by prior knowledge only, for at most 120 s (its listening line says when)."""
    program = binary("RLOCUST_TARGET_BIN", ROOT / "target/release/rlocust-target")
    port = free_port()
    proc = subprocess.Popen([program, "--port", str(port), "--max-seconds", "120", "--h2c", "--llm-ttft-ms",
                             str(TTFT), "--llm-itl-ms", str(ITL)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    line = proc.stdout.readline().decode()
    if "listening" not in line:
        proc.kill()
        proc.wait()
        pytest.fail(f"rlocust-target --h2c did not start: {line!r}")
    return proc, f"http://127.0.0.1:{port}"


def run_file(rlocust, source: str, host: str, tmp: Path, *extra, env=None, timeout=60):
    locustfile = tmp / "locustfile.py"
    locustfile.write_text(source)
    return run_bounded([rlocust, "-f", locustfile, "--headless", "-H", host, "--csv", tmp / "r", *extra], tmp,
                       timeout=timeout, env=env)


def test_http2_streams_are_timed_at_the_wire(rlocust, tmp_path):
    proc, url = start_h2c_target(tmp_path)
    try:
        r = run_file(rlocust, H2_STREAMS, url, tmp_path, "-u", "2", "-r", "2", "-t", "3s")
    finally:
        proc.kill()
        proc.wait()
    # the target speaks only HTTP/2: every call succeeded over it
    assert r.code == 0, r.stderr[-3000:]
    rows = metric_rows(tmp_path / "r")
    for name in ("h2 stream", "h2 whole"):
        check_schedule(rows, name)
        assert float(rows[("output_tokens", name)]["Max"]) == TOKENS, rows[("output_tokens", name)]
        assert ("tpot", name) in rows


@pytest.fixture(scope="module")
def llm_target():
    from support.bounded import serve_target

    yield from serve_target(300, ["--llm-ttft-ms", TTFT, "--llm-itl-ms", ITL])


def test_async_openai_and_httpx_streams_are_timed_at_the_wire(rlocust, llm_target, tmp_path):
    if not (SITE / "openai").is_dir():
        pytest.fail(f"the asyncio libraries are not installed in {SITE} (make test-aio installs them)")
    env = clean_env({"PYTHONPATH": str(SITE), "OPENAI_API_KEY": "x"})
    r = run_file(rlocust, ASYNC_CLIENTS, llm_target, tmp_path, "-u", "2", "-r", "2", "-t", "3s", env=env)
    assert r.code == 0, r.stderr[-3000:]
    rows = metric_rows(tmp_path / "r")
    check_schedule(rows, "/v1/chat/completions")
    assert float(rows[("output_tokens", "/v1/chat/completions")]["Max"]) == TOKENS
    check_schedule(rows, "/v1/completions")
    # as under Locust, an httpx call records no request row: only the stream metrics
    assert not request_names(tmp_path / "r"), request_names(tmp_path / "r")


def test_a_master_adds_up_its_workers_requests_in_flight(rlocust, tmp_path):
    from support.bounded import serve_target

    target = serve_target(120)
    url = next(target)
    port = free_port()
    seen = []
    stop = threading.Event()

    def scrape():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.25)
            try:
                text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except requests.RequestException:
                continue
            m = re.search(r"^rlocust_requests_in_flight (\S+)$", text, re.M)
            if m:
                seen.append(float(m.group(1)))

    scraper = threading.Thread(target=scrape)
    scraper.start()
    try:
        r = run_file(rlocust, SLOW, url, tmp_path, "-u", "6", "-r", "100", "-t", "8s", "--processes", "2",
                     "--metrics-port", port, timeout=90)
    finally:
        stop.set()
        scraper.join()
        next(target, None)
    assert r.code == 0, r.stderr[-3000:]
    # six users, each waiting 2.5 s per request on one of two workers: the master shows all six (its own: none)
    assert max(seen, default=0) == 6, seen
