"""What a task's exceptions do when the task is a coroutine, as for a sync one: a ValueError lands in the exceptions
table with its traceback (the coroutine's frame in it), `self.interrupt()` leaves a TaskSet (its async on_stop
runs), StopUser ends the user (its on_stop runs), and RescheduleTask skips the wait."""

import asyncio

from locust import HttpUser, TaskSet, constant, events, task
from locust.exception import StopUser

seen = {"taskset_stop": 0, "user_stop": 0, "stop_user_raised": 0}


class Inner(TaskSet):
    @task
    async def leave(self):
        await self.client.get("/hello", name="inner")
        self.interrupt()

    async def on_stop(self):
        await asyncio.sleep(0)
        seen["taskset_stop"] += 1


class Failing(HttpUser):
    wait_time = constant(0.05)
    tasks = {Inner: 1}

    @task
    async def explode(self):
        await self.client.get("/json", name="before-boom")
        raise ValueError("boom from a coroutine")


class Quitter(HttpUser):
    wait_time = constant(0.05)
    fixed_count = 2

    @task
    async def quit_soon(self):
        await self.client.get("/hello", name="quitter")
        seen["stop_user_raised"] += 1
        raise StopUser()

    def on_stop(self):
        seen["user_stop"] += 1


@events.quitting.add_listener
def _(environment, **kwargs):
    print("SEEN", seen["taskset_stop"], seen["user_stop"], seen["stop_user_raised"], flush=True)
