//! Placeholder: being written (see wire/mod.rs for the contract).
use super::exc::PyExc;
use super::{Context, Reader, Step};
use bytes::BytesMut;

pub struct LlReader {
    #[allow(dead_code)]
    ctx: Context,
}

impl LlReader {
    pub fn new(ctx: Context) -> Self {
        LlReader { ctx }
    }
}

impl Reader for LlReader {
    fn feed(&mut self, _buf: &mut BytesMut) -> Result<Step, PyExc> {
        Err(PyExc::new("builtins.NotImplementedError", vec![]))
    }
    fn eof(&mut self, _buf: &mut BytesMut) -> Result<Step, PyExc> {
        Err(PyExc::new("builtins.NotImplementedError", vec![]))
    }
    fn io_error(&self, _error: &std::io::Error) -> PyExc {
        PyExc::new("builtins.NotImplementedError", vec![])
    }
    fn timeout(&self) -> PyExc {
        PyExc::new("builtins.NotImplementedError", vec![])
    }
}
