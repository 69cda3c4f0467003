"""Reads a tcpdump capture of loopback (pcap, Ethernet or Linux cooked framing, IPv4/TCP) into the TTFT of each
streamed HTTP exchange as the wire saw it: from the client's last request packet to the server's packet that
completed its first content event (an SSE event with a non-empty `"content"`). Used by test_llama_server.py to judge
rlocust's `ttft` against tcpdump's timestamps rather than the server's own. Test-only; parses, never captures."""

from __future__ import annotations

import re
import struct
from pathlib import Path

# the first chunk of an OpenAI-style chat stream that carries generated text (json.dumps' spacing or none)
CONTENT = re.compile(rb'"content": ?"[^"]')


def packets(path: Path):
    """(time in seconds, source port, destination port, payload) of every TCP packet with a payload."""
    data = path.read_bytes()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    link_header = {1: 14, 113: 16}.get(linktype)
    if link_header is None:
        raise ValueError(f"{path}: link type {linktype} is not Ethernet or Linux cooked")
    offset = 24
    while offset + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        ip = frame[link_header:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[(ip[0] & 15) * 4:total]
        sport, dport = struct.unpack("!HH", tcp[:4])
        payload = tcp[(tcp[12] >> 4) * 4:]
        if payload:
            yield sec + frac / (1e9 if nano else 1e6), sport, dport, payload


def stream_ttfts(path: Path, server_port: int) -> list[float]:
    """The wire TTFT (ms) of every exchange whose answer is an event stream with a content event."""
    exchanges: dict[int, list] = {}  # client port -> [request end, answer bytes, answer packet ends and times]
    done: list[float] = []

    def close(state):
        if state and state[1].startswith(b"HTTP/1.1 200") and b"text/event-stream" in state[1][:2048]:
            found = CONTENT.search(state[1])
            if found:
                # the packet that completed that event: the first whose end passes the event's end ("\n\n")
                end = state[1].find(b"\n\n", found.end())
                end = found.end() if end < 0 else end + 2
                arrival = next(t for stop, t in state[2] if stop >= end)
                done.append((arrival - state[0]) * 1000)

    for t, sport, dport, payload in packets(path):
        if dport == server_port:  # the client writes: a new exchange once the last one had an answer
            state = exchanges.get(sport)
            if state is None or state[1]:
                close(state)
                exchanges[sport] = [t, b"", []]
            else:
                state[0] = t
        elif sport == server_port and dport in exchanges:
            state = exchanges[dport]
            state[1] += payload
            state[2].append((len(state[1]), t))
    for state in exchanges.values():
        close(state)
    return done
