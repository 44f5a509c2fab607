//! `nsmap watch`: rescan when the kernel reports a change (or at least
//! every `interval`), print what changed as JSON lines, until stdout closes.

use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use super::Options;
use crate::diff::diff;
use crate::name::terminal_safe;
use crate::render::events::write_events;
use crate::resolve::resolve;
use crate::snapshot::Snapshot;
use crate::sys::ScanOptions;
use crate::sys::watch::Watcher;

/// Scans take at most this share of the time: after a scan that took T,
/// the next one waits at least `T / SCAN_SHARE - T`, however busy the host.
const SCAN_SHARE: u32 = 5;

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
    let mut last_scan = Instant::now();
    loop {
        watcher.wait(interval.max(scan_cost * SCAN_SHARE));
        // A flapping link must not keep a core busy with back-to-back scans.
        let rest = scan_cost * (SCAN_SHARE - 1);
        if let Some(left) = rest.checked_sub(last_scan.elapsed()) {
            std::thread::sleep(left);
        }
        let started = Instant::now();
        let scanned = watcher.scan();
        scan_cost = started.elapsed();
        last_scan = Instant::now();
        let next = match scanned {
            Ok(raw) => resolve(&raw),
            // One failed scan (a timeout under load) does not end the stream.
            Err(e) => {
                if !options.quiet {
                    let _ = writeln!(
                        io::stderr(),
                        "nsmap: warning: this scan failed, trying again: {}",
                        terminal_safe(&e.to_string())
                    );
                }
                continue;
            }
        };
        let events = diff(&current, &next);
        if !events.is_empty() {
            write_events(&events, SystemTime::now(), out)?;
            out.flush()?;
        }
        current = next;
    }
}
