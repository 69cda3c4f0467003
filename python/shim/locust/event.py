"""Event hooks (rlocust shim of ``locust.event``)."""

# ruff: noqa: BLE001, LOG015
# (Locust's behaviour: listener errors are caught broadly and logged on the root logger.)

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

from . import log
from .exception import (
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)

# Control-flow exceptions that a listener may raise on purpose (e.g. from a request
# listener inside a task); they are passed through instead of being logged.
_PASS_THROUGH = (
    StopUser,
    StopTest,
    RescheduleTask,
    RescheduleTaskImmediately,
    InterruptTaskSet,
)


def _call_each(listeners, kwargs):
    for listener in listeners:
        try:
            listener(**kwargs)
        except _PASS_THROUGH:
            raise
        except Exception:
            logging.error("Uncaught exception in event handler: \n%s", traceback.format_exc())
            log.unhandled_greenlet_exception = True


class EventHook:
    """A list of listeners that are called, with keyword arguments only, when the event fires."""

    # how many listeners of the locustfile's add_listener gave it and remove_listener did not take back (a client asks
    # it as a request it sent without listeners comes back: locust._clientlib.finish_call)
    _added = 0

    def __init__(self):
        self._handlers = []
        # the name of a distributed-mode event whose listeners the engine must know of (see Events)
        self._engine_name = None

    def add_listener(self, handler):
        self._handlers.append(handler)
        if not getattr(handler, "_rlocust_builtin", False):
            self._added += 1
        if self._engine_name is not None:
            _tell_engine(self._engine_name, True)
        return handler

    def remove_listener(self, handler):
        self._handlers.remove(handler)
        if self._added and not getattr(handler, "_rlocust_builtin", False):
            self._added -= 1
        if self._engine_name is not None:
            _tell_engine(self._engine_name, bool(self._handlers))

    def fire(self, *, reverse=False, **kwargs):
        # work on a snapshot: listeners may add/remove listeners while we iterate
        _call_each(list(reversed(self._handlers)) if reverse else list(self._handlers), kwargs)

    def _fire_user_listeners(self, kwargs):
        """fire() for the locustfile's listeners only, not rlocust's own (the engine recorded the request)."""
        _call_each([h for h in self._handlers if not getattr(h, "_rlocust_builtin", False)], kwargs)

    @contextmanager
    def measure(
        self, request_type: str, name: str, response_length: int = 0, context=None
    ) -> Generator[dict[str, Any]]:
        """Time the with-block and fire this event with the result.

        The yielded dict may be modified; an exception raised in the block is stored as
        ``exception`` (and not propagated).
        """
        meta: dict[str, Any] = {
            "request_type": request_type,
            "name": name,
            "response_length": response_length,
            "context": context or {},
            "exception": None,
            "start_time": time.time(),
        }
        started = time.perf_counter()
        try:
            yield meta
        except Exception as exc:
            meta["exception"] = exc
        finally:
            meta["response_time"] = (time.perf_counter() - started) * 1000
            self.fire(**meta)


class DeprecatedEventHook(EventHook):
    """An EventHook that logs ``message`` as a warning whenever a listener is added."""

    def __init__(self, message):
        self.message = message
        super().__init__()

    def add_listener(self, handler):
        logging.warning(self.message)
        return super().add_listener(handler)


class _RequestAliasHook(DeprecatedEventHook):
    """Pre-1.5 ``request_success`` / ``request_failure`` events, mapped onto ``request``.

    Listeners get the old keyword arguments when a ``request`` event fires; firing the
    alias feeds a ``request`` event (so stats see it).
    """

    def __init__(self, events: Events, failure: bool):
        self._events = events
        self._failure = failure
        kind = "request_failure" if failure else "request_success"
        super().__init__(f"{kind} event deprecated. Use the request event.")

    def add_listener(self, handler):
        self._events._install_request_bridge()
        return super().add_listener(handler)

    def fire(self, *, reverse=False, **kwargs):
        if not self._failure:
            kwargs["exception"] = None
        kwargs.setdefault("exception", None)
        kwargs.setdefault("context", {})
        self._events.request.fire(reverse=reverse, **kwargs)

    def _dispatch(self, **kwargs):
        EventHook.fire(self, **kwargs)


# The events the distributed runners (in Rust) fire only when something listens: a worker builds its reports and
# answers heartbeats without Python otherwise.
_ENGINE_EVENTS = ("report_to_master", "worker_report", "heartbeat_sent", "heartbeat_received")


def _tell_engine(name, on):
    try:
        import _rlocust
    except ImportError:  # the shim imported outside rlocust's engine
        return
    _rlocust.dist_listened(name, on)


class Events:
    """One EventHook per event name (see the annotations below)."""

    request: EventHook
    user_error: EventHook
    report_to_master: EventHook
    worker_report: EventHook
    worker_connect: EventHook
    spawning_complete: EventHook
    quitting: EventHook
    quit: EventHook
    init: EventHook
    init_command_line_parser: EventHook
    test_start: EventHook
    test_stopping: EventHook
    test_stop: EventHook
    reset_stats: EventHook
    cpu_warning: EventHook
    heartbeat_sent: EventHook
    heartbeat_received: EventHook
    usage_monitor: EventHook

    def __init__(self):
        # Like Locust: class attributes whose value is the string "EventHook" (old style),
        # and the annotations visible from the instance (the most derived class that has any).
        for attr, value in vars(type(self)).items():
            if value == "EventHook":
                setattr(self, attr, EventHook())
        for attr, value in self.__annotations__.items():
            if value == "EventHook":
                setattr(self, attr, EventHook())
        for name in _ENGINE_EVENTS:
            hook = getattr(self, name, None)
            if isinstance(hook, EventHook):
                hook._engine_name = name

    # --- deprecated request_success / request_failure (kept small and separate) ---

    def _request_alias(self, failure: bool) -> _RequestAliasHook:
        key = "_request_failure_alias" if failure else "_request_success_alias"
        hook = self.__dict__.get(key)
        if hook is None:
            hook = _RequestAliasHook(self, failure)
            self.__dict__[key] = hook
        return hook

    @property
    def request_success(self) -> EventHook:
        return self._request_alias(False)

    @property
    def request_failure(self) -> EventHook:
        return self._request_alias(True)

    def _install_request_bridge(self):
        if self.__dict__.get("_request_bridge") is not None:
            return

        def deprecated_request_bridge(
            request_type=None,
            name=None,
            response_time=None,
            response_length=None,
            exception=None,
            **_kwargs,
        ):
            if exception is None:
                self._request_alias(False)._dispatch(
                    request_type=request_type,
                    name=name,
                    response_time=response_time,
                    response_length=response_length,
                )
            else:
                self._request_alias(True)._dispatch(
                    request_type=request_type,
                    name=name,
                    response_time=response_time,
                    response_length=response_length,
                    exception=exception,
                )

        self.__dict__["_request_bridge"] = deprecated_request_bridge
        self.request.add_listener(deprecated_request_bridge)
