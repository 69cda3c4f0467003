"""`--arrival-trace FILE` (issue 53, item 1): a recorded schedule replayed on the open model, each row's fields in its
iteration as `self.arrival`. Every run is against rlocust-target on loopback, bounded in time; the locustfile writes
the rows it saw (one JSON line per iteration, a file per process) so each test checks every row arrived once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.bounded import clean_env, run  # noqa: E402

LOCUSTFILE = '''
import json, os, time
from locust import HttpUser, TaskSet, task

OUT = os.environ["REPLAY_OUT"]
SLEEP = float(os.environ.get("REPLAY_SLEEP", "0"))


def note(what, arrival):
    with open(f"{OUT}.{os.getpid()}", "a") as f:
        f.write(json.dumps({"what": what, "arrival": arrival, "at": time.time()}) + "\\n")


class Nested(TaskSet):
    @task
    def t(self):
        note("taskset", self.user.arrival)
        self.client.get("/hello")
        if SLEEP:
            time.sleep(SLEEP)


class Replayed(HttpUser):
    tasks = [Nested]

    def on_start(self):
        note("on_start", self.arrival)
'''


def lines(tmp: Path) -> list[dict]:
    out = []
    for f in sorted(tmp.glob("seen.txt.*")):
        out += [json.loads(x) for x in f.read_text().splitlines()]
    return out


def replay(rlocust, target, tmp: Path, trace_name: str, trace: str, *args, env=None, timeout=40):
    (tmp / "lf.py").write_text(LOCUSTFILE)
    (tmp / trace_name).write_text(trace)
    extra = {"REPLAY_OUT": str(tmp / "seen.txt"), **(env or {})}
    return run([rlocust, "-f", "lf.py", "--headless", "-H", target, "--arrival-trace", trace_name,
                "--summary-json", "summary.json", *args], tmp, timeout=timeout, env=clean_env(extra))


def iterations(tmp: Path) -> list[dict]:
    return [x["arrival"] for x in lines(tmp) if x["what"] == "taskset"]


def arrivals(tmp: Path) -> dict:
    return json.loads((tmp / "summary.json").read_text())["arrivals"]


def test_csv_rows_in_their_iterations_typed_and_the_run_ends_after_the_last(rlocust, target, tmp_path):
    trace = "timestamp,prompt,input_length,temperature\n" + "".join(
        f"{t},\"p{i}, quoted\",{10 + i},0.{i}\n" for i, t in enumerate([0, 0, 0.1, 0.1, 0.1, 0.3, 0.6]))
    r = replay(rlocust, target, tmp_path, "t.csv", trace, "--arrival-max-users", "10", "--arrival-initial-users", "3",
               env={"REPLAY_SLEEP": "0.5"})
    assert r.code == 0, r.stderr
    seen = iterations(tmp_path)
    assert sorted(x["input_length"] for x in seen) == list(range(10, 17))
    assert all(isinstance(x["input_length"], int) and isinstance(x["temperature"], float) for x in seen)
    assert {x["prompt"] for x in seen} == {f"p{i}, quoted" for i in range(7)}
    # outside an iteration (on_start) there is no row
    assert all(x["arrival"] is None for x in lines(tmp_path) if x["what"] == "on_start")
    a = arrivals(tmp_path)
    assert (a["intended"], a["started"], a["dropped"]) == (7, 7, 0), a
    assert "Arrival trace replayed, shutting down" in r.stderr
    # the last row at 0.6 s sleeps 0.5 s: the run waits for it (its iteration wrote its line) and ends soon after
    assert "the rows of the trace t.csv (7 rows" in r.stderr
    assert r.seconds < 15


def test_mooncake_jsonl_is_milliseconds_and_scale(rlocust, target, tmp_path):
    rows = [{"timestamp": 1000 + 100 * i, "input_length": 100 + i, "output_length": i, "hash_ids": [i, i + 1]}
            for i in range(6)]
    trace = "".join(json.dumps(x) + "\n" for x in rows)
    r = replay(rlocust, target, tmp_path, "mc.jsonl", trace, "--arrival-max-users", "5",
               "--arrival-initial-users", "2", "--arrival-trace-scale", "2")
    assert r.code == 0, r.stderr
    seen = sorted(iterations(tmp_path), key=lambda x: x["input_length"])
    assert seen == rows
    assert "6 rows over 0s, 2x as fast" in r.stderr  # 500 ms of rows at twice the speed
    starts = sorted(x["at"] for x in lines(tmp_path) if x["what"] == "taskset")
    assert starts[-1] - starts[0] < 1.0  # 0.25 s intended: not read as seconds (2.5 s)


def test_azure_trace_and_iso_times(rlocust, target, tmp_path):
    trace = ("TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.6805900,374,44\r\n"
             "2023-11-16 18:15:46.9805900,396,109\r\n2023-11-16 18:15:47.1805900,1024,8\r\n")
    r = replay(rlocust, target, tmp_path, "AzureLLMInferenceTrace_conv.csv", trace, "--arrival-max-users", "3")
    assert r.code == 0, r.stderr
    seen = sorted(iterations(tmp_path), key=lambda x: x["ContextTokens"])
    assert [(x["ContextTokens"], x["GeneratedTokens"]) for x in seen] == [(374, 44), (396, 109), (1024, 8)]
    assert seen[0]["TIMESTAMP"] == "2023-11-16 18:15:46.6805900"
    starts = sorted(x["at"] for x in lines(tmp_path) if x["what"] == "taskset")
    assert 0.35 < starts[-1] - starts[0] < 1.0  # 0.5 s apart in the trace


def test_epoch_milliseconds_and_seconds_unit(rlocust, target, tmp_path):
    trace = "timestamp,n\n1700000000000,0\n1700000000200,1\n1700000000400,2\n"
    r = replay(rlocust, target, tmp_path, "e.csv", trace, "--arrival-max-users", "3")
    assert r.code == 0, r.stderr
    assert sorted(x["n"] for x in iterations(tmp_path)) == [0, 1, 2]
    assert "3 rows over 0s" in r.stderr


def test_run_time_ends_a_replay_first(rlocust, target, tmp_path):
    trace = "timestamp\n" + "".join(f"{i * 0.5}\n" for i in range(40))  # 20 s of rows
    r = replay(rlocust, target, tmp_path, "long.csv", trace, "--arrival-max-users", "2", "-t", "2")
    assert r.code == 0, r.stderr
    assert 3 <= len(iterations(tmp_path)) <= 6
    assert "--run-time limit reached" in r.stderr and r.seconds < 12


def test_dropped_rows_are_counted(rlocust, target, tmp_path):
    trace = "timestamp,n\n" + "".join(f"0,{i}\n" for i in range(8))  # a burst of 8 at once
    r = replay(rlocust, target, tmp_path, "burst.csv", trace, "--arrival-max-users", "2",
               "--arrival-initial-users", "2", env={"REPLAY_SLEEP": "0.3"})
    assert r.code == 0, r.stderr
    a = arrivals(tmp_path)
    assert (a["intended"], a["started"], a["dropped"]) == (8, 2, 6), a
    assert len(iterations(tmp_path)) == 2
    assert "Iterations are being dropped" in r.stderr


def test_processes_replay_every_row_once(rlocust, target, tmp_path):
    trace = "timestamp,n\n" + "".join(f"{i * 0.02:.2f},{i}\n" for i in range(50))
    r = replay(rlocust, target, tmp_path, "p.csv", trace, "--processes", "2", "--arrival-max-users", "10",
               "--arrival-initial-users", "4", timeout=60)
    assert r.code == 0, r.stderr
    lines_ = [x for x in lines(tmp_path) if x["what"] == "taskset"]
    assert sorted(x["arrival"]["n"] for x in lines_) == list(range(50))
    assert len(list(tmp_path.glob("seen.txt.*"))) >= 2  # both workers replayed rows
    assert arrivals(tmp_path)["started"] == 50
    assert "Arrival trace replayed" in r.stderr


def test_no_replay_means_arrival_is_none(rlocust, target, tmp_path):
    (tmp_path / "lf.py").write_text(LOCUSTFILE)
    env = clean_env({"REPLAY_OUT": str(tmp_path / "seen.txt")})
    for args in (["-u", "1", "-r", "5", "-i", "2"], ["--arrival-rate", "20", "--arrival-max-users", "2", "-t", "1"]):
        for f in tmp_path.glob("seen.txt.*"):
            f.unlink()
        r = run([rlocust, "-f", "lf.py", "--headless", "-H", target, *args], tmp_path, timeout=30, env=env)
        assert r.code == 0, r.stderr
        seen = iterations(tmp_path)
        assert seen and all(x is None for x in seen), seen


def test_errors_are_one_line_and_nothing_starts(rlocust, target, tmp_path):
    (tmp_path / "lf.py").write_text(LOCUSTFILE)
    env = clean_env({"REPLAY_OUT": str(tmp_path / "seen.txt")})
    cases = {
        "missing.csv": (None, "cannot read the file"),
        "nocol.csv": ("time,n\n0,1\n", "nocol.csv: line 1: no column timestamp"),
        "bad.csv": ("timestamp,n\n0,1\nlater,2\n", "bad.csv: line 3, column timestamp: \"later\" is not a time"),
        "down.jsonl": ('{"timestamp": 5}\n{"timestamp": 4}\n', "down.jsonl: line 2, column timestamp: "
                                                              "this row's time is 1 s before the previous row's"),
    }
    for name, (text, message) in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        r = run([rlocust, "-f", "lf.py", "--headless", "-H", target, "--arrival-trace", name,
                 "--arrival-max-users", "2"], tmp_path, timeout=30, env=env)
        errors = [x for x in r.stderr.splitlines() if x.strip()]
        assert r.code == 1 and len(errors) == 1 and message in errors[0], (name, r.stderr)
    assert not list(tmp_path.glob("seen.txt.*"))
    (tmp_path / "ok.csv").write_text("timestamp\n0\n")
    for args, message in [
        (["--arrival-trace", "ok.csv", "--arrival-max-users", "2", "--arrival-rate", "5"], "--arrival-rate"),
        (["--arrival-trace", "ok.csv", "--arrival-max-users", "2", "-u", "3"], "-u/--users"),
        (["--arrival-trace", "ok.csv"], "--arrival-trace needs --arrival-max-users"),
        (["--arrival-trace", "ok.csv", "--arrival-max-users", "2", "--arrival-trace-scale", "0"],
         "--arrival-trace-scale must be a number above 0"),
        (["--arrival-trace", "ok.csv", "--arrival-max-users", "2", "--arrival-trace-unit", "us"],
         "--arrival-trace-unit must be auto, s or ms"),
        (["--arrival-trace-scale", "2", "-u", "1"], "applies to a replay"),
    ]:
        r = run([rlocust, "-f", "lf.py", "--headless", "-H", target, *args], tmp_path, timeout=30, env=env)
        errors = [x for x in r.stderr.splitlines() if x.strip()]
        assert r.code == 1 and len(errors) == 1 and message in errors[0], (args, r.stderr)
