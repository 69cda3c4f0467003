"""locust.contrib.mongodb against a MongoDB wire-protocol responder (MONGO_URI, tests/contrib/servers/mongo_wire.py:
no MongoDB server is packaged for Debian 12) and a loopback port where nothing listens (MONGO_DEAD_URI). All is the
one `MONGODB QUERY` row: finds that succeed, a find the server refuses (OperationFailure) and finds that find no
server (ServerSelectionTimeoutError, after the 300 ms selection timeout the URI sets)."""

import os

from locust import constant, task
from locust.contrib.mongodb import MongoDBUser
from locust.exception import StopUser


class Bounded(MongoDBUser):
    abstract = True
    db_name = "test"
    wait_time = constant(0.05)
    iterations = 0
    limit = 20
    collection = "collection"

    @task
    def find(self):
        self.iterations += 1
        if self.iterations > self.limit:
            raise StopUser()
        self.client.execute_query(self.collection, {"field": "value"})


class Finder(Bounded):
    conn_string = os.environ["MONGO_URI"]


class Broken(Bounded):
    conn_string = os.environ["MONGO_URI"]
    collection = "broken"


class Unreachable(Bounded):
    conn_string = os.environ["MONGO_DEAD_URI"]
    limit = 3
