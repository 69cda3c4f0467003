"""Runs compared with a baseline (issue 42): `--baseline` with a summary JSON, a Locust 2.47 `_stats.csv` (real
Locust writes it) and rlocust's own CSV; the comparison in the console, `PREFIX_baseline.csv`, the summary JSON,
the HTML report (also printed to PDF by headless Chromium) and the web UI; `--baseline-gate`'s exit code 3 with
one line naming the name that regressed; `rlocust-report compare` on stored results; and mistakes refused in one
line; the web UI's route and `/metrics` series. The server is rlocust-target on loopback; one of its three names is made 20 % slower between the runs
(/delay/50 then /delay/60). Every process bounded in time."""

from __future__ import annotations

import csv
import json
import re
import shutil
import time

import pytest
import requests
from conftest import HERE, ROOT, clean_env, finish, free_port, run, start
from support.bounded import binary

LOCUSTFILE = HERE / "baseline_locustfile.py"
NAMES = {"/fast", "/other", "/slow"}


@pytest.fixture(scope="session")
def report_bin() -> str:
    return binary("RLOCUST_REPORT_BIN", ROOT / "target/release/rlocust-report")


def headless(rlocust, target_url, slow_ms, *args, seconds="5"):
    return ([rlocust, "-f", LOCUSTFILE, "--headless", "-u", "10", "-r", "50", "-t", seconds, "-H", target_url,
             "--only-summary", *args], clean_env({"SLOW_MS": str(slow_ms)}))


def rlocust_run(rlocust, target_url, slow_ms, cwd, *args):
    argv, env = headless(rlocust, target_url, slow_ms, *args)
    return run(argv, cwd, timeout=60, env=env)


def regressed_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Regression against the baseline:" in line]


def table_verdicts(stderr: str) -> dict[str, str]:
    """{name: verdict} of the console's comparison table."""
    table = stderr[stderr.index("Compared with baseline"):]
    out = {}
    for line in table.splitlines():
        m = re.match(r"^GET\s+(\S+)\s+\|.*\| (regressed|improved|unchanged|too few samples|new|vanished)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


@pytest.fixture(scope="module")
def pair(rlocust, target_url, tmp_path_factory):
    """A baseline run (/slow at 50 ms) and a run with /slow at 60 ms compared with it, with every output."""
    d = tmp_path_factory.mktemp("pair")
    base = rlocust_run(rlocust, target_url, 50, d, "--summary-json", "base.json", "--csv", "base")
    assert base.code == 0, base.stderr
    cur = rlocust_run(rlocust, target_url, 60, d, "--baseline", "base.json", "--baseline-gate", "--csv", "cur",
                      "--summary-json", "cur.json", "--html", "cur.html")
    return d, cur


def test_the_slower_name_and_only_it_is_flagged_in_every_output(pair):
    d, cur = pair
    # the gate: exit code 3, one line naming the request, the figures and both values
    assert cur.code == 3, cur.stderr
    lines = regressed_lines(cur.stderr)
    assert len(lines) == 1, cur.stderr
    assert re.search(r"ERROR/rlocust.baseline: Regression against the baseline: GET /slow: p50 5\d\.\d+ → 6\d\.\d+ ms "
                     r"\(\+\d+\.\d%, limit \+5% \+0\.5ms\)", lines[0]), lines[0]
    assert "Shutting down (exit code 3)" in cur.stderr
    # the console table comes after Locust's own tables
    assert cur.stderr.index("Response time percentiles") < cur.stderr.index("Compared with baseline base.json")
    verdicts = table_verdicts(cur.stderr)
    assert set(verdicts) == NAMES, cur.stderr
    assert verdicts["/slow"] == "regressed"
    assert verdicts["/fast"] != "regressed" and verdicts["/other"] != "regressed", verdicts
    # PREFIX_baseline.csv
    with open(d / "cur_baseline.csv", newline="") as f:
        rows = {r["Name"]: r for r in csv.DictReader(f)}
    assert set(rows) == NAMES | {"Aggregated"}
    assert rows["/slow"]["Verdict"] == "regressed" and rows["/slow"]["50% Verdict"] == "regressed"
    assert 15 < float(rows["/slow"]["50% Delta %"]) < 25, rows["/slow"]
    assert float(rows["/slow"]["50% (baseline)"]) == pytest.approx(50, abs=4)
    assert [n for n, r in rows.items() if r["Verdict"] == "regressed"] == ["/slow"]
    # the summary JSON
    doc = json.loads((d / "cur.json").read_text())
    comparison = doc["baseline"]
    assert comparison["schema"] == "rlocust-comparison/1" and doc["baseline_gate"] is True
    assert comparison["baseline"]["source"] == "base.json" and comparison["baseline"]["format"] == "rlocust summary"
    assert comparison["counts"]["regressed"] == 1 and len(comparison["breaches"]) == 1
    assert [r["name"] for r in comparison["rows"] if r["verdict"] == "regressed"] == ["/slow"]
    slow = next(r for r in comparison["rows"] if r["name"] == "/slow")
    assert slow["figures"]["p95"]["verdict"] == "regressed" and slow["figures"]["rps"]["verdict"] == "not judged"
    assert doc["exit_code"] == 3
    # the HTML report's args carry the comparison and the run's parameters
    html = (d / "cur.html").read_text()
    args = json.loads(re.search(r"window\.templateArgs = (.*?); window\.theme", html, re.S).group(1))
    assert [r["name"] for r in args["baseline"]["rows"] if r["verdict"] == "regressed"] == ["/slow"]
    assert args["run"]["users"] == 10 and args["run"]["locust_version"] == "2.47.0" and args["run"]["python_version"]
    assert "http://" not in html.split("window.templateArgs")[0].replace("http://www.w3.org", "")


def test_the_report_prints_to_pdf(pair, tmp_path):
    d, _ = pair
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed (make test installs it)")
    pdf = tmp_path / "report.pdf"
    r = run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
             "--virtual-time-budget=5000", f"--print-to-pdf={pdf}", (d / "cur.html").as_uri()], tmp_path, timeout=90)
    assert pdf.exists() and pdf.stat().st_size > 20_000, r.stderr[-2000:]
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert pages >= 2, pages


def test_a_run_compared_with_its_twin_flags_nothing(rlocust, target_url, tmp_path):
    base = rlocust_run(rlocust, target_url, 50, tmp_path, "--summary-json", "base.json")
    assert base.code == 0, base.stderr
    for i in range(2):
        twin = rlocust_run(rlocust, target_url, 50, tmp_path, "--baseline", "base.json", "--baseline-gate")
        assert twin.code == 0, twin.stderr
        assert regressed_lines(twin.stderr) == []
        assert "regressed" not in table_verdicts(twin.stderr).values(), twin.stderr


def test_a_locust_stats_csv_is_a_baseline(rlocust, target_url, tmp_path):
    locust = binary("LOCUST_PLUGINS_BIN", ROOT / ".venv-oracle-plugins/bin/locust")
    argv, env = headless(locust, target_url, 50, "--csv", "locust")
    r = run(argv, tmp_path, timeout=90, env=env)
    assert r.code == 0, r.stderr[-3000:]
    header = (tmp_path / "locust_stats.csv").read_text().splitlines()[0]
    assert header.startswith("Type,Name,Request Count,Failure Count,Median Response Time")
    cur = rlocust_run(rlocust, target_url, 60, tmp_path, "--baseline", "locust_stats.csv", "--baseline-gate")
    assert cur.code == 3, cur.stderr
    assert "Compared with baseline locust_stats.csv (Locust _stats.csv)" in cur.stderr
    lines = regressed_lines(cur.stderr)
    assert len(lines) == 1 and "GET /slow: p50 " in lines[0], cur.stderr
    # rlocust's own _stats.csv works the same way
    cur = rlocust_run(rlocust, target_url, 60, tmp_path, "--baseline", "locust_stats.csv")
    assert cur.code == 0 and len(regressed_lines(cur.stderr)) == 1, cur.stderr
    assert "WARNING/rlocust.baseline: Regression against the baseline: GET /slow" in cur.stderr


def test_rlocust_report_compares_stored_results(pair, report_bin, tmp_path):
    d, _ = pair
    r = run([report_bin, "compare", d / "base.json", d / "cur.json", "--gate", "--json", "c.json", "--csv", "c.csv",
             "--html", "c.html"], tmp_path, timeout=30)
    assert r.code == 3, r.stderr
    assert table_verdicts(r.stdout)["/slow"] == "regressed", r.stdout
    assert [line for line in r.stderr.splitlines() if "Regression" in line][0].startswith(
        "ERROR: Regression against the baseline: GET /slow: p50 ")
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["current"]["format"] == "rlocust summary" and doc["current"]["run"]["users"] == 10
    assert [r["name"] for r in doc["rows"] if r["verdict"] == "regressed"] == ["/slow"]
    assert "/slow,compared,regressed" in (tmp_path / "c.csv").read_text()
    html = (tmp_path / "c.html").read_text()
    assert '"comparison_only":true' in html.replace(" ", "")
    # a CSV against the summary that followed it, no gate: exit 0, the regression still said
    r = run([report_bin, "compare", d / "base_stats.csv", d / "cur.json"], tmp_path, timeout=30)
    assert r.code == 0 and "GET /slow" in r.stderr, r.stderr
    assert run([report_bin, "compare", d / "base.json"], tmp_path).code == 2
    bad = run([report_bin, "compare", d / "base.json", LOCUSTFILE], tmp_path)
    assert bad.code == 1 and bad.stderr.count("\n") == 1 and "neither an rlocust summary" in bad.stderr


def test_the_web_ui_shows_the_comparison(pair, rlocust, target_url, tmp_path):
    d, _ = pair
    port = free_port()
    env = clean_env({"SLOW_MS": "60"})
    proc = start([rlocust, "-f", LOCUSTFILE, "-u", "10", "-r", "50", "-t", "6s", "-H", target_url, "--autostart",
                  "--autoquit", "2", "--web-host", "127.0.0.1", "--web-port", str(port), "--baseline",
                  d / "base.json"], tmp_path, env=env)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 20
        seen = None
        while time.monotonic() < deadline:
            try:
                r = requests.get(base + "rlocust/baseline", timeout=2)
                if r.status_code == 200:
                    seen = r.json()
                    if seen["counts"]["regressed"] >= 1 and time.monotonic() > deadline - 14:
                        break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        assert seen is not None, (tmp_path / "stderr.txt").read_text()
        assert [r["name"] for r in seen["rows"] if r["verdict"] == "regressed"] == ["/slow"], seen["rows"]
        page = requests.get(base, timeout=5).text
        args = json.loads(re.search(r"window\.templateArgs = (.*?);</script>", page, re.S).group(1))
        assert args["baseline"] == {"source": str(d / "base.json"), "format": "rlocust summary"}
        # and the Prometheus exposition has the verdicts
        metrics = requests.get(base + "metrics", timeout=5).text
        assert 'rlocust_baseline_regressed{method="GET",name="/slow"} 1' in metrics, metrics[-3000:]
        assert 'rlocust_baseline_regressed{method="GET",name="/other"} 0' in metrics
        assert 'rlocust_baseline_p95_change_ratio{method="GET",name="/slow"} 0.' in metrics
    finally:
        finish(proc, timeout=40)


def test_the_dashboard_without_a_baseline_has_no_route(rlocust, target_url, tmp_path):
    port = free_port()
    proc = start([rlocust, "-f", LOCUSTFILE, "-u", "1", "-t", "2s", "-H", target_url, "--autostart", "--autoquit",
                  "1", "--web-host", "127.0.0.1", "--web-port", str(port)], tmp_path)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/", timeout=2).text
                break
            except requests.RequestException:
                time.sleep(0.2)
        assert "\"baseline\"" not in page
        assert requests.get(f"http://127.0.0.1:{port}/rlocust/baseline", timeout=2).status_code == 404
        # nor a search: the page has no search data, /search is null, /metrics has no search families
        assert "\"search\"" not in page
        assert requests.get(f"http://127.0.0.1:{port}/search", timeout=2).json() is None
        assert "rlocust_search" not in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    finally:
        finish(proc, timeout=30)


@pytest.mark.parametrize("args,says", [
    (["--baseline", "missing.json"], "rlocust: --baseline: cannot read missing.json"),
    (["--baseline", str(LOCUSTFILE)], "neither an rlocust summary"),
    (["--baseline-gate"], "rlocust: --baseline-gate needs --baseline FILE"),
    (["--baseline", "b.csv", "--baseline-limits", "p95 -5%"], "rlocust: --baseline-limits: 'p95 -5%'"),
    (["--baseline", "b.csv", "--baseline-limits", "fail_ratio 1%"], "percentage points"),
])
def test_mistakes_are_one_line(rlocust, target_url, tmp_path, args, says):
    (tmp_path / "b.csv").write_text("Type,Name,Request Count,Failure Count\r\n,Aggregated,0,0\r\n")
    r = rlocust_run(rlocust, target_url, 50, tmp_path, *args)
    assert r.code == 1, r.stderr
    assert says in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert "Traceback" not in r.stderr and "panicked" not in r.stderr


def test_a_master_compares_its_workers_numbers(pair, rlocust, target_url, tmp_path):
    """Distributed: the master (which has every worker's numbers) compares and gates; a worker given the options
    says it ignores them."""
    d, _ = pair
    port = free_port()
    env = clean_env({"SLOW_MS": "60"})
    master_dir, worker_dir = tmp_path / "master", tmp_path / "worker"
    master_dir.mkdir()
    worker_dir.mkdir()
    master = start([rlocust, "-f", LOCUSTFILE, "--master", "--headless", "--expect-workers", "1", "-u", "10", "-r",
                    "50", "-t", "6s", "-H", target_url, "--master-bind-host", "127.0.0.1", "--master-bind-port",
                    str(port), "--only-summary", "--baseline", d / "base.json", "--baseline-gate", "--summary-json",
                    "m.json"], master_dir, env=env)
    worker = start([rlocust, "-f", LOCUSTFILE, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port),
                    "--baseline", d / "base.json"], worker_dir, env=env)
    try:
        assert finish(master, timeout=60) == 3, (master_dir / "stderr.txt").read_text()[-3000:]
    finally:
        finish(worker, timeout=30)
    lines = regressed_lines((master_dir / "stderr.txt").read_text())
    assert len(lines) == 1 and "GET /slow: p50 " in lines[0], lines
    doc = json.loads((master_dir / "m.json").read_text())
    assert doc["parameters"]["workers"] == 1 and doc["baseline"]["counts"]["regressed"] == 1
    worker_err = (worker_dir / "stderr.txt").read_text()
    assert "WARNING/rlocust.baseline: --baseline, --baseline-limits and --baseline-gate are the master's" in worker_err
    assert regressed_lines(worker_err) == [] and "Compared with baseline" not in worker_err
