# diff[out-of-range]: -u 1 -t 2s
# diff[too-many]: -u 1 -t 2s
# diff[statistics]: -u 1 -t 2s
# diff[valid-strings]: -u 1 -r 10 -t 2s
# diff-env[out-of-range]: PCT_MODE=range
# diff-env[too-many]: PCT_MODE=many
# diff-env[statistics]: PCT_MODE=statistics
# diff-env[valid-strings]: PCT_MODE=strings
# diff-csv[out-of-range]: none
# diff-csv[too-many]: none
# diff-csv[statistics]: none
# diff-check: exit markers
# diff-check[valid-strings]: names failures exceptions exit markers
# diff-expect[out-of-range]: exit=1
# diff-expect[too-many]: exit=1
# diff-expect[statistics]: exit=1
# diff-expect[valid-strings]: exit=0 requests>=1
# diff-markers: mode=seq part=match ^stats\..*|Starting Locust
"""Locust checks `locust.stats.PERCENTILES_TO_CHART` (at most 6 values, each strictly between 0 and 1) and
`PERCENTILES_TO_STATISTICS` right after parsing the options, before logging is set up: a bad value is its
message on stderr and exit 1. Values that `float()` accepts, such as "0.9", pass."""
import os

import locust.stats
from locust import HttpUser, constant, task

MODE = os.environ.get("PCT_MODE", "range")
if MODE == "range":
    locust.stats.PERCENTILES_TO_CHART = [0.5, 1.5]
elif MODE == "many":
    locust.stats.PERCENTILES_TO_CHART = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
elif MODE == "statistics":
    locust.stats.PERCENTILES_TO_STATISTICS = [0.95, "p99"]
else:
    locust.stats.PERCENTILES_TO_CHART = ["0.5", "0.9"]


class Reader(HttpUser):
    wait_time = constant(0.2)

    @task
    def hello(self):
        self.client.get("/hello")
