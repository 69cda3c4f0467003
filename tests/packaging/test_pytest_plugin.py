"""The wheel's pytest plugin (entry point `rlocust`, python/rlocust/pytest_plugin.py) under a plain `pytest`.

A fresh venv holds the wheel and pytest, and no Locust: `pytest --host URL` runs the pytest-style suite of
tests/lib/files/suite functionally with the `session`/`fastsession` fixtures on rlocust's engine (checked: the
clients' module is rlocust's, the failing test fails with requests' HTTPError text), a conftest may `import locust`
before any test runs, and a pytest run that never needs the engine neither starts it nor imports gevent. With Locust
installed next to the wheel, Locust's own plugin serves a plain pytest (test_packaging.py).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "lib" / "files" / "suite"


def sh(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, **kw)


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory, wheel, pip_env):
    venv = tmp_path_factory.mktemp("plain") / "venv"
    r = sh([sys.executable, "-m", "venv", str(venv)])
    assert r.returncode == 0, r.stderr
    r = sh([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--only-binary", ":all:", str(wheel), "pytest"],
           env=dict(pip_env, PATH=f"{venv}/bin:/usr/bin:/bin", HOME=os.environ.get("HOME", "/root")))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = sh([str(venv / "bin/python"), "-c", "import locust"])
    assert r.returncode != 0, "this venv must have no Locust"
    return venv


def pytest_in(venv, cwd, *args):
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "VIRTUAL_ENV": str(venv)}
    return sh([str(venv / "bin/pytest"), "-q", "-p", "no:cacheprovider", *args], cwd=cwd, env=env, timeout=120)


def test_plain_pytest_runs_the_suite_on_rlocusts_engine(plain_venv, host, tmp_path):
    suite = tmp_path / "suite"
    shutil.copytree(SUITE, suite)
    # imported by pytest before any test: `import locust` at the top of a conftest works (and starts the engine)
    (suite / "conftest.py").write_text(
        "import locust\n"
        "from locust.clients import HttpSession\n\n\n"
        "def pytest_sessionfinish(session):\n"
        "    import locust.contrib.fasthttp\n"
        "    print('clients from', locust.__file__, HttpSession.__module__, locust.contrib.fasthttp.__file__)\n")
    r = pytest_in(plain_venv, suite, "-s", "test_shop.py", "--host", host)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "3 passed" in r.stdout, r.stdout
    assert "clients from <rlocust>/locust/__init__.py locust.clients <rlocust>/locust/contrib/fasthttp.py" in r.stdout

    r = pytest_in(plain_venv, suite, "test_failing.py", "-H", host)
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert "1 failed" in r.stdout and "500 Server Error: Internal Server Error for url:" in r.stdout, r.stdout

    # no --host: the fixture's base URL is None, as under Locust's plugin (a relative URL is then an error)
    r = pytest_in(plain_venv, suite, "test_shop.py::test_home")
    assert r.returncode == 1 and "1 failed" in r.stdout and "MissingSchema" in r.stdout, r.stdout


def test_plain_pytest_that_never_needs_the_engine_starts_nothing(plain_venv, tmp_path):
    (tmp_path / "test_other.py").write_text(
        "import sys\n\n\n"
        "def test_nothing_loaded():\n"
        "    assert 'rlocust._rlocust' not in sys.modules\n"
        "    assert 'gevent' not in sys.modules and 'locust' not in sys.modules\n")
    r = pytest_in(plain_venv, tmp_path, "test_other.py")
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    # and the plugin can be turned off: then there is no --host
    r = pytest_in(plain_venv, tmp_path, "-p", "no:rlocust", "test_other.py", "--host", "http://127.0.0.1:1")
    assert r.returncode == 4 and "unrecognized arguments: --host" in r.stderr, r.stdout + r.stderr


def test_wheels_launcher_runs_the_suite_with_the_plugin_stepping_aside(plain_venv, host, tmp_path):
    """`rlocust-python -m pytest` from the wheel: the launcher's plugin serves the fixtures, the entry point's
    steps aside (no second --host), and pytest has nothing to warn about (the `rlocust` package the console
    script imported is not one it can rewrite)."""
    suite = tmp_path / "suite"
    shutil.copytree(SUITE, suite)
    env = {"PATH": f"{plain_venv}/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
           "VIRTUAL_ENV": str(plain_venv)}
    r = sh([str(plain_venv / "bin/rlocust-python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_shop.py",
            "--host", host], cwd=suite, env=env, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "3 passed" in r.stdout and "warning" not in r.stdout.lower(), r.stdout
