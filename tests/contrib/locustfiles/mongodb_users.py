"""locust.contrib.mongodb without a MongoDB server (none is packaged for Debian 12 or PyPI): MONGO_URI names a
loopback port where nothing listens, so every query is the `MONGODB QUERY` failure row with pymongo's
ServerSelectionTimeoutError (after the 300 ms selection timeout the URI sets)."""

import os

from locust import constant, task
from locust.contrib.mongodb import MongoDBUser
from locust.exception import StopUser


class Finder(MongoDBUser):
    conn_string = os.environ["MONGO_URI"]
    db_name = "test"
    wait_time = constant(0.05)
    iterations = 0

    @task
    def find(self):
        self.iterations += 1
        if self.iterations > 3:
            raise StopUser()
        self.client.execute_query("collection", {"field": "value"})
