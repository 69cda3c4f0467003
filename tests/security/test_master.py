"""The master port (issue 51, items 1, 2 and 5): a loopback attacker against each case of docs/security.md's master
section. The attacker is a raw ZeroMQ peer (zmtp_peer.Peer: every byte under the test's control) or a real
Locust 2.47 / rlocust worker:

- (a) a stranger that only says `client_ready` gets a `spawn`: the web UI's password is not in it (the
  locustfile's own options, `is_secret` ones too, still are: tasks on workers read them, as under Locust);
- (b) the runner's internal commands (`_start_shape`, `_end_shape`, `update_user_class`, `_open_mode`,
  `_worker_report`) sent over the wire, before and after registering: nothing starts, one line per peer;
- (c) a `stats` report from a peer that never registered: not merged;
- (d) an oversized frame before registering: the connection is closed, the master lives on;
- (e) a peer that floods PINGs and never reads: the master stops reading it, its memory stays within budget;
- (f) the master secret on: a Locust worker and rlocust workers without it (or with another) are refused, one with
  it joins and runs;
- (g) the secret off: a Locust worker still joins an rlocust master and an rlocust worker a Locust master;
- (h) `--processes 2` listens on 127.0.0.1 only.

Every process is bounded in time and killed at the end; all traffic stays on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest
import requests
from conftest import clean_env, finish, free_port, rss_kib, run, start
from zmtp_peer import Peer, ping

AUTH = ("admin", "hunter2")

USERS = """\
from locust import HttpUser, task, constant, events


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--my-token", is_secret=True, default="tok-123")


class U(HttpUser):
    wait_time = constant(0.5)

    @task
    def t(self):
        self.client.get("/")
"""

SHAPE = USERS + """

from locust import LoadTestShape


class Shape(LoadTestShape):
    def tick(self):
        return (1, 1) if self.get_run_time() < 60 else None
"""


def write(tmp: Path, text: str) -> Path:
    p = tmp / "locustfile.py"
    p.write_text(text)
    return p


class Master:
    """An rlocust master with the web UI (basic auth) on loopback ports, ended with the test."""

    def __init__(self, rlocust: str, tmp: Path, text: str, target: str, *extra: str, env: dict | None = None):
        self.port, self.web = free_port(), free_port()
        self.tmp = tmp
        lf = write(tmp, text)
        self.proc = start([rlocust, "-f", lf, "--master", "--master-bind-host", "127.0.0.1",
                           "--master-bind-port", self.port, "--web-host", "127.0.0.1", "--web-port", self.web,
                           "--basic-auth", "%s:%s" % AUTH, "-H", target, *extra], tmp, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        pytest.fail("the master did not start:\n" + self.log())

    def stats(self) -> dict:
        return requests.get(f"http://127.0.0.1:{self.web}/stats/requests", auth=AUTH, timeout=5).json()

    def log(self) -> str:
        return (self.tmp / "stderr.txt").read_text(errors="replace")

    def wait_log(self, pattern: str, count: int = 1, timeout: float = 10) -> str:
        """The log once `pattern` (a regex) stands in it `count` times: the master has handled those messages."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if len(re.findall(pattern, log)) >= count:
                return log
            time.sleep(0.05)
        pytest.fail(f"{pattern!r} not {count} times in the master's log within {timeout} s:\n{self.log()[-3000:]}")

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def master_factory(rlocust, target, tmp_path):
    made = []

    def make(text: str, *extra: str, env: dict | None = None) -> Master:
        m = Master(rlocust, tmp_path, text, target, *extra, env=env)
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()


def test_a_spawn_carries_no_web_password(master_factory):
    m = master_factory(USERS)
    peer = Peer(m.port, "stranger_a")
    peer.send("client_ready", "2.47.0")
    ack, _ = peer.recv_kind("ack")
    assert ack == {"index": 0}
    r = requests.post(f"http://127.0.0.1:{m.web}/swarm", data={"user_count": 1, "spawn_rate": 1}, auth=AUTH,
                      timeout=5)
    assert r.status_code == 200
    data, raw = peer.recv_kind("spawn")
    options = data["parsed_options"]
    assert b"hunter2" not in raw
    assert "basic_auth" not in options and "web_auth" not in options and "master_secret_file" not in options
    # the locustfile's own option (is_secret too) goes, as Locust sends it: the workers' tasks read it
    assert options["my_token"] == "tok-123"
    peer.close()


INTERNAL = ["_start_shape", "_end_shape", "update_user_class", "_open_mode", "_worker_report"]


def test_b_internal_kinds_from_the_network_start_nothing(master_factory):
    m = master_factory(SHAPE)
    stranger = Peer(m.port, "stranger_b")
    for kind in INTERNAL:
        stranger.send(kind, {"user_class_name": "U", "host": "http://evil.invalid"} if kind == "update_user_class"
                      else True if kind == "_open_mode" else None)
    worker = Peer(m.port, "registered_b")
    worker.send("client_ready", "2.47.0")
    worker.recv_kind("ack")
    time.sleep(0.5)  # (the worker list Python reads its index from is refreshed every 100 ms)
    for kind in INTERNAL:
        worker.send(kind, None)
    # every message handled (each is refused with a line), then nothing may have started
    m.wait_log(r"Unknown message type received from worker registered_b", len(INTERNAL))
    assert m.stats()["state"] == "ready"
    # a test that had started would have sent the registered peer a spawn
    with pytest.raises((TimeoutError, socket.timeout)):
        worker.recv_kind("spawn", timeout=1)
    log = m.log()
    # the stranger: one line for five messages
    assert len(re.findall(r"Ignored a '\w+' message from stranger_b", log)) == 1, log
    # the registered worker: Locust's warning for each unknown type, and nothing else
    for kind in INTERNAL:
        assert f"Unknown message type received from worker registered_b (index 0): {kind}" in log, log
    stranger.close()
    worker.close()


def test_c_stats_from_a_stranger_are_not_merged(master_factory):
    m = master_factory(USERS)
    peer = Peer(m.port, "stranger_c")
    entry = {"name": "/injected", "method": "GET", "last_request_timestamp": time.time(), "start_time": time.time(),
             "num_requests": 1234, "num_none_requests": 0, "num_failures": 0, "total_response_time": 1234,
             "max_response_time": 1, "min_response_time": 1, "total_content_length": 0,
             "response_times": {1: 1234}, "num_reqs_per_sec": {int(time.time()): 1234}, "num_fail_per_sec": {}}
    total = dict(entry, name="Aggregated", method="")
    report = {"stats": [entry], "stats_total": total, "errors": {}, "user_classes_count": {"U": 1},
              "user_count": 1}
    for _ in range(3):
        peer.send("stats", report)
    # the first is refused with a line; a registered worker's heartbeat after the three orders them all handled
    m.wait_log(r"Ignored a 'stats' message from stranger_c")
    sync = Peer(m.port, "sync_c")
    sync.send("client_ready", "2.47.0")
    sync.recv_kind("ack")
    doc = m.stats()
    assert [r["name"] for r in doc["stats"] if r["name"] != "Aggregated"] == []
    assert doc["stats"][-1]["num_requests"] == 0
    assert len(re.findall(r"Ignored a 'stats' message from stranger_c", m.log())) == 1
    peer.close()
    sync.close()


def test_d_oversized_frame_before_registering(master_factory):
    m = master_factory(USERS)
    peer = Peer(m.port, "stranger_d")
    # a frame header announcing 1 MiB (the limit before registering is 64 KiB), then some of it
    peer.sock.sendall(bytes([0x02]) + (1 << 20).to_bytes(8, "big") + b"\x00" * 4096)
    assert peer.closed_by_master(5)
    assert "closed the connection of stranger_d: frame of 1048576 bytes is larger than the 65536-byte limit" \
        in m.log()
    # the master is alive and takes a real worker
    other = Peer(m.port, "worker_d")
    other.send("client_ready", "2.47.0")
    other.recv_kind("ack")
    assert m.stats()["state"] == "ready"
    other.close()


# What the master may grow by while one peer floods PINGs and reads nothing (its queue to the peer stops at 256 KiB,
# then it stops reading: the rest waits in the kernel's socket buffers, not in the master).
FLOOD_BUDGET_KIB = 32 * 1024


def test_e_ping_flood_without_reading_is_bounded(master_factory):
    m = master_factory(USERS)
    peer = Peer(m.port, "flooder_e", rcvbuf=4096)
    time.sleep(0.5)
    before = rss_kib(m.proc.pid)
    burst = ping(b"x" * 16) * 4096
    peer.sock.settimeout(0.5)
    sent = 0
    peak = before
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and sent < 200_000_000:
        try:
            peer.sock.sendall(burst)
        except (TimeoutError, socket.timeout):
            break  # the master stopped reading us: what libzmq's high-water mark does
        sent += len(burst)
        peak = max(peak, rss_kib(m.proc.pid))
    time.sleep(0.5)
    peak = max(peak, rss_kib(m.proc.pid))
    grown = peak - before
    print(f"flood: {sent} bytes of PINGs sent, master RSS {before} -> peak {peak} KiB (+{grown} KiB)")
    assert sent > 1_000_000, "the flood did not get going"
    assert grown < FLOOD_BUDGET_KIB, f"the master grew by {grown} KiB"
    assert m.stats()["state"] == "ready"
    peer.close()


LOCUSTFILE_RUN = """\
from locust import HttpUser, task, constant


class U(HttpUser):
    wait_time = constant(0.2)

    @task
    def t(self):
        self.client.get("/")
"""


def test_f_master_secret(rlocust, locust_bin, target, tmp_path):
    lf = write(tmp_path, LOCUSTFILE_RUN)
    port = free_port()
    secret = {"RLOCUST_MASTER_SECRET": "correct horse"}
    master = start([rlocust, "-f", lf, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
                    "--headless", "-u", "1", "-r", "1", "-t", "3s", "--expect-workers", "1", "-H", target],
                   tmp_path, env=clean_env(secret))
    worker_cmd = [rlocust, "-f", lf, "--worker", "--master-port", port]
    (tmp_path / "lw").mkdir()
    locust_worker = start([locust_bin, "-f", lf, "--worker", "--master-port", port], tmp_path / "lw",
                          env=clean_env())
    try:
        none = run(worker_cmd, tmp_path, 30, env=clean_env())
        wrong = run(worker_cmd, tmp_path, 30, env=clean_env({"RLOCUST_MASTER_SECRET": "battery staple"}))
        assert none.code == 1 and "requires workers to prove the master secret" in none.stderr, none.stderr
        assert wrong.code == 1 and "refused" in wrong.stderr, wrong.stderr
        assert "Traceback" not in none.stderr + wrong.stderr and "panicked" not in none.stderr + wrong.stderr
        time.sleep(1)
        log = (tmp_path / "stderr.txt").read_text()
        assert "reported as ready" not in log, log  # nobody joined: the test has not started
        assert re.search(r"Refused worker \S+ from 127\.0\.0\.1: it did not prove the master secret \(its first "
                         r"message was 'client_ready'", log), log
        assert "its proof of the master secret is wrong" in log
        # the Locust worker keeps being refused with one line, however often it retries
        assert len(re.findall(r"Refused worker \S+_[0-9a-f]{32} from 127\.0\.0\.1: it did not prove", log)) == 2
        good = run(worker_cmd, tmp_path, 60, env=clean_env(secret))
        assert good.code == 0, good.stderr
        assert finish(master, 60) == 0
        log = (tmp_path / "stderr.txt").read_text()
        assert "reported as ready. 1 workers connected" in log
        assert "does not authenticate workers" not in log
    finally:
        for p in (master, locust_worker):
            if p.poll() is None:
                p.kill()
                p.wait(10)


def test_g_interop_without_secret(rlocust, locust_bin, target, tmp_path):
    lf = write(tmp_path, LOCUSTFILE_RUN)
    for master_bin, worker_bin in ((rlocust, locust_bin), (locust_bin, rlocust)):
        port = free_port()
        d = tmp_path / Path(master_bin).name
        d.mkdir()
        master = start([master_bin, "-f", lf, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port",
                        port, "--headless", "-u", "1", "-r", "1", "-t", "3s", "--expect-workers", "1", "-H", target],
                       d)
        worker = run([worker_bin, "-f", lf, "--worker", "--master-port", port], d, 60)
        assert finish(master, 60) == 0, (d / "stderr.txt").read_text()
        assert worker.code == 0, worker.stderr
        assert "reported as ready" in (d / "stderr.txt").read_text()


def test_h_processes_listen_on_loopback(rlocust, target, tmp_path):
    lf = write(tmp_path, LOCUSTFILE_RUN)
    port = free_port()
    proc = start([rlocust, "-f", lf, "--processes", "2", "--master-bind-port", port, "--headless", "-u", "2",
                  "-r", "2", "-t", "4s", "-H", target], tmp_path)
    try:
        listening = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and listening is None:
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and int(local.split(":")[1], 16) == port:
                    listening = local.split(":")[0]
            time.sleep(0.1)
        assert listening == "0100007F", listening  # 127.0.0.1
        assert not any(
            int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A"
            for line in Path("/proc/net/tcp6").read_text().splitlines()[1:]
        )
        assert finish(proc, 60) == 0, (tmp_path / "stderr.txt").read_text()
        log = (tmp_path / "stderr.txt").read_text()
        assert log.count("reported as ready") == 2, log
        assert "does not authenticate workers" not in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
