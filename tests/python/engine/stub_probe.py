"""Describes the real `_rlocust` module from inside an rlocust run; writes JSON to $STUB_PROBE_OUT.

Loaded by `rlocust -f stub_probe.py --list` (tests/python/test_native_stub.py): the description is made at import
time, before any user runs. With $STUB_PROBE_STUBTEST set to a mypy config file, it also runs mypy's stubtest on
`_rlocust` here, where the module exists (when mypy is importable).
"""
import inspect
import json
import os

import _rlocust
from locust import User, task

# The dunders a stub must declare (they change what a type checker allows); the others are pyo3's plumbing.
PROTOCOL = {"__await__", "__aenter__", "__aexit__", "__bool__", "__enter__", "__exit__", "__iter__", "__len__", "__getitem__", "__contains__", "__call__",
            "__reduce__", "__setstate__", "__getstate__", "__class__", "__attrs__", "__nonzero__"}


def params(obj, drop_first):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError) as e:
        return {"error": repr(e)}
    out = [[p.name, p.kind.name, None if p.default is p.empty else repr(p.default)] for p in sig.parameters.values()]
    return out[1:] if drop_first else out


def describe_class(cls):
    members = {}
    for name, value in vars(cls).items():
        if name.startswith("__") and name not in PROTOCOL:
            continue
        if type(value).__name__ in ("getset_descriptor", "member_descriptor") or not callable(value):
            members[name] = {"kind": "property"}  # (a class attribute is data, as the stub's annotation)
        else:
            members[name] = {"kind": "method", "params": params(value, drop_first=True)}
    return {
        "kind": "class",
        "constructor": params(cls, drop_first=False) if "__new__" in vars(cls) else None,
        "members": members,
    }


module = {}
for name in dir(_rlocust):
    if name.startswith("__"):
        continue
    value = getattr(_rlocust, name)
    if isinstance(value, type):
        module[name] = describe_class(value)
    elif callable(value):
        module[name] = {"kind": "function", "params": params(value, drop_first=False)}
    else:
        module[name] = {"kind": "value"}

stubtest = None
if os.environ.get("STUB_PROBE_STUBTEST"):
    try:
        from mypy import stubtest as _stubtest
    except ImportError:
        stubtest = {"available": False}
    else:
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            code = _stubtest.test_stubs(
                _stubtest.parse_options(["_rlocust", "--mypy-config-file", os.environ["STUB_PROBE_STUBTEST"]])
            )
        stubtest = {"available": True, "code": code, "output": buf.getvalue()}

with open(os.environ["STUB_PROBE_OUT"], "w") as f:
    json.dump({"module": module, "stubtest": stubtest}, f)


class Probe(User):
    @task
    def nothing(self):
        pass
