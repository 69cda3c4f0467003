# diff: -u 2 -r 10 -t 2s --web-port 0 --web-host 127.0.0.1 --web-login --class-picker --autostart --autoquit 5 --profile nightly
# diff-check: names failures exceptions exit markers
# diff-expect: exit=0 requests>=1
# diff-markers: mode=seq part=match ^MARK .*|The --autostart argument is implied by --headless, no need to set both\.|Shutting down \(exit code \d+\)
"""Options of the web UI given with --headless: Locust ignores them and runs the headless test (it only says
that --autostart is implied by --headless). rlocust runs the same test; it also warns that the web options have
no effect (a line Locust does not print, not compared here). `--profile` reaches `environment.profile`."""
import sys

from locust import HttpUser, constant, events, task


@events.test_start.add_listener
def on_test_start(environment, **_kw):
    print(f"MARK profile={environment.profile}", file=sys.stderr, flush=True)


@events.test_stop.add_listener
def on_test_stop(**_kw):
    print("MARK test_stop", file=sys.stderr, flush=True)


class Reader(HttpUser):
    wait_time = constant(0.2)

    @task
    def hello(self):
        self.client.get("/hello")
