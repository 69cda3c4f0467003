"""`--web-login` side by side with real Locust 2.47 (issue 30): the same locustfile (tests/web/login_locustfile.py,
Flask-Login's user loader, a secret key, `auth_args` and its own login routes) under both, the same requests in
the same order, the same answers: the redirect to `/login?next=…` for every protected page and API route, the
login page's `authArgs` (with the session's error and info), the locustfile's routes behind
`auth_required_if_enabled`, Locust's "auth exception" text without a secret key, and the dashboard and API once
logged in (rlocust then runs a test from it). Also Locust's own examples/web_ui_auth/*.py (from Locust's sources,
tests/support/upstream.py), and the one line a locustfile gets when it imports a package Locust installs and rlocust does not.

Loopback only; every process and request bounded in time. Needs Flask and Flask-Login in the Python rlocust embeds
(requirements-test.txt)."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import requests
from test_api import target_url  # noqa: F401 (fixture)
from test_flask_routes import HERE, Run, locust, locust_file, rlocust  # noqa: F401 (fixtures)

LOGIN = HERE / "login_locustfile.py"
AUTH_ARGS = re.compile(r"window\.authArgs\s*=\s*(\{.*?\})\s*;?\s*</script>", re.S)


def auth_args(html: str) -> dict:
    m = AUTH_ARGS.search(html)
    assert m, html[:500]
    return json.loads(m.group(1))


def journey(run: Run) -> list:
    """The requests a browser makes around a login, and what each got (status, Location, and what matters of the
    body), with one cookie jar."""
    s = requests.Session()
    out = []

    def note(what, r, body=None):
        out.append((what, r.status_code, r.headers.get("Location"), body))
        return r

    def get(path):
        return s.get(run.url + path, timeout=10, allow_redirects=False)

    def post(path, **kw):
        return s.post(run.url + path, timeout=10, allow_redirects=False, **kw)

    for path in ("/", "/stats/requests", "/logs", "/tasks", "/stats/report", "/whoami"):
        note(f"GET {path}", get(path))
    note("POST /swarm", post("/swarm", data={"user_count": "1", "spawn_rate": "1"}))
    note("POST /stop", post("/stop"))
    r = get("/login")
    note("GET /login", r, auth_args(r.text))
    note("wrong password", post("/login_check", data={"username": "alice", "password": "no"}))
    r = get("/login")
    note("GET /login after it", r, auth_args(r.text))
    note("provider link", get("/login/sso"))
    r = get("/login")
    note("GET /login after the provider", r, auth_args(r.text))
    note("right password", post("/login_check", data={"username": "alice", "password": "wonderland"}))
    r = note("GET / logged in", get("/"))
    assert "window.templateArgs" in r.text
    r = get("/stats/requests")
    note("GET /stats/requests logged in", r, sorted(r.json()))
    r = get("/whoami")
    note("GET /whoami logged in", r, r.text)
    r = get("/login")
    note("GET /login logged in", r, auth_args(r.text))
    return out


def test_login_side_by_side(rlocust, locust, target_url, tmp_path):  # noqa: F811
    seen = {}
    for name, binary in (("locust", locust), ("rlocust", rlocust)):
        (tmp_path / name).mkdir()
        with Run(binary, LOGIN, tmp_path / name, args=("--web-login", "-H", target_url)) as run:
            run.wait_up("/login")
            seen[name] = journey(run)
            if name == "rlocust":
                # logged in, the dashboard drives a test
                s = requests.Session()
                s.post(run.url + "/login_check", data={"username": "alice", "password": "wonderland"}, timeout=10)
                r = s.post(run.url + "/swarm", data={"user_count": "2", "spawn_rate": "2"}, timeout=10)
                assert r.json()["success"] is True
                deadline = time.monotonic() + 15
                while s.get(run.url + "/stats/requests", timeout=10).json()["user_count"] != 2:
                    assert time.monotonic() < deadline, "the test did not start"
                    time.sleep(0.5)
                s.post(run.url + "/stop", timeout=10)
                # the assets and the login page's script need no login
                for asset in ("/assets/index.js", "/assets/index.css", "/assets/auth.js"):
                    assert requests.get(run.url + asset, timeout=10).status_code == 200, asset
    for want, got in zip(seen["locust"], seen["rlocust"], strict=True):
        assert got == want, f"\nLocust:  {want}\nrlocust: {got}"
    first = seen["rlocust"][0]
    assert first[1:3] == (302, "/login?next=%2F")


def test_without_secret_key_the_auth_exception_text(rlocust, locust, tmp_path):  # noqa: F811
    bodies = {}
    for name, binary in (("locust", locust), ("rlocust", rlocust)):
        (tmp_path / name).mkdir()
        with Run(binary, LOGIN, tmp_path / name, args=("--web-login",),
                 env_extra={"LOGIN_TEST_SECRET": ""}) as run:
            run.wait_up("/login")
            r = run.get("/stats/requests")
            bodies[name] = (r.status_code, r.text)
    assert bodies["rlocust"] == bodies["locust"]
    assert bodies["rlocust"][0] == 200 and bodies["rlocust"][1].startswith("Locust auth exception: ")


@pytest.mark.parametrize("example", ["basic", "custom_form"])
def test_locust_login_examples(rlocust, locust, tmp_path, example):  # noqa: F811
    source = locust_file(f"examples/web_ui_auth/{example}.py").read_bytes()
    (tmp_path / f"{example}.py").write_bytes(source)
    form = {"username": "someone@example.com", "password": "x", "confirm_password": "x", "is_admin": "on",
            "user_group": "developer"}
    seen = {}
    for name, binary in (("locust", locust), ("rlocust", rlocust)):
        (tmp_path / name).mkdir()
        with Run(binary, tmp_path / f"{example}.py", tmp_path / name, args=("--web-login",),
                 env_extra={"FLASK_SECRET_KEY": "only-for-tests"}) as run:
            run.wait_up("/login")
            s = requests.Session()
            steps = []
            r = s.get(run.url + "/", timeout=10, allow_redirects=False)
            steps.append((r.status_code, r.headers.get("Location")))
            r = s.get(run.url + "/login", timeout=10)
            steps.append((r.status_code, auth_args(r.text)))
            r = s.post(run.url + "/login_submit", data=form, timeout=10, allow_redirects=False)
            steps.append((r.status_code, r.headers.get("Location")))
            r = s.get(run.url + "/stats/requests", timeout=10, allow_redirects=False)
            steps.append((r.status_code, r.headers.get("Content-Type")))
            seen[name] = steps
    assert seen["rlocust"] == seen["locust"]
    assert seen["rlocust"][2] == (302, "/") and seen["rlocust"][3][0] == 200


def test_login_manager_needs_web_login(rlocust, tmp_path):  # noqa: F811
    """Without --web-login, `web_ui.login_manager` is Locust's AttributeError (a locustfile guarding on it works)."""
    (tmp_path / "lf.py").write_text(
        "from locust import HttpUser, events, task\n"
        "class U(HttpUser):\n    @task\n    def t(self):\n        pass\n"
        "@events.init.add_listener\n"
        "def _(environment, **_kw):\n"
        "    try:\n        environment.web_ui.login_manager\n"
        "    except AttributeError as e:\n        print('no login manager:', str(e).strip())\n")
    with Run(rlocust, tmp_path / "lf.py", tmp_path) as run:
        run.wait_up()
    assert "no login manager: The login_manager is only available with --web-login." in run.stderr.read_text()


def test_a_locust_dependency_rlocust_lacks_is_one_line(rlocust, tmp_path):  # noqa: F811
    (tmp_path / "lf.py").write_text("import socketio  # Locust installs python-socketio\n"
                                    "from locust import HttpUser\nclass U(HttpUser):\n    pass\n")
    proc = subprocess.run([rlocust, "-f", "lf.py", "--headless", "-t", "1"], cwd=tmp_path, capture_output=True,
                          timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1, err
    assert "lf.py imports socketio, which Locust installs with itself and rlocust does not" in err
    assert "pip install python-socketio[client]" in err
