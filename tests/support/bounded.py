"""Bounded processes for the suites that run rlocust and Locust as programs (tests/open, tests/obs): free loopback
ports, the binaries named by the environment, the loopback target, and runs that end by themselves. Every process
runs in its own session and is killed with it when it outlives its time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(env: str, default: Path) -> str:
    """The program the environment variable `env` names (else `default`); the test fails when it is missing."""
    path = os.environ.get(env) or str(default)
    if not Path(path).exists():
        pytest.fail(f"{env}: {path} does not exist (run `make build`)")
    return path


def start_target(max_seconds: float, args: list | tuple = ()) -> tuple[subprocess.Popen, str]:
    """rlocust-target on a free loopback port for at most `max_seconds`, with `args` (e.g. `--llm-slots 8`), once it
    answers: its process (the caller kills it) and its URL."""
    program = binary("RLOCUST_TARGET_BIN", ROOT / "target/release/rlocust-target")
    port = free_port()
    proc = subprocess.Popen([program, "--port", str(port), "--max-seconds", str(max_seconds), *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/", timeout=1)
            return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    pytest.fail("rlocust-target did not start")


def serve_target(max_seconds: int, args: list | tuple = ()) -> Iterator[str]:
    """rlocust-target on a free loopback port for at most `max_seconds`: yields its URL (a fixture's body)."""
    proc, url = start_target(max_seconds, args)
    yield url
    proc.kill()
    proc.wait()


def clean_env(extra: dict | None = None) -> dict:
    """This process's environment without LOCUST_*/RLOCUST_* variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_"))}
    env.update(extra or {})
    return env


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run(argv: list, cwd: Path, timeout: float = 60, env: dict | None = None) -> Run:
    """Run a bounded command to its end (killed with its process group after `timeout`)."""
    t0 = time.monotonic()
    proc = subprocess.Popen([str(a) for a in argv], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env or clean_env(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{argv[:3]} did not end within {timeout} s:\n{err.decode(errors='replace')[-3000:]}")
    return Run(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - t0)


def start(argv: list, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start a bounded command in the background (stdout/stderr to files in cwd)."""
    return subprocess.Popen([str(a) for a in argv], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=open(cwd / "stdout.txt", "wb"), stderr=open(cwd / "stderr.txt", "wb"),
                            env=env or clean_env(), start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 60) -> int:
    """Wait for a started command; killed with its process group (and the test failed) after `timeout`."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail("the process did not end in time")
