"""A python-socketio server on 127.0.0.1 (ASGI, served by uvicorn) for locustfiles/socketio_users.py.

    python sio_server.py PORT

Events: on connect it emits `welcome` to the client; `join` answers its call with "joined <room>"; `echo` emits
`echoed` back with the data; a plain `send` (event `message`) is answered with a `message`; `ignored` has no
handler, so a call to it never gets its answer.
"""

import sys

import socketio
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi")
app = socketio.ASGIApp(sio)


@sio.event
async def connect(sid, environ):
    await sio.emit("welcome", "hello", to=sid)


@sio.event
async def join(sid, data):
    return "joined " + str(data.get("room"))


@sio.event
async def echo(sid, data):
    await sio.emit("echoed", data, to=sid)


@sio.event
async def message(sid, data):
    await sio.send("got " + str(data), to=sid)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", ws="wsproto", lifespan="off")
