"""rlocust internals: reading a response body in pieces, as each client's response object lets a locustfile do.

HttpUser (requests): `iter_content`, and `response.raw` (urllib3's HTTPResponse as requests leaves it). With
`stream=True` the engine reads the body off the connection as it arrives (stamping it for the stream metrics) and
the locustfile takes its pieces at its own pace: one that has not arrived yet is waited for on the hub like a
request; without it requests has read the body already (`raw` is empty). FastHttpUser (Locust's FastResponse over geventhttpclient): `iter_content`, `response.stream` (the socket
response), `read`, `readline`, `release` and iteration, over the body the engine has read whole.

The Rust `Response` (src/py/response.rs) calls the functions here; each has the signature of the method it stands
for, so wrong arguments fail as they fail with the client's own.

NOTE: the engine decodes an HttpUser's body (gzip, deflate, br) as it reads it, so `raw.read()` of a streamed
compressed body gives the decoded bytes where urllib3 (`decode_content=False`, as requests leaves it) gives them
as they came; pieces of a chunked body are the chunks as they arrived, which may join chunks sent together.
"""

import types

from locust import _ffi, _hub

# ---- HttpUser: requests' Response and urllib3's HTTPResponse ------------------------------------------------


def read_piece(response):
    """The next piece of a streamed body (bytes), or None at its end; raises what the client raises reading it.
    The engine reads the body as it arrives; a piece not there yet is waited for on the hub like a request."""
    value = response._read_piece()
    if value.__class__ is int:
        value = _hub.wait(value)
    if value.__class__ is tuple:
        raise _ffi.build_exc(value)
    return value


def read_rest(response):
    """Read a streamed body to its end (for `content`, `text`, `json()`); `raw` has nothing left after it."""
    pieces = []
    while True:
        piece = read_piece(response)
        if piece is None:
            break
        pieces.append(piece)
    response._finish_body(b"".join(pieces))
    d = response.__dict__
    d["_rlocust_read"] = True
    raw = d.get("_rlocust_raw")
    if raw is not None:
        raw._response = None


def _read(response, amt, chunked):
    """The next bytes of a streamed body: `amt` of them (fewer at its end, all the rest for None), or with `chunked`
    the next piece as it arrived, cut at `amt`; b"" at the end. What was read beyond goes back to the response,
    where the next read (or `content`) starts. Returns (bytes, whether the body has ended with them)."""
    first, more = response._take_first()
    pieces = [first] if first else []
    got = len(first)
    while more and (not got if chunked else amt is None or got < amt):
        piece = read_piece(response)
        if piece is None:
            more = False
            break
        pieces.append(piece)
        got += len(piece)
    data = b"".join(pieces)
    if amt is not None and got > amt:
        response._put_back(data[amt:])
        return data[:amt], False
    return data, not more


def _is_chunked(headers):
    """urllib3's `chunked`: `chunked` among the Transfer-Encoding's comma-separated codings."""
    value = (headers.get("transfer-encoding") or "").lower()
    return "chunked" in (part.strip() for part in value.split(","))


def iter_content(self, chunk_size=1, decode_unicode=False):
    """requests' `Response.iter_content`: the body in `chunk_size` pieces (None or <= 0: whole), or with
    `stream=True` read off the connection as urllib3's `stream(chunk_size)` reads it (0: nothing; None or < 0:
    all of it, or each chunk of a chunked body); with `decode_unicode`, decoded incrementally with the response's
    encoding (bytes as they are without one)."""
    if self._stream_consumed:
        raise _ffi.exc_class("requests.exceptions.StreamConsumedError")()
    if chunk_size is not None and not isinstance(chunk_size, int):
        raise TypeError(f"chunk_size must be an int, it is instead a {type(chunk_size)}.")
    if self._streaming:
        chunks = _stream_chunks(self, chunk_size)
    else:
        chunks = _slices(self.content, chunk_size)
    return _ffi.decode_chunks(chunks, self._chunk_encoding) if decode_unicode else chunks


iter_content.__qualname__ = "Response.iter_content"


def _slices(content, size):
    if size is None or size <= 0:
        size = len(content)
    for pos in range(0, len(content), size or 1):
        yield content[pos:pos + size]


def _stream_chunks(response, chunk_size):
    if chunk_size != 0:
        size = chunk_size if chunk_size is not None and chunk_size > 0 else None
        chunked = _is_chunked(response.headers)
        while True:
            chunk, _ = _read(response, size, chunked)
            if not chunk:
                break
            yield chunk
    response._consumed()


class Raw:
    """`response.raw`: urllib3's HTTPResponse as requests leaves it. Without `stream=True` requests has read the body
    (nothing left); with it, the body is read off the connection as asked, once. requests asks urllib3 not to decode
    (`decode_content` False): see the module's NOTE."""

    def __init__(self, response, data, streamed):
        self._data = data
        self._pos = 0
        # the response whose streamed body this reads; None when there is none (or nothing left of it)
        self._response = response if streamed else None
        headers = response.headers
        self.status = response.status_code
        self.reason = response.reason
        self.headers = headers
        # urllib3's numbering: 11 for HTTP/1.1, 20 for HTTP/2 (rlocust's --http2)
        self.version = getattr(response, "_version", 11) or 11
        self.decode_content = False
        self.chunked = _is_chunked(headers)
        self.url = response.url
        self._original_response = None
        self._body = None
        length = headers.get("content-length")
        self._length = int(length) if length and length.isdigit() and not self.chunked else None
        read = not streamed and not data  # requests has read the body
        # bytes read by read() (urllib3's tell() counts what it read off the socket outside chunked reads)
        self._told = self._length if read and self._length is not None else 0
        self._uncached = read  # (urllib3 then no longer caches `data`)
        self._closed = read
        # requests read it decoding: urllib3's read1 then refuses to give undecoded bytes
        codings = (headers.get("content-encoding") or "").lower().split(",")
        self._decoded = read and bool(response.content) and any(
            c.strip() in ("gzip", "x-gzip", "deflate", "br") for c in codings)

    def read(self, amt=None, decode_content=None, cache_content=False):
        if amt is not None and amt < 0:
            amt = None
        elif amt is not None:
            cache_content = False
        if self._response is not None:
            out, ended = _read(self._response, amt, False)
            if ended or not (out or amt == 0):
                self._closed = True
                self._response = None
        else:
            end = len(self._data) if amt is None else self._pos + amt
            out = self._data[self._pos:end]
            self._pos += len(out)
            self._closed = self._pos >= len(self._data)
        self._told += len(out)
        if not cache_content:
            self._uncached = True
        elif amt is None and not self._uncached:
            self._body = out
        return out

    def read1(self, amt=None, decode_content=None):
        if decode_content is None:
            decode_content = self.decode_content
        if amt is not None and amt < 0:
            amt = None
        if self._decoded and not decode_content:
            raise RuntimeError(
                "Calling read1(decode_content=False) is not supported after read1(decode_content=True) was called."
            )
        if amt == 0:
            return b""
        if self._response is None:
            return self.read(amt)
        out, ended = _read(self._response, amt, True)
        if ended or not out:
            self._closed = True
            self._response = None
        self._told += len(out)
        self._uncached = True
        return out

    def readinto(self, b):
        data = self.read(len(b))
        if not data:
            return 0
        b[:len(data)] = data
        return len(data)

    def stream(self, amt=2**16, decode_content=None):
        if amt == 0:
            return
        if self.chunked:
            yield from self.read_chunked(amt, decode_content=decode_content)
            return
        while True:
            data = self.read(amt=amt, decode_content=decode_content)
            if not data:
                return
            yield data

    def read_chunked(self, amt=None, decode_content=None):
        if not self.chunked:
            raise _ffi.exc_class("urllib3.exceptions.ResponseNotChunked")(
                "Response is not chunked. Header 'transfer-encoding: chunked' is missing.")
        if self._response is None or amt == 0:
            return
        if amt is not None and amt < 0:
            amt = None
        self._uncached = True
        while self._response is not None:
            chunk, ended = _read(self._response, amt, True)
            if ended or not chunk:
                self._closed = True
                self._response = None
            if chunk:
                yield chunk

    def __iter__(self):
        """urllib3's iteration: the body's lines (each with its b"\\n"), the last one as it ends."""
        pending = []
        for chunk in self.stream(decode_content=True):
            *lines, rest = chunk.split(b"\n")
            for line in lines:
                pending.append(line)
                yield b"".join(pending) + b"\n"
                pending = []
            if rest:
                pending.append(rest)
        if pending:
            yield b"".join(pending)

    def readline(self, size=-1):
        out = bytearray()
        while size is None or size < 0 or len(out) < size:
            byte = self.read(1)
            if not byte:
                break
            out += byte
            if byte == b"\n":
                break
        return bytes(out)

    def readlines(self, hint=-1):
        return list(self)

    @property
    def data(self):
        if self._body:
            return self._body
        return self.read(cache_content=True)

    @property
    def length_remaining(self):
        if self._length is None:
            return None
        return 0 if self._closed else max(self._length - self._told, 0)

    @property
    def closed(self):
        return self._closed

    def isclosed(self):
        return self._closed

    def readable(self):
        return True

    def tell(self):
        return self._told

    def json(self):
        import json

        return json.loads(self.data.decode("utf-8"))

    def info(self):
        return self.headers

    def getheaders(self):
        return self.headers

    def getheader(self, name, default=None):
        return self.headers.get(name, default)

    def geturl(self):
        return self.url

    def release_conn(self):
        pass

    def drain_conn(self):
        while self._response is not None:
            self.read(2**16)

    def close(self):
        if self._response is not None:
            self._response.close()
            self._response = None
        self._closed = True


def make_raw(response):
    d = response.__dict__
    raw = d.get("_rlocust_raw")
    if raw is None:
        if response._streaming:
            raw = Raw(response, b"", True)
        else:
            # a stream=True call whose body came whole (over HTTP/2, or `send()`'s) is still unread by requests
            unread = d.get("_rlocust_stream") and not d.get("_rlocust_read")
            raw = Raw(response, (response.content or b"") if unread else b"", False)
        d["_rlocust_raw"] = raw
    return raw


# ---- FastHttpUser: Locust's FastResponse over geventhttpclient --------------------------------------------


class FastStream:
    """FastHttpUser's `response.stream`: geventhttpclient's socket response (`HTTPSocketPoolResponse`) over a body
    the engine has read whole: the bytes as they came (before content decoding), readable once. Empty once
    `content` was read, which Locust does in the call unless it had `stream=True`."""

    block_size = 4096
    message_complete = True

    def __init__(self, data):
        self._buffer = bytearray(data)
        self._touched = False

    def read(self, length=None):
        """`length` bytes (Python's slice of that length: all but the last for -1), or all that is left."""
        self._touched = True
        buffer = self._buffer
        if length is not None and len(buffer) >= length:
            out = bytes(buffer[0:length])
            del buffer[0:length]
            return out
        out = bytes(buffer)
        del buffer[:]
        return out

    def readline(self, sep=b"\r\n"):
        """Up to and with the next `sep`; b"" when there is none left (what follows the last one stays)."""
        self._touched = True
        at = self._buffer.find(sep)
        if at < 0:
            return b""
        out = bytes(self._buffer[:at + len(sep)])
        del self._buffer[:at + len(sep)]
        return out

    def __iter__(self):
        return self

    def __next__(self):
        data = self.read(self.block_size)
        if not data:
            raise StopIteration()
        return data

    def release(self):
        pass


def fast_lines(response):
    """A FastHttpUser response's body as lines of text, split at "\\n" (the last one even without it), as its
    session's `iter_lines` gives them."""
    pending = ""
    for chunk in response.iter_content(chunk_size=1024, decode_content=True):
        pending += chunk.decode("utf-8", errors="replace") if isinstance(chunk, bytes) else chunk
        *lines, pending = pending.split("\n")
        yield from lines
    if pending:
        yield pending


def fast_iter_content(self, chunk_size=1024, decode_content=True):
    """Locust's FastResponse.iter_content: `response.stream` read `chunk_size` bytes at a time, the bytes as they
    came (not content-decoded); `decode_content` turns each chunk that is valid UTF-8 into str (the others stay
    bytes). Without `stream=True` there is nothing left to read."""
    if self.status_code == 0 and self._has_conn_error:
        from locust.exception import LocustError

        raise LocustError("Cannot iterate content on a response without _response attribute")
    stream = self.stream
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        if decode_content and isinstance(chunk, bytes):
            try:
                chunk = chunk.decode("utf-8")
            except UnicodeDecodeError:
                pass
        yield chunk


fast_iter_content.__qualname__ = "FastResponse.iter_content"


def _fast_read(self, n=None):
    """Read n bytes from the response body"""
    return self.stream.read(n)


def _fast_readline(self):
    return self.stream.readline()


def _fast_release(self):
    return self.stream.release()


_fast_read.__qualname__ = "CompatResponse.read"
_fast_readline.__qualname__ = "CompatResponse.readline"
_fast_release.__qualname__ = "CompatResponse.release"
_FAST_METHODS = {"read": _fast_read, "readline": _fast_readline, "release": _fast_release}


def fast_method(response, name):
    return types.MethodType(_FAST_METHODS[name], response)


def fast_content(response, stream):
    """FastHttpUser's `content` read after `response.stream` (None: nothing of it was read, the engine's decoded
    body stands): what is left of the body, decoded as geventhttpclient's CompatResponse decodes it (raising what
    zlib or brotli raise on a body whose start was read away)."""
    if not stream._touched:
        return None
    rest = stream.read()
    encodings = response.headers.get("content-encoding")
    encoding = encodings.split(",")[0].lower() if encodings else "identity"
    if encoding == "gzip":
        import zlib

        return zlib.decompress(rest, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        import zlib

        try:
            return zlib.decompress(rest, -zlib.MAX_WBITS)
        except zlib.error:
            return zlib.decompress(rest)
    if encoding == "br":
        import brotli

        return brotli.decompress(rest)
    return rest
