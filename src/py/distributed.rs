//! Distributed mode as Python sees it: msgpack values to and from Python objects (the types Locust's
//! `msgpack.dumps(default=encode)`/`loads(object_hook=decode)` give), and the `_rlocust.dist_*` functions behind the
//! shim's `WorkerRunner`/`MasterRunner` (`client_id`, `worker_index`, `clients`, `send_message`).
use crate::distributed::node::{Custom, Node};
use crate::distributed::{MAX_DEPTH, Value};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// A message's data as Python: dicts, lists, str, bytes, int, float, bool, None; `datetime.datetime` for the
/// protocol's datetimes; bson's `ObjectId` when bson is installed (its hex text otherwise).
pub fn to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Nil => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::UInt(u) => u.into_pyobject(py)?.into_any().unbind(),
        Value::Float(f) => PyFloat::new(py, *f).into_any().unbind(),
        Value::Str(s) => PyString::new(py, s).into_any().unbind(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Map(pairs) => {
            let dict = PyDict::new(py);
            for (k, v) in pairs {
                dict.set_item(to_py(py, k)?, to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
        Value::DateTime(text) => py
            .import("datetime")?
            .getattr("datetime")?
            .call_method1("strptime", (text, "%Y%m%dT%H:%M:%S.%f"))?
            .unbind(),
        Value::ObjectId(hex) => match py.import("bson") {
            Ok(bson) => bson.getattr("ObjectId")?.call1((hex,))?.unbind(),
            Err(_) => PyString::new(py, hex).into_any().unbind(),
        },
    })
}

/// A Python object as the wire value Locust's encoder makes of it; other types are refused with msgpack's
/// TypeError text, as `runner.send_message` raises under Locust.
pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    from_py_depth(obj, 0)
}

fn from_py_depth(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err("recursion limit exceeded"));
    }
    if obj.is_none() {
        return Ok(Value::Nil);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Int(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from_u64(u));
        }
        return Err(PyValueError::new_err("int too big to convert"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::Str(s.to_str()?.to_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut pairs = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            pairs.push((from_py_depth(&k, depth + 1)?, from_py_depth(&v, depth + 1)?));
        }
        return Ok(Value::Map(pairs));
    }
    if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        let mut items = Vec::new();
        for item in obj.try_iter()? {
            items.push(from_py_depth(&item?, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    let py = obj.py();
    let datetime = py.import("datetime")?.getattr("datetime")?;
    if obj.is_instance(&datetime)? {
        let text: String = obj
            .call_method1("strftime", ("%Y%m%dT%H:%M:%S.%f",))?
            .extract()?;
        return Ok(Value::DateTime(text));
    }
    if obj.get_type().name()?.to_str()? == "ObjectId" {
        return Ok(Value::ObjectId(obj.str()?.to_str()?.to_owned()));
    }
    if obj.cast::<pyo3::types::PyByteArray>().is_ok() {
        let b: Vec<u8> = obj.extract()?;
        return Ok(Value::Bytes(b));
    }
    Err(PyTypeError::new_err(format!(
        "can not serialize '{}' object",
        obj.get_type().name()?
    )))
}

/// `(role, client_id, worker_index)` of this process in a distributed run, or None.
#[pyfunction]
pub fn dist_node() -> Option<(&'static str, String, i64)> {
    Node::get().map(|n| (n.role.as_str(), n.client_id.clone(), n.index()))
}

/// `runner.send_message(msg_type, data, client_id)`: a worker sends to its master; a master to `client_id`, or
/// to every worker it knows when None. False outside a distributed run.
#[pyfunction]
#[pyo3(signature = (msg_type, data=None, client_id=None))]
pub fn dist_send(
    msg_type: String,
    data: Option<&Bound<'_, PyAny>>,
    client_id: Option<String>,
) -> PyResult<bool> {
    let Some(node) = Node::get() else {
        return Ok(false);
    };
    let data = match data {
        Some(d) => from_py(d)?,
        None => Value::Nil,
    };
    Ok(node.send(Custom {
        kind: msg_type,
        data,
        to: client_id,
    }))
}

/// A master's workers: `(id, index, state, user_count, user_classes_count, cpu_usage, memory_usage)` each.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn dist_workers() -> Vec<(String, i64, &'static str, u64, Vec<(String, u64)>, f64, u64)> {
    Node::get()
        .map(|n| {
            n.workers()
                .iter()
                .map(|w| {
                    (
                        w.id.clone(),
                        w.index,
                        w.state,
                        w.user_count,
                        w.user_classes_count.clone(),
                        w.cpu_usage,
                        w.memory_usage,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A master's `environment.host` and `vars(environment.parsed_options)` for the next `spawn` messages. Options
/// msgpack cannot carry are left out (Locust would fail to send them at all).
#[pyfunction]
pub fn dist_set_spawn_info(
    host: Option<String>,
    parsed_options: &Bound<'_, PyDict>,
) -> PyResult<()> {
    let Some(node) = Node::get() else {
        return Ok(());
    };
    let mut pairs = Vec::new();
    for (k, v) in parsed_options.iter() {
        if let (Ok(k), Ok(v)) = (from_py(&k), from_py(&v)) {
            pairs.push((k, v));
        }
    }
    node.set_spawn_info(host, Value::Map(pairs));
    Ok(())
}

/// The shim's `EventHook`: whether the distributed-mode event `name` has listeners now (see `distributed::listened`).
#[pyfunction]
pub fn dist_listened(name: &str, on: bool) -> bool {
    crate::distributed::listened::set(name, on)
}

/// A worker's `report_to_master` listeners are done: the keys they put in `data` go into the `stats` message being
/// built. Values msgpack cannot carry raise `TypeError`, as Locust's send would.
#[pyfunction]
pub fn dist_report_extra(data: &Bound<'_, PyDict>) -> PyResult<()> {
    let mut pairs = Vec::with_capacity(data.len());
    for (k, v) in data.iter() {
        pairs.push((from_py(&k)?, from_py(&v)?));
    }
    crate::distributed::listened::set_report_extra(pairs);
    Ok(())
}

pub fn add_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(dist_listened, m)?)?;
    m.add_function(wrap_pyfunction!(dist_report_extra, m)?)?;
    m.add_function(wrap_pyfunction!(dist_set_spawn_info, m)?)?;
    m.add_function(wrap_pyfunction!(dist_node, m)?)?;
    m.add_function(wrap_pyfunction!(dist_send, m)?)?;
    m.add_function(wrap_pyfunction!(dist_workers, m)?)?;
    Ok(())
}
