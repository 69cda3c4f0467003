"""The pytest plugin behind pytest-style locustfiles: the `session` and `fastsession` fixtures and `--host`/`-H`.

As in Locust 2.47 (its `pytest_locust.plugin`, registered as the pytest11 entry point `locust`): under a load test
each fixture is called with the user and yields a session that reports to the user's request event; in a plain
pytest run (no user) it reports nowhere and takes its base URL from `--host`. Served by rlocust only inside
`rlocust` and `rlocust-python` runs (there it is also what Locust's entry point loads): `rlocust-python -m pytest`
runs a suite's fixtures on rlocust's engine.
"""
from __future__ import annotations

import pytest

_config = None


class NoOpEvent:
    """Stands in for the request event when a fixture runs outside a load test."""

    _handlers = ()  # no listeners (rlocust's clients look)
    _added = 0  # and none added since a request went out

    def fire(self, *, reverse=False, **kwargs):
        pass


def pytest_configure(config):
    # the fixtures are called directly by PytestUser (with the user as their only argument), not by pytest, so
    # the config they need is kept here
    global _config
    _config = config
    import os

    # `rlocust-python -m pytest` named this plugin in PYTEST_PLUGINS (no Locust installed to register it): pytest
    # has read it now, and a subprocess's pytest must not inherit it
    if os.environ.pop("_RLOCUST_ADDED_PYTEST_PLUGIN", None):
        names = [n for n in os.environ.get("PYTEST_PLUGINS", "").split(",")
                 if n.strip() and n.strip() != "pytest_locust.plugin"]
        if names:
            os.environ["PYTEST_PLUGINS"] = ",".join(names)
        else:
            os.environ.pop("PYTEST_PLUGINS", None)


def _base_url(user):
    if user is not None:
        return user.host
    return _config.getoption("--host") if _config is not None else None


@pytest.fixture
def session(user=None):
    from locust.clients import HttpSession

    s = HttpSession(
        base_url=_base_url(user),
        request_event=user.environment.events.request if user is not None else NoOpEvent(),
        user=user,
    )
    yield s
    s.close()


@pytest.fixture
def fastsession(user=None):
    from locust.contrib.fasthttp import FastHttpSession

    yield FastHttpSession(
        base_url=_base_url(user),
        request_event=user.environment.events.request if user is not None else NoOpEvent(),
        user=user,
    )


def pytest_addoption(parser):
    try:
        parser.addoption("--host", "-H", action="store", default=None)
    except ValueError as e:  # another plugin defines it already
        if "already added" not in str(e):
            raise
