# diff: -u 2 -r 100 -t 3s
# diff-check: all -shares
# diff-expect: exit=0 failures=0 exceptions=0 rows=1
"""Statistics settings a locustfile may change (documented by Locust): `locust.stats.PERCENTILES_TO_REPORT`
decides the percentile columns of the console table, `_stats.csv` and `_stats_history.csv` (the harness
compares the CSV headers byte for byte), and `CSV_STATS_INTERVAL_SEC` how often the CSV files are written."""
import locust.stats
from locust import HttpUser, constant, task

locust.stats.PERCENTILES_TO_REPORT = [0.25, 0.50, 0.95, 0.999]
locust.stats.CSV_STATS_INTERVAL_SEC = 2


class Reader(HttpUser):
    wait_time = constant(0.05)

    @task
    def hello(self):
        self.client.get("/hello")
