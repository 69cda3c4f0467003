"""`async def` tasks beside sync ones (rlocust; docs/async.md): an async login in on_start, a page whose ten assets
load at once (`asyncio.gather`: ten requests in flight from one user), a catch_response block with `async with`.

    rlocust -f examples/async/gather_page.py -H http://127.0.0.1:8080 -u 20 -r 20 -t 30s --headless

(`rlocust-target --port 8080` serves every path used here.)
"""

import asyncio

from locust import HttpUser, between, task


class PageUser(HttpUser):
    wait_time = between(0.5, 1.5)

    async def on_start(self):
        r = await self.client.post("/login", json={"username": "alice", "password": "secret"})
        r.raise_for_status()  # the session cookie is kept for the user's later calls, as with a sync login

    @task(3)
    async def page(self):
        home = await self.client.get("/")
        assert home.status_code == 200
        # a browser's burst: the page's assets, all in flight at once, each its own row under one name
        assets = await asyncio.gather(*(self.client.get(f"/items/{i}", name="/items/[id]") for i in range(10)))
        assert all(r.status_code == 200 for r in assets)

    @task
    async def profile(self):
        async with self.client.get("/me", catch_response=True) as r:
            if r.json().get("user") != "alice":
                r.failure("not logged in")

    @task
    def sync_task(self):
        # a plain task of the same user, unchanged
        self.client.get("/hello")
