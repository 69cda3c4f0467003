"""Session plumbing for the differential tests: the tools, the loopback target, and one cached run per variant."""
from __future__ import annotations

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import diffharness as dh

TOOLS = ("locust", "rlocust")


def locustfiles() -> list[Path]:
    spec = os.environ.get("DIFF_LOCUSTFILES")
    if spec:
        paths = []
        for part in spec.split(","):
            p = Path(part).resolve()
            paths += sorted(x for x in p.glob("*.py") if not x.name.startswith("_")) if p.is_dir() else [p]
        return paths
    return sorted(p for p in (dh.REPO / "locustfiles").glob("*.py") if not p.name.startswith("_"))


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    params, ids = [], []
    for path in locustfiles():
        try:
            variants = dh.parse_directives(path)
        except (dh.DirectiveError, OSError) as e:
            params.append((e, "directives"))
            ids.append(f"{path.stem}-directives")
            continue
        for v in variants:
            for check in ("run",) + v.checks:
                params.append((v, check))
                ids.append(f"{v.id}-{check}")
    if not params:
        params, ids = [(dh.DirectiveError("no locustfiles found (DIFF_LOCUSTFILES / locustfiles/*.py)"), "none")], ["no-locustfiles"]
    metafunc.parametrize("case", params, ids=ids)


class Target:
    """The rlocust-target binary on a random loopback port, or an already running one (DIFF_TARGET_URL)."""

    def __init__(self, workdir: Path):
        self.proc = None
        url = os.environ.get("DIFF_TARGET_URL")
        if url:
            self.url = url.rstrip("/")
            return
        default = str(dh.REPO / "target" / "release" / "rlocust-target")
        cmd = dh.resolve_command("RLOCUST_TARGET_BIN", default)
        max_seconds = os.environ.get("DIFF_TARGET_MAX_SECONDS", "3600")
        self.log = workdir / "target.stderr"
        self.proc = subprocess.Popen(cmd + ["--port", "0", "--max-seconds", max_seconds], stdout=subprocess.PIPE,
                                     stderr=open(self.log, "wb"), stdin=subprocess.DEVNULL, start_new_session=True)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        line = b""
        deadline = time.monotonic() + 15
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            if sel.select(timeout=0.2):
                chunk = os.read(self.proc.stdout.fileno(), 256)
                if not chunk:
                    break
                line += chunk
        m = re.search(rb"listening on (http://127\.0\.0\.1:\d+)", line)
        if not m:
            self.close()
            raise RuntimeError(f"rlocust-target did not report its address (got {line!r}); stderr: "
                               f"{self.log.read_text(errors='replace')[-2000:]}")
        self.url = m.group(1).decode()

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FaultServer:
    """tests/faults/faultserver.py on random loopback ports: one broken response per path (see its header)."""

    def __init__(self, workdir: Path):
        script = dh.REPO / "tests" / "faults" / "faultserver.py"
        self.log = workdir / "faultserver.stderr"
        self.proc = subprocess.Popen([sys.executable, str(script), "--max-seconds", "3600"], stdout=subprocess.PIPE,
                                     stderr=open(self.log, "wb"), stdin=subprocess.DEVNULL, start_new_session=True)
        line = self.proc.stdout.readline()
        try:
            self.urls = json.loads(line)
        except ValueError:
            self.close()
            raise RuntimeError(f"the fault server did not report its addresses (got {line!r}); stderr: "
                               f"{self.log.read_text(errors='replace')[-2000:]}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Proxies:
    """Two tinyproxy instances (Debian's tinyproxy-bin) on random loopback ports: `open`, and `auth`, which asks for
    Basic credentials pxuser:pxpass. tinyproxy adds a Via header to what it forwards."""

    def __init__(self, workdir: Path):
        import shutil

        binary = shutil.which("tinyproxy")
        if binary is None:
            raise FileNotFoundError("tinyproxy is not installed (apt-get install tinyproxy-bin)")
        self.procs = []
        self.urls = {}
        for kind, extra in [("open", ""), ("auth", "BasicAuth pxuser pxpass\n")]:
            port = _free_port()
            conf = workdir / f"tinyproxy-{kind}.conf"
            conf.write_text(f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 200\nAllow 127.0.0.1\n"
                            f"LogLevel Warning\n{extra}")
            log = open(workdir / f"tinyproxy-{kind}.log", "wb")
            self.procs.append(subprocess.Popen([binary, "-d", "-c", str(conf)], stdout=log, stderr=log,
                                               stdin=subprocess.DEVNULL, start_new_session=True))
            self.urls[kind] = f"http://127.0.0.1:{port}"
            if not _listening(port, self.procs[-1]):
                self.close()
                raise RuntimeError(f"tinyproxy ({kind}) did not start: "
                                   f"{(workdir / f'tinyproxy-{kind}.log').read_text(errors='replace')}")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def _nginx_binary() -> str:
    import shutil

    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
    return binary


class Nginx:
    """nginx run with `servers` (server blocks) in its own directory `d`, until close(); `ports` must listen."""

    def __init__(self, d: Path, servers: str, ports: list[int]):
        binary = _nginx_binary()
        conf = d / "nginx.conf"
        temp = " ".join(f"{k}_temp_path {d / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf.write_text(f"""worker_processes 1;
pid {d / 'nginx.pid'};
error_log {d / 'error.log'};
daemon off;
events {{ worker_connections 512; }}
http {{
  access_log off;
  log_format wire '$server_port $server_protocol $connection $request_method $uri $status';
  {temp}
{servers}
}}
""")
        log = open(d / "nginx.stderr", "wb")
        self.proc = subprocess.Popen([binary, "-c", str(conf), "-e", str(d / "error.log")], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        if not all(_listening(p, self.proc) for p in ports):
            self.close()
            error_log = (d / "error.log").read_text(errors="replace") if (d / "error.log").exists() else ""
            raise RuntimeError(f"nginx did not start: {(d / 'nginx.stderr').read_text(errors='replace')}{error_log}")

    def close(self):
        # the whole process group: a killed nginx master leaves its worker running (and listening)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # a worker still shutting down
        except ProcessLookupError:
            pass
        self.proc.wait()


class MtlsServer:
    """nginx on a random loopback port with certificates made here (a test CA, a server certificate for localhost
    and 127.0.0.1, a client certificate): `/` answers with the client-certificate verdict and the SNI name,
    `/required` answers 403 without a verified client certificate. The files are in `dir` (ca.pem, cadir/,
    client.pem, client.key, client-combined.pem, empty.pem)."""

    def __init__(self, workdir: Path):
        _nginx_binary()
        d = workdir / "mtls"
        (d / "cadir").mkdir(parents=True)
        _make_certificates(d)
        port = _free_port()
        self.nginx = Nginx(d, f"""  server {{
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {d / 'server.pem'};
    ssl_certificate_key {d / 'server.key'};
    ssl_client_certificate {d / 'ca.pem'};
    ssl_verify_client optional;
    location / {{ default_type text/plain; return 200 "client=$ssl_client_verify sni=$ssl_server_name\n"; }}
    location /required {{
      if ($ssl_client_verify != SUCCESS) {{ return 403 "no client certificate\n"; }}
      default_type text/plain;
      return 200 "ok $ssl_client_s_dn\n";
    }}
  }}""", [port])
        self.dir = str(d)
        self.url = f"https://localhost:{port}"

    def close(self):
        self.nginx.close()


class H2Front:
    """nginx with HTTP/2 in front of the loopback target (every path is proxied to it): `url` is HTTPS with ALPN
    (h2 and http/1.1, the test CA of `ca` in `dir`), `h2c_url` plain HTTP/2 only (prior knowledge, as nginx 1.22
    serves it), `h1_url` plain HTTP/1.1 only, `goaway_url` h2c that closes each connection (GOAWAY) after 3
    requests. Every request is logged to `log` as `port protocol connection method
    uri status`."""

    def __init__(self, workdir: Path, target_url: str, name: str = "h2"):
        _nginx_binary()
        d = workdir / name
        (d / "cadir").mkdir(parents=True)
        _make_certificates(d)
        tls, h2c, h1, goaway = _free_port(), _free_port(), _free_port(), _free_port()
        self.log = d / "access.log"
        proxy = f"""    access_log {self.log} wire;
    client_max_body_size 20m;
    client_body_buffer_size 20m;
    location / {{ proxy_pass {target_url}; proxy_set_header Host $http_host; proxy_buffering off; }}"""
        self.nginx = Nginx(d, f"""  server {{
    listen 127.0.0.1:{tls} ssl http2;
    server_name localhost;
    ssl_certificate {d / 'server.pem'};
    ssl_certificate_key {d / 'server.key'};
{proxy}
  }}
  server {{
    listen 127.0.0.1:{h2c} http2;
{proxy}
  }}
  server {{
    listen 127.0.0.1:{h1};
{proxy}
  }}
  server {{
    listen 127.0.0.1:{goaway} http2;
    keepalive_requests 3;
{proxy}
  }}""", [tls, h2c, h1, goaway])
        self.dir = str(d)
        self.ca = str(d / "ca.pem")
        self.url = f"https://localhost:{tls}"
        self.h2c_url = f"http://127.0.0.1:{h2c}"
        self.h1_url = f"http://127.0.0.1:{h1}"
        self.goaway_url = f"http://127.0.0.1:{goaway}"

    def close(self):
        self.nginx.close()


def _make_certificates(d: Path):
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def pem_key(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    def issue(subject, key, issuer, issuer_key, ca, extra):
        b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        for ext in extra:
            b = b.add_extension(ext, critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue("rlocust test CA", ca_key, "rlocust test CA", ca_key, True, [])
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = issue("localhost", server_key, "rlocust test CA", ca_key, False, [
        x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])])
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = issue("rlocust client", client_key, "rlocust test CA", ca_key, False, [
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])])
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "cadir" / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "server.pem").write_bytes(server.public_bytes(pem))
    (d / "server.key").write_bytes(pem_key(server_key))
    (d / "client.pem").write_bytes(client.public_bytes(pem))
    (d / "client.key").write_bytes(pem_key(client_key))
    (d / "client-combined.pem").write_bytes(client.public_bytes(pem) + pem_key(client_key))
    (d / "empty.pem").write_bytes(b"")
    # OpenSSL looks certificates up in a directory by subject hash (`openssl rehash`): the link it wants
    import ssl  # noqa: F401  (only to fail early where Python has no ssl)
    subject_hash = _openssl_subject_hash(ca)
    if subject_hash:
        (d / "cadir" / f"{subject_hash}.0").write_bytes(ca.public_bytes(pem))


def _openssl_subject_hash(cert) -> str | None:
    """OpenSSL's `X509_NAME_hash` of the certificate's subject (the file name a CA directory needs), or None when
    the openssl command is not there."""
    import shutil

    if shutil.which("openssl") is None:
        return None
    from cryptography.hazmat.primitives import serialization

    out = subprocess.run(["openssl", "x509", "-noout", "-subject_hash"], input=cert.public_bytes(
        serialization.Encoding.PEM), capture_output=True, timeout=10)
    return out.stdout.decode().strip() or None


def _listening(port: int, proc: subprocess.Popen, limit: float = 10) -> bool:
    """Whether something accepts on 127.0.0.1:`port` within `limit` seconds while `proc` runs."""
    deadline = time.monotonic() + limit
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                return False
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DiffContext:
    def __init__(self, cmds, target, workdir, faults, proxies, mtls, h2):
        self.cmds, self.target, self.workdir = cmds, target, workdir
        self.parallel = os.environ.get("DIFF_PARALLEL", "0") == "1"
        dead_port = os.environ.get("DIFF_DEAD_PORT", "1")
        self.places = {"host": target.url, "hostport": target.url.split("//", 1)[1],
                      "dead_host": f"http://127.0.0.1:{dead_port}"}
        # {fault_host}, {fault_https}, {fault_tls_alert}, {fault_tls_slow}, {fault_tls_reset}
        self.places.update({"fault_host": faults.urls["http"]})
        self.places.update({f"fault_{k}": v for k, v in faults.urls.items() if k != "http"})
        # {proxy_open}, {proxy_auth}
        self.places.update({f"proxy_{k}": v for k, v in proxies.urls.items()})
        # {mtls_url}, {mtls_dir}
        self.places.update({"mtls_url": mtls.url, "mtls_dir": mtls.dir})
        # {h2_url}, {h2_ca}: HTTP/2 (ALPN) in front of the target
        self.places.update({"h2_url": h2.url, "h2_ca": h2.ca})
        self.cache: dict[tuple, dict] = {}
        self.timings: list[tuple[str, dict[str, float]]] = []

    def runs(self, v: dh.Variant) -> dict:
        key = (str(v.file), v.name)
        if key not in self.cache:
            cmds = self.cmds
            if v.oracle:
                # e.g. locust-plugins' options: real Locust only has them with the plugin installed
                if not os.environ.get(v.oracle):
                    pytest.fail(f"{v.id}: this scenario's oracle is the command in {v.oracle}, which is not set "
                                "(see tests/diff/README.md)", pytrace=False)
                try:
                    cmds = dict(self.cmds, locust=dh.resolve_command(v.oracle, ""))
                except FileNotFoundError as e:
                    pytest.fail(f"{v.id}: {e}", pytrace=False)
            wd = self.workdir / re.sub(r"[^\w.-]+", "_", v.id)
            results = dh.run_pair(cmds, v, self.places, wd, self.parallel)
            entry = {"results": results, "outcomes": {}, "errors": []}
            for tool, res in results.items():
                if res.timed_out or res.rc is None:
                    entry["errors"].append(f"{tool} did not finish: {res.error}")
                    continue
                missing = [s for s in dh.CSV_SUFFIXES if not res.csv_path(s).exists()]
                if not v.csv:
                    if len(missing) != len(dh.CSV_SUFFIXES):
                        entry["errors"].append(f"{tool} wrote CSV files; the scenario ends before any (diff-csv: none)")
                    entry["outcomes"][tool] = dh.empty_outcome()
                    continue
                if missing:
                    entry["errors"].append(f"{tool} wrote no {', '.join(missing)} (exit {res.rc})")
                    continue
                try:
                    entry["outcomes"][tool] = dh.read_outcome(res, v)
                except Exception as e:  # a malformed CSV is a finding, not a harness crash
                    entry["errors"].append(f"{tool}: cannot read its CSVs: {e!r}")
            self.cache[key] = entry
            self.timings.append((v.id, {t: r.seconds for t, r in results.items()}))
        return self.cache[key]


@pytest.fixture(scope="session")
def diffctx(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("diff")
    problem = None
    try:
        cmds = {"locust": dh.resolve_command("LOCUST_BIN", "locust"),
                "rlocust": dh.resolve_command("RLOCUST_BIN", str(dh.REPO / "target" / "release" / "rlocust"))}
        target = Target(workdir)
        faults = FaultServer(workdir)
        proxies = Proxies(workdir)
        mtls = MtlsServer(workdir)
        h2 = H2Front(workdir, target.url)
    except (FileNotFoundError, RuntimeError, ImportError) as e:
        problem = str(e)
    if problem:  # outside the except block, so the report shows just this message
        pytest.fail(f"cannot run the differential tests: {problem}", pytrace=False)
    ctx = DiffContext(cmds, target, workdir, faults, proxies, mtls, h2)
    yield ctx
    target.close()
    faults.close()
    proxies.close()
    mtls.close()
    h2.close()
    _TIMINGS.extend(ctx.timings)


_TIMINGS: list = []


def pytest_terminal_summary(terminalreporter):
    if not _TIMINGS:
        return
    tr = terminalreporter
    tr.section("differential runs (seconds per tool)")
    totals = {}
    for vid, t in _TIMINGS:
        tr.write_line(f"{vid:45s} " + "  ".join(f"{k} {s:5.1f}" for k, s in t.items()))
        for k, s in t.items():
            totals[k] = totals.get(k, 0) + s
    tr.write_line("total: " + "  ".join(f"{k} {s:.1f}s" for k, s in totals.items()))
