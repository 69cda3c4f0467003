# diff: -u 2 -r 100 -t 3s
# diff-check: all -shares
# diff-markers: mode=count ^MARK .*
# diff-markers: mode=count Unknown message type received: .*
"""Custom messages on a local runner, as in Locust's examples/custom_messages.py: listeners take `environment` and
`msg` by keyword (`def on_message(msg, **kwargs)`), those registered with concurrent=True too (a local runner
calls every listener at once, concurrent or not, in the sender's greenlet); a second registration of a type is
refused, an unknown type only logs a warning."""
import sys

from locust import HttpUser, constant, events, task


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


def on_users(msg, **kwargs):
    mark(f"users: {msg.type} {msg.data} {msg.node_id} {sorted(kwargs)}")
    kwargs["environment"].runner.send_message("acknowledge_users", f"Thanks for the {len(msg.data)} users!")
    kwargs["environment"].runner.send_message("concurrent_message", "Message to concurrent handler")


def on_acknowledge(msg, **kwargs):
    mark(f"acknowledge: {msg.data}")


def on_concurrent(msg, **kwargs):
    mark(f"concurrent: {msg.data} {sorted(kwargs)}")


def on_keyword_only(*, environment, msg):
    mark(f"keyword only: {msg.data} {type(environment).__name__}")


@events.init.add_listener
def on_locust_init(environment, **_kwargs):
    runner = environment.runner
    runner.register_message("test_users", on_users)
    runner.register_message("acknowledge_users", on_acknowledge)
    runner.register_message("concurrent_message", on_concurrent, concurrent=True)
    runner.register_message("keyword_only", on_keyword_only, concurrent=True)
    try:
        runner.register_message("test_users", on_users)
    except Exception as e:
        mark(f"registered twice: {type(e).__name__}: {e}")


@events.test_start.add_listener
def on_test_start(environment, **_kwargs):
    environment.runner.send_message("test_users", [{"name": "User0"}, {"name": "User1"}])
    environment.runner.send_message("keyword_only", {"k": 1})
    environment.runner.send_message("no_such_type", 1)


class WebsiteUser(HttpUser):
    wait_time = constant(1)

    @task
    def t(self):
        self.client.get("/hello")
