//! Integration tests of the `rlocust` binary: user errors give one clear line and Locust's exit code, and a
//! short real run against the in-process loopback target writes Locust-shaped results. Every run is bounded by
//! `-t` and by a kill timeout; all traffic goes to 127.0.0.1.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rlocust")
}

/// Run rlocust in `dir` with a hard deadline; returns its output.
fn run_in(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rlocust");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("rlocust {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("write file");
    p
}

const GOOD: &str = "from locust import HttpUser, task, constant\n\nclass Visitor(HttpUser):\n    wait_time = constant(0.01)\n\n    @task(3)\n    def index(self):\n        self.client.get(\"/\")\n\n    @task\n    def missing(self):\n        self.client.get(\"/status/404\")\n";

/// The user-facing error cases: (args, locustfile contents, expected exit code, text the output must contain).
#[test]
fn user_errors_are_one_clear_message_and_locusts_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.py", GOOD);
    write(
        dir.path(),
        "syntax.py",
        "from locust import User\nclass U(User:\n    pass\n",
    );
    write(dir.path(), "nouser.py", "x = 1\n");
    write(dir.path(), "importerr.py", "import no_such_module_here\n");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["-f", "missing.py", "--headless"],
            1,
            "Could not find 'missing.py'",
        ),
        (&["-f", "syntax.py", "--headless"], 1, "SyntaxError"),
        (
            &["-f", "nouser.py", "--headless"],
            1,
            "No User class found!",
        ),
        (
            &["-f", "importerr.py", "--headless"],
            1,
            "ModuleNotFoundError: No module named 'no_such_module_here'",
        ),
        (
            &["-f", "good.py", "--headless", "Nobody"],
            1,
            "Unknown User(s): Nobody",
        ),
        (
            &["-f", "good.py", "--headless", "-t", "2.5s"],
            2,
            "Invalid time span format",
        ),
        (
            &["-f", "good.py", "--headless", "-u", "-5"],
            2,
            "must be >= 0",
        ),
        (
            &["-f", "good.py", "--headless", "--no-such-flag"],
            2,
            "unrecognized arguments: --no-such-flag",
        ),
        (
            &["-f", "-", "--headless"],
            1,
            "locustfile was set to '-' (meaning to download from master) but --worker was not specified.",
        ),
    ];
    for (args, code, needle) in cases {
        let out = run_in(dir.path(), args, Duration::from_secs(30));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{args:?} exit code; output:\n{text}"
        );
        assert!(
            text.contains(needle),
            "{args:?} should say {needle:?}; output:\n{text}"
        );
        assert!(
            !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
            "{args:?} panicked:\n{text}"
        );
    }
}

#[test]
fn a_missing_runtime_dependency_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "locustfile.py", GOOD);
    std::fs::create_dir(dir.path().join("fake")).unwrap();
    std::fs::create_dir(dir.path().join("fake/gevent")).unwrap();
    write(
        dir.path(),
        "fake/gevent/__init__.py",
        "raise ModuleNotFoundError(\"No module named 'gevent'\", name='gevent')\n",
    );
    let out = Command::new(bin())
        .args(["--headless", "-t", "1"])
        .current_dir(dir.path())
        .env("PYTHONPATH", dir.path().join("fake"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("'gevent' is missing") && stderr.contains("-m pip install gevent"),
        "{stderr}"
    );
}

#[test]
fn version_and_list() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "locustfile.py", GOOD);
    let out = run_in(dir.path(), &["-V"], Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rlocust") && text.contains("2.47.0"),
        "{text}"
    );
    let out = run_in(dir.path(), &["-l"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Available Users:\n    Visitor\n"
    );
}

fn start_target() -> (String, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let _ = tokio::time::timeout(Duration::from_secs(60), rlocust::target::serve(listener))
                .await;
        });
    });
    let port = rx.recv().unwrap();
    (format!("http://127.0.0.1:{port}"), handle)
}

#[test]
fn a_short_run_writes_locust_shaped_results() {
    let (host, _server) = start_target();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "locustfile.py", GOOD);
    let out = run_in(
        dir.path(),
        &[
            "--headless",
            "-u",
            "4",
            "-r",
            "4",
            "-t",
            "2",
            "-H",
            &host,
            "--csv",
            "out/r",
            "--json-file",
            "out/j",
        ],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "failures make exit code 1:\n{stderr}"
    );
    assert!(
        stderr.contains("All users spawned: {\"Visitor\": 4} (4 total users)"),
        "{stderr}"
    );
    assert!(stderr.contains("Shutting down (exit code 1)"), "{stderr}");
    let stats = std::fs::read_to_string(dir.path().join("out/r_stats.csv")).unwrap();
    assert!(
        stats.starts_with("Type,Name,Request Count,Failure Count,Median Response Time,"),
        "{stats}"
    );
    assert!(stats.contains("\r\n"), "CSV lines end in CRLF");
    let row = |name: &str| -> Vec<String> {
        stats
            .lines()
            .find(|l| l.split(',').nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no row {name}: {stats}"))
            .split(',')
            .map(String::from)
            .collect()
    };
    let index: u64 = row("/")[2].parse().unwrap();
    let missing = row("/status/404");
    let missing_n: u64 = missing[2].parse().unwrap();
    assert!(index > 20 && missing_n > 5, "{stats}");
    assert_eq!(missing[2], missing[3], "every /status/404 request failed");
    let ratio = index as f64 / (index + missing_n) as f64;
    assert!(
        (0.6..0.9).contains(&ratio),
        "weights 3:1 give ~75% to /: {ratio}"
    );
    let failures = std::fs::read_to_string(dir.path().join("out/r_failures.csv")).unwrap();
    assert!(
        failures.contains(
            "GET,/status/404,HTTPError('404 Client Error: Not Found for url: /status/404')"
        ),
        "{failures}"
    );
    let json = std::fs::read_to_string(dir.path().join("out/j.json")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_array().map(|a| a.len()), Some(2), "{json}");
    assert!(
        !stderr.contains("Response time percentiles"),
        "--json-file suppresses the final tables"
    );
}

#[test]
fn help_marks_options_not_built_yet() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "locustfile.py", GOOD);
    let out = Command::new(bin())
        .arg("--help")
        .env("COLUMNS", "300")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    let entry = |flag: &str| {
        help.lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag} not in help:\n{help}"))
            .to_string()
    };
    assert!(
        !entry("--html").contains("not available"),
        "{}",
        entry("--html")
    );
    assert!(
        !entry("--web-login").contains("not available"),
        "{}",
        entry("--web-login")
    );
    assert!(
        !entry("--otel").contains("not available"),
        "{}",
        entry("--otel")
    );
    assert!(
        !entry("--master ").contains("not available"),
        "{}",
        entry("--master ")
    );
    assert!(
        !entry("--headless").contains("not available"),
        "{}",
        entry("--headless")
    );
}

#[test]
fn target_help_is_usage_and_exit_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_rlocust-target"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Usage: rlocust-target [--port N] [--max-seconds N]"),
        "{text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_rlocust-target"))
        .args(["--bogus", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad argument: --bogus"));
}

/// Web UI options do nothing under --headless (in Locust too): the test runs, with one warning naming them.
#[test]
fn web_options_under_headless_are_one_warning() {
    let (host, _server) = start_target();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "locustfile.py", GOOD);
    let out = run_in(
        dir.path(),
        &[
            "--headless",
            "-u",
            "1",
            "-t",
            "1",
            "-H",
            &host,
            "--web-port",
            "9999",
            "--web-login",
            "--only-summary",
        ],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the demo locustfile fails /status/404:\n{stderr}"
    );
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("/WARNING/")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].ends_with(
            "--web-port, --web-login have no effect with --headless (no web UI runs), ignored"
        ),
        "{stderr}"
    );
}

#[test]
fn a_bad_body_cap_is_an_error_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "locustfile.py", GOOD);
    let out = Command::new(bin())
        .args(["--headless", "-t", "1"])
        .env("RLOCUST_MAX_BODY_SIZE", "lots")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("rlocust: RLOCUST_MAX_BODY_SIZE must be")
            && lines[1].starts_with("hint: ")
    );
}

/// Serves `body` with `status` to every connection on a loopback port (plain HTTP/1.0 style, closes after one
/// response); returns the base URL.
fn serve_text(status: &'static str, body: &'static str) -> String {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(20) {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// `-f https://…/file.py` downloads the locustfile, as in Locust; a body that is not Python is Locust's error.
#[test]
fn a_locustfile_can_be_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve_text("200 OK", GOOD);
    let out = run_in(
        dir.path(),
        &["-f", &format!("{url}/rlocust_it_remote.py"), "-l"],
        Duration::from_secs(30),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Available Users:\n    Visitor\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !std::env::temp_dir().join("rlocust_it_remote.py").exists(),
        "the download is removed at exit"
    );
    let url = serve_text("404 Not Found", "Not Found");
    let out = run_in(
        dir.path(),
        &["-f", &format!("{url}/missing.py"), "-l"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "Failed to get locustfile from: {url}/missing.py. Response was not valid python code: 'Not Found'"
        )
    );
}

/// As Locust, a soft open-file limit below 10,000 is raised to 10,000 when the hard limit allows it, and
/// otherwise Locust's warning says so (the run goes on).
#[test]
fn the_open_file_limit_is_raised_as_in_locust() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "locustfile.py",
        "import resource\nfrom locust import User, task, events, constant\n\n@events.init.add_listener\ndef _i(**_kw):\n    print('NOFILE', *resource.getrlimit(resource.RLIMIT_NOFILE), flush=True)\n\nclass U(User):\n    wait_time = constant(1)\n    @task\n    def t(self):\n        pass\n",
    );
    let run = |ulimits: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{ulimits}; exec \"$0\" --headless -t 1 --only-summary"
            ))
            .arg(bin())
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (stdout, stderr) = run("ulimit -Sn 1024; ulimit -Hn 2048");
    assert_eq!(stdout.trim(), "NOFILE 1024 2048", "{stderr}");
    assert!(
        stderr.contains("WARNING/locust.main: System open file limit '1024' is below minimum setting '10000'.\nIt's not high enough for load testing, and the OS didn't allow locust to increase it by itself.\n"),
        "{stderr}"
    );
    let hard: u64 = String::from_utf8_lossy(
        &Command::new("sh")
            .args(["-c", "ulimit -Hn"])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .parse()
    .unwrap_or(u64::MAX); // "unlimited"
    if hard >= 10_000 {
        let (stdout, stderr) = run("ulimit -Sn 1024");
        assert!(stdout.starts_with("NOFILE 10000 "), "{stdout}{stderr}");
        assert!(!stderr.contains("System open file limit"), "{stderr}");
    }
}
