# diff: -u 3 -r 100 -t 3s
# diff-check: all -shares
# diff-counts: abs=0 stop_test:.*|stop_user:.*
# diff-expect: exit=1 failures=0 exceptions=4 count[stop_test:once]=1 count[stop_user:once]=1
"""Tasks that raise: ValueError from a helper (two locustfile frames), KeyError, ZeroDivisionError and a custom
exception become _exceptions.csv rows and exit code 1; RescheduleTask is not an error; StopTest raised in a
task stops only that user; StopUser stops its user."""
from locust import HttpUser, constant, task
from locust.exception import RescheduleTask, StopTest, StopUser


class PaymentDeclined(Exception):
    pass


def parse_price(text):
    return int(text)


class Crashy(HttpUser):
    wait_time = constant(0.05)

    @task
    def value_error(self):
        r = self.client.get("/hello", name="crashy:hello")
        parse_price(r.text)

    @task
    def key_error(self):
        self.client.get("/json", name="crashy:json").json()["missing"]

    @task
    def zero_division(self):
        self.client.get("/items/0", name="crashy:items")
        return 1 / 0

    @task
    def custom_exception(self):
        self.client.post("/echo", json={"card": "4242"}, name="crashy:pay")
        raise PaymentDeclined("card 4242 declined")

    @task
    def reschedule(self):
        self.client.get("/", name="crashy:reschedule")
        raise RescheduleTask()


class StopTestUser(HttpUser):
    fixed_count = 1
    wait_time = constant(0.05)

    @task
    def once(self):
        self.client.get("/hello", name="stop_test:once")
        raise StopTest("only this user stops")


class StopUserUser(HttpUser):
    fixed_count = 1
    wait_time = constant(0.05)

    @task
    def once(self):
        self.client.get("/hello", name="stop_user:once")
        raise StopUser()
