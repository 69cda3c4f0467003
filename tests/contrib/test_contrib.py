"""Locust's contrib users side by side: each locustfile in locustfiles/ runs under real Locust 2.47 and under
rlocust at the same time, against the same real server on loopback, and both must show the same stats rows (Type,
Name; every row with requests), the same failure rows (Method, Name, Error) and the same exit code. The expected
rows are also written out here, so a scenario that silently stopped exercising its module fails too."""

from __future__ import annotations

import csv
import importlib.util
import platform
import re
import subprocess
import sys

import pytest
from conftest import REPO, RLOCUST_BIN, SITE, Run, free_port, run_tool, stop, wait_listening

# -u 2 -r 2 -t 4s: every locustfile also bounds its users' iterations, so neither the time nor the count is open
ARGS = ["-u", "2", "-r", "2", "-t", "4s"]


def check(a: Run, b: Run, *, exit_code: int, rows: set[tuple[str, str]], failures: dict[tuple[str, str], str],
          normalize=()) -> None:
    """Both runs: exit `exit_code`, exactly `rows` (each with requests), failures only on the `failures` rows with
    an Error matching its regex, the same normalized failure rows in both, and no task exceptions."""
    problems = []
    for run in (a, b):
        got = run.rows()
        if run.code != exit_code:
            problems.append(f"{run.tool}: exit {run.code}, expected {exit_code}")
        if set(got) != rows:
            problems.append(f"{run.tool}: rows {sorted(got)} != expected {sorted(rows)}")
        for key, row in got.items():
            if int(row["Request Count"]) <= 0:
                problems.append(f"{run.tool}: row {key} has no requests")
            if (int(row["Failure Count"]) > 0) != (key in failures):
                problems.append(f"{run.tool}: row {key} has {row['Failure Count']} failures")
        for method, name, error in run.failure_keys(normalize):
            pattern = failures.get((method, name))
            if pattern is None or not re.fullmatch(pattern, error, re.S):
                problems.append(f"{run.tool}: unexpected failure row {(method, name, error)!r}")
        if {(m, n) for m, n, _ in run.failure_keys()} != set(failures):
            problems.append(f"{run.tool}: failure rows on {sorted({(m, n) for m, n, _ in run.failure_keys()})}")
        if run.exceptions:
            problems.append(f"{run.tool}: task exceptions {[r['Message'] for r in run.exceptions]}")
    if set(a.rows()) != set(b.rows()):
        problems.append(f"rows differ: locust only {set(a.rows()) - set(b.rows())}, "
                        f"rlocust only {set(b.rows()) - set(a.rows())}")
    if a.failure_keys(normalize) != b.failure_keys(normalize):
        problems.append(f"failure rows differ:\n  locust  {sorted(a.failure_keys(normalize))}\n"
                        f"  rlocust {sorted(b.failure_keys(normalize))}")
    assert not problems, "\n".join(problems) + "\n" + a.describe() + "\n" + b.describe()


def test_postgres(side_by_side, base_env, postgres):
    a, b = side_by_side("postgres_users.py", ARGS, dict(base_env, PG_DSN=postgres))
    check(a, b, exit_code=1,
          rows={("postgres_success", "execute_query"), ("postgres_failure", "execute_query")},
          failures={("postgres_failure", "execute_query"):
                    re.escape("UndefinedTable('relation \"no_such_table\" does not exist\\nLINE 1: SELECT * FROM "
                              "no_such_table\\n                      ^')")})


def test_mqtt(side_by_side, base_env, mosquitto, dead_port):
    a, b = side_by_side("mqtt_users.py", ARGS + ["-u", "3", "-r", "3"],
                        dict(base_env, MQTT_PORT=str(mosquitto), DEAD_PORT=str(dead_port)))
    check(a, b, exit_code=1,
          rows={("MQTT", "connect"), ("MQTT", "subscribe:1:locust/in"), ("MQTT", "subscribe:0:locust/zero"),
                ("MQTT", "publish:0:locust/a"), ("MQTT", "publish:1:locust/b"), ("MQTT", "publish:1:locust/dead"),
                ("MQTT", "mqtt:subscribe:1"), ("MQTT", "mqtt:subscribe:0"), ("MQTT", "mqtt:publish:0"),
                ("MQTT", "mqtt:publish:1")},
          failures={("MQTT", "publish:1:locust/dead"): re.escape("<MQTTErrorCode.MQTT_ERR_NO_CONN: 4>")})


def test_socketio(side_by_side, base_env, socketio_server, dead_port):
    a, b = side_by_side("socketio_users.py", ARGS, dict(base_env, SIO_URL=socketio_server, DEAD_PORT=str(dead_port)))
    # call() and send() go through the client's emit(), so they are WSE rows too (as in Locust); the refused
    # connection's error carries the polling request's timestamp
    check(a, b, exit_code=1,
          rows={("WS", "connect"), ("WSC", "ignored"), ("WSC", "join"), ("WSE", "echo"), ("WSS", "note"),
                ("WSE", "ignored"), ("WSE", "join"), ("WSE", "message"), ("WSR", "welcome"), ("WSR", "echoed"),
                ("WSR", "message")},
          failures={("WSC", "ignored"): re.escape("TimeoutError()"),
                    ("WS", "connect"): r"ConnectionError\(.*Connection refused.*\)"},
          normalize=[(r"&t=[0-9.]+", "&t=<time>")])


def test_dns(side_by_side, base_env, dnsmasq, dead_port):
    a, b = side_by_side("dns_users.py", ARGS, dict(base_env, DNS_PORT=str(dnsmasq), DEAD_PORT=str(dead_port)))
    check(a, b, exit_code=1,
          rows={("DNS", "udp"), ("DNS", "tcp"), ("DNS", "nxdomain"), ("DNS", "no server")},
          failures={("DNS", "nxdomain"): re.escape("LocustError('No answer in DNS response')"),
                    ("DNS", "no server"): r"(LifetimeTimeout|Timeout)\(.*\)"})


def test_csv_request_logger(side_by_side, base_env, dnsmasq):
    a, b = side_by_side("csv_logger_users.py", ARGS, dict(base_env, DNS_PORT=str(dnsmasq)))
    check(a, b, exit_code=1, rows={("DNS", "udp"), ("DNS", "nxdomain"), ("CUSTOM", "no time")},
          failures={("DNS", "nxdomain"): re.escape("LocustError('No answer in DNS response')")})
    logged = []
    for run in (a, b):
        with open(run.workdir / "requests_log.csv", newline="") as f:
            header, *lines = list(csv.reader(f))
        assert header == ["timestamp", "request_type", "name", "response_time_ms", "response_length",
                          "status_code", "exception"], run.tool
        assert len(lines) >= 3, (run.tool, lines)
        # what does not depend on timing: type, name, whether there is a time, length (0 for DNS), status, error
        logged.append({(t, n, rt == "", length if t == "CUSTOM" else "-", code, exc)
                       for _, t, n, rt, length, code, exc in lines})
    assert logged[0] == logged[1] == {
        ("DNS", "udp", False, "-", "0", ""),
        ("DNS", "nxdomain", False, "-", "0", "No answer in DNS response"),
        ("CUSTOM", "no time", True, "3", "0", ""),
    }, logged


def test_qdrant_local_mode(side_by_side, base_env):
    a, b = side_by_side("qdrant_users.py", ARGS, base_env)
    check(a, b, exit_code=1,
          rows={("qdrant", "upsert"), ("qdrant", "search"), ("qdrant", "scroll"), ("qdrant", "delete")},
          failures={("qdrant", "search"): re.escape("ValueError('Collection never_created not found')")})


def test_milvus_lite(side_by_side, base_env):
    if importlib.util.find_spec("milvus_lite") is None and not (SITE / "milvus_lite").is_dir():
        supported = platform.system() in ("Linux", "Darwin") and platform.machine() in ("x86_64", "aarch64",
                                                                                          "arm64", "AMD64")
        if supported:
            pytest.fail(f"milvus-lite is not installed in {SITE}: run `make test-contrib`")
        pytest.skip(f"milvus-lite has no wheel for {platform.system()} {platform.machine()}")
    a, b = side_by_side("milvus_users.py", ARGS, base_env)
    check(a, b, exit_code=1,
          rows={("milvus", "insert"), ("milvus", "upsert"), ("milvus", "search"), ("milvus", "recall"),
                ("milvus", "query"), ("milvus", "delete")},
          failures={("milvus", "query"): re.escape("MilvusException()")})


def test_mongodb(side_by_side, base_env, mongo_wire, dead_port):
    """No MongoDB server can be installed here: a wire-protocol responder answers pymongo's handshake and finds."""
    options = "serverSelectionTimeoutMS=300&connectTimeoutMS=300"
    env = dict(base_env, MONGO_URI=f"mongodb://127.0.0.1:{mongo_wire}/?{options}",
               MONGO_DEAD_URI=f"mongodb://127.0.0.1:{dead_port}/?{options}")
    finds_before = mongo_finds(mongo_wire, base_env)
    a, b = side_by_side("mongodb_users.py", ARGS + ["-u", "3", "-r", "3"], env)
    # the error of an unreachable server names pymongo's topology by a random id
    check(a, b, exit_code=1, rows={("MONGODB", "QUERY")},
          failures={("MONGODB", "QUERY"): r"OperationFailure\(\"broken collection, full error: .*\"\)"
                                          r"|ServerSelectionTimeoutError\(.*Connection refused.*\)"},
          normalize=[(r"\b[0-9a-f]{24}\b", "<id>")])
    for run in (a, b):
        assert len(run.failure_keys(normalize=[(r"\b[0-9a-f]{24}\b", "<id>")])) == 2, run.describe()
    # the finds reached the server (a cursor alone sends nothing): at least the requests of both runs that did not
    # fail for want of a server
    sent = sum(int(r.rows()[("MONGODB", "QUERY")]["Request Count"]) for r in (a, b)) - sum(
        int(f["Occurrences"]) for r in (a, b) for f in r.failures if "ServerSelectionTimeout" in f["Error"])
    assert mongo_finds(mongo_wire, base_env) - finds_before >= sent > 0


def mongo_finds(port: int, env: dict[str, str]) -> int:
    code = ("from pymongo import MongoClient; c = MongoClient('mongodb://127.0.0.1:%d/'); "
            "print(c.admin.command('rlocustFinds')['finds']); c.close()" % port)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_openai(side_by_side, base_env, openai_endpoint):
    env = dict(base_env, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=openai_endpoint)
    a, b = side_by_side("oai_users.py", ARGS, env)
    check(a, b, exit_code=1,
          rows={("POST", "/v1/responses"), ("POST", "mini"), ("POST", "/v1/chat/completions")},
          failures={("POST", "/v1/responses"): r"HTTPStatusError\(\"Client error '404 Not Found' for url "
                                                r"'http://127\.0\.0\.1:\d+/v1/responses'.*\"\)"})
    for run in (a, b):  # the output tokens are the response length: 7 per response, 0 for a chat completion
        rows = run.rows()
        assert rows[("POST", "mini")]["Average Content Size"] == "7.0", run.describe()
        assert rows[("POST", "/v1/chat/completions")]["Average Content Size"] == "0.0", run.describe()


def test_openai_streams_are_timed_at_the_wire(base_env, tmp_path):
    """rlocust only (Locust's OpenAIUser hook reads a streamed answer as JSON and raises): examples/llm/openai_user.py
    against rlocust-target's streaming chat completions; the client's exchanges run on the engine, so the stream has
    its metrics under the rename_request name, and the request rows are the hook's, as under Locust."""
    target = str(REPO / "target" / "release" / "rlocust-target")
    port = free_port()
    server = subprocess.Popen([target, "--port", str(port), "--max-seconds", "120", "--llm-ttft-ms", "80",
                               "--llm-itl-ms", "10"], stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_listening(port, server, "rlocust-target")
        env = dict(base_env, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1")
        run = run_tool("rlocust", RLOCUST_BIN, str(REPO / "examples/llm/openai_user.py"),
                       ["-u", "3", "-r", "3", "-t", "3s", "--stop-timeout", "5"], env, tmp_path)
    finally:
        stop(server)
    assert run.code == 0, run.describe()
    rows = run.rows()
    chat = rows[("POST", "chat")]
    n = int(chat["Request Count"])
    assert n > 0 and chat["Failure Count"] == "0", run.describe()
    # the hook's response_length: the stream's output tokens (48 asked, 48 sent)
    assert chat["Average Content Size"] == "48.0", run.describe()
    with open(tmp_path / "out_metrics.csv", newline="") as f:
        metrics = {(r["Metric"], r["Name"]): r for r in csv.DictReader(f)}
    assert int(metrics[("e2e", "chat")]["Count"]) == n
    assert int(metrics[("itl", "chat")]["Count"]) == n * 47
    assert metrics[("output_tokens", "chat")]["Max"] == "48"
    assert 79 <= float(metrics[("ttft", "chat")]["50%"]) < 95
