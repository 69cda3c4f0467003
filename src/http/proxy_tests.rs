//! Proxy URLs as requests takes them, and the requests exceptions of a proxy that fails.
use super::*;

#[test]
fn proxy_urls_as_requests_takes_them() {
    let p = Proxy::parse("http://127.0.0.1:3128").unwrap();
    assert_eq!(
        (p.host.as_str(), p.port, p.authorization),
        ("127.0.0.1", 3128, None)
    );
    // no scheme: http; no port: 80
    let p = Proxy::parse("proxy.local").unwrap();
    assert_eq!((p.host.as_str(), p.port), ("proxy.local", 80));
    // credentials, percent-decoded, become Basic
    let p = Proxy::parse("http://us%40er:p%3Ass@h:1").unwrap();
    assert_eq!(p.authorization.as_deref(), Some("Basic dXNAZXI6cDpzcw=="));
    assert_eq!(
        Proxy::parse("socks5://h:1").unwrap_err(),
        (
            "requests.exceptions.InvalidSchema",
            "Missing dependencies for SOCKS support.".to_string()
        )
    );
    assert_eq!(
        Proxy::parse("https://h:1").unwrap_err().0,
        "requests.exceptions.InvalidSchema"
    );
    // no host: requests' adapter refuses it with InvalidProxyURL
    assert_eq!(
        Proxy::parse("http://").unwrap_err(),
        (
            "requests.exceptions.InvalidProxyURL",
            "Please check proxy URL. It is malformed and could be missing the host.".to_string()
        )
    );
}

#[test]
fn proxy_failures_read_as_requests_raises_them() {
    let http_url = Url::parse("http://127.0.0.1:8089/hello").unwrap();
    let e = HttpError::ProxyConnect {
        cause: Box::new(HttpError::ConnectionRefused),
        host: "127.0.0.1".into(),
        port: 1,
    };
    let x = e.exception(Flavor::Requests, &http_url);
    assert_eq!(x.class, "requests.exceptions.ProxyError");
    // (Python's repr: single quotes, the inner ones escaped, as the text holds both kinds)
    assert_eq!(
        x.repr(),
        "ProxyError(MaxRetryError('HTTPConnectionPool(host=\\'127.0.0.1\\', port=1): Max retries exceeded with url: \
         http://127.0.0.1:8089/hello (Caused by ProxyError(\\'Unable to connect to proxy\\', NewConnectionError(\"\
         HTTPConnection(host=\\'127.0.0.1\\', port=1): Failed to establish a new connection: [Errno 111] Connection \
         refused\")))'))"
    );
    // Locust reports the root: the refused connect
    assert_eq!(
        e.repr(Flavor::Requests, &http_url),
        "ConnectionRefusedError(111, 'Connection refused')"
    );
    let https_url = Url::parse("https://127.0.0.1:8443/ok").unwrap();
    let t = HttpError::ProxyTunnel {
        status: 407,
        reason: "Proxy Authentication Required".into(),
    };
    assert_eq!(
        t.repr(Flavor::Requests, &https_url),
        "OSError('Tunnel connection failed: 407 Proxy Authentication Required')"
    );
    assert!(t.exception(Flavor::Requests, &https_url).repr().starts_with(
        "ProxyError(MaxRetryError(\"HTTPSConnectionPool(host='127.0.0.1', port=8443): Max retries exceeded with \
         url: /ok (Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 407"
    ));
}
