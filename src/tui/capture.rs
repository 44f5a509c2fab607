//! `c` / `C` in the TUI: a capture of the selected interface (and the other
//! end of its wire) into a pcapng file in the current directory, on a
//! thread of its own, with a live packet count for the status line.
//! Impure like `event_loop.rs`, which is its only user.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use crate::capture::wire_endpoints;
use crate::cli::capture::{Recording, record};
use crate::snapshot::Snapshot;
use crate::sys::capture::Settings;

/// A capture under way.
pub struct Capture {
    pub file: PathBuf,
    names: Vec<String>,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    /// None once joined: by [`Capture::stop`], or by the drop that ends a
    /// capture on every way out of the TUI (a hung-up terminal, an error),
    /// so the file is always complete.
    thread: Option<JoinHandle<Result<String, String>>>,
}

impl Capture {
    /// Starts capturing `ifindex` of `netns` (and its peer with `both`).
    pub fn start(
        snapshot: &Snapshot,
        netns: u64,
        ifindex: u32,
        both: bool,
    ) -> Result<Capture, String> {
        let targets = wire_endpoints(snapshot, netns, ifindex, both);
        let Some(first) = targets.first() else {
            return Err("that interface is no longer in the map; rescan (r)".into());
        };
        // Never over an earlier capture's file (two within one second).
        let base = file_name(&first.name);
        let mut file = PathBuf::from(format!("{base}.pcapng"));
        for n in 2.. {
            if !file.exists() {
                break;
            }
            file = PathBuf::from(format!("{base}-{n}.pcapng"));
        }
        let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let recording = Recording {
            write: Some(file.clone()),
            count: None,
            duration: None,
            filter: None,
        };
        let settings = Settings {
            snaplen: 262_144,
            promisc: false,
            filter: None,
            immediate: false,
            poll_ms: 100,
        };
        let (flag, counter) = (Arc::clone(&stop), Arc::clone(&written));
        let thread = std::thread::Builder::new()
            .name("tui-capture".into())
            .spawn(move || {
                let mut warnings = Vec::new();
                let mut warn = |w: &str| warnings.push(w.to_string());
                let (summaries, finished) =
                    record(&targets, &settings, &recording, &flag, &counter, &mut warn)
                        .map_err(|e| format!("{e:#}"))?;
                finished.map_err(|e| format!("cannot write the capture: {e}"))?;
                let drops: u64 = summaries
                    .iter()
                    .filter_map(|s| s.counts.kernel.map(|k| k.1))
                    .sum();
                let packets: u64 = summaries.iter().map(|s| s.counts.written).sum();
                let mut text = format!(
                    "capture saved: {} ({packets} packets, {drops} dropped by the kernel)",
                    recording
                        .write
                        .as_ref()
                        .map_or(String::new(), |p| p.display().to_string())
                );
                for w in warnings {
                    text.push_str("; ");
                    text.push_str(&w);
                }
                Ok(text)
            })
            .map_err(|e| format!("cannot start the capture: {e}"))?;
        Ok(Capture {
            file,
            names,
            stop,
            written,
            thread: Some(thread),
        })
    }

    /// The status line's text: where, what, how many so far.
    pub fn status(&self) -> String {
        format!(
            "capturing {} → {}: {} packets (c stops)",
            self.names.join(" + "),
            self.file.display(),
            self.written.load(Ordering::Relaxed)
        )
    }

    /// Whether the capture ended by itself (it could not start, or failed).
    pub fn ended(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops it and waits for the file to be complete; the text says where
    /// it is, or what went wrong.
    pub fn stop(mut self) -> Result<String, String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err("the capture thread panicked".into())),
            None => Err("the capture was already stopped".into()),
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.stop.store(true, Ordering::Relaxed);
            let _ = t.join();
        }
    }
}

/// `nsmap-IFNAME@LABEL-UNIXTIME` (the caller adds `.pcapng`, or `-N.pcapng`
/// when that file exists), with anything but letters, digits,
/// `.`, `-`, `_` and `@` replaced, so the name is one safe path component.
fn file_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("nsmap-{safe}-{secs}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_one_safe_component() {
        let n = super::file_name("eth0@web/../\u{1b}[31m x");
        assert!(n.starts_with("nsmap-eth0@web_.._"), "{n}");
        assert!(!n.contains('/') && !n.contains('\u{1b}') && !n.contains(' '));
    }
}
