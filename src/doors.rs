//! The program's doors: how each way of starting rlocust enters it, and the module `_rlocust` Python imports.
//!
//! - The `rlocust` binary ([`main`]) and `rlocust-python` ([`main_python`]): register `_rlocust` with the embedded
//!   interpreter (`interp` calls the registration this floor hands it), then run `app`.
//! - The wheel: Python imports `rlocust._rlocust` (the `PyInit` this module's `#[pymodule]` exports), and its
//!   console scripts, pytest plugin and import hook call the door functions here (`run`, `run_python`,
//!   `activate_library`, `serve_shim`), which enter `app` as the binary does.
//!
//! Who calls it: `src/main.rs`, `src/bin/rlocust-python.rs`, and Python (the wheel, and `create_web_ui()` /
//! `get_parser()` of a script in library mode). The top floor: it imports `app`, `py` (the classes and functions
//! of `_rlocust`, added by [`crate::py::add_parts`]) and `interp`, and nothing imports it, so `py` never reaches
//! back up into `app`. With `interp` and `py`, the only place that touches pyo3.
//!
//! What it must not do: hold behaviour. Each door converts Python's arguments and calls one function below.
use crate::app::{self, ExitStatus};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// The `rlocust` binary: Locust's command line. Returns the process exit code.
pub fn main(argv: Vec<String>) -> i32 {
    crate::interp::set_module(register);
    app::run(argv)
}

/// The `rlocust-python` binary: runs a Python entry point as `python` would. Returns the process exit code.
pub fn main_python(argv: Vec<String>) -> i32 {
    crate::interp::set_module(register);
    app::run_python(argv)
}

/// The `rlocust-report` binary: results compared without re-running them. Returns the process exit code.
pub fn main_report(argv: Vec<String>) -> i32 {
    app::report_cli::main(argv)
}

/// Adds `_rlocust` to the embedded interpreter's built-in modules (before it starts). In the wheel (an extension
/// module, on the stable ABI without `PyImport_AppendInittab`) the host interpreter imports it instead.
fn register() {
    #[cfg(not(feature = "extension-module"))]
    pyo3::append_to_inittab!(rlocust_module);
}

/// The wheel's entry point (`rlocust` console script, `python -m rlocust`): the same program as the binary,
/// run inside the host interpreter. Returns the exit code.
#[pyfunction]
fn run(py: Python<'_>, argv: Vec<String>) -> i32 {
    let package = py
        .import("rlocust")
        .and_then(|m| m.getattr("__file__"))
        .and_then(|f| f.extract::<String>());
    if let Ok(file) = package
        && let Some(dir) = std::path::Path::new(&file).parent()
    {
        let _ = app::PLACE.set(dir.display().to_string());
    }
    app::run(argv)
}

/// `rlocust-python` inside a host interpreter (the wheel's console script): runs `argv` as `python` would.
#[pyfunction]
fn run_python(argv: Vec<String>) -> i32 {
    app::run_python(argv)
}

/// `rlocust-report` inside a host interpreter (the wheel's console script).
#[pyfunction]
fn run_report(argv: Vec<String>) -> i32 {
    app::report_cli::main(argv)
}

/// The wheel's pytest plugin (`rlocust.pytest_plugin`) in a plain `pytest`: start the engine in this interpreter
/// and serve rlocust's `locust` from now on. Raises RuntimeError with one line when it cannot.
#[pyfunction]
fn activate_library() -> PyResult<()> {
    app::library::activate().map_err(PyRuntimeError::new_err)
}

/// `import locust` in a plain interpreter of an environment made to answer as Locust (`python -m
/// rlocust.as_locust`, whose import hook calls this): serve rlocust's `locust` package from now on, without
/// starting the engine. A later `locust.main.main()` runs the command line with `run`, which starts
/// the engine as `rlocust` does, so listeners added before it (Taurus's wrapper) stay on the same `events`.
/// Idempotent; RuntimeError (one line) when the importer cannot be installed.
#[pyfunction]
fn serve_shim() -> PyResult<()> {
    crate::interp::start_hosted()
        .map_err(|e| PyRuntimeError::new_err(ExitStatus::from(e).text().1.trim().to_string()))
}

/// `environment.create_web_ui(host, port)`: rlocust's web UI (Rust) for the current runner, from Locust's
/// defaults plus `args` (command-line spellings such as `--web-base-path /x`). Returns the bound (host, port).
#[pyfunction]
fn lib_web_ui(py: Python<'_>, args: Vec<String>, info: String) -> PyResult<(String, u16)> {
    let (handle, shared, run, bridge) = crate::py::library_web_ui()?;
    py.detach(move || app::library::start_web_ui(&handle, shared, run, bridge, &args, &info))
        .map_err(PyRuntimeError::new_err)
}

/// What `get_parser().parse_args(argv)` gives (`locust.argument_parser`): Locust's built-in options parsed from
/// `argv` as `rlocust` parses them (its `LOCUST_*` variables and config files included), with the options a
/// locustfile added (`custom`: `custom_arg_specs` tuples). `config_files` replaces Locust's default config files
/// when given; `known`: unrecognized arguments are returned instead of refused (`parse_known_args`).
/// Returns (the built-in options as a dict, None, ("", ""), the added options' arguments for argparse, the
/// unrecognized arguments), or, when parsing ends the program (a usage error, `--help`, `--version`): (None, exit
/// code, (stdout text, stderr text), [], []).
#[allow(clippy::type_complexity)] // the tuple is the Python-side contract
#[pyfunction]
#[pyo3(signature = (argv, custom=Vec::new(), config_files=None, known=false))]
fn lib_parse_options<'py>(
    py: Python<'py>,
    argv: Vec<String>,
    custom: Vec<Bound<'py, pyo3::types::PyTuple>>,
    config_files: Option<Vec<String>>,
    known: bool,
) -> PyResult<(
    Option<Bound<'py, pyo3::types::PyDict>>,
    Option<i32>,
    (String, String),
    Vec<String>,
    Vec<String>,
)> {
    use crate::cli::Value;
    let custom = crate::py::custom_args(custom)?;
    let mut env = crate::cli::Env::from_process();
    env.config_files = config_files;
    let result = if known {
        crate::cli::parse_known(&argv, &env, &custom)
    } else {
        crate::cli::parse(&argv, &env, &custom).map(|parsed| (parsed, Vec::new()))
    };
    match result {
        Ok((parsed, extras)) => {
            let d = pyo3::types::PyDict::new(py);
            for (k, v) in &parsed.values {
                let obj: Bound<'py, PyAny> = match v {
                    Value::None => py.None().into_bound(py),
                    Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
                    Value::Int(i) => i.into_pyobject(py)?.into_any(),
                    Value::Float(f) => f.into_pyobject(py)?.into_any(),
                    Value::Str(s) => s.into_pyobject(py)?.into_any(),
                    Value::List(l) => pyo3::types::PyList::new(py, l)?.into_any(),
                };
                d.set_item(k, obj)?;
            }
            Ok((
                Some(d),
                None,
                Default::default(),
                parsed.custom_argv,
                extras,
            ))
        }
        Err(e) => {
            let status = ExitStatus::Cli(e);
            Ok((
                None,
                Some(status.code()),
                status.text(),
                Vec::new(),
                Vec::new(),
            ))
        }
    }
}

/// The module `_rlocust`: `py`'s classes and functions, and the doors above.
#[pymodule]
#[pyo3(name = "_rlocust")]
pub fn rlocust_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    crate::py::add_parts(m)?;
    m.add("__version__", crate::version::VERSION)?;
    m.add("LOCUST_VERSION", crate::version::LOCUST_VERSION)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(run_python, m)?)?;
    m.add_function(wrap_pyfunction!(run_report, m)?)?;
    m.add_function(wrap_pyfunction!(activate_library, m)?)?;
    m.add_function(wrap_pyfunction!(serve_shim, m)?)?;
    m.add_function(wrap_pyfunction!(lib_web_ui, m)?)?;
    m.add_function(wrap_pyfunction!(lib_parse_options, m)?)?;
    Ok(())
}
