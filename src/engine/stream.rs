//! A streamed body's life after its head (`stream=True` under HttpUser): read off the connection as it arrives,
//! whatever the locustfile does, into the response's [`Feed`], and recorded when it ends.
//!
//! Who calls it: `engine::complete` spawns [`read`] for a call whose outcome has a tail, after recording its
//! request row (at the head, as Locust times it). What it must not do: touch Python, or read past the feed's
//! bound for a locustfile that does not read (the feed's policy, `http::feed`).
//!
//! When the stream ends: cleanly, with the body's end; failed, with the client's error handed to the reader; or
//! abandoned, when the locustfile closed or dropped the response (its user stopped). Its metrics are recorded in
//! each case (`record::Recorder::stream`: what needs the end only for a clean end).
use std::sync::Arc;

use crate::http::{Feed, Tail, Timings};

use super::record::Recorder;

/// Read `tail` into `feed` to its end (or until the reader goes), then record the stream of request `name`
/// (`None`: a failed call, whose stream is not recorded); `prompt`: the request's body, whose input tokens are
/// recorded with the stream's (`--tokenizer`: then its tokens are counted, on the blocking pool).
pub(super) async fn read(
    mut tail: Box<Tail>,
    feed: Arc<Feed>,
    name: Option<String>,
    timings: Timings,
    recorder: Recorder,
    prompt: Option<bytes::Bytes>,
) {
    loop {
        let next = tokio::select! {
            biased;
            () = feed.gone() => break,
            next = tail.next() => next,
        };
        match next {
            Ok(Some(piece)) => {
                if !feed.push(piece).await {
                    break;
                }
            }
            Ok(None) => {
                feed.finish(Ok(()));
                break;
            }
            Err(e) => {
                feed.finish(Err(e));
                break;
            }
        }
    }
    if let (Some(mut marks), Some(name)) = (tail.take_marks(), name) {
        if crate::tokens::wire().is_some() {
            // counting a long answer is milliseconds of CPU: on the blocking pool, not on this reader's worker
            tokio::task::spawn_blocking(move || {
                let input = super::record::count_tokens(&mut marks, prompt.as_deref());
                recorder.stream(&name, &timings, &marks);
                if let Some(n) = input {
                    recorder.input_tokens(&name, n);
                }
            });
        } else {
            recorder.stream(&name, &timings, &marks);
        }
    }
    // (a tail not read through closes its connection here, as requests closes one it did not read to the end)
}
