//! Build script: embeds the `locust` shim sources and lets the standalone binary find libpython without
//! `LD_LIBRARY_PATH` (an rpath to the directory of the interpreter it was built against).
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=python/shim");
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let cfg = pyo3_build_config::get();
    if let Some(dir) = cfg.lib_dir()
        && cfg.shared()
    {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    // CPython's dict version tag, readable with the type's (`py::seen`): 3.11 and 3.12 keep both (3.14 drops the
    // dict's; 3.13 may change an inline value without it).
    println!("cargo::rustc-check-cfg=cfg(dict_version_tag)");
    if cfg.version().major == 3 && (11..=12).contains(&cfg.version().minor) {
        println!("cargo:rustc-cfg=dict_version_tag");
    }
    // The version whose standard library the binary needs (`lib/pythonX.Y` under its home).
    println!(
        "cargo:rustc-env=RLOCUST_PYTHON_VERSION={}.{}",
        cfg.version().major,
        cfg.version().minor
    );
    // Where the embedded interpreter finds its standard library when no PYTHONHOME is set: the prefix of the
    // interpreter this binary is built against (not whatever `python3` comes first on PATH at run time).
    if let Some(exe) = cfg.executable() {
        let probe = std::process::Command::new(exe)
            .args([
                "-c",
                "import sys; print(sys.base_prefix); print(sys.executable); print(sys.platlibdir)",
            ])
            .output();
        if let Ok(out) = probe {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut lines = text.lines();
            if let (Some(home), Some(executable)) = (lines.next(), lines.next()) {
                println!("cargo:rustc-env=RLOCUST_PYTHON_HOME={home}");
                println!("cargo:rustc-env=RLOCUST_PYTHON_EXECUTABLE={executable}");
            }
            // `lib` on most builds, `lib64` on Fedora's: the standard library is `<home>/<platlibdir>/pythonX.Y`.
            if let Some(platlibdir) = lines.next() {
                println!("cargo:rustc-env=RLOCUST_PYTHON_PLATLIBDIR={platlibdir}");
            }
        }
    }
    // The shim: every .py file under python/shim, served from memory by the importer in interp.
    let mut files = Vec::new();
    collect(Path::new("python/shim"), &mut files);
    files.sort();
    // and the `rlocust` package's own modules (`rlocust.metric`, `rlocust.llm`), served as `rlocust` and
    // `rlocust.llm` in the binary's runs
    for module in ["python/rlocust/__init__.py", "python/rlocust/llm.py"] {
        println!("cargo:rerun-if-changed={module}");
        files.push(Path::new(module).to_path_buf());
    }
    let mut out = String::from(
        "/// (module name, is package, source) for every shim module.\npub static SHIM_SOURCES: &[(&str, bool, &str)] = &[\n",
    );
    for f in files {
        let rel = f
            .strip_prefix("python/shim")
            .or_else(|_| f.strip_prefix("python"))
            .unwrap_or(&f);
        let mut parts: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let last = parts.pop().unwrap_or_default();
        let is_pkg = last == "__init__.py";
        if !is_pkg {
            parts.push(last.trim_end_matches(".py").to_string());
        }
        let module = parts.join(".");
        let abs = fs::canonicalize(&f).unwrap_or(f.clone());
        out.push_str(&format!(
            "    ({module:?}, {is_pkg}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest =
        Path::new(&env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("shim_sources.rs");
    if fs::read_to_string(&dest).ok().as_deref() != Some(out.as_str()) {
        let _ = fs::write(&dest, out);
    }
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "__pycache__") {
                collect(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "py") {
            out.push(p);
        }
    }
}
