"""rlocust internals: the few web API actions that change Python state, run on the hub.

The Rust web server (src/web/) answers every route itself; it sends a `_rlocust.Web` command only when Python
state must change: the form fields of `POST /swarm` (host, profile, `parsed_options`), `POST /user` (class
attributes) and the `reset_stats` event of `POST /stats/reset`. Each action returns whether it succeeded; it never
raises into the bridge.
"""

import json
import logging

logger = logging.getLogger("locust.web")

_BUILT_IN = ("user_count", "spawn_rate", "host", "user_classes", "run_time", "profile")


def handle(env, action, payload):
    try:
        data = json.loads(payload)
        if action == "swarm":
            if data.get("picked") is not None:
                # --class-picker: the classes picked in the form run from now on (Locust's _update_user_classes)
                available = env.available_user_classes or {}
                env.user_classes = [available[n] for n in data["picked"] if n in available]
            _swarm(env, data["items"], data["lists"])
        elif action == "user":
            env.update_user_class(data)
        elif action == "reset_stats":
            env.events.reset_stats.fire()
            if env.runner is not None:
                env.runner.exceptions = {}
        else:
            raise ValueError(f"unknown web action {action!r}")
        return True
    except Exception:
        logger.debug("web action %s failed", action, exc_info=True)
        return False


def _swarm(env, items, lists):
    """Apply the form fields the server accepted, in form order (each key once, its first value; `lists` holds
    every value of each key), as Locust's `/swarm` stores them."""
    options = vars(env.parsed_options) if env.parsed_options is not None else {}
    for key, value in items:
        if key == "user_count":
            options["num_users"] = int(value)
        elif key == "spawn_rate":
            options["spawn_rate"] = float(value)
        elif key == "host":
            env.host = str(value).replace("<", "").replace(">", "")
            options["host"] = env.host
        elif key == "user_classes":
            options["user_classes"] = list(lists.get(key, [value]))
        elif key == "run_time":
            if value:
                from locust.util.timespan import parse_timespan

                options["run_time"] = parse_timespan(value)
        elif key == "profile":
            env.profile = str(value) or None
            options["profile"] = env.profile
        elif key in options:
            old = options[key]
            if isinstance(old, bool):
                options[key] = value == "true"
            elif old is None:
                options[key] = value
            elif isinstance(old, list):
                values = value.split(",") if "," in value else list(lists.get(key, [value]))
                options[key] = list(map(int, values)) if all(isinstance(x, int) for x in old) else values
            else:
                options[key] = type(old)(value)
    # Locust's runner.start(): a set environment host becomes every user class's host
    if env.host:
        for cls in env.user_classes:
            cls.host = env.host
