"""Qdrant users (`locust.contrib.qdrant` of Locust 2.47), on qdrant-client (`pip install qdrant-client`).

A `QdrantUser` subclass sets `collection_name` (required) and its server (`url`, `api_key`, `timeout`; more
QdrantClient keywords in `client_kwargs`, e.g. `{"location": ":memory:"}` or `{"path": ...}` for qdrant-client's
local mode). With `vectors_config` the collection is created when it does not exist yet (`collection_kwargs` go to
`create_collection`). Its `upsert`, `search` (query_points), `scroll` and `delete` are reported with request_type
`qdrant` and the method's name, response time in whole milliseconds, response_length 0; the exception the client
raised is the failure (an empty result is not one: the returned dict says `empty`).
"""

import time

from qdrant_client import QdrantClient
from qdrant_client.models import VectorParams

from locust import User
from locust.contrib._timed import fire, timed


class QdrantLocustClient:
    """A QdrantClient bound to one collection; each call returns a dict with `success`, `response_time` (ms) and
    `result` or `exception`."""

    def __init__(self, url, collection_name, api_key=None, timeout=60, **kwargs):
        self.url = url
        self.collection_name = collection_name
        self.api_key = api_key
        self.timeout = timeout
        self.client = QdrantClient(url=self.url, api_key=self.api_key, timeout=self.timeout, **kwargs)

    def close(self):
        self.client.close()

    def create_collection(self, vectors_config, **kwargs):
        """Create the collection unless it exists."""
        if not self.client.collection_exists(collection_name=self.collection_name):
            self.client.create_collection(collection_name=self.collection_name, vectors_config=vectors_config,
                                          **kwargs)

    def upsert(self, points):
        return timed(lambda: self.client.upsert(collection_name=self.collection_name, points=points))

    def search(self, query, limit=10, query_filter=None, search_params=None, with_payload=True):
        return timed(lambda: self.client.query_points(collection_name=self.collection_name, query=query,
                                                       limit=limit, query_filter=query_filter,
                                                       search_params=search_params, with_payload=with_payload),
                      lambda result: len(result.points) == 0)

    def scroll(self, scroll_filter=None, limit=10, with_payload=True):
        """One page of points: `result` the points, `next_offset` where the next page starts."""
        started = time.time()
        try:
            points, next_offset = self.client.scroll(collection_name=self.collection_name,
                                                     scroll_filter=scroll_filter, limit=limit,
                                                     with_payload=with_payload)
            elapsed = (time.time() - started) * 1000
            empty = len(points) == 0
            return {"success": not empty, "response_time": elapsed, "empty": empty, "result": points,
                    "next_offset": next_offset}
        except Exception as e:
            return {"success": False, "response_time": (time.time() - started) * 1000, "exception": e}

    def delete(self, points_selector):
        return timed(lambda: self.client.delete(collection_name=self.collection_name,
                                                 points_selector=points_selector))


class QdrantUser(User):
    """A user whose calls go to one Qdrant collection through `self.client` (a QdrantLocustClient), each reported
    as a request (request_type `qdrant`)."""

    abstract = True

    url: str = "http://localhost:6333"
    api_key: str | None = None
    collection_name: str | None = None
    timeout: int = 60
    vectors_config: VectorParams | None = None
    client_kwargs: dict | None = None
    collection_kwargs: dict | None = None

    def __init__(self, environment):
        super().__init__(environment)
        if self.collection_name is None:
            raise ValueError("'collection_name' must be provided for QdrantUser")
        self.client_type = "qdrant"
        self.client = QdrantLocustClient(url=self.url, api_key=self.api_key, collection_name=self.collection_name,
                                         timeout=self.timeout, **(self.client_kwargs or {}))
        if self.vectors_config is not None:
            self.client.create_collection(vectors_config=self.vectors_config, **(self.collection_kwargs or {}))

    _fire_event = staticmethod(fire)

    def upsert(self, points):
        result = self.client.upsert(points)
        self._fire_event(self.client_type, "upsert", result)
        return result

    def search(self, query, limit=10, query_filter=None, search_params=None, with_payload=True):
        result = self.client.search(query=query, limit=limit, query_filter=query_filter, search_params=search_params,
                                    with_payload=with_payload)
        self._fire_event(self.client_type, "search", result)
        return result

    def scroll(self, scroll_filter=None, limit=10, with_payload=True):
        result = self.client.scroll(scroll_filter=scroll_filter, limit=limit, with_payload=with_payload)
        self._fire_event(self.client_type, "scroll", result)
        return result

    def delete(self, points_selector):
        result = self.client.delete(points_selector)
        self._fire_event(self.client_type, "delete", result)
        return result

    def on_stop(self):
        self.client.close()
