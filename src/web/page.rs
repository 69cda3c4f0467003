//! The pages: the dashboard at `<base>/` (rlocust's own UI from `webui/dist`, embedded in the binary, booting
//! from Locust's index template args, reference §1.5), its assets, the login page of `--web-login` (Locust's
//! auth.html: [`auth_html`], from the args the locustfile's app gave), and the HTML report of `/stats/report`
//! (§1.7).
//!
//! Who calls it: `web::routes`. The template args are built from Rust state (the runner's state and users, the
//! stats history, [`RunInfo`](crate::report::html::RunInfo)); nothing here calls Python. Assets are served with
//! Locust's `Cache-Control: no-cache`, an `ETag` (304 on `If-None-Match`) and gzip when the browser accepts it.
use super::WebState;
use crate::pyfmt::json::{J, script_json};
use crate::report::ui_json;
use crate::runner::State;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::OnceLock;

const INDEX: &str = include_str!("../../webui/dist/index.html");
const INDEX_JS: &str = include_str!("../../webui/dist/assets/index.js");
const INDEX_CSS: &str = include_str!("../../webui/dist/assets/index.css");
const AUTH: &str = include_str!("../../webui/dist/auth.html");
const AUTH_JS: &str = include_str!("../../webui/dist/assets/auth.js");

/// An embedded asset: its bytes, gzipped bytes and ETag, computed once.
struct Asset {
    body: &'static [u8],
    gzip: Vec<u8>,
    etag: String,
    content_type: &'static str,
}

fn asset(path: &str) -> Option<&'static Asset> {
    static JS: OnceLock<Asset> = OnceLock::new();
    static CSS: OnceLock<Asset> = OnceLock::new();
    static AUTH_SCRIPT: OnceLock<Asset> = OnceLock::new();
    let (cell, body, content_type) = match path {
        "/assets/index.js" => (&JS, INDEX_JS, "text/javascript; charset=utf-8"),
        "/assets/index.css" => (&CSS, INDEX_CSS, "text/css; charset=utf-8"),
        "/assets/auth.js" => (&AUTH_SCRIPT, AUTH_JS, "text/javascript; charset=utf-8"),
        _ => return None,
    };
    Some(cell.get_or_init(|| {
        use sha2::Digest as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = gz.write_all(body.as_bytes());
        let digest = sha2::Sha256::digest(body.as_bytes());
        Asset {
            body: body.as_bytes(),
            gzip: gz.finish().unwrap_or_default(),
            etag: format!("\"{}\"", hex::encode(&digest[..12])),
            content_type,
        }
    }))
}

/// Whether `path` (under the base path) is one of the dashboard's assets.
/// The assets' paths under the base path.
pub const ASSETS: [&str; 3] = ["/assets/index.js", "/assets/index.css", "/assets/auth.js"];

/// `GET <base>/assets/…`.
pub fn serve_asset(path: &str, headers: &HeaderMap) -> Option<Response> {
    let a = asset(path)?;
    let mut r = Response::new(Body::empty());
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&a.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let matches_etag = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag || t.trim() == "*"));
    if matches_etag {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        return Some(r);
    }
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|e| {
                let mut parts = e.split(';');
                parts.next().is_some_and(|n| n.trim() == "gzip")
                    && !parts.any(|q| q.trim().replace(' ', "") == "q=0")
            })
        });
    if gzip_ok && !a.gzip.is_empty() {
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        *r.body_mut() = Body::from(a.gzip.clone());
    } else {
        *r.body_mut() = Body::from(a.body);
    }
    Some(r)
}

/// Locust's index template args (§1.5), same keys and types.
pub fn index_args(st: &WebState) -> J {
    let info = &st.info;
    let state = st.shared.state();
    let started = state != State::Ready;
    let (host, override_host_warning, missing_host_warning) = info.host_and_warnings(started);
    let history = if st.run.stats.num_requests() > 0 {
        ui_json::history(&st.run.stats.history())
    } else {
        J::Arr(Vec::new())
    };
    // the command line's -u/-r/-t, then the last /swarm's (Locust keeps them in parsed_options)
    let form = *info.form.lock();
    let edits = info.class_edits.lock().clone();
    let mut names: Vec<&str> = info.classes.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    let class_json = |c: &crate::report::html::ClassInfo| {
        let edit = edits.get(&c.name);
        let field = |k: &str, default: J| edit.and_then(|e| e.get(k)).cloned().unwrap_or(default);
        J::obj([
            ("host", info.class_host(c, started)),
            (
                "weight",
                field("weight", crate::report::html::from_serde(&c.weight)),
            ),
            (
                "fixed_count",
                field(
                    "fixed_count",
                    crate::report::html::from_serde(&c.fixed_count),
                ),
            ),
            (
                "tasks",
                field("tasks", J::Arr(c.tasks.iter().map(J::str).collect())),
            ),
        ])
    };
    let (available_user_classes, users_map, available_user_tasks) = if info.classes.is_empty() {
        (J::Null, J::Null, J::Null)
    } else {
        (
            J::Arr(names.iter().map(|n| J::str(*n)).collect()),
            J::obj(info.classes.iter().map(|c| (c.name.clone(), class_json(c)))),
            J::obj(
                info.classes
                    .iter()
                    .map(|c| (c.name.clone(), J::Arr(c.tasks.iter().map(J::str).collect()))),
            ),
        )
    };
    let mut shapes = vec![J::str("Default")];
    shapes.extend(info.shape_classes.iter().map(J::str));
    let floats = |ps: &[f64]| J::Arr(ps.iter().map(|p| J::Float(*p)).collect());
    let mut args = J::obj([
        ("locustfile", J::str(&info.locustfile)),
        ("state", J::str(state.as_str())),
        (
            "is_distributed",
            J::Bool(super::api::master_workers(st.node.as_deref()).is_some()),
        ),
        ("user_count", J::Int(st.shared.user_count() as i64)),
        ("version", J::str(crate::version::LOCUST_VERSION)),
        ("host", J::str(host.unwrap_or_default())),
        ("history", history),
        ("override_host_warning", J::Bool(override_host_warning)),
        ("missing_host_warning", J::Bool(missing_host_warning)),
        (
            "num_users",
            form.users.map_or(J::Null, |u| J::Int(u as i64)),
        ),
        ("spawn_rate", form.spawn_rate.map_or(J::Null, J::Float)),
        (
            "worker_count",
            J::Int(super::api::worker_count(st.node.as_deref())),
        ),
        // Locust: `shape_class and not (picker or use_common_options)`, `shape_class and use_common_options`
        (
            "hide_common_options",
            info.shape_use_common_options
                .map_or(J::Null, |common| J::Bool(!(st.class_picker || common))),
        ),
        (
            "shape_use_common_options",
            info.shape_use_common_options.map_or(J::Null, J::Bool),
        ),
        ("stats_history_enabled", J::Bool(st.stats_history_enabled)),
        ("tasks", J::str("{}")),
        ("extra_options", info.extra_options.clone()),
        (
            "run_time",
            form.run_time.map_or(J::Null, |t| J::Int(t as i64)),
        ),
        ("show_userclass_picker", J::Bool(st.class_picker)),
        ("available_user_classes", available_user_classes),
        ("available_shape_classes", J::Arr(shapes)),
        ("available_user_tasks", available_user_tasks),
        ("users", users_map),
        (
            "percentiles_to_chart",
            floats(&ui_json::PERCENTILES_TO_CHART),
        ),
        (
            "percentiles_to_statistics",
            floats(&ui_json::PERCENTILES_TO_STATISTICS),
        ),
        ("is_host_required", J::Bool(info.is_host_required)),
        (
            "profile",
            info.profile.lock().clone().map_or(J::Null, J::Str),
        ),
    ]);
    // rlocust's capacity search (issue 52): the start form offers it and the dashboard polls `search` (Locust's
    // page has no such key, so its dashboard never asks)
    if st.search.is_some()
        && let J::Obj(m) = &mut args
    {
        m.insert("search_form".into(), J::Bool(true));
    }
    // rlocust's `--baseline` (issue 42): the dashboard then polls `rlocust/baseline`; without one the args stay
    // Locust's
    if let Some(source) = st.report.context.as_ref().and_then(|c| c.baseline_source())
        && let J::Obj(m) = &mut args
    {
        m.insert("baseline".into(), source);
    }
    args
}

/// The dashboard page with its template args.
pub fn index_html(st: &WebState) -> String {
    INDEX.replacen(
        "__RLOCUST_TEMPLATE_ARGS__",
        &script_json(&index_args(st)),
        1,
    )
}

/// The login page of `--web-login`: auth.html with the `auth_args` the locustfile's app answered (JSON, with the
/// session's `error` and `info`) and `auth_title` as its title, as Locust renders its auth.html.
pub fn auth_html(auth_args: &J, title: &str) -> String {
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    AUTH.replacen(
        "<title>Locust</title>",
        &format!("<title>{title}</title>"),
        1,
    )
    .replacen("__RLOCUST_AUTH_ARGS__", &script_json(auth_args), 1)
}

/// The query parameters of a URL, first value of each (Flask's `request.args.get`).
pub fn query_args(query: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_has_its_placeholder_once_and_assets_exist() {
        assert_eq!(INDEX.matches("__RLOCUST_TEMPLATE_ARGS__").count(), 1);
        assert!(INDEX.contains("./assets/index.js") && INDEX.contains("./assets/index.css"));
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        let r = serve_asset("/assets/index.js", &h).unwrap();
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        let etag = r.headers()[header::ETAG].clone();
        h.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(
            serve_asset("/assets/index.js", &h).unwrap().status(),
            StatusCode::NOT_MODIFIED
        );
        let plain = serve_asset("/assets/index.css", &HeaderMap::new()).unwrap();
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert!(serve_asset("/assets/other.js", &HeaderMap::new()).is_none());
        assert!(serve_asset("/assets/auth.js", &HeaderMap::new()).is_some());
    }

    #[test]
    fn the_login_page_gets_its_args_and_title() {
        assert_eq!(AUTH.matches("__RLOCUST_AUTH_ARGS__").count(), 1);
        assert_eq!(AUTH.matches("<title>Locust</title>").count(), 1);
        assert!(AUTH.contains("./assets/auth.js") && AUTH.contains("./assets/index.css"));
        let args = J::obj([("error", J::str("</script><b>")), ("title", J::str("x"))]);
        let page = auth_html(&args, "My <UI>");
        assert!(page.contains("<title>My &lt;UI&gt;</title>"));
        assert!(
            page.contains(
                r#"window.authArgs = {"error": "\u003c/script\u003e\u003cb\u003e", "title": "x"};"#
            ),
            "{page}"
        );
        assert!(!page.contains("__RLOCUST_AUTH_ARGS__"));
    }

    #[test]
    fn query_args_take_the_first_value() {
        let q = query_args(Some("download=1&theme=dark&theme=light"));
        assert_eq!(q.get("theme").map(String::as_str), Some("dark"));
        assert_eq!(q.get("download").map(String::as_str), Some("1"));
        assert!(query_args(None).is_empty());
    }
}
