"""rlocust's ``locust`` compatibility package (same public names as Locust 2.47.0)."""

import os

# Set before the other imports: some locust modules read it while being imported.
from _rlocust import LOCUST_VERSION as __version__  # the Locust version rlocust follows (src/version.rs)

if os.getenv("LOCUST_PLAYWRIGHT", None):
    print(
        "LOCUST_PLAYWRIGHT setting is no longer needed (because locust-plugins no longer installs trio)"
    )
    print("Uninstall trio package and remove the setting.")
    try:
        import trio  # noqa: F401
    except ModuleNotFoundError:
        os._exit(1)

if not os.getenv("LOCUST_SKIP_MONKEY_PATCH", None):
    from gevent import monkey

    from ._monkey_once import patch_all_scanning_once

    patch_all_scanning_once(monkey)

    if not os.getenv("LOCUST_SKIP_URLLIB3_PATCH", None):
        # Locust imports urllib3 here to give its pools gevent's LifoQueue. rlocust's clients do not use urllib3, so
        # the same change is made when something imports it (requests, a locustfile): ~2 MB and 60 ms less for the
        # rest (issue 29).
        from . import _urllib3_patch

        _urllib3_patch.install()

# httpx's and httpx2's AsyncClient made inside a user's coroutine code sends on the engine (its streams timed at the
# wire), when the locustfile imports them
from . import _httpx  # noqa: E402

_httpx.install()

from .event import Events

# The one Events instance of the process; created before the other submodules are imported, since some of them
# (env, runners, debug) may read ``locust.events`` while being imported.
events = Events()

# -i/--iterations (locust-plugins' option, built in): its test_start listener, registered before any
# locustfile's, as the plugin's is.
from . import _iterations  # noqa: F401
from .contrib.fasthttp import FastHttpUser
from .debug import run_single_user
from .shape import LoadTestShape
from .user import wait_time
from .user.markov_taskset import MarkovTaskSet, transition, transitions
from .user.sequential_taskset import SequentialTaskSet
from .user.task import TaskSet, tag, task
from .user.users import HttpUser, User
from .user.wait_time import (
    between,
    constant,
    constant_pacing,
    constant_throughput,
    poisson,
)

__all__ = (
    "FastHttpUser",
    "HttpLocust",
    "HttpUser",
    "LoadTestShape",
    "Locust",
    "MarkovTaskSet",
    "SequentialTaskSet",
    "TaskSet",
    "User",
    "__version__",
    "between",
    "constant",
    "constant_pacing",
    "constant_throughput",
    "events",
    "poisson",
    "run_single_user",
    "tag",
    "task",
    "transition",
    "transitions",
    "wait_time",
)

# Pre-1.0 class names: subclassing them raises ImportError pointing at the new names.
from .user.users import DeprecatedHttpLocustClass as HttpLocust
from .user.users import DeprecatedLocustClass as Locust
