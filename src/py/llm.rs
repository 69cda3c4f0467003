//! `_rlocust.Tokenizer`: a Hugging Face tokenizer for Python (`rlocust.llm.Tokenizer`, and the exact-count texts
//! `rlocust.llm.synthetic` builds its prompts from), a thin adapter over `tokens`.
//!
//! Who calls it: `python/rlocust/llm.py` (`TextPipe`: `synthetic`'s texts made ahead on a thread of their own). What it must not do: hold the GIL through long work (texts beyond a few
//! KiB are counted, encoded and made with the GIL released, so other Python threads run meanwhile), or keep state
//! of its own (the tokenizer is the one `tokens::load` shares per path).
use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use parking_lot::Mutex;

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

/// `work` run with the GIL released when it is `long`, else with it held; its error a ValueError.
fn off_gil<T: Send>(
    py: Python<'_>,
    long: bool,
    work: impl FnOnce() -> Result<T, String> + Send,
) -> PyResult<T> {
    if long { py.detach(work) } else { work() }.map_err(value_error)
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
        off_gil(py, text.len() >= DETACH_BYTES, || self.inner.count(text))
    }

    /// The token ids of `text` (no special tokens added).
    fn encode(&self, py: Python<'_>, text: &str) -> PyResult<Vec<u32>> {
        off_gil(py, text.len() >= DETACH_BYTES, || self.inner.encode(text))
    }

    /// The text of `ids` (special tokens skipped).
    fn decode(&self, py: Python<'_>, ids: Vec<u32>) -> PyResult<String> {
        off_gil(py, ids.len() >= DETACH_BYTES / 4, || {
            self.inner.decode(&ids)
        })
    }

    /// A text of exactly `tokens` tokens made of plain words, the same for the same `seed` (`tokens::synth`).
    fn synthetic_text(&self, py: Python<'_>, tokens: usize, seed: u64) -> PyResult<String> {
        off_gil(py, tokens >= DETACH_BYTES / 8, || {
            tokens::synth::exact_text(&self.inner, tokens, seed)
        })
    }

    fn __repr__(&self) -> String {
        format!("Tokenizer({:?})", self.inner.path().display().to_string())
    }
}

/// Texts of exact counts made ahead on a thread of their own, handed out in the order they were asked for:
/// `rlocust.llm.synthetic` asks a few items ahead, so `next()` on the Python thread usually only takes a finished
/// text. The thread ends when the pipe is dropped.
#[pyclass(module = "rlocust", frozen)]
pub struct TextPipe {
    ask: Mutex<Option<mpsc::Sender<(usize, u64)>>>,
    made: Mutex<mpsc::Receiver<Result<String, String>>>,
}

#[pymethods]
impl TextPipe {
    #[new]
    fn new(tokenizer: &PyTokenizer) -> PyResult<Self> {
        let (ask, asked) = mpsc::channel::<(usize, u64)>();
        let (done, made) = mpsc::channel();
        let tok = tokenizer.inner.clone();
        std::thread::Builder::new()
            .name("rlocust-prompts".into())
            .spawn(move || {
                while let Ok((n, seed)) = asked.recv() {
                    if done.send(tokens::synth::exact_text(&tok, n, seed)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| PyValueError::new_err(format!("cannot start the prompt thread: {e}")))?;
        Ok(Self {
            ask: Mutex::new(Some(ask)),
            made: Mutex::new(made),
        })
    }

    /// Ask for a text of exactly `tokens` tokens from `seed` (`Tokenizer.synthetic_text`'s), made in the background.
    fn ask(&self, tokens: usize, seed: u64) -> PyResult<()> {
        let closed = || PyValueError::new_err("the prompt thread has ended");
        self.ask
            .lock()
            .as_ref()
            .ok_or_else(closed)?
            .send((tokens, seed))
            .map_err(|_| closed())
    }

    /// The next text asked for, in order (waiting for it with the GIL released when it is not made yet).
    fn take(&self, py: Python<'_>) -> PyResult<String> {
        let ready = self.made.lock().try_recv();
        let got = match ready {
            Ok(r) => Ok(r),
            Err(mpsc::TryRecvError::Empty) => py.detach(|| self.made.lock().recv()),
            Err(mpsc::TryRecvError::Disconnected) => Err(mpsc::RecvError),
        };
        got.map_err(|_| PyValueError::new_err("nothing was asked of the prompt thread"))?
            .map_err(value_error)
    }

    /// Stop the thread (texts asked for and not taken are dropped).
    fn close(&self) {
        self.ask.lock().take();
    }
}

/// Adds the classes to `_rlocust`.
pub fn add_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTokenizer>()?;
    m.add_class::<TextPipe>()
}
