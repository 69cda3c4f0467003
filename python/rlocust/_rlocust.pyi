"""rlocust's private native module (Rust, pyo3; source: src/py/).

In the wheel it is `rlocust._rlocust`; inside an rlocust run (the binary or the wheel) it is also importable as
`_rlocust`, which is how the `locust` shim uses it. Not a public API: names and signatures change with the shim.
Everything here runs on the hub thread (the one thread that runs Python).

Checked against the real module by tests/python/test_native_stub.py: every public name of the module is here and
every name here is in the module, with the same parameters.
"""

import os
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from datetime import timedelta
from typing import Any, Literal, NoReturn, Self, TypeAlias, final

from typing_extensions import disjoint_base

__all__ = [
    "LOCUST_VERSION",
    "__version__",
    "AwaitedCall",
    "Client",
    "CsvFiles",
    "DistMessage",
    "Fire",
    "Quit",
    "Request",
    "Response",
    "Session",
    "Spawn",
    "Stop",
    "TextPipe",
    "Tokenizer",
    "Web",
    "WebRequest",
    "abandon",
    "aio_run",
    "aio_set_aside",
    "aio_set_for_step",
    "aio_stepping",
    "ack",
    "dist_listened",
    "dist_node",
    "dist_report_extra",
    "dist_send",
    "dist_set_spawn_info",
    "dist_workers",
    "wake",
    "set_hub",
    "resumed_here",
    "task_loop",
    "register_task_loop",
    "mend_traceback",
    "small_frame_stack",
    "Parked",
    "flush",
    "forget",
    "activate_library",
    "lib_log_level",
    "lib_parse_options",
    "lib_runner",
    "lib_take_logs",
    "lib_stop_timeout",
    "lib_web_ui",
    "library_mode",
    "log_error",
    "log_exception",
    "log_line",
    "log_metric",
    "log_request",
    "note_wait_late",
    "open_acquire",
    "park",
    "open_arrival",
    "open_begin",
    "open_cancel",
    "open_leave",
    "run",
    "run_python",
    "run_report",
    "runner_control",
    "runner_final_user_classes_count",
    "runner_shape",
    "runner_spawning_complete",
    "runner_state",
    "runner_target_user_classes_count",
    "runner_target_user_count",
    "runner_user_stop",
    "serve_shim",
    "set_flush_hook",
    "set_ssl_suffix",
    "set_stats_settings",
    "share_headers",
    "sleep",
    "stats_clear",
    "stats_current_percentile",
    "stats_entry",
    "stats_errors",
    "stats_names",
    "stats_percentile",
    "stats_reset",
    "stats_sample_history",
    "stats_text",
    "take_interrupt",
    "user_classes_count",
    "user_count",
    "user_interrupted",
    "user_started",
    "user_stopped",
    "wake_fd",
    "web_reply",
]

# ---- the wheel's entry point ---------------------------------------------------------------------------------

__version__: str
"""rlocust's version."""
LOCUST_VERSION: str
"""The Locust release whose behaviour rlocust follows."""

def run(argv: list[str]) -> int:
    """Run rlocust with `argv` (without the program name) inside this interpreter; returns the exit code."""

def run_python(argv: list[str]) -> int:
    """`rlocust-python` inside this interpreter: run `argv` (python's arguments: a script, `-m module`, `-c code`)
    with rlocust's `locust` and engine; returns the exit code."""

def run_report(argv: list[str]) -> int:
    """`rlocust-report` (`compare BASELINE CURRENT [options]`): stored results compared; returns the exit code."""

# ---- library mode (`rlocust-python`: a script drives the run) ------------------------------------------------

def activate_library() -> None:
    """Start the engine inside this (already running) interpreter and serve rlocust's `locust` from now on: what
    the wheel's pytest plugin does in a plain `pytest` with no Locust installed. Idempotent; RuntimeError (one
    line) when the engine cannot start."""

def serve_shim() -> None:
    """Serve rlocust's `locust` package in this (already running) interpreter without starting the engine: what the
    import hook of an environment made to answer as Locust (`python -m rlocust.as_locust`) does on `import locust`;
    `locust.main.main()` then starts the engine. Idempotent; RuntimeError (one line) when it cannot."""

def library_mode() -> bool:
    """Whether a script drives the run (`rlocust-python`) rather than `rlocust`'s command line."""

def lib_runner(
    classes: Sequence[tuple[str, float, int]],
    stop_timeout: float,
    reset_stats: bool,
    cpu_monitor_interval: float | None = None,
) -> None:
    """A new runner for the user classes (name, weight, fixed_count): a fresh runner state and task, and its CPU
    monitor every `cpu_monitor_interval` seconds."""

def lib_stop_timeout(seconds: float) -> None:
    """`environment.stop_timeout` as it is when the test starts."""

def lib_log_level(level: str, silent: bool = False) -> None:
    """The level of the runner's log lines written by Rust (Locust's `setup_logging`)."""

def lib_take_logs() -> list[tuple[int, str, str]]:
    """The runner's log lines since the last call, as (level number, logger, message), for Python's logging."""

def lib_web_ui(args: list[str], info: str) -> tuple[str, int]:
    """Start the web UI with Locust's web options `args`; `info` is `web_info()`'s JSON. Returns (host, port)."""

def lib_parse_options(
    argv: list[str],
    custom: Sequence[tuple[Any, ...]] = ...,
    config_files: list[str] | None = None,
    known: bool = False,
) -> tuple[dict[str, Any] | None, int | None, tuple[str, str], list[str], list[str]]:
    """Locust's built-in options parsed from `argv` with the added options `custom`: (options, None, ("", ""), the
    added options' arguments, the unrecognized arguments) or (None, exit code, (stdout, stderr), [], [])."""

def stats_text(which: Literal["stats", "stats_total", "percentiles", "errors"]) -> str:
    """The text of one of Locust's console tables."""

def stats_sample_history() -> None:
    """One point of the run's history (Locust's `stats_history`)."""

@final
class CsvFiles:
    """Locust's four CSV files (`{prefix}_stats.csv`, ...), written from the Rust statistics."""

    def __new__(cls, prefix: str, full_history: bool) -> Self: ...
    def tick(self) -> None:
        """One writer cycle: rewrite the totals, append the history rows."""
    def close(self) -> None:
        """The last write; later calls do nothing."""

# ---- LLM prompts (`rlocust.llm`) -------------------------------------------------------------------------------

@final
class Tokenizer:
    """A Hugging Face tokenizer (`tokenizer.json`) read by the `tokenizers` crate, shared per path; no special
    tokens are added in counting or encoding. Long texts are worked on with the GIL released."""

    def __new__(cls, path: str | os.PathLike[str]) -> Self:
        """The tokenizer in `path` (a tokenizer.json, or a directory holding one): FileNotFoundError when it is not
        there, ValueError when it does not load (one line naming the path)."""
    @property
    def path(self) -> str:
        """The file it was read from."""
    @property
    def vocab_size(self) -> int:
        """The size of the vocabulary, added tokens included."""
    def count(self, text: str) -> int:
        """How many tokens `text` is."""
    def encode(self, text: str) -> list[int]:
        """The token ids of `text`."""
    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids` (special tokens skipped)."""
    def synthetic_text(self, tokens: int, seed: int) -> str:
        """A text of plain words of exactly `tokens` tokens, the same for the same `seed` (ValueError when it
        cannot be made)."""

@final
class TextPipe:
    """`Tokenizer.synthetic_text` made ahead on a thread of its own: texts are taken in the order they were asked
    for (`rlocust.llm.synthetic` asks a few items ahead)."""

    def __new__(cls, tokenizer: Tokenizer) -> Self: ...
    def ask(self, tokens: int, seed: int) -> None:
        """Ask for a text of exactly `tokens` tokens from `seed` (ValueError once closed)."""
    def take(self) -> str:
        """The next text asked for, waiting for it with the GIL released; ValueError when it could not be made or
        nothing was asked."""
    def close(self) -> None:
        """Stop the thread (texts not taken are dropped)."""

# ---- HTTP ----------------------------------------------------------------------------------------------------

@final
class Request:
    """One HTTP call as the shim's clients describe it, handed whole to `Session.send`."""

    def __new__(
        cls,
        method: str,
        url: str,
        name: str | None,
        headers: Sequence[tuple[str, str]],
        body: bytes | bytearray | None,
        timeout: tuple[float | None, float | None, str, str | None] | None,
        allow_redirects: bool,
        verify: bool,
        cookies: Sequence[tuple[str, str]],
        record: bool,
        max_redirects: int = 30,
        url_as_given: str | None = None,
        retries_on_close: int = 0,
        *,
        header_fault: str | None = None,
        no_host: bool = False,
        proxy: str | None = None,
        ca_bundle: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        tls_error: tuple[int, str] | None = None,
        stream: bool = False,
    ) -> Self:
        """`name=None`: the client's default stats name. `proxy`: the http:// proxy URL requests chose
        (`Session.send` raises ValueError("proxy", exception class, text) for one it refuses); `ca_bundle`, `cert`,
        `key`: requests' `verify=<path>` and `cert=`, with `tls_error` what Python's ssl raised loading them (errno,
        text). `header_fault`: the client's text for a header part the shim refused after `headers` (the call fails with it unless one
        of `headers` is refused first); `no_host`: the URL the locustfile gave has no host (`url` has one in its
        place), so the call fails when it would look the host up."""


@final
class Session:
    """Rust core of `HttpSession` / `FastHttpSession`: one user's connection pool and cookie jar."""

    def __new__(cls, flavor: str) -> Self:
        """A session following FastHttpUser's conventions for `flavor == "fast"`, HttpUser's otherwise."""
    http2: bool
    """HTTP/2 where the server speaks it (ALPN h2 over TLS, prior knowledge over plain TCP); False by default."""
    pacing_ms: float | None
    """The owning user's fixed-rate interval in ms (coordinated-omission correction); None by default."""
    def send(self, request: Request) -> int:
        """Start the call `request` describes (and empty it: a Request is sent once); returns the ticket its
        `Response` comes back with (`locust._hub.wait`)."""
    def cookie_items(self) -> list[tuple[str, str, str, str]]:
        """Cookies in the jar as (name, value, domain, path)."""
    def cookie_set(self, name: str, value: str, url: str) -> None:
        """Put a cookie in the jar for `url` (domain and path from the url)."""
    def cookie_remove(self, name: str) -> None:
        """Remove every cookie named `name`."""
    def cookie_clear(self) -> None:
        """Empty the jar."""
    def reset_connections(self) -> None:
        """Close the pooled connections (FastHttp's `client.clientpool.close()`)."""

@disjoint_base
class Client:
    """The base class of the shim's `HttpSession` and `FastHttpSession` (src/py/call.rs): its verbs make the plain
    call (a URL and `name=` on a session nobody customised) without Python frames, and hand every other call to the
    subclass's `_slow_<verb>`; inside a coroutine they return an `AwaitedCall` to await."""

    def __new__(cls, *_args: Any, **_kwargs: Any) -> Self: ...
    def _bind(self, core: Session) -> None:
        """Use `core` (the session's engine side) for the plain call."""
    @staticmethod
    def _register(kind: str, cls: type, plain_request: Callable[..., Any], headers_fn: Callable[[], Any],
                  plan_fn: Callable[[Any, str], Any], finish_call: Callable[..., Any], no_context: Any) -> None:
        """A client module's class and what its plain call needs (`kind`: "requests" or "fast")."""
    def get(self, url: Any, *args: Any, **kwargs: Any) -> Any: ...
    def post(self, url: Any, *args: Any, **kwargs: Any) -> Any: ...
    def put(self, url: Any, *args: Any, **kwargs: Any) -> Any: ...
    def patch(self, url: Any, *args: Any, **kwargs: Any) -> Any: ...
    def delete(self, url: Any, *args: Any, **kwargs: Any) -> Any: ...
    def head(self, url: Any, *args: Any, **kwargs: Any) -> Any: ...
    def options(self, url: Any, *args: Any, **kwargs: Any) -> Any: ...

@final
class AwaitedCall:
    """A client verb's call made inside coroutine code (src/py/awaited.rs): awaited by the coroutine its user's
    greenlet steps, it makes the call there as the sync call does; any other use is a `locust._aio.Call`'s (a
    `collections.abc.Coroutine`)."""

    def send(self, value: Any, /) -> Any:
        """A step of the await (the first makes the call)."""
    def throw(self, typ: Any, val: Any = None, tb: Any = None, /) -> Any:
        """Raise an exception at the await."""
    def close(self) -> None: ...
    def __await__(self, /) -> Generator[Any, None, Any]: ...
    def __aenter__(self, /) -> Any:
        """Make the call and enter what it returns."""
    def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any: ...
    def __enter__(self) -> Any: ...
    def __exit__(self, *_exc: Any) -> bool: ...

@final
class Response:
    """The requests-style response a client call returns (made by the engine; `Response()` is an empty one, as
    requests' is, which unpickling fills)."""

    def __new__(cls) -> Self: ...
    def __reduce__(self) -> tuple[Any, tuple[()], dict[str, Any]]:
        """Pickled as requests pickles a Response: its `__attrs__` (`locust._ffi.response_state`)."""
    def __setstate__(self, state: dict[str, Any]) -> None:
        """Fill an empty response with a pickled state."""
    def __getstate__(self) -> dict[str, Any]:  # type: ignore[override]
        """requests' state of a response: its `__attrs__`, the body read."""
    __attrs__: list[str]
    def __nonzero__(self) -> bool: ...
    def __iter__(self) -> Iterator[bytes]:
        """requests' iteration: `iter_content(128)`; FastHttpUser's: `stream`'s blocks."""
    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        """`requests.Response` for an HttpUser's response once requests is imported (isinstance), else the type."""

    @property
    def status_code(self) -> int:
        """The status, 0 when there was no response."""
    @property
    def reason(self) -> str | None:
        """The status line's reason phrase."""
    @property
    def ok(self) -> bool:
        """requests': not 4xx/5xx; a connection error is raised (as by Locust's wrapper); FastHttpUser: below 400."""
    @property
    def content(self) -> bytes | None:
        """The body (None when there was no response)."""
    @property
    def text(self) -> str | None:
        """The body decoded with `encoding` (undecodable bytes replaced)."""
    @property
    def encoding(self) -> str | None:
        """The body's encoding: set by the locustfile, or from the Content-Type header."""
    @encoding.setter
    def encoding(self, value: str | None) -> None: ...
    @property
    def apparent_encoding(self) -> str | None:
        """requests' guess at the body's encoding (chardet or charset_normalizer when installed)."""
    @property
    def url(self) -> str:
        """The final URL (after redirects)."""
    def _read_piece(self) -> bytes | int | tuple | None:
        """The next piece of a streamed body: bytes, None at its end, an error tuple, or the ticket it will come with."""
    def _finish_body(self, rest: bytes) -> None:
        """The streamed body read to its end: `rest` follows what came with the head."""
    def _take_first(self) -> tuple[bytes, bool]:
        """The piece read with the head (no longer held), and whether a streamed rest follows."""
    def _put_back(self, data: bytes) -> None:
        """What `raw.read(amt)` read beyond `amt`: the next read (or `content`) starts with it."""
    def _consumed(self) -> None:
        """`iter_content` went through the streamed body: `content` now raises, as requests' does."""
    @property
    def _streaming(self) -> bool:
        """Whether a streamed body's rest is still unread."""
    @property
    def _stream_call(self) -> bool:
        """The call had `stream=True`."""
    @property
    def _stream_consumed(self) -> bool:
        """`iter_content` went through the streamed body (another raises requests' StreamConsumedError)."""
    @property
    def _chunk_encoding(self) -> str | None:
        """The encoding `iter_content(decode_unicode=True)` decodes with."""
    @property
    def _version(self) -> int:
        """The HTTP version the response came in, as urllib3 numbers it (11, or 20 over HTTP/2)."""
    @property
    def elapsed(self) -> timedelta:
        """From sending the request to the response headers."""
    @property
    def headers(self) -> dict[str, str]:
        """The response headers, case-insensitive (`locust._ffi.CaseInsensitiveDict`)."""
    @property
    def cookies(self) -> dict[str, str]:
        """Cookies set by this response."""
    @property
    def history(self) -> list[Response]:
        """The responses redirected through, oldest first (the same list on every read)."""
    @history.setter
    def history(self, value: list[Response]) -> None: ...
    @property
    def request(self) -> Any:
        """The request as sent: method, url, headers, body (`requests.PreparedRequest` when requests is installed)."""
    @request.setter
    def request(self, value: Any) -> None: ...
    @property
    def links(self) -> dict[str, dict[str, str]]:
        """The Link header parsed, keyed by rel (or URL)."""
    @property
    def is_permanent_redirect(self) -> bool:
        """301 or 308 with a Location."""
    @property
    def next(self) -> Any:
        """The next hop's request of a redirect that was not followed, else None."""
    @property
    def raw(self) -> Any:
        """urllib3's response over the body (readable once after `stream=True`, else empty); HttpUser only."""
    @property
    def iter_lines(self) -> Callable[..., Iterator[Any]]:
        """requests' `iter_lines(chunk_size=512, decode_unicode=False, delimiter=None)`, bound; HttpUser only."""
    @property
    def stream(self) -> Any:
        """geventhttpclient's socket response (`locust._stream.FastStream`): the body as it came, readable once,
        empty once `content` was read; FastHttpUser only."""
    @property
    def read(self) -> Callable[..., bytes]:
        """FastHttpUser's `read(n=None)` of `stream`, bound."""
    @property
    def readline(self) -> Callable[[], bytes]:
        """FastHttpUser's `readline()` of `stream`, bound."""
    @property
    def release(self) -> Callable[[], None]:
        """FastHttpUser's `release()` of `stream`, bound."""
    @property
    def is_redirect(self) -> bool:
        """A redirect status with a Location header."""
    @property
    def error(self) -> BaseException | None:
        """FastHttpUser: `_error`; HttpUser: `_conn_error` (requests' own responses carry no error)."""
    @property
    def _error(self) -> BaseException | None:
        """The connection error or HTTP error of this response as the client's exception, None when it succeeded."""
    @property
    def _conn_error(self) -> BaseException | None:
        """The connection error only (Locust's `.error` on a response without status)."""
    def raise_for_status(self) -> None:
        """Raise `error` if there is one."""
    def json(self, **kwargs: Any) -> Any:
        """`json.loads` of `text` (requests' JSONDecodeError when it is not JSON)."""
    def iter_content(self, *args: Any, **kwargs: Any) -> Iterator[bytes | str]:
        """requests' `iter_content(chunk_size=1, decode_unicode=False)`, or FastHttpUser's
        `iter_content(chunk_size=1024, decode_content=True)` (`locust._stream`)."""
    def aiter_content(self, *args: Any, **kwargs: Any) -> AsyncIterator[bytes | str]:
        """`iter_content(...)` with `async for`, inside a coroutine (`locust._aio`)."""
    def aiter_lines(self, *args: Any, **kwargs: Any) -> AsyncIterator[bytes | str]:
        """`iter_lines(...)` with `async for`, inside a coroutine (`locust._aio`)."""
    def close(self) -> None:
        """Nothing to release."""
    def _rename(self, name: str) -> None:
        """Report under another name (a hooked call whose final response a hook sent)."""
    def success(self) -> NoReturn:
        """Raises LocustError: a verdict needs `catch_response=True`."""
    def failure(self, exc: object = None) -> NoReturn:
        """Raises LocustError: a verdict needs `catch_response=True`."""
    def __bool__(self) -> bool: ...
    def __enter__(self) -> Self:
        """Raises LocustError (a with-block needs `catch_response=True`) unless it is requests' own response."""
    def __exit__(self, _a: object, _b: object, _c: object) -> bool:
        """requests' own response is closed."""
    def _set_plain(self, plain: bool) -> None:
        """Whether it is requests' own response (`send()`'s, a redirect's) rather than a call's."""
    @property
    def _fast(self) -> bool:
        """A FastHttpUser's response."""
    @property
    def _name(self) -> str:
        """The stats name of the call."""
    @property
    def _method(self) -> str:
        """The method as the locustfile wrote it (the stats' request type)."""
    @property
    def _response_time(self) -> float:
        """Wall time of the whole call in ms (what the stats record)."""
    @property
    def _start_time(self) -> float:
        """Unix time the call started."""
    @property
    def _length(self) -> int:
        """Bytes of body."""
    @property
    def _failure(self) -> str | None:
        """`repr()` of the failure under the client's default rule, None when it succeeded."""
    @property
    def _recorded(self) -> bool:
        """Whether the engine recorded the call in the stats (no `catch_response`)."""
    @property
    def _request_url(self) -> str:
        """The URL the call was made with."""
    @property
    def _escape(self) -> BaseException | None:
        """The exception the call raises into the task instead of failing, if any."""
    @property
    def _has_conn_error(self) -> bool:
        """Whether the call ended without a response."""

# ---- the hub: wake-up, drain, acknowledgements ---------------------------------------------------------------

@final
class Spawn:
    """Command: start `count` users of the class named `class_name`."""

    def __new__(cls, id: int, class_name: str, count: int) -> Self: ...
    @property
    def id(self) -> int:
        """What `ack` takes when the command is done."""
    @property
    def class_name(self) -> str: ...
    @property
    def count(self) -> int: ...

@final
class Stop:
    """Command: stop `count` users of `class_name` (most recently started first), or every user when both are
    None; wait up to `timeout` seconds for them to finish their task (0: at once)."""

    def __new__(cls, id: int, class_name: str | None = None, count: int | None = None, timeout: float = 0.0) -> Self: ...
    @property
    def id(self) -> int:
        """What `ack` takes when the command is done."""
    @property
    def class_name(self) -> str | None: ...
    @property
    def count(self) -> int | None: ...
    @property
    def timeout(self) -> float: ...

@final
class Fire:
    """Command: fire the Locust event `event` with the keyword arguments `kwargs` (numbers; often none)."""

    def __new__(cls, id: int, event: str, kwargs: dict[str, int | float] | None = None) -> Self: ...
    @property
    def id(self) -> int:
        """What `ack` takes when the command is done."""
    @property
    def event(self) -> str: ...
    @property
    def kwargs(self) -> dict[str, int | float]: ...

@final
class Quit:
    """Command: leave the hub loop, the test is over."""

    def __new__(cls, id: int) -> Self: ...
    @property
    def id(self) -> int:
        """What `ack` takes when the command is done."""

@final
class Web:
    """Command: a web API action that needs Python (`swarm`, `user`, `reset_stats`) with its JSON `payload`."""

    def __new__(cls, id: int, action: str, payload: str) -> Self: ...
    @property
    def id(self) -> int:
        """What `ack` takes when the command is done."""
    @property
    def action(self) -> str: ...
    @property
    def payload(self) -> str: ...

@final
class WebRequest:
    """Command: an HTTP request for the locustfile's Flask app (the Rust server does not serve the path). Texts are
    WSGI native strings (the request's bytes as Latin-1); answered with `web_reply`, then acknowledged."""

    def __new__(
        cls,
        id: int,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        remote_addr: str,
        remote_port: int,
        scheme: str,
        server_name: str,
        server_port: int,
    ) -> Self: ...
    @property
    def id(self) -> int:
        """What `web_reply` and `ack` take."""
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str:
        """The full path as sent, still percent-encoded."""
    @property
    def query(self) -> str:
        """The query string without `?` ("" when none)."""
    @property
    def headers(self) -> list[tuple[str, str]]:
        """(lower-case name, value) in the order received."""
    @property
    def body(self) -> bytes: ...
    @property
    def remote_addr(self) -> str: ...
    @property
    def remote_port(self) -> int: ...
    @property
    def scheme(self) -> str:
        """Either "http" or "https"."""
    @property
    def server_name(self) -> str: ...
    @property
    def server_port(self) -> int: ...

@final
class DistMessage:
    """Command: a distributed-mode message for Python: one another node sent (a worker's `update_user_class`, a
    locustfile's own message type), or, with `internal`, a command of the Rust runner (`_spawn_options`,
    `_start_shape`, ...; never a message off the network); `data` is decoded as Locust's msgpack decoding gives it."""

    def __new__(cls, id: int, type: str, data: Any, node_id: str, internal: bool = False) -> Self: ...
    @property
    def id(self) -> int:
        """What `ack` takes when the command is done."""
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> Any: ...
    @property
    def node_id(self) -> str: ...
    @property
    def internal(self) -> bool: ...

_Command: TypeAlias = Spawn | Stop | Fire | Web | WebRequest | DistMessage | Quit

def dist_listened(name: str, on: bool) -> bool:
    """Whether the distributed-mode event `name` (report_to_master, worker_report, heartbeat_sent,
    heartbeat_received) has listeners now; False for another name."""

def dist_report_extra(data: dict[Any, Any]) -> None:
    """A worker's report_to_master listeners are done: their keys go into the stats message being built."""

def dist_node() -> tuple[str, str, int] | None:
    """(role, client_id, worker_index) of this process in a distributed run ("worker" or "master"), else None."""

def dist_send(msg_type: str, data: Any = None, client_id: str | None = None) -> bool:
    """`runner.send_message`: a worker sends to its master, a master to `client_id` or to every worker. False
    outside a distributed run. Raises TypeError for data msgpack cannot carry."""

def dist_set_spawn_info(host: str | None, parsed_options: dict[str, Any]) -> None:
    """A master's `environment.host` and `vars(parsed_options)` for the `spawn` messages it sends next."""

def dist_workers() -> list[tuple[str, int, str, int, list[tuple[str, int]], float, int]]:
    """A master's workers: (id, index, state, user_count, user_classes_count, cpu_usage, memory_usage) each."""

def wake_fd() -> int:
    """The eventfd the hub's loop watches: readable when `wake` has something to take."""

def abandon(ticket: int) -> None:
    """The user waiting on call `ticket` was killed: the call is not recorded when it completes."""

def forget(ticket: int) -> None:
    """A completion nobody waited for: forget that its call was abandoned."""

def set_hub(switch: Callable[[], Any]) -> None:
    """The hub's `switch`, once the hub watches the bridge."""

def resumed_here(me: Any) -> bool:
    """Whether the hub last resumed `me` (the current greenlet) from a park on the bridge: `locust._hub.yield_now`
    then goes on without yielding. The mark is spent."""

def park(ticket: int | Parked, /) -> Any:
    """`locust._hub.wait`: park the current greenlet until `ticket` completes; its Response (None for a timer's
    ticket). A kill while parked abandons the call and raises here."""

def aio_run(user: Any, coro: Any, keep: bool = False) -> Any:
    """`locust._aio.run`: `coro` (what a task, on_start or on_stop of `user` returned) run in the user's greenlet as
    an asyncio Task would run it; its result, or its exception raised. `keep`: the tasks it starts live until the
    user stops (on_start)."""

def aio_set_for_step(me: Any, driver: Any, task: Any, /) -> None:
    """Before a step of a user's coroutine, and back from a call made in one: the loop running, the user's task
    current, the greenlet `me` marked as stepping."""

def aio_set_aside(me: Any, driver: Any, task: Any, /) -> None:
    """After a step, and before a call made in one: what `aio_set_for_step` set, set aside."""

def aio_stepping(g: Any, /) -> Any:
    """The driver of the step greenlet `g` is running, if it is running one (else None)."""

def wake(handle_every: tuple[Callable[[list[_Command]], Any], bool], /) -> None:
    """The hub's eventfd watcher: everything queued since the last wake taken; the runner's commands, in the order
    they were queued, handed to `handle(commands)` (on every wake when `every`); then each greenlet parked on a
    ticket of the batch switched back in with its value (a Response, a streamed body's piece, or None for a wait
    that is over), in order (an unknown ticket is forgotten). `handle_every` is the pair `(handle, every)`."""

def task_loop(taskset: Any, resumed: Parked | None, /) -> Parked | None:
    """The passes of `TaskSet.run`'s loop that the locustfile leaves as the shim wrote them, made in Rust: None at
    the top of one that is not; a `Parked` for the Python loop to park on (`park` takes it for its ticket) and give
    back as `resumed` (None when it starts). Raises what a pass raises past its reschedules. The binary's only (not in
    the abi3 wheel)."""

@final
class Parked:
    """A wait of `task_loop`'s: its timer's ticket and what the pass needs after it."""

def register_task_loop(parts: dict[str, Any]) -> None:
    """What `task_loop` reads of the shim (its classes, originals, the modules whose state a pass reads, and the
    lines of its loop a traceback points at), given once by `locust.user.task`."""

def mend_traceback(e: BaseException, /) -> None:
    """The Python loop's handler of what `task_loop` raised: `e`'s traceback gets the entries the Python loop would
    have given it (the frames of `execute_next_task`, `execute_task` or `wait`, and `run`'s line)."""

def small_frame_stack(func: Callable[[Any], Any], /) -> Callable[[Any], Any]:
    """A builtin that calls `func(arg)` with the calling greenlet's Python frames on a small chunk of a shared slab
    (1 KiB) instead of a 16 KiB chunk of its own, when the greenlet has run no Python code yet; `func` itself where
    this CPython's layout is not known. The binary's only (not in the abi3 wheel)."""

def ack(id: int, ok: bool = True) -> None:
    """Acknowledge command `id` once it is done (`ok=False` only when a spawn failed); exactly once per command."""

def web_reply(id: int, status: int, headers: Sequence[tuple[str, bytes]], body: bytes) -> None:
    """The reply to the `WebRequest` `id`, before its `ack` (dropped when the server stopped waiting)."""

def flush() -> None:
    """Hand the requests sent since the last call to tokio (scheduled through the flush hook)."""

def share_headers(pairs: Sequence[tuple[str, str]]) -> None:
    """Register a header list the shim never changes: a Request given this very object shares its pairs, converted
    once here."""

def set_flush_hook(hook: Callable[[], object]) -> None:
    """What `Session.send` calls when a batch of requests starts (the shim schedules `flush` with it)."""

def take_interrupt() -> bool:
    """Whether the watchdog asked for a KeyboardInterrupt (cleared by reading it)."""

# ---- settings from the locustfile ----------------------------------------------------------------------------

def set_stats_settings(percentiles: Sequence[float], console_secs: float, csv_secs: float) -> None:
    """`PERCENTILES_TO_REPORT`, `CONSOLE_STATS_INTERVAL_SEC` and `CSV_STATS_INTERVAL_SEC` as the locustfile left them."""

def set_ssl_suffix(suffix: str) -> None:
    """The `(_ssl.c:NNNN)` this Python's ssl module appends to OpenSSL errors."""

# ---- statistics ----------------------------------------------------------------------------------------------

def sleep(seconds: float) -> int:
    """A ticket the hub's drain returns with None `seconds` from now (a user's wait, kept by tokio); `seconds`
    must be finite and positive (ValueError)."""

def note_wait_late(seconds: float) -> None:
    """A user's wait ended `seconds` after it was due (the generator's own lateness, docs/observability.md)."""

def open_acquire(first: bool) -> int:
    """An open workload's user comes to the start of a task (`first`: its first): 0 when it starts at once, else
    the ticket it waits on (idle) until an arrival wakes it."""

def open_arrival() -> str | None:
    """The trace row (JSON text) of the arrival whose iteration started last (`--arrival-trace`), None outside a
    replay."""

def open_begin(ticket: int) -> None:
    """The user woken on `ticket` for an arrival starts its iteration now (its scheduling error is measured)."""

def open_cancel(ticket: int) -> None:
    """The user waiting on `ticket` for an arrival went away before its iteration started."""

def open_leave(seen: bool) -> None:
    """A user of an open workload ended (`seen`: it had come to a task)."""

def log_request(
    request_type: str,
    name: str,
    response_time: float | None,
    response_length: float | None,
    error: str | None = None,
    pacing_ms: float | None = None,
) -> None:
    """Record one request, and its failure when `error` is given; `pacing_ms`: the fixed-rate interval of the
    user that made it (coordinated-omission correction)."""

def log_error(request_type: str, name: str, error: str) -> None:
    """Record one failure row (without a request; `events.request` listeners record both)."""

def log_exception(msg: str, traceback: str, node: str) -> None:
    """Record a task exception (message, formatted traceback, node id) for the exceptions table."""

def log_metric(metric: str, value: float, unit: str = "", name: str = "") -> None:
    """Record a value of a locustfile's own metric (`rlocust.metric`): a metric row, never a request. A negative or
    non-finite value, an empty metric name or a metric's second unit raise ValueError."""

def log_line(line: str) -> None:
    """Keep one formatted log line for the web UI's `/logs` (the last 500 are kept)."""

def stats_entry(name: str | None = None, method: str | None = None) -> dict[str, Any]:
    """A read-only view of one stats entry (`name=None`: the Aggregated total)."""

def stats_names() -> list[tuple[str, str]]:
    """The (name, method) of every stats entry, in insertion order."""

def stats_errors() -> list[tuple[str, str, str, int, float | None, float | None]]:
    """Failure rows: (method, name, error, occurrences, first_seen, last_seen)."""

def stats_percentile(name: str, method: str, p: float) -> int:
    """Response time at percentile `p` (0..1) of one entry (`"Aggregated"`, `""`: the total), in ms."""

def stats_current_percentile(name: str, method: str, p: float) -> int | None:
    """Like `stats_percentile` over the last 10 s window; None without data there."""

def stats_reset() -> None:
    """Reset all statistics (`environment.stats.reset_all()`)."""

def stats_clear() -> None:
    """Remove every row, reset the total and the failure rows (`environment.stats.clear_all()`, and a new
    `Environment` under `rlocust-python`)."""

# ---- the runner's state (owned by Rust) ----------------------------------------------------------------------

def user_started(class_name: str) -> None:
    """A user of the class named `class_name` started (the runner's live counts)."""

def user_stopped(class_name: str) -> None:
    """A user of the class named `class_name` ended."""

def user_interrupted() -> None:
    """A user ended with KeyboardInterrupt (the watchdog's interrupt made progress)."""

def user_count() -> int:
    """Users alive now."""

def user_classes_count() -> list[tuple[str, int]]:
    """Users alive now per class, as (class name, count) pairs."""

def runner_state() -> Literal["ready", "spawning", "running", "cleanup", "stopping", "stopped"]:
    """The runner's state."""

def runner_spawning_complete() -> None:
    """The runner's own `spawning_complete` listener: the state becomes running (and `--reset-stats` resets)."""

def runner_user_stop(step: Literal["begin", "cleanup", "stopped"]) -> bool:
    """A `stop()`/`quit()` in a user's own greenlet, step by step; `"begin"` is False when stopped already."""

def runner_target_user_count(value: int | None = None) -> int:
    """`runner.target_user_count`: set it when `value` is given; returns the current value."""

def runner_target_user_classes_count(value: Sequence[tuple[str, int]] | None = None) -> list[tuple[str, int]]:
    """`runner.target_user_classes_count`: set it when `value` is given; returns the current pairs."""

def runner_final_user_classes_count() -> list[tuple[str, int]]:
    """The users per class when the last stop began (`runner.final_user_classes_count`)."""

def runner_shape(
    phase: Literal["running", "ended"] | None = None, logged: bool = False
) -> tuple[Literal["none", "running", "ended"], bool]:
    """The LoadTestShape's phase (set it when `phase` is given); returns (phase, whether its end was logged)."""

def runner_control(
    what: Literal["quit", "stop", "interrupt", "start"],
    users: int = 0,
    spawn_rate: float = 1.0,
    classes: Sequence[str] | None = None,
) -> None:
    """`runner.quit()`, `stop()`, `start(users, spawn_rate)` (limited to `classes`), or an interrupt, from Python."""
