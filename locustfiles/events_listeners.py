# diff: -u 2 -r 100 -t 3s
# diff[exit-code]: -u 2 -r 100 -t 3s --force-exit-code 3
# diff-markers: mode=seq ^MARK (init|test_start|spawning_complete|test_stopping|test_stop|quitting|quit|User\d|Thanks)
# diff-markers: mode=count ^MARK (on_start|user_error|request failure)
# diff-files: markers.txt
# diff-expect: failures=1 exceptions=1
# diff-expect[default]: exit=1
# diff-expect[exit-code]: exit=3
"""Event hooks (seed 000): init (with the runner type), custom messages between runner handlers (LocalRunner
delivers them at once), test_start/test_stop, spawning_complete, test_stopping, quitting (which may set
environment.process_exit_code), quit, request and user_error listeners. Listeners write MARK lines to stderr and
to a marker file."""
import sys

from locust import HttpUser, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

FAILED = set()


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)
    with open("markers.txt", "a", encoding="utf-8") as f:
        f.write(text + "\n")


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--force-exit-code", type=int, default=-1)


def setup_test_users(environment, msg, **kwargs):
    for user in msg.data:
        mark(f"User {user['name']} received")
    environment.runner.send_message("acknowledge_users", f"Thanks for the {len(msg.data)} users!")


def on_acknowledge(msg, **kwargs):
    mark(msg.data)


@events.init.add_listener
def on_locust_init(environment, runner, **kwargs):
    mark(f"init runner={type(runner).__name__} master={isinstance(environment.runner, MasterRunner)}")
    if not isinstance(environment.runner, MasterRunner):
        environment.runner.register_message("test_users", setup_test_users)
    if not isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message("acknowledge_users", on_acknowledge)


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    mark(f"test_start host={environment.host == environment.parsed_options.host}")
    if not isinstance(environment.runner, MasterRunner):
        environment.runner.send_message("test_users", [{"name": "User1"}, {"name": "User2"}, {"name": "User3"}])


@events.spawning_complete.add_listener
def on_spawned(user_count, **kwargs):
    mark(f"spawning_complete user_count={user_count}")


@events.request.add_listener
def on_request(request_type, name, exception, **kwargs):
    if exception and name not in FAILED:
        FAILED.add(name)
        mark(f"request failure {request_type} {name}: {exception!r}")


@events.user_error.add_listener
def on_user_error(user_instance, exception, tb, **kwargs):
    mark(f"user_error {type(exception).__name__}: {exception}")


@events.test_stopping.add_listener
def on_test_stopping(environment, **kwargs):
    mark("test_stopping")


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    mark(f"test_stop failed={sorted(FAILED)}")


@events.quitting.add_listener
def on_quitting(environment, **kwargs):
    code = environment.parsed_options.force_exit_code
    if code >= 0:
        environment.process_exit_code = code
    mark(f"quitting errors={len(environment.runner.errors)} exceptions={len(environment.runner.exceptions)}")


@events.quit.add_listener
def on_quit(exit_code, **kwargs):
    mark(f"quit exit_code={exit_code}")


class EventfulUser(HttpUser):
    wait_time = constant(0.1)

    def on_start(self):
        mark("on_start")
        self.raised = False

    @task
    def work(self):
        self.client.get("/hello")
        self.client.get("/status/404", name="/status/404 (listener)")
        if not self.raised:
            self.raised = True
            raise ValueError("raised once per user")
