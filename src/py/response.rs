//! `Response`: the requests-style response object locustfiles read (`status_code`, `text`, `json()`, …).
//!
//! Built on the hub thread from a finished call; holds the bytes and decodes lazily. Objects that need
//! Python-side classes (the case-insensitive header dict, exception instances, the request view) come from
//! the shim's leaf module `locust._ffi`, so exception classes are the ones user code catches.
//!
//! To add a Response attribute: a `#[getter]` (or method) in the `#[pymethods] impl Response` block below, computed
//! from the call's bytes and headers as requests computes it; its stub in `python/rlocust/_rlocust.pyi`; and a read
//! of it in `locustfiles/response_surface.py`, which the differential suite (`make test-diff`) runs under real
//! Locust 2.47 and under rlocust and compares.
use super::callables;
use crate::http::wire::exc::{PyExc, PyVal};
use crate::http::{Completed, Exchange, Flavor, HttpError};
use bytes::Bytes;
use http::HeaderMap;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

/// A [`PyExc`] as the nested tuples `locust._ffi.build_exc` turns into an exception object:
/// `("E", class path, [args], [(attr, value)], context or None, chain)` (chain: 0 raised while handling the
/// context, 1 `from` it, 2 `from None`); values are Python values, an exception is such a tuple again, and an
/// object shown only by its repr is `("O", repr)`.
pub fn exc_to_py(py: Python<'_>, e: &PyExc) -> PyResult<Py<PyAny>> {
    fn val(py: Python<'_>, v: &PyVal) -> PyResult<Py<PyAny>> {
        Ok(match v {
            PyVal::None => py.None(),
            PyVal::Str(s) => PyString::new(py, s).into_any().unbind(),
            PyVal::Int(d) => match d.parse::<i64>() {
                Ok(n) => n.into_pyobject(py)?.into_any().unbind(),
                Err(_) => py
                    .import("builtins")?
                    .getattr("int")?
                    .call1((d.as_str(),))?
                    .unbind(),
            },
            PyVal::Bytes(b) => PyBytes::new(py, b).into_any().unbind(),
            PyVal::Exc(e) => exc_to_py(py, e)?,
            PyVal::Opaque(r) => ("O", r.as_str()).into_pyobject(py)?.into_any().unbind(),
        })
    }
    let args = PyList::empty(py);
    for a in &e.args {
        args.append(val(py, a)?)?;
    }
    let attrs = PyList::empty(py);
    for (k, v) in &e.attrs {
        attrs.append((*k, val(py, v)?))?;
    }
    let ctx = match &e.context {
        Some(c) => exc_to_py(py, c)?,
        None => py.None(),
    };
    let chain = match e.chain {
        crate::http::wire::exc::Chain::Implicit => 0u8,
        crate::http::wire::exc::Chain::Cause => 1,
        crate::http::wire::exc::Chain::Suppressed => 2,
    };
    Ok(("E", e.class, args, attrs, ctx, chain)
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

#[pyclass(module = "locust.clients", name = "Response", dict)]
pub struct Response {
    status: u16,
    reason: Option<std::borrow::Cow<'static, str>>,
    /// Response headers as the client keeps them (latin-1 text, in order).
    headers: crate::http::Fields,
    body: Option<Bytes>,
    url: String,
    elapsed: f64,
    /// The HTTP version as urllib3 numbers it (`raw.version`): 11, or 20 over HTTP/2 (0 without a response).
    version: u8,
    history: Vec<Exchange>,
    error: Option<HttpError>,
    flavor: Flavor,
    name: String,
    method_label: String,
    request_url: url::Url,
    request_method: std::borrow::Cow<'static, str>,
    request_headers: crate::http::SentHeaders,
    request_body: Option<Bytes>,
    failure: Option<String>,
    /// What the call raises into the task instead of failing (see `http::escaping_error`).
    escape: Option<PyExc>,
    recorded: bool,
    /// `stream=True`: Locust's `response_length` is the Content-Length header's value.
    stream: bool,
    /// A streamed body's unread rest (HttpUser with `stream=True`), as the engine reads it on: read piece by piece
    /// by `iter_content`, `iter_lines` and `raw`, or whole by `content`.
    feed: Option<FeedRef>,
    /// `iter_content` read the streamed body through: `content` raises as requests' does.
    consumed: bool,
    /// FastHttpUser with `stream=True`: the body before content decoding, where it differs from `body` (what
    /// geventhttpclient's socket response, `response.stream`, hands out).
    encoded: Option<Bytes>,
    /// FastHttpUser: `response.stream` once made (`locust._stream.FastStream`).
    fast_stream: Option<Py<PyAny>>,
    /// FastHttpUser: `content` has been read (Locust reads it in the call unless `stream=True`), so
    /// `response.stream` has nothing left.
    fast_content_read: bool,
    response_time_ms: f64,
    start_time: f64,
    encoding_override: Option<Option<String>>,
    headers_obj: Option<Py<PyAny>>,
    /// `response.request` once made or set (requests' auth hooks set it to the request they resent).
    request_obj: Option<Py<PyAny>>,
    /// `response.history` once made: the same list on every read, so `r.history.append(...)` sticks.
    history_obj: Option<Py<PyAny>>,
    text_obj: Option<Py<PyAny>>,
    error_obj: Option<Py<PyAny>>,
    /// requests' own Response rather than Locust's wrapper of a call's: a with-block enters it (and closes it at the
    /// end) instead of asking for catch_response. A redirect's response in `history`, what `send()` returns, an
    /// unpickled one.
    plain: bool,
}

fn header_pairs(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// A streamed body's feed, let go of (the engine stops reading it) when the response closes, is dropped or has
/// read it through.
struct FeedRef(std::sync::Arc<crate::http::Feed>);

impl Drop for FeedRef {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Response {
    /// `f(self, *args, **kwargs)`: a method of the Response that a shim function carries out.
    fn call_with_self<'py>(
        slf: &Bound<'py, Self>,
        f: &Bound<'py, PyAny>,
        args: &Bound<'py, pyo3::types::PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut all = vec![slf.clone().into_any()];
        all.extend(args.iter());
        f.call(pyo3::types::PyTuple::new(slf.py(), all)?, kwargs)
    }

    /// What needs the whole body (`content`, `text`, `json()`, `apparent_encoding`) first reads a streamed body
    /// to its end; after `iter_content` went through it, requests' RuntimeError instead.
    fn whole_body(slf: &Bound<'_, Self>) -> PyResult<()> {
        let (streaming, consumed, fast_unread) = {
            let this = slf.borrow();
            (
                this.feed.is_some(),
                this.consumed,
                this.flavor == Flavor::Fast && !this.fast_content_read,
            )
        };
        if fast_unread {
            Self::fast_read_content(slf)?;
        }
        if consumed {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "The content for this response was already consumed",
            ));
        }
        if streaming {
            callables::read_rest(slf.py())?.call1((slf,))?;
        }
        Ok(())
    }

    /// FastHttpUser's `content` read for the first time: from what `response.stream` left of the body, where the
    /// locustfile read some of it first (`locust._stream.fast_content`, which decodes the rest as geventhttpclient
    /// does, raising what it raises); then `response.stream` has nothing left.
    fn fast_read_content(slf: &Bound<'_, Self>) -> PyResult<()> {
        let stream = {
            let mut this = slf.borrow_mut();
            this.fast_content_read = true;
            this.fast_stream.as_ref().map(|s| s.clone_ref(slf.py()))
        };
        let Some(stream) = stream else {
            return Ok(());
        };
        let rest = callables::fast_content(slf.py())?.call1((slf, stream))?;
        if !rest.is_none() {
            let mut this = slf.borrow_mut();
            this.body = Some(Bytes::copy_from_slice(rest.extract::<&[u8]>()?));
            this.text_obj = None;
        }
        Ok(())
    }

    /// The AttributeError of an attribute this flavor's response does not have (requests' Response has no
    /// `stream`, Locust's FastResponse no `raw`).
    fn no_attribute(slf: &Bound<'_, Self>, name: &str) -> PyErr {
        let cls = if slf.borrow().flavor == Flavor::Fast {
            "FastResponse"
        } else {
            "Response"
        };
        pyo3::exceptions::PyAttributeError::new_err(format!(
            "'{cls}' object has no attribute '{name}'"
        ))
    }

    /// FastHttpUser's `read`, `readline`, `release`, bound to the response (`locust._stream.fast_method`).
    fn fast_method(slf: &Bound<'_, Self>, name: &str) -> PyResult<Py<PyAny>> {
        if slf.borrow().flavor != Flavor::Fast {
            return Err(Self::no_attribute(slf, name));
        }
        Ok(callables::fast_method(slf.py())?
            .call1((slf, name))?
            .unbind())
    }

    /// The call raises an exception into the task (`_escape` is not None).
    pub(crate) fn escapes(&self) -> bool {
        self.escape.is_some()
    }

    /// (Taken boxed, as the bridge carries it: its fields move out of the box, not the whole of it first.)
    pub fn from_completed(c: Box<Completed>) -> Response {
        let escape = crate::http::escaping_error(&c.outcome, &c.meta);
        let Completed {
            outcome,
            meta,
            response_time_ms,
            failure,
            feed,
        } = *c;
        let version = outcome.response.as_ref().map_or(0, |r| r.version);
        let encoded = outcome.response.as_ref().and_then(|r| r.encoded.clone());
        let (status, reason, headers, body, url, elapsed, rmethod, rheaders) =
            match outcome.response {
                Some(r) => (
                    r.status,
                    Some(r.reason),
                    r.headers,
                    Some(r.body),
                    String::from(r.url),
                    r.elapsed.as_secs_f64(),
                    crate::http::check::method_text(&r.method),
                    r.request_headers,
                ),
                None => (
                    0,
                    None,
                    crate::http::Fields::new(),
                    None,
                    meta.request_url.to_string(),
                    0.0,
                    meta.method_label.to_ascii_uppercase().into(),
                    crate::http::SentHeaders::default(),
                ),
            };
        Response {
            status,
            reason,
            headers,
            body,
            url,
            elapsed,
            version,
            history: outcome.history,
            error: outcome.error,
            flavor: meta.flavor,
            name: meta.name,
            method_label: meta.method_label,
            request_url: meta.request_url,
            request_method: rmethod,
            request_headers: rheaders,
            request_body: meta.request_body,
            failure,
            escape,
            recorded: meta.recorded,
            stream: meta.stream,
            feed: feed.map(FeedRef),
            consumed: false,
            encoded,
            fast_stream: None,
            fast_content_read: !meta.stream,
            response_time_ms,
            start_time: outcome.timings.start_unix,
            encoding_override: None,
            headers_obj: None,
            request_obj: None,
            history_obj: None,
            text_obj: None,
            error_obj: None,
            plain: false,
        }
    }

    fn from_exchange(x: &Exchange, parent: &Response) -> Response {
        Response {
            status: x.status,
            reason: Some(x.reason.clone()),
            headers: x.headers.clone(),
            body: Some(x.body.clone()),
            url: x.url.to_string(),
            elapsed: x.elapsed.as_secs_f64(),
            version: x.version,
            history: Vec::new(),
            error: None,
            flavor: parent.flavor,
            name: parent.name.clone(),
            method_label: parent.method_label.clone(),
            request_url: x.url.clone(),
            request_method: crate::http::check::method_text(&x.method),
            request_headers: x.request_headers.clone(),
            request_body: None,
            failure: None,
            escape: None,
            recorded: false,
            stream: parent.stream,
            feed: None,
            consumed: false,
            encoded: None,
            fast_stream: None,
            fast_content_read: true,
            response_time_ms: parent.response_time_ms,
            start_time: parent.start_time,
            encoding_override: None,
            headers_obj: None,
            request_obj: None,
            history_obj: None,
            text_obj: None,
            error_obj: None,
            plain: true,
        }
    }

    /// A response with nothing in it (requests' `Response()`), before an unpickled state is put in.
    fn empty() -> Response {
        Response {
            status: 0,
            reason: None,
            headers: crate::http::Fields::new(),
            body: None,
            url: String::new(),
            elapsed: 0.0,
            version: 0,
            history: Vec::new(),
            error: None,
            flavor: Flavor::Requests,
            name: String::new(),
            method_label: String::new(),
            request_url: placeholder_url(),
            request_method: std::borrow::Cow::Borrowed(""),
            request_headers: crate::http::SentHeaders::default(),
            request_body: None,
            failure: None,
            escape: None,
            recorded: true,
            stream: false,
            feed: None,
            consumed: false,
            encoded: None,
            fast_stream: None,
            fast_content_read: true,
            response_time_ms: 0.0,
            start_time: 0.0,
            encoding_override: None,
            headers_obj: None,
            request_obj: None,
            history_obj: None,
            text_obj: None,
            error_obj: None,
            plain: true,
        }
    }

    fn content_type(&self) -> String {
        crate::http::header(&self.headers, "content-type")
            .unwrap_or("")
            .to_ascii_lowercase()
    }

    /// requests' `get_encoding_from_headers`: the charset parameter; ISO-8859-1 for text/*; utf-8 for JSON.
    fn header_encoding(&self) -> Option<String> {
        let ct = self.content_type();
        if ct.is_empty() {
            return None;
        }
        for part in ct.split(';').skip(1) {
            let part = part.trim();
            if let Some(cs) = part.strip_prefix("charset=") {
                return Some(cs.trim_matches(|c| c == '"' || c == '\'').to_string());
            }
        }
        if ct.starts_with("text/") {
            return Some("ISO-8859-1".into());
        }
        if ct.starts_with("application/json") {
            return Some("utf-8".into());
        }
        None
    }

    fn effective_encoding(&self) -> Option<String> {
        match &self.encoding_override {
            Some(e) => e.clone(),
            None => self.header_encoding(),
        }
    }

    /// Whether the connection error carries the request being sent (`e.request`): requests' adapter errors do
    /// (not those raised reading the body), and so do the socket errors geventhttpclient lets through (not its
    /// RetriesExceeded).
    fn error_has_request(&self) -> bool {
        match (&self.error, self.flavor) {
            (Some(e), Flavor::Requests) => e.carries_request(),
            (Some(e), Flavor::Fast) => !e
                .exception(Flavor::Fast, &self.request_url)
                .class
                .starts_with("geventhttpclient."),
            (None, _) => false,
        }
    }

    /// The error as a Python exception instance, made by the shim (classes users catch). `label` stands for the URL
    /// in an HTTP error's text: the request's name for the statistics (as Locust reports it), the URL for
    /// `raise_for_status()`.
    fn make_error(
        &self,
        py: Python<'_>,
        slf: &Bound<'_, Self>,
        label: &str,
    ) -> PyResult<Option<Py<PyAny>>> {
        let flavor = match self.flavor {
            Flavor::Requests => "requests",
            Flavor::Fast => "fast",
        };
        if let Some(e) = &self.error {
            let desc = exc_to_py(py, &e.exception(self.flavor, &self.request_url))?;
            // requests raises its errors with the request they were sending (`e.request`, the Response's own)
            let request = if self.error_has_request() {
                Response::request(slf)?
            } else {
                py.None()
            };
            let obj = callables::build_exc(py)?.call1((desc, py.None(), request))?;
            return Ok(Some(obj.unbind()));
        }
        match self.flavor {
            Flavor::Requests => match crate::http::http_error_message(
                self.status,
                self.reason.as_deref().unwrap_or(""),
                label,
            ) {
                Some(msg) => Ok(Some(
                    callables::make_error(py)?
                        .call1(("http", flavor, msg, self.url.as_str(), self.status, slf))?
                        .unbind(),
                )),
                None => Ok(None),
            },
            Flavor::Fast => {
                if crate::http::fast_status_ok(self.status) {
                    Ok(None)
                } else {
                    Ok(Some(
                        callables::make_error(py)?
                            .call1((
                                "badstatus",
                                flavor,
                                String::new(),
                                self.url.as_str(),
                                self.status,
                                slf,
                            ))?
                            .unbind(),
                    ))
                }
            }
        }
    }
}

#[pymethods]
impl Response {
    #[getter]
    fn status_code(&self) -> u16 {
        self.status
    }

    #[getter]
    fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// requests' `ok` (no HTTPError from `raise_for_status()`): False for 4xx and 5xx only. As under Locust, whose
    /// wrapper's `raise_for_status()` raises a call's connection error, `ok` raises that error; a FastHttpUser
    /// response is ok below 400 (a connection error's status is 0).
    #[getter]
    fn ok(slf: &Bound<'_, Self>) -> PyResult<bool> {
        let (flavor, status, failed) = {
            let this = slf.borrow();
            (this.flavor, this.status, this.error.is_some())
        };
        match flavor {
            Flavor::Fast => Ok(status < 400),
            Flavor::Requests if failed => Err(PyErr::from_value(
                Self::_conn_error(slf)?.into_bound(slf.py()),
            )),
            Flavor::Requests => Ok(!(400..600).contains(&status)),
        }
    }

    fn __bool__(slf: &Bound<'_, Self>) -> PyResult<bool> {
        Self::ok(slf)
    }

    /// requests' Python 2 spelling of `__bool__`, still on its Response.
    fn __nonzero__(slf: &Bound<'_, Self>) -> PyResult<bool> {
        Self::ok(slf)
    }

    /// The attributes requests pickles (`Response.__attrs__`).
    #[classattr]
    fn __attrs__() -> Vec<&'static str> {
        vec![
            "_content",
            "status_code",
            "headers",
            "url",
            "history",
            "encoding",
            "reason",
            "cookies",
            "elapsed",
            "request",
        ]
    }

    /// requests' `__getstate__`: the `__attrs__` with the body read (what pickling saves).
    fn __getstate__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        callables::response_state(slf.py())?.call1((slf,))
    }

    /// requests' iteration: the body in pieces of 128 bytes (`in`, `list()`, `for` go through it); FastHttpUser's:
    /// `response.stream`'s blocks, as geventhttpclient's CompatResponse iterates.
    fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        if slf.borrow().flavor == Flavor::Fast {
            return Self::stream(slf)?
                .into_bound(slf.py())
                .try_iter()
                .map(|i| i.into_any());
        }
        callables::iter_content(slf.py())?.call1((slf, 128))
    }

    /// NOTE: Locust's HttpSession returns a subclass of `requests.Response`; this class cannot be one (a native
    /// class has no Python base), so an HttpUser's response names `requests.Response` as its `__class__` once
    /// requests is imported: `isinstance()` consults `__class__` when the type itself does not match (as for
    /// `unittest.mock`'s spec objects), and nothing is added to a request's path.
    #[getter(__class__)]
    fn class_attr<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if slf.borrow().flavor == Flavor::Requests
            && let Some(cls) = requests_response(py)?
        {
            return Ok(cls);
        }
        Ok(slf.get_type().into_any())
    }

    /// requests' `Response()`: an empty response (unpickling makes one, then sets its state).
    #[new]
    fn py_new() -> Response {
        Response::empty()
    }

    /// Pickled as requests pickles a Response (its `__attrs__`, the body read): rebuilt by the class at
    /// `locust.clients.Response`, this one under rlocust, requests' Response where real Locust is imported.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let state = Self::__getstate__(slf)?;
        (slf.get_type(), pyo3::types::PyTuple::empty(py), state)
            .into_pyobject(py)
            .map(|t| t.into_any())
    }

    /// requests' `__setstate__`: the fields of a pickled response (`_content`, `status_code`, `headers`, `url`,
    /// `history`, `encoding`, `reason`, `elapsed`, `request`; `cookies` come from the headers again).
    fn __setstate__(slf: &Bound<'_, Self>, state: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = slf.py();
        let get = |k: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
            Ok(state.get_item(k)?.filter(|v| !v.is_none()))
        };
        let mut headers = crate::http::Fields::new();
        if let Some(h) = get("headers")? {
            for item in h.call_method0("items")?.try_iter()? {
                let (k, v): (String, String) = item?.extract()?;
                headers.push(&k, &v);
            }
        }
        let body = match get("_content")? {
            Some(b) if b.is_instance_of::<PyBytes>() => {
                Some(Bytes::copy_from_slice(b.extract::<&[u8]>()?))
            }
            _ => None,
        };
        let elapsed = match get("elapsed")? {
            Some(td) => td.call_method0("total_seconds")?.extract::<f64>()?,
            None => 0.0,
        };
        let mut this = slf.borrow_mut();
        this.status = match get("status_code")? {
            Some(v) => v.extract()?,
            None => 0,
        };
        this.reason = get("reason")?
            .map(|v| v.extract::<String>())
            .transpose()?
            .map(Into::into);
        this.url = get("url")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or_default();
        if let Ok(u) = url::Url::parse(&this.url) {
            this.request_url = u;
        }
        this.headers = headers;
        this.body = body;
        this.elapsed = elapsed;
        this.encoding_override = get("encoding")?
            .map(|v| v.extract::<String>().map(Some))
            .transpose()?;
        this.headers_obj = get("headers")?.map(|v| v.unbind());
        this.history_obj = Some(match get("history")? {
            Some(h) => h.unbind(),
            None => PyList::empty(py).into_any().unbind(),
        });
        this.request_obj = Some(get("request")?.map_or_else(|| py.None(), |v| v.unbind()));
        this.plain = true;
        this.text_obj = None;
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!("<Response [{}]>", self.status)
    }

    #[getter]
    fn content<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let py = slf.py();
        Self::whole_body(slf)?;
        Ok(slf.borrow().body.as_ref().map(|b| PyBytes::new(py, b)))
    }

    /// The next piece of a streamed body as the engine read it (`locust._stream.read_piece`): its bytes, None at
    /// the end (or without a streamed body), the exception reading it raises (as a tuple, `_ffi.build_exc`), or,
    /// when nothing has arrived yet, the ticket (an int) the next of these comes with.
    fn _read_piece(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        use crate::http::feed::Next;
        let Some(feed) = &self.feed else {
            return Ok(py.None());
        };
        let core = super::core()?;
        let bridge = core.bridge.clone();
        let ticket = bridge.next_ticket();
        let url = self.request_url.clone();
        let flavor = self.flavor;
        let exception = move |e: HttpError| Box::new(e.exception(flavor, &url));
        let now = {
            let exception = exception.clone();
            feed.0.next(move |next| {
                let data = match next {
                    Next::Piece(b) => Ok(Some(b)),
                    Next::End => Ok(None),
                    Next::Failed(e) => Err(exception(e)),
                };
                bridge.piece(crate::bridge::Piece { ticket, data });
            })
        };
        Ok(match now {
            None => ticket.into_pyobject(py)?.into_any().unbind(),
            Some(Next::Piece(b)) => PyBytes::new(py, &b).into_any().unbind(),
            Some(Next::End) => py.None(),
            Some(Next::Failed(e)) => exc_to_py(py, &exception(e))?,
        })
    }

    /// The streamed body read to its end by `locust._stream.read_rest`: `rest` follows what was read with the head.
    fn _finish_body(&mut self, rest: &[u8]) {
        let mut all = Vec::with_capacity(self.body.as_ref().map_or(0, |b| b.len()) + rest.len());
        all.extend_from_slice(self.body.as_deref().unwrap_or_default());
        all.extend_from_slice(rest);
        self.body = Some(Bytes::from(all));
        self.feed = None;
        self.text_obj = None;
    }

    /// The piece read with the head, handed to `iter_content` or `raw` (then no longer held), and whether a
    /// streamed rest follows.
    fn _take_first(&mut self) -> (Vec<u8>, bool) {
        let first = self.body.take().map(|b| b.to_vec()).unwrap_or_default();
        self.body = Some(Bytes::new());
        (first, self.feed.is_some())
    }

    /// What `raw.read(amt)` read beyond `amt`: the next read (or `content`) starts with it.
    fn _put_back(&mut self, data: &[u8]) {
        self.body = Some(Bytes::copy_from_slice(data));
    }

    /// `iter_content` went through the streamed body: `content` now raises, as requests' does.
    fn _consumed(&mut self) {
        self.consumed = true;
    }

    #[getter]
    fn _streaming(&self) -> bool {
        self.feed.is_some()
    }

    #[getter]
    fn text(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        Self::whole_body(slf)?;
        let mut this = slf.borrow_mut();
        if let Some(t) = &this.text_obj {
            return Ok(t.clone_ref(py));
        }
        let obj: Py<PyAny> = match &this.body {
            None => py.None(),
            Some(b) => {
                let enc = this.effective_encoding().unwrap_or_else(|| "utf-8".into());
                let bytes = PyBytes::new(py, b);
                match bytes.call_method1("decode", (enc.as_str(), "replace")) {
                    Ok(s) => s.unbind(),
                    Err(_) => bytes.call_method1("decode", ("utf-8", "replace"))?.unbind(),
                }
            }
        };
        this.text_obj = Some(obj.clone_ref(py));
        Ok(obj)
    }

    #[getter]
    fn get_encoding(&self) -> Option<String> {
        self.effective_encoding()
    }

    #[setter]
    fn set_encoding(&mut self, value: Option<String>) {
        self.encoding_override = Some(value);
        self.text_obj = None;
    }

    /// requests' guess from the body (charset_normalizer or chardet, as requests uses, when installed).
    #[getter]
    fn apparent_encoding<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        Self::whole_body(slf)?;
        let body = PyBytes::new(py, slf.borrow().body.as_deref().unwrap_or_default());
        callables::apparent_encoding(py)?.call1((body,))
    }

    #[getter]
    fn url(&self) -> String {
        self.url.clone()
    }

    /// The HTTP version the response came in (urllib3's numbering, shown as `response.raw.version`).
    #[getter]
    fn _version(&self) -> u8 {
        self.version
    }

    #[getter]
    fn elapsed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let td = py.import("datetime")?.getattr("timedelta")?;
        let kw = PyDict::new(py);
        kw.set_item("seconds", self.elapsed)?;
        td.call((), Some(&kw))
    }

    #[getter]
    fn headers(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let mut this = slf.borrow_mut();
        if let Some(h) = &this.headers_obj {
            return Ok(h.clone_ref(py));
        }
        if this.flavor == Flavor::Fast && this.status == 0 && this.error.is_some() {
            // Locust's ErrorResponse (a call that got no response) has no headers
            return Ok(py.None());
        }
        let pairs = pyo3::types::PyList::new(py, this.headers.iter())?;
        let obj = callables::make_headers(py)?.call1((pairs,))?.unbind();
        this.headers_obj = Some(obj.clone_ref(py));
        Ok(obj)
    }

    /// Cookies set by this response.
    #[getter]
    fn cookies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut pairs = Vec::new();
        for s in self.headers.all("set-cookie") {
            if let Some((n, rest)) = s.split_once('=') {
                let val = rest.split(';').next().unwrap_or("");
                pairs.push((n.trim().to_string(), val.trim().to_string()));
            }
        }
        callables::make_cookies(py)?.call1((pairs,))
    }

    #[getter]
    fn history(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if let Some(h) = &slf.borrow().history_obj {
            return Ok(h.clone_ref(py));
        }
        let list = PyList::empty(py);
        {
            let this = slf.borrow();
            for x in &this.history {
                list.append(Py::new(py, Response::from_exchange(x, &this))?)?;
            }
        }
        let obj = list.into_any().unbind();
        // (not kept when read while the response is borrowed, e.g. by the shim making its error)
        if let Ok(mut this) = slf.try_borrow_mut() {
            this.history_obj = Some(obj.clone_ref(py));
        }
        Ok(obj)
    }

    #[setter(history)]
    fn set_history(&mut self, value: Py<PyAny>) {
        self.history_obj = Some(value);
    }

    #[getter]
    fn request(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        {
            let this = slf.borrow();
            if let Some(r) = &this.request_obj {
                return Ok(r.clone_ref(py));
            }
            // Locust's response of a failed call has its error's request: none for an error raised reading the body
            if this.flavor == Flavor::Requests
                && this.error.as_ref().is_some_and(|e| !e.carries_request())
            {
                return Ok(py.None());
            }
        }
        let obj = {
            let this = slf.borrow();
            let body: Py<PyAny> = match &this.request_body {
                Some(b) => PyBytes::new(py, b).into_any().unbind(),
                None => py.None(),
            };
            callables::make_request(py)?
                .call1((
                    &*this.request_method,
                    this.url.as_str(),
                    header_pairs(&this.request_headers),
                    body,
                    slf,
                ))?
                .unbind()
        };
        if let Ok(mut this) = slf.try_borrow_mut() {
            this.request_obj = Some(obj.clone_ref(py));
        }
        Ok(obj)
    }

    #[setter(request)]
    fn set_request(&mut self, value: Py<PyAny>) {
        self.request_obj = Some(value);
    }

    /// requests' `Response.links`: the `Link` header parsed, keyed by `rel` (or the URL).
    #[getter]
    fn links<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        callables::parse_links(py)?.call1((crate::http::header(&self.headers, "link"),))
    }

    #[getter]
    fn is_permanent_redirect(&self) -> bool {
        matches!(self.status, 301 | 308) && crate::http::header(&self.headers, "location").is_some()
    }

    /// requests' `Response.next`: the request of the redirect's next hop, when redirects were not followed.
    #[getter]
    fn next(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        Ok(callables::next_request(py)?.call1((slf,))?.unbind())
    }

    /// requests' `Response.raw`: urllib3's response, a file-like object over the body (read once when the call had
    /// `stream=True`, empty otherwise, as requests has already consumed it). Not FastHttpUser's.
    #[getter]
    fn raw(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        if slf.borrow().flavor == Flavor::Fast {
            return Err(Self::no_attribute(slf, "raw"));
        }
        let py = slf.py();
        Ok(callables::make_raw(py)?.call1((slf,))?.unbind())
    }

    /// requests' `Response.iter_lines(chunk_size=512, decode_unicode=False, delimiter=None)` (bound). Not
    /// FastHttpUser's (its session has one).
    #[getter]
    fn iter_lines(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        if slf.borrow().flavor == Flavor::Fast {
            return Err(Self::no_attribute(slf, "iter_lines"));
        }
        Ok(callables::bound_method(slf.py())?
            .call1((callables::iter_lines(slf.py())?, slf))?
            .unbind())
    }

    /// FastHttpUser's `response.stream` (geventhttpclient's socket response): the body as it came, before content
    /// decoding, readable once; empty once `content` was read, which Locust does in the call unless `stream=True`.
    /// None for a response without one (a connection error). Not requests'.
    #[getter]
    fn stream(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let data = {
            let this = slf.borrow();
            if this.flavor != Flavor::Fast {
                drop(this);
                return Err(Self::no_attribute(slf, "stream"));
            }
            if let Some(s) = &this.fast_stream {
                return Ok(s.clone_ref(py));
            }
            if this.status == 0 && this.error.is_some() {
                return Ok(py.None());
            }
            match (&this.encoded, &this.body) {
                _ if this.fast_content_read => Bytes::new(),
                (Some(e), _) => e.clone(),
                (None, b) => b.clone().unwrap_or_default(),
            }
        };
        let obj = callables::fast_stream(py)?
            .call1((PyBytes::new(py, &data),))?
            .unbind();
        slf.borrow_mut().fast_stream = Some(obj.clone_ref(py));
        Ok(obj)
    }

    /// FastHttpUser's `read(n=None)`, `readline()` and `release()`: of `response.stream` (bound). Not requests'.
    #[getter]
    fn read(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::fast_method(slf, "read")
    }

    #[getter]
    fn readline(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::fast_method(slf, "readline")
    }

    #[getter]
    fn release(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::fast_method(slf, "release")
    }

    /// The call had `stream=True`.
    #[getter]
    fn _stream_call(&self) -> bool {
        self.stream
    }

    /// `iter_content` went through the streamed body (requests then raises StreamConsumedError for another).
    #[getter]
    fn _stream_consumed(&self) -> bool {
        self.consumed
    }

    #[getter]
    fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
            && crate::http::header(&self.headers, "location").is_some()
    }

    /// `response.error`: FastHttpUser sets it for any failure (a bad status included); HttpUser only on a response
    /// made from a connection error (requests' own responses have none, Locust's class attribute says None).
    #[getter]
    fn error(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        if slf.borrow().flavor == Flavor::Requests {
            return Self::_conn_error(slf);
        }
        Self::_error(slf)
    }

    /// The connection error or HTTP error of this response, as an exception instance (None if it succeeded): what
    /// the client's success rule reports.
    #[getter]
    fn _error(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if let Some(e) = &slf.borrow().error_obj {
            return Ok(e.clone_ref(py));
        }
        let has_request = slf.borrow().error_has_request();
        if has_request {
            Self::request(slf)?; // (made and kept first: the error carries this very object)
        }
        let made = {
            let this = slf.borrow();
            this.make_error(py, slf, &this.name)?
        };
        let obj = made.unwrap_or_else(|| py.None());
        slf.borrow_mut().error_obj = Some(obj.clone_ref(py));
        Ok(obj)
    }

    /// Report under another name (the shim's hooked calls, whose final response was sent by a hook).
    fn _rename(&mut self, name: String) {
        self.name = name;
        self.error_obj = None;
    }

    /// The connection error only (what Locust stores as `.error` on a response without status).
    #[getter]
    fn _conn_error(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        if slf.borrow().error.is_some() {
            Self::_error(slf)
        } else {
            Ok(slf.py().None())
        }
    }

    /// Raises the response's error; requests' HTTPError names the URL (Locust reports it under the request's name,
    /// and restores the URL after reporting).
    fn raise_for_status(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let e = {
            let this = slf.borrow();
            if this.flavor == Flavor::Requests && this.error.is_none() && this.name != this.url {
                this.make_error(py, slf, &this.url)?
                    .unwrap_or_else(|| py.None())
            } else {
                drop(this);
                Self::_error(slf)?
            }
        };
        if e.is_none(py) {
            return Ok(());
        }
        Err(PyErr::from_value(e.into_bound(py)))
    }

    #[pyo3(signature = (**kwargs))]
    fn json<'py>(
        slf: &Bound<'py, Self>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let text = Self::text(slf)?;
        let text = text.bind(py);
        let src: Bound<'py, PyAny> = if text.is_none() {
            PyString::new(py, "").into_any()
        } else {
            text.clone()
        };
        callables::json_loads(py)?.call((src,), kwargs)
    }

    /// requests' `iter_content(chunk_size=1, decode_unicode=False)`, or FastHttpUser's
    /// `iter_content(chunk_size=1024, decode_content=True)` (`locust._stream`: the arguments are checked there, as
    /// each client checks them).
    #[pyo3(signature = (*args, **kwargs))]
    fn iter_content<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, pyo3::types::PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let f = if slf.borrow().flavor == Flavor::Fast {
            callables::fast_iter_content(py)?
        } else {
            callables::iter_content(py)?
        };
        Self::call_with_self(slf, f, args, kwargs)
    }

    /// `async for piece in response.aiter_content(...)`: `iter_content(...)` inside a coroutine, each piece that has
    /// not arrived yet awaited without holding up the loop (`locust._aio`; rlocust's, not Locust's).
    #[pyo3(signature = (*args, **kwargs))]
    fn aiter_content<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, pyo3::types::PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Self::call_with_self(slf, callables::aiter_content(slf.py())?, args, kwargs)
    }

    /// `async for line in response.aiter_lines(...)`: `iter_lines(...)` inside a coroutine (a FastHttpUser response:
    /// its body's lines as its session's `iter_lines` splits them); rlocust's, not Locust's.
    #[pyo3(signature = (*args, **kwargs))]
    fn aiter_lines<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, pyo3::types::PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Self::call_with_self(slf, callables::aiter_lines(slf.py())?, args, kwargs)
    }

    /// The encoding `iter_content(decode_unicode=True)` decodes with (requests': the response's `encoding`).
    #[getter]
    fn _chunk_encoding(&self) -> Option<String> {
        self.effective_encoding()
    }

    /// Drop a streamed body's unread rest (and its connection), as requests' `close()` releases it.
    fn close(&mut self) {
        self.feed = None;
    }

    /// A call's response needs `catch_response=True` for a with-block (Locust's message); requests' own responses
    /// (a redirect's, `send()`'s) are context managers that close at the end.
    fn __enter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        if slf.borrow().plain {
            return Ok(slf.clone());
        }
        Err(locust_error(
            slf.py(),
            "In order to use a with-block for requests, you must also pass catch_response=True",
        ))
    }

    fn __exit__(&mut self, _a: Py<PyAny>, _b: Py<PyAny>, _c: Py<PyAny>) -> bool {
        if self.plain {
            self.close();
        }
        false
    }

    /// Made requests' own response (`send()`'s), or a call's again (a hook's resend it returns): see the field.
    fn _set_plain(&mut self, plain: bool) {
        self.plain = plain;
    }

    /// A FastHttpUser's response (its own `ok`, not a requests.Response).
    #[getter]
    fn _fast(&self) -> bool {
        self.flavor == Flavor::Fast
    }

    fn success(&self, py: Python<'_>) -> PyResult<()> {
        Err(not_catch_response(py))
    }

    #[pyo3(signature = (exc=None))]
    fn failure(&self, py: Python<'_>, exc: Option<Py<PyAny>>) -> PyResult<()> {
        let _ = exc;
        Err(not_catch_response(py))
    }

    // Internal data for the shim (events, catch_response verdicts).
    #[getter]
    fn _name(&self) -> String {
        self.name.clone()
    }
    #[getter]
    fn _method(&self) -> String {
        self.method_label.clone()
    }
    #[getter]
    fn _response_time(&self) -> f64 {
        self.response_time_ms
    }
    #[getter]
    fn _start_time(&self) -> f64 {
        self.start_time
    }
    #[getter]
    fn _length(&self) -> usize {
        if self.stream {
            return crate::http::content_length(&self.headers);
        }
        self.body.as_ref().map(|b| b.len()).unwrap_or(0)
    }
    #[getter]
    fn _failure(&self) -> Option<String> {
        self.failure.clone()
    }
    #[getter]
    fn _recorded(&self) -> bool {
        self.recorded
    }
    #[getter]
    fn _request_url(&self) -> String {
        self.request_url.to_string()
    }
    /// The exception the call raises into the task instead of recording a failure (see
    /// `http::escaping_error`), or None.
    #[getter]
    fn _escape(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.escape {
            Some(e) => Ok(callables::build_exc(py)?
                .call1((exc_to_py(py, e)?,))?
                .unbind()),
            None => Ok(py.None()),
        }
    }

    #[getter]
    fn _has_conn_error(&self) -> bool {
        self.error.is_some()
    }
}

/// A URL for a response that has none yet (an empty one, before its unpickled state is set).
fn placeholder_url() -> url::Url {
    url::Url::parse("http://localhost/").expect("a literal URL parses")
}

/// `requests.Response` when something imported requests (never imported here: it costs ~8 MB), cached once found.
fn requests_response(py: Python<'_>) -> PyResult<Option<Bound<'_, PyAny>>> {
    static CLS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    if let Some(c) = CLS.get(py) {
        return Ok(Some(c.bind(py).clone()));
    }
    let modules = py.import("sys")?.getattr("modules")?;
    let Some(models) = modules
        .call_method1("get", ("requests.models",))
        .ok()
        .filter(|m| !m.is_none())
    else {
        return Ok(None);
    };
    let Ok(cls) = models.getattr("Response") else {
        return Ok(None); // requests is still being imported
    };
    let _ = CLS.set(py, cls.clone().unbind());
    Ok(Some(cls))
}

fn not_catch_response(py: Python<'_>) -> PyErr {
    locust_error(
        py,
        "If you want to change the state of the request using .success() or .failure(), you must pass catch_response=True. See http://docs.locust.io/en/stable/writing-a-locustfile.html#validating-responses",
    )
}

fn locust_error(py: Python<'_>, msg: &str) -> PyErr {
    match callables::locust_error(py).and_then(|c| c.call1((msg,))) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}
