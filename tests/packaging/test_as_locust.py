"""rlocust as `locust`, opt-in (issue 26): `python -m rlocust.as_locust` makes a venv without Locust answer as
Locust, and nothing else does.

- Installing the wheel alone gives no `locust` command and no importable `locust` in a plain `python` (never the
  default; test_wheel.py checks that real Locust next to it stays Locust).
- After the step: `locust` runs rlocust, `pip list` shows `locust 2.47.0+rlocust.<version>`, a plain `python`
  imports rlocust's `locust`, and a script that adds listeners to `events.init`, `events.request` and
  `events.quitting` and then calls `locust.main.main()` (what Taurus's wrapper does) runs the test on rlocust with
  every listener called: the requests its listener counted are the requests the target served.
- `pip uninstall locust` undoes it; where real Locust is installed the step is refused with one line and writes
  nothing.
- Taurus itself (pip `bzt`, in .venv-bzt, pinned in requirements-bzt.txt): its Locust executor finds "locust" with
  `pip list`, runs its wrapper with the venv's python, and reads the JTL the wrapper's `events.request` listener
  writes; every row is a request the target served.
"""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COUNTING_TARGET = ROOT / "tests/deploy/target_server.py"
BZT_VENV = Path(os.environ.get("BZT_VENV", ROOT / ".venv-bzt"))
ORACLE_PYTHON = Path(os.environ.get("LOCUST_BIN", ROOT / ".venv-oracle/bin/locust")).with_name("python")

LOCUSTFILE = """\
from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.05)

    @task
    def visit(self):
        self.client.get("/hello")
"""

# What Taurus's wrapper (bzt/resources/locustio-taurus-wrapper.py) does, written for this test: listeners on
# Locust's events, then Locust's own command line from `locust.main`.
WRAPPER = """\
import sys

from locust import events, main
from locust.exception import StopUser
from requests.exceptions import HTTPError

seen = {"requests": 0, "quitting": 0, "runner": None}


def on_init(**kw):
    seen["runner"] = type(kw.get("runner")).__name__


def on_request(request_type, name, response_time, exception, response_length=0, **kw):
    seen["requests"] += 1


def on_quitting(**kw):
    seen["quitting"] += 1
    print(f"wrapper saw {seen['requests']} requests, quitting {seen['quitting']}, runner {seen['runner']}",
          file=sys.stderr)


assert StopUser and HTTPError
events.init.add_listener(on_init)
events.request.add_listener(on_request)
events.quitting.add_listener(on_quitting)
main.main()
print("main.main() returned", file=sys.stderr)
"""


def sh(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run([str(c) for c in cmd], **kw)


@pytest.fixture
def counting_target(tmp_path):
    """(URL, served()) of a counting HTTP server on 127.0.0.1 (it stops by itself after 120 s)."""
    import json
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, str(COUNTING_TARGET), str(port), "120"], stdout=subprocess.PIPE, text=True)
    assert "listening" in p.stdout.readline()
    url = f"http://127.0.0.1:{port}"

    def served():
        with urllib.request.urlopen(url + "/__count", timeout=10) as r:
            return sum(json.loads(r.read()).values())

    yield url, served
    p.kill()
    p.wait()


def test_never_the_default_then_one_step_answers_as_locust_and_pip_undoes_it(wheel_venv, counting_target, tmp_path):
    path, env = wheel_venv
    url, served = counting_target
    py = path / "bin/python"
    assert not (path / "bin/locust").exists()
    r = sh([py, "-c", "import locust"], env=env)
    assert r.returncode == 1 and "No module named 'locust'" in r.stderr, r.stderr

    r = sh([py, "-m", "rlocust.as_locust"], env=env)
    assert r.returncode == 0 and r.stdout.count("\n") == 1 and "now answers as Locust 2.47.0" in r.stdout, r
    assert sh([py, "-m", "rlocust.as_locust"], env=env).returncode == 0  # again: replaced, not doubled
    listed = sh([py, "-m", "pip", "list", "--format", "freeze"], env=env).stdout
    assert "locust==2.47.0+rlocust." in listed, listed
    r = sh([path / "bin/locust", "--version"], env=env)
    assert r.returncode == 0 and r.stdout.startswith("rlocust ") and "follows Locust 2.47.0" in r.stdout, r
    r = sh([py, "-c", "import locust; print(locust.__file__, locust.__version__)"], env=env)
    assert r.stdout.split() == ["<rlocust>/locust/__init__.py", "2.47.0"], r

    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    (tmp_path / "wrapper.py").write_text(WRAPPER)
    r = sh([py, "wrapper.py", "-f", "locustfile.py", "--headless", "--only-summary", "--users=2", "--spawn-rate=2",
            "--run-time=2", "--stop-timeout=10", f"--host={url}", "--csv", "out"], cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "main.main() returned" not in r.stderr  # Locust's main() ends the process, as here
    n = served()
    assert n > 10 and f"wrapper saw {n} requests, quitting 1, runner LocalRunner" in r.stderr, (n, r.stderr[-2000:])
    rows = {row["Name"]: row for row in csv.DictReader((tmp_path / "out_stats.csv").open())}
    assert int(rows["Aggregated"]["Request Count"]) == n, rows["Aggregated"]

    r = sh([path / "bin/locust", "-f", "locustfile.py", "--headless", "-u", "1", "-r", "1", "-t", "1s", "-H", url],
           cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 0 and "rlocust 0.1.0" in r.stderr, r.stderr[-2000:]

    # a plain `pytest` there still gets the wheel's pytest plugin (its fixtures need the engine started)
    (tmp_path / "test_functional.py").write_text("def test_get(session):\n    assert session.get('/a').status_code == 200\n")
    r = sh([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_functional.py", "--host", url], cwd=tmp_path,
           env=env, timeout=120)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]

    r = sh([py, "-m", "pip", "uninstall", "-y", "locust"], env=env)
    assert r.returncode == 0, r.stderr
    assert not (path / "bin/locust").exists()
    assert sh([py, "-c", "import locust"], env=env).returncode == 1
    r = sh([py, "-m", "rlocust.as_locust", "--undo"], env=env)
    assert r.returncode == 0 and "nothing to undo" in r.stdout, r


def test_refused_with_one_line_where_real_locust_is_installed(wheel_venv):
    """Run with the oracle venv's interpreter (real Locust 2.47 installed there) and rlocust on its path: refused,
    and nothing written into that venv."""
    path, env = wheel_venv
    assert ORACLE_PYTHON.exists(), f"{ORACLE_PYTHON} is missing: make .venv-oracle/bin/locust"
    site = next((path / "lib").glob("python3.*/site-packages"))
    oracle_site = Path(sh([ORACLE_PYTHON, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    before = sorted(p.name for p in oracle_site.iterdir())
    r = sh([ORACLE_PYTHON, "-m", "rlocust.as_locust"], env=dict(env, PYTHONPATH=str(site)))
    assert r.returncode == 1 and r.stdout == "", r
    assert r.stderr.count("\n") == 1 and "Locust 2.47.0 is installed in" in r.stderr, r.stderr
    assert "pip uninstall locust" in r.stderr
    assert sorted(p.name for p in oracle_site.iterdir()) == before
    assert not (ORACLE_PYTHON.parent / "locust").read_text().count("rlocust")


def test_taurus_locust_executor_runs_on_rlocust(wheel, pip_env, counting_target, tmp_path):
    bzt = BZT_VENV / "bin/bzt"
    assert bzt.exists(), f"{bzt} is missing: make .venv-bzt/.installed (requirements-bzt.txt)"
    py = BZT_VENV / "bin/python"
    env = dict(pip_env, HOME=str(tmp_path), PATH=f"{BZT_VENV / 'bin'}:/usr/bin:/bin")
    # the wheel with what it needs, then this build of it again (the version does not change between builds)
    for extra in ([], ["--force-reinstall", "--no-deps"]):
        r = sh([py, "-m", "pip", "install", "-q", "--no-compile", "--only-binary", ":all:", *extra, wheel], env=env,
               timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
    r = sh([py, "-m", "rlocust.as_locust"], env=env)
    assert r.returncode == 0, r.stderr

    url, served = counting_target
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    artifacts = tmp_path / "artifacts"
    (tmp_path / "bzt.yml").write_text(f"""\
execution:
- executor: locust
  concurrency: 2
  ramp-up: 1s
  hold-for: 3s
  scenario: visit
scenarios:
  visit:
    default-address: {url}
    script: {tmp_path / 'locustfile.py'}
settings:
  check-updates: false
  artifacts-dir: {artifacts}
modules:
  console:
    disable: true
""")
    r = sh([bzt, "-o", "settings.check-updates=false", "bzt.yml"], cwd=tmp_path, env=env, timeout=180)
    log = (artifacts / "locust.log").read_text() if (artifacts / "locust.log").exists() else ""
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:] + log[-2000:]
    assert "Starting Locust 2.47.0 (rlocust " in log, log[-2000:]
    # bzt found "locust" with pip and installed nothing of its own
    assert "pip-installer cmdline" not in (artifacts / "bzt.log").read_text()
    rows = list(csv.DictReader((artifacts / "kpi.jtl").open()))
    n = served()
    assert n > 10 and len(rows) == n, (n, len(rows))
    assert {row["label"] for row in rows} == {"/hello"} and {row["success"] for row in rows} == {"true"}
    assert "Samples count: %d, 0.00%% failures" % n in r.stdout + r.stderr, r.stdout[-2000:]
