"""A sync task that runs its own event loop with asyncio.run() while other users' coroutines run on rlocust's loop:
rlocust's loop is the thread's running loop only while its greenlet runs, so it is not "already running" there.
(One such user: two greenlets inside asyncio.run() at once collide under gevent alone too, Locust #2383.)"""

import asyncio

from locust import HttpUser, constant, task


async def compute():
    await asyncio.sleep(0.01)
    return 42


class OwnLoop(HttpUser):
    wait_time = constant(0.02)
    fixed_count = 1

    @task
    def sync_with_own_loop(self):
        assert asyncio.run(compute()) == 42
        self.client.get("/hello", name="sync")


class SharedLoop(HttpUser):
    wait_time = constant(0.02)

    @task
    async def on_the_shared_loop(self):
        await asyncio.sleep(0.005)
        await self.client.get("/world", name="async")
