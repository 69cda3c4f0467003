"""rlocust: run Locust locustfiles unchanged on a Rust engine.

The `rlocust` console script and `python -m rlocust` call the same Rust entry point as the standalone binary.
Inside rlocust runs, `import locust` gives rlocust's own `locust` package (served from the engine), whatever
else is installed; outside them, an installed Locust is untouched.

(PYTEST_DONT_REWRITE: pytest, which loads this package's plugin `rlocust.pytest_plugin`, would otherwise warn
under `rlocust-python -m pytest` that the package, imported by the console script, can't be assertion-rewritten.)
"""

import sys


def _native():
    # the engine's module: `rlocust._rlocust` in the wheel, the binary's built-in `_rlocust` (which serves this file
    # as `rlocust` in its runs)
    native = sys.modules.get("_rlocust")
    if native is None:
        from rlocust import _rlocust as native
    return native


def __getattr__(name):
    # rlocust's version and the Locust version it follows, defined once (the crate's src/version.rs) and read from
    # the native module when asked for, so `import rlocust` alone does not load it
    if name in ("__version__", "LOCUST_VERSION"):
        return getattr(_native(), name)
    raise AttributeError(f"module 'rlocust' has no attribute {name!r}")


def metric(metric, value, unit="", name=""):
    """Record `value` (a number >= 0, in `unit`) in the metric row `(metric, name)` of this run: shown with the
    stream metrics (`ttft`, `itl`, ...) in the console table, `_metrics.csv`, the summary JSON, the web UI and
    /metrics, merged exactly across workers, and never counted as a request. A metric keeps the unit it was first
    recorded with. Under Locust this module is not there: see docs/llm.md for the shape that runs under both."""
    _native().log_metric(str(metric), float(value), str(unit), str(name))


def httpx_transport(name=None, httpx=None):
    """An `httpx.AsyncBaseTransport` that sends on rlocust's engine, for `httpx.AsyncClient(transport=...)` (or
    `AsyncOpenAI(http_client=...)`): each streamed answer is timed at the wire (`ttft`, `itl`, `e2e`,
    `output_tokens`, `tpot` under `name`, default the URL path) and no request row is recorded. `httpx`: the httpx
    module to build it for (default `httpx`; openai's `httpx2` too). An AsyncClient made inside an `async def` task
    or on_start gets one without asking (docs/llm.md)."""
    from locust import _httpx

    if httpx is None:
        import httpx
    return _httpx.async_transport(httpx, _httpx._current_user(), name=name)


def main():
    """Console-script entry point: run rlocust with the process's command line and exit with its code."""
    from rlocust._rlocust import run

    sys.exit(run(sys.argv[1:]))


def python_main():
    """`rlocust-python` console script: run a Python entry point (script, `-m module`, `-c code`) as `python` would,
    with rlocust's `locust` package and engine; exit with its code."""
    from rlocust._rlocust import run_python

    sys.exit(run_python(sys.argv[1:]))


def report_main():
    """`rlocust-report` console script: compare stored results (`rlocust-report compare BASELINE CURRENT`); exit with
    its code."""
    from rlocust._rlocust import run_report

    sys.exit(run_report(sys.argv[1:]))
