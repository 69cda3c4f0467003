"""The standalone binary's portability (issue 16; docs/packaging.md states the same facts).

- What it needs at run time: glibc 2.34 or newer (no symbol version above GLIBC_2.34), libgcc_s, and the
  libpython3.X it was built against, found through its RUNPATH (that Python's lib directory), else the system's
  library path; nothing else.
- When that Python's standard library is gone (the interpreter was removed, or the binary was copied to a
  machine without it), one line of rlocust's own says so, exit 1; CPython's twenty-line path dump never shows.
  The test copies the binary and rewrites the built-in home in the copy to a directory that does not exist (same
  length, so the ELF stays valid), as if that Python had been uninstalled.
- A PYTHONHOME that is not that Python version's installation: one line, exit 1.
- When libpython itself cannot be found, the dynamic loader refuses to start the program before any of
  rlocust's code runs; its message is one line naming the library, exit 127. The copy's DT_NEEDED entry is
  renamed to a library that does not exist.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("RLOCUST_BIN", ROOT / "target/release/rlocust"))
GLIBC_FLOOR = (2, 34)
RUN = ["-f", "locustfile.py", "--headless", "-u", "1", "-t", "1s", "-H", "http://127.0.0.1:9"]


def sh(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, **kw)


def dynamic(path):
    r = sh(["readelf", "-d", "-W", str(path)])
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def binary():
    assert BINARY.exists(), f"{BINARY} is missing: build with `cargo build --release` first"
    return BINARY


@pytest.fixture(scope="module")
def libpython(binary):
    """(soname, the lib directory of the RUNPATH) of the libpython the binary links."""
    text = dynamic(binary)
    sonames = re.findall(r"\(NEEDED\)\s+Shared library: \[(libpython3\.\d+\.so[.0-9]*)\]", text)
    assert len(sonames) == 1, text
    runpath = re.search(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]+)\]", text)
    assert runpath, text
    return sonames[0], runpath.group(1)


def patched_copy(binary, tmp_path, old, new):
    """A copy of the binary with every occurrence of `old` replaced by `new` (same length)."""
    assert len(old) == len(new)
    data = binary.read_bytes()
    assert old in data, old
    copy = tmp_path / "rlocust"
    copy.write_bytes(data.replace(old, new))
    copy.chmod(0o755)
    return copy


def locustfile(tmp_path):
    (tmp_path / "locustfile.py").write_text("from locust import User\n\n\nclass Idle(User):\n    pass\n")
    return tmp_path


def test_needs_only_glibc_libgcc_and_its_libpython(binary, libpython):
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic(binary)))
    loader = {lib for lib in needed if lib.startswith("ld-linux")}
    assert len(loader) == 1 and needed - loader == {libpython[0], "libgcc_s.so.1", "libm.so.6", "libc.so.6"}, needed
    r = sh(["readelf", "-V", "-W", str(binary)])
    versions = {tuple(map(int, v.split("."))) for v in re.findall(r"Name: GLIBC_([0-9.]+)", r.stdout)}
    assert max(versions) == GLIBC_FLOOR, sorted(versions)


def test_missing_python_is_one_line_of_its_own(binary, libpython, tmp_path):
    soname, libdir = libpython
    version = re.match(r"libpython(3\.\d+)", soname).group(1)
    home = libdir.removesuffix("/lib")
    if home == libdir or home in ("", "/usr", "/usr/local") or binary.read_bytes().count(home.encode()) < 2:
        pytest.skip(f"built against a system Python ({libdir}): its home is not distinctive enough to rewrite")
    gone = ("/nonexistent-python-" + "x" * len(home))[: len(home)]
    copy = patched_copy(binary, tmp_path, home.encode(), gone.encode())
    # libpython still loads (from where it really is); only the standard library is missing.
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": libdir}
    r = sh([str(copy)] + RUN, cwd=locustfile(tmp_path), env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and r.stdout == "", r.stdout + r.stderr
    assert re.match(re.escape(f"rlocust: the Python {version} this binary was built against is missing (no standard "
                              f"library in {gone}/") + r"lib(64)?" + re.escape(f"/python{version}); "), r.stderr), r.stderr


def test_pythonhome_that_is_not_a_python_is_one_line(binary, libpython, tmp_path):
    version = re.match(r"libpython(3\.\d+)", libpython[0]).group(1)
    env = {"PATH": "/usr/bin:/bin", "PYTHONHOME": str(tmp_path / "none")}
    r = sh([str(binary)] + RUN, cwd=locustfile(tmp_path), env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    home = tmp_path / "none"
    assert re.fullmatch(re.escape(f"rlocust: PYTHONHOME={home} is not a Python {version} installation (no standard "
                                  f"library in {home}/") + r"lib(64)?"
                        + re.escape(f"/python{version}); unset it or point it at one\n"), r.stderr), r.stderr


def test_missing_libpython_is_the_loaders_one_line(binary, libpython, tmp_path):
    soname = libpython[0]
    missing = re.sub(r"3\.\d+", lambda m: "0." + "0" * (len(m.group(0)) - 2), soname, count=1)
    copy = patched_copy(binary, tmp_path, soname.encode() + b"\0", missing.encode() + b"\0")
    r = sh([str(copy), "-V"], env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 127, r.stdout + r.stderr
    assert r.stderr == (f"{copy}: error while loading shared libraries: {missing}: cannot open shared object file: "
                        "No such file or directory\n"), r.stderr


SHIM_CHECK = """
import importlib.util, marshal, sys, types

finder = next(f for f in sys.meta_path if type(f).__name__ == "_ShimFinder")
shim = type(finder).exec_module.__globals__["SHIM"]
magic = type(finder).exec_module.__globals__["SHIM_MAGIC"]
differ = []
for name, (_, source, code) in shim.items():
    filename = finder.get_filename(name)
    built = marshal.loads(code) if code is not None else None
    if built is None or built != compile(source, filename, "exec") or built.co_filename != filename:
        differ.append(name)
loads = []
real_loads = marshal.loads
marshal.loads = lambda data: loads.append(len(data)) or real_loads(data)
finder.exec_module(types.ModuleType("locust.exception"))
marshal.loads = real_loads
print("SHIM-CHECK", magic == importlib.util.MAGIC_NUMBER, len(shim), differ, len(loads), flush=True)

from locust import User, task

class Idle(User):
    @task
    def nothing(self):
        pass
"""


def test_the_shim_is_loaded_as_code_compiled_from_its_own_source(binary, tmp_path):
    # build.rs compiles every embedded shim module with the interpreter the binary is built against, and the
    # importer loads that code rather than compiling the source on each start: each one must be exactly what its
    # source (the text tracebacks show) compiles to, under the file name tracebacks name.
    (tmp_path / "locustfile.py").write_text(SHIM_CHECK)
    r = sh([str(binary), *RUN], cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("SHIM-CHECK"))
    _, same_magic, count, rest = line.split(" ", 3)
    differ, loaded = rest.rsplit(" ", 1)
    assert same_magic == "True" and int(count) > 50, line
    assert differ == "[]", differ
    assert loaded == "1", line  # exec_module unmarshalled the built code, compiled nothing
