//! The traffic journal: a bounded ring of recorded exchanges, queries over it, and the checks
//! of `expect:` clauses against it.
//!
//! The server records every request it answers (admin calls excepted) after the answer is
//! decided and any delay has passed, and before the answer is sent — so a client that got its
//! answer finds the call in the journal. Recording copies the exchange's text into one buffer
//! ([`raw`]); the redacted [`Entry`] is built from it the first time anybody reads it, and
//! kept. The lock is held only to number a record and push it (evicting the oldest when the
//! ring is full, which the `dropped` counter counts). Queries clone the `Arc`s of the records
//! they need under the lock and build and filter after releasing it.
//!
//! Layout: [`entry`] (what one entry holds, redaction at build time), `raw` (what a record
//! keeps until it is read), [`filter`] (admin query filters), [`har`] (HAR 1.2 export),
//! [`verify`] (expectations → report) and [`junit`] (report → JUnit XML).

pub mod entry;
pub mod filter;
pub mod har;
pub mod junit;
mod raw;
pub mod verify;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use entry::{AnsweredBy, Entry};
pub use filter::Filter;

use crate::exchange::{CapturedRequest, Reply};
use crate::gigya::params::ConflictPolicy;

/// Default number of entries kept.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Default cap on each recorded body, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Journal limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalConfig {
    /// Entries kept; the oldest is evicted when full. 0 disables the journal.
    pub capacity: usize,
    /// Bytes kept of each request and response body.
    pub body_limit: usize,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

/// Counters of the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Most entries kept (0: disabled).
    pub capacity: usize,
    /// Entries held now.
    pub size: usize,
    /// Entries recorded since the journal was last cleared.
    pub recorded: u64,
    /// Entries evicted since the journal was last cleared (recorded − size).
    pub dropped: u64,
    /// The id of the newest entry ever recorded (0: none yet).
    pub last_id: u64,
    /// Bytes kept of each body.
    pub body_limit: usize,
}

/// One record of the ring: an entry, or the exchange it is built from on first read.
#[derive(Debug)]
struct Slot {
    id: u64,
    record: Record,
}

// Records live inside an `Arc<Slot>` already; boxing the large variant would cost one more
// allocation per request for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Record {
    Built(Arc<Entry>),
    Raw(raw::RawExchange, OnceLock<Arc<Entry>>),
}

impl Slot {
    fn entry(&self, body_limit: usize) -> Arc<Entry> {
        match &self.record {
            Record::Built(entry) => entry.clone(),
            Record::Raw(raw, built) => built
                .get_or_init(|| {
                    let mut entry = raw.build(body_limit);
                    entry.id = self.id;
                    Arc::new(entry)
                })
                .clone(),
        }
    }
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<Arc<Slot>>,
    last_id: u64,
    recorded: u64,
    dropped: u64,
}

/// The journal. Cheap to share behind the engine; every method takes `&self`.
#[derive(Debug, Default)]
pub struct Journal {
    config: JournalConfig,
    ring: Mutex<Ring>,
}

impl Journal {
    /// An empty journal.
    #[must_use]
    pub fn new(config: JournalConfig) -> Self {
        Self {
            config,
            ring: Mutex::new(Ring {
                entries: VecDeque::with_capacity(config.capacity.min(1024)),
                ..Ring::default()
            }),
        }
    }

    /// The limits.
    #[must_use]
    pub fn config(&self) -> JournalConfig {
        self.config
    }

    /// Whether entries are recorded at all.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.config.capacity > 0
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding this lock cannot leave the ring inconsistent (every critical
        // section is a handful of infallible operations), so a poisoned lock is still usable.
        self.ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records one exchange (does nothing when the journal is disabled). `policy` is how the
    /// request's query and body parameters were merged.
    pub fn record_exchange(
        &self,
        req: &CapturedRequest,
        reply: &Reply,
        http_version: http::Version,
        latency: Duration,
        policy: ConflictPolicy,
    ) {
        if !self.enabled() {
            return;
        }
        let limit = self.config.body_limit;
        if req.body.len() > limit || reply.body.len() > limit {
            // A body over the limit is cut now rather than kept whole until it is read.
            self.record(Entry::build(
                req,
                reply,
                http_version,
                latency,
                limit,
                policy,
            ));
            return;
        }
        let raw = raw::RawExchange::capture(req, reply, http_version, latency, policy);
        self.push(Record::Raw(raw, OnceLock::new()));
    }

    /// Numbers an entry and adds it; returns its id (0 when the journal is disabled).
    pub fn record(&self, entry: Entry) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.push(Record::Built(Arc::new(entry)))
    }

    fn push(&self, record: Record) -> u64 {
        let mut slot = Arc::new(Slot { id: 0, record });
        let evicted;
        let id;
        {
            let mut ring = self.lock();
            ring.last_id += 1;
            id = ring.last_id;
            if let Some(s) = Arc::get_mut(&mut slot) {
                s.id = id;
                if let Record::Built(entry) = &mut s.record {
                    if let Some(e) = Arc::get_mut(entry) {
                        e.id = id;
                    }
                }
            }
            evicted = if ring.entries.len() >= self.config.capacity {
                ring.dropped += 1;
                ring.entries.pop_front()
            } else {
                None
            };
            ring.entries.push_back(slot);
            ring.recorded += 1;
        }
        // Freed outside the lock: a record can hold two 64 KiB bodies.
        drop(evicted);
        id
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let ring = self.lock();
        self.stats_of(&ring)
    }

    fn stats_of(&self, ring: &Ring) -> Stats {
        Stats {
            capacity: self.config.capacity,
            size: ring.entries.len(),
            recorded: ring.recorded,
            dropped: ring.dropped,
            last_id: ring.last_id,
            body_limit: self.config.body_limit,
        }
    }

    /// Every entry with an id above `since`, oldest first, and the counters at that moment.
    #[must_use]
    pub fn after(&self, since: u64) -> (Vec<Arc<Entry>>, Stats) {
        let (slots, stats) = self.slots_after(since);
        let limit = self.config.body_limit;
        let entries = slots.iter().map(|s| s.entry(limit)).collect();
        (entries, stats)
    }

    /// The records with an id above `since`, oldest first, and the counters at that moment.
    fn slots_after(&self, since: u64) -> (Vec<Arc<Slot>>, Stats) {
        let ring = self.lock();
        // Ids are consecutive within the ring, so the first wanted record is found by offset.
        let first = ring.entries.front().map_or(0, |e| e.id);
        let skip = usize::try_from((since + 1).saturating_sub(first)).unwrap_or(usize::MAX);
        let slots: Vec<Arc<Slot>> = ring.entries.iter().skip(skip).cloned().collect();
        (slots, self.stats_of(&ring))
    }

    /// Every entry, oldest first, and the counters.
    #[must_use]
    pub fn snapshot(&self) -> (Vec<Arc<Entry>>, Stats) {
        self.after(0)
    }

    /// The entries a filter selects (oldest first, at most `filter.limit`), whether more
    /// matched, and the counters.
    #[must_use]
    pub fn query(&self, filter: &Filter) -> Page {
        let (slots, stats) = self.slots_after(filter.since_id.unwrap_or(0));
        let body_limit = self.config.body_limit;
        let mut selected: Vec<Arc<Entry>> = Vec::new();
        let mut more = false;
        // Entries are built (on their first read) only as far as the page needs.
        for e in slots.iter().map(|s| s.entry(body_limit)) {
            if filter.matches(&e) {
                if selected.len() == filter.limit {
                    more = true;
                    break;
                }
                selected.push(e);
            }
        }
        Page {
            entries: selected,
            more,
            stats,
        }
    }

    /// Removes every entry and zeroes the counters (ids keep increasing); returns how many
    /// entries were removed.
    pub fn clear(&self) -> usize {
        let old = {
            let mut ring = self.lock();
            ring.recorded = 0;
            ring.dropped = 0;
            std::mem::take(&mut ring.entries)
        };
        old.len()
    }
}

/// One answer to a journal query.
#[derive(Debug)]
pub struct Page {
    /// The selected entries, oldest first.
    pub entries: Vec<Arc<Entry>>,
    /// Whether more entries matched than `limit` allowed.
    pub more: bool,
    /// The counters when the query ran.
    pub stats: Stats,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineConfig};
    use crate::scenario::ScenarioSet;

    pub(super) fn entry(method: &str, params: &[(&str, &str)]) -> Entry {
        let engine = Engine::new(ScenarioSet::default(), EngineConfig::default());
        let req = CapturedRequest::gigya_call(method, params.iter().copied());
        let reply = engine.dispatch(&req);
        Entry::build(
            &req,
            &reply,
            http::Version::HTTP_11,
            Duration::ZERO,
            1024,
            ConflictPolicy::default(),
        )
    }

    #[test]
    fn the_ring_keeps_the_newest_and_counts_evictions() {
        let j = Journal::new(JournalConfig {
            capacity: 3,
            body_limit: 64,
        });
        for i in 0..5 {
            let id = j.record(entry("a.b", &[("n", &i.to_string())]));
            assert_eq!(id, i + 1);
        }
        let (entries, stats) = j.snapshot();
        let ids: Vec<u64> = entries.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![3, 4, 5]);
        assert_eq!(stats.dropped, 2);
        assert_eq!(stats.recorded, 5);
        assert_eq!(stats.size, 3);
        let (after, _) = j.after(4);
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].param("n"), Some("4"));
        assert!(j.after(9).0.is_empty());
        assert_eq!(
            j.after(1).0.len(),
            3,
            "since before the window: everything kept"
        );
        assert_eq!(j.clear(), 3);
        let stats = j.stats();
        assert_eq!((stats.size, stats.dropped, stats.recorded), (0, 0, 0));
        assert_eq!(j.record(entry("a.b", &[])), 6, "ids are never reused");
    }

    /// Dispatches a call and records the exchange as the server does.
    fn record_call(j: &Journal, engine: &Engine, params: &[(&str, &str)]) {
        let req = CapturedRequest::gigya_call("a.b", params.iter().copied());
        let reply = engine.dispatch(&req);
        j.record_exchange(
            &req,
            &reply,
            http::Version::HTTP_11,
            Duration::ZERO,
            ConflictPolicy::default(),
        );
    }

    /// Whether a record's entry has been built.
    fn is_built(slot: &Slot) -> bool {
        match &slot.record {
            Record::Raw(_, built) => built.get().is_some(),
            Record::Built(_) => true,
        }
    }

    #[test]
    fn entries_are_built_when_first_read_and_kept() {
        let j = Journal::new(JournalConfig {
            capacity: 4,
            body_limit: 2048,
        });
        let engine = Engine::new(ScenarioSet::default(), EngineConfig::default());
        let record = |params: &[(&str, &str)]| record_call(&j, &engine, params);
        record(&[("n", "1")]);
        let built = |i: usize| is_built(&j.lock().entries[i]);
        assert!(!built(0), "recording does not build the entry");
        let (first, _) = j.snapshot();
        assert!(built(0));
        let (again, _) = j.snapshot();
        assert!(Arc::ptr_eq(&first[0], &again[0]), "built once, then kept");
        assert_eq!((first[0].id, first[0].param("n")), (1, Some("1")));
        // A body over the limit is cut when recorded, not kept whole.
        let long = "x".repeat(3000);
        record(&[("n", long.as_str())]);
        assert!(matches!(j.lock().entries[1].record, Record::Built(_)));
        assert!(j.snapshot().0[1].request.body_truncated);
    }

    #[test]
    fn a_disabled_journal_records_nothing() {
        let j = Journal::new(JournalConfig {
            capacity: 0,
            body_limit: 64,
        });
        assert_eq!(j.record(entry("a.b", &[])), 0);
        assert_eq!(j.stats().size, 0);
        assert!(!j.enabled());
    }

    #[test]
    fn queries_filter_and_page() {
        let j = Journal::new(JournalConfig::default());
        for i in 0..6 {
            let method = if i % 2 == 0 { "a.even" } else { "a.odd" };
            j.record(entry(method, &[("n", &i.to_string())]));
        }
        let f = Filter::parse(Some("method=a.even&limit=2")).unwrap();
        let page = j.query(&f);
        let ns: Vec<&str> = page.entries.iter().filter_map(|e| e.param("n")).collect();
        assert_eq!(ns, vec!["0", "2"]);
        assert!(page.more);
        let f = Filter::parse(Some("method=a.even&since=3")).unwrap();
        let page = j.query(&f);
        let ns: Vec<&str> = page.entries.iter().filter_map(|e| e.param("n")).collect();
        assert_eq!(ns, vec!["4"]);
        assert!(!page.more);
    }

    #[test]
    fn a_page_builds_only_the_entries_it_reads() {
        let j = Journal::new(JournalConfig::default());
        let engine = Engine::new(ScenarioSet::default(), EngineConfig::default());
        for i in 0..10 {
            record_call(&j, &engine, &[("n", &i.to_string())]);
        }
        let built = || j.lock().entries.iter().filter(|s| is_built(s)).count();
        let page = j.query(&Filter::parse(Some("limit=2")).unwrap());
        assert_eq!(page.entries.len(), 2);
        assert!(page.more);
        assert_eq!(
            built(),
            3,
            "two entries and the one that shows there are more"
        );
        let page = j.query(&Filter::parse(Some("since=8")).unwrap());
        assert_eq!(page.entries.len(), 2);
        assert_eq!(built(), 5);
    }
}
