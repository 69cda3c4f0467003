"""locust.event: EventHook, measure, DeprecatedEventHook, Events (reference §1.17, §2)."""

import logging

import pytest

import locust
import locust.log
from locust.event import DeprecatedEventHook, EventHook, Events
from locust.exception import (
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)

ALL_EVENTS = [
    "request",
    "user_error",
    "report_to_master",
    "worker_report",
    "worker_connect",
    "spawning_complete",
    "quitting",
    "quit",
    "init",
    "init_command_line_parser",
    "test_start",
    "test_stopping",
    "test_stop",
    "reset_stats",
    "cpu_warning",
    "heartbeat_sent",
    "heartbeat_received",
    "usage_monitor",
]


@pytest.fixture(autouse=True)
def reset_flag():
    locust.log.unhandled_greenlet_exception = False
    yield
    locust.log.unhandled_greenlet_exception = False


def test_events_has_one_hook_per_event():
    ev = Events()
    assert list(Events.__annotations__) == ALL_EVENTS
    hooks = [getattr(ev, name) for name in ALL_EVENTS]
    assert all(type(h) is EventHook for h in hooks)
    assert len({id(h) for h in hooks}) == len(hooks)
    # a second Events() has its own hooks
    assert Events().request is not ev.request
    assert sorted(vars(ev)) == sorted(ALL_EVENTS)
    assert isinstance(locust.events, Events)


def test_events_subclass_rules():
    class OldStyle(Events):
        custom = "EventHook"

    ev = OldStyle()
    assert isinstance(ev.custom, EventHook) and isinstance(ev.request, EventHook)

    class Annotated(Events):
        custom: "EventHook"

    ev = Annotated()
    assert isinstance(ev.custom, EventHook)
    # as in Locust, the subclass annotations hide the base ones
    assert "request" not in vars(ev)


def test_add_listener_returns_handler_and_fire_is_keyword_only():
    hook = EventHook()
    got = []

    @hook.add_listener
    def listener(a, b, **kw):
        got.append((a, b, kw))

    assert listener is not None and hook._handlers == [listener]
    hook.fire(a=1, b=2, c=3)
    assert got == [(1, 2, {"c": 3})]
    with pytest.raises(TypeError):
        hook.fire(1)
    hook.remove_listener(listener)
    hook.fire(a=1, b=2)
    assert len(got) == 1
    with pytest.raises(ValueError):
        hook.remove_listener(listener)


def test_fire_order_and_reverse():
    hook = EventHook()
    order = []
    for i in range(3):
        hook.add_listener(lambda i=i, **kw: order.append(i))
    hook.fire()
    hook.fire(reverse=True)
    assert order == [0, 1, 2, 2, 1, 0]
    # reverse does not reach the listeners as a kwarg and does not mutate the list
    assert len(hook._handlers) == 3


def test_fire_iterates_over_a_copy():
    hook = EventHook()
    calls = []

    def first(**kw):
        calls.append("first")
        hook.remove_listener(first)
        hook.add_listener(late)

    def second(**kw):
        calls.append("second")

    def late(**kw):
        calls.append("late")

    hook.add_listener(first)
    hook.add_listener(second)
    hook.fire()
    assert calls == ["first", "second"]
    hook.fire()
    assert calls == ["first", "second", "second", "late"]


def test_listener_exception_is_logged_and_sets_flag(caplog):
    hook = EventHook()
    after = []

    def bad(**kw):
        raise ValueError("listener broke")

    hook.add_listener(bad)
    hook.add_listener(lambda **kw: after.append(kw))
    with caplog.at_level(logging.DEBUG):
        hook.fire(x=1)
    assert after == [{"x": 1}]  # later listeners still run
    assert locust.log.unhandled_greenlet_exception is True
    records = [
        r
        for r in caplog.records
        if "Uncaught exception in event handler" in r.getMessage()
    ]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert record.name == "root"  # Locust logs this on the root logger
    msg = record.getMessage()
    assert msg.startswith(
        "Uncaught exception in event handler: \nTraceback (most recent call last):"
    )
    assert msg.rstrip().endswith("ValueError: listener broke")


@pytest.mark.parametrize(
    "exc_type",
    [StopUser, StopTest, RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet],
)
def test_control_flow_exceptions_propagate(exc_type, caplog):
    hook = EventHook()
    later = []

    def raiser(**kw):
        raise exc_type()

    hook.add_listener(raiser)
    hook.add_listener(lambda **kw: later.append(1))
    with pytest.raises(exc_type):
        hook.fire()
    assert later == []
    assert locust.log.unhandled_greenlet_exception is False
    assert not caplog.records


def test_measure_success_and_failure():
    hook = EventHook()
    fired = []
    hook.add_listener(lambda **kw: fired.append(kw))

    with hook.measure(
        "CUSTOM", "ok-name", response_length=12, context={"k": "v"}
    ) as meta:
        meta["extra"] = "added"
    with hook.measure("CUSTOM", "bad-name") as meta:
        raise KeyError("inside")  # swallowed, reported as the exception

    ok, bad = fired
    assert set(ok) == {
        "request_type",
        "name",
        "response_length",
        "context",
        "exception",
        "start_time",
        "response_time",
        "extra",
    }
    assert ok["request_type"] == "CUSTOM" and ok["name"] == "ok-name"
    assert ok["response_length"] == 12 and ok["context"] == {"k": "v"}
    assert ok["exception"] is None and ok["extra"] == "added"
    assert isinstance(ok["response_time"], float) and 0 <= ok["response_time"] < 1000
    assert isinstance(bad["exception"], KeyError)
    assert bad["context"] == {} and bad["response_length"] == 0


def test_measure_does_not_swallow_base_exceptions():
    hook = EventHook()
    fired = []
    hook.add_listener(lambda **kw: fired.append(kw))
    with pytest.raises(KeyboardInterrupt), hook.measure("T", "n"):
        raise KeyboardInterrupt()
    assert len(fired) == 1 and fired[0]["exception"] is None


def test_deprecated_event_hook_warns_on_every_add(caplog):
    hook = DeprecatedEventHook("old event, use the new one")
    assert isinstance(hook, EventHook) and hook.message == "old event, use the new one"
    with caplog.at_level(logging.WARNING):
        hook.add_listener(lambda **kw: None)
        hook.add_listener(lambda **kw: None)
    warnings = [
        r for r in caplog.records if r.getMessage() == "old event, use the new one"
    ]
    assert len(warnings) == 2 and all(r.levelno == logging.WARNING for r in warnings)
    assert len(hook._handlers) == 2


# --- deprecated request_success / request_failure aliases (an rlocust extension) ---


def test_alias_listeners_receive_old_style_kwargs(caplog):
    ev = Events()
    successes, failures = [], []

    def on_success(request_type, name, response_time, response_length):
        successes.append((request_type, name, response_time, response_length))

    def on_failure(request_type, name, response_time, response_length, exception):
        failures.append((request_type, name, response_time, response_length, exception))

    with caplog.at_level(logging.WARNING):
        assert ev.request_success.add_listener(on_success) is on_success
        ev.request_failure.add_listener(on_failure)
    messages = [r.getMessage() for r in caplog.records]
    assert (
        messages.count("request_success event deprecated. Use the request event.") == 1
    )
    assert (
        messages.count("request_failure event deprecated. Use the request event.") == 1
    )
    assert ev.request_success is ev.request_success

    boom = ValueError("boom")
    common = {"context": {}, "response": None, "start_time": 0.0, "url": "http://x/"}
    ev.request.fire(
        request_type="GET",
        name="/a",
        response_time=1.5,
        response_length=10,
        exception=None,
        **common,
    )
    ev.request.fire(
        request_type="POST",
        name="/b",
        response_time=2.5,
        response_length=0,
        exception=boom,
        **common,
    )
    assert successes == [("GET", "/a", 1.5, 10)]
    assert failures == [("POST", "/b", 2.5, 0, boom)]


def test_firing_aliases_feeds_the_request_event():
    ev = Events()
    requests = []
    ev.request.add_listener(lambda **kw: requests.append(kw))
    old_style = []
    ev.request_success.add_listener(lambda **kw: old_style.append(("ok", kw)))

    ev.request_success.fire(
        request_type="GET", name="/s", response_time=3, response_length=4
    )
    err = RuntimeError("x")
    ev.request_failure.fire(
        request_type="GET", name="/f", response_time=5, response_length=0, exception=err
    )

    assert [(r["name"], r["exception"], r["context"]) for r in requests] == [
        ("/s", None, {}),
        ("/f", err, {}),
    ]
    assert requests[0]["response_time"] == 3 and requests[0]["response_length"] == 4
    # the success alias listener saw its own fire exactly once (through the request event)
    assert old_style == [
        (
            "ok",
            {
                "request_type": "GET",
                "name": "/s",
                "response_time": 3,
                "response_length": 4,
            },
        )
    ]


def test_aliases_cost_nothing_until_used():
    ev = Events()
    assert ev.request._handlers == []
    _ = ev.request_success  # just looking does not hook into request
    assert ev.request._handlers == []
    ev.request_failure.add_listener(lambda **kw: None)
    ev.request_success.add_listener(lambda **kw: None)
    assert len(ev.request._handlers) == 1  # one shared bridge
    assert "request_success" not in Events.__annotations__
