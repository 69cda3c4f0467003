"""The open workload model (issue 31): --arrival-rate/--arrival-max-users and an ArrivalRateShape run iterations at a rate
whatever earlier ones take, count arrivals dropped when the most users allowed are busy, report them in every
output, refuse the combinations where they cannot apply with one line, and leave a closed-model run's outputs as
Locust's. Loopback only; every run bounded (a few seconds each)."""

from __future__ import annotations

import csv
import json
import re
import time

import pytest
import requests
from conftest import HERE, clean_env, finish, free_port, run, start

LOCUSTFILE = HERE / "open_locustfile.py"
SHAPE = HERE / "shape_locustfile.py"
LOAD_SHAPE = HERE / "both_shapes_locustfile.py"


def headless(rlocust, target_url, *args, locustfile=LOCUSTFILE):
    return [rlocust, "-f", locustfile, "--headless", "-H", target_url, *args]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--arrival-rate", "20", "--arrival-max-users", "4", "-u", "3"],
         "rlocust: --arrival-rate cannot be used with -u/--users, which runs a number of users in a loop"),
        (["--arrival-rate", "20", "--arrival-max-users", "4", "-r", "3"],
         "rlocust: --arrival-rate cannot be used with -r/--spawn-rate"),
        (["--arrival-rate", "20"], "rlocust: --arrival-rate needs --arrival-max-users"),
        (["--arrival-max-users", "4"], "rlocust: --arrival-max-users applies to an arrival rate: give --arrival-rate"),
        (["--arrival-rate", "20", "--arrival-max-users", "4", "-i", "10"],
         "rlocust: --arrival-rate cannot be used with -i/--iterations"),
        (["--arrival-rate", "fast", "--arrival-max-users", "4"], 'rlocust: --arrival-rate: invalid arrival rate "fast"'),
        (["--arrival-rate", "0", "--arrival-max-users", "4"], "rlocust: --arrival-rate: the rate must be more than 0"),
        (["--arrival-stages", "5s:x", "--arrival-max-users", "4"], 'rlocust: --arrival-stages: invalid arrival rate "x"'),
        (["--arrival-rate", "20", "--arrival-max-users", "4", "--arrival-initial-users", "9"],
         "rlocust: --arrival-initial-users must be between 0 and --arrival-max-users (4), got 9"),
        (["--arrival-rate", "20", "--arrival-max-users", "0"], "rlocust: --arrival-max-users must be at least 1, got 0"),
    ],
)
def test_refused_with_one_line(rlocust, target_url, tmp_path, args, line):
    r = run(headless(rlocust, target_url, "-t", "2", *args), tmp_path, timeout=30)
    assert r.code != 0
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(line), r.stderr
    assert "Traceback" not in r.stderr and "panicked" not in r.stderr


def test_refused_with_a_load_test_shape_and_with_two_rates(rlocust, target_url, tmp_path):
    r = run(headless(rlocust, target_url, "--arrival-rate", "5", "--arrival-max-users", "2", locustfile=LOAD_SHAPE), tmp_path)
    assert r.code != 0 and r.stderr.strip() == (
        "rlocust: --arrival-rate cannot run with the locustfile's LoadTestShape Steps, which sets numbers of users "
        "(a closed model): keep one")
    r = run(headless(rlocust, target_url, "--arrival-rate", "5", "--arrival-max-users", "2", locustfile=SHAPE), tmp_path)
    assert r.code != 0 and r.stderr.strip() == (
        "rlocust: --arrival-rate/--arrival-stages and the locustfile's ArrivalRateShape Ramp both set an arrival "
        "rate: keep one")
    # from the environment and a config file, as every option
    r = run(headless(rlocust, target_url, "-u", "2"), tmp_path,
            env=clean_env({"RLOCUST_ARRIVAL_RATE": "5", "RLOCUST_ARRIVAL_MAX_USERS": "2"}))
    assert r.code != 0 and "cannot be used with -u/--users" in r.stderr
    (tmp_path / "open.conf").write_text("arrival-rate = 5\n")
    r = run(headless(rlocust, target_url, "--config", tmp_path / "open.conf"), tmp_path)
    assert r.code != 0 and r.stderr.strip().startswith("rlocust: --arrival-rate needs --arrival-max-users")


def arrivals_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_constant_rate_without_wait_time_and_in_every_output(rlocust, target_url, tmp_path):
    """40/s for 3 s with a 60 s wait_time: about 120 iterations (a wait between them would allow 10, one per user);
    the accounting is in the console, --csv, --json-file, --summary-json, --html and /metrics."""
    port = free_port()
    proc = start(headless(rlocust, target_url, "--arrival-rate", "40", "--arrival-max-users", "10", "--arrival-initial-users", "2",
                          "-t", "3", "--csv", "out", "--json-file", "out", "--summary-json", "summary.json",
                          "--html", "report.html", "--metrics-port", port), tmp_path)
    metrics = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            if "rlocust_iterations_started_total" in metrics and re.search(
                    r"^rlocust_iterations_started_total [1-9]", metrics, re.M):
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    assert finish(proc) == 0
    stderr = (tmp_path / "stderr.txt").read_text()
    assert re.search(r"^rlocust_iterations_dropped_total 0$", metrics, re.M), metrics
    assert re.search(r"^rlocust_arrival_rate_intended 40", metrics, re.M), metrics
    assert "rlocust_users_busy " in metrics and 'rlocust_iteration_start_lag_seconds{quantile="0.99"}' in metrics

    doc = json.loads((tmp_path / "summary.json").read_text())
    a = doc["arrivals"]
    assert 108 <= a["started"] <= 124, a
    assert a["dropped"] == 0 and a["max_users"] == 10 and a["schedule"] == "40/s"
    assert a["intended_rate"] == 40  # the schedule's rate as the arrivals stopped (not the 0 after them)
    assert a["start_lag_ms"]["count"] == a["started"] and a["clock_lag_ms"]["count"] == a["intended"]
    assert a["intended"] == a["started"] + a["dropped"] + a["pending"]
    visits = [r for r in doc["requests"] if r["name"] == "visit"][0]
    assert abs(visits["requests"] - a["started"]) <= 10  # one request per iteration (some still in flight)
    starts = [r for r in doc["requests"] if r["name"] == "on_start"][0]
    assert 2 <= starts["requests"] <= 10  # on_start once per user

    table = stderr[stderr.rindex("Arrivals (open workload: 40/s; at most 10 users)"):]
    assert re.search(r"intended\s+started\s+dropped\s+dropped%", table), table
    assert "Starting iterations at 40/s (at most 10 users, 2 started first)" in stderr

    rows = arrivals_rows(tmp_path / "out_arrivals.csv")
    assert rows and {"Intended", "Started", "Dropped", "Users Busy", "Max Users"} <= set(rows[0])
    assert int(rows[-1]["Dropped"]) == 0 and int(rows[-1]["Started"]) >= 80

    js = json.loads((tmp_path / "out.json").read_text())
    assert isinstance(js["stats"], list) and js["arrivals"]["started"] == a["started"]

    html = (tmp_path / "report.html").read_text()
    args = json.loads(re.search(r"window\.templateArgs = (\{.*?\}); window\.theme", html, re.S).group(1))
    assert args["arrivals"]["started"] == a["started"] and args["arrivals"]["dropped"] == 0
    assert "Dropped iterations" in html  # the report's label


def test_dropped_when_the_maximum_is_busy_and_a_threshold_on_it(rlocust, target_url, tmp_path):
    """Responses of 400 ms, 30/s, at most 3 users: 3 users start about 7.5 iterations a second, the rest are dropped
    (not delayed); a threshold on dropped iterations fails the run with exit code 3."""
    r = run(headless(rlocust, target_url, "--arrival-rate", "30", "--arrival-max-users", "3", "-t", "3",
                     "--summary-json", "summary.json", "--thresholds", "dropped<1; dropped_ratio<50%"),
            tmp_path, env=clean_env({"OPEN_DELAY_MS": "400"}))
    assert r.code == 3, r.stderr
    a = json.loads((tmp_path / "summary.json").read_text())["arrivals"]
    assert a["dropped"] >= 40 and a["started"] <= 30, a
    assert a["intended"] == a["started"] + a["dropped"] + a["pending"]
    assert "Iterations are being dropped: all 3 users are busy" in r.stderr
    assert re.search(r"dropped<1\s+\| Arrivals\s+\|\s+\d+ \| FAILED", r.stderr), r.stderr
    assert re.search(r"dropped_ratio<50%\s+\| Arrivals\s+\|\s+0\.\d+ \| FAILED", r.stderr), r.stderr
    # a rule with a request name before an arrival metric is refused
    r = run(headless(rlocust, target_url, "--arrival-rate", "5", "--arrival-max-users", "2", "-t", "1",
                     "--thresholds", "visit: dropped<1"), tmp_path)
    assert r.code != 0 and "no 'NAME:' before it" in r.stderr


def test_arrival_rate_shape_ramps_and_ends_the_test(rlocust, target_url, tmp_path):
    r = run(headless(rlocust, target_url, "--summary-json", "summary.json", locustfile=SHAPE), tmp_path, timeout=30)
    assert r.code == 0, r.stderr
    assert "Arrival stages completed, shutting down" in r.stderr
    assert r.seconds < 15
    a = json.loads((tmp_path / "summary.json").read_text())["arrivals"]
    assert 95 <= a["intended"] <= 101 and a["dropped"] == 0 and a["max_users"] == 8, a


def test_processes_split_the_rate(rlocust, target_url, tmp_path):
    """--processes 2: the master splits 40/s over two workers; their counts add up in the master's outputs."""
    r = run(headless(rlocust, target_url, "--processes", "2", "--arrival-rate", "40", "--arrival-max-users", "10",
                     "-t", "4", "--summary-json", "summary.json"), tmp_path, timeout=60)
    assert r.code == 0, r.stderr
    a = json.loads((tmp_path / "summary.json").read_text())["arrivals"]
    # the workers start after the master's clock: about 3.5 s of the 4 at 40/s
    assert 110 <= a["started"] <= 165 and a["dropped"] == 0, a
    assert "Arrivals (open workload: 40/s" in r.stderr


def test_a_closed_run_keeps_locusts_outputs(rlocust, target_url, tmp_path):
    r = run(headless(rlocust, target_url, "-u", "2", "-r", "10", "-t", "2", "--csv", "out", "--json-file", "out",
                     "--summary-json", "summary.json"), tmp_path)
    assert r.code == 0, r.stderr
    assert not (tmp_path / "out_arrivals.csv").exists()
    assert isinstance(json.loads((tmp_path / "out.json").read_text()), list)
    assert json.loads((tmp_path / "summary.json").read_text())["arrivals"] is None
    assert "Arrivals" not in r.stderr


def wait_for(fn, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.2)
    pytest.fail("timed out")


def test_web_ui_form_starts_an_arrival_rate(rlocust, target_url, tmp_path):
    """The web UI: GET rlocust/arrivals gives the command line's plan (the form's defaults); POST /swarm with the
    arrival fields starts an open workload (its accounting then in rlocust/arrivals, the HTML report and /metrics);
    bad fields are refused with the form's message; without the fields the form starts users as in Locust."""
    port = free_port()
    proc = start([rlocust, "-f", LOCUSTFILE, "-H", target_url, "--web-port", port, "--web-host", "127.0.0.1",
                  "--arrival-rate", "3000/m", "--arrival-max-users", "6"], tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        doc = wait_for(lambda: _get_json(base + "/rlocust/arrivals"))
        assert doc["plan"] == {"arrival_rate": "50", "arrival_stages": "", "max_users": 6, "initial_users": 0}
        assert doc["arrivals"] is None
        r = requests.post(base + "/swarm", data={"user_count": "1", "spawn_rate": "1", "arrival_rate": "x",
                                                 "arrival_max_users": "4"}, timeout=10).json()
        assert r["success"] is False and 'invalid arrival rate "x"' in r["message"]
        r = requests.post(base + "/swarm", data={"user_count": "1", "spawn_rate": "1", "arrival_rate": "20"},
                          timeout=10).json()
        assert r["success"] is False and "maximum of users" in r["message"]
        r = requests.post(base + "/swarm", data={"user_count": "1", "spawn_rate": "1", "arrival_rate": "20",
                                                 "arrival_stages": "", "arrival_max_users": "4",
                                                 "arrival_initial_users": "1"}, timeout=10).json()
        assert r["success"] is True, r
        # (null until the runner has started the test)
        a = wait_for(lambda: (x := (_get_json(base + "/rlocust/arrivals") or {}).get("arrivals")) and
                     x["started"] >= 20 and x)
        assert a["schedule"] == "20/s" and a["max_users"] == 4 and a["history"] is not None
        assert "rlocust_iterations_started_total" in requests.get(base + "/metrics", timeout=10).text
        report = requests.get(base + "/stats/report", timeout=10).text
        assert '"arrivals"' in report
        requests.post(base + "/stop", timeout=30)
        wait_for(lambda: _get_json(base + "/stats/requests")["state"] == "stopped")
        # no arrival fields: users, as Locust's form (the accounting of the open test is cleared by the new test)
        r = requests.post(base + "/swarm", data={"user_count": "2", "spawn_rate": "10"}, timeout=10).json()
        assert r["success"] is True and r["message"] == "Swarming started"
        wait_for(lambda: _get_json(base + "/stats/requests")["user_count"] == 2)
        requests.post(base + "/stop", timeout=30)
    finally:
        proc.terminate()
        finish(proc, 30)


def _get_json(url):
    try:
        r = requests.get(url, timeout=5)
        return r.json() if r.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
