//! HTTPS for the web UI (`--tls-cert` and `--tls-key`, PEM files): a rustls server configuration and an axum
//! listener whose connections are TLS streams. Handshakes run in their own tasks (bounded in time), so a slow or
//! plain-HTTP client never holds up the others; a failed handshake is one DEBUG line (Locust logs a traceback).
//!
//! Who calls it: `web::start`. Plain Rust on tokio; never touches Python.
use crate::log;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish its handshake.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Connections being handshaken at once (more wait in the kernel's backlog).
const MAX_HANDSHAKES: usize = 256;

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

/// An axum listener yielding TLS streams.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<tokio::net::TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accept on `tcp` and handshake with `config` (must be called inside the runtime).
    pub fn new(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let (stream, addr) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => log::log(
                            log::Level::Debug,
                            "locust.web",
                            &format!(
                                "TLS handshake with {addr} failed: {e} (an http:// request to the https:// web UI?)"
                            ),
                        ),
                        Err(_) => log::log(
                            log::Level::Debug,
                            "locust.web",
                            &format!("TLS handshake with {addr} timed out"),
                        ),
                    }
                });
            }
        });
        Ok(TlsListener { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(conn) = self.rx.recv().await {
                return conn;
            }
            // the accept task ended (the runtime is shutting down): wait for the end
            std::future::pending::<()>().await;
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
