//! `rlocust-report`: results you already have, compared without re-running them (`rlocust-report compare
//! BASELINE CURRENT`). A program of its own so `rlocust`'s command line stays Locust's; no interpreter, no
//! runtime: it reads two files and writes the comparison as the console table (stdout), JSON, CSV and a
//! self-contained HTML report, with the same judgement as `--baseline` (`report::compare`).
//!
//! Who calls it: `doors::main_report` (the `rlocust-report` binary and the wheel's console script). What it must
//! not do: start Python or load a locustfile.
use crate::pyfmt::json::{J, pretty};
use crate::report::compare::{self, Verdict, limits, load, render};

const USAGE: &str = "Usage: rlocust-report compare BASELINE CURRENT [options]

Compare two runs you already have, without re-running them. BASELINE and CURRENT are each an rlocust
--summary-json file (exact histograms), a _stats.csv (Locust's or rlocust's --csv) or a --json document
(Locust's or rlocust's). Prints the comparison table: per request name, requests/s, failure ratio and
p50/p95/p99 of both runs with their deltas and a verdict (regressed, improved, unchanged, too few samples,
new, vanished). docs/reports.md explains how a figure is judged.

Options:
  --limits RULES   what counts as a regression, as rlocust's --baseline-limits (default
                   'p50 +5% +0.5ms; p95 +10% +2ms; p99 +15% +5ms; fail_ratio +0.5pt')
  --gate           exit with code 3 when a request name regressed (one line per name on stderr)
  --json FILE      write the comparison as JSON (schema rlocust-comparison/1; '-': stdout, then no table)
  --csv FILE       write the comparison as CSV (the columns of --csv's PREFIX_baseline.csv)
  --html FILE      write a self-contained HTML report of the comparison (prints well, works offline)
  --theme THEME    the HTML report's theme: light (default) or dark
  -h, --help       show this help and exit

Exit codes: 0, 3 (--gate and a regression), 1 (a file cannot be read or written), 2 (a wrong command line).
";

struct Args {
    baseline: String,
    current: String,
    limits: Option<String>,
    gate: bool,
    json: Option<String>,
    csv: Option<String>,
    html: Option<String>,
    theme: String,
}

enum Parsed {
    Help,
    Compare(Args),
}

fn parse(argv: &[String]) -> Result<Parsed, String> {
    let mut it = argv.iter();
    match it.next().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => return Ok(Parsed::Help),
        Some("compare") => {}
        Some(other) => {
            return Err(format!(
                "rlocust-report: unknown command '{other}' (the command is 'compare'; see --help)"
            ));
        }
    }
    let mut files = Vec::new();
    let mut a = Args {
        baseline: String::new(),
        current: String::new(),
        limits: None,
        gate: false,
        json: None,
        csv: None,
        html: None,
        theme: "light".into(),
    };
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("rlocust-report: {name} needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--gate" => a.gate = true,
            "--limits" => a.limits = Some(value("--limits")?),
            "--json" => a.json = Some(value("--json")?),
            "--csv" => a.csv = Some(value("--csv")?),
            "--html" => a.html = Some(value("--html")?),
            "--theme" => {
                let t = value("--theme")?;
                if t != "light" && t != "dark" {
                    return Err(format!(
                        "rlocust-report: --theme is light or dark, not '{t}'"
                    ));
                }
                a.theme = t;
            }
            f if f.starts_with('-') && f != "-" => {
                return Err(format!("rlocust-report: unknown option {f} (see --help)"));
            }
            _ => files.push(arg.clone()),
        }
    }
    match <[String; 2]>::try_from(files) {
        Ok([b, c]) => {
            a.baseline = b;
            a.current = c;
            Ok(Parsed::Compare(a))
        }
        Err(files) => Err(format!(
            "rlocust-report: compare takes two files, BASELINE and CURRENT ({} given)",
            files.len()
        )),
    }
}

fn write(path: &str, text: &str) -> Result<(), String> {
    if path == "-" {
        print!("{text}");
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("rlocust-report: cannot write {path}: {e}"))?;
    }
    std::fs::write(path, text).map_err(|e| format!("rlocust-report: cannot write {path}: {e}"))
}

/// The report page of a comparison alone: the report template in its comparison-only mode (the runs' own
/// tables and charts are in their own reports).
fn html_args(c: &compare::Comparison, json: &J) -> J {
    let field = |key: &str| match &c.current.run {
        Some(J::Obj(m)) => m.get(key).cloned(),
        _ => None,
    };
    let text = |key: &str| match field(key) {
        Some(J::Str(s)) => J::Str(s),
        _ => J::str(""),
    };
    J::obj([
        ("is_report", J::Bool(true)),
        ("comparison_only", J::Bool(true)),
        ("run", c.current.run.clone().unwrap_or(J::Null)),
        ("baseline", json.clone()),
        ("locustfile", text("locustfile")),
        ("host", text("host")),
        ("show_download_link", J::Bool(false)),
        ("profile", J::Null),
    ])
}

fn compare_files(a: Args) -> Result<i32, String> {
    let limits = match &a.limits {
        Some(t) => limits::parse(t)
            .map_err(|e| e.replace("rlocust: --baseline-limits", "rlocust-report: --limits"))?,
        None => limits::Limits::default_limits(),
    };
    let baseline = load::from_file(&a.baseline).map_err(|e| format!("rlocust-report: {e}"))?;
    let current = load::from_file(&a.current).map_err(|e| format!("rlocust-report: {e}"))?;
    let c = compare::compare(baseline, current, limits);
    let json = render::json(&c);
    if a.json.as_deref() != Some("-") {
        print!("{}", render::table(&c, 60));
    }
    if let Some(path) = &a.json {
        write(path, &pretty(&json))?;
    }
    if let Some(path) = &a.csv {
        write(path, &render::csv(&c))?;
    }
    if let Some(path) = &a.html {
        write(
            path,
            &crate::report::html::fill(&html_args(&c, &json), &a.theme),
        )?;
    }
    let level = if a.gate { "ERROR" } else { "WARNING" };
    for line in render::breaches(&c) {
        eprintln!("{level}: Regression against the baseline: {line}");
    }
    Ok(if a.gate && c.count(Verdict::Regressed) > 0 {
        3
    } else {
        0
    })
}

/// The program: returns the exit code.
pub fn main(argv: Vec<String>) -> i32 {
    match parse(&argv) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            0
        }
        Ok(Parsed::Compare(a)) => match compare_files(a) {
            Ok(code) => code,
            Err(line) => {
                eprintln!("{line}");
                1
            }
        },
        Err(line) => {
            eprintln!("{line}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn command_line() {
        assert!(matches!(parse(&argv("--help")), Ok(Parsed::Help)));
        let Ok(Parsed::Compare(a)) =
            parse(&argv("compare a.json b.csv --gate --json=- --limits x"))
        else {
            panic!("parses")
        };
        assert_eq!(
            (a.baseline.as_str(), a.current.as_str()),
            ("a.json", "b.csv")
        );
        assert!(a.gate);
        assert_eq!(a.json.as_deref(), Some("-"));
        assert_eq!(a.limits.as_deref(), Some("x"));
        for (bad, says) in [
            ("diff a b", "unknown command"),
            ("compare a", "two files"),
            ("compare a b c", "two files"),
            ("compare a b --bogus", "unknown option"),
            ("compare a b --json", "needs a value"),
            ("compare a b --theme blue", "light or dark"),
        ] {
            match parse(&argv(bad)) {
                Err(e) => assert!(e.contains(says), "{bad}: {e}"),
                Ok(_) => panic!("{bad} parsed"),
            }
        }
    }
}
