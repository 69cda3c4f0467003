"""`HttpSession`: Locust's requests-style client, with the HTTP exchange done in Rust.

Each user gets its own session (its own connections and cookie jar). Arguments are turned into plain data
here, the exchange runs on tokio, and the greenlet parks until the Response comes back (see `locust._hub`).
Statistics are recorded in Rust when the exchange completes; `events.request` listeners are called only when
a locustfile registered any, or when `catch_response=True` defers the verdict to the with-block.
"""

import base64
import json as _json
import os
import re
import sys
import time
import uuid
from contextlib import contextmanager
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import _rlocust
from _rlocust import Request as _Request
from locust import _ffi, _hub, _reqcompat
from locust.exception import CatchResponseError, LocustError, ResponseError

Response = _rlocust.Response
CaseInsensitiveDict = _ffi.CaseInsensitiveDict

_ABSOLUTE = re.compile(r"^https?://", re.I)
_REQUESTS_VERSION = "2.34.2"


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


def _installed_requests_version():
    return _installed_version("requests", "__version__.py", _REQUESTS_VERSION)


_shared_defaults = None


def _shared_default_headers():
    """(mapping, pairs as sent): the default headers of every session that has not touched its own `headers`;
    never handed to user code, so never changed."""
    global _shared_defaults
    if _shared_defaults is None:
        headers = _default_headers()
        _shared_defaults = (headers, list(headers.items()))
    return _shared_defaults


def _default_headers():
    # NOTE: requests advertises br when the brotli package is installed, and Locust installs it (through
    # geventhttpclient); the engine decodes br itself.
    ua = "python-requests/" + _installed_requests_version()
    return CaseInsensitiveDict(
        {"User-Agent": ua, "Accept-Encoding": "gzip, deflate, br", "Accept": "*/*", "Connection": "keep-alive"}
    )


def has_user_listeners(hook):
    """True when `hook` has listeners besides rlocust's own stats recorder."""
    for h in hook._handlers:
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


def _multipart(data, files):
    boundary = uuid.uuid4().hex
    out = []
    for k, v in _to_pairs(data) or []:
        out.append(b"--" + boundary.encode() + b"\r\n")
        out.append(b'Content-Disposition: form-data; name="' + _enc(k) + b'"\r\n\r\n')
        out.append(_enc(v) + b"\r\n")
    items = files.items() if hasattr(files, "items") else files
    for field, spec in items:
        ctype = None
        if isinstance(spec, (tuple, list)):
            fname = spec[0]
            content = spec[1]
            if len(spec) > 2:
                ctype = spec[2]
        else:
            content = spec
            fname = getattr(spec, "name", field)
        if hasattr(content, "read"):
            content = content.read()
        if isinstance(fname, str):
            fname = fname.rsplit("/", 1)[-1]
        out.append(b"--" + boundary.encode() + b"\r\n")
        disp = b'Content-Disposition: form-data; name="' + _enc(field) + b'"'
        if fname is not None:
            disp += b'; filename="' + _enc(fname) + b'"'
        out.append(disp + b"\r\n")
        if ctype:
            out.append(b"Content-Type: " + _enc(ctype) + b"\r\n")
        out.append(b"\r\n" + _enc(content) + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def _check_timeout(value, name):
    """urllib3's `Timeout._validate_timeout`: the value, or the ValueError urllib3 raises."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("Timeout cannot be a boolean value. It must be an int, float or None.")
    try:
        float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Timeout value {name} was {value}, but it must be an int, float or None.") from None
    try:
        if value <= 0:
            raise ValueError(
                f"Attempted to set {name} timeout to {value}, but the timeout cannot be set to a value less than or "
                "equal to 0."
            )
    except TypeError:
        raise ValueError(f"Timeout value {name} was {value}, but it must be an int, float or None.") from None
    return value


def timeout_arg(timeout):
    """`timeout=` as requests applies it: None, or (connect s, read s, connect as text, read as text); a number sets
    both, a (connect, read) tuple each, a urllib3 Timeout its own two. Raises the ValueError requests raises."""
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        try:
            connect, read = timeout
            connect = _check_timeout(connect, "connect")
            read = _check_timeout(read, "read")
        except ValueError:
            raise ValueError(
                f"Invalid timeout {timeout}. Pass a (connect, read) timeout tuple, or a single float to set both "
                "timeouts to the same value."
            ) from None
    elif hasattr(timeout, "connect_timeout") and hasattr(timeout, "read_timeout"):  # urllib3.Timeout
        connect, read = timeout.connect_timeout, timeout.read_timeout
        connect = connect if isinstance(connect, (int, float)) else None
        read = read if isinstance(read, (int, float)) else None
    else:
        connect = _check_timeout(timeout, "connect")
        read = _check_timeout(timeout, "read")
    return (
        None if connect is None else float(connect),
        None if read is None else float(read),
        str(connect),
        None if read is None else str(read),
    )


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


def finish_call(session, response, method, url, context, catch_response, listeners):
    """After a call: return the response as is (stats already recorded in Rust), or report it through
    `events.request` listeners, or hand it to a catch_response with-block that decides the verdict. An exception
    the client raises out of the call (not one of its connection errors) is raised here, unrecorded."""
    escape = response._escape
    if escape is not None:
        _ffi.raise_escaped(escape)
    if not listeners:
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
    session.request_event.fire(**meta)
    return response


# requests' URL rules (urllib3 2.x `parse_url`, then `PreparedRequest.prepare_url`), for the texts of the URLs it
# refuses: the scheme and authority of a URL, a host (a registered name, an IPv4 address or a bracketed IPv6
# address with an optional zone) with an optional port, and the characters no host may hold.
_URL_AUTHORITY = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?://([^\\/?#]*))?", re.S)
_HOST_PORT = re.compile(
    r"((?:[^\[\]%:/?#]|%[0-9A-Fa-f]{2})*|\[[0-9A-Fa-f:.]+(?:%(?:25)?(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+)?\])"
    r"(?::(\d*))?\Z",
    re.S,
)
_HOST_BAD_CHAR = re.compile(r"[\x00-\x20\x7f]")
# an http(s) URL whose authority holds no host (`http:///x`, `http://user@:80/x`): the URL crate would take the
# path's first segment for the host
_NO_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^\\/?#]*@)?(?::\d*)?(?:[\\/?#]|\Z)")
# an http(s) URL whose host starts with '*' or '.' (requests: "URL has an invalid label."; the URL crate takes it)
_BAD_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^\\/?#]*@)?[*.]")


def _requests_url_error(url):
    """The text of the InvalidURL requests raises for `url` (an http or https URL), or None if it takes it."""
    url = url.lstrip()
    authority = _URL_AUTHORITY.match(url).group(1)
    host = None
    if authority:
        host_port = authority.rpartition("@")[2]
        m = _HOST_PORT.match(host_port)
        if m is None or len((m.group(2) or "").lstrip("0")) > 5:
            bad = _HOST_BAD_CHAR.search(host_port)
            if bad:
                return f"Failed to parse: Host {host_port!r} contains invalid character {bad.group()!r}"
            return f"Failed to parse: {host_port!r} is not a valid host or port"
        host, port = m.groups()
        if port and int(port) > 65535:
            return f"Failed to parse: {url}"
        bad = _HOST_BAD_CHAR.search(host)
        if bad:
            return f"Failed to parse: Host {host!r} contains invalid character {bad.group()!r}"
    if not host:
        return f"Invalid URL {url!r}: No host supplied"
    if host.isascii() and host.startswith(("*", ".")):
        return "URL has an invalid label."
    return None


def _invalid_url(url, error=None):
    """The exception requests raises for a URL it cannot parse (its own texts, whichever requests is installed)."""
    mod = _ffi.exc_module()
    text = _requests_url_error(url)
    return mod.InvalidURL(text if text is not None else str(error))


_PARSE_FAILED = "Failed to parse: "


def _raise_invalid_url(url, error):
    """Raise requests' InvalidURL for `url` (called outside the engine's ValueError). requests' prepare_url raises
    its "Failed to parse: …" ones while handling urllib3's LocationParseError, so they carry it as their context (a
    traceback shows it first, "During handling of the above exception, another exception occurred")."""
    invalid = _invalid_url(url, error)
    text = invalid.args[0] if invalid.args else ""
    if not (isinstance(text, str) and text.startswith(_PARSE_FAILED)):
        raise invalid
    cls = _ffi.exc_class("urllib3.exceptions.LocationParseError")
    parse_error = cls.__new__(cls)
    BaseException.__init__(parse_error, text)  # (its own __init__ takes the location and adds the prefix)
    parse_error.location = text[len(_PARSE_FAILED):]
    try:
        raise parse_error
    except BaseException:
        raise invalid  # noqa: B904 (the context is the point)


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
_PROXY_ENV_KEYS = tuple(k.encode() for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                            "ALL_PROXY"))
_environ_data = getattr(os.environ, "_data", None)


def _environment_may_proxy():
    """Whether a proxy variable is set (looked up on every request, as requests reads the environment on each: a
    few dict lookups instead of requests' parse of the whole environment)."""
    data = _environ_data
    if data is None:
        return True
    for k in _PROXY_ENV_KEYS:
        if k in data:
            return True
    return False


def _environ_proxies(url, no_proxy):
    """requests' `get_environ_proxies`: the environment's proxies, none when NO_PROXY bypasses the URL's host."""
    try:
        from requests.utils import get_environ_proxies
    except Exception:
        import urllib.request

        proxies = urllib.request.getproxies_environment()
        host = urlsplit(url).hostname or ""
        bypass = no_proxy if no_proxy is not None else proxies.get("no")
        if bypass and urllib.request.proxy_bypass_environment(host, {"no": bypass}):
            return {}
        proxies.pop("no", None)
        return proxies
    return get_environ_proxies(url, no_proxy=no_proxy)


def _pick_proxy(url, proxies):
    """requests' `select_proxy`: the most specific entry for the URL's scheme and host."""
    parts = urlsplit(url)
    host = parts.hostname
    if host is None:
        return proxies.get(parts.scheme, proxies.get("all"))
    for key in (parts.scheme + "://" + host, parts.scheme, "all://" + host, "all"):
        if key in proxies:
            return proxies[key]
    return None


def select_proxy(session, url, proxies, environment=True):
    """The proxy URL requests would use for `url` (None: direct), with its precedence: the call's `proxies=`, then
    the environment's (when the session trusts it; NO_PROXY applies), then the session's `proxies`."""
    session_proxies = session._proxies
    env = environment and session.trust_env and _environment_may_proxy()
    if not proxies and not session_proxies and not env:
        return None
    merged = dict(proxies or {})
    if env:
        for k, v in _environ_proxies(url, merged.get("no_proxy")).items():
            merged.setdefault(k, v)
    for k, v in (session_proxies or {}).items():
        merged.setdefault(k, v)
    proxy = _pick_proxy(url, {k: v for k, v in merged.items() if v is not None})
    return proxy or None


# ---- TLS files ------------------------------------------------------------------------------------------------

_NO_TLS = {}
_tls_loaded = {}


def _load_error(ca_bundle, cert, key):
    """What Python's ssl raises loading these files as urllib3 loads them (errno, text), or None; once per set."""
    k = (ca_bundle, cert, key)
    if k not in _tls_loaded:
        import ssl

        err = None
        try:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if ca_bundle:
                if os.path.isdir(ca_bundle):
                    ctx.load_verify_locations(capath=ca_bundle)
                else:
                    ctx.load_verify_locations(cafile=ca_bundle)
            if cert:
                ctx.load_cert_chain(cert, key)
        except ssl.SSLError as e:
            err = (e.args[0] if isinstance(e.args[0], int) else 1, str(e.args[1]) if len(e.args) > 1 else str(e))
        except OSError:
            err = None  # a file that vanished: the engine's read reports it
        _tls_loaded[k] = err
    return _tls_loaded[k]


def http2_wanted(user):
    """rlocust's opt-in to HTTP/2 for a user's client: its class's `http2` attribute when it sets one (True or
    False), else the `--http2` option."""
    wanted = getattr(user, "http2", None)
    if wanted is None:
        options = getattr(getattr(user, "environment", None), "parsed_options", None)
        wanted = getattr(options, "http2", False)
    return bool(wanted)


def tls_files(session, url, verify, cert):
    """The engine's TLS keywords for requests' `verify=` (True, False or a CA bundle path) and `cert=` (a file, or a
    (cert, key) pair); raises requests' OSError for a file that is not there (before anything is sent, as
    requests' adapter does: the CA bundle for https URLs, the certificate for any URL)."""
    if cert is None and (verify is True or verify is False):
        if verify is True and session.trust_env:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            if verify is True:
                return _NO_TLS
        else:
            return _NO_TLS
    ca_bundle = verify if isinstance(verify, (str, os.PathLike)) and verify else None
    if ca_bundle is not None:
        ca_bundle = os.fspath(ca_bundle)
        if url[:5].lower() == "https" and not os.path.exists(ca_bundle):
            raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: {ca_bundle}")
    cert_file = key_file = None
    if cert:
        if isinstance(cert, (str, os.PathLike)):
            cert_file = os.fspath(cert)
        else:
            cert_file, key_file = cert[0], cert[1]
        if cert_file and not os.path.exists(cert_file):
            raise OSError(f"Could not find the TLS certificate file, invalid path: {cert_file}")
        if key_file and not os.path.exists(key_file):
            raise OSError(f"Could not find the TLS key file, invalid path: {key_file}")
    if url[:5].lower() != "https":
        return _NO_TLS
    out = {"ca_bundle": ca_bundle, "cert": cert_file, "key": key_file}
    error = _load_error(ca_bundle if verify is not False else None, cert_file, key_file)
    if error is not None:
        out["tls_error"] = error
    return out


def _proxy_refusal(error):
    """The exception requests raises for a proxy URL it cannot use (the engine's ValueError("proxy", class, text))."""
    _, path, text = error.args
    mod = _ffi.exc_module()
    cls = getattr(mod, path.rpartition(".")[2], None) or mod.InvalidURL
    return cls(text)


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


def _requests_method(name):
    """requests.Session's own `name` (a plain function, run here on an HttpSession)."""
    rq = _reqcompat._requests()
    if rq is None:
        raise ModuleNotFoundError(f"Session.{name} needs requests installed (pip install requests)")
    return getattr(rq.Session, name)


class HttpSession:
    """Locust's `HttpSession` (a requests.Session look-alike) backed by the Rust engine."""

    _flavor = "requests"

    def __init__(self, base_url, request_event, user, *args, pool_manager=None, **kwargs):
        base_url, creds = split_credentials(base_url)
        self.base_url = base_url
        self.request_event = request_event
        self.user = user
        self.request_name = None
        self.pool_manager = pool_manager
        self.auth = creds
        self.verify = True
        self.cert = None
        self.stream = False
        self.trust_env = True
        self.max_redirects = 30
        self._core = _rlocust.Session(self._flavor)
        if http2_wanted(user):
            self._core.http2 = True
        from locust.user.wait_time import _pacing_ms  # here: locust.user imports this module

        self._core.pacing_ms = _pacing_ms(user)

    # headers, params, proxies and hooks are made on first use: most sessions never touch them, and with
    # 10,000 users the four objects were ~1 KB per user. Until then requests go out with the shared defaults.
    _headers = _params = _proxies = _hooks = None

    @property
    def headers(self):
        if self._headers is None:
            self._headers = _default_headers()
        return self._headers

    @headers.setter
    def headers(self, value):
        self._headers = value

    @property
    def params(self):
        if self._params is None:
            self._params = {}
        return self._params

    @params.setter
    def params(self, value):
        self._params = value

    @property
    def proxies(self):
        if self._proxies is None:
            self._proxies = {}
        return self._proxies

    @proxies.setter
    def proxies(self, value):
        self._proxies = value

    @property
    def hooks(self):
        if self._hooks is None:
            self._hooks = {"response": []}
        return self._hooks

    @hooks.setter
    def hooks(self, value):
        self._hooks = value

    @property
    def cookies(self):
        return CookieJarView(self)

    @cookies.setter
    def cookies(self, value):
        self._core.cookie_clear()
        if value:
            CookieJarView(self).update(value)

    @contextmanager
    def rename_request(self, name):
        self.request_name = name
        try:
            yield
        finally:
            self.request_name = None

    def _build_url(self, url):
        if url.__class__ is not str:
            _ABSOLUTE.match(url)  # Locust matches the url as given: bytes raise TypeError
            url = str(url)
        if _ABSOLUTE.match(url):
            if _NO_HOST.match(url) or _BAD_LABEL.match(url):
                raise _invalid_url(url)
            return url
        return (self.base_url or "") + url

    _mounts = ()

    def request(self, method, url, name=None, catch_response=False, context={}, *, data=None, json=None, **kwargs):
        full = self._build_url(url)
        if not _ABSOLUTE.match(full):
            mod = _ffi.exc_module()
            given = full.lstrip()
            if ":" in given and not given.lower().startswith("http"):
                # requests passes a URL of another scheme through unprepared, to the adapter mounted for it; with
                # none (a host without a scheme but with a port ends here too), it finds no adapter
                for prefix, adapter in self._mounts:
                    if given.lower().startswith(prefix):
                        return self._request_mounted(adapter, method, url, full, name, catch_response, context,
                                                     data, json, kwargs)
                raise mod.InvalidSchema("No connection adapters were found for %r" % given)
            cls = getattr(mod, "MissingSchema", None) or mod.InvalidURL
            raise cls("Invalid URL %r: No scheme supplied. Perhaps you meant https://%s?" % (full, full))
        if self._mounts:
            lowered = full.lower()
            for prefix, adapter in self._mounts:
                if lowered.startswith(prefix):
                    return self._request_mounted(adapter, method, url, full, name, catch_response, context, data,
                                                 json, kwargs)
        params = kwargs.pop("params", None)
        if self._params:
            merged = dict(self._params)
            if params:
                merged.update(dict(_to_pairs(params) or []))
            params = merged
        given = full
        full = requote(add_params(full, params))
        if self._headers is None:
            base, base_pairs = _shared_default_headers()
        else:
            base, base_pairs = self._headers, None
        headers = base
        extra = kwargs.pop("headers", None)
        if extra:
            headers = headers.copy()
            for k, v in extra.items():
                if v is None:
                    headers.pop(k, None)
                else:
                    headers[k] = v
        body, ctype = encode_body(data, json, kwargs.pop("files", None), headers)
        if ctype and "Content-Type" not in headers:
            if headers is base:
                headers = headers.copy()
            headers["Content-Type"] = ctype
        auth = kwargs.pop("auth", None) or self.auth
        prep = None
        if auth:
            if headers is base:
                headers = headers.copy()
            if isinstance(auth, (tuple, list)):
                headers["Authorization"] = basic_auth_header(auth[0], auth[1])
            elif callable(auth):
                # an auth class works on a prepared request (and may register response hooks on it, as digest does)
                prep = _reqcompat.apply_auth(_reqcompat.new_prepared(method.upper(), full, headers, body), auth)
                headers, full, body = prep.headers, prep.url, _reqcompat.body_bytes(prep.body)
        # (the features below cost a plain call only these checks: most calls use none of them)
        hooks = kwargs.pop("hooks", None)
        if hooks is not None or self._hooks is not None:
            hooks = _reqcompat.merge_hooks(hooks, self._hooks)
        stream = kwargs.pop("stream", None)
        if stream is None:
            stream = self.stream
        if stream or prep is not None or (hooks is not None and _reqcompat.has_hooks(hooks)):
            if prep is None:
                prep = _reqcompat.new_prepared(method.upper(), full, headers, body)
            _reqcompat.register_hooks(prep, hooks)
        cookies = kwargs.pop("cookies", None)
        cookie_pairs = [(str(k), str(v)) for k, v in (cookies.items() if hasattr(cookies, "items") else cookies or [])]
        timeout_kw = kwargs.pop("timeout", None)
        timeout = timeout_arg(timeout_kw)
        allow_redirects = kwargs.pop("allow_redirects", True)
        verify = kwargs.pop("verify", self.verify)
        extra = _NO_TLS
        proxies = kwargs.pop("proxies", None)
        if proxies or self._proxies or self.trust_env:
            proxy = select_proxy(self, full, proxies)
            if proxy is not None:
                extra = {"proxy": proxy}
        cert = kwargs.pop("cert", None) or self.cert
        if cert is not None or verify.__class__ is not bool or self.trust_env:
            tls = tls_files(self, full, verify, cert)
            if tls:
                extra = {**extra, **tls}
        if stream:
            # recorded at the response head, with Content-Length as its length, as Locust records a streamed call
            extra = {**extra, "stream": True}
        listeners = catch_response or prep is not None or has_user_listeners(self.request_event)
        if name is None:
            name = self.request_name
        if headers is base and base_pairs:
            pairs, fault = base_pairs, None
        else:
            pairs, fault = header_pairs(headers)
            pairs = with_urllib3_defaults(pairs)
        try:
            ticket = self._core.send(_Request(
                method,
                full,
                name,
                pairs,
                body,
                timeout,
                bool(allow_redirects),
                verify is not False,
                cookie_pairs,
                not listeners,
                self.max_redirects,
                header_fault=fault,
                **extra,
            ))
        except ValueError as e:
            if str(e).startswith("Method cannot contain"):  # urllib3's refusal of the method
                _ffi.raise_escaped(e)
            if e.args and e.args[0] == "proxy":
                raise _proxy_refusal(e) from None
            refused = e
        else:
            refused = None
        if refused is not None:
            _raise_invalid_url(given, refused)
        if prep is not None:
            return self._finish_prepared(_hub.wait(ticket), prep, method, full, name, context, catch_response,
                                         stream, timeout_kw, verify)
        response = _hub.wait(ticket)
        if data is not None and (ctype == "application/x-www-form-urlencoded" or (ctype is None and data.__class__ is str)):
            # requests keeps a str or form-encoded body as text (`response.request.body`)
            response.__dict__["_rlocust_text_body"] = True
        return finish_call(self, response, method, full, context, catch_response, listeners)

    def _finish_prepared(self, response, prep, method, url, name, context, catch_response, stream, timeout, verify):
        """A call whose prepared request carries hooks (its own, the session's, or its auth class's) or streams: the
        hooks run on each response (the redirects' first), a hook's response replaces the call's (digest auth
        resends through `response.connection`), and the call is recorded afterwards, as Locust records what
        requests returned: the time until the last hook finished, the first request's path as the name."""
        escape = response._escape
        if escape is not None:
            _ffi.raise_escaped(escape)
        t0 = time.perf_counter() - response._response_time / 1000
        first = response
        self._adopt(response, prep, stream)
        kw = {"stream": stream, "timeout": timeout, "verify": verify, "proxies": {}, "cert": self.cert}
        for hop in response.history:
            _reqcompat.dispatch(prep.hooks, hop, kw)
        response = _reqcompat.dispatch(prep.hooks, response, kw)
        response_time = first._response_time if response is first else (time.perf_counter() - t0) * 1000
        if not name:
            before = (response.history and response.history[0] or response).request
            name = before.path_url if before is not None else url
        if response is not first and isinstance(response, Response):
            response._rename(name)  # its failure is reported under the call's name
        return self._report_call(method, url, name, response, response_time, first._start_time, stream, context,
                                 catch_response, lambda: _ffi.reported_error(response._error))

    def _report_call(self, method, url, name, response, response_time, start_time, stream, context, catch_response,
                     verdict):
        """Locust's recording of a call the shim finished itself: the request_meta it builds (the length from
        Content-Length for a streamed body), then a catch_response block, or `events.request` with `verdict()`."""
        user = self.user
        if stream:
            length = int(response.headers.get("content-length") or 0)
        else:
            length = len(response.content or b"")
        meta = {
            "request_type": method,
            "response_time": response_time,
            "name": name,
            "context": {**user.context(), **context} if user is not None else dict(context),
            "response": response,
            "exception": None,
            "start_time": start_time,
            "url": url,
            "response_length": length,
        }
        if isinstance(response, Response):
            response._set_plain(False)  # (a hook's resend) returned by the call: Locust's wrapper's with-block rules
        if catch_response:
            return ResponseContextManager(response, self.request_event, meta)
        meta["exception"] = verdict()
        self.request_event.fire(**meta)
        return response

    def _adopt(self, response, prep, stream):
        response.request = prep
        d = response.__dict__
        d["connection"] = _reqcompat.Adapter(self)
        if stream:
            d["_rlocust_stream"] = True

    def _send_prepared(self, prep, timeout=None, verify=True, allow_redirects=True, stream=False, hooks=True,
                       proxies=None, env_proxies=True, cert=None):
        """Send a prepared request as it is (its headers, cookies and body), unrecorded: requests' `Session.send`
        (hooks=True) or its adapter's `send` (hooks=False). A connection error is raised, as requests raises it."""
        headers = prep.headers if prep.headers is not None else {}
        pairs, fault = header_pairs(headers)
        # (a request prepared without the session's headers)
        pairs = with_urllib3_defaults(pairs)
        timeout_kw = timeout_arg(timeout)
        try:
            ticket = self._core.send(_Request(
                prep.method,
                prep.url,
                None,
                pairs,
                _reqcompat.body_bytes(prep.body),
                timeout_kw,
                bool(allow_redirects),
                verify is not False,
                [],
                False,
                self.max_redirects,
                header_fault=fault,
                proxy=select_proxy(self, prep.url, proxies, env_proxies),
                **tls_files(self, prep.url, verify, cert if cert is not None else self.cert),
            ))
        except ValueError as e:
            if str(e).startswith("Method cannot contain"):
                _ffi.raise_escaped(e)
            if e.args and e.args[0] == "proxy":
                raise _proxy_refusal(e) from None
            refused = e
        else:
            refused = None
        if refused is not None:
            _raise_invalid_url(prep.url, refused)
        response = _hub.wait(ticket)
        if response._escape is not None:
            _ffi.raise_escaped(response._escape)
        error = response._conn_error
        if error is not None:
            raise error
        response._set_plain(True)  # requests' own response: a with-block enters it
        self._adopt(response, prep, stream)
        if hooks:
            kw = {"stream": stream, "timeout": timeout, "verify": verify, "proxies": {}, "cert": self.cert}
            for hop in response.history:
                _reqcompat.dispatch(prep.hooks, hop, kw)
            response = _reqcompat.dispatch(prep.hooks, response, kw)
        return response

    def send(self, request, **kwargs):
        """requests' `Session.send`: a prepared request sent as it is, its hooks dispatched; not recorded in the
        statistics (Locust records `request()` and the methods built on it, not `send`)."""
        rq = _reqcompat._requests()
        if rq is not None and isinstance(request, rq.Request):
            raise ValueError("You can only send PreparedRequests.")
        stream = kwargs.get("stream")
        return self._send_prepared(
            request,
            timeout=kwargs.get("timeout"),
            verify=kwargs.get("verify", self.verify),
            allow_redirects=kwargs.get("allow_redirects", True),
            stream=self.stream if stream is None else stream,
            proxies=kwargs.get("proxies"),
            cert=kwargs.get("cert"),
        )

    def prepare_request(self, request):
        """requests' `Session.prepare_request`: the request with the session's headers, params, auth, hooks and
        cookies merged in (a real `requests.PreparedRequest`)."""
        rq = _reqcompat._requests()
        if rq is None:
            raise ModuleNotFoundError("prepare_request needs requests installed (pip install requests)")
        from http.cookiejar import CookieJar

        from requests.cookies import RequestsCookieJar, cookiejar_from_dict, merge_cookies
        from requests.sessions import merge_setting

        cookies = request.cookies or {}
        if not isinstance(cookies, CookieJar):
            cookies = cookiejar_from_dict(cookies)
        jar = RequestsCookieJar()
        for n, v, d, p in self._core.cookie_items():
            jar.set(n, v, domain=d, path=p)
        merged_cookies = merge_cookies(jar, cookies)
        auth = request.auth
        p = rq.PreparedRequest()
        p.prepare(
            method=request.method.upper(),
            url=request.url,
            files=request.files,
            data=request.data,
            json=request.json,
            headers=merge_setting(request.headers, dict(self.headers.items()), dict_class=rq.structures.CaseInsensitiveDict),
            params=merge_setting(request.params, self._params or {}),
            auth=merge_setting(auth, self.auth),
            cookies=merged_cookies,
            hooks=_reqcompat.merge_hooks(request.hooks, self._hooks),
        )
        return p

    def get(self, url, *, data=None, json=None, **kwargs):
        kwargs.setdefault("allow_redirects", True)
        return self.request("GET", url, data=data, json=json, **kwargs)

    def options(self, url, *, data=None, json=None, **kwargs):
        kwargs.setdefault("allow_redirects", True)
        return self.request("OPTIONS", url, data=data, json=json, **kwargs)

    def head(self, url, *, data=None, json=None, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, data=data, json=json, **kwargs)

    def post(self, url, data=None, json=None, **kwargs):
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url, data=None, *, json=None, **kwargs):
        return self.request("PUT", url, data=data, json=json, **kwargs)

    def patch(self, url, data=None, *, json=None, **kwargs):
        return self.request("PATCH", url, data=data, json=json, **kwargs)

    def delete(self, url, *, data=None, json=None, **kwargs):
        return self.request("DELETE", url, data=data, json=json, **kwargs)

    def close(self):
        self._core.reset_connections()

    def mount(self, prefix, adapter):
        """requests' `Session.mount`: calls to URLs under `prefix` (the longest matching prefix wins) go through
        `adapter` with real requests, recorded as Locust records them. (The engine serves every other URL.)"""
        prefix = prefix.lower()
        mounts = [(p, a) for p, a in self._mounts if p != prefix] + [(prefix, adapter)]
        mounts.sort(key=lambda pa: len(pa[0]), reverse=True)
        self._mounts = tuple(mounts)
        self.__dict__.pop("_rs_cache", None)

    @property
    def adapters(self):
        """requests' `Session.adapters`: the mounted adapters, then the engine's for https:// and http:// (longer
        prefixes first, as `mount` keeps them). A fresh mapping: `mount()` changes the session, this does not."""
        engine = _reqcompat.Adapter(self)
        found = dict(self._mounts)
        for prefix in ("https://", "http://"):
            found.setdefault(prefix, engine)
        return dict(sorted(found.items(), key=lambda pa: len(pa[0]), reverse=True))

    def get_adapter(self, url):
        """requests' `Session.get_adapter`: the adapter whose prefix `url` starts with."""
        for prefix, adapter in self.adapters.items():
            if url.lower().startswith(prefix.lower()):
                return adapter
        raise _ffi.exc_module().InvalidSchema(f"No connection adapters were found for {url!r}")

    # requests' redirect and environment helpers read only the session's settings (trust_env, proxies, verify,
    # cert, stream, auth) and their arguments: they are requests' own, run on this session (requests installed).

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        return _requests_method("merge_environment_settings")(self, url, proxies, stream, verify, cert)

    def get_redirect_target(self, resp):
        return _requests_method("get_redirect_target")(self, resp)

    def should_strip_auth(self, old_url, new_url):
        return _requests_method("should_strip_auth")(self, old_url, new_url)

    def rebuild_auth(self, prepared_request, response):
        return _requests_method("rebuild_auth")(self, prepared_request, response)

    def rebuild_proxies(self, prepared_request, proxies):
        return _requests_method("rebuild_proxies")(self, prepared_request, proxies)

    def rebuild_method(self, prepared_request, response):
        return _requests_method("rebuild_method")(self, prepared_request, response)

    def resolve_redirects(self, resp, req, stream=False, timeout=None, verify=True, cert=None, proxies=None,
                          yield_requests=False, **adapter_kwargs):
        return _requests_method("resolve_redirects")(self, resp, req, stream=stream, timeout=timeout, verify=verify,
                                                     cert=cert, proxies=proxies, yield_requests=yield_requests,
                                                     **adapter_kwargs)

    def _requests_session(self):
        """The real requests Session that mounted adapters run in: the adapters mounted, and this session's
        headers, auth, proxies, verify, cert, hooks, params, max_redirects and trust_env copied in on each call."""
        import requests

        rs = self.__dict__.get("_rs_cache")
        if rs is None:
            rs = self.__dict__["_rs_cache"] = requests.Session()
            for prefix, adapter in reversed(self._mounts):
                rs.mount(prefix, adapter)
        rs.headers = requests.structures.CaseInsensitiveDict(self.headers.items())
        rs.auth = self.auth
        rs.proxies = dict(self._proxies or {})
        rs.verify = self.verify
        rs.cert = self.cert
        rs.params = dict(self._params or {})
        rs.hooks = {"response": list((self._hooks or {}).get("response", []))}
        rs.max_redirects = self.max_redirects
        rs.trust_env = self.trust_env
        rs.stream = self.stream
        return rs

    def _request_mounted(self, adapter, method, url, full, name, catch_response, context, data, json, kwargs):
        """A call through a mounted adapter: real requests does it (blocking calls yield to gevent, as under
        Locust), with this session's cookies going in and out, and it is recorded as Locust records a call."""
        import requests

        rs = self._requests_session()
        rs.cookies.clear()
        for n, v, d, p in self._core.cookie_items():
            rs.cookies.set(n, v, domain=d, path=p)
        if name is None:
            name = self.request_name
        start_time = time.time()
        t0 = time.perf_counter()
        try:
            response = rs.request(method, full, data=data, json=json, **kwargs)
        except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL):
            raise
        except requests.exceptions.RequestException as e:
            response = requests.Response()
            response.error = e
            response.status_code = 0
            response.request = requests.Request(method, full).prepare()
        response_time = (time.perf_counter() - t0) * 1000
        for c in rs.cookies:
            base = "%s://%s/" % (urlsplit(full).scheme or "http", (c.domain or "").lstrip(".") or urlsplit(full).hostname)
            self._core.cookie_set(c.name, c.value, base)
        before = (response.history and response.history[0] or response).request
        if before is not None:
            full = str(before.url)
            if not name:
                name = before.path_url
        elif not name:
            name = str(url)
        return self._report_call(method, full, name, response, response_time, start_time, kwargs.get("stream", False),
                                 context, catch_response, lambda: _requests_verdict(response, name))

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


__all__ = ["HttpSession", "ResponseContextManager", "RestResponseContextManager", "Response"]
