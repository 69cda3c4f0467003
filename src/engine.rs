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
//! 2. [`Submitter::flush`] (hub thread) hands every pending job to the runtime at once: a batch as one task that
//!    spawns its calls from a tokio worker (issue 43), a lone job as its own task.
//! 3. On a tokio worker the call runs to its end ([`UserClient::execute`]); a panic in it becomes an
//!    [`HttpError::Internal`] failure, so the user parked on the ticket is always resumed.
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
use std::pin::Pin;
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
    http: Arc<http::Engine>,
    recorder: Recorder,
    bridge: Arc<Bridge>,
    /// Jobs queued since the last flush, each with its ticket.
    pending: Mutex<Vec<(u64, Job)>>,
}

impl Submitter {
    pub fn new(
        http: Arc<http::Engine>,
        stats: Arc<RequestStats>,
        bridge: Arc<Bridge>,
    ) -> Submitter {
        Submitter {
            http,
            recorder: Recorder::new(stats),
            bridge,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Queue `job` for the next [`Submitter::flush`] and give it its ticket (unique among the bridge's tickets
    /// and command ids).
    pub fn queue(&self, job: Job) -> Queued {
        let ticket = self.bridge.next_ticket();
        let mut pending = self.pending.lock();
        pending.push((ticket, job));
        Queued {
            ticket,
            opens_batch: pending.len() == 1,
        }
    }

    /// Spawn every queued job on the runtime; returns how many there were.
    pub fn flush(&self) -> usize {
        let batch = std::mem::take(&mut *self.pending.lock());
        let n = batch.len();
        crate::stats::in_flight::sent(n as u64);
        if n <= 1 {
            for (ticket, job) in batch {
                self.http.handle.spawn(run(
                    ticket,
                    job,
                    self.recorder.clone(),
                    self.bridge.clone(),
                ));
            }
            return n;
        }
        // A batch crosses to the runtime as one task, which spawns its calls there: a spawn from a worker goes on
        // that worker's own queue, where one from the hub thread took the runtime's shared queue and its lock for
        // each call, and the calls' tasks are made on the thread that runs them.
        let (recorder, bridge) = (self.recorder.clone(), self.bridge.clone());
        self.http.handle.spawn(async move {
            for (ticket, job) in batch {
                tokio::spawn(run(ticket, job, recorder.clone(), bridge.clone()));
            }
        });
        n
    }
}

/// Run one job to its end and hand its completion to the hub (on a tokio worker).
///
/// NOTE: what tokio spawns is kept small, as it is moved into the task's cell when it is spawned (on the hub
/// thread) and its slot is rewritten when the task ends. As `async fn`s passing the job and the execution down,
/// it was 6,456 bytes: an `async fn` keeps each argument twice (as passed, and as the local it is moved to), and
/// the execution's state (2,656 bytes) was held twice more, as `complete`'s argument and as the future it
/// awaited; the `memmove`s of those copies were 4% of the process's CPU (`perf record` of `bench/breakdown.py`).
/// Now the execution is boxed and `complete` is a block that holds what it captures once.
fn run(
    ticket: u64,
    job: Job,
    recorder: Recorder,
    bridge: Arc<Bridge>,
) -> impl Future<Output = ()> + Send {
    let Job {
        route,
        jar,
        spec,
        meta,
    } = job;
    let flavor = meta.flavor;
    let execution: Pin<Box<dyn Future<Output = Outcome> + Send>> =
        Box::pin(UserClient::execute(route, jar, spec, flavor));
    complete(ticket, meta, execution, recorder, bridge)
}

/// Await `execution` (the call of `meta`), record it (`record`), and push its completion for `ticket` onto the
/// bridge.
/// Always pushes exactly one completion, whatever `execution` does short of never ending.
/// (A block rather than an `async fn`, which would keep its arguments twice: see [`run`].)
#[allow(clippy::manual_async_fn)]
fn complete(
    ticket: u64,
    meta: CallMeta,
    execution: impl Future<Output = Outcome> + Send,
    recorder: Recorder,
    bridge: Arc<Bridge>,
) -> impl Future<Output = ()> + Send {
    async move {
        // A panic in the engine must not lose the user parked on this call: it becomes a failure.
        let outcome = match AssertUnwindSafe(execution).catch_unwind().await {
            Ok(o) => o,
            Err(panic) => Outcome {
                response: None,
                history: Vec::new(),
                error: Some(HttpError::Internal(panic_text(&*panic))),
                timings: http::Timings::start_now(),
                tail: None,
                marks: None,
            },
        };
        let failure = http::default_failure(&outcome, &meta);
        // an exception the client raises out of the call is no request in Locust's stats
        let escapes = http::escaping_error(&outcome, &meta).is_some();
        let row = meta.recorded && !escapes && !bridge.take_abandoned(ticket);
        let response_time_ms = recorder.call(&meta, &outcome, failure.as_deref(), row);
        // a body watched as it arrived (`http::events`) is recorded when it ends: a streamed one by its reader,
        // which goes on after the call returns; a failed call's is not (its stream metrics would measure errors)
        let mut outcome = outcome;
        let feed = match outcome.tail.take() {
            Some(tail) => {
                let feed = Arc::new(http::Feed::new());
                let name = if failure.is_none() {
                    Some(meta.name.clone())
                } else {
                    None
                };
                // (the prompt, for its input tokens, only when `--tokenizer` counts them)
                let prompt = crate::tokens::wire().and(meta.request_body.clone());
                tokio::spawn(stream::read(
                    tail,
                    feed.clone(),
                    name,
                    outcome.timings,
                    recorder,
                    prompt,
                ));
                Some(feed)
            }
            None => {
                if failure.is_none() {
                    let counting = crate::tokens::wire().is_some();
                    if let Some(mut marks) = outcome.marks.take() {
                        if counting {
                            // (counting is CPU work: on the blocking pool, the completion goes on meanwhile)
                            let (name, timings) = (meta.name.clone(), outcome.timings);
                            let body = meta.request_body.clone();
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
                    } else {
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
                            let reported = head.and_then(|(ct, answer)| {
                                http::events::body_input_tokens(ct, answer)
                            });
                            let (name, body) = (meta.name.clone(), meta.request_body.clone());
                            tokio::task::spawn_blocking(move || {
                                let n =
                                    reported.or_else(|| record::prompt_tokens(body.as_deref()?));
                                if let Some(n) = n {
                                    recorder.input_tokens(&name, n);
                                }
                            });
                        }
                    }
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

pub mod record;
mod stream;
pub mod timers;

#[cfg(test)]
mod tests;
