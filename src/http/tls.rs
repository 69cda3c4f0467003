//! TLS for the engine: the client configurations shared by all users, and what a TLS failure looks like to the
//! locustfile.
//!
//! The engine speaks TLS with rustls; Locust's clients speak it through Python's `ssl` module (OpenSSL), whose
//! failure texts are in failure rows and dashboards: `[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake
//! failure (_ssl.c:1006)`. Where the failure has an OpenSSL equivalent (an alert from the server, a certificate
//! that does not verify) the text is OpenSSL's, with the `(_ssl.c:NNNN)` suffix of the Python that runs the
//! locustfile (set at start by the shim); otherwise rustls's own text is shown.
//!
//! Who calls it: `http` (builds the configurations) and `conn` (classifies handshake and record errors). Runs on
//! tokio threads; never touches Python.
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, OnceLock};
use tokio_rustls::TlsConnector;

/// The TLS client configurations shared by all users: the two defaults, and those made for the CA bundles and
/// client certificates locustfiles give (`verify="ca.pem"`, `cert=`), each made once.
pub struct Tls {
    pub verifying: TlsConnector,
    pub insecure: TlsConnector,
    custom: parking_lot::Mutex<HashMap<TlsProfile, TlsConnector>>,
}

/// A TLS setup other than the defaults (requests' `verify=<path>` and `cert=`): files are read when a connection
/// first needs the profile, then kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsProfile {
    /// Verify the server's certificate (against `ca_bundle` when set, else the Mozilla roots).
    pub verify: bool,
    /// A PEM file of CA certificates (or a directory of them).
    pub ca_bundle: Option<String>,
    /// The client certificate chain (PEM), and its key when it is in another file.
    pub cert: Option<String>,
    pub key: Option<String>,
    /// What Python's `ssl` raised loading these files (errno, text), as urllib3 loads them into its context: the
    /// shim loads them once with the interpreter's OpenSSL, so a file OpenSSL refuses fails with OpenSSL's own
    /// error, as it does under Locust.
    pub load_error: Option<(i32, String)>,
}

impl Tls {
    /// The two default connectors given (tests).
    #[cfg(test)]
    pub fn with_connectors(verifying: TlsConnector, insecure: TlsConnector) -> Tls {
        Tls {
            verifying,
            insecure,
            custom: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    /// The connector for `profile` (None: one of the defaults by `verify`); Err: the failure a connection with
    /// it reports (an unreadable bundle or certificate: OpenSSL's texts for them).
    pub fn connector(
        &self,
        profile: Option<&TlsProfile>,
        verify: bool,
    ) -> Result<TlsConnector, TlsFailure> {
        let Some(p) = profile else {
            return Ok(if verify {
                self.verifying.clone()
            } else {
                self.insecure.clone()
            });
        };
        if let Some(c) = self.custom.lock().get(p) {
            return Ok(c.clone());
        }
        let made = TlsConnector::from(Arc::new(client_config(p)?));
        self.custom.lock().insert(p.clone(), made.clone());
        Ok(made)
    }
}

fn pem_failure(reason: &str, text: &str) -> TlsFailure {
    TlsFailure {
        text: openssl(reason, text),
        openssl: true,
        verify: false,
        errno: 1,
    }
}

/// The client certificate of a profile, sent whatever the server asks for (as OpenSSL sends the one it was given).
#[derive(Debug)]
struct OneClientCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for OneClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The CA certificates of a PEM file, or of every file in a directory.
fn read_roots(path: &str) -> Result<rustls::RootCertStore, TlsFailure> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut files = Vec::new();
    let p = std::path::Path::new(path);
    if p.is_dir() {
        if let Ok(dir) = std::fs::read_dir(p) {
            files.extend(dir.flatten().map(|e| e.path()).filter(|f| f.is_file()));
        }
    } else {
        files.push(p.to_path_buf());
    }
    let mut roots = rustls::RootCertStore::empty();
    for f in files {
        let Ok(iter) = CertificateDer::pem_file_iter(&f) else {
            continue;
        };
        for cert in iter.flatten() {
            let _ = roots.add(cert);
        }
    }
    if roots.is_empty() {
        return Err(pem_failure(
            "X509: NO_CERTIFICATE_OR_CRL_FOUND",
            "no certificate or crl found",
        ));
    }
    Ok(roots)
}

fn client_config(p: &TlsProfile) -> Result<rustls::ClientConfig, TlsFailure> {
    if let Some((errno, text)) = &p.load_error {
        return Err(TlsFailure {
            text: text.clone(),
            openssl: true,
            verify: false,
            errno: *errno,
        });
    }
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let general = |e: rustls::Error| TlsFailure {
        text: e.to_string(),
        openssl: false,
        verify: false,
        errno: 1,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(general)?;
    let builder = if p.verify {
        let roots = match &p.ca_bundle {
            Some(path) => read_roots(path)?,
            None => {
                let mut r = rustls::RootCertStore::empty();
                r.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                r
            }
        };
        let v = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| general(rustls::Error::General(e.to_string())))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier(v)))
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAll(provider.clone())))
    };
    match &p.cert {
        None => Ok(builder.with_no_client_auth()),
        Some(cert_path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
                .map(|it| it.flatten().collect())
                .unwrap_or_default();
            if certs.is_empty() {
                return Err(pem_failure("", "PEM lib"));
            }
            let key = PrivateKeyDer::from_pem_file(p.key.as_deref().unwrap_or(cert_path))
                .map_err(|_| pem_failure("", "PEM lib"))?;
            let signing = provider
                .key_provider
                .load_private_key(key)
                .map_err(general)?;
            // NOTE: not `with_client_auth_cert`: it parses the certificate with webpki to compare keys, which refuses
            // X.509 v1 certificates (what `openssl x509 -req` makes without extensions) that OpenSSL sends; the
            // shim's load with Python's ssl has already checked that the key matches, as OpenSSL does
            let certified = Arc::new(rustls::sign::CertifiedKey::new(certs, signing));
            Ok(builder.with_client_cert_resolver(Arc::new(OneClientCert(certified))))
        }
    }
}

/// A TLS failure as the locustfile's client reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFailure {
    /// OpenSSL's text (`[SSL: REASON] reason text (_ssl.c:1006)`) or, without an equivalent, rustls's.
    pub text: String,
    /// Whether the text is OpenSSL's (then the exception is `ssl.SSLError(1, text)`, else `SSLError(text)`).
    pub openssl: bool,
    /// A certificate that does not verify (`ssl.SSLCertVerificationError`).
    pub verify: bool,
    /// The `errno` of the `ssl.SSLError` (1 for a handshake's; OpenSSL's library code for a file that does not
    /// load, e.g. 136 for a CA bundle without certificates).
    pub errno: i32,
}

static SUFFIX: OnceLock<String> = OnceLock::new();

/// The `(_ssl.c:NNNN)` that the running Python's `ssl` module appends to OpenSSL errors (the shim measures it).
pub fn set_ssl_suffix(suffix: String) {
    let _ = SUFFIX.set(suffix);
}

fn suffix() -> &'static str {
    SUFFIX.get().map(String::as_str).unwrap_or("(_ssl.c:1006)")
}

fn openssl(reason: &str, text: &str) -> String {
    if reason.is_empty() {
        format!("[SSL] {text} {}", suffix())
    } else {
        format!("[SSL: {reason}] {text} {}", suffix())
    }
}

/// OpenSSL's (reason, text) for a received alert, as measured with Python 3.11's ssl on OpenSSL 3.
fn alert_reason(a: rustls::AlertDescription) -> (&'static str, &'static str) {
    use rustls::AlertDescription as A;
    match a {
        A::UnexpectedMessage => (
            "SSLV3_ALERT_UNEXPECTED_MESSAGE",
            "sslv3 alert unexpected message",
        ),
        A::BadRecordMac => ("SSLV3_ALERT_BAD_RECORD_MAC", "sslv3 alert bad record mac"),
        A::DecryptionFailed => (
            "TLSV1_ALERT_DECRYPTION_FAILED",
            "tlsv1 alert decryption failed",
        ),
        A::RecordOverflow => ("TLSV1_ALERT_RECORD_OVERFLOW", "tlsv1 alert record overflow"),
        A::DecompressionFailure => (
            "SSLV3_ALERT_DECOMPRESSION_FAILURE",
            "sslv3 alert decompression failure",
        ),
        A::HandshakeFailure => (
            "SSLV3_ALERT_HANDSHAKE_FAILURE",
            "sslv3 alert handshake failure",
        ),
        A::NoCertificate => ("SSLV3_ALERT_NO_CERTIFICATE", "sslv3 alert no certificate"),
        A::BadCertificate => ("SSLV3_ALERT_BAD_CERTIFICATE", "sslv3 alert bad certificate"),
        A::UnsupportedCertificate => (
            "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
            "sslv3 alert unsupported certificate",
        ),
        A::CertificateRevoked => (
            "SSLV3_ALERT_CERTIFICATE_REVOKED",
            "sslv3 alert certificate revoked",
        ),
        A::CertificateExpired => (
            "SSLV3_ALERT_CERTIFICATE_EXPIRED",
            "sslv3 alert certificate expired",
        ),
        A::CertificateUnknown => (
            "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
            "sslv3 alert certificate unknown",
        ),
        A::IllegalParameter => (
            "SSLV3_ALERT_ILLEGAL_PARAMETER",
            "sslv3 alert illegal parameter",
        ),
        A::UnknownCA => ("TLSV1_ALERT_UNKNOWN_CA", "tlsv1 alert unknown ca"),
        A::AccessDenied => ("TLSV1_ALERT_ACCESS_DENIED", "tlsv1 alert access denied"),
        A::DecodeError => ("TLSV1_ALERT_DECODE_ERROR", "tlsv1 alert decode error"),
        A::DecryptError => ("TLSV1_ALERT_DECRYPT_ERROR", "tlsv1 alert decrypt error"),
        A::ExportRestriction => (
            "TLSV1_ALERT_EXPORT_RESTRICTION",
            "tlsv1 alert export restriction",
        ),
        A::ProtocolVersion => (
            "TLSV1_ALERT_PROTOCOL_VERSION",
            "tlsv1 alert protocol version",
        ),
        A::InsufficientSecurity => (
            "TLSV1_ALERT_INSUFFICIENT_SECURITY",
            "tlsv1 alert insufficient security",
        ),
        A::InternalError => ("TLSV1_ALERT_INTERNAL_ERROR", "tlsv1 alert internal error"),
        A::InappropriateFallback => (
            "TLSV1_ALERT_INAPPROPRIATE_FALLBACK",
            "tlsv1 alert inappropriate fallback",
        ),
        A::UserCanceled => ("TLSV1_ALERT_USER_CANCELLED", "tlsv1 alert user cancelled"),
        A::NoRenegotiation => (
            "TLSV1_ALERT_NO_RENEGOTIATION",
            "tlsv1 alert no renegotiation",
        ),
        A::MissingExtension => (
            "TLSV13_ALERT_MISSING_EXTENSION",
            "tlsv13 alert missing extension",
        ),
        A::UnsupportedExtension => ("TLSV1_UNSUPPORTED_EXTENSION", "tlsv1 unsupported extension"),
        A::CertificateUnobtainable => (
            "TLSV1_CERTIFICATE_UNOBTAINABLE",
            "tlsv1 certificate unobtainable",
        ),
        A::UnrecognisedName => ("TLSV1_UNRECOGNIZED_NAME", "tlsv1 unrecognized name"),
        A::BadCertificateStatusResponse => (
            "TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE",
            "tlsv1 bad certificate status response",
        ),
        A::BadCertificateHashValue => (
            "TLSV1_BAD_CERTIFICATE_HASH_VALUE",
            "tlsv1 bad certificate hash value",
        ),
        A::UnknownPSKIdentity => ("", "tlsv1 alert unknown psk identity"),
        A::CertificateRequired => (
            "TLSV13_ALERT_CERTIFICATE_REQUIRED",
            "tlsv13 alert certificate required",
        ),
        A::NoApplicationProtocol => ("", "tlsv1 alert no application protocol"),
        _ => ("", "unknown error"),
    }
}

/// The failure a TLS error (from the handshake or a record) shows.
pub fn failure(e: &io::Error) -> TlsFailure {
    let rustls_err = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let verify = |why: &str| TlsFailure {
        text: openssl(
            "CERTIFICATE_VERIFY_FAILED",
            &format!("certificate verify failed: {why}"),
        ),
        openssl: true,
        verify: true,
        errno: 1,
    };
    match rustls_err {
        Some(rustls::Error::AlertReceived(a)) => {
            let (reason, text) = alert_reason(*a);
            TlsFailure {
                text: openssl(reason, text),
                openssl: true,
                verify: false,
                errno: 1,
            }
        }
        Some(rustls::Error::InvalidCertificate(c)) => {
            use rustls::CertificateError as C;
            // NOTE: OpenSSL builds the chain first, so an untrusted self-signed certificate is reported as such
            // whatever else is wrong with it (webpki may first see e.g. a CA certificate used as end entity).
            if SELF_SIGNED.with(|s| s.get()) {
                return verify("self-signed certificate");
            }
            match c {
                C::UnknownIssuer => verify("unable to get local issuer certificate"),
                C::Expired | C::ExpiredContext { .. } => verify("certificate has expired"),
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    verify("certificate is not yet valid")
                }
                C::NotValidForNameContext { expected, .. } => match expected {
                    rustls::pki_types::ServerName::IpAddress(ip) => verify(&format!(
                        "IP address mismatch, certificate is not valid for '{}'.",
                        std::net::IpAddr::from(*ip)
                    )),
                    other => verify(&format!(
                        "Hostname mismatch, certificate is not valid for '{}'.",
                        other.to_str()
                    )),
                },
                C::NotValidForName => {
                    verify("Hostname mismatch, certificate is not valid for the requested host.")
                }
                other => TlsFailure {
                    text: format!("invalid peer certificate: {other:?}"),
                    openssl: false,
                    verify: true,
                    errno: 1,
                },
            }
        }
        Some(other) => TlsFailure {
            text: other.to_string(),
            openssl: false,
            verify: false,
            errno: 1,
        },
        None => TlsFailure {
            text: e.to_string(),
            openssl: false,
            verify: false,
            errno: 1,
        },
    }
}

thread_local! {
    /// Whether the last certificate this thread's verifier refused was self-signed (set by [`Verifier`] just
    /// before rustls returns the error on the same thread).
    static SELF_SIGNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a DER certificate's issuer and subject names are the same bytes (a self-issued certificate).
fn self_issued(der: &[u8]) -> bool {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, signature, issuer, validity,
    // subject, ... }, ... }
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = b.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }
    let parse = || -> Option<bool> {
        let (_, cert, _) = tlv(der)?;
        let (_, tbs, _) = tlv(cert)?;
        let mut rest = tbs;
        let (tag, _, r) = tlv(rest)?;
        if tag == 0xa0 {
            rest = r; // explicit version
        }
        let (_, _, r) = tlv(rest)?; // serial
        let (_, _, r) = tlv(r)?; // signature algorithm
        let (_, issuer, r) = tlv(r)?;
        let (_, _, r) = tlv(r)?; // validity
        let (_, subject, _) = tlv(r)?;
        Some(issuer == subject)
    };
    parse().unwrap_or(false)
}

/// The verifying client's certificate check: webpki's, noting on this thread whether a certificate it refused
/// for an unknown issuer was self-signed (OpenSSL says "self-signed certificate" then).
#[derive(Debug)]
struct Verifier(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let r = self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        if let Err(rustls::Error::InvalidCertificate(_)) = &r {
            SELF_SIGNED.with(|s| s.set(intermediates.is_empty() && self_issued(end_entity)));
        }
        r
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// FastHttpUser's default and `verify=False`: any certificate, signatures still checked.
#[derive(Debug)]
struct AcceptAll(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAll {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl Default for Tls {
    /// The two configurations: verifying against the Mozilla roots (webpki-roots), and accepting any certificate.
    fn default() -> Tls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build();
        let verifying_cfg = match webpki {
            Ok(v) => rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map(|b| {
                    b.dangerous()
                        .with_custom_certificate_verifier(Arc::new(Verifier(v)))
                        .with_no_client_auth()
                }),
            Err(e) => Err(rustls::Error::General(e.to_string())),
        };
        let insecure_cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(Arc::new(AcceptAll(provider.clone())))
                    .with_no_client_auth()
            });
        let build = |cfg: Result<rustls::ClientConfig, rustls::Error>| {
            let cfg = cfg.unwrap_or_else(|_| {
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_protocol_versions(&[&rustls::version::TLS12])
                .expect("TLS 1.2 is always supported by ring")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
            });
            TlsConnector::from(Arc::new(cfg))
        };
        Tls {
            verifying: build(verifying_cfg),
            insecure: build(insecure_cfg),
            custom: parking_lot::Mutex::new(HashMap::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_read_as_openssl_prints_them() {
        let e = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
        );
        let f = failure(&e);
        assert_eq!(
            f.text,
            "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)"
        );
        assert!(f.openssl && !f.verify);
    }

    #[test]
    fn self_issued_certificates_are_recognised() {
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        assert!(self_issued(ck.cert.der()));
        assert!(!self_issued(b"\x30\x03\x02\x01\x01"));
        assert!(!self_issued(b""));
    }
}
