# diff: -u 3 -r 3 -t 4s
# diff-shares: cluster=1
# diff-expect: exit=1 rows=11 failures=6 exceptions=0
"""Response validation with catch_response (seed 000): .json(), success()/failure(), ResponseError,
RescheduleTask inside the with-block (the request is not reported), request_meta renaming, non-ASCII text."""
from json import JSONDecodeError

from locust import HttpUser, constant, task
from locust.exception import RescheduleTask, ResponseError


class ValidatingUser(HttpUser):
    wait_time = constant(0)

    @task
    def greeting_ok(self):
        with self.client.get("/json", catch_response=True) as response:
            if response.json()["greeting"] != "hello":
                response.failure("Did not get expected value in greeting")

    @task
    def post_json_to_text_page(self):
        with self.client.post("/", json={"foo": 42, "bar": None}, catch_response=True) as response:
            try:
                if response.json()["greeting"] != "hello":
                    response.failure("Did not get expected value in greeting")
            except JSONDecodeError:
                response.failure("Response could not be decoded as JSON")
            except KeyError:
                response.failure("Response did not contain expected key 'greeting'")

    @task
    def missing_key(self):
        with self.client.post("/items/3", json={"foo": 42}, name="/items/[id] post", catch_response=True) as response:
            try:
                if response.json()["greeting"] != "hello":
                    response.failure("Did not get expected value in greeting")
            except KeyError:
                response.failure("Response did not contain expected key 'greeting'")

    @task
    def wrong_text(self):
        with self.client.get("/", catch_response=True) as response:
            if response.text != "Success":
                response.failure("Got wrong response")
            elif response.elapsed.total_seconds() > 0.5:
                response.failure("Request took too long")

    @task
    def not_found_is_fine(self):
        with self.client.get("/does_not_exist/", catch_response=True) as response:
            if response.status_code == 404:
                response.success()

    @task
    def raise_response_error(self):
        with self.client.get("/items/7", name="/items/[id]", catch_response=True) as response:
            if response.json()["price"] < 100:
                raise ResponseError("price too low")

    @task
    def reschedule_in_block(self):
        with self.client.get("/status/503", catch_response=True) as response:
            if response.status_code == 503:
                raise RescheduleTask()
        self.client.get("/never-reached")

    @task
    def korean_failure_text(self):
        with self.client.put("/status/409", json={"title": "수정된 제목"}, catch_response=True) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"수정 실패: {response.status_code}")

    @task
    def rename_via_request_meta(self):
        with self.client.get("/items/9?ref=abc", catch_response=True) as response:
            response.request_meta["name"] = "/items/[id]?ref"

    @task
    def failure_with_exception_object(self):
        with self.client.get("/status/418", catch_response=True) as response:
            response.failure(ValueError("teapot"))

    @task
    def success_overrides_error(self):
        with self.client.delete("/status/500", catch_response=True) as response:
            response.success()

    @task
    def plain_json_without_catch(self):
        assert self.client.get("/json", name="/json plain").json()["items"] == [1, 2, 3]
