"""sys.exit(3) in an asyncio task a user's coroutine started (it runs in the loop's greenlet): the process ends with
code 3, as a sync task's sys.exit(3) ends it."""

import asyncio
import sys

from locust import HttpUser, constant, task


async def leave():
    await asyncio.sleep(0.01)
    sys.exit(3)


class Leaver(HttpUser):
    wait_time = constant(0.1)

    @task
    async def start_and_leave(self):
        await self.client.get("/hello", name="before exit")
        await asyncio.gather(leave())
