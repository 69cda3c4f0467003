# diff[ramp]: -u 4 -r 2 -t 3s
# diff[one-step]: -u 3 -r 100 -t 2s
# diff[shape]:
# diff-env[shape]: ATTRS_SHAPE=1
# diff-check: all -shares
# diff-markers: mode=seq ^MARK (init|test_start|spawning_complete|test_stopping|test_stop|quitting) .*
# diff-markers: mode=set ^MARK task .*
# diff-markers[shape]: mode=seq ^MARK tick .*
# diff-expect: exit=0 exceptions=0 failures=0
"""The runner's attributes as listeners, tasks and a LoadTestShape read them (Locust keeps them current):
state, target_user_count, user_count, target_user_classes_count, user_classes_count, final_user_classes_count.
- ramp: 4 users at 2/s (two steps); one-step: 3 users at once; shape: 1 user, then 3, then the end."""
import os
import sys

from locust import HttpUser, LoadTestShape, constant, events, task


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


def attrs(runner):
    return (f"state={runner.state} target={runner.target_user_count} users={runner.user_count} "
            f"target_classes={dict(runner.target_user_classes_count)} classes={dict(runner.user_classes_count)}")


ENV = []


@events.init.add_listener
def _init(environment, **kw):
    ENV.append(environment)
    mark(f"init {attrs(environment.runner)}")


for _name in ("test_start", "test_stopping", "test_stop", "quitting"):
    def _listener(environment, _name=_name, **kw):
        extra = ""
        if _name in ("test_stop", "quitting"):
            extra = f" final={dict(environment.runner.final_user_classes_count)}"
        mark(f"{_name} {attrs(environment.runner)}{extra}")
    getattr(events, _name).add_listener(_listener)


@events.spawning_complete.add_listener
def _spawned(user_count, **kw):
    mark(f"spawning_complete user_count={user_count} {attrs(ENV[0].runner)}")


class Shape(LoadTestShape):
    ticks = 0

    def tick(self):
        Shape.ticks += 1
        mark(f"tick {Shape.ticks} {attrs(self.runner)}")
        if Shape.ticks <= 2:
            return (1, 100)
        if Shape.ticks <= 4:
            return (3, 100)
        return None


if not os.environ.get("ATTRS_SHAPE"):
    del Shape


class AttrUser(HttpUser):
    wait_time = constant(0.5)
    seen = set()

    @task
    def hello(self):
        self.client.get("/hello")
        r = self.environment.runner
        key = (r.target_user_count, r.user_count)
        if key not in AttrUser.seen:
            AttrUser.seen.add(key)
            mark(f"task target={r.target_user_count} users={r.user_count}")
