"""Locust's distributed-mode events, with real Locust 2.47 masters and workers on either side: a worker's
`report_to_master` listeners add keys to every `stats` report (Locust fires the event with an empty dict before its
own listeners add the stats), a master's `worker_report` listeners see each report with those keys and the stats,
`heartbeat_sent` fires on the master for each heartbeat it answers and `heartbeat_received` on the worker for each
heartbeat of the master. Each listener prints what it saw; the master's and the worker's outputs are checked the
same way whatever the tools."""

from __future__ import annotations

import re

import pytest
from test_interop import free_port, nodes  # noqa: F401 (fixture)

LOCUSTFILE = """
import sys
from locust import User, task, constant, events

class U(User):
    wait_time = constant(0.2)
    @task
    def t(self):
        events.request.fire(request_type="GET", name="/x", response_time=1, response_length=0, exception=None,
                            context={})

n = {"reports": 0}

@events.report_to_master.add_listener
def add_mine(client_id, data):
    n["reports"] += 1
    data["mine"] = {"count": n["reports"], "who": client_id}
    print(f"REPORT_TO_MASTER keys_before={sorted(k for k in data if k != 'mine')}", flush=True)

@events.worker_report.add_listener
def got_report(client_id, data):
    mine = data.get("mine") or {}
    print(f"WORKER_REPORT mine={mine.get('count')} same_id={mine.get('who') == client_id} "
          f"stats={'stats' in data and 'stats_total' in data} users={data.get('user_count')}", flush=True)

@events.heartbeat_sent.add_listener
def sent(client_id, timestamp):
    print(f"HEARTBEAT_SENT {type(timestamp).__name__}", flush=True)

@events.heartbeat_received.add_listener
def received(client_id, timestamp):
    print(f"HEARTBEAT_RECEIVED {type(timestamp).__name__}", flush=True)
"""

PAIRS = [("locust", "rlocust"), ("rlocust", "locust"), ("rlocust", "rlocust"), ("locust", "locust")]


@pytest.mark.parametrize("master_tool,worker_tool", PAIRS, ids=[f"{m}-master+{w}-worker" for m, w in PAIRS])
def test_report_and_heartbeat_events(master_tool, worker_tool, tmp_path, nodes):  # noqa: F811
    lf = tmp_path / "events.py"
    lf.write_text(LOCUSTFILE)
    port = free_port()
    master = nodes(master_tool, ["-f", str(lf), "--master", "--headless", "--expect-workers", "1", "-u", "2",
                                 "-r", "2", "-t", "5", "--master-bind-host", "127.0.0.1", "--master-bind-port",
                                 str(port)], tmp_path, "master", {"LOCUST_WORKER_REPORT_INTERVAL": "1"})
    worker = nodes(worker_tool, ["-f", str(lf), "--worker", "--master-port", str(port)], tmp_path, "worker")
    assert master.wait(60) == 0, master.log()[-3000:]
    worker.wait(30)
    mlog, wlog = master.log(), worker.log()
    reports = re.findall(r"WORKER_REPORT mine=(\d+) same_id=(\w+) stats=(\w+) users=(\d+)", mlog)
    # a report every 3 s and the last one at quit: at least two in a 5 s run
    assert len(reports) >= 2, mlog[-3000:]
    assert all(same == "True" and stats == "True" for _, same, stats, _ in reports), reports
    assert [int(c) for c, *_ in reports] == list(range(1, len(reports) + 1)), reports
    assert any(int(u) == 2 for *_, u in reports), reports
    # the worker's listener ran before the stats were added to the dict, as in Locust
    before = re.findall(r"REPORT_TO_MASTER keys_before=(.*)", wlog)
    assert before and all(b == "[]" for b in before), wlog[-3000:]
    assert len(before) >= len(reports)
    assert "HEARTBEAT_SENT float" in mlog and "HEARTBEAT_RECEIVED float" in wlog, (mlog[-2000:], wlog[-2000:])
    assert "HEARTBEAT_RECEIVED" not in mlog and "HEARTBEAT_SENT" not in wlog
