"""Fixtures of the capacity search suite (tests/search, issue 52): rlocust and rlocust-target as programs, on
loopback, each run bounded in time (tests/support/bounded.py) and killed with its session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.bounded import ROOT, binary, serve_target  # noqa: E402

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def rlocust() -> str:
    return binary("RLOCUST_BIN", ROOT / "target/release/rlocust")


@pytest.fixture(scope="module")
def target():
    """rlocust-target on a free loopback port (at most 10 minutes)."""
    yield from serve_target(600)


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
