"""A locustfile's own imports resolve as under Locust, in a venv that has only rlocust's wheel (issue 26).

`pip install locust==2.47.0` brings requests, pytest, flask, psutil, pyzmq, python-socketio… and locustfiles import
some of them themselves (locustfile_imports.py lists which, and why). After `pip install rlocust` alone, in a fresh
venv with nothing else, every one of them imports, and a locustfile that uses them runs under `rlocust`. The same
names import next to real Locust 2.47 (the oracle venv), so the list stays true to Locust.
"""

import os
import subprocess
from pathlib import Path

from locustfile_imports import MODULES

ORACLE_PYTHON = Path(os.environ.get("LOCUST_BIN", Path(__file__).resolve().parents[2] / ".venv-oracle/bin/locust")).with_name("python")

LOCUSTFILE = """\
import psutil
import requests
import urllib3
from requests.auth import HTTPBasicAuth
from requests.exceptions import HTTPError

from locust import HttpUser, constant, events, task

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


@events.test_start.add_listener
def _(environment, **kw):
    # a token fetched with requests before the test, as public locustfiles do
    r = requests.get(environment.host + "/basic-auth/u/p", auth=HTTPBasicAuth("u", "p"), timeout=10)
    r.raise_for_status()
    print("token fetched", r.status_code, psutil.Process().pid > 0, HTTPError.__name__)


class Reader(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")
"""


def check_script(modules):
    return "import importlib\nfor m in %r:\n    importlib.import_module(m)\nprint('imported', len(%r))\n" % (modules, modules)


def test_locust_dependencies_that_locustfiles_import_resolve_in_a_wheel_only_venv(wheel_venv):
    venv, env = wheel_venv
    listed = subprocess.run([str(venv / "bin/python"), "-m", "pip", "list", "--format", "freeze"], env=env,
                            capture_output=True, text=True, timeout=60).stdout
    real = [line for line in listed.lower().splitlines() if line.startswith("locust==") and "+rlocust" not in line]
    assert not real, f"the wheel must not bring Locust itself: {real}"
    r = subprocess.run([str(venv / "bin/python"), "-c", check_script(MODULES)], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and f"imported {len(MODULES)}" in r.stdout, r.stderr[-3000:]


def test_the_same_modules_come_with_real_locust():
    assert ORACLE_PYTHON.exists(), f"{ORACLE_PYTHON} is missing: make .venv-oracle/bin/locust"
    r = subprocess.run([str(ORACLE_PYTHON), "-c", check_script(MODULES)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and f"imported {len(MODULES)}" in r.stdout, r.stderr[-3000:]


def test_a_locustfile_using_them_runs_under_rlocust(wheel_venv, host, tmp_path):
    venv, env = wheel_venv
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    r = subprocess.run([str(venv / "bin/rlocust"), "-f", "locustfile.py", "--headless", "-u", "2", "-r", "2", "-t",
                        "2s", "-H", host, "--csv", "out"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "token fetched 200 True HTTPError" in r.stdout + r.stderr, r.stdout[-2000:] + r.stderr[-2000:]
    total = next(line.split(",") for line in (tmp_path / "out_stats.csv").read_text().splitlines()
                 if ",Aggregated," in line)
    assert int(total[2]) >= 10 and int(total[3]) == 0, total
