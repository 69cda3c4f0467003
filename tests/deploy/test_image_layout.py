"""rlocust's image is laid out as locustio/locust:2.47.0 (Locust's Dockerfile): user `locust` (uid 1000) with home
/home/locust as the working directory, /opt/venv first on PATH and owned by that user (a chart's start script
pip-installs into it), `locust` at /opt/venv/bin/locust running rlocust, `rlocust` under its own name, entry point
`locust`, ports 8089 and 5557; and a locustfile's imports of Locust's dependencies resolve in it."""

import json
import re
import sys

import images
from pods import HERE

sys.path.insert(0, str(HERE.parent / "packaging"))
from locustfile_imports import MODULES  # noqa: E402


def test_layout_of_locust_image(image):
    config = json.loads(images.podman("image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "1000" and config["WorkingDir"] == "/home/locust", config
    assert config["Entrypoint"] == ["locust"] and sorted(config["ExposedPorts"]) == ["5557/tcp", "8089/tcp"], config
    assert config["Env"][0].startswith("PATH=/opt/venv/bin:") and "PYTHONUNBUFFERED=1" in config["Env"], config
    assert config["Labels"]["io.rlocust.locust-version"] == "2.47.0", config["Labels"]
    script = ("id -un; id -u; echo $HOME; pwd; command -v locust; command -v rlocust; stat -c %U /opt/venv/bin; "
              "/opt/venv/bin/locust --version; rlocust --version; pip --version | cut -d' ' -f1")
    r = images.podman("run", "--rm", "--network", "none", "--pull=never", "--entrypoint", "sh", image, "-c", script)
    lines = r.stdout.split("\n")
    assert lines[:7] == ["locust", "1000", "/home/locust", "/home/locust", "/opt/venv/bin/locust",
                         "/opt/venv/bin/rlocust", "locust"], r
    # -V says where the program is, as Locust's does: in the wheel, the rlocust package (not the interpreter)
    version = r"rlocust 0\.1\.0 from /opt/venv/lib/python3\.\d+/site-packages/rlocust \(follows Locust 2\.47\.0\)"
    assert re.fullmatch(version, lines[7]) and re.fullmatch(version, lines[8]), r
    r = images.podman("run", "--rm", "--network", "none", "--pull=never", image, "--version")
    assert r.stdout.startswith("rlocust "), r


def test_locustfile_imports_resolve_in_the_image(image):
    code = "import importlib\nfor m in %r:\n    importlib.import_module(m)\nprint('imported', len(%r))" % (MODULES, MODULES)
    r = images.podman("run", "--rm", "--network", "none", "--pull=never", "--entrypoint", "python3", image, "-c", code)
    assert f"imported {len(MODULES)}" in r.stdout, r.stderr
