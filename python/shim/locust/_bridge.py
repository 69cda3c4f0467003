"""rlocust internals: the hub side of the Rust bridge.

Runs on the one Python thread. A user greenlet that makes a request parks in `wait(ticket)`; tokio finishes the
exchange, queues it and writes an eventfd that gevent's loop watches; `_on_wake` drains the queue in one batch
and switches each parked greenlet back in with its Response. Runner commands arrive on the same queue and run in
their own greenlets. Also holds the small factories the Rust `Response` uses for Python-side objects.
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


_interrupts = 0


def _on_signal():
    """Ctrl+C or SIGTERM: stop the users and write the results; a second Ctrl+C exits at once."""
    global _interrupts
    _interrupts += 1
    if _interrupts > 1:
        import os

        os._exit(1)
    _rlocust.runner_control("quit")


def ensure_started():
    """Install the eventfd watcher and the signal handlers on this thread's hub (idempotent)."""
    global _hub, _watcher
    if _watcher is None:
        import signal

        _hub = gevent.get_hub()
        _watcher = _hub.loop.io(_rlocust.wake_fd(), 1)
        _watcher.start(_on_wake)
        # Requests are handed to tokio in one batch per pass of the loop: the first send of a batch schedules
        # the flush as a hub callback (gevent runs callbacks before it polls, so nothing waits on a blocked loop).
        _rlocust.set_flush_hook(functools.partial(_hub.loop.run_callback, _rlocust.flush))
        gevent.signal_handler(signal.SIGINT, _on_signal)
        gevent.signal_handler(signal.SIGTERM, _on_signal)


def wait(ticket):
    """Park the current greenlet until the call `ticket` completes; returns its Response."""
    _pending[ticket] = _getcurrent()
    try:
        return _hub.switch()
    except BaseException:
        _pending.pop(ticket, None)
        raise


def _on_wake():
    for ticket, payload in _rlocust.drain():
        if ticket:
            g = _pending.pop(ticket, None)
            if g is not None:
                g.switch(payload)
        else:
            gevent.spawn(_command, payload)


def set_runner(runner):
    global _runner
    _runner = runner


def _command(payload):
    cid, kind, name, count, timeout, kwargs = payload
    try:
        if kind == "spawn":
            _runner._spawn(name, count)
        elif kind == "stop":
            _runner._stop(name, count, timeout)
        elif kind == "fire":
            _runner._fire(name, dict(kwargs))
        elif kind == "quit":
            _done.set()
    except Exception:
        logging.getLogger("locust.runners").exception("Error while handling runner command %s", kind)
    finally:
        _rlocust.ack(cid)


def run_until_quit():
    ensure_started()
    _done.wait()


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


class PreparedRequestView:
    """What `response.request` offers: method, url, headers, body."""

    __slots__ = ("method", "url", "headers", "body")

    def __init__(self, method, url, headers, body):
        self.method = method
        self.url = url
        self.headers = make_headers(headers)
        self.body = body

    @property
    def path_url(self):
        from urllib.parse import urlsplit

        p = urlsplit(self.url)
        return (p.path or "/") + ("?" + p.query if p.query else "")

    def __repr__(self):
        return "<PreparedRequest [%s]>" % self.method


def make_request(method, url, headers, body):
    return PreparedRequestView(method, url, headers, body)


def _requests_exceptions():
    try:
        import requests.exceptions as rex

        return rex
    except Exception:
        return None


class _Fallback:
    """Exception classes named like requests' when requests is not installed."""

    class RequestException(IOError):
        def __init__(self, *args, response=None, request=None, **kwargs):
            super().__init__(*args)
            self.response = response
            self.request = request

    class HTTPError(RequestException):
        pass

    class ConnectionError(RequestException):
        pass

    class Timeout(RequestException):
        pass

    class ConnectTimeout(ConnectionError, Timeout):
        pass

    class ReadTimeout(Timeout):
        pass

    class TooManyRedirects(RequestException):
        pass

    class MissingSchema(RequestException, ValueError):
        pass

    class InvalidURL(RequestException, ValueError):
        pass

    class SSLError(ConnectionError):
        pass

    class JSONDecodeError(_json.JSONDecodeError):
        pass


def _exc_module():
    return _requests_exceptions() or _Fallback


class ReadTimeoutError(Exception):
    """Stands in for urllib3's ReadTimeoutError inside requests' ReadTimeout (same repr)."""


class _RetriesExceeded(Exception):
    """Stands in for geventhttpclient's RetriesExceeded (same repr)."""

    def __init__(self, url, retries, original=None):
        super().__init__(url, retries)
        self.url = url
        self.original = original

    def __repr__(self):
        return "RetriesExceeded(%r, %r, original=%s)" % (self.url, self.args[1], self.original)


def _fast_error(kind, message, url, status):
    if kind == "refused":
        return ConnectionRefusedError(111, "Connection refused")
    if kind == "reset":
        return ConnectionResetError(104, "Connection reset by peer")
    if kind == "badstatus":
        from locust.contrib.fasthttp import LocustBadStatusCode

        return LocustBadStatusCode(url, code=status)
    if kind == "timeout":
        try:
            from geventhttpclient.useragent import RetriesExceeded

            return RetriesExceeded(url, 0, original="timed out")
        except Exception:
            return _RetriesExceeded(url, 0, original="timed out")
    return OSError(message)


def make_error(kind, flavor, message, url, status, response):
    """The exception a client call raises (`response.error`), with requests' or geventhttpclient's classes.

    For HttpSession, connection errors wrap their root cause in `__context__`, which Locust unwraps when it
    reports the failure (see `reported_error`).
    """
    if flavor == "fast":
        return _fast_error(kind, message, url, status)
    mod = _exc_module()
    if kind == "http":
        return mod.HTTPError(message, response=response)
    if kind == "refused":
        err = mod.ConnectionError(message, response=None)
        err.__context__ = ConnectionRefusedError(111, "Connection refused")
        return err
    if kind == "reset":
        err = mod.ConnectionError(message, response=None)
        err.__context__ = ConnectionResetError(104, "Connection reset by peer")
        return err
    if kind == "timeout":
        return mod.ReadTimeout(ReadTimeoutError(message), response=None)
    if kind == "redirects":
        return mod.TooManyRedirects(message, response=response)
    if kind == "invalid":
        return mod.InvalidURL(message)
    if kind == "tls":
        return mod.SSLError(message, response=None)
    return mod.ConnectionError(message, response=None)


def reported_error(error):
    """Locust reports a connection error by its root cause (e.g. ConnectionRefusedError(111, ...))."""
    mod = _exc_module()
    while isinstance(error, mod.ConnectionError) and error.__context__ is not None:
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
