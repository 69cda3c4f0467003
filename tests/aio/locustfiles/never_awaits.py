"""A coroutine that never awaits (it never gives the loop back): the run still ends, as with a sync task that never
yields (SYNC=1 makes it that sync task)."""

import os

from locust import User, constant, task


class Busy(User):
    wait_time = constant(0)

    if os.environ.get("SYNC"):
        @task
        def spin(self):
            while True:
                pass
    else:
        @task
        async def spin(self):
            while True:
                pass
