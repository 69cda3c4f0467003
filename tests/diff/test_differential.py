"""Each locustfile in locustfiles/ runs under real Locust and under rlocust; a user must see the same results.

Test ids are `<locustfile>[<variant>]-<check>`. `run` checks that both tools finished, wrote their four CSV
files and show the facts in the scenario's `# diff-expect` line; the other checks compare the two runs.
"""
import pytest

import diffharness as dh

A, B = "locust", "rlocust"


def test_differential(case, diffctx, request):
    variant, check = case
    if isinstance(variant, Exception):
        pytest.fail(f"bad scenario: {variant}", pytrace=False)
    if variant.xfail:
        request.node.add_marker(pytest.mark.xfail(reason=variant.xfail, strict=False))

    entry = diffctx.runs(variant)
    results, outcomes = entry["results"], entry["outcomes"]
    context = "\n".join(results[t].summary() for t in (A, B))
    context += f"\n--- outputs kept in {results[A].csv_prefix.parent.parent}"

    if entry["errors"]:
        pytest.fail(f"{variant.id}: " + "; ".join(entry["errors"]) + "\n" + context, pytrace=False)
    oa, ob = outcomes[A], outcomes[B]
    ra, rb = results[A], results[B]

    if check == "run":
        problems = dh.check_expectations(variant, ra, oa) + dh.check_expectations(variant, rb, ob)
    elif check == "names":
        problems = dh.check_names(oa, ob, A, B)
    elif check == "shares":
        s = variant.shares
        problems = dh.share_problems(oa, ob, A, B, s["cluster"], s["group"], s["regex"])
    elif check == "counts":
        problems = dh.count_problems(oa, ob, A, B, variant.counts) if variant.counts else \
            ["'counts' check enabled but no '# diff-counts:' rule given"]
    elif check == "failures":
        problems = dh.check_failures(oa, ob, A, B)
    elif check == "exceptions":
        problems = dh.check_exceptions(oa, ob, A, B)
    elif check == "exit":
        problems = [] if ra.rc == rb.rc else [f"exit codes differ: {A} {ra.rc}, {B} {rb.rc}"]
    elif check == "csv-headers":
        problems = dh.check_csv_format(ra, rb)
    elif check == "markers":
        problems = dh.check_markers(ra, rb, variant.markers)
    elif check == "files":
        problems = dh.check_files(ra, rb, variant.files) if variant.files else \
            ["'files' check enabled but no '# diff-files:' names given"]
    else:
        problems = [f"unknown check {check!r}"]

    if problems:
        pytest.fail(f"{variant.id} [{check}]:\n" + "\n".join(problems) + "\n" + context, pytrace=False)
