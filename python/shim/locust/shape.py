"""LoadTestShape (rlocust shim of ``locust.shape``)."""

from __future__ import annotations

import time
from abc import ABCMeta, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from . import User
    from .runners import Runner


class LoadTestShapeMeta(ABCMeta):
    """Defaults ``abstract`` to False for every class that does not set it in its own body."""

    def __new__(mcs, classname, bases, class_dict):
        class_dict["abstract"] = class_dict.get("abstract", False)
        return super().__new__(mcs, classname, bases, class_dict)


class LoadTestShape(metaclass=LoadTestShapeMeta):
    """Base class for custom load shapes: implement ``tick()``."""

    runner: Runner | None = None
    abstract: ClassVar[bool] = True
    use_common_options: ClassVar[bool] = False

    def __init__(self):
        self.start_time = time.perf_counter()

    def reset_time(self):
        """Restart the run-time clock."""
        self.start_time = time.perf_counter()

    def get_run_time(self):
        """Seconds since creation or the last ``reset_time()``."""
        return time.perf_counter() - self.start_time

    def get_current_user_count(self):
        """The runner's current user count."""
        return self.runner.user_count

    @abstractmethod
    def tick(
        self,
    ) -> tuple[int, float] | tuple[int, float, list[type[User]] | None] | None:
        """Return ``(user_count, spawn_rate)``, ``(user_count, spawn_rate, user_classes)``, or None to stop."""
        ...


class ArrivalRateShapeMeta(type):
    """Defaults ``abstract`` to False for every class that does not set it in its own body."""

    def __new__(mcs, classname, bases, class_dict):
        class_dict["abstract"] = class_dict.get("abstract", False)
        return super().__new__(mcs, classname, bases, class_dict)


class ArrivalRateShape(metaclass=ArrivalRateShapeMeta):
    """rlocust's open workload in a locustfile (not in Locust): iterations start at an arrival rate instead of a
    number of users running in a loop (the command line's ``--arrival-rate``/``--arrival-stages``).

    ``start_rate`` is the rate at the start (iterations per second: a number, or a text such as ``"3000/m"``);
    ``stages`` a list of ``(duration, rate)`` pairs (or ``{"duration": ..., "target": ...}`` dicts), each moving the
    rate linearly to ``rate`` over ``duration`` (seconds, or a time span such as ``"2m"``); the test ends with the
    last stage (no stages: a constant ``start_rate`` until stopped). ``max_users`` (required) caps the users;
    ``initial_users`` are started before the first arrival.
    """

    abstract: ClassVar[bool] = True
    start_rate: ClassVar[float | str] = 0
    stages: ClassVar[list] = []
    max_users: ClassVar[int] = 0
    initial_users: ClassVar[int] = 0
