"""Ctrl+C, SIGTERM and -t end a run whose Python thread never yields, with the results written (runner::watchdog).

Real Locust cannot be the oracle here: with a task that never yields it hangs until SIGKILL. Each test runs the
built binary on a locustfile against the loopback target and bounds every wait.
"""
import csv
import os
import pty
import signal
import subprocess
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RLOCUST = os.environ.get("RLOCUST_BIN", str(ROOT / "target/release/rlocust"))

LOCUSTFILE = '''
import os, sys, time
from locust import HttpUser, task, constant, events

MODE = os.environ["WATCHDOG_MODE"]

@events.test_stop.add_listener
def on_test_stop(**kw):
    print("MARK test_stop", flush=True)

@events.quitting.add_listener
def on_quitting(**kw):
    print("MARK quitting", flush=True)

class Busy(HttpUser):
    wait_time = constant(0.1)

    @task
    def work(self):
        self.client.get("/hello")
        if MODE == "busy":          # never yields again
            while True:
                pass
        if MODE == "swallow":       # never yields, and swallows the interrupt
            while True:
                try:
                    for _ in range(10 ** 7):
                        pass
                except BaseException:
                    pass
        if MODE == "exit" and time.time() - START > 1.5:
            sys.exit(3)
        if MODE == "interrupt" and time.time() - START > 1.5:
            raise KeyboardInterrupt()

START = time.time()
'''


def start(tmp_path, host, mode, *args, preexec_fn=None, stdin=subprocess.DEVNULL):
    lf = tmp_path / "locustfile.py"
    lf.write_text(LOCUSTFILE)
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH" and not k.startswith("LOCUST_")}
    env["WATCHDOG_MODE"] = mode
    out, err = open(tmp_path / "out.txt", "w"), open(tmp_path / "err.txt", "w")
    proc = subprocess.Popen(
        [RLOCUST, "-f", str(lf), "--headless", "-u", "2", "-r", "10", "-H", host, "--csv", str(tmp_path / "r"),
         *args],
        cwd=tmp_path, env=env, stdout=out, stderr=err, stdin=stdin, preexec_fn=preexec_fn,
    )
    return proc


def wait_for(path, text, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} did not appear in {path} within {timeout}s:\n{path.read_text(errors='replace')[-3000:]}")


def finish(proc, bound):
    """Wait for the process at most `bound` seconds (killing it after); returns (exit code, seconds waited)."""
    t0 = time.monotonic()
    try:
        rc = proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"rlocust did not exit within {bound}s") from None
    return rc, time.monotonic() - t0


def hello_count(tmp_path):
    with open(tmp_path / "r_stats.csv", newline="") as f:
        rows = {(r["Type"], r["Name"]): int(r["Request Count"]) for r in csv.DictReader(f)}
    return rows.get(("GET", "/hello"), 0)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_task_that_never_yields_is_stopped_by_a_signal_and_the_listeners_run(tmp_path, host, sig):
    proc = start(tmp_path, host, "busy")
    wait_for(tmp_path / "err.txt", "All users spawned")
    time.sleep(0.5)
    proc.send_signal(sig)
    rc, took = finish(proc, 15)
    assert rc == 0, (tmp_path / "err.txt").read_text()[-3000:]
    assert took < 8, f"took {took:.1f}s"
    out = (tmp_path / "out.txt").read_text()
    assert "MARK test_stop" in out and "MARK quitting" in out, out
    assert hello_count(tmp_path) >= 1
    assert "interrupting it with KeyboardInterrupt" in (tmp_path / "err.txt").read_text()


def test_the_run_time_limit_ends_a_task_that_never_yields(tmp_path, host):
    proc = start(tmp_path, host, "busy", "-t", "2")
    rc, took = finish(proc, 20)
    err = (tmp_path / "err.txt").read_text()
    assert rc == 0, err[-3000:]
    assert "--run-time limit reached, shutting down" in err
    assert "MARK quitting" in (tmp_path / "out.txt").read_text()
    assert hello_count(tmp_path) >= 1


def test_a_task_that_swallows_the_interrupt_is_left_behind_with_the_results_written(tmp_path, host):
    proc = start(tmp_path, host, "swallow")
    wait_for(tmp_path / "err.txt", "All users spawned")
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    rc, took = finish(proc, 20)
    err = (tmp_path / "err.txt").read_text()
    assert rc == 0, err[-3000:]
    assert "still does not respond" in err and "Shutting down (exit code 0)" in err
    assert hello_count(tmp_path) >= 1
    assert "Aggregated" in err, "the final tables are printed"


def test_a_second_signal_writes_the_results_and_exits_at_once(tmp_path, host):
    proc = start(tmp_path, host, "swallow")
    wait_for(tmp_path / "err.txt", "All users spawned")
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    rc, took = finish(proc, 10)
    assert took < 2, f"took {took:.1f}s"
    assert "SIGINT again" in (tmp_path / "err.txt").read_text()
    assert hello_count(tmp_path) >= 1


def test_sigint_inherited_as_ignored_stays_ignored(tmp_path, host):
    proc = start(tmp_path, host, "idle", "-t", "3",
                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    wait_for(tmp_path / "err.txt", "All users spawned")
    proc.send_signal(signal.SIGINT)
    time.sleep(1)
    assert proc.poll() is None, "SIGINT was ignored at start, so it must not stop the run"
    rc, _ = finish(proc, 15)
    assert rc == 0
    assert "--run-time limit reached" in (tmp_path / "err.txt").read_text()


@pytest.mark.parametrize("mode,code", [("exit", 3), ("interrupt", 0)])
def test_sys_exit_and_keyboard_interrupt_in_a_task_end_the_run_with_the_totals_written(tmp_path, host, mode, code):
    proc = start(tmp_path, host, mode, "-t", "10")
    rc, took = finish(proc, 20)
    assert rc == code, (tmp_path / "err.txt").read_text()[-3000:]
    assert took < 8
    assert hello_count(tmp_path) >= 2


def echo_and_canon(fd):
    lflag = termios.tcgetattr(fd)[3]
    return bool(lflag & termios.ECHO), bool(lflag & termios.ICANON)


@pytest.mark.parametrize("how", ["run-time", "abandoned"])
def test_the_terminal_is_restored_after_the_keyboard_controls(tmp_path, host, how):
    """On a terminal stdin is in cbreak mode while the test runs (the keyboard controls), and its settings are
    back when rlocust exits, also when the watchdog abandons a stuck Python thread (an _exit)."""
    master, slave = pty.openpty()
    try:
        assert echo_and_canon(slave) == (True, True)
        if how == "run-time":
            proc = start(tmp_path, host, "idle", "-t", "2", stdin=slave)
        else:
            proc = start(tmp_path, host, "swallow", stdin=slave)
        wait_for(tmp_path / "err.txt", "All users spawned")
        assert echo_and_canon(slave) == (False, False), "keyboard controls need cbreak mode"
        if how == "abandoned":
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
        rc, _ = finish(proc, 15)
        assert echo_and_canon(slave) == (True, True), (tmp_path / "err.txt").read_text()[-2000:]
    finally:
        os.close(master)
        os.close(slave)
