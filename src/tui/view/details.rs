//! The details pane: every field of the selected interface, then where its
//! wire leads (the peer, the peer's namespace, the peer's master bridge and
//! that bridge's other ports), its lower link and what is stacked on it,
//! then its layer 3 (netconf, the routes through it, its neighbours); or,
//! when the namespaces pane was last focused, every field of the namespace
//! and its layer 3 (routes, rules, neighbours, forwarding, firewalls).
//! [`lines`] is also what the app counts to bound scrolling.
//!
//! Layer-3 keys are null when the snapshot did not read them; that is said
//! as such ([`not_read`]), never shown as an empty list.

use std::collections::BTreeMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::text::{self, DIM, HEADER, KEY, WARN};
use super::{counters, firewall, neighbours, netconf, pane_block, routes};
use crate::snapshot::{AddrInfo, Interface, LinkRef, Namespace};
use crate::tui::app::{App, Pane};
use crate::tui::model::IfPos;

/// Other ports of a peer's bridge listed before "… and N more".
const OTHER_PORTS: usize = 12;
/// Pids listed before "…".
const PIDS: usize = 24;

pub struct DetailsPane<'a> {
    pub app: &'a App,
}

impl Widget for &DetailsPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let focused = app.focus == Pane::Details;
        let lines = lines(app);
        let scroll = app.details_scroll.min(lines.len().saturating_sub(1));
        let title = title(app);
        Paragraph::new(lines.into_iter().skip(scroll).collect::<Vec<_>>())
            .block(pane_block(title, focused))
            .render(area, buf);
    }
}

fn title(app: &App) -> String {
    match subject(app) {
        Subject::Interface(pos) => format!(" {} ", app.model.describe_pos(pos)),
        Subject::Namespace(n) => format!(" Namespace {} ", app.model.label(n)),
        Subject::Nothing => " Details ".to_string(),
    }
}

enum Subject {
    Interface(IfPos),
    Namespace(usize),
    Nothing,
}

fn subject(app: &App) -> Subject {
    match (app.subject, app.selected_if(), app.selected_ns()) {
        (Pane::Interfaces, Some(pos), _) => Subject::Interface(pos),
        (_, _, Some(n)) => Subject::Namespace(n),
        _ => Subject::Nothing,
    }
}

/// The pane's text, unscrolled.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    match subject(app) {
        Subject::Interface(pos) => interface_lines(app, pos),
        Subject::Namespace(n) => namespace_lines(app, n),
        Subject::Nothing => Vec::new(),
    }
}

/// What a null layer-3 key means.
pub const NOT_READ: &str = "not read (run as root / recorded without layer 3)";

/// A `name  value` line: the name in a column of its own.
pub(super) fn field(name: &str, value: Vec<Span<'static>>) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("{name:<14}"), HEADER)];
    spans.extend(value);
    Line::from(spans)
}

fn plain(app: &App, s: &str) -> Vec<Span<'static>> {
    text::highlight(s, app.filter.as_ref(), Style::new()).spans
}

fn none() -> Vec<Span<'static>> {
    vec![Span::styled("-", DIM)]
}

pub(super) fn not_read() -> Vec<Span<'static>> {
    vec![Span::styled(NOT_READ, DIM)]
}

/// Whether the snapshot holds none of the namespace's layer 3: then one
/// line says so instead of one per key.
fn no_layer3(ns: &Namespace) -> bool {
    ns.routes.is_none()
        && ns.rules.is_none()
        && ns.neighbours.is_none()
        && ns.netconf.is_none()
        && ns.firewall.is_none()
}

/// `10.0.0.2/24  scope global` with the address's flags; DAD states warn.
fn addr_info_spans(app: &App, a: &AddrInfo) -> Vec<Span<'static>> {
    let mut spans = plain(app, &format!("{}/{}", a.local, a.prefixlen));
    if let Some(peer) = a.peer {
        spans.push(Span::raw(format!(" peer {peer}")));
    }
    spans.push(text::span(&format!("  scope {}", a.scope), DIM));
    for f in &a.flags {
        let style = match f.as_str() {
            "tentative" | "dadfailed" | "deprecated" => WARN,
            _ => DIM,
        };
        spans.push(text::span(&format!(" {f}"), style));
    }
    spans
}

/// The kind-specific switches of layer 2 that change where frames go.
/// They came with the layer-3 keys: in a snapshot without layer 3 their
/// absence is said once, by the "layer 3" line.
fn kind_lines(iface: &Interface, layer3: bool, out: &mut Vec<Line<'static>>) {
    let on_off = |v: bool| if v { "on" } else { "off" };
    if iface.kind_is("bridge") && (layer3 || iface.vlan_filtering.is_some()) {
        out.push(field(
            "vlan filter",
            iface
                .vlan_filtering
                .map_or_else(not_read, |v| vec![Span::raw(on_off(v))]),
        ));
    }
    if (iface.kind_is("macvlan") || iface.kind_is("macvtap"))
        && (layer3 || iface.macvlan_mode.is_some())
    {
        out.push(field(
            "macvlan mode",
            iface
                .macvlan_mode
                .as_deref()
                .map_or_else(not_read, |m| vec![text::span(m, Style::new())]),
        ));
    }
    let mut port = Vec::new();
    if iface.port_isolated == Some(true) {
        port.push("isolated");
    }
    if iface.port_locked == Some(true) {
        port.push("locked");
    }
    if !port.is_empty() {
        out.push(field(
            "port flags",
            vec![Span::styled(port.join(" "), WARN)],
        ));
    }
}

fn interface_lines(app: &App, pos: IfPos) -> Vec<Line<'static>> {
    let m = &app.model;
    let (Some(ns), Some(iface)) = (m.ns(pos.ns), m.iface(pos)) else {
        return Vec::new();
    };
    let mut out = vec![
        field("ifname", plain(app, iface.ifname.as_str())),
        field("ifindex", vec![Span::raw(iface.ifindex.to_string())]),
        field(
            "namespace",
            vec![
                Span::raw(m.label(pos.ns).to_string()),
                Span::styled(format!("  net:[{}]", ns.inode), DIM),
                Span::styled(
                    ns.id.map_or_else(String::new, |id| format!("  id {id}")),
                    DIM,
                ),
            ],
        ),
        field(
            "kind",
            match &iface.kind {
                Some(k) => plain(app, k),
                None => vec![Span::styled("- (physical, loopback or unknown)", DIM)],
            },
        ),
    ];
    if let Some(sk) = &iface.slave_kind {
        out.push(field("slave kind", plain(app, sk)));
    }
    kind_lines(iface, !no_layer3(ns), &mut out);
    out.push(field(
        "state",
        vec![
            text::span(&iface.operstate, text::state_style(&iface.operstate)),
            Span::styled(format!("  <{}>", text::safe(&iface.flags.join(","))), DIM),
        ],
    ));
    out.push(field("mtu", vec![Span::raw(iface.mtu.to_string())]));
    out.push(field(
        "mac",
        iface
            .address
            .as_deref()
            .map_or_else(none, |a| plain(app, a)),
    ));
    match &iface.addr_info {
        // The detailed form when the scan read it: scope and DAD flags.
        Some(info) => {
            if info.is_empty() {
                out.push(field("addresses", none()));
            }
            for (i, a) in info.iter().enumerate() {
                out.push(field(
                    if i == 0 { "addresses" } else { "" },
                    addr_info_spans(app, a),
                ));
            }
        }
        None => {
            if iface.addresses.is_empty() {
                out.push(field("addresses", none()));
            }
            for (i, a) in iface.addresses.iter().enumerate() {
                out.push(field(if i == 0 { "addresses" } else { "" }, plain(app, a)));
            }
        }
    }
    out.push(field(
        "master",
        match &iface.master {
            Some(r) => link_spans(app, r, false),
            None => none(),
        },
    ));
    if let Some(ps) = &iface.port_state {
        out.push(field("port state", plain(app, ps)));
    }
    match &iface.peer {
        Some(r) => {
            out.push(field("peer", link_spans(app, r, true)));
            peer_lines(app, r, &mut out);
        }
        None => out.push(field("peer", none())),
    }
    out.push(field(
        "lower link",
        match &iface.link {
            Some(r) => link_spans(app, r, iface.peer.is_none()),
            None => none(),
        },
    ));
    for (i, &up) in m.uppers(pos).iter().enumerate() {
        let kind = m.iface(up).and_then(|u| u.kind.clone()).unwrap_or_default();
        out.push(field(
            if i == 0 { "stacked on it" } else { "" },
            vec![
                Span::raw(m.describe_pos(up)),
                Span::styled(format!(" ({})", text::safe(&kind)), DIM),
            ],
        ));
    }
    let ports = m.ports(pos);
    if !ports.is_empty() {
        out.push(Line::from(Span::styled(
            format!("ports ({})", ports.len()),
            HEADER,
        )));
        for &p in ports {
            out.push(port_line(app, p, "  "));
        }
    }
    counters::interface_lines(app, ns, iface, &mut out);
    counters::qdisc_lines(iface, &mut out);
    if no_layer3(ns) && iface.netconf.is_none() {
        out.push(field("layer 3", not_read()));
    } else {
        netconf::interface_lines(ns, iface, &mut out);
        routes::interface_lines(app, ns, iface.ifindex, &mut out);
        neighbours::lines(ns, Some(iface.ifindex), &mut out);
    }
    out
}

/// `ifname @ ns (kind)` of a reference, with a hint when Enter follows it.
fn link_spans(app: &App, r: &LinkRef, follows: bool) -> Vec<Span<'static>> {
    let m = &app.model;
    let mut spans = vec![Span::raw(m.describe(r))];
    match m.resolve(r).and_then(|p| m.iface(p)) {
        Some(end) => {
            if let Some(k) = &end.kind {
                spans.push(Span::styled(format!(" ({})", text::safe(k)), DIM));
            }
            if follows {
                spans.push(Span::styled("   Enter: go there", KEY));
            }
        }
        None => spans.push(Span::styled("   (not on the map)", WARN)),
    }
    spans
}

/// The peer's state, its master bridge and that bridge's other ports.
fn peer_lines(app: &App, r: &LinkRef, out: &mut Vec<Line<'static>>) {
    let m = &app.model;
    let Some(pos) = m.resolve(r) else { return };
    let Some(peer) = m.iface(pos) else { return };
    out.push(field(
        "  its state",
        vec![
            text::span(&peer.operstate, text::state_style(&peer.operstate)),
            Span::styled(format!("  mtu {}", peer.mtu), DIM),
            Span::styled(
                peer.address
                    .as_deref()
                    .map_or_else(String::new, |a| format!("  {}", text::safe(a))),
                DIM,
            ),
        ],
    ));
    if !peer.addresses.is_empty() {
        out.push(field("  its addrs", plain(app, &peer.addresses.join(" "))));
    }
    if let Some(ns) = m.ns(pos.ns)
        && let Some(p) = &ns.process
    {
        out.push(field(
            "  its netns",
            vec![
                Span::raw(m.label(pos.ns).to_string()),
                Span::styled(
                    format!(
                        "  first process {}({})  {} process(es)",
                        text::safe(p.comm.as_str()),
                        p.pid,
                        ns.pids.len()
                    ),
                    DIM,
                ),
            ],
        ));
    }
    let Some(master) = &peer.master else { return };
    out.push(field("  its master", link_spans(app, master, false)));
    let Some(bridge) = m.resolve(master) else {
        return;
    };
    let others: Vec<IfPos> = m
        .ports(bridge)
        .iter()
        .copied()
        .filter(|&p| p != pos)
        .collect();
    out.push(Line::from(Span::styled(
        format!("  other ports of {} ({})", m.ifname(master), others.len()),
        HEADER,
    )));
    for &p in others.iter().take(OTHER_PORTS) {
        out.push(port_line(app, p, "    "));
    }
    if others.len() > OTHER_PORTS {
        out.push(Line::from(Span::styled(
            format!(
                "    … and {} more (b: bridges view)",
                others.len() - OTHER_PORTS
            ),
            DIM,
        )));
    }
}

/// `port → where its wire leads` for a port list.
fn port_line(app: &App, port: IfPos, indent: &str) -> Line<'static> {
    let m = &app.model;
    let Some(p) = m.iface(port) else {
        return Line::default();
    };
    let mut spans = vec![
        Span::raw(indent.to_string()),
        Span::raw(text::safe(p.ifname.as_str())),
        Span::raw(" "),
        text::span(&p.operstate, text::state_style(&p.operstate)),
    ];
    if let Some(r) = p.peer.as_ref().or(p.link.as_ref()) {
        spans.push(Span::raw(format!(" → {}", m.describe(r))));
    } else if let Some(k) = &p.kind {
        spans.push(Span::styled(format!(" ({})", text::safe(k)), DIM));
    }
    Line::from(spans)
}

fn namespace_lines(app: &App, n: usize) -> Vec<Line<'static>> {
    let m = &app.model;
    let Some(ns) = m.ns(n) else {
        return Vec::new();
    };
    let list = |items: Vec<String>| -> Vec<Span<'static>> {
        if items.is_empty() {
            none()
        } else {
            plain(app, &items.join("  "))
        }
    };
    let mut roles = Vec::new();
    if ns.host {
        roles.push("host (PID 1's)");
    }
    if ns.current {
        roles.push("nsmap's own");
    }
    let mut out = vec![
        field("label", plain(app, m.label(n))),
        field(
            "inode",
            plain(app, &format!("{}  (net:[{}])", ns.inode, ns.inode)),
        ),
        field(
            "id",
            ns.id.map_or_else(none, |id| plain(app, &id.to_string())),
        ),
        field(
            "role",
            if roles.is_empty() {
                none()
            } else {
                vec![Span::raw(roles.join(", "))]
            },
        ),
        field(
            "names",
            list(ns.names.iter().map(|x| x.as_str().to_string()).collect()),
        ),
    ];
    if ns.mounts.is_empty() {
        out.push(field("mounts", none()));
    }
    for (i, mount) in ns.mounts.iter().enumerate() {
        out.push(field(
            if i == 0 { "mounts" } else { "" },
            plain(app, mount.as_str()),
        ));
    }
    let mut pids: Vec<String> = ns.pids.iter().take(PIDS).map(u32::to_string).collect();
    if ns.pids.len() > PIDS {
        pids.push(format!("… ({} in all)", ns.pids.len()));
    }
    out.push(field("processes", list(pids)));
    out.push(field(
        "first",
        ns.process.as_ref().map_or_else(none, |p| {
            plain(app, &format!("{}({})", p.comm.as_str(), p.pid))
        }),
    ));
    if !ns.threads.is_empty() {
        let t = ns
            .threads
            .iter()
            .take(PIDS)
            .map(|t| format!("{}/{}", t.pid, t.tid))
            .collect();
        out.push(field("threads", list(t)));
    }
    if !ns.holders.is_empty() {
        let h = ns
            .holders
            .iter()
            .take(PIDS)
            .map(|h| format!("pid {} fd {}", h.pid, h.fd))
            .collect();
        out.push(field("held by", list(h)));
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &ns.interfaces {
        *kinds
            .entry(i.kind.as_deref().unwrap_or("other"))
            .or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, c)| format!("{k} {c}")).collect();
    out.push(field(
        "interfaces",
        if ns.scanned {
            vec![
                Span::raw(format!(
                    "{} ({} up)",
                    ns.interfaces.len(),
                    ns.interfaces.iter().filter(|i| i.is_up()).count()
                )),
                Span::styled(format!("  {}", text::safe(&kinds.join(", "))), DIM),
            ]
        } else {
            vec![Span::styled(
                "unknown: nsmap could not enter this namespace",
                WARN,
            )]
        },
    ));
    if let Some(total) = app.traffic.total(ns.inode) {
        out.push(field("traffic", counters::namespace_spans(app, ns, total)));
    }
    for w in m
        .snapshot
        .warnings
        .iter()
        .filter(|w| w.netns == Some(ns.inode))
    {
        out.push(field("warning", vec![text::span(&w.message, WARN)]));
    }
    if no_layer3(ns) {
        out.push(field("layer 3", not_read()));
    } else {
        routes::namespace_lines(app, ns, &mut out);
        routes::rule_lines(ns, &mut out);
        neighbours::lines(ns, None, &mut out);
        netconf::namespace_lines(ns, &mut out);
        firewall::lines(ns, &mut out);
    }
    out
}
