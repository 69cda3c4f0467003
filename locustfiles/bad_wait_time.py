# diff[none]: -u 2 -r 100 -t 2s --bad-wait none Waiter
# diff[string]: -u 2 -r 100 -t 2s --bad-wait string Waiter
# diff[taskset]: -u 2 -r 100 -t 2s NestedWaiter
# diff-check: all -shares
# diff-expect: exit=1 failures=0 exceptions=1 rows=1
# diff-expect[none]: count[waiter]=2
# diff-expect[string]: count[waiter]=2
# diff-counts[none]: abs=0 .*
# diff-counts[string]: abs=0 .*
# diff-markers[none]: mode=count ^MARK|^\w+Error: .*|failed with \w+$|ERROR/locust\.user\.task: .*|During handling.*
# diff-markers[string]: mode=count ^MARK|^\w+Error: .*|failed with \w+$|ERROR/locust\.user\.task: .*|During handling.*
# diff-markers[taskset]: mode=set ^MARK|^\w+Error: .*|failed with \w+$|ERROR/locust\.user\.task: .*|During handling.*
"""A wait_time that returns a non-number (None, a string; or a TaskSet's own wait_time returning None).
Locust: the sleep after the first task raises TypeError; TaskSet.run reports it (user_error, an
_exceptions.csv row, logged at ERROR on locust.user.task) and then calls wait() again from its error handler,
which raises the same TypeError out of the user's greenlet: gevent prints "... failed with TypeError", the
user is gone after one task (its on_stop never runs), the test goes on without it, and the exit code is 1.
In a nested TaskSet the second TypeError leaves the TaskSet instead: the parent reports it as a task error,
waits its own (valid) wait_time and runs the TaskSet again, so that user loops, reporting each time."""
import sys

from locust import HttpUser, TaskSet, constant, events, task

BAD = {"none": None, "string": "0.1"}


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--bad-wait", default="none", choices=sorted(BAD))


@events.user_error.add_listener
def on_user_error(exception, **kwargs):
    mark(f"user_error {type(exception).__name__}: {exception}")


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    mark(f"test_stop user_count={environment.runner.user_count}")


class Waiter(HttpUser):
    def wait_time(self):
        return BAD[self.environment.parsed_options.bad_wait]

    def on_stop(self):
        mark("Waiter.on_stop")

    @task
    def work(self):
        self.client.get("/hello", name="waiter")


class Nested(TaskSet):
    def wait_time(self):  # a TaskSet's own wait_time wins over the user's
        return None

    @task
    def nested(self):
        self.client.get("/hello", name="waiter")


class NestedWaiter(HttpUser):
    wait_time = constant(0.1)
    tasks = [Nested]

    def on_stop(self):
        mark("NestedWaiter.on_stop")
