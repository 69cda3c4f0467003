//! The master secret: workers that prove who they are (opt-in; off, the master speaks Locust's protocol as Locust
//! does and any peer may join). With a secret set on both sides, each new connection to the master runs a
//! challenge-response over the ordinary message channel before anything else it sends is read:
//!
//! 1. master → peer: `rlocust_auth {"challenge": 32 random bytes}`, as soon as the ZMTP handshake is done;
//! 2. worker → master: `rlocust_auth {"nonce": 32 random bytes, "proof": HMAC(secret, WORKER | challenge | nonce |
//!    identity)}`;
//! 3. master → worker: `rlocust_auth {"proof": HMAC(secret, MASTER | challenge | nonce | identity)}`, or
//!    `{"error": ...}` and the connection is closed.
//!
//! The secret never crosses the wire; a recorded exchange cannot be replayed (the master's challenge is new for
//! every connection, the worker's nonce for every attempt), and the proof binds the peer's ZeroMQ identity, so an
//! authenticated connection's identity is the one the secret holder chose. The worker checks the master's proof
//! too: a worker holding a secret talks only to a master holding the same one. Nothing is encrypted: whoever can
//! read the traffic reads the messages (the options of each `spawn`, the stats).
//!
//! Who calls it: [`super::router`] (the master's side, per connection), [`super::transport`] (the worker's, in
//! `WorkerSocket::connect`), `app` (loading the secret). It holds no state and does no I/O but reading the
//! secret's file and `/dev/urandom`.
use crate::msgpack::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The message type of the exchange (a locustfile's own types never start with `rlocust_` in practice).
pub const KIND: &str = "rlocust_auth";
/// The environment variable holding the secret itself (not an option: a command line is readable by every local
/// user in `/proc/<pid>/cmdline`, an environment is not).
pub const ENV: &str = "RLOCUST_MASTER_SECRET";
const NONCE_LEN: usize = 32;
const WORKER_LABEL: &[u8] = b"rlocust master secret v1: worker";
const MASTER_LABEL: &[u8] = b"rlocust master secret v1: master";

/// A shared secret (its bytes are never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A secret from its text (surrounding white space, such as a file's last newline, is not part of it).
    pub fn new(text: &str) -> Result<Secret, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("the master secret is empty".into());
        }
        Ok(Secret(t.as_bytes().to_vec()))
    }

    /// A fresh random secret (`--processes` gives one to its own children).
    pub fn random() -> std::io::Result<Secret> {
        Ok(Secret(hex::encode(nonce()?).into_bytes()))
    }

    /// The text to hand a child process in [`ENV`].
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

/// The secret this process runs with: `--master-secret-file PATH` (the file's contents) or `RLOCUST_MASTER_SECRET`;
/// `None` when neither is set. Both set, an unreadable or empty file: the line to exit with.
pub fn load(file: Option<&str>, env: Option<String>) -> Result<Option<Secret>, String> {
    match (file, env) {
        (Some(_), Some(_)) => Err(format!(
            "rlocust: --master-secret-file and {ENV} are both set: set only one of them"
        )),
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("rlocust: cannot read --master-secret-file {path}: {e}"))?;
            Secret::new(&text)
                .map(Some)
                .map_err(|e| format!("rlocust: --master-secret-file {path}: {e}"))
        }
        (None, Some(text)) => Secret::new(&text)
            .map(Some)
            .map_err(|e| format!("rlocust: {ENV}: {e}")),
        (None, None) => Ok(None),
    }
}

/// The secret this process runs with, once `app` has read it (or made one for `--processes`).
static PROCESS: OnceLock<Option<Arc<Secret>>> = OnceLock::new();
/// Set when `--processes` made the secret: its started (not forked) children get it in [`ENV`].
static GENERATED: OnceLock<Secret> = OnceLock::new();

/// This process's secret from now on (set once, before `--processes` forks, so forked children hold it too).
pub fn set_process_secret(secret: Option<Secret>, generated: bool) {
    if generated && let Some(s) = &secret {
        let _ = GENERATED.set(s.clone());
    }
    let _ = PROCESS.set(secret.map(Arc::new));
}

/// The secret this process proves (as a worker) or asks for (as a master), if any.
pub fn process_secret() -> Option<Arc<Secret>> {
    PROCESS.get().cloned().flatten()
}

/// The secret `--processes` made for its children (to put in a started child's [`ENV`]).
pub fn generated_secret() -> Option<&'static Secret> {
    GENERATED.get()
}

/// 32 bytes from the system's random source.
pub fn nonce() -> std::io::Result<[u8; NONCE_LEN]> {
    use std::io::Read;
    let mut b = [0u8; NONCE_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

/// HMAC-SHA256 (RFC 2104) of `parts` concatenated.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Equal in a time that does not depend on where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn proof(
    secret: &Secret,
    label: &[u8],
    challenge: &[u8],
    nonce: &[u8],
    identity: &[u8],
) -> [u8; 32] {
    // the lengths go in too, so that no two different (challenge, nonce, identity) give the same input
    let lens = [
        challenge.len() as u32,
        nonce.len() as u32,
        identity.len() as u32,
    ];
    let lens: Vec<u8> = lens.iter().flat_map(|n| n.to_be_bytes()).collect();
    hmac_sha256(&secret.0, &[label, &lens, challenge, nonce, identity])
}

/// The master's first message on a new connection: a challenge (keep it to check the answer).
pub fn challenge() -> std::io::Result<([u8; NONCE_LEN], Value)> {
    let c = nonce()?;
    Ok((c, Value::map([("challenge", Value::Bytes(c.to_vec()))])))
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The first message was not an answer to the challenge (a Locust worker, an rlocust worker without secret).
    NoAnswer(String),
    /// An answer with a wrong proof (another secret).
    WrongSecret,
    /// An answer without its fields.
    Malformed,
}

fn bytes_of<'a>(data: &'a Value, key: &str) -> Option<&'a [u8]> {
    match data.get(key) {
        Some(Value::Bytes(b)) => Some(b),
        _ => None,
    }
}

/// The master checks a peer's first message (`kind`, `data`) against its `challenge` and the connection's
/// `identity`: the reply to send when it proves the secret.
pub fn check_answer(
    secret: &Secret,
    challenge: &[u8],
    identity: &[u8],
    kind: &str,
    data: &Value,
) -> Result<Value, Refusal> {
    if kind != KIND {
        return Err(Refusal::NoAnswer(kind.to_owned()));
    }
    let (Some(nonce), Some(given)) = (bytes_of(data, "nonce"), bytes_of(data, "proof")) else {
        return Err(Refusal::Malformed);
    };
    if nonce.len() != NONCE_LEN {
        return Err(Refusal::Malformed);
    }
    let expected = proof(secret, WORKER_LABEL, challenge, nonce, identity);
    if !same(&expected, given) {
        return Err(Refusal::WrongSecret);
    }
    let reply = proof(secret, MASTER_LABEL, challenge, nonce, identity);
    Ok(Value::map([("proof", Value::Bytes(reply.to_vec()))]))
}

/// The worker's answer to a challenge message's `data`: the message data to send, and what the master's reply
/// must then prove. `Err`: the line to stop with.
pub fn answer(secret: &Secret, identity: &[u8], data: &Value) -> Result<(Value, [u8; 32]), String> {
    let Some(challenge) = bytes_of(data, "challenge") else {
        return Err("the master's authentication request is malformed".into());
    };
    let nonce = nonce().map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    let mine = proof(secret, WORKER_LABEL, challenge, &nonce, identity);
    let expect = proof(secret, MASTER_LABEL, challenge, &nonce, identity);
    Ok((
        Value::map([
            ("nonce", Value::Bytes(nonce.to_vec())),
            ("proof", Value::Bytes(mine.to_vec())),
        ]),
        expect,
    ))
}

/// The worker checks the master's reply: `Ok` when it proves the same secret.
pub fn check_reply(expect: &[u8; 32], data: &Value) -> Result<(), String> {
    if let Some(e) = data.get("error").and_then(Value::as_str) {
        return Err(e.to_owned());
    }
    match bytes_of(data, "proof") {
        Some(p) if same(p, expect) => Ok(()),
        _ => Err("the master did not prove the same master secret".into()),
    }
}

/// What a worker without a secret says when a master asks for one.
pub fn none_here(host: &str, port: u16) -> String {
    format!(
        "The master at {host}:{port} requires workers to prove the master secret: set {ENV} or --master-secret-file on this worker to the master's secret"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test cases 1 and 6 (a key longer than the block)
        let mac = hmac_sha256(&[0x0b; 20], &[b"Hi There"]);
        assert_eq!(
            hex::encode(mac),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        let mac = hmac_sha256(
            &[0xaa; 131],
            &[
                b"Test Using Larger Than Block-Size Key - ",
                b"Hash Key First",
            ],
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    fn exchange(worker: &Secret, master: &Secret, id_w: &[u8], id_m: &[u8]) -> Result<(), String> {
        let (c, msg) = challenge().unwrap();
        let (ans, expect) = answer(worker, id_w, &msg)?;
        let reply = check_answer(master, &c, id_m, KIND, &ans).map_err(|r| format!("{r:?}"))?;
        check_reply(&expect, &reply)
    }

    #[test]
    fn the_same_secret_passes_both_ways() {
        let s = Secret::new("s3cret\n").unwrap();
        assert!(exchange(&s, &s, b"host_1", b"host_1").is_ok());
        assert_eq!(s, Secret::new("s3cret").unwrap());
        assert_eq!(format!("{s:?}"), "Secret(..)");
    }

    #[test]
    fn another_secret_or_identity_is_refused() {
        let a = Secret::new("a").unwrap();
        let b = Secret::new("b").unwrap();
        assert_eq!(exchange(&a, &b, b"w", b"w").unwrap_err(), "WrongSecret");
        // a proof made for one identity does not hold for another
        assert_eq!(exchange(&a, &a, b"w", b"x").unwrap_err(), "WrongSecret");
    }

    #[test]
    fn a_recorded_answer_does_not_pass_a_new_challenge() {
        let s = Secret::new("s").unwrap();
        let (_, first) = challenge().unwrap();
        let (recorded, _) = answer(&s, b"w", &first).unwrap();
        let (c2, _) = challenge().unwrap();
        assert_eq!(
            check_answer(&s, &c2, b"w", KIND, &recorded),
            Err(Refusal::WrongSecret)
        );
    }

    #[test]
    fn other_first_messages_are_refused() {
        let s = Secret::new("s").unwrap();
        let (c, _) = challenge().unwrap();
        assert_eq!(
            check_answer(&s, &c, b"w", "client_ready", &Value::str("2.47.0")),
            Err(Refusal::NoAnswer("client_ready".into()))
        );
        assert_eq!(
            check_answer(&s, &c, b"w", KIND, &Value::Nil),
            Err(Refusal::Malformed)
        );
        // a master that answers without the proof (or with an error) is not trusted
        let (_, msg) = challenge().unwrap();
        let (_, expect) = answer(&s, b"w", &msg).unwrap();
        assert!(check_reply(&expect, &Value::map([("proof", Value::Bytes(vec![0; 32]))])).is_err());
        assert_eq!(
            check_reply(&expect, &Value::map([("error", Value::str("refused"))])).unwrap_err(),
            "refused"
        );
    }

    #[test]
    fn loading() {
        assert_eq!(load(None, None), Ok(None));
        assert!(load(None, Some("  ".into())).is_err());
        assert!(load(Some("/nonexistent/secret"), None).is_err());
        assert!(
            load(Some("/x"), Some("y".into()))
                .unwrap_err()
                .contains("only one")
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "abc\n").unwrap();
        assert_eq!(
            load(Some(p.to_str().unwrap()), None),
            Ok(Some(Secret::new("abc").unwrap()))
        );
    }
}
