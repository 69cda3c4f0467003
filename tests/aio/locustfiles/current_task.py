"""asyncio's task machinery around a user's own coroutines: each check's outcome is a request row named "ok: ..." or
"bad: ...". Timeouts around an awaited call and around a sleep, a TaskGroup whose child fails while the parent waits
in a call, wait_for, a self-cancel, the cancel count starting at 0 for every coroutine, one current task per user
for its life, distinct between users, and not listed by asyncio.all_tasks(); a call awaited while a cancel is
pending (one the coroutine was not given yet, as when it dropped the future a cancelled call's `send` yielded) is not
sent: the cancel is delivered at its await, as asyncio delivers it at a call's first wait; a call awaited again,
after it answered or after it raised, is refused as a coroutine's second await is."""

import asyncio

from locust import HttpUser, constant, task

SEEN = {}  # user -> its current task, from its first coroutine


class Checker(HttpUser):
    wait_time = constant(0.05)

    async def verdict(self, ok, what):
        await self.client.get("/hello", name=("ok: " if ok else "bad: ") + what)

    async def on_start(self):
        SEEN[self] = asyncio.current_task()
        asyncio.current_task().cancel()  # a cancel request left pending when on_start ends...
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            pass  # ...delivered and swallowed: the count stays 1, which the next coroutine must not see

    @task
    async def checks(self):
        me = asyncio.current_task()
        await self.verdict(me is SEEN[self], "same task for the user's life")
        await self.verdict(all(t is not me for u, t in SEEN.items() if u is not self), "a task per user")
        await self.verdict(me.cancelling() == 0, "cancel count starts at 0")
        await self.verdict(me not in asyncio.all_tasks(), "not in all_tasks")

        try:
            async with asyncio.timeout(0.05):
                await self.client.get("/delay/400", name="abandoned")
            await self.verdict(False, "timeout around a call")
        except TimeoutError:
            await self.verdict(True, "timeout around a call")

        try:
            async with asyncio.timeout(0.05):
                await asyncio.sleep(5)
            await self.verdict(False, "timeout around a sleep")
        except TimeoutError:
            await self.verdict(True, "timeout around a sleep")

        async def fails():
            await asyncio.sleep(0.01)
            raise ValueError("child")

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(fails())
                await self.client.get("/delay/400", name="abandoned")
            await self.verdict(False, "task group")
        except* ValueError as e:
            await self.verdict(len(e.exceptions) == 1, "task group")

        try:
            await asyncio.wait_for(self.client.get("/delay/400", name="abandoned"), 0.05)
            await self.verdict(False, "wait_for")
        except TimeoutError:
            await self.verdict(True, "wait_for")

        me.cancel()
        try:
            await asyncio.sleep(0)
            await self.verdict(False, "self-cancel")
        except asyncio.CancelledError:
            await self.verdict(me.uncancel() == 0, "self-cancel")

        me.cancel()
        try:
            await self.client.get("/hello", name="bad: sent with a cancel pending")
            await self.verdict(False, "a call with a cancel pending")
        except asyncio.CancelledError:
            await self.verdict(me.uncancel() == 0, "a call with a cancel pending")

        try:
            async with asyncio.timeout(0.05):
                slow = self.client.get("/delay/400", name="abandoned")
                slow.send(None)  # parked in the call, which the timeout ends; the future it yields is dropped
                await self.client.get("/hello", name="bad: sent after a dropped cancel")
            await self.verdict(False, "a dropped cancel")
        except TimeoutError:
            await self.verdict(True, "a dropped cancel")

        pages = await asyncio.gather(self.client.get("/hello", name="gathered"), self.client.get("/hello", name="gathered"))
        await self.verdict([p.status_code for p in pages] == [200, 200], "gather")

        async def twice(call):
            try:
                await call
            except TypeError:
                pass  # (the call itself raised)
            try:
                await call
            except RuntimeError as e:
                return "cannot reuse" in str(e)
            return False

        await self.verdict(await twice(self.client.get("/hello", name="once")), "a call awaited twice")
        await self.verdict(await twice(self.client.get("/hello", no_such_argument=1)), "a raising call awaited twice")
