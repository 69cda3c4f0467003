//! A streamed body between the engine, which reads it off the connection as it arrives, and the locustfile,
//! which reads it at its own pace: a bounded queue of pieces with the body's end (or error) behind them.
//!
//! Who calls it: `engine` produces ([`Feed::push`], [`Feed::finish`], [`Feed::gone`]) on a tokio worker; `py`
//! consumes ([`Feed::next`], [`Feed::close`]) on the hub thread. What it must not do: block the hub (a read
//! that finds nothing leaves a waiter to be called when something comes), or hold more than [`FEED_CAP`] bytes
//! for a reader that does not read.
//!
//! The policy when the locustfile reads slower than the body arrives: the pieces wait here, stamped already,
//! up to [`FEED_CAP`] bytes; beyond it the engine stops reading the connection until the locustfile catches up
//! (TCP flow control slows the server down, as it would with requests), so the stamps of what waited in the
//! socket meanwhile are those of its read. When the locustfile drops or closes the response, the engine stops
//! reading and closes the connection, as requests does.
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use tokio::sync::Notify;

use super::HttpError;

/// Unread bytes held per streamed body before the engine stops reading its connection (1 MiB).
pub const FEED_CAP: usize = 1 << 20;

/// What a read of the feed finds.
#[derive(Debug)]
pub enum Next {
    Piece(Bytes),
    /// The body has ended.
    End,
    /// Reading the body failed: what the client raises.
    Failed(HttpError),
}

/// Called once with the next [`Next`], when a read found nothing yet.
pub type Waiter = Box<dyn FnOnce(Next) + Send>;

#[derive(Default)]
struct State {
    pieces: VecDeque<Bytes>,
    held: usize,
    end: Option<Result<(), HttpError>>,
    waiter: Option<Waiter>,
    closed: bool,
}

/// One streamed body's queue. Share as `Arc<Feed>`.
#[derive(Default)]
pub struct Feed {
    state: Mutex<State>,
    /// The reader took something (room for the engine) or went away.
    room: Notify,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("Feed")
            .field("held", &s.held)
            .field("ended", &s.end.is_some())
            .finish()
    }
}

impl Feed {
    pub fn new() -> Feed {
        Feed::default()
    }

    /// Hand over the next piece; waits while [`FEED_CAP`] bytes are unread. False when the reader has gone (the
    /// engine then stops reading).
    pub async fn push(&self, piece: Bytes) -> bool {
        if piece.is_empty() {
            return !self.state.lock().closed;
        }
        loop {
            let notified = self.room.notified();
            {
                let mut s = self.state.lock();
                if s.closed {
                    return false;
                }
                if let Some(w) = s.waiter.take() {
                    drop(s);
                    w(Next::Piece(piece));
                    return true;
                }
                if s.held < FEED_CAP {
                    s.held += piece.len();
                    s.pieces.push_back(piece);
                    return true;
                }
            }
            notified.await;
        }
    }

    /// The body ended (`Ok`) or failed; what is queued is still read first.
    pub fn finish(&self, end: Result<(), HttpError>) {
        let mut s = self.state.lock();
        if s.closed || s.end.is_some() {
            return;
        }
        match s.waiter.take() {
            Some(w) => {
                s.end = Some(Ok(()));
                drop(s);
                w(match end {
                    Ok(()) => Next::End,
                    Err(e) => Next::Failed(e),
                });
            }
            None => s.end = Some(end),
        }
    }

    /// Resolves once the reader has gone ([`Feed::close`]).
    pub async fn gone(&self) {
        loop {
            let notified = self.room.notified();
            if self.state.lock().closed {
                return;
            }
            notified.await;
        }
    }

    /// The next piece, the end, or the failure; `None` when nothing is there yet, and then `waiter` is called with
    /// it when it comes (at most one waiter: a second read replaces it).
    pub fn next(&self, waiter: impl FnOnce(Next) + Send + 'static) -> Option<Next> {
        let mut s = self.state.lock();
        if let Some(p) = s.pieces.pop_front() {
            s.held -= p.len();
            drop(s);
            self.room.notify_waiters();
            return Some(Next::Piece(p));
        }
        match s.end.take() {
            Some(Ok(())) => {
                s.end = Some(Ok(()));
                Some(Next::End)
            }
            // a failure is raised once; reads after it find the end
            Some(Err(e)) => {
                s.end = Some(Ok(()));
                Some(Next::Failed(e))
            }
            None if s.closed => Some(Next::End),
            None => {
                s.waiter = Some(Box::new(waiter));
                None
            }
        }
    }

    /// The reader has gone (the response was closed or dropped): what is queued is dropped and the engine stops.
    pub fn close(&self) {
        let waiter = {
            let mut s = self.state.lock();
            s.closed = true;
            s.pieces.clear();
            s.held = 0;
            s.waiter.take()
        };
        drop(waiter);
        self.room.notify_waiters();
    }

    /// Whether the body has ended (cleanly or not) with nothing left unread.
    pub fn is_done(&self) -> bool {
        let s = self.state.lock();
        s.pieces.is_empty() && (s.end.is_some() || s.closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn piece(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[tokio::test]
    async fn pieces_wait_for_the_reader_in_order_and_the_end_comes_after_them() {
        let feed = Feed::new();
        assert!(feed.push(Bytes::from_static(b"a")).await);
        assert!(feed.push(Bytes::from_static(b"b")).await);
        feed.finish(Ok(()));
        let got: Vec<String> = (0..3)
            .map(|_| match feed.next(|_| panic!("nothing waits")) {
                Some(Next::Piece(p)) => String::from_utf8(p.to_vec()).unwrap(),
                Some(Next::End) => "end".into(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, ["a", "b", "end"]);
        assert!(feed.is_done());
    }

    #[tokio::test]
    async fn a_waiting_reader_is_called_with_the_next_piece() {
        let feed = Arc::new(Feed::new());
        let (tx, rx) = std::sync::mpsc::channel();
        assert!(
            feed.next(move |n| tx.send(format!("{n:?}")).unwrap())
                .is_none()
        );
        assert!(feed.push(Bytes::from_static(b"hi")).await);
        assert_eq!(rx.recv().unwrap(), "Piece(b\"hi\")");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reader_that_does_not_read_holds_at_most_the_cap_and_closing_stops_the_engine() {
        let feed = Arc::new(Feed::new());
        let f = feed.clone();
        let engine = tokio::spawn(async move {
            let mut sent = 0;
            while f.push(piece(64 << 10)).await {
                sent += 1;
                if sent > 1000 {
                    break;
                }
            }
            sent
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!engine.is_finished(), "the engine waits for room");
        assert!(feed.state.lock().held <= FEED_CAP);
        // one piece read makes room for one more, and no more than one
        assert!(matches!(feed.next(|_| {}), Some(Next::Piece(_))));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while feed.state.lock().held < FEED_CAP {
            assert!(
                std::time::Instant::now() < deadline,
                "the engine never refilled"
            );
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(feed.state.lock().held, FEED_CAP);
        feed.close();
        let sent = engine.await.unwrap();
        assert_eq!(sent, FEED_CAP / (64 << 10) + 1);
        assert!(matches!(feed.next(|_| {}), Some(Next::End)));
    }
}
