//! `App::update` on the demo snapshot: follow the wire, filter, refresh.
//! Time is an input (`Instant`s built by addition), so nothing sleeps.

use std::time::{Duration, Instant};

use super::*;
use crate::name::Name;
use crate::snapshot::{Interface, Namespace};
use crate::tui::layout;

fn demo() -> Snapshot {
    serde_json::from_str(include_str!("../../../tests/fixtures/demo-l2.json")).expect("demo parses")
}

fn app() -> App {
    let mut app = App::new(demo(), Source::Live, Instant::now());
    app.update(Action::Resize {
        width: 160,
        height: 48,
    });
    app
}

/// Puts the selection on `ifname` in the namespace labelled `ns`.
fn select(app: &mut App, ns: &str, ifname: &str) {
    let n = (0..app.model.namespaces().len())
        .find(|&n| app.model.label(n) == ns)
        .expect("namespace exists");
    let i = app.model.namespaces()[n]
        .interfaces
        .iter()
        .position(|i| i.ifname.as_str() == ifname)
        .expect("interface exists");
    app.select(n, Some(i));
    app.focus = Pane::Namespaces;
    app.update(Action::NextPane);
    assert_eq!(app.focus(), Pane::Interfaces);
}

/// `ifname@label` of the selection.
fn at(app: &App) -> String {
    let ns = app
        .selected_namespace()
        .map_or("-".into(), Namespace::label);
    let iface = app
        .selected_interface()
        .map_or("-".into(), |i| i.ifname.as_str().to_string());
    format!("{iface}@{ns}")
}

fn type_filter(app: &mut App, text: &str) {
    app.update(Action::StartFilter);
    for c in text.chars() {
        app.update(Action::FilterChar(c));
    }
}

#[test]
fn starts_on_its_own_namespace() {
    let app = app();
    assert_eq!(
        app.selected_namespace().map(Namespace::label),
        Some("host".into())
    );
    assert_eq!(app.focus(), Pane::Namespaces);
}

#[test]
fn follow_the_wire_across_namespaces_and_back() {
    let mut app = app();
    select(&mut app, "web", "eth0");
    app.update(Action::Follow);
    assert_eq!(at(&app), "veth3f2a91c0@host");
    assert_eq!(app.focus(), Pane::Interfaces);
    assert!(app.message().is_some_and(|m| !m.error));
    // The peer's peer is where we started: a second jump, a deeper history.
    app.update(Action::Follow);
    assert_eq!(at(&app), "eth0@web");
    app.update(Action::Back);
    assert_eq!(at(&app), "veth3f2a91c0@host");
    app.update(Action::Back);
    assert_eq!(at(&app), "eth0@web");
    app.update(Action::Back);
    assert_eq!(at(&app), "eth0@web", "an empty history stays put");
}

#[test]
fn follow_a_direct_veth_between_two_containers() {
    let mut app = app();
    select(&mut app, "db", "backend0");
    app.update(Action::Follow);
    assert_eq!(at(&app), "backend0@cache");
}

#[test]
fn follow_a_macvlan_to_its_lower_device() {
    let mut app = app();
    select(&mut app, "web", "ext0");
    app.update(Action::Follow);
    assert_eq!(at(&app), "br-ext@host");
}

#[test]
fn follow_on_an_interface_without_a_wire_says_why() {
    let mut app = app();
    select(&mut app, "db", "lo");
    app.update(Action::Follow);
    assert_eq!(at(&app), "lo@db");
    assert!(
        app.message()
            .is_some_and(|m| m.error && m.text.contains("no other end"))
    );
}

#[test]
fn go_to_master_then_back() {
    let mut app = app();
    select(&mut app, "host", "veth5b7e02d4");
    app.update(Action::GotoMaster);
    assert_eq!(at(&app), "cni0@host");
    app.update(Action::Back);
    assert_eq!(at(&app), "veth5b7e02d4@host");
}

#[test]
fn filter_narrows_namespaces_and_n_steps_through_matches() {
    let mut app = app();
    type_filter(&mut app, "backend");
    assert_eq!(app.mode(), Mode::Filter);
    app.update(Action::FilterAccept);
    assert_eq!(app.mode(), Mode::Normal);
    let shown: Vec<String> = app.shown_namespaces().map(Namespace::label).collect();
    assert_eq!(shown, ["cache", "db"]);
    assert_eq!(app.match_count(), 2);
    assert_eq!(at(&app), "backend0@cache", "typing selects the first match");
    app.update(Action::NextMatch);
    assert_eq!(at(&app), "backend0@db");
    app.update(Action::NextMatch);
    assert_eq!(at(&app), "backend0@cache", "n wraps around");
    app.update(Action::PrevMatch);
    assert_eq!(at(&app), "backend0@db", "N wraps around backwards");
    app.update(Action::Escape);
    assert!(app.filter().is_none());
    assert_eq!(app.shown_namespaces().count(), 5);
    assert_eq!(at(&app), "backend0@db", "clearing keeps the selection");
}

#[test]
fn filter_matches_addresses_macs_pids_and_inodes() {
    for (query, expect) in [
        ("10.88.0.3", "eth0@db"),
        ("46:33:eb", "eth0@sleep(5945)"),
        ("5945", "lo@sleep(5945)"),
        ("4026532247", "lo@cache"),
    ] {
        let mut app = app();
        type_filter(&mut app, query);
        app.update(Action::FilterAccept);
        assert_eq!(at(&app), expect, "/{query}");
    }
}

#[test]
fn cancelling_a_filter_restores_filter_and_selection() {
    let mut app = app();
    select(&mut app, "web", "ext0");
    type_filter(&mut app, "cache");
    assert_eq!(
        app.selected_namespace().map(Namespace::label),
        Some("cache".into())
    );
    app.update(Action::FilterCancel);
    assert!(app.filter().is_none());
    assert_eq!(at(&app), "ext0@web");
}

#[test]
fn a_jump_clears_a_filter_that_hides_its_target() {
    let mut app = app();
    type_filter(&mut app, "web");
    app.update(Action::FilterAccept);
    select(&mut app, "web", "eth0");
    app.update(Action::Follow);
    assert_eq!(at(&app), "veth3f2a91c0@host");
    assert!(app.filter().is_none());
}

/// The demo with `web` gone, a new namespace `aaa` sorted first, and the
/// MTU of db's backend0 changed.
fn rescanned() -> Snapshot {
    let mut s = demo();
    s.namespaces
        .retain(|ns| ns.names.first().map(Name::as_str) != Some("web"));
    s.namespaces.push(Namespace {
        inode: 4026530000,
        id: Some(9000),
        names: vec![Name::from("aaa")],
        scanned: true,
        interfaces: vec![Interface {
            ifindex: 1,
            ifname: Name::from("lo"),
            ..Interface::default()
        }],
        ..Namespace::default()
    });
    s.namespaces.sort_by_key(|ns| ns.inode);
    let db = s
        .namespaces
        .iter_mut()
        .find(|ns| ns.names.first().map(Name::as_str) == Some("db"))
        .expect("db");
    db.interfaces[2].mtu = 9000;
    s
}

#[test]
fn selection_is_kept_across_a_refresh_where_namespaces_came_and_went() {
    let t0 = Instant::now();
    let mut app = App::new(demo(), Source::Live, t0);
    select(&mut app, "db", "backend0");
    assert_eq!(app.update(Action::Refresh), Effect::Rescan);
    assert_eq!(
        app.update(Action::Refresh),
        Effect::None,
        "one scan at a time"
    );
    let t1 = t0 + Duration::from_secs(1);
    app.update(Action::Scanned(Box::new(Ok(rescanned())), t1));
    assert!(!app.scanning);
    assert_eq!(at(&app), "backend0@db");
    let labels: Vec<String> = app.shown_namespaces().map(Namespace::label).collect();
    assert_eq!(labels, ["host", "aaa", "cache", "db", "sleep(5945)"]);
    let db = app.selected_namespace().expect("db").inode;
    assert!(app.ns_changed(db) && app.if_changed(db, 3));
    assert!(app.ns_changed(4026530000), "a new namespace is highlighted");
    assert!(!app.if_changed(db, 1), "unchanged rows are not");
    assert!(
        app.message()
            .is_some_and(|m| m.text.contains("+1 namespace, -1 namespace"))
    );
    app.update(Action::Tick(t1 + HIGHLIGHT));
    assert!(!app.ns_changed(db), "the highlight fades with time");
}

#[test]
fn a_vanished_namespace_leaves_the_cursor_on_its_row() {
    let mut app = app();
    select(&mut app, "web", "eth0");
    let row = app.ns_cursor;
    let now = app.now;
    app.update(Action::Scanned(Box::new(Ok(rescanned())), now));
    assert_eq!(app.ns_cursor, row);
    assert_eq!(at(&app), "lo@sleep(5945)");
    assert!(app.message().is_some_and(|m| m.text.contains("gone")));
}

#[test]
fn back_into_a_vanished_namespace_says_so() {
    let mut app = app();
    select(&mut app, "web", "eth0");
    app.update(Action::Follow);
    let now = app.now;
    app.update(Action::Scanned(Box::new(Ok(rescanned())), now));
    assert_eq!(at(&app), "veth3f2a91c0@host");
    app.update(Action::Back);
    assert_eq!(at(&app), "veth3f2a91c0@host");
    assert!(
        app.message()
            .is_some_and(|m| m.error && m.text.contains("gone"))
    );
}

#[test]
fn a_reused_inode_is_a_different_namespace() {
    let mut app = app();
    select(&mut app, "db", "eth0");
    let mut s = demo();
    for ns in &mut s.namespaces {
        if ns.names.first().map(Name::as_str) == Some("db") {
            ns.id = Some(77);
            ns.names = vec![Name::from("db2")];
        }
    }
    let now = app.now;
    app.update(Action::Scanned(Box::new(Ok(s)), now));
    assert!(
        app.message()
            .is_some_and(|m| m.text.contains("+1 namespace, -1 namespace"))
    );
}

#[test]
fn a_failed_rescan_keeps_the_map() {
    let mut app = app();
    app.update(Action::Refresh);
    let now = app.now;
    app.update(Action::Scanned(Box::new(Err("boom".into())), now));
    assert_eq!(app.snapshot(), &demo());
    assert!(
        app.message()
            .is_some_and(|m| m.error && m.text.contains("boom"))
    );
    assert!(!app.scanning);
}

#[test]
fn escape_closes_layers_one_at_a_time_then_quits() {
    let mut app = app();
    type_filter(&mut app, "db");
    app.update(Action::FilterAccept);
    app.update(Action::ToggleBridges);
    app.update(Action::Help);
    assert_eq!(app.mode(), Mode::Overlay);
    assert_eq!(app.update(Action::Escape), Effect::None);
    assert_eq!(app.overlay(), None);
    assert_eq!(app.update(Action::Escape), Effect::None);
    assert_eq!(app.screen(), Screen::Main);
    assert_eq!(app.update(Action::Escape), Effect::None);
    assert!(app.filter().is_none());
    assert_eq!(app.update(Action::Escape), Effect::Quit);
}

#[test]
fn bridges_tree_jumps_to_what_is_plugged_in_and_back() {
    let mut app = app();
    app.update(Action::ToggleBridges);
    assert_eq!(app.screen(), Screen::Bridges);
    // cni0, its first port veth3f2a91c0, then that port's other end.
    app.update(Action::Down);
    app.update(Action::Down);
    assert!(matches!(app.tree[app.tree_cursor], TreeRow::End { .. }));
    app.update(Action::Follow);
    assert_eq!(app.screen(), Screen::Main);
    assert_eq!(at(&app), "eth0@web");
    app.update(Action::Back);
    assert_eq!(app.screen(), Screen::Bridges);
    assert_eq!(app.tree_cursor, 2);
}

#[test]
fn folding_a_bridge_hides_its_ports() {
    let mut app = app();
    app.update(Action::ToggleBridges);
    let before = app.tree.len();
    app.update(Action::Down);
    app.update(Action::ToggleCollapse);
    assert_eq!(app.tree_cursor, 0, "the cursor moves to the folded bridge");
    assert!(app.tree.len() < before);
    app.update(Action::ToggleCollapse);
    assert_eq!(app.tree.len(), before);
}

#[test]
fn clicking_a_row_selects_it() {
    let mut app = app();
    let a = app.areas();
    let second = layout::table_top(a.namespaces) + 1;
    app.update(Action::Click {
        column: a.namespaces.x + 3,
        row: second,
    });
    assert_eq!(app.ns_cursor, 1);
    assert_eq!(app.focus(), Pane::Namespaces);
    let first_iface = layout::table_top(a.interfaces);
    app.update(Action::Click {
        column: a.interfaces.x + 3,
        row: first_iface,
    });
    assert_eq!(app.focus(), Pane::Interfaces);
    assert_eq!(app.if_cursor, 0);
}

#[test]
fn moving_keeps_the_cursor_in_view_on_small_screens() {
    let mut app = app();
    app.update(Action::Resize {
        width: 80,
        height: 14,
    });
    select(&mut app, "host", "lo");
    app.update(Action::Bottom);
    let rows = layout::table_rows(app.areas().interfaces);
    assert!(app.if_cursor >= app.if_offset && app.if_cursor < app.if_offset + rows);
    app.update(Action::Top);
    assert_eq!(app.if_offset, 0);
}

#[test]
fn sorting_keeps_the_selection() {
    let mut app = app();
    select(&mut app, "db", "eth0");
    app.update(Action::CycleSort);
    app.update(Action::ReverseSort);
    assert_eq!(at(&app), "eth0@db");
}

#[test]
fn doctor_findings_can_be_plugged_in_and_followed() {
    fn doctor(s: &Snapshot) -> Vec<crate::tui::Finding> {
        let cache = s
            .namespaces
            .iter()
            .find(|ns| ns.names.first().map(Name::as_str) == Some("cache"))
            .expect("cache");
        vec![crate::tui::Finding {
            code: "veth_down".into(),
            severity: crate::tui::Severity::Warning,
            message: "eth0 in cache is down".into(),
            link: Some(crate::query::self_ref(cache, &cache.interfaces[1])),
        }]
    }
    let mut app = app().with_doctor(doctor);
    app.update(Action::Doctor);
    app.update(Action::Follow);
    assert_eq!(app.overlay(), None);
    assert_eq!(at(&app), "eth0@cache");
}

/// Every action, in a long pseudo-random sequence, on the demo, an empty
/// map and the hostile fixture, at sizes down to nothing: no panic, and
/// every frame draws.
#[test]
fn no_action_sequence_panics_at_any_size() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    let actions = |t: Instant| {
        vec![
            Action::Up,
            Action::Down,
            Action::PageUp,
            Action::PageDown,
            Action::Top,
            Action::Bottom,
            Action::NextPane,
            Action::PrevPane,
            Action::Follow,
            Action::GotoMaster,
            Action::Back,
            Action::ToggleBridges,
            Action::ToggleCollapse,
            Action::CycleSort,
            Action::ReverseSort,
            Action::StartFilter,
            Action::FilterChar('e'),
            Action::FilterChar('0'),
            Action::FilterBackspace,
            Action::FilterAccept,
            Action::FilterCancel,
            Action::NextMatch,
            Action::PrevMatch,
            Action::Refresh,
            Action::Help,
            Action::Warnings,
            Action::Doctor,
            Action::Escape,
            Action::Click { column: 5, row: 4 },
            Action::Click {
                column: 60,
                row: 30,
            },
            Action::ScrollDown { column: 60, row: 8 },
            Action::ScrollUp { column: 2, row: 2 },
            Action::Tick(t + Duration::from_secs(5)),
            Action::Scanned(Box::new(Ok(rescanned())), t),
            Action::Scanned(Box::new(Ok(demo())), t),
            Action::Scanned(Box::new(Ok(l3())), t),
            Action::MarkSource,
            Action::MarkSource,
            Action::TraceToSelection,
            Action::TraceToSelection,
            Action::StartAddress,
            Action::AddressChar('1'),
            Action::AddressChar('.'),
            Action::AddressChar(':'),
            Action::AddressBackspace,
            Action::AddressAccept,
            Action::AddressCancel,
            Action::Click {
                column: 30,
                row: 12,
            },
        ]
    };
    let empty = Snapshot {
        namespaces: vec![],
        warnings: vec![],
        ..demo()
    };
    let hostile: Snapshot =
        serde_json::from_str(include_str!("../../../tests/fixtures/hostile-tui.json"))
            .expect("parses");
    for snapshot in [demo(), empty, hostile, l3()] {
        for (width, height) in [(0, 0), (12, 4), (100, 24)] {
            let t0 = Instant::now();
            let mut app = App::new(snapshot.clone(), Source::Live, t0);
            app.update(Action::Resize { width, height });
            let list = actions(t0);
            let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
            let mut terminal =
                Terminal::new(TestBackend::new(width, height)).expect("test backend");
            for _ in 0..150 {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let pick = usize::try_from(seed >> 33).expect("fits") % list.len();
                if app.update(list[pick].clone()) == Effect::Quit {
                    continue;
                }
                terminal
                    .draw(|f| f.render_widget(&crate::tui::View::new(&app), f.area()))
                    .expect("draw");
            }
        }
    }
}

// Space in the bridges view of a map without bridges indexed an empty tree.
#[test]
fn folding_in_a_map_without_bridges_does_nothing() {
    let mut s = demo();
    s.namespaces.retain(|ns| !ns.host);
    let mut app = App::new(s, Source::Live, Instant::now());
    app.update(Action::ToggleBridges);
    assert!(app.tree.is_empty());
    app.update(Action::ToggleCollapse);
    assert!(app.tree.is_empty());
}

#[test]
fn enter_on_a_warning_goes_to_its_namespace() {
    let hostile: Snapshot =
        serde_json::from_str(include_str!("../../../tests/fixtures/hostile-tui.json"))
            .expect("parses");
    let inode = hostile.warnings[0]
        .netns
        .expect("warning names a namespace");
    let mut app = App::new(hostile, Source::Live, Instant::now());
    app.update(Action::Warnings);
    app.update(Action::Follow);
    assert_eq!(app.overlay(), None);
    assert_eq!(app.selected_namespace().map(|n| n.inode), Some(inode));
    app.update(Action::Back);
    assert!(app.selected_namespace().is_some_and(|n| n.current));
}

// Path mode, on a host with layer 3: web and db on bridge cni0 of the
// host, lab behind a routed veth (and without a route back).

fn l3() -> Snapshot {
    serde_json::from_str(include_str!("../../../tests/fixtures/tui-l3.json")).expect("parses")
}

fn l3_app() -> App {
    let mut app = App::new(l3(), Source::Live, Instant::now());
    app.update(Action::Resize {
        width: 160,
        height: 48,
    });
    app
}

/// Selects the namespace labelled `ns` in the namespaces pane.
fn select_ns(app: &mut App, ns: &str) {
    let n = (0..app.model.namespaces().len())
        .find(|&n| app.model.label(n) == ns)
        .expect("namespace exists");
    app.select(n, None);
    app.focus = Pane::Namespaces;
    app.update(Action::Tick(app.now));
    assert_eq!(app.subject, Pane::Namespaces);
}

fn message(app: &App) -> String {
    app.message().map_or_else(String::new, |m| m.text.clone())
}

#[test]
fn mark_then_p_on_an_interface_traces_to_its_first_global_address() {
    let mut app = l3_app();
    select_ns(&mut app, "web");
    app.update(Action::MarkSource);
    assert!(app.path_source().is_some_and(|s| s.ifindex.is_none()));
    assert!(
        message(&app).contains("path source web"),
        "{}",
        message(&app)
    );
    select(&mut app, "db", "eth0");
    app.update(Action::TraceToSelection);
    assert_eq!(app.overlay(), Some(Overlay::Path));
    let last = app.last_trace().expect("traced");
    assert_eq!(last.trace.dst.address.to_string(), "10.88.0.3");
    assert!(last.target.how.contains("eth0@db"), "{}", last.target.how);
    assert_eq!(last.trace.verdict, crate::path::Verdict::Reachable);
    assert!(message(&app).contains("reachable"));
}

#[test]
fn p_without_a_source_says_to_mark_one() {
    let mut app = l3_app();
    select(&mut app, "db", "eth0");
    app.update(Action::TraceToSelection);
    assert_eq!(app.overlay(), None);
    assert!(
        app.message()
            .is_some_and(|m| m.error && m.text.contains("mark a source"))
    );
    app.update(Action::StartAddress);
    assert_eq!(app.mode(), Mode::Normal, "no address line without a source");
}

#[test]
fn m_on_the_source_clears_it_and_elsewhere_moves_it() {
    let mut app = l3_app();
    select_ns(&mut app, "web");
    app.update(Action::MarkSource);
    select(&mut app, "db", "eth0");
    app.update(Action::MarkSource);
    let source = app.path_source().expect("moved");
    assert!(
        source.ifindex.is_some(),
        "an interface source is bound to it"
    );
    assert!(
        message(&app).contains("moved to eth0@db"),
        "{}",
        message(&app)
    );
    app.update(Action::MarkSource);
    assert_eq!(app.path_source(), None);
}

#[test]
fn a_bound_source_sends_by_its_interface() {
    let mut app = l3_app();
    select(&mut app, "web", "eth0");
    app.update(Action::MarkSource);
    select(&mut app, "lab", "eth0");
    app.update(Action::TraceToSelection);
    let t = &app.last_trace().expect("traced").trace;
    assert_eq!(
        t.forward[0].out.as_ref().map(|r| r.name_or_index()),
        Some("eth0".to_string())
    );
    assert_eq!(t.verdict, crate::path::Verdict::Unreachable);
    assert_eq!(t.code, Some(crate::path::Code::NoReturnRoute));
}

#[test]
fn typing_an_address_traces_to_it_and_a_bad_one_is_refused_in_place() {
    let mut app = l3_app();
    select_ns(&mut app, "web");
    app.update(Action::MarkSource);
    app.update(Action::StartAddress);
    assert_eq!(app.mode(), Mode::Address);
    for c in "10.77.0.x".chars() {
        app.update(Action::AddressChar(c));
    }
    app.update(Action::AddressAccept);
    assert_eq!(app.mode(), Mode::Address, "the line stays open to be fixed");
    assert!(
        app.address_typing()
            .is_some_and(|(_, e)| e.is_some_and(|e| e.contains("not an IP address")))
    );
    app.update(Action::AddressBackspace);
    assert_eq!(app.address_typing().map(|(_, e)| e), Some(None));
    app.update(Action::AddressChar('9'));
    app.update(Action::AddressAccept);
    assert_eq!(app.mode(), Mode::Overlay);
    let t = &app.last_trace().expect("traced").trace;
    assert_eq!(t.dst.address.to_string(), "10.77.0.9");
    assert_eq!(t.code, Some(crate::path::Code::NeighbourUnresolvable));
}

#[test]
fn escape_cancels_the_address_then_clears_the_path() {
    let mut app = l3_app();
    select_ns(&mut app, "web");
    app.update(Action::MarkSource);
    app.update(Action::StartAddress);
    app.update(Action::AddressChar('1'));
    assert_eq!(app.update(Action::Escape), Effect::None);
    assert_eq!(app.mode(), Mode::Normal);
    assert!(app.path_source().is_some(), "cancelling keeps the source");
    select(&mut app, "db", "eth0");
    app.update(Action::TraceToSelection);
    assert_eq!(app.update(Action::Escape), Effect::None);
    assert_eq!(app.overlay(), None, "first the overlay closes");
    assert!(app.last_trace().is_some(), "its hops stay highlighted");
    assert_eq!(app.update(Action::Escape), Effect::None);
    assert!(app.path_source().is_none() && app.last_trace().is_none());
    assert_eq!(app.update(Action::Escape), Effect::Quit);
}

#[test]
fn enter_on_a_hop_goes_there_and_back_returns_to_the_path() {
    let mut app = l3_app();
    select_ns(&mut app, "web");
    app.update(Action::MarkSource);
    select(&mut app, "db", "eth0");
    app.update(Action::TraceToSelection);
    // Hop 2: the host bridges the frame from vethweb to vethdb.
    app.update(Action::Down);
    app.update(Action::Follow);
    assert_eq!(app.overlay(), None);
    assert_eq!(at(&app), "vethweb@host", "the interface it came in by");
    assert_eq!(app.focus(), Pane::Interfaces);
    app.update(Action::Back);
    assert_eq!(app.overlay(), Some(Overlay::Path));
    assert_eq!(app.overlay_cursor, 1, "the same hop is selected");
    assert_eq!(at(&app), "eth0@db");
    // The first hop has no way in: its way out is selected.
    app.update(Action::Top);
    app.update(Action::Follow);
    assert_eq!(at(&app), "eth0@web");
}

#[test]
fn a_rescan_traces_the_path_again_and_says_when_its_source_is_gone() {
    let mut app = l3_app();
    select_ns(&mut app, "web");
    app.update(Action::MarkSource);
    select(&mut app, "lab", "eth0");
    app.update(Action::TraceToSelection);
    assert_eq!(
        app.last_trace().map(|l| l.trace.verdict),
        Some(crate::path::Verdict::Unreachable)
    );
    // lab gets its route back: the retrace on the new snapshot says so.
    let mut fixed = l3();
    let lab = fixed
        .namespaces
        .iter_mut()
        .find(|n| n.label() == "lab")
        .expect("lab");
    let mut back = lab
        .routes
        .as_ref()
        .and_then(|r| r.iter().find(|r| r.table == 254))
        .cloned()
        .expect("a main route");
    back.dst = "0.0.0.0/0".into();
    back.gateway = Some("10.77.0.1".parse().expect("ip"));
    back.scope = "global".into();
    back.prefsrc = None;
    back.protocol = "boot".into();
    lab.routes.get_or_insert_with(Vec::new).push(back);
    let now = app.now;
    app.update(Action::Scanned(Box::new(Ok(fixed)), now));
    assert_eq!(
        app.last_trace().map(|l| l.trace.verdict),
        Some(crate::path::Verdict::Reachable)
    );
    assert!(
        message(&app).contains("path retraced: reachable"),
        "{}",
        message(&app)
    );
    // web vanishes: so do the source and its trace, with a word why.
    let mut gone = l3();
    gone.namespaces.retain(|n| n.label() != "web");
    app.update(Action::Scanned(Box::new(Ok(gone)), now));
    assert!(app.path_source().is_none() && app.last_trace().is_none());
    assert_eq!(app.overlay(), None);
    assert!(
        app.message()
            .is_some_and(|m| m.error && m.text.contains("path source is gone"))
    );
}

#[test]
fn space_lists_the_local_tables_routes() {
    let mut app = l3_app();
    select_ns(&mut app, "host");
    let folded = crate::tui::view::details::lines(&app).len();
    app.update(Action::ToggleCollapse);
    let listed = crate::tui::view::details::lines(&app).len();
    assert!(listed > folded + 3, "{folded} → {listed}");
    app.update(Action::ToggleCollapse);
    assert_eq!(crate::tui::view::details::lines(&app).len(), folded);
}

#[test]
fn a_namespace_without_layer3_says_not_read_rather_than_none() {
    let app = app();
    let text: String = crate::tui::view::details::lines(&app)
        .iter()
        .flat_map(|l| l.spans.iter().map(|s| s.content.to_string()))
        .collect();
    assert!(text.contains("not read (run as root / recorded without layer 3)"));
}

#[test]
fn c_captures_the_selected_interface_and_c_again_stops() {
    let mut app = app();
    let (n, i) = (0..app.model.namespaces().len())
        .find_map(|n| {
            let i = app.model.namespaces()[n]
                .interfaces
                .iter()
                .position(|i| i.kind_is("veth"))?;
            Some((n, i))
        })
        .expect("the demo has a veth");
    let (ns, ifname) = (
        app.model.label(n).to_string(),
        app.model.namespaces()[n].interfaces[i]
            .ifname
            .as_str()
            .to_string(),
    );
    select(&mut app, &ns, &ifname);
    let want = (
        app.selected_namespace().map(|n| n.inode),
        app.selected_interface().map(|i| i.ifindex),
    );
    match app.update(Action::Capture { both: true }) {
        Effect::Capture {
            netns,
            ifindex,
            both,
        } => assert_eq!((Some(netns), Some(ifindex), both), (want.0, want.1, true)),
        other => panic!("{other:?}"),
    }
    // Under way (the loop reports its status): `c` stops it.
    app.update(Action::CaptureStatus(Some("capturing x".into())));
    assert_eq!(
        app.update(Action::Capture { both: false }),
        Effect::StopCapture
    );
    app.update(Action::CaptureEnded(Ok("capture saved: f".into())));
    assert_eq!(message(&app), "capture saved: f");
    assert!(app.capture.is_none());
    // A recorded file has no packets.
    let mut file = App::new(demo(), Source::File("x.json".into()), Instant::now());
    assert_eq!(file.update(Action::Capture { both: false }), Effect::None);
    assert!(message(&file).contains("live host"), "{}", message(&file));
}
