"""Real servers on 127.0.0.1 for the contrib users' side-by-side tests, started once per session, and the runner
that puts one locustfile through real Locust and rlocust at the same time.

Environment: LOCUST_BIN, RLOCUST_BIN (default: the repo's .venv-oracle and target/release), CONTRIB_SITE (the
`pip install --target` directory of requirements.txt, default .contrib-site; `make test-contrib` makes it).
A server that cannot start fails its tests with the reason (never a silent skip).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LOCUSTFILES = HERE / "locustfiles"
SITE = Path(os.environ.get("CONTRIB_SITE", REPO / ".contrib-site"))
LOCUST_BIN = os.environ.get("LOCUST_BIN", str(REPO / ".venv-oracle" / "bin" / "locust"))
RLOCUST_BIN = os.environ.get("RLOCUST_BIN", str(REPO / "target" / "release" / "rlocust"))
RUN_TIMEOUT = 60  # seconds, one tool's run (the runs themselves are -t 3s with bounded task loops)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen | None, what: str, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                pytest.fail(f"{what} exited with {proc.returncode} before listening on 127.0.0.1:{port}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {limit} s")
            time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """Stop a server started in its own process group, and everything it started."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def need(program: str, package: str, *extra_dirs: str) -> str:
    found = shutil.which(program) or next((str(p) for d in extra_dirs for p in sorted(Path("/").glob(d.lstrip("/")))
                                           if os.access(p, os.X_OK)), None)
    if not found:
        pytest.fail(f"{program} not found: install Debian's {package} (`apt-get install {package}`; .ci/run does)")
    return found


def site_env() -> dict[str, str]:
    if not (SITE / "paho").is_dir():
        pytest.fail(f"the contrib clients are not installed in {SITE}: run `make test-contrib` (it installs "
                    f"tests/contrib/requirements.txt there)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(SITE)
    return env


@pytest.fixture(scope="session")
def base_env() -> dict[str, str]:
    env = site_env()
    # one --target directory serves both tools only if their interpreters are the same CPython version (compiled
    # extensions: psycopg-binary, grpcio, numpy, milvus-lite)
    oracle_python = Path(LOCUST_BIN).parent / "python"
    probe = "import sys; print(sys.version_info[:2])"
    versions = {str(p): subprocess.run([str(p), "-c", probe], capture_output=True, text=True).stdout.strip()
                for p in (oracle_python, Path(sys.executable))}
    if len(set(versions.values())) != 1:
        pytest.fail(f"Locust's and rlocust's interpreters differ ({versions}); {SITE} serves only one version")
    return env


@pytest.fixture(scope="session")
def dead_port() -> int:
    """A loopback port where nothing listens (TCP or UDP) during the session."""
    return free_port()


# --- servers ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres():
    """PostgreSQL (Debian's postgresql) in a temporary cluster: `initdb` and `postgres` as the postgres user when
    run as root (the server refuses root), trust authentication, TCP on a free loopback port and its socket in
    the cluster's directory. Yields a psycopg connection string."""
    initdb = need("initdb", "postgresql", "/usr/lib/postgresql/*/bin/initdb")
    bindir = Path(initdb).resolve().parent
    root = Path(tempfile.mkdtemp(prefix="rlocust-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(root, 0o755)
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    port = free_port()
    init = subprocess.run(as_user + [initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                          capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed ({init.returncode}): {init.stderr[-2000:]}")
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(as_user + [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root),
                                       "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_listening(port, proc, "postgres")
        # accepting TCP comes a moment before accepting queries: wait until a query answers
        deadline = time.monotonic() + 20
        while subprocess.run(as_user + [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                pytest.fail("postgres did not accept connections: " + (root / "server.log").read_text()[-2000:])
            time.sleep(0.1)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if proc.poll() is None:  # a fast shutdown (its children too), then whatever is left of the group
            subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "20",
                                      "stop"], capture_output=True, timeout=30)
        stop(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mosquitto():
    """Mosquitto (Debian's mosquitto) on a free loopback port, anonymous, no persistence. Yields the port."""
    binary = need("mosquitto", "mosquitto", "/usr/sbin/mosquitto")
    root = Path(tempfile.mkdtemp(prefix="rlocust-mqtt-"))
    port = free_port()
    conf = root / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
                    "log_type error\nlog_type warning\n")
    os.chmod(root, 0o755)
    os.chmod(conf, 0o644)
    log = open(root / "mosquitto.log", "wb")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_listening(port, proc, "mosquitto")
        yield port
    finally:
        stop(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dnsmasq():
    """dnsmasq (Debian's dnsmasq-base) answering on a free loopback port (UDP and TCP), no upstream servers:
    www.rlocust.test is 127.0.0.9, nx.rlocust.test does not exist (NXDOMAIN). Yields the port."""
    binary = need("dnsmasq", "dnsmasq-base", "/usr/sbin/dnsmasq")
    port = free_port()
    cmd = [binary, "--keep-in-foreground", "--conf-file=/dev/null", f"--port={port}", "--listen-address=127.0.0.1",
           "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=", "--log-facility=-",
           "--address=/www.rlocust.test/127.0.0.9", "--address=/nx.rlocust.test/"]
    if os.geteuid() == 0:
        cmd.append("--user=root")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_listening(port, proc, "dnsmasq")  # its TCP side; UDP is bound before it
        yield port
    finally:
        stop(proc)


def _python_server(script: str, what: str, env: dict[str, str]):
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "servers" / script), str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_listening(port, proc, what)
    except BaseException:
        stop(proc)
        raise
    return proc, port


@pytest.fixture(scope="session")
def socketio_server(base_env):
    """A python-socketio server (servers/sio_server.py, ASGI on uvicorn). Yields its http:// URL."""
    proc, port = _python_server("sio_server.py", "the python-socketio server", base_env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def openai_endpoint(base_env):
    """The loopback OpenAI-compatible endpoint (servers/oai_server.py). Yields its base URL (…/v1)."""
    proc, port = _python_server("oai_server.py", "the OpenAI-compatible endpoint", base_env)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def mongo_wire(base_env):
    """The MongoDB wire-protocol responder (servers/mongo_wire.py). Yields its port."""
    proc, port = _python_server("mongo_wire.py", "the MongoDB wire-protocol responder", base_env)
    try:
        yield port
    finally:
        stop(proc)


# --- the two tools side by side --------------------------------------------------------------------------------

@dataclass
class Run:
    tool: str
    code: int
    workdir: Path
    stdout: str
    stderr: str
    stats: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    exceptions: list[dict] = field(default_factory=list)

    def rows(self) -> dict[tuple[str, str], dict]:
        return {(r["Type"], r["Name"]): r for r in self.stats if r["Name"] != "Aggregated"}

    def failure_keys(self, normalize=()) -> set[tuple[str, str, str]]:
        out = set()
        for r in self.failures:
            error = r["Error"]
            for pattern, repl in normalize:
                error = re.sub(pattern, repl, error)
            out.add((r["Method"], r["Name"], error))
        return out

    def describe(self) -> str:
        return (f"--- {self.tool} exit {self.code}, stats {[(r['Type'], r['Name'], r['Request Count'], r['Failure Count']) for r in self.stats]}"
                f"\n    failures {[(r['Method'], r['Name'], r['Error']) for r in self.failures]}"
                f"\n    stderr tail:\n{self.stderr[-3000:]}")


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_tool(tool: str, cmd: str, locustfile: str, args: list[str], env: dict[str, str], workdir: Path) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    full = [cmd, "-f", str(LOCUSTFILES / locustfile), "--headless", "--csv", "out", "--only-summary"] + args
    proc = subprocess.Popen(full, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err += f"\n[{tool} killed after {RUN_TIMEOUT} s]"
    finally:
        try:  # whatever the run left behind (milvus-lite's server, paho's threads are in-process)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return Run(tool, proc.returncode, workdir, out, err, _read(workdir / "out_stats.csv"),
               _read(workdir / "out_failures.csv"), _read(workdir / "out_exceptions.csv"))


@pytest.fixture
def side_by_side(tmp_path):
    """run(locustfile, args, env) -> (locust Run, rlocust Run), both at once in their own working directories."""

    def run(locustfile: str, args: list[str], env: dict[str, str]) -> tuple[Run, Run]:
        for binary in (LOCUST_BIN, RLOCUST_BIN):
            if not os.access(binary, os.X_OK):
                pytest.fail(f"{binary} is missing: `make test-contrib` builds and installs both tools")
        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(run_tool, "locust", LOCUST_BIN, locustfile, args, env, tmp_path / "locust")
            b = pool.submit(run_tool, "rlocust", RLOCUST_BIN, locustfile, args, env, tmp_path / "rlocust")
            return a.result(), b.result()

    return run
