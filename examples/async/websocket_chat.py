"""A WebSocket conversation with the `websockets` package (asyncio only) inside an ordinary User (rlocust;
docs/async.md). Each exchange is reported with `events.request`, as any non-HTTP locustfile reports its calls.

    rlocust -f examples/async/websocket_chat.py -H ws://127.0.0.1:8765 -u 50 -r 50 -t 30s --headless

(any echo server: the suite's is tests/aio/servers/ws_echo.py.)
"""

import time

import websockets

from locust import User, constant, events, task


class ChatUser(User):
    wait_time = constant(0.5)

    async def on_start(self):
        self.ws = await websockets.connect(self.host)

    @task
    async def say_hello(self):
        start = time.perf_counter()
        error = None
        try:
            await self.ws.send("hello")
            reply = await self.ws.recv()
            if reply != "echo:hello":
                raise ValueError(f"unexpected reply {reply!r}")
        except Exception as e:  # noqa: BLE001 (reported as the row's failure)
            error = e
        events.request.fire(request_type="WS", name="hello", response_time=(time.perf_counter() - start) * 1000,
                            response_length=0, exception=error, context={})

    async def on_stop(self):
        await self.ws.close()
