# diff[defaults]: -u 2 -r 100 -t 3s
# diff[cli-no]: -u 2 -r 100 -t 3s
# diff-extra-args[cli-no]: --no-chat --no-fast --no-keep --no-cache --yes --const --mode b --level 3 --ratio 0.5 --item a --item b --add-x --add-y --add-x -vvv --ext 1 2 --ext 3 --pair p q --maybe --many --shout hi --shout=yo --toggle --secret-token t
# diff[cli-yes]: -u 2 -r 100 -t 3s
# diff-extra-args[cli-yes]: --chat --fast --keep --maybe=val --many a b -v --verbose --no-ch --item=-x --pair -1 -2
# diff[conf]: -u 2 -r 100 -t 3s --config {dir}/_custom_arg_actions.conf
# diff[toml]: -u 2 -r 100 -t 3s --config {dir}/_custom_arg_actions.toml
# diff[env]: -u 2 -r 100 -t 3s
# diff-env[env]: LOCUST_CHAT=false LOCUST_FAST=on LOCUST_KEEP=0 LOCUST_YES=true LOCUST_ITEM='[e1, e2]' LOCUST_VERBOSE=2 LOCUST_MANY='[x,y]' LOCUST_LEVEL=7 LOCUST_PAIR='[e, f]' MODE_NAME=c
# diff[env-flags]: -u 2 -r 100 -t 3s
# diff-env[env-flags]: LOCUST_CHAT=yes LOCUST_FAST=off LOCUST_KEEP=true LOCUST_YES=0 LOCUST_ITEM=one LOCUST_VERBOSE=true LOCUST_MANY=
# diff[precedence]: -u 2 -r 100 -t 3s --config {dir}/_custom_arg_actions.conf --no-chat --item z -v
# diff-env[precedence]: LOCUST_KEEP=true LOCUST_VERBOSE=5 LOCUST_LEVEL=8
# diff-markers: mode=seq ^MARK
# diff-expect: exit=0
"""Options a locustfile adds with every argparse action (store, store_const, store_true, store_false, append,
append_const, count, extend, BooleanOptionalAction with the defaults False, None and True, its own Action
subclasses) and with nargs, type, choices, default and Locust's env_var / include_in_web_ui / is_secret keywords,
set on the command line (`--no-x`, `--x`, repeated, `-vvv`, prefixes, `=`), in a config file (`--config`, the
default format and [tool.locust] of a TOML file) and by environment variables, each source as configargparse turns
it into arguments. Each value is printed as a MARK line and names one request row, so both the markers and the
stats rows show a value that differs from Locust's."""
import argparse
import sys

from locust import HttpUser, constant, events, task


class Shout(argparse.Action):
    """Its own action: what it stores depends on the option string and the calls before it."""

    def __call__(self, parser, namespace, values, option_string=None):
        before = getattr(namespace, self.dest) or ""
        setattr(namespace, self.dest, f"{before}[{option_string}:{values.upper()}]")


class Toggle(argparse.Action):
    """An action that takes no value (nargs=0)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, f"toggled by {option_string} with {values!r}")


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--chat", action=argparse.BooleanOptionalAction, default=False, env_var="LOCUST_CHAT",
                        help="chat or not")
    parser.add_argument("--fast", action=argparse.BooleanOptionalAction, env_var="LOCUST_FAST")
    parser.add_argument("--keep", action=argparse.BooleanOptionalAction, default=True, env_var="LOCUST_KEEP")
    parser.add_argument("--yes", action="store_true", env_var="LOCUST_YES")
    parser.add_argument("--no-cache", dest="cache", action="store_false")
    parser.add_argument("--const", action="store_const", const="C", default="D")
    parser.add_argument("--mode", choices=["a", "b", "c"], default="a", env_var="MODE_NAME")
    parser.add_argument("--level", type=int, default=1, env_var="LOCUST_LEVEL")
    parser.add_argument("--ratio", type=float, default=0.25, include_in_web_ui=False)
    parser.add_argument("--item", dest="items", action="append", env_var="LOCUST_ITEM")
    parser.add_argument("--add-x", dest="consts", action="append_const", const="x")
    parser.add_argument("--add-y", dest="consts", action="append_const", const="y")
    parser.add_argument("-v", "--verbose", action="count", default=0, env_var="LOCUST_VERBOSE")
    parser.add_argument("--ext", action="extend", nargs="+", type=int)
    parser.add_argument("--pair", nargs=2, env_var="LOCUST_PAIR")
    parser.add_argument("--maybe", nargs="?", const="CONST", default="DEF")
    parser.add_argument("--many", nargs="*", env_var="LOCUST_MANY")
    parser.add_argument("--shout", action=Shout, default="")
    parser.add_argument("--toggle", action=Toggle, default="off")
    parser.add_argument("--secret-token", is_secret=True, default="s3")


NAMES = ("chat", "fast", "keep", "yes", "cache", "const", "mode", "level", "ratio", "items", "consts", "verbose",
         "ext", "pair", "maybe", "many", "shout", "toggle", "secret_token")


@events.test_start.add_listener
def show_options(environment, **kwargs):
    o = environment.parsed_options
    print("MARK " + " ".join(f"{n}={getattr(o, n)!r}" for n in NAMES), file=sys.stderr)


class ActionsUser(HttpUser):
    wait_time = constant(0.2)

    @task
    def request_per_option(self):
        o = self.environment.parsed_options
        for n in NAMES:
            self.client.get("/hello", name=f"{n}={getattr(o, n)!r}")
