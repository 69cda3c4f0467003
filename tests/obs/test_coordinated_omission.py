"""Coordinated-omission correction end to end (docs/observability.md "Coordinated omission"): the built binary
runs constant_throughput users against the loopback target.

- The target stalls (SIGSTOP for 2 s): the corrected percentiles printed after Locust's percentile table are
  clearly above the measured ones, for requests the engine records, catch_response verdicts and a custom
  client's `events.request`, in a plain run and with `--processes 2` (the correction travels from the workers);
  the HTML report has the corrected section; `--json` and the CSV files carry nothing new.
- The target never stalls: corrected and measured agree.
- No fixed-rate user: no corrected table and no report section (the output stays Locust's).

Self-contained (no conftest): RLOCUST_BIN / RLOCUST_TARGET_BIN name the binaries (default target/release/).
Every process is bounded in time.
"""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RLOCUST = os.environ.get("RLOCUST_BIN", str(ROOT / "target/release/rlocust"))
TARGET = os.environ.get("RLOCUST_TARGET_BIN", str(ROOT / "target/release/rlocust-target"))

MEASURED_TITLE = "Response time percentiles (approximated)"
CORRECTED_TITLE = "Response time percentiles, corrected for coordinated omission"

PACED = """
import time
from locust import HttpUser, task, {wait}

class Paced(HttpUser):
    wait_time = {wait}({arg})

    @task
    def t(self):
        self.client.get("/hello", name="/paced")


class Caught(HttpUser):
    wait_time = {wait}({arg})

    @task
    def t(self):
        with self.client.get("/hello", name="/caught", catch_response=True) as r:
            r.success()


class Custom(HttpUser):
    wait_time = {wait}({arg})

    @task
    def t(self):
        # a custom client: times a call itself and fires events.request
        start = time.perf_counter()
        with self.client.get("/hello", name="/inner", catch_response=True) as r:
            r.success()
        self.environment.events.request.fire(
            request_type="CUSTOM", name="/custom", response_time=(time.perf_counter() - start) * 1000,
            response_length=0, exception=None, context={{}},
        )
"""


@pytest.fixture
def target():
    for b in (RLOCUST, TARGET):
        assert os.path.exists(b), f"{b} is missing: build with `cargo build --release` first"
    proc = subprocess.Popen([TARGET, "--port", "0", "--max-seconds", "120"], stdout=subprocess.PIPE, text=True)
    host = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
    yield proc, host
    os.kill(proc.pid, signal.SIGCONT)
    proc.kill()
    proc.wait()


def run(tmp_path, host, locustfile, *args, stall=None, seconds=6):
    """Run rlocust headless for `seconds`; `stall` = (process, after s, for s) stops the target meanwhile.
    Returns (rc, stdout, stderr)."""
    lf = tmp_path / "locustfile.py"
    lf.write_text(locustfile)
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH" and not k.startswith("LOCUST_")}
    cmd = [RLOCUST, "-f", str(lf), "--headless", "-H", host, "-t", f"{seconds}s", "--csv", str(tmp_path / "r"),
           "--html", str(tmp_path / "report.html"), *args]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if stall is not None:
            target, after, length = stall
            time.sleep(after)
            os.kill(target.pid, signal.SIGSTOP)
            try:
                time.sleep(length)
            finally:
                os.kill(target.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def table(err, title):
    """{name: [p50, p66, p75, p80, p90, p95, p98, p99, p99.9, p99.99, p100, # reqs (, # added)]} of the table
    whose title starts with `title` (the last one printed)."""
    lines = err.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(title)]
    if not starts:
        return None
    rows = {}
    for line in lines[starts[-1] + 1:]:
        if not line.strip():
            break
        if line.startswith(("Type", "--------", "(")):
            continue
        words = line.split()
        k = _skip(words)
        rows[words[k - 1]] = [int(w) for w in words[k:]]
    return rows


def _skip(words):
    """How many leading words are the method and the name (the rest are numbers)."""
    n = 0
    while n < len(words) and not words[n].isdigit():
        n += 1
    return n


@pytest.mark.parametrize("procs", [[], ["--processes", "2"]], ids=["one-process", "processes-2"])
def test_a_stall_shows_in_the_corrected_percentiles_only(tmp_path, target, procs):
    proc, host = target
    users = ["-u", "12", "-r", "12"]
    summary = tmp_path / "summary.json"
    rc, out, err = run(tmp_path, host, PACED.format(wait="constant_throughput", arg=50), *users, *procs, "--json",
                       "--summary-json", str(summary), "--thresholds", "p90<100; p90_corrected<100",
                       stall=(proc, 2.5, 2.0), seconds=7)
    # the measured p90 passes, the corrected one fails: exit code 3
    assert rc == 3, err[-3000:]
    measured, corrected = table(err, MEASURED_TITLE), table(err, CORRECTED_TITLE)
    assert measured and corrected, err[-4000:]
    for name in ("/paced", "/caught", "/custom", "Aggregated"):
        assert name in corrected, (name, err[-4000:])
    m, c = measured["Aggregated"], corrected["Aggregated"]
    # requests at 12 × 50/s; the stall holds 12 of them (4 per row) ~2 s and keeps ~1,200 from being sent
    assert m[11] == c[11], "same requests"
    assert c[12] > 500, f"synthetic samples: {c}"
    p90, p99 = 4, 7
    assert m[p90] < 100, f"measured p90 {m}"
    assert c[p90] > 200 and c[p90] > 5 * m[p90], f"corrected p90 {c} vs measured {m}"
    assert c[p99] > 1000 and c[p99] > 2 * m[p99], f"corrected p99 {c} vs measured {m}"
    assert c[10] == m[10], "the maximum never changes"
    # the Python-recorded rows are corrected too
    for name in ("/custom", "/caught"):
        assert corrected[name][12] > 100 and corrected[name][7] > 1000 > measured[name][4], err[-4000:]
    # --json (Locust's format) and the CSV carry no new field; the report has the section
    doc = json.loads(out)
    assert all(set(e) == set(doc[0]) for e in doc) and not any("correct" in k for k in doc[0])
    header = (tmp_path / "r_stats.csv").read_text().splitlines()[0]
    assert "correct" not in header.lower()
    html = (tmp_path / "report.html").read_text()
    assert 'id="coordinated-omission"' in html and "/custom" in html.split('id="coordinated-omission"')[1]
    # the summary holds both, clearly apart
    doc = json.loads(summary.read_text())
    verdicts = {t["rule"]: t["passed"] for t in doc["thresholds"]}
    assert verdicts == {"p90<100": True, "p90_corrected<100": False}, doc["thresholds"]
    co = doc["totals"]["coordinated_omission"]
    assert co["synthetic_samples"] == c[12] and co["percentiles_ms"]["90"] > 200 > 100 > doc["totals"]["percentiles_ms"]["90"]
    assert co["fixed_rate_requests"] == doc["totals"]["requests"]


def test_without_a_stall_corrected_equals_measured(tmp_path, target):
    _, host = target
    rc, _, err = run(tmp_path, host, PACED.format(wait="constant_pacing", arg=0.1), "-u", "10", "-r", "10",
                     seconds=4)
    assert rc == 0, err[-3000:]
    m, c = table(err, MEASURED_TITLE)["Aggregated"], table(err, CORRECTED_TITLE)["Aggregated"]
    assert m[11] == c[11]
    # a ~1 ms endpoint at a 100 ms interval: only a scheduling hiccup of the machine could add a sample
    assert c[12] <= m[11] // 100, (m, c)
    assert c[:4] == m[:4], (m, c)
    assert abs(c[7] - m[7]) <= max(5, m[7] // 5), (m, c)


def test_no_fixed_rate_users_no_corrected_output(tmp_path, target):
    proc, host = target
    rc, _, err = run(tmp_path, host, PACED.format(wait="constant", arg=0.02), "-u", "5", "-r", "5",
                     stall=(proc, 1.5, 1.0), seconds=4)
    assert rc == 0, err[-3000:]
    assert table(err, MEASURED_TITLE)
    assert "coordinated omission" not in err
    assert 'id="coordinated-omission"' not in (tmp_path / "report.html").read_text()
