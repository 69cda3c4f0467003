"""Wait-time factories (rlocust shim of ``locust.user.wait_time``).

Each factory returns a function taking the User or TaskSet instance and returning seconds.

rlocust addition: ``constant_pacing`` (and so ``constant_throughput``) marks its function with the interval
(``_rlocust_pacing``, seconds). ``_pacing_ms`` reads it off a user; the HTTP sessions of such a user and its
greenlet carry it, and every request they record is recorded with it, for the coordinated-omission
correction (docs/observability.md). Nothing here changes a wait.
"""

import random
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING

from gevent import getcurrent

if TYPE_CHECKING:
    from locust import User


def between(min_wait: float, max_wait: float) -> Callable[["User"], float]:
    """Uniformly random wait in [min_wait, max_wait)."""

    def wait_between(instance):
        return min_wait + random.random() * (max_wait - min_wait)

    return wait_between


def constant(wait_time: float) -> Callable[["User"], float]:
    """Always the same wait."""

    def wait_constant(instance):
        return wait_time

    return wait_constant


def constant_pacing(wait_time: float) -> Callable[["User"], float]:
    """Wait so that consecutive task starts are ``wait_time`` seconds apart (0 if a task ran longer).

    The state lives on the instance (``_cp_last_run``, ``_cp_last_wait_time``).
    """

    def wait_pacing(instance):
        elapsed = perf_counter() - instance._cp_last_run - instance._cp_last_wait_time
        instance._cp_last_wait_time = max(0, wait_time - elapsed)
        instance._cp_last_run = perf_counter()
        return instance._cp_last_wait_time

    wait_pacing._rlocust_pacing = wait_time
    return wait_pacing


def constant_throughput(task_runs_per_second: float) -> Callable[["User"], float]:
    """``constant_pacing(1 / task_runs_per_second)``."""
    if task_runs_per_second <= 0:
        raise ValueError(
            f"constant_throughput() requires a positive rate, got: {task_runs_per_second}"
        )
    return constant_pacing(1 / task_runs_per_second)


def _pacing_ms(owner) -> float | None:
    """The fixed-rate interval in ms of ``owner``'s ``wait_time`` (a User's, or a class's) when it is
    ``constant_pacing``/``constant_throughput``, else None."""
    seconds = getattr(getattr(owner, "wait_time", None), "_rlocust_pacing", None)
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
        return float(seconds) * 1000.0
    return None


# set once a fixed-rate user has started: only then do requests recorded from Python look up their greenlet's
# interval (``_current_pacing_ms``)
_any_paced = False


def _mark_paced_greenlet(greenlet, ms: float | None) -> None:
    """Remember a user's interval on the greenlet that runs it (``User.start``)."""
    global _any_paced
    if ms is not None:
        greenlet._rlocust_pacing_ms = ms
        _any_paced = True


def _current_pacing_ms() -> float | None:
    """The interval of the fixed-rate user whose greenlet is running, if any (for requests recorded from
    Python: custom clients' ``events.request``, catch_response verdicts)."""
    if not _any_paced:
        return None
    return getattr(getcurrent(), "_rlocust_pacing_ms", None)


def poisson(rate: float) -> Callable[["User"], float]:
    """Exponentially distributed waits with mean ``1 / rate`` seconds."""
    if rate <= 0:
        raise ValueError(f"poisson() requires a positive rate, got: {rate}")

    def wait_poisson(instance):
        return random.expovariate(rate)

    return wait_poisson
