"""The pytest plugin behind pytest-style locustfiles: the `session` and `fastsession` fixtures and `--host`/`-H`.

As in Locust 2.47 (its `pytest_locust.plugin`, registered as the pytest11 entry point `locust`): under a load test
each fixture is called with the user and yields a session that reports to the user's request event; in a plain
pytest run (no user) it reports nowhere and takes its base URL from `--host`.
"""
from __future__ import annotations

import pytest

_config = None


class NoOpEvent:
    """Stands in for the request event when a fixture runs outside a load test."""

    def fire(self, *, reverse=False, **kwargs):
        pass


def pytest_configure(config):
    # the fixtures are called directly by PytestUser (with the user as their only argument), not by pytest, so
    # the config they need is kept here
    global _config
    _config = config


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
