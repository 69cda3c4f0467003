"""rlocust internals: the hub side of the Rust bridge.

Runs on the one Python thread. A user greenlet that makes a request parks in `wait(ticket)`; tokio finishes the
exchange, queues it and writes an eventfd that gevent's loop watches; `_on_wake` drains the queue in one batch
and switches each parked greenlet back in with its Response. Runner commands (`_rlocust.Spawn`, `Stop`, `Fire`,
`Web`, `WebRequest`, `Quit`) arrive in the same drain and run in their own greenlets, each acknowledged by its id when done (see
src/bridge.rs for the protocol's invariants). Also holds the small factories the Rust `Response` uses for
Python-side objects.
"""

import functools
import json as _json
import logging

import gevent
import greenlet
from gevent.event import Event

import _rlocust

_pending = {}
_getcurrent = greenlet.getcurrent
_hub = None
_watcher = None
_done = Event()
_runner = None


def _on_sigint(signum, frame):
    """Python's SIGINT handler during a run: Ctrl+C itself is handled in Rust (it stops the test through the
    runner); this raises KeyboardInterrupt only when the watchdog asks for it, in a task that never yields."""
    if _rlocust.take_interrupt():
        raise KeyboardInterrupt()


def ensure_started():
    """Install the eventfd watcher on this thread's hub (idempotent). SIGINT and SIGTERM are handled in Rust
    (`runner::watchdog`), so they stop the test even when a task never yields; Python's default SIGINT handler
    (a KeyboardInterrupt wherever Python happens to run) is replaced, a locustfile's own handler is kept."""
    global _hub, _watcher
    if _watcher is None:
        import signal

        # (also when SIGINT was ignored at start, as in a background job of a script: Rust takes SIGINT at the OS
        # level anyway, and the watchdog's interrupt of a task that never yields needs this handler). When a script
        # drives the run (`rlocust-python`), Ctrl+C stays Python's KeyboardInterrupt.
        from locust._mode import library_mode

        library = library_mode()
        global _library
        _library = library
        if not library and signal.getsignal(signal.SIGINT) in (signal.default_int_handler, signal.SIG_IGN):
            signal.signal(signal.SIGINT, _on_sigint)
        _hub = gevent.get_hub()
        _watcher = _hub.loop.io(_rlocust.wake_fd(), 1)
        _watcher.start(_on_wake)
        # Requests are handed to tokio in one batch per pass of the loop: the first send of a batch schedules
        # the flush as a hub callback (gevent runs callbacks before it polls, so nothing waits on a blocked loop).
        _rlocust.set_flush_hook(functools.partial(_hub.loop.run_callback, _rlocust.flush))


def wait(ticket):
    """Park the current greenlet until the call `ticket` completes; returns its Response."""
    if _hub is None:  # a script's first request before any runner (`rlocust-python`: pytest, run_single_user)
        ensure_started()
    _pending[ticket] = _getcurrent()
    try:
        return _hub.switch()
    except BaseException:
        # killed while waiting (a stop): Locust records nothing for the request a killed user was in
        if _pending.pop(ticket, None) is not None:
            _rlocust.abandon(ticket)
        raise


def started():
    """Whether the hub watches the bridge (inside an rlocust run; not under the unit tests' engine stub)."""
    return _watcher is not None


def sleep(seconds):
    """gevent.sleep(seconds) for a user's wait, with the timer kept by tokio: the users whose waits end in the
    same millisecond are resumed together, in the drain that brings the responses (src/engine/timers.rs).
    `seconds` is a positive float or int below `_rlocust`'s limit; a kill or a gevent.Timeout lands here as in
    gevent.sleep."""
    wait(_rlocust.sleep(seconds))


_library = False  # a script drives the run (`rlocust-python`): the runner's log lines go to Python's logging


def _forward_logs():
    for level, name, message in _rlocust.lib_take_logs():
        logging.getLogger(name).log(level, message)


def _on_wake():
    if _library:
        _forward_logs()
    completions, commands = _rlocust.drain()
    # Most commands' greenlets start at their next turn, after the users resumed below have parked again. The
    # stop's steps (its events, the stop itself, the quit) start here and now, from the hub: behind a full round of
    # busy users (tasks that never wait) each step took a round, three rounds for a stop where Locust, whose
    # stop runs in one greenlet, takes about one (1,000 raising users: 8 s instead of 1).
    for command in commands:
        # a lambda, as Locust spawns its spawning greenlet: a User.__init__ that raises is reported as
        # "<Greenlet at 0x…: <lambda>> failed with …" by both
        # (a Web command's greenlet stands for Locust's main greenlet: Enter at the prompt)
        logger = "locust.main" if isinstance(command, _rlocust.Web) else "locust.runners"
        g = gevent.Greenlet(lambda c=command: _command(c))
        g.link_exception(functools.partial(_command_failed, logger))
        if isinstance(command, _AT_ONCE):
            g.switch()  # (runs until it waits, then the hub carries on here)
        else:
            g.start()
    for ticket, response in completions:
        g = _pending.pop(ticket, None)
        if g is not None:
            g.switch(response)
        else:
            _rlocust.forget(ticket)


_AT_ONCE = (_rlocust.Fire, _rlocust.Stop, _rlocust.Quit)


def set_runner(runner):
    global _runner
    _runner = runner


_command_greenlets = set()


def in_command():
    """Whether the current greenlet carries out a runner command (the runner waits for it to end)."""
    return _getcurrent() in _command_greenlets


def _command(command):
    """Carry out one runner command, then acknowledge it (exactly once, whatever happens)."""
    ok = False
    me = _getcurrent()
    _command_greenlets.add(me)
    try:
        match command:
            case _rlocust.Spawn():
                # NOTE: as in Locust, an exception from a User's __init__ ends the spawning greenlet: it is
                # reported as an unhandled greenlet exception (exit code 2) and the ramp stops where it is.
                _runner._spawn(command.class_name, command.count)
            case _rlocust.Stop():
                _runner._stop(command.class_name, command.count, command.timeout)
            case _rlocust.Fire():
                _runner._fire(command.event, dict(command.kwargs))
            case _rlocust.Web():
                from locust import _web

                ok = _web.handle(_runner.environment, command.action, command.payload)
                return
            case _rlocust.WebRequest():
                from locust import _web

                ok = _web.wsgi(_runner.environment, command)
                return
            case _rlocust.DistMessage():
                _runner._on_dist_message(command.type, command.data, command.node_id)
            case _rlocust.Quit():
                _done.set()
                quit_event = getattr(_runner, "_quit_event", None)
                if quit_event is not None:  # a script's runner.greenlet ends (`rlocust-python`)
                    quit_event.set()
        ok = True
    except SystemExit as e:
        node = _rlocust.dist_node()
        if isinstance(command, _rlocust.Fire) and node is not None and node[0] == "worker":
            # Locust's worker fires these events in its message loop greenlet, whose death is logged so
            logging.getLogger("locust.runners").info(
                f"sys.exit({e}) called (use log level DEBUG for callstack)"
            )
        raise
    except Exception:
        if isinstance(command, _rlocust.Spawn):
            raise
        logging.getLogger("locust.runners").exception(
            "Error while handling runner command %s", type(command).__name__.lower()
        )
        ok = True
    finally:
        _command_greenlets.discard(me)
        _rlocust.ack(command.id, ok)


def _command_failed(logger, greenlet):
    """A command greenlet died (a User's __init__ raised while spawning, sys.exit() in a patched webbrowser):
    Locust's report of it (its greenlet_exception_logger, on the logger of the greenlet it stands for; a StopTest
    from a User's __init__ stops the test instead, as Locust's spawning greenlet's handler does)."""
    import locust.log
    from locust.exception import StopTest

    if greenlet.exc_info[0] is StopTest and _runner is not None:
        _runner._spawn_failed_with_stop_test(greenlet.exc_info[1])
        return
    locust.log.greenlet_exception_logger(logging.getLogger(logger))(greenlet)


def run_until_quit():
    """Run the hub until the runner says so (its Quit command). Returns None then, or the exit status a task gave
    sys.exit(): as under Locust, that ends the process at once (no stop sequence, no quitting event).

    Called once for the test, and once more after an interrupt (the users are stopped after `quitting`).
    A KeyboardInterrupt raised in a user's task (or the watchdog's interrupt of a task that never yields)
    reaches this greenlet, as it reaches Locust's main greenlet, and interrupts the run as a Ctrl+C does."""
    ensure_started()
    _done.clear()
    while True:
        try:
            _done.wait()
            return None
        except KeyboardInterrupt:
            _rlocust.runner_control("interrupt")
        except SystemExit as e:
            _last_turn()
            if e.code is None or isinstance(e.code, int):
                return e.code or 0
            import sys

            print(e.code, file=sys.stderr)  # sys.exit("message"): Python prints it and exits with 1
            return 1


def _last_turn():
    """What gevent's threading patch does as Locust's interpreter exits: one more turn of the hub, in which the
    greenlets already scheduled run (e.g. the other users a stop is killing); an exception one of them throws into
    the main greenlet (a second sys.exit() in an on_stop) is printed as gevent prints it, "<main greenlet> failed
    with SystemExit"."""
    main = _getcurrent()
    try:
        gevent.sleep()
    except BaseException:  # noqa: BLE001 (anything thrown in here is only reported, as gevent does)
        import sys

        gevent.get_hub().print_exception(main, *sys.exc_info())


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
    from locust._reqcompat import new_prepared

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


def _exc_class(path):
    """The exception class at import path `path` (real, or its look-alike when the package is missing)."""
    cls = _classes.get(path)
    if cls is not None:
        return cls
    global _fallbacks
    module, _, name = path.rpartition(".")
    try:
        if module == "locust._bridge":
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
        base = _exc_class("requests.exceptions.ConnectionError")
    else:
        base = ConnectionError
    return type(name, (base,), {"__module__": "locust.exception", "__qualname__": name})


def build_exc(desc, response=None):
    """The exception object the engine describes (see `exc_to_py` in src/py/response.rs)."""
    if desc[0] == "O":
        return _Shown(desc[1])
    _, path, args, attrs, context, chain = desc
    args = tuple(build_exc(a) if isinstance(a, tuple) else a for a in args)
    cls = _exc_class(path)
    # NOTE: the instance is made without the class's own __init__ (urllib3's and geventhttpclient's take pools,
    # connections and responses the engine does not have); args and the attributes its repr and str need are set
    # as that __init__ would leave them.
    if issubclass(cls, UnicodeError):  # its str() reads what its own __init__ stores
        obj = cls(*args)
    else:
        obj = cls.__new__(cls, *args)
        BaseException.__init__(obj, *args)
    for key, value in attrs:
        setattr(obj, key, build_exc(value) if isinstance(value, tuple) else value)
    rex = _requests_exceptions()
    req_base = rex.RequestException if rex is not None else _exc_class("requests.exceptions.RequestException")
    if isinstance(obj, req_base):
        obj.response = response
        obj.request = None
    if context is not None:
        obj.__context__ = build_exc(context)
        if chain == 1:  # raise ... from context
            obj.__cause__ = obj.__context__
        elif chain == 2:  # raise ... from None
            obj.__suppress_context__ = True
    return obj


def _exc_module():
    """requests.exceptions, or a namespace of the look-alike classes."""
    rex = _requests_exceptions()
    if rex is not None:
        return rex
    import types

    ns = types.SimpleNamespace()
    for path in list(_fallback_classes()):
        if path.startswith("requests.exceptions."):
            setattr(ns, path.rpartition(".")[2], _exc_class(path))
    return ns


def _fast_error(kind, message, url, status):
    if kind == "badstatus":
        from locust.contrib.fasthttp import LocustBadStatusCode

        return LocustBadStatusCode(url, code=status)
    return OSError(message)


def make_error(kind, flavor, message, url, status, response):
    """The exception of a response whose status fails the client's rule (`response.error`): requests' HTTPError
    or FastHttpUser's LocustBadStatusCode. Connection and read failures come from `build_exc`."""
    if flavor == "fast":
        return _fast_error(kind, message, url, status)
    return _exc_module().HTTPError(message, response=response)


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
        exec(compile(code, "<rlocust>/locust/_bridge.py", "exec"), scope)  # noqa: S102
        raiser = _raisers[name] = scope["raise_%s" % (name if name.isidentifier() else "error")]
    raiser(error)


_UNWRAPPED = ("requests.exceptions.ConnectionError", "urllib3.exceptions.ProtocolError",
              "urllib3.exceptions.MaxRetryError", "urllib3.exceptions.NewConnectionError")


def reported_error(error):
    """The exception Locust reports for `error`: HttpSession looks through requests' ConnectionError and urllib3's
    ProtocolError, MaxRetryError and NewConnectionError to their __context__ (the root cause)."""
    if error is None:
        return None
    classes = tuple(_exc_class(p) for p in _UNWRAPPED)
    while isinstance(error, classes) and error.__context__ is not None:
        error = error.__context__
    return error


def json_loads(text, **kwargs):
    try:
        return _json.loads(text, **kwargs)
    except _json.JSONDecodeError as e:
        cls = getattr(_exc_module(), "JSONDecodeError", None)
        if cls is None:
            raise
        raise cls(e.msg, e.doc, e.pos) from None


# requests' Response helpers the Rust Response calls (locust/_reqcompat.py)
from locust._reqcompat import (  # noqa: E402, F401
    apparent_encoding,
    decode_chunks,
    iter_lines,
    iter_stream,
    make_raw,
    next_request,
    parse_links,
    read_rest,
)
