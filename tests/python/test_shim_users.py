"""HttpUser construction and RestMixin (reference §1.3, §1.6)."""

# ruff: noqa: RUF012
# (class-level ``tasks`` lists, exactly as locustfiles write them)

import json
import re

import pytest

import locust.clients
from locust import HttpUser, User, task
from locust.exception import StopTest
from locust.user.users import RestMixin

HOST_MESSAGE = (
    "You must specify the base host. Either in the host attribute in the User class, "
    "or on the command line using the --host option."
)


class RecordingSession:
    created = []

    def __init__(
        self, base_url, request_event, user, *args, pool_manager=None, **kwargs
    ):
        self.init = {
            "base_url": base_url,
            "request_event": request_event,
            "user": user,
            "pool_manager": pool_manager,
        }
        self.extra = (args, kwargs)
        RecordingSession.created.append(self)


@pytest.fixture
def fake_session(monkeypatch):
    RecordingSession.created = []
    monkeypatch.setattr(locust.clients, "HttpSession", RecordingSession)
    return RecordingSession


def test_http_user_without_host_stops_the_test(env, fake_session):
    class U(HttpUser):
        @task
        def t(self):
            pass

    with pytest.raises(StopTest) as info:
        U(env)
    assert str(info.value) == HOST_MESSAGE
    assert fake_session.created == []


def test_http_user_builds_its_session(env, fake_session):
    shared_pool = object()

    class U(HttpUser):
        host = "http://127.0.0.1:8089"
        pool_manager = shared_pool

    user = U(env)
    [session] = fake_session.created
    assert user.client is session
    assert session.init == {
        "base_url": "http://127.0.0.1:8089",
        "request_event": env.events.request,
        "user": user,
        "pool_manager": shared_pool,
    }
    assert session.extra == ((), {})
    assert session.trust_env is False
    assert user.environment is env and user._state is None
    assert (
        HttpUser.pool_manager is None
        and HttpUser.abstract is True
        and U.abstract is False
    )


def test_http_user_class_shape():
    assert issubclass(HttpUser, User) and issubclass(HttpUser, RestMixin)
    assert HttpUser.__mro__.index(User) < HttpUser.__mro__.index(RestMixin)
    assert callable(HttpUser.rest) and callable(HttpUser.rest_)
    from locust.contrib.fasthttp import FastHttpUser

    assert issubclass(FastHttpUser, User)


# --- RestMixin with a fake client ---


class FakeResponse:
    def __init__(self, content, status_code=200, error=None):
        self.content = content
        self.text = content.decode() if content is not None else None
        self.status_code = status_code
        self.error = error
        self.outcome = None
        self.exit_exc = "not exited"

    def json(self):
        return json.loads(self.text)

    def success(self):
        self.outcome = "success"

    def failure(self, exc):
        self.outcome = ("failure", exc)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.exit_exc = exc_type
        return exc is None


class FakeClient:
    def __init__(self, response):
        self.response = response
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        return self.response


class RestUser(User, RestMixin):
    abstract = True

    def __init__(self, response):
        self.client = FakeClient(response)


def test_rest_defaults_headers_and_parses_json():
    user = RestUser(FakeResponse(b'{"a": 1}'))
    with user.rest("POST", "/items", json={"x": 1}) as resp:
        assert resp.js == {"a": 1}
    [(method, url, kwargs)] = user.client.calls
    assert (method, url) == ("POST", "/items")
    assert kwargs == {
        "catch_response": True,
        "headers": {"Content-Type": "application/json", "Accept": "application/json"},
        "json": {"x": 1},
    }
    assert resp.outcome is None and resp.exit_exc is None


def test_rest_keeps_given_headers_in_either_case():
    user = RestUser(FakeResponse(b""))
    given = {"content-type": "text/plain", "Accept": "text/html"}
    with user.rest("GET", "/x", headers=given) as resp:
        assert resp.js is None  # empty body: nothing to parse
    assert user.client.calls[0][2]["headers"] == {
        "content-type": "text/plain",
        "Accept": "text/html",
    }
    assert user.client.calls[0][2]["headers"] is not given


def test_rest_bad_json_and_connection_error():
    user = RestUser(FakeResponse(b"not json", status_code=500))
    with user.rest("GET", "/x") as resp:
        assert resp.js is None
    assert resp.outcome == (
        "failure",
        "Could not parse response as JSON. not json, response code 500, error Expecting value: line 1 column 1 (char 0)",
    )

    user = RestUser(
        FakeResponse(
            None, status_code=0, error=ConnectionRefusedError(111, "Connection refused")
        )
    )
    with user.rest("GET", "/x") as resp:
        pass
    assert resp.outcome == ("failure", "[Errno 111] Connection refused")


def test_rest_assertions_become_failures():
    cases = [
        (
            lambda r: _assert(r.js["a"] == 2, "wrong a,"),
            'wrong a, response was {"a": 1}',
        ),
        (lambda r: _assert(r.js["a"] == 2, "plain message"), "plain message"),
        (lambda r: _assert(False), "Assertion failed"),
    ]
    for body, expected in cases:
        user = RestUser(FakeResponse(b'{"a": 1}'))
        with user.rest("GET", "/x") as resp:
            body(resp)
        assert resp.outcome == ("failure", expected)
        assert resp.exit_exc is None  # swallowed inside rest()


def _assert(cond, *msg):
    if not cond:
        raise AssertionError(*msg)


def test_rest_other_exceptions_become_failures_with_location():
    user = RestUser(FakeResponse(b'{"a": 1}'))
    with user.rest("GET", "/x") as resp:
        resp.js["missing"]
    kind, message = resp.outcome
    assert kind == "failure"
    assert re.fullmatch(
        r"KeyError: 'missing' at .*users\.py:\d+ in rest, .*test_shim_users\.py:\d+ in "
        r"test_rest_other_exceptions_become_failures_with_location\. Response was \{\"a\": 1\}",
        message,
    ), message


def test_rest_home_directory_shortened():
    pattern = RestMixin._callstack_regex
    m = pattern.match('  File "/home/alice/proj/locustfile.py", line 12, in my_task')
    assert m and m.group(1) == "/home/alice/proj/locustfile.py" and m.group(2) == "12"


def test_rest_underscore_adds_timestamp_and_name():
    user = RestUser(FakeResponse(b"{}"))
    with user.rest_("GET", "/y?q=1"):
        pass
    with user.rest_("GET", "/y", name="explicit"):
        pass
    (_, url1, kw1), (_, url2, kw2) = user.client.calls
    assert re.fullmatch(r"/y\?q=1&_=\d{13}", url1) and kw1["name"] == "/y?q=1&_=..."
    assert re.fullmatch(r"/y\?_=\d{13}", url2) and kw2["name"] == "explicit"


def test_pytest_user_runs_functions_with_fixtures(env, caplog):
    import logging

    from locust.exception import CatchResponseError
    from locust.user.users import PytestUser

    calls = []

    class Stop(Exception):
        pass

    class FixtureDef:
        @staticmethod
        def func(user):
            yield ("session-for", user)

    class Function:
        fixturedef = FixtureDef()

        @staticmethod
        def obj(session):
            calls.append(session)
            if len(calls) == 1:
                raise CatchResponseError("soft failure")  # swallowed, loop continues
            raise Stop()

    class U(PytestUser):
        functions = [Function()]

    user = U(env)
    with caplog.at_level(logging.DEBUG), pytest.raises(Stop):
        user.run()
    assert calls == [("session-for", user)] * 2
    assert user._state == "running" and PytestUser.abstract is True
    assert any(
        r.name == "locust.user.users" and r.getMessage().startswith("soft failure\n")
        for r in caplog.records
    )
