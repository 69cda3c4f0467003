"""`async def` tasks on the wheel's engine. The abi3 wheel cannot build `_rlocust.AwaitedCall` (the limited API has
no type slots to set: src/py/awaited.rs), so a client call awaited in a coroutine is the shim's `Call` there, and
a user's coroutine steps through `context.run` instead of `PyContext_Enter` (src/py/aio_step.rs). tests/aio runs the
binary; this runs the same asyncio-semantics locustfiles on the wheel's console script, so that the path only the
wheel takes is checked too: each check's outcome is a request row named "ok: ..." or "bad: ..."."""

import csv
import subprocess
from pathlib import Path

import pytest

LOCUSTFILES = Path(__file__).resolve().parents[1] / "aio" / "locustfiles"


def rows(path):
    with open(path, newline="") as f:
        return {r["Name"]: int(r["Request Count"]) for r in csv.DictReader(f)}


@pytest.mark.parametrize(("locustfile", "checks"), [
    ("call_protocol.py", ("a coroutine", "awaited", "closed", "as a task", "gathered", "send by hand",
                          "a call in a cycle is collected", "thrown before its await")),
    ("current_task.py", ("same task for the user's life", "timeout around a call", "task group", "wait_for",
                         "self-cancel", "a call with a cancel pending", "a dropped cancel", "gather",
                         "a call awaited twice", "a raising call awaited twice")),
])
def test_the_wheels_awaited_calls_keep_asyncio_semantics(wheel_venv, host, tmp_path, locustfile, checks):
    venv, env = wheel_venv
    r = subprocess.run([str(venv / "bin/rlocust"), "-f", str(LOCUSTFILES / locustfile), "--headless", "-u", "2",
                        "-r", "2", "-t", "3s", "-H", host, "--csv", str(tmp_path / "run")],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-3000:]
    t = rows(tmp_path / "run_stats.csv")
    assert not [name for name in t if name.startswith("bad: ")], r.stderr[-3000:]
    for check in checks:
        assert t.get("ok: " + check, 0) >= 2, (check, r.stderr[-3000:])  # 2 users, once each at least
    assert t.get("abandoned", 0) == 0 and t.get("closed: never sent", 0) == 0 and t.get("thrown: never sent", 0) == 0
