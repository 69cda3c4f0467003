"""An OTLP receiver for tests/otel: gRPC (grpcio with opentelemetry-proto's generated services) and HTTP/protobuf
(a small http.server) on 127.0.0.1, keeping every export request it is sent, decoded, in memory.

Who uses it: tests/otel/conftest.py starts one per test (`Receiver.start()`), points a run's OTEL_* variables at
it, and reads flattened views of what arrived (`metric_points`, `spans`, `log_records`). It must not listen on
anything but loopback, and it stops with the test (`stop()`).
"""

from __future__ import annotations

import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

KINDS = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
RESPONSES = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
}


def _value(v):
    """An AnyValue as a Python value."""
    kind = v.WhichOneof("value")
    return None if kind is None else getattr(v, kind)


def attrs(kvs) -> dict:
    return {kv.key: _value(kv.value) for kv in kvs}


class Receiver:
    def __init__(self, tls: tuple[bytes, bytes] | None = None) -> None:
        """`tls`: (certificate chain PEM, key PEM) for a gRPC server over TLS instead of plain gRPC."""
        self.tls = tls
        self.lock = threading.Lock()
        self.requests: dict[str, list] = {k: [] for k in KINDS}
        self.protocols: set[str] = set()
        self._grpc = None
        self._http = None
        self.grpc_port = 0
        self.http_port = 0

    def _store(self, kind: str, message, protocol: str) -> None:
        with self.lock:
            self.requests[kind].append(message)
            self.protocols.add(protocol)

    # --- servers -------------------------------------------------------------------------------------------
    def start(self) -> Receiver:
        receiver = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):  # noqa: N802 (the generated service's name)
                receiver._store("traces", request, "grpc")
                return RESPONSES["traces"]()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request, context):  # noqa: N802
                receiver._store("metrics", request, "grpc")
                return RESPONSES["metrics"]()

        class Logs(logs_service_pb2_grpc.LogsServiceServicer):
            def Export(self, request, context):  # noqa: N802
                receiver._store("logs", request, "grpc")
                return RESPONSES["logs"]()

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
        if self.tls is None:
            self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        else:
            chain, key = self.tls
            self.grpc_port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, chain)]))
        server.start()
        self._grpc = server

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                kind = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}.get(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if kind is None or "protobuf" not in (self.headers.get("Content-Type") or ""):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                message = KINDS[kind]()
                message.ParseFromString(body)
                receiver._store(kind, message, "http/protobuf")
                out = RESPONSES[kind]().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=None)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    def endpoint(self, protocol: str) -> str:
        port = self.grpc_port if protocol == "grpc" else self.http_port
        scheme = "https" if self.tls is not None and protocol == "grpc" else "http"
        return f"{scheme}://127.0.0.1:{port}"

    # --- views ---------------------------------------------------------------------------------------------
    def resources(self, kind: str) -> list[dict]:
        with self.lock:
            reqs = list(self.requests[kind])
        field = {"traces": "resource_spans", "metrics": "resource_metrics", "logs": "resource_logs"}[kind]
        return [attrs(r.resource.attributes) for req in reqs for r in getattr(req, field)]

    def metrics(self) -> list:
        """Every Metric message received (one per export and scope)."""
        with self.lock:
            reqs = list(self.requests["metrics"])
        return [m for req in reqs for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]

    def metric_points(self, name: str) -> list[tuple[dict, object]]:
        """(attributes, data point) of every point of metric `name`, in arrival order."""
        out = []
        for m in self.metrics():
            if m.name != name:
                continue
            data = getattr(m, m.WhichOneof("data"))
            out.extend((attrs(p.attributes), p) for p in data.data_points)
        return out

    def last_histogram_counts(self, name: str) -> dict[tuple, int]:
        """The last cumulative count per attribute set of histogram `name` (cumulative temporality)."""
        counts: dict[tuple, int] = {}
        for a, p in self.metric_points(name):
            counts[tuple(sorted(a.items()))] = p.count
        return counts

    def spans(self) -> list:
        with self.lock:
            reqs = list(self.requests["traces"])
        return [s for req in reqs for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]

    def log_records(self) -> list:
        with self.lock:
            reqs = list(self.requests["logs"])
        return [lr for req in reqs for rl in req.resource_logs for sl in rl.scope_logs for lr in sl.log_records]
