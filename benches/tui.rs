//! TUI render benchmark on a generated host with 2,000 namespaces (or
//! `NAMESPACES=N cargo bench --bench tui`), the one benches/snapshot.rs
//! resolves: each a container whose eth0 is a veth to a port of a host
//! bridge (so the bridges tree has a port per namespace): time to first frame after the scan
//! (building the app from the snapshot, then drawing) and the time of one
//! frame in the common situations. Targets: first frame < 200 ms, each
//! frame < 10 ms. Run with `cargo bench --bench tui`.
//!
//! A plain timing loop rather than a statistics framework: the numbers
//! only have to be compared with targets an order of magnitude away. The
//! verdict uses the median; p99 and max are printed to show the tail.

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nsmap::Snapshot;
use nsmap::cli::Source;
use nsmap::resolve::resolve;
use nsmap::tui::{Action, App, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use common::{namespace_count, raw_scan, stats};

const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;
const ROUNDS: usize = 200;

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test backend")
}

fn draw(terminal: &mut Terminal<TestBackend>, app: &App) {
    terminal
        .draw(|f| f.render_widget(&View::new(app), f.area()))
        .expect("draw");
}

fn new_app(snapshot: Snapshot) -> App {
    let mut app = App::new(
        snapshot,
        Source::File(PathBuf::from("bench")),
        Instant::now(),
    );
    app.update(Action::Resize {
        width: WIDTH,
        height: HEIGHT,
    });
    app
}

fn report(name: &str, target: Duration, samples: Vec<Duration>) {
    let s = stats(samples);
    // Judged on the median: on a shared 2-core machine the tail is mostly
    // the scheduler preempting us, not the work of the frame.
    let verdict = if s.median < target {
        "ok"
    } else {
        "OVER TARGET"
    };
    println!(
        "{name:<44} median {:>9.3} ms  p99 {:>9.3} ms  max {:>9.3} ms  (target {} ms: {verdict})",
        s.median.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.max.as_secs_f64() * 1e3,
        target.as_millis(),
    );
}

/// Times `frame` ROUNDS times after one warm-up call.
fn bench(mut frame: impl FnMut()) -> Vec<Duration> {
    frame();
    (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            frame();
            t.elapsed()
        })
        .collect()
}

fn main() {
    let snap = resolve(&raw_scan(namespace_count(2_000), true));
    let first_target = Duration::from_millis(200);
    let frame_target = Duration::from_millis(10);
    println!(
        "{} namespaces, {} interfaces, {WIDTH}x{HEIGHT} cells",
        snap.namespaces.len(),
        snap.namespaces
            .iter()
            .map(|n| n.interfaces.len())
            .sum::<usize>()
    );

    let first: Vec<Duration> = (0..20)
        .map(|_| {
            let s = snap.clone();
            let mut t = terminal();
            let start = Instant::now();
            let app = new_app(s);
            draw(&mut t, &app);
            start.elapsed()
        })
        .collect();
    report("first frame (App::new + draw)", first_target, first);

    let mut app = new_app(snap.clone());
    let mut t = terminal();
    report(
        "frame, nothing changed",
        frame_target,
        bench(|| draw(&mut t, black_box(&app))),
    );

    let mut down = true;
    report(
        "frame after j/k in the namespaces pane",
        frame_target,
        bench(|| {
            app.update(if down { Action::Down } else { Action::Up });
            down = !down;
            draw(&mut t, &app);
        }),
    );

    app.update(Action::Top);
    app.update(Action::NextPane);
    report(
        "frame on the host (a veth per namespace)",
        frame_target,
        bench(|| {
            app.update(if down { Action::Down } else { Action::Up });
            down = !down;
            draw(&mut t, &app);
        }),
    );

    app.update(Action::ToggleBridges);
    report(
        "frame of the bridges tree (a port per namespace)",
        frame_target,
        bench(|| {
            app.update(if down {
                Action::PageDown
            } else {
                Action::PageUp
            });
            down = !down;
            draw(&mut t, &app);
        }),
    );
    app.update(Action::ToggleBridges);

    app.update(Action::StartFilter);
    let mut typed = false;
    report(
        "frame while typing a filter (refilters all)",
        frame_target,
        bench(|| {
            app.update(if typed {
                Action::FilterBackspace
            } else {
                Action::FilterChar('9')
            });
            typed = !typed;
            draw(&mut t, &app);
        }),
    );
    app.update(Action::FilterCancel);

    report(
        "refresh: new snapshot (diff, re-index) + draw",
        first_target,
        bench(|| {
            let now = Instant::now();
            app.update(Action::Scanned(Box::new(Ok(snap.clone())), now));
            draw(&mut t, &app);
        }),
    );
}
