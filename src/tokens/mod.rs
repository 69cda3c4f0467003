//! Hugging Face tokenizers (a `tokenizer.json`, through the `tokenizers` crate): loaded once per path and shared,
//! counting, encoding and decoding text with no Python involved.
//!
//! Who calls it: `py` (`rlocust.llm.Tokenizer` and the synthetic prompts), and the engine's stream recorder
//! with `--tokenizer` (a stream's content and a request's prompt counted off the Python thread). What it must not
//! do: fetch anything (a path on disk only: no hub downloads, the crate's `http` feature is off), or hold the GIL.
//!
//! Counting is what the Python `tokenizers` package gives for `len(tok.encode(text, add_special_tokens=False).ids)`:
//! the same crate, the same file; no special tokens are added (a prompt's count is the text's, as GuideLLM counts
//! it).
//!
//! `synth` makes the synthetic prompts' texts, of exactly the count asked.
pub mod synth;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

/// One loaded tokenizer.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("path", &self.path)
            .finish()
    }
}

/// The tokenizers loaded so far, by the path they were asked under (a file is read once per process).
static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Tokenizer>>>> = OnceLock::new();

/// The tokenizer in `path`: a `tokenizer.json`, or a directory holding one. An error is one line naming the path.
pub fn load(path: &Path) -> Result<Arc<Tokenizer>, String> {
    let file = if path.is_dir() {
        path.join("tokenizer.json")
    } else {
        path.to_path_buf()
    };
    let loaded = LOADED.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(t) = loaded.lock().get(&file) {
        return Ok(t.clone());
    }
    if !file.is_file() {
        return Err(format!(
            "tokenizer {}: no such file (a Hugging Face tokenizer.json, or a directory holding one)",
            file.display()
        ));
    }
    let inner = tokenizers::Tokenizer::from_file(&file)
        .map_err(|e| format!("tokenizer {}: {}", file.display(), one_line(&e.to_string())))?;
    let t = Arc::new(Tokenizer {
        inner,
        path: file.clone(),
    });
    loaded.lock().insert(file, t.clone());
    Ok(t)
}

/// The tokenizer of `--tokenizer`, set once at startup: the engine counts streams and prompts with it.
static WIRE: OnceLock<Arc<Tokenizer>> = OnceLock::new();

/// Make `t` the tokenizer the engine counts with (`--tokenizer`); a second call keeps the first.
pub fn set_wire(t: Arc<Tokenizer>) {
    let _ = WIRE.set(t);
}

/// The tokenizer the engine counts with, when `--tokenizer` was given.
pub fn wire() -> Option<&'static Arc<Tokenizer>> {
    WIRE.get()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Tokenizer {
    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The token ids of `text` (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        self.inner
            .encode_fast(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| one_line(&e.to_string()))
    }

    /// How many tokens `text` is (no special tokens added).
    pub fn count(&self, text: &str) -> Result<usize, String> {
        self.inner
            .encode_fast(text, false)
            .map(|e| e.len())
            .map_err(|e| one_line(&e.to_string()))
    }

    /// The text of `ids` (special tokens skipped).
    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| one_line(&e.to_string()))
    }

    /// The size of the vocabulary, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The text of one token id, as the vocabulary spells it.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte_level() -> Arc<Tokenizer> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/llm/tokenizers/byte-level");
        load(&p).expect("the test tokenizer loads")
    }

    #[test]
    fn a_directory_or_its_file_loads_once() {
        let a = byte_level();
        let b = load(a.path()).unwrap();
        assert_eq!(a.path(), b.path());
        assert!(a.vocab_size() >= 1024);
    }

    #[test]
    fn counting_is_encoding_and_byte_level_round_trips() {
        let t = byte_level();
        let text = "Streams are timed at the wire. Ünïcödé 漢字";
        let ids = t.encode(text).unwrap();
        assert_eq!(ids.len(), t.count(text).unwrap());
        assert!(ids.len() > 5);
        assert_eq!(t.decode(&ids).unwrap(), text);
        assert_eq!(t.count("").unwrap(), 0);
    }

    #[test]
    fn a_missing_or_broken_file_is_one_line_naming_it() {
        let e = load(Path::new("/nonexistent/tok.json")).unwrap_err();
        assert!(
            e.contains("/nonexistent/tok.json") && !e.contains('\n'),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("rlocust-tok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("tokenizer.json");
        std::fs::write(&f, "{not json").unwrap();
        let e = load(&dir).unwrap_err();
        assert!(e.starts_with("tokenizer ") && !e.contains('\n'), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
