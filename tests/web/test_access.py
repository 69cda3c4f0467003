"""rlocust's web UI options and access control (its own, or Locust's options checked against the recorded
samples): --basic-auth / RLOCUST_WEB_AUTH, cross-site POSTs, --web-base-path (308, prefix, bad value), the
startup lines, --autostart with --autoquit, and a clean exit on SIGTERM with the CSV files written.
Loopback only; every process bounded in time."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from test_api import LOCUSTFILE, _binary, _free_port, _release
from test_api import stop_process as stop

TIMEOUT = 10


@pytest.fixture(scope="module")
def rlocust():
    return _binary("RLOCUST_BIN", _release("rlocust"))


def start(binary, args, tmp_path, env_extra=None):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_WEB"))}
    env.update(env_extra or {})
    err = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen([binary, "-f", str(LOCUSTFILE), "--web-port", str(port), "-H", "http://127.0.0.1:9"]
                            + args, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                            env=env, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}", err


def wait_up(proc, url, path="/worker-count", **kw):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return requests.get(url + path, timeout=1, **kw)
        except requests.RequestException:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    raise AssertionError("the web UI did not come up")


def test_basic_auth_and_cross_site_posts(rlocust, tmp_path):
    proc, url, err = start(rlocust, ["--web-host", "127.0.0.1"], tmp_path, {"RLOCUST_WEB_AUTH": "alice:s3cret"})
    try:
        r = wait_up(proc, url)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
        assert requests.get(url + "/stats/requests", auth=("alice", "wrong"), timeout=TIMEOUT).status_code == 401
        r = requests.get(url + "/stats/requests", auth=("alice", "s3cret"), timeout=TIMEOUT)
        assert r.status_code == 200 and r.json()["state"] == "ready"
        # rlocust's own generator-lag route is behind the same password
        assert requests.get(url + "/rlocust/generator", timeout=TIMEOUT).status_code == 401
        r = requests.get(url + "/rlocust/generator", auth=("alice", "s3cret"), timeout=TIMEOUT)
        assert r.status_code == 200
        assert set(r.json()) == {"socket_wait_ms", "response_handling_delay_ms", "wait_lateness_ms"}
        assert r.json()["socket_wait_ms"]["count"] == 0  # nothing ran yet
        # the capacity search's route too: null when the run searches nothing
        assert requests.get(url + "/search", timeout=TIMEOUT).status_code == 401
        r = requests.get(url + "/search", auth=("alice", "s3cret"), timeout=TIMEOUT)
        assert r.status_code == 200 and r.json() is None
        r = requests.post(url + "/stop", auth=("alice", "s3cret"), timeout=TIMEOUT,
                          headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403
        r = requests.post(url + "/stop", auth=("alice", "s3cret"), timeout=TIMEOUT,
                          headers={"Origin": url, "Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 200 and r.json() == {"message": "Test stopped", "success": True}
    finally:
        stop(proc, err)
    log = (tmp_path / "stderr.txt").read_text()
    assert f"Starting web interface at {url}, press enter to open your default browser." in log
    assert "no authentication" not in log


def test_every_interface_without_auth_warns(rlocust, tmp_path):
    proc, url, err = start(rlocust, [], tmp_path)
    try:
        wait_up(proc, url)
    finally:
        code = stop(proc, err)
    log = (tmp_path / "stderr.txt").read_text()
    assert "Starting web interface at http://0.0.0.0:" in log
    assert "WARNING/locust.main: The web UI listens on 0.0.0.0" in log and "no authentication" in log
    assert code == 0, log


def test_base_path(rlocust, tmp_path):
    proc, url, err = start(rlocust, ["--web-host", "127.0.0.1", "--web-base-path", "/locust"], tmp_path)
    try:
        r = wait_up(proc, url, "/locust/worker-count")
        assert r.json() == {"worker_count": 0}
        r = requests.get(url + "/locust", timeout=TIMEOUT, allow_redirects=False)
        assert (r.status_code, r.headers["Location"]) == (308, url + "/locust/")
        assert requests.get(url + "/", timeout=TIMEOUT).status_code == 404
        assert requests.get(url + "/stats/requests", timeout=TIMEOUT).status_code == 404
        r = requests.get(url + "/locust/", timeout=TIMEOUT)
        assert r.status_code == 200 and "window.templateArgs = {" in r.text and './assets/index.js' in r.text
        r = requests.get(url + "/locust/assets/index.js", timeout=TIMEOUT)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
        assert requests.get(url + "/assets/index.js", timeout=TIMEOUT).status_code == 404
    finally:
        stop(proc, err)
    log = (tmp_path / "stderr.txt").read_text()
    assert f"Starting web interface at {url}/locust, press" in log


def test_bad_base_path_exits_1(rlocust, tmp_path):
    proc, url, err = start(rlocust, ["--web-host", "127.0.0.1", "--web-base-path", "locust"], tmp_path)
    code = proc.wait(timeout=30)
    err.close()
    log = (tmp_path / "stderr.txt").read_text()
    assert code == 1, log
    assert "Invalid format for --web-base-path argument (locust): the url path must start with a slash." in log


def test_autostart_autoquit_and_results(rlocust, tmp_path):
    proc, url, err = start(rlocust, ["--web-host", "127.0.0.1", "--autostart", "--autoquit", "1", "-t", "3",
                                     "-u", "2", "-r", "2", "--csv", str(tmp_path / "r")], tmp_path)
    try:
        r = wait_up(proc, url, "/stats/requests")
        assert r.json()["state"] in ("spawning", "running")
        code = proc.wait(timeout=30)
    finally:
        stop(proc, err)
    log = (tmp_path / "stderr.txt").read_text()
    assert "Run time limit set to 3 seconds" in log
    assert "--run-time limit reached, stopping test" in log
    assert "--autoquit time reached, shutting down" in log
    assert code == 1, log  # the target port is closed: every request fails
    assert (tmp_path / "r_stats.csv").read_text().count("\n") > 2


def test_sigterm_in_ready_state_writes_results(rlocust, tmp_path):
    proc, url, err = start(rlocust, ["--web-host", "127.0.0.1", "--csv", str(tmp_path / "r"),
                                     "--json-file", str(tmp_path / "j")], tmp_path)
    try:
        wait_up(proc, url)
    finally:
        code = stop(proc, err)
    log = (tmp_path / "stderr.txt").read_text()
    assert code == 0, log
    assert "Shutting down (exit code 0)" in log
    assert Path(tmp_path / "r_stats.csv").exists() and Path(tmp_path / "j.json").exists()


def test_removed_web_auth_is_still_refused(rlocust, tmp_path):
    proc = subprocess.run([rlocust, "-f", str(LOCUSTFILE), "--web-auth", "a:b"], capture_output=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode != 0
    assert b"replaced with --web-login" in proc.stderr


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls(rlocust, tmp_path):
    cert, key = _self_signed(tmp_path)
    proc, url, err = start(rlocust, ["--web-host", "127.0.0.1", "--tls-cert", str(cert), "--tls-key", str(key)],
                           tmp_path)
    https = url.replace("http://", "https://")
    try:
        r = wait_up(proc, https, verify=False)
        assert r.json() == {"worker_count": 0}
        with pytest.raises(requests.RequestException):
            requests.get(url + "/worker-count", timeout=3)  # plain HTTP against the TLS port
        assert requests.get(https + "/worker-count", timeout=TIMEOUT, verify=False).status_code == 200
    finally:
        stop(proc, err)
    log = (tmp_path / "stderr.txt").read_text()
    assert f"Starting web interface at {https}, press enter" in log


def test_logs_hold_rust_and_python_lines_and_sigint_ends_a_running_test(tmp_path):
    rlocust = _binary("RLOCUST_BIN", _release("rlocust"))
    target = _binary("RLOCUST_TARGET_BIN", _release("rlocust-target"))
    tproc = subprocess.Popen([target, "--port", "0", "--max-seconds", "60"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        host = tproc.stdout.readline().decode().split("listening on ")[-1].strip()
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        err = open(tmp_path / "stderr.txt", "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "RLOCUST_WEB"))}
        proc = subprocess.Popen([rlocust, "-f", str(LOCUSTFILE), "--web-host", "127.0.0.1", "-P", str(port), "-H", host,
                                 "--csv", str(tmp_path / "r")], cwd=tmp_path, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
        try:
            wait_up(proc, url)
            r = requests.post(url + "/swarm", data={"user_count": "2", "spawn_rate": "2"}, timeout=TIMEOUT)
            assert r.json()["success"] is True
            deadline = time.monotonic() + 20
            lines = []
            while time.monotonic() < deadline:
                lines = requests.get(url + "/logs", timeout=TIMEOUT).json()["master"]
                if any("/ERROR/locust.user.task: intentional test exception\nTraceback" in x for x in lines):
                    break
                time.sleep(0.5)
            assert any("/INFO/locust.main: Starting web interface at" in x for x in lines), lines
            assert any("/INFO/locust.runners: Ramping to 2 users" in x for x in lines), lines
            assert any("/ERROR/locust.user.task: intentional test exception\nTraceback" in x for x in lines), lines
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=30)
        finally:
            stop(proc, err)
        log = (tmp_path / "stderr.txt").read_text()
        assert code == 1, log  # the test had failures
        assert "Shutting down (exit code 1)" in log
        assert (tmp_path / "r_stats.csv").read_text().count("\n") > 2
    finally:
        tproc.kill()
        tproc.wait(timeout=10)
