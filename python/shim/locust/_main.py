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

from locust import _hub
from locust._discover import UserFacingError, _resolve  # noqa: F401 (UserFacingError: read by Rust)
from locust._state import _State, _ui_extra_options, web_info  # noqa: F401 (web_info: called by Rust)


def _module_name(path):
    """The module name a locustfile is imported as (`locust.py` must not shadow the library)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return "locustfile" if stem == "locust" else stem


# Packages Locust 2.47 depends on (so a locustfile written for Locust may import them) that rlocust does not
# install: module name -> the pip name. The web ones matter most: Locust's login examples import flask_login.
_LOCUST_DEPENDENCIES = {
    "flask": "flask", "flask_login": "flask-login", "flask_cors": "flask-cors", "werkzeug": "werkzeug",
    "requests": "requests", "configargparse": "configargparse", "msgpack": "msgpack", "psutil": "psutil",
    "zmq": "pyzmq", "geventhttpclient": "geventhttpclient", "socketio": "python-socketio[client]",
    "engineio": "python-engineio",
}


def _imported_by(error, path):
    """Whether the locustfile's own import statement failed (no frame but importlib's after the locustfile's last
    one), not an import inside a package it imported."""
    tb = error.__traceback__
    last = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            last = tb
        tb = tb.tb_next
    if last is None:
        return False
    tb = last.tb_next
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith("<frozen importlib"):
            return False
        tb = tb.tb_next
    return True


def _import_file(path):
    directory = os.path.dirname(path)
    stem = _module_name(path)
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
    except ModuleNotFoundError as e:
        missing = (e.name or "").partition(".")[0]
        if missing in _LOCUST_DEPENDENCIES and _imported_by(e, path):
            raise UserFacingError(
                f"{os.path.basename(path)} imports {missing}, which Locust installs with itself and rlocust does not: "
                f"install it into the Python rlocust runs ({sys.executable} -m pip install "
                f"{_LOCUST_DEPENDENCIES[missing]})", 1) from None
        raise UserFacingError(traceback.format_exc().rstrip("\n"), 1)
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


def _add_found(found, kind, users, shapes):
    """Locust's merge of one locustfile's classes (main.py `merge_locustfiles_content`): a name already taken by
    a class from another file ends the run; the same class seen again (one file imports another) is skipped."""
    for value in found:
        if kind == "shape":
            name, cls = type(value).__name__, type(value)
            known = shapes.get(name)
        else:
            name, cls = value.__name__, value
            known = users.get(name)
        if known is not None:
            previous = inspect.getfile(type(known) if kind == "shape" else known)
            if previous == inspect.getfile(cls):
                continue
            if kind == "shape":
                raise UserFacingError(f"Duplicate shape classes: {name}", 1)
            raise UserFacingError(
                f"Duplicate user class names: {name} is defined in both {previous} and {inspect.getfile(cls)}", 1
            )
        if kind == "shape":
            shapes[name] = value
        else:
            users[name] = value


def load_locustfiles(paths):
    """Import the locustfiles; returns the user classes (name, weight, fixed_count), the options the locustfile
    added and whether there is a LoadTestShape. No user class is not an error here: Locust reports it after the
    options are parsed and logging is set up."""
    gc.set_threshold(*_GC_THRESHOLDS)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    from locust.shape import ArrivalRateShape, LoadTestShape
    from locust.user.users import User

    files = _resolve(paths)
    _State.locustfiles = files
    users, shapes = {}, {}
    for path in files:
        module = _import_file(path)
        found_users = [v for v in vars(module).values()
                       if inspect.isclass(v) and issubclass(v, User) and v.abstract is False]
        found_shapes = [v() for v in vars(module).values()
                        if inspect.isclass(v) and issubclass(v, LoadTestShape) and not getattr(v, "abstract", True)]
        for v in vars(module).values():
            if inspect.isclass(v) and issubclass(v, ArrivalRateShape) and not getattr(v, "abstract", True):
                _State.arrival_shapes.setdefault(v.__name__, v)
        _add_found(found_shapes, "shape", users, shapes)
        _add_found(found_users, "user", users, shapes)
    if not users:  # as in Locust: pytest-style files only when no file defines a User
        for path in files:
            _add_found(list(_pytest_users(path).values()), "user", users, shapes)
    _State.user_classes = users
    _State.user_tasks = {name: cls.tasks for name, cls in users.items()}
    _State.shape_classes = list(shapes.values())
    from locust.argument_parser import custom_arg_specs, locustfile_options_parser

    _State.parser = locustfile_options_parser()
    classes = [(n, float(getattr(c, "weight", 1)), int(getattr(c, "fixed_count", 0) or 0)) for n, c in users.items()]
    return classes, custom_arg_specs(_State.parser), bool(shapes)


def locustfile_paths():
    """The locustfiles as loaded (directories expanded, URLs downloaded): what a master sends to `-f -` workers."""
    return list(_State.locustfiles or [])


def validate_stats_configuration():
    """Locust's check of the percentile settings a locustfile may have changed; exits 1 with its message."""
    from locust import stats

    stats.validate_stats_configuration()


def _pytest_users(path):
    """The users Locust makes from a pytest-style locustfile (`def test_x(session): ...`)."""
    try:
        import pytest  # noqa: F401
    except ImportError:
        module = sys.modules.get(_module_name(path))
        if not any(name.startswith("test") and callable(v) for name, v in vars(module or object()).items()):
            return {}  # nothing pytest would collect: "No User class found!"
        raise UserFacingError(
            f"{path} defines no User class, and pytest, which runs pytest-style locustfiles, is not installed "
            "(pip install pytest)", 1) from None
    from locust.util.load_locustfile import load_locustfile_pytest

    try:
        return load_locustfile_pytest(path)
    except SystemExit:
        raise
    except BaseException:
        raise UserFacingError(traceback.format_exc().rstrip("\n"), 1) from None


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


def configure(values, custom_argv):
    """Build `parsed_options` (the built-in values plus the locustfile's own options, converted by its argparse
    parser) and set up Python's logging, as Locust does right after parsing."""
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
    if options.config_users:
        import json

        options.config_users = [json.loads(text) for text in options.config_users]  # as Locust's type= gives
    if not options.skip_log_setup:
        setup_logging(options.loglevel, options.logfile)
    _State.options = options


def _class_info(classes):
    return [(c.__name__, float(getattr(c, "weight", 1)), int(getattr(c, "fixed_count", 0) or 0)) for c in classes]


def create_environment(selected):
    """Choose the user classes and create the Environment (Locust's main() from "Unknown User(s)" to the
    config-users step). Returns the classes that will run."""
    import itertools

    import locust
    from locust.env import Environment

    options = _State.options
    log = logging.getLogger("locust.main")
    if not _State.user_classes:
        log.error("No User class found!")
        raise UserFacingError("", 1)
    if selected:
        missing = [n for n in dict.fromkeys(selected) if n not in _State.user_classes]
        if missing:
            log.error(f"Unknown User(s): {', '.join(missing)}\n")
            raise UserFacingError("", 1)
        chosen = [_State.user_classes[n] for n in dict.fromkeys(selected)]
    else:
        chosen = list(_State.user_classes.values())
    if not _State.shape_classes and options.num_users:
        fixed_count_total = sum(int(getattr(c, "fixed_count", 0) or 0) for c in chosen)
        if fixed_count_total > options.num_users:
            log.info(f"Total fixed_count of User classes ({fixed_count_total}) is greater than the specified "
                     f"number of users ({options.num_users}), so not all will be spawned.")
    if options.host:
        for cls in chosen:
            _State.class_hosts.setdefault(cls.__name__, cls.host)
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
            available_user_tasks=dict(_State.user_tasks),
            profile=getattr(options, "profile", None),
        )
    except ValueError as e:
        raise UserFacingError(str(e), 1)
    _State.env = env
    if options.config_users:
        try:
            for user_config in itertools.chain(*options.config_users):
                env.update_user_class(user_config)
        except KeyError as e:
            log.error("Error applying user config, probably you tried to specify config for a User not present in "
                      f"your locustfile: {e}")
            raise UserFacingError("", 255)
        except Exception as e:
            log.exception(e)
            raise UserFacingError("", 255)
    return _class_info(env.user_classes)


def create_runner(role="local"):
    """The runner objects (`role`: local, worker or master), and the listener `--equal-weights` adds (after the
    locustfile's, as in Locust)."""
    import locust
    env = _State.env
    options = env.parsed_options
    if role == "worker":
        runner = env.create_worker_runner(getattr(options, "master_host", "127.0.0.1"),
                                          getattr(options, "master_port", 5557))
    elif role == "master":
        runner = env.create_master_runner(getattr(options, "master_bind_host", "*"),
                                          getattr(options, "master_bind_port", 5557))
    else:
        runner = env.create_local_runner()
    if env.shape_class is not None:
        env.shape_class.runner = runner
    if getattr(env.parsed_options, "equal_weights", False):
        locust.events.init.add_listener(lambda environment, **_kw: environment.assign_equal_weights())
    _hub.set_runner(runner)
    _hub.ensure_started()
    _State.percentiles = _report_settings()


def fire_init(web=None):
    """Fire `init`. Locust treats an exception in an init listener as fatal (it is logged already): returns None
    then, and the run ends with exit 1 before any user starts. Otherwise hands the intervals a listener may have
    changed to Rust and returns the classes that will run (`--equal-weights` may have changed their weights).

    `web`: (host, port) of the web UI in a run without `--headless`: `environment.web_ui` is then a
    `locust.web.WebUI` (set before `init`, and passed as `web_ui=`, as in Locust); headless, it stays None."""
    import locust
    import locust.log

    env = _State.env
    web_ui = None
    if web is not None:
        from locust.web import WebUI

        host, port = web
        options = env.parsed_options
        web_ui = WebUI(env, host, port, web_base_path=getattr(options, "web_base_path", None),
                       web_login=bool(getattr(options, "web_login", False)),
                       userclass_picker_is_active=bool(getattr(options, "class_picker", False)))
        web_ui.update_template_args()
        if web_ui.web_login:
            # the login needs the app and its LoginManager whether or not the locustfile touches them
            try:
                web_ui.login_manager  # noqa: B018 (creates the app and the manager)
            except ModuleNotFoundError as e:
                logging.getLogger("locust.main").error(str(e))
                return None
    locust.events.init.fire(environment=env, runner=env.runner, web_ui=web_ui)
    if locust.log.unhandled_greenlet_exception:
        return None
    if hasattr(env.runner, "_publish_spawn_info"):
        env.runner._publish_spawn_info()
    _report_settings(_State.percentiles)
    _report_ssl_suffix()
    return _class_info(env.user_classes)


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


def _report_settings(percentiles=None):
    """Hand the statistics settings a locustfile may change (``locust.stats.PERCENTILES_TO_REPORT`` and the
    console/CSV intervals, documented by Locust) to the Rust reporters. Returns the percentiles handed over.

    Called before the CSV files are created (their columns are fixed from then on, as in Locust, whose CSV writer
    takes the list when it is made) and again after ``init`` with those same percentiles, for the intervals."""
    import _rlocust
    from locust import stats

    try:
        if percentiles is None:
            percentiles = [float(p) for p in stats.PERCENTILES_TO_REPORT]
        console = float(stats.CONSOLE_STATS_INTERVAL_SEC)
        csv_secs = float(stats.CSV_STATS_INTERVAL_SEC)
    except (TypeError, ValueError):
        return None
    _rlocust.set_stats_settings(percentiles, console, csv_secs)
    return percentiles


def arrival_shape_info():
    """The locustfile's ArrivalRateShapes as (name, start rate, [(duration, rate)], max users, initial users), values
    as texts (checked and read by Rust, as the command line's); also the LoadTestShape's name (or None)."""
    shapes = []
    for name, cls in _State.arrival_shapes.items():
        stages = []
        for stage in cls.stages or []:
            if isinstance(stage, dict):
                stage = (stage.get("duration"), stage.get("target", stage.get("rate")))
            duration, rate = stage
            stages.append((str(duration), str(rate)))
        shapes.append((name, str(cls.start_rate), stages, int(cls.max_users or 0), int(cls.initial_users or 0)))
    load_shape = type(_State.shape_classes[0]).__name__ if _State.shape_classes else None
    return shapes, load_shape


def shape_info():
    """None without a LoadTestShape; else whether it uses the common options (-u, -r, -t)."""
    env = _State.env
    if env is None or env.shape_class is None:
        return None
    return bool(getattr(env.shape_class, "use_common_options", False))


def run_hub():
    """Run the test until the hub leaves its loop; returns the exit status a task gave sys.exit(), or None."""
    import _rlocust
    env = _State.env
    options = env.parsed_options if env is not None else None
    automatic = getattr(options, "headless", True) or getattr(options, "autostart", False)
    master = _rlocust.dist_node() is not None and _rlocust.dist_node()[0] == "master"
    # (a master starts its shape once its workers are there: the Rust master asks for it)
    if env is not None and env.shape_class is not None and automatic and not master:
        env.runner._shape_autostarted = not getattr(options, "headless", True)
        env.runner.start_shape()
    exit_status = _hub.run_until_quit()
    phase, logged = _rlocust.runner_shape()
    if phase == "ended":
        log = logging.getLogger("locust.main")
        if not logged:
            log.info("Shape test completed, shutting down")
        run_time = getattr(env.parsed_options, "run_time", None)
        if run_time:
            # Locust sets up the -t limit only after the shape test (that ignores it) has ended
            log.info(f"Run time limit set to {run_time} seconds")
    return exit_status


def stop_users():
    """After an interrupt (Ctrl+C, SIGTERM) and the quitting event: run the hub until the runner has stopped the
    users (Locust's shutdown() calls runner.quit() after `quitting`). Returns what run_hub returns."""
    return _hub.run_until_quit()


def fire_quitting():
    env = _State.env
    if env is not None:
        env.events.quitting.fire(environment=env, reverse=True)
    return exit_facts()


def exit_facts():
    """What the exit code is decided from on the Python side, without firing anything: (environment.process_exit_code,
    whether an unhandled exception was logged). Also asked by the watchdog when it ends a run whose hub is stuck."""
    import locust.log

    env = _State.env
    code = env.process_exit_code if env is not None else None
    return (None if code is None else int(code)), bool(locust.log.unhandled_greenlet_exception)


def fire_quit(code):
    env = _State.env
    if env is not None:
        env.events.quit.fire(exit_code=code)
