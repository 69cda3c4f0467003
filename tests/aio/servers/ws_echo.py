"""A real `websockets` echo server on 127.0.0.1 for tests/aio: answers each message with "echo:" + it, counts the
connections it saw open and closed, and stops by itself after the given seconds.

    python ws_echo.py PORT SECONDS      (prints "listening" once it accepts connections; GET-free: WebSocket only)
"""

import asyncio
import sys

import websockets

opened = closed = 0


async def echo(ws):
    global opened, closed
    opened += 1
    try:
        async for message in ws:
            if message == "stats?":
                await ws.send(f"opened={opened} closed={closed}")
            else:
                await ws.send("echo:" + message)
    finally:
        closed += 1


async def main(port, seconds):
    async with websockets.serve(echo, "127.0.0.1", port):
        print("listening", flush=True)
        await asyncio.sleep(seconds)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
