//! Property tests of HttpUser's reader: on mutated real responses and random bytes, no panic, the progress
//! contract `drive` checks, and the same outcome whether the input comes whole, cut at random points or byte by
//! byte.
//!
//! Who calls it: `cargo test` only (`mod props` in `tests.rs`).
//!
//! What it must not do: be used by non-test code, or keep failing cases on disk (`failure_persistence: None`).
use super::*;
use proptest::prelude::*;

fn seeds() -> Vec<Vec<u8>> {
    let compress = |gzip: bool, data: &[u8]| -> Vec<u8> {
        if gzip {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut e, data).unwrap();
            e.finish().unwrap()
        } else {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut e, data).unwrap();
            e.finish().unwrap()
        }
    };
    let coded = |coding: &str, body: Vec<u8>| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        [head.into_bytes(), body].concat()
    };
    let text = b"a longer body that compresses well, ".repeat(40);
    vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello".to_vec(),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n".to_vec(),
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        b"HTTP/1.0 200 OK\r\nX-A: 1\r\n folded\r\nConnection: keep-alive\r\n\r\nclose-delimited body".to_vec(),
        b"HTTP/1.1 204 No Content\r\nContent-Length: 3, 3\r\n\r\n".to_vec(),
        coded("gzip", compress(true, &text)),
        coded("deflate", compress(false, &text)),
        coded("gzip, deflate", compress(false, &compress(true, b"layered"))),
        [
            &b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"20\r\n",
            &compress(true, &text)[..32],
            b"\r\n",
        ]
        .concat(),
    ]
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let alphabet = prop::sample::select(b"\r\n :;,-+0159aAfFxX\t\x00\x7f\xff".to_vec());
    let edit = (0u8..4, any::<prop::sample::Index>(), alphabet);
    (
        prop::sample::select(seeds()),
        prop::collection::vec(edit, 0..4),
    )
        .prop_map(|(mut s, edits)| {
            for (op, at, c) in edits {
                if s.is_empty() {
                    break;
                }
                let i = at.index(s.len());
                match op {
                    0 => s[i] = c,
                    1 => {
                        s.remove(i);
                    }
                    2 => s.insert(i, c),
                    _ => s.truncate(i),
                }
            }
            s
        })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        mutated(),
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| [
            &b"HTTP/1.1 200 OK\r\n"[..],
            &b[..]
        ]
        .concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_input_any_split(raw in input(), head in any::<bool>(), picks in prop::collection::vec(any::<prop::sample::Index>(), 0..12)) {
        let method = if head { "HEAD" } else { "GET" };
        let all = drive(ctx(method), &raw, &[]);
        let mut cut: Vec<usize> = picks.iter().map(|p| p.index(raw.len() + 1)).collect();
        cut.sort_unstable();
        let split = drive(ctx(method), &raw, &cut);
        prop_assert!(all.same(&split), "whole: {:?}\nsplit at {:?}: {:?}", all, cut, split);
        let bytewise: Vec<usize> = (1..raw.len()).collect();
        let one = drive(ctx(method), &raw, &bytewise);
        prop_assert!(all.same(&one), "whole: {:?}\nbytewise: {:?}", all, one);
    }
}
