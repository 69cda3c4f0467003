"""`openai.AsyncOpenAI` streaming inside an ordinary User (rlocust; docs/async.md): the SDK's httpx client runs on
the process's one asyncio loop. Each completion is reported with `events.request`, and its time to first token
(as Python saw it) with `rlocust.metric`. The client, made in an async on_start, sends on rlocust's engine, so
its streams are also timed at the wire: `ttft`, `itl`, `e2e`, `output_tokens`, `tpot` under /v1/chat/completions
(docs/llm.md), next to `python_ttft` for comparison.

    OPENAI_API_KEY=x rlocust -f examples/async/openai_async.py -H http://127.0.0.1:8080 -u 10 -r 10 -t 30s --headless
"""

import os
import time

from openai import AsyncOpenAI

import rlocust
from locust import User, constant, events, task


class ChatUser(User):
    wait_time = constant(1)

    async def on_start(self):
        self.openai = AsyncOpenAI(base_url=self.host + "/v1", api_key=os.environ.get("OPENAI_API_KEY", "x"),
                                  max_retries=0)

    @task
    async def chat(self):
        start = time.perf_counter()
        first = None
        tokens = 0
        error = None
        try:
            stream = await self.openai.chat.completions.create(
                model="demo", messages=[{"role": "user", "content": "Say hello"}], max_tokens=16, stream=True)
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    if first is None:
                        first = time.perf_counter()
                    tokens += 1
        except Exception as e:  # noqa: BLE001 (reported as the row's failure)
            error = e
        elapsed = (time.perf_counter() - start) * 1000
        events.request.fire(request_type="POST", name="chat (AsyncOpenAI)", response_time=elapsed,
                            response_length=tokens, exception=error, context={})
        if first is not None:
            rlocust.metric("python_ttft", (first - start) * 1000, unit="ms", name="chat (AsyncOpenAI)")

    async def on_stop(self):
        await self.openai.close()
