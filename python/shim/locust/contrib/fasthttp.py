"""`FastHttpUser` and `FastHttpSession`: Locust's geventhttpclient-based client, served by the same Rust engine.

Differences from `HttpSession` that users see are kept: the stats name is the url as passed (absolute URLs stay
whole), any status outside geventhttpclient's accepted set fails as `LocustBadStatusCode(code=N)`, no TLS
verification by default, geventhttpclient's bodies (`files=` as its multipart), FastHttpUser's own class attributes
and argument names, and its responses' reading surface (`iter_content(chunk_size, decode_content)`, `stream`,
`read`: locust._stream).
"""

import json as unshadowed_json
import re
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from greenlet import getcurrent as _getcurrent

import _rlocust
from _rlocust import Request as _Request
from locust import _aio, _ffi, _hub, _stream
from locust._clientlib import (
    NAME_ONLY,
    NO_CONTEXT,
    CookieJarView,
    ResponseContextManager,
    RestResponseContextManager,
    add_params,
    basic_auth_header,
    encode_body,
    finish_call,
    has_user_listeners,
    header_pairs,
    http2_wanted,
    memoized,
    native_verbs,
    requote,
    split_credentials,
)
from locust.exception import LocustError, StopTest
from locust.user.users import RestMixin, User

_ABSOLUTE = re.compile(r"^https?://", re.I)
_GEVENTHTTPCLIENT_VERSION = "2.6.1"

FastResponse = _rlocust.Response


# (its repr is `LocustBadStatusCode(code=N)`; made in `locust._ffi`, where the Rust Response makes it too)
LocustBadStatusCode = _ffi.LocustBadStatusCode


_STREAMED, _NOT_STREAMED = {"stream": True}, {}
# the headers of a request with none of its own, as `request` makes them
_PLAIN_PAIRS = header_pairs({"User-Agent": "python/gevent-http-client-" + _GEVENTHTTPCLIENT_VERSION,
                             "Accept-Encoding": "gzip, deflate, br"}, fast=True)[0]
_rlocust.share_headers(_PLAIN_PAIRS)  # never changed: converted once, not per call


def _plain_plan_of(base, url):
    """What `request` sends and reports for `url` with no arguments: (URL as sent, URL as reported, scheme), or
    False where it does more: a URL with tabs or line breaks, a bad port, no host."""
    built = url if _ABSOLUTE.match(url) else "%s%s" % (base or "", url)
    if not _ABSOLUTE.match(built) or "\t" in built or "\n" in built or "\r" in built:
        return False
    parts = urlsplit(built)
    try:
        parts.port
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return (requote(built), built, parts.scheme)


_plain_plan = memoized(_plain_plan_of)


def fast_body(data, files):
    """(body bytes or None, default Content-Type or None) as geventhttpclient 2.6 makes them from `payload=` and
    `files=`: files as its multipart/form-data (with `data` as form fields), a dict URL-encoded with
    `; charset=utf-8`, a str as `text/plain; charset=utf-8`, bytes or what a file's read() gives as
    `application/octet-stream`; anything else fails as geventhttpclient fails on it (AttributeError: no read)."""
    if files:
        return fast_multipart(data, files)
    if not data:
        return None, None
    if isinstance(data, dict):
        body, _ = encode_body(data, None, None, {})
        return body, "application/x-www-form-urlencoded; charset=utf-8"
    if isinstance(data, str):
        return data.encode("utf-8"), "text/plain; charset=utf-8"
    if isinstance(data, bytes):
        return data, "application/octet-stream"
    # anything else is a file to geventhttpclient (a list of pairs, a bytearray too): it calls read() on it
    body = data.read()
    return (body.encode("utf-8") if isinstance(body, str) else bytes(body)), "application/octet-stream"


def fast_multipart(data, files):
    """geventhttpclient's multipart body: form fields first, then one part per file (2- to 5-tuples: filename,
    content, content type, extra headers, boundary), a random hex boundary unless a 5-tuple names one."""
    import binascii
    import os

    if isinstance(data, (str, bytes)):
        raise ValueError("Data must not be a string.")

    def pairs(value):
        return list(value.items()) if hasattr(value, "items") else list(value or [])

    items = pairs(files)
    boundary = next((v[4] for _, v in items if isinstance(v, (tuple, list)) and len(v) >= 5), None)
    if boundary is None:
        boundary = binascii.hexlify(os.urandom(16)).decode("ascii")
    mark = boundary.encode("ascii")

    def part(name, value, filename=None, ctype=None, extra=None):
        disposition = f'Content-Disposition: form-data; name="{str(name).replace(chr(34), "%22")}"'
        if filename is not None:
            disposition += f'; filename="{str(filename).replace(chr(34), "%22")}"'
        lines = [disposition.encode()]
        if ctype is not None:
            lines.append(f"Content-Type: {ctype}".encode())
        for k, v in pairs(extra):
            lines.append(f"{k}: {v}".encode())
        if isinstance(value, str):
            value = value.encode("utf-8")
        return b"".join((b"--", mark, b"\r\n", b"\r\n".join(lines), b"\r\n\r\n", bytes(value), b"\r\n"))

    out = []
    for field, val in pairs(data):
        if isinstance(val, (str, bytes)) or not hasattr(val, "__iter__"):
            val = [val]
        for v in val:
            if v is not None:
                if isinstance(field, bytes):
                    field = field.decode("utf-8")
                out.append(part(field, v if isinstance(v, bytes) else str(v)))
    for k, v in items:
        ctype = extra = None
        if isinstance(v, (tuple, list)):
            if len(v) == 2:
                fname, content = v
            elif len(v) == 3:
                fname, content, ctype = v
            elif len(v) == 4:
                fname, content, ctype, extra = v
            else:
                fname, content, ctype, extra, _ = v
        else:
            # geventhttpclient's `_guess_filename`: the base name of `.name`, unless it starts with "<" or ends with
            # ">"; the field's name when that gives nothing
            name = getattr(v, "name", None)
            if isinstance(name, bytes):
                name = name.decode()
            guessed = os.path.basename(name) if isinstance(name, str) and name and name[0] != "<" and name[
                -1] != ">" else None
            fname = guessed or k
            content = v
        if not isinstance(content, (str, bytes, bytearray)):
            if hasattr(content, "read"):
                content = content.read()
            elif content is None:
                continue
        out.append(part(k.decode("utf-8") if isinstance(k, bytes) else k, content, fname, ctype, extra))
    return b"".join(out) + b"--" + mark + b"--\r\n", f"multipart/form-data; boundary={boundary}"


class FastHttpSession(_rlocust.Client):
    """Locust's FastHttpSession backed by the Rust engine. Its verbs are `_rlocust.Client`'s: the plain call in Rust
    (src/py/call.rs), every other one by the `_slow_<verb>` methods here."""

    _flavor = "fast"

    def __init__(self, base_url, request_event, user, insecure=True, client_pool=None, ssl_context_factory=None,
                 **kwargs):
        self.request_event = request_event
        base_url, creds = split_credentials(base_url)
        self.base_url = base_url
        self.user = user
        self.request_name = None
        self.insecure = insecure
        self.client_pool = client_pool
        self.ssl_context_factory = ssl_context_factory
        self._ssl_verify = None  # from the factory's context, made on the first https request
        self.network_timeout = kwargs.get("network_timeout", 60.0)
        self.connection_timeout = kwargs.get("connection_timeout", 60.0)
        self.max_redirects = kwargs.get("max_redirects", 30)
        self.max_retries = kwargs.get("max_retries", 0)
        self.concurrency = int(kwargs.get("concurrency", 10) or 10)
        self.default_headers = dict(kwargs.get("headers") or {})
        self.auth_header = basic_auth_header(*creds) if creds else None
        # geventhttpclient's proxy: plain-HTTP requests forwarded with their absolute URL, HTTPS through CONNECT
        proxy_host, proxy_port = kwargs.get("proxy_host"), kwargs.get("proxy_port")
        self._proxy = f"http://{proxy_host}:{int(proxy_port)}" if proxy_host and proxy_port else None
        self._core = _rlocust.Session(self._flavor)
        if http2_wanted(user):
            self._core.http2 = True
        from locust.user.wait_time import _pacing_ms  # here: locust.user imports this module

        self._core.pacing_ms = _pacing_ms(user)
        if _NATIVE_VERBS:
            self._bind(self._core)

    @property
    def cookiejar(self):
        return CookieJarView(self)

    @contextmanager
    def rename_request(self, name):
        self.request_name = name
        try:
            yield
        finally:
            self.request_name = None

    def _build_url(self, path):
        if _ABSOLUTE.match(path):
            return path
        return "%s%s" % (self.base_url or "", path)

    # urlopen's own keyword arguments in geventhttpclient; every other keyword becomes a query parameter (a form
    # field for POST), as geventhttpclient does with them.
    _URLOPEN_KWARGS = frozenset(("params", "files", "max_retries", "max_redirects", "to_string", "debug_stream"))

    def request(self, method, url, name=None, data=None, catch_response=False, stream=False, headers=None,
                auth=None, json=None, allow_redirects=True, context={}, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(FastHttpSession.request, self, (method, url, name, data, catch_response, stream, headers,
                                                             auth, json, allow_redirects, context), kwargs)
        if self.request_name and not name:
            name = self.request_name
        built = self._build_url(url)
        absolute = built is url
        hdrs = {"User-Agent": "python/gevent-http-client-" + _GEVENTHTTPCLIENT_VERSION}
        hdrs.update(self.default_headers)
        if headers:
            hdrs.update(headers)
        lower = {k.lower() for k in hdrs}
        if auth:
            hdrs["Authorization"] = basic_auth_header(auth[0], auth[1])
        elif self.auth_header:
            hdrs["Authorization"] = self.auth_header
        if "accept-encoding" not in lower:
            hdrs["Accept-Encoding"] = "gzip, deflate, br"
        # NOTE (geventhttpclient's urlopen): keywords it does not know are request data, not options: e.g.
        # `timeout=3` is sent as `?timeout=3` (a form field for POST) and sets no timeout; FastHttpUser's timeouts
        # are its network_timeout and connection_timeout.
        extra = {k: kwargs.pop(k) for k in list(kwargs) if k not in self._URLOPEN_KWARGS}
        params = kwargs.pop("params", None)
        if extra:
            if method.upper() == "POST":
                if data is None:
                    data = extra
                elif isinstance(data, dict):
                    data.update(extra)
            elif params is None:
                params = extra
            elif isinstance(params, dict):
                params.update(extra)
        body = None
        # geventhttpclient's request keeps a str payload as text only under a Content-Type the call already has (as
        # json's); without one it encodes it (`_make_request`: text/plain, bytes)
        text_body = isinstance(data, str) and any(k.lower() == "content-type" and v for k, v in hdrs.items())
        if not data and json is not None:
            if kwargs.get("files"):
                # Locust passes json= as a str payload, which geventhttpclient refuses next to files
                raise ValueError("Data must not be a string.")
            text_body = True
            body = unshadowed_json.dumps(json).encode("utf-8")
            if "content-type" not in lower:
                hdrs["Content-Type"] = "application/json"
            if "accept" not in lower:
                hdrs["Accept"] = "application/json"
        else:
            files = kwargs.pop("files", None)
            body, ctype = fast_body(data, files)
            if files:
                # geventhttpclient's multipart Content-Type (with its boundary) replaces one the locustfile gave
                for k in [k for k in hdrs if k.lower() == "content-type"]:
                    del hdrs[k]
                hdrs["Content-Type"] = ctype
            elif ctype and "content-type" not in lower:
                hdrs["Content-Type"] = ctype
        if params:
            built = add_params(built, params)
        max_redirects = kwargs.pop("max_redirects", None)
        listeners = catch_response or has_user_listeners(self.request_event)
        if "\t" in built or "\n" in built or "\r" in built:  # geventhttpclient's urlparse drops them
            built = built.replace("\t", "").replace("\n", "").replace("\r", "")
        parts = urlsplit(built)
        parts.port  # a bad port raises ValueError("Port could not be cast to integer value as ...")
        pairs, fault = header_pairs(hdrs, fast=True)
        target = built
        no_host = absolute and not parts.hostname
        if no_host:
            # no host (`http:///path`): geventhttpclient looks up "" and fails with gaierror, after it has built the
            # request (so a bad header is reported first). The engine is told so; the URL it parses needs a host.
            target = urlunsplit((parts.scheme, "localhost", parts.path, parts.query, parts.fragment))
        ticket = self._core.send(_Request(
            method,
            requote(target),
            name or url,
            pairs,
            body,
            self._timeouts(),
            bool(allow_redirects),
            self._verify(parts.scheme),
            [],
            not listeners,
            self.max_redirects if max_redirects is None else int(max_redirects),
            None,
            self.concurrency + 1,
            header_fault=fault,
            no_host=no_host,
            proxy=self._proxy,
            # stream=True: recorded at the response head, with Content-Length as its length, as Locust does
            **(_STREAMED if stream else _NOT_STREAMED),
        ))
        response = _hub.wait(ticket)
        if text_body:
            response.__dict__["_rlocust_text_body"] = True  # `response.request.body` as text
        return finish_call(self, response, method, built, context, catch_response, listeners)

    def _plain_call(self, method, url, name):
        """`request` for the commonest call, a URL (and a name) on a session without default headers or credentials
        and with `request` neither overridden nor patched: the same request goes out and the same Response comes
        back, without the argument handling (issue 29). None: the call needs `request`."""
        if (
            self.__class__ is not FastHttpSession
            or FastHttpSession.request is not _PLAIN_REQUEST
            or url.__class__ is not str
            or self.default_headers
            or self.auth_header
        ):
            return None
        plan = _plain_plan(self.base_url, url)
        if plan is False:
            return None
        target, built, scheme = plan
        if self.request_name and not name:
            name = self.request_name
        listeners = has_user_listeners(self.request_event)
        ticket = self._core.send(_Request(
            method, target, name or url, _PLAIN_PAIRS, None, self._timeouts(), True, self._verify(scheme), [],
            not listeners, self.max_redirects, None, self.concurrency + 1, proxy=self._proxy,
        ))
        return finish_call(self, _hub.wait(ticket), method, built, NO_CONTEXT, False, listeners)

    def _verify(self, scheme):
        """Whether the certificate of an https URL is checked: as `insecure` says, or, with an
        `ssl_context_factory`, as the context it makes says (its `verify_mode`). The factory is called on the first
        https request, as geventhttpclient calls it for its first connection, so a factory that fails (e.g.
        `CERT_NONE` with `check_hostname` on: ValueError) fails that request's call the same way. The rest of the
        context (ciphers, client certificates, CA files) is not used: TLS is rustls."""
        if self.ssl_context_factory is None or scheme.lower() != "https":
            return not self.insecure
        if self._ssl_verify is None:
            import ssl

            self._ssl_verify = self.ssl_context_factory().verify_mode != ssl.CERT_NONE
        return self._ssl_verify

    def _timeouts(self):
        """(connect s, read s, connect as text, read as text) from connection_timeout and network_timeout, checked
        as gevent's sockets check them: negative raises ValueError; 0 makes the socket non-blocking (every request
        fails with BlockingIOError, the engine does the same); inf, nan and huge values mean no timeout. Every call
        asks, so the answer is kept for the two objects it was made from."""
        connect, network = self.connection_timeout, self.network_timeout
        memo = self._timeouts_memo
        if memo is not None and memo[0] is connect and memo[1] is network:
            return memo[2]
        out = []
        for value in (self.connection_timeout, self.network_timeout):
            if value is None:
                out.append(None)
                continue
            value = float(value)
            if value < 0:
                raise ValueError("Timeout value out of range")
            out.append(value)
        made = (out[0], out[1], str(self.connection_timeout), str(self.network_timeout))
        self._timeouts_memo = (connect, network, made)
        return made

    _timeouts_memo = None

    def _slow_get(self, url, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(FastHttpSession.get, self, (url,), kwargs)
        if not kwargs or kwargs.keys() == NAME_ONLY:
            response = self._plain_call("GET", url, kwargs.get("name"))
            if response is not None:
                return response
        return self.request("GET", url, **kwargs)

    def _slow_head(self, url, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(FastHttpSession.head, self, (url,), kwargs)
        return self.request("HEAD", url, **kwargs)

    def _slow_options(self, url, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(FastHttpSession.options, self, (url,), kwargs)
        return self.request("OPTIONS", url, **kwargs)

    def _slow_delete(self, url, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(FastHttpSession.delete, self, (url,), kwargs)
        if not kwargs or kwargs.keys() == NAME_ONLY:
            response = self._plain_call("DELETE", url, kwargs.get("name"))
            if response is not None:
                return response
        return self.request("DELETE", url, **kwargs)

    def _slow_post(self, url, data=None, json=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(FastHttpSession.post, self, (url, data, json), kwargs)
        return self.request("POST", url, data=data, json=json, **kwargs)

    def _slow_put(self, url, data=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(FastHttpSession.put, self, (url, data), kwargs)
        return self.request("PUT", url, data=data, **kwargs)

    def _slow_patch(self, url, data=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(FastHttpSession.patch, self, (url, data), kwargs)
        return self.request("PATCH", url, data=data, **kwargs)

    def iter_lines(self, url, method="GET", **kwargs):
        """The lines of a `stream=True` request's body as text (split at "\\n", the last one even without it), as
        Locust's FastHttpSession gives them; raises the request's error first. Inside a coroutine, an async iterator
        over them (`async for`)."""
        lines = self._lines(url, method, kwargs)
        if _aio.in_loop():
            return _aio.aiter_pieces(lines)
        return lines

    def _lines(self, url, method, kwargs):
        response = self.request(method, url, stream=True, **kwargs)
        response.raise_for_status()
        yield from _stream.fast_lines(response)


_PLAIN_REQUEST = FastHttpSession.request  # (a locustfile that patches FastHttpSession.request keeps its patch)
_NATIVE_VERBS = native_verbs(FastHttpSession, "fast", _PLAIN_REQUEST, lambda: _PLAIN_PAIRS, _plain_plan_of)


class FastHttpUser(User, RestMixin):
    """A user whose `client` is a FastHttpSession (geventhttpclient semantics, Rust engine)."""

    network_timeout = 60.0
    connection_timeout = 60.0
    max_redirects = 30
    max_retries = 0
    insecure = True
    default_headers = None
    concurrency = 10
    proxy_host = None
    proxy_port = None
    client_pool = None
    ssl_context_factory = None
    abstract = True

    def __init__(self, environment):
        super().__init__(environment)
        if self.host is None:
            raise StopTest(
                "You must specify the base host. Either in the host attribute in the User class, or on the command line using the --host option."
            )
        self.client = FastHttpSession(
            base_url=self.host,
            request_event=self.environment.events.request,
            network_timeout=self.network_timeout,
            connection_timeout=self.connection_timeout,
            max_redirects=self.max_redirects,
            max_retries=self.max_retries,
            insecure=self.insecure,
            concurrency=self.concurrency,
            user=self,
            client_pool=self.client_pool,
            ssl_context_factory=self.ssl_context_factory,
            headers=self.default_headers,
            proxy_host=self.proxy_host,
            proxy_port=self.proxy_port,
        )


class FastHttpLocust:
    def __init_subclass__(cls, *args, **kwargs):
        raise ImportError("The FastHttpLocust class has been renamed to FastHttpUser in version 1.0. For more info see: https://docs.locust.io/en/latest/changelog.html#changelog-1-0")


__all__ = ["FastHttpUser", "FastHttpSession", "FastResponse", "LocustBadStatusCode", "ResponseContextManager",
           "RestResponseContextManager", "LocustError"]
