//! Screens of the TUI at a fixed size, as insta snapshots: every view on the
//! demo snapshot, on a snapshot of hostile names (escape sequences, bidi
//! overrides, invalid UTF-8) that must come out escaped, never raw, and on
//! a host with layer 3 (`tests/fixtures/tui-l3.json`: web and db on the
//! host's bridge cni0, lab behind a routed veth without a route back) for
//! the routes in the details pane and path mode.
//! Review changes with `cargo insta review` (or INSTA_UPDATE=always).

use std::path::PathBuf;
use std::time::Instant;

use nsmap::Snapshot;
use nsmap::cli::Source;
use nsmap::name::needs_terminal_escape;
use nsmap::tui::{Action, App, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

const WIDTH: u16 = 140;
const HEIGHT: u16 = 36;

fn load(path: &str) -> Snapshot {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    serde_json::from_str(&text).expect("fixture parses")
}

fn demo() -> Snapshot {
    load("tests/fixtures/demo-l2.json")
}

fn hostile() -> Snapshot {
    load("tests/fixtures/hostile-tui.json")
}

fn app(snapshot: Snapshot, width: u16, height: u16) -> App {
    let mut app = App::new(
        snapshot,
        // What the status line names (the screens predate the fixture's
        // move out of assets/).
        Source::File(PathBuf::from("assets/demo.json")),
        Instant::now(),
    );
    app.update(Action::Resize { width, height });
    app
}

fn run(app: &mut App, actions: impl IntoIterator<Item = Action>) {
    for a in actions {
        app.update(a);
    }
}

fn draw(app: &App) -> Terminal<TestBackend> {
    // The hint line is the last row of the screen the app was sized to.
    let a = app.areas();
    let (w, h) = (a.hints.width, a.hints.y + a.hints.height);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal
        .draw(|f| f.render_widget(&View::new(app), f.area()))
        .expect("draw");
    assert_safe(terminal.backend().buffer());
    terminal
}

/// No cell may hold a character a terminal would interpret.
fn assert_safe(buf: &Buffer) {
    for cell in buf.content() {
        let s = cell.symbol();
        assert!(
            !s.chars().any(needs_terminal_escape),
            "raw control character reached the screen: {s:?}"
        );
    }
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn demo_app() -> App {
    app(demo(), WIDTH, HEIGHT)
}

#[test]
fn demo_start() {
    let t = draw(&demo_app());
    insta::assert_snapshot!(t.backend());
}

#[test]
fn demo_interface_with_peer_on_a_bridge() {
    let mut app = demo_app();
    // host, cache, db: db's eth0 is wired to a port of cni0.
    run(
        &mut app,
        [Action::Down, Action::Down, Action::NextPane, Action::Down],
    );
    let t = draw(&app);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn demo_after_following_the_wire() {
    let mut app = demo_app();
    run(
        &mut app,
        [
            Action::Down,
            Action::Down,
            Action::NextPane,
            Action::Down,
            Action::Follow,
        ],
    );
    let t = draw(&app);
    assert!(text(&t).contains("eth0 @ db → veth5b7e02d4 @ host"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn demo_bridges_tree() {
    let mut app = demo_app();
    run(&mut app, [Action::ToggleBridges]);
    let t = draw(&app);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn demo_help_overlay() {
    let mut app = demo_app();
    run(&mut app, [Action::Help]);
    insta::assert_snapshot!(draw(&app).backend());
}

#[test]
fn demo_warnings_overlay() {
    let mut app = demo_app();
    run(&mut app, [Action::Warnings]);
    insta::assert_snapshot!(draw(&app).backend());
}

#[test]
fn demo_doctor_overlay_without_a_doctor() {
    let mut app = demo_app();
    run(&mut app, [Action::Doctor]);
    let t = draw(&app);
    assert!(text(&t).contains("doctor findings are not available yet"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn demo_doctor_overlay_lists_the_findings() {
    let mut app = demo_app().with_doctor(nsmap::tui::finding::from_doctor);
    run(&mut app, [Action::Doctor]);
    let t = draw(&app);
    let screen = text(&t);
    assert!(
        screen.contains("NSM004") && screen.contains("eth0@cache"),
        "{screen}"
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn demo_typing_a_filter() {
    let mut app = demo_app();
    run(&mut app, [Action::StartFilter]);
    run(&mut app, "10.88".chars().map(Action::FilterChar));
    insta::assert_snapshot!(draw(&app).backend());
}

#[test]
fn demo_unprivileged_banner() {
    let mut s = demo();
    s.scan.privileged = false;
    for ns in s.namespaces.iter_mut().filter(|ns| !ns.current) {
        ns.scanned = false;
        ns.interfaces.clear();
    }
    let mut app = app(s, WIDTH, HEIGHT);
    run(&mut app, [Action::Down]);
    let t = draw(&app);
    assert!(text(&t).contains("recorded without root"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn demo_narrow_terminal() {
    let mut app = app(demo(), 80, 24);
    run(&mut app, [Action::NextPane, Action::Bottom]);
    insta::assert_snapshot!(draw(&app).backend());
}

#[test]
fn hostile_names_main_view() {
    let mut app = app(hostile(), WIDTH, HEIGHT);
    run(&mut app, [Action::NextPane, Action::Down, Action::Down]);
    let t = draw(&app);
    let shown = text(&t);
    assert!(shown.contains("\\x1b[31mevil"), "escaped form is shown");
    assert!(shown.contains("rtl\\u{202e}"), "{shown}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn hostile_names_namespace_details_and_warnings() {
    let mut app = app(hostile(), WIDTH, HEIGHT);
    run(&mut app, [Action::Down, Action::Warnings]);
    let t = draw(&app);
    assert!(text(&t).contains("\\x1b[31mred"));
    insta::assert_snapshot!(t.backend());
    run(&mut app, [Action::Escape]);
    let t = draw(&app);
    assert!(text(&t).contains("\\u{202e}evil-ns"));
    assert!(text(&t).contains("\\u{009b}comm"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn hostile_names_bridges_and_filter() {
    let mut app = app(hostile(), WIDTH, HEIGHT);
    run(&mut app, [Action::ToggleBridges, Action::StartFilter]);
    run(&mut app, "x1b".chars().map(Action::FilterChar));
    let t = draw(&app);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn colours_mark_state_selection_and_matches() {
    use ratatui::style::{Color, Modifier};
    let mut app = demo_app();
    run(&mut app, [Action::ToggleBridges, Action::Down]);
    let t = draw(&app);
    let buf = t.backend().buffer();
    // The cursor bar spans the row (row 2: first port of cni0), to the border.
    assert!(buf[(WIDTH - 2, 2)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(WIDTH - 2, 3)].modifier.contains(Modifier::REVERSED));
    // Operstates are traffic lights: the port is UP (green), its DOWN
    // sibling red.
    let find = |row: u16, text: &str| {
        let line: String = (0..WIDTH).map(|x| buf[(x, row)].symbol()).collect();
        let at = line.find(text).expect("text on row");
        u16::try_from(line[..at].chars().count()).expect("fits")
    };
    assert_eq!(buf[(find(2, "UP"), 2)].fg, Color::Green);
    assert_eq!(buf[(find(6, "DOWN"), 6)].fg, Color::Red);

    let mut app = demo_app();
    run(&mut app, [Action::StartFilter]);
    run(&mut app, "veth5b".chars().map(Action::FilterChar));
    let t = draw(&app);
    let buf = t.backend().buffer();
    let (x, y) = (0..HEIGHT)
        .find_map(|y| {
            let line: String = (0..WIDTH).map(|x| buf[(x, y)].symbol()).collect();
            line.find("veth5b7e02d4")
                .map(|at| (line[..at].chars().count(), y))
        })
        .expect("the match is on screen");
    let x = u16::try_from(x).expect("fits");
    assert_eq!(buf[(x, y)].bg, Color::Yellow, "matched text is highlighted");
    assert_ne!(buf[(x + 6, y)].bg, Color::Yellow, "the rest is not");
}

fn l3_app(height: u16) -> App {
    app(load("tests/fixtures/tui-l3.json"), WIDTH, height)
}

/// Selects the namespace labelled `label` in the namespaces pane.
fn goto_ns(app: &mut App, label: &str) {
    while app.focus() != nsmap::tui::app::Pane::Namespaces {
        app.update(Action::NextPane);
    }
    app.update(Action::Top);
    for _ in 0..app.snapshot().namespaces.len() {
        if app.selected_namespace().map(|n| n.label()) == Some(label.to_string()) {
            return;
        }
        app.update(Action::Down);
    }
    panic!("no namespace {label}");
}

/// Selects `ifname` of the namespace labelled `label`, in the interfaces pane.
fn goto_if(app: &mut App, label: &str, ifname: &str) {
    goto_ns(app, label);
    app.update(Action::NextPane);
    for _ in 0..app.selected_namespace().map_or(0, |n| n.interfaces.len()) {
        if app
            .selected_interface()
            .map(|i| i.ifname.as_str().to_string())
            == Some(ifname.into())
        {
            return;
        }
        app.update(Action::Down);
    }
    panic!("no interface {ifname} in {label}");
}

#[test]
fn l3_namespace_details_with_routes_rules_and_neighbours() {
    let mut app = l3_app(HEIGHT);
    goto_ns(&mut app, "db");
    let t = draw(&app);
    let screen = text(&t);
    assert!(
        screen.contains("100: from 10.88.0.3/32 lookup 100"),
        "{screen}"
    );
    assert!(screen.contains("Space: list them"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn l3_host_details_with_firewall_and_the_local_table_listed() {
    let mut app = l3_app(60);
    goto_ns(&mut app, "host");
    let t = draw(&app);
    let screen = text(&t);
    assert!(screen.contains("inet filter/input"), "{screen}");
    assert!(screen.contains("FAILED"));
    insta::assert_snapshot!(t.backend());
    run(&mut app, [Action::ToggleCollapse]);
    let t = draw(&app);
    assert!(text(&t).contains("broadcast 10.88.255.255 dev cni0"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn l3_interface_details_with_dad_netconf_and_routes_via_it() {
    let mut app = l3_app(HEIGHT);
    goto_if(&mut app, "web", "eth0");
    let t = draw(&app);
    let screen = text(&t);
    assert!(
        screen.contains("fd00::2/64  scope global tentative"),
        "{screen}"
    );
    assert!(screen.contains("routes via it"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn l3_hostile_interface_name_in_routes_is_escaped() {
    let mut app = l3_app(HEIGHT);
    goto_ns(&mut app, "lab");
    let t = draw(&app);
    assert!(
        text(&t).contains("dev ev\\x1b]0;pwn\\x07il"),
        "{}",
        text(&t)
    );
}

#[test]
fn path_marking_a_source() {
    let mut app = l3_app(HEIGHT);
    goto_ns(&mut app, "web");
    run(&mut app, [Action::MarkSource]);
    let t = draw(&app);
    let screen = text(&t);
    assert!(screen.contains("path from web"), "{screen}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn path_overlay_of_a_reachable_trace() {
    let mut app = l3_app(HEIGHT);
    goto_ns(&mut app, "web");
    run(&mut app, [Action::MarkSource]);
    goto_if(&mut app, "db", "eth0");
    run(&mut app, [Action::TraceToSelection]);
    let t = draw(&app);
    let screen = text(&t);
    assert!(screen.contains("reachable"), "{screen}");
    assert!(screen.contains("eth0@web → vethweb@host → cni0 → vethdb → eth0@db"));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn path_overlay_of_an_unreachable_trace() {
    let mut app = l3_app(HEIGHT);
    goto_if(&mut app, "web", "eth0");
    run(&mut app, [Action::MarkSource]);
    goto_if(&mut app, "lab", "eth0");
    run(&mut app, [Action::TraceToSelection]);
    let t = draw(&app);
    let screen = text(&t);
    assert!(
        screen.contains("unreachable (no_return_route) on the way back"),
        "{screen}"
    );
    assert!(screen.contains("fix"));
    // The drop row is red.
    let buf = t.backend().buffer();
    let (x, y) = (0..buf.area.height)
        .find_map(|y| {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            line.find(" drop ")
                .map(|at| (line[..at].chars().count() + 1, y))
        })
        .expect("a drop row");
    let x = u16::try_from(x).expect("fits");
    assert_eq!(buf[(x, y)].fg, ratatui::style::Color::Red);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn path_typing_an_address() {
    let mut app = l3_app(HEIGHT);
    goto_ns(&mut app, "web");
    run(&mut app, [Action::MarkSource, Action::StartAddress]);
    run(&mut app, "10.77.0.9".chars().map(Action::AddressChar));
    let t = draw(&app);
    assert!(text(&t).contains("path to: 10.77.0.9"));
    run(&mut app, [Action::AddressAccept]);
    let t = draw(&app);
    assert!(text(&t).contains("neighbour_unresolvable"), "{}", text(&t));
}

#[test]
fn path_jumping_to_a_hop_highlights_the_path() {
    let mut app = l3_app(HEIGHT);
    goto_ns(&mut app, "web");
    run(&mut app, [Action::MarkSource]);
    goto_if(&mut app, "lab", "eth0");
    run(
        &mut app,
        [Action::TraceToSelection, Action::Down, Action::Follow],
    );
    let t = draw(&app);
    let screen = text(&t);
    assert!(screen.contains("hop 2 of 4: host"), "{screen}");
    assert!(screen.contains("Interfaces of host"));
    insta::assert_snapshot!(t.backend());
}

/// The demo with counters read three times a second apart: web's eth0
/// streams, the host's end of it with it, one bridge port drops.
fn demo_with_traffic() -> App {
    let at = |step: u64| {
        let mut s = demo();
        for (n, ns) in s.namespaces.iter_mut().enumerate() {
            ns.stats_at_ns = Some(1_800_000_000_000_000_000 + step * 1_000_000_000);
            for i in &mut ns.interfaces {
                // A steady, distinct rate per interface, busier further down.
                let k = (n as u64 + 1) * 1000 + u64::from(i.ifindex);
                i.stats = Some(nsmap::snapshot::LinkStats {
                    rx_bytes: step * k * 1500 * (1 + step % 2),
                    tx_bytes: step * k * 700,
                    rx_packets: step * k,
                    tx_packets: step * k / 2,
                    tx_dropped: if i.ifindex == 4 { step * 3 } else { 0 },
                    ..nsmap::snapshot::LinkStats::default()
                });
                if ns.names.iter().any(|n| n.as_str() == "db") && i.ifindex == 2 {
                    use nsmap::snapshot::tc::{Netem, Qdisc, TcStats};
                    i.qdiscs = Some(vec![Qdisc {
                        kind: "netem".into(),
                        handle: "8001:".into(),
                        parent: "root".into(),
                        netem: Some(Netem {
                            limit: 1000,
                            delay_us: 50_000.0,
                            loss: 1.0,
                            ..Netem::default()
                        }),
                        stats: Some(TcStats {
                            bytes: step * 1_000_000,
                            packets: step * 1000,
                            drops: 3,
                            ..TcStats::default()
                        }),
                        ..Qdisc::default()
                    }]);
                }
            }
        }
        s
    };
    let mut app = app(at(0), WIDTH, HEIGHT);
    for step in 1..=3 {
        app.update(Action::Scanned(Box::new(Ok(at(step))), Instant::now()));
    }
    app
}

#[test]
fn traffic_columns_totals_and_sparklines() {
    let mut app = demo_with_traffic();
    run(
        &mut app,
        [Action::Down, Action::Down, Action::NextPane, Action::Down],
    );
    let terminal = draw(&app);
    assert_safe(terminal.backend().buffer());
    insta::assert_snapshot!(text(&terminal));
    // The details' traffic section: rates, sparklines, counters.
    run(&mut app, [Action::NextPane]);
    run(&mut app, std::iter::repeat_n(Action::Down, 24));
    insta::assert_snapshot!("traffic_details", text(&draw(&app)));
    // Sorted by traffic: the busiest namespace first.
    run(&mut app, [Action::PrevPane, Action::PrevPane]);
    run(&mut app, std::iter::repeat_n(Action::CycleSort, 4));
    insta::assert_snapshot!("traffic_sorted", text(&draw(&app)));
}
