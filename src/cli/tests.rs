//! Unit tests for the command line. The expected values and messages come from runs of real Locust 2.47.0
//! (its parser, with the same files and variables).

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

/// A scratch directory with a working directory and a home directory, removed on drop.
struct Dirs {
    root: PathBuf,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Dirs {
    fn new() -> Self {
        let n = NEXT.fetch_add(1, AtomicOrdering::SeqCst);
        let root =
            std::env::temp_dir().join(format!("rlocust-cli-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("cwd")).expect("create cwd");
        std::fs::create_dir_all(root.join("home")).expect("create home");
        Dirs { root }
    }
    fn cwd(&self) -> PathBuf {
        self.root.join("cwd")
    }
    fn home(&self) -> PathBuf {
        self.root.join("home")
    }
    fn file(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.cwd().join(name), text).expect("write file");
        self
    }
    fn home_file(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.home().join(name), text).expect("write home file");
        self
    }
    fn env(&self) -> Env {
        Env::new(self.cwd(), Some(self.home()))
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn argv(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

fn ok(args: &[&str], env: &Env) -> Parsed {
    match parse(&argv(args), env, &[]) {
        Ok(p) => p,
        Err(e) => panic!("{args:?} failed: {}", e.message()),
    }
}

fn err(args: &[&str], env: &Env) -> CliError {
    match parse(&argv(args), env, &[]) {
        Ok(p) => panic!("{args:?} parsed: {:?}", p.values),
        Err(e) => e,
    }
}

fn no_files() -> (Dirs, Env) {
    let d = Dirs::new();
    let e = d.env();
    (d, e)
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| s.to_string()).collect())
}

#[test]
fn timespans() {
    assert_eq!(parse_timespan("20"), Ok(20));
    assert_eq!(parse_timespan("20s"), Ok(20));
    assert_eq!(parse_timespan("3m"), Ok(180));
    assert_eq!(parse_timespan("2h"), Ok(7200));
    assert_eq!(parse_timespan("1h20m"), Ok(4800));
    assert_eq!(parse_timespan("3h30m10s"), Ok(12610));
    assert_eq!(parse_timespan("0"), Ok(0));
    assert_eq!(parse_timespan("1h5s"), Ok(3605));
    for bad in ["2.5s", "1m2h", "h", "10m5", "1h 2m", "-1", "5x", "s"] {
        assert_eq!(
            parse_timespan(bad),
            Err(timespan::TIMESPAN_ERROR.to_string()),
            "{bad}"
        );
    }
    assert_eq!(
        parse_timespan(""),
        Err("Invalid time span format".to_string())
    );
}

#[test]
fn defaults_cover_every_dest_in_locust_order() {
    let (_d, env) = no_files();
    let p = ok(&[], &env);
    let dests: Vec<&str> = p.values.keys().map(String::as_str).collect();
    let expected = [
        "locustfile",
        "config",
        "host",
        "num_users",
        "spawn_rate",
        "run_time",
        "list_commands",
        "config_users",
        "web_host",
        "web_host_display_name",
        "web_port",
        "headless",
        "autostart",
        "autoquit",
        "headful",
        "web_auth",
        "web_login",
        "tls_cert",
        "tls_key",
        "class_picker",
        "build_path",
        "legacy_ui",
        "master",
        "master_bind_host",
        "master_bind_port",
        "expect_workers",
        "expect_workers_max_wait",
        "enable_rebalancing",
        "expect_slaves",
        "worker",
        "processes",
        "slave",
        "master_host",
        "master_port",
        "web_base_path",
        "tags",
        "exclude_tags",
        "csv_prefix",
        "stats_history_enabled",
        "print_stats",
        "only_summary",
        "reset_stats",
        "html_file",
        "json",
        "json_file",
        "skip_log_setup",
        "loglevel",
        "logfile",
        "show_task_ratio",
        "show_task_ratio_json",
        "exit_code_on_error",
        "stop_timeout",
        "equal_weights",
        "profile",
        "otel",
        "iterations",
        // rlocust's own (after Locust's and locust-plugins')
        "basic_auth",
        "web_allowed_hosts",
        "web_cors_origins",
        "http2",
        "check_rps",
        "check_fail_ratio",
        "check_avg_response_time",
        "thresholds",
        "summary_json",
        "baseline",
        "baseline_limits",
        "baseline_gate",
        "csv_generator",
        "metrics_port",
        "metrics_host",
        "metrics_buckets",
        "arrival_rate",
        "arrival_stages",
        "arrival_max_users",
        "arrival_initial_users",
        "arrival_trace",
        "arrival_trace_scale",
        "arrival_trace_unit",
        "search",
        "slo",
        "search_start",
        "search_max",
        "search_probe_time",
        "search_warmup",
        "search_precision",
        "search_budget",
        "search_levels",
        "search_gate",
        "master_secret_file",
        "tokenizer",
        "user_classes",
    ];
    assert_eq!(dests, expected);
    assert_eq!(
        p.get("locustfile"),
        Some(&Value::Str("locustfile.py".into()))
    );
    assert_eq!(p.get("web_port"), Some(&Value::Int(8089)));
    assert_eq!(p.get("autoquit"), Some(&Value::Int(-1)));
    assert_eq!(p.get("master_bind_host"), Some(&Value::Str("*".into())));
    assert_eq!(p.get("stop_timeout"), Some(&Value::Int(0)));
    assert_eq!(p.get("loglevel"), Some(&Value::Str("INFO".into())));
    assert_eq!(p.get("tags"), Some(&Value::None));
    assert_eq!(p.get("user_classes"), Some(&list(&[])));
    assert!(p.custom_argv.is_empty());
}

#[test]
fn precedence_across_all_six_sources() {
    let d = Dirs::new();
    d.home_file(".locust.conf", "users = 1\nhost = from-home\n")
        .file("locust.conf", "users = 2\n")
        .file("pyproject.toml", "[tool.locust]\nusers = 3\n")
        .file("c.conf", "users = 4\n");
    let env = d.env().var("LOCUST_USERS", "5");
    let users = |p: &Parsed| p.options.users;
    assert_eq!(
        users(&ok(&["--config", "c.conf", "-u", "6"], &env)),
        Some(6)
    );
    assert_eq!(users(&ok(&["--config", "c.conf"], &env)), Some(5));
    assert_eq!(users(&ok(&["--config", "c.conf"], &d.env())), Some(4));
    let p = ok(&[], &d.env());
    assert_eq!(users(&p), Some(3));
    assert_eq!(p.str("host"), Some("from-home"));
    std::fs::remove_file(d.cwd().join("pyproject.toml")).expect("rm");
    assert_eq!(users(&ok(&[], &d.env())), Some(2));
    std::fs::remove_file(d.cwd().join("locust.conf")).expect("rm");
    assert_eq!(users(&ok(&[], &d.env())), Some(1));
}

#[test]
fn pyproject_overrides_locust_conf() {
    let d = Dirs::new();
    d.file("locust.conf", "users = 2\n")
        .file("pyproject.toml", "[tool.locust]\nusers = 3\n");
    assert_eq!(ok(&[], &d.env()).options.users, Some(3));
}

#[test]
fn a_value_set_above_is_not_even_checked_below() {
    let d = Dirs::new();
    d.file("c.conf", "users = x\n");
    // An exact option string on the command line drops the config value...
    assert_eq!(
        ok(&["--config", "c.conf", "-u", "7"], &d.env())
            .options
            .users,
        Some(7)
    );
    assert_eq!(
        ok(&["--config", "c.conf", "--users=7"], &d.env())
            .options
            .users,
        Some(7)
    );
    // ...an attached value does not, so the bad config value is converted and fails.
    let e = err(&["--config", "c.conf", "-u7"], &d.env());
    assert_eq!(
        e.message(),
        "rlocust: error: argument -u/--users: invalid int value: 'x'"
    );
    assert_eq!(e.exit_code(), 2);
    // The environment hides config values too.
    assert_eq!(
        ok(&["--config", "c.conf"], &d.env().var("LOCUST_USERS", "3"))
            .options
            .users,
        Some(3)
    );
}

#[test]
fn flag_values_in_env_and_config() {
    let d = Dirs::new();
    d.file("locust.conf", "headless = true\n");
    assert!(ok(&[], &d.env()).options.headless);
    // false in the environment keeps the config file from setting it
    assert!(
        !ok(&[], &d.env().var("LOCUST_HEADLESS", "false"))
            .options
            .headless
    );
    for v in ["true", "Yes", "on", "1", "TRUE"] {
        assert!(
            ok(
                &[],
                &Env::new(d.root.join("none"), None).var("LOCUST_HEADLESS", v)
            )
            .options
            .headless,
            "{v}"
        );
    }
    for v in ["false", "no", "OFF", "0"] {
        assert!(
            !ok(
                &[],
                &Env::new(d.root.join("none"), None).var("LOCUST_HEADLESS", v)
            )
            .options
            .headless,
            "{v}"
        );
    }
    let e = err(&[], &d.env().var("LOCUST_HEADLESS", ""));
    assert_eq!(
        e.message(),
        "rlocust: error: Unexpected value for LOCUST_HEADLESS: ''. Expecting 'true', 'false', 'yes', 'no', 'on', 'off', '1' or '0'"
    );
    d.file("locust.conf", "headless = maybe\n");
    let e = err(&[], &d.env());
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.message()
            .contains("Unexpected value for headless: 'maybe'")
    );
    d.file("locust.conf", "headless\n");
    assert!(ok(&[], &d.env()).options.headless);
}

#[test]
fn list_syntax() {
    let d = Dirs::new();
    d.file("locust.conf", "tags = [a, b]\nexclude-tags = x y\n");
    let p = ok(&[], &d.env());
    assert_eq!(p.get("tags"), Some(&list(&["a", "b"])));
    assert_eq!(p.get("exclude_tags"), Some(&list(&["x y"])));
    d.file("locust.conf", "tags = [1, 2.0, true]\n");
    assert_eq!(
        ok(&[], &d.env()).get("tags"),
        Some(&list(&["1", "2.0", "True"]))
    );
    d.file("locust.conf", "tags =\n");
    assert_eq!(ok(&[], &d.env()).get("tags"), Some(&Value::None));
    d.file("locust.conf", "tags = []\n");
    assert_eq!(ok(&[], &d.env()).get("tags"), Some(&list(&[])));
    let (_n, env) = no_files();
    assert_eq!(
        ok(&[], &env.clone().var("LOCUST_TAGS", "t1 t2")).get("tags"),
        Some(&list(&["t1 t2"]))
    );
    assert_eq!(
        ok(&[], &env.clone().var("LOCUST_TAGS", "[t1, t2]")).get("tags"),
        Some(&list(&["t1", "t2"]))
    );
    assert_eq!(
        ok(&[], &env.clone().var("LOCUST_TAGS", "[\"t1\",\"t2\"]")).get("tags"),
        Some(&list(&["t1", "t2"]))
    );
    assert_eq!(
        ok(&[], &env.clone().var("LOCUST_TAGS", "")).get("tags"),
        Some(&Value::None)
    );
    // nargs * takes every following value, the user class too
    let p = ok(&["-T", "a", "b", "MyUser"], &env);
    assert_eq!(p.get("tags"), Some(&list(&["a", "b", "MyUser"])));
    assert!(p.options.user_classes.is_empty());
    assert_eq!(ok(&["-T"], &env).get("tags"), Some(&list(&[])));
    assert_eq!(ok(&["--tags=a,b"], &env).get("tags"), Some(&list(&["a,b"])));
    // a list for a single-value option
    let d2 = Dirs::new();
    d2.file("locust.conf", "users = [1, 2]\n");
    assert_eq!(
        err(&[], &d2.env()).message(),
        "rlocust: error: users can't be set to a list '[1, 2]' unless its action type is changed to 'append' or nargs is set to '*', '+', or > 1"
    );
}

#[test]
fn abbreviations_and_value_forms() {
    let (_d, env) = no_files();
    assert!(ok(&["--skip-log"], &env).flag("skip_log_setup"));
    assert!(ok(&["--headl"], &env).options.headless);
    assert_eq!(ok(&["--run=5"], &env).options.run_time, Some(5));
    assert_eq!(ok(&["--run", "1m"], &env).options.run_time, Some(60));
    assert_eq!(ok(&["--master-h", "h"], &env).str("master_host"), Some("h"));
    assert!(ok(&["--master"], &env).flag("master"));
    let e = err(&["--head"], &env);
    assert_eq!(
        e.message(),
        "rlocust: error: ambiguous option: --head could match --headless, --headful"
    );
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        err(&["--ma"], &env).message(),
        "rlocust: error: ambiguous option: --ma could match --master, --master-bind-host, --master-bind-port, --master-host, --master-port, --master-secret-file"
    );
    for args in [
        &["-u5"][..],
        &["-u", "5"],
        &["-u=5"],
        &["--users=5"],
        &["--users", "5"],
        &["--use", "5"],
    ] {
        assert_eq!(ok(args, &env).options.users, Some(5), "{args:?}");
    }
    assert_eq!(ok(&["-L", "debug"], &env).str("loglevel"), Some("DEBUG"));
    assert_eq!(ok(&["-Lwarning"], &env).str("loglevel"), Some("WARNING"));
    assert_eq!(
        ok(&["--loglevel=Error"], &env).str("loglevel"),
        Some("ERROR")
    );
    let p = ok(&["-lu", "5"], &env);
    assert!(p.flag("list_commands"));
    assert_eq!(p.options.users, Some(5));
    assert_eq!(ok(&["-P", "99"], &env).int("web_port"), Some(99));
    assert_eq!(
        ok(&["--", "-u"], &env).options.user_classes,
        vec!["-u".to_string()]
    );
}

#[test]
fn config_keys_go_through_the_same_rules() {
    let d = Dirs::new();
    d.file("locust.conf", "run = 5\nu = 3\n--host = h\n");
    let p = ok(&[], &d.env());
    assert_eq!(p.options.run_time, Some(5));
    assert_eq!(p.options.users, Some(3));
    assert_eq!(p.str("host"), Some("h"));
    d.file("locust.conf", "head = true\n");
    assert_eq!(
        err(&[], &d.env()).message(),
        "rlocust: error: ambiguous option: --head=true could match --headless, --headful"
    );
}

#[test]
fn unknown_options_and_keys() {
    let (_d, env) = no_files();
    // (`--foo` is close enough to rlocust's `--slo` for difflib to suggest it)
    let e = err(&["--qux"], &env);
    assert_eq!(e.message(), "rlocust: error: unrecognized arguments: --qux");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        err(&["--qux", "--bar"], &env).message(),
        "rlocust: error: unrecognized arguments: --qux --bar"
    );
    assert_eq!(
        err(&["--hedless"], &env).message(),
        "rlocust: error: unrecognized arguments: --hedless\nDid you mean '--headless'?"
    );
    let d = Dirs::new();
    d.file("locust.conf", "num_users = 9\n");
    let e = err(&[], &d.env());
    assert_eq!(
        e.message(),
        "rlocust: error: unrecognized arguments: --num_users=9\nDid you mean '--users'?"
    );
    assert_eq!(e.exit_code(), 2);
    d.file("locust.conf", "foo = 1\nbar = 2\n");
    assert_eq!(
        err(&[], &d.env()).message(),
        "rlocust: error: unrecognized arguments: --foo=1 --bar=2"
    );
    d.file("locust.conf", "users#x\n");
    let e = err(&[], &d.env());
    assert_eq!(
        e.message(),
        "rlocust: error: Unexpected line 0 in locust.conf: users#x"
    );
    assert_eq!(e.exit_code(), 2);
    let e = err(&["--config", "missing.conf"], &env);
    assert_eq!(
        e.message(),
        "rlocust: error: Unable to open config file: missing.conf. Error: [Errno 2] No such file or directory: 'missing.conf'"
    );
}

#[test]
fn positional_user_classes() {
    let (_d, env) = no_files();
    assert_eq!(
        ok(&["-u", "3", "A", "B"], &env).options.user_classes,
        vec!["A", "B"]
    );
    assert_eq!(
        ok(&["A", "B", "-u", "3"], &env).options.user_classes,
        vec!["A", "B"]
    );
    assert_eq!(
        err(&["A", "-u", "3", "B"], &env).message(),
        "rlocust: error: unrecognized arguments: B"
    );
    let env2 = env.clone().var("LOCUST_USER_CLASSES", " A  B ");
    assert_eq!(ok(&[], &env2).options.user_classes, vec!["A", "B"]);
    assert_eq!(ok(&["C"], &env2).options.user_classes, vec!["C"]);
}

#[test]
fn validations() {
    let (_d, env) = no_files();
    let usage = |args: &[&str], msg: &str| {
        let e = err(args, &env);
        assert_eq!(e.exit_code(), 2, "{args:?}");
        assert_eq!(e.message(), format!("rlocust: error: {msg}"), "{args:?}");
    };
    let ts = timespan::TIMESPAN_ERROR;
    usage(&["-t", "2.5s"], &format!("argument -t/--run-time: {ts}"));
    usage(&["-t", "1m2h"], &format!("argument -t/--run-time: {ts}"));
    usage(&["-s", "x"], &format!("argument -s/--stop-timeout: {ts}"));
    usage(&["-u", "x"], "argument -u/--users: invalid int value: 'x'");
    usage(
        &["-u", "2.5"],
        "argument -u/--users: invalid int value: '2.5'",
    );
    usage(&["-u"], "argument -u/--users: expected one argument");
    usage(
        &["-u", "-H", "x"],
        "argument -u/--users: expected one argument",
    );
    usage(&["-r", "0"], "argument -r/--spawn-rate: must be > 0");
    usage(&["-r", "-1"], "argument -r/--spawn-rate: must be > 0");
    usage(
        &["-r", "nan"],
        "argument -r/--spawn-rate: must be a finite number",
    );
    usage(
        &["-r", "inf"],
        "argument -r/--spawn-rate: must be a finite number",
    );
    usage(
        &["-r", "x"],
        "argument -r/--spawn-rate: invalid checker value: 'x'",
    );
    usage(
        &["--csv-full-history"],
        "'--csv-full-history' requires '--csv'.",
    );
    usage(
        &["-L", "foo"],
        "argument --loglevel/-L: invalid choice: 'FOO' (choose from 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')",
    );
    usage(
        &["--web-auth", "a:b"],
        "argument --web-auth: The --web-auth parameters has been replaced with --web-login. See https://docs.locust.io/en/stable/extending-locust.html#authentication for details",
    );
    usage(
        &["--web-auth"],
        "argument --web-auth: expected one argument",
    );
    usage(
        &["--legacy-ui"],
        "argument --legacy-ui: --legacy-ui is no longer supported, remove the parameter to continue",
    );
    usage(
        &["--expect-slaves"],
        "argument --expect-slaves: The --expect-slaves parameter has been renamed --expect-workers",
    );
    usage(
        &["--slave"],
        "argument --slave: The --slave parameter has been renamed --worker",
    );
    usage(
        &["--expect-workers", "0"],
        "argument --expect-workers: Invalid --expect-workers argument (0), must be a positive number",
    );
    usage(
        &["--headless=1"],
        "argument --headless: ignored explicit argument '1'",
    );
    usage(
        &["-lx"],
        "argument -l/--list: ignored explicit argument 'x'",
    );
    usage(
        &["--config-users", "{\"a\":1}"],
        "argument --config-users: The user config must specify a user_class_name",
    );
    usage(
        &["--config-users", "x"],
        "argument --config-users: The --config-users argument must be a valid JSON string or file: Expecting value: line 1 column 1 (char 0)",
    );
    // negative users are accepted by the parser (Locust fails later, at dispatch)
    assert_eq!(ok(&["-u", "-5"], &env).options.users, Some(-5));
    assert_eq!(ok(&["-u-5"], &env).options.users, Some(-5));
    assert_eq!(ok(&["-r", "2.5"], &env).options.spawn_rate, Some(2.5));
    assert_eq!(ok(&["-s", "1m"], &env).options.stop_timeout, 60.0);
    assert!(ok(&["--csv", "x", "--csv-full-history"], &env).flag("stats_history_enabled"));
    let e = err(&["--autoquit", "5"], &env);
    assert_eq!(e.exit_code(), 1);
    assert_eq!(
        e.message(),
        "--autoquit is only meaningful in combination with --autostart"
    );
    assert_eq!(
        ok(&["--autoquit", "5", "--autostart"], &env).int("autoquit"),
        Some(5)
    );
    let p = ok(&["--headful", "--headless"], &env);
    assert!(!p.options.headless && p.flag("headful"));
    let p = ok(
        &[
            "--config-users",
            "{\"user_class_name\":\"A\"}",
            "[{\"user_class_name\":\"B\"}]",
        ],
        &env,
    );
    assert_eq!(
        p.list("config_users"),
        Some(
            &[
                "[{\"user_class_name\":\"A\"}]".to_string(),
                "[{\"user_class_name\":\"B\"}]".to_string()
            ][..]
        )
    );
}

#[test]
fn error_messages_are_one_line_plus_a_hint() {
    let (_d, env) = no_files();
    for args in [
        &["--foo"][..],
        &["--hedless"],
        &["-u", "x"],
        &["--head"],
        &["-t", "bad"],
        &["--csv-full-history"],
        &["--autoquit", "1"],
        &["A", "-u", "1", "B"],
    ] {
        let msg = err(args, &env).message();
        let lines: Vec<&str> = msg.lines().collect();
        assert!(
            lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("Did you mean")),
            "{msg}"
        );
    }
}

fn custom_args() -> Vec<CustomArg> {
    vec![
        CustomArg {
            flags: vec!["--my-arg".into(), "-m".into()],
            dest: "my_arg".into(),
            nargs: Nargs::One,
            class: Class::Store,
            env_var: Some("LOCUST_MY_ARG".into()),
            help: Some("My argument (default %(default)s)".into()),
            default_display: Some("1".into()),
            ..Default::default()
        },
        CustomArg {
            flags: vec!["--my-flag".into()],
            dest: "my_flag".into(),
            help: Some("A flag".into()),
            ..Default::default()
        },
        CustomArg {
            flags: vec!["--my-list".into()],
            dest: "my_list".into(),
            nargs: Nargs::Star,
            class: Class::Store,
            ..Default::default()
        },
        CustomArg {
            flags: vec!["--secret-opt".into()],
            dest: "secret_opt".into(),
            nargs: Nargs::One,
            class: Class::Store,
            hidden: true,
            help: Some("never shown".into()),
            ..Default::default()
        },
    ]
}

#[test]
fn custom_args_fragment_in_precedence_order() {
    let d = Dirs::new();
    d.file(
        "locust.conf",
        "my-arg = 3\nmy-flag = true\nmy-list = [x, y]\n",
    );
    let custom = custom_args();
    let p = parse(&argv(&["-m7", "--my-li", "a"]), &d.env(), &custom).expect("parse");
    assert_eq!(
        p.custom_argv,
        argv(&[
            "-m=3",
            "--my-flag",
            "--my-list",
            "x",
            "y",
            "-m=7",
            "--my-list=a"
        ])
    );
    // the environment comes after the config files, and (written as `-m=5`) hides their my-arg; each value goes to
    // Python with the option string that gave it (a config file's and a variable's: the last one)
    let env = d.env().var("LOCUST_MY_ARG", "5");
    let p = parse(&argv(&["-m7"]), &env, &custom).expect("parse");
    assert_eq!(
        p.custom_argv,
        argv(&["--my-flag", "--my-list", "x", "y", "-m=5", "-m=7"])
    );
    // an exact option string on the command line hides the other sources
    let p = parse(&argv(&["-m", "7"]), &env, &custom).expect("parse");
    assert_eq!(
        p.custom_argv,
        argv(&["--my-flag", "--my-list", "x", "y", "-m=7"])
    );
    let (_n, plain) = no_files();
    let p = parse(&argv(&["--my-list"]), &plain, &custom).expect("parse");
    assert_eq!(p.custom_argv, argv(&["--my-list"]));
    // built-in values are unaffected, unknown ones still fail
    assert!(parse(&argv(&["--my-arg", "1", "--nope"]), &plain, &custom).is_err());
    // without the custom options the same keys are unknown
    assert_eq!(
        parse(&argv(&[]), &d.env(), &[]).map(|_| ()).map_err(|e| e.message()),
        Err("rlocust: error: unrecognized arguments: --my-arg=3 --my-flag=true --my-list=x --my-list=y".into())
    );
}

#[test]
fn help_lists_every_visible_option() {
    let custom = custom_args();
    let text = help_text_width(&custom, 80);
    assert!(text.starts_with("Usage: rlocust [options] [UserClass ...]\n"));
    for s in spec::table() {
        for f in s.flags {
            let shown = text.contains(&format!("{f} "))
                || text.contains(&format!("{f},"))
                || text.contains(&format!("{f}\n"));
            assert_eq!(shown, s.help.is_some(), "{f}");
        }
    }
    assert!(text.contains("<UserClass1 UserClass2>"));
    assert!(text.contains("--my-arg MY_ARG, -m MY_ARG"));
    assert!(text.contains("My argument (default 1)"));
    assert!(text.contains("--my-list [MY_LIST ...]"));
    assert!(!text.contains("--secret-opt"));
    let mut last = 0;
    for g in spec::Group::ALL {
        let at = text
            .find(&format!("\n{}:\n", g.title()))
            .unwrap_or_else(|| panic!("{}", g.title()));
        assert!(at > last, "group order");
        last = at;
    }
    let help_lines = text.lines().filter(|l| l.starts_with(&" ".repeat(24)));
    assert!(help_lines.clone().count() > 20);
    assert!(
        help_lines.into_iter().all(|l| l.chars().count() <= 78),
        "option help wrapped to 78 columns"
    );
    // -h reached in the full parse
    let (_d, env) = no_files();
    assert!(matches!(
        parse(&argv(&["-h"]), &env, &[]),
        Err(CliError::Help(_))
    ));
    assert_eq!(
        parse(&argv(&["-h"]), &env, &[])
            .map(|_| ())
            .map_err(|e| e.exit_code()),
        Err(0)
    );
}

#[test]
fn pre_parse_phase() {
    let (d, env) = no_files();
    let pre = pre_parse(&argv(&["-f", "a.py, b.py", "--unknown", "-u", "x"]), &env).expect("pre");
    assert_eq!(pre.locustfiles, vec!["a.py", "b.py"]);
    assert!(!pre.help && !pre.version);
    assert_eq!(
        pre_parse(&argv(&[]), &env).expect("pre").locustfiles,
        vec!["locustfile.py"]
    );
    // prefixes are matched against the few phase-1 options only
    assert_eq!(
        pre_parse(&argv(&["--lo", "x.py"]), &env)
            .expect("pre")
            .locustfiles,
        vec!["x.py"]
    );
    assert!(pre_parse(&argv(&["--ma"]), &env).is_err());
    assert!(pre_parse(&argv(&["-h"]), &env).expect("pre").help);
    assert!(pre_parse(&argv(&["-V"]), &env).expect("pre").version);
    assert!(
        pre_parse(&argv(&["-h", "-u", "x"]), &env)
            .expect("pre")
            .help
    );
    let e = pre_parse(&argv(&["-u", "x", "-h"]), &env).expect_err("error before -h");
    assert_eq!(e.exit_code(), 2);
    assert!(
        pre_parse(&argv(&["--he"]), &env).is_err(),
        "--he is --help for phase 1 but ambiguous for the full parser"
    );
    d.file("c.conf", "host = x\n");
    let pre = pre_parse(
        &argv(&["--config", "c.conf"]),
        &d.env().var("LOCUST_LOCUSTFILE", "e.py"),
    )
    .expect("pre");
    assert_eq!(pre.config.as_deref(), Some("c.conf"));
    assert_eq!(pre.locustfiles, vec!["e.py"]);
    d.file(
        "locust.conf",
        "locustfile = conf.py\nheadless = maybe\nfoo = 1\n",
    );
    assert_eq!(
        pre_parse(&argv(&[]), &d.env()).expect("pre").locustfiles,
        vec!["conf.py"]
    );
}

#[test]
fn toml_config_values() {
    let d = Dirs::new();
    d.file(
        "pyproject.toml",
        "[project]\nname = \"x\"\ndeps = [\n  \"a\", # c\n  \"b\",\n]\n[[tool.mypy.overrides]]\nm = 1\n[tool.locust]\nheadless = true\nusers = 0x10\nspawn-rate = 2.5\ntags = [\"a\", 1]\nhost = 1979-05-27T07:32:00Z\nweb-host = '''\nml'''\n",
    );
    let p = ok(&[], &d.env());
    assert!(p.options.headless);
    assert_eq!(p.options.users, Some(16));
    assert_eq!(p.options.spawn_rate, Some(2.5));
    assert_eq!(p.get("tags"), Some(&list(&["a", "1"])));
    assert_eq!(p.str("host"), Some("1979-05-27 07:32:00+00:00"));
    assert_eq!(p.str("web_host"), Some("ml"));
    d.file(
        "pyproject.toml",
        "[tool]\nlocust = {users = 4, run-time = \"1m\"}\n",
    );
    let p = ok(&[], &d.env());
    assert_eq!((p.options.users, p.options.run_time), (Some(4), Some(60)));
    d.file("pyproject.toml", "[tool.locust\n");
    let e = err(&[], &d.env());
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.message()
            .starts_with("rlocust: error: Couldn't parse TOML file: "),
        "{}",
        e.message()
    );
    d.file("pyproject.toml", "[tool.locust]\nfoo = 1\n");
    assert_eq!(
        err(&[], &d.env()).message(),
        "rlocust: error: unrecognized arguments: --foo=1"
    );
    d.file(
        "pyproject.toml",
        "[tool.locust]\ntags = [1979-05-27T07:32:00.1234567-05:30, 07:32:00, 1979-05-27, 1979-05-27 07:32:00, 1.0, inf, true, [2, {a = 'b'}]]\n",
    );
    assert_eq!(
        ok(&[], &d.env()).get("tags"),
        Some(&list(&[
            "1979-05-27 07:32:00.123456-05:30",
            "07:32:00",
            "1979-05-27",
            "1979-05-27 07:32:00",
            "1.0",
            "inf",
            "True",
            "[2, {'a': 'b'}]"
        ]))
    );
    // read as Python reads text: CRLF and lone CR are newlines
    d.file("pyproject.toml", "[tool.locust]\r\nusers = 7\r\n");
    assert_eq!(ok(&[], &d.env()).options.users, Some(7));
    d.file("pyproject.toml", "[tool.locust]\rusers = 8\r");
    assert_eq!(ok(&[], &d.env()).options.users, Some(8));
    // the error is one line with the position
    d.file("pyproject.toml", "[tool.locust]\nusers = 1\nusers = 2\n");
    let msg = err(&[], &d.env()).message().to_string();
    assert!(
        !msg.contains('\n') && msg.ends_with("(at line 3, column 1)"),
        "{msg}"
    );
    d.file("pyproject.toml", "tool = 1979-05-27\n");
    assert_eq!(
        err(&[], &d.env()).message(),
        "AttributeError: 'datetime.date' object has no attribute 'get'"
    );
    // a .toml --config file is read from [tool.locust] only
    std::fs::remove_file(d.cwd().join("pyproject.toml")).expect("rm");
    d.file("x.toml", "users = 5\n");
    assert_eq!(ok(&["--config", "x.toml"], &d.env()).options.users, None);
    d.file("x.toml", "[tool.locust]\nusers = 6\n");
    assert_eq!(ok(&["--config", "x.toml"], &d.env()).options.users, Some(6));
}

#[test]
fn conf_line_quirks() {
    let line = |l: &str| {
        config::parse_conf(l, "t")
            .expect("parse")
            .into_iter()
            .next()
    };
    let text = |l: &str| match line(l) {
        Some((_, config::Item::Text(t))) => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(text("host = 'a b' # c"), "a b");
    assert_eq!(text("host = a#b ; c"), "a#b");
    assert_eq!(text("host = # c"), "# c");
    assert_eq!(text("host\t=\tx"), "x");
    assert_eq!(text("host:x"), "x");
    assert_eq!(text("host x"), "x");
    assert_eq!(text("host"), "true");
    assert_eq!(text("host ="), "");
    assert_eq!(text("host \"\""), "true");
    assert_eq!(text("host = \"\""), "");
    assert_eq!(text("host = \"abc"), "\"abc");
    assert!(line("[section]").is_none());
    assert!(config::parse_conf(":x = 1", "t").is_err());
}

#[test]
fn python_value_rules() {
    use pyval::*;
    assert_eq!(py_int(" +7 "), Some(7));
    assert_eq!(py_int("1_000"), Some(1000));
    assert_eq!(py_int("1__0"), None);
    assert_eq!(py_int("_1"), None);
    assert_eq!(py_float("1_0.5"), Some(10.5));
    assert_eq!(py_float(".5"), Some(0.5));
    assert_eq!(py_float("5."), Some(5.0));
    assert_eq!(py_float("-Infinity"), Some(f64::NEG_INFINITY));
    assert_eq!(py_float("1e"), None);
    assert_eq!(py_float("0x10"), None);
    assert_eq!(
        json_loads("{\"a\" 1}"),
        Err(JsonError(
            "Expecting ':' delimiter: line 1 column 6 (char 5)".into()
        ))
    );
    assert_eq!(
        json_loads("[1 2]"),
        Err(JsonError(
            "Expecting ',' delimiter: line 1 column 4 (char 3)".into()
        ))
    );
    assert_eq!(
        json_loads("{a:1}"),
        Err(JsonError(
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)".into()
        ))
    );
    assert_eq!(
        json_loads("{} x"),
        Err(JsonError("Extra data: line 1 column 4 (char 3)".into()))
    );
    assert_eq!(
        json_loads("[\n \"\u{e9}\", x]"),
        Err(JsonError(
            "Expecting value: line 2 column 7 (char 8)".into()
        ))
    );
    assert_eq!(
        json_loads("[1,"),
        Err(JsonError(
            "Expecting value: line 1 column 4 (char 3)".into()
        ))
    );
    // a dict: a repeated key keeps its first place and its last value
    assert_eq!(
        json_loads("{\"b\": 1, \"a\": [2.5, null], \"b\": true}"),
        Ok(PyVal::Dict(vec![
            ("b".into(), PyVal::Bool(true)),
            (
                "a".into(),
                PyVal::List(vec![PyVal::Float(2.5), PyVal::None])
            ),
        ]))
    );
    assert_eq!(
        PyVal::List(vec![PyVal::Str("a".into()), PyVal::Int("1".into())]).py_repr(),
        "['a', 1]"
    );
}

#[test]
fn did_you_mean_uses_difflibs_ratio() {
    let r = |a: &str, b: &str| {
        argparse::ratio(
            &a.chars().collect::<Vec<_>>(),
            &b.chars().collect::<Vec<_>>(),
        )
    };
    assert!((r("abcd", "bcde") - 0.75).abs() < 1e-12);
    assert!((r("--headless", "--hedless") - 18.0 / 19.0).abs() < 1e-12);
    let (_d, env) = no_files();
    assert_eq!(
        err(&["--usres", "5"], &env).message(),
        "rlocust: error: unrecognized arguments: --usres\nDid you mean '--users'?"
    );
}

#[test]
fn config_file_paths_are_relative_to_the_env_cwd() {
    let d = Dirs::new();
    d.file("u.json", "{\"user_class_name\": \"A\", \"weight\": 2}");
    let p = ok(&["--config-users", "u.json"], &d.env());
    assert_eq!(
        p.list("config_users"),
        Some(&["[{\"user_class_name\":\"A\",\"weight\":2}]".to_string()][..])
    );
    let p = ok(
        &[
            "--config-users",
            "{\"user_class_name\": \"A\", \"b\": 1, \"a\": 2, \"b\": 3}",
        ],
        &d.env(),
    );
    assert_eq!(
        p.list("config_users"),
        Some(&["[{\"user_class_name\":\"A\",\"b\":3,\"a\":2}]".to_string()][..])
    );
}

#[test]
fn hostile_nesting_is_an_error_not_a_crash() {
    let deep = "[".repeat(100_000);
    assert!(pyval::json_loads(&deep).is_err());
    let (d, env) = no_files();
    assert_eq!(err(&["--config-users", &deep], &env).exit_code(), 2);
    d.file("pyproject.toml", &format!("[tool.locust]\ntags = {deep}\n"));
    assert_eq!(err(&[], &d.env()).exit_code(), 2);
}

#[test]
fn iterations_option_from_every_source() {
    let (_d, env) = no_files();
    assert_eq!(ok(&[], &env).get("iterations"), Some(&Value::Int(0)));
    assert_eq!(
        ok(&["-i", "20"], &env).get("iterations"),
        Some(&Value::Int(20))
    );
    assert_eq!(
        ok(&["--iterations=5"], &env).get("iterations"),
        Some(&Value::Int(5))
    );
    assert_eq!(
        ok(&["--iter", "6"], &env).get("iterations"),
        Some(&Value::Int(6))
    );
    let from_env = env.clone().var("LOCUST_ITERATIONS", "7");
    assert_eq!(ok(&[], &from_env).get("iterations"), Some(&Value::Int(7)));
    assert_eq!(
        ok(&["-i", "8"], &from_env).get("iterations"),
        Some(&Value::Int(8))
    );
    let d = Dirs::new();
    d.file("locust.conf", "iterations = 9\n");
    assert_eq!(ok(&[], &d.env()).get("iterations"), Some(&Value::Int(9)));
    let e = err(&["-i", "x"], &env);
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.message()
            .contains("argument -i/--iterations: invalid int value: 'x'"),
        "{}",
        e.message()
    );
}

#[test]
fn a_locustfile_option_that_repeats_a_builtin_one_is_parsed_as_the_builtin() {
    // locust-plugins declares -i/--iterations itself; rlocust has it built in
    let plugin = vec![CustomArg {
        flags: vec!["-i".into(), "--iterations".into()],
        dest: "iterations".into(),
        nargs: Nargs::One,
        class: Class::Store,
        env_var: Some("LOCUST_ITERATIONS".into()),
        help: Some("plugin help".into()),
        default_display: Some("0".into()),
        ..Default::default()
    }];
    let (_d, env) = no_files();
    let p = parse(&argv(&["-i", "3"]), &env, &plugin).expect("parse");
    assert_eq!(p.get("iterations"), Some(&Value::Int(3)));
    assert!(p.custom_argv.is_empty(), "{:?}", p.custom_argv);
    let help = help_text_width(&plugin, 80);
    assert_eq!(
        help.matches("-i ITERATIONS, --iterations ITERATIONS")
            .count(),
        1,
        "{help}"
    );
    assert!(!help.contains("plugin help"));
}

/// Options with each argparse action class and nargs (as `custom_arg_specs` describes them).
fn action_args() -> Vec<CustomArg> {
    let arg =
        |flags: &[&str], dest: &str, nargs: Nargs, class: Class, env: Option<&str>| CustomArg {
            flags: flags.iter().map(|f| f.to_string()).collect(),
            dest: dest.into(),
            nargs,
            class,
            env_var: env.map(str::to_string),
            ..Default::default()
        };
    vec![
        arg(
            &["--chat", "--no-chat"],
            "chat",
            Nargs::Zero,
            Class::BooleanOptional,
            Some("LOCUST_CHAT"),
        ),
        arg(
            &["-v", "--verbose"],
            "verbose",
            Nargs::Zero,
            Class::Count,
            Some("LOCUST_VERBOSE"),
        ),
        arg(&["--yes"], "yes", Nargs::Zero, Class::Flag, None),
        arg(
            &["--item"],
            "items",
            Nargs::One,
            Class::Append,
            Some("LOCUST_ITEM"),
        ),
        arg(&["--ext"], "ext", Nargs::Plus, Class::Append, None),
        arg(&["--pair"], "pair", Nargs::Exactly(2), Class::Store, None),
        arg(
            &["--maybe"],
            "maybe",
            Nargs::Optional,
            Class::Store,
            Some("LOCUST_MAYBE"),
        ),
        arg(&["--toggle"], "toggle", Nargs::Zero, Class::Store, None),
    ]
}

fn custom_argv(args: &[&str], env: &Env) -> Vec<String> {
    match parse(&argv(args), env, &action_args()) {
        Ok(p) => p.custom_argv,
        Err(e) => panic!("{args:?} failed: {}", e.message()),
    }
}

fn custom_err(args: &[&str], env: &Env) -> String {
    match parse(&argv(args), env, &action_args()) {
        Ok(p) => panic!("{args:?} parsed: {:?}", p.custom_argv),
        Err(e) => e.message(),
    }
}

#[test]
fn a_locustfile_option_is_passed_on_with_the_option_string_used() {
    let (_d, env) = no_files();
    // BooleanOptionalAction tells --x from --no-x by the option string (an abbreviation is written in full)
    assert_eq!(custom_argv(&["--no-chat"], &env), argv(&["--no-chat"]));
    assert_eq!(
        custom_argv(&["--no-c", "--chat"], &env),
        argv(&["--no-chat", "--chat"])
    );
    // a counter's short cluster is one option per letter; its long form stays long
    assert_eq!(
        custom_argv(&["-vvv", "--verb"], &env),
        argv(&["-v", "-v", "-v", "--verbose"])
    );
    assert_eq!(
        custom_argv(&["--item", "a", "--item=-x", "--ext", "1", "2"], &env),
        argv(&["--item=a", "--item=-x", "--ext", "1", "2"])
    );
    // nargs="?" with and without its value, nargs=2, a custom action that takes none
    assert_eq!(
        custom_argv(
            &["--maybe", "--maybe", "m", "--pair", "-1", "-2", "--toggle"],
            &env
        ),
        argv(&["--maybe", "--maybe=m", "--pair", "-1", "-2", "--toggle"])
    );
}

#[test]
fn a_locustfile_option_takes_the_values_its_nargs_says() {
    let (_d, env) = no_files();
    assert_eq!(
        custom_err(&["--ext"], &env),
        "rlocust: error: argument --ext: expected at least one argument"
    );
    assert_eq!(
        custom_err(&["--pair", "a"], &env),
        "rlocust: error: argument --pair: expected 2 arguments"
    );
    assert_eq!(
        custom_err(&["--pair=a"], &env),
        "rlocust: error: argument --pair: expected 2 arguments"
    );
    assert_eq!(
        custom_err(&["--toggle=1"], &env),
        "rlocust: error: argument --toggle: ignored explicit argument '1'"
    );
    // "?" takes one value at most: the next one is the user class list
    let p = parse(&argv(&["--maybe", "a", "b"]), &env, &action_args()).expect("parse");
    assert_eq!(p.custom_argv, argv(&["--maybe=a"]));
    assert_eq!(p.get("user_classes"), Some(&list(&["b"])));
}

#[test]
fn a_locustfile_option_from_a_config_file_as_configargparse_writes_it() {
    let d = Dirs::new();
    d.file(
        "locust.conf",
        "chat = false\nverbose = 3\nyes = on\nitem = [a, b]\next = [1, 2]\npair = [p, q]\nmaybe =\n",
    );
    assert_eq!(
        custom_argv(&[], &d.env()),
        argv(&[
            "--no-chat",
            "-v",
            "-v",
            "-v",
            "--yes",
            "--item=a",
            "--item=b",
            "--ext=1",
            "--ext=2",
            "--pair",
            "p",
            "q"
        ])
    );
    // true gives --x (and a count's last option string), false --no-x (and nothing for a count)
    d.file("locust.conf", "chat = true\nverbose = true\n");
    assert_eq!(custom_argv(&[], &d.env()), argv(&["--chat", "--verbose"]));
    d.file("locust.conf", "chat = off\nverbose = 0\n");
    assert_eq!(custom_argv(&[], &d.env()), argv(&["--no-chat"]));
    // TOML: booleans and numbers as Python's str() of them, nested lists as one option with several values
    d.file(
        "pyproject.toml",
        "[tool.locust]\nchat = true\nverbose = 2\nitem = [\"t\", 3]\next = [[5, 6]]\n",
    );
    d.file("locust.conf", "");
    assert_eq!(
        custom_argv(&[], &d.env()),
        argv(&[
            "--chat", "-v", "-v", "--item=t", "--item=3", "--ext", "5", "6"
        ])
    );
    // a value the action cannot take: Locust's errors
    for (text, message) in [
        (
            "verbose = x\n",
            "ValueError: invalid literal for int() with base 10: 'x'",
        ),
        (
            "chat = maybe\n",
            "rlocust: error: Unexpected value for chat: 'maybe'. Expecting 'true', 'false', 'yes', 'no', 'on', 'off', '1' or '0'",
        ),
        (
            "maybe = [a, b]\n",
            "rlocust: error: maybe can't be set to a list '['a', 'b']' unless its action type is changed to 'append' or nargs is set to '*', '+', or > 1",
        ),
        (
            "toggle = true\n",
            "rlocust: error: argument --toggle: ignored explicit argument 'true'",
        ),
    ] {
        d.file("pyproject.toml", "");
        d.file("locust.conf", text);
        assert_eq!(custom_err(&[], &d.env()), message, "{text}");
    }
}

#[test]
fn a_locustfile_option_from_the_environment_as_configargparse_writes_it() {
    let (_d, env) = no_files();
    let env = env
        .var("LOCUST_CHAT", "no")
        .var("LOCUST_VERBOSE", "2")
        .var("LOCUST_ITEM", "[e1, e2]")
        .var("LOCUST_MAYBE", "");
    assert_eq!(
        custom_argv(&[], &env),
        argv(&["--no-chat", "-v", "-v", "--item=e1", "--item=e2"])
    );
    // a flag set in the environment hides the config files' value, an option on the command line both
    let d = Dirs::new();
    d.file("locust.conf", "chat = true\nverbose = 5\nitem = c\n");
    let env = d
        .env()
        .var("LOCUST_CHAT", "false")
        .var("LOCUST_VERBOSE", "4");
    assert_eq!(
        custom_argv(&["-v", "--item", "z"], &env),
        argv(&["--no-chat", "-v", "--item=z"])
    );
}

#[test]
fn nargs_as_custom_arg_specs_writes_them() {
    assert_eq!(Nargs::from_python(None), Nargs::One);
    assert_eq!(Nargs::from_python(Some("0")), Nargs::Zero);
    assert_eq!(Nargs::from_python(Some("1")), Nargs::Exactly(1));
    assert_eq!(Nargs::from_python(Some("?")), Nargs::Optional);
    assert_eq!(Nargs::from_python(Some("*")), Nargs::Star);
    assert_eq!(Nargs::from_python(Some("+")), Nargs::Plus);
    assert!(Nargs::Exactly(1).truthy() && !Nargs::One.truthy() && !Nargs::Zero.truthy());
    assert!(
        Nargs::Exactly(2).takes_list()
            && !Nargs::Exactly(1).takes_list()
            && !Nargs::Optional.takes_list()
    );
    assert_eq!(Class::from_name("boolean_optional"), Class::BooleanOptional);
    assert_eq!(Class::from_name("whatever"), Class::Store);
}
