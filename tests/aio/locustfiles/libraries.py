"""httpx's AsyncClient and aiohttp's ClientSession inside users, beside `await self.client` calls (a catch_response
block that fails its call included) and FastHttpUser's awaitable client (rest() and iter_lines included). The
libraries' calls are reported with events.request."""

import time

import aiohttp
import httpx

from locust import FastHttpUser, HttpUser, constant, events, task


def report(name, start, error=None, length=0):
    events.request.fire(request_type="LIB", name=name, response_time=(time.perf_counter() - start) * 1000,
                        response_length=length, exception=error, context={})


class Libraries(HttpUser):
    wait_time = constant(0.05)

    async def on_start(self):
        self.httpx = httpx.AsyncClient()
        self.aiohttp = aiohttp.ClientSession()

    @task
    async def with_httpx(self):
        start = time.perf_counter()
        r = await self.httpx.get(self.host + "/hello")
        report("httpx", start, None if r.status_code == 200 else Exception(r.status_code), len(r.content))

    @task
    async def with_aiohttp(self):
        start = time.perf_counter()
        async with self.aiohttp.get(self.host + "/hello") as r:
            body = await r.read()
        report("aiohttp", start, None if r.status == 200 else Exception(r.status), len(body))

    @task
    async def with_client(self):
        await self.client.get("/json", name="client")

    @task
    async def caught(self):
        async with self.client.get("/hello", name="caught", catch_response=True) as r:
            if r.status_code == 200:
                r.failure("marked failed in the block")

    async def on_stop(self):
        await self.httpx.aclose()
        await self.aiohttp.close()


class Fast(FastHttpUser):
    wait_time = constant(0.05)

    @task
    async def fast(self):
        r = await self.client.get("/json", name="fast get")
        assert r.json()
        async with self.rest("POST", "/echo", json={"a": 1}, name="fast rest") as resp:
            if resp.js is None:
                resp.failure("no JSON")
        lines = [line async for line in self.client.iter_lines("/hello", name="fast lines")]
        assert lines
