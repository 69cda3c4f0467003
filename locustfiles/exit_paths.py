# diff[init-raises]: -u 2 -r 10 -t 3s
# diff[sys-exit]: -u 2 -r 10 -t 8s
# diff[keyboard-interrupt]: -u 1 -r 10 -t 8s
# diff[invalid-host]: -u 2 -r 10 -t 3s
# diff[on-stop-one]: -u 1 -r 10 -t 3s
# diff[on-stop-three]: -u 3 -r 10 -t 3s
# diff-env[init-raises]: EXIT_MODE=init
# diff-env[sys-exit]: EXIT_MODE=exit
# diff-env[keyboard-interrupt]: EXIT_MODE=interrupt
# diff-env[invalid-host]: EXIT_MODE=none
# diff-env[on-stop-one]: EXIT_MODE=on_stop
# diff-env[on-stop-three]: EXIT_MODE=on_stop
# diff-host[invalid-host]: http://[::1
# diff-check: names failures exceptions exit csv-headers markers
# diff-expect[init-raises]: exit=2 requests=0
# diff-expect[sys-exit]: exit=3
# diff-expect[keyboard-interrupt]: exit=0
# diff-expect[invalid-host]: exit=2 requests=0
# diff-expect[on-stop-one]: exit=0
# diff-expect[on-stop-three]: exit=0
# diff-markers: mode=set ^MARK .*
# diff-markers[init-raises]: mode=set part=match \S+ failed with \w+
# diff-markers[invalid-host]: mode=set part=match \S+ failed with \w+
# diff-markers[on-stop-one]: mode=count part=match (\S+ failed with \w+|^SystemExit: \d+|^Traceback|in on_stop$)
# diff-markers[on-stop-three]: mode=count part=match (\S+ failed with \w+|^SystemExit: \d+|^Traceback|in on_stop$)
"""How a run ends when user code leaves the normal paths: a User.__init__ that raises (or a host that HttpUser
cannot parse) kills Locust's spawning greenlet and the run exits 2 after its run time; sys.exit(3) in a task
ends the run with 3; KeyboardInterrupt in a task stops it like Ctrl+C; sys.exit(0) in on_stop ends the process
with 0 as the first user is stopped (no summary), and with more users the next one's SystemExit is printed as
gevent prints it when the interpreter exits ("<main greenlet> failed with SystemExit", once). The tasks end the run only after
Locust's CSV writer has written its first rows, so both tools' CSVs hold the requests."""
import os
import sys
import time

from locust import HttpUser, constant, events, task

MODE = os.environ.get("EXIT_MODE", "none")
START = time.time()


@events.quitting.add_listener
def on_quitting(**_kw):
    print("MARK quitting", flush=True)


class Exits(HttpUser):
    wait_time = constant(0.1)

    def __init__(self, environment):
        if MODE == "init":
            raise RuntimeError("init failed on purpose")
        super().__init__(environment)

    @task
    def work(self):
        self.client.get("/hello")
        if time.time() - START > 2.5:
            if MODE == "exit":
                sys.exit(3)
            if MODE == "interrupt":
                raise KeyboardInterrupt()

    def on_stop(self):
        if MODE == "on_stop":
            sys.exit(0)
