"""`locust.main`: the names of Locust's entry module that scripts, plugins, launchers and tests import.

rlocust's own startup is Rust (`rlocust -f ...`) with `locust._main`; here are Locust's `load_locustfile`,
`load_locustfile_pytest` and `create_environment` for code that loads locustfiles or builds an Environment the way
Locust's main does, and `main()`, Locust's whole command line run on rlocust's engine inside this interpreter.

Who calls `main()`: Taurus/bzt's Locust executor (its wrapper adds listeners to `events.request`, `events.quitting`,
..., then calls `main.main()` under a plain `python`), AWS's Distributed Load Testing (through bzt), and any script
that does the same. A plain `python` gets rlocust's `locust` only in an environment made to answer as Locust
(`python -m rlocust.as_locust`); there, listeners added before `main()` stay on the same `locust.events`, since the
run loads the locustfile into the `locust` package already imported. Not from inside a run: under
`rlocust`/`locust` (a locustfile calling it) or `rlocust-python` (a script driving the engine) it stops with one
line, as the engine is already started for that run.
"""

import sys

import locust
from locust.env import Environment
from locust.util.load_locustfile import is_shape_class, is_user_class, load_locustfile, load_locustfile_pytest

__all__ = ["create_environment", "is_shape_class", "is_user_class", "load_locustfile", "load_locustfile_pytest",
           "main", "version"]

version = locust.__version__


def create_environment(user_classes, options, events=None, shape_class=None, locustfile=None, parsed_locustfiles=None,
                       available_user_classes=None, available_shape_classes=None, available_user_tasks=None):
    """An Environment for `user_classes` configured from parsed options (`get_parser().parse_args()`): its host,
    `reset_stats` and profile, with the options as `parsed_options`."""
    return Environment(
        locustfile=locustfile,
        user_classes=user_classes,
        shape_class=shape_class,
        events=events,
        host=options.host,
        reset_stats=options.reset_stats,
        parsed_options=options,
        parsed_locustfiles=parsed_locustfiles,
        available_user_classes=available_user_classes,
        available_shape_classes=available_shape_classes,
        available_user_tasks=available_user_tasks,
        profile=getattr(options, "profile", None),
    )


def main():
    """Run `sys.argv[1:]` as Locust's command line would, on rlocust's engine; `SystemExit` with the exit code."""
    import _rlocust

    try:
        _rlocust.runner_state()
        running = True
    except RuntimeError:  # no engine in this process yet: the normal case
        running = False
    if running or _rlocust.library_mode():
        sys.stderr.write("rlocust: locust.main.main() starts a whole run; this process is already running one "
                         "(call it from a plain `python` of an environment made to answer as Locust: "
                         "python -m rlocust.as_locust)\n")
        sys.exit(1)
    sys.exit(_rlocust.run(sys.argv[1:]))
