"""Fixtures of the observability tests (tests/obs): the binaries, the loopback target, bounded rlocust/Locust
processes (tests/support/bounded.py), and a real Prometheus server (Debian's `prometheus`) started per test on
127.0.0.1. Every process is bounded in time and killed with its session at the end."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.bounded import ROOT, Run, binary, clean_env, finish, free_port, run, serve_target, start  # noqa: E402

HERE = Path(__file__).resolve().parent
__all__ = ["HERE", "ROOT", "Prometheus", "Run", "clean_env", "finish", "free_port", "run", "start"]


@pytest.fixture(scope="session")
def rlocust() -> str:
    return binary("RLOCUST_BIN", ROOT / "target/release/rlocust")


@pytest.fixture(scope="session")
def target_url():
    yield from serve_target(900)


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
