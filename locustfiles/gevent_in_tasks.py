# diff: -u 2 -r 100 -t 4s
# diff-check: all -shares
# diff-counts: abs=0 blocker:.*
# diff-markers: mode=count ^MARK
# diff-expect: exit=0 failures=0 exceptions=0 rows=2 count[blocker:round]=2
"""gevent inside tasks: gevent.spawn + joinall, gevent.pool.Pool.imap, gevent.pool.Group.spawn, gevent.sleep,
gevent.lock.Semaphore, and blocking libraries patched by gevent (the `requests` library and a raw socket with a
hand-written HTTP/1.1 GET, both calling the target directly). One Blocker user runs two rounds of these against
the slow /delay endpoint while a Ticker user keeps requesting /hello every 50 ms: the Ticker's requests that
complete during each blocking phase prove the blocking calls never stall the other users. Requests made with
plain `requests` or sockets are not Locust requests: the only stats rows are blocker:round and ticker."""
import socket
import sys
import time
from urllib.parse import urlsplit

import gevent
import gevent.lock
import gevent.pool
import requests

from locust import HttpUser, constant, task
from locust.exception import StopUser

TICKS = []  # perf_counter() of each finished Ticker request


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


def ticks_between(start, end):
    return sum(1 for t in TICKS if start <= t <= end)


def raw_get(host, port, path):
    """One HTTP/1.1 GET over a plain (gevent-patched) socket; returns the status line."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        while chunk:  # read to the end (Connection: close)
            chunk = sock.recv(4096)
    return data.split(b"\r\n", 1)[0].decode()


class Ticker(HttpUser):
    fixed_count = 1
    wait_time = constant(0.05)

    @task
    def tick(self):
        self.client.get("/hello", name="ticker")
        TICKS.append(time.perf_counter())


class Blocker(HttpUser):
    fixed_count = 1
    wait_time = constant(0.05)

    def on_start(self):
        self.rounds = 0
        parts = urlsplit(self.host)
        self.addr = (parts.hostname, parts.port)
        gevent.sleep(0.2)  # let the Ticker get going first

    def phase(self, label, func):
        start = time.perf_counter()
        result = func()
        end = time.perf_counter()
        mark(f"{label}: {result}; ticker kept going: {ticks_between(start, end) >= 2}")
        return end - start

    def with_requests(self):
        # three plain `requests` calls of 200 ms each in parallel greenlets
        jobs = [gevent.spawn(requests.get, f"{self.host}/delay/200", timeout=10) for _ in range(3)]
        gevent.joinall(jobs, timeout=10, raise_error=True)
        return f"requests statuses {[j.value.status_code for j in jobs]} json {jobs[0].value.json()}"

    def with_sockets(self):
        # four raw-socket GETs of 150 ms, two at a time
        pool = gevent.pool.Pool(2)
        lines = list(pool.imap(lambda i: raw_get(*self.addr, f"/delay/150?i={i}"), range(4)))
        return f"socket status lines {sorted(set(lines))} n={len(lines)}"

    def with_group_and_semaphore(self):
        # five greenlets in a Group share a Semaphore(2): never more than two inside at once
        sem = gevent.lock.Semaphore(2)
        inside = [0]
        most = [0]

        def worker(i):
            with sem:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                gevent.sleep(0.1)
                inside[0] -= 1
            return i * i

        group = gevent.pool.Group()
        jobs = [group.spawn(worker, i) for i in range(5)]
        group.join(timeout=10)
        return f"group results {[j.value for j in jobs]} most inside {most[0]}"

    @task
    def round(self):
        took = self.phase("spawn+joinall requests", self.with_requests)
        mark(f"parallel requests took < 0.5 s: {took < 0.5}")
        took = self.phase("pool.imap sockets", self.with_sockets)
        mark(f"pooled sockets took < 0.5 s: {took < 0.5}")
        self.phase("group+semaphore", self.with_group_and_semaphore)
        self.client.get("/hello", name="blocker:round")
        self.rounds += 1
        if self.rounds == 2:
            raise StopUser()
