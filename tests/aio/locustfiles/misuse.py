"""Common mistakes inside an async task, each with a message that says what to write instead."""

from locust import HttpUser, constant, task


class Careless(HttpUser):
    wait_time = constant(0.2)

    @task
    async def forgot_await(self):
        r = self.client.get("/hello", name="never sent")
        r.status_code  # noqa: B018

    @task
    async def sync_with(self):
        with self.client.get("/hello", catch_response=True, name="never sent either"):
            pass
