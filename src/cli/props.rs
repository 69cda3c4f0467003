//! Property tests: whatever the command line, environment and config files hold, the parser answers with values
//! or one `CliError` (a message and an exit code), never a panic. Bounded case counts keep `cargo test` fast;
//! `PROPTEST_CASES` raises them for a longer hunt.
use super::*;
use proptest::prelude::*;

fn flags() -> Vec<&'static str> {
    spec::table()
        .iter()
        .flat_map(|o| o.flags.iter().copied())
        .collect()
}

/// Words a command line is made of: real flags, abbreviations, `--flag=value` forms and values of every shape.
fn word() -> impl Strategy<Value = String> {
    let flags = flags();
    let flag = proptest::sample::select(flags.clone()).prop_map(str::to_string);
    let abbreviated = proptest::sample::select(flags)
        .prop_filter("long", |f| f.starts_with("--") && f.len() > 4)
        .prop_flat_map(|f| (3..f.len()).prop_map(move |n| f[..n].to_string()));
    let value = prop_oneof![
        Just(String::new()),
        Just("-".to_string()),
        Just("--".to_string()),
        "-?[0-9]{1,25}(\\.[0-9]{0,5})?(e[+-]?[0-9]{1,4})?",
        "[0-9]{1,4}[hms]{1,3}[0-9]{0,3}",
        "\\PC{0,12}",
        "(inf|nan|-inf|1e999|0x10|1_000)",
        "(http|https|ftp)://[a-z0-9.:\\[\\]@/]{0,20}",
    ];
    let joined =
        (proptest::sample::select(spec::table()), value.clone()).prop_map(|(o, v)| {
            match o.flags.last() {
                Some(f) if f.starts_with("--") => format!("{f}={v}"),
                Some(f) => format!("{f}{v}"),
                None => v,
            }
        });
    prop_oneof![3 => flag, 1 => abbreviated, 3 => value, 2 => joined]
}

fn env_in(dir: &std::path::Path, vars: &[(String, String)]) -> Env {
    let mut env = Env::new(dir, Some(dir.to_path_buf()));
    for (k, v) in vars {
        env = env.var(k, v);
    }
    env
}

/// `LOCUST_*` variables with values of any shape.
fn vars() -> impl Strategy<Value = Vec<(String, String)>> {
    let names: Vec<String> = spec::table()
        .iter()
        .filter_map(|o| o.env.map(str::to_string))
        .collect();
    proptest::collection::vec((proptest::sample::select(names), "\\PC{0,10}"), 0..4)
}

/// Lines of a `locust.conf`, valid and not.
fn conf_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        proptest::sample::select(
            spec::table()
                .iter()
                .filter(|o| !o.dest.is_empty())
                .map(|o| o.dest.replace('_', "-"))
                .collect::<Vec<_>>()
        ),
        "[a-z_-]{1,12}",
    ];
    let line = prop_oneof![
        (key.clone(), "[ =:]{1,3}", "\\PC{0,16}").prop_map(|(k, s, v)| format!("{k}{s}{v}")),
        (key, "\\[[^\\]\\n]{0,20}\\]?").prop_map(|(k, v)| format!("{k} = {v}")),
        "[#;\\[\\] \\t]{0,3}\\PC{0,20}",
    ];
    proptest::collection::vec(line, 0..8).prop_map(|l| l.join("\n"))
}

/// A `pyproject.toml` with a `[tool.locust]` table, valid and not.
fn toml_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "-?[0-9]{1,20}",
        "\"\\PC{0,10}\"",
        "(true|false)",
        "\\[(\"a\", ?){0,3}\\]",
        "1979-05-27T07:32:00Z",
        "\\PC{0,8}",
        "\\{ ?a ?= ?1 ?\\}",
        "[0-9.e+-]{1,8}",
    ];
    let entry = ("[a-z-]{1,12}", value).prop_map(|(k, v)| format!("{k} = {v}"));
    (
        proptest::collection::vec(entry, 0..6),
        "(\\[tool.locust\\]|\\[tool\\]|\\[\\[tool.locust\\]\\]|)",
    )
        .prop_map(|(entries, header)| format!("{header}\n{}", entries.join("\n")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn any_command_line_parses_or_fails_with_one_message(argv in proptest::collection::vec(word(), 0..8), vars in vars()) {
        let dir = tempfile::tempdir().unwrap();
        let env = env_in(dir.path(), &vars);
        let _ = pre_parse(&argv, &env);
        if let Err(e) = parse(&argv, &env, &[]) {
            let _ = (e.message(), e.exit_code());
        }
    }

    #[test]
    fn any_config_file_parses_or_fails_with_one_message(conf in conf_text(), toml in toml_text(), argv in proptest::collection::vec(word(), 0..3)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("locust.conf"), &conf).unwrap();
        std::fs::write(dir.path().join("pyproject.toml"), &toml).unwrap();
        let env = env_in(dir.path(), &[]);
        let _ = config::parse_conf(&conf, "locust.conf");
        if let Err(e) = parse(&argv, &env, &[]) {
            let _ = (e.message(), e.exit_code());
        }
    }
}
