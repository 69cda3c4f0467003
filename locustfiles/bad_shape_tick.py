# diff[string]: -t 3s --bad-tick string
# diff[pair-string]: -t 3s --bad-tick pair-string
# diff[one-tuple]: -t 3s --bad-tick one-tuple
# diff-check: all -shares
# diff-expect: exit=2 rows=1 failures=0 exceptions=0
# diff-markers: mode=seq ^MARK|^\w+Error: .*|failed with \w+$|locust\.main: (?!Starting).*|locust\.runners: Shape .*
"""A LoadTestShape whose tick() returns garbage after 2 s of a good stage (1 user): a 7-character string
("too many values to unpack"), a 2-character string (unpacked into user count "5" and rate "x": the log line's
%d fails) and a 1-tuple ("not enough values to unpack"). Locust: the shape greenlet dies with the error (gevent
prints "... failed with ValueError" and the runner logs "Unhandled exception in greenlet" at CRITICAL), main logs
"Shape test completed, shutting down" and then, oddly, "Run time limit set to 3 seconds" (a shape ignores -t),
and the exit code is 2 (an unhandled greenlet exception)."""
import sys

from locust import HttpUser, LoadTestShape, constant, events, task

BAD = {"string": "garbage", "pair-string": "5x", "one-tuple": (5,)}


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--bad-tick", default="string", choices=sorted(BAD))


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    print(f"MARK test_stop user_count={environment.runner.user_count}", file=sys.stderr, flush=True)


class GarbageShape(LoadTestShape):
    def tick(self):
        if self.get_run_time() < 2:
            return 1, 10
        bad = BAD[self.runner.environment.parsed_options.bad_tick]
        print(f"MARK tick returns {bad!r}", file=sys.stderr, flush=True)
        return bad


class ShapedUser(HttpUser):
    wait_time = constant(0.1)

    @task
    def hello(self):
        self.client.get("/hello", name="shaped")
