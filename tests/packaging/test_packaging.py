"""Both ways to install rlocust, as a user would (issue: packaging).

1. The wheel (`make wheel`, dist/) installed into a fresh venv next to `locust==2.47.0` and `faker`:
   `rlocust -V`, `python -m rlocust -V` and `locust -V` all work, and a locustfile importing faker and a sibling
   module runs under `rlocust` with `locust.__file__` being rlocust's shim; a plain `pytest` there uses Locust's
   own pytest plugin (rlocust's steps aside).
2. The standalone binary (`target/release/rlocust`) runs `-V` with an empty environment, and runs the same
   locustfile when `VIRTUAL_ENV` points at that venv.

The wheel is built once, by `make wheel`, for this module and test_wheel.py; the venv is made once per session.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).resolve().parent / "project"
BINARY = Path(os.environ.get("RLOCUST_BIN", ROOT / "target/release/rlocust"))


def sh(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 1200)
    return subprocess.run(cmd, **kw)


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel):
    path = Path(os.environ.get("PACKAGING_VENV") or tmp_path_factory.mktemp("venv") / "v")
    if not (path / "bin" / "rlocust").exists():
        r = sh([sys.executable, "-m", "venv", str(path)])
        assert r.returncode == 0, r.stderr
        pip = str(path / "bin" / "pip")
        r = sh([pip, "install", "-q", str(wheel), "faker", "locust==2.47.0", "pytest"])
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return path


def clean_env(**extra):
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    env.update(extra)
    return env


def run_locustfile(cmd, host, tmp_path, env):
    out = tmp_path / "locust_file.txt"
    env = dict(env, PACKAGING_OUT=str(out))
    r = sh(cmd + ["-f", "locustfile.py", "--headless", "-u", "1", "-r", "1", "-t", "2", "-H", host,
                  "--csv", str(tmp_path / "r")], cwd=PROJECT, env=env, timeout=60)
    stats = (tmp_path / "r_stats.csv").read_text() if (tmp_path / "r_stats.csv").exists() else ""
    return r, out.read_text().strip() if out.exists() else None, stats


def test_versions_side_by_side(venv):
    for cmd in ([str(venv / "bin" / "rlocust"), "-V"], [str(venv / "bin" / "python"), "-m", "rlocust", "-V"]):
        r = sh(cmd)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("rlocust 0.1.0") and "Locust 2.47.0" in r.stdout, r.stdout
    r = sh([str(venv / "bin" / "locust"), "-V"])
    assert r.returncode == 0 and r.stdout.startswith("locust 2.47.0"), r.stdout + r.stderr


def test_console_script_runs_locustfile_with_faker_and_sibling_module(venv, host, tmp_path):
    r, locust_file, stats = run_locustfile([str(venv / "bin" / "rlocust")], host, tmp_path,
                                           clean_env(PATH=f"{venv}/bin:/usr/bin:/bin"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert locust_file and locust_file.startswith("<rlocust>/locust/"), locust_file
    assert "POST,/login,1,0" in stats, stats


def test_plain_pytest_with_locust_installed_uses_locusts_plugin(venv, host, tmp_path):
    """Both plugins installed: Locust's serves a plain pytest (real Locust's clients), rlocust's steps aside (no
    second --host)."""
    suite = tmp_path / "suite"
    shutil.copytree(ROOT / "tests/lib/files/suite", suite)
    (suite / "conftest.py").write_text("def pytest_sessionfinish(session):\n    import locust.clients\n"
                                       "    print('clients from', locust.clients.__file__)\n")
    r = sh([str(venv / "bin" / "pytest"), "-q", "-s", "-p", "no:cacheprovider", "test_shop.py", "--host", host],
           cwd=suite, env=clean_env(PATH=f"{venv}/bin:/usr/bin:/bin", VIRTUAL_ENV=str(venv)), timeout=120)
    assert r.returncode == 0 and "3 passed" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"clients from {venv}/lib/" in r.stdout and "site-packages/locust/clients.py" in r.stdout, r.stdout


def test_binary_runs_with_empty_environment(tmp_path):
    assert BINARY.exists(), f"{BINARY} is missing: build with `cargo build --release` first"
    r = sh(["env", "-i", "PATH=/usr/bin:/bin", str(BINARY), "-V"])
    assert r.returncode == 0 and r.stdout.startswith("rlocust 0.1.0"), r.stdout + r.stderr


def test_binary_uses_the_active_virtualenv(venv, host, tmp_path):
    r, locust_file, stats = run_locustfile([str(BINARY)], host, tmp_path, clean_env(VIRTUAL_ENV=str(venv)))
    assert r.returncode == 0, r.stderr[-3000:]
    assert locust_file and locust_file.startswith("<rlocust>/locust/"), locust_file
    assert "POST,/login,1,0" in stats, stats


def test_the_wheel_ships_the_native_modules_stub(venv):
    r = sh([str(venv / "bin" / "python"), "-c", "import os, rlocust; print(os.path.dirname(rlocust.__file__))"])
    assert r.returncode == 0, r.stderr
    package = Path(r.stdout.strip())
    assert (package / "_rlocust.pyi").read_text() == (ROOT / "python/rlocust/_rlocust.pyi").read_text()
    assert (package / "py.typed").exists()
