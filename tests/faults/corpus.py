"""Generated raw HTTP responses for the fault scenarios: well-formed seeds and deterministic mutations of them.

`cases(seed, count)` gives the same list for the same arguments on every machine. Each case is raw bytes the
fault server writes verbatim (then it closes the connection) at `/raw/<index>`. The mutations aim at the places
where parsers differ: the status line, header syntax, framing headers, chunk syntax, line endings, truncation.
"""
from __future__ import annotations

import gzip
import random
import zlib


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # no timestamp: the same bytes on every run

SEEDS = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nclose-delimited body",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_gzip(b"compressed hello")), _gzip(b"compressed hello")),
    b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s"
    % (len(zlib.compress(b"deflated hello")), zlib.compress(b"deflated hello")),
    b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 301 Moved Permanently\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Empty:\r\nX-Spaces:   padded   \r\nContent-Length: 3\r\n\r\nabc",
]

# Replacements aimed at syntax: (what, with).
SWAPS = [
    (b"\r\n", b"\n"), (b"\r\n", b"\r"), (b"HTTP/1.1", b"HTTP/1.2"), (b"HTTP/1.1", b"HTTP/2.0"),
    (b"HTTP/1.1", b"http/1.1"), (b"HTTP/1.1", b"HTTP/1"), (b"HTTP/1.1", b"ICE/1.0"), (b" OK", b""),
    (b" 200 ", b" 20 "), (b" 200 ", b" 2000 "), (b" 200 ", b"  200 "), (b" 200 ", b" 099 "),
    (b"Content-Length", b"Content-Length "), (b"Content-Length: ", b"Content-Length: +"),
    (b"Content-Length: ", b"Content-Length: -"), (b"Content-Length: ", b"Content-Length:  "),
    (b"Content-Length: 5", b"Content-Length: 5, 5"), (b"Content-Length: 5", b"Content-Length: 5, 6"),
    (b"Content-Length: 5", b"Content-Length: 3"), (b"Content-Length: 5", b"Content-Length: 50"),
    (b"Content-Length: 5", b"Content-Length: 0x5"), (b"Content-Length: 5", b"Content-Length: 18446744073709551616"),
    (b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip, chunked"),
    (b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked, gzip"),
    (b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity"),
    (b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked\r\nContent-Length: 3"),
    (b"Transfer-Encoding: chunked", b"Transfer-Encoding:chunked"), (b"5\r\nhello", b"6\r\nhello"),
    (b"5\r\nhello", b"4\r\nhello"), (b"5\r\nhello", b"5 \r\nhello"), (b"5\r\nhello", b" 5\r\nhello"),
    (b"5\r\nhello", b"-5\r\nhello"), (b"5\r\nhello", b"0x5\r\nhello"), (b"5\r\nhello", b"5\nhello"),
    (b"hello\r\n", b"hello\n"), (b"0\r\n\r\n", b"0\r\n"), (b"0\r\n\r\n", b"00\r\n\r\n"),
    (b"Content-Type: ", b"Content-Type : "), (b"Content-Type: ", b" Content-Type: "),
    (b"Content-Type: ", b"Content\x01Type: "), (b"text/plain", b"text/\x7fplain"), (b"text/plain", b"text/pl\x00ain"),
    (b"Content-Encoding: gzip", b"Content-Encoding: br"), (b"Content-Encoding: gzip", b"Content-Encoding: GZIP"),
    (b"Content-Encoding: gzip", b"Content-Encoding: deflate"), (b"Content-Encoding: deflate", b"Content-Encoding: gzip"),
    (b"Content-Encoding: gzip", b"Content-Encoding: gzip, gzip"), (b"Content-Encoding: gzip", b"Content-Encoding: identity"),
    (b"OK\r\n", b"OK\r\nConnection: close\r\n"), (b"OK\r\n", b"OK\r\nConnection: keep-alive\r\n"),
    (b"OK\r\n", b"OK\r\n\tfolded\r\n"), (b"OK\r\n", b"OK\r\nNoColonHere\r\n"), (b"OK\r\n", b"OK\r\n: novalue\r\n"),
    (b"\r\n\r\n", b"\r\n \r\n\r\n"), (b"\r\n\r\n", b"\r\n\r\n\r\n"),
]


def _truncations(raw: bytes, rng: random.Random) -> list[bytes]:
    points = sorted({0, 1, 8, 12, len(raw) // 2, len(raw) - 1, rng.randrange(1, len(raw))})
    return [raw[:p] for p in points if 0 <= p < len(raw)]


def cases(seed: int = 1, count: int = 400) -> list[bytes]:
    """`count` raw responses: every seed, every applicable swap of every seed, truncations, random byte edits."""
    rng = random.Random(seed)
    out: list[bytes] = []
    seen: set[bytes] = set()

    def add(raw: bytes):
        if raw not in seen:
            seen.add(raw)
            out.append(raw)

    for s in SEEDS:
        add(s)
    for s in SEEDS:
        for what, repl in SWAPS:
            if what in s:
                add(s.replace(what, repl, 1))
                if s.count(what) > 1:
                    add(s.replace(what, repl))
    for s in SEEDS:
        for t in _truncations(s, rng):
            add(t)
    alphabet = b"\r\n :;,-+0159aAfFxX\t\x00\x7f\xff"
    while len(out) < count:
        s = bytearray(rng.choice(SEEDS))
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(3)
            i = rng.randrange(len(s))
            if op == 0:
                s[i] = rng.choice(alphabet)
            elif op == 1:
                del s[i]
            else:
                s.insert(i, rng.choice(alphabet))
        add(bytes(s))
    return out[:count] if len(out) > count else out
