//! The tokio half of a request's life: the requests the hub sent, batched, run on the tokio runtime, recorded in
//! the statistics and handed back to the hub as completions on the [`Bridge`].
//!
//! Called by `py` (the `Session.send` and `flush` adapters, on the hub thread) and by the tests here, which need
//! no Python interpreter. Plain Rust: nothing here touches Python or takes the GIL, and nothing here blocks the
//! hub thread (a queued job is only moved into a vector; the I/O runs on tokio workers).
//!
//! A request's life, in order:
//! 1. [`Submitter::queue`] (hub thread) gives the job its ticket and puts it in the pending batch. When the job
//!    opens a new batch, the caller arranges one [`Submitter::flush`] before the hub next waits for I/O.
//! 2. [`Submitter::flush`] (hub thread) hands every pending job to the runtime at once: the batch goes to the
//!    submitter's dispatcher task, which starts each call on a driver (`drive`: long-lived tasks woken with their
//!    next call, so a call makes no task of its own; issue 54).
//! 3. On a tokio worker the call runs to its end ([`UserClient::execute`], inside its driver); a panic in it
//!    becomes an [`HttpError::Internal`] failure, so the user parked on the ticket is always resumed.
//! 4. The default failure rule is applied and the call is recorded ([`record::Recorder::call`]: its timings
//!    become the request row, lateness and OpenTelemetry), unless the caller records it itself
//!    (`recorded == false`: `catch_response=True`) or its error escapes into the task instead of failing
//!    (Locust's sessions only turn their client's connection errors into failures).
//! 5. The completion is pushed onto the bridge with its ticket; the hub resumes the parked user with it.
//! 6. A `stream=True` body goes on being read after that, into the response's feed (`stream`), and a watched
//!    body's metrics are recorded when it ends (`record::Recorder::stream`).
use crate::bridge::Bridge;
use crate::http::{self, CallMeta, Completed, HttpError, Outcome, RequestSpec, Route, UserClient};
use crate::stats::RequestStats;
use cookie_store::CookieStore;
use futures_util::FutureExt;
use parking_lot::Mutex;
use record::Recorder;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// How often a thread that allocates for requests asks mimalloc to give back what it freed.
const COLLECT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Give freed memory back, at most every `COLLECT_EVERY` per thread; called by the I/O threads as they park
/// and by the hub as it drains. mimalloc keeps a thread's emptied pages, and what it freed, until that thread
/// next frees in the same place after the delay: under bursts (a spawn step of 1,000 users starting at once) the
/// Rust heap swung between 14 and 37 MB at 10,000 users, and the peak is what a user's RSS is judged by. Collected
/// every 100 ms, a user's peak RSS went from 14.6-15.6 KB to 14.2-14.7 at no measurable CPU (issue 29,
/// docs/performance.md); returning everything at once instead (`MIMALLOC_PURGE_DELAY=0`) cost 8% more CPU per
/// request.
pub fn return_freed_memory() {
    use std::cell::Cell;
    use std::time::Instant;
    thread_local! {
        static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
    }
    let now = Instant::now();
    LAST.with(|last| match last.get() {
        Some(at) if now.duration_since(at) < COLLECT_EVERY => {}
        _ => {
            last.set(Some(now));
            crate::sys::allocator_collect();
        }
    });
}

/// One request as the hub sent it: what to run, for which user, and how to report it.
pub struct Job {
    /// The user's connections and the certificate rule (from `spec.verify`).
    pub route: Route,
    /// The user's cookie jar (read for the request, updated from the responses).
    pub jar: Arc<Mutex<CookieStore>>,
    pub spec: RequestSpec,
    pub meta: CallMeta,
}

impl Job {
    /// A job that runs `spec` with `client`'s connections and cookies.
    pub fn new(client: &UserClient, spec: RequestSpec, meta: CallMeta) -> Job {
        Job {
            route: client.route(spec.verify),
            jar: client.jar.clone(),
            spec,
            meta,
        }
    }
}

/// A job accepted by [`Submitter::queue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// The ticket its completion carries on the bridge.
    pub ticket: u64,
    /// Whether it opened a new batch: the caller must see that [`Submitter::flush`] runs soon (the hub schedules
    /// it before it next polls).
    pub opens_batch: bool,
}

/// Accepts the hub's requests and runs them on tokio in batches. One per process, shared by every user.
///
/// NOTE: handing each request to tokio on its own woke an I/O thread once per request (a futex wake and two
/// context switches); the hub submits all the requests its users sent in one pass of its loop together.
pub struct Submitter {
    /// Jobs queued since the last flush, each with its ticket (boxed once here: a job, 616 bytes, went on to be
    /// moved four times on its way to its driver).
    pending: Mutex<Vec<(u64, Box<Job>)>>,
    /// Where a flush hands them to the runtime (`drive`).
    dispatch: Arc<drive::Dispatch>,
    bridge: Arc<Bridge>,
}

impl Submitter {
    pub fn new(
        http: Arc<http::Engine>,
        stats: Arc<RequestStats>,
        bridge: Arc<Bridge>,
    ) -> Submitter {
        Submitter {
            pending: Mutex::new(Vec::new()),
            dispatch: drive::Dispatch::new(&http.handle, Recorder::new(stats), bridge.clone()),
            bridge,
        }
    }

    /// Queue `job` for the next [`Submitter::flush`] and give it its ticket (unique among the bridge's tickets
    /// and command ids).
    pub fn queue(&self, job: Job) -> Queued {
        let ticket = self.bridge.next_ticket();
        let mut pending = self.pending.lock();
        pending.push((ticket, Box::new(job)));
        Queued {
            ticket,
            opens_batch: pending.len() == 1,
        }
    }

    /// Hand every queued job to the runtime (one wake-up of the dispatcher task, which starts each on a driver:
    /// `drive`); returns how many there were.
    pub fn flush(&self) -> usize {
        let mut pending = self.pending.lock();
        let n = pending.len();
        if n == 0 {
            return 0;
        }
        crate::stats::in_flight::sent(n as u64);
        self.dispatch.hand(&mut pending);
        n
    }
}

impl Drop for Submitter {
    fn drop(&mut self) {
        self.dispatch.close();
    }
}

/// A job's execution (`UserClient::execute`), whose panic is caught ([`outcome_of`]). A driver (`drive`) awaits
/// it in its own state, call after call.
fn execute(
    route: Route,
    jar: Arc<Mutex<CookieStore>>,
    spec: RequestSpec,
    flavor: http::Flavor,
) -> impl Future<Output = std::thread::Result<Outcome>> + Send {
    AssertUnwindSafe(UserClient::execute(route, jar, spec, flavor)).catch_unwind()
}

/// What an execution ended with: its outcome, or for a panic in the engine a failure, so that the user parked on
/// the call is resumed all the same.
fn outcome_of(ended: std::thread::Result<Outcome>) -> Outcome {
    ended.unwrap_or_else(|panic| Outcome {
        response: None,
        history: Vec::new(),
        error: Some(HttpError::Internal(panic_text(&*panic))),
        timings: http::Timings::start_now(),
        tail: None,
        marks: None,
    })
}

/// Record the call of `meta` that ended with `outcome` and push its completion for `ticket` onto the bridge (a
/// streamed body goes on being read by a task of its own, `stream`).
fn complete(
    ticket: u64,
    mut outcome: Outcome,
    meta: CallMeta,
    recorder: &Recorder,
    bridge: &Bridge,
) {
    let failure = http::default_failure(&outcome, &meta);
    // an exception the client raises out of the call is no request in Locust's stats
    let escapes = http::escaping_error(&outcome, &meta).is_some();
    let row = meta.recorded && !escapes && !bridge.take_abandoned(ticket);
    let response_time_ms = recorder.call(&meta, &outcome, failure.as_deref(), row);
    // a body watched as it arrived (`http::events`) is recorded when it ends: a streamed one by its reader,
    // which goes on after the call returns; a failed call's is not (its stream metrics would measure errors)
    let feed = match outcome.tail.take() {
        Some(tail) => Some(read_on(tail, &outcome, &meta, failure.is_none(), recorder)),
        None => {
            if failure.is_none() {
                record_body(&mut outcome, &meta, recorder);
            }
            None
        }
    };
    bridge.complete(
        ticket,
        Box::new(Completed {
            outcome,
            meta,
            response_time_ms,
            failure,
            feed,
        }),
    );
}

/// Start reading a streamed body (`stream`) into the feed the response will read from; its stream is recorded
/// when it ends, if the call `succeeded`.
fn read_on(
    tail: Box<http::Tail>,
    outcome: &Outcome,
    meta: &CallMeta,
    succeeded: bool,
    recorder: &Recorder,
) -> Arc<http::Feed> {
    let feed = Arc::new(http::Feed::new());
    let name = succeeded.then(|| meta.name.clone());
    // (the prompt, for its input tokens, only when `--tokenizer` counts them)
    let prompt = crate::tokens::wire().and(meta.request_body.clone());
    tokio::spawn(stream::read(
        tail,
        feed.clone(),
        name,
        outcome.timings,
        recorder.clone(),
        prompt,
    ));
    feed
}

/// What a successful call's whole body adds to the records: a watched body's stream metrics, or a JSON answer's
/// token counts (with `--tokenizer`, counted on tokio's blocking pool while the completion goes on).
fn record_body(outcome: &mut Outcome, meta: &CallMeta, recorder: &Recorder) {
    let counting = crate::tokens::wire().is_some();
    if let Some(mut marks) = outcome.marks.take() {
        if counting {
            let (name, timings) = (meta.name.clone(), outcome.timings);
            let body = meta.request_body.clone();
            let recorder = recorder.clone();
            tokio::task::spawn_blocking(move || {
                let input = record::count_tokens(&mut marks, body.as_deref());
                recorder.stream(&name, &timings, &marks);
                if let Some(n) = input {
                    recorder.input_tokens(&name, n);
                }
            });
        } else {
            recorder.stream(&meta.name, &outcome.timings, &marks);
        }
        return;
    }
    let head = outcome
        .response
        .as_ref()
        .map(|r| (http::header(&r.headers, "content-type"), &r.body[..]));
    if let Some((ct, answer)) = head
        && let Some(tokens) = http::events::body_output_tokens(ct, answer)
    {
        // a whole JSON answer's usage (a completion asked for without streaming)
        recorder.output_tokens(&meta.name, tokens);
    }
    if counting {
        // the answer's own figure, else the prompt counted (on the blocking pool)
        let reported = head.and_then(|(ct, answer)| http::events::body_input_tokens(ct, answer));
        let (name, body) = (meta.name.clone(), meta.request_body.clone());
        let recorder = recorder.clone();
        tokio::task::spawn_blocking(move || {
            let n = reported.or_else(|| record::prompt_tokens(body.as_deref()?));
            if let Some(n) = n {
                recorder.input_tokens(&name, n);
            }
        });
    }
}

/// The message of a caught panic.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

mod drive;
pub mod record;
mod stream;
pub mod timers;

#[cfg(test)]
mod tests;
