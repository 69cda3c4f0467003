# diff[runtime]: -u 3 -r 1 -t 5s
# diff[sigint]: -u 3 -r 1 -t 60s
# diff[sigint-ignored]: -u 3 -r 1 -t 5s
# diff[sigterm]: -u 3 -r 1 -t 60s
# diff[slow-start]: -u 3 -r 1 -t 3s
# diff-env[slow-start]: SLOW_TEST_START=6
# diff[slow-start-sigint]: -u 3 -r 1 -t 60s
# diff-env[slow-start-sigint]: SLOW_TEST_START=6
# diff-at[slow-start-sigint]: after=MARK\stest_start 1 signal=INT
# diff-at[sigterm]: after=Ramping\sto 1.5 signal=TERM
# diff-at[sigint]: after=Ramping\sto 1.5 signal=INT
# diff-at[sigint-ignored]: after=Ramping\sto 1.5 signal=INT
# diff-ignore-signals[sigint-ignored]: INT
# diff-check: all -shares
# diff-markers: mode=seq ^MARK (test_start|test_stopping|test_stop|quitting)
# diff-markers: mode=count ^MARK init_done
# diff-expect: exit=0 exceptions=0 failures=0
# diff-expect[runtime]: seconds<=8
# diff-expect[sigint]: seconds<=8
# diff-expect[sigint-ignored]: seconds<=8
# diff-expect[sigterm]: seconds<=8
# diff-expect[slow-start]: seconds<=5
# diff-expect[slow-start-sigint]: seconds<=4
"""A User whose __init__ blocks for 3 s while the runner is still spawning (Locust spawns in one greenlet, so the
spawning waits for it). The run time (5 s), a Ctrl+C at 1.5 s and the stop must all act on time: the run ends
within seconds, not after the remaining users' __init__s (3 users x 3 s), and the events fire once each, in
Locust's order (on Ctrl+C and SIGTERM: quitting before the users stop). With SIGINT inherited as ignored (nohup), the Ctrl+C does nothing and -t ends the run. With a test_start listener
that takes 6 s, the 3 s run time still counts from the start of the run (Locust starts its clock before the
listeners run), so the run ends during the listener instead of 3 s after it; a Ctrl+C during that listener ends the run at once."""
import os
import sys
import time

from locust import HttpUser, constant, events, task


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


@events.test_start.add_listener
def _start(environment, **kw):
    mark("test_start")
    time.sleep(float(os.environ.get("SLOW_TEST_START", "0")))


@events.test_stopping.add_listener
def _stopping(environment, **kw):
    mark("test_stopping")


@events.test_stop.add_listener
def _stop(environment, **kw):
    mark("test_stop")


@events.quitting.add_listener
def _quitting(environment, **kw):
    mark("quitting")


class SlowUser(HttpUser):
    wait_time = constant(0.1)

    def __init__(self, environment):
        super().__init__(environment)
        time.sleep(3)  # gevent-cooperative under Locust's monkey patching; holds the spawning greenlet
        mark("init_done")

    @task
    def ok(self):
        self.client.get("/hello")
