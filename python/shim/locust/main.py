"""`locust.main` as Locust 2.47 has it for scripts that start Locust themselves: `main()` runs Locust's command line
(`sys.argv`) on rlocust's engine inside this interpreter, then exits with its code.

Who calls it: Taurus/bzt's Locust executor (its wrapper adds listeners to `events.request`, `events.quitting`, ...,
then calls `main.main()` under a plain `python`), AWS's Distributed Load Testing (through bzt), and any script that
does the same. A plain `python` gets rlocust's `locust` only in an environment made to answer as Locust
(`python -m rlocust.as_locust`); there, listeners added before `main()` stay on the same `locust.events`, since
the run loads the locustfile into the `locust` package already imported.

Not from inside a run: under `rlocust`/`locust` (a locustfile calling it) or `rlocust-python` (a script driving
the engine) it stops with one line, as the engine is already started for that run.
"""

import sys

from . import __version__

version = __version__


def main():
    """Run `sys.argv[1:]` as Locust's command line would, on rlocust's engine; `SystemExit` with the exit code."""
    import _rlocust

    try:
        _rlocust.runner_state()
        running = True
    except RuntimeError:  # no engine in this process yet: the normal case
        running = False
    if running or _rlocust.library_mode():
        sys.stderr.write("rlocust: locust.main.main() starts a whole run; this process is already running one "
                         "(call it from a plain `python` of an environment made to answer as Locust: "
                         "python -m rlocust.as_locust)\n")
        sys.exit(1)
    sys.exit(_rlocust.run(sys.argv[1:]))
