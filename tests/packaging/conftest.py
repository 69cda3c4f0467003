"""What the packaging tests share: the wheel `make wheel` built, and a target server on 127.0.0.1."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("RLOCUST_TARGET_BIN", ROOT / "target/release/rlocust-target"))


@pytest.fixture(scope="session")
def wheel():
    """The wheel under test: $RLOCUST_WHEEL, else dist/'s wheel for this machine (built once by `make wheel`)."""
    if os.environ.get("RLOCUST_WHEEL"):
        path = Path(os.environ["RLOCUST_WHEEL"])
        assert path.is_file(), f"RLOCUST_WHEEL={path} does not exist"
        return path
    found = sorted((ROOT / "dist").glob(f"rlocust-*_{platform.machine()}.whl"))
    assert len(found) == 1, f"expected one {platform.machine()} wheel in {ROOT / 'dist'}, found {found}: run `make wheel`"
    return found[0]


@pytest.fixture(scope="session")
def host():
    """The URL of an rlocust-target on 127.0.0.1 (it stops by itself after 300 s at the latest)."""
    assert TARGET.exists(), f"{TARGET} is missing: build with `cargo build --release` first"
    p = subprocess.Popen([str(TARGET), "--port", "0", "--max-seconds", "300"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    yield line.strip().rsplit(" ", 1)[-1]
    p.kill()
    p.wait()


@pytest.fixture(scope="session")
def pip_env():
    """The variables pip needs to reach its index from here (proxy, CA bundle, pip's own settings), nothing else."""
    keep = {"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"}
    return {k: v for k, v in os.environ.items() if k.startswith("PIP_") or "proxy" in k.lower() or k in keep}


@pytest.fixture(scope="session")
def wheel_venv(wheel, pip_env, tmp_path_factory):
    """(path, env) of a fresh venv with only the wheel installed (and what it depends on), PATH holding its `bin`;
    shared by the tests that need the wheel alone. A test that changes it puts it back (test_as_locust.py)."""
    venv = tmp_path_factory.mktemp("wheel-only") / "venv"
    r = subprocess.run(["python3", "-m", "venv", str(venv)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    env = dict(pip_env, PATH=f"{venv / 'bin'}:/usr/bin:/bin", HOME=str(venv.parent))
    # from the wheel directory tests/deploy downloads once (kept in .deploy-cache by the wheel's requirements), with
    # no .pyc files written ahead: test_wheel.py measures the install from the index as users get it
    sys.path.insert(0, str(ROOT / "tests/deploy"))
    import images

    house = images.wheelhouse(wheel)
    r = subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-compile", "--no-index",
                        "--find-links", str(house), str(wheel)], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return venv, env
