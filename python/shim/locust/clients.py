"""`HttpSession`: Locust's requests-style client, with the HTTP exchange done in Rust.

Each user gets its own session (its own connections and cookie jar). Arguments are turned into plain data
here, the exchange runs on tokio, and the greenlet parks until the Response comes back (see `locust._hub`).
Statistics are recorded in Rust when the exchange completes; `events.request` listeners are called only when
a locustfile registered any, or when `catch_response=True` defers the verdict to the with-block.
"""

import os
import re
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from greenlet import getcurrent as _getcurrent

import _rlocust
from _rlocust import Request as _Request
from locust import _aio, _ffi, _hub, _reqcompat
from locust._clientlib import (  # noqa: F401 (parse_error: a name of locust.clients)
    NAME_ONLY,
    NO_CONTEXT,
    CookieJarView,
    ResponseContextManager,
    RestResponseContextManager,
    _installed_version,
    _requests_verdict,
    _to_pairs,
    add_params,
    basic_auth_header,
    encode_body,
    finish_call,
    has_user_listeners,
    header_pairs,
    http2_wanted,
    memoized,
    native_verbs,
    parse_error,
    requote,
    split_credentials,
    with_urllib3_defaults,
)

Response = _rlocust.Response
CaseInsensitiveDict = _ffi.CaseInsensitiveDict

_ABSOLUTE = re.compile(r"^https?://", re.I)
_REQUESTS_VERSION = "2.34.2"


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
        _rlocust.share_headers(_shared_defaults[1])  # converted once, not per call
    return _shared_defaults


def _default_headers():
    # NOTE: requests advertises br when the brotli package is installed, and Locust installs it (through
    # geventhttpclient); the engine decodes br itself.
    ua = "python-requests/" + _installed_requests_version()
    return CaseInsensitiveDict(
        {"User-Agent": ua, "Accept-Encoding": "gzip, deflate, br", "Accept": "*/*", "Connection": "keep-alive"}
    )


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
    parse_error = cls.__new__(cls)  # noqa: F811 (a local: the name shows in the traceback)
    BaseException.__init__(parse_error, text)  # (its own __init__ takes the location and adds the prefix)
    parse_error.location = text[len(_PARSE_FAILED):]
    try:
        raise parse_error
    except BaseException:
        raise invalid  # noqa: B904 (the context is the point)


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


def _requests_method(name):
    """requests.Session's own `name` (a plain function, run here on an HttpSession)."""
    rq = _reqcompat._requests()
    if rq is None:
        raise ModuleNotFoundError(f"Session.{name} needs requests installed (pip install requests)")
    return getattr(rq.Session, name)


def _plain_url_of(base, url):
    """What `request` sends for `url` on a session with `base`, or False where `request` would refuse, pass it to
    a mounted adapter, or raise."""
    if _ABSOLUTE.match(url):
        if not _NO_HOST.match(url) and not _BAD_LABEL.match(url):
            return requote(url)
    elif base.__class__ is str and _ABSOLUTE.match(base + url):
        return requote(base + url)
    return False


_plain_url = memoized(_plain_url_of)


class HttpSession(_rlocust.Client):
    """Locust's `HttpSession` (a requests.Session look-alike) backed by the Rust engine. Its verbs (`get`, `post`,
    ...) are `_rlocust.Client`'s: the plain call in Rust (src/py/call.rs), every other one by the `_slow_<verb>`
    methods here."""

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
        if _NATIVE_VERBS:
            self._bind(self._core)

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
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(HttpSession.request, self, (method, url, name, catch_response, context), dict(kwargs, data=data, json=json))
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
        if kwargs:  # (what requests' Session.request does not take: it refuses it before sending, so no row either)
            raise TypeError(f"Session.request() got an unexpected keyword argument {next(iter(kwargs))!r}")
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

    def _plain_call(self, method, url, name, allow_redirects):
        """`request` for the commonest call, a URL (and a name) on a session nobody customised, as HttpUser's are:
        no headers, params, hooks, proxies, auth, mounts, TLS files or streaming set, the environment not trusted,
        `request` not overridden. The same request goes out and the same Response comes back, without the argument
        handling (bench/breakdown.py: a fifth of the Python thread). None: the call needs `request`."""
        if (
            self.__class__ is not HttpSession
            or HttpSession.request is not _PLAIN_REQUEST
            or url.__class__ is not str
            or self.trust_env is not False
            or self._headers is not None
            or self._hooks is not None
            or self._params
            or self._proxies
            or self.auth
            or self._mounts
            or self.stream
            or self.verify is not True
            or self.cert is not None
        ):
            return None
        sent = _plain_url(self.base_url, url)
        if sent is False:
            return None
        if name is None:
            name = self.request_name
        listeners = has_user_listeners(self.request_event)
        try:
            ticket = self._core.send(_Request(
                method, sent, name, (_shared_defaults or _shared_default_headers())[1], None, None, allow_redirects,
                True, [], not listeners, self.max_redirects,
            ))
        except ValueError:
            return None  # nothing went out: `request` raises it as requests does
        return finish_call(self, _hub.wait(ticket), method, sent, NO_CONTEXT, False, listeners)

    def _slow_get(self, url, *, data=None, json=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(HttpSession.get, self, (url,), dict(kwargs, data=data, json=json))
        if data is None and json is None and (not kwargs or kwargs.keys() == NAME_ONLY):
            response = self._plain_call("GET", url, kwargs.get("name"), True)
            if response is not None:
                return response
        kwargs.setdefault("allow_redirects", True)
        return self.request("GET", url, data=data, json=json, **kwargs)

    def _slow_options(self, url, *, data=None, json=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(HttpSession.options, self, (url,), dict(kwargs, data=data, json=json))
        kwargs.setdefault("allow_redirects", True)
        return self.request("OPTIONS", url, data=data, json=json, **kwargs)

    def _slow_head(self, url, *, data=None, json=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(HttpSession.head, self, (url,), dict(kwargs, data=data, json=json))
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, data=data, json=json, **kwargs)

    def _slow_post(self, url, data=None, json=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(HttpSession.post, self, (url, data, json), kwargs)
        return self.request("POST", url, data=data, json=json, **kwargs)

    def _slow_put(self, url, data=None, *, json=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(HttpSession.put, self, (url, data), dict(kwargs, json=json))
        return self.request("PUT", url, data=data, json=json, **kwargs)

    def _slow_patch(self, url, data=None, *, json=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(HttpSession.patch, self, (url, data), dict(kwargs, json=json))
        return self.request("PATCH", url, data=data, json=json, **kwargs)

    def _slow_delete(self, url, *, data=None, json=None, **kwargs):
        if _getcurrent() is _aio.inside:  # inside a coroutine: a Call to await (locust._aio)
            return _aio.Call(HttpSession.delete, self, (url,), dict(kwargs, data=data, json=json))
        if data is None and json is None and (not kwargs or kwargs.keys() == NAME_ONLY):
            response = self._plain_call("DELETE", url, kwargs.get("name"), True)
            if response is not None:
                return response
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


_PLAIN_REQUEST = HttpSession.request  # (a locustfile that patches HttpSession.request keeps its patch)
_NATIVE_VERBS = native_verbs(HttpSession, "requests", _PLAIN_REQUEST, lambda: _shared_default_headers()[1],
                             _plain_url_of)

__all__ = ["HttpSession", "ResponseContextManager", "RestResponseContextManager", "Response"]
