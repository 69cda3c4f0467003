//! What every request to the web UI passes before a route sees it, and what every answer carries:
//!
//! - [`AllowedHosts`]: the `Host` allow-list against DNS rebinding. A page on `attacker.example` whose name the
//!   attacker then points at this machine sends its requests here with `Host: attacker.example` and an `Origin` of
//!   the same name, so the cross-site check (`routes::cross_site`) takes them for same-origin: only the name tells.
//!   Allowed by default: loopback names (`localhost`, `*.localhost`), any IP literal, this machine's names (its
//!   host name and FQDN), the `--web-host` name, names of one label (a Kubernetes Service or Compose service name
//!   such as `locust`, `load-test-webui`, `master`) and the cluster's own names (`*.svc`, `*.svc.cluster.local`);
//!   `--web-allowed-hosts` adds names, `.suffix`es or `*` (any). A refused name gets 403 and one log line the first
//!   time it is seen.
//! - [`Throttle`]: failed logins per client address (basic auth, and `--web-login`'s form as the locustfile's route
//!   answers it): after [`FREE_FAILURES`] in [`WINDOW`] the address gets 429 until the window ends; one warning per
//!   address per window. Other addresses are not slowed.
//! - [`finish`]: the headers of every answer (no framing, no MIME sniffing, CORS only for `--web-cors-origins`, the
//!   cookies `SameSite=Lax` and, under TLS, `Secure`).
//!
//! Who calls it: `web::routes` (`edge`, and the locustfile's routes for `--web-login`) and `web::metrics` (the
//! `--metrics-port` listener: the same `Host` rule, the same [`throttle`], the same headers but CORS). Pure
//! Rust, no I/O but the log; it never logs a password or a user name.
use crate::log;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The option that adds allowed names (named in the refusal page and the log line).
pub const ALLOWED_HOSTS_OPTION: &str = "--web-allowed-hosts";

/// Refused names remembered (each logged once); past this, refusals are no longer logged.
const REFUSED_LOGGED: usize = 1000;

/// The `Host` names the web UI answers to.
#[derive(Debug)]
pub struct AllowedHosts {
    /// `*` was given: any name.
    any: bool,
    /// Exact names, lowercase, without a trailing dot.
    names: Vec<String>,
    /// `.example.com`: the name and every name under it.
    suffixes: Vec<String>,
    /// Refused names already logged.
    refused: Mutex<HashSet<String>>,
}

/// A name as compared: lowercase, without one trailing dot (`localhost.` is `localhost`).
fn normal(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Whether `name` is a DNS name (letters, digits, `-`, `_`, dots between labels).
fn dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl AllowedHosts {
    /// The list for a UI bound to `web_host`, with `--web-allowed-hosts`' text (`Err`: one line naming the bad
    /// entry). The machine's FQDN is asked of the resolver once, on a thread of its own ([`own_fqdn`]).
    pub fn new(web_host: &str, extra: Option<&str>) -> Result<AllowedHosts, String> {
        let mut hosts = AllowedHosts {
            any: false,
            names: Vec::new(),
            suffixes: Vec::new(),
            refused: Mutex::new(HashSet::new()),
        };
        for entry in extra.unwrap_or("").split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                hosts.any = true;
            } else if let Some(suffix) = entry.strip_prefix('.')
                && dns_name(&normal(suffix))
            {
                hosts.suffixes.push(format!(".{}", normal(suffix)));
            } else if let Some(name) = host_part(entry)
                && (dns_name(&normal(name)) || literal_ip(name))
            {
                hosts.names.push(normal(name));
            } else {
                return Err(format!(
                    "rlocust: {ALLOWED_HOSTS_OPTION}: {entry:?} is not a host name (give names such as ui.example.com, a suffix such as .example.com, or * for any)"
                ));
            }
        }
        let host = crate::sys::hostname();
        for own in [web_host, host] {
            if dns_name(&normal(own)) {
                hosts.names.push(normal(own));
            }
        }
        own_fqdn();
        Ok(hosts)
    }

    /// Whether a request with this `Host` (or HTTP/2 authority) may be answered. No `Host` at all (HTTP/1.0) is
    /// allowed: a browser always sends one.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let Some(host) = host else {
            return true;
        };
        if self.any {
            return true;
        }
        let Some(name) = host_part(host) else {
            return false;
        };
        if literal_ip(name) {
            return true;
        }
        let name = normal(name);
        if !dns_name(&name) {
            return false;
        }
        name == "localhost"
            || name.ends_with(".localhost")
            || !name.contains('.')
            || name.ends_with(".svc")
            || name.ends_with(".svc.cluster.local")
            || self.names.contains(&name)
            || own_fqdn().is_some_and(|full| full == name)
            || self
                .suffixes
                .iter()
                .any(|s| name.ends_with(s.as_str()) || name == s[1..])
    }

    /// Whether `name` is refused for the first time (its log line is due).
    pub fn first_refusal(&self, name: &str) -> bool {
        let mut seen = self.refused.lock();
        if seen.len() >= REFUSED_LOGGED {
            return false;
        }
        seen.insert(name.to_ascii_lowercase())
    }
}

/// The name (or IP literal) of a `Host` value without its port: `[::1]:8089` is `::1`, `ui:80` is `ui`. `None`
/// when the value is not a host (a port that is not a number, text after `]`).
fn host_part(host: &str) -> Option<&str> {
    if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        return (after.is_empty() || port(after.strip_prefix(':')?)).then_some(inside);
    }
    match host.rsplit_once(':') {
        // more than one colon: an IPv6 literal without brackets (not valid in Host, but not a name either)
        Some((name, p)) if !name.contains(':') => port(p).then_some(name),
        _ => Some(host),
    }
}

/// The host name of a `Host` value, without its port (the value itself when it is not a host).
pub fn name_of(host: &str) -> &str {
    host_part(host).unwrap_or(host)
}

fn port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// An IPv4 literal in dotted-quad form, or an IPv6 literal (bracketed or not, by [`host_part`]).
fn literal_ip(name: &str) -> bool {
    name.parse::<Ipv4Addr>().is_ok() || name.parse::<Ipv6Addr>().is_ok()
}

/// The machine's fully qualified name once the resolver has given it (`None` until then, or when it has none
/// other than the host name). The first call starts the look-up on a thread of its own, so a slow resolver never
/// delays the start or a request.
fn own_fqdn() -> Option<&'static str> {
    static FQDN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("rlocust-fqdn".into())
            .spawn(|| {
                let _ = FQDN.set(fqdn(crate::sys::hostname()).map(|n| normal(&n)));
            });
    });
    FQDN.get().and_then(|n| n.as_deref())
}

/// The machine's fully qualified name, as the resolver gives it for its host name (`getaddrinfo` with
/// `AI_CANONNAME`, Python's `socket.getfqdn()` in effect), when it differs from the host name.
fn fqdn(host: &str) -> Option<String> {
    let c_host = std::ffi::CString::new(host).ok()?;
    // SAFETY: a zeroed addrinfo is a valid hints value (every pointer null); only ai_flags is set.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    let mut out: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: c_host is NUL-terminated, hints and out are valid for the call; out is freed below when set.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut out) };
    if rc != 0 || out.is_null() {
        return None;
    }
    // SAFETY: out is the list getaddrinfo returned; ai_canonname is null or a NUL-terminated string in it.
    let name = unsafe {
        let canon = (*out).ai_canonname;
        let name = (!canon.is_null()).then(|| {
            std::ffi::CStr::from_ptr(canon)
                .to_string_lossy()
                .into_owned()
        });
        libc::freeaddrinfo(out);
        name
    };
    name.filter(|n| !n.eq_ignore_ascii_case(host) && dns_name(&normal(n)))
}

/// The host name a request is for when `allowed` refuses it (its `Host`, and the authority of an absolute request
/// target), without its port and cut to 255 characters (it is logged and remembered).
pub fn refused_name(allowed: &AllowedHosts, headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let authority = uri.authority().map(|a| a.as_str());
    [host, authority]
        .into_iter()
        .flatten()
        .find(|h| !allowed.allows(Some(h)))
        .map(|h| name_of(h).chars().take(255).collect())
}

/// The answer to a request for a refused name ([`refused_name`]), with one WARNING the first time `listener` ("the
/// web UI", "the metrics endpoint") refuses the name.
pub fn refuse(allowed: &AllowedHosts, name: &str, peer: IpAddr, listener: &str) -> Response {
    if allowed.first_refusal(name) {
        log::log(
            log::Level::Warning,
            "locust.web",
            &format!(
                "{listener} refused a request from {peer} for the host name {} (a DNS rebinding defence). If the name is yours, allow it with {ALLOWED_HOSTS_OPTION} {}. Further requests for it are refused without a log line",
                crate::pyfmt::py_str_repr(name),
                crate::pyfmt::py_str_repr(name),
            ),
        );
    }
    refused_host(name)
}

/// HTTP basic auth of `expected` (`user:password`) behind the [`throttle`]: `None` lets the request on; otherwise
/// its answer: 429 while `peer` waits and tries again, else `unauthorized()`, a wrong password counted as a failed
/// login (`how`: which door, for the log line). A request without credentials is not a guess.
pub fn basic_auth(
    expected: &str,
    headers: &HeaderMap,
    peer: IpAddr,
    how: &str,
    unauthorized: fn() -> Response,
) -> Option<Response> {
    let attempt = headers.contains_key(header::AUTHORIZATION);
    if attempt && let Some(wait) = throttle().wait(peer) {
        return Some(too_many(wait));
    }
    if super::basic_auth::ok(Some(expected), headers) {
        return None;
    }
    if attempt {
        throttle().failed(peer, how);
    }
    Some(unauthorized())
}

/// The answer to a refused `Host`: 403 with one line saying how to allow the name (the name echoed as text only).
pub fn refused_host(name: &str) -> Response {
    let shown: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    let mut r = Response::new(axum::body::Body::from(format!(
        "Forbidden: this web UI does not answer to the host name {shown:?} (a DNS rebinding defence). To allow it, start rlocust with {ALLOWED_HOSTS_OPTION} {shown}\n"
    )));
    *r.status_mut() = axum::http::StatusCode::FORBIDDEN;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// How long failed logins are counted together, and how long a throttled address waits.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Failed logins an address may make in a [`WINDOW`] before its logins are refused (429) until the window ends.
pub const FREE_FAILURES: u32 = 10;

/// Addresses tracked at once (expired ones are dropped first); beyond it, new addresses share one count.
const TRACKED: usize = 4096;

/// The process's failed-login counts: the web UI and the `--metrics-port` listener share one password, so an
/// address's guesses at either count together.
pub fn throttle() -> &'static Throttle {
    static THROTTLE: std::sync::OnceLock<Throttle> = std::sync::OnceLock::new();
    THROTTLE.get_or_init(Throttle::default)
}

/// Failed logins per client address.
#[derive(Default)]
pub struct Throttle {
    by_address: Mutex<HashMap<IpAddr, Failures>>,
}

struct Failures {
    since: Instant,
    count: u32,
}

/// The address failures are counted for: IPv6 by its /64 (one host usually has the whole prefix).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl Throttle {
    /// How long `ip` must still wait before its next login is checked (`None`: it may try now).
    pub fn wait(&self, ip: IpAddr) -> Option<Duration> {
        let map = self.by_address.lock();
        let f = map.get(&key(ip))?;
        let elapsed = f.since.elapsed();
        (f.count >= FREE_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    /// A failed login from `ip` (`how`: "basic auth" or "--web-login"). The first in a window is logged.
    pub fn failed(&self, ip: IpAddr, how: &str) {
        let mut map = self.by_address.lock();
        let now = Instant::now();
        if map.len() >= TRACKED {
            map.retain(|_, f| now.duration_since(f.since) < WINDOW);
        }
        let k = if map.len() >= TRACKED && !map.contains_key(&key(ip)) {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            key(ip)
        };
        let f = map.entry(k).or_insert(Failures {
            since: now,
            count: 0,
        });
        if now.duration_since(f.since) >= WINDOW {
            *f = Failures {
                since: now,
                count: 0,
            };
        }
        f.count += 1;
        if f.count == 1 {
            log::log(
                log::Level::Warning,
                "locust.web",
                &format!(
                    "Failed login to the web UI from {ip} ({how}); after {FREE_FAILURES} failures within {} s its logins are refused (429) until the {} s are over. Further failures from it in this time are not logged",
                    WINDOW.as_secs(),
                    WINDOW.as_secs()
                ),
            );
        }
    }
}

/// The answer to a login attempt from a throttled address.
pub fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs() + 1;
    let mut r = Response::new(axum::body::Body::from(format!(
        "Too Many Requests: too many failed logins from your address; try again in {secs} s.\n"
    )));
    *r.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// `--web-cors-origins`: the origins whose pages may read the UI's answers (`Access-Control-Allow-Origin`).
#[derive(Clone, Debug, Default)]
pub struct Cors {
    any: bool,
    origins: Vec<String>,
}

impl Cors {
    /// From the option's text: origins (`https://dash.example.com`, `http://localhost:3000`) separated by commas,
    /// or `*`. `Err` is one line naming the bad entry.
    pub fn new(text: Option<&str>) -> Result<Cors, String> {
        let mut cors = Cors::default();
        for entry in text.unwrap_or("").split(',') {
            let entry = entry.trim().trim_end_matches('/');
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                cors.any = true;
                continue;
            }
            let ok = entry.split_once("://").is_some_and(|(scheme, rest)| {
                matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains('/')
            });
            if !ok {
                return Err(format!(
                    "rlocust: --web-cors-origins: {entry:?} is not an origin (give scheme://host[:port], such as https://dash.example.com, or * for any)"
                ));
            }
            cors.origins.push(entry.to_ascii_lowercase());
        }
        Ok(cors)
    }

    /// The `Access-Control-Allow-Origin` value for a request with this `Origin` (`None`: no CORS header).
    fn allow(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        if self.any {
            return Some(HeaderValue::from_static("*"));
        }
        let origin = origin?;
        let text = origin.to_str().ok()?.to_ascii_lowercase();
        self.origins.contains(&text).then(|| origin.clone())
    }

    pub fn enabled(&self) -> bool {
        self.any || !self.origins.is_empty()
    }
}

/// The headers every answer of the UI carries: it may not be framed by another page (clickjacking of the start
/// form) nor have its types sniffed; `Access-Control-Allow-Origin` only for `--web-cors-origins`; every cookie set
/// gets `SameSite=Lax` unless it names its own, and `Secure` under TLS.
pub fn finish(response: &mut Response, request: &HeaderMap, cors: &Cors, tls: bool) {
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.append(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if cors.enabled() {
        if let Some(allow) = cors.allow(request.get(header::ORIGIN)) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
            if let Some(method) = request.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
                h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method.clone());
            }
            if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
            }
        }
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    let cookies: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
    if !cookies.is_empty() {
        h.remove(header::SET_COOKIE);
        for cookie in cookies {
            h.append(header::SET_COOKIE, cookie_flags(cookie, tls));
        }
    }
}

/// A `Set-Cookie` value with `SameSite=Lax` when it has no `SameSite`, and `Secure` under TLS when it lacks it.
fn cookie_flags(cookie: HeaderValue, tls: bool) -> HeaderValue {
    let bytes = cookie.as_bytes();
    let has = |attr: &str| {
        bytes.split(|b| *b == b';').skip(1).any(|a| {
            let a = a.trim_ascii();
            let name = a.split(|b| *b == b'=').next().unwrap_or(a);
            name.eq_ignore_ascii_case(attr.as_bytes())
        })
    };
    let mut out = bytes.to_vec();
    if !has("samesite") {
        out.extend_from_slice(b"; SameSite=Lax");
    }
    if tls && !has("secure") {
        out.extend_from_slice(b"; Secure");
    }
    HeaderValue::from_bytes(&out).unwrap_or(cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(extra: &str) -> AllowedHosts {
        AllowedHosts::new("", Some(extra)).unwrap()
    }

    #[test]
    fn default_names_pass_and_a_rebinding_name_does_not() {
        let h = list("");
        for ok in [
            "localhost",
            "localhost:8089",
            "LOCALHOST.",
            "app.localhost:1",
            "127.0.0.1",
            "127.0.0.1:8089",
            "10.1.2.3:80",
            "[::1]",
            "[::1]:8089",
            "[fe80::1]:8089",
            "::1",
            "locust",
            "load-test-webui:8089",
            "master",
            "locust.default.svc",
            "locust.default.svc.cluster.local:8089",
            crate::sys::hostname(),
        ] {
            assert!(h.allows(Some(ok)), "{ok}");
        }
        assert!(h.allows(None));
        for bad in [
            "attacker.example",
            "attacker.example:8089",
            "attacker.example.",
            "127.0.0.1.nip.io",
            "localhost.attacker.example",
            "svc.attacker.example",
            "[::1]x",
            "[::1]:port",
            "host:80:80",
            "a b",
            "",
            "evil.com:8089/x",
        ] {
            assert!(!h.allows(Some(bad)), "{bad}");
        }
    }

    #[test]
    fn the_option_adds_names_suffixes_and_any() {
        let h = list(" ui.example.com , .corp.example,10.0.0.1:8089");
        assert!(h.allows(Some("ui.example.com:443")));
        assert!(h.allows(Some("UI.Example.Com")));
        assert!(h.allows(Some("corp.example")));
        assert!(h.allows(Some("a.b.corp.example")));
        assert!(!h.allows(Some("xcorp.example")));
        assert!(!h.allows(Some("other.example.com")));
        assert!(list("*").allows(Some("attacker.example")));
        let bound = AllowedHosts::new("ui.internal.example", None).unwrap();
        assert!(bound.allows(Some("ui.internal.example:8089")));
        for bad in ["http://x.example", "x.example/path", "a b", "."] {
            let e = AllowedHosts::new("", Some(bad)).unwrap_err();
            assert!(e.contains(ALLOWED_HOSTS_OPTION) && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn a_refused_name_is_logged_once() {
        let h = list("");
        assert!(h.first_refusal("attacker.example"));
        assert!(!h.first_refusal("Attacker.Example"));
        assert!(h.first_refusal("other.example"));
    }

    #[test]
    fn the_refusal_says_how_to_allow_the_name() {
        let r = refused_host("attacker.example:8089");
        assert_eq!(r.status(), axum::http::StatusCode::FORBIDDEN);
    }

    #[test]
    fn failures_throttle_one_address_only() {
        let t = Throttle::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..FREE_FAILURES - 1 {
            t.failed(a, "basic auth");
        }
        assert_eq!(t.wait(a), None);
        t.failed(a, "basic auth");
        assert!(t.wait(a).is_some_and(|w| w <= WINDOW));
        assert_eq!(t.wait(b), None);
        // one IPv6 host's whole /64 counts as one address
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        for i in 0..FREE_FAILURES {
            t.failed(
                format!("2001:db8::{:x}", i + 2).parse().unwrap(),
                "basic auth",
            );
        }
        assert!(t.wait(v6).is_some());
    }

    #[test]
    fn cookies_get_samesite_and_secure_under_tls() {
        let c = |v: &'static str, tls| {
            String::from_utf8(
                cookie_flags(HeaderValue::from_static(v), tls)
                    .as_bytes()
                    .to_vec(),
            )
            .unwrap()
        };
        assert_eq!(
            c("session=a; HttpOnly; Path=/", false),
            "session=a; HttpOnly; Path=/; SameSite=Lax"
        );
        assert_eq!(
            c("session=a; HttpOnly; Path=/", true),
            "session=a; HttpOnly; Path=/; SameSite=Lax; Secure"
        );
        assert_eq!(
            c("a=1; SameSite=None; Secure", true),
            "a=1; SameSite=None; Secure"
        );
        assert_eq!(c("samesite=1", false), "samesite=1; SameSite=Lax");
    }

    #[test]
    fn every_answer_gets_the_frame_headers_and_cors_only_when_asked() {
        let mut req = HeaderMap::new();
        req.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://dash.example.com"),
        );
        let mut r = Response::new(axum::body::Body::empty());
        finish(&mut r, &req, &Cors::default(), false);
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(
            r.headers()[header::CONTENT_SECURITY_POLICY],
            "frame-ancestors 'none'"
        );
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(
            r.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
        let cors = Cors::new(Some("https://dash.example.com/")).unwrap();
        let mut r = Response::new(axum::body::Body::empty());
        finish(&mut r, &req, &cors, false);
        assert_eq!(
            r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://dash.example.com"
        );
        req.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://other.example"),
        );
        let mut r = Response::new(axum::body::Body::empty());
        finish(&mut r, &req, &cors, false);
        assert!(
            r.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
        assert!(Cors::new(Some("dash.example.com")).is_err());
    }
}
