"""The requests-style surface of HttpSession/Response through the real Rust engine and the loopback target.

Runs the built binary (`RLOCUST_BIN`, default target/release/rlocust) on tests/python/engine/surface_locustfile.py
against `rlocust-target` on 127.0.0.1, then checks what the locustfile saw.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RLOCUST = os.environ.get("RLOCUST_BIN", str(ROOT / "target/release/rlocust"))
QUERY = {"a": "1", "b": "y"}  # the target echoes the last value of a repeated key
TARGET = os.environ.get("RLOCUST_TARGET_BIN", str(ROOT / "target/release/rlocust-target"))


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    for b in (RLOCUST, TARGET):
        assert os.path.exists(b), f"{b} is missing: build with `cargo build --release` first"
    tmp = tmp_path_factory.mktemp("surface")
    target = subprocess.Popen([TARGET, "--port", "0", "--max-seconds", "60"], stdout=subprocess.PIPE, text=True)
    try:
        line = target.stdout.readline()
        host = line.strip().rsplit(" ", 1)[-1]
        assert host.startswith("http://127.0.0.1:"), line
        out = tmp / "seen.json"
        # the shim tests' conftest sets LOCUST_SKIP_MONKEY_PATCH for this process; a real run must not inherit it
        env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}
        proc = subprocess.run(
            [RLOCUST, "-f", str(ROOT / "tests/python/engine/surface_locustfile.py"), "--headless", "-u", "1",
             "-r", "1", "-t", "3", "-H", host, "--only-summary"],
            cwd=tmp, env=env | {"SURFACE_OUT": str(out)}, capture_output=True, text=True, timeout=60,
        )
        assert out.exists(), proc.stderr[-3000:]
        data = json.loads(out.read_text())
        data["_exit"] = proc.returncode
        data["_host"] = host
        return data
    finally:
        target.kill()
        target.wait()


def test_query_headers_and_response_basics(seen):
    assert seen["query"] == QUERY
    assert seen["x_test"] == "t"
    assert seen["ua"].startswith("python-requests/")
    assert seen["status"] == [200, True, "OK", True]
    assert seen["content_type"].startswith("application/json")
    assert seen["content_is_bytes"] and seen["text_is_str"] and seen["elapsed_positive"]
    assert seen["url"].startswith(seen["_host"] + "/echo?a=1&b=x&b=y")


def test_bodies_and_methods(seen):
    assert seen["form"] == {"k": "v"}
    assert seen["json_body"] == {"n": 1}
    assert seen["put"] == ["PUT", "raw"]
    assert (seen["patch"], seen["delete"], seen["head"], seen["options"], seen["request"]) == (
        "PATCH", "DELETE", 200, 200, "GET")
    assert seen["upload"] == 200


def test_auth_cookies_redirects_gzip(seen):
    assert seen["auth"] == 200
    assert seen["response_cookie"] == "choc"
    assert seen["jar_cookie"] == "choc"
    assert seen["cookie_sent"].get("flavor") == "choc"
    assert seen["extra_cookie"] == "1"
    assert seen["redirect"] == [200, 2, 302]
    assert seen["no_redirect"] == 302
    assert isinstance(seen["gzip"], dict)


def test_errors_and_names(seen):
    assert seen["404"] == [404, False]
    # the user's raise_for_status() names the URL (Locust reports the failure under the name, then restores the URL)
    assert seen["raise_for_status"][0] == "HTTPError"
    assert re.fullmatch(r"404 Client Error: Not Found for url: http://127\.0\.0\.1:\d+/status/404", seen["raise_for_status"][1])
    assert seen["timeout"] == [0, "ReadTimeout"]
    assert seen["catch_json"] is True
    failures = {tuple(f) for f in seen["failures"]}
    assert ("GET", "/missing-page", "HTTPError('404 Client Error: Not Found for url: /missing-page')") in failures
    assert ("GET", "/json", "CatchResponseError('custom failure')") in failures
    assert any(n == "/delay/300" and e.startswith("ReadTimeout(ReadTimeoutError(") for _m, n, e in failures)
    assert {"/renamed", "/via-attribute", "/missing-page", "/echo?a=1&b=x&b=y"} <= set(seen["names"])
    assert seen["_exit"] == 1
