"""Ground truth for rlocust's FastHttpUser response reader (`src/http/wire/llhttp/`).

Run with the oracle interpreter (Locust 2.47.0, geventhttpclient 2.6.1):

    .venv-oracle/bin/python tests/faults/oracle_outcomes_fast.py [--out tests/faults/expected_fast.json]

It starts the fault server in-process and requests every generated raw response (`/raw/<i>`, corpus.py) and
most of the server's one-fault paths once with GET and once with HEAD through Locust's real
`locust.contrib.fasthttp.FastHttpSession` (as FastHttpUser configures it, but with allow_redirects=False: a
redirect is the driver's business, the reader reads one response). A request event listener captures what
Locust records: the exception's repr(), response_length and the status.

Besides that network run it replays every case in-process through the same classes (geventhttpclient's
HTTPSocketPoolResponse on a fake socket whose recv() hands out the bytes in given pieces, then Locust's
FastResponse.content) to record:
- "reader": the outcome when every status counts as valid (what the reader alone decides: no
  LocustBadStatusCode, the body read to its end), with the headers as geventhttpclient keeps them;
- "splits": the same outcome when the bytes arrive in other pieces (one byte at a time and a few seeded
  random cuts): geventhttpclient feeds whole recv() blocks to llhttp, so bytes after the end of a response
  are seen only when they arrive with it, and the reader must do the same;
and it checks that the in-process replay with Locust's status handling gives what the network run gave.

Output (deterministic): a JSON list. A raw case:
  {"raw": b64, "method": "GET", "error": repr or null, "raised": repr or null, "status": int, "len": int,
   "body_b64": b64 or null, "reader": {...}, "splits": [{"cuts": [...], ...outcome}]}
("error" is what Locust records as the failure, "raised" an exception that escapes FastHttpSession.request
instead, e.g. ValueError for an unknown Content-Encoding.) A scripted case (resets, timeouts, generated
large responses) has "mode" instead of "raw" and "events": [["data", b64] | ["gen", name] | ["eof"] |
["io", errno] | ["timeout"]]; URLs in texts read http://127.0.0.1:{PORT}. "status" is what the response object
says afterwards (llhttp's latest status line; 0 for Locust's ErrorResponse).

With `--fuzz N [--seed S] --out FILE` it writes N generated responses with their in-process outcomes instead
(no network, ~25 s for 20000), for the reader's ignored test `generated_responses_match_geventhttpclient`.
"""
from __future__ import annotations

import argparse
import base64
import functools
import gzip
import json
import os
import random
import sys
import time

from geventhttpclient.response import HTTPSocketPoolResponse

import locust  # noqa: F401  (gevent monkey patching first, as under Locust)
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, FastHttpSession, FastResponse, LocustUserAgent
from locust.event import EventHook

# gzip headers carry the time of compression; a fixed one keeps the corpus (and this output) the same every run
gzip.compress = functools.partial(gzip.compress, mtime=0)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import faultserver  # noqa: E402

VALID = LocustUserAgent.valid_response_codes
BLOCK = 4096


def b64(b):
    return None if b is None else base64.b64encode(bytes(b)).decode("ascii")


# --- in-process replay -------------------------------------------------------------------------------------

class FakeSock:
    """recv() hands out `chunks` (each split at the requested size, never merged), then `end`."""

    def __init__(self, chunks, end="eof"):
        self.chunks = [bytes(c) for c in chunks if c]
        self.end = end
        self.closed = False

    def recv(self, n):
        if self.closed:
            # a response that ends with "close" closes its socket at once, even when it was only an interim 1xx
            raise OSError(9, "Bad file descriptor")
        if self.chunks:
            c = self.chunks[0]
            if len(c) > n:
                self.chunks[0] = c[n:]
                return c[:n]
            self.chunks.pop(0)
            return c
        if self.end == "eof":
            return b""
        raise ConnectionResetError(104, "Connection reset by peer")

    def close(self):
        self.closed = True


class FakePool:
    def release_socket(self, sock):
        sock.close()

    def return_socket(self, sock):
        pass


def replay(chunks, method, status_check):
    """Locust's FastHttpSession.request on these bytes, minus retries and redirects."""
    sock = FakeSock(chunks)
    out = {"error": None, "raised": None, "status": 0, "len": 0, "body_b64": None}
    try:
        resp = HTTPSocketPoolResponse(sock, FakePool(), block_size=BLOCK, method=method)
    except FAILURE_EXCEPTIONS as e:
        out["error"] = repr(e)
        return out
    fr = FastResponse(resp)
    head_status = fr.status_code
    bad = status_check and head_status not in VALID
    try:
        content = fr.content
        if bad:
            # UserAgent.urlopen, after _verify_status raised: e.http_log = self._conversation_str(...), which
            # reads the body and decodes it as UTF-8, then resp.release(); an exception there escapes urlopen
            # without a response (Locust's ErrorResponse: status 0, no content)
            content.decode("utf-8")
    except FAILURE_EXCEPTIONS as e:
        out["error"] = repr(e)
        # the status as Locust's response object gives it afterwards (llhttp's latest status line)
        out["status"] = 0 if bad else fr.status_code
        return out
    except Exception as e:  # noqa: BLE001  escapes FastHttpSession.request
        out["raised"] = repr(e)
        out["status"] = None
        return out
    out["status"] = fr.status_code
    out["len"] = len(content) if content else 0
    if bad:
        out["error"] = "LocustBadStatusCode(code=%d)" % head_status
    else:
        out["body_b64"] = b64(content)
        out["reason"] = resp.status_message
        out["headers"] = [list(kv) for kv in resp.items()]
        out["reusable"] = not resp.should_close() and not sock.chunks
    return out


def cuts_for(raw, rng, pieces):
    if len(raw) < 2:
        return []
    k = min(pieces, len(raw) - 1)
    return sorted(rng.sample(range(1, len(raw)), k))


def split(raw, cuts):
    bounds = [0] + list(cuts) + [len(raw)]
    return [raw[a:b] for a, b in zip(bounds, bounds[1:])]


# --- the network run ---------------------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, **kw):
        self.events.append(kw)


def session(base, network_timeout=60.0):
    rec = Recorder()
    hook = EventHook()
    hook.add_listener(rec)
    # the keyword arguments FastHttpUser.__init__ passes, with its class defaults
    s = FastHttpSession(
        base_url=base, request_event=hook, user=None, network_timeout=network_timeout, connection_timeout=60.0,
        max_redirects=30, max_retries=0, insecure=True, concurrency=10, client_pool=None,
        ssl_context_factory=None, headers=None, proxy_host=None, proxy_port=None,
    )
    return s, rec


def network(base, path, method, network_timeout=60.0):
    s, rec = session(base, network_timeout)
    out = {"error": None, "raised": None, "status": 0, "len": 0, "body_b64": None}
    try:
        resp = s.request(method, path, allow_redirects=False)
    except Exception as e:  # noqa: BLE001
        out["raised"] = repr(e).replace(base, "http://127.0.0.1:{PORT}")
        out["status"] = None
        s.client.close()
        return out
    (ev,) = rec.events
    exc = ev["exception"]
    out["error"] = None if exc is None else repr(exc).replace(base, "http://127.0.0.1:{PORT}")
    out["status"] = resp.status_code
    out["len"] = ev["response_length"]
    if exc is None:
        out["body_b64"] = b64(resp.content)
    s.client.close()
    return out


class Capture:
    """A stand-in socket for the fault server's handlers: keeps what they send."""

    def __init__(self):
        self.data = b""

    def sendall(self, data):
        self.data += data

    def setsockopt(self, *a):
        pass

    def close(self):
        pass


# paths whose handler only writes bytes: their bytes become raw cases
SKIP_RAW = {"/chunk-endless", "/big-body", "/many-headers", "/huge-header", "/informational-flood",
            "/trickle-body", "/trickle-head", "/silent", "/slow-head", "/reset-mid-body",
            "/reset-before-response", "/stall-body", "/stall-mid-head"}

# scripted cases: (path, network_timeout, events for the reader)
SCRIPTED = [
    ("/reset-mid-body", 60.0,
     [["data", b64(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)], ["io", 104]]),
    ("/reset-before-response", 60.0, [["io", 104]]),
    ("/silent", 1.0, [["timeout"]]),
    ("/stall-body", 1.0, [["data", b64(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234")], ["timeout"]]),
    ("/stall-mid-head", 1.0, [["data", b64(b"HTTP/1.1 200 OK\r\nContent-Le")], ["timeout"]]),
    ("/many-headers", 60.0, [["gen", "many-headers"], ["eof"]]),
    ("/huge-header", 60.0, [["gen", "huge-header"], ["eof"]]),
    ("/informational-flood", 60.0, [["gen", "informational-flood"], ["eof"]]),
    ("/big-body", 60.0, [["gen", "big-body"], ["eof"]]),
]


# --- generated responses for a wider differential check (--fuzz) ---------------------------------------------

def fuzz_response(rng):
    """A response built from the pieces where llhttp and geventhttpclient make decisions, maybe damaged."""
    def pick(*xs):
        return rng.choice(xs)

    version = pick(b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"ICE/1.0",
                   b"RTSP/1.0", b"HTTP/1.2", b"HTTP/11")
    status = pick(b"200", b"200", b"200", b"404", b"204", b"304", b"100", b"101", b"102", b"103", b"150", b"199",
                  b"099", b"999", b"500", b"301", b"2x0")
    line = version + b" " + status + pick(b" OK", b" OK", b"", b" ", b" Not Found", b" \xe9t\xe9", b"  sp  ")
    headers = []
    body = b""
    payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 5, 50, 3000, 5000, 9000])))
    payload = pick(payload, b"hello world", b"x" * rng.choice([0, 1, 10, 4096, 4100, 12000]))
    enc = pick(None, None, None, b"gzip", b"deflate", b"identity", b"br", b"GZIP", b"x-unknown", b"gzip ", b"compress")
    if enc is not None:
        if enc.strip().lower() == b"gzip" and rng.random() < 0.7:
            payload = gzip.compress(payload)
            if rng.random() < 0.2:
                payload = payload[: rng.randrange(len(payload) + 1)]
        elif enc == b"deflate" and rng.random() < 0.7:
            import zlib
            payload = pick(zlib.compress(payload), zlib.compress(payload)[2:-4], payload)
        headers.append(b"Content-Encoding: " + enc)
    framing = pick("cl", "cl", "chunked", "chunked", "eof", "none", "cl-te", "te-other", "cl-dup")
    if framing == "cl":
        n = len(payload) + pick(0, 0, 0, -1, 1, 100)
        headers.append(b"Content-Length: " + pick(b"%d" % max(n, 0), b" %d " % max(n, 0), b"%d" % max(n, 0)))
        body = payload
    elif framing == "cl-dup":
        headers += [b"Content-Length: %d" % len(payload), pick(b"Content-Length: %d" % len(payload), b"content-length: 1")]
        body = payload
    elif framing in ("chunked", "cl-te"):
        headers.append(pick(b"Transfer-Encoding: chunked", b"Transfer-Encoding: CHUNKED", b"Transfer-Encoding:  chunked ",
                            b"Transfer-Encoding: gzip, chunked", b"Transfer-Encoding: chunked, gzip",
                            b"Transfer-Encoding: chunked,", b"transfer-encoding: identity"))
        if framing == "cl-te":
            headers.append(b"Content-Length: %d" % len(payload))
        pos = 0
        while pos < len(payload):
            k = rng.choice([1, 7, 100, 3000, 8000])
            piece = payload[pos:pos + k]
            pos += k
            ext = pick(b"", b"", b";a=1", b";a", b';a="q\\"x"', b"; a", b";a=\x01")
            body += b"%x" % len(piece) + ext + b"\r\n" + piece + pick(b"\r\n", b"\r\n", b"\r\n", b"\n", b"X")
        body += pick(b"0\r\n\r\n", b"0\r\n\r\n", b"0\r\nT: 1\r\nU: 2\r\n\r\n", b"0\r\n",
                     b"0\r\nContent-Encoding: gzip\r\nX: y\r\n\r\n", b"0\r\nConnection: close\r\n\r\n", b"")
    elif framing == "te-other":
        headers.append(b"Transfer-Encoding: gzip")
        body = payload
    elif framing == "eof":
        body = payload
    for _ in range(rng.choice([0, 0, 1, 2, 4])):
        headers.append(pick(b"Connection: close", b"Connection: keep-alive", b"Connection: Keep-Alive, close",
                            b"Connection: upgrade", b"Upgrade: websocket", b"Proxy-Connection: close",
                            b"Connection: close\t", b"Connection: closex", b"Connection: foo, close",
                            b"Connection: ,close", b"X-A: b", b"X-Empty:", b"X-Sp:   v  ", b"Set-Cookie: a=1",
                            b"X-Lat: \xff\xe9", b"Connectio: x", b"Upgrade-Insecure: 1", b"X-Fold: a\r\n b",
                            b"Bad Name: x", b"X-Ctl: a\x01b"))
    rng.shuffle(headers)
    head = line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n"
    raw = head + body
    for _ in range(rng.choice([0, 0, 0, 1])):
        raw = pick(b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.0 100 Continue\r\n\r\n",
                   b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", b"\r\n",
                   b"HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n") + raw
    if rng.random() < 0.25:
        raw += pick(b"EXTRA", b"\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", b"HTTP/1.1 404 N\r\n", b"\r\nX")
    if rng.random() < 0.3:
        raw = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(raw) + 1)
            op = rng.randrange(3)
            if op == 0 and i < len(raw):
                raw[i] = rng.choice(b"\r\n :;,-+0159aAfFxX\t\x00\x7f\xff")
            elif op == 1 and i < len(raw):
                del raw[i]
            else:
                raw.insert(i, rng.choice(b"\r\n :;,-+0159aAfFxX\t\x00\x7f\xff"))
        raw = bytes(raw)
    if rng.random() < 0.1:
        raw = raw[: rng.randrange(len(raw) + 1)]
    return raw


def fuzz(n, seed, path):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        raw = fuzz_response(rng)
        method = "HEAD" if rng.random() < 0.2 else "GET"
        case = {"raw": b64(raw), "method": method, "reader": replay([raw], method, status_check=False), "splits": []}
        for pieces in (1, 3, 40):
            cuts = cuts_for(raw, rng, pieces)
            o = replay(split(raw, cuts), method, status_check=False)
            o.pop("headers", None)
            o.pop("reason", None)
            o["cuts"] = cuts
            case["splits"].append(o)
        out.append(case)
    with open(path, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, sort_keys=True) for c in out) + "\n]\n")
    print("%d generated cases in %s" % (n, path), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "expected_fast.json"))
    ap.add_argument("--fuzz", type=int, default=0, metavar="N",
                    help="instead: N generated responses replayed in-process only (no network), for the reader's "
                         "ignored test `generated_responses_match_geventhttpclient` (LLHTTP_FUZZ=<out>)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.fuzz:
        fuzz(args.fuzz, args.seed, args.out)
        return
    t0 = time.monotonic()
    urls = faultserver.start()
    base = urls["http"]

    raws = [(None, r) for r in faultserver.CORPUS]
    for path, (_doc, fn) in faultserver.MODES.items():
        if path in SKIP_RAW:
            continue
        cap = Capture()
        fn(cap)
        raws.append((path, cap.data))

    out = []
    disagreements = 0
    rng = random.Random(7)
    for i, (path, raw) in enumerate(raws):
        url_path = "/raw/%d" % i if path is None else path
        for method in ("GET", "HEAD"):
            case = {"raw": b64(raw), "method": method}
            if path is not None:
                case["name"] = path
            case.update(network(base, url_path, method))
            model = replay([raw], method, status_check=True)
            agrees = all(model[k] == case[k] for k in ("error", "raised", "status", "len", "body_b64"))
            if not agrees:
                disagreements += 1
                print("replay disagrees with the network run:", url_path, method, case, model, file=sys.stderr)
            case["replay_agrees"] = agrees
            case["reader"] = replay([raw], method, status_check=False)
            splits = [list(range(1, len(raw)))]
            for pieces in (2, 5, 17):
                splits.append(cuts_for(raw, rng, pieces))
            case["splits"] = []
            for cuts in splits:
                o = replay(split(raw, cuts), method, status_check=False)
                o.pop("headers", None)
                o.pop("reason", None)
                o["cuts"] = cuts
                case["splits"].append(o)
            out.append(case)

    for path, timeout, events in SCRIPTED:
        case = {"mode": path, "method": "GET", "events": events}
        case.update(network(base, path, "GET", network_timeout=timeout))
        case.pop("body_b64")  # the reader's test rebuilds the generated bodies
        out.append(case)

    with open(args.out, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, sort_keys=True) for c in out) + "\n]\n")
    print("%d cases, %d replay disagreements, %.1f s" % (len(out), disagreements, time.monotonic() - t0),
          file=sys.stderr)


if __name__ == "__main__":
    main()
