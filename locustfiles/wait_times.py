# diff: -u 7 -r 100 -t 4s
# diff-check: all -shares
# diff-markers: mode=seq ^MARK
# diff-expect: exit=0 rows=7 failures=0
"""Every wait_time kind (seed 000): between, constant, constant_pacing, constant_throughput, poisson, a custom
wait_time method, and a TaskSet's own wait_time. One user per kind; each task takes ~100 ms. At test_stop the
locustfile measures the intervals between task starts itself and prints one verdict line per kind."""
import statistics
import sys
import time

from locust import HttpUser, TaskSet, between, constant, constant_pacing, constant_throughput, events, poisson, task

STARTS = {}


def record(kind, user):
    STARTS.setdefault(kind, []).append(time.perf_counter())
    user.client.get("/delay/100", name=kind)


class Between(HttpUser):
    fixed_count = 1
    wait_time = between(0.1, 0.3)

    @task
    def t(self):
        record("between", self)


class Constant(HttpUser):
    fixed_count = 1
    wait_time = constant(0.2)

    @task
    def t(self):
        record("constant", self)


class Pacing(HttpUser):
    fixed_count = 1
    wait_time = constant_pacing(0.2)

    @task
    def t(self):
        record("constant_pacing", self)


class Throughput(HttpUser):
    fixed_count = 1
    wait_time = constant_throughput(2)

    @task
    def t(self):
        record("constant_throughput", self)


class Poisson(HttpUser):
    fixed_count = 1
    wait_time = poisson(10)

    @task
    def t(self):
        record("poisson", self)


class Custom(HttpUser):
    fixed_count = 1
    last_wait_time = 0

    def wait_time(self):
        self.last_wait_time += 0.1
        return self.last_wait_time

    @task
    def t(self):
        record("custom", self)


class SlowSection(TaskSet):
    wait_time = constant(0.4)  # overrides the user's constant(0)

    @task
    def t(self):
        record("taskset_wait", self)


class TaskSetWait(HttpUser):
    fixed_count = 1
    wait_time = constant(0)
    tasks = [SlowSection]


def verdict(kind, d):
    # the upper bounds leave a loaded machine's late wake-up (Locust's own run was 69 ms late once in CI) while still
    # telling each kind from the others
    mean = statistics.mean(d)
    spread = max(d) - min(d)
    if kind == "between":
        return 0.22 <= mean <= 0.42 and spread > 0.03
    if kind == "constant":
        return all(0.27 <= x <= 0.42 for x in d)
    if kind == "constant_pacing":
        # pacing makes up for a late wake-up with a shorter next wait: each interval near 0.2, their median on it
        return all(0.12 <= x <= 0.3 for x in d[1:]) and 0.19 <= statistics.median(d[1:]) <= 0.21
    if kind == "constant_throughput":
        return all(0.45 <= x <= 0.62 for x in d[1:]) and 0.47 <= statistics.median(d[1:]) <= 0.53
    if kind == "poisson":
        return 0.12 <= mean <= 0.35 and spread > 0.05
    if kind == "custom":
        steps = [b - a for a, b in zip(d, d[1:])]
        return all(0.05 <= s <= 0.15 for s in steps)
    if kind == "taskset_wait":
        return all(0.47 <= x <= 0.63 for x in d)
    return False


@events.test_stop.add_listener
def judge(environment, **kwargs):
    for kind in sorted(STARTS):
        starts = STARTS[kind]
        d = [b - a for a, b in zip(starts, starts[1:])]
        ok = len(d) >= 3 and verdict(kind, d)
        print(f"MARK {kind} intervals as specified: {ok}", file=sys.stderr)
        if not ok:
            print(f"  ({kind} intervals: {[round(x, 3) for x in d]})", file=sys.stderr)
