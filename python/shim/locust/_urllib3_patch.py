"""Locust's change to urllib3 (its connection pools queue connections in gevent's LifoQueue), made when
``urllib3.connectionpool`` is imported rather than by importing it at start: ``install()`` puts a finder first on
``sys.meta_path`` that lets the import happen as it would, then changes the module before the importer gets it."""

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
        sys.meta_path[:] = [f for f in sys.meta_path if f is not cls]
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
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
            _patch(module)

        try:
            loader.exec_module = exec_module
        except AttributeError:  # a loader that takes no attributes: no change, as when urllib3 is missing
            pass
        return spec

    @classmethod
    def invalidate_caches(cls):
        pass


def install():
    module = sys.modules.get(_MODULE)
    if module is not None:
        _patch(module)
    elif _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)
