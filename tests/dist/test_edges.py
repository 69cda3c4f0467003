"""Distributed edges, side by side with real Locust 2.47 (each scenario runs under both tools and must give the same
lines and exit codes): Ctrl+C on `--processes` counts the workers' last reports; the report wait of
LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP expires with Locust's line; a locustfile's `runners.*` constants
(MASTER_HEARTBEAT_TIMEOUT, HEARTBEAT_INTERVAL, WORKER_REPORT_INTERVAL) take effect on master and workers; a worker's
`sys.exit(42)` in `test_start` is logged as Locust logs it and ends its `--processes` parent with 42; `--processes`
children are forked after the locustfile is loaded (its module code runs once).

These are the scenarios of Locust's own test_main.py (test_processes_ctrl_c, test_distributed_report_timeout_expired,
test_workers_shut_down_if_master_is_gone, test_processes_workers_quit_unexpected), on 127.0.0.1 with free ports."""

from __future__ import annotations

import re
import signal
import time

import pytest
from test_interop import free_port, nodes, target  # noqa: F401 (fixtures)

TOOLS = ["locust", "rlocust"]


def write(tmp_path, text: str):
    lf = tmp_path / "edges.py"
    lf.write_text(text)
    return str(lf)


@pytest.mark.parametrize("tool", TOOLS)
def test_ctrl_c_on_processes_counts_the_last_reports(tool, tmp_path, nodes):  # noqa: F811
    """Users fail at once (nothing listens on their host), and the workers' periodic report comes only after 30 s:
    the failures reach the master in the last reports the workers send when it quits them, which Locust's master
    does in its own `quitting` listener, before the exit code is decided. Exit code 1 (failures), not 0."""
    lf = write(tmp_path, (
        "from locust import HttpUser, task, constant, runners\n"
        "runners.WORKER_REPORT_INTERVAL = 30\n"
        f"class U(HttpUser):\n    host = 'http://127.0.0.1:{free_port()}'\n    wait_time = constant(0.1)\n"
        "    @task\n    def t(self):\n        self.client.get('/')\n"))
    # Locust's own master has once stayed alive after printing its final stats (a CI run with the suites side by
    # side; 36 of 36 runs exit at once on a quiet machine): the oracle gets a second run when that happens,
    # rlocust does not.
    for attempt in range(2 if tool == "locust" else 1):
        port = free_port()
        master = nodes(tool, ["-f", lf, "--processes", "2", "--headless", "-u", "2", "-r", "2",
                              "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                              "--master-port", str(port)], tmp_path, f"master{attempt}")
        master.wait_for(r"All users spawned", 30)
        time.sleep(1.0)
        master.proc.send_signal(signal.SIGINT)
        try:
            code = master.wait(30)
            break
        except AssertionError:
            if tool != "locust" or attempt:
                raise
    log = master.log()
    assert "The last worker quit, stopping test." in log, log[-3000:]
    assert "Connection refused" in log, log[-3000:]
    assert code == 1, log[-3000:]


@pytest.mark.parametrize("tool", TOOLS)
def test_report_wait_expires_with_locusts_line(tool, tmp_path, nodes):  # noqa: F811
    # a user takes 0.3 s to create (a blocking sleep in __init__, on the worker only), so the worker's report of its
    # 3 users comes about a second after the spawn: later than the 0.01 s wait whatever the tools' speed (a fast
    # worker could otherwise answer within the master's own step interval, and the line would be "All users spawned")
    lf = write(tmp_path, ("import time\nfrom locust import User, task, constant\n"
                          "class User1(User):\n    wait_time = constant(1)\n"
                          "    def __init__(self, *args, **kwargs):\n"
                          "        super().__init__(*args, **kwargs)\n        time.sleep(0.3)\n"
                          "    @task\n    def t(self):\n        pass\n"))
    port = free_port()
    master = nodes(tool, ["-f", lf, "--headless", "--master", "--expect-workers", "1", "-u", "3", "-r", "99",
                          "-t", "2", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)],
                   tmp_path, "master", {"LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP": "0.01"})
    nodes(tool, ["-f", lf, "--worker", "--master-port", str(port)], tmp_path, "worker")
    assert master.wait(30) == 0, master.log()[-3000:]
    log = master.log()
    assert re.search(r"Spawning is complete and report waittime is expired, but not all reports received from "
                     r"workers: \{\"User1\": \d\} \(\d total users\)", log), log[-3000:]
    assert "All users spawned" not in log


@pytest.mark.parametrize("tool", TOOLS)
def test_workers_quit_when_the_master_is_gone(tool, tmp_path, nodes):  # noqa: F811
    """`runners.MASTER_HEARTBEAT_TIMEOUT = 2` in the locustfile: the workers of a killed master quit 2 s later
    (Locust's default is 60 s)."""
    lf = write(tmp_path, ("from locust import User, task, constant, runners\n"
                          "runners.MASTER_HEARTBEAT_TIMEOUT = 2\n"
                          "class U(User):\n    wait_time = constant(1)\n"
                          "    @task\n    def t(self):\n        pass\n"))
    port = free_port()
    master = nodes(tool, ["-f", lf, "--master", "--headless", "--expect-workers", "2", "--master-bind-host",
                          "127.0.0.1", "--master-bind-port", str(port)], tmp_path, "master")
    workers = nodes(tool, ["-f", lf, "--worker", "--processes", "2", "--master-port", str(port)], tmp_path,
                    "workers")
    master.wait_for(r"All users spawned", 30)
    master.kill()
    started = time.monotonic()
    workers.wait_for(r"Didn't get heartbeat from master in over 2s", 20)
    workers.wait(20)
    assert time.monotonic() - started < 20
    assert "Traceback" not in workers.log(), workers.log()[-3000:]


@pytest.mark.parametrize("tool", TOOLS)
def test_sys_exit_in_a_workers_test_start(tool, tmp_path, nodes):  # noqa: F811
    """`runners.HEARTBEAT_INTERVAL = 0.1`: the master, with the same locustfile, declares the gone workers missing
    within a second; each worker's `sys.exit(42)` in `test_start` is logged as Locust logs a greenlet's SystemExit,
    and the `--processes` parent exits with 42."""
    lf = write(tmp_path, ("import sys\n"
                          "from locust import runners, events, User, task\n"
                          "runners.HEARTBEAT_INTERVAL = 0.1\n"
                          "@events.test_start.add_listener\n"
                          "def on_test_start(environment, **_kw):\n"
                          "    if isinstance(environment.runner, runners.WorkerRunner):\n"
                          "        sys.exit(42)\n"
                          "class AnyUser(User):\n    @task\n    def mytask(self):\n        pass\n"))
    port = free_port()
    workers = nodes(tool, ["-f", lf, "--processes", "2", "--worker", "--master-port", str(port)], tmp_path,
                    "workers")
    master = nodes(tool, ["-f", lf, "--master", "--headless", "--expect-workers", "2", "-t", "5",
                          "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)], tmp_path, "master")
    workers.wait_for(r"INFO/locust\.runners: sys\.exit\(42\) called", 30)
    assert workers.wait(20) == 42, workers.log()[-3000:]
    master.wait_for(r"failed to send heartbeat, setting state to missing", 10)
    master.kill(signal.SIGTERM)
    master.wait(20)
    assert "Traceback" not in workers.log() + master.log()


@pytest.mark.parametrize("tool", TOOLS)
def test_processes_are_forked_after_the_locustfile_is_loaded(tool, tmp_path, nodes):  # noqa: F811
    """Locust forks its `--processes` workers once the locustfile is imported: its module code runs once, in the
    parent (rlocust did run it once per process when it started each child anew)."""
    lf = write(tmp_path, ("import os\n"
                          "print('locustfile imported', flush=True)\n"
                          "from locust import User, task, constant\n"
                          "class U(User):\n    wait_time = constant(1)\n"
                          "    @task\n    def t(self):\n        pass\n"))
    port = free_port()
    master = nodes(tool, ["-f", lf, "--processes", "3", "--headless", "-u", "3", "-r", "3", "-t", "2",
                          "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                          "--master-port", str(port)], tmp_path, "master")
    assert master.wait(40) == 0, master.log()[-3000:]
    log = master.log()
    assert log.count("locustfile imported") == 1, log[-3000:]
    assert "(index 2) reported as ready. 3 workers connected." in log, log[-3000:]
