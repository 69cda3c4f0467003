"""locust.util.{timespan,rounding,date} (§1.18) and locust.shape (§1.12)."""

import time

import pytest

from locust import LoadTestShape
from locust.shape import LoadTestShapeMeta
from locust.util.date import (
    format_duration,
    format_safe_timestamp,
    format_utc_timestamp,
)
from locust.util.rounding import proper_round
from locust.util.timespan import parse_timespan

INVALID = (
    "Invalid time span format. Valid formats: 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc."
)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("20", 20),
        ("0", 0),
        ("20s", 20),
        ("3m", 180),
        ("2h", 7200),
        ("1h20m", 4800),
        ("3h30m10s", 12610),
        ("10m0s", 600),
    ],
)
def test_parse_timespan_valid(text, seconds):
    assert parse_timespan(text) == seconds
    assert type(parse_timespan(text)) is int


@pytest.mark.parametrize("text", ["2.5s", "h", "1m2h", "10x", "5 m", "-5", "1h 2m"])
def test_parse_timespan_invalid(text):
    with pytest.raises(ValueError) as info:
        parse_timespan(text)
    assert str(info.value) == INVALID


def test_parse_timespan_empty():
    for empty in ("", None):
        with pytest.raises(ValueError) as info:
            parse_timespan(empty)
        assert str(info.value) == "Invalid time span format"


def test_proper_round():
    assert [proper_round(x) for x in (0.5, 1.5, 2.5, 1234.5, 2.4)] == [
        1.0,
        2.0,
        3.0,
        1235.0,
        2.0,
    ]
    assert proper_round(2.675, 2) == 2.68
    assert proper_round(5) == 5.0 and isinstance(proper_round(5), float)


def test_dates():
    assert format_utc_timestamp(1700000000.7) == "2023-11-14T22:13:20Z"
    local = time.localtime(1700000000)
    assert format_safe_timestamp(1700000000) == time.strftime("%Y-%m-%d-%Hh%M", local)
    cases = {
        0: "0 seconds",
        0.9: "0 seconds",
        1: "1 second",
        65: "1 minute and 5 seconds",
        3600: "1 hour",
        3661: "1 hour, 1 minute and 1 second",
        90061: "1 day, 1 hour, 1 minute and 1 second",
        172800: "2 days",
        86460: "1 day and 1 minute",
    }
    for seconds, text in cases.items():
        assert format_duration(0, seconds) == text, seconds
    assert format_duration(10, 5) == "23 hours, 59 minutes and 55 seconds"


def test_shape_abstract_defaulting_and_helpers():
    class Shape(LoadTestShape):
        def tick(self):
            return (10, 2)

    class AbstractShape(Shape):
        abstract = True

    class Again(AbstractShape):
        pass

    assert isinstance(LoadTestShape, LoadTestShapeMeta)
    assert (
        LoadTestShape.abstract,
        Shape.abstract,
        AbstractShape.abstract,
        Again.abstract,
    ) == (True, False, True, False)
    assert LoadTestShape.use_common_options is False and LoadTestShape.runner is None

    with pytest.raises(TypeError):
        LoadTestShape()

    class NoTick(LoadTestShape):
        pass

    with pytest.raises(TypeError):
        NoTick()

    shape = Shape()
    assert 0 <= shape.get_run_time() < 1
    shape.start_time -= 5
    assert 5 <= shape.get_run_time() < 6
    shape.reset_time()
    assert shape.get_run_time() < 1

    class Runner:
        user_count = 42

    shape.runner = Runner()
    assert shape.get_current_user_count() == 42
    assert shape.tick() == (10, 2)
