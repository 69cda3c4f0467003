"""OpenAI users (`locust.contrib.oai` of Locust 2.47, experimental there too), on the openai package (`pip install
openai`) and its httpx client. Importing it needs OPENAI_API_KEY set, as in Locust.

Each HTTP exchange of the OpenAI client is reported: request_type the method, name the URL path (or the name of a
`rename_request` block), response_length the response's `usage.output_tokens`, failure an httpx.HTTPStatusError.

rlocust runs the client's exchanges on its engine (an httpx transport over an unrecorded engine call), so a streamed
answer (`stream=True`) is timed at the wire like any other stream: `ttft`, `itl`, `e2e`, `output_tokens` and `tpot`
under the same name (docs/llm.md). NOTE: Locust's hook reads a streamed answer as JSON and raises; here a streamed
answer's response_length is the output tokens of its `usage` event (0 without one).
"""

import json
import os
import time
from contextlib import contextmanager

import httpx
from openai import OpenAI

from locust import _httpx
from locust.user import User

if "OPENAI_API_KEY" not in os.environ:
    raise Exception("You need to set OPENAI_API_KEY env var to use OpenAIUser")


def _output_tokens(response):
    """`usage.output_tokens` of a whole JSON answer; of a streamed one (server-sent events), its last usage event's
    output (or completion) tokens."""
    if (response.headers.get("content-type") or "").startswith("text/event-stream"):
        tokens = 0
        for line in response.text.splitlines():
            if not line.startswith("data:"):
                continue
            try:
                usage = json.loads(line[5:]).get("usage") or {}
            except (ValueError, AttributeError):
                continue
            tokens = usage.get("output_tokens", usage.get("completion_tokens", tokens))
        return tokens
    return response.json().get("usage", {}).get("output_tokens", 0)


class _EngineBody(httpx.SyncByteStream):
    """A response body as rlocust's engine reads it: the pieces as they arrived (already content-decoded)."""

    def __init__(self, response):
        self._response = response

    def __iter__(self):
        yield from self._response.iter_content(None)

    def close(self):
        self._response.close()


class _EngineTransport(httpx.BaseTransport):
    """httpx's transport on rlocust's engine: the exchange is sent by an HttpSession call that records nothing
    itself (`catch_response=True`, never entered), so the client's hook reports it as Locust's does."""

    def __init__(self, owner, user):
        from locust.clients import HttpSession

        self._owner = owner
        self._session = HttpSession("", None, user)

    def handle_request(self, request):
        body = request.read()
        response = self._session.request(
            request.method, str(request.url), name=self._owner.request_name or request.url.path,
            catch_response=True, data=body, headers=_httpx.sent_headers(request), stream=_httpx.asks_stream(body),
            allow_redirects=False, timeout=_httpx.timeout_of(request))
        if not response.status_code:
            _httpx.raise_failed(httpx, response, request)
        return httpx.Response(response.status_code, headers=_httpx.kept_headers(response),
                              stream=_EngineBody(response), request=request)


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
                response_length=_output_tokens(response),
                url=response.url,
            )

        super().__init__(*args, **kwargs,
                         http_client=httpx.Client(transport=_EngineTransport(self, user),
                                                  event_hooks={"request": [on_request], "response": [on_response]}))

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
