"""`locust.runners`: the runner objects locustfiles see, driven by the Rust runner.

The Rust runner decides when users start and stop; the hub executes its commands here (`_spawn`, `_stop`,
`_fire`), because creating and killing greenlets must happen on the Python thread.
"""

import functools
import gc
import logging
import socket
import time
import traceback
import uuid

import gevent
from gevent.lock import Semaphore
from gevent.pool import Group

import _rlocust
from locust import _hub, _open, _web
from locust.exception import StopTest
from locust.user.task import LOCUST_STATE_STOPPING
from locust.user.users import User
from locust.user.wait_time import _current_pacing_ms

logger = logging.getLogger(__name__)

STATE_INIT, STATE_SPAWNING, STATE_RUNNING, STATE_CLEANUP, STATE_STOPPING, STATE_STOPPED, STATE_MISSING = [
    "ready", "spawning", "running", "cleanup", "stopping", "stopped", "missing",
]
WORKER_REPORT_INTERVAL = 3.0
WORKER_LOG_REPORT_INTERVAL = 10
CPU_MONITOR_INTERVAL = 10.0
CPU_WARNING_THRESHOLD = 90
HEARTBEAT_INTERVAL = 1
HEARTBEAT_LIVENESS = 3
HEARTBEAT_DEAD_INTERNAL = -60
MASTER_HEARTBEAT_TIMEOUT = 60
FALLBACK_INTERVAL = 5
CONNECT_TIMEOUT = 5
CONNECT_RETRY_COUNT = 60


def _record_request(request_type, name, response_time, response_length, exception=None, **_kwargs):
    from locust._clientlib import parse_error

    _rlocust.log_request(request_type, name, response_time, response_length,
                         None if exception is None else parse_error(exception), _current_pacing_ms())


_record_request._rlocust_builtin = True


def _headless(environment):
    options = environment.parsed_options
    return bool(getattr(options, "headless", True)) if options is not None else True


def _stop_and_optionally_quit(runner):
    """Locust's main after the shape test --autostart started in the web UI (however it ended: its last tick, a
    stop, an error): stop, then quit after --autoquit seconds."""
    main_log = logging.getLogger("locust.main")
    main_log.info("Shape test completed, stopping test")
    runner.stop()
    autoquit = getattr(runner.environment.parsed_options, "autoquit", -1)
    if autoquit is None or autoquit == -1:
        main_log.info("--autoquit not specified, leaving web ui running indefinitely")
        return
    main_log.debug(f"Autoquit time limit set to {autoquit} seconds")
    gevent.sleep(autoquit)
    main_log.info("--autoquit time reached, shutting down")
    runner.quit()


class Runner:
    def __init__(self, environment):
        self.environment = environment
        self.user_greenlets = Group()
        self.greenlet = Group()
        self.spawning_greenlet = None
        self.shape_greenlet = None
        self.shape_last_tick = None
        # a shape started from the web UI after a test (state stopped) runs until its first tick has started one
        self._shape_start_pending = False
        self.current_cpu_usage = 0
        self.current_memory_usage = 0
        self.cpu_warning_emitted = False
        self.worker_cpu_warning_emitted = False
        self.custom_messages = {}
        self.connection_broken = False
        self.exceptions = {}
        self._users = {}
        # Greenlets running a spawn command right now (a stop ends them first, as Locust's stop() kills its
        # spawning greenlet).
        self._spawning = set()
        # One spawn command constructs users at a time, as Locust's single spawning greenlet does: User.__init__s
        # that wait on I/O (connecting a database client, starting milvus-lite) never interleave.
        self._spawn_lock = Semaphore()
        if _record_request not in environment.events.request._handlers:
            environment.events.request.add_listener(_record_request)

        def on_spawning_complete(**_kw):
            # Locust's runner registers this listener when it is made: the ones added earlier (at import of the
            # locustfile) still see "spawning", later ones "running".
            if self._is_current():
                _rlocust.runner_spawning_complete()

        environment.events.spawning_complete.add_listener(on_spawning_complete)

        def on_user_error(user_instance, exception, tb, **_kw):
            if not self._is_current():
                return
            formatted = "".join(traceback.format_tb(tb)) if tb is not None else ""
            self._user_error(str(exception), formatted)

        environment.events.user_error.add_listener(on_user_error)

    def _web(self, command):
        """The hub's `Web` command (a web UI action that changes Python state) or `WebRequest` (a request for the
        locustfile's Flask app): whether it succeeded."""
        if isinstance(command, _rlocust.WebRequest):
            return _web.wsgi(self.environment, command)
        return _web.handle(self.environment, command.action, command.payload)

    def _user_class_updated(self, data):
        """`POST /user` changed a user class's attributes (only a master passes it on)."""

    def _is_current(self):
        """Whether this runner is the one the Rust runner serves (a script may make several, one after another,
        sharing `locust.events`: only the newest one records)."""
        return _hub._runner is None or _hub._runner is self

    @property
    def user_classes(self):
        return self.environment.user_classes

    @property
    def user_classes_by_name(self):
        return self.environment.user_classes_by_name

    @property
    def stats(self):
        return self.environment.stats

    @property
    def errors(self):
        return self.stats.errors

    @property
    def state(self):
        """Locust's runner state, as the Rust runner (its one owner) has it."""
        return _rlocust.runner_state()

    @property
    def target_user_count(self):
        return _rlocust.runner_target_user_count()

    @target_user_count.setter
    def target_user_count(self, value):
        _rlocust.runner_target_user_count(int(value))

    @property
    def target_user_classes_count(self):
        return dict(_rlocust.runner_target_user_classes_count())

    @target_user_classes_count.setter
    def target_user_classes_count(self, value):
        _rlocust.runner_target_user_classes_count([(str(k), int(v)) for k, v in dict(value).items()])

    @property
    def final_user_classes_count(self):
        return dict(_rlocust.runner_final_user_classes_count())

    @property
    def user_count(self):
        return _rlocust.user_count()

    @property
    def user_classes_count(self):
        counts = {c.__name__: 0 for c in self.user_classes}
        counts.update(dict(_rlocust.user_classes_count()))
        return counts

    def log_exception(self, node_id, msg, formatted_tb):
        _rlocust.log_exception(msg, formatted_tb, node_id)
        key = hash(formatted_tb)
        row = self.exceptions.setdefault(key, {"count": 0, "msg": msg, "traceback": formatted_tb, "nodes": set()})
        row["count"] += 1
        row["nodes"].add(node_id)

    def start(self, user_count, spawn_rate, wait=False, user_classes=None):
        names = None if user_classes is None else [c if isinstance(c, str) else c.__name__ for c in user_classes]
        _rlocust.runner_control("start", int(user_count), float(spawn_rate), names)

    def start_shape(self):
        """Run the environment's LoadTestShape: tick about once a second and ramp to each new target."""
        if self.shape_greenlet:
            logger.info("There is an ongoing shape test running. Editing is disabled")
            return
        logger.info("Shape test starting.")
        if _headless(self.environment):
            # Locust's headless main waits for the shape greenlet (a Ctrl+C lands there; its end quits)
            _rlocust.runner_shape("running")
        self._shape_start_pending = True
        self.shape_greenlet = gevent.spawn(self.shape_worker)
        self.shape_greenlet.link_exception(self._on_shape_error)
        self.shape_greenlet.link_value(self._on_shape_end)
        if self.environment.shape_class is not None:
            self.environment.shape_class.reset_time()

    @property
    def shape_completed(self):
        """Whether the shape greenlet has ended (Locust's headless main then quits); the phase is the Rust runner's."""
        return _rlocust.runner_shape()[0] == "ended"

    def _after_autostarted_shape(self):
        # Locust's main joins the shape greenlet --autostart started in the web UI, then stops (and quits)
        if getattr(self, "_shape_autostarted", False):
            self._shape_autostarted = False
            gevent.spawn(_stop_and_optionally_quit, self)

    def _on_shape_end(self, greenlet):
        self._after_autostarted_shape()
        # Locust's headless main waits for the shape greenlet. After its last tick (the shape quit the runner)
        # main logs "Shape test completed, shutting down" once the users have stopped (here: when the hub has
        # left, see _main.run_hub). Killed by a stop() (e.g. from a user), main wakes at once: the line, and
        # runner.quit() (a second test_stopping, in state cleanup).
        if _rlocust.runner_shape()[0] == "running":
            logging.getLogger("locust.main").info("Shape test completed, shutting down")
            _rlocust.runner_shape("ended", True)
            self.quit()

    def _on_shape_error(self, greenlet):
        self._after_autostarted_shape()
        exc = greenlet.exception
        if isinstance(exc, StopTest):
            _rlocust.runner_shape("ended")
            logger.error(exc)
            logger.warning("Stopping Locust...")
        else:
            import locust.log

            logger.critical("Unhandled exception in greenlet: %s", greenlet,
                            exc_info=(type(exc), exc, exc.__traceback__))
            locust.log.unhandled_greenlet_exception = True
            # (its exception handler only logs: the test ends by main's quit, after that line)
            if not _headless(self.environment):
                self.shape_greenlet = None
                return  # the web UI runs on (as in Locust: the users keep the last tick's count)
            logging.getLogger("locust.main").info("Shape test completed, shutting down")
            _rlocust.runner_shape("ended", True)
        if not _headless(self.environment):
            self.shape_greenlet = None
            return
        self.quit()

    def shape_worker(self):
        logger.info("Shape worker starting")
        shape = self.environment.shape_class
        while self._shape_start_pending or self.state in (STATE_INIT, STATE_SPAWNING, STATE_RUNNING):
            if self.state in (STATE_SPAWNING, STATE_RUNNING):
                self._shape_start_pending = False
            started = time.time()
            tick = shape.tick() if shape is not None else None
            if tick is None:
                logger.info("Shape test stopping")
                self._shape_start_pending = False
                self.shape_greenlet = None
                self.shape_last_tick = None
                if _headless(self.environment):
                    _rlocust.runner_shape("ended")
                    self.quit()
                else:
                    self.stop()  # the web UI stays up
                return
            if tick != self.shape_last_tick:
                if len(tick) == 2:
                    user_count, spawn_rate = tick
                    user_classes = None
                else:
                    user_count, spawn_rate, user_classes = tick
                logger.info("Shape test updating to %d users at %.2f spawn rate" % (user_count, spawn_rate))
                self.start(user_count=user_count, spawn_rate=spawn_rate, user_classes=user_classes)
                self.shape_last_tick = tick
            gevent.sleep(max(1 - (time.time() - started), 0))

    def stop(self):
        if not self._stop_from_user(quitting=False):
            _rlocust.runner_control("stop")

    def quit(self):
        if not self._stop_from_user(quitting=True):
            _rlocust.runner_control("quit")

    def _current_user(self):
        current = gevent.getcurrent()
        for users in self._users.values():
            for user in users.values():
                if user.greenlet is current:
                    return user
        return None

    def _users_in_stop_order(self):
        """The running users in the order Locust's stop_users() stops them: by user class (the environment's
        order), the most recently spawned first within a class."""
        order = []
        for cls in self.user_classes:
            order.extend(reversed(self._users.get(cls.__name__, {}).values()))
        return order

    def _stop_from_user(self, quitting):
        """stop()/quit() called in a user's own greenlet (e.g. `self.environment.runner.quit()` in a task).

        Locust's stop() then runs in that greenlet: it fires test_stopping, the state becomes "cleanup", and
        stop_users() kills the caller without blocking (the kill lands at its next switch). If other users are
        running, stopping them switches at once, so the caller dies inside stop(): test_stop never fires, quit()
        never ends the test, and the test goes on without users until the run time ends (or forever without
        -t); the final stop then fires test_stopping a second time (the state is still "cleanup"). With no other
        user, stop() completes (test_stop fires while the caller still counts as a user), and quit() kills the
        caller as it stops the runner greenlets. Returns False when the caller is not a user (the Rust runner
        stops). The state is the Rust runner's throughout (`_rlocust.runner_user_stop` takes each step)."""
        caller = self._current_user()
        if caller is None:
            return False
        if not _rlocust.runner_user_stop("begin"):  # stopped already: stop() does nothing, quit() still quits
            if quitting:
                _rlocust.runner_control("quit")
                caller.group.killone(caller.greenlet, block=False)
                gevent.sleep(3600 * 24 * 365)  # the kill lands here
            return True
        others = [u for u in self._users_in_stop_order() if u is not caller and not u.greenlet.dead]
        self._fire("test_stopping", {})
        _rlocust.runner_user_stop("cleanup")
        self._end_spawning()
        if self.shape_greenlet is not None and self.shape_greenlet is not gevent.getcurrent():
            self.shape_greenlet.kill(block=True)
            self.shape_greenlet = None
            self.shape_last_tick = None
        if others:
            calls = Group()
            waiting = Group()
            timeout = self.environment.stop_timeout
            for user in self._users_in_stop_order():
                if user is caller:
                    user.group.killone(user.greenlet, block=False)
                elif timeout:
                    if user._state != "stopping":
                        calls.add(gevent.spawn_later(0, user.stop, force=False))
                    waiting.add(user.greenlet)
                else:
                    calls.add(gevent.spawn_later(0, user.stop, force=True))
            calls.join()  # the caller's kill lands here
            waiting.join(timeout=timeout)
            return True  # not reached in practice
        caller.group.killone(caller.greenlet, block=False)
        _rlocust.runner_user_stop("stopped")
        self._fire("test_stop", {})
        # the Rust runner stops its ramp; it sees the test stopped already and fires nothing again
        _rlocust.runner_control("quit" if quitting else "stop")
        if quitting:
            gevent.sleep(3600 * 24 * 365)  # the kill lands here: quit() does not return to the task
        return True

    def _spawn_failed_with_stop_test(self, exc):
        """A User's __init__ raised StopTest while spawning (Locust's handler of its spawning greenlet, after gevent
        printed the greenlet's traceback): headless, the run ends; with the web UI, the test stops and the run goes
        on (e.g. until -t and --autoquit with --autostart)."""
        logger.error(exc)
        logger.warning("Stopping Locust...")
        if _headless(self.environment):
            self.quit()
        else:
            self.stop()

    def _end_spawning(self):
        """End the spawn commands in progress (Locust's stop() kills its spawning greenlet)."""
        current = gevent.getcurrent()
        for g in list(self._spawning):
            if g is not current:
                g.kill(block=True)

    def _user_error(self, msg, formatted_tb):
        self.log_exception("local", msg, formatted_tb)

    def send_message(self, msg_type, data=None, client_id=None):
        logger.debug(f"Running locally: sending {msg_type} message to self")
        handler = self.custom_messages.get(msg_type)
        if handler is None:
            logger.warning(f"Unknown message type received: {msg_type}")
            return
        # NOTE: as in Locust, a local runner calls the listener at once even when it was registered concurrent
        listener, _concurrent = handler
        listener(environment=self.environment, msg=Message(msg_type, data, "local"))

    def register_message(self, msg_type, listener, concurrent=False):
        if msg_type in self.custom_messages:
            raise Exception(f"Tried to register listener method for {msg_type}, but it already had a listener!")
        self.custom_messages[msg_type] = (listener, concurrent)

    # A worker takes `update_user_class` from its master (Locust's WorkerRunner does); a master takes none.
    _wire_user_class_updates = False

    def _on_dist_message(self, msg_type, data, node_id):
        """A message another node sent, that Python handles (the Rust runner handles the protocol's own): a worker's
        `update_user_class`, or a type the locustfile registered. Never one of the runner's own commands
        (`_on_internal`): anything else is Locust's "Unknown message type" warning, and nothing happens."""
        if msg_type == "update_user_class" and self._wire_user_class_updates:
            self.environment.update_user_class(data)
            return
        self._on_custom_message(msg_type, data, node_id)

    def _on_internal(self, msg_type, data, node_id):
        """A command of the Rust runner (`Command::Own`: never a message off the network)."""
        if msg_type == "_spawn_options":
            self._apply_spawn_options(data)
            return
        if msg_type == "_open_mode":  # an open workload (arrival rate) starts: the users wait for arrivals
            _open.set_mode(data)
            return
        if msg_type == "_report_to_master":  # a worker builds a report: Locust fires this with an empty dict
            data = {}
            self.environment.events.report_to_master.fire(client_id=node_id, data=data)
            _rlocust.dist_report_extra(data)
            return
        if msg_type == "_worker_report":  # a master received a report
            self.environment.events.worker_report.fire(client_id=node_id, data=data)
            return
        if msg_type == "_start_shape":  # a master's automatic start, once its workers are there
            self.start_shape()
            return
        if msg_type == "_end_shape":  # a master's stop ends its shape
            if self.shape_greenlet is not None and self.shape_greenlet is not gevent.getcurrent():
                self.shape_greenlet.kill(block=True)
                self.shape_greenlet = None
                self.shape_last_tick = None
            return
        logger.error(f"Unknown internal command {msg_type}")

    def _on_custom_message(self, msg_type, data, node_id):
        handler = self.custom_messages.get(msg_type)
        if handler is None:
            self._unknown_message(msg_type, node_id)
            return
        listener, concurrent = handler
        self._received_custom(msg_type, node_id)
        msg = Message(msg_type, data, node_id)
        # as in Locust: by keyword (its own examples take `def on_msg(msg, **kwargs)`), and a listener's exception
        # is logged, not raised into the node's message loop
        try:
            if concurrent:
                gevent.spawn(listener, environment=self.environment, msg=msg)
            else:
                listener(environment=self.environment, msg=msg)
        except Exception:
            logging.error(f"Uncaught exception in handler for {msg_type}\n{traceback.format_exc()}")

    def _unknown_message(self, msg_type, node_id):
        logger.warning(f"Unknown message type received: {msg_type}")

    def _received_custom(self, msg_type, node_id):
        logger.debug(f"Received {msg_type} message from master")

    def _apply_spawn_options(self, data):
        pass

    # ---- commands from the Rust runner (run on the hub, each in its own greenlet) ----

    def _spawn(self, class_name, count):
        cls = self.user_classes_by_name[class_name]
        users = self._users.setdefault(class_name, {})  # greenlet -> user, in spawn order (O(1) removal)
        me = gevent.getcurrent()
        self._spawning.add(me)
        try:
            with self._spawn_lock:
                self._spawn_users(cls, class_name, users, count)
        finally:
            self._spawning.discard(me)
        # Users live as long as the test: move them out of the cyclic GC's generations, or every full collection
        # walks all of them (at 10,000 users that was ~10% of the Python thread). Locust freezes before forking.
        # Not when a script drives the run: it may make runner after runner, and frozen objects are never freed.
        if not getattr(self, "_library", False):
            gc.freeze()

    def _spawn_users(self, cls, class_name, users, count, spawned=None):
        # One exit callback for the batch, called in the hub (it only does bookkeeping), where a link per user
        # (Locust's lambda, and the greenlet link() spawns to run it) cost ~300 bytes a user; and the user
        # greenlets without gevent's spawn tree (the spawner's stack copied into each: ~330 bytes a user, and time).
        on_exit = functools.partial(self._user_greenlet_exit, class_name)
        tracked = gevent.config.track_greenlet_tree
        if tracked:
            gevent.config.track_greenlet_tree = False
        try:
            self._spawn_users_untracked(cls, class_name, users, count, spawned, on_exit)
        finally:
            if tracked:
                gevent.config.track_greenlet_tree = True

    def _spawn_users_untracked(self, cls, class_name, users, count, spawned, on_exit):
        for n in range(1, count + 1):
            # (a StopTest from User.__init__ ends the spawning greenlet: see _spawn_failed_with_stop_test)
            user = cls(self.environment)
            assert hasattr(user, "environment"), (
                f"Attribute 'environment' is missing on user {class_name}. Perhaps you defined your own __init__ and "
                "forgot to call the base constructor? (super().__init__(*args, **kwargs))"
            )
            user.start(self.user_greenlets)
            users[user._greenlet] = user
            if spawned is not None:
                spawned.append(user)
            _rlocust.user_started(class_name)
            user._greenlet.rawlink(on_exit)
            if n % 10 == 0 or n == count:
                logger.debug("%i users spawned" % self.user_count)
        logger.debug(f"All users of class {class_name} spawned")

    def spawn_users(self, user_classes_spawn_count, wait=False):
        """Start users at once, outside any ramp (`{class name: count}`), as Locust's spawn_users does; returns them.
        `wait`: then wait until every user has stopped."""
        # NOTE: Locust sets the state to spawning here; rlocust's state is the Rust runner's, changed by start()
        new_users = []
        for class_name, count in user_classes_spawn_count.items():
            cls = self.user_classes_by_name[class_name]
            users = self._users.setdefault(class_name, {})
            with self._spawn_lock:
                self._spawn_users(cls, class_name, users, int(count), new_users)
        if wait:
            self.user_greenlets.join()
            logger.info("All users stopped\n")
        return new_users

    def _user_greenlet_exit(self, class_name, greenlet):
        """A user's greenlet ended (called in the hub, by the greenlet's links)."""
        users = self._users.get(class_name)
        user = users.pop(greenlet, None) if users else None
        _hub.killing.discard(greenlet)
        if _open.ACTIVE and user is not None:
            _open.user_left(user)
        if self._is_current():  # (a user of an earlier runner of a script does not count for the newest one)
            _rlocust.user_stopped(class_name)

    def _stop(self, class_name, count, timeout):
        """Stop the `count` most recently started users of `class_name`, or every user when both are None."""
        if class_name is not None:  # a ramp down (stopping everyone is the stop after test_stopping)
            names = [class_name]
        else:  # everyone: class by class in the environment's order, as Locust's stop() does
            self._end_spawning()
            if self.shape_greenlet is not None and self.shape_greenlet is not gevent.getcurrent():
                self.shape_greenlet.kill(block=True)
                self.shape_greenlet = None
                self.shape_last_tick = None
            names = [c.__name__ for c in self.user_classes if c.__name__ in self._users]
            names += [n for n in self._users if n not in names]
        targets = []
        for n in names:
            alive = list(self._users.get(n, {}).values())
            take = alive[-count:] if count is not None and count < len(alive) else list(alive)
            targets.extend(reversed(take))
        if not targets:
            return
        # NOTE: as Locust's stop_users, every user is asked to stop at once, then the stop waits for them all. A
        # stop() that kills blocks until its user has died, and each such wait goes round every busy user once:
        # one kill after another took a round per user (300 users whose task raised: 83 s where Locust takes
        # 0.4 s). Locust calls each stop() in a greenlet of its own; here the kills are scheduled right away
        # (User.stop without waiting, in the same order), a round sooner; an overridden stop() gets its greenlet.
        calls = Group()
        waiting = Group()
        for user in targets:
            if timeout and user._state == LOCUST_STATE_STOPPING:
                pass  # a user a ramp-down already asked to stop is only waited for (stopping it again raises)
            elif type(user).stop is User.stop:
                user._stop(not timeout, block=False)
            else:
                calls.add(gevent.spawn_later(0, user.stop, force=not timeout))
            waiting.add(user.greenlet)
        calls.join()
        if not waiting.join(timeout=timeout or None):
            logger.info(f"Not all users finished their tasks & terminated in {timeout} seconds. Stopping them...")
            waiting.kill(block=True)

    def _fire(self, event, kwargs):
        env = self.environment
        if event == "test_start":
            _open.set_mode(False)  # a new test is closed until the runner says otherwise
            env._filter_tasks_by_tags()
            self.exceptions = {}
        hook = getattr(env.events, event)
        if event in ("cpu_warning", "usage_monitor"):
            self.current_cpu_usage = kwargs.get("cpu_usage", self.current_cpu_usage)
            self.current_memory_usage = kwargs.get("memory_usage", self.current_memory_usage)
            if event == "cpu_warning":
                self.cpu_warning_emitted = True
        try:
            if event in ("test_start", "test_stopping", "test_stop", "cpu_warning", "usage_monitor"):
                hook.fire(environment=env, **kwargs)
            else:
                hook.fire(**kwargs)
        finally:
            self._fired(event)

    def _fired(self, event):
        pass


class LocalRunner(Runner):
    def __init__(self, environment):
        super().__init__(environment)
        self.worker_index = 0
        self.client_id = socket.gethostname() + "_" + uuid.uuid4().hex
        self.worker_count = 1
        from locust._mode import library_mode

        self._library = library_mode()
        if self._library:
            self._library_init()

    # ---- a script drives the run (`rlocust-python`) -------------------------------------------------------------
    #
    # As under Locust: `runner.greenlet` is a group that ends with quit(); start() returns at once (the ramp is the
    # Rust runner's; `spawning_greenlet` ends with it, or at once with wait=True when done); stop() and quit()
    # return once the test has stopped (test_stop fired). Each runner gets its own runner state in Rust.

    def _library_init(self):
        from gevent.event import Event

        self._quit_event = Event()
        self._stopped_event = Event()
        self._spawned_event = Event()
        self._spawned_event.set()
        self._lib_classes = None
        self._lib_new_runner()
        _hub.set_runner(self)
        _hub.ensure_started()
        self.greenlet.spawn(self._quit_event.wait)

    def _class_specs(self):
        return [(c.__name__, float(getattr(c, "weight", 1)), int(getattr(c, "fixed_count", 0) or 0))
                for c in self.user_classes]

    def _lib_new_runner(self):
        specs = self._class_specs()
        _rlocust.lib_runner(specs, float(self.environment.stop_timeout or 0), bool(self.environment.reset_stats),
                            float(CPU_MONITOR_INTERVAL))
        self._lib_classes = specs

    def _lib_wait(self, event):
        """Wait for `event`, unless this greenlet carries out a runner command (the runner waits for it)."""
        if _hub.in_command():
            return
        event.wait(timeout=float(self.environment.stop_timeout or 0) + 60)

    def _fired(self, event):
        if not self._library:
            return
        if event == "spawning_complete" or event == "test_stopping":
            self._spawned_event.set()
        elif event == "test_stop":
            self._spawned_event.set()
            self._stopped_event.set()

    def start(self, user_count, spawn_rate, wait=False, user_classes=None):
        if not self._library:
            return super().start(user_count, spawn_rate, wait=wait, user_classes=user_classes)
        if spawn_rate > 100:
            logger.warning("Your selected spawn rate is very high (>100), and this is known to sometimes cause "
                           "issues. Do you really need to ramp up that fast?")
        if user_count < 0:
            raise ValueError(f"target_user_count must be >= 0, got {user_count}")
        if self.state in (STATE_INIT, STATE_STOPPED) and self._class_specs() != self._lib_classes:
            self._lib_new_runner()  # the classes changed since the runner was made (or the last test)
        _rlocust.lib_stop_timeout(float(self.environment.stop_timeout or 0))
        env = self.environment
        if env.host:
            for user_class in self.user_classes:
                user_class.host = env.host
        self._spawned_event.clear()
        self._stopped_event.clear()
        super().start(user_count, spawn_rate, wait=wait, user_classes=user_classes)
        self.spawning_greenlet = self.greenlet.spawn(self._spawned_event.wait)
        if wait:
            self.spawning_greenlet.join()

    def stop(self):
        if not self._library:
            return super().stop()
        if self._stop_from_user(quitting=False):
            return
        if self.state == STATE_STOPPED:
            return
        self._stopped_event.clear()
        _rlocust.runner_control("stop")
        self._lib_wait(self._stopped_event)

    def quit(self):
        if not self._library:
            return super().quit()
        if self._stop_from_user(quitting=True):
            return
        self.stop()
        _rlocust.runner_control("quit")
        self._lib_wait(self._quit_event)
        if gevent.getcurrent() not in self.greenlet:
            self.greenlet.kill(block=True)


class Message:
    """A message between nodes as listeners of `register_message` receive it."""

    def __init__(self, message_type, data, node_id):
        self.type = message_type
        self.data = data
        self.node_id = node_id

    def __repr__(self):
        return f"<Message {self.type}:{self.node_id}>"


class DistributedRunner(Runner):
    pass


class MasterRunner(DistributedRunner):
    def __init__(self, environment, master_bind_host="*", master_bind_port=5557):
        super().__init__(environment)
        self.master_bind_host = master_bind_host
        self.master_bind_port = master_bind_port

    @property
    def client_id(self):
        node = _rlocust.dist_node()
        return node[1] if node else None

    def _user_error(self, msg, formatted_tb):
        pass  # a master runs no users

    def _user_class_updated(self, data):
        self.send_message("update_user_class", data)  # as Locust's /user: the workers apply it too

    def _publish_spawn_info(self):
        """What the next `spawn` messages carry: the host and every parsed option."""
        env = self.environment
        options = vars(env.parsed_options) if env.parsed_options is not None else {}
        _rlocust.dist_set_spawn_info(env.host, dict(options))

    def start(self, user_count, spawn_rate, wait=False, user_classes=None):
        self._publish_spawn_info()
        super().start(user_count, spawn_rate, wait=wait, user_classes=user_classes)

    @property
    def clients(self):
        nodes = {}
        for wid, index, state, user_count, classes, cpu, mem in _rlocust.dist_workers():
            node = WorkerNode(wid, state=state)
            node.user_classes_count = dict(classes)
            node.cpu_usage = cpu
            node.memory_usage = mem
            node.index = index
            nodes[wid] = node
        return WorkerNodes(nodes)

    @property
    def worker_count(self):
        return len(self.clients.ready) + len(self.clients.spawning) + len(self.clients.running)

    def send_message(self, msg_type, data=None, client_id=None):
        if client_id is None:
            logger.debug(f"Sending {msg_type} message to all workers")
        else:
            logger.debug(f"Sending {msg_type} message to worker {client_id}")
        _rlocust.dist_send(msg_type, data, client_id)

    def _unknown_message(self, msg_type, node_id):
        logger.warning(
            f"Unknown message type received from worker {node_id} (index {self.get_worker_index(node_id)}): {msg_type}"
        )

    def _received_custom(self, msg_type, node_id):
        logger.debug(f"Received {msg_type} message from worker {node_id} (index {self.get_worker_index(node_id)})")

    def get_worker_index(self, client_id):
        """A worker's 0-based index (the Rust master's, fixed while it runs), or -1 for a node it does not know."""
        for wid, index, *_ in _rlocust.dist_workers():
            if wid == client_id:
                return index
        return -1


class WorkerRunner(DistributedRunner):
    def __init__(self, environment, master_host="127.0.0.1", master_port=5557):
        super().__init__(environment)
        self.master_host = master_host
        self.master_port = master_port
        self.connected = True
        self.retry = 0
        self.logs = []

    @property
    def client_id(self):
        node = _rlocust.dist_node()
        return node[1] if node else None

    @property
    def worker_index(self):
        node = _rlocust.dist_node()
        return node[2] if node else -1

    @property
    def worker_state(self):
        return self.state

    _wire_user_class_updates = True

    def _user_error(self, msg, formatted_tb):
        _rlocust.dist_send("exception", {"msg": msg, "traceback": formatted_tb}, None)

    def send_message(self, msg_type, data=None, client_id=None):
        logger.debug(f"Sending {msg_type} message to master")
        _rlocust.dist_send(msg_type, data, None)

    def start(self, user_count, spawn_rate, wait=False, user_classes=None):
        raise NotImplementedError("use start_worker")

    def _apply_spawn_options(self, data):
        env = self.environment
        env.host = data.get("host")
        for user_class in self.user_classes:
            if env.host:
                user_class.host = env.host
        custom = data.get("parsed_options") or {}
        if env.parsed_options is None:
            from types import SimpleNamespace

            env.parsed_options = SimpleNamespace()
        vars(env.parsed_options).update(custom)


class WorkerNode:
    def __init__(self, id, state=STATE_INIT, heartbeat_liveness=HEARTBEAT_LIVENESS):
        self.id = id
        self.state = state
        self.heartbeat = heartbeat_liveness
        self.cpu_usage = 0
        self.memory_usage = 0
        self.user_classes_count = {}

    @property
    def user_count(self):
        return sum(self.user_classes_count.values())


class WorkerNodes:
    """A master's workers by id (`runner.clients`): a snapshot of what the Rust master knows."""

    def __init__(self, nodes=None):
        self._worker_nodes = dict(nodes or {})

    def get(self, k, default=None):
        return self._worker_nodes.get(k, default)

    def keys(self):
        return self._worker_nodes.keys()

    def values(self):
        return self._worker_nodes.values()

    def items(self):
        return self._worker_nodes.items()

    def __contains__(self, k):
        return k in self._worker_nodes

    def __getitem__(self, k):
        return self._worker_nodes[k]

    def __iter__(self):
        return iter(self._worker_nodes)

    def __len__(self):
        return len(self._worker_nodes)

    def _in_state(self, state):
        return [n for n in self._worker_nodes.values() if n.state == state]

    @property
    def all(self):
        return self._worker_nodes.values()

    @property
    def ready(self):
        return self._in_state(STATE_INIT)

    @property
    def spawning(self):
        return self._in_state(STATE_SPAWNING)

    @property
    def running(self):
        return self._in_state(STATE_RUNNING)

    @property
    def missing(self):
        return self._in_state(STATE_MISSING)
