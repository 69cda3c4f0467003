"""rlocust internals: the hub, the Python side of the Rust bridge.

Runs on the one Python thread. A user greenlet that makes a request parks in `wait(ticket)` (`_rlocust.park`: the
parked greenlets are kept in Rust, src/py/call.rs); tokio finishes the exchange, queues it and writes an eventfd
that gevent's loop watches; `_rlocust.wake` drains the queue in one batch and switches each parked greenlet back in
with its Response. Runner commands (`_rlocust.Spawn`, `Stop`, `Fire`,
`Web`, `WebRequest`, `Quit`) arrive in the same drain and run in their own greenlets, each acknowledged by its id when done (see
src/bridge.rs for the protocol's invariants). The objects the Rust `Response` makes are in `locust._ffi`.
"""

import functools
import logging
import signal
import sys
from time import perf_counter

import gevent
import greenlet
from gevent.event import Event

import _rlocust
from locust import log
from locust._mode import library_mode
from locust.exception import StopTest

_getcurrent = greenlet.getcurrent
_hub = None
_watcher = None
_done = Event()
_runner = None


def _on_sigint(signum, frame):
    """Python's SIGINT handler during a run: Ctrl+C itself is handled in Rust (it stops the test through the
    runner); this raises KeyboardInterrupt only when the watchdog asks for it, in a task that never yields."""
    if _rlocust.take_interrupt():
        raise KeyboardInterrupt()


def ensure_started():
    """Install the eventfd watcher on this thread's hub (idempotent). SIGINT and SIGTERM are handled in Rust
    (`runner::watchdog`), so they stop the test even when a task never yields; Python's default SIGINT handler
    (a KeyboardInterrupt wherever Python happens to run) is replaced, a locustfile's own handler is kept."""
    global _hub, _watcher
    if _watcher is None:
        # (also when SIGINT was ignored at start, as in a background job of a script: Rust takes SIGINT at the OS
        # level anyway, and the watchdog's interrupt of a task that never yields needs this handler). When a script
        # drives the run (`rlocust-python`), Ctrl+C stays Python's KeyboardInterrupt.
        library = library_mode()
        global _library
        _library = library
        if not library and signal.getsignal(signal.SIGINT) in (signal.default_int_handler, signal.SIG_IGN):
            signal.signal(signal.SIGINT, _on_sigint)
        _hub = gevent.get_hub()
        _rlocust.set_hub(_hub.switch)
        _watcher = _hub.loop.io(_rlocust.wake_fd(), 1)
        # (`_rlocust.wake` drains the batch, calls `_on_commands` when it holds commands, or on every wake in a
        # script's run, then resumes the batch's users)
        _watcher.start(_rlocust.wake, (_on_commands, library))
        # Requests are handed to tokio in one batch per pass of the loop: the first send of a batch schedules
        # the flush as a hub callback (gevent runs callbacks before it polls, so nothing waits on a blocked loop).
        _rlocust.set_flush_hook(functools.partial(_hub.loop.run_callback, _rlocust.flush))


# wait(ticket): park the current greenlet until the call `ticket` completes; returns its Response (None for a
# timer's ticket). Started the hub first if need be (a script's first request before any runner: `rlocust-python`,
# pytest, run_single_user). A kill while parked (a stop) abandons the call: Locust records nothing for the request
# a killed user was in. It notes the greenlet it resumed last (`_rlocust.resumed_here`, see yield_now).
wait = _rlocust.park


# The users a stop is killing while they wait. The kill is a hub callback (gevent's Greenlet.kill); a user whose wait
# ends in the same pass (its timer's completion drained with the stop command, or a yield resumed by a callback
# queued before the kill) would start its next task and be killed in that task's request: the target served a
# request nobody records, under a graceful stop (--stop-timeout) that promises to let tasks finish. Such a user
# waits for its kill instead (`await_kill`), as if it had landed in the wait. (Locust has the same race: with 100
# users waiting 2 ms, a stop at -t with -s 10 abandons 14-29 requests there.)
killing = set()


def await_kill():
    """Park the current user until its scheduled kill lands (the GreenletExit is raised here)."""
    me = _getcurrent()
    try:
        while True:
            (_hub or gevent.get_hub()).switch()
    finally:
        killing.discard(me)


def started():
    """Whether the hub watches the bridge (inside an rlocust run; not under the unit tests' engine stub)."""
    return _watcher is not None


def sleep(seconds):
    """gevent.sleep(seconds) for a user's wait, with the timer kept by tokio: the users whose waits end in the
    same millisecond are resumed together, in the drain that brings the responses (src/engine/timers.rs).
    `seconds` is a positive float or int below `_rlocust`'s limit; a kill or a gevent.Timeout lands here as in
    gevent.sleep."""
    wait(_rlocust.sleep(seconds))


_ready = []  # the users that yielded with a wait of 0, in order, until the hub resumes them
_batch = []  # the ones _resume_ready is resuming now (None: one that left by an exception, not to be resumed)
_resuming = False  # in _resume_ready: users that yield now are resumed after the loop has polled again
_next_pass = None  # the timer (0 s) that resumes them then
_BUDGET = sys.getswitchinterval()  # as gevent: how long callbacks may run before the loop polls (5 ms)


def yield_now():
    """gevent.sleep(0) for a user's wait of 0: the users that yield in one pass of the hub are resumed in the
    order they yielded, as gevent resumes them, but by one hub callback for all of them where gevent makes a
    Waiter and a callback for each (1.2 -> 0.7 µs per yield: bench/yield_micro.py). Users that yield again while
    being resumed (a task that does no I/O) wait for the loop's next pass, and a pass that has resumed users for
    more than gevent's switch interval leaves the rest to the next one: the bridge's completions and the runner's
    commands (a stop) are drained between passes, as gevent polls between runs of its callbacks (a callback per
    pass would starve them: gevent's loop runs callbacks until none are left).
    A kill or a gevent.Timeout lands here as in gevent.sleep(0).

    When the greenlet the hub last resumed from a park on the bridge (a request, a wait on Rust's timers) is the
    user itself, it has handed the hub its turn since it last yielded: it goes on without yielding again, once (a
    task that does no I/O yields every time). Under no wait, each request was followed by two more greenlet
    switches and a turn in `_resume_ready`: about 4% of the process's CPU per request (bench/simultaneous.py).
    Only the order differs from gevent.sleep(0), which would let the users resumed after it in the same drain go
    first."""
    me = _getcurrent()
    if _rlocust.resumed_here(me):
        return
    if not _ready and not _resuming:
        _hub.loop.run_callback(_resume_ready)
    _ready.append(me)
    try:
        _hub.switch()
    except BaseException:
        # not resumed after all: wherever it waits its turn (a gevent.Greenlet's own `dead` is a Python property,
        # a fifth of a yield's cost if the resuming loop asked it)
        for pending in (_ready, _batch):
            if me in pending:
                pending[pending.index(me)] = None
        raise


def _resume_ready():
    global _ready, _batch, _resuming, _next_pass
    batch = _batch = _ready
    _ready = []
    _resuming = True
    deadline = perf_counter() + _BUDGET
    try:
        for i, g in enumerate(batch):
            if g is not None:
                g.switch()
            if i & 15 == 15 and perf_counter() > deadline:
                _ready[:0] = batch[i + 1 :]  # the rest first, then those that yielded meanwhile
                break
    finally:
        _batch = []
        _resuming = False
        if _ready:
            if _next_pass is None:
                _next_pass = _hub.loop.timer(0.0)
            if not _next_pass.active:
                _next_pass.start(_resume_ready)


_library = False  # a script drives the run (`rlocust-python`): the runner's log lines go to Python's logging


def _forward_logs():
    for level, name, message in _rlocust.lib_take_logs():
        logging.getLogger(name).log(level, message)


def _on_commands(commands):
    """The runner commands of a batch `_rlocust.wake` drained (its completions are kept in Rust for the resume that
    follows), and a script's log lines."""
    if _library:
        _forward_logs()
    # Most commands' greenlets start at their next turn, after the users resumed below have parked again. The
    # stop's steps (its events, the stop itself, the quit) start here and now, from the hub: behind a full round of
    # busy users (tasks that never wait) each step took a round, three rounds for a stop where Locust, whose
    # stop runs in one greenlet, takes about one (1,000 raising users: 8 s instead of 1).
    for command in commands:
        # a lambda, as Locust spawns its spawning greenlet: a User.__init__ that raises is reported as
        # "<Greenlet at 0x…: <lambda>> failed with …" by both
        # (a Web command's greenlet stands for Locust's main greenlet: Enter at the prompt)
        logger = "locust.main" if isinstance(command, _rlocust.Web) else "locust.runners"
        g = gevent.Greenlet(lambda c=command: _command(c))
        g.link_exception(functools.partial(_command_failed, logger))
        if isinstance(command, _AT_ONCE):
            g.switch()  # (runs until it waits, then the hub carries on here)
        else:
            g.start()


_AT_ONCE = (_rlocust.Fire, _rlocust.Stop, _rlocust.Quit)


def set_runner(runner):
    global _runner
    _runner = runner


_command_greenlets = set()


def in_command():
    """Whether the current greenlet carries out a runner command (the runner waits for it to end)."""
    return _getcurrent() in _command_greenlets


def _command(command):
    """Carry out one runner command, then acknowledge it (exactly once, whatever happens)."""
    ok = False
    me = _getcurrent()
    _command_greenlets.add(me)
    try:
        match command:
            case _rlocust.Spawn():
                # NOTE: as in Locust, an exception from a User's __init__ ends the spawning greenlet: it is
                # reported as an unhandled greenlet exception (exit code 2) and the ramp stops where it is.
                _runner._spawn(command.class_name, command.count)
            case _rlocust.Stop():
                _runner._stop(command.class_name, command.count, command.timeout)
            case _rlocust.Fire():
                _runner._fire(command.event, dict(command.kwargs))
            case _rlocust.Web() | _rlocust.WebRequest():
                ok = _runner._web(command)
                return
            case _rlocust.DistMessage():
                if command.internal:
                    _runner._on_internal(command.type, command.data, command.node_id)
                else:
                    _runner._on_dist_message(command.type, command.data, command.node_id)
            case _rlocust.Quit():
                _done.set()
                quit_event = getattr(_runner, "_quit_event", None)
                if quit_event is not None:  # a script's runner.greenlet ends (`rlocust-python`)
                    quit_event.set()
        ok = True
    except SystemExit as e:
        node = _rlocust.dist_node()
        if isinstance(command, _rlocust.Fire) and node is not None and node[0] == "worker":
            # Locust's worker fires these events in its message loop greenlet, whose death is logged so
            logging.getLogger("locust.runners").info(
                f"sys.exit({e}) called (use log level DEBUG for callstack)"
            )
        raise
    except Exception:
        if isinstance(command, _rlocust.Spawn):
            raise
        logging.getLogger("locust.runners").exception(
            "Error while handling runner command %s", type(command).__name__.lower()
        )
        ok = True
    finally:
        _command_greenlets.discard(me)
        _rlocust.ack(command.id, ok)


def _command_failed(logger, greenlet):
    """A command greenlet died (a User's __init__ raised while spawning, sys.exit() in a patched webbrowser):
    Locust's report of it (its greenlet_exception_logger, on the logger of the greenlet it stands for; a StopTest
    from a User's __init__ stops the test instead, as Locust's spawning greenlet's handler does)."""
    if greenlet.exc_info[0] is StopTest and _runner is not None:
        _runner._spawn_failed_with_stop_test(greenlet.exc_info[1])
        return
    log.greenlet_exception_logger(logging.getLogger(logger))(greenlet)


def run_until_quit():
    """Run the hub until the runner says so (its Quit command). Returns None then, or the exit status a task gave
    sys.exit(): as under Locust, that ends the process at once (no stop sequence, no quitting event).

    Called once for the test, and once more after an interrupt (the users are stopped after `quitting`).
    A KeyboardInterrupt raised in a user's task (or the watchdog's interrupt of a task that never yields)
    reaches this greenlet, as it reaches Locust's main greenlet, and interrupts the run as a Ctrl+C does."""
    ensure_started()
    _done.clear()
    while True:
        try:
            _done.wait()
            return None
        except KeyboardInterrupt:
            _rlocust.runner_control("interrupt")
        except SystemExit as e:
            _last_turn()
            if e.code is None or isinstance(e.code, int):
                return e.code or 0
            print(e.code, file=sys.stderr)  # sys.exit("message"): Python prints it and exits with 1
            return 1


def _last_turn():
    """What gevent's threading patch does as Locust's interpreter exits: one more turn of the hub, in which the
    greenlets already scheduled run (e.g. the other users a stop is killing); an exception one of them throws into
    the main greenlet (a second sys.exit() in an on_stop) is printed as gevent prints it, "<main greenlet> failed
    with SystemExit"."""
    main = _getcurrent()
    try:
        gevent.sleep()
    except BaseException:  # noqa: BLE001 (anything thrown in here is only reported, as gevent does)
        gevent.get_hub().print_exception(main, *sys.exc_info())
