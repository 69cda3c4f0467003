"""`locust.argument_parser`: Locust's command-line parser as scripts and plugins use it.

`rlocust` parses its built-in options in Rust (`src/cli`: Locust's options, config files, `LOCUST_*` variables,
argparse's rules and texts). The argparse parser here carries the options locustfiles add
(`init_command_line_parser`), so their types, choices and actions behave exactly as argparse defines them. The
parser `get_parser()` returns has both: its `parse_args` hands the arguments to the Rust parser (through
`_rlocust.lib_parse_options`) and converts the locustfile's options with argparse, so a script that parses a
command line the way Locust does gets the same namespace.
"""

import argparse
import difflib
import json
import os
import sys

from locust import _discover

_EXTRA_KWARGS = ("include_in_web_ui", "is_secret", "is_required", "is_multiple", "env_var")

# Locust's config files, read in this order (`get_parser(default_config_files=...)` replaces them).
DEFAULT_CONFIG_FILES = ["~/.locust.conf", "locust.conf", "pyproject.toml"]


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
    """argparse with Locust's extra `add_argument` keywords (include_in_web_ui, is_secret, env_var, …).

    Its own actions are the options locustfiles add. The parser `get_parser()` returns also parses Locust's
    built-in options (see the module's docstring)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prog", "rlocust")
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self.add_argument = _add_argument_with_extras(super().add_argument)
        # the config files of the full parser (get_parser); None: only the actions added here
        self._builtin_config_files = None

    def error(self, message):
        """Locust's usage error: `prog: error: message` (no usage text), with a "Did you mean" for an unrecognized
        option; exit code 2."""
        if "unrecognized arguments:" in message:
            words = message.split("unrecognized arguments:", 1)[1].split()
            known = [s for a in self._actions for s in a.option_strings]
            close = difflib.get_close_matches(words[0], known, n=1) if words else []
            if close:
                message += f"\nDid you mean '{close[0]}'?"
        self.exit(2, f"{self.prog}: error: {message}\n")

    def add_argument_group(self, *args, **kwargs):
        group = super().add_argument_group(*args, **kwargs)
        group.add_argument = _add_argument_with_extras(group.add_argument)
        return group

    def parse_args(self, args=None, namespace=None):
        if self._builtin_config_files is None:
            return super().parse_args(args, namespace)
        return self._parse_with_builtins(args, namespace, known=False)[0]

    def parse_known_args(self, args=None, namespace=None):
        if self._builtin_config_files is None:
            return super().parse_known_args(args, namespace)
        return self._parse_with_builtins(args, namespace, known=True)

    def _parse_with_builtins(self, args, namespace, known):
        """Locust's built-in options (in Locust's order) and then the added ones, as one namespace; `known`: leave
        unrecognized arguments to the caller instead of refusing them. `--help`, `--version` and usage errors print
        and exit as they do under `rlocust`."""
        import _rlocust

        argv = sys.argv[1:] if args is None else [str(a) for a in args]
        values, code, (out, err), custom_argv, extras = _rlocust.lib_parse_options(
            argv, custom_arg_specs(self), self._builtin_config_files, known)
        if values is None:
            sys.stdout.write(out)
            sys.stderr.write(err)
            sys.exit(code)
        # the added options, from the config files, the environment and the command line in that order
        custom, rest = argparse.ArgumentParser.parse_known_args(self, custom_argv)  # (not our override)
        if rest:
            self.error("unrecognized arguments: " + " ".join(rest))
        namespace = namespace if namespace is not None else argparse.Namespace()
        for key, value in values.items():
            setattr(namespace, key, value)
        for key, value in vars(custom).items():
            if key not in values:  # an option that is also built in (locust-plugins' -i) is the built-in one
                setattr(namespace, key, value)
        if namespace.config_users:
            namespace.config_users = [json.loads(text) for text in namespace.config_users]  # as Locust's type= does
        return namespace, extras

    def _web_ui_actions(self, flag=None):
        return {a.dest: a for a in self._actions
                if getattr(a, "include_in_web_ui", False) and (flag is None or getattr(a, flag, False))}

    @property
    def args_included_in_web_ui(self):
        return self._web_ui_actions()

    @property
    def secret_args_included_in_web_ui(self):
        return self._web_ui_actions("is_secret")

    @property
    def required_args_included_in_web_ui(self):
        return self._web_ui_actions("is_required")

    @property
    def multiple_args_included_in_web_ui(self):
        return self._web_ui_actions("is_multiple")


def get_empty_argument_parser(add_help=True, default_config_files=None):
    return LocustArgumentParser(add_help=add_help)


def locustfile_options_parser():
    """A parser with only the options locustfiles add (fires `init_command_line_parser`): what rlocust's own
    startup converts the locustfile's options with (the built-in ones are parsed in Rust)."""
    import locust

    parser = LocustArgumentParser()
    locust.events.init_command_line_parser.fire(parser=parser)
    return parser


def get_parser(default_config_files=None):
    """Locust's full parser: the built-in options and those locustfiles add (fires `init_command_line_parser`, as
    Locust does). `default_config_files` replaces Locust's `~/.locust.conf`, `locust.conf` and `pyproject.toml`."""
    parser = locustfile_options_parser()
    parser._builtin_config_files = list(DEFAULT_CONFIG_FILES if default_config_files is None else default_config_files)
    return parser


def parse_options(args=None):
    """Locust's deprecated shortcut for `get_parser().parse_args(args)`, with its warning."""
    print("Warning: This function is deprecated and may be removed in a future version")
    return get_parser().parse_args(args=args)


def default_args_dict():
    """The built-in options as they are before any locustfile adds its own (no config file is read)."""
    parser = LocustArgumentParser()
    parser._builtin_config_files = []
    return vars(parser.parse_args([]))


def ui_extra_options(parser, values, skip=()):
    """The options `parser` shows in the web UI's form (`include_in_web_ui`), each with its value in `values` (the
    parsed options) as the default: Locust's `UIExtraArgOptions` as dicts. Names in `skip` are left out."""
    out = {}
    for dest, action in parser.args_included_in_web_ui.items():
        if not action.option_strings or dest in skip or (dest not in values and action.default is argparse.SUPPRESS):
            continue
        out[dest] = {
            "default_value": values.get(dest, action.default),
            "is_secret": bool(getattr(action, "is_secret", False)),
            "is_required": bool(getattr(action, "is_required", False)),
            "help_text": action.help,
            "is_multiple": bool(getattr(action, "is_multiple", False)),
            "choices": list(action.choices) if action.choices is not None else None,
        }
    return out


def ui_extra_args_dict(args=None):
    """Locust's `ui_extra_args_dict`: the locustfiles' options shown in the web UI, with the values `args` (default:
    the command line) gives them."""
    parser = get_parser()
    return ui_extra_options(parser, vars(parser.parse_args(args)), skip=default_args_dict())


# The action classes configargparse sets from a config file or a variable with true/false (`--x` or nothing).
_FLAG_ACTIONS = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._StoreConstAction,
                 argparse._AppendConstAction)


def _config_class(action):
    """What configargparse makes of an action's config-file or environment value, by its class (subclasses
    included): `boolean_optional` (true: `--x`, false: `--no-x`), `count` (also a number of times), `flag`
    (true: the option), `append` (`append` and `extend`: a list gives the option once per element) or `store`."""
    if isinstance(action, argparse.BooleanOptionalAction):
        return "boolean_optional"
    if isinstance(action, argparse._CountAction):
        return "count"
    if isinstance(action, _FLAG_ACTIONS):
        return "flag"
    if isinstance(action, argparse._AppendAction):
        return "append"
    return "store"


def custom_arg_specs(parser):
    """The added options as plain tuples for the Rust command-line parser: option strings, dest, nargs (None or
    `str(nargs)`), configargparse's view of the action class (`_config_class`), env_var, help, default as text,
    hidden. Rust finds which arguments each option takes; argparse here runs the actions on them."""
    out = []
    for a in parser._actions:
        if not a.option_strings or isinstance(a, argparse._HelpAction):
            continue
        nargs = None if a.nargs is None else str(a.nargs)
        default = None if a.default is None or a.default is argparse.SUPPRESS else str(a.default)
        out.append((list(a.option_strings), a.dest, nargs, _config_class(a), getattr(a, "env_var", None),
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


def parse_locustfile_paths(paths):
    """The locustfiles named by `paths` (files, directories searched for `*.py` not starting with `_`, URLs
    downloaded), as absolute paths, by Locust's rules; an unusable one writes Locust's message and exits 1."""
    try:
        return _discover._resolve(paths)
    except _discover.UserFacingError as e:
        sys.stderr.write(e.message + "\n")
        sys.exit(e.code)


def get_locustfiles_locally(options):
    """The locustfiles of `options.locustfile` (comma-separated) as `parse_locustfile_paths` finds them."""
    if options.locustfile == "-":
        sys.stderr.write("locustfile '-' (download from the master) is only available to an rlocust worker\n")
        sys.exit(1)
    return parse_locustfile_paths([p.strip() for p in options.locustfile.split(",")])
