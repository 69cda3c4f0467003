"""`locust.env.Environment`: the object locustfiles receive in events (`environment.parsed_options`, …)."""

from locust import events as _default_events  # noqa: F401  (module-level Events instance)
from locust.event import Events
from locust.shape import LoadTestShape  # noqa: F401  (Locust's env module has it too)
from locust.stats import RequestStats


class Environment:
    def __init__(self, *, user_classes=None, shape_class=None, tags=None, locustfile=None, exclude_tags=None,
                 events=None, host=None, reset_stats=False, stop_timeout=None, catch_exceptions=True,
                 parsed_options=None, parsed_locustfiles=None, available_user_classes=None,
                 available_shape_classes=None, available_user_tasks=None, dispatcher_class=None, profile=None):
        self.runner = None
        self.web_ui = None
        self.process_exit_code = None
        self.events = events if events is not None else Events()
        self.locustfile = locustfile
        self.user_classes = []
        self.shape_class = shape_class
        self.tags = tags
        self.exclude_tags = exclude_tags
        self.stats = RequestStats()
        self.host = host
        self.reset_stats = reset_stats
        self.profile = profile
        if stop_timeout is not None:
            self.stop_timeout = stop_timeout
        elif parsed_options is not None and getattr(parsed_options, "stop_timeout", None) is not None:
            self.stop_timeout = float(parsed_options.stop_timeout)
        else:
            self.stop_timeout = 0.0
        self.catch_exceptions = catch_exceptions
        self.parsed_options = parsed_options
        self.parsed_locustfiles = parsed_locustfiles
        self.available_user_classes = available_user_classes
        self.available_shape_classes = available_shape_classes
        self.available_user_tasks = available_user_tasks
        if dispatcher_class is None:
            from locust.dispatch import UsersDispatcher

            dispatcher_class = UsersDispatcher
        self.dispatcher_class = dispatcher_class
        self.worker_logs = {}
        self._remove_user_classes_with_weight_zero(user_classes or [])
        self._tasks_filtered = False
        if len({c.__name__ for c in self.user_classes}) != len(self.user_classes):
            # (Locust lists every user class by its full name)
            raise ValueError("The following user classes have the same class name: "
                             + ", ".join(c.fullname() if hasattr(c, "fullname") else f"{c.__module__}.{c.__name__}"
                                         for c in self.user_classes))
        if self.shape_class is not None and not isinstance(self.shape_class, LoadTestShape):
            raise ValueError("shape_class should be instance of LoadTestShape or subclass LoadTestShape, but got: "
                             f"{self.shape_class}")

    def _remove_user_classes_with_weight_zero(self, user_classes):
        if not user_classes:
            self.user_classes = []
            return
        kept = [c for c in user_classes if getattr(c, "weight", 1) > 0 or getattr(c, "fixed_count", 0) > 0]
        if not kept:
            raise ValueError("There are no users with weight > 0.")
        self.user_classes = kept

    @property
    def user_classes_by_name(self):
        return {c.__name__: c for c in self.user_classes}

    def _filter_tasks_by_tags(self):
        """Apply the tag options to every user class, once: this Environment's own `tags`/`exclude_tags`
        when given, else those of `parsed_options` (an empty list there means no filter)."""
        if self._tasks_filtered:
            return
        self._tasks_filtered = True
        from locust.user.task import filter_tasks_by_tags

        def chosen(own, name):
            if own is not None:
                return set(own)
            if self.parsed_options and getattr(self.parsed_options, name, False):
                return set(getattr(self.parsed_options, name))
            return None

        tags = chosen(self.tags, "tags")
        exclude = chosen(self.exclude_tags, "exclude_tags")
        for cls in self.user_classes:
            filter_tasks_by_tags(cls, tags, exclude)

    def update_user_class(self, user_settings):
        """Apply one `--config-users` entry: every key but `user_class_name` and `tasks` becomes a class attribute;
        `tasks` keeps the class's own tasks whose names are listed (a KeyError names an unknown class)."""
        user_class_name = user_settings.get("user_class_name")
        user_class = self.available_user_classes[user_class_name]
        user_tasks = self.available_user_tasks[user_class_name]
        for key, value in user_settings.items():
            if key not in ["user_class_name", "tasks"]:
                setattr(user_class, key, value)
            if key == "tasks":
                user_class.tasks = [task for task in user_tasks if task.__name__ in value]

    def assign_equal_weights(self):
        """Weight 1 for every class; each class's tasks become every callable reachable through its nested
        TaskSets, once each (found depth-first from the end of the list, the order Locust gives them)."""
        for cls in self.user_classes:
            cls.weight = 1
            flat = []
            pending = cls.tasks  # emptied as it is walked, as in Locust
            while pending:
                t = pending.pop()
                if hasattr(t, "tasks"):
                    pending.extend(t.tasks)
                elif callable(t):
                    if t not in flat:
                        flat.append(t)
                else:
                    raise ValueError("Unrecognized task type in user")
            cls.tasks = flat

    def create_worker_runner(self, master_host="127.0.0.1", master_port=5557):
        from locust.runners import WorkerRunner

        return self._create_runner(WorkerRunner, master_host=master_host, master_port=master_port)

    def create_master_runner(self, master_bind_host="*", master_bind_port=5557):
        from locust.runners import MasterRunner

        return self._create_runner(MasterRunner, master_bind_host=master_bind_host, master_bind_port=master_bind_port)

    def _create_runner(self, cls, **kwargs):
        if self.runner is not None:
            from locust.exception import RunnerAlreadyExistsError

            raise RunnerAlreadyExistsError(f"Environment.runner already exists ({self.runner})")
        self.runner = cls(self, **kwargs)
        return self.runner

    def create_web_ui(self, host="", port=8089, web_base_path=None, web_login=False, tls_cert=None, tls_key=None,
                      stats_csv_writer=None, delayed_start=False, userclass_picker_is_active=False, build_path=None):
        """rlocust's web UI (Rust) for this environment's runner, started at once unless `delayed_start` (then by
        `web_ui.start()`). Only when a script drives the run (`rlocust-python`); under `rlocust` the command line
        starts the web UI."""
        from locust.web import WebUI

        web_ui = WebUI(self, host, port, web_login=web_login, userclass_picker_is_active=userclass_picker_is_active)
        web_ui.tls_cert = tls_cert or None
        web_ui.tls_key = tls_key or None
        web_ui.web_base_path = web_base_path
        self.web_ui = web_ui
        if not delayed_start:
            web_ui.start()
        return web_ui

    def create_local_runner(self):
        from locust.runners import LocalRunner

        if self.runner is not None:
            from locust.exception import RunnerAlreadyExistsError

            raise RunnerAlreadyExistsError(f"Environment.runner already exists ({self.runner})")
        self.runner = LocalRunner(self)
        return self.runner
