"""The shim's marks for the coordinated-omission correction (docs/observability.md): constant_pacing and
constant_throughput carry their interval, `_pacing_ms` reads it off a user (class attribute, bound method), and
only a fixed-rate user's greenlet gets one."""

import gevent

from locust import User, between, constant, constant_pacing, constant_throughput, poisson
from locust.user import wait_time as wt


def test_fixed_rate_waits_carry_their_interval():
    assert constant_pacing(0.25)._rlocust_pacing == 0.25
    assert constant_throughput(4)._rlocust_pacing == 0.25
    for other in (between(1, 2), constant(1), poisson(3)):
        assert not hasattr(other, "_rlocust_pacing")


def test_pacing_ms_of_users_and_classes():
    class Paced(User):
        wait_time = constant_throughput(20)

    class Plain(User):
        wait_time = constant(1)

    class Custom(User):
        def wait_time(self):
            return 1

    class NotANumber(User):
        wait_time = constant_pacing("1")

    assert wt._pacing_ms(Paced) == 50.0
    assert wt._pacing_ms(Paced.__new__(Paced)) == 50.0  # the bound method forwards the mark
    assert wt._pacing_ms(Plain) is None
    assert wt._pacing_ms(Custom) is None
    assert wt._pacing_ms(NotANumber) is None
    assert wt._pacing_ms(None) is None
    assert wt._pacing_ms(type("Zero", (), {"wait_time": constant_pacing(0)})) is None


def test_only_marked_greenlets_have_an_interval(monkeypatch):
    monkeypatch.setattr(wt, "_any_paced", False)
    seen = {}

    def probe(key):
        seen[key] = wt._current_pacing_ms()

    plain = gevent.spawn(probe, "plain")
    wt._mark_paced_greenlet(plain, None)
    plain.join()
    assert seen["plain"] is None and not wt._any_paced
    paced = gevent.spawn(probe, "paced")
    wt._mark_paced_greenlet(paced, 125.0)
    other = gevent.spawn(probe, "other")
    gevent.joinall([paced, other])
    assert wt._any_paced
    assert seen["paced"] == 125.0 and seen["other"] is None
