"""Sync and async tasks mixed in TaskSets (rlocust; docs/async.md): a SequentialTaskSet whose steps alternate,
an async step that leaves with `self.interrupt()`, weights and tags as usual, and a task that times out part of
its work with `asyncio.timeout` (the cancelled call is abandoned: no row).

    rlocust -f examples/async/mixed_tasksets.py -H http://127.0.0.1:8080 -u 10 -r 10 -t 30s --headless
"""

import asyncio

from locust import HttpUser, SequentialTaskSet, constant, tag, task


class Checkout(SequentialTaskSet):
    @task
    async def open_cart(self):
        await self.client.get("/items/1", name="cart")

    @task
    def add_item(self):
        self.client.post("/echo", json={"item": 1}, name="add")

    @task
    async def pay(self):
        async with asyncio.TaskGroup() as group:
            group.create_task(self.client.get("/json", name="pay: price"))
            group.create_task(self.client.get("/hello", name="pay: token"))
        self.interrupt()  # back to the user's tasks, as in a sync TaskSet


class Shopper(HttpUser):
    wait_time = constant(0.2)
    tasks = {Checkout: 1}

    @tag("browse")
    @task(2)
    async def browse(self):
        try:
            async with asyncio.timeout(0.05):
                await self.client.get("/delay/500", name="slow (abandoned)")
        except TimeoutError:
            pass
        await self.client.get("/items/2", name="browse")
