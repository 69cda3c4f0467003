"""An async transition of a MarkovTaskSet beside a sync one (they alternate), and a plain async task counted by
--iterations (MODE=iterations selects it)."""

import os

from locust import HttpUser, MarkovTaskSet, constant, task, transition


class Walk(MarkovTaskSet):
    @transition("b")
    async def a(self):
        await self.client.get("/hello", name="markov a")

    @transition("a")
    def b(self):
        self.client.get("/world", name="markov b")


if os.environ.get("MODE") == "iterations":
    class Counted(HttpUser):
        wait_time = constant(0)

        @task
        async def once(self):
            await self.client.get("/hello", name="iteration")
else:
    class Walker(HttpUser):
        wait_time = constant(0.02)
        tasks = [Walk]
