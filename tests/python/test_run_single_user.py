"""`locust.debug.run_single_user` (reference §1.18): in-process checks of the shim, and the same locustfile under
Locust 2.47.0 and rlocust (LOCUST_BIN / RLOCUST_BIN as in test_task_ratio_oracle.py) against a loopback HTTP
server, comparing stdout with the response times blanked."""

import http.server
import os
import re
import subprocess
import threading

import pytest
from test_task_ratio_oracle import LOCUST, RLOCUST

import locust
import locust.debug
from locust import User, events, run_single_user, task
from locust.exception import CatchResponseError, StopUser


@pytest.fixture
def fresh_debug_env(monkeypatch):
    """run_single_user keeps one Environment per process; start each test without it and without listeners
    it added."""
    monkeypatch.setattr(locust.debug, "_env", None)
    saved = {name: list(getattr(events, name)._handlers) for name in ("init", "test_start", "request")}
    yield
    for name, handlers in saved.items():
        getattr(events, name)._handlers[:] = handlers


def test_exports():
    assert locust.run_single_user is locust.debug.run_single_user
    assert "run_single_user" in locust.__all__


def test_runs_one_user_in_this_greenlet_and_prints_requests(fresh_debug_env, capsys):
    seen = []

    @events.init.add_listener
    def on_init(environment, runner, web_ui, **_kw):
        seen.append(("init", runner, web_ui, environment.parsed_options.host))

    @events.test_start.add_listener
    def on_start(environment, **_kw):
        seen.append(("test_start", [c.__name__ for c in environment.user_classes]))

    class Debugged(User):
        host = "http://example.invalid"

        def on_start(self):
            self.n = 0

        def wait_time(self):
            return 0

        @task
        def work(self):
            self.n += 1
            fire = self.environment.events.request.fire
            fire(request_type="GET", name="/ok", response_time=12.4, response_length=5, exception=None,
                 context={"k": 1}, response=None)
            fire(request_type="POST", name="/bad", response_time=None, response_length=0,
                 exception=ValueError("line1\nline2"), context={}, response=None)
            fire(request_type="GET", name="/caught", response_time=2.5, response_length=0,
                 exception=CatchResponseError("plain text"), context={}, response=None)
            if self.n >= 2:
                raise StopUser()

    run_single_user(Debugged, include_length=True, include_context=True, loglevel=None)

    env = locust.debug._env
    assert isinstance(env.single_user_instance, Debugged)
    assert env.single_user_instance.n == 2
    assert env.runner is None
    assert env.locustfile == os.path.basename(__file__)
    assert seen == [("init", None, None, None), ("test_start", ["Debugged"])]
    out = capsys.readouterr().out
    header = "\ntype\t" + "name".ljust(50) + "\tresp_ms\tlength\texception\tcontext\t\t\n"
    assert out.startswith(header)
    ok = "GET\t" + "/ok".ljust(30).ljust(50) + "\t" + "12".ljust(7) + "\t5\t" + "".ljust(9) + "\t{'k': 1}\t\n"
    bad = ("POST\t" + "/bad".ljust(30).ljust(50) + "\t" + "-1".ljust(7) + "\t0\tValueError('line1\\nline2')\t\t\n")
    caught = "GET\t" + "/caught".ljust(30).ljust(50) + "\t" + "2".ljust(7) + "\t0\tplain text\t\t\n"
    assert out[len(header):] == (ok + bad + caught) * 2


def test_second_call_reuses_the_environment(fresh_debug_env, capsys):
    inits = []
    events.init.add_listener(lambda **kw: inits.append(kw["environment"]))

    class Once(User):
        wait_time = staticmethod(lambda: 0)

        @task
        def stop(self):
            raise StopUser()

    run_single_user(Once, loglevel=None)
    first = locust.debug._env
    run_single_user(Once, loglevel=None)
    assert locust.debug._env is first
    assert inits == [first]  # init fires once per process, test_start on every call
    assert capsys.readouterr().out.count("resp_ms") == 1


# ---- against Locust ---------------------------------------------------------------------------------------

LOCUSTFILE = '''
import os
import sys

from locust import HttpUser, constant, events, run_single_user, task
from locust.exception import StopUser


class Debugged(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.n = 0

    @task
    def work(self):
        self.n += 1
        self.client.get("/", name="home")
        self.client.get("/missing")
        with self.client.post("/form", data="x=1", catch_response=True) as r:
            r.failure("rejected")
        if self.n >= 2:
            raise StopUser()


@events.init.add_listener
def _init(environment, runner, **_kw):
    print("MARK init", runner is None, environment.parsed_options.host is not None)
    if runner is not None:
        run_single_user(Debugged, include_length=True)
        env = environment.__class__.__name__
        print("MARK done", env, type(sys.modules["locust.debug"]._env.single_user_instance).__name__)
        sys.stdout.flush()
        os._exit(0)


@events.test_start.add_listener
def _start(environment, **_kw):
    print("MARK test_start", environment.runner is None, environment.locustfile)
'''


class _Handler(http.server.BaseHTTPRequestHandler):
    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"hello\n" if self.path in ("/", "/form") else b"not here\n"
        self.send_response(200 if self.path in ("/", "/form") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_same_output_as_locust(server, tmp_path):
    if not (LOCUST and RLOCUST):
        pytest.fail("cannot compare with Locust: set LOCUST_BIN and RLOCUST_BIN", pytrace=False)
    path = tmp_path / "single_user.py"
    path.write_text(LOCUSTFILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    outputs = {}
    for name, cmd in (("locust", LOCUST), ("rlocust", RLOCUST)):
        wd = tmp_path / name
        wd.mkdir()
        proc = subprocess.run(cmd + ["-f", str(path), "--headless", "-u", "1", "-t", "5s", "-H", server], cwd=wd,
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=25)
        # the third column is the response time in ms: blank it
        text = re.sub(r"^(\w+\t[^\t]*\t)\d+ *\t", r"\1<ms>\t", proc.stdout.decode(), flags=re.M)
        outputs[name] = (proc.returncode, text, proc.stderr.decode()[-1500:])
    a, b = outputs["locust"], outputs["rlocust"]
    assert a[0] == 0 and "MARK done Environment Debugged" in a[1], a
    assert a[1].count("<ms>") == 6, a
    assert (b[0], b[1]) == (a[0], a[1]), f"--- locust:\n{a[1]}\n{a[2]}\n--- rlocust:\n{b[1]}\n{b[2]}"
