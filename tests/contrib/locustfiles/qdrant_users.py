"""locust.contrib.qdrant against qdrant-client's local mode (an in-memory collection per user, no server process):
upsert, search, scroll and delete are `qdrant` rows; a search of a collection that was never created fails with
the client's ValueError."""

import random

from qdrant_client.models import Distance, PointStruct, VectorParams

from locust import constant, task
from locust.contrib.qdrant import QdrantUser
from locust.exception import StopUser

DIMENSION = 8
MAX_ITERATIONS = 20


def vector():
    return [random.random() for _ in range(DIMENSION)]


class LocalQdrant(QdrantUser):
    abstract = True
    url = None  # qdrant-client's local mode: `location` instead of a server URL
    client_kwargs = {"location": ":memory:"}
    wait_time = constant(0.05)
    iterations = 0

    def count(self):
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise StopUser()


class Vectors(LocalQdrant):
    collection_name = "rlocust"
    vectors_config = VectorParams(size=DIMENSION, distance=Distance.COSINE)

    def on_start(self):
        self.upsert([PointStruct(id=i, vector=vector(), payload={"n": i}) for i in range(1, 11)])
        # every row at least once, whatever the random task choice does in the bounded run
        self.write_once()

    @task(3)
    def find(self):
        self.count()
        self.search(query=vector(), limit=3)

    @task
    def write(self):
        self.count()
        self.write_once()

    def write_once(self):
        point_id = random.randint(11, 1000)
        self.upsert([PointStruct(id=point_id, vector=vector(), payload={"n": point_id})])
        self.scroll(limit=5)
        self.delete(points_selector=[point_id])


class Missing(LocalQdrant):
    collection_name = "never_created"

    @task
    def find(self):
        self.count()
        self.search(query=vector(), limit=3)
