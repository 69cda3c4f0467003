# diff[quit]: -u 2 -r 100 -t 3s --mode quit
# diff[quit-alone]: -u 1 -r 100 -t 3s --mode quit Controller
# diff[stop]: -u 2 -r 100 -t 3s --mode stop
# diff[stop-alone]: -u 1 -r 100 -t 3s --mode stop Controller
# diff[stoptest]: -u 2 -r 100 -t 3s --mode stoptest
# diff[exitcode]: -u 2 -r 100 -t 2s --mode exitcode
# diff[nocatch]: -u 2 -r 100 -t 2s --mode nocatch
# diff-check: all -shares
# diff-counts: abs=0 controller
# diff-markers: mode=seq ^MARK
# diff-expect: count[controller]=5
# diff-expect[quit]: exit=0 exceptions=0 failures=0 rows=2
# diff-expect[quit-alone]: exit=0 exceptions=0 failures=0 rows=1
# diff-expect[stop]: exit=0 exceptions=0 failures=0 rows=2
# diff-expect[stop-alone]: exit=0 exceptions=0 failures=0 rows=1
# diff-expect[stoptest]: exit=0 exceptions=0 failures=0 rows=2
# diff-expect[exitcode]: exit=3 exceptions=0 failures=1 rows=3
# diff-expect[nocatch]: exit=1 exceptions=1 failures=0 rows=2
"""Runner control from a locustfile. A Controller user makes exactly 5 requests (and, for quit/stop, waits 1.5 s
so Locust's once-a-second CSV has them), then, by --mode:
- quit / stop: calls environment.runner.quit() / .stop() in its task. Locust runs stop() in the caller's
  greenlet: test_stopping fires, and stopping the other users switches greenlets, so the caller is killed
  inside stop() (its pending kill lands): the code after quit() never runs, test_stop does not fire, and the
  test goes on without users until -t, where a second test_stopping (state "cleanup") and test_stop fire.
- quit-alone / stop-alone (the Controller is the only user): stop() completes (test_stop fires while the
  caller still counts as a user, then the caller's on_stop runs); quit() ends the test at once and does not
  return; stop() returns, the caller dies at its next switch, and the test idles until -t.
- stoptest: raises StopTest in its task: only that user stops (reference §3.6), exit code 0.
- exitcode: a quitting listener sets environment.process_exit_code = 3 (over the 1 of a request failure).
- nocatch: an init listener sets environment.catch_exceptions = False and the task raises: user_error fires,
  the exception kills the user (no on_stop), exit code 1.
A Background user requests during the first second, and only waits after it. Markers show the order of events,
on_stops and runner states."""
import sys
import time

from locust import HttpUser, constant, events, task
from locust.exception import StopTest


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--mode", default="quit")


@events.init.add_listener
def on_init(environment, **kwargs):
    mark(f"init mode={environment.parsed_options.mode} catch_exceptions={environment.catch_exceptions}")
    if environment.parsed_options.mode == "nocatch":
        environment.catch_exceptions = False


@events.test_stopping.add_listener
def on_test_stopping(environment, **kwargs):
    mark(f"test_stopping state={environment.runner.state}")


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    mark(f"test_stop state={environment.runner.state} user_count={environment.runner.user_count}")


@events.user_error.add_listener
def on_user_error(exception, **kwargs):
    mark(f"user_error {type(exception).__name__}: {exception}")


@events.quitting.add_listener
def on_quitting(environment, **kwargs):
    mode = environment.parsed_options.mode
    if mode == "exitcode":
        environment.process_exit_code = 3
    mark(f"quitting state={environment.runner.state} process_exit_code={environment.process_exit_code}")


@events.quit.add_listener
def on_quit(exit_code, **kwargs):
    mark(f"quit exit_code={exit_code}")


class Controller(HttpUser):
    fixed_count = 1
    wait_time = constant(0.1)

    def on_start(self):
        self.n = 0
        self.again = False

    def on_stop(self):
        mark(f"Controller.on_stop n={self.n}")

    @task
    def work(self):
        if self.n >= 5:
            if not self.again:
                self.again = True
                mark(f"Controller runs tasks after its action n={self.n}")
            return
        self.client.get("/items/1", name="controller")
        self.n += 1
        if self.n < 5:
            return
        mode = self.environment.parsed_options.mode
        runner = self.environment.runner
        mark(f"Controller action {mode} state={runner.state}")
        if mode in ("quit", "stop"):
            time.sleep(1.5)  # gevent-patched: Locust writes its CSVs once a second and not at exit
        if mode == "quit":
            runner.quit()
            mark("Controller after runner.quit()")
        elif mode == "stop":
            runner.stop()
            mark("Controller after runner.stop()")
        elif mode == "stoptest":
            raise StopTest("stop the test, please")
        elif mode == "exitcode":
            self.client.get("/status/500", name="controller:500")
        elif mode == "nocatch":
            raise ValueError("not caught")


class Background(HttpUser):
    fixed_count = 1
    wait_time = constant(0.1)

    def on_start(self):
        self.t0 = time.monotonic()

    def on_stop(self):
        mark("Background.on_stop")

    @task
    def work(self):
        # requests only in the first second: a stop that lands in a request runs that user's on_stop after the
        # others' (in Locust as in rlocust), so the order of the on_stops would depend on timing
        if time.monotonic() - self.t0 < 1.0:
            self.client.get("/hello", name="background")
