#!/usr/bin/env bash
# Start the bundled loopback target, run a 10-second headless test against it, stop the target, and say which
# files the test wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
target/release/rlocust-target --port 0 --max-seconds 120 >"$out" &
target_pid=$!
trap 'kill $target_pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
host=$(grep -o 'http://127.0.0.1:[0-9]*' "$out")
rm -f demo-results/demo_*.csv
rc=0
target/release/rlocust -f locustfiles/demo.py --headless -u 20 -r 10 -t 10s -H "$host" --csv demo-results/demo || rc=$?
if [ "$rc" -eq 1 ]; then
  # Like Locust, rlocust exits 1 when any request failed; the demo fails /status/404 on purpose.
  echo "rlocust exited 1 because the demo's /status/404 requests failed, as intended."
  rc=0
fi
written=(demo-results/demo_*.csv)
if [ -e "${written[0]}" ]; then
  echo "The demo wrote: ${written[*]}"
fi
exit "$rc"
