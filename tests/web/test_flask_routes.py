"""Locustfile extensions of the web UI (issue 9 item 4): `environment.web_ui` in web mode, its Flask app's routes
and Blueprints answered through the Rust server (method, path, query, body, headers, status), Flask's 404 for an
unknown path once the app exists, the Rust 404 without Python when it does not, `--web-base-path` (Locust serves
the app's routes at the root), basic auth and the cross-site check in front of them, `web_ui` None headless, the
error without Flask, and Locust's own example (examples/extend_web_ui.py, from Locust's sources: tests/support/upstream.py).

The same requests also go to real Locust 2.47 (LOCUST_BIN) and must get the same statuses and bodies.
Loopback only; every process and request bounded in time. Needs Flask in the Python rlocust embeds
(requirements-test.txt)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from test_api import REPO, _binary, _free_port, _release, stop_process

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "flask_locustfile.py"
TIMEOUT = 10
NOT_FOUND = ("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested "
             "URL was not found on the server. If you entered the URL manually please check your spelling and try "
             "again.</p>\n")
sys.path.insert(0, str(HERE.parent))
from support.upstream import locust_file  # noqa: E402


@pytest.fixture(scope="module")
def rlocust():
    return _binary("RLOCUST_BIN", _release("rlocust"))


@pytest.fixture(scope="module")
def locust():
    return _binary("LOCUST_BIN", str(REPO / ".venv-oracle" / "bin" / "locust"))


class Run:
    """One rlocust (or Locust) process on a free loopback port, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, binary, locustfile, tmp_path, args=(), env_extra=None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.report = tmp_path / "webui.json"
        self.stderr = tmp_path / "stderr.txt"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_WEB"))}
        env["WEBUI_REPORT"] = str(self.report)
        env.update(env_extra or {})
        self.err = open(self.stderr, "wb")
        self.proc = subprocess.Popen(
            [binary, "-f", str(locustfile), "--web-host", "127.0.0.1", "--web-port", str(self.port), *args],
            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err, env=env,
            start_new_session=True)

    def wait_up(self, path="/worker-count", **kw):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                return requests.get(self.url + path, timeout=1, **kw)
            except requests.RequestException:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.2)
        raise AssertionError("the web UI did not come up:\n" + self.stderr.read_text())

    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=TIMEOUT, allow_redirects=False, **kw)

    def request(self, method, path, **kw):
        return requests.request(method, self.url + path, timeout=TIMEOUT, allow_redirects=False, **kw)

    def stop(self):
        return stop_process(self.proc, self.err)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def test_routes_and_blueprint_reach_flask(rlocust, tmp_path):
    with Run(rlocust, LOCUSTFILE, tmp_path) as run:
        run.wait_up()
        report = json.loads(run.report.read_text())
        assert report == {"web_ui_is_none": False, "same": True, "host": "127.0.0.1", "port": run.port,
                          "web_login": False, "greenlet": None, "locustfile": "flask_locustfile.py",
                          "app_type": "Flask"}
        r = run.get("/hello")
        assert (r.status_code, r.text, r.headers["Content-Type"]) == (200, "hello from flask",
                                                                      "text/html; charset=utf-8")
        # (Locust's flask-cors sends `*`; rlocust only for --web-cors-origins: docs/web.md)
        assert "Access-Control-Allow-Origin" not in r.headers and r.headers["X-Frame-Options"] == "DENY"
        r = run.get("/bp/echo?a=1&b=%20x", headers={"X-Test": "t1"})
        assert r.status_code == 201 and r.headers["X-Custom"] == "custom value"
        assert r.headers["Content-Type"] == "application/json"
        doc = r.json()
        assert doc == {"method": "GET", "path": "/bp/echo", "query": "a=1&b=%20x", "args": {"a": "1", "b": " x"},
                       "body": "", "content_type": None, "x_test": "t1", "remote_addr": "127.0.0.1",
                       "scheme": "http"}
        r = run.request("POST", "/bp/echo?q=%C3%A9", data=b'{"k": [1, 2]}',
                        headers={"Content-Type": "application/json", "X-Test": "t2"})
        assert r.status_code == 201
        doc = r.json()
        assert (doc["method"], doc["path"], doc["query"], doc["args"]) == ("POST", "/bp/echo", "q=%C3%A9",
                                                                           {"q": "é"})
        assert (doc["body"], doc["content_type"], doc["x_test"]) == ('{"k": [1, 2]}', "application/json", "t2")
        r = run.request("PUT", "/bp/echo", data="x" * 100_000)
        assert r.status_code == 201 and r.json()["body"] == "x" * 100_000
        r = run.request("HEAD", "/hello")
        assert r.status_code == 200 and r.headers["Content-Length"] == str(len("hello from flask"))
        # Flask's own answers: 404 for an unknown path, 405 for a method the route does not take, 500 on error
        r = run.get("/nothere")
        assert (r.status_code, r.text) == (404, NOT_FOUND)
        r = run.request("DELETE", "/bp/echo")
        assert r.status_code == 405 and "GET" in r.headers["Allow"]
        r = run.get("/bp/boom")
        assert (r.status_code, r.text) == (500, "Internal Server Error")
        # the Rust server's own routes are unchanged
        r = run.get("/stats/requests")
        assert r.status_code == 200 and r.json()["state"] == "ready"
        assert run.get("/login").status_code == 302
    log = run.stderr.read_text()
    assert "ERROR/locust.web: Error in the locustfile's web route for GET /bp/boom" in log
    assert "ValueError: intentional error in a web route" in log


def test_base_path_basic_auth_and_cross_site(rlocust, tmp_path):
    auth = ("u", "p")
    with Run(rlocust, LOCUSTFILE, tmp_path, ["--web-base-path", "/x", "--basic-auth", "u:p"]) as run:
        run.wait_up("/x/worker-count")
        r = run.get("/hello")
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
        assert run.get("/hello", auth=("u", "wrong")).status_code == 401
        assert run.request("POST", "/bp/echo", data="a").status_code == 401
        # as in Locust, routes added to the app answer at the root, outside the base path
        r = run.get("/hello", auth=auth)
        assert (r.status_code, r.text) == (200, "hello from flask")
        assert run.get("/x/hello", auth=auth).status_code == 404
        r = run.get("/x/under", auth=auth)
        assert (r.status_code, r.text) == (200, "under the base path")
        r = run.request("POST", "/bp/echo?z=9", data="payload", auth=auth)
        assert r.status_code == 201 and (r.json()["query"], r.json()["body"]) == ("z=9", "payload")
        # the base path's own routes, and its 308, are still the Rust server's
        assert run.get("/x/stats/requests", auth=auth).json()["state"] == "ready"
        r = run.get("/x", auth=auth)
        assert (r.status_code, r.headers["Location"]) == (308, run.url + "/x/")
        # a browser's cross-site POST is refused before Flask sees it; a same-origin one passes
        r = run.request("POST", "/bp/echo", data="a", auth=auth,
                        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403
        r = run.request("POST", "/bp/echo", data="a", auth=auth,
                        headers={"Origin": run.url, "Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 201
    assert "Refused a cross-site POST /bp/echo" in run.stderr.read_text()


def test_same_answers_as_locust(rlocust, locust, tmp_path):
    """Statuses, content types, custom headers and bodies of the same requests against both."""

    def answers(binary, where):
        where.mkdir()
        with Run(binary, LOCUSTFILE, where, ["--web-base-path", "/x"]) as run:
            run.wait_up("/x/worker-count")
            out = []
            for method, path, body in [("GET", "/hello", None), ("GET", "/bp/echo?a=1&b=%20x", None),
                                       ("POST", "/bp/echo?q=2", "k=v"), ("GET", "/nothere", None),
                                       ("GET", "/x/hello", None), ("GET", "/x/under", None),
                                       ("DELETE", "/bp/echo", None), ("GET", "/bp/boom", None)]:
                r = run.request(method, path, data=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"} if body else {})
                allow = sorted(r.headers.get("Allow", "").split(", "))  # a set's order in Flask
                out.append((method, path, r.status_code, r.headers.get("Content-Type"),
                            r.headers.get("X-Custom"), allow, r.text))
            return out

    assert answers(rlocust, tmp_path / "rlocust") == answers(locust, tmp_path / "locust")


def test_headless_has_no_web_ui(rlocust, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_WEB"))}
    env["WEBUI_REPORT"] = str(tmp_path / "webui.json")
    proc = subprocess.run([rlocust, "-f", str(LOCUSTFILE), "--headless", "-u", "1", "-r", "1", "-t", "1"],
                          cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads((tmp_path / "webui.json").read_text()) == {"web_ui_is_none": True, "same": True}


NO_ROUTES = '''
import os
from locust import User, events, task
import locust._web


class Idle(User):
    @task
    def nothing(self):
        pass


def spy(*args):
    open(os.environ["WEBUI_REPORT"], "a").write("python was asked\\n")
    return real(*args)


real, locust._web.wsgi = locust._web.wsgi, spy


@events.init.add_listener
def check(environment, web_ui, **_kw):
    assert environment.web_ui is web_ui and bool(web_ui)  # looks at web_ui, never at its app
'''


def test_without_routes_the_rust_404_stays(rlocust, tmp_path):
    lf = tmp_path / "noroutes.py"
    lf.write_text(NO_ROUTES)
    with Run(rlocust, lf, tmp_path) as run:
        run.wait_up()
        r = run.get("/nothere")
        assert (r.status_code, r.text) == (404, NOT_FOUND)
        assert run.request("POST", "/hello", data="x").status_code == 404
    assert not run.report.exists(), "Python was asked for a path although no route was added"


NO_FLASK = '''
import os, sys
sys.modules["flask"] = None  # as if Flask were not installed
from locust import User, events, task


class Idle(User):
    @task
    def nothing(self):
        pass


@events.init.add_listener
def check(environment, **_kw):
    with open(os.environ["WEBUI_REPORT"], "w") as f:
        f.write(f"truthy={bool(environment.web_ui)}\\n")
        try:
            environment.web_ui.app.route("/hello")
        except ModuleNotFoundError as e:
            f.write(f"{type(e).__name__}: {e}\\n")
'''


def test_without_flask_app_says_to_install_it(rlocust, tmp_path):
    lf = tmp_path / "noflask.py"
    lf.write_text(NO_FLASK)
    with Run(rlocust, lf, tmp_path) as run:
        run.wait_up()
        assert run.get("/nothere").status_code == 404
    assert run.report.read_text() == (
        "truthy=True\nModuleNotFoundError: environment.web_ui.app needs Flask, which is not installed in the "
        "Python rlocust runs (pip install flask)\n")


INDEX_TEMPLATE = "<html><body>{{ template_args['extended_tabs'][0]['title'] }} {{ template_args['locustfile'] }}" \
                 "</body></html>\n"


def test_locusts_extend_web_ui_example(rlocust, tmp_path):
    """examples/extend_web_ui.py of Locust, unchanged: its Blueprint's CSV download and its templated page (its
    `after_request` on /stats/requests does not apply: that route is the Rust server's)."""
    source = locust_file("examples/extend_web_ui.py").read_bytes()
    (tmp_path / "extend_web_ui.py").write_bytes(source)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "index.html").write_text(INDEX_TEMPLATE)
    with Run(rlocust, tmp_path / "extend_web_ui.py", tmp_path) as run:
        run.wait_up()
        r = run.get("/content-length/csv")
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv"
        assert r.headers["Content-Disposition"].startswith("attachment;filename=content_length")
        assert r.text == '"Name","Total content-length"'
        r = run.get("/extend")
        assert (r.status_code, r.text.strip()) == (200, "<html><body>Content Length extend_web_ui.py</body></html>")
        assert run.get("/stats/requests").json()["state"] == "ready"
