#!/usr/bin/env python3
"""Run rlocust as a benchmark would run it headless, but with the web UI open: what its cost is.

    python3 ../shared/bench/compare.py --rlocust "python3 $PWD/bench/with_ui.py $PWD/target/release/rlocust" throughput

The first argument is the rlocust binary; the rest are the benchmark's arguments. `--headless` is replaced by
`--autostart --autoquit 0` on a free loopback port, and while the test runs this script does what an open
dashboard does (webui/README.md): it loads the page once, then polls `stats/requests` every 2 s and `logs` every
5 s. It exits with rlocust's exit code. The polling's own CPU counts in the benchmark's figures (it is a child
process of the benchmark), so the comparison errs against the UI.
"""

import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            r.read()
    except OSError:
        pass  # not up yet, or already gone


def main() -> int:
    binary, args = sys.argv[1], sys.argv[2:]
    port = free_port()
    args = [a for a in args if a != "--headless"]
    args += ["--autostart", "--autoquit", "0", "--web-host", "127.0.0.1", "--web-port", str(port)]
    proc = subprocess.Popen([binary, *args])
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 3600  # bounded: the benchmark's runs last seconds to minutes
    loaded = False
    last_logs = 0.0
    while proc.poll() is None and time.monotonic() < deadline:
        if not loaded:
            get(base + "/")
            loaded = True
        get(base + "/stats/requests")
        if time.monotonic() - last_logs >= 5:
            get(base + "/logs")
            last_logs = time.monotonic()
        time.sleep(2)
    if proc.poll() is None:
        proc.kill()
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
