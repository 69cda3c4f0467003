"""scripts/suite_guard.py, the check `make test` runs on each suite's log: it passes the logs of suites that ran and
fails those that ran nothing, said NOT RUN, or skipped for a missing input (issue 38: such runs looked green)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "suite_guard.py"
_spec = importlib.util.spec_from_file_location("suite_guard", SCRIPT)
guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(guard)

RUST = """running 321 tests
test result: ok. 321 passed; 0 failed; 12 ignored; 0 measured; 0 filtered out; finished in 9.12s
running 12 tests
test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 20.01s
running 0 tests
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
"""
E2E_OK = """Locust's tests from ../shared/upstream/locust
locust-e2e: 70 passed, 2 failed, 0 skipped of 72 in 301 s (rlocust as `locust`, -n 3)
  expected failure: locust/test/test_main.py::X::test_a (why)
locust-e2e: as expected (2 listed failures, 0 unexpected failures, 0 unexpected passes)
"""
WEBUI = "# tests 4\n# pass 4\n" + "".join(
    f"{n}: {k} passed, 0 failed (12.0 s)\n" for n, k in [("browser", 19), ("rlocust", 19), ("guards", 4),
                                                          ("login", 5), ("perf", 17),
                                                          ("report-print", 20), ("search", 11)])


def problems(target, log):
    return guard.check(target, log)[0]


@pytest.mark.parametrize("target,log", [
    ("test-python", "....\n214 passed in 30.12s\n"),
    ("test-diff", "...x\n918 passed, 8 xfailed in 600.01s (0:10:00)\n"),
    ("test-contrib", "SKIPPED [1] tests/contrib/test_contrib.py:130: milvus-lite has no wheel for Linux aarch64\n"
                     "8 passed, 1 skipped in 50.0s\n"),
    ("test-rust", RUST),
    ("test-locust-e2e", E2E_OK),
    ("test-webui", WEBUI),
    ("webui-check", "webui/dist matches a fresh build\n"),
    ("build", ""),
])
def test_suites_that_ran_pass(target, log):
    assert problems(target, log) == []


@pytest.mark.parametrize("target,log,why", [
    ("test-python", "no tests ran in 0.01s\n", "no tests"),
    ("test-python", "", "no pytest summary"),
    ("test-web", "SKIPPED [3] tests/web/test_login.py:117: no Locust checkout at /x (LOCUST_REPO)\n"
                 "78 passed, 3 skipped in 90.00s\n", "must fail instead"),
    ("test-web", "78 passed, 3 skipped in 90.00s\n", "no reason shown"),
    ("test-locust-e2e", "locust-e2e: NOT RUN: Locust's test sources are not available here\n", "NOT RUN"),
    ("test-locust-e2e", "locust-e2e: 0 passed, 0 failed, 0 skipped of 0 in 1 s\n", "did not run"),
    ("test-rust", "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0s\n"
                  "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0s\n",
     "passed no test"),
    ("test-webui", WEBUI.replace("perf: 17 passed", "perf: 0 passed"), "perf passed no step"),
    ("test-webui", WEBUI.replace("login: 5 passed, 0 failed (12.0 s)\n", ""), "login did not close"),
    ("webui-check", "", "no line"),
])
def test_suites_that_ran_nothing_or_less_fail(target, log, why):
    found = problems(target, log)
    assert any(why in p for p in found), found


def test_skipped_on_purpose_passes_and_is_said(tmp_path):
    log = tmp_path / "e2e.log"
    log.write_text("locust-e2e: SKIPPED on purpose (RLOCUST_SKIP_LOCUST_TESTS=1): Locust's own tests did not run\n")
    summary = tmp_path / "summary.txt"
    run = subprocess.run([sys.executable, str(SCRIPT), "test-locust-e2e", str(log), "--summary", str(summary)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert "skipped on purpose (RLOCUST_SKIP_LOCUST_TESTS=1)" in summary.read_text()


def test_the_command_fails_with_one_line_per_problem_and_knows_every_suite(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("no tests ran in 0.00s\n")
    run = subprocess.run([sys.executable, str(SCRIPT), "test-open", str(log)], capture_output=True, text=True,
                         timeout=30)
    assert run.returncode == 1 and run.stderr.startswith("suite-guard: test-open did not run as it should"), run
    unknown = subprocess.run([sys.executable, str(SCRIPT), "test-new", str(log)], capture_output=True, text=True,
                             timeout=30)
    assert unknown.returncode == 2 and "SUITES" in unknown.stderr
    # every suite the Makefile runs in `make test` has its row
    makefile = (SCRIPT.parents[1] / "Makefile").read_text()
    listed = set()
    for var in ("TEST_COMPILE", "TEST_LANE_DIFF", "TEST_LANE"):
        line = next(x for x in makefile.splitlines() if x.startswith(f"{var} :="))
        listed |= set(line.split(":=", 1)[1].split())
    assert listed == set(guard.SUITES), listed ^ set(guard.SUITES)
