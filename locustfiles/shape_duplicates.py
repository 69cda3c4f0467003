# diff[duplicate]: -f {dir}/shape_duplicates.py,{dir}/_shape_duplicate.py
# diff[imported]: -f {dir}/shape_duplicates.py,{dir}/_shape_imported.py
# diff-csv[duplicate]: none
# diff-check[duplicate]: exit markers
# diff-check[imported]: names failures exceptions exit markers
# diff-expect[duplicate]: exit=1
# diff-expect[imported]: exit=0 requests>=1
# diff-markers[duplicate]: mode=set ^Duplicate shape classes: .*
# diff-markers[imported]: mode=set ^MARK .*|Shape test completed|Duplicate shape classes
"""Two locustfiles (`-f a.py,b.py`) that both define a LoadTestShape named `Steps` are refused with Locust's
message "Duplicate shape classes: Steps" and exit 1, before anything runs. The same class seen twice (the second
file imports it from the first) is not a duplicate: the test runs with it."""
import sys

from locust import HttpUser, LoadTestShape, constant, task


class Walker(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/hello")


class Steps(LoadTestShape):
    def tick(self):
        if self.get_run_time() < 1.5:
            return (2, 10)
        print("MARK shape done", file=sys.stderr, flush=True)
        return None
