"""locust.exception (reference §1.13)."""

import pytest

from locust import exception as exc


@pytest.mark.parametrize(
    "name, base",
    [
        ("LocustError", Exception),
        ("ResponseError", Exception),
        ("CatchResponseError", Exception),
        ("MissingWaitTimeError", exc.LocustError),
        ("InterruptTaskSet", Exception),
        ("StopTest", Exception),
        ("StopUser", Exception),
        ("RescheduleTask", Exception),
        ("RescheduleTaskImmediately", Exception),
        ("RPCError", Exception),
        ("RPCSendError", Exception),
        ("RPCReceiveError", Exception),
        ("RunnerAlreadyExistsError", Exception),
    ],
)
def test_bases(name, base):
    cls = getattr(exc, name)
    assert cls.__bases__ == (base,)
    assert cls.__module__ == "locust.exception"


def test_interrupt_taskset_reschedule():
    assert exc.InterruptTaskSet().reschedule is True
    e = exc.InterruptTaskSet(False)
    assert e.reschedule is False
    assert e.args == (False,)
    assert exc.InterruptTaskSet(reschedule=False).reschedule is False


def test_rpc_receive_error_addr():
    e = exc.RPCReceiveError("broken", addr="worker-1")
    assert e.addr == "worker-1"
    assert e.args == ("broken",)
    assert str(e) == "broken"
    assert exc.RPCReceiveError().addr is None
    with pytest.raises(TypeError):
        exc.RPCReceiveError("x", "positional-addr-is-not-allowed", "y", bogus=1)


def test_not_related_to_each_other():
    # StopUser / StopTest / RescheduleTask are independent: catching one must not catch another
    assert not issubclass(exc.StopTest, exc.StopUser)
    assert not issubclass(exc.RescheduleTaskImmediately, exc.RescheduleTask)
    assert not issubclass(exc.InterruptTaskSet, exc.LocustError)
