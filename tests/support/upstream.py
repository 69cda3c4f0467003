"""Where the suites find Locust's own files (its examples, its tests): LOCUST_SRC when it is set (a checkout of
Locust 2.47.0), else ../shared/upstream/locust beside this checkout (Locust's locust/test and examples, unchanged).
A test that needs one of them and finds neither fails, naming both places; it never skips."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = ROOT.parent / "shared" / "upstream" / "locust"


def locust_file(relative: str) -> Path:
    """The path of `relative` (e.g. "examples/extend_web_ui.py") in Locust's sources; AssertionError without them."""
    roots = [Path(os.environ["LOCUST_SRC"])] if os.environ.get("LOCUST_SRC") else []
    roots.append(UPSTREAM)
    for root in roots:
        if (root / relative).is_file():
            return root / relative
    raise AssertionError(f"{relative} of Locust is not in {' nor '.join(map(str, roots))}: set LOCUST_SRC to a "
                         "checkout of Locust 2.47.0")
