"""Response times true to the wire while the generator cannot run (docs/observability.md, "What response time
means" and "Generator lateness").

The whole rlocust process is frozen (SIGSTOP) for 0.8 s while its users wait for 50 ms responses. The responses
arrive during the freeze and sit in the sockets; with the kernel's receive stamps they are timed by their
arrival, so no response time comes near the freeze, while the generator's own lateness shows it: the socket wait
and the users' wait lateness both reach most of the freeze, in the summary, in `_generator.csv` (`--csv-generator`)
and in the Prometheus gauges. Without `--csv-generator` the CSV files are exactly Locust's four. A generator that timed responses when it read them (Locust, or rlocust without stamps) would
report responses of 0.8 s or more here.
"""

import csv
import json
import os
import signal
import time
from pathlib import Path

import requests
from conftest import finish, free_port, start

LOCUSTFILE = """
from locust import HttpUser, task, constant, between

class Busy(HttpUser):
    # always has a request in flight: some responses arrive during the freeze
    fixed_count = 2
    wait_time = constant(0)

    @task
    def t(self):
        self.client.get("/delay/50", name="/delay")


class Waiting(HttpUser):
    # in a wait most of the time, at random phases: some of the 8 are waiting when the freeze starts, and their waits
    # (at most 0.3 s) end during it
    wait_time = between(0.05, 0.3)

    @task
    def t(self):
        self.client.get("/delay/50", name="/delay")
"""

FREEZE = 0.8


def test_a_frozen_generator_reports_the_servers_latency_and_its_own_lateness(tmp_path: Path, rlocust, target_url):
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    port = free_port()
    proc = start([rlocust, "-f", "locustfile.py", "--headless", "-u", "10", "-r", "10", "-t", "6s", "-H", target_url,
                  "--csv", "run", "--csv-generator", "--summary-json", "summary.json", "--metrics-port", str(port)],
                 tmp_path)
    time.sleep(2.5)
    os.kill(proc.pid, signal.SIGSTOP)
    time.sleep(FREEZE)
    os.kill(proc.pid, signal.SIGCONT)
    time.sleep(1.0)
    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert finish(proc, 30) == 0, (tmp_path / "stderr.txt").read_text()[-3000:]

    summary = json.loads((tmp_path / "summary.json").read_text())
    totals = summary["totals"]
    assert totals["requests"] > 100 and totals["failures"] == 0
    # every response is timed as the server answered it (50 ms + loopback), none as the freeze made it look
    assert 45 <= totals["median_ms"] <= 80, totals
    assert totals["max_ms"] < FREEZE * 1000 / 2, totals

    gen = summary["generator"]
    socket_wait, wait_late = gen["socket_wait_ms"], gen["wait_lateness_ms"]
    # the responses that arrived during the freeze waited in their sockets for most of it
    assert socket_wait["max"] > FREEZE * 1000 * 0.5, gen
    assert socket_wait["count"] >= totals["requests"] * 0.8, gen  # the first packets may come unstamped
    # the users whose waits ended during the freeze resumed late by most of it
    assert wait_late["max"] > FREEZE * 1000 * 0.5 and wait_late["count"] > 100, gen

    with open(tmp_path / "run_generator.csv", newline="") as f:
        rows = {r["Delay"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["Socket wait", "Response handling", "Wait lateness"]
    assert int(rows["Socket wait"]["Count"]) == socket_wait["count"]
    assert float(rows["Socket wait"]["Max"]) == socket_wait["max"]
    assert int(rows["Response handling"]["Count"]) >= totals["requests"]
    # Locust's own CSV files are still there and agree with the summary
    with open(tmp_path / "run_stats.csv", newline="") as f:
        agg = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
    assert int(agg["Request Count"]) == totals["requests"]

    line = [x for x in metrics.splitlines() if x.startswith('rlocust_generator_socket_wait_seconds{quantile="1.0"}')]
    assert line and float(line[0].split()[-1]) > FREEZE * 0.5, line


def test_the_generator_csv_is_only_written_when_asked(tmp_path: Path, rlocust, target_url):
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    proc = start([rlocust, "-f", "locustfile.py", "--headless", "-u", "2", "-r", "2", "-t", "2s", "-H", target_url,
                  "--csv", "plain"], tmp_path)
    assert finish(proc, 30) == 0, (tmp_path / "stderr.txt").read_text()[-3000:]
    assert sorted(p.name for p in tmp_path.glob("plain*")) == [
        "plain_exceptions.csv", "plain_failures.csv", "plain_stats.csv", "plain_stats_history.csv"]


def test_waits_of_every_kind_end_on_time(tmp_path: Path, rlocust, target_url):
    """Waits kept by the engine's timers (floats and ints) and the ones left to gevent (0, a Decimal) all happen,
    none ends early, and a user killed in a long wait stops at once."""
    (tmp_path / "locustfile.py").write_text("""
import time
from decimal import Decimal
from locust import User, task, events

marks = {}

def timed(kind, seconds):
    def wait_time(self):
        now = time.perf_counter()
        if kind in marks:
            marks[kind].append(now)
        else:
            marks[kind] = [now]
        return seconds
    return wait_time

class Float(User):
    wait_time = timed("float", 0.25)
    @task
    def t(self):
        pass

class Int(User):
    wait_time = timed("int", 1)
    @task
    def t(self):
        pass

class Zero(User):
    wait_time = timed("zero", 0)
    @task
    def t(self):
        time.sleep(0.05)

class Dec(User):
    wait_time = timed("decimal", Decimal("0.2"))
    @task
    def t(self):
        pass

class Long(User):
    wait_time = timed("long", 3600)
    @task
    def t(self):
        pass

@events.quitting.add_listener
def report(environment, **kw):
    for kind, times in sorted(marks.items()):
        gaps = [b - a for a, b in zip(times, times[1:])]
        print(f"WAIT {kind} {len(times)} {min(gaps) if gaps else -1:.4f} {max(gaps) if gaps else -1:.4f}")
""")
    t0 = time.monotonic()
    proc = start([rlocust, "-f", "locustfile.py", "--headless", "-u", "5", "-r", "5", "-t", "4s"], tmp_path)
    assert finish(proc, 30) == 0, (tmp_path / "stderr.txt").read_text()[-3000:]
    took = time.monotonic() - t0
    out = (tmp_path / "stdout.txt").read_text() + (tmp_path / "stderr.txt").read_text()
    seen = {w[1]: (int(w[2]), float(w[3]), float(w[4])) for w in (x.split() for x in out.splitlines())
            if w[:1] == ["WAIT"]}
    assert set(seen) == {"float", "int", "zero", "decimal", "long"}, out[-2000:]
    n, lo, hi = seen["float"]
    assert n >= 10 and lo >= 0.25 and hi < 0.4, seen
    n, lo, hi = seen["int"]
    assert 3 <= n <= 5 and lo >= 1.0 and hi < 1.15, seen
    n, lo, hi = seen["decimal"]
    assert n >= 10 and lo >= 0.199 and hi < 0.35, seen
    n, lo, hi = seen["zero"]
    assert n >= 20 and lo >= 0.05, seen
    assert seen["long"][0] == 1  # one task, then the hour-long wait: killed by the stop, the run ends on time
    assert took < 15, took
