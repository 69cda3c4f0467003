"""Locust as a library (the shape of Locust's examples/use_as_lib.py): an Environment, a local runner, the web
UI, the stats printer and history, CSV files, then a timed quit. The host comes from TARGET_URL, the run time
from RUN_SECONDS, the CSV prefix from CSV_PREFIX (tests/lib/test_lib.py runs it under rlocust-python)."""
import os

import gevent

from locust import HttpUser, events, task
from locust.env import Environment
from locust.log import setup_logging
from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter, stats_history, stats_printer

setup_logging("INFO")

seen = []


@events.test_start.add_listener
def on_test_start(environment, **_kw):
    seen.append("test_start")


@events.test_stop.add_listener
def on_test_stop(environment, **_kw):
    seen.append("test_stop")


class MyUser(HttpUser):
    host = os.environ["TARGET_URL"]

    @task(3)
    def index(self):
        self.client.get("/")

    @task
    def missing(self):
        self.client.get("/status/404", name="/status/[code]")


env = Environment(user_classes=[MyUser], events=events)
runner = env.create_local_runner()
web_ui = env.create_web_ui("127.0.0.1", int(os.environ.get("WEB_PORT", "0")))
env.events.init.fire(environment=env, runner=runner, web_ui=web_ui)
gevent.spawn(stats_printer(env.stats))
gevent.spawn(stats_history, env.runner)
csv_writer = StatsCSVFileWriter(env, PERCENTILES_TO_REPORT, os.environ["CSV_PREFIX"])
gevent.spawn(csv_writer.stats_writer)
runner.start(4, spawn_rate=20)
gevent.spawn_later(float(os.environ.get("RUN_SECONDS", "2")), runner.quit)
runner.greenlet.join()
csv_writer.close_files()
web_ui.stop()
print("state", runner.state, "users", runner.user_count)
print("events", ",".join(seen))
print("requests", env.stats.total.num_requests, "failures", env.stats.total.num_failures)
print("rows", sorted(f"{e.method} {e.name}" for e in env.stats.entries.values()))
