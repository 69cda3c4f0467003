"""locust.contrib.socketio against a real python-socketio server (SIO_URL, tests/contrib/servers/sio_server.py):
connect (`WS`), calls (`WSC`), emits (`WSE`), sends (`WSS`) and received events (`WSR`); a call the server never
answers fails with socketio's TimeoutError, a connection to a port where nothing listens (DEAD_PORT) with its
ConnectionError."""

import os

import gevent

from locust import constant, task
from locust.contrib.socketio import SocketIOUser
from locust.exception import StopUser

MAX_ITERATIONS = 15


class Chatter(SocketIOUser):
    wait_time = constant(0.05)
    iterations = 0

    def on_start(self):
        self.sio.connect(os.environ["SIO_URL"], wait_timeout=5)
        self.sio_greenlet = gevent.spawn(self.sio.wait)
        self.sio.call("ignored", {}, timeout=0.5)

    @task
    def chat(self):
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise StopUser()
        self.sio.call("join", {"room": "r1"}, timeout=5)
        self.sio.emit("echo", {"text": "bar"})
        self.sio.send("note", name="note")

    def on_stop(self):
        self.sio.disconnect()


class Refused(SocketIOUser):
    wait_time = constant(1)

    def on_start(self):
        self.sio.connect("http://127.0.0.1:%s" % os.environ["DEAD_PORT"], wait_timeout=1, retry=False)

    @task
    def idle(self):
        raise StopUser()
