"""rlocust: run Locust locustfiles unchanged on a Rust engine.

The `rlocust` console script and `python -m rlocust` call the same Rust entry point as the standalone binary.
Inside rlocust runs, `import locust` gives rlocust's own `locust` package (served from the engine), whatever
else is installed; outside them, an installed Locust is untouched.

(PYTEST_DONT_REWRITE: pytest, which loads this package's plugin `rlocust.pytest_plugin`, would otherwise warn
under `rlocust-python -m pytest` that the package, imported by the console script, can't be assertion-rewritten.)
"""

import sys


def __getattr__(name):
    # rlocust's version and the Locust version it follows, defined once (the crate's src/version.rs) and read from
    # the native module when asked for, so `import rlocust` alone does not load it
    if name in ("__version__", "LOCUST_VERSION"):
        from rlocust import _rlocust

        return getattr(_rlocust, name)
    raise AttributeError(f"module 'rlocust' has no attribute {name!r}")


def main():
    """Console-script entry point: run rlocust with the process's command line and exit with its code."""
    from rlocust._rlocust import run

    sys.exit(run(sys.argv[1:]))


def python_main():
    """`rlocust-python` console script: run a Python entry point (script, `-m module`, `-c code`) as `python` would,
    with rlocust's `locust` package and engine; exit with its code."""
    from rlocust._rlocust import run_python

    sys.exit(run_python(sys.argv[1:]))
