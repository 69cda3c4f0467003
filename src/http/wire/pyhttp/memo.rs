//! The last response head this thread parsed, kept with what parsing it gave, so a head that comes again byte for
//! byte is not parsed again: an nginx (or any server's) response to the same request is the same bytes for a whole
//! second, until its `Date` changes.
//!
//! Parsing a head the way http.client, the email package and urllib3 do (`head`) was the largest user-space item
//! of the I/O thread (12 % of its user time on the AMD machine of docs/performance.md); comparing 150 bytes is a
//! small part of that.
//!
//! Why it is exact: what the reader makes of a head is a function of its bytes and of whether the request was a
//! HEAD, when the reader starts at a status line with nothing scanned and not at the end of input. Only a head
//! parsed that way, without a `100 Continue` before it, whole in the buffer and ended by the first `\r\n\r\n` in it
//! is kept; and only a buffer that starts with those same bytes, read by a reader in the same state, takes it.
//! The decoder is made anew each time (it has state); everything else is cloned.
//!
//! Who calls it: `PyReader::run` (the `Status` phase looks up and starts recording, the end of the head stores).
//!
//! What it must not do: keep more than one head per thread, or anything but the reader's own results.
use super::Head;
use super::body::Framing;
use super::pyint::PyInt;
use std::cell::RefCell;

/// A head and what the reader decided from it, but the decoder.
struct Memo {
    bytes: Vec<u8>,
    is_head: bool,
    head: Head,
    u3_chunked: bool,
    hc_left: Option<u64>,
    u3_len: Option<PyInt>,
    will_close: bool,
    informational: bool,
    encoding: String,
}

thread_local! {
    static LAST: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// The head at the front of `buf` when it is the one kept: its length, the head and its framing (whose decoder is
/// still to be made: `None`). Otherwise None.
pub(super) fn lookup(buf: &[u8], is_head: bool) -> Option<(usize, Head, Framing)> {
    LAST.with_borrow(|last| {
        let m = last.as_ref()?;
        (m.is_head == is_head && buf.starts_with(&m.bytes)).then(|| {
            (
                m.bytes.len(),
                m.head.clone(),
                Framing {
                    u3_chunked: m.u3_chunked,
                    hc_left: m.hc_left,
                    u3_len: m.u3_len.clone(),
                    will_close: m.will_close,
                    informational: m.informational,
                    encoding: m.encoding.clone(),
                    decoder: None,
                },
            )
        })
    })
}

/// The bytes of the head at the front of `buf` worth recording (up to and with the first `\r\n\r\n`), when the
/// whole head is there.
pub(super) fn candidate(buf: &[u8]) -> Option<Vec<u8>> {
    let end = memchr::memmem::find(buf, b"\r\n\r\n")? + 4;
    Some(buf[..end].to_vec())
}

/// Keep `bytes` (exactly the head the reader just parsed) with what it made of them.
pub(super) fn store(bytes: Vec<u8>, is_head: bool, head: &Head, fr: &Framing) {
    let memo = Memo {
        bytes,
        is_head,
        head: head.clone(),
        u3_chunked: fr.u3_chunked,
        hc_left: fr.hc_left,
        u3_len: fr.u3_len.clone(),
        will_close: fr.will_close,
        informational: fr.informational,
        encoding: fr.encoding.clone(),
    };
    LAST.with_borrow_mut(|last| *last = Some(memo));
}
