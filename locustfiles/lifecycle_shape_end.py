# diff[sigint]: -t 60s
# diff[user-stop]: --mode stop
# diff[user-quit]: --mode quit
# diff-at[sigint]: after=All\susers\sspawned 1 signal=INT
# diff-check: all -shares
# diff-markers: mode=seq (^MARK|Exiting due to CTRL|Shape test|Run time limit|Shutting down|Got SIGTERM)
# diff-expect: exceptions=0 failures=0
# diff-expect: seconds<=12
"""How a LoadTestShape run ends besides its last tick (Locust's headless main waits for the shape greenlet):
- sigint: Ctrl+C while the shape runs: "Exiting due to CTRL+C interruption", "Shape test completed, shutting
  down", the users stop (test_stopping, test_stop), then "Run time limit set to 60 seconds" (the -t of a shape
  run is only set up after it), quitting, "Shutting down".
- user-stop / user-quit: a user calls runner.stop() / runner.quit() after the 15th request (about 1.5 s): the shape greenlet
  is killed, and main ends the run.
The shape holds 2 users for 30 s (far longer than any variant runs).
NOTE: no SIGTERM variant: Locust installs its SIGTERM handler only after a headless shape test, so SIGTERM kills
it at once without results (rlocust stops as on Ctrl+C and writes them; README, differences)."""
import sys

from locust import HttpUser, LoadTestShape, constant, events, task


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


@events.init_command_line_parser.add_listener
def _args(parser):
    parser.add_argument("--mode", default="none")


@events.test_start.add_listener
def _start(environment, **kw):
    mark("test_start")


@events.test_stopping.add_listener
def _stopping(environment, **kw):
    mark(f"test_stopping state={environment.runner.state}")


@events.test_stop.add_listener
def _stop(environment, **kw):
    mark(f"test_stop state={environment.runner.state}")


@events.quitting.add_listener
def _quitting(environment, **kw):
    mark(f"quitting state={environment.runner.state}")


class Shape(LoadTestShape):
    def tick(self):
        return (2, 10) if self.get_run_time() < 30 else None


class ShapedUser(HttpUser):
    wait_time = constant(0.2)
    n = 0

    @task
    def hello(self):
        self.client.get("/hello")
        ShapedUser.n += 1
        mode = self.environment.parsed_options.mode
        if ShapedUser.n == 15 and mode in ("stop", "quit"):
            mark(f"calling {mode}")
            getattr(self.environment.runner, mode)()
