"""locust.contrib.milvus against milvus-lite (pymilvus with a local database file, milvus.db in the working
directory): the collection is created from the schema the user passes to MilvusUser.__init__ (as in Locust's
example); insert, upsert, search (with a recall row), query and delete are `milvus` rows; a query of a collection
that does not exist fails with pymilvus' MilvusException."""

import os
import random

from pymilvus import CollectionSchema, DataType, FieldSchema
from pymilvus.milvus_client import IndexParams

from locust import constant, task
from locust.contrib.milvus import MilvusUser
from locust.exception import StopUser

DIMENSION = 8
MAX_ITERATIONS = 15
URI = os.path.abspath("milvus.db")


def vector():
    return [random.random() for _ in range(DIMENSION)]


class Bounded(MilvusUser):
    abstract = True
    wait_time = constant(0.05)
    iterations = 0

    def count(self):
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise StopUser()


class Vectors(Bounded):
    def __init__(self, environment):
        schema = CollectionSchema(fields=[
            FieldSchema(name="id", dtype=DataType.INT64, is_primary=True),
            FieldSchema(name="vector", dtype=DataType.FLOAT_VECTOR, dim=DIMENSION),
            FieldSchema(name="name", dtype=DataType.VARCHAR, max_length=50),
        ])
        index_params = IndexParams()
        index_params.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        super().__init__(environment, uri=URI, collection_name="rlocust", schema=schema, index_params=index_params,
                         consistency_level="Strong")

    def on_start(self):
        self.insert([{"id": i, "vector": vector(), "name": f"item_{i}"} for i in range(1, 21)])
        # every row at least once, whatever the random task choice does in the bounded run
        self.write_once()

    @task(3)
    def search_vectors(self):
        self.count()
        self.search(data=[vector()], anns_field="vector", limit=3, calculate_recall=True,
                    ground_truth=list(range(1, 21)))

    @task
    def write(self):
        self.count()
        self.write_once()

    def write_once(self):
        item = random.randint(100, 10000)
        self.upsert([{"id": item, "vector": vector(), "name": f"item_{item}"}])
        self.query(filter="id < 5")
        self.delete(filter=f"id == {item}")


class Missing(Bounded):
    def __init__(self, environment):
        super().__init__(environment, uri=URI, collection_name="never_created")

    @task
    def query_missing(self):
        self.count()
        self.query(filter="id < 5")
