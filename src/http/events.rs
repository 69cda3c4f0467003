//! What a streamed body's bytes say as they arrive: `text/event-stream` split into server-sent events,
//! `application/x-ndjson` (and `application/jsonl`) into lines, anything else left as bytes; which events carry
//! content (a token), and the output-token count a stream reports in its `usage`.
//!
//! Who calls it: `conn` feeds a [`Watch`] each decoded piece of a response body with the instant its bytes
//! arrived; the watch's [`Marks`] travel with the call to `engine::record`, which decides what they become
//! (`ttft`, `itl`, `e2e`, `tpot`, `output_tokens`). What it must not do: read sockets, the clock or statistics,
//! or hold more than [`EVENT_CAP`] bytes of one event and [`GAPS_CAP`] gaps, whatever the stream sends.
//!
//! A content event: an event whose data is not `[DONE]` and, when it is a JSON object, carries generated
//! content: OpenAI-style `choices` with a non-empty `delta.content` / `reasoning_content` / `reasoning` /
//! `tool_calls` or `text`; a typed event (`type`) whose type names a delta (`response.output_text.delta`,
//! `content_block_delta`); Ollama's `message.content` or `response`; any other JSON object or non-JSON data.
//! A role-only first chunk or a usage-only last chunk is no content event. Output tokens: the last
//! `usage.completion_tokens` (or `usage.output_tokens`, `response.usage.output_tokens`, Ollama's `eval_count`).
//!
//! With `--tokenizer` ([`collect_text`] on), a watch also keeps the generated text of its content events (at most
//! [`TEXT_CAP`] bytes per response) and the input tokens the stream reports (`usage.prompt_tokens`, `input_tokens`,
//! Ollama's `prompt_eval_count`), so `engine::record` can count a stream that reports no usage. Off, it keeps no
//! text (no cost).
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The longest event (SSE) or line (NDJSON) kept whole for classification; longer ones still count as events,
/// as content, but are not parsed.
pub const EVENT_CAP: usize = 64 << 10;

/// The most gaps between content events kept per response (256 KiB); beyond it gaps are counted, not kept.
pub const GAPS_CAP: usize = 65_536;

/// The most generated text kept per response for counting (`--tokenizer`): 4 MiB; beyond it the text is cut (and
/// [`Marks::text_cut`] set), so its count is the count of its first 4 MiB.
pub const TEXT_CAP: usize = 4 << 20;

/// Whether watches keep their content's text (`--tokenizer` given), read when a watch is made.
static COLLECT_TEXT: AtomicBool = AtomicBool::new(false);

/// Keep (or not) the generated text of every watch made from now on (`--tokenizer`, set once at startup).
pub fn collect_text(on: bool) {
    COLLECT_TEXT.store(on, Ordering::Relaxed);
}

/// How a body is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `text/event-stream`.
    Sse,
    /// `application/x-ndjson`, `application/jsonl`, `application/json-seq`-like line streams.
    Lines,
    /// Anything else: only the first byte and the end matter.
    Bytes,
}

impl Framing {
    /// The framing of a body with this `Content-Type`.
    pub fn of(content_type: Option<&str>) -> Framing {
        let Some(ct) = content_type else {
            return Framing::Bytes;
        };
        let mime = ct.split(';').next().unwrap_or("").trim();
        if mime.eq_ignore_ascii_case("text/event-stream") {
            Framing::Sse
        } else if [
            "application/x-ndjson",
            "application/ndjson",
            "application/jsonl",
            "application/x-jsonlines",
        ]
        .iter()
        .any(|m| mime.eq_ignore_ascii_case(m))
        {
            Framing::Lines
        } else {
            Framing::Bytes
        }
    }

    /// Whether a body of this framing is watched even when the call did not ask to stream it.
    pub fn is_events(self) -> bool {
        self != Framing::Bytes
    }
}

/// What a watched body showed, for `engine::record`.
#[derive(Debug, Clone)]
pub struct Marks {
    pub framing: Framing,
    /// The first content event (for [`Framing::Bytes`], the first body byte).
    pub first: Option<Instant>,
    /// The latest content event.
    pub last: Option<Instant>,
    /// Content events.
    pub events: u64,
    /// The gaps between consecutive content events in µs, at most [`GAPS_CAP`] of them.
    pub gaps_us: Vec<u32>,
    /// Gaps beyond [`GAPS_CAP`], not kept.
    pub gaps_dropped: u64,
    /// The output tokens the stream reported (`usage`).
    pub output_tokens: Option<u64>,
    /// Events longer than [`EVENT_CAP`].
    pub oversized: u64,
    /// When the body ended cleanly; `None` while it is read, or when it failed or was abandoned.
    pub end: Option<Instant>,
    /// The input tokens the stream reported (`usage.prompt_tokens`, `usage.input_tokens`, Ollama's
    /// `prompt_eval_count`).
    pub input_tokens: Option<u64>,
    /// The generated text of the content events, concatenated, when text is collected ([`collect_text`]); at most
    /// [`TEXT_CAP`] bytes (cut at a character boundary).
    pub text: Option<String>,
    /// The text was longer than [`TEXT_CAP`].
    pub text_cut: bool,
}

/// Splits one body as it arrives and keeps its [`Marks`].
#[derive(Debug)]
pub struct Watch {
    marks: Marks,
    /// The current line (bounded by [`EVENT_CAP`]; `long` when it was cut).
    line: Vec<u8>,
    long: bool,
    /// SSE: the data lines of the current event, joined by `\n` (bounded; `data_long` when cut).
    data: Vec<u8>,
    has_data: bool,
    data_long: bool,
    /// SSE: the previous piece ended with `\r` (a `\n` opening the next belongs to it).
    after_cr: bool,
    /// Bytes of the body already seen, when fed by growth ([`Watch::grown`]).
    seen: usize,
}

impl Watch {
    pub fn new(framing: Framing) -> Watch {
        Watch {
            marks: Marks {
                framing,
                first: None,
                last: None,
                events: 0,
                gaps_us: Vec::new(),
                gaps_dropped: 0,
                output_tokens: None,
                oversized: 0,
                end: None,
                input_tokens: None,
                text: COLLECT_TEXT.load(Ordering::Relaxed).then(String::new),
                text_cut: false,
            },
            line: Vec::new(),
            long: false,
            data: Vec::new(),
            has_data: false,
            data_long: false,
            after_cr: false,
            seen: 0,
        }
    }

    /// The next piece of the (content-decoded) body, whose bytes arrived `at`.
    pub fn push(&mut self, piece: &[u8], at: Instant) {
        if piece.is_empty() {
            return;
        }
        match self.marks.framing {
            Framing::Bytes => {
                if self.marks.first.is_none() {
                    self.marks.first = Some(at);
                }
            }
            Framing::Sse | Framing::Lines => self.split(piece, at),
        }
    }

    /// The body as held so far (`body`, which only grows): what is new since the last call is pushed.
    pub fn grown(&mut self, body: &[u8], at: Instant) {
        if body.len() > self.seen {
            let from = self.seen;
            self.seen = body.len();
            self.push(&body[from..], at);
        }
    }

    /// The body ended cleanly at `at`: a last line without its terminator still counts.
    pub fn end(&mut self, at: Instant) {
        match self.marks.framing {
            Framing::Lines if !self.line.is_empty() || self.long => self.end_line(at),
            Framing::Sse => {
                // the spec drops an event not closed by a blank line; servers that end the body right after the
                // last data line mean it as an event
                if !self.line.is_empty() || self.long {
                    self.end_line(at);
                }
                if self.has_data {
                    self.dispatch(at);
                }
            }
            _ => {}
        }
        self.marks.end = Some(at);
    }

    pub fn marks(&self) -> &Marks {
        &self.marks
    }

    pub fn into_marks(self) -> Marks {
        self.marks
    }

    fn split(&mut self, mut piece: &[u8], at: Instant) {
        if self.after_cr {
            self.after_cr = false;
            if piece.first() == Some(&b'\n') {
                piece = &piece[1..];
            }
        }
        let sse = self.marks.framing == Framing::Sse;
        while !piece.is_empty() {
            // SSE ends lines at CR, LF or CRLF; a line stream at LF (a CR before it is stripped)
            let end = if sse {
                piece.iter().position(|&b| b == b'\n' || b == b'\r')
            } else {
                piece.iter().position(|&b| b == b'\n')
            };
            let Some(i) = end else {
                self.keep(piece);
                return;
            };
            self.keep(&piece[..i]);
            let cr = piece[i] == b'\r';
            piece = &piece[i + 1..];
            if cr {
                match piece.first() {
                    Some(b'\n') => piece = &piece[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            self.end_line(at);
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = EVENT_CAP.saturating_sub(self.line.len());
        if bytes.len() > room {
            self.long = true;
        }
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn end_line(&mut self, at: Instant) {
        let mut buf = std::mem::take(&mut self.line);
        let long = std::mem::replace(&mut self.long, false);
        self.line_done(&buf, long, at);
        // (the buffer goes back for the next line, its allocation kept)
        buf.clear();
        self.line = buf;
    }

    fn line_done(&mut self, line: &[u8], long: bool, at: Instant) {
        match self.marks.framing {
            Framing::Sse => {
                if line.is_empty() && !long {
                    if self.has_data {
                        self.dispatch(at);
                    }
                    return;
                }
                if line.first() == Some(&b':') {
                    return; // a comment (keep-alive)
                }
                let (field, value) = match line.iter().position(|&b| b == b':') {
                    Some(i) => {
                        let v = &line[i + 1..];
                        (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
                    }
                    None => (line, &[][..]),
                };
                if field == b"data" {
                    if self.has_data {
                        self.push_data(b"\n");
                    }
                    self.has_data = true;
                    self.push_data(value);
                    if long {
                        self.data_long = true;
                    }
                }
            }
            Framing::Lines => {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) && !long {
                    return;
                }
                self.event(line, long, at);
            }
            Framing::Bytes => {}
        }
    }

    fn push_data(&mut self, bytes: &[u8]) {
        let room = EVENT_CAP.saturating_sub(self.data.len());
        if bytes.len() > room {
            self.data_long = true;
        }
        self.data.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn dispatch(&mut self, at: Instant) {
        let data = std::mem::take(&mut self.data);
        let long = std::mem::replace(&mut self.data_long, false);
        self.has_data = false;
        self.event(&data, long, at);
        let mut data = data;
        data.clear();
        self.data = data;
    }

    /// Keep text with a watch made before [`collect_text`] was set (tests; a watch made elsewhere).
    pub fn keep_text(&mut self) {
        if self.marks.text.is_none() {
            self.marks.text = Some(String::new());
        }
    }

    /// One event (its data) arrived `at`.
    fn event(&mut self, data: &[u8], long: bool, at: Instant) {
        let (content, tokens) = if long {
            self.marks.oversized += 1;
            (true, None)
        } else if self.marks.text.is_some() {
            let e = read_event(data);
            if let Some(n) = e.input_tokens {
                self.marks.input_tokens = Some(n);
            }
            if e.content
                && let Some(t) = &e.text
            {
                self.add_text(t);
            }
            (e.content, e.output_tokens)
        } else {
            classify(data)
        };
        if let Some(t) = tokens {
            self.marks.output_tokens = Some(t);
        }
        if !content {
            return;
        }
        self.marks.events += 1;
        if self.marks.first.is_none() {
            self.marks.first = Some(at);
        }
        if let Some(last) = self.marks.last {
            let gap = at.saturating_duration_since(last).as_micros();
            if self.marks.gaps_us.len() < GAPS_CAP {
                self.marks
                    .gaps_us
                    .push(u32::try_from(gap).unwrap_or(u32::MAX));
            } else {
                self.marks.gaps_dropped += 1;
            }
        }
        self.marks.last = Some(at);
    }
}

impl Watch {
    fn add_text(&mut self, t: &str) {
        let Some(text) = self.marks.text.as_mut() else {
            return;
        };
        let room = TEXT_CAP.saturating_sub(text.len());
        if t.len() <= room {
            text.push_str(t);
            return;
        }
        let mut cut = room;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        text.push_str(&t[..cut]);
        self.marks.text_cut = true;
    }
}

/// What one event says, read whole (text collected).
#[derive(Debug, Default, PartialEq)]
struct Event {
    content: bool,
    output_tokens: Option<u64>,
    input_tokens: Option<u64>,
    /// The generated text it carries (non-JSON data as it is).
    text: Option<String>,
}

/// [`classify`] and the event's generated text and input tokens, from one parse.
fn read_event(data: &[u8]) -> Event {
    let trimmed = data.trim_ascii();
    if trimmed.is_empty() || trimmed == b"[DONE]" {
        return Event::default();
    }
    let as_is = || Event {
        content: true,
        text: Some(String::from_utf8_lossy(data).into_owned()),
        ..Event::default()
    };
    if trimmed.first() != Some(&b'{') {
        return as_is();
    }
    match serde_json::from_slice::<serde_json::Value>(trimmed) {
        Ok(v) => Event {
            content: has_content(&v),
            output_tokens: output_tokens(&v),
            input_tokens: input_tokens(&v),
            text: content_text(&v),
        },
        Err(_) => as_is(),
    }
}

/// The generated text of a JSON event: OpenAI's `choices[].delta.content` / `reasoning_content` / `reasoning` /
/// `text` and `choices[].text` (every choice, in order); a typed delta's `delta` (Responses API) or `delta.text` /
/// `delta.thinking` (Anthropic's `content_block_delta`); Ollama's `message.content` / `response`; TGI's
/// `token.text`. `None` when it carries none.
fn content_text(v: &serde_json::Value) -> Option<String> {
    fn s(x: Option<&serde_json::Value>) -> Option<&str> {
        x.and_then(|x| x.as_str()).filter(|x| !x.is_empty())
    }
    let mut out = String::new();
    if let Some(choices) = v.get("choices").and_then(|c| c.as_array()) {
        for c in choices {
            for part in [c.get("delta"), c.get("message")].into_iter().flatten() {
                for k in ["reasoning_content", "reasoning", "content", "text"] {
                    if let Some(t) = s(part.get(k)) {
                        out.push_str(t);
                    }
                }
            }
            if let Some(t) = s(c.get("text")) {
                out.push_str(t);
            }
        }
    } else if let Some(t) = v.get("type").and_then(|t| t.as_str()) {
        if t.contains("delta") && t != "message_delta" {
            match v.get("delta") {
                Some(serde_json::Value::String(d)) => out.push_str(d),
                Some(d) => {
                    for k in ["text", "thinking"] {
                        if let Some(t) = s(d.get(k)) {
                            out.push_str(t);
                        }
                    }
                }
                None => {}
            }
        }
    } else if let Some(m) = v.get("message").filter(|m| m.is_object()) {
        for k in ["thinking", "content"] {
            if let Some(t) = s(m.get(k)) {
                out.push_str(t);
            }
        }
    } else if let Some(r) = s(v.get("response")) {
        out.push_str(r);
    } else if let Some(t) = s(v.get("token").and_then(|t| t.get("text"))) {
        out.push_str(t);
    }
    (!out.is_empty()).then_some(out)
}

/// The input tokens an event or a whole answer reports: `usage.prompt_tokens` (or `usage.input_tokens`,
/// `response.usage.input_tokens`, Anthropic's `message.usage.input_tokens`), Ollama's `prompt_eval_count`.
fn input_tokens(v: &serde_json::Value) -> Option<u64> {
    let usage = v
        .get("usage")
        .or_else(|| v.get("response").and_then(|r| r.get("usage")))
        .or_else(|| v.get("message").and_then(|r| r.get("usage")))
        .filter(|u| u.is_object());
    if let Some(u) = usage
        && let Some(n) = u
            .get("prompt_tokens")
            .or_else(|| u.get("input_tokens"))
            .and_then(|n| n.as_u64())
    {
        return Some(n);
    }
    v.get("prompt_eval_count").and_then(|n| n.as_u64())
}

/// The input tokens a whole (not streamed) JSON answer reports, found as [`body_output_tokens`] finds its output
/// tokens (its last 1 KiB names them; nothing is parsed otherwise).
pub fn body_input_tokens(content_type: Option<&str>, body: &[u8]) -> Option<u64> {
    let mime = content_type?.split(';').next()?.trim();
    if !mime.eq_ignore_ascii_case("application/json") || body.len() > EVENT_CAP * 16 {
        return None;
    }
    let tail = &body[body.len().saturating_sub(1024)..];
    let mentions = |needle: &[u8]| tail.windows(needle.len()).any(|w| w == needle);
    if !(mentions(b"\"prompt_tokens\"")
        || mentions(b"\"input_tokens\"")
        || mentions(b"\"prompt_eval_count\""))
    {
        return None;
    }
    input_tokens(&serde_json::from_slice(body).ok()?)
}

/// The texts of a request's prompt, when its body is a JSON object with `prompt` (a string or a list of strings)
/// or `messages` (each `content` a string or a list of `{"type": "text", "text": ...}` parts; Anthropic's
/// `system` too), in order; `None` for any other body. (Its tokens are the sum of each text's: no chat template
/// is applied, so a server's count of a chat is higher by its template's tokens.)
pub fn prompt_texts(body: &[u8]) -> Option<Vec<String>> {
    let trimmed = body.trim_ascii();
    if trimmed.first() != Some(&b'{') {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(trimmed).ok()?;
    let mut parts: Vec<&str> = Vec::new();
    fn texts<'a>(c: &'a serde_json::Value, parts: &mut Vec<&'a str>) {
        match c {
            serde_json::Value::String(s) => parts.push(s),
            serde_json::Value::Array(a) => {
                for p in a {
                    match p {
                        serde_json::Value::String(s) => parts.push(s),
                        serde_json::Value::Object(_) => {
                            let typ = p.get("type").and_then(|t| t.as_str());
                            if matches!(typ, None | Some("text" | "input_text"))
                                && let Some(t) = p.get("text").and_then(|t| t.as_str())
                            {
                                parts.push(t);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let mut found = false;
    if let Some(p) = v.get("prompt") {
        found = true;
        texts(p, &mut parts);
    }
    if let Some(s) = v.get("system") {
        texts(s, &mut parts);
    }
    if let Some(ms) = v.get("messages").and_then(|m| m.as_array()) {
        found = true;
        for m in ms {
            if let Some(c) = m.get("content") {
                texts(c, &mut parts);
            }
        }
    }
    found.then(|| parts.into_iter().map(str::to_owned).collect())
}

/// Whether an event's data is content, and the output tokens it reports.
fn classify(data: &[u8]) -> (bool, Option<u64>) {
    let trimmed = data.trim_ascii();
    if trimmed.is_empty() || trimmed == b"[DONE]" {
        return (false, None);
    }
    if trimmed.first() != Some(&b'{') {
        return (true, None);
    }
    match serde_json::from_slice::<serde_json::Value>(trimmed) {
        Ok(v) => (has_content(&v), output_tokens(&v)),
        Err(_) => (true, None),
    }
}

fn nonempty(v: Option<&serde_json::Value>) -> bool {
    match v {
        Some(serde_json::Value::String(s)) => !s.is_empty(),
        Some(serde_json::Value::Array(a)) => !a.is_empty(),
        Some(serde_json::Value::Object(o)) => !o.is_empty(),
        _ => false,
    }
}

fn has_text(v: Option<&serde_json::Value>) -> bool {
    let Some(v) = v else {
        return false;
    };
    [
        "content",
        "reasoning_content",
        "reasoning",
        "tool_calls",
        "text",
        "thinking",
        "function_call",
    ]
    .iter()
    .any(|k| nonempty(v.get(k)))
}

fn has_content(v: &serde_json::Value) -> bool {
    if let Some(choices) = v.get("choices").and_then(|c| c.as_array()) {
        return choices.iter().any(|c| {
            has_text(c.get("delta")) || nonempty(c.get("text")) || has_text(c.get("message"))
        });
    }
    if let Some(t) = v.get("type").and_then(|t| t.as_str()) {
        // (Anthropic's `message_delta` carries the stop reason and usage, no content)
        return t.contains("delta") && t != "message_delta";
    }
    if v.get("message").is_some_and(|m| m.is_object()) {
        return has_text(v.get("message"));
    }
    if let Some(r) = v.get("response").filter(|r| r.is_string()) {
        return nonempty(Some(r));
    }
    if v.get("done").and_then(|d| d.as_bool()) == Some(true) {
        return false;
    }
    true
}

/// The output tokens a whole JSON answer reports (a non-streamed completion's `usage`), when its type is JSON and
/// the end of its body names them (where OpenAI's, vLLM's and Ollama's answers put them); `None` for anything else.
/// Its cost on other JSON bodies is a search of their last 1 KiB: no JSON is parsed for them.
pub fn body_output_tokens(content_type: Option<&str>, body: &[u8]) -> Option<u64> {
    let mime = content_type?.split(';').next()?.trim();
    if !mime.eq_ignore_ascii_case("application/json") || body.len() > EVENT_CAP * 16 {
        return None;
    }
    let tail = &body[body.len().saturating_sub(1024)..];
    let mentions = |needle: &[u8]| tail.windows(needle.len()).any(|w| w == needle);
    if !(mentions(b"\"completion_tokens\"")
        || mentions(b"\"output_tokens\"")
        || mentions(b"\"eval_count\""))
    {
        return None;
    }
    output_tokens(&serde_json::from_slice(body).ok()?)
}

fn output_tokens(v: &serde_json::Value) -> Option<u64> {
    let usage = v
        .get("usage")
        .or_else(|| v.get("response").and_then(|r| r.get("usage")))
        .filter(|u| u.is_object());
    if let Some(u) = usage
        && let Some(n) = u
            .get("completion_tokens")
            .or_else(|| u.get("output_tokens"))
            .and_then(|n| n.as_u64())
    {
        return Some(n);
    }
    v.get("eval_count").and_then(|n| n.as_u64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    const CHAT: &[&str] = &[
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n",
        ": keep-alive\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"!\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n",
        "data: [DONE]\n\n",
    ];

    #[test]
    fn an_openai_chat_stream_gives_its_first_token_its_gaps_and_its_usage() {
        let t0 = Instant::now();
        let mut w = Watch::new(Framing::of(Some("text/event-stream; charset=utf-8")));
        for (i, e) in CHAT.iter().enumerate() {
            w.push(e.as_bytes(), at(t0, 300 + 25 * i as u64));
        }
        w.end(at(t0, 500));
        let m = w.into_marks();
        // the role-only chunk is no token: the first content came with the second event
        assert_eq!(m.first, Some(at(t0, 325)));
        assert_eq!(m.events, 3);
        assert_eq!(m.gaps_us, [25_000, 50_000]);
        assert_eq!(m.output_tokens, Some(3));
        assert_eq!(m.end, Some(at(t0, 500)));
    }

    #[test]
    fn events_split_across_pieces_and_line_endings_count_where_they_end() {
        let t0 = Instant::now();
        let body = "data: {\"choices\":[{\"text\":\"a\"}]}\r\n\r\ndata: {\"choices\":[{\"text\":\"b\"}]}\r\r\
                    data: x\ndata: y\n\n";
        let bytes = body.as_bytes();
        let mut w = Watch::new(Framing::Sse);
        // one byte at a time, each a millisecond later: an event counts when its blank line arrives
        for (i, b) in bytes.iter().enumerate() {
            w.push(std::slice::from_ref(b), at(t0, i as u64));
        }
        let m = w.marks();
        assert_eq!(m.events, 3);
        let first_end = body.find("\r\n\r\n").unwrap() + 2; // the blank line's CR
        assert_eq!(m.first, Some(at(t0, first_end as u64)));
        assert_eq!(m.gaps_us.len(), 2);
    }

    #[test]
    fn ndjson_lines_and_ollama_done_line() {
        let t0 = Instant::now();
        let mut w = Watch::new(Framing::of(Some("application/x-ndjson")));
        w.push(
            b"{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"mess",
            at(t0, 10),
        );
        w.push(
            b"age\":{\"content\":\"b\"},\"done\":false}\r\n\n",
            at(t0, 30),
        );
        w.push(
            b"{\"message\":{\"content\":\"\"},\"done\":true,\"eval_count\":2}",
            at(t0, 40),
        );
        w.end(at(t0, 41));
        let m = w.into_marks();
        assert_eq!(
            (m.events, m.first, m.last),
            (2, Some(at(t0, 10)), Some(at(t0, 30)))
        );
        assert_eq!(m.gaps_us, [20_000]);
        assert_eq!(m.output_tokens, Some(2));
    }

    #[test]
    fn other_bodies_mark_their_first_byte_and_growth_is_seen_once() {
        let t0 = Instant::now();
        let mut w = Watch::new(Framing::of(Some("application/octet-stream")));
        w.grown(b"", at(t0, 1));
        w.grown(b"ab", at(t0, 2));
        w.grown(b"abcd", at(t0, 3));
        w.end(at(t0, 4));
        let m = w.into_marks();
        assert_eq!((m.first, m.events), (Some(at(t0, 2)), 0));
    }

    #[test]
    fn an_oversized_or_malformed_event_is_bounded_and_still_counts() {
        let t0 = Instant::now();
        let mut w = Watch::new(Framing::Sse);
        let big = vec![b'x'; EVENT_CAP * 3];
        w.push(b"data: ", at(t0, 1));
        w.push(&big, at(t0, 2));
        w.push(b"\n\ndata: {not json\n\n", at(t0, 3));
        let m = w.marks();
        assert_eq!((m.events, m.oversized), (2, 1));
        assert!(w.line.capacity() <= EVENT_CAP * 2 && w.data.capacity() <= EVENT_CAP * 2);
    }

    #[test]
    fn a_whole_json_answer_reports_its_usage_and_other_bodies_nothing() {
        let chat = br#"{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":7}}"#;
        assert_eq!(body_output_tokens(Some("application/json"), chat), Some(7));
        assert_eq!(
            body_output_tokens(
                Some("application/json; charset=utf-8"),
                br#"{"usage":{"output_tokens":9}}"#
            ),
            Some(9)
        );
        assert_eq!(body_output_tokens(Some("text/plain"), chat), None);
        assert_eq!(body_output_tokens(None, chat), None);
        assert_eq!(
            body_output_tokens(Some("application/json"), br#"{"items":[1,2]}"#),
            None
        );
        assert_eq!(
            body_output_tokens(Some("application/json"), br#"{"completion_tokens": broken"#),
            None
        );
    }

    #[test]
    fn typed_events_count_their_deltas_and_report_usage() {
        assert_eq!(
            classify(b"{\"type\":\"response.output_text.delta\",\"delta\":\"x\"}"),
            (true, None)
        );
        assert_eq!(
            classify(
                b"{\"type\":\"response.completed\",\"response\":{\"usage\":{\"output_tokens\":9}}}"
            ),
            (false, Some(9))
        );
        assert_eq!(
            classify(b"{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":4}}"),
            (false, Some(4))
        );
        assert_eq!(classify(b"{\"token\":{\"text\":\"x\"}}"), (true, None));
        assert_eq!(classify(b"[DONE]"), (false, None));
    }

    fn text_of(framing: Framing, pieces: &[&str]) -> Marks {
        let t0 = Instant::now();
        let mut w = Watch::new(framing);
        w.keep_text();
        for (i, p) in pieces.iter().enumerate() {
            w.push(p.as_bytes(), at(t0, i as u64));
        }
        w.end(at(t0, 100));
        w.into_marks()
    }

    #[test]
    fn the_text_of_content_events_is_kept_in_order_for_counting() {
        let m = text_of(Framing::Sse, CHAT);
        assert_eq!(m.text.as_deref(), Some("Hello!"));
        assert_eq!((m.input_tokens, m.output_tokens), (Some(5), Some(3)));
        // reasoning first, then content, every choice; a completion's `text`
        let m = text_of(
            Framing::Sse,
            &[
                "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"think \"}}]}\n\n",
                "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}},{\"delta\":{\"content\":\"b\"}}]}\n\n",
                "data: {\"choices\":[{\"text\":\" ünï\"}]}\n\n",
                "data: plain words\n\n",
                "data: [DONE]\n\n",
            ],
        );
        assert_eq!(m.text.as_deref(), Some("think ab ünïplain words"));
        assert_eq!(m.output_tokens, None);
    }

    #[test]
    fn anthropic_responses_and_ollama_texts() {
        let m = text_of(
            Framing::Sse,
            &[
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
                "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n",
                "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n",
            ],
        );
        assert_eq!(m.text.as_deref(), Some("Hi there"));
        assert_eq!((m.input_tokens, m.output_tokens), (Some(12), Some(2)));
        let m = text_of(
            Framing::Sse,
            &[
                "data: {\"type\":\"response.output_text.delta\",\"delta\":\"One\"}\n\n",
                "data: {\"type\":\"response.output_text.delta\",\"delta\":\" two\"}\n\n",
                "data: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}}\n\n",
            ],
        );
        assert_eq!(m.text.as_deref(), Some("One two"));
        assert_eq!(m.input_tokens, Some(3));
        let m = text_of(
            Framing::Lines,
            &[
                "{\"message\":{\"role\":\"assistant\",\"content\":\"x\"},\"done\":false}\n",
                "{\"response\":\"y\",\"done\":false}\n",
                "{\"done\":true,\"prompt_eval_count\":4,\"eval_count\":2}\n",
            ],
        );
        assert_eq!(m.text.as_deref(), Some("xy"));
        assert_eq!((m.input_tokens, m.output_tokens), (Some(4), Some(2)));
    }

    #[test]
    fn text_is_bounded_at_a_character_and_off_unless_asked() {
        let mut w = Watch::new(Framing::Lines);
        assert!(w.marks().text.is_none());
        w.keep_text();
        let t0 = Instant::now();
        // (2-byte characters: the cap falls inside one at some point)
        let line = format!("{}\n", "é".repeat(EVENT_CAP / 2 - 1));
        let mut sent = 0;
        while sent <= TEXT_CAP {
            w.push(line.as_bytes(), t0);
            sent += line.len() - 1;
        }
        let m = w.into_marks();
        let text = m.text.unwrap();
        assert!(m.text_cut && text.len() <= TEXT_CAP && text.len() > TEXT_CAP - 4);
        assert!(text.chars().all(|c| c == 'é'));
    }

    #[test]
    fn a_prompt_is_its_prompt_or_its_messages_texts() {
        assert_eq!(
            prompt_texts(br#"{"model":"m","prompt":"Say hi"}"#),
            Some(vec!["Say hi".to_owned()])
        );
        assert_eq!(
            prompt_texts(br#"{"prompt":["a","b"]}"#),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        let chat = br#"{"messages":[{"role":"system","content":"Be brief."},
            {"role":"user","content":[{"type":"text","text":"Hello"},{"type":"image_url","image_url":{"url":"x"}}]}]}"#;
        assert_eq!(
            prompt_texts(chat),
            Some(vec!["Be brief.".to_owned(), "Hello".to_owned()])
        );
        assert_eq!(prompt_texts(br#"{"input":"x"}"#), None);
        assert_eq!(prompt_texts(b"prompt=x"), None);
        assert_eq!(
            body_input_tokens(
                Some("application/json"),
                br#"{"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":2}}"#
            ),
            Some(8)
        );
        assert_eq!(body_input_tokens(Some("text/plain"), b"{}"), None);
    }
}
