"""gevent's ``monkey.patch_all()`` with the installed distributions' entry points read once.

Before and after each module it patches, gevent announces an event and calls every plugin registered under that
event's entry-point group (``gevent.plugins.monkey.*``), looking them up with ``importlib.metadata.entry_points``:
25 lookups in one ``patch_all()``, each reading the ``entry_points.txt`` of every installed distribution again. That
was two thirds of ``patch_all()``'s 0.26 s and a third of a run's start-up CPU in a venv of 51 distributions (more
with more installed). Here the distributions are read once for the duration of the call and every lookup is
answered from that reading: the same plugins are found and called, in the same order, with the same events.
``importlib.metadata.entry_points`` is put back as it was when the call returns, so a plugin or a locustfile that
looks entry points up afterwards (or installs a distribution) sees the live function.
"""

from importlib import metadata


def patch_all_scanning_once(monkey, **kwargs):
    live = metadata.entry_points
    try:
        everything = live()
    except Exception:  # a broken distribution: gevent's own lookups raise or cope as they would have
        return monkey.patch_all(**kwargs)

    def read_once(**params):
        return everything.select(**params) if params else everything

    metadata.entry_points = read_once
    try:
        return monkey.patch_all(**kwargs)
    finally:
        if metadata.entry_points is read_once:
            metadata.entry_points = live
