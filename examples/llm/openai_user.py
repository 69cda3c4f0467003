"""Locust's contrib `OpenAIUser` (the openai package's client; `pip install openai`), streaming chat completions.

Under rlocust the client's HTTP exchanges run on the engine, so a streamed answer is timed at the wire: `ttft`,
`itl`, `e2e`, `output_tokens` and `tpot` per request name, beside the request rows the user reports as under Locust
(docs/llm.md).

    rlocust-target --port 8089 --llm-ttft-ms 300 --llm-itl-ms 25 &
    OPENAI_API_KEY=sk-none OPENAI_BASE_URL=http://127.0.0.1:8089/v1 \
        rlocust -f examples/llm/openai_user.py --headless -u 10 -r 10 -t 30s
"""

from locust import constant, task
from locust.contrib.oai import OpenAIUser


class Assistant(OpenAIUser):
    wait_time = constant(1)
    host = "http://127.0.0.1:8089"  # (unused: the client talks to OPENAI_BASE_URL)

    @task
    def chat(self):
        with self.client.rename_request("chat"):
            stream = self.client.chat.completions.create(
                model="my-model",
                messages=[{"role": "user", "content": "Write a haiku about load testing."}],
                max_tokens=48,
                stream=True,
                stream_options={"include_usage": True},
            )
            answer = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        assert answer
