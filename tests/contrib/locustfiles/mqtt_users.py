"""locust.contrib.mqtt against a real Mosquitto broker (MQTT_PORT): connect, subscribe and QoS 0/1 publishes
reported as `MQTT` rows; a client of a port where nothing listens (DEAD_PORT) fails its publishes with paho's
MQTT_ERR_NO_CONN. A custom client class renames its events, as Locust's example does."""

import os

import gevent

from locust import constant, task
from locust.contrib.mqtt import MqttClient, MqttUser
from locust.exception import StopUser

MAX_ITERATIONS = 20


class RenamingClient(MqttClient):
    def _generate_event_name(self, event_type, qos, topic):
        return f"mqtt:{event_type}:{qos}"


class Publisher(MqttUser):
    host = "127.0.0.1"
    port = int(os.environ["MQTT_PORT"])
    wait_time = constant(0.05)
    iterations = 0

    def on_start(self):
        for _ in range(100):  # the connection is made in paho's loop greenlet: wait for it (at most 5 s)
            if self.client.is_connected():
                break
            gevent.sleep(0.05)
        self.client.subscribe("locust/in", qos=1)
        self.client.subscribe("locust/zero", qos=0)

    @task
    def publish(self):
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise StopUser()
        self.client.publish("locust/a", b"hello world", qos=0)
        self.client.publish("locust/b", "x" * 10, qos=1)


class Renamed(Publisher):
    client_cls = RenamingClient
    use_loop_selectors = True


class Unconnected(MqttUser):
    host = "127.0.0.1"
    port = int(os.environ["DEAD_PORT"])
    wait_time = constant(0.2)
    iterations = 0

    @task
    def publish(self):
        self.iterations += 1
        if self.iterations > 5:
            raise StopUser()
        self.client.publish("locust/dead", b"hi", qos=1)
