"""Milvus users (`locust.contrib.milvus` of Locust 2.47), on pymilvus' MilvusClient (`pip install pymilvus`; a
local file URI such as `./milvus.db` needs `pip install milvus-lite` too).

Importing it monkey-patches with gevent and makes grpc cooperative (`grpc.experimental.gevent.init_gevent()`), as
Locust's module does. A `MilvusUser` subclass passes its connection and collection to `__init__` (`uri`, `token`,
`collection_name`, `db_name`, `timeout`; with `schema` the collection is created, `index_params` and other keywords
going to `create_collection`). Its `insert`, `upsert`, `search`, `hybrid_search`, `query` and `delete` are reported
with request_type `milvus` and the method's name, response time in whole milliseconds, response_length 0; the
exception pymilvus raised is the failure (an empty result is not one: the returned dict says `empty`). With
`calculate_recall=True` and `ground_truth`, a search that found something is followed by a `recall` request whose
"response time" is the recall in percent.
"""

import gevent.monkey

gevent.monkey.patch_all()

from abc import ABC, abstractmethod  # noqa: E402
from typing import Any  # noqa: E402

import grpc.experimental.gevent as grpc_gevent  # noqa: E402

grpc_gevent.init_gevent()

from pymilvus import CollectionSchema, MilvusClient  # noqa: E402
from pymilvus.milvus_client import IndexParams  # noqa: E402

from locust import User, events  # noqa: E402
from locust.contrib._timed import fire, timed  # noqa: E402


class BaseClient(ABC):
    """What a MilvusUser's client offers; each call returns a dict with `success`, `response_time` (ms) and
    `result` or `exception`."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def create_collection(self, schema, index_params, **kwargs) -> None: ...

    @abstractmethod
    def insert(self, data) -> dict[str, Any]: ...

    @abstractmethod
    def upsert(self, data) -> dict[str, Any]: ...

    @abstractmethod
    def search(self, data, anns_field, limit, filter="", search_params=None, output_fields=None,
               calculate_recall=False, ground_truth=None) -> dict[str, Any]: ...

    @abstractmethod
    def hybrid_search(self, reqs, ranker, limit, output_fields=None) -> dict[str, Any]: ...

    @abstractmethod
    def query(self, filter, output_fields=None) -> dict[str, Any]: ...

    @abstractmethod
    def delete(self, filter) -> dict[str, Any]: ...


def _no_hits(result):
    return len(result) == 0 or all(len(hits) == 0 for hits in result)


class MilvusV2Client(BaseClient):
    """pymilvus' MilvusClient bound to one collection."""

    def __init__(self, uri, collection_name, token="root:Milvus", db_name="default", timeout=60):
        self.uri = uri
        self.collection_name = collection_name
        self.token = token
        self.db_name = db_name
        self.timeout = timeout
        self.client = MilvusClient(uri=self.uri, token=self.token, db_name=self.db_name, timeout=self.timeout)

    def close(self):
        self.client.close()

    def create_collection(self, schema, index_params, **kwargs):
        self.client.create_collection(collection_name=self.collection_name, schema=schema,
                                      index_params=index_params, **kwargs)

    def insert(self, data):
        return timed(lambda: self.client.insert(collection_name=self.collection_name, data=data))

    def upsert(self, data):
        return timed(lambda: self.client.upsert(collection_name=self.collection_name, data=data))

    def search(self, data, anns_field, limit, filter="", search_params=None, output_fields=None,
               calculate_recall=False, ground_truth=None):
        fields = ["id"] if output_fields is None else output_fields
        outcome = timed(lambda: self.client.search(collection_name=self.collection_name, data=data,
                                                    anns_field=anns_field, filter=filter, limit=limit,
                                                    search_params=search_params, output_fields=fields),
                         _no_hits)
        if calculate_recall and ground_truth is not None and outcome.get("empty") is False:
            outcome["recall"] = self.get_recall(outcome["result"], ground_truth, limit)
        return outcome

    def hybrid_search(self, reqs, ranker, limit, output_fields=None):
        fields = ["id"] if output_fields is None else output_fields
        return timed(lambda: self.client.hybrid_search(collection_name=self.collection_name, reqs=reqs,
                                                        ranker=ranker, limit=limit, output_fields=fields,
                                                        timeout=self.timeout),
                      _no_hits)

    @staticmethod
    def get_recall(search_results, ground_truth, limit=None):
        """The share of the first `limit` ids of `ground_truth` found among the first query's hits (0.0 when that
        cannot be computed, e.g. fewer ground-truth ids than `limit`)."""
        try:
            found = []
            if isinstance(search_results, list) and search_results:
                first = search_results[0]
                for hit in first if isinstance(first, list) else search_results:
                    if isinstance(hit, dict) and "id" in hit:
                        found.append(hit["id"])
                    elif hasattr(hit, "get"):
                        found.append(hit.get("id"))
            if limit is None:
                limit = len(found)
            if len(ground_truth) < limit:
                raise ValueError(f"Ground truth length is less than limit: {len(ground_truth)} < {limit}")
            expected = set(ground_truth[:limit])
            return len(expected & set(found)) / len(expected)
        except Exception:
            return 0.0

    def query(self, filter, output_fields=None):
        fields = ["id"] if output_fields is None else output_fields
        return timed(lambda: self.client.query(collection_name=self.collection_name, filter=filter,
                                                output_fields=fields),
                      lambda result: len(result) == 0)

    def delete(self, filter):
        return timed(lambda: self.client.delete(collection_name=self.collection_name, filter=filter))


class MilvusUser(User):
    """A user whose calls go to one Milvus collection through `self.client` (a MilvusV2Client), each reported as a
    request (request_type `milvus`)."""

    abstract = True

    def __init__(self, environment, uri: str = "http://localhost:19530", token: str = "root:Milvus",
                 collection_name: str = "test_collection", db_name: str = "default", timeout: int = 60,
                 schema: CollectionSchema | None = None, index_params: IndexParams | None = None, **kwargs):
        super().__init__(environment)
        if uri is None:
            raise ValueError("'uri' must be provided for MilvusUser")
        if collection_name is None:
            raise ValueError("'collection_name' must be provided for MilvusUser")
        self.client_type = "milvus"
        self.client = MilvusV2Client(uri=uri, token=token, collection_name=collection_name, db_name=db_name,
                                     timeout=timeout)
        if schema is not None:
            self.client.create_collection(schema=schema, index_params=index_params, **kwargs)

    _fire_event = staticmethod(fire)

    @staticmethod
    def _fire_recall_event(request_type: str, name: str, result: dict[str, Any]):
        # the recall, in percent, stands in the response time column
        events.request.fire(request_type=f"{request_type}", name=name,
                            response_time=int(result.get("recall", 0.0) * 100),
                            response_length=result.get("retrieved_count", 0), exception=result.get("exception"))

    def insert(self, data):
        result = self.client.insert(data)
        self._fire_event(self.client_type, "insert", result)
        return result

    def upsert(self, data):
        result = self.client.upsert(data)
        self._fire_event(self.client_type, "upsert", result)
        return result

    def search(self, data, anns_field, limit, filter="", search_params=None, output_fields=None,
               calculate_recall=False, ground_truth=None):
        result = self.client.search(data, anns_field, limit, filter=filter, search_params=search_params,
                                    output_fields=output_fields, calculate_recall=calculate_recall,
                                    ground_truth=ground_truth)
        self._fire_event(self.client_type, "search", result)
        if calculate_recall and "recall" in result:
            self._fire_recall_event(self.client_type, "recall", result)
        return result

    def hybrid_search(self, reqs, ranker, limit, output_fields=None):
        result = self.client.hybrid_search(reqs, ranker, limit, output_fields)
        self._fire_event(self.client_type, "hybrid_search", result)
        return result

    def query(self, filter, output_fields=None):
        result = self.client.query(filter=filter, output_fields=output_fields)
        self._fire_event(self.client_type, "query", result)
        return result

    def delete(self, filter):
        result = self.client.delete(filter)
        self._fire_event(self.client_type, "delete", result)
        return result

    def on_stop(self):
        self.client.close()
