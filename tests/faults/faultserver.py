"""A loopback HTTP server that misbehaves on purpose: one fault per URL path.

Used by the differential fault scenarios (`locustfiles/fault_*.py`, run under real Locust and rlocust) and by
the Python tests of rlocust's verdicts. Every connection serves one request and is then closed by the server
(unless the mode says otherwise), so one fault never leaks into the next request.

    python3 tests/faults/faultserver.py [--max-seconds N]

prints one JSON line with its URLs: {"http": ..., "https": ..., "tls_alert": ..., "tls_slow": ..., "tls_reset": ...}
and serves until killed or until --max-seconds (default 3600) have passed. Every mode is bounded in time and
size, so a client that waits for the end of a response always gets one.

Listeners:
- http:      plain HTTP, the path chooses the fault (see MODES);
- https:     the same paths over TLS (a self-signed certificate made at start; clients use verify=False);
- tls_alert: answers the ClientHello with a fatal handshake_failure alert;
- tls_slow:  accepts, then waits SLOW_TLS seconds before the TLS handshake (then serves the paths);
- tls_reset: accepts and resets the connection during the handshake;
- http_b:    the http listener's paths on another loopback port (a redirect to another port);
- alt:       the http listener's paths on 127.0.0.2, on the http listener's port (a redirect to another host).

Besides the fault modes, every listener serves the redirect paths of locustfiles/redirect_credentials.py (not
modes: they are well-formed answers): `/hop?to=URL[&code=N][&set=COOKIE]` redirects to URL with status N
(default 302), setting COOKIE if given; `/echo` answers 200 with the request's method and the headers a
redirect may leak (Cookie, Cookie2, Authorization, Proxy-Authorization, Content-Type, Content-Length), one
`name=value` line each.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

SLOW_TLS = 3.0
# The endless bodies stop after this much, so a client without a cap still ends (Locust keeps it in memory).
ENDLESS_BYTES = 400 * 1024 * 1024
ENDLESS_SECONDS = 20.0


def ok(body: bytes = b"ok", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s" % (len(body), extra, body)


def _send_all(sock, data):
    try:
        sock.sendall(data)
    except OSError:
        pass


def _reset(sock):
    """Close with a TCP RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _trickle(sock, data, seconds):
    """Send `data` one byte at a time spread over `seconds`."""
    step = seconds / max(len(data), 1)
    for i in range(len(data)):
        try:
            sock.sendall(data[i:i + 1])
        except OSError:
            return
        time.sleep(step)


def _endless_chunks(sock, chunk):
    sent, deadline = 0, time.monotonic() + ENDLESS_SECONDS
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    while sent < ENDLESS_BYTES and time.monotonic() < deadline:
        try:
            sock.sendall(frame)
        except OSError:
            return
        sent += len(chunk)
    _send_all(sock, b"0\r\n\r\n")


def _head_then(sock, head, rest):
    _send_all(sock, head)
    _send_all(sock, rest)


# Each mode: (description, handler(sock)). The handler writes whatever it wants; the server closes afterwards.
MODES = {}


def mode(path, doc):
    def register(fn):
        MODES[path] = (doc, fn)
        return fn
    return register


@mode("/ok", "a correct 200 response")
def _ok(s):
    _send_all(s, ok())


@mode("/chunk-size-overflow", "a chunk-size line of ffffffffffffffff, then the connection closes")
def _chunk_overflow(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc\r\n")


@mode("/chunk-size-overflow2", "a chunk-size line of fffffffffffffffe")
def _chunk_overflow2(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffe\r\nabc\r\n")


@mode("/chunk-size-invalid", "a chunk-size line that is not hex")
def _chunk_invalid(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")


@mode("/chunk-incomplete", "a chunked body cut off in the middle of a chunk")
def _chunk_incomplete(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc")


@mode("/chunk-no-terminator", "chunks, then the connection closes without the last-chunk")
def _chunk_no_end(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")


@mode("/chunk-endless", "chunks forever (bounded by the server at ENDLESS_BYTES)")
def _chunk_endless(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    _endless_chunks(s, b"x" * 65536)


@mode("/gzip-invalid", "Content-Encoding: gzip with a body that is not gzip")
def _gzip_invalid(s):
    _send_all(s, ok(b"this is not gzip at all", b"Content-Encoding: gzip\r\n"))


@mode("/gzip-truncated", "a gzip body cut short (the Content-Length matches what is sent)")
def _gzip_truncated(s):
    body = gzip.compress(b"hello world " * 100, mtime=0)[:-20]
    _send_all(s, ok(body, b"Content-Encoding: gzip\r\n"))


@mode("/gzip-ok", "a correct gzip body")
def _gzip_ok(s):
    _send_all(s, ok(gzip.compress(b"hello gzip", mtime=0), b"Content-Encoding: gzip\r\n"))


@mode("/deflate-invalid", "Content-Encoding: deflate with a body that is not deflate")
def _deflate_invalid(s):
    _send_all(s, ok(b"\xff\xfenot deflate", b"Content-Encoding: deflate\r\n"))


@mode("/content-length-huge", "Content-Length: 99999999999999999999999 and a short body")
def _cl_huge(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nshort")


@mode("/content-length-conflict", "two different Content-Length headers")
def _cl_conflict(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nabcd")


@mode("/content-length-same-twice", "the same Content-Length twice (allowed)")
def _cl_same(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab")


@mode("/content-length-negative", "Content-Length: -5")
def _cl_negative(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nabcde")


@mode("/content-length-invalid", "Content-Length: abc")
def _cl_invalid(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nabcde")


@mode("/lf-only", "a response whose lines end in LF only")
def _lf_only(s):
    _send_all(s, b"HTTP/1.1 200 OK\nContent-Length: 2\nConnection: close\n\nok")


@mode("/incomplete-body", "Content-Length: 10, five bytes, then close")
def _incomplete(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")


@mode("/reset-mid-body", "Content-Length: 100000, part of it, then a TCP reset")
def _reset_mid_body(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
    time.sleep(0.2)
    _reset(s)
    return True


@mode("/reset-before-response", "a TCP reset right after the request")
def _reset_before(s):
    _reset(s)
    return True


@mode("/close-before-response", "the connection closes right after the request")
def _close_before(s):
    pass


@mode("/bad-status-line", "a status line that is not HTTP")
def _bad_status(s):
    _send_all(s, b"garbage here\r\n\r\n")


@mode("/bad-status-code", "a status code that is not a number")
def _bad_status_code(s):
    _send_all(s, b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok")


@mode("/http09", "a body with no status line or headers at all")
def _http09(s):
    _send_all(s, b"just a body, no head")


@mode("/bad-header-line", "a header line without a colon")
def _bad_header(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nthis is not a header\r\nConnection: close\r\n\r\nok")


@mode("/many-headers", "10,000 response headers")
def _many_headers(s):
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(10000))
    _send_all(s, head + b"Content-Length: 2\r\nConnection: close\r\n\r\nok")


@mode("/huge-header", "one 1 MiB header line")
def _huge_header(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (1 << 20) + b"\r\nContent-Length: 2\r\n\r\nok")


@mode("/informational-flood", "100,000 '100 Continue' responses before the real one")
def _info_flood(s):
    _send_all(s, b"HTTP/1.1 100 Continue\r\n\r\n" * 100000 + ok())


@mode("/informational-few", "three 1xx responses before the real one")
def _info_few(s):
    _send_all(s, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok())


@mode("/trickle-body", "the head at once, then a 10-byte body over 5 s")
def _trickle_body(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n")
    _trickle(s, b"0123456789", 5.0)


@mode("/trickle-head", "a head that never ends: one header byte every 0.5 s for 12 s, then close")
def _trickle_head(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\n")
    _trickle(s, b"X-Slow: " + b"a" * 23, 12.0)


@mode("/silent", "reads the request and answers nothing for 12 s, then closes")
def _silent(s):
    time.sleep(12)


@mode("/slow-head", "answers after 3 s")
def _slow_head(s):
    time.sleep(3)
    _send_all(s, ok())


@mode("/no-framing", "no Content-Length, no chunking: the body ends with the connection")
def _no_framing(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\n\r\nuntil close")


@mode("/http10", "an HTTP/1.0 response without Content-Length")
def _http10(s):
    _send_all(s, b"HTTP/1.0 200 OK\r\n\r\nold style")


@mode("/content-length-too-long-body", "more body bytes than Content-Length says")
def _extra_bytes(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nokEXTRA")


@mode("/status-999", "a three-digit status code outside the registry")
def _status_999(s):
    _send_all(s, b"HTTP/1.1 999 Weird\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


@mode("/status-no-reason", "a status line without a reason phrase")
def _no_reason(s):
    _send_all(s, b"HTTP/1.1 200\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


@mode("/redirect-loop", "a redirect to itself, forever")
def _redirect_loop(s):
    _send_all(s, b"HTTP/1.1 302 Found\r\nLocation: /redirect-loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@mode("/big-body", "a correct 8 MiB body")
def _big_body(s):
    body = b"y" * (8 << 20)
    _send_all(s, ok(body))


@mode("/stall-body", "the head and half of a 10-byte body, then nothing for 3 s, then close")
def _stall_body(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234")
    time.sleep(3)


@mode("/stall-mid-head", "half of a head, then nothing for 3 s, then close")
def _stall_mid_head(s):
    _send_all(s, b"HTTP/1.1 200 OK\r\nContent-Le")
    time.sleep(3)


# The generated responses served at /raw/<index> (see corpus.py); set by main() or start().
CORPUS: list[bytes] = []


ECHOED = ("cookie", "cookie2", "authorization", "proxy-authorization", "content-type", "content-length")


def _redirect_paths(conn, head: bytes, target: str) -> bool:
    """`/hop` and `/echo` (see the module's docstring); False for any other path."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(target)
    if parts.path == "/echo":
        lines = [b"method=" + head.split(b" ", 1)[0]]
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields.setdefault(name.strip().lower().decode("latin-1"), []).append(value.strip())
        for name in ECHOED:
            for value in fields.get(name, []):
                lines.append(name.encode() + b"=" + value)
        _send_all(conn, ok(b"\n".join(lines)))
        return True
    if parts.path == "/hop":
        q = parse_qs(parts.query)
        code = int(q.get("code", ["302"])[0])
        extra = b"".join(b"Set-Cookie: %s; Path=/\r\n" % c.encode() for c in q.get("set", []))
        location = q.get("to", ["/echo"])[0].encode("latin-1")
        _send_all(conn, b"HTTP/1.1 %d Redirect\r\nLocation: %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n"
                  % (code, location, extra))
        return True
    return False


def read_request(conn) -> bytes | None:
    """The request head (and its Content-Length body, read and dropped); None if the client went away."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = conn.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                length = 0
    while len(rest) < length:
        try:
            chunk = conn.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        rest += chunk
    return head


def serve_request(conn):
    head = read_request(conn)
    if head is None:
        return
    try:
        target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
    except IndexError:
        return
    path = target.split("?", 1)[0]
    if path in ("/hop", "/echo"):
        _redirect_paths(conn, head, target)
        return
    if path.startswith("/raw/"):
        try:
            raw = CORPUS[int(path[5:])]
        except (ValueError, IndexError):
            raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _send_all(conn, raw)
        return
    entry = MODES.get(path)
    if entry is None:
        _send_all(conn, b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno such\r\n")
        return
    return entry[1](conn)


def handle(conn, tls_ctx=None, before_tls=0.0):
    try:
        conn.settimeout(60)
        if tls_ctx is not None:
            if before_tls:
                time.sleep(before_tls)
            try:
                conn = tls_ctx.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                return
        closed = serve_request(conn)
        if not closed:
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            # let the client read everything before the socket goes away (a close with unread input is a RST)
            conn.settimeout(2)
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def handle_alert(conn):
    try:
        conn.settimeout(10)
        conn.recv(65536)  # the ClientHello
        # a TLS 1.2 record: alert, fatal (2), handshake_failure (40)
        conn.sendall(b"\x15\x03\x03\x00\x02\x02\x28")
        time.sleep(0.2)
    except OSError:
        pass
    finally:
        conn.close()


def handle_tls_reset(conn):
    try:
        conn.settimeout(10)
        conn.recv(65536)
    except OSError:
        pass
    _reset(conn)


def listen(host="127.0.0.1", port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(512)
    return s


def accept_loop(sock, handler):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


def _self_signed(cert, key):
    """A self-signed certificate for 127.0.0.1, with `cryptography` (requirements-test.txt) or the openssl command."""
    try:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return
    import ipaddress

    pk = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    crt = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(pk.public_key())
           .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
           .not_valid_after(now + datetime.timedelta(days=2))
           .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
           .sign(pk, hashes.SHA256()))
    with open(cert, "wb") as f:
        f.write(crt.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(pk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()))


def tls_context(workdir):
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    _self_signed(cert, key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def start(workdir=None, corpus_seed=1, corpus_count=400):
    """Start every listener in daemon threads; returns the URLs."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import corpus

    CORPUS[:] = corpus.cases(corpus_seed, corpus_count)
    workdir = workdir or tempfile.mkdtemp(prefix="faultserver-")
    ctx = tls_context(workdir)
    plain = listen()
    listeners = {
        "http": (plain, lambda c: handle(c)),
        "http_b": (listen(), lambda c: handle(c)),
        "alt": (listen("127.0.0.2", plain.getsockname()[1]), lambda c: handle(c)),
        "https": (listen(), lambda c: handle(c, ctx)),
        "tls_alert": (listen(), handle_alert),
        "tls_slow": (listen(), lambda c: handle(c, ctx, SLOW_TLS)),
        "tls_reset": (listen(), handle_tls_reset),
    }
    urls = {}
    for name, (sock, handler) in listeners.items():
        scheme = "http" if name in ("http", "http_b", "alt") else "https"
        urls[name] = "%s://%s:%d" % (scheme, *sock.getsockname())
        threading.Thread(target=accept_loop, args=(sock, handler), daemon=True).start()
    return urls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-seconds", type=float, default=3600)
    ap.add_argument("--list", action="store_true", help="print the modes and exit")
    ap.add_argument("--corpus-seed", type=int, default=1, help="seed of the generated responses at /raw/<i>")
    ap.add_argument("--corpus-count", type=int, default=400, help="how many generated responses")
    args = ap.parse_args()
    if args.list:
        for path, (doc, _) in MODES.items():
            print(f"{path:32s} {doc}")
        return
    urls = start(corpus_seed=args.corpus_seed, corpus_count=args.corpus_count)
    print(json.dumps(urls), flush=True)
    time.sleep(args.max_seconds)


if __name__ == "__main__":
    sys.exit(main())
