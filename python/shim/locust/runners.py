"""`locust.runners`: the runner objects locustfiles see, driven by the Rust runner.

The Rust runner decides when users start and stop; the hub executes its commands here (`_spawn`, `_stop`,
`_fire`), because creating and killing greenlets must happen on the Python thread.
"""

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
        environment.events.request.add_listener(_record_request)

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
        return _rlocust.runner_state()

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
        if isinstance(exc, StopTest):
            logger.error(exc)
            logger.warning("Stopping Locust...")
        else:
            import locust.log

            logger.critical("Unhandled exception in greenlet: %s", greenlet,
                            exc_info=(type(exc), exc, exc.__traceback__))
            locust.log.unhandled_greenlet_exception = True
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
        _rlocust.runner_control("stop")

    def quit(self):
        _rlocust.runner_control("quit")

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
        cls = self.user_classes_by_name[class_name]
        users = self._users.setdefault(class_name, [])
        for _ in range(count):
            try:
                user = cls(self.environment)
            except StopTest as e:
                logger.error(e)
                logger.warning("Stopping Locust...")
                self.quit()
                return
            user.start(self.user_greenlets)
            users.append(user)
            _rlocust.user_started(class_name)
            user._greenlet.link(lambda _g, u=user, n=class_name: self._on_user_exit(u, n))

    def _on_user_exit(self, user, class_name):
        users = self._users.get(class_name)
        if users and user in users:
            users.remove(user)
        _rlocust.user_stopped(class_name)

    def _stop(self, class_name, count, timeout):
        names = [class_name] if class_name else list(self._users)
        targets = []
        for n in names:
            alive = self._users.get(n, [])
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

    def _fire(self, event, kwargs):
        env = self.environment
        if event == "test_start":
            env._filter_tasks_by_tags()
            self.exceptions = {}
        hook = getattr(env.events, event)
        if event in ("cpu_warning", "usage_monitor"):
            self.current_cpu_usage = kwargs.get("cpu_usage", self.current_cpu_usage)
            self.current_memory_usage = kwargs.get("memory_usage", self.current_memory_usage)
            if event == "cpu_warning":
                self.cpu_warning_emitted = True
        if event in ("test_start", "test_stopping", "test_stop", "cpu_warning", "usage_monitor"):
            hook.fire(environment=env, **kwargs)
        else:
            hook.fire(**kwargs)


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
