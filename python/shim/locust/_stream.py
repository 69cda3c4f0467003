"""rlocust internals: a streamed body (`stream=True`) read off the connection as the locustfile asks for it.

`response.raw`, `iter_content` and the read of the rest for `content` come here from the Rust `Response`; each
piece is a ticket the engine answers, waited for on the hub like a request.
"""

from locust import _ffi, _hub


class Raw:
    """`response.raw`: the body as a file-like object. requests has read it whole unless the call had `stream=True`;
    then it is readable once."""

    def __init__(self, response, data):
        self._data = data
        self._pos = 0
        self.status = response.status_code
        self.reason = response.reason
        self.headers = response.headers
        # urllib3's numbering: 11 for HTTP/1.1, 20 for HTTP/2 (rlocust's --http2)
        self.version = getattr(response, "_version", 11) or 11
        self.decode_content = True
        self._original_response = None
        self.closed = False
        self._response = None

    def read(self, amt=None, decode_content=None, cache_content=False):
        if self._response is not None:
            return self._read_streamed(amt)
        if amt is None or amt < 0:
            out = self._data[self._pos:]
        else:
            out = self._data[self._pos:self._pos + amt]
        self._pos += len(out)
        return out

    def _read_streamed(self, amt):
        """A streamed body read off the connection as asked: `amt` bytes (fewer at the end), or all of it. What a
        piece brings beyond `amt` goes back to the response, where the next read (or `content`) starts."""
        response = self._response
        data, more = response._take_first()
        while more and (amt is None or amt < 0 or len(data) < amt):
            piece = read_piece(response)
            if piece is None:
                break
            data += piece
        if amt is not None and amt >= 0:
            response._put_back(data[amt:])
            data = data[:amt]
        self._pos += len(data)
        return data

    def stream(self, amt=2**16, decode_content=None):
        while True:
            chunk = self.read(amt)
            if not chunk:
                return
            yield chunk

    def readable(self):
        return True

    def tell(self):
        return self._pos

    def getheader(self, name, default=None):
        return self.headers.get(name, default)

    def release_conn(self):
        pass

    def close(self):
        self.closed = True

    @property
    def data(self):
        return self._data

    def __iter__(self):
        return self.stream()


def read_piece(response):
    """The next piece of a streamed body (bytes), or None at its end; raises what the client raises reading it."""
    ticket = response._read_piece()
    if ticket is None:
        return None
    value = _hub.wait(ticket)
    if value.__class__ is tuple:
        raise _ffi.build_exc(value)
    return value


def read_rest(response):
    """Read a streamed body to its end (for `content`, `text`, `json()`)."""
    pieces = []
    while True:
        piece = read_piece(response)
        if piece is None:
            break
        pieces.append(piece)
    response._finish_body(b"".join(pieces))


def iter_stream(response, chunk_size, decode_unicode, encoding):
    """`iter_content` of a streamed body, read off the connection as it goes, in urllib3's pieces: with
    Content-Length (or to the close) `chunk_size` bytes at a time (fewer at the end), with chunked encoding each
    chunk as it arrives, cut at `chunk_size` (chunks that arrive together may come as one piece here)."""

    def pieces():
        first, more = response._take_first()
        size = chunk_size if chunk_size and chunk_size > 0 else None
        chunked = "chunked" in (response.headers.get("transfer-encoding") or "").lower()
        held = b""
        piece = first
        while True:
            if size is None:
                if piece:
                    yield piece
            elif chunked:
                for i in range(0, len(piece), size):
                    yield piece[i:i + size]
            else:
                held += piece
                while len(held) >= size:
                    yield held[:size]
                    held = held[size:]
            piece = read_piece(response) if more else None
            if piece is None:
                if held:
                    yield held
                response._consumed()
                return

    chunks = pieces()
    return _ffi.decode_chunks(chunks, encoding) if decode_unicode else chunks


def make_raw(response):
    d = response.__dict__
    raw = d.get("_rlocust_raw")
    if raw is None and response._streaming:
        raw = d["_rlocust_raw"] = Raw(response, b"")
        raw._response = response
        return raw
    if raw is None:
        data = (response.content or b"") if d.get("_rlocust_stream") else b""
        raw = d["_rlocust_raw"] = Raw(response, data)
    return raw
