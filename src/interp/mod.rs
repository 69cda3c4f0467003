//! The embedded interpreter: starting CPython with the `_rlocust` module, serving the `locust` shim from
//! memory ahead of any installed Locust, loading locustfiles, and running the gevent hub until the runner
//! says the test is over. The only code (with `py`) that runs Python; every function here is called on the
//! main thread, which is the one Python thread ("the hub").
//!
//! Python errors become owned strings here, at the boundary; callers get [`InterpError`].
use crate::cli::{CustomArg, Value};
use crate::py::callables;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

include!(concat!(env!("OUT_DIR"), "/shim_sources.rs"));

/// Failures a user can cause while Python runs: each is one clear message and an exit code.
#[derive(Debug, thiserror::Error)]
pub enum InterpError {
    /// The message is complete (it may contain a Python traceback); exit with `code`.
    #[error("{message}")]
    User { message: String, code: i32 },
    #[error("internal error: {0}")]
    Internal(String),
}

fn internal(py: Python<'_>, e: PyErr) -> InterpError {
    InterpError::Internal(format_exc(py, &e))
}

/// The Python traceback of `e` as text (what Python would print).
pub fn format_exc(py: Python<'_>, e: &PyErr) -> String {
    let tb = py.import("traceback").and_then(|m| {
        m.call_method1(
            "format_exception",
            (e.get_type(py), e.value(py), e.traceback(py)),
        )
        .and_then(|l| l.extract::<Vec<String>>())
    });
    match tb {
        Ok(lines) => lines.concat(),
        Err(_) => e.to_string(),
    }
}

/// A user class found in the locustfiles.
#[derive(Debug, Clone)]
pub struct ClassInfo {
    pub name: String,
    pub weight: f64,
    pub fixed_count: u64,
}

/// What loading the locustfiles produced.
pub struct Loaded {
    pub classes: Vec<ClassInfo>,
    pub custom_args: Vec<CustomArg>,
    pub has_shape: bool,
}

/// Whether this process started the interpreter (the standalone binary) rather than running inside one (the
/// wheel's entry point).
static EMBEDDED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Make Python ready: in the binary, start CPython with `_rlocust` built in; inside a host interpreter (the
/// wheel), register the already-imported extension as `_rlocust`. Then install the shim importer.
pub fn start() -> Result<(), InterpError> {
    start_with(true)
}

/// [`start`] inside a program that is already running and owns `sys.stderr` (pytest, under the wheel's pytest
/// plugin): the importer only; stderr is left as the program set it.
pub fn start_hosted() -> Result<(), InterpError> {
    start_with(false)
}

fn start_with(line_stderr: bool) -> Result<(), InterpError> {
    // SAFETY: Py_IsInitialized only reads a flag.
    let running = unsafe { pyo3::ffi::Py_IsInitialized() } != 0;
    if !running {
        #[cfg(not(feature = "extension-module"))]
        {
            if let Some(register) = MODULE.get() {
                register();
            }
            embedded_init()?;
        }
        #[cfg(feature = "extension-module")]
        Python::initialize();
        EMBEDDED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    Python::attach(|py| -> Result<(), InterpError> {
        if running {
            let m = py.import("rlocust._rlocust").map_err(|e| internal(py, e))?;
            py.import("sys")
                .and_then(|sys| sys.getattr("modules"))
                .and_then(|mods| mods.set_item("_rlocust", m))
                .map_err(|e| internal(py, e))?;
        }
        let code =
            std::ffi::CString::new(BOOTSTRAP).map_err(|e| InterpError::Internal(e.to_string()))?;
        let globals = PyDict::new(py);
        let sources = PyDict::new(py);
        for (name, is_pkg, src, code) in SHIM_SOURCES {
            let code = (!code.is_empty()).then(|| PyBytes::new(py, code));
            sources
                .set_item(*name, (*is_pkg, *src, code))
                .map_err(|e| internal(py, e))?;
        }
        globals
            .set_item("SHIM_MAGIC", PyBytes::new(py, SHIM_MAGIC))
            .map_err(|e| internal(py, e))?;
        globals
            .set_item("SHIM", sources)
            .map_err(|e| internal(py, e))?;
        globals
            .set_item("EMBEDDED", !running)
            .map_err(|e| internal(py, e))?;
        globals
            .set_item("LINE_STDERR", line_stderr)
            .map_err(|e| internal(py, e))?;
        let argv: Vec<String> = std::iter::once("rlocust".to_string())
            .chain(std::env::args().skip(1))
            .collect();
        globals
            .set_item("ARGV", argv)
            .map_err(|e| internal(py, e))?;
        py.run(&code, Some(&globals), None)
            .map_err(|e| internal(py, e))?;
        Ok(())
    })
}

/// Start the interpreter the binary was built against: its home (standard library) comes from the build unless
/// `PYTHONHOME` is set, so `env -i` or a different `python3` first on PATH do not matter. Signal handlers are
/// not installed (the hub installs its own). Leaves the GIL released, as pyo3 expects.
#[cfg(not(feature = "extension-module"))]
fn embedded_init() -> Result<(), InterpError> {
    use pyo3::ffi;
    use std::ffi::CString;
    let home =
        option_env!("RLOCUST_PYTHON_HOME").filter(|_| std::env::var_os("PYTHONHOME").is_none());
    let program = option_env!("RLOCUST_PYTHON_EXECUTABLE");
    check_stdlib(home)?;
    raw_memory_on_mimalloc();
    // SAFETY: the documented PyConfig sequence (init, set strings, initialize, clear) on a zeroed struct, on
    // the main thread before any other Python use.
    unsafe {
        let mut config: ffi::PyConfig = std::mem::zeroed();
        ffi::PyConfig_InitPythonConfig(&mut config);
        config.install_signal_handlers = 0;
        let mut ok = true;
        if let Some(h) = home.and_then(|h| CString::new(h).ok()) {
            ok &= ffi::PyStatus_Exception(ffi::PyConfig_SetBytesString(
                &mut config,
                &mut config.home,
                h.as_ptr(),
            )) == 0;
        }
        if let Some(p) = program.and_then(|p| CString::new(p).ok()) {
            ok &= ffi::PyStatus_Exception(ffi::PyConfig_SetBytesString(
                &mut config,
                &mut config.program_name,
                p.as_ptr(),
            )) == 0;
        }
        let status = ffi::Py_InitializeFromConfig(&config);
        ffi::PyConfig_Clear(&mut config);
        if !ok || ffi::PyStatus_Exception(status) != 0 {
            return Err(InterpError::User {
                message: format!(
                    "rlocust: cannot start the Python interpreter it was built against (home {}); set PYTHONHOME to a Python {} installation",
                    home.map(str::to_string)
                        .or_else(|| std::env::var("PYTHONHOME").ok())
                        .unwrap_or_else(|| "unknown".into()),
                    option_env!("RLOCUST_PYTHON_VERSION").unwrap_or("3")
                ),
                code: 1,
            });
        }
        ffi::PyEval_SaveThread();
    }
    Ok(())
}

/// CPython's raw memory domain (`PyMem_RawMalloc`, and every block pymalloc does not keep: over 512 bytes) on
/// mimalloc, the engine's allocator, instead of glibc's malloc. Per request the hub allocates and frees such blocks
/// several times (greenlet's copy of a parked user's C stack, about 3 KB, at every switch; the `Response`, about
/// 760 bytes): glibc's `_int_malloc`/`_int_free` were about 3% of the hub thread's time on an AMD machine
/// (docs/performance.md, "Issue 54 on an AMD machine"). Set before CPython starts, as its documentation requires
/// (what CPython must free with a known allocator, it allocates with its default one itself). Left alone when
/// PYTHONMALLOC or PYTHONDEVMODE asks CPython for its own allocators (they would replace this one after blocks
/// were made with it).
#[cfg(not(feature = "extension-module"))]
fn raw_memory_on_mimalloc() {
    use libmimalloc_sys as mi;
    use pyo3::ffi;
    use std::ffi::c_void;
    if std::env::var_os("PYTHONMALLOC").is_some() || std::env::var_os("PYTHONDEVMODE").is_some() {
        return;
    }
    // (CPython's own raw allocator asks for 1 byte for 0: a unique pointer, never NULL for a 0-byte request)
    extern "C" fn malloc(_ctx: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: mimalloc's malloc
        unsafe { mi::mi_malloc(size.max(1)) }
    }
    extern "C" fn calloc(_ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
        let (n, e) = if nelem == 0 || elsize == 0 {
            (1, 1)
        } else {
            (nelem, elsize)
        };
        // SAFETY: mimalloc's calloc (it checks the product for overflow)
        unsafe { mi::mi_calloc(n, e) }
    }
    extern "C" fn realloc(_ctx: *mut c_void, ptr: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: `ptr` is NULL or a block this allocator made (the domain is mimalloc's from before CPython starts)
        unsafe { mi::mi_realloc(ptr, size.max(1)) }
    }
    extern "C" fn free(_ctx: *mut c_void, ptr: *mut c_void) {
        // SAFETY: as above
        unsafe { mi::mi_free(ptr) }
    }
    let mut allocator = ffi::PyMemAllocatorEx {
        ctx: std::ptr::null_mut(),
        malloc: Some(malloc),
        calloc: Some(calloc),
        realloc: Some(realloc),
        free: Some(free),
    };
    // SAFETY: before CPython starts, on the main thread; CPython copies the struct
    unsafe { ffi::PyMem_SetAllocator(ffi::PyMemAllocatorDomain::PYMEM_DOMAIN_RAW, &mut allocator) };
}

/// The standard library of the Python the binary needs must be there before CPython starts: without it CPython
/// prints its whole path configuration (some twenty lines) before failing. One line instead, naming what is
/// missing. `built_home` is the home from the build, `None` when PYTHONHOME overrides it (or the build did not
/// know it). A missing libpython itself is reported by the dynamic loader before `main` runs (docs/packaging.md).
#[cfg(not(feature = "extension-module"))]
fn check_stdlib(built_home: Option<&str>) -> Result<(), InterpError> {
    use std::path::Path;
    let Some(version) = option_env!("RLOCUST_PYTHON_VERSION") else {
        return Ok(());
    };
    let from_env = std::env::var("PYTHONHOME").ok();
    // PYTHONHOME may be `prefix:exec_prefix`; the standard library's .py files live under the prefix.
    let Some(home) = built_home.or(from_env.as_deref().and_then(|h| h.split(':').next())) else {
        return Ok(());
    };
    // CPython's own landmarks (getpath.py): `<platlibdir>/pythonX.Y/os.py` (or .pyc), or `pythonXY.zip`.
    let lib = Path::new(home).join(option_env!("RLOCUST_PYTHON_PLATLIBDIR").unwrap_or("lib"));
    let compact = version.replace('.', "");
    let landmarks = [
        format!("python{version}/os.py"),
        format!("python{version}/os.pyc"),
        format!("python{compact}.zip"),
    ];
    if landmarks.iter().any(|l| lib.join(l).is_file()) {
        return Ok(());
    }
    let stdlib = lib.join(format!("python{version}"));
    let message = match from_env.filter(|_| built_home.is_none()) {
        Some(env_home) => format!(
            "rlocust: PYTHONHOME={env_home} is not a Python {version} installation (no standard library in {}); unset it or point it at one",
            stdlib.display()
        ),
        None => format!(
            "rlocust: the Python {version} this binary was built against is missing (no standard library in {}); reinstall that Python, set PYTHONHOME to a Python {version} installation, or install rlocust's wheel instead",
            stdlib.display()
        ),
    };
    Err(InterpError::User { message, code: 1 })
}

/// How the program registers its module `_rlocust` with the interpreter before it starts (`append_to_inittab!`),
/// set once by `doors`, the floor that defines the module; this floor only calls it.
static MODULE: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Set by `doors` before anything starts Python: the function that adds `_rlocust` to the built-in modules.
pub fn set_module(register: fn()) {
    let _ = MODULE.set(register);
}

/// Makes `locust` (and its submodules) come from the embedded shim, ahead of anything installed, and adds the
/// active virtualenv's site-packages.
const BOOTSTRAP: &str = r#"
import sys, os, marshal, importlib.abc, importlib.util, importlib.machinery

class _ShimFinder(importlib.abc.MetaPathFinder, importlib.abc.InspectLoader):
    """Serves the embedded `locust` shim; installed first on sys.meta_path so an installed Locust never wins."""
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in ("locust", "pytest_locust", "_rlocust_launch") or (
                fullname in ("rlocust", "rlocust.llm") and EMBEDDED):
            entry = SHIM.get(fullname)
            if entry is None:
                return None
            is_pkg = entry[0]
            origin = "<rlocust>/" + fullname.replace(".", "/") + ("/__init__.py" if is_pkg else ".py")
            spec = importlib.machinery.ModuleSpec(fullname, self, origin=origin, is_package=is_pkg)
            spec.has_location = True
            if is_pkg:
                spec.submodule_search_locations = []
            return spec
        return None
    def get_source(self, fullname):
        return SHIM[fullname][1]
    def is_package(self, fullname):
        return SHIM[fullname][0]
    def get_filename(self, fullname):
        return "<rlocust>/" + fullname.replace(".", "/") + ("/__init__.py" if SHIM[fullname][0] else ".py")
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        name = module.__name__
        _, source, code = SHIM[name]
        if code is not None and SHIM_MAGIC == importlib.util.MAGIC_NUMBER and not sys.flags.optimize:
            code = marshal.loads(code)  # compiled when the binary was built (build.rs)
        else:
            code = compile(source, self.get_filename(name), "exec")
        exec(code, module.__dict__)

if not any(type(f).__name__ == "_ShimFinder" for f in sys.meta_path):
    sys.meta_path.insert(0, _ShimFinder())
for name in [m for m in sys.modules if m.partition(".")[0] in ("locust", "pytest_locust")]:
    if not (getattr(sys.modules[name], "__file__", "") or "").startswith("<rlocust>"):
        del sys.modules[name]  # an installed Locust imported earlier never shadows the shim
venv = os.environ.get("VIRTUAL_ENV")
if venv and EMBEDDED:
    import site, glob
    for sp in glob.glob(os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")):
        site.addsitedir(sp)
        sys.path.remove(sp)
        sys.path.insert(0, sp)
if EMBEDDED:
    sys.argv[:] = ARGV  # as a locustfile sees it under Locust: the command line
# Rust writes log lines from other threads; a line-buffered stderr writes each Python line in one piece, so the
# two never interleave inside a line.
# (A hosting program's own stderr, e.g. pytest's capture, stays as it is: LINE_STDERR is false there.)
import io
if LINE_STDERR:
    try:
        sys.stderr.flush()
        sys.stderr = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
                                      encoding=sys.stderr.encoding, errors="backslashreplace", line_buffering=True)
    except Exception:
        pass
    # An unbuffered stdout (PYTHONUNBUFFERED, -u) writes print()'s text and its newline separately, and a log line
    # from Rust can land between the two when both go to one pipe (`2>&1`): line-buffered, a line goes out whole
    # as soon as it ends, as it does under Locust, where nothing writes from another thread.
    if getattr(sys.stdout, "write_through", False):
        try:
            sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)),
                                          encoding=sys.stdout.encoding, errors=sys.stdout.errors, line_buffering=True)
        except Exception:
            pass
"#;

fn value_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::None => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => f.into_pyobject(py)?.into_any(),
        Value::Str(s) => s.into_pyobject(py)?.into_any(),
        Value::List(l) => PyList::new(py, l)?.into_any(),
    })
}

/// The shim's flow module; a missing runtime dependency (gevent, greenlet) is one line saying what to install.
fn flow(py: Python<'_>) -> Result<Bound<'_, PyModule>, InterpError> {
    py.import(callables::MAIN).map_err(|e| {
        if e.is_instance_of::<pyo3::exceptions::PyModuleNotFoundError>(py) {
            let missing: Option<String> = e.value(py).getattr("name").ok().and_then(|n| n.extract().ok());
            if let Some(name) = missing.filter(|n| n == "gevent" || n == "greenlet" || n.starts_with("gevent.")) {
                let exe: String = py
                    .import("sys")
                    .and_then(|s| s.getattr("executable"))
                    .and_then(|x| x.extract())
                    .unwrap_or_else(|_| "python3".into());
                let exe = if exe.is_empty() { "python3".to_string() } else { exe };
                let venv = std::env::var("VIRTUAL_ENV").map(|v| format!(" (or into the virtualenv {v})")).unwrap_or_default();
                return InterpError::User {
                    message: format!(
                        "rlocust: the Python module '{name}' is missing; install rlocust's runtime dependencies with: {exe} -m pip install gevent{venv}"
                    ),
                    code: 1,
                };
            }
        }
        internal(py, e)
    })
}

fn user_err(py: Python<'_>, e: PyErr) -> InterpError {
    // `_main.UserFacingError(message, code)` carries a finished message; anything else is a traceback.
    if let Ok(cls) = callables::user_facing_error(py)
        && e.get_type(py).is_subclass(cls).unwrap_or(false)
    {
        let v = e.value(py);
        let message = v
            .getattr("message")
            .and_then(|m| m.extract::<String>())
            .unwrap_or_default();
        let code = v
            .getattr("code")
            .and_then(|c| c.extract::<i32>())
            .unwrap_or(1);
        return InterpError::User { message, code };
    }
    if e.is_instance_of::<pyo3::exceptions::PySystemExit>(py) {
        let code = e
            .value(py)
            .getattr("code")
            .and_then(|c| c.extract::<i32>())
            .unwrap_or(1);
        return InterpError::User {
            message: String::new(),
            code,
        };
    }
    InterpError::User {
        message: format_exc(py, &e),
        code: 1,
    }
}

/// Import the locustfiles (Locust's rules: cwd on sys.path, file dir first while importing, module named by
/// the file stem), find user classes and shapes, and collect the options `init_command_line_parser`
/// listeners add.
#[allow(clippy::type_complexity)] // the tuples mirror what `_main.load_locustfiles` returns
pub fn load_locustfiles(paths: &[String]) -> Result<Loaded, InterpError> {
    Python::attach(|py| {
        flow(py)?;
        let r = callables::load_locustfiles(py)
            .and_then(|f| f.call1((paths.to_vec(),)))
            .map_err(|e| user_err(py, e))?;
        let (classes, custom, has_shape): (Vec<(String, f64, u64)>, Vec<Bound<'_, PyTuple>>, bool) =
            r.extract().map_err(|e| internal(py, e))?;
        let custom_args = crate::py::custom_args(custom).map_err(|e| internal(py, e))?;
        Ok(Loaded {
            classes: class_infos(classes),
            custom_args,
            has_shape,
        })
    })
}

fn class_infos(classes: Vec<(String, f64, u64)>) -> Vec<ClassInfo> {
    classes
        .into_iter()
        .map(|(name, weight, fixed_count)| ClassInfo {
            name,
            weight,
            fixed_count,
        })
        .collect()
}

/// Locust's `stats.validate_stats_configuration()`: the percentile settings a locustfile may have changed
/// (`locust.stats.PERCENTILES_TO_CHART`, `PERCENTILES_TO_STATISTICS`); a bad one is Locust's message, exit 1.
pub fn validate_stats_configuration() -> Result<(), InterpError> {
    Python::attach(|py| {
        callables::validate_stats_configuration(py)
            .and_then(|f| f.call0())
            .map_err(|e| user_err(py, e))?;
        Ok(())
    })
}

/// Build `parsed_options` (built-in values plus the custom ones converted by the locustfile's argparse parser)
/// and set up Python's logging.
pub fn configure(
    values: &indexmap::IndexMap<String, Value>,
    custom_argv: &[String],
) -> Result<(), InterpError> {
    Python::attach(|py| {
        let opts = PyDict::new(py);
        for (k, v) in values {
            opts.set_item(k, value_to_py(py, v).map_err(|e| internal(py, e))?)
                .map_err(|e| internal(py, e))?;
        }
        callables::configure(py)
            .and_then(|f| f.call1((opts, custom_argv.to_vec())))
            .map_err(|e| user_err(py, e))?;
        Ok(())
    })
}

/// Choose the user classes (`selected`, or all), create the Environment and apply `--config-users`. Returns
/// the classes that will run.
pub fn create_environment(selected: &[String]) -> Result<Vec<ClassInfo>, InterpError> {
    Python::attach(|py| {
        let r = callables::create_environment(py)
            .and_then(|f| f.call1((selected.to_vec(),)))
            .map_err(|e| user_err(py, e))?;
        Ok(class_infos(r.extract().map_err(|e| internal(py, e))?))
    })
}

/// The interpreter's version (`3.11.2`), from CPython's static version text: no GIL, so any thread may ask.
pub fn python_version() -> String {
    // SAFETY: Py_GetVersion returns a pointer to a static NUL-terminated string, valid for the whole process,
    // and reads no interpreter state.
    let text = unsafe { std::ffi::CStr::from_ptr(pyo3::ffi::Py_GetVersion()) };
    text.to_string_lossy()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The locustfiles as loaded (directories expanded, URLs downloaded): a master sends them to `-f -` workers.
pub fn locustfile_paths() -> Result<Vec<String>, InterpError> {
    Python::attach(|py| {
        callables::locustfile_paths(py)
            .and_then(|f| f.call0())
            .and_then(|r| r.extract())
            .map_err(|e| internal(py, e))
    })
}

/// `gevent.fork()` (Locust's `--processes`): the child's pid in the parent, 0 in the child. Through the interpreter,
/// so that CPython (its GIL and thread state, `os.register_at_fork` hooks such as `random`'s reseeding) and gevent
/// (its hub's loop) are made whole again in the child. The caller checks the process is single-threaded.
pub fn fork() -> Result<i32, InterpError> {
    Python::attach(|py| {
        let fork = py
            .import("gevent")
            .and_then(|g| g.getattr("fork"))
            .or_else(|_| py.import("os").and_then(|os| os.getattr("fork")))
            .map_err(|e| internal(py, e))?;
        fork.call0()
            .and_then(|pid| pid.extract::<i32>())
            .map_err(|e| internal(py, e))
    })
}

/// Locust's runner constants (`locust.runners.HEARTBEAT_INTERVAL`, …) as the loaded locustfile left them: a
/// locustfile may set them at import (`runners.MASTER_HEARTBEAT_TIMEOUT = 2`), as Locust's runners read the
/// module's globals. Values that are not numbers keep Locust's defaults.
pub fn runner_tunables() -> crate::distributed::proto::Tunables {
    use crate::distributed::proto::{Tunables, seconds};
    let d = Tunables::default();
    Python::attach(|py| {
        let Ok(m) = py.import("locust.runners") else {
            return d.clone();
        };
        let num = |name: &str| -> Option<f64> {
            let v = m.getattr(name).ok()?;
            if v.is_instance_of::<pyo3::types::PyBool>() {
                return None;
            }
            v.extract::<f64>().ok()
        };
        let dur = |name: &str, default: std::time::Duration| {
            num(name).map_or(default, |v| seconds(v, default))
        };
        let int = |name: &str, default: i32| {
            num(name).filter(|v| v.is_finite()).map_or(default, |v| {
                v.clamp(i32::MIN as f64, i32::MAX as f64) as i32
            })
        };
        let timeout_text = m
            .getattr("MASTER_HEARTBEAT_TIMEOUT")
            .and_then(|v| v.str())
            .map(|s| s.to_string())
            .unwrap_or_else(|_| d.master_heartbeat_timeout_text.clone());
        Tunables {
            heartbeat_interval: dur("HEARTBEAT_INTERVAL", d.heartbeat_interval),
            heartbeat_liveness: int("HEARTBEAT_LIVENESS", d.heartbeat_liveness),
            heartbeat_dead_internal: int("HEARTBEAT_DEAD_INTERNAL", d.heartbeat_dead_internal),
            master_heartbeat_timeout: dur("MASTER_HEARTBEAT_TIMEOUT", d.master_heartbeat_timeout),
            master_heartbeat_timeout_text: timeout_text,
            worker_report_interval: dur("WORKER_REPORT_INTERVAL", d.worker_report_interval),
            worker_log_report_interval: dur(
                "WORKER_LOG_REPORT_INTERVAL",
                d.worker_log_report_interval,
            ),
            cpu_monitor_interval: dur("CPU_MONITOR_INTERVAL", d.cpu_monitor_interval),
            cpu_warning_threshold: num("CPU_WARNING_THRESHOLD").unwrap_or(d.cpu_warning_threshold),
            connect_timeout: dur("CONNECT_TIMEOUT", d.connect_timeout),
            connect_retry_count: int("CONNECT_RETRY_COUNT", d.connect_retry_count as i32).max(0)
                as u32,
            fallback_interval: dur("FALLBACK_INTERVAL", d.fallback_interval),
        }
    })
}

/// Create the Python runner object (`role`: `local`, `worker` or `master`, as Locust's `create_*_runner`) and
/// start the hub's side of the bridge.
pub fn create_runner(role: &str) -> Result<(), InterpError> {
    Python::attach(|py| {
        callables::create_runner(py)
            .and_then(|f| f.call1((role,)))
            .map_err(|e| user_err(py, e))?;
        Ok(())
    })
}

/// Fire `init`. `None` when a listener raised (logged already; Locust then exits 1 before any user starts);
/// otherwise the classes that will run, as the listeners left them. `web`: the web UI's host and port in a run
/// without `--headless` (the shim sets `environment.web_ui` and passes it as `web_ui=`).
pub fn fire_init(web: Option<(&str, u16)>) -> Result<Option<Vec<ClassInfo>>, InterpError> {
    Python::attach(|py| {
        let r = callables::fire_init(py)
            .and_then(|f| f.call1((web,)))
            .map_err(|e| user_err(py, e))?;
        let classes: Option<Vec<(String, f64, u64)>> = r.extract().map_err(|e| internal(py, e))?;
        Ok(classes.map(class_infos))
    })
}

/// `None` without a LoadTestShape; otherwise whether the shape honours `-u`, `-r` and `-t` (`use_common_options`).
/// The locustfile's ArrivalRateShapes (rlocust's open workload), their values as texts for `runner::open::config`
/// to read, and the name of its LoadTestShape if it has one.
pub fn arrival_shapes() -> Result<
    (
        Vec<crate::runner::open::config::ArrivalShape>,
        Option<String>,
    ),
    InterpError,
> {
    Python::attach(|py| {
        #[allow(clippy::type_complexity)] // the tuple mirrors what `arrival_shape_info` returns
        let (shapes, load): (
            Vec<(String, String, Vec<(String, String)>, i64, i64)>,
            Option<String>,
        ) = callables::arrival_shape_info(py)
            .and_then(|f| f.call0())
            .and_then(|r| r.extract())
            .map_err(|e| internal(py, e))?;
        let shapes = shapes
            .into_iter()
            .map(|(name, start_rate, stages, max_users, initial_users)| {
                crate::runner::open::config::ArrivalShape {
                    name,
                    start_rate,
                    stages,
                    max_users,
                    initial_users,
                }
            })
            .collect();
        Ok((shapes, load))
    })
}

pub fn shape_info() -> Result<Option<bool>, InterpError> {
    Python::attach(|py| {
        callables::shape_info(py)
            .and_then(|f| f.call0())
            .and_then(|r| r.extract())
            .map_err(|e| internal(py, e))
    })
}

/// `--show-task-ratio` (`json` false) or `--show-task-ratio-json`: the text to print, after
/// [`create_environment`].
pub fn task_ratio(json: bool) -> Result<String, InterpError> {
    Python::attach(|py| {
        callables::task_ratio(py)
            .and_then(|f| f.call1((json,)))
            .and_then(|s| s.extract())
            .map_err(|e| user_err(py, e))
    })
}

/// What the web server needs from Python once, after `init` (the shim's `web_info`): JSON text with the
/// locustfile's name and the user classes' task trees.
pub fn web_info() -> Result<String, InterpError> {
    Python::attach(|py| {
        callables::web_info(py)
            .and_then(|f| f.call0())
            .and_then(|s| s.extract())
            .map_err(|e| internal(py, e))
    })
}

/// `--list`: the class names as Locust prints them.
pub fn list_text() -> Result<String, InterpError> {
    Python::attach(|py| {
        callables::list_text(py)
            .and_then(|f| f.call0())
            .and_then(|s| s.extract())
            .map_err(|e| internal(py, e))
    })
}

/// `rlocust-python`: run `argv` as `python` runs it (a script, `-m module`, `-c code`), in library mode. Returns
/// the exit code Python would exit with (an uncaught exception's traceback is printed already).
pub fn run_python(argv: &[String]) -> Result<i32, InterpError> {
    Python::attach(|py| {
        callables::launch_main(py)
            .and_then(|f| {
                f.call1((
                    argv.to_vec(),
                    EMBEDDED.load(std::sync::atomic::Ordering::Relaxed),
                ))
            })
            .and_then(|r| r.extract())
            .map_err(|e| internal(py, e))
    })
}

/// Run the gevent hub until the runner sends Quit. Returns the exit status a task asked for with `sys.exit()`.
pub fn run_hub() -> Result<Option<i32>, InterpError> {
    Python::attach(|py| {
        callables::run_hub(py)
            .and_then(|f| f.call0())
            .map_err(|e| user_err(py, e))?
            .extract()
            .map_err(|e| internal(py, e))
    })
}

/// After an interrupt and `quitting`: run the hub until the runner has stopped the users (see
/// [`crate::runner::Control::Interrupt`]). Returns the exit status a listener or `on_stop` gave `sys.exit()`.
pub fn stop_users() -> Result<Option<i32>, InterpError> {
    Python::attach(|py| {
        callables::stop_users(py)
            .and_then(|f| f.call0())
            .map_err(|e| user_err(py, e))?
            .extract()
            .map_err(|e| internal(py, e))
    })
}

/// Fire `quitting` (newest listener first). Returns `environment.process_exit_code` and whether an unhandled
/// greenlet or event-handler exception was logged.
pub fn quitting() -> Result<(Option<i32>, bool), InterpError> {
    Python::attach(|py| {
        callables::fire_quitting(py)
            .and_then(|f| f.call0())
            .and_then(|r| r.extract())
            .map_err(|e| internal(py, e))
    })
}

/// What the locustfile has said about the exit code so far (`environment.process_exit_code`, and whether an
/// unhandled exception was logged), without firing anything: for a run the watchdog ends. Asked from a thread of
/// its own, since the Python thread may never hand over the GIL (stuck in C code): `None` after `within`.
pub fn exit_facts_within(within: std::time::Duration) -> Option<(Option<i32>, bool)> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("rlocust-exit-facts".into())
        .spawn(move || {
            let facts = Python::attach(|py| {
                callables::exit_facts(py)
                    .and_then(|f| f.call0())
                    .and_then(|r| r.extract::<(Option<i32>, bool)>())
                    .ok()
            });
            let _ = tx.send(facts);
        })
        .ok()?;
    rx.recv_timeout(within).ok().flatten()
}

/// Fire `quit(exit_code=…)`, the last event.
pub fn quit(code: i32) -> Result<(), InterpError> {
    Python::attach(|py| {
        callables::fire_quit(py)
            .and_then(|f| f.call1((code,)))
            .map_err(|e| internal(py, e))?;
        Ok(())
    })
}

/// Before the process exits: run Python's `atexit` handlers and flush `sys.stdout`/`sys.stderr`, as a normal
/// interpreter exit would (the interpreter is not finalized). Only in the binary: inside a host interpreter
/// (the wheel) Python's own exit does this.
pub fn finish() {
    if !EMBEDDED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    Python::attach(|py| {
        let code = c"import atexit, sys\ntry:\n    atexit._run_exitfuncs()\nfinally:\n    for s in (sys.stdout, sys.stderr):\n        try:\n            s.flush()\n        except Exception:\n            pass\n";
        let _ = py.run(code, None, None);
    });
}

/// Make the Python thread raise `KeyboardInterrupt` at its next bytecode, in whatever it runs (a user's task that
/// never yields, typically), as a Ctrl+C does under Locust. Callable from any thread without the GIL.
///
/// How: the shim's Python-level SIGINT handler (`locust._hub._on_sigint`) raises only when this flag is set (a real
/// Ctrl+C is Rust's: it stops the test through the runner, and must not kill whatever Python runs at that
/// instant), then the signal is tripped for Python (`PyErr_SetInterruptEx`). Nothing happens when a locustfile
/// installed its own SIGINT handler or set SIGINT to SIG_IGN/SIG_DFL.
///
/// NOTE (CPython bpo-40010): a signal tripped from a thread other than the main one does not set the main
/// thread's eval breaker; the main thread notices it when it next takes the GIL. So a helper thread asks for the
/// GIL once: the busy main thread hands it over within the switch interval (5 ms), takes it back, and then runs
/// the handler.
pub fn interrupt() {
    crate::py::INTERRUPT_REQUESTED.store(true, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: PyErr_SetInterruptEx only sets atomic flags; it is documented as callable without the GIL.
    unsafe { pyo3::ffi::PyErr_SetInterruptEx(libc::SIGINT) };
    let _ = std::thread::Builder::new()
        .name("rlocust-interrupt".into())
        .spawn(|| Python::attach(|_| {}));
}
