//! `_rlocust.Tokenizer`: a Hugging Face tokenizer for Python (`rlocust.llm.Tokenizer`, and the exact-count texts
//! `rlocust.llm.synthetic` builds its prompts from), a thin adapter over `tokens`.
//!
//! Who calls it: `python/rlocust/llm.py`. What it must not do: hold the GIL through long work (texts beyond a few
//! KiB are counted, encoded and made with the GIL released, so other Python threads run meanwhile), or keep state
//! of its own (the tokenizer is the one `tokens::load` shares per path).
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::prelude::*;

use crate::tokens;

/// Texts at least this long are worked on with the GIL released (shorter ones cost less than the release).
const DETACH_BYTES: usize = 2048;

/// One loaded tokenizer.
#[pyclass(name = "Tokenizer", module = "rlocust", frozen)]
pub struct PyTokenizer {
    inner: Arc<tokens::Tokenizer>,
}

fn value_error(e: String) -> PyErr {
    PyValueError::new_err(e)
}

#[pymethods]
impl PyTokenizer {
    /// The tokenizer in `path`: a `tokenizer.json`, or a directory holding one. FileNotFoundError when it is not
    /// there, ValueError when it does not load; both one line naming the path.
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        let file = if path.is_dir() {
            path.join("tokenizer.json")
        } else {
            path.clone()
        };
        match tokens::load(&path) {
            Ok(inner) => Ok(Self { inner }),
            Err(e) if !file.is_file() => Err(PyFileNotFoundError::new_err(e)),
            Err(e) => Err(value_error(e)),
        }
    }

    /// The file it was read from.
    #[getter]
    fn path(&self) -> String {
        self.inner.path().display().to_string()
    }

    /// The size of the vocabulary, added tokens included.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    /// How many tokens `text` is (no special tokens added).
    fn count(&self, py: Python<'_>, text: &str) -> PyResult<usize> {
        let t = &self.inner;
        if text.len() >= DETACH_BYTES {
            py.detach(|| t.count(text))
        } else {
            t.count(text)
        }
        .map_err(value_error)
    }

    /// The token ids of `text` (no special tokens added).
    fn encode(&self, py: Python<'_>, text: &str) -> PyResult<Vec<u32>> {
        let t = &self.inner;
        if text.len() >= DETACH_BYTES {
            py.detach(|| t.encode(text))
        } else {
            t.encode(text)
        }
        .map_err(value_error)
    }

    /// The text of `ids` (special tokens skipped).
    fn decode(&self, py: Python<'_>, ids: Vec<u32>) -> PyResult<String> {
        let t = &self.inner;
        if ids.len() >= DETACH_BYTES / 4 {
            py.detach(|| t.decode(&ids))
        } else {
            t.decode(&ids)
        }
        .map_err(value_error)
    }

    /// A text of exactly `tokens` tokens made of plain words, the same for the same `seed` (`tokens::synth`).
    fn synthetic_text(&self, py: Python<'_>, tokens: usize, seed: u64) -> PyResult<String> {
        let t = &self.inner;
        if tokens >= DETACH_BYTES / 8 {
            py.detach(|| tokens::synth::exact_text(t, tokens, seed))
        } else {
            tokens::synth::exact_text(t, tokens, seed)
        }
        .map_err(value_error)
    }

    fn __repr__(&self) -> String {
        format!("Tokenizer({:?})", self.inner.path().display().to_string())
    }
}

/// Adds the class to `_rlocust`.
pub fn add_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTokenizer>()
}
