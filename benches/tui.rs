//! TUI render benchmark on a generated host with 2,000 namespaces (or
//! `NAMESPACES=N cargo bench --bench tui`), the one benches/snapshot.rs
//! resolves: each a container whose eth0 is a veth to a port of a host
//! bridge (so the bridges tree has a port per namespace): time to first frame after the scan
//! (building the app from the snapshot, then drawing) and the time of one
//! frame in the common situations. Targets: first frame < 200 ms, each
//! frame < 10 ms. Run with `cargo bench --bench tui`.
//!
//! The generated host is given the layer 3 a kernel would report (the
//! routes each address implies, default routes to the bridges, the default
//! rules, netconf, empty firewalls), so the details pane draws routes and
//! path mode traces from one container to another: the trace runs on the
//! UI thread and must stay within a frame's target too.
//!
//! A plain timing loop rather than a statistics framework: the numbers
//! only have to be compared with targets an order of magnitude away. The
//! verdict uses the median; p99 and max are printed to show the tail.

mod common;

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nsmap::Snapshot;
use nsmap::cli::Source;
use nsmap::resolve::resolve;
use nsmap::snapshot::LinkRef;
use nsmap::snapshot::l3::{
    Family, Firewall, InterfaceNetconf, NamespaceNetconf, Netconf, NetconfPair, Route, Rule,
    TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN,
};
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

fn conf(forwarding: i32) -> Netconf {
    Netconf {
        forwarding: Some(forwarding),
        rp_filter: Some(0),
        mc_forwarding: Some(0),
        proxy_neigh: Some(0),
        ignore_routes_with_linkdown: Some(0),
        accept_local: Some(0),
        route_localnet: Some(0),
        arp_ignore: Some(0),
        arp_filter: Some(0),
        disable_ipv6: Some(0),
        force_forwarding: Some(0),
    }
}

fn route(table: u32, kind: &str, dst: String, dev: &LinkRef) -> Route {
    Route {
        family: Family::Inet,
        table,
        kind: kind.into(),
        dst,
        src: None,
        protocol: "kernel".into(),
        scope: if kind == "local" { "host" } else { "link" }.into(),
        metric: None,
        tos: 0,
        prefsrc: None,
        gateway: None,
        dev: Some(dev.clone()),
        flags: Vec::new(),
        nexthops: Vec::new(),
        nhid: None,
        mtu: None,
        pref: None,
    }
}

fn rule(priority: u32, table: u32) -> Rule {
    Rule {
        family: Family::Inet,
        priority,
        not: false,
        src: None,
        dst: None,
        iif: None,
        oif: None,
        iif_detached: false,
        oif_detached: false,
        fwmark: None,
        fwmask: None,
        tos: 0,
        dscp: None,
        ipproto: None,
        sport: None,
        dport: None,
        uidrange: None,
        l3mdev: false,
        tun_id: None,
        action: "lookup".into(),
        table: Some(table),
        goto: None,
        suppress_prefixlength: None,
        suppress_ifgroup: None,
        protocol: "kernel".into(),
        dscp_mask: None,
        sport_mask: None,
        dport_mask: None,
        flowlabel: None,
        unknown_selectors: Vec::new(),
    }
}

/// What a kernel would report at layer 3 for the generated host: each
/// IPv4 address's local and connected routes, containers' default routes
/// to their bridge's address, forwarding on the host only.
fn with_layer3(mut snap: Snapshot) -> Snapshot {
    for ns in &mut snap.namespaces {
        let forwarding = i32::from(ns.host);
        let mut routes = Vec::new();
        for iface in &mut ns.interfaces {
            iface.netconf = Some(InterfaceNetconf {
                ipv4: Some(conf(forwarding)),
                ipv6: Some(conf(forwarding)),
            });
            let dev = LinkRef {
                netns: Some(ns.inode),
                ifindex: iface.ifindex,
                ifname: Some(iface.ifname.clone()),
            };
            for a in iface.addr_info.iter().flatten() {
                let IpAddr::V4(v4) = a.local else { continue };
                let mut local = route(TABLE_LOCAL, "local", format!("{v4}/32"), &dev);
                local.prefsrc = Some(a.local);
                routes.push(local);
                if v4.is_loopback() || a.prefixlen >= 32 {
                    continue;
                }
                let mask = u32::MAX << (32 - u32::from(a.prefixlen));
                let net = Ipv4Addr::from(u32::from(v4) & mask);
                let broadcast = Ipv4Addr::from(u32::from(v4) | !mask);
                let mut connected = route(
                    TABLE_MAIN,
                    "unicast",
                    format!("{net}/{}", a.prefixlen),
                    &dev,
                );
                connected.prefsrc = Some(a.local);
                routes.push(connected);
                routes.push(route(
                    TABLE_LOCAL,
                    "broadcast",
                    format!("{broadcast}/32"),
                    &dev,
                ));
                if !ns.host {
                    let mut default = route(TABLE_MAIN, "unicast", "0.0.0.0/0".into(), &dev);
                    default.gateway = Some(IpAddr::V4(Ipv4Addr::from(u32::from(net) | 1)));
                    default.scope = "global".into();
                    default.protocol = "boot".into();
                    routes.push(default);
                }
            }
        }
        ns.routes = Some(routes);
        ns.rules = Some(vec![
            rule(0, TABLE_LOCAL),
            rule(32766, TABLE_MAIN),
            rule(32767, TABLE_DEFAULT),
        ]);
        ns.neighbours = Some(Vec::new());
        ns.fdb = Some(Vec::new());
        ns.nexthops = Some(Vec::new());
        ns.netconf = Some(NamespaceNetconf {
            ipv4: NetconfPair {
                all: Some(conf(forwarding)),
                default: Some(conf(forwarding)),
            },
            ipv6: NetconfPair {
                all: Some(conf(forwarding)),
                default: Some(conf(forwarding)),
            },
        });
        ns.firewall = Some(Firewall {
            nftables: Some(Vec::new()),
            nftables_generation: Some(1),
            iptables_legacy: Some(Vec::new()),
            bridge_nf_call_iptables: None,
            bridge_nf_call_ip6tables: None,
            bridge_nf_call_arptables: None,
            conntrack_count: None,
            conntrack_max: None,
        });
    }
    snap
}

fn main() {
    let mut snap = resolve(&raw_scan(namespace_count(2_000), true));
    // LAYER3=0: the host as scanned without layer 3, to compare frames
    // with builds from before the details pane drew it.
    if std::env::var("LAYER3").as_deref() != Ok("0") {
        snap = with_layer3(snap);
    }
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

    // Path mode: mark one container, trace to another's eth0 (p), draw
    // the overlay; then frames of the main view with the path highlighted.
    app.update(Action::Top);
    for _ in 0..3 {
        app.update(Action::Down);
    }
    app.update(Action::MarkSource);
    for _ in 0..10 {
        app.update(Action::Down);
    }
    app.update(Action::NextPane);
    app.update(Action::Down);
    let mut traced = false;
    report(
        "trace (p) + path overlay frame",
        frame_target,
        bench(|| {
            app.update(Action::TraceToSelection);
            traced |= app.last_trace().is_some();
            draw(&mut t, &app);
        }),
    );
    assert!(traced, "the bench traced a path");
    if let Some(last) = app.last_trace() {
        println!(
            "  (traced {} → {}: {}, {} hops)",
            last.from,
            last.trace.dst.address,
            last.trace.verdict.as_str(),
            last.hop_count()
        );
    }
    app.update(Action::Escape);
    app.update(Action::PrevPane);
    report(
        "frame with a path highlighted, j/k",
        frame_target,
        bench(|| {
            app.update(if down { Action::Down } else { Action::Up });
            down = !down;
            draw(&mut t, &app);
        }),
    );

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
