"""Locust's parser and entry-module API as scripts and plugins use it; run under rlocust-python and under real
Locust's python, the output must be the same (tests/lib/test_lib.py). argv[1]: a scratch directory."""

import contextlib
import io
import os
import sys

import locust
from locust import main
from locust.argument_parser import get_parser, parse_locustfile_paths, ui_extra_args_dict
from locust.html import process_html_filename
from locust.util.url import is_url

scratch = sys.argv[1]
os.chdir(scratch)  # no locust.conf or pyproject.toml of the checkout's


@locust.events.init_command_line_parser.add_listener
def _(parser, **_kw):
    parser.add_argument("--my-count", type=int, default=3, help="how many")
    parser.add_argument("--my-flag", action="store_true", help="a flag")
    parser.add_argument("--my-secret", is_secret=True, help="a secret")
    parser.add_argument("--hidden-one", include_in_web_ui=False, help="not in the UI")


def show(label, options, names):
    print(label, [(n, getattr(options, n)) for n in names])


builtins = ["host", "num_users", "spawn_rate", "run_time", "reset_stats", "stop_timeout", "user_classes", "web_port",
            "headless", "tags", "locustfile", "profile"]
custom = ["my_count", "my_flag", "my_secret", "hidden_one"]

options = get_parser(default_config_files=[]).parse_args(
    ["-H", "http://127.0.0.1:1", "-u", "7", "-r", "2.5", "-t", "1m30s", "--reset-stats", "--stop-timeout", "4",
     "--my-count", "11", "--my-flag", "UserA", "UserB"])
show("command line:", options, builtins + custom)

conf = os.path.join(scratch, "test.conf")
with open(conf, "w") as f:
    f.write("host = http://127.0.0.1:2\nusers 12\nheadless\ntags = [a, b]\nmy-count = 5\n")
toml = os.path.join(scratch, "test.toml")
with open(toml, "w") as f:
    f.write('[tool.locust]\nspawn-rate = 3\nlocustfile = "x.py"\nprofile = "p1"\n')
os.environ["LOCUST_RUN_TIME"] = "2m"
options = get_parser(default_config_files=[conf, toml]).parse_args(["-u", "13"])
show("config files, environment, command line:", options, builtins + custom)
del os.environ["LOCUST_RUN_TIME"]

options, rest = get_parser(default_config_files=[]).parse_known_args(["-u", "2", "--not-an-option", "x"])
show("known:", options, ["num_users"])
print("rest:", rest)

for argv in (["--unknown-flag-print-stats"], ["-u", "many"], ["--help"]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            get_parser(default_config_files=[]).parse_args(argv)
            code = None
        except SystemExit as e:
            code = e.code
    text = out.getvalue() + err.getvalue()
    print(argv, "exit", code, "| did you mean:", "Did you mean '--print-stats'?" in text,
          "| invalid int:", "invalid int value: 'many'" in text, "| custom help:", "how many" in text)

print("web ui:", sorted((k, v["default_value"], v["is_secret"]) for k, v in ui_extra_args_dict(["--my-count", "9"]).items()))

locustfile = os.path.join(scratch, "a_locustfile.py")
with open(locustfile, "w") as f:
    f.write("from locust import User, LoadTestShape, task\n"
            "class One(User):\n    @task\n    def t(self): pass\n"
            "class Base(User):\n    abstract = True\n"
            "class Shape(LoadTestShape):\n    def tick(self): return None\n")
os.mkdir(os.path.join(scratch, "more"))
with open(os.path.join(scratch, "more", "b.py"), "w") as f:
    f.write("")
with open(os.path.join(scratch, "more", "_skipped.py"), "w") as f:
    f.write("")
print("paths:", [os.path.relpath(p, scratch) for p in parse_locustfile_paths([locustfile, os.path.join(scratch, "more")])])
err = io.StringIO()
with contextlib.redirect_stderr(err):
    try:
        parse_locustfile_paths(["no_such_dir"])
    except SystemExit as e:
        print("missing path: exit", e.code, err.getvalue().strip())

users, shapes = main.load_locustfile(locustfile)
print("load_locustfile:", sorted(users), [type(s).__name__ for s in shapes])
env = main.create_environment([users["One"]], get_parser(default_config_files=[]).parse_args(
    ["--host", "https://h", "--reset-stats", "--profile", "p2"]))
print("create_environment:", env.host, env.reset_stats, env.profile, env.parsed_options.num_users)

for pattern in ("r_{u}_{r}_{t}.html", "static.html"):
    opts = get_parser(default_config_files=[]).parse_args(["-u", "10", "-r", "2.5", "-t", "30s", "--html", pattern])
    process_html_filename(opts)
    print("html:", opts.html_file)
print("is_url:", [is_url(u) for u in ("http://", "https://x", "x.py", "ftp://x", "http://[::1")])
