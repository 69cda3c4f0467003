"""Fixtures of the real-inference-server suite (tests/llm_server, `make test-llama-server`, not in `make test`):
llama.cpp's server from PyPI's llama-cpp-python, in its own venv (.venv-llama, built on first use by the Makefile
target: a compile of llama.cpp), serving a tiny random-weight model that tiny_gguf.py writes into a temporary
directory. Everything listens on 127.0.0.1 only; the server is killed with the module, and cannot outlive 15
minutes even if pytest is killed (it runs under `timeout`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.bounded import ROOT, binary, free_port  # noqa: E402

HERE = Path(__file__).resolve().parent
# the tokenizer whose vocabulary the tiny model has (tiny_gguf.py), for counting its output
TOKENIZER = ROOT / "tests/llm/tokenizers/metaspace/tokenizer.json"


def llama_python() -> str:
    path = os.environ.get("LLAMA_PYTHON") or str(ROOT / ".venv-llama/bin/python")
    if not Path(path).exists():
        pytest.fail(f"LLAMA_PYTHON: {path} does not exist (`make test-llama-server` builds .venv-llama)")
    return path


@pytest.fixture(scope="session")
def rlocust() -> str:
    return binary("RLOCUST_BIN", ROOT / "target/release/rlocust")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """llama.cpp's server (llama_cpp.server) on a free loopback port with the tiny model: yields its URL."""
    python = llama_python()
    work = tmp_path_factory.mktemp("llama")
    model = work / "tiny.gguf"
    subprocess.run([python, HERE / "tiny_gguf.py", model], check=True, timeout=120, stdout=subprocess.DEVNULL)
    port = free_port()
    log = open(work / "server.log", "wb")
    proc = subprocess.Popen(["timeout", "-s", "KILL", "900", python, "-m", "llama_cpp.server", "--model", str(model),
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024", "--n_threads", "1",
                             "--n_threads_batch", "1"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(url + "/v1/models", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail("llama_cpp.server did not start:\n" + (work / "server.log").read_text(errors="replace")[-3000:])
        time.sleep(0.2)
    yield url
    os.killpg(proc.pid, 9)
    proc.wait()
    log.close()
