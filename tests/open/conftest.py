"""Fixtures of the open workload tests (tests/open, issue 31): the binaries, a loopback target, and bounded runs
(tests/support/bounded.py)."""

from __future__ import annotations

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
def target_url():
    yield from serve_target(600)
