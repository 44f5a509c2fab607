//! The `nsmap top` screen at fixed sizes, as insta snapshots of a
//! `TestBackend`, from a fixed pair of samples: three namespaces (one a
//! pod, one holding an interface whose name carries an escape sequence,
//! which must show escaped), one interface busy, one dropping.
//! Review changes with `cargo insta review` (or INSTA_UPDATE=always).

use std::time::Duration;

use nsmap::name::{Name, needs_terminal_escape};
use nsmap::rates::{Reading, Sample, SortKey};
use nsmap::snapshot::LinkStats;
use nsmap::sys::sample::Tick;
use nsmap::tui::top::{TopAction, TopApp, TopView};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// (netns, label, ifindex, ifname, rx bytes, tx bytes, rx packets, tx packets, rx dropped)
type Row = (
    u64,
    &'static str,
    u32,
    &'static str,
    u64,
    u64,
    u64,
    u64,
    u64,
);

const BEFORE: &[Row] = &[
    (4026531840, "host", 1, "lo", 0, 0, 0, 0, 0),
    (4026531840, "host", 2, "eth0", 1_000, 2_000, 10, 20, 0),
    (4026531840, "host", 7, "veth1a2b", 0, 0, 0, 0, 0),
    (4026532001, "default/web-7d9f", 1, "lo", 0, 0, 0, 0, 0),
    (4026532001, "default/web-7d9f", 2, "eth0", 0, 0, 0, 0, 0),
    (4026532002, "evil", 1, "lo", 0, 0, 0, 0, 0),
    (4026532002, "evil", 3, "\x1b[31mred", 0, 0, 0, 0, 0),
];

/// Two seconds later: web receives ~2.5 MiB/s through veth1a2b, evil's
/// interface drops.
const AFTER: &[Row] = &[
    (4026531840, "host", 1, "lo", 200, 200, 2, 2, 0),
    (4026531840, "host", 2, "eth0", 41_000, 82_000, 50, 60, 0),
    (
        4026531840, "host", 7, "veth1a2b", 400_000, 5_242_880, 6_000, 3_600, 0,
    ),
    (4026532001, "default/web-7d9f", 1, "lo", 0, 0, 0, 0, 0),
    (
        4026532001,
        "default/web-7d9f",
        2,
        "eth0",
        5_242_880,
        400_000,
        3_600,
        6_000,
        0,
    ),
    (4026532002, "evil", 1, "lo", 0, 0, 0, 0, 0),
    (4026532002, "evil", 3, "\x1b[31mred", 3_000, 0, 30, 0, 9),
];

fn tick(at_s: u64, rows: &[Row]) -> Box<Tick> {
    let at_ns = at_s * 1_000_000_000;
    Box::new(Tick {
        sample: Sample {
            readings: rows
                .iter()
                .map(
                    |&(netns, label, ifindex, ifname, rxb, txb, rxp, txp, rxd)| Reading {
                        netns,
                        netns_id: Some(netns - 4026531000),
                        ifindex,
                        ifname: Name::from(ifname),
                        label: label.into(),
                        at_ns,
                        stats: LinkStats {
                            rx_bytes: rxb,
                            tx_bytes: txb,
                            rx_packets: rxp,
                            tx_packets: txp,
                            rx_dropped: rxd,
                            ..LinkStats::default()
                        },
                    },
                )
                .collect(),
        },
        at_ns,
        namespaces: 3,
        ..Tick::default()
    })
}

fn app(width: u16, height: u16, actions: impl IntoIterator<Item = TopAction>) -> TopApp {
    let mut app = TopApp::new(Duration::from_secs(2), SortKey::Total, false);
    app.update(TopAction::Resize { width, height });
    app.update(TopAction::Sampled(tick(100, BEFORE)));
    app.update(TopAction::Sampled(tick(102, AFTER)));
    for a in actions {
        app.update(a);
    }
    app
}

fn draw(app: &TopApp) -> Terminal<TestBackend> {
    let mut terminal =
        Terminal::new(TestBackend::new(app.width, app.height)).expect("test backend");
    terminal
        .draw(|f| f.render_widget(&TopView::new(app), f.area()))
        .expect("draw");
    for cell in terminal.backend().buffer().content() {
        assert!(
            !cell.symbol().chars().any(needs_terminal_escape),
            "raw control character reached the screen: {:?}",
            cell.symbol()
        );
    }
    terminal
}

#[test]
fn top_wide() {
    let t = draw(&app(100, 20, []));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn top_narrow() {
    let t = draw(&app(60, 12, []));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn top_sorted_by_drops_in_bits_paused() {
    let t = draw(&app(
        100,
        20,
        [
            TopAction::CycleSort,
            TopAction::ToggleBits,
            TopAction::TogglePause,
        ],
    ));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn top_filtered_while_typing() {
    let mut actions = vec![TopAction::FilterStart];
    actions.extend("\\x1b".chars().map(TopAction::FilterChar));
    let t = draw(&app(100, 20, actions));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn top_narrow_paused() {
    let t = draw(&app(60, 12, [TopAction::TogglePause]));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn top_scrolled_on_a_short_screen() {
    let t = draw(&app(60, 8, [TopAction::PageDown]));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn top_before_the_first_interval() {
    let mut app = TopApp::new(Duration::from_secs(1), SortKey::Total, false);
    app.update(TopAction::Resize {
        width: 60,
        height: 12,
    });
    app.update(TopAction::Sampled(tick(100, BEFORE)));
    let t = draw(&app);
    insta::assert_snapshot!(t.backend());
}
