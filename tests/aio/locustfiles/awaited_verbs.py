"""Every verb awaited in a coroutine (issue 54: the verbs are C methods of `_rlocust.Client`, which make the Call to
await themselves): each verb's plain call with and without `name=`, both clients; a session subclass whose own `get`
calls `super().get(...)` inside the coroutine (its body runs once per call, not again when the Call is awaited);
a gather of plain calls; a catch_response block. Prints the override's count at `quitting`."""

import asyncio

from locust import FastHttpUser, HttpUser, constant, events, task
from locust.clients import HttpSession

VERBS = ("get", "post", "put", "patch", "delete", "head", "options")
counts = {"override": 0, "override calls": 0}


class Counting(HttpSession):
    def get(self, url, **kwargs):
        counts["override"] += 1
        return super().get(url, **kwargs)


class Http(HttpUser):
    wait_time = constant(0.05)

    @task
    async def verbs(self):
        for verb in VERBS:
            r = await getattr(self.client, verb)("/echo", name="http " + verb)
            assert r.status_code == 200, (verb, r.status_code)
            if verb != "head":
                assert r.json()["method"] == verb.upper(), r.text
        await self.client.get("/hello")
        rs = await asyncio.gather(*(self.client.get("/hello", name="gathered") for _ in range(3)))
        assert [r.status_code for r in rs] == [200, 200, 200]
        async with self.client.get("/status/404", name="caught", catch_response=True) as r:
            r.success()
        own = Counting(base_url=self.host, request_event=self.environment.events.request, user=self)
        await own.get("/hello", name="override")
        counts["override calls"] += 1


class Fast(FastHttpUser):
    wait_time = constant(0.05)

    @task
    async def verbs(self):
        for verb in VERBS:
            r = await getattr(self.client, verb)("/echo", name="fast " + verb)
            assert r.status_code == 200, (verb, r.status_code)


@events.quitting.add_listener
def _(environment, **kwargs):
    print("COUNTS", counts["override"], counts["override calls"], flush=True)
