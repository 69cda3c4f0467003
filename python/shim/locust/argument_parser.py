"""`locust.argument_parser`: the parser object `init_command_line_parser` listeners add options to.

rlocust's built-in options are parsed in Rust; this argparse parser only carries the options locustfiles
add, so their types, choices and actions behave exactly as argparse defines them.
"""

import argparse
import os

_EXTRA_KWARGS = ("include_in_web_ui", "is_secret", "is_required", "is_multiple", "env_var")


def _add_argument_with_extras(add):
    def add_argument(*args, **kwargs):
        extras = {k: kwargs.pop(k) for k in _EXTRA_KWARGS if k in kwargs}
        action = add(*args, **kwargs)
        action.include_in_web_ui = extras.get("include_in_web_ui", True)
        action.is_secret = extras.get("is_secret", False)
        action.is_required = extras.get("is_required", False)
        action.is_multiple = extras.get("is_multiple", False)
        action.env_var = extras.get("env_var")
        return action

    return add_argument


class LocustArgumentParser(argparse.ArgumentParser):
    """argparse with Locust's extra `add_argument` keywords (include_in_web_ui, is_secret, env_var, …)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prog", "rlocust")
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self.add_argument = _add_argument_with_extras(super().add_argument)

    def add_argument_group(self, *args, **kwargs):
        group = super().add_argument_group(*args, **kwargs)
        group.add_argument = _add_argument_with_extras(group.add_argument)
        return group

    @property
    def args_included_in_web_ui(self):
        return {a.dest: a for a in self._actions if getattr(a, "include_in_web_ui", False)}

    @property
    def secret_args_included_in_web_ui(self):
        return {a.dest: a for a in self._actions if getattr(a, "include_in_web_ui", False) and getattr(a, "is_secret", False)}


def get_empty_argument_parser(add_help=True, default_config_files=None):
    return LocustArgumentParser(add_help=add_help)


def get_parser(default_config_files=None):
    """A parser with the options locustfiles add (fires `init_command_line_parser`, as Locust does)."""
    import locust

    parser = LocustArgumentParser()
    locust.events.init_command_line_parser.fire(parser=parser)
    return parser


def custom_arg_specs(parser):
    """The added options as plain tuples for the Rust command-line parser."""
    out = []
    for a in parser._actions:
        if not a.option_strings or isinstance(a, argparse._HelpAction):
            continue
        multiple = a.nargs in ("*", "+") or (isinstance(a.nargs, int) and a.nargs > 1)
        takes_value = a.nargs != 0
        default = None if a.default is None or a.default is argparse.SUPPRESS else str(a.default)
        out.append((list(a.option_strings), a.dest, takes_value, multiple, getattr(a, "env_var", None),
                    None if a.help is argparse.SUPPRESS else a.help, default, a.help is argparse.SUPPRESS))
    return out


def _env_flag(name):
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def parse_locustfile_option(args=None):
    """The options needed before the locustfiles are imported: `-f/--locustfile` (`LOCUST_LOCUSTFILE`), and the
    worker's `--worker`, `--master`, `--master-host`, `--master-port` (with their `LOCUST_*` variables); the other
    arguments are left for the full parser. `args` defaults to the command line."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-f", "--locustfile", default=os.environ.get("LOCUST_LOCUSTFILE", "locustfile"))
    parser.add_argument("-h", "--help", action="store_true", default=False)
    parser.add_argument("--version", "-V", action="store_true", default=False)
    parser.add_argument("--worker", action="store_true", default=_env_flag("LOCUST_MODE_WORKER"))
    parser.add_argument("--master", action="store_true", default=_env_flag("LOCUST_MODE_MASTER"))
    parser.add_argument("--master-host", default=os.environ.get("LOCUST_MASTER_NODE_HOST", "127.0.0.1"))
    parser.add_argument("--master-port", type=int, default=int(os.environ.get("LOCUST_MASTER_NODE_PORT", "5557")))
    options, _rest = parser.parse_known_args(args=args)
    return options


def get_locustfiles_locally(options):
    """The locustfile paths of `options.locustfile` (comma-separated files, directories, URLs), as absolute paths,
    by Locust's rules; an unusable one writes Locust's message and exits 1."""
    import sys

    from locust import _main

    if options.locustfile == "-":
        sys.stderr.write("locustfile '-' (download from the master) is only available to an rlocust worker\n")
        sys.exit(1)
    try:
        return _main._resolve([p.strip() for p in options.locustfile.split(",")])
    except _main.UserFacingError as e:
        sys.stderr.write(e.message + "\n")
        sys.exit(e.code)
