"""Finding User and LoadTestShape classes in locustfiles (Locust's `locust.util.load_locustfile` API).

rlocust's own startup (`locust._main.load_locustfiles`) uses `is_user_class`, `is_shape_class` and
`load_locustfile_pytest`; `load_locustfile` is here for code that calls Locust's function directly.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
import sys


def is_user_class(item) -> bool:
    """A concrete (non-abstract) User subclass."""
    from locust.user.users import User

    return bool(inspect.isclass(item) and issubclass(item, User) and item.abstract is False)


def is_shape_class(item) -> bool:
    """A concrete LoadTestShape subclass."""
    from locust.shape import LoadTestShape

    return bool(inspect.isclass(item) and issubclass(item, LoadTestShape) and not getattr(item, "abstract", True))


def load_locustfile(path):
    """Import the locustfile at `path`; returns ({name: User class}, [LoadTestShape instances])."""
    directory, filename = os.path.split(os.path.abspath(path))
    name = os.path.splitext(filename)[0]
    if name == "locust":
        name = "locustfile"  # `import locust` must stay the library
    sys.path.insert(0, directory)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        if sys.path and sys.path[0] == directory:
            del sys.path[0]
    users = {key: value for key, value in vars(module).items() if is_user_class(value)}
    shapes = [value() for value in vars(module).values() if is_shape_class(value)]
    return users, shapes


def load_locustfile_pytest(path):
    """User classes made from the pytest test functions in `path` (used when no locustfile defines a User).

    pytest collects the file (with the `session`/`fastsession` fixtures of `pytest_locust.plugin`, and the
    fixtures of any conftest.py); each test function becomes a PytestUser subclass named after it, whose
    `functions` hold the collected items (tests of the same name, e.g. in different classes, share one user
    class). Every parameter of a test must name exactly one fixture, which PytestUser calls with the user.
    """
    import pytest
    from _pytest.config import Config

    from locust.user.users import PytestUser

    # -q/-s as Locust passes them; Locust's own plugin is replaced by rlocust's (both are named `locust`)
    args = ["-q", "-s", "-p", "no:locust", "-p", "pytest_locust.plugin", path]
    config = Config.fromdictargs({}, args)
    config._do_configure()
    session = pytest.Session.from_config(config)
    config.hook.pytest_sessionstart(session=session)
    session.perform_collect()
    config.hook.pytest_collection_modifyitems(session=session, config=config, items=session.items)
    fixtures = session._fixturemanager
    classes = {}
    for item in session.items:
        if not isinstance(item, pytest.Function):
            continue
        item.kwargs = {}
        for param in inspect.signature(item.obj).parameters:
            defs = fixtures.getfixturedefs(param, item)
            if not defs:
                raise ValueError(f"Could not find fixture for parameter {param!r} in {item.name}")
            if len(defs) > 1:
                raise ValueError(f"Multiple fixtures found for parameter {param!r} in {item.name}: {defs}")
            item.fixturedef = defs[0]
        cls = classes.get(item.name)
        if cls is None:
            cls = classes[item.name] = type(item.name, (PytestUser,), {"functions": []})
        cls.functions.append(item)
    return classes
