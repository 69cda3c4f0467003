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
    let out_dir = env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let mut modules = Vec::new();
    let mut out = String::from(
        "/// (module name, is package, source, code) for every shim module: code is the source compiled and \
         marshalled by the interpreter the binary is built against (empty when it could not be), loaded when \
         `SHIM_MAGIC` is the running interpreter's.\npub static SHIM_SOURCES: &[(&str, bool, &str, &[u8])] = &[\n",
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
        let code = Path::new(&out_dir).join(format!("{module}.code"));
        let _ = fs::remove_file(&code);
        out.push_str(&format!(
            "    ({module:?}, {is_pkg}, include_str!({:?}), include_bytes!({:?})),\n",
            abs.display().to_string(),
            code.display().to_string()
        ));
        modules.push((module, is_pkg, abs, code));
    }
    out.push_str("];\n");
    let magic = compile_shim(cfg.executable(), &modules);
    out.push_str(&format!(
        "/// The bytecode magic number of the interpreter that compiled `SHIM_SOURCES`' code (empty: none).\n\
         pub static SHIM_MAGIC: &[u8] = &{magic:?};\n"
    ));
    let dest = Path::new(&out_dir).join("shim_sources.rs");
    if fs::read_to_string(&dest).ok().as_deref() != Some(out.as_str()) {
        let _ = fs::write(&dest, out);
    }
}

/// Compiles every shim module with the build's interpreter and writes its marshalled code next to the generated
/// source (an empty file where it cannot: a syntax error is then raised at import, as before). Returns that
/// interpreter's bytecode magic number, empty without one. Start-up compiled the 37 modules `import locust` loads
/// from source every run: 0.13 s of CPU on the AMD machine of docs/performance.md, a quarter of a run's start.
fn compile_shim(
    python: Option<&str>,
    modules: &[(String, bool, std::path::PathBuf, std::path::PathBuf)],
) -> Vec<u8> {
    const SCRIPT: &str = r#"
import importlib.util, marshal, sys
for line in sys.stdin.read().splitlines():
    module, filename, source, code = line.split("\t")
    try:
        with open(source, encoding="utf-8") as f:
            text = f.read()
        compiled = marshal.dumps(compile(text, filename, "exec", dont_inherit=True, optimize=0))
    except (SyntaxError, ValueError):
        continue
    with open(code, "wb") as f:
        f.write(compiled)
sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())
"#;
    let mut lines = String::new();
    for (module, is_pkg, source, code) in modules {
        // the file name the importer gives the module (interp's `_ShimFinder.get_filename`)
        let filename = format!(
            "<rlocust>/{}{}",
            module.replace('.', "/"),
            if *is_pkg { "/__init__.py" } else { ".py" }
        );
        lines.push_str(&format!(
            "{module}\t{filename}\t{}\t{}\n",
            source.display(),
            code.display()
        ));
    }
    let magic = python.and_then(|exe| {
        use std::io::Write;
        let mut child = std::process::Command::new(exe)
            .args(["-I", "-c", SCRIPT])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(lines.as_bytes()).ok()?;
        let out = child.wait_with_output().ok()?;
        let hex = String::from_utf8(out.stdout).ok()?;
        (out.status.success() && hex.len() % 2 == 0)
            .then(|| {
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                    .collect::<Option<Vec<u8>>>()
            })
            .flatten()
    });
    for (.., code) in modules {
        if magic.is_none() || !code.exists() {
            let _ = fs::write(code, b"");
        }
    }
    magic.unwrap_or_default()
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
