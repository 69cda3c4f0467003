#!/usr/bin/env python3
"""Run Locust's own unit-test modules against rlocust, through `rlocust-python -m pytest`, and print the pass rate
per module (a Markdown table, as in docs/compatibility.md).

Locust's tests are not part of rlocust, and not in Locust's sdist or wheel: they are taken from a checkout of
Locust's repository or its git directory (--locust-src, or LOCUST_SRC), else from ../shared/upstream/locust beside the
repository, else cloned at tag 2.47.0 from GitHub (`locust_source`); with none of these the run fails with one line
(RLOCUST_SKIP_LOCUST_TESTS=1 skips it on purpose). Only `locust/test/` (and `examples/`) is copied into a temporary directory: `locust` itself is
rlocust's (the launcher serves it), and the tests' package is added to its search path by a conftest.py, so `from
locust.test.testcases import LocustTestCase` finds the tests' helpers next to rlocust's modules. The tests' own
dependencies come from the interpreter the launcher runs (its virtualenv, or the one named with VIRTUAL_ENV) and
from --deps (tests/locust_own/requirements.txt, installed with `pip install --target`). `locust` on PATH is rlocust
(or Locust itself with --baseline), for the tests that start it as a program.

    scripts/locust_own_tests.py [--locust-src DIR] [--launcher target/release/rlocust-python] [--deps DIR] [MODULE ...]

Each module runs in its own process with a time limit (--timeout, default 300 s); a module that does not finish
counts its unfinished tests as failed.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAG = "2.47.0"
REPO = "https://github.com/locustio/locust"
# Every test module of Locust's but test_main.py (its end-to-end tests run `locust` as a program:
# scripts/locust_e2e_tests.py).
E2E_MODULE = "test_main.py"
REQUIREMENTS = ROOT / "tests" / "locust_own" / "requirements.txt"


def all_modules(src):
    return sorted(p.name for p in (Path(src) / "locust" / "test").glob("test_*.py") if p.name != E2E_MODULE)


CONFTEST = '''"""Makes Locust's test helpers (`locust.test.*`) importable next to rlocust's `locust` modules.

Some test modules import Locust internals rlocust does not have (its ZeroMQ RPC classes, a few
helpers of `locust.stats`). So that the other tests of those modules run, each missing name gets a stand-in here,
in this test process only: a class or function that raises NotImplementedError when used. A test that uses one
fails; rlocust itself is unchanged.
"""
import os
import sys
import types

import locust

_here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locust")
if _here not in locust.__path__:
    locust.__path__.append(_here)


def _stand_in(qualname):
    class StandIn:
        def __init__(self, *args, **kwargs):
            raise NotImplementedError(f"{qualname} is a Locust internal rlocust does not have")

        def __init_subclass__(cls, **kwargs):
            pass

    StandIn.__name__ = StandIn.__qualname__ = qualname.rpartition(".")[2]
    return StandIn


def _module(name):
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        module = types.ModuleType(name)
        module.__rlocust_stand_in__ = True
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(_module(parent), child, module)
        return module


STAND_INS = {
    "locust.rpc": ["Message"],
    "locust.rpc.protocol": ["Message"],
    "locust.rpc.rpc": ["Client", "Server"],
    "locust.stats": ["CachedResponseTimes", "bucket_response_time", "diff_response_time_dicts",
                     "setup_distributed_stats_event_listeners"],
}
for _name, _attrs in STAND_INS.items():
    _mod = _module(_name)
    for _attr in _attrs:
        if not hasattr(_mod, _attr):
            setattr(_mod, _attr, _stand_in(f"{_name}.{_attr}"))


# test_web's setUp empties the response cache of Locust's own Flask view for /stats/requests
# (`web_ui.app.view_functions["locust.request_stats"].clear_cache()`). rlocust's /stats/requests is served by its
# Rust server, which keeps no such cache; the Flask app only serves a locustfile's own routes. A view of that name
# with a `clear_cache` that does nothing (no URL rule: it is never routed to) lets the tests of the HTTP API run.
import locust.web as _web  # noqa: E402

_app_property = _web.WebUI.__dict__.get("app")


def _app_with_stats_view(self):
    app = _app_property.fget(self)
    if "locust.request_stats" not in app.view_functions:
        def request_stats():
            raise NotImplementedError("served by rlocust's Rust server")

        request_stats.clear_cache = lambda: None
        app.view_functions["locust.request_stats"] = request_stats
    return app


if locust.__file__.startswith("<rlocust>"):  # (not under --baseline, real Locust)
    _web.WebUI.app = property(_app_with_stats_view, _app_property.fset)
'''


# Locust's tests and examples as the workplace keeps them beside every checkout (../shared/upstream/locust: Locust's
# locust/test and examples, unchanged, with their SOURCE.md), the second place looked in.
UPSTREAM = ROOT.parent / "shared" / "upstream" / "locust"
# Set to 1 to skip Locust's own tests on purpose (`make test` then says they were skipped).
SKIP_VAR = "RLOCUST_SKIP_LOCUST_TESTS"
MISSING = (f"Locust's test sources were not found: set LOCUST_SRC to a checkout of Locust {TAG} (or its git "
           f"directory), or put one at {UPSTREAM}, or let `git clone {REPO}` reach GitHub; {SKIP_VAR}=1 skips "
           "these tests on purpose")


def default_sigint():
    """Give the processes the tests start the ordinary Ctrl+C when this script runs with SIGINT ignored (a background
    job of a non-interactive shell): ignored signals survive exec, and Locust's tests that send SIGINT would find the
    tools ignoring it (tests/conftest.py does the same for the project's own suites)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def locust_source(given, dest):
    """A directory with Locust's sources (locust/test, examples) at TAG, looked for in this order: `given` (or
    $LOCUST_SRC), a checkout or a git directory (e.g. a bare mirror: its TAG, or its HEAD when it has no such tag,
    unpacked into `dest`); ../shared/upstream/locust beside the repository; a clone of TAG from GitHub into `dest`.
    None when none of these can be had. Locust's sdist and wheel on PyPI have no tests. A directory handed over is
    only read: the callers copy what they run."""
    given = given or os.environ.get("LOCUST_SRC")
    if given:
        path = Path(given)
        if (path / "locust" / "test").is_dir():
            return path
        git = ["git", f"--git-dir={path / '.git' if (path / '.git').exists() else path}"]
        rev = TAG if subprocess.run([*git, "rev-parse", "-q", "--verify", f"refs/tags/{TAG}"],
                                    capture_output=True).returncode == 0 else "HEAD"
        commit = subprocess.run([*git, "rev-parse", rev], capture_output=True, text=True)
        if commit.returncode != 0:
            sys.exit(f"locust_own_tests: {given} is neither a checkout of Locust nor its git directory")
        dest.mkdir(parents=True)
        archive = subprocess.run([*git, "archive", rev, "locust", "examples"], capture_output=True, check=True)
        subprocess.run(["tar", "x", "-C", str(dest)], input=archive.stdout, check=True)
        print(f"Locust's tests from {given} at {rev} ({commit.stdout.strip()[:10]})", file=sys.stderr)
        return dest
    if (UPSTREAM / "locust" / "test").is_dir():
        print(f"Locust's tests from {UPSTREAM}", file=sys.stderr)
        return UPSTREAM
    r = subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", TAG, REPO, str(dest)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return None
    return dest


def skipped_on_purpose(what):
    """True (after saying so) when SKIP_VAR asks to skip Locust's own tests."""
    if os.environ.get(SKIP_VAR) == "1":
        print(f"{what}: SKIPPED on purpose ({SKIP_VAR}=1): Locust's own tests did not run")
        return True
    return False


BASELINE_INIT = '''"""The baseline run: this package is the installed Locust (its modules come first on __path__), with Locust's
tests next to it."""
import os as _os

_real = {real!r}
__path__.insert(0, _real)
__file__ = _os.path.join(_real, "__init__.py")
with open(__file__) as _f:
    exec(compile(_f.read(), __file__, "exec"))
'''


def prepare(src, work):
    """work/locust/test (Locust's tests), work/locust/__init__.py (empty: marks the package for pytest; the
    launcher's `locust` is what gets imported), work/conftest.py; Locust's examples next to them (some tests read
    them)."""
    tests = Path(src) / "locust" / "test"
    if not tests.is_dir():
        sys.exit(f"locust_own_tests: no locust/test in {src}")
    shutil.copytree(tests, work / "locust" / "test")
    (work / "locust" / "__init__.py").write_text("")
    (work / "conftest.py").write_text(CONFTEST)
    if (Path(src) / "examples").is_dir():
        shutil.copytree(Path(src) / "examples", work / "examples")


def counts(xml_path):
    """(passed, failed, errors, skipped, collection_error) from a JUnit XML report."""
    passed = failed = errors = skipped = 0
    collection = None
    root = ET.parse(xml_path).getroot()
    for case in root.iter("testcase"):
        if case.find("failure") is not None:
            failed += 1
        elif case.find("error") is not None:
            errors += 1
            if not case.get("name"):
                collection = (case.find("error").get("message") or "").splitlines()[0][:120]
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, errors, skipped, collection


def run_module(launcher, work, module, timeout, env):
    xml = work / f"{module}.xml"
    argv = [*launcher, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", f"--junitxml={xml}",
            "-o", "junit_family=xunit1", f"locust/test/{module}"]
    try:
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        output = proc.stdout + proc.stderr
        hung = False
    except subprocess.TimeoutExpired as e:
        output = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        hung = True
    (work / f"{module}.log").write_text(output)
    if not xml.exists():
        return {"module": module, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "hung": hung,
                "note": (output.strip().splitlines() or ["no report"])[-1][:160]}
    passed, failed, errors, skipped, collection = counts(xml)
    return {"module": module, "passed": passed, "failed": failed, "errors": errors, "skipped": skipped,
            "hung": hung, "note": collection or ""}


def main():
    default_sigint()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help="test modules (default: all but test_main.py)")
    parser.add_argument("--locust-src", help="a checkout of Locust (default: clone tag %s)" % TAG)
    parser.add_argument("--launcher", default=str(ROOT / "target" / "release" / "rlocust-python"))
    parser.add_argument("--baseline", metavar="PYTHON",
                        help="run the modules with this Python and the Locust installed there instead (e.g. "
                             ".venv-oracle/bin/python): what passes on this machine under Locust itself")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--keep", help="keep the work directory here (logs, JUnit reports)")
    parser.add_argument("--deps", help="a `pip install --target` directory with tests/locust_own/requirements.txt "
                        "(default: installed into the work directory)")
    args = parser.parse_args()
    if skipped_on_purpose("locust-own-tests"):
        return
    tmp = Path(tempfile.mkdtemp(prefix="locust-own-tests-"))
    try:
        src = locust_source(args.locust_src, tmp / "locust-src")
        if src is None:
            sys.exit(f"locust-own-tests: {MISSING}")
        work = Path(args.keep) if args.keep else tmp / "work"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        prepare(src, work)
        launcher = [args.launcher]
        if args.baseline:
            launcher = [args.baseline]
            real = subprocess.run([args.baseline, "-c", "import locust, os; print(os.path.dirname(locust.__file__))"],
                                  capture_output=True, text=True, check=True).stdout.strip()
            (work / "locust" / "__init__.py").write_text(BASELINE_INIT.format(real=real))
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        # `locust` on PATH for the tests that start it as a program (test_log's): rlocust, or Locust itself
        bindir = work / "bin"
        bindir.mkdir()
        program = Path(args.baseline).parent / "locust" if args.baseline else Path(args.launcher).parent / "rlocust"
        (bindir / "locust").symlink_to(program.resolve())
        env["PATH"] = os.pathsep.join([str(bindir), env.get("PATH", "")])
        deps = args.deps
        if not deps:
            deps = work / "_deps"
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(deps),
                            "-r", str(REQUIREMENTS)], check=True)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(deps), env.get("PYTHONPATH")]))
        results = [run_module(launcher, work, m, args.timeout, env) for m in args.modules or all_modules(src)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total_pass = total = 0
    print("| module | passed | failed | errors | skipped | pass rate | note |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        ran = r["passed"] + r["failed"] + r["errors"]
        total_pass += r["passed"]
        total += ran
        rate = f"{100 * r['passed'] / ran:.0f}%" if ran else "n/a"
        note = ("did not finish in time; " if r["hung"] else "") + r["note"]
        print(f"| {r['module']} | {r['passed']} | {r['failed']} | {r['errors']} | {r['skipped']} | {rate} | {note} |")
    if total:
        print(f"| **all** | {total_pass} | | | | {100 * total_pass / total:.0f}% | |")


if __name__ == "__main__":
    main()
