"""A client verb's call made in coroutine code is a coroutine to every asyncio API, for both clients: each check's
outcome is a request row named "ok: ..." or "bad: ...". A call closed before its await is refused and never sent;
one handed to create_task or gather runs as a Task; `send(None)` by hand makes it and ends with StopIteration; a
call kept in a reference cycle is collected; an exception thrown into a call before its await ends it unsent, as a
coroutine that has not started ends."""

import asyncio
import collections.abc
import gc
import weakref

from locust import FastHttpUser, HttpUser, constant


class Box(list):
    pass


async def verdict(self, ok, what):
    await self.client.get("/hello", name=("ok: " if ok else "bad: ") + what)


async def checks(self):
    c = self.client.get("/hello", name="checked")
    await verdict(self, asyncio.iscoroutine(c) and isinstance(c, collections.abc.Coroutine), "a coroutine")
    r = await c
    await verdict(self, r.status_code == 200, "awaited")

    closed = self.client.get("/hello", name="closed: never sent")
    closed.close()
    try:
        await closed
        await verdict(self, False, "closed")
    except RuntimeError as e:
        await verdict(self, "cannot reuse" in str(e), "closed")

    r = await asyncio.create_task(self.client.post("/echo", data="x", name="as a task"))
    await verdict(self, r.status_code == 200, "as a task")
    rs = await asyncio.gather(*(self.client.get("/hello", name="gathered") for _ in range(3)))
    await verdict(self, [r.status_code for r in rs] == [200] * 3, "gathered")

    by_hand = self.client.get("/hello", name="by hand")
    try:
        by_hand.send(None)
        await verdict(self, False, "send by hand")
    except StopIteration as e:
        await verdict(self, e.value.status_code == 200, "send by hand")

    thrown = self.client.get("/hello", name="thrown: never sent")
    try:
        thrown.throw(ValueError("before its await"))
        await verdict(self, False, "thrown before its await")
    except ValueError as e:
        try:
            await thrown
            await verdict(self, False, "thrown before its await")
        except RuntimeError as again:  # (it ended with what was thrown: a second await is refused)
            await verdict(self, str(e) == "before its await" and "cannot reuse" in str(again),
                          "thrown before its await")

    box = Box()
    kept = self.client.get("/hello", name=box)  # never awaited: a cycle through the call's arguments
    box.append(kept)
    alive = weakref.ref(box)
    del box, kept
    gc.collect()
    await verdict(self, alive() is None, "a call in a cycle is collected")


class Requests(HttpUser):
    wait_time = constant(0.05)
    tasks = [checks]


class Fast(FastHttpUser):
    wait_time = constant(0.05)
    tasks = [checks]
