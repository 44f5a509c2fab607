//! Benchmark of the pure part of `nsmap snapshot`, everything after the
//! kernel-facing scan, on a generated raw scan of 1,000 namespaces (or
//! `NAMESPACES=N cargo bench --bench snapshot`): each a container whose eth0
//! (ifindex 2 in every one of them, as with real containers) is a veth to a
//! port of a host bridge. Timed separately:
//!
//! - `plan_nsid_queries` before any RTM_GETNSID answer (the first round of a
//!   scan) and once every nsid is known (the round that ends the scan);
//! - `resolve`, raw scan → snapshot;
//! - compact JSON of the snapshot (`nsmap snapshot --compact`).
//!
//! Targets (for 1,000 namespaces on a 2-core machine): resolve + JSON well
//! under 5 ms, the settled planning call under 1 ms. Run with
//! `cargo bench --bench snapshot`. A plain timing loop, like benches/tui.rs:
//! the verdict uses the median, p99 shows the tail, and min (what the work
//! costs when nothing else runs) is the number to compare on a busy machine.
//! For counts that ignore the machine's load, run one case under callgrind:
//! `ONLY=resolve ROUNDS=20 valgrind --tool=callgrind target/release/deps/snapshot-…`.

mod common;

use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::time::{Duration, Instant};

use nsmap::render::json;
use nsmap::resolve::{plan_nsid_queries, resolve};

use common::{namespace_count, raw_scan, stats};

const ROUNDS: usize = 300;

/// Times `run` (ROUNDS times, or `ROUNDS` from the environment, after a few
/// warm-up calls) and prints its
/// median and p99; what it returns is dropped after the clock stops. Skipped,
/// returning None, when `ONLY` is set and not a part of `name` (to profile
/// one case: `ONLY=resolve perf record …`).
fn case<T>(name: &str, target: Option<Duration>, mut run: impl FnMut() -> T) -> Option<Duration> {
    if std::env::var("ONLY").is_ok_and(|only| !name.contains(&only)) {
        return None;
    }
    for _ in 0..5 {
        black_box(run());
    }
    let rounds = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS);
    let samples = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            let result = black_box(run());
            let elapsed = t.elapsed();
            drop(result);
            elapsed
        })
        .collect();
    let s = stats(samples);
    let verdict = match target {
        Some(t) if s.median < t => format!("(target {} ms: ok)", t.as_secs_f64() * 1e3),
        Some(t) => format!("(target {} ms: OVER TARGET)", t.as_secs_f64() * 1e3),
        None => String::new(),
    };
    println!(
        "{name:<36} median {:>8.3} ms  p99 {:>8.3} ms  min {:>8.3} ms  {verdict}",
        s.median.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.min.as_secs_f64() * 1e3,
    );
    Some(s.median)
}

fn main() {
    let n = namespace_count(1_000);
    let fresh = raw_scan(n, false);
    let settled = raw_scan(n, true);
    let planned = plan_nsid_queries(&fresh, Some(1)).len();
    let snapshot = resolve(&settled);
    let mut out = Vec::new();
    json::write_compact(&snapshot, &mut out).expect("json");
    println!(
        "{n} namespaces, {} links; first round plans {planned} questions; {} bytes of JSON",
        settled
            .namespaces
            .iter()
            .map(|ns| ns.links.len())
            .sum::<usize>(),
        out.len(),
    );
    assert!(plan_nsid_queries(&settled, Some(4)).is_empty());
    assert!(snapshot.warnings.is_empty(), "{:?}", snapshot.warnings);

    case("plan_nsid_queries, first round", None, || {
        plan_nsid_queries(black_box(&fresh), Some(1))
    });
    case(
        "plan_nsid_queries, all settled",
        Some(Duration::from_millis(1)),
        || plan_nsid_queries(black_box(&settled), Some(4)),
    );
    let resolved = case("resolve", None, || resolve(black_box(&settled)));
    // Into a BufWriter, as the CLI writes to stdout.
    let written = case("JSON, compact", None, || {
        let mut sink = BufWriter::new(io::sink());
        json::write_compact(black_box(&snapshot), &mut sink).expect("json");
        sink.flush().expect("flush");
    });
    case("JSON, pretty", None, || {
        let mut sink = BufWriter::new(io::sink());
        json::write(black_box(&snapshot), &mut sink).expect("json");
        sink.flush().expect("flush");
    });
    if let (Some(resolved), Some(written)) = (resolved, written) {
        let total = resolved + written;
        println!(
            "{:<36} median {:>8.3} ms  (target 5 ms: {})",
            "resolve + compact JSON",
            total.as_secs_f64() * 1e3,
            if total < Duration::from_millis(5) {
                "ok"
            } else {
                "OVER TARGET"
            }
        );
    }
}
