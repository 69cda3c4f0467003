"""rlocust internals: the Python objects the Rust engine makes and calls (a leaf: it imports nothing else of the shim).

The Rust `Response` (src/py/response.rs) builds its Python-side values here: the case-insensitive header mapping,
cookies, `response.request`, exception objects from the engine's descriptions, and requests' Response helpers
(links, next, iter_lines, apparent_encoding). Rust looks these up once each, by name, through its table of
callables (src/py/callables.rs); both clients (`locust.clients`, `locust.contrib.fasthttp`) take the exception
classes from here too.
"""

import codecs
import copy as _copy
import json as _json
import re
import types as _types
from urllib.parse import urljoin, urlsplit

# ---- factories used by the Rust Response -------------------------------------------------------------------

class CaseInsensitiveDict(dict):
    """Header mapping with case-insensitive keys that keeps the original spelling (like requests')."""

    def __init__(self, data=None, **kwargs):
        super().__init__()
        self._keys = {}
        if data:
            self.update(data)
        if kwargs:
            self.update(kwargs)

    def __setitem__(self, key, value):
        low = key.lower()
        old = self._keys.get(low)
        if old is not None and old != key:
            super().__delitem__(old)
        self._keys[low] = key
        super().__setitem__(key, value)

    def __getitem__(self, key):
        return super().__getitem__(self._keys[key.lower()])

    def __delitem__(self, key):
        real = self._keys.pop(key.lower())
        super().__delitem__(real)

    def __contains__(self, key):
        return isinstance(key, str) and key.lower() in self._keys

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def pop(self, key, *default):
        real = self._keys.pop(key.lower(), None)
        if real is None:
            if default:
                return default[0]
            raise KeyError(key)
        return super().pop(real)

    def setdefault(self, key, default=None):
        if key in self:
            return self[key]
        self[key] = default
        return default

    def update(self, other=(), **kwargs):
        items = other.items() if hasattr(other, "items") else other
        for k, v in items:
            self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def lower_items(self):
        return ((k, self[k]) for k in self._keys)

    def copy(self):
        return CaseInsensitiveDict(self.items())

    def __eq__(self, other):
        if not hasattr(other, "items"):
            return NotImplemented
        return {k.lower(): v for k, v in self.items()} == {k.lower(): v for k, v in other.items()}

    def __repr__(self):
        return str(dict(self.items()))

    def __reduce__(self):
        # (a dict subclass is otherwise unpickled item by item before its `_keys` exist; copy.copy goes the same way)
        return CaseInsensitiveDict, (list(self.items()),)


def make_headers(pairs):
    h = CaseInsensitiveDict()
    for k, v in pairs:
        if k in h:
            h[k] = h[k] + ", " + v
        else:
            h[k] = v
    return h


class CookieDict(dict):
    def get_dict(self, domain=None, path=None):
        return dict(self)


def make_cookies(pairs):
    return CookieDict(pairs)


def response_state(response):
    """What requests' `Response.__getstate__` pickles (its `__attrs__`, the body read), with requests' own header and
    cookie classes when requests is installed, so that real Locust (where `locust.clients.Response` is requests')
    unpickles it too."""
    content = response.content
    headers = response.headers
    cookies = response.cookies
    try:
        from requests.cookies import RequestsCookieJar
        from requests.structures import CaseInsensitiveDict as RequestsHeaders
    except ImportError:
        pass
    else:
        headers = RequestsHeaders(headers)
        jar = RequestsCookieJar()
        for name, value in cookies.items():
            jar.set(name, value)
        cookies = jar
    return {
        "_content": content,
        "status_code": response.status_code,
        "headers": headers,
        "url": response.url,
        "history": list(response.history),
        "encoding": response.encoding,
        "reason": response.reason,
        "cookies": cookies,
        "elapsed": response.elapsed,
        "request": response.request,
    }


def make_request(method, url, headers, body, response=None):
    """`response.request`: requests' PreparedRequest (the real class when requests is installed) of what was sent."""
    if body is not None and response is not None and response.__dict__.get("_rlocust_text_body"):
        body = body.decode("utf-8")
    # NOTE: the engine keeps header names in lower case; requests shows them as the locustfile wrote them, which for
    # its own defaults and most locustfiles is Title-Case
    return new_prepared(method, url, make_headers([("-".join(p.capitalize() for p in k.split("-")), v)
                                                   for k, v in headers]), body)


# ---- exceptions ----------------------------------------------------------------------------------------------
#
# The engine describes every failure as the exception the locustfile's client raises (class path, args,
# attributes, __context__; see src/http/wire/exc.rs); `build_exc` makes the object. The classes are the real ones
# when requests, urllib3 and geventhttpclient are installed, and look-alikes with the same module, name, base
# classes and repr() when they are not (rlocust itself needs none of them).


def _requests_exceptions():
    try:
        import requests.exceptions as rex

        return rex
    except Exception:
        return None


def _fallback_classes():
    """Look-alike classes by import path, made once."""
    made = {}

    def cls(path, bases, body=None):
        module, _, name = path.rpartition(".")
        c = type(name, bases, dict(body or {}, __module__=module, __qualname__=name))
        made[path] = c
        return c

    def request_init(self, *args, response=None, request=None, **kwargs):
        IOError.__init__(self, *args)
        self.response = response
        self.request = request

    rq = "requests.exceptions."
    base = cls(rq + "RequestException", (IOError,), {"__init__": request_init})
    http_error = cls(rq + "HTTPError", (base,))
    conn = cls(rq + "ConnectionError", (base,))
    cls(rq + "ProxyError", (conn,))
    cls(rq + "SSLError", (conn,))
    timeout = cls(rq + "Timeout", (base,))
    cls(rq + "ConnectTimeout", (conn, timeout))
    cls(rq + "ReadTimeout", (timeout,))
    cls(rq + "URLRequired", (base,))
    cls(rq + "TooManyRedirects", (base,))
    cls(rq + "MissingSchema", (base, ValueError))
    cls(rq + "InvalidSchema", (base, ValueError))
    invalid_url = cls(rq + "InvalidURL", (base, ValueError))
    cls(rq + "InvalidProxyURL", (invalid_url,))
    cls(rq + "InvalidHeader", (base, ValueError))
    cls(rq + "ChunkedEncodingError", (base,))
    cls(rq + "ContentDecodingError", (base,))
    cls(rq + "JSONDecodeError", (base, _json.JSONDecodeError), {"__init__": _json.JSONDecodeError.__init__})
    del http_error

    ul = "urllib3.exceptions."
    u_http = cls(ul + "HTTPError", (Exception,))
    pool = cls(ul + "PoolError", (u_http,))
    request_error = cls(ul + "RequestError", (pool,))
    u_timeout = cls(ul + "TimeoutError", (u_http,))
    cls(ul + "ReadTimeoutError", (u_timeout, request_error))
    connect_timeout = cls(ul + "ConnectTimeoutError", (u_timeout,))
    new_conn = cls(ul + "NewConnectionError", (connect_timeout, u_http))
    cls(ul + "NameResolutionError", (new_conn,))
    cls(ul + "MaxRetryError", (request_error,))
    cls(ul + "ProtocolError", (u_http,))
    cls(ul + "DecodeError", (u_http,))
    cls(ul + "InvalidHeader", (u_http,))
    location_value = cls(ul + "LocationValueError", (ValueError, u_http))
    cls(ul + "LocationParseError", (location_value,))
    import http.client

    cls(ul + "InvalidChunkLength", (u_http, http.client.IncompleteRead), {
        "__repr__": lambda self: "InvalidChunkLength(got length %r, %i bytes read)" % (self.length, self.partial)})

    def ghc_repr(self):
        text = Exception.__repr__(self)
        kw = getattr(self, "kw_text", "")
        return text.replace(")", ", %s)" % kw) if kw else text

    def ghc_str(self):
        text = getattr(self, "text", "")
        return "URL %s: %s" % (self.url, text) if text else "URL %s" % (self.url,)

    ghc_conn = cls("geventhttpclient.useragent.ConnectionError", (Exception,),
                   {"__repr__": ghc_repr, "__str__": ghc_str})
    cls("geventhttpclient.useragent.RetriesExceeded", (ghc_conn,))
    parse_error = cls("geventhttpclient._parser.HTTPParseError", (http.client.HTTPException,))
    cls("geventhttpclient.response.HTTPConnectionClosed", (parse_error,))
    return made


_fallbacks = None
_classes = {}


class _Shown:
    """An object the engine only shows by its repr (e.g. urllib3's connection object in an error)."""

    __slots__ = ("_text",)

    def __init__(self, text):
        self._text = text

    def __repr__(self):
        return self._text


def exc_class(path):
    """The exception class at import path `path` (real, or its look-alike when the package is missing)."""
    cls = _classes.get(path)
    if cls is not None:
        return cls
    global _fallbacks
    module, _, name = path.rpartition(".")
    try:
        if module == "locust._ffi":
            cls = _own_class(name)
        else:
            import importlib

            cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        if _fallbacks is None:
            _fallbacks = _fallback_classes()
        cls = _fallbacks.get(path)
        if cls is None:  # an unknown path: still an exception with that name
            cls = type(name, (Exception,), {"__module__": module, "__qualname__": name})
            _fallbacks[path] = cls
    _classes[path] = cls
    return cls


def _own_class(name):
    """rlocust's own failures, made to be caught like each client's connection errors."""
    if name == "ResponseTooLarge":
        base = exc_class("requests.exceptions.ConnectionError")
    else:
        base = ConnectionError
    return type(name, (base,), {"__module__": "locust.exception", "__qualname__": name})


def build_exc(desc, response=None, request=None):
    """The exception object the engine describes (see `exc_to_py` in src/py/response.rs); a requests exception
    carries `response` and `request` as requests sets them (the request being sent, for a connection error), another
    one `request` when it is given (FastHttpUser's socket errors)."""
    if desc[0] == "O":
        return _Shown(desc[1])
    _, path, args, attrs, context, chain = desc
    args = tuple(build_exc(a) if isinstance(a, tuple) else a for a in args)
    cls = exc_class(path)
    # NOTE: the instance is made without the class's own __init__ (urllib3's and geventhttpclient's take pools,
    # connections and responses the engine does not have); args and the attributes its repr and str need are set
    # as that __init__ would leave them.
    if issubclass(cls, UnicodeError):  # its str() reads what its own __init__ stores
        obj = cls(*args)
    else:
        obj = cls.__new__(cls, *args)
        BaseException.__init__(obj, *args)
    rex = _requests_exceptions()
    req_base = rex.RequestException if rex is not None else exc_class("requests.exceptions.RequestException")
    if isinstance(obj, req_base):
        obj.response = response
        obj.request = request
    elif request is not None:
        obj.request = request  # (geventhttpclient sets it on the socket errors it lets through)
    for key, value in attrs:  # (after those: one raised reading the body says request=None itself)
        setattr(obj, key, build_exc(value) if isinstance(value, tuple) else value)
    if context is not None:
        obj.__context__ = build_exc(context)
        if chain == 1:  # raise ... from context
            obj.__cause__ = obj.__context__
        elif chain == 2:  # raise ... from None
            obj.__suppress_context__ = True
    return obj


def exc_module():
    """requests.exceptions, or a namespace of the look-alike classes."""
    rex = _requests_exceptions()
    if rex is not None:
        return rex
    import types

    ns = types.SimpleNamespace()
    for path in list(_fallback_classes()):
        if path.startswith("requests.exceptions."):
            setattr(ns, path.rpartition(".")[2], exc_class(path))
    return ns


def _fast_error(kind, message, url, status):
    if kind == "badstatus":
        return LocustBadStatusCode(url, code=status)
    return OSError(message)


def make_error(kind, flavor, message, url, status, response):
    """The exception of a response whose status fails the client's rule (`response.error`): requests' HTTPError
    or FastHttpUser's LocustBadStatusCode. Connection and read failures come from `build_exc`."""
    if flavor == "fast":
        return _fast_error(kind, message, url, status)
    return exc_module().HTTPError(message, response=response)


_raisers = {}


def raise_escaped(error):
    """Raise an exception a client call does not turn into a failure, from a function named after its class.

    NOTE: Locust groups task exceptions by their traceback text, and under Locust each kind of escaping error is
    raised from its own place in the client; raising them all from one line here would merge their rows."""
    name = type(error).__name__
    raiser = _raisers.get(name)
    if raiser is None:
        code = "def raise_%s(error):\n    raise error\n" % (name if name.isidentifier() else "error")
        scope = {}
        exec(compile(code, "<rlocust>/locust/_ffi.py", "exec"), scope)  # noqa: S102
        raiser = _raisers[name] = scope["raise_%s" % (name if name.isidentifier() else "error")]
    raiser(error)


_UNWRAPPED = ("requests.exceptions.ConnectionError", "urllib3.exceptions.ProtocolError",
              "urllib3.exceptions.MaxRetryError", "urllib3.exceptions.NewConnectionError")


def reported_error(error):
    """The exception Locust reports for `error`: HttpSession looks through requests' ConnectionError and urllib3's
    ProtocolError, MaxRetryError and NewConnectionError to their __context__ (the root cause)."""
    if error is None:
        return None
    classes = tuple(exc_class(p) for p in _UNWRAPPED)
    while isinstance(error, classes) and error.__context__ is not None:
        error = error.__context__
    return error


def json_loads(text, **kwargs):
    try:
        return _json.loads(text, **kwargs)
    except _json.JSONDecodeError as e:
        cls = getattr(exc_module(), "JSONDecodeError", None)
        if cls is None:
            raise
        raise cls(e.msg, e.doc, e.pos) from None


# requests' Response helpers the Rust Response calls (locust/_reqcompat.py)


# geventhttpclient.useragent.ConnectionError: the real class when geventhttpclient is installed (so `except` clauses
# in locustfiles catch LocustBadStatusCode), else the look-alike every other Fast error uses
_ConnBase = exc_class("geventhttpclient.useragent.ConnectionError")


class LocustBadStatusCode(_ConnBase):
    """A status code outside the accepted set; its repr is `LocustBadStatusCode(code=N)` (FastHttpUser's, shown as
    `locust.contrib.fasthttp.LocustBadStatusCode`)."""

    def __init__(self, url, code=None):
        self.url = url
        self.code = code
        Exception.__init__(self, url, code)

    def __repr__(self):
        return "LocustBadStatusCode(code=%r)" % (self.code,)

    def __str__(self):
        return "URL %s: code=%s" % (self.url, self.code)


LocustBadStatusCode.__module__ = "locust.contrib.fasthttp"


# ---- requests' prepared request -------------------------------------------------------------------------------

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
    p.headers = CaseInsensitiveDict(headers)
    p.body = body
    return p



# ---- requests' Response helpers ------------------------------------------------------------------------------

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



def iter_lines(response, chunk_size=512, decode_unicode=False, delimiter=None):
    """requests' `Response.iter_lines` (its pending-line algorithm, over `iter_content`); the Rust Response binds it
    (`bound_method`), so its arguments are checked as requests' are."""
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


iter_lines.__qualname__ = "Response.iter_lines"


def bound_method(function, response):
    """`function` as a method of `response` (a Response method written here, with its own signature)."""
    return _types.MethodType(function, response)


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
