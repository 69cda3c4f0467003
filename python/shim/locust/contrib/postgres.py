"""PostgreSQL users (`locust.contrib.postgres` of Locust 2.47), on psycopg 3 (install it: `pip install psycopg`).

A `PostgresUser` subclass sets `conn_string`; its tasks call `self.client.execute_query(sql)`, reported as
request_type `postgres_success` or `postgres_failure`, name `execute_query`, response time in whole milliseconds.
"""

import time

import psycopg

from locust import User, events


class PostgresClient:
    def __init__(self, conn_string):
        self.connection = psycopg.connect(conn_string)

    def execute_query(self, query):
        # the success event is fired inside the try, as in Locust: an exception a listener lets through (StopUser,
        # ...) is then reported as the query's failure
        started = time.time()
        try:
            self.connection.execute(query)
            events.request.fire(request_type="postgres_success", name="execute_query",
                                response_time=int((time.time() - started) * 1000), response_length=0)
        except Exception as e:
            events.request.fire(request_type="postgres_failure", name="execute_query",
                                response_time=int((time.time() - started) * 1000), response_length=0, exception=e)

    def close(self):
        self.connection.close()


class PostgresUser(User):
    abstract = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = PostgresClient(conn_string=self.conn_string)

    def on_stop(self):
        self.client.close()
