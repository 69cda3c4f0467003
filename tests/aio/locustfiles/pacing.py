"""constant_pacing between async tasks: each task takes ~0.1 s, each iteration starts every 0.5 s."""

import asyncio

from locust import HttpUser, constant_pacing, task


class Paced(HttpUser):
    wait_time = constant_pacing(0.5)

    @task
    async def paced(self):
        await asyncio.sleep(0.1)
        await self.client.get("/hello", name="paced")
