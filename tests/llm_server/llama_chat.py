"""The locustfile of tests/llm_server: OpenAI-style chat completions against llama.cpp's server, streamed (`stream`)
and not (`json`), with `max_tokens` from LLAMA_MAX_TOKENS (32). The tiny model always generates exactly that many
tokens (tiny_gguf.py). llama-cpp-python's streams carry no `usage`; its whole answers do. The locustfile records
what it saw itself as metrics, for the test to compare with what the engine measured: `content_chunks` (the
stream's content events) and `usage_completion_tokens` (a whole answer's usage)."""

import json
import os

from locust import HttpUser, constant, task
from rlocust import metric

MAX_TOKENS = int(os.environ.get("LLAMA_MAX_TOKENS", "32"))


def body(stream: bool) -> dict:
    return {
        "model": "tiny",
        "messages": [{"role": "user", "content": "Write about the load test run."}],
        "max_tokens": MAX_TOKENS,
        "stream": stream,
    }


class LlamaChat(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def stream(self):
        chunks = 0
        with self.client.post("/v1/chat/completions", json=body(True), stream=True, catch_response=True,
                              name="stream") as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            for line in response.iter_lines():
                if not line.startswith(b"data: ") or line == b"data: [DONE]":
                    continue
                for choice in json.loads(line[6:]).get("choices", []):
                    if choice.get("delta", {}).get("content"):
                        chunks += 1
        metric("content_chunks", chunks, unit="events", name="stream")

    @task(1)
    def whole(self):
        with self.client.post("/v1/chat/completions", json=body(False), catch_response=True, name="json") as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            metric("usage_completion_tokens", response.json()["usage"]["completion_tokens"], unit="tokens",
                   name="json")
