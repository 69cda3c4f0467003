# diff[defaults]: -u 2 -r 100 -t 3s
# diff[given]: -u 2 -r 100 -t 3s
# diff-extra-args[given]: --my-arg 3 --my-flag --my-name cli-name
# diff[from-env]: -u 2 -r 100 -t 3s
# diff-env[from-env]: MY_NAME=env-name
# diff-markers: mode=seq ^MARK
# diff-expect: exit=0
# diff-expect[defaults]: rows=1
# diff-expect[given]: rows=2
"""Custom command-line arguments via events.init_command_line_parser, read from environment.parsed_options in a
task and in a test_start listener (int, flag, and a string that can also come from an environment variable)."""
import sys

from locust import HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--my-arg", type=int, default=1, help="item id to request")
    parser.add_argument("--my-flag", action="store_true", default=False, help="also request /hello")
    parser.add_argument("--my-name", type=str, env_var="MY_NAME", default="default-name", include_in_web_ui=False,
                        help="a name")


@events.test_start.add_listener
def show_options(environment, **kwargs):
    o = environment.parsed_options
    print(f"MARK my_arg={o.my_arg!r} my_flag={o.my_flag!r} my_name={o.my_name!r} "
          f"users={o.num_users!r} spawn_rate={o.spawn_rate!r} run_time={o.run_time!r}", file=sys.stderr)


class ArgUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def item(self):
        n = self.environment.parsed_options.my_arg
        self.client.get(f"/items/{n}", name=f"/items/{n}")
        if self.environment.parsed_options.my_flag:
            self.client.get("/hello", name="flag-on")
