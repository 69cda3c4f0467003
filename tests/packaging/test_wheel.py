"""The wheel, installed where no Rust toolchain exists (issue 16).

`make wheel` builds dist/rlocust-<version>-cp311-abi3-manylinux_2_34_<arch>.whl from the sdist, as pip would, so
the sdist is proven to build; this module checks what came out:

- its tags and its extension module: abi3 for CPython 3.11+, the manylinux policy the README states, no link to
  libpython, and no glibc symbol newer than that policy allows;
- installed into a fresh venv of CPython 3.11 and of the newest CPython found here (one abi3 wheel serves both),
  with PATH holding only that venv's bin directory (no cargo, no rustc, no compiler) and `--only-binary :all:`
  (pip may not build anything), the console script and `python -m rlocust` run a locustfile headless against
  rlocust-target and the CSV counts the requests; the `rlocust-python` console script runs a script with
  `run_single_user` on the same engine.

The install time is printed (`pytest -rP` shows it); it is a few seconds, the README quotes it.
"""

import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

MANYLINUX = "manylinux_2_34"  # the README's glibc floor (2.34) and the Makefile's MANYLINUX
GLIBC_FLOOR = (2, 34)

LOCUSTFILE = """\
from locust import HttpUser, constant, task


class Reader(HttpUser):
    wait_time = constant(0.1)

    @task(3)
    def index(self):
        self.client.get("/")

    @task
    def item(self):
        self.client.get("/items/7", name="/items/[id]")
"""

DEBUGGING = """\
from locust import HttpUser, run_single_user, task
from locust.exception import StopUser


class Once(HttpUser):
    @task
    def item(self):
        self.client.get("/items/7")
        raise StopUser()


if __name__ == "__main__":
    import locust
    print("locust from", locust.__file__)
    run_single_user(Once)
"""


def sh(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, **kw)


def newest_other_python():
    """The newest CPython after 3.11 on this machine (on PATH, or one of pyenv's) other than the running one."""
    candidates = [shutil.which(f"python3.{minor}") for minor in (14, 13, 12)]
    root = shutil.which("pyenv") and sh(["pyenv", "root"]).stdout.strip()
    if root:
        for minor in (14, 13, 12):
            candidates += sorted(glob.glob(f"{root}/versions/3.{minor}.*/bin/python3"), reverse=True)
    for exe in filter(None, candidates):
        r = sh([exe, "-c", "import sys; print(sys.implementation.name, *sys.version_info[:2])"], timeout=30)
        name, *version = (r.stdout.split() or ["?"]) if r.returncode == 0 else ["?"]
        found = tuple(map(int, version))
        if name == "cpython" and found > (3, 11) and found != sys.version_info[:2]:
            return exe
    return None


PYTHONS = [pytest.param(sys.executable, id="python-" + ".".join(map(str, sys.version_info[:2])))]
if (_other := newest_other_python()) is not None:
    PYTHONS.append(pytest.param(_other, id="newest-" + Path(_other).resolve().name))


def glibc_versions(path):
    """The GLIBC_x.y symbol versions a shared object or executable needs (readelf's version-needs section)."""
    r = sh(["readelf", "-V", "-W", str(path)])
    assert r.returncode == 0, r.stderr
    return {tuple(map(int, v.split("."))) for v in re.findall(r"Name: GLIBC_([0-9.]+)", r.stdout)}


def needed_libraries(path):
    r = sh(["readelf", "-d", "-W", str(path)])
    assert r.returncode == 0, r.stderr
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout))


def test_wheel_tags_and_extension_module(wheel, tmp_path):
    assert re.fullmatch(rf"rlocust-[0-9.]+-cp311-abi3-{MANYLINUX}_{platform.machine()}\.whl", wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "rlocust/_rlocust.abi3.so" in names, names
        z.extract("rlocust/_rlocust.abi3.so", tmp_path)
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Python: >=3.11" in metadata, metadata
    module = tmp_path / "rlocust/_rlocust.abi3.so"
    libs = needed_libraries(module)
    assert not any(lib.startswith("libpython") for lib in libs), libs
    system = {"libc.so.6", "libm.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2", "librt.so.1"}
    assert all(lib in system or lib.startswith("ld-linux") for lib in libs), libs
    assert max(glibc_versions(module)) <= GLIBC_FLOOR, sorted(glibc_versions(module))


@pytest.mark.parametrize("python", PYTHONS)
def test_wheel_installs_and_runs_without_a_rust_toolchain(python, wheel, host, pip_env, tmp_path):
    venv = tmp_path / "venv"
    r = sh([python, "-m", "venv", str(venv)])
    assert r.returncode == 0, r.stderr
    env = dict(pip_env, PATH=str(venv / "bin"), HOME=os.environ.get("HOME", str(tmp_path)), VIRTUAL_ENV=str(venv))
    # Nothing that could compile Rust (or C) is reachable, from here or from inside the venv's Python.
    for tool in ("cargo", "rustc", "cc", "gcc"):
        assert shutil.which(tool, path=env["PATH"]) is None, tool
    r = sh([str(venv / "bin/python"), "-c", "import shutil; print(shutil.which('cargo'), shutil.which('rustc'))"],
           env=env)
    assert r.stdout.split() == ["None", "None"], r.stdout + r.stderr

    started = time.monotonic()
    r = sh([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--only-binary", ":all:", str(wheel)], env=env)
    seconds = time.monotonic() - started
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    print(f"wheel install into a fresh venv of {python} (with its dependencies): {seconds:.1f} s")
    assert seconds < 120, f"installing the wheel took {seconds:.0f} s: did pip build something?"

    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    for cmd, prefix in (([str(venv / "bin/rlocust")], "script"), ([str(venv / "bin/python"), "-m", "rlocust"], "m")):
        r = sh(cmd + ["-f", "locustfile.py", "--headless", "-u", "2", "-r", "2", "-t", "2s", "-H", host,
                      "--csv", prefix], cwd=tmp_path, env=env, timeout=60)
        assert r.returncode == 0, r.stderr[-3000:]
        rows = {line.split(",")[1]: line.split(",") for line in (tmp_path / f"{prefix}_stats.csv").read_text().splitlines()[1:]}
        assert set(rows) == {"/", "/items/[id]", "Aggregated"}, rows
        # Type,Name,Request Count,Failure Count,...: 2 users at 10 tasks a second for 2 s, no failures.
        total, failures = int(rows["Aggregated"][2]), int(rows["Aggregated"][3])
        assert total >= 10 and failures == 0, rows["Aggregated"]
        assert int(rows["/"][2]) > 0 and int(rows["/items/[id]"][2]) > 0, rows
        assert int(rows["/"][2]) + int(rows["/items/[id]"][2]) == total, rows
    (tmp_path / "debugging.py").write_text(DEBUGGING)
    r = sh([str(venv / "bin/rlocust-python"), "debugging.py", "-H", host], cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "locust from <rlocust>/locust/__init__.py" in r.stdout, r.stdout
    assert "GET\t/items/7" in r.stdout, r.stdout
    # the `rlocust-report` console script compares the two runs' CSVs (issue 42): both runs hit the same names
    r = sh([str(venv / "bin/rlocust-report"), "compare", "script_stats.csv", "m_stats.csv", "--json", "-"],
           cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    doc = json.loads(r.stdout)
    assert doc["schema"] == "rlocust-comparison/1" and doc["baseline"]["format"] == "Locust _stats.csv", doc
    assert {row["name"] for row in doc["rows"]} == {"/", "/items/[id]", "Aggregated"}, doc["rows"]
