"""The `.pyi` stub of the private native module (python/rlocust/_rlocust.pyi) against the real module.

The module only exists inside an rlocust run, so tests/python/engine/stub_probe.py describes it from there (the
built binary, `RLOCUST_BIN`, with `--list`); this side parses the stub with `ast` and compares: the same public
names, the same kind of each (function, class, method, property), the same parameters (name, kind, whether
defaulted, and the default's value where the stub writes one). When mypy is importable inside the run, mypy's
stubtest checks the stub too.
"""

import ast
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RLOCUST = os.environ.get("RLOCUST_BIN", str(ROOT / "target/release/rlocust"))
STUB = ROOT / "python" / "rlocust" / "_rlocust.pyi"
SHIM = ROOT / "python" / "shim"


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    assert os.path.exists(RLOCUST), f"{RLOCUST} is missing: build with `cargo build --release` first"
    tmp = tmp_path_factory.mktemp("stub")
    out = tmp / "module.json"
    config = tmp / "mypy.ini"
    config.write_text(f"[mypy]\nmypy_path = {SHIM}\n")
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}
    env |= {"STUB_PROBE_OUT": str(out), "STUB_PROBE_STUBTEST": str(config)}
    proc = subprocess.run([RLOCUST, "-f", str(ROOT / "tests/python/engine/stub_probe.py"), "--list"],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and out.exists(), proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def _params(args: ast.arguments, drop_first: bool):
    """[name, kind, default] like the probe's, from a stub signature (`default`: repr of a literal, "..." else)."""
    def default(node):
        if node is None:
            return None
        try:
            return repr(ast.literal_eval(node))
        except ValueError:
            return "..."

    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    out = [[a.arg, "POSITIONAL_ONLY" if i < len(args.posonlyargs) else "POSITIONAL_OR_KEYWORD", default(d)]
           for i, (a, d) in enumerate(zip(positional, defaults))]
    if args.vararg:
        out.append([args.vararg.arg, "VAR_POSITIONAL", None])
    out += [[a.arg, "KEYWORD_ONLY", default(d)] for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        out.append([args.kwarg.arg, "VAR_KEYWORD", None])
    return out[1:] if drop_first else out


def _decorators(fn):
    return {ast.unparse(d) for d in fn.decorator_list}


def stub_description():
    """The stub in the probe's shape (names starting with one underscore at module level are the stub's own)."""
    tree = ast.parse(STUB.read_text())
    module = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            module[node.name] = {"kind": "function", "params": _params(node.args, drop_first=False)}
        elif isinstance(node, ast.ClassDef):
            members, constructor = {}, None
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    decorators = _decorators(item)
                    if any(d.endswith(".setter") for d in decorators):
                        continue
                    if item.name in ("__new__", "__init__"):
                        constructor = _params(item.args, drop_first=True)
                    elif "property" in decorators:
                        members[item.name] = {"kind": "property"}
                    else:
                        members[item.name] = {"kind": "method", "params": _params(item.args, drop_first=True)}
                elif isinstance(item, ast.AnnAssign):
                    members[item.target.id] = {"kind": "property"}
            module[node.name] = {"kind": "class", "constructor": constructor, "members": members}
        elif isinstance(node, ast.AnnAssign) and not node.target.id.startswith("_"):
            module[node.target.id] = {"kind": "value"}
    return module


def _same_params(runtime, stub):
    """Runtime defaults the stub leaves as `...` match any value."""
    if not isinstance(runtime, list) or len(runtime) != len(stub):
        return False
    return all(r[:2] == s[:2] and (r[2] is None) == (s[2] is None) and (s[2] in (None, "...") or r[2] == s[2])
               for r, s in zip(runtime, stub))


def test_the_stub_names_exactly_the_modules_public_names(probe):
    runtime = {n for n in probe["module"] if not n.startswith("_")}
    stub = set(stub_description())
    assert sorted(runtime - stub) == [], "in the module but not in the stub"
    assert sorted(stub - runtime) == [], "in the stub but not in the module"
    declared_all = next(ast.literal_eval(n.value) for n in ast.parse(STUB.read_text()).body
                        if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "__all__")
    assert sorted(n for n in declared_all if not n.startswith("_")) == sorted(stub), "the stub's __all__ (pyo3 gives the module one)"


def test_functions_and_classes_have_the_stubs_signatures(probe):
    stub = stub_description()
    problems = []
    for name, real in sorted(probe["module"].items()):
        declared = stub.get(name)
        if declared is None or name.startswith("_"):
            continue
        if real["kind"] != declared["kind"]:
            problems.append(f"{name}: {real['kind']} at run time, {declared['kind']} in the stub")
        elif real["kind"] == "function":
            if not _same_params(real["params"], declared["params"]):
                problems.append(f"{name}{real['params']} vs stub {declared['params']}")
        elif real["kind"] == "class":
            if (real["constructor"] is None) != (declared["constructor"] is None) or (
                    real["constructor"] is not None and not _same_params(real["constructor"], declared["constructor"])):
                problems.append(f"{name}(): {real['constructor']} vs stub {declared['constructor']}")
            members, stubbed = real["members"], declared["members"]
            for m in sorted(set(members) | set(stubbed)):
                r, s = members.get(m), stubbed.get(m)
                if r is None or s is None:
                    problems.append(f"{name}.{m}: {'only in the stub' if r is None else 'missing from the stub'}")
                elif r["kind"] != s["kind"]:
                    problems.append(f"{name}.{m}: {r['kind']} at run time, {s['kind']} in the stub")
                elif r["kind"] == "method" and not _same_params(r["params"], s["params"]):
                    problems.append(f"{name}.{m}{r['params']} vs stub {s['params']}")
    assert problems == []


def test_every_name_the_shim_uses_is_in_the_stub():
    used = set()
    for path in (SHIM / "locust").rglob("*.py"):
        used |= set(re.findall(r"\b_rlocust\.([A-Za-z]\w*)", path.read_text()))
    assert used, "the shim no longer uses _rlocust?"
    assert sorted(used - set(stub_description())) == []


def test_the_shim_and_the_wheel_share_one_stub():
    # the shim imports the module as `_rlocust` (python/shim/_rlocust.pyi), the wheel ships `rlocust._rlocust`
    assert (SHIM / "_rlocust.pyi").resolve() == STUB.resolve()
    assert (STUB.parent / "py.typed").exists()


def test_mypy_stubtest_accepts_the_stub(probe):
    result = probe["stubtest"]
    # mypy is in requirements-test.txt, installed into the venv the binary embeds (make deps)
    assert result and result["available"], "mypy is not importable in the interpreter rlocust embeds"
    assert result["code"] == 0, result["output"][-5000:]
