"""bench/fleet.rs speaks Locust 2.47's worker protocol: a real Locust worker and one simulated worker are each taken
through the same short run by a recording master (capture_master.py, pyzmq as in Locust's master), and every kind of
message the real worker sends must come from the simulator too, with the same fields in the same order and values
of the same types (stats entries, their response-time buckets, per-second counts and error rows included).

This is what makes bench/fleet.py's figures a master's cost with real workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_interop import LOCUST, REPO, free_port, target  # noqa: F401 (a fixture)

HERE = Path(__file__).resolve().parent
FLEET = os.path.join(os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target"), "release", "examples", "fleet")
ORACLE_PYTHON = str(Path(LOCUST).parent / "python")

LOCUSTFILE = """\
from locust import HttpUser, task, constant


class User1(HttpUser):
    wait_time = constant(0.2)

    @task(3)
    def hello(self):
        self.client.get("/hello")

    @task
    def fail(self):
        self.client.get("/status/500")
"""


def record(tmp_path: Path, name: str, worker_cmd, host: str) -> list[dict]:
    """What one worker (`worker_cmd(port)`) sent the recording master."""
    port = free_port()
    out = tmp_path / f"{name}.json"
    master = subprocess.Popen([ORACLE_PYTHON, str(HERE / "capture_master.py"), str(port), str(out), host])
    try:
        worker = subprocess.Popen(worker_cmd(port), cwd=tmp_path, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            assert master.wait(60) == 0
        finally:
            worker.kill()
            worker.wait(10)
    finally:
        master.kill()
        master.wait(10)
    return [m for m in json.loads(out.read_text()) if m["dir"] == "in"]


def same_shape(a, b) -> bool:
    """Two described values have the same shape; an empty map (no data to describe) matches any map."""
    if isinstance(a, dict) and isinstance(b, dict):
        if "map" in a and "map" in b:
            return a["map"] is None or b["map"] is None or same_shape(a["map"], b["map"])
        if "dict" in a and "dict" in b:
            return [k for k, _ in a["dict"]] == [k for k, _ in b["dict"]] and all(
                same_shape(x, y) for (_, x), (_, y) in zip(a["dict"], b["dict"]))
        if "list" in a and "list" in b:
            return a["list"] is None or b["list"] is None or same_shape(a["list"], b["list"])
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_shape(x, y) for x, y in zip(a, b))
    return a == b


def first_of(messages: list[dict], kind: str) -> dict | None:
    of_kind = [m for m in messages if m["type"] == kind]
    if kind == "stats":
        # a report with requests in it: every field of an entry is there
        of_kind = [m for m in of_kind if m["stats"]]
    return of_kind[0] if of_kind else None


def test_simulated_worker_sends_what_a_locust_worker_sends(tmp_path, target):  # noqa: F811
    if not os.access(FLEET, os.X_OK):
        pytest.fail(f"{FLEET} not found: cargo build --release --example fleet")
    lf = tmp_path / "locustfile.py"
    lf.write_text(LOCUSTFILE)
    real = record(tmp_path, "locust", lambda port: [LOCUST, "-f", str(lf), "--worker", "--master-host", "127.0.0.1",
                                                    "--master-port", str(port)], target)
    sim = record(tmp_path, "fleet", lambda port: [FLEET, "--master", f"127.0.0.1:{port}", "--workers", "1",
                                                  "--classes", "User1", "--max-seconds", "40"], target)
    assert sim, "the simulated worker sent nothing"
    kinds = sorted({m["type"] for m in real})
    assert {"client_ready", "heartbeat", "stats", "spawning", "spawning_complete", "logs", "quit"} <= set(kinds)
    for kind in kinds:
        want, got = first_of(real, kind), first_of(sim, kind)
        assert got is not None, f"the simulator never sent {kind!r}"
        assert same_shape(got["shape"], want["shape"]), (
            f"{kind}: simulator {json.dumps(got['shape'])}\n  Locust worker {json.dumps(want['shape'])}")
    # the same sequence: ready first, quit last, a final report before it
    for msgs in (real, sim):
        order = [m["type"] for m in msgs]
        assert order[0] == "client_ready" and order[-1] == "quit", order
        assert order[-2] == "stats", order


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
