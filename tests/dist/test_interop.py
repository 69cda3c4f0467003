"""Distributed mode on Locust's wire protocol, with real Locust 2.47 on the other side: a Locust master with rlocust
workers, an rlocust master with Locust workers, a mixed set, `--processes`, a worker killed mid-run and one that
(re)joins, custom messages both ways, and the master's errors. Everything runs on 127.0.0.1 against the
rlocust-target server, whose `/_served` count is the truth the masters' request counts are checked against.

Binaries: LOCUST_BIN (real Locust), RLOCUST_BIN, RLOCUST_TARGET_BIN; by default the repository's .venv-oracle and
target/release (or $CARGO_TARGET_DIR/release). Every process is bounded in time and killed (its process group) at
the end of its test.
"""

from __future__ import annotations

import csv
import json
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
LOCUSTFILE = HERE / "dist_locustfile.py"


def _release(name: str) -> str:
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return str(Path(target) / "release" / name)


def _binary(env_var: str, default: str) -> str:
    path = os.environ.get(env_var) or default
    if not Path(path).is_file():
        pytest.fail(f"{env_var}: {path} not found: build with `make build` first")
    return path


LOCUST = _binary("LOCUST_BIN", str(REPO / ".venv-oracle" / "bin" / "locust"))
RLOCUST = _binary("RLOCUST_BIN", _release("rlocust"))
TARGET = _binary("RLOCUST_TARGET_BIN", _release("rlocust-target"))
BIN = {"locust": LOCUST, "rlocust": RLOCUST}
FLEET = _release("examples/fleet")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def target():
    proc = subprocess.Popen([TARGET, "--port", "0", "--max-seconds", "300"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    if not m:
        proc.kill()
        pytest.fail(f"rlocust-target did not report its address: {line!r}")
    yield m.group(1)
    proc.kill()
    proc.wait(timeout=10)


def served(url: str) -> int:
    return requests.get(url + "/_served", timeout=5).json()["requests"]


def assert_counts_served(total: int, url: str, users: int):
    """Every request the target served is in the run's numbers, but for the ones in flight when their users were
    stopped: Locust records nothing for a request whose user is killed while it waits (and rlocust keeps that
    rule), and each user has at most one request in flight. A lost report would be far more than `users`
    requests (a worker reports every 3 s). On a quiet machine the two are equal; with the cores busy (CI runs
    suites side by side), a response can still be on its way when the stop comes."""
    got = served(url)
    assert got - users <= total <= got, f"{total} requests in the run's numbers, {got} served by the target"


class Node:
    """One locust/rlocust process; its combined output goes to a file in `workdir`."""

    def __init__(self, tool: str, args: list[str], workdir: Path, name: str, extra_env: dict | None = None):
        # `-f` comes first, so a test's own `-f` (a later one wins) replaces it
        self.tool = tool
        self.name = name
        self.path = workdir / f"{name}.log"
        self.out = open(self.path, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")} | (extra_env or {})
        self.proc = subprocess.Popen([BIN[tool], "-f", str(LOCUSTFILE), *args], cwd=workdir, env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def log(self) -> str:
        self.out.flush()
        return self.path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.name} ({self.tool}): no {pattern!r} within {timeout}s:\n{self.log()[-3000:]}")

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} ({self.tool}) did not exit within {timeout}s:\n{self.log()[-3000:]}")

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            if sig == signal.SIGKILL:
                self.proc.wait(timeout=10)

    def close(self):
        self.kill()
        self.out.close()


@pytest.fixture
def nodes():
    started: list[Node] = []

    def start(tool, args, workdir, name, extra_env=None):
        n = Node(tool, args, workdir, name, extra_env)
        started.append(n)
        return n

    yield start
    for n in started:
        n.close()


def aggregated(csv_path: Path) -> dict:
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    return next(r for r in rows if r["Name"] == "Aggregated")


def headless_master(tool, port, url, tmp_path, nodes, workers, users, run_time, extra=()):
    return nodes(tool, ["--master", "--headless", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                        "--expect-workers", str(workers), "-u", str(users), "-r", str(users), "-t", run_time,
                        "-H", url, "--csv", str(tmp_path / "r"), "--json-file", str(tmp_path / "result"), *extra],
                 tmp_path, "master")


def worker(tool, port, tmp_path, nodes, name, extra=()):
    return nodes(tool, ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port), *extra], tmp_path, name)


@pytest.mark.parametrize("master_tool,worker_tools", [
    ("locust", ("rlocust", "rlocust")),
    ("rlocust", ("locust", "locust")),
    ("rlocust", ("rlocust", "locust")),
    ("rlocust", ("rlocust", "rlocust")),
], ids=["locust-master+rlocust-workers", "rlocust-master+locust-workers", "rlocust-master+mixed",
        "rlocust-master+rlocust-workers"])
def test_headless_run_counts_match_what_the_target_served(master_tool, worker_tools, target, tmp_path, nodes):
    port = free_port()
    master = headless_master(master_tool, port, target, tmp_path, nodes, len(worker_tools), 6, "6s")
    workers = [worker(t, port, tmp_path, nodes, f"worker{i}") for i, t in enumerate(worker_tools)]
    master.wait_for(r"All users spawned: \{\"OtherUser\": 3, \"WebsiteUser\": 3\} \(6 total users\)", 30)
    code = master.wait(40)
    for w in workers:
        assert w.wait(20) == 0, w.log()[-2000:]
    log = master.log()
    assert code == 1, log[-3000:]  # failures and task exceptions: --exit-code-on-error's default
    # every worker said quit, and the master saw each one go
    assert len(re.findall(r"Worker '\S+_[0-9a-f]{32}' \(index \d\) quit\.", log)) == len(worker_tools), log[-3000:]
    # every request the target served is in the master's numbers, and no other
    total = int(aggregated(tmp_path / "r_stats.csv")["Request Count"])
    assert total > 50
    assert_counts_served(total, target, 6)
    result = json.loads((tmp_path / "result.json").read_text())
    assert sum(e["num_requests"] for e in result) == total
    names = {(e["method"], e["name"]) for e in result}
    assert names == {("GET", "/hello"), ("GET", "/status/404"), ("GET", "/json")}
    failures = {e["name"]: e["num_failures"] for e in result}
    assert failures["/hello"] == 0 and failures["/json"] == 0 and failures["/status/404"] > 0
    # the task exceptions came over the wire (`exception` messages) into the master's exceptions CSV
    with open(tmp_path / "r_exceptions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert any("intentional test exception" in r["Message"] and int(r["Count"]) > 0 for r in rows), rows
    # each worker registered with its own id and index
    ready = re.findall(r"(\S+_[0-9a-f]{32}) \(index (\d)\) reported as ready", log)
    assert sorted(i for _, i in ready) == [str(i) for i in range(len(worker_tools))], log[-2000:]
    assert len({wid for wid, _ in ready}) == len(worker_tools)
    # the custom message exchange: the master's test_users reached every worker, each answer reached the master
    assert log.count("master got acknowledge_users from a worker: 2") == len(worker_tools), log[-3000:]
    for w in workers:
        assert "worker got test_users: 2 users, first u1" in w.log(), w.log()[-2000:]


def test_rlocust_master_percentiles_are_exact_with_rlocust_workers(target, tmp_path, nodes):
    """Fed by rlocust workers only, an rlocust master reports the workers' exact histograms: its percentiles are
    not rounded to Locust's buckets (a delay of 123 ms shows as 123, where a bucketed median would read 120)."""
    port = free_port()
    lf = tmp_path / "delay.py"
    lf.write_text("from locust import HttpUser, task, constant\n"
                  "class D(HttpUser):\n    wait_time = constant(0)\n"
                  "    @task\n    def d(self):\n        self.client.get('/delay/123')\n")
    master = nodes("rlocust", ["-f", str(lf), "--master", "--headless", "--master-bind-host", "127.0.0.1",
                               "--master-bind-port", str(port), "--expect-workers", "1", "-u", "2", "-r", "2",
                               "-t", "4s", "-H", target, "--csv", str(tmp_path / "r")], tmp_path, "master")
    nodes("rlocust", ["-f", str(lf), "--worker", "--master-port", str(port)], tmp_path, "worker")
    assert master.wait(40) == 0, master.log()[-3000:]
    row = aggregated(tmp_path / "r_stats.csv")
    assert int(row["Request Count"]) > 10
    assert 123 <= int(row["50%"]) <= 126, row


def test_processes_one_set_of_results(target, tmp_path, nodes):
    port = free_port()
    master = nodes("rlocust", ["--processes", "2", "--headless", "--master-bind-host", "127.0.0.1",
                               "--master-bind-port", str(port), "-u", "4", "-r", "4", "-t", "4s", "-H", target,
                               "--csv", str(tmp_path / "r")], tmp_path, "master")
    master.wait_for(r"\(index 1\) reported as ready\. 2 workers connected\.", 30)
    code = master.wait(40)
    log = master.log()
    assert code == 1, log[-3000:]
    assert log.count("Starting Locust") == 1, log[-3000:]
    assert_counts_served(int(aggregated(tmp_path / "r_stats.csv")["Request Count"]), target, 4)
    # only the master's files: the children write none
    assert sorted(p.name for p in tmp_path.glob("r_*.csv")) == ["r_exceptions.csv", "r_failures.csv",
                                                               "r_stats.csv", "r_stats_history.csv"]
    # the children are gone
    out = subprocess.run(["pgrep", "-f", f"--master-bind-port {port}"], capture_output=True, text=True)
    assert out.stdout.strip() == "", out.stdout


def test_processes_sigterm_reaps_children(target, tmp_path, nodes):
    port = free_port()
    master = nodes("rlocust", ["--processes", "2", "--headless", "--master-bind-host", "127.0.0.1",
                               "--master-bind-port", str(port), "-u", "4", "-r", "4", "-t", "60s", "-H", target,
                               "--csv", str(tmp_path / "r")], tmp_path, "master")
    master.wait_for(r"All users spawned", 30)
    time.sleep(1)
    master.proc.send_signal(signal.SIGTERM)  # the master only: it must stop and reap its children
    master.wait(30)
    out = subprocess.run(["pgrep", "-f", f"--master-bind-port {port}"], capture_output=True, text=True)
    assert out.stdout.strip() == "", out.stdout
    assert int(aggregated(tmp_path / "r_stats.csv")["Request Count"]) > 0


@pytest.mark.parametrize("master_tool", ["rlocust", "locust"])
def test_killed_worker_goes_missing_and_a_new_one_joins(master_tool, target, tmp_path, nodes):
    """kill -9 of an rlocust worker: the master reports it missing (about 4 s later) and, with rebalancing,
    moves its users to the remaining worker; a new worker then joins and gets its share."""
    port = free_port()
    master = headless_master(master_tool, port, target, tmp_path, nodes, 2, 4, "40s", ("--enable-rebalancing",))
    debug = ("-L", "DEBUG")
    w0 = worker("rlocust", port, tmp_path, nodes, "worker0", debug)
    w1 = worker("rlocust", port, tmp_path, nodes, "worker1", debug)
    master.wait_for(r"All users spawned", 30)
    w1.wait_for(r"Spawning additional", 10)
    w1.kill()
    master.wait_for(r"Worker \S+ failed to send heartbeat, setting state to missing\.", 15)
    # the survivor gets the 4 users
    w0.wait_for(r"0 users have been stopped, 4 still running", 20)
    w2 = worker("rlocust", port, tmp_path, nodes, "worker2", debug)
    master.wait_for(r"\(index 2\) reported as ready\. 2 workers connected\.", 20)
    w2.wait_for(r"Spawning additional", 20)
    master.kill(signal.SIGTERM)
    master.wait(30)
    assert w0.wait(20) == 0
    assert w2.wait(20) == 0


def test_master_port_in_use(tmp_path, nodes):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        m = nodes("rlocust", ["--master", "--headless", "--master-bind-host", "127.0.0.1",
                              "--master-bind-port", str(port)], tmp_path, "master")
        assert m.wait(20) == 1
    assert f"The Locust master port (127.0.0.1:{port}) was busy." in m.log()


def test_worker_runner_attributes_under_a_locust_master(target, tmp_path, nodes):
    """What a locustfile sees on an rlocust worker: a WorkerRunner with its client id, index and the host the
    master sent."""
    port = free_port()
    lf = tmp_path / "attrs.py"
    lf.write_text(
        "import logging\n"
        "from locust import HttpUser, task, constant, events\n"
        "class U(HttpUser):\n    wait_time = constant(1)\n"
        "    @task\n    def t(self):\n        pass\n"
        "@events.test_start.add_listener\n"
        "def ts(environment, **kw):\n"
        "    r = environment.runner\n"
        "    if type(r).__name__ != 'WorkerRunner':\n        return\n"
        "    logging.info(f'ATTRS {type(r).__name__} {r.worker_index} {r.client_id == r.client_id} '\n"
        "                 f'{environment.host} {bool(r.client_id and \"_\" in r.client_id)}')\n")
    master = nodes("locust", ["-f", str(lf), "--master", "--headless", "--master-bind-host", "127.0.0.1",
                              "--master-bind-port", str(port), "-u", "1", "-r", "1", "-t", "3s", "-H", target],
                   tmp_path, "master")
    w = nodes("rlocust", ["-f", str(lf), "--worker", "--master-port", str(port)], tmp_path, "worker")
    assert master.wait(40) == 0, master.log()[-2000:]
    assert w.wait(20) == 0
    assert f"ATTRS WorkerRunner 0 True {target} True" in w.log(), w.log()[-2000:]


@pytest.mark.parametrize("master_tool,worker_tool", [("locust", "rlocust"), ("rlocust", "locust"),
                                                     ("rlocust", "rlocust")])
def test_worker_downloads_the_locustfile(master_tool, worker_tool, target, tmp_path, nodes):
    """`-f -`: the worker asks its master for the locustfile and runs it."""
    port = free_port()
    master = headless_master(master_tool, port, target, tmp_path, nodes, 1, 2, "4s")
    wdir = tmp_path / "w"
    wdir.mkdir()
    w = worker(worker_tool, port, wdir, nodes, "worker", ("-f", "-"))
    master.wait_for(r"All users spawned: \{\"OtherUser\": 1, \"WebsiteUser\": 1\} \(2 total users\)", 30)
    assert master.wait(40) == 1, master.log()[-3000:]
    assert w.wait(20) == 0, w.log()[-2000:]
    assert_counts_served(int(aggregated(tmp_path / "r_stats.csv")["Request Count"]), target, 2)
    assert "worker got test_users: 2 users, first u1" in w.log(), w.log()[-2000:]


def test_worker_without_master_for_the_locustfile_says_so(tmp_path, nodes):
    w = nodes("rlocust", ["-f", "-", "--worker", "--master-port", str(free_port())], tmp_path, "worker")
    w.wait_for(r"Waiting to connect to master to receive locustfile\.\.\.", 20)
    w.kill()


@pytest.mark.parametrize("master_tool", ["locust", "rlocust"])
def test_stats_requests_counts_the_workers_it_lists(master_tool, tmp_path, nodes):
    """While 120 workers join over 6 s (bench/fleet.rs, Locust's worker protocol), every `/stats/requests` answer's
    `worker_count` is the number of ready, spawning or running workers in its own `workers` list: Locust reads both
    from `runner.clients` at one moment, and a launcher's status poll that waits for the count and then reads the
    list (the official operator's) must find them agree. (The answer is kept 2 s, as Locust's, so a few answers are
    made during the joins; joins 50 ms apart are closer than the master's 100 ms between lists.)"""
    if not os.access(FLEET, os.X_OK):
        pytest.fail(f"{FLEET} not found: cargo build --release --example fleet")
    port, web = free_port(), free_port()
    base = f"http://127.0.0.1:{web}"
    master = nodes(master_tool, ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                                 "--web-host", "127.0.0.1", "--web-port", str(web), "-H", "http://127.0.0.1:1"],
                   tmp_path, "master")
    session = requests.Session()
    deadline = time.monotonic() + 20
    while True:
        try:
            session.get(base + "/stats/requests", timeout=2)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, master.log()[-2000:]
            time.sleep(0.05)
    fleet = subprocess.Popen([FLEET, "--master", f"127.0.0.1:{port}", "--workers", "120", "--classes", "WebsiteUser",
                              "--connect-over", "6", "--max-seconds", "40"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        counts = []
        deadline = time.monotonic() + 30
        while not counts or counts[-1] < 120:
            doc = session.get(base + "/stats/requests", timeout=5).json()
            listed = sum(w["state"] in ("ready", "spawning", "running") for w in doc["workers"])
            assert doc["worker_count"] == listed, (doc["worker_count"], listed, len(counts))
            counts.append(listed)
            assert time.monotonic() < deadline, counts[-20:]
        assert len(set(counts) - {0, 120}) >= 2, sorted(set(counts))  # answers made while the workers arrived
    finally:
        fleet.kill()
        fleet.wait(10)
    master.kill(signal.SIGTERM)
    master.wait(30)


@pytest.mark.parametrize("master_tool", ["locust", "rlocust"])
def test_web_ui_master_with_workers(master_tool, target, tmp_path, nodes):
    """A master with the web UI, one Locust and one rlocust worker: the worker count and the workers list of
    `/stats/requests` (Locust's fields and types), a swarm spread over both, a stop (the workers re-register as
    ready), then SIGTERM ends the master and the workers quit."""
    port, web = free_port(), free_port()
    base = f"http://127.0.0.1:{web}"
    master = nodes(master_tool, ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                                 "--web-host", "127.0.0.1", "--web-port", str(web), "-H", target], tmp_path, "master")
    w1 = worker("locust", port, tmp_path, nodes, "worker-locust")
    w2 = worker("rlocust", port, tmp_path, nodes, "worker-rlocust")
    master.wait_for(r"2 workers connected\.", 30)
    assert requests.get(base + "/worker-count", timeout=5).json() == {"worker_count": 2}
    r = requests.post(base + "/swarm", data={"user_count": "4", "spawn_rate": "4", "host": target}, timeout=10)
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    master.wait_for(r"All users spawned: \{\"OtherUser\": 2, \"WebsiteUser\": 2\} \(4 total users\)", 30)
    deadline = time.monotonic() + 20
    while True:
        doc = requests.get(base + "/stats/requests", timeout=5).json()
        if doc["state"] == "running" and doc["user_count"] == 4 and doc["stats"][-1]["num_requests"] > 0:
            break
        assert time.monotonic() < deadline, doc
        time.sleep(0.5)
    assert doc["worker_count"] == 2
    assert sorted(w["user_count"] for w in doc["workers"]) == [2, 2]
    for w in doc["workers"]:
        assert set(w) == {"id", "state", "user_count", "cpu_usage", "memory_usage"}
        assert w["state"] == "running" and isinstance(w["cpu_usage"], float) and isinstance(w["memory_usage"], int)
    r = requests.post(base + "/stop", timeout=30)
    assert r.json() == {"success": True, "message": "Test stopped"}
    deadline = time.monotonic() + 30
    while True:
        doc = requests.get(base + "/stats/requests", timeout=5).json()
        if doc["state"] == "stopped" and doc["worker_count"] == 2 and doc["user_count"] == 0:
            break
        assert time.monotonic() < deadline, doc
        time.sleep(0.5)
    assert {w["state"] for w in doc["workers"]} == {"ready"}
    master.kill(signal.SIGTERM)
    master.wait(30)
    assert w1.wait(20) == 0, w1.log()[-2000:]
    assert w2.wait(20) == 0, w2.log()[-2000:]
