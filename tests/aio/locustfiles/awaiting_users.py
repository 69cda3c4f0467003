"""Users that await for a long time when the run ends: each is cancelled at its await (CancelledError there, its
finally blocks run), then its async on_stop runs. The counts are printed at `quitting`."""

import asyncio

from locust import User, constant, events, task

counts = {"cancelled": 0, "finally": 0, "on_stop": 0}


class Waiter(User):
    wait_time = constant(0)

    @task
    async def wait_long(self):
        try:
            await asyncio.sleep(120)
        except asyncio.CancelledError:
            counts["cancelled"] += 1
            raise
        finally:
            counts["finally"] += 1

    async def on_stop(self):
        await asyncio.sleep(0)
        counts["on_stop"] += 1


@events.quitting.add_listener
def _(environment, **kwargs):
    print("COUNTS", counts["cancelled"], counts["finally"], counts["on_stop"], flush=True)
