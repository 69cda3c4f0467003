"""Every end of a run is honest to a CI gate (issue 51, items 8 and 9; docs/security.md).

The attacker here is a locustfile (or a moment) that ends the run another way than the normal one, hoping the gate
does not notice: a run cut by -t, Ctrl+C, SIGTERM, the locustfile's runner.quit(), a task's sys.exit(N), a task
that spins and swallows KeyboardInterrupt until the watchdog abandons the Python thread, or a master whose worker
ends with it. Each runs with a failing threshold and every output (--summary-json, --csv, --html, --json-file):
the exit code must be 3 and every file written, whichever way it ended; with the thresholds passing, the code is
Locust's (the locustfile's own after sys.exit(N)), and where Locust 2.47 can run the same end it is compared with.

The other attacker is a client of rlocust-target (the loopback server of the demo and the tests) sending query
numbers that used to panic it (?ttft_ms=1e300): each is refused with a 400 and one line, and the server lives on.

Everything runs on 127.0.0.1; every process is bounded in time and killed at the end of its test.
"""

from __future__ import annotations

import csv
import json
import signal
import time
from pathlib import Path

import pytest
import requests
from conftest import HERE, clean_env, finish, free_port, run, start

LOCUSTFILE = HERE / "run_end_locustfile.py"
FAILING = "p99<0"
PASSING = "p99<60000"

# (way the run ends, locustfile mode, -t, signal sent after the users spawned, code with the thresholds passing)
WAYS = [
    ("run_time", "plain", "2", None, 0),
    ("sigint", "plain", "30", signal.SIGINT, 0),
    ("sigterm", "plain", "30", signal.SIGTERM, 0),
    ("quit", "quit", "30", None, 0),
    ("sys_exit", "sys_exit", "30", None, 5),
    ("abandoned", "swallow", "2", None, 0),
]


def outputs(tmp: Path) -> list[str]:
    return ["--summary-json", str(tmp / "s.json"), "--csv", str(tmp / "r"), "--html", str(tmp / "report.html"),
            "--json-file", str(tmp / "stats")]


def wait_for(path: Path, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    pytest.fail(f"{text!r} not in {path.name} within {timeout} s:\n{path.read_text(errors='replace')[-3000:]}")


def run_way(rlocust: str, target: str, tmp: Path, mode: str, seconds: str, sig, args: list[str],
            bin_args: list[str] | None = None) -> tuple[int, str]:
    """One bounded headless run of the locustfile in `mode`: (exit code, stderr)."""
    argv = [*(bin_args or [rlocust]), "-f", LOCUSTFILE, "--headless", "-u", "1", "-r", "10", "-t", seconds,
            "-H", target, *args]
    proc = start(argv, tmp, env=clean_env({"RUN_END_MODE": mode, "RUN_END_CODE": "5"}))
    try:
        if sig is not None:
            wait_for(tmp / "stderr.txt", "All users spawned")
            time.sleep(1.0)
            proc.send_signal(sig)
        code = finish(proc, 40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, (tmp / "stderr.txt").read_text(errors="replace")


def assert_every_output(tmp: Path, code: int, ended_by: str, requests_seen: bool = True) -> dict:
    """The summary says `code` and `ended_by`; the CSV files, the HTML report and the JSON file are written (with
    the run's /hello row when `requests_seen`)."""
    doc = json.loads((tmp / "s.json").read_text())
    assert doc["exit_code"] == code and doc["passed"] is (code == 0), doc["exit_code"]
    assert doc["ended_by"] == ended_by, doc["ended_by"]
    with open(tmp / "r_stats.csv", newline="") as f:
        rows = {r["Name"]: r for r in csv.DictReader(f)}
    assert "Aggregated" in rows, rows
    for name in ("r_stats_history.csv", "r_failures.csv", "r_exceptions.csv"):
        assert (tmp / name).exists(), name
    report = (tmp / "report.html").read_text()
    assert report.lower().startswith("<!doctype html")
    stats = json.loads((tmp / "stats.json").read_text())
    if requests_seen:
        assert int(rows["/hello"]["Request Count"]) >= 1, rows
        assert "/hello" in report
        assert any(e["name"] == "/hello" and e["num_requests"] >= 1 for e in stats), stats
    return doc


@pytest.mark.parametrize("thresholds", ["failing", "passing"])
@pytest.mark.parametrize("way,mode,seconds,sig,passing_code", WAYS, ids=[w[0] for w in WAYS])
def test_every_end_gives_the_gate_its_code_and_every_file(rlocust, target, tmp_path, way, mode, seconds, sig,
                                                          passing_code, thresholds):
    rule = FAILING if thresholds == "failing" else PASSING
    code, err = run_way(rlocust, target, tmp_path, mode, seconds, sig, ["--thresholds", rule, *outputs(tmp_path)])
    want = 3 if thresholds == "failing" else passing_code
    assert code == want, err[-3000:]
    doc = assert_every_output(tmp_path, want, way)
    assert doc["thresholds_passed"] is (thresholds == "passing")
    assert doc["interrupted"] is (way in ("sigint", "sigterm", "sys_exit", "abandoned"))
    if way == "abandoned":
        assert "still does not respond" in err and f"Shutting down (exit code {want})" in err, err[-3000:]
    if way != "sys_exit":
        # the thresholds table after the final tables (a sys.exit prints no tables, as in Locust, but the verdict)
        assert "Aggregated" in err
    if thresholds == "failing":
        assert "1 of 1 thresholds FAILED (exit code 3)" in err, err[-3000:]


@pytest.mark.parametrize("way,mode,seconds,sig,passing_code", [w for w in WAYS if w[0] != "abandoned"],
                         ids=[w[0] for w in WAYS if w[0] != "abandoned"])
def test_without_gates_the_code_is_locusts(rlocust, locust_bin, target, tmp_path, way, mode, seconds, sig,
                                           passing_code):
    """The same ends without thresholds: rlocust's code is Locust 2.47's (the abandoned run has no Locust
    counterpart: Locust hangs there until SIGKILL)."""
    ours_dir, theirs_dir = tmp_path / "rlocust", tmp_path / "locust"
    ours_dir.mkdir()
    theirs_dir.mkdir()
    ours, err = run_way(rlocust, target, ours_dir, mode, seconds, sig, ["--csv", str(ours_dir / "r")])
    theirs, their_err = run_way(rlocust, target, theirs_dir, mode, seconds, sig, ["--csv", str(theirs_dir / "r")],
                                bin_args=[locust_bin])
    assert theirs == passing_code, their_err[-3000:]
    assert ours == theirs, err[-3000:]
    assert (ours_dir / "r_stats.csv").exists() and (theirs_dir / "r_stats.csv").exists()


def test_a_master_and_its_worker_end_at_the_run_time_with_the_gate(rlocust, target, tmp_path):
    """A master with one local worker, -t 2s and a failing threshold: the master exits 3 with every file; the
    worker ends with the master's quit."""
    port = free_port()
    (tmp_path / "w").mkdir()
    env = clean_env({"RUN_END_MODE": "plain"})
    worker = start([rlocust, "-f", LOCUSTFILE, "--worker", "--master-host", "127.0.0.1", "--master-port", port],
                   tmp_path / "w", env=env)
    try:
        master = run([rlocust, "-f", LOCUSTFILE, "--master", "--master-bind-host", "127.0.0.1",
                      "--master-bind-port", port, "--expect-workers", "1", "--headless", "-u", "1", "-r", "10",
                      "-t", "2", "-H", target, "--thresholds", FAILING, *outputs(tmp_path)], tmp_path, timeout=60,
                     env=env)
        assert master.code == 3, master.stderr[-3000:]
        doc = assert_every_output(tmp_path, 3, "run_time")
        assert doc["parameters"]["mode"] == "master" and doc["parameters"]["workers"] == 1
        assert finish(worker, 30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_a_master_whose_worker_swallows_the_interrupt_does_not_lie(rlocust, target, tmp_path):
    """The worker's task spins and swallows KeyboardInterrupt from its first request on: the master still ends at
    -t with 3 and every file (with the numbers that reached it: none here, so even a passing latency rule fails for
    "no data"), and the master's quit hands the stuck worker to its watchdog, which ends it (it used to spin
    until killed: the quit waited in the worker's runner behind the stuck hub)."""
    port = free_port()
    (tmp_path / "w").mkdir()
    worker = start([rlocust, "-f", LOCUSTFILE, "--worker", "--master-host", "127.0.0.1", "--master-port", port],
                   tmp_path / "w", env=clean_env({"RUN_END_MODE": "swallow"}))
    try:
        master = run([rlocust, "-f", LOCUSTFILE, "--master", "--master-bind-host", "127.0.0.1",
                      "--master-bind-port", port, "--expect-workers", "1", "--headless", "-u", "1", "-r", "10",
                      "-t", "2", "-H", target, "--thresholds", FAILING, *outputs(tmp_path)], tmp_path, timeout=60,
                     env=clean_env({"RUN_END_MODE": "plain"}))
        assert master.code == 3, master.stderr[-3000:]
        assert_every_output(tmp_path, 3, "run_time", requests_seen=False)
        assert finish(worker, 40) == 0
        assert "still does not respond" in (tmp_path / "w" / "stderr.txt").read_text(errors="replace")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


BAD_NUMBERS = ["1e300", "-1", "nan", "inf", "-inf", "18446744073709551616", "", "1e-400x"]


@pytest.mark.parametrize("key", ["ttft_ms", "itl_ms", "tokens", "stall_after", "reset_after"])
def test_the_target_refuses_query_numbers_it_cannot_use(target, key):
    for value in BAD_NUMBERS:
        for path in ("/v1/chat/completions", "/v1/completions"):
            r = requests.post(f"{target}{path}?{key}={value}", json={"model": "m", "stream": True, "max_tokens": 2},
                              timeout=10)
            assert r.status_code == 400, (path, key, value, r.text)
            assert r.text.startswith(f"{key}: expected a number from 0 to ") and r.text.count("\n") == 1, r.text
    # and it still serves
    r = requests.post(f"{target}/v1/completions?ttft_ms=0&itl_ms=0&tokens=3", json={"model": "m"}, timeout=10)
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3
