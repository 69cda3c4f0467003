"""Exception classes of the ``locust`` API (rlocust shim)."""


class LocustError(Exception):
    """Generic error caused by wrong use of the Locust API."""


class ResponseError(Exception):
    """Raise inside a ``catch_response`` block to mark the request as failed."""


class CatchResponseError(Exception):
    """Wraps the plain-text reason given to ``response.failure("...")``."""


class MissingWaitTimeError(LocustError):
    """No usable ``wait_time`` was found on the user or the TaskSet."""


class InterruptTaskSet(Exception):
    """Hands control from a (nested) TaskSet back to its parent.

    ``reschedule=True`` makes the parent pick its next task without waiting.
    """

    def __init__(self, reschedule=True):
        self.reschedule = reschedule


class StopTest(Exception):
    """Stops the whole test when it reaches the runner (in a task it only stops that user)."""


class StopUser(Exception):
    """Stops the current user; its on_stop handlers run."""


class RescheduleTask(Exception):
    """Ends the current task early, like ``return`` (the wait still happens)."""


class RescheduleTaskImmediately(Exception):
    """Ends the current task and picks the next one without waiting."""


class RPCError(Exception):
    """The master/worker transport is broken."""


class RPCSendError(Exception):
    """A message could not be sent."""


class RPCReceiveError(Exception):
    """A received message was interrupted or corrupted; ``addr`` names the sender."""

    def __init__(self, *args: object, addr=None) -> None:
        super().__init__(*args)
        self.addr = addr


class RunnerAlreadyExistsError(Exception):
    """The environment already has a runner."""
