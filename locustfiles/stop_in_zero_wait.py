# diff: -u 20 -r 100 -t 2s
# diff-check: all -shares -names
# (names: the on_stop requests come after Locust's last write of _stats.csv, see tests/diff/README.md)
# diff-markers: mode=count ^MARK .*
"""Users stopped while they yield with a wait of 0 (no I/O in their task, so they are always between tasks): the
stop kills them there, and each one's on_stop makes a request and prints what came back. In rlocust the killed
user must leave the hub's queue of users to resume (`locust._hub.yield_now`): resumed from it again, it would wake
inside its on_stop's request with no response."""
from locust import HttpUser, constant, task


class Spinner(HttpUser):
    wait_time = constant(0)

    @task
    def spin(self):
        pass

    def on_stop(self):
        response = self.client.get("/hello", name="on_stop")
        print("MARK on_stop", response.status_code, response.text, flush=True)
