"""Fast tests of the harness's own logic (no binaries needed)."""
import collections
import random
import textwrap

import pytest

import diffharness as dh


def write(tmp_path, text, name="scenario.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_directives_variants_and_scoping(tmp_path):
    p = write(tmp_path, """\
        # diff: -u 2 -t 3s
        # diff[tagged]: -u 2 -t 3s -T a b
        # diff-extra-args[tagged]: --my-arg "two words"
        # diff-check: all -shares
        # diff-counts: abs=1 rel=0.5 spawn:.*
        # diff-markers[tagged]: mode=seq ^MARK (x|y)
        # diff-expect: exit=1
        # diff-expect[tagged]: rows=2
        # diff-host[tagged]: {dead_host}
        # diff-normalize: ^/todos/\\d+$ => /todos/<id>
        """)
    default, tagged = dh.parse_directives(p)
    assert default.name == "default" and default.args == ["-u", "2", "-t", "3s"]
    assert tagged.args[-4:] == ["a", "b", "--my-arg", "two words"]
    assert "shares" not in default.checks and "counts" in default.checks and "files" not in default.checks
    assert default.counts == [{"abs": 1.0, "rel": 0.5, "regex": "spawn:.*"}]
    assert default.markers == [{"mode": "count", "regex": r"\bMARK\b", "part": "line"}]
    assert tagged.markers == [{"mode": "seq", "regex": "^MARK (x|y)", "part": "line"}]
    assert default.expect == ["exit=1"] and tagged.expect == ["exit=1", "rows=2"]
    assert default.host == "{host}" and tagged.host == "{dead_host}"
    assert default.normalize[0][0].sub(default.normalize[0][1], "/todos/17") == "/todos/<id>"
    assert tagged.id == "scenario[tagged]"


def test_startup_error_scenarios_and_match_markers(tmp_path):
    p = write(tmp_path, """\
        # diff[bad]: -t 2s
        # diff[good]: -t 2s
        # diff-csv[bad]: none
        # diff-markers: mode=seq part=match ^Starting \\w+
        """)
    bad, good = dh.parse_directives(p)
    assert (bad.csv, good.csv) == (False, True)
    assert bad.markers == [{"mode": "seq", "regex": r"^Starting \w+", "part": "match"}]
    res = dh.RunResult("t", [], 0, 0.0, "", "Starting Locust 2.47.0 (x)\nother\n", tmp_path / "t")
    assert dh.marker_lines(res, r"^Starting \w+", "match") == ["Starting Locust"]
    assert dh.marker_lines(res, r"^Starting \w+") == ["Starting Locust 2.47.0 (x)"]
    assert dh.empty_outcome().requests == 0


@pytest.mark.parametrize("text", ["# nothing here\n", "# diff: -u 1\n# diff-bogus: x\n", "# diff: -u 1\n# diff-check: speed\n",
                                  "# diff: -u 1\n# diff-csv: maybe\n", "# diff: -u 1\n# diff-markers: part=all x\n"])
def test_bad_directives_are_errors(tmp_path, text):
    with pytest.raises(dh.DirectiveError):
        dh.parse_directives(write(tmp_path, text))


def test_run_bound_and_timespan():
    assert dh.timespan("1m30s") == 90 and dh.timespan("7") == 7
    assert dh.run_bound(["-u", "1", "-t", "4s", "-s", "2"]) == 4 + 2 + 30
    with pytest.raises(dh.DirectiveError):
        dh.timespan("2.5s")


def test_crlf_check_ignores_newlines_inside_quoted_fields():
    assert dh.bare_line_endings(b'a,b\r\n1,"x\ny"\r\n') == 0
    assert dh.bare_line_endings(b'a,b\n1,2\r\n') == 1
    assert dh.bare_line_endings(b'a,"say ""hi""\n"\r\n') == 0


def test_locustfile_frames():
    from pathlib import Path
    tb = ('  File "/x/site-packages/locust/user/task.py", line 363, in run\n'
          '  File "/w/locustfiles/f.py", line 10, in value_error\n    parse()\n'
          '  File "/w/locustfiles/f.py", line 3, in parse_price\n')
    assert dh.locustfile_frames(tb, Path("/elsewhere/f.py")) == (("value_error", 10), ("parse_price", 3))


def outcome(counts):
    return dh.Outcome({("GET", k): v for k, v in counts.items()}, ("", "Aggregated"), {}, collections.Counter(), {})


def test_share_bound_accepts_same_process_and_rejects_changed_weights():
    rng = random.Random(7)

    def sample(weights, n=4000):
        c = collections.Counter(rng.choices(list(weights), list(weights.values()), k=n))
        return outcome(c)

    same = [dh.share_problems(sample({"a": 3, "b": 1, "c": 2}), sample({"a": 3, "b": 1, "c": 2}), "A", "B", 1, None, ".*")
            for _ in range(50)]
    assert sum(bool(p) for p in same) == 0
    changed = dh.share_problems(sample({"a": 3, "b": 1, "c": 2}), sample({"a": 1, "b": 1, "c": 1}), "A", "B", 1, None, ".*")
    assert changed


def test_share_groups_and_counts():
    a = outcome({"X:one": 300, "X:two": 100, "Y:one": 50})
    b = outcome({"X:one": 3000, "X:two": 1000, "Y:one": 10})
    assert dh.share_problems(a, b, "A", "B", 1, r"^(\w+):", ".*") == []
    assert dh.count_problems(a, b, "A", "B", [{"abs": 0, "rel": 0, "regex": "Y:.*"}])
    assert not dh.count_problems(a, a, "A", "B", [{"abs": 0, "rel": 0, "regex": ".*"}])
