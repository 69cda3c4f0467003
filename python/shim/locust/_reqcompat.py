"""The parts of requests' API that live in Python around the engine's exchange: prepared requests that auth classes
and hooks can work on, response hooks, `session.send`/`prepare_request`, the adapter a hook resends through
(`response.connection`), and the Response helpers the Rust `Response` delegates to (links, next, raw, iter_lines,
apparent_encoding).

Real `requests` objects are used when requests is installed (an `AuthBase` subclass, `requests.Request` or
`HTTPDigestAuth` can only come from an installed requests): a locustfile's auth class then sees the
`PreparedRequest` it was written for. Without requests, `PreparedRequest` below offers the same attributes.

Only calls that use these features pay for them: a plain `client.get(...)` never comes here.
"""

import codecs
import copy as _copy
import re
from urllib.parse import urljoin, urlsplit

HOOKS = ["response"]


def default_hooks():
    return {event: [] for event in HOOKS}


def _requests():
    try:
        import requests

        return requests
    except Exception:
        return None


class PreparedRequest:
    """requests' `PreparedRequest` for when requests is not installed: method, url, headers, body, hooks."""

    def __init__(self):
        self.method = None
        self.url = None
        self.headers = None
        self.body = None
        self.hooks = default_hooks()
        self._cookies = None
        self._body_position = None

    def register_hook(self, event, hook):
        if event not in self.hooks:
            raise ValueError(f'Unsupported event specified, with event name "{event}"')
        if callable(hook):
            self.hooks[event].append(hook)
        elif hasattr(hook, "__iter__"):
            self.hooks[event].extend(h for h in hook if callable(h))

    def deregister_hook(self, event, hook):
        try:
            self.hooks[event].remove(hook)
            return True
        except ValueError:
            return False

    def copy(self):
        p = PreparedRequest()
        p.method = self.method
        p.url = self.url
        p.headers = self.headers.copy() if self.headers is not None else None
        p._cookies = _copy.copy(self._cookies)
        p.body = self.body
        p.hooks = self.hooks
        p._body_position = self._body_position
        return p

    def prepare_cookies(self, cookies):
        pass

    @property
    def path_url(self):
        p = urlsplit(self.url)
        return (p.path or "/") + ("?" + p.query if p.query else "")

    def __repr__(self):
        return f"<PreparedRequest [{self.method}]>"


def new_prepared(method, url, headers, body):
    """A prepared request holding what the engine is about to send (headers: a case-insensitive mapping)."""
    rq = _requests()
    if rq is not None:
        p = rq.PreparedRequest()
        p.method = method
        p.url = url
        p.headers = rq.structures.CaseInsensitiveDict(headers)
        p.body = body
        p._cookies = rq.cookies.RequestsCookieJar()
        return p
    p = PreparedRequest()
    p.method = method
    p.url = url
    from locust._bridge import CaseInsensitiveDict

    p.headers = CaseInsensitiveDict(headers)
    p.body = body
    return p


def apply_auth(prep, auth):
    """requests' `prepare_auth` for a callable auth: the auth may change the request or return another one."""
    r = auth(prep)
    if r is not None and r is not prep:
        prep.__dict__.update(r.__dict__)
    return prep


def merge_hooks(request_hooks, session_hooks):
    """requests' `merge_hooks`: the request's list for an event replaces the session's (not added to it)."""
    if not session_hooks or session_hooks.get("response") == []:
        return request_hooks
    if not request_hooks or request_hooks.get("response") == []:
        return session_hooks
    merged = dict(session_hooks)
    merged.update(request_hooks)
    return {k: v for k, v in merged.items() if v is not None}


def register_hooks(prep, hooks):
    """requests' `prepare_hooks`: every event's hook (or list of hooks) registered on `prep`."""
    for event, hook in (hooks or {}).items():
        prep.register_hook(event, hook)


def dispatch(prep_hooks, response, hook_kwargs):
    """requests' `dispatch_hook('response', ...)`: each hook may return a response that replaces the current one."""
    hooks = (prep_hooks or {}).get("response")
    if not hooks:
        return response
    if callable(hooks):
        hooks = [hooks]
    for hook in hooks:
        out = hook(response, **hook_kwargs)
        if out is not None:
            response = out
    return response


def has_hooks(hooks):
    if not hooks:
        return False
    h = hooks.get("response")
    return bool(h)


def body_bytes(body):
    """A prepared request's body as the engine takes it."""
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "__iter__"):
        return b"".join(x.encode("utf-8") if isinstance(x, str) else bytes(x) for x in body)
    return str(body).encode("utf-8")


class Adapter:
    """`response.connection`: what requests' transport adapter offers a hook, `send(prepared, **kwargs)`, through the
    session's engine (not recorded in the statistics, as requests' own resends are not)."""

    def __init__(self, session):
        self._session = session

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None, **kwargs):
        return self._session._send_prepared(request, timeout=timeout, verify=verify, allow_redirects=False,
                                            stream=stream, hooks=False, proxies=proxies, env_proxies=False)

    def close(self):
        pass

    def __repr__(self):
        return "<rlocust.HTTPAdapter>"


# ---- Response helpers (called by the Rust Response) ----------------------------------------------------------

_LINK_SPLIT = re.compile(r", *<")


def parse_links(value):
    """requests' `Response.links` from the Link header value (None: no header)."""
    if not value:
        return {}
    links = []
    replace_chars = " '\""
    value = value.strip(replace_chars)
    if not value:
        return {}
    for val in _LINK_SPLIT.split(value):
        try:
            url, params = val.split(";", 1)
        except ValueError:
            url, params = val, ""
        link = {"url": url.strip("<> '\"")}
        for param in params.split(";"):
            try:
                key, v = param.split("=")
            except ValueError:
                break
            link[key.strip(replace_chars)] = v.strip(replace_chars)
        links.append(link)
    out = {}
    for link in links:
        key = link.get("rel") or link.get("url")
        out[key] = link
    return out


def next_request(response):
    """requests' `Response.next`: the next hop's request of a redirect that was not followed, else None."""
    if not response.is_redirect:
        return None
    if response.history:  # redirects were followed: requests sets no `_next`
        return None
    location = response.headers.get("location")
    req = response.request
    method = req.method
    if response.status_code == 303 and method != "HEAD":
        method = "GET"
    elif response.status_code in (301, 302) and method == "POST":
        method = "GET"
    url = urljoin(response.url, location)
    headers = dict(req.headers.items()) if req.headers is not None else {}
    body = req.body
    if response.status_code not in (307, 308):
        for h in ("Content-Length", "Content-Type", "Transfer-Encoding"):
            headers.pop(h, None)
            headers.pop(h.lower(), None)
        body = None
    return new_prepared(method, url, headers, body)


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
    from locust import _bridge

    ticket = response._read_piece()
    if ticket is None:
        return None
    value = _bridge.wait(ticket)
    if value.__class__ is tuple:
        raise _bridge.build_exc(value)
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
    return decode_chunks(chunks, encoding) if decode_unicode else chunks


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


def iter_lines(response, chunk_size=512, decode_unicode=False, delimiter=None):
    """requests' `Response.iter_lines` (its pending-line algorithm, over `iter_content`)."""
    pending = None
    for chunk in response.iter_content(chunk_size=chunk_size, decode_unicode=decode_unicode):
        if pending is not None:
            chunk = pending + chunk
        lines = chunk.split(delimiter) if delimiter else chunk.splitlines()
        if lines and lines[-1] and chunk and lines[-1][-1] == chunk[-1]:
            pending = lines.pop()
        else:
            pending = None
        yield from lines
    if pending is not None:
        yield pending


def decode_chunks(chunks, encoding):
    """requests' `stream_decode_response_unicode`: chunks decoded incrementally, or as they are without an encoding."""
    if encoding is None:
        yield from chunks
        return
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    except LookupError:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for chunk in chunks:
        rv = decoder.decode(chunk)
        if rv:
            yield rv
    rv = decoder.decode(b"", final=True)
    if rv:
        yield rv


def apparent_encoding(content):
    """requests' `Response.apparent_encoding`: chardet's guess when chardet is installed, else charset_normalizer's
    (requests' own order); without either, ascii / utf-8 / None by what the bytes decode as."""
    detect = None
    try:
        import chardet

        detect = chardet.detect
    except Exception:
        try:
            import charset_normalizer

            detect = charset_normalizer.detect
        except Exception:
            pass
    if detect is not None:
        return detect(content)["encoding"]
    if not content:
        return "utf-8"
    try:
        content.decode("ascii")
        return "ascii"
    except UnicodeDecodeError:
        pass
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return None
