# diff: -u 2 -r 100 -t 3s
# diff-extra-args: --dead-url {dead_host}
# diff[dead-host]: -u 2 -r 100 -t 3s
# diff-extra-args[dead-host]: --dead-url {dead_host}
# diff-host[dead-host]: {dead_host}
# diff-check: all -shares
# diff-expect: exit=1 exceptions=0
# diff-expect[default]: rows=7 failures=7
# diff-expect[dead-host]: rows=7 failures=7
"""Connection problems are failure rows, not crashes: connection refused (HttpUser and FastHttpUser, relative and
absolute URLs, and a whole run whose -H points at a closed port), read timeouts (timeout= and FastHttpUser's
network_timeout), and catch_response seeing status_code 0 with .error set."""
from locust import FastHttpUser, HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--dead-url", default="http://127.0.0.1:1", help="a URL where nothing listens")


class Requests(HttpUser):
    wait_time = constant(0.1)

    @task
    def refused_and_timeouts(self):
        dead = self.environment.parsed_options.dead_url
        self.client.get(dead + "/dead")
        self.client.get("/delay/400", timeout=0.1)
        self.client.get("/delay/401", timeout=(1, 0.1), name="/delay [tuple timeout]")
        with self.client.get(dead + "/caught", catch_response=True) as r:
            if r.status_code == 0:
                r.failure("no connection: %s" % r.error)


class Fast(FastHttpUser):
    wait_time = constant(0.1)
    network_timeout = 0.1
    connection_timeout = 1.0

    @task
    def refused_and_timeouts(self):
        dead = self.environment.parsed_options.dead_url
        self.client.get(dead + "/fast-dead")
        self.client.get("/delay/402")
        with self.client.get("/fast-caught", catch_response=True) as r:
            if r.status_code == 404:
                r.success()
