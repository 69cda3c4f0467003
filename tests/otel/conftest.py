"""Fixtures of tests/otel: the OTLP receiver (receiver.py), the rlocust-target server on 127.0.0.1, and `run`,
which runs rlocust or real Locust 2.47 (with locust[otel]) on a locustfile with --otel pointed at the receiver
and returns its exit code, log, --json stats and wall time.

Binaries: RLOCUST_BIN, RLOCUST_TARGET_BIN (default target/release), LOCUST_OTEL_BIN (default
.venv-oracle-otel/bin/locust, else the `-otel` venv beside LOCUST_BIN's, else LOCUST_BIN when that Locust has the
otel extra). Every process is
bounded in time and killed at the end of its test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from receiver import Receiver

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _release(name: str) -> str:
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return str(Path(target) / "release" / name)


def _binary(env_var: str, default: str) -> str:
    path = os.environ.get(env_var) or default
    if not Path(path).is_file():
        pytest.fail(f"{env_var}: {path} not found (make test-otel builds and installs what it needs)")
    return path


def _locust_with_otel() -> str:
    explicit = os.environ.get("LOCUST_OTEL_BIN")
    if explicit:
        return _binary("LOCUST_OTEL_BIN", explicit)
    default = REPO / ".venv-oracle-otel" / "bin" / "locust"
    if default.is_file():
        return str(default)
    given = os.environ.get("LOCUST_BIN")
    if given:
        # the otel venv next to the given Locust's venv (…/.venv-oracle → …/.venv-oracle-otel)
        venv = Path(given).resolve().parent.parent
        beside = venv.with_name(venv.name + "-otel") / "bin" / "locust"
        if beside.is_file():
            return str(beside)
    if given and (Path(given).parent / "python").is_file():
        probe = subprocess.run([str(Path(given).parent / "python"), "-c", "import opentelemetry.sdk"],
                               capture_output=True, timeout=60)
        if probe.returncode == 0:
            return given
    return _binary("LOCUST_OTEL_BIN", str(default))


RLOCUST = _binary("RLOCUST_BIN", _release("rlocust"))
TARGET = _binary("RLOCUST_TARGET_BIN", _release("rlocust-target"))


@pytest.fixture(scope="session")
def locust_bin() -> str:
    return _locust_with_otel()


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def target():
    proc = subprocess.Popen([TARGET, "--port", "0", "--max-seconds", "300"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    assert m, line
    yield m.group(1)
    proc.kill()
    proc.wait(timeout=10)


def make_tls(directory: Path) -> tuple[Path, bytes, bytes]:
    """A CA (its PEM file in `directory`) and a server certificate it signed for 127.0.0.1 and localhost:
    (CA file, server certificate PEM, server key PEM)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "otel test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return ca_file, cert.public_bytes(serialization.Encoding.PEM), key_pem


@dataclass
class Run:
    code: int
    log: str
    stats: list[dict]
    seconds: float

    def requests(self, name: str) -> int:
        return sum(e["num_requests"] for e in self.stats if e["name"] == name)

    def failures(self, name: str) -> int:
        return sum(e["num_failures"] for e in self.stats if e["name"] == name)


def run(binary: str, locustfile: str, host: str, env: dict[str, str], *, users: int = 2, seconds: int = 3,
        extra: tuple[str, ...] = (), otel: bool = True, timeout: float = 90) -> Run:
    """One headless run (bounded by `timeout`), its exit code, stderr, --json stats and wall time."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LOCUST_"))}
    full.update(env)
    args = [binary, "-f", str(HERE / locustfile), "--headless", "-u", str(users), "-r", "100", "-t",
            f"{seconds}s", "-H", host, "--json", "--only-summary", *extra]
    if otel:
        args.append("--otel")
    start = time.monotonic()
    p = subprocess.run(args, env=full, capture_output=True, text=True, timeout=timeout, cwd=HERE,
                       stdin=subprocess.DEVNULL)
    took = time.monotonic() - start
    out = p.stdout
    stats = json.loads(out[out.index("["):]) if "[" in out else []
    return Run(p.returncode, p.stderr, stats, took)


def otel_env(receiver: Receiver, protocol: str, **more: str) -> dict[str, str]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint(protocol),
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_BSP_SCHEDULE_DELAY": "500",
        "OTEL_BLRP_SCHEDULE_DELAY": "500",
    }
    env.update(more)
    return env
