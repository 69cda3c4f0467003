"""MongoDB users (`locust.contrib.mongodb` of Locust 2.47), on pymongo (`pip install pymongo`).

A `MongoDBUser` subclass sets `conn_string` and `db_name`; `self.client.execute_query(collection, query)` runs a
find and reads all its documents (a cursor alone sends nothing), reported as request_type `MONGODB`, name `QUERY`,
response time in whole milliseconds, response_length 0 (a PyMongoError is the failure; other errors propagate).
"""

import time

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from locust import User, events


class MongoDBClient(MongoClient):
    def __init__(self, conn_string, db_name):
        super().__init__(conn_string)
        self.db = self[db_name]

    def execute_query(self, collection_name, query):
        started = time.time()
        try:
            list(self.db[collection_name].find(query))
            events.request.fire(request_type="MONGODB", name="QUERY", response_time=int((time.time() - started) * 1000),
                                response_length=0)
        except PyMongoError as e:
            events.request.fire(request_type="MONGODB", name="QUERY", response_time=int((time.time() - started) * 1000),
                                response_length=0, exception=e)


class MongoDBUser(User):
    abstract = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = MongoDBClient(conn_string=self.conn_string, db_name=self.db_name)

    def on_stop(self):
        self.client.close()
