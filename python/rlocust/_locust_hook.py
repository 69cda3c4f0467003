"""The import hook of an environment made to answer as Locust (`python -m rlocust.as_locust`): a `.pth` file there
imports this module when the interpreter starts, and it appends one finder to the end of `sys.meta_path`.

The finder answers only `import locust` (and its submodules, and `pytest_locust`), and only when nothing earlier
on the path has them: an installed Locust (site-packages, PYTHONPATH, `pip install -t`) always wins. Then it has
rlocust's engine serve its `locust` package in this interpreter (`_rlocust.serve_shim`, which starts nothing), and
hands the import to the engine's own importer. `locust.main.main()` then runs the command line on the engine.

Under a plain `pytest`, the wheel's pytest plugin answers instead (it starts the engine in library mode, which its
`session`/`fastsession` fixtures need).

Cost at every interpreter start in that environment: this small module and one finder; the engine is loaded only
on `import locust`. Inside rlocust's own processes the engine's importer comes first and this finder is never asked.
"""

import importlib.abc
import sys

_NAMES = ("locust", "pytest_locust")


class RlocustAsLocust(importlib.abc.MetaPathFinder):
    """The last finder on `sys.meta_path`: serves rlocust's `locust` for a name nobody else has."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in _NAMES:
            return None
        if any(type(f).__name__ == "_EngineOnImport" for f in sys.meta_path):
            return None  # a plain `pytest`: the wheel's pytest plugin starts the engine for its fixtures
        try:
            from rlocust import _rlocust

            _rlocust.serve_shim()
        except (ImportError, RuntimeError) as e:
            raise ImportError(f"rlocust could not serve `import {fullname}`: {e}", name=fullname) from None
        for finder in sys.meta_path:
            if type(finder).__name__ == "_ShimFinder":
                return finder.find_spec(fullname, path, target)
        return None


def install():
    """Append the finder once (the `.pth` line calls this at interpreter start)."""
    if not any(type(f).__name__ == "RlocustAsLocust" for f in sys.meta_path):
        sys.meta_path.append(RlocustAsLocust())


install()
