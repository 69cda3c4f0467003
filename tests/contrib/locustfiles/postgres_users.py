"""locust.contrib.postgres against a real PostgreSQL (tests/contrib starts it; PG_DSN names it): good queries are
`postgres_success` rows, a query of a missing table the `postgres_failure` row with psycopg's UndefinedTable."""

import os

from locust import constant, task
from locust.contrib.postgres import PostgresUser
from locust.exception import StopUser

MAX_ITERATIONS = 20


class Bounded(PostgresUser):
    abstract = True
    conn_string = os.environ["PG_DSN"]
    wait_time = constant(0.05)
    iterations = 0

    def count(self):
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise StopUser()


class Reader(Bounded):
    @task
    def read(self):
        self.count()
        self.client.execute_query("SELECT count(*) FROM pg_class")
        self.client.execute_query("SELECT 1")


class BadQuery(Bounded):
    @task
    def missing_table(self):
        self.count()
        self.client.execute_query("SELECT * FROM no_such_table")
        self.client.connection.rollback()  # else every later statement fails with InFailedSqlTransaction
