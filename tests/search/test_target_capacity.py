"""rlocust-target's servers of known capacity (issue 52, item 6): `/capacity/{slots}/{service_ms}` (and `/capacity`,
the command line's pool) serve `slots` requests at once, each holding its slot for the service time, the others
waiting in order; with `--llm-slots N` the inference endpoints do the same, the first token waiting for a slot.

Each test sends a bounded number of concurrent requests on loopback and checks that they finish in ceil(N / S) waves
of T (never sooner: the capacity is enforced; not much later: the bounds allow 15 % and a little scheduling slack),
that nothing fails while waiting, and that bad numbers and too many pools are refused with one line. The targets
run on free loopback ports, stop by themselves and are killed at the end of their module or test."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.bounded import ROOT, binary, serve_target, start_target  # noqa: E402

SLACK_S = 0.06  # scheduling slack on a busy machine, on top of the 15 %
LLM = {"slots": 2, "ttft_ms": 50, "itl_ms": 10, "tokens": 6}  # service 50 + 5 × 10 = 100 ms
DEFAULT_POOL = (2, 100)


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    yield from serve_target(300, ["--llm-slots", LLM["slots"], "--llm-ttft-ms", LLM["ttft_ms"],
                                  "--llm-itl-ms", LLM["itl_ms"], "--llm-tokens", LLM["tokens"],
                                  "--capacity-slots", DEFAULT_POOL[0], "--capacity-service-ms", DEFAULT_POOL[1]])


def at_once(n: int, call: Callable[[int], dict]) -> list[dict]:
    """`call(i)` for i in 0..n, all started together (a barrier) in threads. Each result gets its `seconds`: from
    the first of them started (the server's waves are timed from the first arrival, so a thread started a little
    late still ends with its wave) to its end; a result's own `ttft` (an instant) is made relative the same way."""
    barrier = threading.Barrier(n)
    results: list[dict] = [{} for _ in range(n)]
    starts = [0.0] * n

    def one(i: int) -> None:
        barrier.wait(timeout=30)
        starts[i] = time.perf_counter()
        try:
            results[i] = call(i)
        except Exception as e:  # noqa: BLE001 (the test reports it)
            results[i] = {"error": repr(e)}
        results[i]["end"] = time.perf_counter()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    first = min(starts)
    for r in results:
        r["seconds"] = r["end"] - first
        if r.get("ttft") is not None:
            r["ttft"] -= first
    return results


def get(url: str) -> Callable[[int], dict]:
    def call(_: int) -> dict:
        r = requests.get(url, timeout=30)
        return {"status": r.status_code, "text": r.text, "queue_ms": float(r.headers.get("X-Queue-Ms", "nan"))}

    return call


def assert_waves(seconds: list[float], slots: int, service_s: float) -> None:
    """The k-th fastest answer (0-based) came in wave k // slots + 1: not before it, not much after it."""
    for k, s in enumerate(sorted(seconds)):
        wave = k // slots + 1
        assert s >= wave * service_s - 0.002, f"answer {k} after {s:.3f} s: sooner than wave {wave} allows"
        assert s <= wave * service_s * 1.15 + SLACK_S, f"answer {k} after {s:.3f} s: later than wave {wave}"


def test_requests_beyond_the_slots_wait_in_waves_and_none_fails(target: str) -> None:
    slots, ms, n = 4, 200, 10
    results = at_once(n, get(f"{target}/capacity/{slots}/{ms}"))
    assert [r.get("status") for r in results] == [200] * n, results
    assert_waves([r["seconds"] for r in results], slots, ms / 1000)
    assert max(r["seconds"] for r in results) >= math.ceil(n / slots) * ms / 1000 - 0.002
    # the header and the body say how long each waited: 0 for the first wave, about k × T for wave k + 1
    queues = sorted(r["queue_ms"] for r in results)
    assert queues[:slots] == pytest.approx([0] * slots, abs=SLACK_S * 1000)
    assert queues[-1] == pytest.approx((math.ceil(n / slots) - 1) * ms, rel=0.15, abs=SLACK_S * 1000)
    doc = requests.get(f"{target}/capacity/{slots}/{ms}", timeout=10).json()
    assert doc["slots"] == slots and doc["service_ms"] == ms
    assert doc["held_ms"] >= ms and doc["held_ms"] < ms * 1.15 + SLACK_S * 1000


def test_a_long_queue_is_served_in_order_without_failures(target: str) -> None:
    slots, ms, n = 8, 10, 120
    results = at_once(n, get(f"{target}/capacity/{slots}/{ms}"))
    assert [r.get("status") for r in results] == [200] * n, [r for r in results if r.get("status") != 200][:3]
    # 120 requests on 8 slots of 10 ms: 15 waves, so never sooner than 150 ms
    assert max(r["seconds"] for r in results) >= math.ceil(n / slots) * ms / 1000 - 0.002


def test_the_command_lines_pool_is_the_named_one(target: str) -> None:
    slots, ms = DEFAULT_POOL
    # two requests to /capacity and two to /capacity/2/100 share one pool of 2 slots: two waves
    urls = [f"{target}/capacity", f"{target}/capacity/{slots}/{ms}"] * 2
    results = at_once(4, lambda i: get(urls[i])(i))
    assert [r.get("status") for r in results] == [200] * 4, results
    assert_waves([r["seconds"] for r in results], slots, ms / 1000)
    doc = requests.get(f"{target}/capacity", timeout=10).json()
    assert (doc["slots"], doc["service_ms"]) == DEFAULT_POOL


def first_token(url: str, chat: bool) -> Callable[[int], dict]:
    """A streamed request: the instant of its first content token, and whether it ended with [DONE]."""
    def call(_: int) -> dict:
        body = {"model": "m", "stream": True}
        body.update({"messages": [{"role": "user", "content": "hi"}]} if chat else {"prompt": "hi"})
        ttft = None
        done = False
        with requests.post(url, json=body, stream=True, timeout=30) as r:
            status = r.status_code
            for line in r.iter_lines():
                if ttft is None and (b'"content":"tok' in line or b'"text":"tok' in line):
                    ttft = time.perf_counter()
                done = done or line == b"data: [DONE]"
        return {"status": status, "ttft": ttft, "done": done}

    return call


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
def test_the_streamed_first_token_waits_for_a_slot(target: str, path: str) -> None:
    service_s = (LLM["ttft_ms"] + (LLM["tokens"] - 1) * LLM["itl_ms"]) / 1000
    n = 6
    results = at_once(n, first_token(target + path, path.endswith("chat/completions")))
    assert [(r.get("status"), r.get("done")) for r in results] == [(200, True)] * n, results
    ttfts = sorted(r["ttft"] for r in results)
    for k, ttft in enumerate(ttfts):
        # wave w (0-based) gets its slots after w services, then its first token ttft_ms later
        expected = (k // LLM["slots"]) * service_s + LLM["ttft_ms"] / 1000
        assert ttft >= expected - 0.002, f"first token {k} after {ttft:.3f} s: sooner than {expected:.3f}"
        assert ttft <= expected * 1.15 + SLACK_S, f"first token {k} after {ttft:.3f} s: later than {expected:.3f}"


def test_answers_that_are_not_streamed_wait_too_and_the_rest_still_works(target: str) -> None:
    service_s = (LLM["ttft_ms"] + (LLM["tokens"] - 1) * LLM["itl_ms"]) / 1000

    def call(_: int) -> dict:
        r = requests.post(target + "/v1/completions", json={"model": "m", "prompt": "hi"}, timeout=30)
        return {"status": r.status_code, "tokens": r.json()["usage"]["completion_tokens"]}

    results = at_once(4, call)
    assert [(r.get("status"), r.get("tokens")) for r in results] == [(200, LLM["tokens"])] * 4, results
    assert_waves([r["seconds"] for r in results], LLM["slots"], service_s)
    assert requests.get(target + "/v1/models", timeout=10).json()["data"][0]["id"] == "rlocust-mock"
    assert requests.get(target + "/health", timeout=10).status_code == 200
    assert requests.get(target + "/hello", timeout=10).text == "Hello!"


@pytest.mark.parametrize("path, starts", [
    ("/capacity/0/25", "slots: expected a whole number from 1 to 10000, got \"0\""),
    ("/capacity/10001/25", "slots: "),
    ("/capacity/x/25", "slots: "),
    ("/capacity/1.5/25", "slots: "),
    ("/capacity/-1/25", "slots: "),
    ("/capacity/8/0", "service_ms: expected a number above 0 up to 600000, got \"0\""),
    ("/capacity/8/-5", "service_ms: "),
    ("/capacity/8/nan", "service_ms: "),
    ("/capacity/8/inf", "service_ms: "),
    ("/capacity/8/1e300", "service_ms: "),
    ("/capacity/8/600001", "service_ms: "),
    ("/capacity/8/abc", "service_ms: "),
])
def test_bad_path_numbers_get_400_and_one_line(target: str, path: str, starts: str) -> None:
    r = requests.get(target + path, timeout=10)
    assert r.status_code == 400, r.text
    assert r.text.startswith(starts), r.text
    assert len(r.text.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["--llm-slots", "-1"], ["--llm-slots", "2.5"], ["--capacity-slots", "0"],
                                  ["--capacity-service-ms", "0"], ["--capacity-service-ms", "nan"]])
def test_bad_options_are_refused_with_one_line(args: list[str]) -> None:
    program = binary("RLOCUST_TARGET_BIN", ROOT / "target/release/rlocust-target")
    r = subprocess.run([program, *args, "--max-seconds", "5"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.startswith(f"rlocust-target: bad argument: {args[0]}"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""


def test_the_number_of_pools_is_bounded() -> None:
    proc, url = start_target(120, ["--capacity-slots", "3", "--capacity-service-ms", "1"])
    try:
        with requests.Session() as s:
            # 64 pools of 1 slot, 1 to 64 µs of service
            for k in range(1, 65):
                r = s.get(f"{url}/capacity/1/{k / 1000}", timeout=10)
                assert r.status_code == 200, (k, r.text)
            r = s.get(f"{url}/capacity/1/0.065", timeout=10)
            assert r.status_code == 503
            assert r.text.startswith("capacity: 64 pools already exist"), r.text
            assert len(r.text.strip().splitlines()) == 1
            # the pools made are still served, and so is the command line's (made past the bound)
            assert s.get(f"{url}/capacity/1/0.001", timeout=10).status_code == 200
            assert s.get(f"{url}/capacity/1/0.0010004", timeout=10).status_code == 200  # the same µs: that pool
            assert s.get(f"{url}/capacity", timeout=10).json()["slots"] == 3
            assert s.get(f"{url}/capacity/3/1", timeout=10).status_code == 200
    finally:
        proc.kill()
        proc.wait()
