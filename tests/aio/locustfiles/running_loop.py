"""The thread's running loop as coroutine code and sync code see it, while async users park in awaited calls and
sync users run between them: each check's outcome is a request row named "ok: ..." or "bad: ...". A coroutine sees
rlocust's loop running (the same one, before and after its awaited calls); a sync task sees none, and can run its
own `asyncio.run()`, after which the async users still see theirs (src/py/aio_step.rs, "the thread's running
loop"). A coroutine that waits on the hub inside its step (gevent's sleep, as a blocking call made there) has its
loop and task set aside meanwhile, for the others to step and for sync code to see none, and back after it."""

import asyncio

import gevent

from locust import HttpUser, constant, task

LOOPS = set()


def running():
    return asyncio._get_running_loop()  # (asyncio's own, not raising when there is none)


class AsyncUser(HttpUser):
    wait_time = constant(0.01)

    async def verdict(self, ok, what):
        await self.client.get("/hello", name=("ok: " if ok else "bad: ") + what)

    @task
    async def checks(self):
        before = asyncio.get_running_loop()
        LOOPS.add(id(before))
        await self.client.get("/hello", name="call")
        after = running()
        await self.verdict(after is before and before.is_running(), "a coroutine's loop across its calls")
        await self.verdict(len(LOOPS) == 1, "one loop for every user")
        mine = asyncio.current_task()
        gevent.sleep(0.002)  # (a wait on the hub inside the step: the greenlet's `switch_out` sets all aside)
        await self.verdict(running() is before and asyncio.current_task() is mine,
                           "a coroutine's loop and task across a wait inside its step")


class SyncUser(HttpUser):
    # (one: the thread's running loop is the thread's, so a second greenlet's asyncio.run while the first one's loop
    # waits on the hub would see that loop running, under Locust too)
    fixed_count = 1
    wait_time = constant(0.01)

    def verdict(self, ok, what):
        self.client.get("/hello", name=("ok: " if ok else "bad: ") + what)

    @task
    def checks(self):
        self.verdict(running() is None, "no running loop in sync code")

        async def own():
            await asyncio.sleep(0.001)  # (its loop waits on the hub: the async users step meanwhile)
            return asyncio.get_running_loop()

        mine = asyncio.run(own())
        self.verdict(id(mine) not in LOOPS, "asyncio.run has its own loop")
        self.verdict(running() is None, "no running loop after asyncio.run")
