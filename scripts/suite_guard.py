#!/usr/bin/env python3
"""The check `make test` runs on each suite's output after the suite itself passed: a green run must mean the suite
ran. It fails a suite whose log shows that it ran nothing, or less than it should:

- no closing line of the runners the suite is made of (pytest, cargo test, node --test, the browser tests'
  harness, Locust's end-to-end script), or a runner that closed on zero tests ("no tests ran", 0 passed);
- a test skipped for a reason that is not on ALLOWED_SKIPS (a missing input file, a missing program, a missing
  checkout: those must fail, never skip); pytest runs with -rs, so every skip's reason is in the log;
- "NOT RUN" anywhere, or Locust's end-to-end tests without their "as expected" line.

Locust's own tests skipped on purpose (RLOCUST_SKIP_LOCUST_TESTS=1) pass, and are said: the line goes to the
summary `make test` prints at its end.

    scripts/suite_guard.py TARGET LOG [--summary FILE]

Exit 0 when the log shows the suite ran; 1 with one line per reason otherwise; 2 for a target it does not know (a
new suite in the Makefile's lists must get its row in SUITES).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

# What each target of `make test` is made of: the runners whose closing lines must be in its log (with how many
# of them at least), or None for a step that is not a test suite (a build). Harness names are the browser tests'
# scripts (webui/tests/*.mjs), each closing with "NAME: N passed, N failed (T s)".
SUITES: dict[str, dict[str, object] | None] = {
    "wheel": None,
    "build": None,
    "test-rust": {"cargo": 2},
    "test-diff": {"pytest": 1},
    "test-webui": {"node": 1, "harness": ["browser", "rlocust", "guards", "login", "perf", "report-print", "search"]},
    "test-deploy": {"pytest": 1},
    "test-python": {"pytest": 1},
    "test-lib": {"pytest": 1},
    "test-locust-e2e": {"locust-e2e": 1},
    "test-web": {"pytest": 1},
    "test-dist": {"pytest": 1},
    "test-otel": {"pytest": 1},
    "test-packaging": {"pytest": 1},
    "test-contrib": {"pytest": 1},
    "test-obs": {"pytest": 1},
    "test-open": {"pytest": 1},
    "test-aio": {"pytest": 1},
    "test-security": {"pytest": 1},
    "test-search": {"pytest": 1},
    "test-llm": {"pytest": 1},
    "webui-check": {"line": "webui/dist matches a fresh build"},
}

# Skips that say something about the machine, not about a missing input: the only ones a green run may contain.
ALLOWED_SKIPS = [
    # tests/packaging/test_binary.py: the rewrite of the embedded Python's home needs a virtualenv-like path
    re.compile(r"built against a system Python"),
    # tests/contrib/test_contrib.py: milvus-lite ships wheels for some platforms only
    re.compile(r"milvus-lite has no wheel for"),
]

PYTEST_SUMMARY = re.compile(
    r"^=*\s*((?:\d+ (?:passed|failed|skipped|xfailed|xpassed|errors?|deselected|warnings?|rerun)(?:, )?)+)"
    r" in [\d.]+s\b")
PYTEST_NONE = re.compile(r"\bno tests ran\b")
PYTEST_SKIP_REASON = re.compile(r"^SKIPPED \[(\d+)\] (.*)$")
CARGO = re.compile(r"^test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored")
NODE_TESTS = re.compile(r"^# tests (\d+)$")
HARNESS = re.compile(r"^([\w-]+): (\d+) passed, (\d+) failed \(")
E2E_COUNTS = re.compile(r"^locust-e2e: (\d+) passed, (\d+) failed, (\d+) skipped of (\d+)")
E2E_OK = "locust-e2e: as expected"
ON_PURPOSE = re.compile(r"^([\w-]+): SKIPPED on purpose \((\w+=1)\)")


def counts(text: str) -> dict[str, int]:
    """{'passed': N, 'skipped': N, ...} of one pytest summary."""
    out: dict[str, int] = {}
    for n, word in re.findall(r"(\d+) (\w+)", text):
        out[word.rstrip("s") if word in ("errors", "warnings") else word] = int(n)
    return out


def check(target: str, log: str) -> tuple[list[str], list[str]]:
    """(problems, notes) of `target`'s log: the suite ran as it should when there are no problems."""
    if target not in SUITES:
        raise KeyError(target)
    want = SUITES[target]
    if want is None:
        return [], []
    lines = [line.rstrip("\r") for line in log.splitlines()]
    problems: list[str] = []
    notes: list[str] = []
    if any("NOT RUN" in line for line in lines):
        problems.append("it says NOT RUN")
    on_purpose = [m for m in map(ON_PURPOSE.match, lines) if m]
    if on_purpose:
        notes += [f"{target}: skipped on purpose ({m.group(2)})" for m in on_purpose]
        return problems, notes

    if "pytest" in want:
        summaries = [counts(m.group(1)) for m in map(PYTEST_SUMMARY.match, lines) if m]
        if any(PYTEST_NONE.search(line) for line in lines):
            problems.append("pytest ran no tests")
        if len(summaries) < int(want["pytest"]):
            problems.append("no pytest summary line (did pytest run?)")
        for s in summaries:
            if s.get("passed", 0) + s.get("xfailed", 0) == 0:
                problems.append(f"a pytest run passed nothing ({s})")
        reasons = [(int(m.group(1)), m.group(2)) for m in map(PYTEST_SKIP_REASON.match, lines) if m]
        skipped = sum(s.get("skipped", 0) for s in summaries)
        explained = 0
        for n, reason in reasons:
            if any(a.search(reason) for a in ALLOWED_SKIPS):
                explained += n
                notes.append(f"{target}: {n} skipped: {reason}")
            else:
                problems.append(f"{n} skipped for a reason that must fail instead: {reason}")
                explained += n
        if skipped > explained:
            problems.append(f"{skipped - explained} skipped with no reason shown (run pytest with -rs)")

    if "cargo" in want:
        results = [m for m in map(CARGO.match, lines) if m]
        if len(results) < int(want["cargo"]):
            problems.append(f"{len(results)} cargo test result lines, expected at least {want['cargo']}")
        if results and sum(int(m.group(1)) for m in results) == 0:
            problems.append("cargo test passed no test")

    if "node" in want:
        totals = [int(m.group(1)) for m in map(NODE_TESTS.match, lines) if m]
        if not totals:
            problems.append("no closing line of node --test")
        elif sum(totals) == 0:
            problems.append("node --test ran no test")

    if "harness" in want:
        seen = {m.group(1): int(m.group(2)) for m in map(HARNESS.match, lines) if m}
        for name in want["harness"]:
            if name not in seen:
                problems.append(f"the browser test {name} did not close (no '{name}: N passed' line)")
            elif seen[name] == 0:
                problems.append(f"the browser test {name} passed no step")

    if "locust-e2e" in want:
        m = next((m for m in map(E2E_COUNTS.match, lines) if m), None)
        if m is None or int(m.group(4)) == 0:
            problems.append("Locust's end-to-end tests did not run")
        elif not any(line.startswith(E2E_OK) for line in lines):
            problems.append("Locust's end-to-end tests are not as expected")
        else:
            notes.append(f"{target}: Locust's end-to-end tests ran: {m.group(1)} passed, {m.group(2)} failed of "
                         f"{m.group(4)}, as expected")

    if "line" in want and not any(line.strip() == want["line"] for line in lines):
        problems.append(f"no line '{want['line']}'")
    return problems, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target")
    parser.add_argument("log", type=Path)
    parser.add_argument("--summary", type=Path, help="append the notes for `make test`'s closing summary here")
    args = parser.parse_args()
    try:
        problems, notes = check(args.target, args.log.read_text(errors="replace"))
    except KeyError:
        print(f"suite-guard: {args.target} is not a suite it knows: add its row to SUITES in {__file__}",
              file=sys.stderr)
        return 2
    except OSError as e:
        print(f"suite-guard: {args.target}: its log cannot be read ({e})", file=sys.stderr)
        return 1
    if args.summary and notes:
        with args.summary.open("a") as f:
            f.write("".join(n + "\n" for n in notes))
    for p in problems:
        print(f"suite-guard: {args.target} did not run as it should: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
