"""`locust.runners`: the runner objects locustfiles see, driven by the Rust runner.

The Rust runner decides when users start and stop; the hub executes its commands here (`_spawn`, `_stop`,
`_fire`), because creating and killing greenlets must happen on the Python thread.
"""

import gc
import logging
import socket
import time
import traceback
import uuid

import gevent
from gevent.pool import Group

import _rlocust
from locust.exception import StopTest

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
    from locust.clients import parse_error

    _rlocust.log_request(request_type, name, response_time, response_length,
                         None if exception is None else parse_error(exception))


_record_request._rlocust_builtin = True


class Runner:
    def __init__(self, environment):
        self.environment = environment
        self.user_greenlets = Group()
        self.greenlet = Group()
        self.spawning_greenlet = None
        self.shape_greenlet = None
        self.shape_last_tick = None
        self.shape_completed = False
        self._shape_completed_logged = False
        self.current_cpu_usage = 0
        self.current_memory_usage = 0
        self.cpu_warning_emitted = False
        self.worker_cpu_warning_emitted = False
        self.target_user_classes_count = {}
        self.target_user_count = 0
        self.custom_messages = {}
        self.final_user_classes_count = {}
        self.connection_broken = False
        self.exceptions = {}
        self._users = {}
        # What `state` shows while the Rust runner's state differs from Locust's: Rust is already "running"
        # when spawning_complete fires and "stopping" when test_stopping fires, where Locust's LocalRunner
        # still shows its earlier state ("spawning" until its own spawning_complete listener, registered
        # here after the locustfile's, has run; the pre-stop state during test_stopping).
        self._shown_state = None
        self._live_state = STATE_INIT  # "spawning" from a ramp's first spawn/stop, "running" after it
        # A stop()/quit() called in a user's greenlet, done here as Locust does it (see _stop_from_user):
        # "aborted" (the caller was killed halfway, the test goes on without users) or "done" (the caller was
        # the only user: Python already fired test_stopping/test_stop, the Rust runner's own ones are dropped).
        self._user_stop = None
        environment.events.request.add_listener(_record_request)

        def on_spawning_complete(**_kw):
            self._shown_state = None
            self._live_state = STATE_RUNNING

        environment.events.spawning_complete.add_listener(on_spawning_complete)

        def on_user_error(user_instance, exception, tb, **_kw):
            formatted = "".join(traceback.format_tb(tb)) if tb is not None else ""
            self.log_exception("local", str(exception), formatted)

        environment.events.user_error.add_listener(on_user_error)

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
        if self._shown_state is not None:
            return self._shown_state
        if self._user_stop is not None:
            return STATE_CLEANUP if self._user_stop == "aborted" else STATE_STOPPED
        state = _rlocust.runner_state()
        # Locust's LocalRunner has no "stopping" state: it is "cleanup" while the users stop
        return STATE_CLEANUP if state == STATE_STOPPING else state

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
        self.shape_greenlet = gevent.spawn(self.shape_worker)
        self.shape_greenlet.link_exception(self._on_shape_error)
        if self.environment.shape_class is not None:
            self.environment.shape_class.reset_time()

    def _on_shape_error(self, greenlet):
        exc = greenlet.exception
        # Locust's headless main waits for the shape greenlet, then logs "Shape test completed, shutting down"
        # and quits, however the greenlet ended
        self.shape_completed = True
        if isinstance(exc, StopTest):
            logger.error(exc)
            logger.warning("Stopping Locust...")
        else:
            import locust.log

            logger.critical("Unhandled exception in greenlet: %s", greenlet,
                            exc_info=(type(exc), exc, exc.__traceback__))
            locust.log.unhandled_greenlet_exception = True
            # (its exception handler only logs: the test ends by main's quit, after that line)
            logging.getLogger("locust.main").info("Shape test completed, shutting down")
            self._shape_completed_logged = True
        self.quit()

    def shape_worker(self):
        logger.info("Shape worker starting")
        shape = self.environment.shape_class
        while self.state in (STATE_INIT, STATE_SPAWNING, STATE_RUNNING):
            started = time.time()
            tick = shape.tick() if shape is not None else None
            if tick is None:
                logger.info("Shape test stopping")
                self.shape_completed = True
                self.quit()
                self.shape_greenlet = None
                self.shape_last_tick = None
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
        -t); the final stop then fires test_stopping a second time. With no other user, stop() completes
        (test_stop fires while the caller still counts as a user), and quit() kills the caller as it
        stops the runner greenlets. Returns False when the caller is not a user (the Rust runner stops)."""
        caller = self._current_user()
        if caller is None or self._user_stop is not None or _rlocust.runner_state() == STATE_STOPPED:
            return False
        others = [u for u in self._users_in_stop_order() if u is not caller and not u.greenlet.dead]
        self._fire("test_stopping", {})
        self.final_user_classes_count = dict(self.user_classes_count)
        self._user_stop = "aborted"
        self._live_state = STATE_CLEANUP
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
        self._user_stop = "done"
        caller.group.killone(caller.greenlet, block=False)
        self._fire("test_stop", {}, rust=False)
        _rlocust.runner_control("quit" if quitting else "stop")
        if quitting:
            gevent.sleep(3600 * 24 * 365)  # the kill lands here: quit() does not return to the task
        return True

    def send_message(self, msg_type, data=None, client_id=None):
        handler = self.custom_messages.get(msg_type)
        if handler is None:
            logger.warning(f"Unknown message type received: {msg_type}")
            return
        from types import SimpleNamespace

        listener = handler[0] if isinstance(handler, tuple) else handler
        listener(environment=self.environment, msg=SimpleNamespace(type=msg_type, data=data, node_id="local"))

    def register_message(self, msg_type, listener, concurrent=False):
        if msg_type in self.custom_messages:
            raise Exception(f"Tried to register listener method for {msg_type}, but it already had a listener!")
        self.custom_messages[msg_type] = (listener, concurrent)

    # ---- commands from the Rust runner (run on the hub, each in its own greenlet) ----

    def _spawn(self, class_name, count):
        self._live_state = STATE_SPAWNING
        cls = self.user_classes_by_name[class_name]
        users = self._users.setdefault(class_name, {})  # id -> user, in spawn order (O(1) removal)
        for _ in range(count):
            try:
                user = cls(self.environment)
            except StopTest as e:
                logger.error(e)
                logger.warning("Stopping Locust...")
                self.quit()
                return
            user.start(self.user_greenlets)
            users[id(user)] = user
            _rlocust.user_started(class_name)
            user._greenlet.link(lambda _g, u=user, n=class_name: self._on_user_exit(u, n))
        # Users live as long as the test: move them out of the cyclic GC's generations, or every full collection
        # walks all of them (at 10,000 users that was ~10% of the Python thread). Locust freezes before forking.
        gc.freeze()

    def _on_user_exit(self, user, class_name):
        users = self._users.get(class_name)
        if users:
            users.pop(id(user), None)
        _rlocust.user_stopped(class_name)

    def _stop(self, class_name, count, timeout):
        if class_name:  # a ramp down (stopping everyone is the stop after test_stopping)
            self._live_state = STATE_SPAWNING
            names = [class_name]
        else:  # everyone: class by class in the environment's order, as Locust's stop() does
            names = [c.__name__ for c in self.user_classes if c.__name__ in self._users]
            names += [n for n in self._users if n not in names]
        targets = []
        for n in names:
            alive = list(self._users.get(n, {}).values())
            take = alive[-count:] if count < len(alive) else list(alive)
            targets.extend(reversed(take))
        if not targets:
            return
        if timeout:
            stopping = [u for u in targets if not u.stop(force=False)]
            if stopping:
                gevent.joinall([u.greenlet for u in stopping], timeout=timeout)
                left = [u for u in stopping if not u.greenlet.dead]
                if left:
                    logger.info(
                        f"Not all users finished their tasks & terminated in {timeout} seconds. Stopping them..."
                    )
                    for u in left:
                        u.stop(force=True)
        else:
            for u in targets:
                u.stop(force=True)
        gevent.joinall([u.greenlet for u in targets], timeout=5)

    def _fire(self, event, kwargs, rust=True):
        env = self.environment
        if event == "test_start":
            env._filter_tasks_by_tags()
            self.exceptions = {}
            self._user_stop = None
        if rust and self._user_stop == "done" and event in ("test_stopping", "test_stop"):
            # the Rust runner's echo of a stop that _stop_from_user already did (and fired)
            if event == "test_stop":
                self._user_stop = None
            return
        if rust and event == "test_stop":
            self._user_stop = None  # the final stop of a test that a user's stop() had aborted
        hook = getattr(env.events, event)
        if event in ("cpu_warning", "usage_monitor"):
            self.current_cpu_usage = kwargs.get("cpu_usage", self.current_cpu_usage)
            self.current_memory_usage = kwargs.get("memory_usage", self.current_memory_usage)
            if event == "cpu_warning":
                self.cpu_warning_emitted = True
        if event == "spawning_complete":
            self._shown_state = STATE_SPAWNING
        elif event == "test_stopping":
            self._shown_state = self._live_state
        elif event == "test_stop" and not rust:
            self._shown_state = STATE_STOPPED
        try:
            if event in ("test_start", "test_stopping", "test_stop", "cpu_warning", "usage_monitor"):
                hook.fire(environment=env, **kwargs)
            else:
                hook.fire(**kwargs)
        finally:
            self._shown_state = None
            if event == "test_stop":
                self._live_state = STATE_STOPPED


class LocalRunner(Runner):
    def __init__(self, environment):
        super().__init__(environment)
        self.worker_index = 0
        self.client_id = socket.gethostname() + "_" + uuid.uuid4().hex
        self.worker_count = 1


class DistributedRunner(Runner):
    pass


class MasterRunner(DistributedRunner):
    pass


class WorkerRunner(DistributedRunner):
    pass


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
