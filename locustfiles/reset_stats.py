# diff[reset]: -u 2 -r 1.5 -t 3s --reset-stats
# diff[noreset]: -u 2 -r 1.5 -t 3s
# diff-check: all -shares
# diff-counts: abs=0 .*
# diff-markers: mode=seq ^MARK|locust\.runners: Resetting stats
# diff-expect: rows=3 exceptions=0 count[after]=4
# diff-expect[reset]: exit=0 failures=0 count[before]=0 count[before-fail]=0
# diff-expect[noreset]: exit=1 failures=1 count[before]=3 count[before-fail]=1
"""--reset-stats: 2 users at 1.5 users/s (one user per step), so the ramp completes at about 0.67 s. The first
user makes 4 requests (one failing) during the ramp; after spawning_complete both users wait 0.1 s and make 2
requests each (all rows are in Locust's CSV of the first second). Locust resets the statistics once, when the
ramp completes, *after* the locustfile's spawning_complete listeners (the runner registers its own listener
later), so those still see the ramp's requests and the runner state "spawning"; the rows stay, at 0, and the
failure is forgotten (exit code 0). The reset_stats event is not fired (only the web UI's reset does that).
Without the flag nothing is reset and the failure makes the exit code 1."""
import sys
import time

import gevent.event

from locust import HttpUser, constant, events, task
from locust.runners import STATE_RUNNING, STATE_SPAWNING

SPAWNED = gevent.event.Event()
ENV = []
STATES = {STATE_RUNNING: "running", STATE_SPAWNING: "spawning"}


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


def counts(environment):
    s = environment.stats
    return (f"total={s.total.num_requests}/{s.total.num_failures} before={s.get('before', 'GET').num_requests} "
            f"before-fail={s.get('before-fail', 'GET').num_requests}/{s.get('before-fail', 'GET').num_failures} "
            f"after={s.get('after', 'GET').num_requests} errors={len(s.errors)}")


@events.init.add_listener
def on_init(environment, **kwargs):
    ENV.append(environment)
    mark(f"init environment.reset_stats={environment.reset_stats} option={environment.parsed_options.reset_stats}")


@events.reset_stats.add_listener
def on_reset_stats(**kwargs):
    mark("reset_stats event fired")


@events.spawning_complete.add_listener
def on_spawning_complete(user_count, **kwargs):
    environment = ENV[0]
    mark(f"spawning_complete user_count={user_count} state={STATES.get(environment.runner.state)} "
         f"{counts(environment)}")
    SPAWNED.set()


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    mark(f"test_stop {counts(environment)}")


@events.quitting.add_listener
def on_quitting(environment, **kwargs):
    mark(f"quitting errors={len(environment.runner.errors)}")


class RampUser(HttpUser):
    wait_time = constant(1)
    spawned = 0

    def on_start(self):
        RampUser.spawned += 1
        self.first = RampUser.spawned == 1
        self.ran = False

    @task
    def script(self):
        if self.ran:
            return
        self.ran = True
        if self.first:  # spawned at t=0, 0.67 s before the ramp completes
            for _ in range(3):
                self.client.get("/hello", name="before")
            self.client.get("/status/500", name="before-fail")
            mark(f"ramp requests done, spawning complete={SPAWNED.is_set()}")
        SPAWNED.wait()
        time.sleep(0.1)  # (gevent-patched) after the reset
        for _ in range(2):
            self.client.get("/json", name="after")
