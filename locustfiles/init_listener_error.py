# diff[raises]: -u 2 -r 10 -t 3s
# diff[sys-exit]: -u 2 -r 10 -t 3s
# diff-env[raises]: INIT_MODE=raise
# diff-env[sys-exit]: INIT_MODE=exit
# diff-check: failures exceptions exit markers
# diff-expect: requests=0
# diff-expect[raises]: exit=1
# diff-expect[sys-exit]: exit=3
# diff-markers: mode=seq part=match ^MARK .*|Starting Locust|Uncaught exception in event handler|Shutting down
"""An exception in an `init` listener is fatal in Locust: it is logged ("Uncaught exception in event handler"),
the remaining init listeners still run, then the process exits 1 at once, before any user starts and without
`test_start`, `quitting` or `quit`. `sys.exit(3)` in an init listener ends it with 3. "Starting Locust" is
logged before `init` fires. Markers go to stderr, so their order relative to the log lines is compared."""
import os
import sys

from locust import HttpUser, constant, events, task

MODE = os.environ.get("INIT_MODE", "raise")


def mark(text):
    print("MARK " + text, file=sys.stderr, flush=True)


@events.init.add_listener
def first(environment, **_kw):
    mark("init first")
    if MODE == "raise":
        raise RuntimeError("init listener failed on purpose")
    if MODE == "exit":
        sys.exit(3)


@events.init.add_listener
def second(environment, **_kw):
    mark("init second")


@events.test_start.add_listener
def on_test_start(**_kw):
    mark("test_start")


@events.quitting.add_listener
def on_quitting(**_kw):
    mark("quitting")


@events.quit.add_listener
def on_quit(**_kw):
    mark("quit")


class Visitor(HttpUser):
    wait_time = constant(0.1)

    def on_start(self):
        mark("user start")

    @task
    def index(self):
        self.client.get("/")
