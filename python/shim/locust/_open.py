"""rlocust internals: a user's side of the open workload model (`--arrival-rate`, issue 31).

In an open workload the Rust arrival clock (src/runner/open) decides when iterations start. An iteration is one
run of a task that is a function (the task chosen as usual: weights, TaskSets, tags; `on_start` once per user):
before each, the user waits, idle, until an arrival wakes it, or starts at once when an arrival was owed to it
(a user started for it). `wait_time` is not used between arrivals: `TaskSet.wait()` only checks for a stop.
A closed-model run never sets ACTIVE, and then nothing here runs.

With `--arrival-trace` each arrival is a row of the trace: the iteration it starts sees the row's fields as
`user.arrival` (a dict; `None` for an arrival that is no row, and outside a replay).
"""

import json

import _rlocust
from locust import _hub
from locust.exception import StopUser

ACTIVE = False

_RUNNING = "running"
_WAITING = "waiting"
_STOPPING = "stopping"


def set_mode(on):
    """The runner's `_open_mode` message: an open workload starts (True); a test's start ends it (False)."""
    global ACTIVE
    ACTIVE = bool(on)


def arrive(user):
    """Wait for the arrival that starts the next iteration of `user` (a User instance)."""
    if user._state == _STOPPING:
        raise StopUser()
    seen = user.__dict__.get("_rlocust_open_seen", False)
    if not seen:
        user._rlocust_open_seen = True
    ticket = _rlocust.open_acquire(not seen)
    if not ticket:
        _row(user)
        return
    # idle: a stop kills the user at once, as one waiting in wait_time
    user._state = _WAITING
    try:
        _hub.wait(ticket)
    except BaseException:
        _rlocust.open_cancel(ticket)
        raise
    user._state = _RUNNING
    _rlocust.open_begin(ticket)
    _row(user)


def _row(user):
    """The started arrival's trace row as `user.arrival` (None when it has none)."""
    row = _rlocust.open_arrival()
    user.arrival = None if row is None else json.loads(row)


def user_left(user):
    """A user ended (its greenlet's exit): the pool counts it no longer."""
    _rlocust.open_leave(bool(user.__dict__.get("_rlocust_open_seen", False)))
