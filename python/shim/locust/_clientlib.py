"""rlocust internals: what both HTTP clients (`locust.clients.HttpSession`, `locust.contrib.fasthttp`'s
`FastHttpSession`) share: the arguments turned into what the engine takes (auth, params, body, headers), the
cookie jar's view, the report of a finished call and the `catch_response` with-block."""

import base64
import io
import json as _json
import os
import re
import sys
import uuid
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import _rlocust
from locust import _ffi
from locust.exception import CatchResponseError, LocustError, ResponseError

Response = _rlocust.Response


def has_user_listeners(hook):
    """True when `hook` has listeners besides rlocust's own stats recorder. A request_event that is not an EventHook
    (an object of the locustfile's with a `fire` method) counts as listened to: Locust fires it on every request."""
    try:
        handlers = hook._handlers
    except AttributeError:
        return True
    for h in handlers:
        if not getattr(h, "_rlocust_builtin", False):
            return True
    return False


def split_credentials(base_url):
    """Remove `user:pass@` from a base URL; returns (url, (user, pass) or None), percent-decoded."""
    if not base_url:
        return base_url, None
    parts = urlsplit(base_url)
    if parts.username is None and parts.password is None:
        return base_url, None
    host = parts.hostname or ""
    if ":" in host:
        host = "[" + host + "]"
    netloc = host + (":%d" % parts.port if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def basic_auth_header(user, password):
    if isinstance(user, str):
        user = user.encode("latin1")
    if isinstance(password, str):
        password = password.encode("latin1")
    return "Basic " + base64.b64encode(user + b":" + password).decode("ascii")


def _to_pairs(value):
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return None
    items = value.items() if hasattr(value, "items") else value
    out = []
    for k, v in items:
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            for x in v:
                out.append((k, x))
        else:
            out.append((k, v))
    return out


def _enc(x):
    if isinstance(x, bytes):
        return x
    return str(x).encode("utf-8")


def add_params(url, params):
    """Append `params` (dict, list of pairs, or str) to the query, as requests does."""
    if not params:
        return url
    pairs = _to_pairs(params)
    extra = urlencode([(_enc(k), _enc(v)) for k, v in pairs], doseq=False) if pairs is not None else (
        params.decode() if isinstance(params, bytes) else params
    )
    if not extra:
        return url
    scheme, netloc, path, query, frag = urlsplit(url)
    query = query + "&" + extra if query else extra
    return urlunsplit((scheme, netloc, path, query, frag))


# The plain call of both clients (their `_plain_call`): the verbs take it when `name` is all they were given, and
# it reports the call with no context of its own.
NAME_ONLY = frozenset(("name",))
NO_CONTEXT = {}


def memoized(make, size=4096):
    """`make(*args)` kept for the same arguments (hashable; at most `size` of them, all forgotten when full): for
    what the same calls bring back on every iteration of every user."""
    table = {}

    def get(*args):
        got = table.get(args)
        if got is None:
            if len(table) >= size:
                table.clear()
            got = table[args] = make(*args)
        return got

    return get


_requoted = {}


def requote(url):
    """Percent-encode characters that may not appear in a URL, leaving existing escapes alone (memoized: the
    same URLs come back on every iteration of every user)."""
    done = _requoted.get(url)
    if done is None:
        if len(_requoted) >= 4096:
            _requoted.clear()
        done = _requoted[url] = quote(url, safe="!#$%&'()*+,/:;=?@[]~")
    return done


def encode_body(data, json, files, headers):
    """(body bytes or None, content type or None) from requests-style data/json/files."""
    if files:
        return _multipart(data, files)
    if data is not None and data != {} and data != []:
        if isinstance(data, bytes):
            return data, None
        if isinstance(data, str):
            return data.encode("utf-8"), None
        if hasattr(data, "read"):
            return _enc(data.read()), None
        pairs = _to_pairs(data)
        if pairs is None:
            return _enc(data), None
        return urlencode([(_enc(k), _enc(v)) for k, v in pairs]).encode("ascii"), "application/x-www-form-urlencoded"
    if json is not None:
        return _json.dumps(json, allow_nan=False).encode("utf-8"), "application/json"
    return None, None


def _key_values(value):
    """requests' `to_key_val_list`: the (key, value) pairs of a mapping or of a list of pairs."""
    if isinstance(value, (str, bytes, bool, int)):
        raise ValueError("cannot encode objects that are not 2-tuples")
    return list(value.items()) if hasattr(value, "items") else list(value)


def _guess_filename(obj):
    """requests' `guess_filename`: the base name of a file object's `name`, unless it looks like `<stdin>`."""
    name = getattr(obj, "name", None)
    if name and isinstance(name, (str, bytes)) and name[0] != "<" and name[-1] != ">":
        return os.path.basename(name)
    return None


def _part_param(name, value):
    """urllib3's `format_multipart_header_param`: `name="value"`, with LF, CR and '"' percent-encoded."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return '%s="%s"' % (name, value.translate({10: "%0A", 13: "%0D", 34: "%22"}))


def _multipart(data, files):
    """The multipart/form-data body requests makes for `files=` (with `data=` as form fields first), as urllib3
    encodes it: a file given as a tuple keeps the filename given (2-, 3- or 4-tuple: filename, content, content
    type, headers of the part), a file object without one is named by the base name of its `.name` (or the field),
    None content leaves the field out; only a content type given is sent. A random 32-hex-digit boundary."""
    if isinstance(data, (str, bytes)):
        raise ValueError("Data must not be a string.")
    parts = []  # (name, data, filename, content type, part headers)
    for field, value in _key_values(data or {}):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            value = [value]
        for v in value:
            if v is None:
                continue
            if not isinstance(v, bytes):
                v = str(v)
            name = field.decode("utf-8") if isinstance(field, bytes) else field
            parts.append((name, v.encode("utf-8") if isinstance(v, str) else v, None, None, None))
    for field, spec in _key_values(files or {}):
        ctype = extra = None
        if isinstance(spec, (tuple, list)):
            if len(spec) == 2:
                filename, content = spec
            elif len(spec) == 3:
                filename, content, ctype = spec
            else:
                filename, content, ctype, extra = spec
        else:
            filename = _guess_filename(spec) or field
            content = spec
        if isinstance(content, (str, bytes, bytearray)):
            pass
        elif hasattr(content, "read"):
            content = content.read()
        elif content is None:
            continue
        parts.append((field, content, filename, ctype, extra))
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, content, filename, ctype, extra in parts:
        disposition = "form-data; " + _part_param("name", name)
        if filename is not None:
            disposition += "; " + _part_param("filename", filename)
        headers = dict(extra) if extra else {}
        headers.update({"Content-Disposition": disposition, "Content-Type": ctype, "Content-Location": None})
        first = ("Content-Disposition", "Content-Type", "Content-Location")
        lines = [f"{k}: {headers[k]}" for k in first if headers[k]]
        lines += [f"{k}: {v}" for k, v in headers.items() if k not in first and v]
        out.write(f"--{boundary}\r\n".encode("latin-1"))
        out.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        if isinstance(content, int):
            content = str(content)
        out.write(content.encode("utf-8") if isinstance(content, str) else content)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode("latin-1"))
    return out.getvalue(), "multipart/form-data; boundary=" + boundary


def parse_error(error):
    """Locust's failure text: repr() with object addresses masked."""
    text = repr(error)
    i = text.find("object at 0x")
    if i < 0:
        return text
    start = i + len("object at 0x") - 2
    end = text.find(">", start)
    if end < 0:
        return text
    return text.replace(text[start:end], "0x....")


VERBS = ("get", "post", "put", "patch", "delete", "head", "options")


def native_verbs(cls, kind, plain_request, headers_fn, plan_fn):
    """Give a client class its verbs: `_rlocust.Client`'s, which make the plain call in Rust and call the class's
    `_slow_<verb>` for every other (named as the verb, so an argument error reads as Locust's does); under the unit
    tests' engine stub, the `_slow_<verb>` methods themselves. Returns whether the verbs are native."""
    import _rlocust

    native = hasattr(_rlocust.Client, "get")
    for verb in VERBS:
        slow = getattr(cls, "_slow_" + verb)
        slow.__name__ = verb
        slow.__qualname__ = cls.__name__ + "." + verb
        if not native:
            setattr(cls, verb, slow)
    if native:
        _rlocust.Client._register(kind, cls, plain_request, headers_fn, plan_fn, finish_call, NO_CONTEXT)
    return native


def finish_call(session, response, method, url, context, catch_response, listeners):
    """After a call: return the response as is (stats already recorded in Rust), or report it through
    `events.request` listeners, or hand it to a catch_response with-block that decides the verdict. An exception
    the client raises out of the call (not one of its connection errors) is raised here, unrecorded."""
    escape = response._escape
    if escape is not None:
        _ffi.raise_escaped(escape)
    if not listeners:
        # (no listener when the request went out: the engine recorded it. One added since, with add_listener, sees it,
        # as in Locust, where every request that completes after add_listener reaches the listener.)
        if not session.request_event._added or not has_user_listeners(session.request_event):
            return response
    user = session.user
    meta = {
        "request_type": method,
        "response_time": response._response_time,
        "name": response._name,
        "context": {**user.context(), **context} if user is not None else dict(context),
        "response": response,
        "exception": None,
        "start_time": response._start_time,
        "url": url,
        "response_length": response._length,
    }
    if catch_response:
        return ResponseContextManager(response, session.request_event, meta)
    meta["exception"] = _ffi.reported_error(response._error)
    if listeners:
        session.request_event.fire(**meta)
    else:
        session.request_event._fire_user_listeners(meta)
    return response


def _requests_header_fault(header, part, index):
    """requests' `_validate_header_part`: the text of its InvalidHeader for one part of a header, or None."""
    if isinstance(part, str):
        ok = (_HEADER_NAME if index == 0 else _HEADER_VALUE).match(part)
    elif isinstance(part, bytes):
        ok = (_HEADER_NAME_B if index == 0 else _HEADER_VALUE_B).match(part)
    else:
        return f"Header part ({part!r}) from {header} must be of type str or bytes, not {type(part)}"
    if ok:
        return None
    kind = "name" if index == 0 else "value"
    return f"Invalid leading whitespace, reserved character(s), or return character(s) in header {kind}: {part!r}"


# a name starts with neither ':' nor whitespace and holds no ':', CR or LF; a value is empty, or starts with no
# whitespace and holds no CR or LF
_HEADER_NAME = re.compile(r"[^:\s][^:\r\n]*\Z")
_HEADER_VALUE = re.compile(r"(?:\S[^\r\n]*)?\Z")
_HEADER_NAME_B = re.compile(rb"[^:\s][^:\r\n]*\Z")
_HEADER_VALUE_B = re.compile(rb"(?:\S[^\r\n]*)?\Z")
def header_pairs(headers, fast=False):
    """(pairs, fault): the (name, value) pairs of a headers mapping as the engine takes them (`str` names and
    values, checked in Rust), and the text of the first refused part the shim found itself after those pairs, or
    None. Parts that are not `str` take the client's own way here (`_requests_pairs`, `_fast_pairs`)."""
    for k, v in headers.items():
        if k.__class__ is not str or v.__class__ is not str or not k:
            return _fast_pairs(headers) if fast else _requests_pairs(headers)
    return list(headers.items()), None


def with_urllib3_defaults(pairs):
    """The header pairs with what urllib3 (and http.client under it) add to a request that has none: `Accept-Encoding:
    identity` and `User-Agent: python-urllib3/<version>`, ahead of the request's own headers, as they go out under
    requests when `session.headers` was replaced or a header removed (`headers={"User-Agent": None}`)."""
    ua = ae = False
    for k, _ in pairs:
        if k.__class__ is str:
            low = k.lower()
            if low == "user-agent":
                ua = True
            elif low == "accept-encoding":
                ae = True
    if ua and ae:
        return pairs
    added = []
    if not ae:
        added.append(("Accept-Encoding", "identity"))
    if not ua:
        added.append(("User-Agent", "python-urllib3/" + _installed_version("urllib3", "_version.py", "2.5.0")))
    return added + pairs


def _requests_pairs(headers):
    """requests' `prepare_headers` for headers with parts that are not `str`: None values are dropped, bytes go
    out as they are, and the first refused part ends the pairs (its InvalidHeader text is the fault: the call
    fails with it, recorded, unless a pair before it is refused first)."""
    out = []
    for k, v in headers.items():
        if v is None:
            continue
        header = (k, v)
        fault = _requests_header_fault(header, k, 0) or _requests_header_fault(header, v, 1)
        if fault is not None:
            return out, fault
        # to_native_string: a bytes name must be ASCII (UnicodeDecodeError otherwise, as requests raises it)
        name = k.decode("ascii") if isinstance(k, bytes) else str.__str__(k)
        value = v.decode("latin-1") if isinstance(v, bytes) else str.__str__(v)
        out.append((name, value))
    return out, None


def _fast_pairs(headers):
    """geventhttpclient's header lines for headers with parts that are not `str`: a list or tuple value is one line
    per item, other values are sent as str(value); a name that is not a `str` token ends the pairs (the fault: its
    ValueError is raised unless a pair before it is refused first)."""
    out = []
    for k, v in headers.items():
        if not isinstance(k, str) or not k:
            return out, f"invalid header field name {k!r}"
        for item in v if isinstance(v, (list, tuple)) else (v,):
            out.append((k, item if item.__class__ is str else str(item)))
    return out, None


# ---- proxies -------------------------------------------------------------------------------------------------

# the environment variables requests takes proxies from (urllib's getproxies: `<scheme>_proxy` in either case)


def http2_wanted(user):
    """rlocust's opt-in to HTTP/2 for a user's client: its class's `http2` attribute when it sets one (True or
    False), else the `--http2` option."""
    wanted = getattr(user, "http2", None)
    if wanted is None:
        options = getattr(getattr(user, "environment", None), "parsed_options", None)
        wanted = getattr(options, "http2", False)
    return bool(wanted)


class CookieJarView:
    """`session.cookies`: the user's cookie jar, kept in Rust."""

    def __init__(self, session):
        self._session = session

    def _items(self):
        return self._session._core.cookie_items()

    def get(self, name, default=None, domain=None, path=None):
        for n, v, d, p in self._items():
            if n == name and (domain is None or d == domain) and (path is None or p == path):
                return v
        return default

    def __getitem__(self, name):
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __setitem__(self, name, value):
        self.set(name, value)

    def set(self, name, value, domain=None, path=None, **kwargs):
        if value is None:
            self._session._core.cookie_remove(name)
            return
        base = self._session.base_url or "http://localhost/"
        if domain:
            base = "%s://%s/" % (urlsplit(base).scheme or "http", domain.lstrip("."))
        self._session._core.cookie_set(name, str(value), base)

    def __delitem__(self, name):
        self._session._core.cookie_remove(name)

    def __contains__(self, name):
        return any(n == name for n, _, _, _ in self._items())

    def __iter__(self):
        return iter([n for n, _, _, _ in self._items()])

    def __len__(self):
        return len(self._items())

    def keys(self):
        return [n for n, _, _, _ in self._items()]

    def values(self):
        return [v for _, v, _, _ in self._items()]

    def items(self):
        return [(n, v) for n, v, _, _ in self._items()]

    def get_dict(self, domain=None, path=None):
        return {n: v for n, v, d, p in self._items() if (domain is None or d == domain) and (path is None or p == path)}

    def update(self, other):
        for k, v in (other.items() if hasattr(other, "items") else other):
            self.set(k, v)

    def clear(self, domain=None, path=None, name=None):
        if name is not None:
            self._session._core.cookie_remove(name)
        else:
            self._session._core.cookie_clear()

    def clear_session_cookies(self):
        self._session._core.cookie_clear()

    def __repr__(self):
        return "<RequestsCookieJar%s>" % self.items()


class ResponseContextManager:
    """The response of a `catch_response=True` call: a with-block decides success or failure.

    Attribute access goes through to the response (status_code, text, json(), …).
    """

    _own = frozenset(
        ("_response", "request_meta", "_entered", "_manual_result", "_request_event", "js", "error_override")
    )

    def __init__(self, response, request_event, request_meta):
        object.__setattr__(self, "_response", response)
        object.__setattr__(self, "request_meta", request_meta)
        object.__setattr__(self, "_request_event", request_event)
        object.__setattr__(self, "_entered", False)
        object.__setattr__(self, "_manual_result", None)

    def __getattr__(self, name):
        return getattr(object.__getattribute__(self, "_response"), name)

    def __setattr__(self, name, value):
        if name in self._own:
            object.__setattr__(self, name, value)
        else:
            setattr(self._response, name, value)

    # Locust's ResponseContextManager is the response itself (a requests.Response, or a FastResponse): the special
    # methods Python looks up on the type are forwarded here, the rest goes through __getattr__.

    @property
    def ok(self):
        """requests' `ok` through this block's verdict (Locust's raise_for_status): a success() makes it True, a
        failure() raises its exception unless it is an HTTPError, a connection error is raised."""
        response = self._response
        if getattr(response, "_fast", False):
            return response.ok
        try:
            self.raise_for_status()
        except _ffi.exc_module().HTTPError:
            return False
        return True

    def __bool__(self):
        if getattr(self._response, "_fast", False):
            return bool(self._response)
        return self.ok

    def __iter__(self):
        return iter(self._response)

    def __reduce__(self):
        return self._response.__reduce__()

    @property
    def __class__(self):
        # isinstance(r, requests.Response) holds for an HttpUser's block as for its responses (see Response's own)
        response = object.__getattribute__(self, "_response")
        if not getattr(response, "_fast", False):
            models = sys.modules.get("requests.models")
            if models is not None and isinstance(response, models.Response):
                return models.Response
        return type(self)

    def __repr__(self):
        return repr(self._response)

    def __enter__(self):
        self._entered = True
        return self

    def __exit__(self, exc, value, traceback):
        if self._manual_result is not None:
            if self._manual_result is True:
                self._report(None)
            else:
                self._report(self._manual_result)
            return exc is None
        if exc:
            if isinstance(value, ResponseError):
                self._report(value)
                return True
            return False
        response = self._response
        if isinstance(response, Response):
            self._report(_ffi.reported_error(response._error))
        else:  # a real requests Response (a mounted adapter's)
            self._report(_requests_verdict(response, self.request_meta["name"]))
        return True

    def _report(self, exception):
        meta = self.request_meta
        meta["exception"] = exception
        self._request_event.fire(**meta)

    def success(self):
        if not self._entered:
            raise LocustError(
                "Tried to set status on a request that has not yet been made. Make sure to use a with-block with catch_response=True"
            )
        self._manual_result = True

    def failure(self, exc):
        if not self._entered:
            raise LocustError(
                "Tried to set status on a request that has not yet been made. Make sure to use a with-block with catch_response=True"
            )
        if not isinstance(exc, Exception):
            exc = CatchResponseError(exc)
        self._manual_result = exc

    def raise_for_status(self):
        if self._manual_result is True:
            return
        if self._manual_result is not None:
            raise self._manual_result
        self._response.raise_for_status()


class RestResponseContextManager(ResponseContextManager):
    js = None


_versions = {}


def _installed_version(package, version_file, default):
    """An installed package's version, read from its version file instead of importing it (importing requests
    pulls in urllib3, charset_normalizer, idna, certifi and ssl: ~8 MB the engine never uses)."""
    version = _versions.get(package)
    if version is None:
        version = _versions[package] = default
        try:
            import importlib.util

            spec = importlib.util.find_spec(package)
            if spec is not None and spec.origin:
                path = os.path.join(os.path.dirname(spec.origin), version_file)
                with open(path, encoding="utf-8") as f:
                    m = re.search(r"""^__version__\s*=\s*(?:\w+\s*=\s*)?["']([^"']+)["']""", f.read(), re.M)
                if m:
                    version = _versions[package] = m.group(1)
        except Exception:
            pass
    return version


def _requests_verdict(response, name):
    """Locust's verdict on a real requests Response: its connection error, or the HTTPError of a bad status with the
    name in place of the URL (Locust's grouping), each looked through to the root as Locust reports it."""
    error = getattr(response, "error", None)
    if error is None:
        url = response.url
        response.url = name
        try:
            response.raise_for_status()
        except Exception as e:
            error = e
        finally:
            response.url = url
    return _ffi.reported_error(error)


# (the classes a locustfile sees are locust.clients', as under Locust)
CookieJarView.__module__ = ResponseContextManager.__module__ = RestResponseContextManager.__module__ = "locust.clients"
