//! `nsmap watch`: rescan when the kernel reports a change (or at least
//! every `interval`), print what changed as JSON lines, forever.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use super::Options;
use crate::diff::diff;
use crate::render::events::write_events;
use crate::resolve::resolve;
use crate::snapshot::Snapshot;
use crate::sys::ScanOptions;
use crate::sys::watch::Watcher;

/// Runs until stdout closes (a closed pipe ends it with success).
pub fn run(
    interval: Duration,
    initial: bool,
    options: &Options,
    out: &mut impl Write,
) -> anyhow::Result<i32> {
    let mut watcher = Watcher::new(ScanOptions::default());
    let started = Instant::now();
    let mut current = resolve(&watcher.scan()?);
    let mut scan_cost = started.elapsed();
    super::report(&current, options);
    if initial {
        let empty = Snapshot {
            namespaces: Vec::new(),
            warnings: Vec::new(),
            ..current.clone()
        };
        write_events(&diff(&empty, &current), SystemTime::now(), out)?;
    }
    out.flush()?;
    loop {
        // Never spend more than a fifth of the time scanning.
        watcher.wait(interval.max(scan_cost * 5));
        let started = Instant::now();
        let next = resolve(&watcher.scan()?);
        scan_cost = started.elapsed();
        let events = diff(&current, &next);
        if !events.is_empty() {
            write_events(&events, SystemTime::now(), out)?;
            out.flush()?;
        }
        current = next;
    }
}
