"""Locust's change to urllib3 (its connection pools queue connections in gevent's LifoQueue), made when
``urllib3.connectionpool`` is imported rather than by importing it at start: ``install()`` puts a finder first on
``sys.meta_path`` that lets the import happen as it would, then changes the module before the importer gets it.
``when_imported(name, patch)`` does the same for another module, with a finder of its own (rlocust's httpx
transport, ``_httpx``)."""

import sys

_MODULE = "urllib3.connectionpool"


def _patch(module):
    from gevent.queue import LifoQueue

    module.ConnectionPool.QueueCls = LifoQueue


class _Finder:
    """Finds nothing itself: for urllib3.connectionpool, it asks the finders after it and wraps the loader's
    exec_module, once."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != _MODULE:
            return None
        return _found(cls, name, path, target, _patch)

    @classmethod
    def invalidate_caches(cls):
        pass


def _found(finder, name, path, target, patch):
    """The spec the finders after `finder` (which leaves sys.meta_path) give for `name`, its loader's exec_module
    wrapped to call `patch(module)` once the module has run."""
    sys.meta_path[:] = [f for f in sys.meta_path if f is not finder]
    for other in sys.meta_path:
        find = getattr(other, "find_spec", None)
        spec = find(name, path, target) if find else None
        if spec is not None:
            break
    else:
        return None
    loader = spec.loader
    run = getattr(loader, "exec_module", None)
    if run is None:
        return spec

    def exec_module(module):
        run(module)
        try:
            del loader.exec_module  # (the loader's own method again)
        except AttributeError:
            pass
        patch(module)

    try:
        loader.exec_module = exec_module
    except AttributeError:  # a loader that takes no attributes: no change, as when the module is missing
        pass
    return spec


class _Hook:
    """`when_imported`'s finder for one module."""

    def __init__(self, name, patch):
        self._name = name
        self._patch = patch

    def find_spec(self, name, path=None, target=None):
        if name != self._name:
            return None
        return _found(self, name, path, target, self._patch)

    def invalidate_caches(self):
        pass


def when_imported(name, patch):
    """`patch(module)` once module `name` is imported (now, if it is)."""
    module = sys.modules.get(name)
    if module is not None:
        patch(module)
    else:
        sys.meta_path.insert(0, _Hook(name, patch))


def install():
    module = sys.modules.get(_MODULE)
    if module is not None:
        _patch(module)
    elif _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)
