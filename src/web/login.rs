//! `--web-login`, as Locust's: the locustfile provides the login (a Flask-Login `user_loader`, a `SECRET_KEY`,
//! `environment.web_ui.auth_args` and its own routes that call `login_user`), and every page and API route this
//! server serves, but `/login` and the assets, needs a logged-in user.
//!
//! The session cookie is Flask's and the user is the locustfile's, so the check is the app's: before serving a
//! route, [`gate`] sends the request's method, path and headers (no body) to the locustfile's Flask app on the
//! hub, marked with `python_routes::GATE_HEADER`; the shim (`locust._web.gate`) runs Locust's
//! `auth_required_if_enabled` check in a request context and answers either "passed" (status 200 with
//! [`PASSED`]) or what the check answers: Flask-Login's redirect to `/login?next=…`, or Locust's "Locust auth
//! exception" text when the login is not set up. A passed request is served here, with the cookies the check
//! set (Flask saves the session it touched). [`page`] is Locust's `/login` view: the shim answers with the
//! `auth_args` (plus the session's `auth_error` and `auth_info`) and the title, and the page is
//! `webui/dist/auth.html` filled with them.
//!
//! Who calls it: `routes::api` (and `routes::login`), after basic auth and the routing, only with `--web-login`.
//! It never blocks a worker (it awaits the hub's reply, as `python_routes::forward` does) and keeps no session
//! state itself.
use super::WebState;
use super::python_routes::{self, GATE_HEADER};
use crate::bridge::WebReply;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;

/// The header of a check the app passed (`locust._web.PASSED`): `ok` for a route, `page` for the login page.
pub const PASSED: &str = "x-rlocust-login";

/// The reply's header `name`'s values.
fn values<'a>(reply: &'a WebReply, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
    reply
        .headers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// What a passed check leaves on the response: the session's cookies (and Flask's `Vary: Cookie`).
pub struct Passed(Vec<(header::HeaderName, HeaderValue)>);

impl Passed {
    fn of(reply: &WebReply) -> Passed {
        let mut keep = Vec::new();
        for name in [header::SET_COOKIE, header::VARY] {
            for v in values(reply, name.as_str()) {
                if let Ok(v) = HeaderValue::from_bytes(v) {
                    keep.push((name.clone(), v));
                }
            }
        }
        Passed(keep)
    }

    /// Add the cookies to the response served.
    pub fn apply(self, r: &mut Response) {
        for (name, value) in self.0 {
            r.headers_mut().append(name, value);
        }
    }
}

/// A check to ask the app: the request's method, path and headers (no body), marked with its kind. Built before
/// any await (a request's body is not `Sync`, so a handler's future may not hold the request across one).
pub struct Probe {
    request: crate::bridge::WebRequest,
    head: bool,
}

/// The probe of `req` (`kind`: `auth` for a route, `login` for the login page).
pub fn probe(st: &WebState, req: &Request, kind: &'static str) -> Probe {
    let mut request = python_routes::web_request(
        st,
        req.method(),
        req.uri(),
        req.headers(),
        Vec::new(),
        super::serve::peer_of(req),
    );
    // the marker goes last, after the client's headers (a client's own was dropped)
    request
        .headers
        .push((GATE_HEADER.to_string(), kind.to_string()));
    Probe {
        request,
        head: req.method() == Method::HEAD,
    }
}

fn passed(reply: &WebReply, how: &str) -> bool {
    reply.status == 200 && values(reply, PASSED).any(|v| v == how.as_bytes())
}

/// Locust's `login_required` for a route this server serves: `Ok` to serve it (with [`Passed::apply`]), or
/// `Err` with the app's answer (the redirect to the login page, …).
pub async fn gate(st: &WebState, probe: Probe) -> Result<Passed, Response> {
    let reply = python_routes::ask(st, probe.request).await?;
    if passed(&reply, "ok") {
        Ok(Passed::of(&reply))
    } else {
        Err(python_routes::response(reply, probe.head))
    }
}

/// `GET <base>/login` under `--web-login`: Locust's login page with the locustfile's `auth_args`.
pub async fn page(st: &WebState, probe: Probe) -> Response {
    let head = probe.head;
    let reply = match python_routes::ask(st, probe.request).await {
        Ok(reply) => reply,
        Err(answer) => return answer,
    };
    if !passed(&reply, "page") {
        return python_routes::response(reply, head);
    }
    let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(&reply.body) else {
        return python_routes::response(reply, head);
    };
    let args = crate::report::html::from_serde(&parsed["auth_args"]);
    let title = parsed["auth_title"].as_str().unwrap_or("Locust");
    let mut r = Response::new(axum::body::Body::from(super::page::auth_html(&args, title)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    *r.status_mut() = StatusCode::OK;
    Passed::of(&reply).apply(&mut r);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&str, &str)]) -> WebReply {
        WebReply {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn only_a_200_with_the_marker_passes() {
        assert!(passed(&reply(200, &[("X-Rlocust-Login", "ok")]), "ok"));
        assert!(!passed(&reply(200, &[("X-Rlocust-Login", "page")]), "ok"));
        assert!(!passed(&reply(302, &[("X-Rlocust-Login", "ok")]), "ok"));
        // Locust's "auth exception" text is a 200 without the marker
        assert!(!passed(&reply(200, &[("Content-Type", "text/html")]), "ok"));
    }

    #[test]
    fn a_passed_check_hands_on_its_cookies() {
        let r = reply(
            200,
            &[
                ("X-Rlocust-Login", "ok"),
                ("Set-Cookie", "session=a; HttpOnly; Path=/"),
                ("Set-Cookie", "remember_token=b"),
                ("Vary", "Cookie"),
                ("Content-Type", "text/html"),
            ],
        );
        let mut served = Response::new(axum::body::Body::empty());
        Passed::of(&r).apply(&mut served);
        let h = served.headers();
        assert_eq!(h.get_all(header::SET_COOKIE).iter().count(), 2);
        assert_eq!(h[header::VARY], "Cookie");
        assert!(h.get(header::CONTENT_TYPE).is_none());
    }
}
