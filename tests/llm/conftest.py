"""Fixtures of the production-shaped load suite (tests/llm, issue 53): rlocust and rlocust-target as programs on
loopback, each run bounded in time (tests/support/bounded.py) and killed with its session; the small tokenizers kept
under tests/llm/tokenizers (README.md there says where they come from)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.bounded import ROOT, binary, serve_target  # noqa: E402

HERE = Path(__file__).resolve().parent
TOKENIZERS = HERE / "tokenizers"


@pytest.fixture(scope="session")
def rlocust() -> str:
    return binary("RLOCUST_BIN", ROOT / "target/release/rlocust")


@pytest.fixture(scope="module")
def target():
    """rlocust-target on a free loopback port (at most 10 minutes)."""
    yield from serve_target(600)


@pytest.fixture(params=["byte-level", "metaspace"])
def tokenizer_path(request) -> Path:
    """Each test tokenizer's tokenizer.json."""
    return TOKENIZERS / request.param / "tokenizer.json"


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
