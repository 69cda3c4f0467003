"""A streamed chat completion read with `async for` (`aiter_lines`): the stream metrics (ttft, itl) are timed at the
wire as for a sync `iter_lines`."""

from locust import HttpUser, constant, task

BODY = {"model": "m", "stream": True, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


class Streamer(HttpUser):
    wait_time = constant(0.1)

    @task
    async def chat(self):
        r = await self.client.post("/v1/chat/completions?ttft_ms=60&itl_ms=10&tokens=8", json=BODY, stream=True,
                                   name="chat")
        events = [line async for line in r.aiter_lines() if line.startswith(b"data:")]
        assert events[-1] == b"data: [DONE]", events[-1]
