# diff[raising]: -u 300 -r 1000 -t 3s --mode raising
# diff[passing]: -u 300 -r 1000 -t 3s --mode passing
# diff[timeout-finish]: -u 30 -r 1000 -t 3s -s 10 --mode finish
# diff[timeout-expire]: -u 30 -r 1000 -t 3s -s 1 --mode expire
# diff-check: all -shares
# diff-markers: mode=seq ^MARK (test_stopping|test_stop|first|last|stop took)
# diff-markers: mode=count ^MARK (on_stop|finished|interrupted)
# diff-markers: mode=count Not all users finished their tasks
# diff-expect[raising]: seconds<=20 exit=1
# diff-expect[passing]: seconds<=20 exit=0
# diff-expect[timeout-finish]: seconds<=20 exit=0
# diff-expect[timeout-expire]: seconds<=20 exit=0
"""The stop at the end of a run takes the same time whatever the users do, as in Locust (every user is asked to
stop at once, then the stop waits for them all):
- raising / passing: 300 users whose task raises on every run (or does nothing), no wait: the stop is over within
  a second (it took a full round of the busy users per user stopped: 83 s for 300 raising users).
- timeout-finish: `--stop-timeout 10`, users in a TaskSet whose task takes 0.5 s: each finishes the task it is in,
  then stops (on_stop for all), well before the timeout.
- timeout-expire: `--stop-timeout 1`, users whose task takes 30 s: after 1 s "Not all users finished their tasks &
  terminated in 1.0 seconds. Stopping them..." and they are killed inside their task (on_stop still runs).
Printed: the events in order (test_stopping, the first and last on_stop, test_stop), on_stop per user, and whether
the stop took under 5 s (Locust: under 0.5 s here)."""
import sys
import time

import gevent

from locust import TaskSet, User, events, task

START = {}
STOPPED = []


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


@events.init_command_line_parser.add_listener
def _args(parser):
    parser.add_argument("--mode", default="raising")


@events.test_stopping.add_listener
def _stopping(environment, **kw):
    START["t"] = time.monotonic()
    START["users"] = environment.runner.user_count
    mark("test_stopping")


@events.test_stop.add_listener
def _stop(environment, **kw):
    took = time.monotonic() - START["t"]
    if environment.parsed_options.mode == "expire":
        mark(f"stop took under 5 s, at least the timeout: {1 <= took < 5}")
    else:
        mark(f"stop took under 5 s: {took < 5}")
    mark("test_stop")


class Busy(TaskSet):
    @task
    def work(self):
        mode = self.user.environment.parsed_options.mode
        if mode == "raising":
            raise ValueError("boom")
        if mode == "finish":
            try:
                gevent.sleep(0.5)
            except BaseException:
                mark("interrupted")
                raise
            if self.user.environment.runner.state == "cleanup":
                mark("finished the task it was in")
        elif mode == "expire":
            try:
                gevent.sleep(30)
            except BaseException:
                mark("interrupted")
                raise


class Stopper(User):
    tasks = [Busy]

    def on_stop(self):
        STOPPED.append(self)
        if len(STOPPED) == 1:
            mark("first on_stop")
        if len(STOPPED) == START.get("users"):
            mark("last on_stop")
        mark("on_stop")
