"""Wait-time functions (reference §1.11)."""

import random
import statistics

import pytest

import locust.user.wait_time as wait_time_module
from locust import between, constant, constant_pacing, constant_throughput, poisson


class Holder:
    def __init__(self, now=0.0):
        self._cp_last_run = now
        self._cp_last_wait_time = 0


class FakeClock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(wait_time_module, "perf_counter", fake)
    return fake


def test_between_is_uniform_in_range():
    fn = between(2, 4)
    random.seed(1)
    values = [fn(None) for _ in range(2000)]
    assert all(2 <= v < 4 for v in values)
    assert 2.9 < statistics.mean(values) < 3.1
    random.seed(5)
    expected = 2 + random.random() * 2
    random.seed(5)
    assert fn(object()) == expected


def test_constant():
    fn = constant(3)
    assert fn(None) == 3 and fn(object()) == 3


def test_constant_pacing_uses_instance_state(clock):
    fn = constant_pacing(10)
    holder = Holder(now=100.0)

    clock.now = 103.0  # task (and on_start) took 3 s since creation
    assert fn(holder) == 7
    assert holder._cp_last_wait_time == 7 and holder._cp_last_run == 103.0

    clock.now = 103.0 + 7 + 4  # slept 7, then a 4 s task
    assert fn(holder) == 6

    clock.now += 6 + 15  # slept 6, then a task longer than the period
    assert fn(holder) == 0
    assert holder._cp_last_wait_time == 0

    # the state lives on each instance, not in the function
    other = Holder(now=clock.now)
    clock.now += 1
    assert fn(other) == 9


def test_constant_pacing_default_clock_is_perf_counter():
    import time

    assert wait_time_module.perf_counter is time.perf_counter


def test_constant_throughput(clock):
    fn = constant_throughput(4)
    holder = Holder(now=100.0)
    clock.now = 100.1
    assert fn(holder) == pytest.approx(0.15)
    with pytest.raises(
        ValueError, match=r"constant_throughput\(\) requires a positive rate, got: 0"
    ):
        constant_throughput(0)
    with pytest.raises(ValueError, match="got: -1"):
        constant_throughput(-1)


def test_poisson():
    fn = poisson(5)
    random.seed(2)
    values = [fn(None) for _ in range(5000)]
    assert all(v >= 0 for v in values)
    assert 0.18 < statistics.mean(values) < 0.22
    random.seed(9)
    expected = random.expovariate(5)
    random.seed(9)
    assert fn(None) == expected
    with pytest.raises(
        ValueError, match=r"poisson\(\) requires a positive rate, got: 0"
    ):
        poisson(0)
    with pytest.raises(ValueError, match=r"got: -2.5"):
        poisson(-2.5)


def test_wait_time_on_user_class_is_called_with_the_user():
    from locust import User

    seen = []

    def custom(instance):
        seen.append(instance)
        return 1.25

    class U(User):
        wait_time = custom

    class Env:
        pass

    user = U(Env())
    assert user.wait_time() == 1.25 and seen == [user]
