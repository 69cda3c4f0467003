"""rlocust internals: httpx's exchanges on the engine (docs/llm.md, "asyncio clients"; docs/async.md).

- `SyncTransport` (the contrib OpenAIUser's) and the async transport made per httpx module (`async_transport`) send
  each exchange by an HttpSession call that records no request row itself (`catch_response=True`, never entered):
  a streamed answer is read by the engine as it arrives and its `ttft`, `itl`, `e2e`, `output_tokens` and `tpot`
  are recorded under the URL path, timed at the wire, as any stream's; the request rows stay the locustfile's, as
  under Locust, where an httpx call records nothing.
- `install()` patches `httpx` and `httpx2` (openai's own fork, the one `AsyncOpenAI` uses) when they are imported:
  an `AsyncClient` (or `AsyncOpenAI`'s) made inside a user's coroutine code (an `async def` task, on_start or
  on_stop) without a `transport=` gets the engine's. Made anywhere else, or with a transport, it is httpx's own.
- Which answers stream: a request whose JSON body says `"stream": true` (the OpenAI APIs'), or that asks for
  `text/event-stream` in its Accept header, is read as it arrives; any other is read whole (an event stream answer
  is still watched).

What it must not do: import httpx itself (only when the locustfile does), or record a request row.
"""

import json
import sys

_MODULES = ("httpx", "httpx2")
_DROPPED = ("host", "content-length", "accept-encoding")  # (the engine sets the host and length, and decodes)
_NOT_KEPT = ("content-encoding", "content-length", "transfer-encoding")  # (the engine decoded the body already)
_END = object()


def asks_stream(body, headers=None):
    """Whether the call asks for a streamed answer: `"stream": true` in its JSON body, or an Accept of server-sent
    events; it is then read as it arrives, any other answer whole (an event stream is still watched)."""
    if headers is not None and "text/event-stream" in (headers.get("accept") or ""):
        return True
    if b'"stream"' not in body:
        return False
    try:
        return json.loads(body).get("stream") is True
    except (ValueError, AttributeError):
        return False


def timeout_of(request):
    """The (connect, read) timeout of an httpx request, as requests takes it (None: none)."""
    t = request.extensions.get("timeout") or {}
    connect, read = t.get("connect"), t.get("read")
    return None if connect is None and read is None else (connect, read)


def sent_headers(request):
    return {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}


def kept_headers(response):
    return [(k, v) for k, v in response.headers.items() if k.lower() not in _NOT_KEPT]


def raise_failed(httpx, response, request):
    """An engine call that got no response: the httpx exception of its error."""
    error = response.error
    cls = httpx.TimeoutException if "Timeout" in type(error).__name__ else httpx.ConnectError
    raise cls(str(error), request=request)


_async_classes = {}


def async_transport(httpx, user=None, name=None, verify=True):
    """An `httpx.AsyncBaseTransport` (of that httpx module) on the engine, for `user` (its --http2 choice; None: the
    run's). `name`: the stream metrics' name (default: each request's URL path)."""
    cls = _async_classes.get(httpx)
    if cls is None:
        cls = _async_classes[httpx] = _make_async(httpx)
    return cls(user, name, verify)


def _make_async(httpx):
    from locust import _aio

    class EngineBody(httpx.AsyncByteStream):
        """A response body as the engine reads it: its pieces as they arrived (content-decoded), each awaited
        without holding up the loop; an answer read whole is one piece."""

        def __init__(self, response, streamed):
            self._response = response
            self._streamed = streamed

        async def __aiter__(self):
            response = self._response
            if not self._streamed:
                content = response.content
                if content:
                    yield content
                return
            pieces = response.iter_content(None)
            while True:
                try:
                    piece = await _aio.offload(next, pieces, _END)
                except Exception as e:  # noqa: BLE001 (the client's error mid-body, as httpx words it)
                    raise httpx.ReadError(str(e)) from e
                if piece is _END:
                    return
                yield piece

        async def aclose(self):
            self._response.close()

    class EngineAsyncTransport(httpx.AsyncBaseTransport):
        """httpx's async transport on rlocust's engine (see the module header)."""

        def __init__(self, user=None, name=None, verify=True):
            from locust.clients import HttpSession

            self._session = session = HttpSession("", None, user)
            self.name = name
            if user is None:
                session._core.http2 = _run_wants_http2()
            if verify is False:
                session.verify = False

        async def handle_async_request(self, request):
            body = await request.aread()
            stream = asks_stream(body, request.headers)
            call = self._session.request(
                request.method, str(request.url), name=self.name or request.url.path, catch_response=True,
                data=body, headers=sent_headers(request), stream=stream, allow_redirects=False,
                timeout=timeout_of(request))
            # (inside coroutine code the session's call is awaitable; outside, it has returned already)
            response = await call if isinstance(call, _aio.Call) else call
            if not response.status_code:
                raise_failed(httpx, response, request)
            if "set-cookie" in response.headers:
                self._session.cookies.clear()  # (the cookies are httpx's to keep: it sends them itself)
            return httpx.Response(response.status_code, headers=kept_headers(response),
                                  stream=EngineBody(response, stream), request=request)

    return EngineAsyncTransport


def _run_wants_http2():
    """The run's `--http2` (a transport made outside any user)."""
    from locust._state import _State

    return bool(getattr(_State.options, "http2", False))


def _current_user():
    """The user whose coroutine code runs now, if any."""
    from locust import _aio

    scopes = _aio._SCOPES.get(None)
    return getattr(scopes, "user", None) if scopes is not None else None


def _patch(httpx):
    client = httpx.AsyncClient
    if getattr(client._init_transport, "_rlocust", False):
        return
    original = client._init_transport

    def _init_transport(self, *args, **kwargs):
        if kwargs.get("transport") is None and not args:
            user = _current_user()
            if user is not None:
                return async_transport(httpx, user, verify=kwargs.get("verify", True))
        return original(self, *args, **kwargs)

    _init_transport._rlocust = True
    client._init_transport = _init_transport


def install():
    """Patch httpx and httpx2 now if imported, else when they are (see the module header)."""
    from locust import _urllib3_patch

    for name in _MODULES:
        module = sys.modules.get(name)
        if module is not None:
            _patch(module)
        else:
            _urllib3_patch.when_imported(name, _patch)
