"""`--show-task-ratio` and `--show-task-ratio-json` print exactly what Locust 2.47.0 prints, with its exit code.

Runs both tools on the same locustfiles and options and compares stdout byte for byte (stderr is free: log
lines differ by design). Binaries: LOCUST_BIN (default: .venv-oracle/bin/locust of this checkout, else
/root/.cache/locust-venv/bin/locust) and RLOCUST_BIN (default: target/release/rlocust); a missing one fails.
Both run in an empty directory (no config file applies) without LOCUST_* variables.
"""

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "taskratio"
SCENARIOS = REPO / "locustfiles"


def _binary(var, candidates):
    value = os.environ.get(var)
    if value:
        return shlex.split(value)
    for c in candidates:
        if Path(c).is_file():
            return [str(c)]
    return None


LOCUST = _binary("LOCUST_BIN", [REPO / ".venv-oracle" / "bin" / "locust", "/root/.cache/locust-venv/bin/locust"])
RLOCUST = _binary("RLOCUST_BIN", [REPO / "target" / "release" / "rlocust"])


def _run(cmd, args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run(cmd + args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=25)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def _both(args, tmp_path):
    missing = [name for name, cmd in (("LOCUST_BIN", LOCUST), ("RLOCUST_BIN", RLOCUST)) if not cmd]
    if missing:
        pytest.fail(f"cannot compare with Locust: set {' and '.join(missing)} (or build target/release/rlocust "
                    "and install .venv-oracle with `make test`)", pytrace=False)
    results = {}
    for name, cmd in (("locust", LOCUST), ("rlocust", RLOCUST)):
        wd = tmp_path / name
        wd.mkdir(parents=True)
        results[name] = _run(cmd, args, wd)
    return results["locust"], results["rlocust"]


def _explain(args, a, b):
    return (f"args: {shlex.join(args)}\n--- locust exit {a[0]}, stdout:\n{a[1]}\n--- stderr tail:\n{a[2][-1500:]}"
            f"\n--- rlocust exit {b[0]}, stdout:\n{b[1]}\n--- stderr tail:\n{b[2][-1500:]}")


def _f(path):
    return ["-f", str(path)]


EDGE = HERE / "edge_locustfile.py"
SAME_STDOUT = [
    # (test id, arguments)
    ("nested-text", _f(SCENARIOS / "nested_tasksets.py") + ["--show-task-ratio"]),
    ("nested-json", _f(SCENARIOS / "nested_tasksets.py") + ["--show-task-ratio-json"]),
    ("weights-text", _f(SCENARIOS / "weights_fixed_count.py") + ["--show-task-ratio"]),
    ("weights-text-u7", _f(SCENARIOS / "weights_fixed_count.py") + ["--show-task-ratio", "-u", "7"]),
    ("weights-json-u25", _f(SCENARIOS / "weights_fixed_count.py") + ["--show-task-ratio-json", "-u", "25"]),
    ("tags-text-filtered", _f(SCENARIOS / "tags.py") + ["--show-task-ratio", "-T", "tag1", "-E", "tag2"]),
    ("tags-json-equal-weights", _f(SCENARIOS / "tags.py") + ["--show-task-ratio-json", "--equal-weights"]),
    ("markov-text", _f(SCENARIOS / "markov_taskset.py") + ["--show-task-ratio"]),
    ("sequential-json", _f(SCENARIOS / "seed_sequential_taskset.py") + ["--show-task-ratio-json"]),
    ("edge-text", _f(EDGE) + ["--show-task-ratio"]),
    ("edge-json", _f(EDGE) + ["--show-task-ratio-json"]),
    ("edge-text-u1", _f(EDGE) + ["--show-task-ratio", "-u", "1"]),
    ("edge-text-u0", _f(EDGE) + ["--show-task-ratio", "-u", "0"]),
    ("edge-text-u10-custom-option", _f(EDGE) + ["--show-task-ratio", "-u", "10", "--shop-size", "3"]),
    ("edge-json-equal-weights", _f(EDGE) + ["--show-task-ratio-json", "--equal-weights", "-E", "x"]),
    ("edge-text-one-class", _f(EDGE) + ["--show-task-ratio", "Gamma"]),
    ("edge-json-fixed-class", _f(EDGE) + ["--show-task-ratio-json", "-u", "13", "Beta"]),
    ("edge-both-flags", _f(EDGE) + ["--show-task-ratio-json", "--show-task-ratio"]),
    ("edge-unknown-class", _f(EDGE) + ["--show-task-ratio", "Nobody"]),
    ("task-without-name", _f(HERE / "partial_locustfile.py") + ["--show-task-ratio"]),
    ("task-without-name-json", _f(HERE / "partial_locustfile.py") + ["--show-task-ratio-json"]),
    ("no-weight", _f(HERE / "zero_locustfile.py") + ["--show-task-ratio"]),
]


@pytest.mark.parametrize("args", [a for _, a in SAME_STDOUT], ids=[i for i, _ in SAME_STDOUT])
def test_same_stdout_and_exit_code(args, tmp_path):
    a, b = _both(args, tmp_path)
    assert (b[0], b[1]) == (a[0], a[1]), _explain(args, a, b)


def _task_lines_sorted(text):
    """Sorts each run of task lines (indented under their class); the class lines keep their order."""
    out, run = [], []
    for line in text.splitlines():
        if line.startswith("   "):
            run.append(line)
            continue
        out.extend(sorted(run))
        run = []
        out.append(line)
    return out + sorted(run)


def test_two_files_with_a_set_of_tasks(tmp_path):
    """function_tasks.py has `tasks = {browse, checkout}`: a set iterates in hash order, which differs from one
    process to the next (function hashes are addresses), in Locust too. Compare everything else exactly."""
    args = _f(f"{SCENARIOS / 'basic_tasks.py'},{SCENARIOS / 'function_tasks.py'}") + ["--show-task-ratio"]
    a, b = _both(args, tmp_path)
    assert a[0] == b[0] == 0, _explain(args, a, b)
    assert _task_lines_sorted(b[1]) == _task_lines_sorted(a[1]), _explain(args, a, b)
    assert "SetUser" in a[1] and "   50.0       browse" in a[1]


def test_expected_exit_codes(tmp_path):
    """Guards the scenarios above: success is 0; the unknown class and the failing task are 1."""
    a, _ = _both(_f(EDGE) + ["--show-task-ratio"], tmp_path / "ok")
    assert a[0] == 0 and "Total task ratio" in a[1]
    a, _ = _both(_f(HERE / "partial_locustfile.py") + ["--show-task-ratio"], tmp_path / "fail")
    assert a[0] == 1 and "Task ratio per User class" in a[1]


def test_several_named_classes_json(tmp_path):
    """Locust orders classes named on the command line as a set does (arbitrarily), so compare the data."""
    args = _f(EDGE) + ["--show-task-ratio-json", "-u", "11", "Gamma", "Alpha"]
    a, b = _both(args, tmp_path)
    assert a[0] == b[0] == 0, _explain(args, a, b)
    assert json.loads(b[1]) == json.loads(a[1]), _explain(args, a, b)


def test_init_is_not_fired(tmp_path):
    """Locust prints the ratios before firing init: the locustfile's init listener prints nothing."""
    args = _f(EDGE) + ["--show-task-ratio"]
    a, b = _both(args, tmp_path)
    assert "init fired" not in a[1] + a[2]
    assert "init fired" not in b[1] + b[2], _explain(args, a, b)
