"""OpenAI users (`locust.contrib.oai` of Locust 2.47, experimental there too), on the openai package (`pip install
openai`) and its httpx client. Importing it needs OPENAI_API_KEY set, as in Locust.

Each HTTP exchange of the OpenAI client is reported: request_type the method, name the URL path (or the name of a
`rename_request` block), response_length the response's `usage.output_tokens`, failure an httpx.HTTPStatusError.
"""

import os
import time
from contextlib import contextmanager

import httpx
from openai import OpenAI

from locust.user import User

if "OPENAI_API_KEY" not in os.environ:
    raise Exception("You need to set OPENAI_API_KEY env var to use OpenAIUser")


class OpenAIClient(OpenAI):
    def __init__(self, request_event, user, *args, **kwargs):
        self.request_name = None
        self.user = user

        def on_request(request):
            request.start_time = time.time()
            request.start_perf_counter = time.perf_counter()

        def on_response(response):
            response.read()
            elapsed = (time.perf_counter() - response.request.start_perf_counter) * 1000
            exception = None
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError as e:
                exception = e
            request_event.fire(
                request_type=response.request.method,
                name=self.request_name or response.url.path,
                context={},
                response=response,
                exception=exception,
                start_time=response.request.start_time,
                response_time=elapsed,
                response_length=response.json().get("usage", {}).get("output_tokens", 0),
                url=response.url,
            )

        super().__init__(*args, **kwargs,
                         http_client=httpx.Client(event_hooks={"request": [on_request], "response": [on_response]}))

    @contextmanager
    def rename_request(self, name):
        """Report the calls of the with-block under `name`."""
        self.request_name = name
        try:
            yield
        finally:
            self.request_name = None


class OpenAIUser(User):
    abstract = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = OpenAIClient(self.environment.events.request, user=self)
