"""The container image's recipe (Dockerfile), as text: linted with hadolint (requirements-test.txt) and checked
against its promises. The image itself is built and run by tests/deploy (podman, a Debian base made with
mmdebstrap): the layout of locustio/locust:2.47.0 and each launcher's pod spec.
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


def test_dockerfile_is_locust_images_layout_with_the_wheel():
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "ARG BASE=python:3.13-slim" and lines[1] == "FROM ${BASE}", lines[:2]  # Locust's base
    assert "COPY dist/rlocust-*.whl /tmp/wheels/" in lines
    assert 'ENV PATH="/opt/venv/bin:$PATH" \\' in lines and any("PYTHONUNBUFFERED=1" in line for line in lines)
    assert "python3 -m venv /opt/venv" in text and "/opt/venv/bin/python -m rlocust.as_locust" in text
    assert "useradd --create-home --uid 1000 locust" in text and "chown -R locust /opt/venv" in text
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    assert user == "1000", user
    assert "WORKDIR /home/locust" in lines and "EXPOSE 8089 5557" in lines and lines[-1] == 'ENTRYPOINT ["locust"]'
    # the labels say which rlocust and which Locust it is
    version = re.search(r'^version = "(.*)"$', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
    assert f'org.opencontainers.image.version="{version}"' in text and 'io.rlocust.locust-version="2.47.0"' in text
    # The build context is the wheel alone.
    assert (ROOT / ".dockerignore").read_text().split("\n", 2)[1:] == ["*", "!dist/*.whl\n"]
