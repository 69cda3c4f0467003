"""The wheel's pytest plugin (the pytest11 entry point `rlocust`): pytest-style locustfiles as functional tests
under a plain `pytest`, on rlocust's engine, when Locust itself is not installed.

    pytest tests/ --host http://127.0.0.1:8000     # the `session` and `fastsession` fixtures, `--host`/`-H`

Who serves the fixtures:

- Locust installed (its own pytest11 entry point `pytest_locust.plugin` is registered): Locust's plugin, with real
  Locust's clients. This plugin does nothing, so the two never both define `--host` or the fixtures.
- under `rlocust-python -m pytest` (the launcher): the launcher's `pytest_locust.plugin`, on rlocust's engine.
  This plugin does nothing there either.
- otherwise (only rlocust installed): this plugin. The engine starts inside the pytest process the first time
  something needs it: a test using a fixture, or a test file or conftest importing `locust`. From then on
  `import locust` gives rlocust's `locust` in that process; before, and in a pytest run that never needs it,
  nothing is started and nothing is imported. Its import hook sits at the end of `sys.meta_path`, consulted only
  for names nobody else has, so it can never shadow an installed package.

`pytest -p no:rlocust` turns it off.
"""
from __future__ import annotations

import importlib.abc
import sys

import pytest

_ENGINE_NAMES = ("locust", "pytest_locust")


def _locust_plugin_installed() -> bool:
    try:
        from importlib.metadata import entry_points

        return any(ep.value.split(":")[0].strip() == "pytest_locust.plugin"
                   for ep in entry_points(group="pytest11"))
    except Exception:
        return False


# `_rlocust` is in sys.modules inside rlocust's own processes (`rlocust`, `rlocust-python`)
SERVING = "_rlocust" not in sys.modules and not _locust_plugin_installed()


def _activate():
    """Start the engine in this process (once) and serve rlocust's `locust`."""
    from rlocust import _rlocust

    _rlocust.activate_library()


class _EngineOnImport(importlib.abc.MetaPathFinder):
    """The last finder: `import locust` (which nothing installed provides) starts the engine, then the engine's
    importer answers."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in _ENGINE_NAMES:
            return None
        try:
            _activate()
        except RuntimeError as e:
            raise ImportError(f"rlocust could not start its engine for `import {fullname}`: {e}", name=fullname) from None
        for finder in sys.meta_path:
            if type(finder).__name__ == "_ShimFinder":
                return finder.find_spec(fullname, path, target)
        return None


if SERVING:
    # now, as pytest loads its plugins: before the conftests and test files that may `import locust`
    if not any(type(f).__name__ == "_EngineOnImport" for f in sys.meta_path):
        sys.meta_path.append(_EngineOnImport())
    _config = None

    def pytest_configure(config):
        global _config
        _config = config

    def pytest_addoption(parser):
        try:
            parser.addoption("--host", "-H", action="store", default=None)
        except ValueError as e:  # another plugin defines it already
            if "already added" not in str(e):
                raise

    def _base_url():
        return _config.getoption("--host") if _config is not None else None

    @pytest.fixture
    def session():
        """An HttpSession (requests' API) on rlocust's engine, its base URL from `--host`; reports nowhere."""
        from pytest_locust.plugin import NoOpEvent

        from locust.clients import HttpSession

        s = HttpSession(base_url=_base_url(), request_event=NoOpEvent(), user=None)
        yield s
        s.close()

    @pytest.fixture
    def fastsession():
        """A FastHttpSession (FastHttpUser's client) on rlocust's engine, its base URL from `--host`."""
        from pytest_locust.plugin import NoOpEvent

        from locust.contrib.fasthttp import FastHttpSession

        yield FastHttpSession(base_url=_base_url(), request_event=NoOpEvent(), user=None)
