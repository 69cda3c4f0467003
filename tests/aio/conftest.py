"""`async def` tasks (issue 41), end to end: rlocust runs locustfiles whose tasks are coroutines against real servers
on 127.0.0.1 (rlocust-target, a `websockets` server), with the asyncio libraries users bring (websockets, openai,
httpx, aiohttp) from AIO_SITE (`pip install --target` of requirements.txt; `make test-aio` makes it).

Environment: RLOCUST_BIN, RLOCUST_TARGET_BIN (default target/release), AIO_SITE (default .aio-site). A missing
binary, library or server fails the tests with the reason, never a skip. Every process is bounded in time.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0]))

from support.bounded import ROOT, Run, binary, clean_env, free_port, serve_target  # noqa: E402
from support.bounded import run as run_bounded  # noqa: E402

SITE = Path(os.environ.get("AIO_SITE", ROOT / ".aio-site"))
LOCUSTFILES = HERE / "locustfiles"
EXAMPLES = ROOT / "examples/async"


def site_env(extra: dict | None = None) -> dict:
    if not (SITE / "websockets").is_dir():
        pytest.fail(f"the asyncio libraries are not installed in {SITE}: run `make test-aio` (it installs "
                    "tests/aio/requirements.txt there)")
    return clean_env({"PYTHONPATH": str(SITE), "OPENAI_API_KEY": "x", **(extra or {})})


@pytest.fixture(scope="session")
def rlocust() -> str:
    return binary("RLOCUST_BIN", ROOT / "target/release/rlocust")


@pytest.fixture(scope="session")
def target_url():
    yield from serve_target(900)


@pytest.fixture(scope="session")
def ws_url():
    """The real `websockets` echo server (servers/ws_echo.py) for at most 900 s."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "servers/ws_echo.py"), str(port), "900"],
                            env=site_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    line = proc.stdout.readline().decode()
    if "listening" not in line:
        proc.kill()
        pytest.fail(f"the websockets server did not start: {proc.stderr.read().decode()[-2000:]}")
    yield f"ws://127.0.0.1:{port}"
    proc.kill()
    proc.wait()


def ws_stats(ws_url: str) -> tuple[int, int]:
    """The websockets server's counts of connections opened and closed (asked over one more connection)."""
    code = ("import asyncio, sys, websockets\n"
            "async def ask():\n"
            "    async with websockets.connect(sys.argv[1]) as ws:\n"
            "        await ws.send('stats?')\n"
            "        print(await ws.recv())\n"
            "asyncio.run(ask())\n")
    out = subprocess.run([sys.executable, "-c", code, ws_url], env=site_env(), capture_output=True, text=True,
                         timeout=30)
    opened, closed = out.stdout.strip().removeprefix("opened=").split(" closed=")
    return int(opened), int(closed)


def run(rlocust: str, locustfile: Path, host: str, tmp: Path, *args, users: int = 5, seconds: float = 3,
        timeout: float = 60) -> Run:
    """A headless run of `locustfile` with --csv into `tmp` (files tmp/r_*.csv)."""
    argv = [rlocust, "-f", locustfile, "--headless", "-u", users, "-r", users, "-t", f"{seconds}s", "-H", host,
            "--csv", tmp / "r", *args]
    return run_bounded(argv, tmp, timeout=timeout, env=site_env())


def rows(tmp: Path) -> dict:
    """The request rows of r_stats.csv by name (the Aggregated row under "Aggregated")."""
    with open(tmp / "r_stats.csv", newline="") as f:
        return {r["Name"]: r for r in csv.DictReader(f)}


def count(table: dict, name: str) -> int:
    return int(table[name]["Request Count"]) if name in table else 0


def stop_seconds(stderr: str) -> float:
    """From the run-time limit's log line to the shutdown's: how long the stop took (log times are ms-precise)."""
    def at(text):
        line = next(ln for ln in stderr.splitlines() if text in ln)
        stamp = line[1:line.index("]")]
        return time.mktime(time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S")) + int(stamp[20:23]) / 1000
    return at("Shutting down (exit code") - at("--run-time limit reached")
