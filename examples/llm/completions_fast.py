"""Streaming `/v1/completions` with FastHttpUser, reading the whole answer: rlocust watches any
`text/event-stream` body as it arrives, with or without `stream=True`, so `ttft` and `itl` are measured even when
the locustfile only looks at the text at the end (the request row is then timed to the end, as Locust times it).

    rlocust-target --port 8089 --llm-ttft-ms 200 --llm-itl-ms 20 &
    rlocust -f examples/llm/completions_fast.py --headless -u 50 -r 50 -t 30s -H http://127.0.0.1:8089 --csv llm
"""

from locust import FastHttpUser, constant_throughput, task


class Completions(FastHttpUser):
    wait_time = constant_throughput(1)

    @task
    def complete(self):
        body = {"model": "my-model", "prompt": "Once upon a time", "max_tokens": 32, "stream": True,
                "stream_options": {"include_usage": True}}
        with self.client.post("/v1/completions", json=body, name="completions", catch_response=True) as r:
            if "[DONE]" not in r.text:
                r.failure("the stream did not finish")
