"""rlocust-python: Locust's other front doors on rlocust's engine, with real files (tests/lib/files) against the
loopback target.

- a script that uses Locust as a library (Environment, create_local_runner, start, quit, runner.greenlet, the web
  UI, stats_printer, stats_history, StatsCSVFileWriter);
- `python locustfile.py` debugging with run_single_user;
- a pytest-style suite under `rlocust-python -m pytest` (functional) and the same files under `rlocust -f`
  (load test), with and without Locust's own pytest plugin installed next to it;
- a plain `python` with Locust installed still imports Locust.

Binaries: RLOCUST_BIN, RLOCUST_PYTHON_BIN, RLOCUST_TARGET_BIN (default: target/release). Real Locust: ORACLE_VENV
(default: .venv-oracle).
"""

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).resolve().parent / "files"
RLOCUST = os.environ.get("RLOCUST_BIN", str(ROOT / "target/release/rlocust"))
LAUNCHER = os.environ.get("RLOCUST_PYTHON_BIN", str(ROOT / "target/release/rlocust-python"))
TARGET = os.environ.get("RLOCUST_TARGET_BIN", str(ROOT / "target/release/rlocust-target"))
ORACLE = Path(os.environ.get("ORACLE_VENV", str(ROOT / ".venv-oracle")))


@pytest.fixture(scope="module")
def target():
    for binary in (RLOCUST, LAUNCHER, TARGET):
        assert os.path.exists(binary), f"{binary} is missing: build with `cargo build --release` first"
    proc = subprocess.Popen([TARGET, "--port", "0", "--max-seconds", "120"], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().split()[-1]  # "rlocust-target listening on URL"
    assert url.startswith("http://127.0.0.1:"), url
    yield url
    proc.kill()
    proc.wait()


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "PYTEST_", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


def _run(argv, timeout=60, **env):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=_env(**env), cwd=FILES)


def test_use_as_lib(target, tmp_path):
    prefix = tmp_path / "lib"
    proc = _run([LAUNCHER, "use_as_lib.py"], TARGET_URL=target, RUN_SECONDS="2.5", CSV_PREFIX=str(prefix))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out, err = proc.stdout, proc.stderr
    # Locust's runner log lines at INFO, and the periodic table of stats_printer (every 2 s: at least twice)
    assert "INFO/locust.runners: Ramping to 4 users at a rate of 20.00 per second" in err, err
    assert "All users spawned: {\"MyUser\": 4} (4 total users)" in err, err
    assert err.count("Type     Name") >= 2, err
    assert "GET      /status/[code]" in err, err
    assert "state stopped users 0" in out, out
    assert "events test_start,test_stop" in out, out
    assert "rows ['GET /', 'GET /status/[code]']" in out, out
    requests, failures = (int(x) for x in out.split("requests ")[1].split()[0:3:2])
    assert requests > 20 and 0 < failures < requests, out
    with open(f"{prefix}_stats.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["Name"] for r in rows] == ["/", "/status/[code]", "Aggregated"], rows
    assert int(rows[-1]["Request Count"]) == requests
    with open(f"{prefix}_failures.csv") as f:
        failures_rows = list(csv.DictReader(f))
    assert [(r["Method"], r["Name"]) for r in failures_rows] == [("GET", "/status/[code]")], failures_rows
    assert "404 Client Error" in failures_rows[0]["Error"]
    history = Path(f"{prefix}_stats_history.csv").read_text().splitlines()
    assert history[0].startswith("Timestamp,User Count,Type,Name,Requests/s") and len(history) > 2, history


def test_use_as_lib_web_ui(target, tmp_path):
    """The web UI a script creates serves Locust's API for its runner (started from the API, stopped from it)."""
    script = tmp_path / "web.py"
    script.write_text(f"""
import json, urllib.request
import gevent
from locust import HttpUser, task, constant
from locust.env import Environment

class WebUser(HttpUser):
    host = {target!r}
    wait_time = constant(0.05)
    @task
    def t(self):
        self.client.get("/hello")

env = Environment(user_classes=[WebUser])
runner = env.create_local_runner()
web_ui = env.create_web_ui("127.0.0.1", 0)
base = "http://127.0.0.1:%d" % web_ui.port

def api(path, data=None):
    req = urllib.request.Request(base + path, data=data)
    return urllib.request.urlopen(req, timeout=10).read()

def drive():
    api("/swarm", b"user_count=2&spawn_rate=10")
    gevent.sleep(1.0)
    stats = json.loads(api("/stats/requests"))
    print("ui", stats["state"], stats["user_count"], [s["name"] for s in stats["stats"]])
    runner.quit()

gevent.spawn(drive)
runner.greenlet.join()
print("after", runner.state)
""")
    proc = _run([LAUNCHER, str(script)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ui running 2 ['/hello', 'Aggregated']" in proc.stdout, proc.stdout + proc.stderr
    assert "after stopped" in proc.stdout


def test_debugging_run_single_user(target):
    proc = _run([LAUNCHER, "debugging.py"], TARGET_URL=target, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "running User1", lines
    assert lines[-1] == "done!", lines
    # PrintListener: a header, then one tab-separated line per request (as Locust prints them)
    header = [line for line in lines if line.startswith("type\tname")]
    assert len(header) == 1, lines
    gets = [line.split("\t") for line in lines if line.startswith("GET\t")]
    assert [g[1].strip() for g in gets] == ["/hello", "/status/500"], lines
    assert "HTTPError('500 Server Error" in gets[1][-2] or "500 Server Error" in lines[-2], lines


def test_debugging_host_from_command_line(target, tmp_path):
    """Locust's run_single_user parses the script's command line: `-H` gives the host."""
    script = tmp_path / "dbg.py"
    script.write_text("""
from locust import HttpUser, run_single_user, task
from locust.exception import StopUser

class U(HttpUser):
    @task
    def t(self):
        self.client.get("/world")
        raise StopUser()

if __name__ == "__main__":
    run_single_user(U)
    print("host", U.host)
""")
    proc = _run([LAUNCHER, str(script), "-H", target], timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"host {target}" in proc.stdout, proc.stdout
    assert "GET\t/world" in proc.stdout, proc.stdout


def test_pytest_suite_functional(target):
    proc = _run([LAUNCHER, "-m", "pytest", "-q", "-p", "no:cacheprovider", "suite/test_shop.py", "--host", target])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout, proc.stdout
    failing = _run([LAUNCHER, "-m", "pytest", "-q", "-p", "no:cacheprovider", "suite/test_failing.py", "-H", target])
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "1 failed" in failing.stdout and "500 Server Error" in failing.stdout, failing.stdout


def test_pytest_suite_with_locusts_plugin_installed(target, tmp_path):
    """With real Locust (and its pytest11 entry point) in the active virtualenv, pytest under the launcher loads
    the plugin once, from rlocust (no duplicate --host), and the fixtures use rlocust's clients."""
    assert (ORACLE / "bin" / "locust").exists(), f"no Locust in {ORACLE} (ORACLE_VENV; `make .venv-oracle/bin/locust`)"
    suite = tmp_path / "suite"
    shutil.copytree(FILES / "suite", suite)
    (suite / "conftest.py").write_text("def pytest_sessionfinish(session):\n    import locust.clients\n"
                                       "    print('clients from', locust.clients.__file__)\n")
    proc = subprocess.run([LAUNCHER, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_shop.py",
                           "--host", target], capture_output=True, text=True, timeout=60,
                          env=_env(VIRTUAL_ENV=str(ORACLE)), cwd=suite)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout and "clients from <rlocust>/locust/clients.py" in proc.stdout, proc.stdout


def test_pytest_suite_as_load_test(target, tmp_path):
    """The same files under `rlocust -f`: one user class per test function, Locust's request names and failure
    rows (as Locust 2.47 gives them for these files)."""
    prefix = tmp_path / "load"
    proc = _run([RLOCUST, "-f", "suite/test_shop.py,suite/test_failing.py", "--headless", "-u", "4", "-r", "4",
                 "-t", "2s", "-H", target, "--csv", str(prefix), "--only-summary"])
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the failing test's requests fail
    with open(f"{prefix}_stats.csv") as f:
        names = sorted((r["Type"], r["Name"]) for r in csv.DictReader(f))
    assert names == [("", "Aggregated"), ("GET", "/"), ("GET", "/hello"), ("GET", "/json"),
                     ("GET", "/status/500"), ("GET", "/status/[code]")], names
    with open(f"{prefix}_failures.csv") as f:
        failures = [(r["Method"], r["Name"], r["Error"]) for r in csv.DictReader(f)]
    assert failures == [("GET", "/status/500", "HTTPError('500 Server Error: Internal Server Error for url: /status/500')")], failures


def test_plain_python_keeps_real_locust():
    """rlocust's `locust` exists only under its launchers: the same interpreter's plain `python` imports the
    installed Locust, and rlocust-python (with that virtualenv active) the shim."""
    assert (ORACLE / "bin" / "python").exists(), f"no Locust in {ORACLE} (ORACLE_VENV; `make .venv-oracle/bin/locust`)"
    code = "import locust, sys; print(locust.__file__); print(locust.__version__)"
    plain = subprocess.run([str(ORACLE / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60,
                           env=_env())
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines()[0].startswith(str(ORACLE)), plain.stdout
    ours = _run([LAUNCHER, "-c", code], VIRTUAL_ENV=str(ORACLE))
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == ["<rlocust>/locust/__init__.py", "2.47.0"], ours.stdout


def test_launcher_errors():
    missing = _run([LAUNCHER, "no_such_script.py"])
    assert missing.returncode == 2 and "can't open file" in missing.stderr, missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    bad = _run([LAUNCHER, "-X", "dev"])
    assert bad.returncode == 2 and "unknown option -X" in bad.stderr, bad.stderr
    nothing = _run([LAUNCHER])
    assert nothing.returncode == 2 and "nothing to run" in nothing.stderr, nothing.stderr
    raising = _run([LAUNCHER, "-c", "import sys; sys.exit(3)"])
    assert raising.returncode == 3, raising.stderr
    error = _run([LAUNCHER, "-c", "1/0"])
    assert error.returncode == 1 and error.stderr.strip().endswith("ZeroDivisionError: division by zero"), error.stderr
    assert "_rlocust_launch" not in error.stderr and "runpy" not in error.stderr, error.stderr


def test_module_argv_and_path(tmp_path):
    (tmp_path / "mymod.py").write_text("import sys\nprint(sys.argv)\nprint(__name__)\n")
    proc = subprocess.run([LAUNCHER, "-m", "mymod", "a", "b"], capture_output=True, text=True, timeout=60,
                          env=_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [repr([str(tmp_path / "mymod.py"), "a", "b"]), "__main__"], proc.stdout


def test_each_new_environment_starts_with_empty_statistics(target):
    """Side by side with Locust 2.47: a second Environment's statistics do not show the first one's rows."""
    ours = _run([LAUNCHER, "two_environments.py", target])
    assert ours.returncode == 0, ours.stdout + ours.stderr
    assert "second, new: [] 0" in ours.stdout, ours.stdout
    assert (ORACLE / "bin" / "python").exists(), f"no Locust in {ORACLE} (ORACLE_VENV; `make .venv-oracle/bin/locust`)"
    theirs = _run([str(ORACLE / "bin" / "python"), "two_environments.py", target])
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert ours.stdout.splitlines() == theirs.stdout.splitlines(), (ours.stdout, theirs.stdout)


def test_parser_and_entry_module_api(tmp_path):
    """Side by side with Locust 2.47: `get_parser()` with the built-in options (command line, config files in place
    of the default ones, LOCUST_* variables, parse_known_args, usage errors, --help with a locustfile's options),
    `ui_extra_args_dict`, `parse_locustfile_paths`, `locust.main.load_locustfile`/`create_environment`,
    `locust.html.process_html_filename` and `locust.util.url.is_url` print the same."""
    (tmp_path / "ours").mkdir()
    ours = _run([LAUNCHER, "parser_api.py", str(tmp_path / "ours")])
    assert ours.returncode == 0, ours.stdout + ours.stderr
    assert "command line: [('host', 'http://127.0.0.1:1'), ('num_users', 7)" in ours.stdout, ours.stdout
    assert "['--unknown-flag-print-stats'] exit 2 | did you mean: True" in ours.stdout, ours.stdout
    assert (ORACLE / "bin" / "python").exists(), f"no Locust in {ORACLE} (ORACLE_VENV; `make .venv-oracle/bin/locust`)"
    (tmp_path / "theirs").mkdir()
    theirs = _run([str(ORACLE / "bin" / "python"), "parser_api.py", str(tmp_path / "theirs")])
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert ours.stdout.splitlines() == theirs.stdout.splitlines(), (ours.stdout, theirs.stdout)
