"""`locust.debug`: run one user in the current greenlet, printing every request (reference §1.18).

As in Locust, `run_single_user` builds one Environment per process (on `locust.events`), fires `init` with
`runner=None` and then, for each call, `test_start`; it never fires `test_stop` or `quit`. Inside an rlocust
run the options are the run's own `parsed_options` (rlocust parses its built-in options in Rust, so there is
no Python parser for the whole command line); elsewhere they are the defaults plus the locustfile's options.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

import locust
import locust.log
from locust import argument_parser
from locust.env import Environment
from locust.exception import CatchResponseError

# The built-in options a locustfile or user code commonly reads, with Locust's defaults; used only when no
# rlocust run provides `parsed_options`.
_BUILTIN_DEFAULTS = {
    "locustfile": "locustfile.py",
    "config": None,
    "host": None,
    "num_users": None,
    "spawn_rate": None,
    "run_time": None,
    "headless": False,
    "tags": None,
    "exclude_tags": None,
    "csv_prefix": None,
    "reset_stats": False,
    "loglevel": "INFO",
    "logfile": None,
    "stop_timeout": 0,
    "exit_code_on_error": 1,
    "equal_weights": False,
    "profile": None,
    "iterations": 0,
    "user_classes": [],
}


def _tab(value):
    """Print one column: the value, then a tab instead of a line break."""
    print(str(value), end="\t")


class PrintListener:
    """Prints a header, then one tab-separated line per request (type, name, response time, error, ...)."""

    def __init__(self, env, include_length=False, include_time=False, include_context=False,
                 include_payload=False):
        env.events.request.add_listener(self.on_request)
        self.include_length = "length\t" if include_length else ""
        self.include_time = "time                    \t" if include_time else ""
        self.include_context = "context\t" if include_context else ""
        self.include_payload = "payload\t" if include_payload else ""
        header = (f"\n{self.include_time}type\t{'name'.ljust(50)}\tresp_ms\t{self.include_length}exception\t"
                  f"{self.include_context}\t{self.include_payload}")
        print(header)

    def on_request(self, request_type, name, response_time, response_length, exception, context,
                   start_time=None, response=None, **_kwargs):
        if exception:
            if isinstance(exception, CatchResponseError):
                text = str(exception)
            else:
                try:
                    text = repr(exception)
                except AttributeError:
                    text = f"{exception.__class__} (and it has no string representation)"
            error = text[:500].replace("\n", " ")
        else:
            error = ""
        if response_time is None:
            response_time = -1
        shown_name = name.ljust(30) if name else ""

        if self.include_time:
            _tab(datetime.fromtimestamp(start_time, tz=UTC) if start_time else datetime.now())
        _tab(request_type)
        _tab(shown_name.ljust(50))
        _tab(str(round(response_time)).ljust(7))
        if self.include_length:
            _tab(response_length)
        _tab(error.ljust(9))
        if self.include_context:
            _tab(context or "")
        if self.include_payload:
            _tab(response._request.payload)
        print()


_env: Environment | None = None  # the one Environment of run_single_user in this process


def _options():
    try:
        from locust import _state

        current = _state._State.env
    except Exception:
        current = None
    if current is not None and current.parsed_options is not None:
        return argparse.Namespace(**vars(current.parsed_options))
    from locust._mode import library_mode

    if library_mode():
        # Locust's run_single_user: the script's own command line, `LOCUST_*` variables and config files, with the
        # locustfile's options too
        return argument_parser.get_parser().parse_args()
    options = argparse.Namespace(**_BUILTIN_DEFAULTS)
    custom, _rest = argument_parser.locustfile_options_parser().parse_known_args([])
    for key, value in vars(custom).items():
        if not hasattr(options, key):
            setattr(options, key, value)
    return options


def run_single_user(user_class, include_length=False, include_time=False, include_context=False,
                    include_payload=False, loglevel: str | None = "WARNING"):
    """Run one `user_class` user in the current greenlet until it stops (e.g. by raising StopUser).

    Logging is set up at `loglevel` (WARNING by default, so log lines do not get in the way of the request
    lines; None leaves logging alone).
    """
    global _env

    if loglevel:
        locust.log.setup_logging(loglevel)

    if not _env:
        options = _options()
        # the locustfile that called us, for code that looks at its name
        caller = sys._getframe(1).f_code.co_filename
        locustfile = os.path.basename(caller)
        options.locustfile = locustfile
        _env = Environment(events=locust.events, locustfile=locustfile, host=options.host, parsed_options=options)
        PrintListener(_env, include_length=include_length, include_time=include_time,
                      include_context=include_context, include_payload=include_payload)
        _env.events.init.fire(environment=_env, runner=None, web_ui=None)
        if locust.log.unhandled_greenlet_exception:
            # an init listener failed (already logged)
            os._exit(1)

    _env.user_classes = [user_class]
    _env._filter_tasks_by_tags()
    _env.events.test_start.fire(environment=_env)
    if _env.host:
        user_class.host = _env.host

    user = user_class(_env)
    _env.single_user_instance = user
    user.run()
