"""User classes (rlocust shim of ``locust.user.users``)."""

# ruff: noqa: BLE001, TRY002, RUF012
# (Locust's behaviour: plain Exception types, catch-all in rest(), class-level ``tasks`` lists.)

from __future__ import annotations

import logging
import re
import time
import traceback
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from json.decoder import JSONDecodeError
from types import BuiltinFunctionType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

from gevent import GreenletExit, greenlet
from gevent.pool import Group

import _rlocust
from locust import _aio, _hub, _open
from locust._ffi import exc_class
from locust.exception import CatchResponseError, StopTest, StopUser
from locust.user.task import (
    LOCUST_STATE_RUNNING,
    LOCUST_STATE_STOPPING,
    LOCUST_STATE_WAITING,
    DefaultTaskSet,
    TaskSet,
    get_tasks_from_base_classes,
)
from locust.user.wait_time import _mark_paced_greenlet, _pacing_ms, constant

if TYPE_CHECKING:
    from collections.abc import Generator

    import pytest
    from urllib3 import PoolManager


logger = logging.getLogger(__name__)

# Locust shows its own DeprecationWarnings every time (not once per location).
warnings.filterwarnings("always", category=DeprecationWarning, module="locust")


def _warn_legacy_task_set(class_dict):
    legacy = class_dict.get("task_set")
    if (
        "task_set" in class_dict
        and issubclass(legacy, TaskSet)
        and not hasattr(legacy, "locust_task_weight")
    ):
        warnings.warn(
            "Usage of User.task_set is deprecated since version 1.0. Set the tasks attribute instead "
            f"(tasks = [{legacy.__name__}])",
            DeprecationWarning,
        )


class UserMeta(type):
    """Collects and expands the tasks of User classes and defaults ``abstract`` to False."""

    def __new__(mcs, classname, bases, class_dict):
        class_dict["tasks"] = get_tasks_from_base_classes(bases, class_dict)
        if not class_dict.get("abstract"):
            class_dict["abstract"] = False
        _warn_legacy_task_set(class_dict)
        return type.__new__(mcs, classname, bases, class_dict)


def _run_user(user):
    """A user's greenlet (one function for all of them: Locust makes a closure per user, ~150 bytes each)."""
    try:
        user.run()
    except KeyboardInterrupt:
        # the watchdog counts these: an interrupt that ended a user is progress (runner::watchdog)
        _rlocust.user_interrupted()
        raise


# each user's greenlet runs `_run_user` with its Python frames on a small chunk of a shared slab instead of a 16 KiB
# one of its own (3 KB less per user; the binary only: src/py/frame_stack.rs)
_small = getattr(_rlocust, "small_frame_stack", None)
_run_user_greenlet = _small(_run_user) if isinstance(_small, BuiltinFunctionType) else _run_user


class User(metaclass=UserMeta):
    """A simulated user; subclass it and declare tasks with ``@task`` or ``tasks``."""

    host: str | None = None
    min_wait = None
    max_wait = None
    wait_time = constant(0)
    wait_function = None
    tasks: list[TaskSet | Callable] = []
    weight: float = 1
    fixed_count: int = 0
    abstract: bool = True
    # rlocust: the fields of the `--arrival-trace` row whose iteration runs (a dict), None outside a replay
    arrival: dict | None = None

    def __init__(self, environment) -> None:
        super().__init__()
        self.environment = environment
        self._state: str | None = None
        self._greenlet: greenlet.Greenlet | None = None
        self._group: Group
        self._taskset_instance: TaskSet | None = None
        self._cp_last_run: float = time.perf_counter()
        self._cp_last_wait_time: float = 0

    def on_start(self) -> None:
        pass

    def on_stop(self):
        pass

    @final
    def run(self):
        self._state = LOCUST_STATE_RUNNING
        self._taskset_instance = DefaultTaskSet(self)
        try:
            try:
                started = self.on_start()
                if started is not None:
                    _aio.run(self, started, keep=True)  # async def on_start
            except Exception as e:
                logger.error("%s\n%s", e, traceback.format_exc())
                if not isinstance(e, (StopUser, StopTest)):
                    self.environment.events.user_error.fire(
                        user_instance=self, exception=e, tb=e.__traceback__
                    )
                raise
            self._taskset_instance.run()
        except (GreenletExit, StopUser, StopTest):
            stopped = self.on_stop()
            if stopped is not None:
                _aio.run(self, stopped)  # async def on_stop
        finally:
            if "_rlocust_aio" in self.__dict__:
                _aio.user_stopped(self)  # the tasks its coroutines left running

    def wait(self):
        """Sleep for the user's wait_time (the user may be stopped gracefully during it)."""
        self._taskset_instance.wait()

    def start(self, group: Group):
        """Spawn this user's greenlet in ``group``; ``greenlet.args[0]`` is the user."""
        self._greenlet = group.spawn(_run_user_greenlet, self)
        _mark_paced_greenlet(self._greenlet, _pacing_ms(self))
        self._group = group
        return self._greenlet

    def stop(self, force: bool = False):
        """Kill now (force, not started, or waiting: returns True) or mark as stopping (returns False)."""
        return self._stop(force, block=True)

    def _stop(self, force, block):
        """stop(); the runner stops many users at once without waiting for each kill (block=False)."""
        if force or self._state in (None, LOCUST_STATE_WAITING):
            if self._state == LOCUST_STATE_WAITING:
                _hub.killing.add(self._greenlet)  # resumed before the kill lands, it waits for it (_hub.killing)
            self._group.killone(self._greenlet, block=block)
            if block:
                _hub.killing.discard(self._greenlet)
            return True
        if self._state == LOCUST_STATE_RUNNING:
            self._state = LOCUST_STATE_STOPPING
            return False
        raise Exception(
            f"Tried to stop User in an unexpected state: {self._state}. This should never happen."
        )

    @property
    def group(self):
        return self._group

    @property
    def greenlet(self):
        return self._greenlet

    def context(self) -> dict:
        """Extra request-event context for this user (merged under each request's own context)."""
        return {}

    @classmethod
    def json(cls):
        return {
            "host": cls.host,
            "weight": cls.weight,
            "fixed_count": cls.fixed_count,
            "tasks": [t.__name__ for t in cls.tasks],
        }

    @classmethod
    def fullname(cls) -> str:
        """``module.QualName`` without ``<locals>`` parts."""
        parts = f"{cls.__module__}.{cls.__qualname__}".split(".")
        return ".".join(p for p in parts if p != "<locals>")


RestResponseT = TypeVar("RestResponseT")

_HOME_DIR = re.compile(r"/((home|Users)/\w*)/")
# NOTE: Locust's failure text of an exception in a rest() block lists the frames of the traceback that lie in files
# with absolute paths, and its own rest()/rest_() are among them ("…/site-packages/locust/user/users.py:298 in rest,
# …"). The shim's frames are named <rlocust>/locust/…: they are listed too, with the lines of Locust's own yields.
_SHIM_FRAME = re.compile(r'  File "(<rlocust>/[^"]*)", line (\d*),(.*)')
_LOCUST_LINES = {
    ("<rlocust>/locust/user/users.py", " in rest"): "298",
    ("<rlocust>/locust/user/users.py", " in rest_"): "328",
}


class RestMixin(Generic[RestResponseT]):
    """``rest``/``rest_`` helpers for users that have an HTTP ``client``."""

    _callstack_regex = re.compile(r'  File "(\/.[^"]*)", line (\d*),(.*)')

    @_aio.awaitable  # inside a coroutine: `async with self.rest(...) as resp`
    @contextmanager
    def rest(
        self, method, url, headers: dict | None = None, **kwargs
    ) -> Generator[RestResponseT]:
        """JSON request helper: yields the response with ``.js``; errors in the block mark it failed."""
        headers = dict(headers) if headers else {}
        if "Content-Type" not in headers and "content-type" not in headers:
            headers["Content-Type"] = "application/json"
        if "Accept" not in headers and "accept" not in headers:
            headers["Accept"] = "application/json"
        with self.client.request(
            method, url, catch_response=True, headers=headers, **kwargs
        ) as r:  # type: ignore[attr-defined]
            resp: Any = r
            resp.js = None
            if resp.content is None:
                resp.failure(str(resp.error))
            elif resp.text:
                try:
                    resp.js = resp.json()
                except JSONDecodeError as e:
                    resp.failure(
                        f"Could not parse response as JSON. {resp.text[:250]}, "
                        f"response code {resp.status_code}, error {e}"
                    )
            try:
                yield resp
            except AssertionError as e:
                if not e.args:
                    resp.failure("Assertion failed")
                elif e.args[0].endswith(","):
                    resp.failure(f"{e.args[0][:-1]}, response was {_short_text(resp)}")
                else:
                    resp.failure(e.args[0])
            except Exception as e:
                where = []
                for line in traceback.format_exc().split("\n"):
                    m = self._callstack_regex.match(line) or _SHIM_FRAME.match(line)
                    if m:
                        where.append(
                            _HOME_DIR.sub("~/", m.group(1))
                            + ":"
                            + _LOCUST_LINES.get((m.group(1), m.group(3)), m.group(2))
                            + m.group(3)
                        )
                resp.failure(
                    f"{e.__class__.__name__}: {e} at {', '.join(where)}. Response was {_short_text(resp)}"
                )

    @_aio.awaitable  # inside a coroutine: `async with self.rest(...) as resp`
    @contextmanager
    def rest_(self, method, url, name=None, **kwargs) -> Generator[RestResponseT]:
        """Like ``rest`` but appends a cache-busting ``_=<ms timestamp>`` query parameter."""
        sep = "&" if "?" in url else "?"
        if name is None:
            name = f"{url}{sep}_=..."
        with self.rest(
            method, f"{url}{sep}_={int(time.time() * 1000)}", name=name, **kwargs
        ) as resp:
            yield resp


def _short_text(resp):
    return resp.text[:200] if resp.text else resp.text


class HttpUser(User, RestMixin["RestResponseContextManager"]):
    """A User with an HTTP session client (``self.client``)."""

    abstract: bool = True
    pool_manager: PoolManager | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.host is None:
            raise StopTest(
                "You must specify the base host. Either in the host attribute in the User class, "
                "or on the command line using the --host option."
            )
        from locust.clients import HttpSession

        self.client = HttpSession(
            base_url=self.host,
            request_event=self.environment.events.request,
            user=self,
            pool_manager=self.pool_manager,
        )
        self.client.trust_env = False


class PytestUser(User):
    """A user made from pytest-style test functions (see `locust.util.load_locustfile.load_locustfile_pytest`):
    it calls each function with its fixture's session, over and over, without waiting in between.

    As in Locust, a failed request the test raises on (`raise_for_status()`, a `catch_response` failure,
    FastHttpUser's status errors) only ends that call; requests' usage errors (MissingSchema, InvalidURL, …) and
    any other exception (a failed `assert`) end the user. `on_start`/`on_stop` and tasks are not used."""

    abstract = True
    functions: list[pytest.Function]
    fixtures: list

    def run(self):
        self._state = LOCUST_STATE_RUNNING
        self.fixtures = [next(f.fixturedef.func(self)) for f in self.functions]
        request_error = exc_class("requests.exceptions.RequestException")
        quiet = (request_error, CatchResponseError, exc_class("geventhttpclient.useragent.ConnectionError"))
        while True:
            for function, fixture in zip(self.functions, self.fixtures, strict=False):
                if _open.ACTIVE:
                    _open.arrive(self)  # an open workload: each test function starts with an arrival
                try:
                    function.obj(fixture)
                except quiet as e:
                    if isinstance(e, request_error) and isinstance(e, ValueError):
                        raise
                    logger.debug("%s\n%s", e, traceback.format_exc())


def _renamed_class_placeholder(placeholder_name, message):
    """A class that cannot be subclassed: doing so raises ImportError(message) (pre-1.0 names)."""

    class _RenamedMeta(type):
        def __new__(mcs, classname, bases, class_dict):
            if classname == placeholder_name:
                return super().__new__(mcs, classname, bases, class_dict)
            raise ImportError(message)

    return _RenamedMeta(placeholder_name, (), {})


def _renamed_message(old, new):
    return (
        f"The {old} class has been renamed to {new} in version 1.0. "
        "For more info see: https://docs.locust.io/en/latest/changelog.html#changelog-1-0"
    )


DeprecatedLocustClass = _renamed_class_placeholder(
    "DeprecatedLocustClass", _renamed_message("Locust", "User")
)
DeprecatedHttpLocustClass = _renamed_class_placeholder(
    "DeprecatedHttpLocustClass", _renamed_message("HttpLocust", "HttpUser")
)
DeprecatedFastHttpLocustClass = _renamed_class_placeholder(
    "DeprecatedFastHttpLocustClass", _renamed_message("FastHttpLocust", "FastHttpUser")
)
