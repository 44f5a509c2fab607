//! Benchmark of `nsmap path` on a generated 1,000-namespace host with
//! layer 3 (or `NAMESPACES=N cargo bench --bench path`): each container
//! with its local table, a connected and a default route via the host
//! bridge, three rules per family, a neighbour; the host forwarding, with a
//! neighbour entry per container.
//!
//! Timed separately: resolving the layer-3 raw scan, loading its snapshot
//! JSON (what `--input` does), and tracing — container to container across
//! the host bridge (the reply included), and container to an address
//! outside the host. The target is the whole command on such a
//! file under 20 ms: load + trace here, process start-up in
//! `bench/path.sh` (hyperfine on the binary, with the file this bench
//! writes to `target/bench-path.json`).

mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use nsmap::path::{Proto, Query, Verdict, trace};
use nsmap::render::json;
use nsmap::resolve::resolve;

use common::{HOST, namespace_count, raw_scan_l3, stats};

const ROUNDS: usize = 200;

fn case<T>(name: &str, target: Option<Duration>, mut run: impl FnMut() -> T) -> Duration {
    for _ in 0..3 {
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
        "{name:<40} median {:>8.3} ms  p99 {:>8.3} ms  min {:>8.3} ms  {verdict}",
        s.median.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.min.as_secs_f64() * 1e3,
    );
    s.median
}

fn main() {
    let n = namespace_count(1_000);
    let raw = raw_scan_l3(n);
    let snapshot = resolve(&raw);
    assert!(snapshot.warnings.is_empty(), "{:?}", snapshot.warnings);
    let mut bytes = Vec::new();
    json::write_compact(&snapshot, &mut bytes).expect("json");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-path.json");
    std::fs::write(&file, &bytes).expect("write the snapshot for bench/path.sh");
    println!(
        "{n} namespaces with layer 3: {} routes, {} bytes of JSON (written to target/bench-path.json)",
        snapshot
            .namespaces
            .iter()
            .map(|ns| ns.routes.as_ref().map_or(0, Vec::len))
            .sum::<usize>(),
        bytes.len()
    );
    let first = HOST + 1;
    let last = HOST + u64::from(n);
    let far = snapshot
        .namespaces
        .iter()
        .find(|ns| ns.inode == last)
        .and_then(|ns| ns.interface(2))
        .and_then(|i| i.addresses.first())
        .and_then(|a| a.split('/').next())
        .and_then(|a| a.parse().ok())
        .expect("the last container's address");
    let across = Query {
        netns: first,
        oif: None,
        from: None,
        dst: far,
        proto: Proto::Icmp,
        dport: None,
    };
    let outside = Query {
        dst: "192.0.2.1".parse().expect("address"),
        ..across.clone()
    };
    let t = trace(&snapshot, &across);
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    println!(
        "container → container: {} hops there, {} back",
        t.forward.len(),
        t.back.len()
    );

    case("resolve (layer 3)", None, || resolve(black_box(&raw)));
    let load = case("load the snapshot JSON (--input)", None, || {
        nsmap::input::load(Path::new("bench"), black_box(&bytes)).expect("load")
    });
    let traced = case("trace container → container", None, || {
        trace(black_box(&snapshot), black_box(&across))
    });
    case("trace container → outside", None, || {
        trace(black_box(&snapshot), black_box(&outside))
    });
    case("doctor (every check, layer 3 included)", None, || {
        nsmap::doctor::findings(black_box(&snapshot))
    });
    let total = load + traced;
    println!(
        "{:<40} median {:>8.3} ms  (target 20 ms: {})",
        "load + trace",
        total.as_secs_f64() * 1e3,
        if total < Duration::from_millis(20) {
            "ok"
        } else {
            "OVER TARGET"
        }
    );
}
