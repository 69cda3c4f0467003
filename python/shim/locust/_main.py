"""rlocust's Python-side flow, called from Rust (`interp`): load locustfiles, build `parsed_options` and the
Environment, run the hub until the test ends, fire the final events.

Locust-compatible rules and messages for locustfile discovery live here (reference §4.4).
"""

import argparse
import gc
import importlib.machinery
import importlib.util
import inspect
import logging
import os
import sys
import traceback


class UserFacingError(Exception):
    """A finished one-line (or traceback) message for the user, with the exit code to use."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.message = message
        self.code = code


class _State:
    user_classes = {}
    shape_classes = []
    parser = None
    env = None
    locustfiles = []


def _resolve(paths):
    files = []
    for raw in paths:
        path = raw.strip()
        if not path:
            continue
        if os.path.isdir(path):
            found = []
            for root, _dirs, names in os.walk(path):
                for n in names:
                    if n.endswith(".py") and not n.startswith("_"):
                        found.append(os.path.abspath(os.path.join(root, n)))
            if not found:
                raise UserFacingError(f"Could not find any locustfiles in directory '{path}'", 1)
            files.extend(found)
        elif os.path.isfile(path) and path.endswith(".py"):
            files.append(os.path.abspath(path))
        else:
            raise UserFacingError(
                f"Could not find '{path}'. Ensure your locustfile ends with '.py' or is a directory with locustfiles. "
                "See --help for available options.",
                1,
            )
    return files


def _import_file(path):
    directory, filename = os.path.split(path)
    stem = os.path.splitext(filename)[0]
    if stem == "locust":
        stem = "locustfile"
    sys.path.insert(0, directory)
    try:
        loader = importlib.machinery.SourceFileLoader(stem, path)
        spec = importlib.util.spec_from_loader(stem, loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[stem] = module
        loader.exec_module(module)
        return module
    except SystemExit:
        raise
    except BaseException:
        raise UserFacingError(traceback.format_exc().rstrip("\n"), 1)
    finally:
        try:
            sys.path.remove(directory)
        except ValueError:
            pass


# The cyclic GC's default first threshold (700 allocations) is meant for programs with few objects alive; a
# load test allocates a handful of objects per request and keeps every user alive, so with the default the
# collector took ~30% of the Python thread at 10,000 users. Set before the locustfile runs (it may override).
_GC_THRESHOLDS = (50_000, 20, 100)


def load_locustfiles(paths):
    gc.set_threshold(*_GC_THRESHOLDS)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    from locust.shape import LoadTestShape
    from locust.user.users import User

    files = _resolve(paths)
    _State.locustfiles = files
    users = {}
    origin = {}
    shapes = []
    for path in files:
        module = _import_file(path)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, User) and value.abstract is False:
                known = users.get(value.__name__)
                if known is not None and known is not value:
                    raise UserFacingError(
                        f"Duplicate user class names: {value.__name__} is defined in both {origin[value.__name__]} and {path}",
                        1,
                    )
                users[value.__name__] = value
                origin.setdefault(value.__name__, path)
            elif inspect.isclass(value) and issubclass(value, LoadTestShape) and not getattr(value, "abstract", True):
                if all(type(s) is not value for s in shapes) and all(type(s).__name__ != value.__name__ for s in shapes):
                    shapes.append(value())
    if not users:
        raise UserFacingError("No User class found!", 1)
    _State.user_classes = users
    _State.shape_classes = shapes
    from locust.argument_parser import custom_arg_specs, get_parser

    _State.parser = get_parser()
    classes = [(n, float(getattr(c, "weight", 1)), int(getattr(c, "fixed_count", 0) or 0)) for n, c in users.items()]
    return classes, custom_arg_specs(_State.parser), bool(shapes)


def list_text():
    return "Available Users:\n" + "".join(f"    {n}\n" for n in _State.user_classes)


def task_ratio(as_json):
    """`--show-task-ratio` / `--show-task-ratio-json`: the text Locust prints, for the chosen classes."""
    from locust.user.inspectuser import task_ratio_json_text, task_ratio_lines

    env = _State.env
    num_users = getattr(env.parsed_options, "num_users", None)
    if as_json:
        return task_ratio_json_text(env.user_classes, num_users)
    lines = []
    try:
        lines.extend(task_ratio_lines(env.user_classes, num_users))
    except Exception:
        sys.stdout.write("".join(line + "\n" for line in lines))  # what Locust printed before failing
        sys.stdout.flush()
        raise
    return "".join(line + "\n" for line in lines)


def configure(values, custom_argv, selected):
    import locust
    from locust.env import Environment
    from locust.log import setup_logging

    options = argparse.Namespace(**values)
    try:
        custom = _State.parser.parse_args(custom_argv)
    except SystemExit as e:
        raise UserFacingError("", int(e.code or 2))
    for k, v in vars(custom).items():
        # An option the locustfile declares again (e.g. locust-plugins' -i/--iterations) is parsed as the
        # built-in one; the locustfile's parser only saw its default.
        if k not in values:
            setattr(options, k, v)
    if not options.skip_log_setup:
        setup_logging(options.loglevel, options.logfile)

    if selected:
        missing = [n for n in selected if n not in _State.user_classes]
        if missing:
            raise UserFacingError(f"Unknown User(s): {', '.join(missing)}\n", 1)
        chosen = [_State.user_classes[n] for n in dict.fromkeys(selected)]
    else:
        chosen = list(_State.user_classes.values())
    if options.host:
        for cls in chosen:
            cls.host = options.host
    try:
        env = Environment(
            user_classes=chosen,
            shape_class=_State.shape_classes[0] if _State.shape_classes else None,
            events=locust.events,  # tags come from parsed_options, as in Locust (env.tags stays None)
            host=options.host,
            reset_stats=options.reset_stats,
            parsed_options=options,
            catch_exceptions=True,
            locustfile=os.path.basename(_State.locustfiles[0]) if _State.locustfiles else None,
            parsed_locustfiles=_State.locustfiles,
            available_user_classes=dict(_State.user_classes),
            available_shape_classes={type(s).__name__: s for s in _State.shape_classes},
        )
    except ValueError as e:
        raise UserFacingError(str(e), 1)
    _State.env = env
    if getattr(options, "show_task_ratio", False) or getattr(options, "show_task_ratio_json", False):
        # Locust prints the ratios before it creates the runner or fires init (so --equal-weights and tags
        # do not change them); `task_ratio` prints them next.
        return [(c.__name__, float(getattr(c, "weight", 1)), int(getattr(c, "fixed_count", 0) or 0))
                for c in env.user_classes]
    runner = env.create_local_runner()
    if env.shape_class is not None:
        env.shape_class.runner = runner
    if getattr(options, "equal_weights", False):
        # as in Locust: an init listener added after the locustfile's, so it sees what they did to the tasks
        locust.events.init.add_listener(lambda environment, **_kw: environment.assign_equal_weights())
    from locust import _bridge

    _bridge.set_runner(runner)
    _bridge.ensure_started()
    try:
        locust.events.init.fire(environment=env, runner=runner, web_ui=None)
    except Exception as e:
        logging.getLogger("locust.main").error("An exception occurred in an init listener: %s\n%s", e,
                                               traceback.format_exc())
        raise UserFacingError("", 1)
    _report_settings()
    _report_ssl_suffix()
    return [(c.__name__, float(getattr(c, "weight", 1)), int(getattr(c, "fixed_count", 0) or 0))
            for c in env.user_classes]


def _report_ssl_suffix():
    """Tell the engine how this Python's ssl module ends OpenSSL error texts (e.g. "(_ssl.c:1006)"), so TLS failure
    texts read as Locust's do: provoke one OpenSSL error in memory (an alert record fed to a client handshake)."""
    import re

    import _rlocust

    try:
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        incoming.write(b"\x15\x03\x03\x00\x02\x02\x28")
        obj.do_handshake()
    except Exception as e:  # ssl.SSLError, or no ssl module at all
        m = re.search(r"\((_ssl\.c:\d+)\)\s*$", str(e))
        if m:
            _rlocust.set_ssl_suffix("(" + m.group(1) + ")")


def _report_settings():
    """Hand the statistics settings a locustfile may change (``locust.stats.PERCENTILES_TO_REPORT`` and the
    console/CSV intervals, documented by Locust) to the Rust reporters."""
    import _rlocust
    from locust import stats

    try:
        percentiles = [float(p) for p in stats.PERCENTILES_TO_REPORT]
        console = float(stats.CONSOLE_STATS_INTERVAL_SEC)
        csv_secs = float(stats.CSV_STATS_INTERVAL_SEC)
    except (TypeError, ValueError):
        return
    _rlocust.set_stats_settings(percentiles, console, csv_secs)


def shape_info():
    """None without a LoadTestShape; else whether it uses the common options (-u, -r, -t)."""
    env = _State.env
    if env is None or env.shape_class is None:
        return None
    return bool(getattr(env.shape_class, "use_common_options", False))


def run_hub():
    from locust import _bridge

    env = _State.env
    if env is not None and env.shape_class is not None:
        env.runner.start_shape()
    exit_status = _bridge.run_until_quit()
    if env is not None and env.runner is not None and env.runner.shape_completed:
        log = logging.getLogger("locust.main")
        if not env.runner._shape_completed_logged:
            log.info("Shape test completed, shutting down")
        run_time = getattr(env.parsed_options, "run_time", None)
        if run_time:
            # Locust sets up the -t limit only after the shape test (that ignores it) has ended
            log.info(f"Run time limit set to {run_time} seconds")
    return exit_status


def fire_quitting():
    import locust.log

    env = _State.env
    if env is not None:
        env.events.quitting.fire(environment=env, reverse=True)
        code = env.process_exit_code
    else:
        code = None
    return (None if code is None else int(code)), bool(locust.log.unhandled_greenlet_exception)


def fire_quit(code):
    env = _State.env
    if env is not None:
        env.events.quit.fire(exit_code=code)
