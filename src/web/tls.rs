//! HTTPS for the web UI (`--tls-cert` and `--tls-key`, PEM files): the rustls server configuration. The handshakes
//! run in `web::serve`, each in its connection's own task, bounded in time (`serve::HANDSHAKE_TIMEOUT`) and counted
//! against the connection cap (`serve::MAX_CONNECTIONS`), so a slow or plain-HTTP client never holds up the others;
//! a failed handshake is one DEBUG line (Locust logs a traceback).
//!
//! Who calls it: `web::start`. Plain Rust; never touches Python.
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The server configuration from a certificate chain and a private key in PEM files; `Err` is one line.
pub fn server_config(cert: &str, key: &str) -> Result<Arc<rustls::ServerConfig>, String> {
    let read =
        |path: &str| std::fs::read(path).map_err(|e| format!("rlocust: cannot read {path}: {e}"));
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("rlocust: --tls-cert {cert}: not a PEM certificate ({e:?})"))?;
    if chain.is_empty() {
        return Err(format!(
            "rlocust: --tls-cert {cert}: no certificate in the file"
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("rlocust: --tls-key {key}: not a PEM private key ({e:?})"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("rlocust: TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("rlocust: --tls-cert/--tls-key: {e}"))?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
