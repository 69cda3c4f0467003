//! The bridge's messages as Python sees them: `drain()` returns the batch's commands, the frozen classes [`Spawn`],
//! [`Stop`], [`Fire`], [`Web`], [`WebRequest`], [`Quit`] and [`DistMessage`]. (The batch's completions never
//! become a Python list: `resume` in `call.rs` takes them from the batch and makes each one's `Response`.)
//!
//! Built on the hub thread with the GIL held, from the plain-Rust messages of `bridge` (see its invariants: one
//! drain takes everything queued; completions and commands each keep their push order; the hub acknowledges
//! every command by its `id` once it is done).
use crate::bridge::{Arg, Command, IssuedCommand, StopWhat};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// Start `count` users of the class named `class_name`.
#[pyclass(frozen, module = "_rlocust", get_all)]
pub struct Spawn {
    id: u64,
    class_name: String,
    count: u64,
}

#[pymethods]
impl Spawn {
    #[new]
    fn new(id: u64, class_name: String, count: u64) -> Self {
        Spawn {
            id,
            class_name,
            count,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Spawn(id={}, class_name={:?}, count={})",
            self.id, self.class_name, self.count
        )
    }
}

/// Stop users, waiting up to `timeout` seconds for them to finish their task (0: at once). `class_name` and
/// `count` are both None for every user of every class (Locust's `stop()`), else both set (a ramp-down step:
/// the `count` most recently started users of that class).
#[pyclass(frozen, module = "_rlocust", get_all)]
pub struct Stop {
    id: u64,
    class_name: Option<String>,
    count: Option<u64>,
    timeout: f64,
}

#[pymethods]
impl Stop {
    #[new]
    #[pyo3(signature = (id, class_name=None, count=None, timeout=0.0))]
    fn new(
        id: u64,
        class_name: Option<String>,
        count: Option<u64>,
        timeout: f64,
    ) -> PyResult<Self> {
        if class_name.is_some() != count.is_some() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "Stop: class_name and count are both given or both None (every user)",
            ));
        }
        Ok(Stop {
            id,
            class_name,
            count,
            timeout,
        })
    }

    fn __repr__(&self) -> String {
        match (&self.class_name, self.count) {
            (Some(c), Some(n)) => format!(
                "Stop(id={}, class_name={c:?}, count={n}, timeout={:?})",
                self.id, self.timeout
            ),
            _ => format!("Stop(id={}, timeout={:?})", self.id, self.timeout),
        }
    }
}

/// Fire the Locust event `event` with keyword arguments `kwargs` (numbers only; often empty).
#[pyclass(frozen, module = "_rlocust", get_all)]
pub struct Fire {
    id: u64,
    event: String,
    kwargs: Py<PyDict>,
}

#[pymethods]
impl Fire {
    #[new]
    #[pyo3(signature = (id, event, kwargs=None))]
    fn new(py: Python<'_>, id: u64, event: String, kwargs: Option<Py<PyDict>>) -> Self {
        Fire {
            id,
            event,
            kwargs: kwargs.unwrap_or_else(|| PyDict::new(py).unbind()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Fire(id={}, event={:?}, kwargs={})",
            self.id,
            self.event,
            self.kwargs.bind(py).repr()?
        ))
    }
}

/// A web API action that needs Python: `action` (`swarm`, `user`, `reset_stats`) with its JSON `payload`.
#[pyclass(frozen, module = "_rlocust", get_all)]
pub struct Web {
    id: u64,
    action: String,
    payload: String,
}

#[pymethods]
impl Web {
    #[new]
    fn new(id: u64, action: String, payload: String) -> Self {
        Web {
            id,
            action,
            payload,
        }
    }

    fn __repr__(&self) -> String {
        format!("Web(id={}, action={:?})", self.id, self.action)
    }
}

/// A distributed-mode message for Python: `type`, `data` (decoded as Locust's msgpack would), `node_id`;
/// `internal`: a command of the Rust runner (`Command::Own`), not a message off the network.
#[pyclass(frozen, module = "_rlocust", get_all)]
pub struct DistMessage {
    id: u64,
    r#type: String,
    data: Py<PyAny>,
    node_id: String,
    internal: bool,
}

#[pymethods]
impl DistMessage {
    #[new]
    #[pyo3(signature = (id, r#type, data, node_id, internal=false))]
    fn new(id: u64, r#type: String, data: Py<PyAny>, node_id: String, internal: bool) -> Self {
        DistMessage {
            id,
            r#type,
            data,
            node_id,
            internal,
        }
    }

    fn __repr__(&self) -> String {
        format!("DistMessage(id={}, type={:?})", self.id, self.r#type)
    }
}

/// An HTTP request for the locustfile's Flask app (`locust._web.wsgi` builds the WSGI environ from it). Texts
/// are WSGI native strings (the bytes as Latin-1); `path` is still percent-encoded; `headers` are (lower-case
/// name, value) pairs in the order received. Answered with `web_reply(id, …)`, then acknowledged.
#[pyclass(frozen, module = "_rlocust", get_all)]
pub struct WebRequest {
    id: u64,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Py<PyBytes>,
    remote_addr: String,
    remote_port: u16,
    scheme: String,
    server_name: String,
    server_port: u16,
}

#[pymethods]
impl WebRequest {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: u64,
        method: String,
        path: String,
        query: String,
        headers: Vec<(String, String)>,
        body: Py<PyBytes>,
        remote_addr: String,
        remote_port: u16,
        scheme: String,
        server_name: String,
        server_port: u16,
    ) -> Self {
        WebRequest {
            id,
            method,
            path,
            query,
            headers,
            body,
            remote_addr,
            remote_port,
            scheme,
            server_name,
            server_port,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "WebRequest(id={}, method={:?}, path={:?})",
            self.id, self.method, self.path
        )
    }
}

/// Leave the hub loop: the test is over.
#[pyclass(frozen, module = "_rlocust", get_all)]
pub struct Quit {
    id: u64,
}

#[pymethods]
impl Quit {
    #[new]
    fn new(id: u64) -> Self {
        Quit { id }
    }

    fn __repr__(&self) -> String {
        format!("Quit(id={})", self.id)
    }
}

/// The Python object of one command.
fn command_object(py: Python<'_>, issued: IssuedCommand) -> PyResult<Py<PyAny>> {
    let IssuedCommand { id, command } = issued;
    Ok(match command {
        Command::Spawn { class, count } => Py::new(
            py,
            Spawn {
                id,
                class_name: class,
                count,
            },
        )?
        .into_any(),
        Command::Stop { users, timeout } => {
            let (class_name, count) = match users {
                StopWhat::All => (None, None),
                StopWhat::Class { class, count } => (Some(class), Some(count)),
            };
            Py::new(
                py,
                Stop {
                    id,
                    class_name,
                    count,
                    timeout,
                },
            )?
            .into_any()
        }
        Command::Fire { event, kwargs } => {
            let dict = PyDict::new(py);
            for (k, v) in kwargs {
                match v {
                    Arg::Int(i) => dict.set_item(k, i)?,
                    Arg::Float(f) => dict.set_item(k, f)?,
                    Arg::Str(t) => dict.set_item(k, t)?,
                }
            }
            Py::new(
                py,
                Fire {
                    id,
                    event,
                    kwargs: dict.unbind(),
                },
            )?
            .into_any()
        }
        Command::Web { action, payload } => Py::new(
            py,
            Web {
                id,
                action,
                payload,
            },
        )?
        .into_any(),
        Command::WebRequest(r) => {
            let r = *r;
            Py::new(
                py,
                WebRequest {
                    id,
                    method: r.method,
                    path: r.path,
                    query: r.query,
                    headers: r.headers,
                    body: PyBytes::new(py, &r.body).unbind(),
                    remote_addr: r.remote_addr,
                    remote_port: r.remote_port,
                    scheme: r.scheme,
                    server_name: r.server_name,
                    server_port: r.server_port,
                },
            )?
            .into_any()
        }
        Command::Dist {
            kind,
            data,
            node_id,
        } => dist_message(py, id, kind, &data, node_id, false)?,
        Command::Own {
            kind,
            data,
            node_id,
        } => dist_message(py, id, kind.to_owned(), &data, node_id, true)?,
        Command::Quit => Py::new(py, Quit { id })?.into_any(),
    })
}

/// A `DistMessage` for Python (`internal`: one of the runner's own commands).
fn dist_message(
    py: Python<'_>,
    id: u64,
    kind: String,
    data: &crate::msgpack::Value,
    node_id: String,
    internal: bool,
) -> PyResult<Py<PyAny>> {
    Ok(Py::new(
        py,
        DistMessage {
            id,
            r#type: kind,
            data: super::distributed::to_py(py, data)?,
            node_id,
            internal,
        },
    )?
    .into_any())
}

/// The commands of one drain as Python objects, in order, emptying `commands` (its buffer is kept).
pub fn commands_to_py<'py>(
    py: Python<'py>,
    commands: &mut Vec<IssuedCommand>,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for issued in commands.drain(..) {
        list.append(command_object(py, issued)?)?;
    }
    Ok(list)
}

pub fn add_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Spawn>()?;
    m.add_class::<Stop>()?;
    m.add_class::<Fire>()?;
    m.add_class::<Quit>()?;
    m.add_class::<Web>()?;
    m.add_class::<WebRequest>()?;
    m.add_class::<DistMessage>()?;
    Ok(())
}
