"""`locust.main`: the names of Locust's entry module that scripts, plugins and tests import.

rlocust's own startup is Rust (`rlocust -f ...`) with `locust._main`; here are Locust's `load_locustfile`,
`load_locustfile_pytest` and `create_environment` for code that loads locustfiles or builds an Environment the way
Locust's main does. `main()` (Locust's whole command-line program, run inside a script) is refused in one line.
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
    """Locust's command-line program inside a Python script (a wrapper's `main.main()`). rlocust's command line is
    its own program, so this says so in one line and exits 1: run `rlocust` with the same arguments (a wrapper's
    event listeners belong in the locustfile, or a module it imports)."""
    sys.stderr.write("locust.main.main() is not available in rlocust: run `rlocust` with the same arguments (event "
                     "listeners the wrapper adds go into the locustfile)\n")
    sys.exit(1)
