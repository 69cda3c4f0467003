"""`rlocust-python`: run a Python entry point as `python` runs it, with rlocust's `locust` and engine.

    rlocust-python script.py [args...]      # a script (`use_as_lib`-style, `python locustfile.py` debugging)
    rlocust-python -m module [args...]      # a module, e.g. `-m pytest tests/`
    rlocust-python -c code [args...]        # a command

Only these three forms (and -h, -V) are understood: this is not a full `python` command line. Called from Rust
(`interp::run_python`) once the engine is installed; returns the exit code `python` would give.
"""

import os
import sys

USAGE = """usage: rlocust-python [-h] [-V] (script.py | -m module | -c command) [args ...]

Runs a Python entry point as `python` would, with rlocust's `locust` package and engine:
  rlocust-python script.py [args]   run a script (Locust as a library, `python locustfile.py` + run_single_user)
  rlocust-python -m module [args]   run a module as __main__ (e.g. -m pytest tests/)
  rlocust-python -c command [args]  run a command
  -h, --help                        show this help and exit
  -V, --version                     show the versions and exit
"""


class _Usage(Exception):
    pass


def _parse(argv):
    """(kind, target, rest) from `python`-style arguments."""
    if not argv:
        raise _Usage("rlocust-python: nothing to run (give a script, -m module or -c command)")
    first = argv[0]
    if first in ("-h", "--help"):
        return "help", None, []
    if first in ("-V", "--version"):
        return "version", None, []
    for flag, kind in (("-m", "module"), ("-c", "command")):
        if first == flag:
            if len(argv) < 2:
                raise _Usage(f"rlocust-python: argument expected for the {flag} option")
            return kind, argv[1], argv[2:]
        if first.startswith(flag) and len(first) > 2:  # -mpytest, -c'print(1)'
            return kind, first[2:], argv[1:]
    if first.startswith("-") and first != "-":
        raise _Usage(f"rlocust-python: unknown option {first} (only -m, -c, -h and -V are supported)")
    return "script", first, argv[1:]


def _pytest_plugin_env():
    """Under the launcher, pytest always has the `session`/`fastsession` fixtures and `--host`: when Locust's own
    pytest11 entry point is installed it already loads `pytest_locust.plugin` (which the launcher serves from
    rlocust); otherwise the plugin is named in PYTEST_PLUGINS (removed again once pytest has read it)."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        registered = False
    else:
        try:
            from importlib.metadata import entry_points

            registered = any(ep.value.split(":")[0] == "pytest_locust.plugin"
                             for ep in entry_points(group="pytest11"))
        except Exception:
            registered = False
    if registered:
        return
    names = [n for n in os.environ.get("PYTEST_PLUGINS", "").split(",") if n.strip()]
    if "pytest_locust.plugin" not in names:
        names.append("pytest_locust.plugin")
        os.environ["PYTEST_PLUGINS"] = ",".join(names)
        os.environ["_RLOCUST_ADDED_PYTEST_PLUGIN"] = "1"


class _ShimFirst(list):
    """sys.meta_path under the launcher: a finder put in front later (pytest's assertion rewriter, which also claims
    the modules of every distribution with a pytest11 entry point, Locust's included) goes right after rlocust's
    importer, so `locust` and `pytest_locust` stay rlocust's."""

    def insert(self, index, finder):
        if index == 0 and self and type(self[0]).__name__ == "_ShimFinder" and type(finder).__name__ != "_ShimFinder":
            index = 1
        super().insert(index, finder)


def _exit_code(e):
    """What Python's own exit does with SystemExit(e.code)."""
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _run(kind, target, rest):
    import runpy

    if kind == "script":
        if target != "-" and not os.path.exists(target):
            print(f"rlocust-python: can't open file {os.path.abspath(target)!r}: [Errno 2] No such file or directory",
                  file=sys.stderr)
            return 2
        sys.argv[:] = [target, *rest]
        if target == "-":
            sys.path.insert(0, "")
            code = sys.stdin.read()
            _exec_main(compile(code, "<stdin>", "exec"))
        else:
            # as `python script.py`: the script's own directory first on sys.path (runpy puts it there for a
            # directory or zip file only)
            sys.path.insert(0, os.path.dirname(os.path.realpath(target)))
            runpy.run_path(target, run_name="__main__")
    elif kind == "module":
        sys.argv[:] = ["-m", *rest]
        sys.path.insert(0, os.getcwd())
        if target in ("pytest", "py.test") or target.startswith("pytest."):
            _pytest_plugin_env()
        runpy._run_module_as_main(target, alter_argv=True)
    else:
        sys.argv[:] = ["-c", *rest]
        sys.path.insert(0, "")
        _exec_main(compile(target, "<string>", "exec"))
    return 0


def _user_frames(tb):
    """The traceback from the user's first frame on (the launcher's and runpy's frames left out, as `python`
    shows it)."""
    import runpy

    ours = {__file__, getattr(runpy, "__file__", None), "<frozen runpy>"}
    while tb is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    return tb


def _exec_main(code):
    import __main__

    exec(code, __main__.__dict__)  # noqa: S102


def main(argv, embedded):
    """Run `argv` (python's arguments); returns the exit code."""
    import _rlocust

    try:
        kind, target, rest = _parse(list(argv))
    except _Usage as e:
        print(str(e), file=sys.stderr)
        print("usage: rlocust-python [-h] [-V] (script.py | -m module | -c command) [args ...]", file=sys.stderr)
        return 2
    if kind == "help":
        sys.stdout.write(USAGE)
        return 0
    if kind == "version":
        from importlib import import_module

        shim = import_module("locust")
        print(f"rlocust-python (Locust {shim.__version__} API on rlocust's engine), Python {sys.version.split()[0]}")
        return 0
    if embedded:
        import signal

        # the embedded interpreter installs no signal handlers: Ctrl+C raises KeyboardInterrupt, as in `python`
        if signal.getsignal(signal.SIGINT) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGINT, signal.default_int_handler)
        # (a host interpreter has set sys.path[0] to the console script's directory: replaced below)
    elif sys.path and sys.argv and os.path.dirname(os.path.abspath(sys.argv[0])) == os.path.abspath(sys.path[0] or "."):
        del sys.path[0]
    assert _rlocust.library_mode()
    if not isinstance(sys.meta_path, _ShimFirst):
        sys.meta_path = _ShimFirst(sys.meta_path)
    code = 0
    try:
        code = _run(kind, target, rest)
    except SystemExit as e:
        code = _exit_code(e)
    except BaseException:
        exc_type, exc, tb = sys.exc_info()
        tb = _user_frames(tb)
        exc.__traceback__ = tb
        try:
            if sys.excepthook is sys.__excepthook__:
                import traceback

                # (Python's traceback module also shows the source lines of rlocust's own modules)
                traceback.print_exception(exc_type, exc, tb)
            else:
                sys.excepthook(exc_type, exc, tb)
        except Exception:
            import traceback

            traceback.print_exception(exc_type, exc, tb)
        code = 130 if issubclass(exc_type, KeyboardInterrupt) else 1  # (python: killed by SIGINT, 128 + 2)
    hub = sys.modules.get("locust._hub")
    if hub is not None and hub._library:
        try:
            hub._forward_logs()  # the runner's last log lines
        except Exception:
            pass
    if embedded:
        # what the interpreter's own exit does before atexit: wait for the threads that are not daemons
        try:
            import threading

            threading._shutdown()
        except Exception:
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    return code
