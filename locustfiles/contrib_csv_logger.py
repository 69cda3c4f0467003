# diff: -u 2 -r 100 -t 3s
# diff-extra-args: --dead {dead_host}
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
"""locust.contrib.csv_request_logger: one row per request in a CSV file (header, request type, name, status code,
exception text; times vary), for successes, HTTP errors, catch_response failures and connection errors. The rows
are read back at `quitting` (before the logger closes the file) and printed without their times."""
import csv
import sys

from locust import HttpUser, constant, events, task
from locust.contrib.csv_request_logger import CsvRequestLogger

LOG = "per_request.csv"
logger = CsvRequestLogger(LOG)


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--dead", default="")


@events.quitting.add_listener
def _(environment, **kw):
    with open(LOG, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    print(f"MARK header {rows[0]}", file=sys.stderr)
    for r in rows[1:]:
        float(r[0]), float(r[3]), int(r[4])  # timestamp, time and length are numbers
        print(f"MARK row {r[1]} {r[2]} {r[5]} {r[6]!r}", file=sys.stderr)


@events.init.add_listener
def _(environment, **kw):
    logger.register(environment)


class U(HttpUser):
    wait_time = constant(0.5)

    @task
    def t(self):
        self.client.get("/hello")
        self.client.get("/status/404", name="missing")
        with self.client.get("/json", catch_response=True, name="checked") as r:
            r.failure("not what I wanted")
        self.client.get(self.environment.parsed_options.dead + "/x", name="dead")
