"""One user whose task awaits ten slow calls at once: the engine has ten in flight."""

import asyncio

from locust import HttpUser, constant, task


class Burst(HttpUser):
    wait_time = constant(0)

    @task
    async def burst(self):
        await asyncio.gather(*(self.client.get("/delay/400", name="slow") for _ in range(10)))
