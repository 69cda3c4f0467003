"""CI gates: --thresholds (pass/fail table, exit code 3, abort with a grace time), locust-plugins' --check-*
options built in (side by side with real Locust 2.47 + locust-plugins 5.0.3, and with the plugin imported under
rlocust), environment.process_exit_code still winning, and the --summary-json document. Loopback only; every
process bounded in time."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import HERE, ROOT, clean_env, run

LOCUSTFILE = HERE / "checks_locustfile.py"
PLUGINS_LOCUSTFILE = HERE / "checks_plugins_locustfile.py"


def headless(rlocust, target_url, *args, seconds="3", locustfile=LOCUSTFILE):
    return [rlocust, "-f", str(locustfile), "--headless", "-u", "4", "-r", "20", "-t", seconds, "-H", target_url,
            "--only-summary", *args]


def test_breached_thresholds_exit_3_with_a_table_and_summary(rlocust, target_url, tmp_path):
    summary = tmp_path / "summary.json"
    r = run(headless(rlocust, target_url, "--thresholds", "p50<1000; /slow: p95<5; fail_ratio<0.5; rps>1",
                     "--summary-json", str(summary)), tmp_path)
    assert r.code == 3, r.stderr
    table = r.stderr[r.stderr.index("Threshold "):]
    assert re.search(r"/slow: p95<5\s+\| GET /slow\s+\|\s+[\d.]+ ms \| FAILED", table), table
    assert re.search(r"p50<1000\s+\| Aggregated\s+\|\s+[\d.]+ ms \| passed", table), table
    assert "1 of 4 thresholds FAILED (exit code 3)" in table
    assert "Shutting down (exit code 3)" in r.stderr
    doc = json.loads(summary.read_text())
    assert doc["schema"] == "rlocust-summary/1" and doc["exit_code"] == 3 and doc["passed"] is False
    assert doc["thresholds_passed"] is False and doc["aborted_by"] is None
    slow = [t for t in doc["thresholds"] if t["rule"] == "/slow: p95<5"][0]
    assert slow["target"] == "GET /slow" and slow["passed"] is False and slow["actual"] >= 30 and slow["unit"] == "ms"
    names = {row["name"]: row for row in doc["requests"]}
    assert set(names) == {"/hello", "/slow", "/fail"}
    assert names["/fail"]["failures"] == names["/fail"]["requests"] > 0
    assert doc["totals"]["requests"] == sum(row["requests"] for row in doc["requests"])
    assert doc["totals"]["percentiles_ms"]["100"] == doc["totals"]["max_ms"]
    assert doc["parameters"]["users"] == 4 and doc["parameters"]["user_classes"] == ["Checked"]
    assert doc["errors"][0]["name"] == "/fail"
    # the generator's own lateness: every completion drained and every wait measured
    gen = doc["generator"]
    assert gen["response_handling_delay_ms"]["count"] >= doc["totals"]["requests"] * 0.9, gen
    assert gen["wait_lateness_ms"]["count"] > 0 and 0 < gen["wait_lateness_ms"]["p50"] < 1000, gen


def test_passing_thresholds_and_a_fail_ratio_rule_make_failures_acceptable(rlocust, target_url, tmp_path):
    r = run(headless(rlocust, target_url, "--thresholds", "max<5s; fail_ratio<=0.5", "--summary-json", "-"),
            tmp_path)
    assert r.code == 0, r.stderr
    assert "All 2 thresholds passed" in r.stderr
    doc = json.loads(r.stdout)
    assert doc["exit_code"] == 0 and doc["passed"] is True and doc["thresholds_passed"] is True


def test_abort_stops_the_run_after_its_grace_time(rlocust, target_url, tmp_path):
    summary = tmp_path / "summary.json"
    r = run(headless(rlocust, target_url, "--thresholds", "/slow: p50<5 abort=1s", "--summary-json", str(summary),
                     seconds="30"), tmp_path)
    assert r.code == 3, r.stderr
    assert r.seconds < 15, r.seconds
    assert "ERROR/rlocust.thresholds: Threshold '/slow: p50<5 abort=1s' failed on GET /slow" in r.stderr
    doc = json.loads(summary.read_text())
    assert doc["aborted_by"] == "/slow: p50<5 abort=1s" and 1 <= doc["duration_s"] < 10


def test_process_exit_code_set_by_the_locustfile_wins(rlocust, target_url, tmp_path):
    lf = tmp_path / "lf.py"
    lf.write_text(LOCUSTFILE.read_text() + "\n\nfrom locust import events\n\n\n@events.quitting.add_listener\n"
                  "def _force(environment, **kw):\n    environment.process_exit_code = 7\n")
    r = run(headless(rlocust, target_url, "--thresholds", "p50<0.001", locustfile=lf), tmp_path)
    assert r.code == 7, r.stderr
    assert "1 of 1 thresholds FAILED" in r.stderr


@pytest.mark.parametrize("rule,why", [
    ("p95", "no comparison"),
    ("p95<fast", "'fast' is not a number"),
    ("latency<5", "unknown metric 'latency'"),
    ("p95<5 abort=soon", "'soon' is not a time span"),
])
def test_bad_rules_are_one_line(rlocust, tmp_path, rule, why):
    r = run([rlocust, "-f", str(LOCUSTFILE), "--headless", "-t", "1", "-H", "http://127.0.0.1:9",
             "--thresholds", f"fail_ratio<1; {rule}"], tmp_path)
    assert r.code == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rlocust: --thresholds: '{rule}': {why}"), r.stderr
    assert "panicked" not in r.stderr


def check_lines(stderr: str) -> list[str]:
    return [line.split("/root: ", 1)[1] for line in stderr.splitlines() if "/root: CHECK " in line]


def plugins_bin() -> str:
    path = os.environ.get("LOCUST_PLUGINS_BIN") or str(ROOT / ".venv-oracle-plugins/bin/locust")
    if not Path(path).exists():
        pytest.fail(f"LOCUST_PLUGINS_BIN: {path} does not exist (`make .venv-oracle-plugins/bin/locust`)")
    return path


def mask(lines: list[str]) -> list[str]:
    """The checks' figures vary from run to run: keep the verdicts and thresholds."""
    return [re.sub(r"was [\d.]+%? ", "was N ", line) for line in lines]


CHECKS = [
    # rps fails, fail ratio passes (the failures then do not make the exit code 1), avg passes
    (["--check-rps", "100000", "--check-fail-ratio", "0.5", "--check-avg-response-time", "10000"], 3),
    # everything passes with failures present: 0
    (["--check-fail-ratio", "0.5"], 0),
    # the fail ratio fails
    (["--check-fail-ratio", "0.01"], 3),
]


@pytest.mark.parametrize("args,code", CHECKS)
def test_checks_as_locust_plugins_does(rlocust, target_url, tmp_path, args, code):
    oracle = run([plugins_bin(), "-f", str(PLUGINS_LOCUSTFILE), "--headless", "-u", "4", "-r", "20", "-t", "3",
                  "-H", target_url, "--only-summary", "--loglevel", "DEBUG", *args], tmp_path,
                 env=clean_env({"PYTHONPATH": str(HERE)}))
    ours = run(headless(rlocust, target_url, "--loglevel", "DEBUG", *args), tmp_path)
    assert oracle.code == code, oracle.stderr[-3000:]
    assert ours.code == code, ours.stderr[-3000:]
    assert mask(check_lines(ours.stderr)) == mask(check_lines(oracle.stderr))
    assert check_lines(ours.stderr)
    # the same checks also show in rlocust's thresholds table, one row each
    rows = re.findall(r"^--check-\S+ \S+\s+\| Aggregated\s+\|.*\| (passed|FAILED)$", ours.stderr, re.M)
    assert len(rows) == len(args) // 2 and ("FAILED" in rows) == (code == 3), ours.stderr[-2000:]


def test_checks_left_to_the_plugin_when_the_locustfile_imports_it(rlocust, target_url, tmp_path):
    site = next((ROOT / ".venv-oracle-plugins/lib").glob("python3*/site-packages"))
    r = run(headless(rlocust, target_url, "--check-rps", "100000", locustfile=PLUGINS_LOCUSTFILE), tmp_path,
            env=clean_env({"PYTHONPATH": f"{HERE}:{site}"}))
    assert r.code == 3, r.stderr[-3000:]
    lines = check_lines(r.stderr)
    assert len(lines) == 1 and lines[0].startswith("CHECK FAILED: total rps was "), r.stderr[-3000:]
    assert "Threshold " not in r.stderr  # the plugin did the check, not rlocust
