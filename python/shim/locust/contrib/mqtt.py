"""MQTT users (`locust.contrib.mqtt` of Locust 2.47), on paho-mqtt 2 (`pip install paho-mqtt`).

An `MqttUser` connects (asynchronously, paho's network loop in a greenlet) to `host`:`port` when it is created;
its `self.client` is an `MqttClient`, a `paho.mqtt.client.Client` whose calls are reported with request_type `MQTT`:

- `publish(topic, payload, qos)`: name `publish:<qos>:<topic>`, timed from the call until paho's on_publish (QoS 0:
  the message is written; QoS 1/2: the broker acknowledged it), response_length the payload's length. A publish
  paho refuses at once (e.g. not connected) fails with its MQTTErrorCode and time 0.
- `subscribe(topic, qos)`: name `subscribe:<qos>:<topic>`, timed until the SUBACK; a SUBACK carrying 0x80 fails
  with an AssertionError naming the granted codes.
- the broker's CONNACK and the disconnection: names `connect` and `disconnect`, time 0; a refused connection fails
  with Exception(reason), an unexpected disconnection with the reason code itself.

Subclasses may rename the events by overriding `MqttClient._generate_event_name(event_type, qos, topic)` and set
`MqttUser.client_cls` to their client class. `use_loop_selectors = True` runs paho's loop on `selectors` instead of
`select.select`, for more than ~340 connections in one process. Received messages are not reported.
"""

from __future__ import annotations

import random
import selectors
import string
import time
import typing

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from locust import User
from locust.env import Environment

# the one failure code a SUBACK may carry (MQTT 3.1.1, 3.9.3: 0x00-0x02 are granted QoS levels)
SUBACK_FAILURE = 0x80
REQUEST_TYPE = "MQTT"

_ID_ALPHABET = string.digits + string.ascii_lowercase + string.ascii_uppercase


def _generate_random_id(length: int, alphabet: str = _ID_ALPHABET):
    """`length` characters drawn from `alphabet`."""
    return "".join(random.choice(alphabet) for _ in range(length))


def _generate_mqtt_event_name(event_type: str, qos: int, topic: str):
    """The stats name of a publish or subscribe: `<event_type>:<qos>:<topic>` (e.g. `publish:0:my/topic`)."""
    return f"{event_type}:{qos}:{topic}"


class PublishedMessageContext(typing.NamedTuple):
    """What is kept of an outgoing message until paho reports it published (also the request's context)."""

    qos: int
    topic: str
    start_time: float
    payload_size: int


def _payload_size(payload):
    if not payload or isinstance(payload, (int, float)):
        return 0
    return len(payload)


class MqttClient(mqtt.Client):
    """A paho client whose publish, subscribe, connect and disconnect outcomes fire `environment`'s request event.

    Arguments other than these are paho's. Without `client_id` the client names itself `locust-` followed by 16
    random letters and digits (23 characters, MQTT 3.1's limit), so its events always carry its id."""

    def __init__(self, *args, environment: Environment, client_id: str | None = None,
                 protocol=mqtt.MQTTv311, use_loop_selectors: bool = False, **kwargs):
        if not client_id:
            client_id = "locust-" + _generate_random_id(16)
        super().__init__(*args, client_id=client_id, protocol=protocol, **kwargs)
        self.environment = environment
        self.client_id = client_id
        self.on_publish = self._on_publish_cb
        if protocol == mqtt.MQTTv5:
            self.on_connect = self._on_connect_cb_v5
            self.on_disconnect = self._on_disconnect_cb_v5
            self.on_subscribe = self._on_subscribe_cb_v5
        else:
            self.on_connect = self._on_connect_cb_v3x
            self.on_disconnect = self._on_disconnect_cb_v3x
            self.on_subscribe = self._on_subscribe_cb_v3x
        self._publish_requests: dict[int, PublishedMessageContext] = {}
        self._subscribe_requests: dict[int, tuple[int, str, float]] = {}
        self._use_loop_selectors = use_loop_selectors

    def _generate_event_name(self, event_type: str, qos: int, topic: str):
        return _generate_mqtt_event_name(event_type, qos, topic)

    def _fire(self, name, response_time, response_length, exception, context):
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE,
            name=name,
            response_time=response_time,
            response_length=response_length,
            exception=exception,
            context={"client_id": self.client_id, **context},
        )

    # --- paho callbacks -------------------------------------------------------------------------------------

    def _on_publish_cb(self, client, userdata, mid):
        now = time.time()
        sent = self._publish_requests.pop(mid, None)
        if sent is None:  # a mid this client did not publish (not expected)
            self._fire("publish", 0, 0,
                       AssertionError(f"Could not find message data for mid '{mid}' in _on_publish_cb."), {"mid": mid})
            return
        self._fire(self._generate_event_name("publish", sent.qos, sent.topic), (now - sent.start_time) * 1000,
                   sent.payload_size, None, sent._asdict())

    def _on_subscribe_cb_v3x(self, client, userdata, mid, granted_qos):
        now = time.time()
        pending = self._subscribe_requests.pop(mid, None)
        if pending is None:
            self._fire("subscribe", 0, 0,
                       AssertionError(f"Could not find message data for mid '{mid}' in _on_subscribe_cb."),
                       {"mid": mid})
            return
        qos, topic, start_time = pending
        exception = None
        if SUBACK_FAILURE in granted_qos:
            exception = AssertionError(f"Broker returned an error response during subscription: {granted_qos}")
        self._fire(self._generate_event_name("subscribe", qos, topic), (now - start_time) * 1000, 0, exception,
                   {"qos": qos, "topic": topic, "start_time": start_time})

    def _on_subscribe_cb_v5(self, client, userdata, mid, reason_codes, properties):
        return self._on_subscribe_cb_v3x(client, userdata, mid, [code.value for code in reason_codes])

    def _on_disconnect_cb(self, client, userdata, rc):
        # the reason code itself is the failure (an int, or a ReasonCode with MQTT 5)
        self._fire("disconnect", 0, 0, rc if rc != 0 else None, {})

    def _on_disconnect_cb_v3x(self, client, userdata, rc):
        return self._on_disconnect_cb(client, userdata, rc)

    # NOTE (as in Locust 2.47): the MQTT 5 callbacks have paho's callback API version 2 signatures, while the client
    # is created with paho's default (version 1).
    def _on_disconnect_cb_v5(self, client, userdata, disconnect_flags, reasoncode, properties):
        return self._on_disconnect_cb(client, userdata, reasoncode)

    def _on_connect_cb(self, client, userdata, flags, rc):
        self._fire("connect", 0, 0, Exception(str(rc)) if rc != 0 else None, {})

    def _on_connect_cb_v3x(self, client, userdata, flags, rc):
        return self._on_connect_cb(client, userdata, flags, rc)

    def _on_connect_cb_v5(self, client, userdata, connect_flags, reasoncode, properties):
        self._on_connect_cb(client, userdata, {}, reasoncode)

    # --- network loop -----------------------------------------------------------------------------------------

    def _loop(self, timeout: float = 1.0) -> MQTTErrorCode:
        """paho's loop step, or the selectors-based one when the client was made with `use_loop_selectors`."""
        if self._use_loop_selectors:
            return self._loop_selectors(timeout)
        return super()._loop(timeout)

    def _loop_selectors(self, timeout: float = 1.0) -> MQTTErrorCode:
        """One step of paho's network loop waiting with `selectors` (no FD_SETSIZE limit): read what is there, write
        what is queued (also when another greenlet woke the loop through paho's socket pair), then the keepalive."""
        if timeout < 0.0:
            raise ValueError("Invalid timeout.")
        sock, wake = self._sock, self._sockpairR
        # an SSL socket may hold decrypted bytes already: then do not wait
        pending = sock.pending() if hasattr(sock, "pending") else 0
        if pending > 0:
            timeout = 0.0
        mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if self._out_packet else 0)
        selector = selectors.DefaultSelector()
        try:
            try:
                selector.register(sock, mask)
                if wake is not None:
                    selector.register(wake, selectors.EVENT_READ)
                ready = selector.select(timeout)
            except (TypeError, ValueError):  # no socket (disconnected meanwhile) or a stale descriptor
                return MQTTErrorCode.MQTT_ERR_CONN_LOST
            except Exception:  # noqa: BLE001 (paho's own loop answers anything else so)
                return MQTTErrorCode.MQTT_ERR_UNKNOWN
            readable = {key.fileobj for key, ev in ready if ev & selectors.EVENT_READ}
            writable = sock in {key.fileobj for key, ev in ready if ev & selectors.EVENT_WRITE}
            if sock in readable or pending > 0:
                rc = self.loop_read()
                if rc or self._sock is None:
                    return rc
            if wake is not None and wake in readable:
                writable = True  # something was queued after the wait began
                try:
                    wake.recv(10000)
                except BlockingIOError:
                    pass
            if writable:
                rc = self.loop_write()
                if rc or self._sock is None:
                    return rc
        finally:
            selector.close()
        return self.loop_misc()

    # --- reported calls ---------------------------------------------------------------------------------------

    def publish(self, topic: str, payload=None, qos: int = 0, retain: bool = False, properties=None):
        """paho's publish, reported when paho confirms it (or at once when paho refuses it)."""
        sent = PublishedMessageContext(qos=qos, topic=topic, start_time=time.time(),
                                       payload_size=_payload_size(payload))
        info = super().publish(topic, payload=payload, qos=qos, retain=retain, properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self._fire(self._generate_event_name("publish", qos, topic), 0, 0, info.rc, sent._asdict())
        else:
            self._publish_requests[info.mid] = sent
        return info

    def subscribe(self, topic, qos: int = 0, options=None, properties=None):
        """paho's subscribe, reported when the SUBACK arrives (or at once when paho refuses it). A list of topics is
        named after its first."""
        start_time = time.time()
        first = topic if isinstance(topic, str) else topic[0][0]
        result, mid = super().subscribe(topic, qos, options, properties)
        name = self._generate_event_name("subscribe", qos, first)
        context = {"qos": qos, "topic": first, "start_time": start_time}
        if result != mqtt.MQTT_ERR_SUCCESS:
            self._fire(name, 0, 0, result, context)
        elif mid is None:
            self._fire(name, (time.time() - start_time) * 1000, 0, None, context)
        else:
            self._subscribe_requests[mid] = (qos, first, start_time)
        return result, mid


class MqttUser(User):
    """A user connected to an MQTT broker (`host`, `port`; `transport` "tcp" or "websockets" with `ws_path`,
    `tls_context`, `username`/`password`, `protocol`, `client_id`), its client in `self.client`."""

    abstract = True

    host = "localhost"
    port = 1883
    transport = "tcp"
    ws_path = "/mqtt"
    tls_context = None
    client_cls: type[MqttClient] = MqttClient
    client_id = None
    username = None
    password = None
    protocol = mqtt.MQTTv311
    use_loop_selectors: bool = False

    def __init__(self, environment: Environment):
        super().__init__(environment)
        self.client: MqttClient = self.client_cls(
            environment=self.environment,
            transport=self.transport,
            client_id=self.client_id,
            protocol=self.protocol,
            use_loop_selectors=self.use_loop_selectors,
        )
        if self.tls_context:
            self.client.tls_set_context(self.tls_context)
        if self.transport == "websockets" and self.ws_path:
            self.client.ws_set_options(path=self.ws_path)
        if self.username and self.password:
            self.client.username_pw_set(username=self.username, password=self.password)
        self.client.connect_async(host=self.host, port=self.port)
        self.client.loop_start()
