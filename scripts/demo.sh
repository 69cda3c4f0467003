#!/usr/bin/env bash
# Start the bundled loopback target, run a 10-second headless test against it and say which files the test wrote,
# then a short capacity search of the target's server of known capacity (8 slots x 25 ms: 320/s), whose last line
# is the capacity it found; stop the target.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
target/release/rlocust-target --port 0 --max-seconds 240 >"$out" &
target_pid=$!
trap 'kill $target_pid 2>/dev/null || true; rm -f "$out" "$out.py"' EXIT
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
# A capacity search (docs/capacity.md) of /capacity/8/25, whose true capacity is 320 requests/s: short probes
# and a coarse precision keep it under a minute; the last line is its headline.
printf 'from locust import HttpUser, task\n\n\nclass Client(HttpUser):\n    @task\n    def call(self):\n        self.client.get("/capacity/8/25", name="/capacity")\n' >"$out.py"
echo "A capacity search of $host/capacity/8/25 (8 slots x 25 ms: the true capacity is 320/s):"
src=0
target/release/rlocust -f "$out.py" --headless -H "$host" --only-summary --loglevel WARNING \
  --search --slo "p95<100; fail_ratio<0.01" --arrival-max-users 1000 --search-start 80 \
  --search-probe-time 2s --search-warmup 1s --search-precision 10% -t 2m 2>&1 | tail -n 1 || src=$?
rm -f "$out.py"
[ "$rc" -ne 0 ] || rc=$src
exit "$rc"
