//! The Python functions and classes Rust calls, in one table: one accessor per callable, looked up by name once
//! (on first use, then kept for the life of the interpreter) from a module whose path is written once below.
//!
//! Called from `py::response` (the Response's Python-side objects, `locust._ffi` and `locust._stream`) and from
//! `interp` (the run's Python-side flow, `locust._main`). Holding the GIL is the caller's proof; nothing here
//! runs user code except what the callables themselves run. To call a new shim function from Rust, add a line to
//! the table and call `callables::name(py)?.call1(...)`; no module name or function name is written elsewhere.
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// The leaf module the Rust `Response` makes its Python objects with (it imports nothing else of the shim).
const FFI: &str = "locust._ffi";
/// A streamed body read off the connection (waits on the hub).
const STREAM: &str = "locust._stream";
/// Coroutines: `async for` over a streamed body.
const AIO: &str = "locust._aio";
/// The run's Python-side flow: load locustfiles, build the Environment, run the hub, fire the final events.
pub const MAIN: &str = "locust._main";
/// `rlocust-python`'s launcher (runs a script, `-m module` or `-c code` as `python` does).
const LAUNCH: &str = "_rlocust_launch";
const EXCEPTION: &str = "locust.exception";

macro_rules! callables {
    ($($(#[$doc:meta])* $name:ident = $module:ident . $attr:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
                static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
                CELL.get_or_try_init(py, || Ok::<_, PyErr>(py.import($module)?.getattr($attr)?.unbind()))
                    .map(|f| f.bind(py))
            }
        )*
    };
}

callables! {
    // ---- the Response's objects (locust._ffi) ----
    /// `make_headers(pairs)`: the case-insensitive header mapping.
    make_headers = FFI."make_headers";
    /// `make_cookies(pairs)`: `response.cookies`.
    make_cookies = FFI."make_cookies";
    /// `make_request(method, url, header pairs, body, response)`: `response.request`.
    make_request = FFI."make_request";
    /// `response_state(response)`: what pickling saves.
    response_state = FFI."response_state";
    /// `build_exc(desc, response=None, request=None)`: the exception object the engine describes (see [`super::response::exc_to_py`]).
    build_exc = FFI."build_exc";
    /// `make_error(kind, flavor, message, url, status, response)`: a failing status's exception.
    make_error = FFI."make_error";
    /// `json_loads(text, **kwargs)`: `response.json()`, raising the client's JSONDecodeError.
    json_loads = FFI."json_loads";
    /// `parse_links(value)`: `response.links`.
    parse_links = FFI."parse_links";
    /// `next_request(response)`: `response.next`.
    next_request = FFI."next_request";
    /// `iter_lines(response, chunk_size=512, decode_unicode=False, delimiter=None)`: requests' `iter_lines`.
    iter_lines = FFI."iter_lines";
    /// `types.MethodType(function, response)`: a function bound as the response's method.
    bound_method = FFI."bound_method";
    /// `apparent_encoding(content)`.
    apparent_encoding = FFI."apparent_encoding";

    // ---- a streamed body (locust._stream) ----
    /// `read_rest(response)`: the rest of a streamed body, for `content`.
    read_rest = STREAM."read_rest";
    /// `iter_content(response, chunk_size=1, decode_unicode=False)`: requests' `iter_content`.
    iter_content = STREAM."iter_content";
    /// `make_raw(response)`: `response.raw`.
    make_raw = STREAM."make_raw";
    /// `fast_iter_content(response, chunk_size=1024, decode_content=True)`: FastHttpUser's `iter_content`.
    fast_iter_content = STREAM."fast_iter_content";
    /// `FastStream(data)`: FastHttpUser's `response.stream`.
    fast_stream = STREAM."FastStream";
    /// `fast_method(response, name)`: FastHttpUser's `read`, `readline` or `release`, bound.
    fast_method = STREAM."fast_method";
    /// `fast_content(response, stream)`: FastHttpUser's `content` after `response.stream` was read from, or None.
    fast_content = STREAM."fast_content";

    // ---- inside a coroutine (locust._aio) ----
    /// `aiter_content(response, *args, **kwargs)`: `iter_content(...)` as an async iterator.
    aiter_content = AIO."aiter_content";
    /// `aiter_lines(response, *args, **kwargs)`: `iter_lines(...)` as an async iterator.
    aiter_lines = AIO."aiter_lines";

    /// `locust.exception.LocustError`.
    locust_error = EXCEPTION."LocustError";

    // ---- the run's flow (locust._main) ----
    /// The class of a finished message for the user, with its exit code (`message`, `code`).
    user_facing_error = MAIN."UserFacingError";
    load_locustfiles = MAIN."load_locustfiles";
    validate_stats_configuration = MAIN."validate_stats_configuration";
    configure = MAIN."configure";
    create_environment = MAIN."create_environment";
    locustfile_paths = MAIN."locustfile_paths";
    create_runner = MAIN."create_runner";
    fire_init = MAIN."fire_init";
    arrival_shape_info = MAIN."arrival_shape_info";
    shape_info = MAIN."shape_info";
    task_ratio = MAIN."task_ratio";
    web_info = MAIN."web_info";
    list_text = MAIN."list_text";
    run_hub = MAIN."run_hub";
    stop_users = MAIN."stop_users";
    fire_quitting = MAIN."fire_quitting";
    exit_facts = MAIN."exit_facts";
    fire_quit = MAIN."fire_quit";

    /// `rlocust-python`: `_rlocust_launch.main(argv, embedded)`.
    launch_main = LAUNCH."main";
}
