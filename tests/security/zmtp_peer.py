"""A hand-made ZeroMQ DEALER for the security suite's attackers: ZMTP 3.1 (NULL mechanism) over a plain socket and the
msgpack subset Locust's messages use, so that a test controls every byte (oversized frames, PINGs it never reads the
answers to, messages before `client_ready`) without pyzmq. Loopback only; every read has a timeout."""

from __future__ import annotations

import socket
import struct
import time

# ---- msgpack (the types Locust's messages carry) ----------------------------------------------------------------

def pack(v) -> bytes:
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        return b"\xd3" + struct.pack(">q", v) if v < 0 else b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xA0 | len(b)]) if len(b) < 32 else b"\xdb" + struct.pack(">I", len(b))) + b
    if isinstance(v, bytes):
        return b"\xc6" + struct.pack(">I", len(v)) + v
    if isinstance(v, (list, tuple)):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        return b"\xdf" + struct.pack(">I", len(v)) + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(type(v))


def unpack(b: bytes):
    v, pos = _unpack(b, 0)
    return v


def _unpack(b: bytes, i: int):  # noqa: C901 (one branch per marker)
    m = b[i]
    i += 1
    if m <= 0x7F:
        return m, i
    if m >= 0xE0:
        return m - 256, i
    if 0x80 <= m <= 0x8F:
        return _map(b, i, m & 0x0F)
    if 0x90 <= m <= 0x9F:
        return _arr(b, i, m & 0x0F)
    if 0xA0 <= m <= 0xBF:
        n = m & 0x1F
        return b[i:i + n].decode(), i + n
    simple = {0xC0: None, 0xC2: False, 0xC3: True}
    if m in simple:
        return simple[m], i
    fixed = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
             0xCA: ">f", 0xCB: ">d"}
    if m in fixed:
        f = fixed[m]
        n = struct.calcsize(f)
        return struct.unpack(f, b[i:i + n])[0], i + n
    lens = {0xD9: (">B", "s"), 0xDA: (">H", "s"), 0xDB: (">I", "s"), 0xC4: (">B", "b"), 0xC5: (">H", "b"),
            0xC6: (">I", "b"), 0xDC: (">H", "a"), 0xDD: (">I", "a"), 0xDE: (">H", "m"), 0xDF: (">I", "m")}
    f, kind = lens[m]
    k = struct.calcsize(f)
    n = struct.unpack(f, b[i:i + k])[0]
    i += k
    if kind == "s":
        return b[i:i + n].decode(), i + n
    if kind == "b":
        return b[i:i + n], i + n
    if kind == "a":
        return _arr(b, i, n)
    return _map(b, i, n)


def _arr(b, i, n):
    out = []
    for _ in range(n):
        v, i = _unpack(b, i)
        out.append(v)
    return out, i


def _map(b, i, n):
    out = {}
    for _ in range(n):
        k, i = _unpack(b, i)
        v, i = _unpack(b, i)
        out[k] = v
    return out, i


# ---- ZMTP ---------------------------------------------------------------------------------------------------------

def frame(body: bytes, command: bool = False, more: bool = False) -> bytes:
    flags = (0x04 if command else 0) | (0x01 if more else 0)
    if len(body) > 255:
        return bytes([flags | 0x02]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def ready(identity: bytes) -> bytes:
    props = b""
    for name, value in ((b"Socket-Type", b"DEALER"), (b"Identity", identity)):
        props += bytes([len(name)]) + name + struct.pack(">I", len(value)) + value
    return frame(b"\x05READY" + props, command=True)


def ping(context: bytes = b"") -> bytes:
    return frame(b"\x04PING" + b"\x00\x00" + context, command=True)


class Peer:
    """One DEALER connection to a master at 127.0.0.1:`port` with ZeroMQ identity `identity`."""

    def __init__(self, port: int, identity: str, timeout: float = 5.0, rcvbuf: int | None = None):
        self.identity = identity
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        greeting = b"\xff" + b"\x00" * 7 + b"\x01\x7f" + bytes([3, 1]) + b"NULL" + b"\x00" * 16 + b"\x00" + b"\x00" * 31
        self.sock.sendall(greeting + ready(identity.encode()))
        self.buf = b""
        self._need(64)
        self.buf = self.buf[64:]
        while True:  # the master's READY
            flags, body = self._frame()
            if flags & 0x04 and body[1:6] == b"READY":
                break

    def _need(self, n: int):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the master")
            self.buf += chunk

    def _frame(self):
        self._need(2)
        flags = self.buf[0]
        if flags & 0x02:
            self._need(9)
            n, head = struct.unpack(">Q", self.buf[1:9])[0], 9
        else:
            n, head = self.buf[1], 2
        self._need(head + n)
        body = self.buf[head:head + n]
        self.buf = self.buf[head + n:]
        return flags, body

    def send(self, kind: str, data=None, node_id: str | None = None):
        self.sock.sendall(frame(pack([kind, data, self.identity if node_id is None else node_id])))

    def recv(self, timeout: float = 5.0):
        """The next message `[type, data, node_id]` and its raw payload (commands such as PONG are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            flags, body = self._frame()
            if not flags & 0x04:
                return unpack(body), body

    def recv_kind(self, kind: str, timeout: float = 10.0):
        """Messages until one of type `kind` (its data and raw payload)."""
        deadline = time.monotonic() + timeout
        while True:
            msg, raw = self.recv(max(0.01, deadline - time.monotonic()))
            if msg[0] == kind:
                return msg[1], raw

    def closed_by_master(self, timeout: float = 5.0) -> bool:
        """Whether the master closes this connection within `timeout` (what it sends meanwhile is read and dropped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if not self.sock.recv(65536):
                    return True
            except TimeoutError:
                return False
            except ConnectionError:
                return True
        return False

    def close(self):
        self.sock.close()
