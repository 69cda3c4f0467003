"""rlocust internals: what Python knows of the run (the classes found, the options, the Environment), and what the
Rust web server reads of it once (`web_info`)."""

import inspect
import sys

from locust.argument_parser import ui_extra_options
from locust.contrib.fasthttp import FastHttpUser
from locust.user.task import TaskSet
from locust.user.users import HttpUser


class _State:
    user_classes = {}
    # the classes' own hosts, before -H replaced them (the web UI shows them until a test starts, as Locust does)
    class_hosts = {}
    user_tasks = {}
    shape_classes = []
    arrival_shapes = {}  # name -> ArrivalRateShape subclass (rlocust's open workload)
    parser = None
    options = None
    env = None
    percentiles = None  # PERCENTILES_TO_REPORT as handed to Rust before the CSV files were made
    locustfiles = []


def web_info():
    """What the Rust web server needs from Python once, after `init`: the locustfile's name, whether the
    locustfile created `environment.web_ui.app` (Flask routes to hand requests to), and each user class's
    task tree (`{class: {task: {"n": occurrences, "len": list length, "tasks"?: {...}}}}`), from which it computes
    `/tasks` for the live user counts. JSON text."""
    import json

    def tree(tasks):
        occurrences = {}
        for t in tasks:
            occurrences[t] = occurrences.get(t, 0) + 1
        out = {}
        for t, n in occurrences.items():
            node = {"n": n, "len": len(tasks)}
            if inspect.isclass(t) and issubclass(t, TaskSet):
                node["tasks"] = tree(t.tasks)
            out[t.__name__] = node
        return out

    env = _State.env

    def described(cls):
        host = _State.class_hosts.get(cls.__name__, cls.host)
        return {
            "name": cls.__name__,
            "host": host if isinstance(host, str) else None,
            "weight": cls.weight,
            "fixed_count": cls.fixed_count,
            "tasks": [t.__name__ for t in cls.tasks],
            "http": issubclass(cls, (HttpUser, FastHttpUser)),
        }

    options = env.parsed_options
    return json.dumps({
        "locustfile": env.locustfile,
        "classes": {cls.__name__: tree(cls.tasks) for cls in env.user_classes},
        "running_classes": [cls.__name__ for cls in env.user_classes],
        "available_user_classes": [described(c) for c in (env.available_user_classes or {}).values()],
        "available_shape_classes": sorted(env.available_shape_classes or {}),
        "extra_options": _ui_extra_options(options),
        "is_host_required": bool(getattr(sys.modules.get("locust.web"), "HOST_IS_REQUIRED", False)),
        "profile": env.profile,
        "shape": type(env.shape_class).__name__ if env.shape_class is not None else None,
        "shape_use_common_options": (bool(getattr(env.shape_class, "use_common_options", False))
                                     if env.shape_class is not None else None),
        # the locustfile created `web_ui.app`: the server hands the paths it does not serve to it
        "python_routes": bool(getattr(env.web_ui, "has_app", False)),
        # ... and whether it serves its own /metrics (which then wins over rlocust's Prometheus endpoint)
        "python_metrics": _serves_metrics(env.web_ui),
    }, default=str)


def _serves_metrics(web_ui):
    if not getattr(web_ui, "has_app", False):
        return False
    try:
        return any(rule.rule == "/metrics" for rule in web_ui.app.url_map.iter_rules())
    except Exception:
        return False


def _ui_extra_options(options):
    """Locust's `ui_extra_args_dict()`: the locustfile's own options shown in the web UI's form, each with its
    current value (command line, config file or environment) as the default."""
    if _State.parser is None:
        return {}
    return ui_extra_options(_State.parser, vars(options) if options is not None else {})
