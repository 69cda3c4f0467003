"""Wait-time factories (rlocust shim of ``locust.user.wait_time``).

Each factory returns a function taking the User or TaskSet instance and returning seconds.
"""

import random
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING

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

    return wait_pacing


def constant_throughput(task_runs_per_second: float) -> Callable[["User"], float]:
    """``constant_pacing(1 / task_runs_per_second)``."""
    if task_runs_per_second <= 0:
        raise ValueError(
            f"constant_throughput() requires a positive rate, got: {task_runs_per_second}"
        )
    return constant_pacing(1 / task_runs_per_second)


def poisson(rate: float) -> Callable[["User"], float]:
    """Exponentially distributed waits with mean ``1 / rate`` seconds."""
    if rate <= 0:
        raise ValueError(f"poisson() requires a positive rate, got: {rate}")

    def wait_poisson(instance):
        return random.expovariate(rate)

    return wait_poisson
