#!/usr/bin/env python3
"""Stream timings against the wire (issue 53, item 5): rlocust's `ttft` and `itl` for HTTP/2 streams (`--http2`
against `rlocust-target --h2c`), for `AsyncOpenAI` streams in `async def` tasks (rlocust's httpx transport) and, for
reference, for HttpUser `stream=True` over HTTP/1.1, each compared with the same streams read off a tcpdump capture
of the loopback interface.

    python3 bench/stream_wire.py [--users 20] [--busy 2] [--seconds 10] [--only h2c|openai|http1]

The server streams OpenAI-style chat completions: the first token 120 ms after the request, then one every 20 ms,
16 tokens. `--busy` more users spin the Python thread 5 ms at a time, so the interpreter is loaded while the streams
arrive. From the capture (`tcpdump -i lo --time-stamp-precision=nano`, the packets' kernel stamps), per stream: the
request sent (the packet that carried its last byte; over HTTP/2 the frame with END_STREAM) to the packet that
completed its first content event (ttft), and the gaps between the packets that completed its content events (itl).
The run stops with `--stop-timeout 5`, so every stream
the capture saw ends and is recorded (over HTTP/2 a stream cut short records nothing). Printed per scenario: the
streams counted, the mean and the p50 / p90 / p99 of both, and their differences (rlocust's
percentiles are HDR bucket bounds: within 0.1 % of the value). Needs root (tcpdump) and the release binaries;
`AIO_SITE` (default .aio-site) holds openai for the AsyncOpenAI case. All traffic stays on 127.0.0.1, every process
is bounded in time and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TTFT_MS, ITL_MS, TOKENS = 120, 20, 16
CONTENT = (b'"content":"t', b'"text":"t')  # the target's content chunks ("tok "); its role chunk's content is ""

BUSY = """
class Busy(User):
    weight = {busy}
    wait_time = constant(0)

    @task
    def spin(self):
        end = time.perf_counter() + 0.005
        while time.perf_counter() < end:
            pass
        time.sleep(0.001)
"""

LOCUSTFILES = {
    "h2c": """
import time
from locust import HttpUser, User, constant, task

BODY = {{"model": "m", "stream": True, "max_tokens": %(tokens)d, "messages": [{{"role": "user", "content": "hi"}}]}}


class Streamer(HttpUser):
    weight = {users}
    wait_time = constant(0.1)
    http2 = True

    @task
    def chat(self):
        r = self.client.post("/v1/chat/completions", json=BODY, stream=True, name="chat")
        for _ in r.iter_lines():
            pass
""",
    "http1": """
import time
from locust import HttpUser, User, constant, task

BODY = {{"model": "m", "stream": True, "max_tokens": %(tokens)d, "messages": [{{"role": "user", "content": "hi"}}]}}


class Streamer(HttpUser):
    weight = {users}
    wait_time = constant(0.1)

    @task
    def chat(self):
        r = self.client.post("/v1/chat/completions", json=BODY, stream=True, name="chat")
        for _ in r.iter_lines():
            pass
""",
    "openai": """
import time
from openai import AsyncOpenAI
from locust import User, constant, task


class Streamer(User):
    weight = {users}
    wait_time = constant(0.1)

    async def on_start(self):
        self.openai = AsyncOpenAI(base_url=self.host + "/v1", api_key="x", max_retries=0)

    @task
    async def chat(self):
        stream = await self.openai.chat.completions.create(
            model="m", messages=[{{"role": "user", "content": "hi"}}], max_tokens=%(tokens)d, stream=True)
        async for _ in stream:
            pass
""",
}
NAMES = {"h2c": "chat", "http1": "chat", "openai": "/v1/chat/completions"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the capture ---------------------------------------------------------------------------------------------------


def packets(path: Path):
    """(time, source port, destination port, seq, payload) of each IPv4 TCP packet of a pcap file."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    nano = magic == 0xA1B23C4D
    link = struct.unpack("<I", data[20:24])[0]
    skip = {1: 14, 113: 16, 276: 20}.get(link, 0)
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        ip = pkt[skip:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:total]
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        payload = tcp[(tcp[12] >> 4) * 4:]
        yield sec + frac / (1e9 if nano else 1e6), sport, dport, seq, payload


def flows(path: Path, server: int):
    """Per connection (client port): its packets with payload in capture order, duplicates left out:
    [(time, to_server, payload)]."""
    conns: dict[int, list] = {}
    expect: dict[tuple, int] = {}
    for t, sport, dport, seq, payload in packets(path):
        if not payload or server not in (sport, dport):
            continue
        key = (sport, dport)
        nxt = expect.get(key)
        if nxt is not None and (seq - nxt) % (1 << 32) > (1 << 31):
            continue  # a retransmission
        expect[key] = (seq + len(payload)) % (1 << 32)
        client = sport if dport == server else dport
        conns.setdefault(client, []).append((t, dport == server, payload))
    return conns


def h1_streams(conn):
    """One HTTP/1.1 connection's streams: (sent, [content event times])."""
    streams = []
    sent = None
    events: list = []
    buf = b""
    for t, up, payload in conn:
        if up:
            if payload.startswith(b"POST ") and sent is not None and events is not None:
                streams.append((sent, events))
                events, buf = [], b""
            sent = t
            continue
        buf += payload
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            if any(m in event for m in CONTENT):
                events.append(t)
    if sent is not None:
        streams.append((sent, events))
    return [(s, e) for s, e in streams if e]


def h2_frames(chunks, preface):
    """HTTP/2 frames completed in one direction: (time, type, flags, stream, payload)."""
    buf = b""
    skip = preface
    for t, payload in chunks:
        if skip:
            n = min(skip, len(payload))
            payload, skip = payload[n:], skip - n
        buf += payload
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            kind, flags = buf[3], buf[4]
            sid = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            yield t, kind, flags, sid, buf[9:9 + length]
            buf = buf[9 + length:]


def h2_streams(conn):
    """One HTTP/2 connection's streams: (sent, [content event times])."""
    sent, events, sse = {}, {}, {}
    for t, kind, flags, sid, _ in h2_frames([(t, p) for t, up, p in conn if up], 24):
        if kind in (0, 1) and flags & 1:
            sent[sid] = t
    for t, kind, _, sid, payload in h2_frames([(t, p) for t, up, p in conn if not up], 0):
        if kind != 0:
            continue
        buf = sse.get(sid, b"") + payload
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            if any(m in event for m in CONTENT):
                events.setdefault(sid, []).append(t)
        sse[sid] = buf
    return [(sent[s], e) for s, e in events.items() if s in sent]


def wire_values(pcap: Path, server: int, h2: bool):
    ttft, itl = [], []
    for conn in flows(pcap, server).values():
        for sent, events in (h2_streams(conn) if h2 else h1_streams(conn)):
            ttft.append((events[0] - sent) * 1000)
            itl.extend((b - a) * 1000 for a, b in zip(events, events[1:], strict=False))
    return ttft, itl


def pct(values, p):
    """Locust's (and rlocust's) rank rule: the 0-based rank int(n * p), at most n - 1."""
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


# ---- one scenario --------------------------------------------------------------------------------------------------


def scenario(case, args, tmp: Path):
    port = free_port()
    target = [args.target, "--port", str(port), "--max-seconds", str(args.seconds + 60), "--llm-ttft-ms",
              str(TTFT_MS), "--llm-itl-ms", str(ITL_MS), "--llm-tokens", str(TOKENS)]
    if case == "h2c":
        target.append("--h2c")
    server = subprocess.Popen(target, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    pcap = tmp / f"{case}.pcap"
    dump = None
    try:
        if b"listening" not in server.stdout.readline():
            raise SystemExit("rlocust-target did not start")
        dump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-s", "0", "--time-stamp-precision=nano", "-B", "16384",
                                 "-w", str(pcap), f"tcp port {port}"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        time.sleep(1.0)  # (tcpdump listening)
        locustfile = tmp / f"bench_{case}.py"
        source = LOCUSTFILES[case].format(users=args.users) % {"tokens": TOKENS}
        if args.busy:
            source += BUSY.format(busy=args.busy)
        locustfile.write_text(source)
        summary = tmp / f"{case}.json"
        env = dict(os.environ, PYTHONPATH=str(args.aio_site), OPENAI_API_KEY="x")
        cmd = [args.rlocust, "-f", str(locustfile), "--headless", "-H", f"http://127.0.0.1:{port}", "-u",
               str(args.users + args.busy), "-r", str(args.users + args.busy), "-t", f"{args.seconds}s",
               "--stop-timeout", "5", "--summary-json", str(summary), "--only-summary"]
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.seconds + 60)
        if run.returncode not in (0, 1) or not summary.exists():
            raise SystemExit(f"{case}: rlocust exited {run.returncode}: {run.stderr[-2000:]}")
        time.sleep(0.5)
    finally:
        if dump is not None:
            dump.send_signal(signal.SIGINT)
            dump.wait(timeout=10)
        server.kill()
        server.wait()
    metrics = {(m["metric"], m["name"]): m for m in json.loads(summary.read_text())["metrics"]}
    ttft, itl = wire_values(pcap, port, case == "h2c")
    return metrics, ttft, itl


def row(label, wire, ours):
    cells = [f"{label:5}", f"{len(wire):6d} {int(ours['count']):6d}",
             f"{sum(wire) / max(1, len(wire)):8.3f} {ours['avg']:8.3f}"]
    for p in (50, 90, 99):
        w, o = pct(wire, p), float(ours["percentiles"][str(p)])
        cells.append(f"{w:8.3f} {o:8.3f} ({o - w:+.3f})")
    return "  ".join(cells)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--busy", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--only", choices=sorted(LOCUSTFILES))
    ap.add_argument("--rlocust", default=str(REPO / "target/release/rlocust"))
    ap.add_argument("--target", default=str(REPO / "target/release/rlocust-target"))
    ap.add_argument("--aio-site", default=os.environ.get("AIO_SITE", str(REPO / ".aio-site")))
    args = ap.parse_args()
    if shutil.which("tcpdump") is None:
        sys.exit("tcpdump is needed (apt-get install tcpdump)")
    print(f"{args.users} streaming users + {args.busy} busy, {args.seconds} s; schedule {TTFT_MS} ms + "
          f"{TOKENS - 1} x {ITL_MS} ms. Columns: streams/gaps (wire, rlocust), mean, p50, p90, p99 in ms "
          "(wire, rlocust (rlocust - wire))")
    with tempfile.TemporaryDirectory(prefix="stream-wire-") as d:
        for case in [args.only] if args.only else ["h2c", "openai", "http1"]:
            metrics, ttft, itl = scenario(case, args, Path(d))
            name = NAMES[case]
            print(f"== {case}")
            print(row("ttft", ttft, metrics[("ttft", name)]))
            print(row("itl", itl, metrics[("itl", name)]))


if __name__ == "__main__":
    main()
