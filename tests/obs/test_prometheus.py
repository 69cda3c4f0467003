"""Prometheus scrapes rlocust: a real Prometheus server (Debian's package) on 127.0.0.1 scrapes the
`--metrics-port` listener of a headless run and the web UI's `/metrics` (behind --basic-auth), and its query API
returns the counts the run made. A master's `/metrics` has one series per worker. Loopback only; every process
bounded in time."""

from __future__ import annotations

import json
import time

import requests
from conftest import HERE, ROOT, Prometheus, clean_env, finish, free_port, run, start

LOCUSTFILE = HERE / "counted_locustfile.py"
USERS = 3


def wait_for(prom: Prometheus, expr: str, want: float, seconds: float = 20) -> float | None:
    deadline = time.monotonic() + seconds
    got = None
    while time.monotonic() < deadline:
        got = prom.value(expr)
        if got == want:
            return got
        time.sleep(0.5)
    return got


def check_dashboard(prom: Prometheus):
    """Every query of docs/grafana-dashboard.json is valid PromQL over these series, and the main ones have data."""
    dashboard = json.loads((ROOT / "docs/grafana-dashboard.json").read_text())
    def empty_panels():
        out = []
        for panel in dashboard["panels"]:
            results = [prom.query(t["expr"].replace("$job", ".*").replace("$__rate_interval", "1m"))
                       for t in panel["targets"]]
            if not any(results):
                out.append(panel["title"])
        return set(out)

    # the per-worker panels have no data outside a distributed run; rate() needs two scrapes: poll until then
    allowed = {"Workers: users", "Workers: CPU"}
    deadline = time.monotonic() + 15
    while not (empty := empty_panels()) <= allowed and time.monotonic() < deadline:
        time.sleep(0.5)
    assert empty <= allowed, empty


def test_prometheus_scrapes_a_headless_run(rlocust, target_url, tmp_path):
    port = free_port()
    prom = Prometheus(tmp_path, [{"name": "headless", "target": f"127.0.0.1:{port}"}])
    try:
        proc = start([rlocust, "-f", str(LOCUSTFILE), "--headless", "-u", str(USERS), "-r", "10", "-t", "25",
                      "-H", target_url, "--metrics-port", str(port)], tmp_path)
        try:
            total = USERS * 20
            assert wait_for(prom, "sum(rlocust_requests_total)", total) == total, (tmp_path / "stderr.txt").read_text()
            assert prom.value('rlocust_requests_total{job="headless",method="GET",name="/hello"}') == USERS * 16
            assert prom.value('rlocust_request_failures_total{name="/fail"}') == USERS * 4
            assert prom.value('rlocust_request_failures_total{name="/hello"}') == 0
            assert prom.value("sum(rlocust_errors_total)") == USERS * 4
            assert prom.value('rlocust_response_time_seconds_count{name="/hello"}') == USERS * 16
            assert prom.value('rlocust_response_time_seconds_bucket{name="/hello",le="+Inf"}') == USERS * 16
            # every request to the local target answers within a second
            assert prom.value('rlocust_response_time_seconds_bucket{name="/hello",le="1.0"}') == USERS * 16
            p99 = prom.value("histogram_quantile(0.99, sum by (le) (rlocust_response_time_seconds_bucket))")
            assert p99 is not None and 0 < p99 <= 1.0
            assert prom.value('rlocust_response_time_percentile_seconds{name="Aggregated",quantile="1.0"}') > 0
            assert prom.value('rlocust_users{user_class="Counted"}') == USERS
            assert prom.value('rlocust_state{state="running"}') == 1
            assert prom.value('rlocust_target_users') == USERS
            assert prom.value('rlocust_info{locust_version="2.47.0"}') == 1
            assert prom.value("process_resident_memory_bytes") > 1_000_000
            assert prom.value("process_cpu_seconds_total") > 0
            assert prom.value('rlocust_generator_response_delay_seconds{quantile="0.5"}') >= 0
            assert prom.value('rlocust_generator_wait_lateness_seconds{quantile="1.0"}') is not None
            # locust_exporter's gauges (its Grafana dashboards), Aggregated row included
            assert prom.value('locust_requests_num_requests{name="Aggregated"}') == total
            assert prom.value('locust_requests_num_failures{name="/fail"}') == USERS * 4
            assert prom.value("locust_users") == USERS
            assert prom.value("locust_running") == 2
            assert abs(prom.value("locust_requests_fail_ratio") - 0.2) < 1e-9
            target = prom.targets()[0]
            assert target["health"] == "up" and target["lastError"] == ""
            check_dashboard(prom)
        finally:
            proc.terminate()
            code = finish(proc)
        assert code == 1  # the failures of /fail
    finally:
        prom.close()


def test_prometheus_scrapes_the_web_ui_with_basic_auth(rlocust, target_url, tmp_path):
    port = free_port()
    prom = Prometheus(tmp_path, [
        {"name": "ui", "target": f"127.0.0.1:{port}", "auth": ("scraper", "s3cret")},
        {"name": "ui_wrong_password", "target": f"127.0.0.1:{port}", "auth": ("scraper", "nope")},
    ])
    try:
        proc = start([rlocust, "-f", str(LOCUSTFILE), "--autostart", "-u", str(USERS), "-r", "10", "-t", "25",
                      "--autoquit", "0", "-H", target_url, "--web-host", "127.0.0.1", "--web-port", str(port)],
                     tmp_path, env=clean_env({"RLOCUST_WEB_AUTH": "scraper:s3cret"}))
        try:
            total = USERS * 20
            assert wait_for(prom, 'sum(rlocust_requests_total{job="ui"})', total) == total
            assert prom.value('up{job="ui"}') == 1
            assert wait_for(prom, 'up{job="ui_wrong_password"}', 0) == 0
            r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            assert r.status_code == 401
            r = requests.get(f"http://127.0.0.1:{port}/metrics", auth=("scraper", "s3cret"), timeout=5)
            assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            r = requests.get(f"http://127.0.0.1:{port}/metrics", auth=("scraper", "s3cret"), timeout=5,
                             headers={"Accept": "application/openmetrics-text; version=1.0.0"})
            assert r.headers["Content-Type"].startswith("application/openmetrics-text")
            assert r.text.endswith("# EOF\n") and "# TYPE rlocust_requests counter" in r.text
        finally:
            proc.terminate()
            finish(proc)
    finally:
        prom.close()


def parse(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def test_master_exports_its_workers(rlocust, target_url, tmp_path):
    port = free_port()
    master_port = free_port()
    proc = start([rlocust, "-f", str(LOCUSTFILE), "--headless", "-u", "4", "-r", "10", "-t", "25", "-H", target_url,
                  "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port), "--processes", "2", "--metrics-port", str(port),
                  "--summary-json", str(tmp_path / "summary.json")], tmp_path)
    try:
        deadline = time.monotonic() + 30
        samples: dict[str, float] = {}
        while time.monotonic() < deadline:
            try:
                samples = parse(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text)
            except requests.RequestException:
                pass
            if sum(v for k, v in samples.items() if k.startswith("rlocust_requests_total{")) == 80:
                break
            time.sleep(0.5)
        workers = {k: v for k, v in samples.items() if k.startswith("rlocust_worker_users{")}
        assert len(workers) == 2 and sum(workers.values()) == 4, samples
        assert samples['rlocust_users{user_class="Counted"}'] == 4
        assert samples['rlocust_requests_total{method="GET",name="/hello"}'] == 64
        assert samples["locust_workers_count"] == 2 and samples["locust_workers_running_count"] == 2
        assert len([k for k in samples if k.startswith("rlocust_worker_cpu_usage_percent{")]) == 2
    finally:
        proc.terminate()
        finish(proc)
    log = (tmp_path / "stderr.txt").read_text()
    assert log.count("Prometheus metrics at http://127.0.0.1:") == 1  # the children do not open the port
    summary = json.loads((tmp_path / "summary.json").read_text())  # written by the master alone, after SIGTERM
    assert summary["parameters"]["mode"] == "master" and summary["parameters"]["workers"] == 2
    assert summary["interrupted"] is True and summary["totals"]["requests"] == 80


def test_bad_metrics_options_are_one_line(rlocust, tmp_path):
    for args, text in [(["--metrics-buckets", "5,abc"], "rlocust: --metrics-buckets: 'abc' is not a number"),
                       (["--metrics-port", "70000"], "rlocust: --metrics-port 70000 is not a port number")]:
        r = run([rlocust, "-f", str(LOCUSTFILE), "--headless", "-t", "1", "-H", "http://127.0.0.1:9"] + args, tmp_path)
        assert r.code == 1 and text in r.stderr and "panicked" not in r.stderr, r.stderr


def test_a_locustfile_metrics_route_wins(rlocust, tmp_path):
    """A locustfile that serves its own /metrics from environment.web_ui.app keeps it, as under Locust."""
    lf = tmp_path / "lf.py"
    lf.write_text(
        "from locust import HttpUser, events, task\n\n\n"
        "class U(HttpUser):\n    @task\n    def t(self):\n        pass\n\n\n"
        "@events.init.add_listener\n"
        "def routes(environment, **kw):\n"
        "    @environment.web_ui.app.route('/metrics')\n"
        "    def mine():\n"
        "        return 'my_metric 1\\n'\n")
    port = free_port()
    proc = start([rlocust, "-f", str(lf), "--web-host", "127.0.0.1", "--web-port", str(port),
                  "-H", "http://127.0.0.1:9"], tmp_path)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        assert r.status_code == 200 and r.text == "my_metric 1\n", r.text[:300]
    finally:
        proc.terminate()
        finish(proc)
