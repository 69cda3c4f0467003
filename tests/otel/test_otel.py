"""`--otel` against an OTLP receiver on 127.0.0.1 (receiver.py): rlocust over gRPC and HTTP/protobuf, the same
locustfile under real Locust 2.47 with locust[otel] side by side, the exporter variables, and a collector that
cannot be reached. The target is rlocust-target; the truth for counts is each run's own --json stats.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import HERE, RLOCUST, make_tls, otel_env, run
from receiver import attrs

HTTP_NAMES = ["/", "/status/500", "/items/[id]", "/headers"]
HTTP_SPANS = {"GET /", "GET /status/500", "GET /items/[id]", "GET /headers"}
SPAN_CLIENT = 3  # SpanKind.SPAN_KIND_CLIENT


def settle(check, seconds: float = 5.0):
    """`check()` until it holds (exports are asynchronous in the receiver's threads), at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def histogram_counts_by_name(receiver, metric: str) -> dict[str, int]:
    """Final cumulative counts of `metric` per `name` (summed over `error.type`)."""
    out: dict[str, int] = {}
    for key, count in receiver.last_histogram_counts(metric).items():
        name = dict(key)["name"]
        out[name] = out.get(name, 0) + count
    return out


def check_export_matches_run(receiver, result, tp_file: Path | None = None):
    assert result.code == 1, result.log  # the /status/500 failures
    assert "Starting Locust 2.47.0 (rlocust" in result.log and "OpenTelemetry enabled" in result.log, result.log
    for name in [*HTTP_NAMES, "/hello"]:
        assert result.requests(name) > 0, (name, result.stats)
    assert result.failures("/headers") == 0, "a call went without traceparent"

    def metrics_arrived():
        counts = histogram_counts_by_name(receiver, "locust.client.duration")
        assert counts == {n: result.requests(n) for n in [*HTTP_NAMES, "/hello"]}, counts

    settle(metrics_arrived)
    # error.type on failures only, with the exception's class
    kinds = {dict(k).get("name"): dict(k).get("error.type") for k in
             receiver.last_histogram_counts("locust.client.duration")}
    assert kinds == {"/": None, "/status/500": "HTTPError", "/items/[id]": None, "/headers": None,
                     "/hello": None}, kinds
    metric = next(m for m in receiver.metrics() if m.name == "locust.client.duration")
    assert (metric.unit, metric.description) == ("s", "Time to last byte for requests")
    assert metric.histogram.aggregation_temporality == 2  # cumulative, as the Python SDK's default
    # users per class while the run went on, 0 after it
    users: dict[str, list[int]] = {}
    for a, p in receiver.metric_points("locust.users.count"):
        users.setdefault(a["user_class"], []).append(p.as_int)
    assert set(users) == {"Web", "Fast"}, users
    assert all(max(v) == 1 and v[-1] == 0 for v in users.values()), users
    # one CLIENT span per HttpUser call (none for FastHttpUser), named as Locust's request hook names them
    spans = receiver.spans()
    names = {s.name for s in spans}
    assert names == HTTP_SPANS, names
    # a call cut off by the end of the run has a span but is not in the statistics (at most one per user)
    assert 0 <= len(spans) - sum(result.requests(n) for n in HTTP_NAMES) <= 2
    assert {s.kind for s in spans} == {SPAN_CLIENT}
    failed = [s for s in spans if s.name == "GET /status/500"]
    assert all(s.status.code == 2 and attrs(s.attributes)["http.status_code"] == 500 for s in failed)
    one = next(s for s in spans if s.name == "GET /items/[id]")
    assert attrs(one.attributes)["http.url"].endswith("/items/7?x=1")
    assert set(attrs(one.attributes)) == {"http.method", "http.url", "user_agent.original", "http.status_code"}
    if tp_file is not None:
        sent = {line for line in tp_file.read_text().split() if line}
        ids = {f"00-{s.trace_id.hex()}-{s.span_id.hex()}-01" for s in spans if s.name == "GET /headers"}
        assert sent <= ids and len(ids) - len(sent) <= 2 and len(sent) == result.requests("/headers")
    # logs: rlocust's own lines and the locustfile's Python logging
    records = receiver.log_records()
    bodies = {r.body.string_value for r in records}
    assert "web user started" in bodies and "fast user started" in bodies, bodies
    mine = next(r for r in records if r.body.string_value == "web user started")
    assert (mine.severity_text, mine.severity_number) == ("WARN", 13)
    assert any(b.startswith("Starting Locust 2.47.0") for b in bodies), bodies
    res = receiver.resources("metrics")[0]
    assert res["service.name"] == "locust" and res["service.version"] == "2.47.0"
    assert res["filename"].endswith("otel_locustfile.py") and res["profile"] == "" and res["host.name"]


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_rlocust_exports_what_the_run_recorded(receiver, target, protocol, tmp_path):
    tp_file = tmp_path / "traceparents"
    result = run(RLOCUST, "otel_locustfile.py", target,
                 otel_env(receiver, protocol, OTEL_TEST_TRACEPARENTS=str(tp_file)))
    check_export_matches_run(receiver, result, tp_file)
    assert receiver.protocols == {protocol}


def shape(receiver) -> dict:
    """What a dashboard depends on: metric names with unit, kind and attribute keys; span names and attribute
    keys; the log scopes of the locustfile's logger."""
    metrics = {}
    for m in receiver.metrics():
        keys = set()
        data = getattr(m, m.WhichOneof("data"))
        for p in data.data_points:
            keys |= set(attrs(p.attributes))
        prev = metrics.get(m.name, (m.unit, m.WhichOneof("data"), set()))
        metrics[m.name] = (m.unit, m.WhichOneof("data"), prev[2] | keys)
    spans = {}
    for s in receiver.spans():
        spans.setdefault(s.name, set()).update(attrs(s.attributes))
    with receiver.lock:
        scopes = {sl.scope.name for req in receiver.requests["logs"] for rl in req.resource_logs
                  for sl in rl.scope_logs}
    return {"metrics": metrics, "spans": spans, "log_scopes": scopes & {"otel_test", "locust.main", "locust.runners"},
            "resource": set(receiver.resources("metrics")[0]) & {"service.name", "service.version", "host.name",
                                                                  "filename", "profile"}}


def test_side_by_side_with_locust(receiver, target, locust_bin):
    from receiver import Receiver

    ours = run(RLOCUST, "otel_locustfile.py", target, otel_env(receiver, "grpc"))
    oracle_receiver = Receiver().start()
    try:
        theirs = run(locust_bin, "otel_locustfile.py", target, otel_env(oracle_receiver, "grpc"))
        assert theirs.code == ours.code == 1, theirs.log
        assert "Starting Locust 2.47.0, OpenTelemetry enabled" in theirs.log, theirs.log

        def both_arrived():
            for r, res in ((receiver, ours), (oracle_receiver, theirs)):
                counts = histogram_counts_by_name(r, "locust.client.duration")
                assert counts == {n: res.requests(n) for n in [*HTTP_NAMES, "/hello"]}, counts

        settle(both_arrived)
        a, b = shape(receiver), shape(oracle_receiver)
        assert a == b, (a, b)
        assert set(a["spans"]) == HTTP_SPANS  # FastHttpUser gets no spans in either
    finally:
        oracle_receiver.stop()


@pytest.mark.parametrize("tool", ["rlocust", "locust"])
def test_all_exporters_none_disables_otel(receiver, target, tool, locust_bin):
    binary = RLOCUST if tool == "rlocust" else locust_bin
    env = otel_env(receiver, "grpc", OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none",
                   OTEL_LOGS_EXPORTER=" None ")
    result = run(binary, "otel_locustfile.py", target, env, seconds=2)
    assert result.code == 1
    assert "No OpenTelemetry exporters configured, opentelemetry not enabled" in result.log, result.log
    assert "OpenTelemetry enabled" not in result.log.replace("opentelemetry not enabled", "")
    time.sleep(0.5)
    assert receiver.requests == {"traces": [], "metrics": [], "logs": []}


def test_one_signal_off(receiver, target):
    env = otel_env(receiver, "grpc", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="otlp,none")
    result = run(RLOCUST, "otel_locustfile.py", target, env, seconds=2)
    assert result.code == 1
    settle(lambda: _assert(0 <= len(receiver.spans()) - sum(result.requests(n) for n in HTTP_NAMES) <= 2))
    settle(lambda: _assert(receiver.log_records()))
    assert receiver.requests["metrics"] == []


def _assert(cond):
    assert cond


@pytest.mark.parametrize("tool", ["rlocust", "locust"])
@pytest.mark.parametrize("traces", ["none", ""])
def test_traces_exporter_none_still_propagates_and_empty_does_not(receiver, target, tmp_path, tool, locust_bin,
                                                                  traces):
    """Locust installs a tracer provider for any non-empty OTEL_TRACES_EXPORTER, so `none` exports no span but the
    requests instrumentation still sends a traceparent; an empty list installs none and sends none."""
    tp_file = tmp_path / "traceparents"
    env = otel_env(receiver, "http/protobuf", OTEL_TRACES_EXPORTER=traces, OTEL_TEST_TRACEPARENTS=str(tp_file))
    result = run(RLOCUST if tool == "rlocust" else locust_bin, "otel_locustfile.py", target, env, seconds=2)
    assert result.requests("/headers") > 0
    seen = set(tp_file.read_text().split())
    if traces == "none":
        assert result.failures("/headers") == 0 and len(seen) == result.requests("/headers")
    else:
        assert result.failures("/headers") == result.requests("/headers") and seen == set()
    settle(lambda: _assert(histogram_counts_by_name(receiver, "locust.client.duration")["/"] == result.requests("/")))
    assert receiver.spans() == []


def test_without_otel_nothing_is_sent(receiver, target, tmp_path):
    tp_file = tmp_path / "traceparents"
    env = otel_env(receiver, "grpc", OTEL_TEST_TRACEPARENTS=str(tp_file))
    result = run(RLOCUST, "otel_locustfile.py", target, env, seconds=2, otel=False)
    assert "OpenTelemetry" not in result.log
    assert set(tp_file.read_text().split()) == set()
    time.sleep(0.5)
    assert receiver.requests == {"traces": [], "metrics": [], "logs": []}


def test_more_than_twenty_names_fold_into_one(receiver, target):
    result = run(RLOCUST, "many_names_locustfile.py", target, otel_env(receiver, "grpc"), users=1, seconds=2)
    assert result.code == 0, result.log

    def folded():
        counts = histogram_counts_by_name(receiver, "locust.client.duration")
        assert len(counts) == 21, counts
        assert counts["Too many unique request names"] == sum(result.requests(f"item {i:02d}") for i in range(20, 25))

    settle(folded)


def test_service_name_profile_and_resource_attributes(receiver, target):
    env = otel_env(receiver, "http/protobuf", OTEL_SERVICE_NAME="checkout-load",
                   OTEL_RESOURCE_ATTRIBUTES="deployment.environment=ci,service.name=ignored")
    run(RLOCUST, "otel_locustfile.py", target, env, seconds=2, extra=("--profile", "nightly"))
    settle(lambda: _assert(receiver.resources("metrics")))
    res = receiver.resources("metrics")[0]
    assert res["service.name"] == "checkout-load"
    assert res["profile"] == "nightly"
    assert res["deployment.environment"] == "ci"


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_unreachable_collector_warns_once_and_the_run_ends_as_usual(target, protocol):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
           "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    result = run(RLOCUST, "otel_locustfile.py", target, env, seconds=2)
    plain = run(RLOCUST, "otel_locustfile.py", target, env, seconds=2, otel=False)
    assert result.code == plain.code == 1, result.log
    assert result.seconds < plain.seconds + 8, (result.seconds, plain.seconds)
    warnings = [line for line in result.log.splitlines() if "/WARNING/locust.opentelemetry" in line]
    assert len(warnings) == 1, result.log
    assert "Traceback" not in result.log and "panicked" not in result.log


def test_unreachable_collector_under_locust_ends_with_the_same_code(target, locust_bin):
    """Locust retries each export with backoff and logs every failure (about 20 s and a dozen lines for this
    2-second run); its exit code is the run's, as rlocust's."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
           "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    theirs = run(locust_bin, "otel_locustfile.py", target, env, seconds=2, timeout=120)
    ours = run(RLOCUST, "otel_locustfile.py", target, env, seconds=2)
    assert theirs.code == ours.code == 1, theirs.log
    assert ours.seconds < theirs.seconds, (ours.seconds, theirs.seconds)


def test_bad_settings_are_one_line_each(receiver, target):
    env = otel_env(receiver, "grpc", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="thrift", OTEL_LOGS_EXPORTER="otlp,zipkin")
    result = run(RLOCUST, "otel_locustfile.py", target, env, seconds=2)
    assert result.code == 1
    assert "Unknown OpenTelemetry otlp exporter protocol 'thrift'. Use 'grpc' or 'http/protobuf'" in result.log
    assert "Unknown logs exporter 'zipkin'. Ignored" in result.log
    assert "panicked" not in result.log
    settle(lambda: _assert(histogram_counts_by_name(receiver, "locust.client.duration").get("/") == result.requests("/")))
    assert receiver.spans() == []


def test_grpc_over_tls_with_the_ca_of_otel_exporter_otlp_certificate(target, tmp_path):
    from receiver import Receiver

    ca_file, chain, key = make_tls(tmp_path)
    receiver = Receiver(tls=(chain, key)).start()
    try:
        env = otel_env(receiver, "grpc", OTEL_EXPORTER_OTLP_CERTIFICATE=str(ca_file))
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("https://")
        result = run(RLOCUST, "otel_locustfile.py", target, env, seconds=2)
        assert "/WARNING/locust.opentelemetry" not in result.log, result.log
        settle(lambda: _assert(histogram_counts_by_name(receiver, "locust.client.duration").get("/")
                               == result.requests("/")))
        settle(lambda: _assert(receiver.spans() and receiver.log_records()))
        # without the CA the server is not trusted: one warning, nothing arrives, the run ends as usual
        env.pop("OTEL_EXPORTER_OTLP_CERTIFICATE")
        before = len(receiver.metrics())
        untrusted = run(RLOCUST, "otel_locustfile.py", target, env, seconds=2)
        assert untrusted.code == 1
        assert len([line for line in untrusted.log.splitlines() if "/WARNING/locust.opentelemetry" in line]) == 1
        assert len(receiver.metrics()) == before
    finally:
        receiver.stop()


def test_processes_workers_export_requests_and_the_master_the_users(receiver, target):
    result = run(RLOCUST, "otel_locustfile.py", target, otel_env(receiver, "grpc"), users=4, seconds=3,
                 extra=("--processes", "2"))
    assert result.code == 1, result.log

    def all_arrived():
        # each process exports its own cumulative stream (told apart by its start time): the last count of each
        last: dict[tuple[str, int], int] = {}
        for m in receiver.metrics():
            if m.name == "locust.client.duration":
                for p in m.histogram.data_points:
                    last[(attrs(p.attributes)["name"], p.start_time_unix_nano)] = p.count
        totals: dict[str, int] = {}
        for (name, _), count in last.items():
            totals[name] = totals.get(name, 0) + count
        assert totals == {n: result.requests(n) for n in [*HTTP_NAMES, "/hello"]}, totals

    settle(all_arrived)
    users: dict[str, int] = {}
    for a, p in receiver.metric_points("locust.users.count"):
        users[a["user_class"]] = max(users.get(a["user_class"], 0), p.as_int)
    assert users == {"Web": 2, "Fast": 2}, users


@pytest.mark.parametrize("how", ["env", "config"])
def test_enabled_by_locust_enable_opentelemetry_or_the_config_file(receiver, target, tmp_path, how):
    env = otel_env(receiver, "grpc")
    extra: tuple[str, ...] = ()
    if how == "env":
        env["LOCUST_ENABLE_OPENTELEMETRY"] = "true"
    else:
        conf = tmp_path / "otel.conf"
        conf.write_text("otel = true\n")
        extra = ("--config", str(conf))
    result = run(RLOCUST, "otel_locustfile.py", target, env, seconds=1, extra=extra, otel=False)
    assert "OpenTelemetry enabled" in result.log, result.log
    settle(lambda: _assert(histogram_counts_by_name(receiver, "locust.client.duration").get("/") == result.requests("/")))


def console_documents(stdout: str) -> list[dict]:
    """The JSON documents the console exporters printed (each starts with a line `{` and ends with a line `}`;
    the summary tables around them are left out)."""
    docs, lines = [], None
    for line in stdout.splitlines():
        if lines is None and line == "{":
            lines = [line]
        elif lines is not None:
            lines.append(line)
            if line == "}":
                docs.append(json.loads("\n".join(lines)))
                lines = None
    return docs


def console_run(binary: str, target: str, env: dict[str, str], users: int = 3) -> tuple[int, str, list[dict]]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LOCUST_"))}
    full.update(env)
    args = [binary, "-f", str(HERE / "otel_locustfile.py"), "--headless", "-u", str(users), "-r", "100", "-t", "3s",
            "-H", target, "--only-summary", "--otel"]
    p = subprocess.run(args, env=full, capture_output=True, text=True, timeout=90, cwd=HERE,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr, console_documents(p.stdout)


def console_shape(docs: list[dict]) -> dict:
    """What a user reading the console output compares: the keys of each kind of document, the spans' names, kinds
    and statuses with their attribute names, Locust's own metrics with their data point keys, the log bodies."""
    spans = [d for d in docs if "kind" in d and "context" in d]
    metrics = [d for d in docs if "resource_metrics" in d]
    logs = [d for d in docs if "severity_text" in d]
    locust_metrics = {}
    for doc in metrics:
        for rm in doc["resource_metrics"]:
            for sm in rm["scope_metrics"]:
                for m in sm["metrics"]:
                    points = m["data"]["data_points"]
                    locust_metrics[(sm["scope"]["name"], m["name"])] = (
                        m["unit"], sorted(m["data"]), sorted({k for p in points for k in p}))
    return {
        "span keys": sorted({tuple(d) for d in spans}),
        "span context keys": sorted({tuple(d["context"]) for d in spans}),
        # (a call a stop killed has no status code: Locust ends its span without one)
        "spans": sorted({(d["name"], d["kind"], d["status"]["status_code"], tuple(sorted(d["attributes"])))
                         for d in spans if "http.status_code" in d["attributes"]}),
        "metrics keys": sorted({tuple(d) for d in metrics}),
        "metrics": sorted(locust_metrics.items()),
        "log keys": sorted({tuple(d) for d in logs}),
        "log bodies": {b for d in logs if (b := d["body"]) in ("Run time limit set to 3 seconds",
                                                               "web user started", "fast user started")},
        "resource": sorted(set(docs[0]["resource"]["attributes"] if "resource" in docs[0] else
                               docs[0]["resource_metrics"][0]["resource"]["attributes"])
                           & {"service.name", "service.version", "host.name", "filename", "profile"}),
    }


def test_console_exporters_side_by_side(target, locust_bin):
    """OTEL_{TRACES,METRICS,LOGS}_EXPORTER=console (Locust's tests use them): the same documents on stdout, in the
    Python SDK's JSON, as Locust with its otel extra prints them."""
    env = {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console", "OTEL_LOGS_EXPORTER": "console",
           "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    ours = console_run(RLOCUST, target, env)
    theirs = console_run(locust_bin, target, env)
    assert ours[0] == theirs[0] == 1, (ours[1], theirs[1])
    a, b = console_shape(ours[2]), console_shape(theirs[2])
    assert a == b, (a, b)
    # what Locust's own test_main.py TelemetryTests look for
    assert any(d.get("body", "").startswith("Starting Locust") for d in ours[2])
    users = [sum(p["value"] for p in m["data"]["data_points"]) for d in ours[2] if "resource_metrics" in d
             for rm in d["resource_metrics"] for sm in rm["scope_metrics"] for m in sm["metrics"]
             if m["name"] == "locust.users.count"]
    assert 3 in users, users


def test_stream_metrics_are_exported_as_rlocust_metric(receiver, target):
    """Issue 40: a streaming locustfile's metric rows (ttft, itl, e2e, ...) go out as the `rlocust.metric` histogram,
    one series per (metric, name, unit), each as many values as the run recorded."""
    locustfile = str(Path(__file__).resolve().parents[2] / "examples/llm/chat_stream.py")
    result = run(RLOCUST, locustfile, target, otel_env(receiver, "grpc"), seconds=3,
                 extra=("--stop-timeout", "5"))
    assert result.code == 0, result.log
    streams = result.requests("chat")
    assert streams > 0

    def exported():
        counts = {(dict(k)["metric"], dict(k)["name"], dict(k)["unit"]): n
                  for k, n in receiver.last_histogram_counts("rlocust.metric").items()}
        assert counts.get(("ttft", "chat", "ms")) == streams, counts
        assert counts.get(("e2e", "chat", "ms")) == streams, counts
        assert counts.get(("output_tokens", "chat", "tokens")) == streams, counts
        assert counts.get(("itl", "chat", "ms")) == streams * 63, counts
        assert counts.get(("answer_chars", "chat", "chars")) == streams, counts

    settle(exported)
    # the request histogram still counts requests only, one per stream
    settle(lambda: _assert(histogram_counts_by_name(receiver, "locust.client.duration") == {"chat": streams}))
