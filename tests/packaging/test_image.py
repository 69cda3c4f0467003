"""The container image's recipe (Dockerfile).

No image is built here: CI has no container engine and no image registry is reachable from it (a builder
could not pull the python:3.12-slim base), so the Dockerfile is linted with hadolint (requirements-test.txt)
and its promises are checked as text: built from the wheel alone, a non-root numeric user, `rlocust` as the
entry point, the web UI and master ports exposed. What the image runs is what test_wheel.py installs and runs.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def hadolint():
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert os.access(found, os.X_OK), "hadolint is missing: `make deps` installs it (requirements-test.txt)"
    return found


def test_dockerfile_passes_hadolint():
    r = subprocess.run([hadolint(), "--no-color", "--failure-threshold", "info", str(ROOT / "Dockerfile")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_dockerfile_installs_the_wheel_as_a_non_root_user_with_rlocust_as_entry_point():
    lines = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line and not line.startswith("#")]
    instructions = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert instructions[0] == "FROM" and instructions[-1] == "ENTRYPOINT", instructions
    assert re.search(r"^FROM python:3\.1[1-9]-slim$", lines[0]), lines[0]
    assert "COPY dist/rlocust-*.whl /tmp/wheels/" in lines
    assert any("pip install --no-cache-dir /tmp/wheels/rlocust-*.whl" in line for line in lines), lines
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    assert user.isdigit() and user != "0", user
    assert "EXPOSE 8089 5557" in lines and lines[-1] == 'ENTRYPOINT ["rlocust"]', lines
    # The build context is the wheel alone.
    assert (ROOT / ".dockerignore").read_text().split("\n", 2)[1:] == ["*", "!dist/*.whl\n"]

