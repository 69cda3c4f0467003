#!/usr/bin/env python3
"""rlocust-target's servers of known capacity, saturated: achieved against true throughput (issue 52, item 6).

    python3 bench/capacity_target.py [--pools 8x25,4x50,16x10,1x5] [--clients-per-slot 6] [--seconds 10]
                                     [--warmup 2] [--rounds 1] [--llm 8x20x5x32] [--target PATH]

For each pool SxT (S slots, T ms of service), `/capacity/S/T` is saturated by S × --clients-per-slot asyncio
clients, each on its own keep-alive connection sending its next request as soon as the last one is answered, so the
pool's queue never empties. The achieved throughput is the least-squares slope of the completions counted against
their instants over --seconds after a --warmup (a plain count over the window would be off by up to S completions
at its edges, since a saturated pool answers in waves of S); the true throughput is S / T × 1000 per second. The
server's own `held_ms` (grant to release) and the answers' `queue_ms` are averaged too.

Then the timer's grain, one request at a time with no queue: the response time of `/capacity/10000/T` (the slot
given back by the target's precise timer) against `/v1/completions?ttft_ms=T&tokens=1` (answered after a plain
tokio sleep, whose 1 ms grain the capacity pools avoid).

With --llm SxTTFTxITLxTOKENS (a second target started with `--llm-slots S`), the streamed server is saturated
the same way (non-streamed `/v1/completions`, the same slot hold): true throughput S × 1000 / (TTFT + (TOKENS - 1)
× ITL) per second.

Every process is bounded in time (the targets stop by themselves) and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_target(program: str, args: list[str], max_seconds: float) -> tuple[subprocess.Popen, int]:
    """rlocust-target on a free loopback port (it stops by itself after `max_seconds`)."""
    proc = subprocess.Popen([program, "--port", "0", "--max-seconds", str(max_seconds), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on http://127.0.0.1:" not in line:
        proc.kill()
        sys.exit(f"rlocust-target did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    """One request on a keep-alive connection: (status, body)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    return status, body


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    extra = b"Content-Type: application/json\r\n" if body else b""
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n".encode()
            + extra + b"\r\n" + body)


async def saturate(port: int, request: bytes, clients: int, warmup: float, seconds: float) -> dict:
    """`clients` closed-loop clients for warmup + seconds; completions counted in the measured window."""
    start = time.monotonic()
    w0, w1 = start + warmup, start + warmup + seconds
    done: list[float] = []
    held: list[float] = []
    queued: list[float] = []
    failed = 0

    async def client() -> None:
        nonlocal failed
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < w1:
                status, body = await exchange(reader, writer, request)
                now = time.monotonic()
                if status != 200:
                    failed += 1
                elif w0 <= now < w1:
                    done.append(now)
                    if b"held_ms" in body[:200]:
                        doc = json.loads(body)
                        held.append(doc["held_ms"])
                        queued.append(doc["queue_ms"])
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(clients))), timeout=warmup + seconds + 120)
    return {"achieved": slope(sorted(done)), "count_rate": len(done) / seconds, "failed": failed,
            "held_ms": statistics.fmean(held) if held else None, "queue_ms": statistics.fmean(queued) if queued else None}


def slope(times: list[float]) -> float:
    """Completions per second: the least-squares slope of the running count against the completion instants."""
    if len(times) < 2:
        return 0.0
    n = len(times)
    mt, mi = statistics.fmean(times), (n - 1) / 2
    cov = sum((t - mt) * (i - mi) for i, t in enumerate(times))
    var = sum((t - mt) ** 2 for t in times)
    return cov / var if var else 0.0


async def one_at_a_time(port: int, request: bytes, count: int) -> float:
    """The mean response time (ms) of `count` requests in a row on one connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    times = []
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            status, _ = await exchange(reader, writer, request)
            times.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                sys.exit(f"unexpected status {status}")
    finally:
        writer.close()
    return statistics.fmean(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pools", default="8x25,4x50,16x10,1x5")
    ap.add_argument("--clients-per-slot", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--llm", default="8x20x5x32", help="SxTTFTxITLxTOKENS, or '' to skip")
    ap.add_argument("--target", default=str(REPO / "target/release/rlocust-target"))
    a = ap.parse_args()
    pools = [tuple(float(x) for x in p.split("x")) for p in a.pools.split(",") if p]
    per_run = a.warmup + a.seconds + 5
    budget = (len(pools) * a.rounds + 2) * per_run + 120

    proc, port = start_target(a.target, [], budget)
    try:
        print("| pool | clients | true /s | achieved /s (slope) | achieved / true | count / window | mean held ms "
              "| mean queue ms | failed |")
        print("|---|---|---|---|---|---|---|---|---|")
        for _ in range(a.rounds):
            for slots, ms in pools:
                true = slots / ms * 1000
                req = http_request("GET", f"/capacity/{int(slots)}/{ms:g}")
                r = asyncio.run(saturate(port, req, int(slots) * a.clients_per_slot, a.warmup, a.seconds))
                held = f"{r['held_ms']:.3f}" if r["held_ms"] is not None else "-"
                queue = f"{r['queue_ms']:.2f}" if r["queue_ms"] is not None else "-"
                print(f"| {int(slots)} x {ms:g} ms | {int(slots) * a.clients_per_slot} | {true:.1f} | "
                      f"{r['achieved']:.1f} | {r['achieved'] / true:.4f} | {r['count_rate']:.1f} | {held} | {queue} | "
                      f"{r['failed']} |", flush=True)
        print()
        print("| one request at a time, no queue (200 in a row) | mean response ms |")
        print("|---|---|")
        for ms in (25, 5):
            cap = asyncio.run(one_at_a_time(port, http_request("GET", f"/capacity/10000/{ms}"), 200))
            body = b'{"model": "m", "prompt": "x"}'
            tok = asyncio.run(one_at_a_time(port, http_request("POST", f"/v1/completions?ttft_ms={ms}&tokens=1", body),
                                            200))
            print(f"| /capacity/10000/{ms} (precise timer) | {cap:.3f} |")
            print(f"| /v1/completions?ttft_ms={ms}&tokens=1 (tokio sleep) | {tok:.3f} |", flush=True)
    finally:
        proc.kill()
        proc.wait()

    if a.llm:
        slots, ttft, itl, tokens = (float(x) for x in a.llm.split("x"))
        service = ttft + (tokens - 1) * itl
        true = slots / service * 1000
        proc, port = start_target(a.target, ["--llm-slots", str(int(slots)), "--llm-ttft-ms", f"{ttft:g}",
                                             "--llm-itl-ms", f"{itl:g}", "--llm-tokens", str(int(tokens))],
                                  a.rounds * per_run + 60)
        try:
            print()
            print("| streamed server (--llm-slots) | true /s | achieved /s (slope) | achieved / true | count / window "
                  "| failed |")
            print("|---|---|---|---|---|---|")
            body = b'{"model": "m", "prompt": "x"}'
            for _ in range(a.rounds):
                r = asyncio.run(saturate(port, http_request("POST", "/v1/completions", body),
                                         int(slots) * a.clients_per_slot, a.warmup, a.seconds))
                print(f"| {int(slots)} slots, {ttft:g} + ({int(tokens)} - 1) x {itl:g} = {service:g} ms | {true:.2f} | "
                      f"{r['achieved']:.2f} | {r['achieved'] / true:.4f} | {r['count_rate']:.2f} | {r['failed']} |",
                      flush=True)
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
