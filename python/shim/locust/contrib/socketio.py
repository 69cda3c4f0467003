"""Socket.IO users (`locust.contrib.socketio` of Locust 2.47), on python-socketio's client (`pip install
"python-socketio[client]"`).

`self.sio` is a `socketio.Client` whose calls are reported: connect (`WS`, timed), send (`WSS`, name `name=`),
emit (`WSE`, the event), call (`WSC`, timed until the answer) and every received event (`WSR`, through
`on_message`, which a user class may override). Times of one-way messages are 0, as in Locust.
"""

import gevent
import socketio

from locust import User


class SocketIOClient(socketio.Client):
    def __init__(self, request_event, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request_event = request_event

    def connect(self, *args, **kwargs):
        with self.request_event.measure("WS", "connect"):
            super().connect(*args, **kwargs)

    def _one_way(self, request_type, name, data, send):
        exception = None
        try:
            send()
        except Exception as e:
            exception = e
        self.request_event.fire(request_type=request_type, name=name, response_time=0,
                                response_length=len(data or []), exception=exception, context={})

    def send(self, data, namespace=None, callback=None, name="Unnamed"):
        self._one_way("WSS", name, data, lambda: super(SocketIOClient, self).send(data, namespace, callback))

    def emit(self, event, data=None, namespace=None, callback=None):
        self._one_way("WSE", str(event), data,
                      lambda: super(SocketIOClient, self).emit(event, data, namespace, callback))

    def call(self, event, data=None, *args, **kwargs):
        with self.request_event.measure("WSC", event):
            return super().call(event, data, *args, **kwargs)

    def on_message(self, event, data):
        """Every event received (registered for "*"): reported with response time 0."""
        self.request_event.fire(request_type="WSR", name=event, response_time=0, response_length=len(data or []),
                                exception=None, context={})


class SocketIOUser(User):
    """A user with a Socket.IO client (`self.sio`, options from `options`) waiting for events in its own greenlet."""

    abstract = True
    options: dict = {}  # socketio.Client's keyword arguments, e.g. {"reconnection_attempts": 1, "logger": True}
    sio: SocketIOClient

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sio = SocketIOClient(self.environment.events.request, **self.options)
        self.sio_greenlet = gevent.spawn(self.sio.wait)
        self.sio.on("*", self.sio.on_message)
