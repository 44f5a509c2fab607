//! `nsmap top`: every interface of every namespace ranked by traffic,
//! live. On a terminal the full-screen table ([`crate::tui::top`]);
//! otherwise (or with `--json`) one JSON line per sample.
//!
//! Samples come from [`Sampler`], which keeps one socket per namespace so
//! a tick costs one link dump per namespace, and rediscovers the host only
//! now and then. The first line needs a baseline: a dump at start, the
//! first line one interval later.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::{Options, Source};
use crate::error::Error;
use crate::name::terminal_safe;
use crate::rates::{self, Rate, SortKey};
use crate::render::events::rfc3339;
use crate::render::json::write_compact;
use crate::select::Selector;
use crate::sys::sample::{Sampler, SamplerOptions, Tick};

/// Rediscover (a full scan, for new namespaces and their labels) at
/// least this often; at once when /run/netns changes. Also the longest a
/// namespace whose last process exited stays pinned by nsmap's socket.
pub const REDISCOVER_EVERY: Duration = Duration::from_secs(5);

/// `nsmap top`'s options, resolved from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopOptions {
    pub interval: Duration,
    /// Stop after this many samples (lines).
    pub count: Option<u64>,
    pub ns: Option<Selector>,
    pub sort: SortKey,
    /// Bits per second instead of bytes (the table; JSON stays in bytes).
    pub bits: bool,
    /// Each sample's cost on stderr.
    pub debug_timing: bool,
}

/// One JSON line.
#[derive(Serialize)]
struct Line<'a> {
    time: String,
    interval_ms: u64,
    interfaces: &'a [Rate],
}

/// Runs until `--count` samples are out, stdout closes or a signal ends it.
pub fn run(top: &TopOptions, options: &Options, out: &mut impl Write) -> anyhow::Result<i32> {
    if options.source != Source::Live {
        return Err(Error::Usage(
            "top samples this host's counters live; drop --input (a snapshot holds one reading, not a rate)"
                .into(),
        )
        .into());
    }
    let sampler = Sampler::new(SamplerOptions {
        rediscover_every: REDISCOVER_EVERY,
        select: top.ns.clone(),
    })?;
    if let Some(sel) = &top.ns
        && sampler.namespaces() == 0
    {
        return Err(Error::NoSuchNamespace(describe(sel)).into());
    }
    if !sampler.privileged() && !options.quiet {
        let _ = writeln!(
            io::stderr(),
            "nsmap: not running as root: top samples only the namespaces this user can enter; run as root (sudo nsmap top) for every namespace"
        );
    }
    let interactive = !options.json && io::stdin().is_terminal() && io::stdout().is_terminal();
    if interactive {
        crate::tui::top::run(sampler, top)?;
        return Ok(0);
    }
    json_lines(sampler, top, options, out)
}

fn json_lines(
    mut sampler: Sampler,
    top: &TopOptions,
    options: &Options,
    out: &mut impl Write,
) -> anyhow::Result<i32> {
    let mut clock = Schedule::new(top.interval, Instant::now());
    let mut prev = sampler.sample();
    notice(&prev, top, options);
    let mut printed = 0u64;
    while top.count.is_none_or(|n| printed < n) {
        std::thread::sleep(clock.wait(Instant::now()));
        let cur = sampler.sample();
        notice(&cur, top, options);
        let line = line(&prev, &cur, top.sort, SystemTime::now());
        write_compact(
            &Line {
                time: line.0,
                interval_ms: line.1,
                interfaces: &line.2,
            },
            out,
        )?;
        out.flush()?;
        printed += 1;
        prev = cur;
    }
    Ok(0)
}

/// The time, the measured interval (ms) and the sorted rates of one line.
fn line(prev: &Tick, cur: &Tick, sort: SortKey, now: SystemTime) -> (String, u64, Vec<Rate>) {
    let mut rates = rates::rates(&prev.sample, &cur.sample);
    rates::sort(&mut rates, sort);
    let interval_ms = (cur.at_ns.saturating_sub(prev.at_ns) as f64 / 1e6).round() as u64;
    (rfc3339(now), interval_ms, rates)
}

/// A sample's cost (`--debug-timing`) and a failed rediscovery, on stderr.
fn notice(tick: &Tick, top: &TopOptions, options: &Options) {
    let mut err = io::stderr().lock();
    if top.debug_timing {
        let _ = writeln!(
            err,
            "nsmap: sample: {} namespaces, {} interfaces, dumps {:.2} ms{}",
            tick.namespaces,
            tick.sample.readings.len(),
            tick.dump_ms,
            tick.rediscovered_ms
                .map(|ms| format!(", rediscovery {ms:.1} ms"))
                .unwrap_or_default()
        );
    }
    if let Some(p) = &tick.problem
        && !options.quiet
    {
        let _ = writeln!(
            err,
            "nsmap: warning: rediscovery failed, sampling the namespaces known so far: {}",
            terminal_safe(p)
        );
    }
}

/// Ticks on a fixed grid (start + k × interval), so the rate of lines does
/// not drift by each sample's own cost; a tick missed (the machine was
/// stopped, a rediscovery was slow) is skipped, not caught up in a burst.
#[derive(Debug, Clone)]
pub struct Schedule {
    interval: Duration,
    next: Instant,
}

impl Schedule {
    pub fn new(interval: Duration, start: Instant) -> Schedule {
        Schedule {
            interval,
            next: start + interval,
        }
    }

    /// How long to sleep from `now` until the next tick (then due).
    pub fn wait(&mut self, now: Instant) -> Duration {
        while self.next + self.interval <= now {
            self.next += self.interval;
        }
        let wait = self.next.saturating_duration_since(now);
        self.next += self.interval;
        wait
    }
}

/// A selector as the user typed it, for the "no namespace matches" error.
fn describe(sel: &Selector) -> String {
    match sel {
        Selector::Name(n) => terminal_safe(n.as_str()).into_owned(),
        Selector::Inode(i) => i.to_string(),
        Selector::Pid(p) => format!("pid:{p}"),
        Selector::Path { path, .. } => terminal_safe(path.as_str()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::rates::{Reading, Sample};
    use crate::snapshot::LinkStats;

    fn tick(at_s: f64, rx: &[(u32, u64)]) -> Tick {
        let at_ns = (at_s * 1e9) as u64;
        Tick {
            sample: Sample {
                readings: rx
                    .iter()
                    .map(|&(ifindex, rx_bytes)| Reading {
                        netns: 1,
                        netns_id: Some(1),
                        ifindex,
                        ifname: Name::from(format!("if{ifindex}").as_str()),
                        label: "web".into(),
                        at_ns,
                        stats: LinkStats {
                            rx_bytes,
                            ..LinkStats::default()
                        },
                    })
                    .collect(),
            },
            at_ns,
            ..Tick::default()
        }
    }

    #[test]
    fn a_line_is_busiest_first_over_the_measured_interval() {
        let a = tick(1.0, &[(1, 0), (2, 0)]);
        let b = tick(2.5, &[(1, 300), (2, 3000), (3, 5)]);
        let (_, ms, rates) = line(&a, &b, SortKey::Rx, SystemTime::UNIX_EPOCH);
        assert_eq!(ms, 1500);
        assert_eq!(rates[0].ifindex, 2);
        assert_eq!(rates[0].rx_bytes_per_s, 2000.0);
        assert_eq!(rates[1].rx_bytes_per_s, 200.0);
        // First seen now: listed, with no rate yet.
        assert!(rates[2].new);
        let json = serde_json::to_value(Line {
            time: "t".into(),
            interval_ms: ms,
            interfaces: &rates,
        })
        .expect("serializes");
        assert_eq!(json["interfaces"][0]["ifname"], "if2");
        assert_eq!(json["interfaces"][0]["label"], "web");
        assert_eq!(json["interfaces"][0]["tx_errors_per_s"], 0.0);
        assert!(json["interfaces"][0].get("new").is_none());
    }

    #[test]
    fn schedule_keeps_the_grid_and_skips_missed_ticks() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut c = Schedule::new(s, t0);
        // Sampling took 100 ms: sleep the rest of the second.
        assert_eq!(
            c.wait(t0 + Duration::from_millis(100)),
            Duration::from_millis(900)
        );
        // The next tick is at 2 s, whatever this sample cost.
        assert_eq!(
            c.wait(t0 + Duration::from_millis(1300)),
            Duration::from_millis(700)
        );
        // Stopped for 5 s: one tick now-ish, not five at once.
        assert_eq!(c.wait(t0 + Duration::from_millis(7200)), Duration::ZERO);
        assert_eq!(
            c.wait(t0 + Duration::from_millis(7500)),
            Duration::from_millis(500)
        );
    }
}
