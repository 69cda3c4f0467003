# diff: -u 2 -r 100 -t 3s
# diff-check: all -shares
# diff-counts: abs=0 .*
# diff-markers: mode=seq ^MARK
# diff-expect: exit=1 rows=2 failures=1 exceptions=0 count[ok]=10 count[bad]=5
"""Reading the statistics and runner from a locustfile: environment.stats.total (num_requests, num_failures,
fail_ratio, avg/min/max/median response time, get_response_time_percentile, current_rps, total_rps,
avg_content_length), stats.entries and stats.get(name, method), stats.errors / runner.errors, runner.user_count,
runner.user_classes_count, runner.state against the STATE_* constants, isinstance(runner, LocalRunner),
parsed_options fields and environment.host. Read in a task (after exactly 15 requests), in test_stopping,
test_stop and quitting listeners. The markers print only what is exact by construction (counts, content
lengths, types, orderings), never timings."""
import sys

from locust import HttpUser, User, constant, events, task
from locust.exception import StopUser
from locust.runners import (
    STATE_CLEANUP,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    STATE_STOPPING,
    LocalRunner,
    MasterRunner,
    WorkerRunner,
)
from locust.stats import RequestStats, StatsEntry

STATES = {STATE_RUNNING: "STATE_RUNNING", STATE_SPAWNING: "STATE_SPAWNING", STATE_CLEANUP: "STATE_CLEANUP",
          STATE_STOPPING: "STATE_STOPPING", STATE_STOPPED: "STATE_STOPPED"}


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


def report(where, environment):
    stats = environment.stats
    runner = environment.runner
    t = stats.total
    mark(f"{where}: stats is RequestStats={isinstance(stats, RequestStats)} total is StatsEntry="
         f"{isinstance(t, StatsEntry)} name={t.name!r} method={t.method!r}")
    mark(f"{where}: num_requests={t.num_requests} num_failures={t.num_failures} "
         f"stats.num_requests={stats.num_requests} stats.num_failures={stats.num_failures} "
         f"types={type(t.num_requests).__name__},{type(t.num_failures).__name__}")
    mark(f"{where}: fail_ratio={round(t.fail_ratio, 4)} type={type(t.fail_ratio).__name__}")
    mark(f"{where}: avg_content_length={round(t.avg_content_length, 4)} "
         f"type={type(t.avg_content_length).__name__}")
    p95 = t.get_response_time_percentile(0.95)
    mark(f"{where}: avg>0={t.avg_response_time > 0} avg type={type(t.avg_response_time).__name__} "
         f"min<=avg<=max={t.min_response_time <= t.avg_response_time <= t.max_response_time} "
         f"min<=median<=max={t.min_response_time <= t.median_response_time <= t.max_response_time} "
         f"p95 type={type(p95).__name__} p95>=0={p95 >= 0} p100>=p50="
         f"{t.get_response_time_percentile(1.0) >= t.get_response_time_percentile(0.5)}")
    mark(f"{where}: current_rps type={type(t.current_rps).__name__} >=0={t.current_rps >= 0} "
         f"total_rps type={type(t.total_rps).__name__} >0={t.total_rps > 0}")
    mark(f"{where}: entries={sorted(stats.entries)} "
         f"all StatsEntry={all(isinstance(e, StatsEntry) for e in stats.entries.values())}")
    ok, bad = stats.get("ok", "GET"), stats.get("bad", "GET")
    mark(f"{where}: get ok={ok.num_requests}/{ok.num_failures} len={ok.avg_content_length} "
         f"bad={bad.num_requests}/{bad.num_failures} fail_ratio={bad.fail_ratio} len={bad.avg_content_length} "
         f"same object={stats.get('ok', 'GET') is stats.entries[('ok', 'GET')]}")
    errors = sorted((e.method, e.name, e.occurrences) for e in stats.errors.values())
    mark(f"{where}: errors={errors} runner.errors same={len(runner.errors) == len(stats.errors)}")
    mark(f"{where}: user_count={runner.user_count} classes={sorted(runner.user_classes_count.items())} "
         f"state={STATES.get(runner.state, runner.state)}")


@events.init.add_listener
def on_init(environment, runner, **kwargs):
    mark(f"init: LocalRunner={isinstance(runner, LocalRunner)} master={isinstance(runner, MasterRunner)} "
         f"worker={isinstance(runner, WorkerRunner)} same={environment.runner is runner}")
    o = environment.parsed_options
    mark(f"init: num_users={o.num_users!r} spawn_rate={o.spawn_rate!r} run_time={o.run_time!r} "
         f"headless={o.headless!r} stop_timeout={o.stop_timeout!r} reset_stats={o.reset_stats!r} "
         f"exit_code_on_error={o.exit_code_on_error!r} tags={o.tags!r} exclude_tags={o.exclude_tags!r}")
    mark(f"init: host same={environment.host == o.host} loopback={environment.host.startswith('http://127.0.0.1:')} "
         f"locustfile={environment.locustfile!r} csv={o.csv_prefix.endswith('locust')}")


@events.spawning_complete.add_listener
def on_spawning_complete(user_count, **kwargs):
    runner = runners_of_this_test[0]
    mark(f"spawning_complete: user_count={user_count} runner.user_count={runner.user_count} "
         f"state={STATES.get(runner.state, runner.state)}")


runners_of_this_test = []


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    runners_of_this_test.append(environment.runner)
    mark(f"test_start: num_requests={environment.stats.total.num_requests} entries={len(environment.stats.entries)}")


@events.test_stopping.add_listener
def on_test_stopping(environment, **kwargs):
    report("test_stopping", environment)


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    report("test_stop", environment)


@events.quitting.add_listener
def on_quitting(environment, **kwargs):
    report("quitting", environment)
    mark(f"quitting: process_exit_code={environment.process_exit_code!r}")


class Reader(HttpUser):
    """15 requests (10 ok, 5 failing), then a read of the stats from the task, then it stops."""

    fixed_count = 1
    wait_time = constant(0)

    def on_start(self):
        self.n = 0

    @task
    def work(self):
        self.client.get("/hello", name="ok")
        self.client.get("/hello", name="ok")
        self.client.get("/status/404", name="bad")
        self.n += 1
        if self.n == 5:
            report("task", self.environment)
            raise StopUser()


class Idler(User):
    """Keeps the user count at 1 after the Reader stopped; makes no requests."""

    fixed_count = 1
    wait_time = constant(0.1)

    @task
    def idle(self):
        pass

    def on_stop(self):
        runner = self.environment.runner
        mark(f"Idler.on_stop: state={STATES.get(runner.state, runner.state)} user_count={runner.user_count}")
