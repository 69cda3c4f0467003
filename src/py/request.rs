//! `_rlocust.Request`: one HTTP call as the shim's clients describe it (`HttpSession`, `FastHttpSession`, a
//! prepared request's `send`), built on the hub thread and handed whole to `Session.send`, which takes its fields
//! out (a Request is sent once). It holds what Python handed over, converted by pyo3 as the constructor's
//! arguments are; nothing here parses, checks or does I/O (`Session.send` does, with the client's rules).
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use std::sync::Arc;

/// Header lists the shim sends unchanged with most calls (the default headers of a session nobody customised),
/// registered once with [`share_headers`], each with its pairs as converted then: a Request given one of these
/// very objects shares the pairs instead of converting the list again (8 strings per call for HttpUser's four
/// headers: bench/breakdown.py).
static SHARED: Mutex<Vec<(Py<PyAny>, Pairs)>> = Mutex::new(Vec::new());

/// Header pairs in order, as `http::RequestSpec` holds them.
pub(crate) type Pairs = Arc<crate::http::HeaderList>;

/// Register `pairs` (a list of `(name, value)` the shim never changes) as a shared header list.
#[pyfunction]
pub fn share_headers(pairs: &Bound<'_, PyAny>) -> PyResult<()> {
    let converted: Vec<(String, String)> = pairs.extract()?;
    let mut shared = SHARED.lock();
    if !shared.iter().any(|(o, _)| o.is(pairs)) {
        shared.push((
            pairs.clone().unbind(),
            Arc::new(crate::http::HeaderList::shared(converted)),
        ));
    }
    Ok(())
}

/// The pairs of `headers`: shared when it is a registered list, else converted.
pub(crate) fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Pairs> {
    if let Some((_, pairs)) = SHARED.lock().iter().find(|(o, _)| o.is(headers)) {
        return Ok(pairs.clone());
    }
    Ok(Arc::new(crate::http::HeaderList::new(headers.extract()?)))
}

/// `timeout`: (connect seconds, read seconds, connect as text, read as text), None for "wait forever".
pub type TimeoutArg = (Option<f64>, Option<f64>, String, Option<String>);

/// The fields, in the constructor's order.
#[pyclass(module = "_rlocust", name = "Request")]
pub struct Request {
    pub method: String,
    /// The URL to request (absolute, already joined with the host).
    pub url: String,
    /// The stats name; None resolves to the client's default (requests: path and query; FastHttp: the url as
    /// given).
    pub name: Option<String>,
    pub headers: Pairs,
    pub body: Option<PyBackedBytes>,
    /// None, or the timeouts as the shim validated them (the client's rules).
    pub timeout: Option<TimeoutArg>,
    pub allow_redirects: bool,
    pub verify: bool,
    /// Cookies of this call only (requests' `cookies=`), beside the session's jar.
    pub cookies: Vec<(String, String)>,
    /// Recorded by the engine itself (no listener or `catch_response` needs the Python side to report it).
    pub record: bool,
    pub max_redirects: u32,
    /// FastHttpUser: the URL as the locustfile gave it (its default stats name).
    pub url_as_given: Option<String>,
    pub retries_on_close: u32,
    /// The client's text for a header part the shim refused after `headers` (the call fails with it unless one of
    /// `headers` is refused first).
    pub header_fault: Option<String>,
    /// The URL the locustfile gave has no host (`url` has one, to be parsed).
    pub no_host: bool,
    /// The http:// proxy URL requests chose.
    pub proxy: Option<String>,
    /// requests' `verify=<path>`.
    pub ca_bundle: Option<String>,
    /// requests' `cert=`: the certificate and its key.
    pub cert: Option<String>,
    pub key: Option<String>,
    /// What Python's ssl raised loading `ca_bundle`/`cert` (errno, text).
    pub tls_error: Option<(i32, String)>,
    /// `stream=True`: the body is read as the locustfile asks for it.
    pub stream: bool,
}

impl Default for Request {
    /// No call yet (the plain calls fill in theirs): `headers` is one empty list all defaults share, so that a
    /// Request made this way and given its headers after allocates nothing for them.
    fn default() -> Request {
        static NONE: std::sync::LazyLock<Pairs> = std::sync::LazyLock::new(Pairs::default);
        Request {
            method: String::new(),
            url: String::new(),
            name: None,
            headers: NONE.clone(),
            body: None,
            timeout: None,
            allow_redirects: false,
            verify: false,
            cookies: Vec::new(),
            record: false,
            max_redirects: 0,
            url_as_given: None,
            retries_on_close: 0,
            header_fault: None,
            no_host: false,
            proxy: None,
            ca_bundle: None,
            cert: None,
            key: None,
            tls_error: None,
            stream: false,
        }
    }
}

#[pymethods]
impl Request {
    #[new]
    #[pyo3(signature = (method, url, name, headers, body, timeout, allow_redirects, verify, cookies, record, max_redirects=30, url_as_given=None, retries_on_close=0, *, header_fault=None, no_host=false, proxy=None, ca_bundle=None, cert=None, key=None, tls_error=None, stream=false))]
    #[allow(clippy::too_many_arguments)] // one keyword per field: the shim's calls name them
    fn new(
        method: String,
        url: String,
        name: Option<String>,
        headers: &Bound<'_, PyAny>,
        body: Option<PyBackedBytes>,
        timeout: Option<TimeoutArg>,
        allow_redirects: bool,
        verify: bool,
        cookies: Vec<(String, String)>,
        record: bool,
        max_redirects: u32,
        url_as_given: Option<String>,
        retries_on_close: u32,
        header_fault: Option<String>,
        no_host: bool,
        proxy: Option<String>,
        ca_bundle: Option<String>,
        cert: Option<String>,
        key: Option<String>,
        tls_error: Option<(i32, String)>,
        stream: bool,
    ) -> PyResult<Self> {
        Ok(Request {
            method,
            url,
            name,
            headers: header_pairs(headers)?,
            body,
            timeout,
            allow_redirects,
            verify,
            cookies,
            record,
            max_redirects,
            url_as_given,
            retries_on_close,
            header_fault,
            no_host,
            proxy,
            ca_bundle,
            cert,
            key,
            tls_error,
            stream,
        })
    }
}
