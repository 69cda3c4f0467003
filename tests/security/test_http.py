"""The HTTP clients against a malicious target (issue 51, items 4 and 7; docs/security.md). Each test starts its own
attacker on loopback, written here in Python, bounded in time and size, and runs rlocust against it:

- a redirect chain across hosts (127.0.0.1, localhost, 127.0.0.2), ports and schemes that records the headers it
  receives at every hop: the Cookie, Authorization and Proxy-Authorization the locustfile set must not reach a hop
  requests (HttpUser) or geventhttpclient (FastHttpUser) would strip them from (the same chains are compared with
  Locust 2.47 by locustfiles/redirect_credentials.py in tests/diff);
- a gzip bomb (1 MiB that inflates to 1 GiB): the response fails at the per-response cap and the process's peak
  resident memory stays near that cap (it was 2-4x the cap);
- a response head that never ends (a 200 MB head sent line by line): one failure row naming the limit, memory flat;
- many users fetching large bodies at once: past RLOCUST_MAX_BODY_MEMORY some responses fail, with a row naming
  the variable; the run goes on, and memory stays within the budget;
- a bad value of the new variables: one line and exit 1.
"""

from __future__ import annotations

import csv
import socket
import sys
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from conftest import HERE, clean_env, peak_kib, run

sys.path.insert(0, str(HERE.parent / "faults"))
import faultserver  # noqa: E402

SECRETS = {"Cookie": "manual=1", "Authorization": "Bearer secret", "Proxy-Authorization": "Basic cHg6cHg="}
CAP = 256 << 20


class Attacker:
    """A threaded loopback server (plain or TLS) calling `answer(conn, head)` for each request; closed by `close()`,
    and by itself after `max_seconds`."""

    def __init__(self, answer, host="127.0.0.1", port=0, tls=None, max_seconds=120):
        self.answer, self.tls = answer, tls
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = time.monotonic() + max_seconds
        self.closed = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self.closed and time.monotonic() < self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
        self.sock.close()

    def _serve(self, conn):
        try:
            conn.settimeout(30)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            head = faultserver.read_request(conn)
            if head is not None:
                self.answer(conn, head)
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(2)
            while conn.recv(65536):
                pass
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.closed = True


def locustfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "locustfile.py"
    path.write_text(text)
    return path


def headless(rlocust, path, host, *args):
    return [rlocust, "-f", path, "--headless", "-H", host, "--csv", "out", *args]


def failures(tmp_path: Path) -> list[dict]:
    with open(tmp_path / "out_failures.csv", newline="") as f:
        return list(csv.DictReader(f))


def sampled_peak(argv, cwd, env, timeout=90) -> tuple[int, object]:
    """Run rlocust, sampling its peak resident set (KiB) until it ends."""
    import subprocess

    proc = subprocess.Popen([str(a) for a in argv], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    peak, deadline = 0, time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            peak = max(peak, peak_kib(proc.pid))
        except OSError:
            pass
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        pytest.fail("rlocust did not end in time")
    return peak, proc.stdout.read().decode(errors="replace")


# --- redirects ------------------------------------------------------------------------------------------------------

REDIRECT_LOCUSTFILE = '''
import os
from locust import FastHttpUser, HttpUser, constant, task

CHAINS = os.environ["CHAINS"].split()
SECRETS = {secrets!r}
DONE = set()


def calls(user, client):
    for i, url in enumerate(CHAINS):
        kw = {{"verify": False}} if client == "requests" else {{}}
        user.client.get(url.replace("CLIENT", client), headers=SECRETS, name=str(i), **kw)
    DONE.add(client)
    if len(DONE) == 2:
        user.environment.runner.quit()


# one user of each client, each making every call once
Requests = type("Requests", (HttpUser,), {{"wait_time": constant(60), "go": task(lambda self: calls(self, "requests"))}})
Fast = type("Fast", (FastHttpUser,), {{"wait_time": constant(60), "go": task(lambda self: calls(self, "fast"))}})
'''


def test_redirects_carry_no_credential_where_the_client_would_strip_it(rlocust, tmp_path):
    """Every hop of each chain is recorded with the headers that arrived: Cookie on no hop after the first (both
    clients), Proxy-Authorization on no hop after the first (HttpUser; FastHttpUser keeps it, as geventhttpclient
    does), Authorization only where the origin is the first one (FastHttpUser) or the hop stayed on one
    host, port and scheme (HttpUser)."""
    seen: list[tuple[str, str, str, dict, str]] = []  # client, scheme, Host, headers, hop

    def answer_for(scheme):
        def answer(conn, head):
            lines = head.split(b"\r\n")
            target = lines[0].split(b" ")[1].decode()
            fields = {}
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                fields[k.strip().lower().decode()] = v.strip().decode("latin-1")
            q = parse_qs(urlsplit(target).query)
            seen.append((q["c"][0], scheme, fields.get("host", ""), fields, q.get("hop", ["0"])[0]))
            if "to" in q:
                faultserver._send_all(conn, b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n"
                                      b"Connection: close\r\n\r\n" % q["to"][0].encode())
            else:
                faultserver._send_all(conn, faultserver.ok())
        return answer

    tls = faultserver.tls_context(str(tmp_path))
    a = Attacker(answer_for("http"))
    b = Attacker(answer_for("http"))
    alt = Attacker(answer_for("http"), host="127.0.0.2", port=a.port)
    s = Attacker(answer_for("https"), tls=tls)
    try:
        A, B, S = f"http://127.0.0.1:{a.port}", f"http://127.0.0.1:{b.port}", f"https://127.0.0.1:{s.port}"
        LOCAL, ALT = f"http://localhost:{a.port}", f"http://127.0.0.2:{a.port}"

        def chain(*urls):
            """first -> ... -> last, each hop numbered."""
            url = f"{urls[-1]}/?c=CLIENT&hop={len(urls) - 1}"
            for n, u in reversed(list(enumerate(urls[:-1]))):
                url = f"{u}/?c=CLIENT&hop={n}&to={quote(url, safe='')}"
            return url

        chains = [chain(A, A), chain(A, LOCAL), chain(A, ALT), chain(A, B), chain(S, A), chain(A, S),
                  chain(A, LOCAL, A)]
        path = locustfile(tmp_path, REDIRECT_LOCUSTFILE.format(secrets=SECRETS))
        r = run(headless(rlocust, path, A, "-u", "2", "-r", "2", "-t", "30"), tmp_path, timeout=90,
                env=clean_env({"CHAINS": " ".join(chains)}))
        assert r.code == 0, r.stderr[-3000:]
    finally:
        for server in (a, b, alt, s):
            server.close()
    for client in ("requests", "fast"):
        hops = [h for h in seen if h[0] == client]
        assert len(hops) == 15, hops  # every hop of the 7 chains was made
        origin = ("http", f"127.0.0.1:{a.port}")
        for _, scheme, host, fields, hop in hops:
            first_hop = hop == "0"
            where = f"{client} hop {hop} to {scheme}://{host}"
            if first_hop:
                assert fields.get("cookie") == "manual=1", where
                continue
            assert "cookie" not in fields, where
            if client == "requests":
                assert "proxy-authorization" not in fields, where
            else:
                assert fields.get("proxy-authorization") == SECRETS["Proxy-Authorization"], where
            if (scheme, host) != origin:
                assert "authorization" not in fields, where
        # the hops that end on the first origin: the chain that stays there keeps Authorization, the one from https
        # and the one away and back do not have it
        back = [h for h in hops if (h[1], h[2]) == origin and h[4] != "0"]
        assert [h[3].get("authorization") for h in back] == ["Bearer secret", None, None], back


# --- a gzip bomb ----------------------------------------------------------------------------------------------------

ONE_CALL = '''
from locust import {base}, constant, task


class Victim({base}):
    wait_time = constant(60)

    @task
    def call(self):
        self.client.get("/")
        self.environment.runner.quit()
'''


def one_call(rlocust, tmp_path, base, answer):
    """One user of class `base` making one call to an attacker that answers with `answer`: the peak resident set
    (KiB), the failure rows and the output."""
    server = Attacker(answer)
    try:
        path = locustfile(tmp_path, ONE_CALL.format(base=base))
        peak, out = sampled_peak(headless(rlocust, path, f"http://127.0.0.1:{server.port}", "-u", "1", "-t", "30"),
                                 tmp_path, clean_env())
    finally:
        server.close()
    return peak, failures(tmp_path), out


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """gzip of 1 GiB of zeros (about 1 MiB)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    return b"".join(c.compress(block) for _ in range(1024)) + c.flush()


@pytest.mark.parametrize("base", ["HttpUser", "FastHttpUser"])
def test_a_gzip_bomb_fails_at_the_cap_and_memory_stays_near_it(rlocust, tmp_path, bomb, base):
    peak, rows, out = one_call(rlocust, tmp_path, base, lambda conn, head: faultserver._send_all(
        conn, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % len(bomb) + bomb))
    assert len(rows) == 1 and "response body larger than 268435456 bytes" in rows[0]["Error"], (rows, out[-2000:])
    assert rows[0]["Occurrences"] == "1"
    # the cap plus the process's own ~50 MiB (before: 560 MiB for HttpUser, 1,068 MiB for FastHttpUser)
    assert peak < (CAP >> 10) + 100 * 1024, f"peak {peak >> 10} MiB"


# --- a head that never ends -----------------------------------------------------------------------------------------

def endless_head(conn, head, line_bytes):
    """A 200 MB head, one header line at a time, until the client stops reading (or 200 MB are sent)."""
    line = b"X-Flood: " + b"a" * (line_bytes - 11) + b"\r\n"
    faultserver._send_all(conn, b"HTTP/1.1 200 OK\r\n")
    sent = 0
    while sent < 200_000_000:
        try:
            conn.sendall(line * 64)
        except OSError:
            return
        sent += len(line) * 64


@pytest.mark.parametrize("base, line_bytes, error", [
    ("FastHttpUser", 4096, "response head larger than 8388608 bytes (rlocust's limit; set RLOCUST_MAX_HEAD_SIZE"),
    ("HttpUser", 200, "got more than 100 headers"),
    ("HttpUser", 100_000, "got more than 65536 bytes when reading header line"),
])
def test_a_head_that_never_ends_is_one_failure_row(rlocust, tmp_path, base, line_bytes, error):
    peak, rows, out = one_call(rlocust, tmp_path, base, lambda conn, head: endless_head(conn, head, line_bytes))
    assert len(rows) == 1 and error in rows[0]["Error"], (rows, out[-2000:])
    assert peak < 150 * 1024, f"peak {peak >> 10} MiB"


# --- many users, large bodies ---------------------------------------------------------------------------------------

BUDGET_LOCUSTFILE = '''
from locust import FastHttpUser, HttpUser, constant, task
from locust.exception import StopUser

DONE = []


def big(self):
    """One large body per user; the run ends when all 24 calls are done."""
    self.client.get("/big")
    DONE.append(1)
    if len(DONE) >= 24:
        self.environment.runner.quit()
    raise StopUser()


Big = type("Big", (HttpUser,), {"wait_time": constant(0), "big": task(big)})
FastBig = type("FastBig", (FastHttpUser,), {"wait_time": constant(0), "big": task(big)})
'''

BIG = 16 << 20


def slow_big_body(conn, head):
    """A 16 MiB body sent in 1 MiB steps over ~2 s, so that every user holds part of its body at once."""
    faultserver._send_all(conn, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % BIG)
    block = b"b" * (1 << 20)
    for _ in range(BIG >> 20):
        try:
            conn.sendall(block)
        except OSError:
            return
        time.sleep(0.12)


def test_bodies_in_flight_past_the_budget_fail_one_row_each_and_the_run_goes_on(rlocust, tmp_path):
    server = Attacker(slow_big_body)
    try:
        path = locustfile(tmp_path, BUDGET_LOCUSTFILE)
        peak, out = sampled_peak(
            headless(rlocust, path, f"http://127.0.0.1:{server.port}", "-u", "24", "-r", "100", "-t", "40"),
            tmp_path, clean_env({"RLOCUST_MAX_BODY_MEMORY": "64M"}))
    finally:
        server.close()
    rows = failures(tmp_path)
    text = "response bodies held by all users would pass 67108864 bytes (rlocust's process-wide limit; set " \
           "RLOCUST_MAX_BODY_MEMORY to change it)"
    assert rows and all(text in row["Error"] for row in rows), (rows, out[-2000:])
    failed = sum(int(row["Occurrences"]) for row in rows)
    with open(tmp_path / "out_stats.csv", newline="") as f:
        total = [row for row in csv.DictReader(f) if row["Name"] == "Aggregated"][0]
    # 24 calls in all: some within the budget (64 MiB = 4 bodies of 16 MiB), the others refused one row each
    assert int(total["Request Count"]) == 24 and 0 < failed < 24, (total, rows)
    assert int(total["Failure Count"]) == failed
    # the budget and the process's own memory (24 bodies at once would be 384 MiB)
    assert peak < 64 * 1024 + 100 * 1024, f"peak {peak >> 10} MiB"


@pytest.mark.parametrize("name", ["RLOCUST_MAX_BODY_MEMORY", "RLOCUST_MAX_HEAD_SIZE"])
def test_a_bad_value_is_one_line_and_exit_1(rlocust, tmp_path, name):
    path = locustfile(tmp_path, ONE_CALL.format(base="HttpUser"))
    r = run([rlocust, "-f", path, "--headless", "-t", "1"], tmp_path, env=clean_env({name: "lots"}))
    assert r.code == 1
    assert r.stderr.splitlines()[0] == f'rlocust: {name} must be a number of bytes; got "lots"', r.stderr
    assert "Traceback" not in r.stderr and "panicked" not in r.stderr

