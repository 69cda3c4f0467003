"""Ground truth for the HttpUser response reader (`src/http/wire/pyhttp/`): what real Locust records.

    .venv-oracle/bin/python tests/faults/oracle_outcomes.py [--out tests/faults/expected_requests.json]

Runs under the oracle environment (Locust 2.47.0, requests, urllib3, CPython's http.client). It starts the
fault server in-process, serves every raw response (the generated corpus of `corpus.py`, the bytes of the
fault server's modes that are about reading a response, and the hand-written cases in EXTRA below) at
`/raw/<i>`, requests each once through Locust's own `HttpSession` (so Locust's unwrapping of exceptions
applies), and writes one JSON object per case:

    {"name", "raw" (base64; "raw_zlib", base64 of the zlib-compressed bytes, when longer than 4 KiB),
     "method", "error" (what Locust reports, object addresses masked, or null),
     "http_error" (true when the error is Locust's HTTPError for a status >= 400: the read itself succeeded),
     "chain" (for a failed read: the exception requests raised and its `__context__` chain, [class, repr] each),
     "status", "len" (response_length as Locust records it),
     and for a read that succeeded: "body_b64" (the decoded body; "body_sha256", its hex SHA-256, when longer
     than 4 KiB), "reason", "version",
     "headers" (the (name, value) pairs of http.client's message, as urllib3 leaves them)}
or, when the exception is not one of requests' (so it escapes HttpSession and Locust records no request):
    {"name", "raw", "method", "raised" (its repr)}

The output is deterministic: the corpus' gzip seeds are made with mtime 0 here (gzip.compress is patched
before corpus.py is imported), the cases keep their order, and keys are sorted. Each case gets a fresh
session (the fault server closes every connection after one response: a pooled connection could race it).
The timing-based modes (trickle, stall, silent, endless) and the resets are not here: the Rust tests cover
timeouts and socket errors with the texts measured under Locust.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import sys
import zlib

import locust  # noqa: F401  (first: Locust patches the standard library with gevent on import)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

_gzip_compress = gzip.compress


def _deterministic_gzip(data, compresslevel=9, *, mtime=0):
    return _gzip_compress(data, compresslevel, mtime=mtime)


gzip.compress = _deterministic_gzip

import faultserver  # noqa: E402
import requests  # noqa: E402

from locust.clients import HttpSession  # noqa: E402
from locust.event import EventHook  # noqa: E402
from locust.stats import StatsError  # noqa: E402

# Fault server modes whose whole response is a fixed byte string (no timing, no reset).
MODES = [
    "/many-headers", "/huge-header", "/informational-flood", "/big-body",
    "/ok", "/chunk-size-overflow", "/chunk-size-overflow2", "/chunk-size-invalid", "/chunk-incomplete",
    "/chunk-no-terminator", "/gzip-invalid", "/gzip-truncated", "/gzip-ok", "/deflate-invalid",
    "/content-length-huge", "/content-length-conflict", "/content-length-same-twice",
    "/content-length-negative", "/content-length-invalid", "/lf-only", "/incomplete-body",
    "/close-before-response", "/bad-status-line", "/bad-status-code", "/http09", "/bad-header-line",
    "/informational-few", "/no-framing", "/http10", "/content-length-too-long-body", "/status-999",
    "/status-no-reason", "/redirect-loop",
]


def _h(status=b"200 OK", headers=(), body=b""):
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def _cl(body, *extra):
    return _h(headers=(b"Content-Length: %d" % len(body),) + extra, body=body)


def _chunked(*chunks, trailer=b"0\r\n\r\n", extra=()):
    return _h(headers=(b"Transfer-Encoding: chunked",) + extra,
              body=b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + trailer)


def _enc(encoding, data, *extra):
    return _cl(data, b"Content-Encoding: " + encoding, *extra)


def _raw_deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


_TEXT = b"".join(b"line %d of a longer body that compresses\n" % i for i in range(2000))
_ZTEXT = zlib.compress(_TEXT)
_GTEXT = gzip.compress(_TEXT)
_ZHELLO = zlib.compress(b"deflated hello")
_GHELLO = gzip.compress(b"compressed hello")

# Hand-written responses for the places where http.client, email and urllib3 have rules of their own.
EXTRA = [
    # status line
    ("empty-line", b"\r\n\r\n"),
    ("status-no-newline", b"HTTP/1.1 200 OK"),
    ("status-plus", _h(b"+200 OK", (b"Content-Length: 2",), b"ok")),
    ("status-underscore", _h(b"2_00 OK", (b"Content-Length: 2",), b"ok")),
    ("status-nbsp", b"HTTP/1.1\xa0200\xa0OK\r\nContent-Length: 2\r\n\r\nok"),
    ("status-x1c", b"HTTP/1.1\x1c200 OK\x1c\x85\r\nContent-Length: 2\r\n\r\nok"),
    ("status-x1c-int", b"HTTP/1.1 \x1c200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("status-99", _h(b"99 Low", (b"Content-Length: 2",), b"ok")),
    ("status-1000", _h(b"1000 High", (b"Content-Length: 2",), b"ok")),
    ("status-minus", _h(b"-200 OK", (b"Content-Length: 2",), b"ok")),
    ("status-long-digits", _h(b"0" * 5000 + b"200 OK", (b"Content-Length: 2",), b"ok")),
    ("http09-version", b"HTTP/0.9 200 OK\r\n\r\nbody"),
    ("http15-version", b"HTTP/1.5 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("http-slash-only", b"HTTP/ 200 OK\r\n\r\n"),
    ("http2-continue", b"HTTP/2.0 100 Continue\r\n\r\n" + _cl(b"ok")),
    ("continue-then-eof", b"HTTP/1.1 100 Continue\r\n"),
    ("continue-then-close", b"HTTP/1.1 100 Continue\r\n\r\n"),
    ("continue-headers", b"HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\n" + _cl(b"ok")),
    ("status-line-65536", b"HTTP/1.1 200 " + b"R" * (65536 - 15) + b"\r\n" + b"Content-Length: 2\r\n\r\nok"),
    ("status-line-65537", b"HTTP/1.1 200 " + b"R" * (65537 - 15) + b"\r\n" + b"Content-Length: 2\r\n\r\nok"),
    ("status-line-long-eof", b"HTTP/1.1 200 " + b"R" * 70000),
    ("switching-protocols", b"HTTP/1.1 101 Switching Protocols\r\n\r\nxyz"),
    ("processing-102", b"HTTP/1.1 102 Processing\r\n\r\n" + _cl(b"ok")),
    ("no-content-with-body", _h(b"204 No Content", (b"Content-Length: 5",), b"hello")),
    ("not-modified-chunked-eof", _h(b"304 Not Modified", (b"Transfer-Encoding: chunked",))),
    ("no-content-chunked", _h(b"204 No Content", (b"Transfer-Encoding: chunked",), b"0\r\n\r\n")),
    ("informational-1000", b"HTTP/1.1 100 Continue\r\n\r\n" * 1000 + _cl(b"ok")),
    # header block
    ("headers-99", _h(headers=tuple(b"X-H%d: %d" % (i, i) for i in range(98)) + (b"Content-Length: 2",),
                      body=b"ok")),
    ("headers-100", _h(headers=tuple(b"X-H%d: %d" % (i, i) for i in range(99)) + (b"Content-Length: 2",),
                       body=b"ok")),
    ("headers-99-eof", b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(98))
     + b"X-Last: 1"),
    ("headers-98-eof", b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(97))
     + b"X-Last: 1"),
    ("continue-headers-100", b"HTTP/1.1 100 Continue\r\n" + b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(100))
     + b"\r\n" + _cl(b"ok")),
    ("header-line-65536", _h(headers=(b"X-Big: " + b"a" * (65536 - 9), b"Content-Length: 2"), body=b"ok")),
    ("header-line-65537", _h(headers=(b"X-Big: " + b"a" * (65537 - 9), b"Content-Length: 2"), body=b"ok")),
    ("header-line-70000", _h(headers=(b"X-Big: " + b"a" * 70000, b"Content-Length: 2"), body=b"ok")),
    ("many-headers-200", _h(headers=tuple(b"X-H%d: %d" % (i, i) for i in range(200)), body=b"ok")),
    ("folded", _h(headers=(b"X-F: a", b" b", b"\tc", b"Content-Length: 2"), body=b"ok")),
    ("folded-spaces", _h(headers=(b"X-F: a  ", b"  b ", b"X-G:", b" g", b"Content-Length: 2"), body=b"ok")),
    ("folded-lf", b"HTTP/1.1 200 OK\nX-F: a\n b\nContent-Length: 2\n\nok"),
    ("folded-content-length", _h(headers=(b"Content-Length: 2", b" ", b"X-A: 1"), body=b"okEXTRA")),
    ("folded-content-length2", _h(headers=(b"Content-Length: 2", b" 2"), body=b"okEXTRA")),
    ("first-line-continuation", _h(headers=(b" X: y", b"Content-Length: 2"), body=b"ok")),
    ("from-line-first", _h(headers=(b"From nobody", b"Content-Length: 2"), body=b"okEXTRA")),
    ("from-line-middle", _h(headers=(b"X-A: 1", b"From nobody", b" cont", b"Content-Length: 2"), body=b"okEXTRA")),
    ("from-line-last", _h(headers=(b"Content-Length: 2", b"From nobody"), body=b"okEXTRA")),
    ("from-colon", _h(headers=(b"From: me", b"Content-Length: 2"), body=b"okEXTRA")),
    ("colon-first", _h(headers=(b"X-A: 1", b": novalue", b" cont", b"Content-Length: 2"), body=b"okEXTRA")),
    ("bare-cr-splits-header", _h(headers=(b"X-A: 1\rContent-Length: 2",), body=b"okEXTRA")),
    ("cr-cr-lf-ends-headers", _h(headers=(b"X-A: 1\r", b"Content-Length: 2"), body=b"okEXTRA")),
    ("bare-cr-body-line", _h(headers=(b"X-A: 1\rnot a header", b"Content-Length: 2"), body=b"okEXTRA")),
    ("name-trailing-space", _h(headers=(b"Content-Length : 2",), body=b"okEXTRA")),
    ("name-non-ascii", _h(headers=(b"X-\xe9: 1", b"Content-Length: 2"), body=b"okEXTRA")),
    ("value-non-ascii", _h(headers=(b"X-V: caf\xe9 \xff", b"Content-Length: 2"), body=b"ok")),
    ("value-empty", _h(headers=(b"X-E:", b"X-T:\t \t", b"Content-Length: 2"), body=b"ok")),
    ("value-trailing-ws", _h(headers=(b"X-T: a \t", b"Content-Length: 2 "), body=b"ok")),
    ("header-ending-crcr", b"HTTP/1.1 200 OK\r\nX-A: 1\r\r\nContent-Length: 2\r\n\r\nokEXTRA"),
    ("no-blank-line-eof", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"),
    ("keep-alive-10", b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"),
    ("connection-close", _cl(b"ok", b"Connection: close")),
    # Content-Length
    ("cl-list-same", _h(headers=(b"Content-Length: 5, 5",), body=b"hello")),
    ("cl-list-same-longer", _h(headers=(b"Content-Length: 5, 5",), body=b"hello world")),
    ("cl-list-same-shorter", _h(headers=(b"Content-Length: 5, 5",), body=b"hel")),
    ("cl-list-zero", _h(headers=(b"Content-Length: 0, 0",), body=b"abc")),
    ("cl-list-zero-empty", _h(headers=(b"Content-Length: 0, 0",))),
    ("cl-list-conflict", _h(headers=(b"Content-Length: 5, 6",), body=b"hello")),
    ("cl-conflict-bad", _h(headers=(b"Content-Length: 5", b"Content-Length: 6", b"Content-Length: x"), body=b"hello")),
    ("cl-underscore", _h(headers=(b"Content-Length: 1_0",), body=b"0123456789EXTRA")),
    ("cl-nbsp", _h(headers=(b"Content-Length: \xa05\xa0",), body=b"helloEXTRA")),
    ("cl-x85", _h(headers=(b"Content-Length: 5\x85",), body=b"helloEXTRA")),
    ("cl-x1c", _h(headers=(b"Content-Length: 5\x1c",), body=b"helloEXTRA")),
    ("cl-hex", _h(headers=(b"Content-Length: 0x5",), body=b"helloEXTRA")),
    ("cl-minus-zero", _h(headers=(b"Content-Length: -0",), body=b"hello")),
    ("cl-plus", _h(headers=(b"Content-Length: +5",), body=b"helloEXTRA")),
    ("cl-then-invalid", _h(headers=(b"Content-Length: 5", b"Content-Length: abc"), body=b"abc")),
    ("cl-invalid-then-valid", _h(headers=(b"Content-Length: abc", b"Content-Length: 5"), body=b"helloEXTRA")),
    ("cl-5000-digits", _h(headers=(b"Content-Length: " + b"0" * 4999 + b"5",), body=b"helloEXTRA")),
    ("cl-4300-digits", _h(headers=(b"Content-Length: " + b"0" * 4299 + b"5",), body=b"helloEXTRA")),
    ("cl-huge-short", _h(headers=(b"Content-Length: 1" + b"0" * 60,), body=b"abc")),
    ("cl-zero", _h(headers=(b"Content-Length: 0",), body=b"EXTRA")),
    ("cl-large-body", _cl(_TEXT)),
    ("cl-large-body-short", _h(headers=(b"Content-Length: %d" % (len(_TEXT) + 100),), body=_TEXT)),
    ("no-length-large-body", _h(body=_TEXT)),
    # Transfer-Encoding
    ("te-gzip-chunked", _h(headers=(b"Transfer-Encoding: gzip, chunked",), body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("te-chunked-gzip", _h(headers=(b"Transfer-Encoding: chunked, gzip",), body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("te-two-headers", _h(headers=(b"Transfer-Encoding: identity", b"Transfer-Encoding: chunked"),
                          body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("te-uppercase", _h(headers=(b"Transfer-Encoding: CHUNKED",), body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("te-nbsp", _h(headers=(b"Transfer-Encoding: \xa0chunked\xa0",), body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("te-chunked-cl", _h(headers=(b"Transfer-Encoding: chunked", b"Content-Length: 3"), body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("te-chunked-cl-conflict", _h(headers=(b"Transfer-Encoding: chunked", b"Content-Length: 3", b"Content-Length: 4"),
                                  body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("te-chunked-keepalive-10", b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    # chunk syntax
    ("chunk-0x", _h(headers=(b"Transfer-Encoding: chunked",), body=b"0x5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-0x-underscore", _h(headers=(b"Transfer-Encoding: chunked",), body=b"0x_5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-plus", _h(headers=(b"Transfer-Encoding: chunked",), body=b"+5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-minus", _h(headers=(b"Transfer-Encoding: chunked",), body=b"-5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-minus-one", _h(headers=(b"Transfer-Encoding: chunked",), body=b"-1\r\nhello\r\n0\r\n\r\n")),
    ("chunk-minus-zero", _h(headers=(b"Transfer-Encoding: chunked",), body=b"-0\r\n\r\n")),
    ("chunk-underscore", _h(headers=(b"Transfer-Encoding: chunked",), body=b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n")),
    ("chunk-spaces", _h(headers=(b"Transfer-Encoding: chunked",), body=b" 5 \t\r\nhello\r\n0\r\n\r\n")),
    ("chunk-vt", _h(headers=(b"Transfer-Encoding: chunked",), body=b"\x0b5\x0c\r\nhello\r\n0\r\n\r\n")),
    ("chunk-ext-only", _h(headers=(b"Transfer-Encoding: chunked",), body=b";ext\r\nhello\r\n0\r\n\r\n")),
    ("chunk-ext-empty", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5;\r\nhello\r\n0;x=y\r\n\r\n")),
    ("chunk-empty-line", _h(headers=(b"Transfer-Encoding: chunked",), body=b"\r\nhello\r\n0\r\n\r\n")),
    ("chunk-nul", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5\x00\r\nhello\r\n0\r\n\r\n")),
    ("chunk-long-invalid", _h(headers=(b"Transfer-Encoding: chunked",), body=b"z" * 300 + b"\r\nhello\r\n")),
    ("chunk-bad-crlf", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5\r\nhelloXY3\r\nabc\r\n0\r\n\r\n")),
    ("chunk-no-crlf-eof", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5\r\nhello")),
    ("chunk-half-crlf-eof", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5\r\nhello\r")),
    ("chunk-size-eof", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5\r\nhello\r\n5")),
    ("chunk-line-65536", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5;" + b"e" * (65536 - 4) + b"\r\nhello\r\n0\r\n\r\n")),
    ("chunk-line-65537", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5;" + b"e" * (65537 - 4) + b"\r\nhello\r\n0\r\n\r\n")),
    ("trailer-line-65537", _h(headers=(b"Transfer-Encoding: chunked",), body=b"0\r\nX: " + b"t" * 65537 + b"\r\n\r\n")),
    ("trailer-lf-only", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5\r\nhello\r\n0\n\n")),
    ("trailer-eof", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5\r\nhello\r\n0\r\n")),
    ("trailer-fields", _h(headers=(b"Transfer-Encoding: chunked",), body=b"5\r\nhello\r\n0\r\nA: b\r\nC: d\r\n\r\nEXTRA")),
    ("chunk-big", _chunked(_TEXT[:20000])),
    ("chunk-big-cut", _h(headers=(b"Transfer-Encoding: chunked",), body=b"%x\r\n" % 20000 + _TEXT[:15000])),
    ("chunk-10240-cut", _h(headers=(b"Transfer-Encoding: chunked",), body=b"%x\r\n" % 10240 + _TEXT[:10240])),
    ("chunk-10241-cut", _h(headers=(b"Transfer-Encoding: chunked",), body=b"%x\r\n" % 10241 + _TEXT[:10240])),
    ("chunk-huge-hex", _h(headers=(b"Transfer-Encoding: chunked",), body=b"f" * 40 + b"\r\nabc")),
    ("chunk-many", _chunked(*[b"x" * (i % 7 + 1) for i in range(300)])),
    ("head-chunked-eof", _h(headers=(b"Transfer-Encoding: chunked",))),
    # content coding
    ("gzip-multi-member", _enc(b"gzip", gzip.compress(b"one ") + gzip.compress(b"two"))),
    ("gzip-member-at-piece-end", _enc(b"gzip", gzip.compress(b"a" * 10240) + gzip.compress(b"b" * 10))),
    ("gzip-member-at-piece-end-chunked", _chunked(gzip.compress(b"a" * 10240) + gzip.compress(b"b" * 10),
                                                  extra=(b"Content-Encoding: gzip",))),
    ("gzip-members-large", _enc(b"gzip", _GTEXT + _GTEXT)),
    ("gzip-exactly-10240", _h(headers=(b"Content-Encoding: gzip",), body=gzip.compress(b"c" * 10240))),
    ("gzip-trailing-garbage", _enc(b"gzip", _GHELLO + b"garbage!")),
    ("gzip-trailing-zeros", _enc(b"gzip", _GHELLO + b"\x00" * 8)),
    ("gzip-bad-crc", _enc(b"gzip", _GHELLO[:-8] + b"\x00\x00\x00\x00" + _GHELLO[-4:])),
    ("gzip-bad-length", _enc(b"gzip", _GHELLO[:-4] + b"\x01\x00\x00\x00")),
    ("gzip-header-only", _enc(b"gzip", _GHELLO[:10])),
    ("gzip-empty", _enc(b"gzip", b"")),
    ("gzip-double", _enc(b"gzip, gzip", gzip.compress(gzip.compress(b"twice")))),
    ("gzip-double-headers", _cl(gzip.compress(gzip.compress(b"twice")), b"Content-Encoding: gzip",
                                b"Content-Encoding: gzip")),
    ("x-gzip", _enc(b"x-gzip", _GHELLO)),
    ("gzip-upper", _enc(b"GZIP", _GHELLO)),
    ("gzip-trailing-space", _enc(b"gzip ", _GHELLO)),
    ("gzip-large", _enc(b"gzip", _GTEXT)),
    ("gzip-large-chunked", _chunked(_GTEXT[:5000], _GTEXT[5000:], extra=(b"Content-Encoding: gzip",))),
    ("gzip-large-no-length", _h(headers=(b"Content-Encoding: gzip",), body=_GTEXT)),
    ("gzip-large-cut", _h(headers=(b"Content-Encoding: gzip", b"Content-Length: %d" % len(_GTEXT)),
                          body=_GTEXT[:len(_GTEXT) // 2])),
    ("gzip-bomb-ish", _enc(b"gzip", gzip.compress(b"\x00" * 3_000_000))),
    ("gzip-garbage-second-member", _enc(b"gzip", _GHELLO + b"\x1f\x8b\x08\x00garbage")),
    ("gzip-corrupt-middle", _enc(b"gzip", _GTEXT[:200] + b"\xff" * 20 + _GTEXT[220:])),
    ("deflate-raw", _enc(b"deflate", _raw_deflate(b"raw deflate hello"))),
    ("deflate-raw-large", _enc(b"deflate", _raw_deflate(_TEXT))),
    ("deflate-zlib-large", _enc(b"deflate", _ZTEXT)),
    ("deflate-zlib-trailing", _enc(b"deflate", _ZHELLO + b"trailing garbage")),
    ("deflate-zlib-bad-adler", _enc(b"deflate", _ZHELLO[:-4] + b"\x00\x00\x00\x00")),
    ("deflate-zlib-corrupt-late", _enc(b"deflate", _ZTEXT[:len(_ZTEXT) - 40] + b"\xff" * 40)),
    ("deflate-zlib-fdict", _enc(b"deflate", b"\x78\xbb\x00\x00\x00\x01" + _ZHELLO[2:])),
    ("deflate-zlib-bad-window", _enc(b"deflate", b"\x88\x98" + _ZHELLO[2:])),
    ("deflate-empty", _enc(b"deflate", b"")),
    ("deflate-zlib-header-only", _enc(b"deflate", _ZHELLO[:2])),
    ("deflate-chunked-header-first", _chunked(_ZHELLO[:2], _ZHELLO[2:], extra=(b"Content-Encoding: deflate",))),
    ("deflate-chunked-raw-split", _chunked(_raw_deflate(b"split raw")[:1], _raw_deflate(b"split raw")[1:],
                                           extra=(b"Content-Encoding: deflate",))),
    ("identity-gzip", _enc(b"identity, gzip", _GHELLO)),
    ("gzip-identity", _enc(b"gzip, identity", _GHELLO)),
    ("deflate-gzip", _enc(b"deflate, gzip", gzip.compress(zlib.compress(b"layered")))),
    ("foo-gzip", _enc(b"foo, gzip", _GHELLO)),
    ("gzip-comma", _enc(b"gzip,", _GHELLO)),
    ("too-many-codings", _enc(b"gzip, gzip, gzip, gzip, gzip, gzip", _GHELLO)),
    ("five-codings", _enc(b"identity, identity, identity, identity, gzip", _GHELLO)),
    ("unknown-coding", _enc(b"compress", b"as is")),
    ("coding-non-ascii", _enc(b"gzip, \xc0", b"as is")),
    ("gzip-head-empty", _h(headers=(b"Content-Encoding: gzip",))),
]

# HEAD as well as GET for these (and for every EXTRA case).
HEAD_ALSO_CORPUS = range(0, 400, 4)


def _capture(handler):
    """The bytes a fault server mode writes."""
    class Rec:
        def __init__(self):
            self.data = b""

        def sendall(self, b):
            self.data += b

        def setsockopt(self, *a):
            raise OSError("recording")

        def close(self):
            pass
    r = Rec()
    handler(r)
    return r.data


BIG = 4096


def _chain(e):
    """The exception requests raised and its `__context__` chain: [class import path, repr] each."""
    out = []
    while e is not None and len(out) < 10:
        out.append([type(e).__module__ + "." + type(e).__qualname__, StatsError.parse_error(e)])
        e = e.__context__
    return out


def _raw_fields(raw):
    if len(raw) > BIG:
        return {"raw_zlib": base64.b64encode(zlib.compress(raw, 9)).decode()}
    return {"raw": base64.b64encode(raw).decode()}


def run(out_path):
    urls = faultserver.start()
    base = urls["http"]
    raws = faultserver.CORPUS  # the corpus of cases(1, 400), served at /raw/<i>
    cases = []  # (name, index, method)
    for i in range(len(raws)):
        cases.append(("raw/%d" % i, i, "GET"))
        if i in HEAD_ALSO_CORPUS:
            cases.append(("raw/%d" % i, i, "HEAD"))
    for path in MODES:
        raws.append(_capture(faultserver.MODES[path][1]))
        cases.append(("mode" + path, len(raws) - 1, "GET"))
    for name, raw in EXTRA:
        raws.append(raw)
        cases.append(("extra/" + name, len(raws) - 1, "GET"))
        cases.append(("extra/" + name, len(raws) - 1, "HEAD"))

    event = EventHook()
    seen = []
    event.add_listener(lambda **kw: seen.append(kw))
    results = []
    for name, index, method in cases:
        seen.clear()
        session = HttpSession(base, event, None)
        raised = None
        try:
            session.request(method, "/raw/%d" % index, allow_redirects=False, timeout=20)
        except Exception as e:  # not a RequestException: it escapes HttpSession, no request event
            raised = repr(e)
        finally:
            session.close()
        if raised is not None:
            assert not seen
            results.append({"name": name, **_raw_fields(raws[index]), "method": method, "raised": raised})
            continue
        (meta,) = seen
        response = meta["response"]
        exc = meta["exception"]
        row = {
            "name": name,
            **_raw_fields(raws[index]),
            "method": method,
            "error": None if exc is None else StatsError.parse_error(exc),
            "http_error": isinstance(exc, requests.exceptions.HTTPError),
            "status": response.status_code,
            "len": meta["response_length"],
        }
        if exc is not None and not row["http_error"]:
            row["chain"] = _chain(response.error)
        if exc is None or row["http_error"]:
            raw = response.raw
            msg = raw._original_response.msg
            body = response.content
            if len(body) > BIG:
                row["body_sha256"] = hashlib.sha256(body).hexdigest()
            else:
                row["body_b64"] = base64.b64encode(body).decode()
            row["reason"] = response.reason
            row["version"] = raw.version
            row["headers"] = [[k, v] for k, v in msg.items()]
        results.append(row)

    with open(out_path, "w") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(r, sort_keys=True) for r in results))
        f.write("\n]\n")
    errors = sum(1 for r in results if r.get("error") and not r["http_error"])
    print("%d cases (%d failures) -> %s" % (len(results), errors, out_path))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "expected_requests.json"))
    run(ap.parse_args().out)


if __name__ == "__main__":
    main()
