"""Fixtures of the security suite (tests/security, issue 51): a loopback attacker against each case of
docs/security.md. The binaries (rlocust, rlocust-target, real Locust 2.47 where interop is the point), bounded runs
(tests/support/bounded.py) and a free loopback port. Every process ends by itself or is killed with its session;
every request loop is bounded in count and time."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.bounded import ROOT, Run, binary, clean_env, finish, free_port, run, serve_target, start  # noqa: E402

HERE = Path(__file__).resolve().parent
__all__ = ["HERE", "ROOT", "Run", "clean_env", "finish", "free_port", "run", "start"]


@pytest.fixture(scope="session")
def rlocust() -> str:
    return binary("RLOCUST_BIN", ROOT / "target/release/rlocust")


@pytest.fixture(scope="session")
def locust_bin() -> str:
    """Real Locust 2.47 (the oracle venv's `locust`)."""
    return binary("LOCUST_BIN", ROOT / ".venv-oracle/bin/locust")


@pytest.fixture(scope="session")
def target_bin() -> str:
    return binary("RLOCUST_TARGET_BIN", ROOT / "target/release/rlocust-target")


@pytest.fixture(scope="module")
def target():
    """rlocust-target on a free loopback port (at most 10 minutes)."""
    yield from serve_target(600)


def rss_kib(pid: int) -> int:
    """A process's resident set now (KiB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_kib(pid: int) -> int:
    """A process's peak resident set so far (KiB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
