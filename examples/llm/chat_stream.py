"""A streaming chat-completions load test in the style people write for Locust: an HttpUser posts an OpenAI-style
request with `"stream": true` and reads the server-sent events line by line.

Nothing here times anything. Under rlocust the engine reads the stream as it arrives and records, per request name,
`ttft` (time to first token), `itl` (every gap between tokens), `e2e`, `output_tokens` and `tpot` (from the
stream's `usage`), next to the request table: the console, `--csv PREFIX` (`PREFIX_metrics.csv`), the web UI's
Metrics tab, the HTML report, `/metrics` and `--summary-json` (docs/llm.md). The request row keeps Locust's
meaning: a `stream=True` call is timed to its response head.

Try it against rlocust's own loopback server (first token after 300 ms, then one every 25 ms):

    rlocust-target --port 8089 --llm-ttft-ms 300 --llm-itl-ms 25 --llm-tokens 64 &
    rlocust -f examples/llm/chat_stream.py --headless -u 20 -r 20 -t 30s -H http://127.0.0.1:8089 \
        --thresholds "ttft.p99<500; itl.p50<30"

The same file runs under Locust (without the metrics).
"""

import json

from locust import HttpUser, constant, task

# a value the locustfile computes itself, recorded beside the stream metrics; a no-op under Locust
try:
    from rlocust import metric
except ImportError:  # Locust
    def metric(*args, **kwargs):
        pass


class ChatUser(HttpUser):
    wait_time = constant(1)

    @task
    def chat(self):
        request = {
            "model": "my-model",
            "messages": [{"role": "user", "content": "Write a haiku about load testing."}],
            "max_tokens": 64,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        text = []
        with self.client.post("/v1/chat/completions", json=request, stream=True, catch_response=True,
                              name="chat") as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            for line in response.iter_lines():
                if not line.startswith(b"data: ") or line == b"data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                for choice in chunk.get("choices", []):
                    text.append(choice.get("delta", {}).get("content") or "")
            if not text:
                response.failure("no content in the stream")
        metric("answer_chars", sum(map(len, text)), unit="chars", name="chat")
