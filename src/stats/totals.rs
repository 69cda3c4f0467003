//! A row's plain figures, declared once: [`Totals`] is what a row counts and sums (Locust's `StatsEntry` fields
//! other than its histogram and per-second counts), kept live under the row's lock (`live`), carried by a
//! distributed report ([`super::RowData`]) and read from a snapshot ([`super::EntrySnapshot`]), and how one
//! request adds to it ([`Totals::record`]) and one row adds to another ([`Totals::merge`]).
//!
//! Who calls it: `live` writes it; `distributed::stats_wire` reads and writes it field by field (Locust's wire
//! names); every reader of a snapshot reads it. What it must not do: hold anything that is not a plain number
//! (histograms and per-second counts have their own homes: `hist`, `window`).
//!
//! To add a metric that every row carries: a field here, how a request sets it in [`Totals::record`] (or a failure in
//! [`Totals::fail`]) and how two rows combine in [`Totals::merge`]; then its wire name in `stats_wire` (a
//! worker's report) and the outputs that show it read `entry.totals`. Nothing else copies the fields.

/// The counts and sums of one row (an entry or the total).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub num_requests: u64,
    /// Requests recorded without a response time (`response_time=None`).
    pub num_none_requests: u64,
    pub num_failures: u64,
    /// Sum of the raw response times (ms).
    pub total_response_time: f64,
    /// Raw minimum (ms); `None` until the first timed request.
    pub min_response_time: Option<f64>,
    /// Raw maximum (ms); 0 until a positive time is recorded.
    pub max_response_time: f64,
    pub total_content_length: u64,
    /// Unix time of the row's creation or last reset.
    pub start_time: f64,
    pub last_request_timestamp: Option<f64>,
}

impl Totals {
    /// A row with nothing recorded, started at `now` (a fresh or reset Locust `StatsEntry`).
    pub fn new(now: f64) -> Totals {
        Totals {
            num_requests: 0,
            num_none_requests: 0,
            num_failures: 0,
            total_response_time: 0.0,
            min_response_time: None,
            max_response_time: 0.0,
            total_content_length: 0,
            start_time: now,
            last_request_timestamp: None,
        }
    }

    /// One request at `now` (Locust `StatsEntry.log`): `response_time` in ms, or `None` for a request without
    /// one.
    pub fn record(&mut self, response_time: Option<f64>, content_length: u64, now: f64) {
        self.num_requests += 1;
        // NOTE: Locust overwrites the timestamp; requests recorded from several threads can arrive slightly out
        // of order, so keep the newest.
        self.last_request_timestamp = Some(match self.last_request_timestamp {
            Some(t) if t > now => t,
            _ => now,
        });
        self.total_content_length = self.total_content_length.saturating_add(content_length);
        let Some(rt) = response_time else {
            self.num_none_requests += 1;
            return;
        };
        self.total_response_time += rt;
        self.min_response_time = Some(match self.min_response_time {
            Some(m) if m <= rt => m,
            _ => rt,
        });
        if rt > self.max_response_time {
            self.max_response_time = rt;
        }
    }

    /// One failure (Locust `StatsEntry.log_error`).
    pub fn fail(&mut self) {
        self.num_failures += 1;
    }

    /// Locust `StatsEntry.extend`: sums added, min and max, the earliest start and the latest request.
    pub fn merge(&mut self, other: &Totals) {
        self.last_request_timestamp =
            match (self.last_request_timestamp, other.last_request_timestamp) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        self.start_time = self.start_time.min(other.start_time);
        self.num_requests = self.num_requests.saturating_add(other.num_requests);
        self.num_none_requests = self
            .num_none_requests
            .saturating_add(other.num_none_requests);
        self.num_failures = self.num_failures.saturating_add(other.num_failures);
        self.total_response_time += other.total_response_time;
        self.max_response_time = self.max_response_time.max(other.max_response_time);
        self.min_response_time = match (self.min_response_time, other.min_response_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.total_content_length = self
            .total_content_length
            .saturating_add(other.total_content_length);
    }
}
