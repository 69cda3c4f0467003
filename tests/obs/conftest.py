"""Fixtures of the observability tests (tests/obs): the binaries, the loopback target, a runner for bounded
rlocust/Locust processes, and a real Prometheus server (Debian's `prometheus`) started per test on 127.0.0.1.
Every process is bounded in time and killed with its session at the end."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(env: str, default: Path) -> str:
    path = os.environ.get(env) or str(default)
    if not Path(path).exists():
        pytest.fail(f"{env}: {path} does not exist (run `make build`)")
    return path


@pytest.fixture(scope="session")
def rlocust() -> str:
    return _binary("RLOCUST_BIN", ROOT / "target/release/rlocust")


@pytest.fixture(scope="session")
def target_url():
    binary = _binary("RLOCUST_TARGET_BIN", ROOT / "target/release/rlocust-target")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--max-seconds", "900"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("rlocust-target did not start")
    yield url
    proc.kill()
    proc.wait()


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_"))}
    env.update(extra or {})
    return env


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run(argv: list[str], cwd: Path, timeout: float = 60, env: dict | None = None) -> Run:
    """Run a bounded command to its end (killed with its process group after `timeout`)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env or clean_env(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{argv[:3]} did not end within {timeout} s:\n{err.decode(errors='replace')[-3000:]}")
    return Run(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - t0)


def start(argv: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start a bounded command in the background (stdout/stderr to files in cwd)."""
    return subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=open(cwd / "stdout.txt", "wb"),
                            stderr=open(cwd / "stderr.txt", "wb"), env=env or clean_env(), start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 60) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail("the process did not end in time")


class Prometheus:
    """A real Prometheus server on 127.0.0.1, scraping the given targets every second."""

    def __init__(self, workdir: Path, jobs: list[dict]):
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        if not Path(binary).exists():
            pytest.fail("Debian's prometheus package is not installed (`apt-get install prometheus`)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        lines = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s", "scrape_configs:"]
        for job in jobs:
            lines += [f"  - job_name: {job['name']}", "    static_configs:", f"      - targets: ['{job['target']}']"]
            if job.get("path"):
                lines.append(f"    metrics_path: {job['path']}")
            if job.get("auth"):
                user, password = job["auth"]
                lines += ["    basic_auth:", f"      username: {user}", f"      password: {password}"]
        (workdir / "prometheus.yml").write_text("\n".join(lines) + "\n")
        self.log = open(workdir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.close()
        pytest.fail("prometheus did not become ready:\n" + (workdir / "prometheus.log").read_text()[-2000:])

    def query(self, expr: str) -> list:
        r = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=5)
        r.raise_for_status()
        return r.json()["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def targets(self) -> list:
        return requests.get(self.url + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
