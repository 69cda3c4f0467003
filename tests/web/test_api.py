"""The web API side by side: the same request sequence against real Locust 2.47 and rlocust (both in web UI mode
on 127.0.0.1, a free port each, aimed at the rlocust-target loopback server), comparing what a script that drives
Locust's API sees: status codes, content types, JSON keys and value types (whole documents where they are
deterministic), CSV header lines and download names, 404/405 answers, and the exit after SIGTERM.

Binaries: LOCUST_BIN (real Locust), RLOCUST_BIN, RLOCUST_TARGET_BIN; by default the repository's .venv-oracle and
target/release (or $CARGO_TARGET_DIR/release). Every process and request is bounded in time.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "webapi_locustfile.py"
TIMEOUT = 10  # seconds per HTTP request


def _release(name: str) -> str:
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return str(Path(target) / "release" / name)


def _binary(env_var: str, default: str) -> str:
    path = os.environ.get(env_var) or default
    if not Path(path).is_file():
        pytest.fail(f"{env_var}: {path} not found: build with `make build` first")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def target_url():
    binary = _binary("RLOCUST_TARGET_BIN", _release("rlocust-target"))
    proc = subprocess.Popen([binary, "--port", "0", "--max-seconds", "600"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    if not m:
        proc.kill()
        pytest.fail(f"rlocust-target did not report its address: {line!r}")
    yield m.group(1)
    proc.kill()
    proc.wait(timeout=10)


def shape(v):
    """Keys and value kinds of a JSON document (numbers are one kind: Locust's types vary between int and float)."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        kinds = []
        for x in v:
            s = shape(x)
            if s not in kinds:
                kinds.append(s)
        return kinds
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return type(v).__name__


def content_type(r) -> str:
    return r.headers.get("Content-Type", "")


def stop_process(proc: subprocess.Popen, stderr) -> int | None:
    """SIGTERM (then, after 30 s, SIGKILL to its process group), close its stderr file; its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    stderr.close()
    return proc.returncode


class Server:
    def __init__(self, tool: str, binary: str, target: str, workdir: Path, extra: tuple[str, ...] = (),
                 locustfile: Path = LOCUSTFILE):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.stderr = open(workdir / "stderr.txt", "wb")
        cmd = [binary, "-f", str(locustfile), "--web-host", "127.0.0.1", "--web-port", str(self.port), "-H", target,
               "--csv", str(workdir / "r"), "--csv-full-history", "-u", "3", "-r", "1", *extra]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        self.proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, env=env, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.base + "/worker-count", timeout=1)
                return
            except requests.RequestException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{tool} web UI did not come up: {self.log()[-2000:]}")
                time.sleep(0.2)

    def get(self, path, **kw):
        return requests.get(self.base + path, timeout=TIMEOUT, allow_redirects=False, **kw)

    def post(self, path, **kw):
        return requests.post(self.base + path, timeout=TIMEOUT, allow_redirects=False, **kw)

    def log(self) -> str:
        return (self.workdir / "stderr.txt").read_text(errors="replace")

    def stop(self) -> int | None:
        return stop_process(self.proc, self.stderr)


def wait_stats(srv: Server, until, limit: float = 30) -> dict:
    deadline = time.monotonic() + limit
    while True:
        doc = srv.get("/stats/requests").json()
        if until(doc) or time.monotonic() > deadline:
            return doc
        time.sleep(0.5)


def transcript(srv: Server) -> dict:
    """The request sequence; returns what is compared between the tools."""
    t = {}

    r = srv.get("/stats/requests")
    t["ready stats"] = (r.status_code, content_type(r), r.text)
    r = srv.get("/worker-count")
    t["worker-count"] = (r.status_code, content_type(r), r.text)
    r = srv.get("/tasks")
    t["ready tasks"] = (r.status_code, r.json())

    for name, form in [
        ("swarm bad user_count", {"user_count": "abc", "spawn_rate": "1"}),
        ("swarm bad spawn_rate", {"user_count": "1", "spawn_rate": "fast"}),
        ("swarm zero rate", {"user_count": "1", "spawn_rate": "0"}),
        ("swarm negative users", {"user_count": "-1", "spawn_rate": "1"}),
        ("swarm missing", {"spawn_rate": "1"}),
        ("swarm bad run_time", {"user_count": "1", "spawn_rate": "1", "run_time": "soon"}),
    ]:
        r = srv.post("/swarm", data=form)
        t[name] = (r.status_code, content_type(r), r.json())

    r = srv.post("/swarm", data={"user_count": "4", "spawn_rate": "4", "host": r.json()["host"], "run_time": "2m"})
    t["swarm start"] = (r.status_code, content_type(r), r.json())

    doc = wait_stats(srv, lambda d: d["state"] == "running" and d["user_count"] == 4 and len(d["stats"]) >= 4
                     and d["errors"] and None not in d["current_response_time_percentiles"].values())
    t["running stats state"] = (doc["state"], doc["user_count"], sorted(s["name"] for s in doc["stats"]))
    t["running stats shape"] = shape(doc)

    r = srv.get("/tasks")
    t["running tasks"] = (r.status_code, content_type(r), r.json())
    deadline = time.monotonic() + 30  # the failing task is one of seven: wait until some user has run it
    while True:
        r = srv.get("/exceptions")
        ex = r.json()
        if ex["exceptions"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    t["exceptions"] = (r.status_code, content_type(r), shape(ex), [e["msg"] for e in ex["exceptions"]])
    r = srv.get("/logs")
    t["logs"] = (r.status_code, content_type(r), shape(r.json()))

    for path in ["/stats/requests/csv", "/stats/failures/csv", "/exceptions/csv"]:
        r = srv.get(path)
        disposition = re.sub(r"\d{4}-\d\d-\d\d-\d\dh\d\d", "<time>", r.headers.get("Content-Disposition", ""))
        t[path] = (r.status_code, content_type(r), r.text.split("\r\n")[0], disposition)
    time.sleep(1.5)  # the history file gets its first rows within a second
    r = srv.get("/stats/requests_full_history/csv")
    t["full history csv"] = (r.status_code, r.text.split("\r\n")[0])

    r = srv.post("/user", json={"user_class_name": "WebsiteUser", "weight": 2, "tasks": ["index", "boom"]})
    t["user"] = (r.status_code, content_type(r), r.text)
    r = srv.post("/user", json={"user_class_name": "Nobody", "weight": 2})
    t["user unknown"] = (r.status_code, r.text)

    r = srv.post("/swarm", data={"user_count": "2", "spawn_rate": "10"})
    t["swarm edit"] = (r.status_code, r.json())
    doc = wait_stats(srv, lambda d: d["user_count"] == 2)
    t["edited users"] = doc["user_count"]
    r = srv.get("/tasks")
    t["tasks after /user"] = (r.status_code, r.json())

    r = srv.post("/stop")
    t["stop"] = (r.status_code, content_type(r), r.json())
    # after the stop, so no failure follows the reset: both then exit 0 on SIGTERM
    r = srv.post("/stats/reset")
    t["reset"] = (r.status_code, content_type(r), r.text)
    time.sleep(2.1)  # past the 2 s memo of /stats/requests
    doc = srv.get("/stats/requests").json()
    t["stopped stats"] = (doc["state"], doc["user_count"])

    # weights set through /user apply to the next test
    srv.post("/user", json={"user_class_name": "OtherUser", "weight": 5})
    srv.post("/swarm", data={"user_count": "6", "spawn_rate": "20"})
    wait_stats(srv, lambda d: d["state"] == "running" and d["user_count"] == 6)
    r = srv.get("/tasks")
    t["class shares after /user weights"] = {c: v["ratio"] for c, v in r.json()["per_class"].items()}
    srv.post("/stop")
    srv.post("/stats/reset")

    for method, path in [("get", "/nope"), ("get", "/stop"), ("get", "/swarm"), ("post", "/stats/requests"),
                         ("get", "/stats/requests/"), ("get", "/stats/reset"), ("post", "/tasks")]:
        r = getattr(srv, method)(path)
        # (werkzeug lists the allowed methods in set order, which varies between processes)
        allow = sorted(m.strip() for m in r.headers["Allow"].split(",")) if "Allow" in r.headers else None
        t[f"{method} {path}"] = (r.status_code, content_type(r), allow, r.text)
    r = srv.get("/login")
    t["login"] = (r.status_code, r.headers.get("Location"))
    r = srv.get("/stats/requests")
    t["cors"] = r.headers.get("Access-Control-Allow-Origin")
    return t


@pytest.fixture(scope="module")
def transcripts(target_url, tmp_path_factory):
    tools = {
        "locust": _binary("LOCUST_BIN", str(REPO / ".venv-oracle" / "bin" / "locust")),
        "rlocust": _binary("RLOCUST_BIN", _release("rlocust")),
    }
    out = {}
    for tool, binary in tools.items():
        workdir = tmp_path_factory.mktemp(tool)
        srv = Server(tool, binary, target_url, workdir)
        try:
            t = transcript(srv)
        finally:
            code = srv.stop()
        t["exit code after SIGTERM"] = code
        t["csv files"] = sorted(p.name for p in workdir.glob("r_*.csv"))
        t["stats csv rows"] = len((workdir / "r_stats.csv").read_text().splitlines()) > 2
        out[tool] = (t, srv.log())
    return out


KEYS = ["ready stats", "worker-count", "ready tasks", "swarm bad user_count", "swarm bad spawn_rate", "swarm zero rate",
        "swarm negative users", "swarm missing", "swarm bad run_time", "swarm start", "running stats state",
        "running stats shape", "running tasks", "exceptions", "logs", "/stats/requests/csv", "/stats/failures/csv",
        "/exceptions/csv", "full history csv", "user", "user unknown", "swarm edit", "tasks after /user", "edited users", "reset", "stop", "stopped stats", "class shares after /user weights",
        "get /nope", "get /stop", "get /swarm", "post /stats/requests", "get /stats/requests/", "get /stats/reset",
        "post /tasks", "login", "exit code after SIGTERM", "csv files", "stats csv rows"]


def test_cors_only_where_asked(transcripts):
    """The one header that differs on purpose: Locust's flask-cors answers every origin with `*`; rlocust sends no
    Access-Control-Allow-Origin unless --web-cors-origins names the origin (docs/web.md, "Headers of every answer")."""
    assert transcripts["locust"][0]["cors"] == "*"
    assert transcripts["rlocust"][0]["cors"] is None


@pytest.mark.parametrize("key", KEYS)
def test_same_answer(transcripts, key):
    (lt, _), (rt, rlog) = transcripts["locust"], transcripts["rlocust"]
    if rt[key] != lt[key]:
        import difflib
        import pprint

        diff = "\n".join(difflib.unified_diff(pprint.pformat(lt[key], width=100).splitlines(),
                                             pprint.pformat(rt[key], width=100).splitlines(), "locust", "rlocust",
                                             lineterm=""))
        pytest.fail(f"{key}: locust and rlocust differ:\n{diff}\nrlocust stderr (end):\n{rlog[-2000:]}")


INFLIGHT = """\
from locust import HttpUser, constant, task


class U(HttpUser):
    wait_time = constant(0)

    @task
    def t(self):
        self.client.get("/hello", name="fast")
        self.client.get("/delay/3000", name="slow")
"""


@pytest.mark.parametrize("tool", ["locust", "rlocust"])
def test_a_request_in_flight_when_its_user_is_stopped_is_not_recorded(tool, target_url, tmp_path):
    """A stop kills the users; the request a user was waiting for is never recorded (its response arrives after
    the user is gone). rlocust's engine used to record it on arrival, after the stop (and on a worker, after the
    last report: lost from the master's totals and counted in the worker's exit code)."""
    lf = tmp_path / "inflight.py"
    lf.write_text(INFLIGHT)
    binary = _binary("LOCUST_BIN", str(REPO / ".venv-oracle" / "bin" / "locust")) if tool == "locust" else \
        _binary("RLOCUST_BIN", _release("rlocust"))
    srv = Server(tool, binary, target_url, tmp_path / "w", locustfile=lf)
    try:
        assert srv.post("/swarm", data={"user_count": "1", "spawn_rate": "1"}).status_code == 200
        wait_stats(srv, lambda d: any(s["name"] == "fast" for s in d["stats"]))
        time.sleep(0.5)  # the user now waits for /delay/3000
        assert srv.post("/stop").status_code == 200
        time.sleep(3.5)  # its response has arrived by now
        doc = srv.get("/stats/requests").json()
    finally:
        srv.stop()
    names = {s["name"] for s in doc["stats"]}
    assert "fast" in names
    assert "slow" not in names, doc["stats"]
