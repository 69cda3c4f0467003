"""A locustfile that imports an installed package (faker) and a sibling module, and reports where `locust` came from."""
import os

from common.auth import credentials
from faker import Faker

import locust
from locust import HttpUser, events, task
from locust.exception import StopUser

fake = Faker()


@events.test_start.add_listener
def report(environment, **_kw):
    with open(os.environ["PACKAGING_OUT"], "w") as f:
        f.write(locust.__file__ + "\n")


class Visitor(HttpUser):
    @task
    def login(self):
        self.client.post("/login", json=credentials(fake))
        raise StopUser()
