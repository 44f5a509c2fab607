//! Routes and policy rules in the details pane, as `ip route` and `ip
//! rule` would print them: the main table first, then the other tables by
//! number, then the local table — whose kernel bookkeeping (a `local` route
//! per address, `broadcast` per IPv4 subnet, IPv6's `anycast` and
//! `multicast`) is one counting line until Space lists it, since it is
//! rarely what one looks for and would bury the rest. Rules are shown only
//! when they are not the kernel's defaults.

use std::collections::BTreeMap;

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::details::{field, not_read};
use super::text::{self, DIM, ERROR, KEY};
use crate::render::routes::{dst_text, table_name};
use crate::snapshot::l3::{Family, TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN};
use crate::snapshot::{Namespace, Route, Rule};
use crate::tui::app::App;

/// Routes listed per list before "… and N more" (a host with a route per
/// container stays scrollable, and a frame stays cheap).
const MAX_ROUTES: usize = 100;

/// Kinds the local table is made of by the kernel itself.
fn bookkeeping(route: &Route) -> bool {
    route.table == TABLE_LOCAL
        && matches!(
            route.kind.as_str(),
            "local" | "broadcast" | "anycast" | "multicast"
        )
}

/// `default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.2 metric 100`.
pub fn route_text(r: &Route) -> String {
    let mut s = String::new();
    if r.kind != "unicast" {
        s.push_str(&r.kind);
        s.push(' ');
    }
    s.push_str(&dst_text(r));
    if let Some(src) = &r.src {
        s.push_str(&format!(" from {src}"));
    }
    if let Some(gw) = r.gateway {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(dev) = &r.dev {
        s.push_str(&format!(" dev {}", dev.name_or_index()));
    }
    // iproute2 leaves out what is the default: proto boot, scope global.
    if r.protocol != "boot" {
        s.push_str(&format!(" proto {}", r.protocol));
    }
    if r.scope != "global" {
        s.push_str(&format!(" scope {}", r.scope));
    }
    if let Some(src) = r.prefsrc {
        s.push_str(&format!(" src {src}"));
    }
    if let Some(m) = r.metric {
        s.push_str(&format!(" metric {m}"));
    }
    if let Some(id) = r.nhid {
        s.push_str(&format!(" nhid {id}"));
    }
    if let Some(mtu) = r.mtu {
        s.push_str(&format!(" mtu {mtu}"));
    }
    if let Some(p) = &r.pref {
        s.push_str(&format!(" pref {p}"));
    }
    for f in &r.flags {
        s.push(' ');
        s.push_str(f);
    }
    s
}

fn route_style(r: &Route) -> Style {
    match r.kind.as_str() {
        "blackhole" | "unreachable" | "prohibit" => ERROR,
        "local" | "broadcast" | "anycast" | "multicast" => DIM,
        _ => Style::new(),
    }
}

/// One route (and its next hops), the table named in a column of its own.
fn push_route(r: &Route, out: &mut Vec<Line<'static>>, label: &mut &'static str) {
    out.push(field(
        label,
        vec![
            Span::styled(format!("{:<6}", text::safe(&table_name(r.table))), DIM),
            text::span(&route_text(r), route_style(r)),
        ],
    ));
    *label = "";
    for p in &r.nexthops {
        let mut s = "  nexthop".to_string();
        if let Some(gw) = p.gateway {
            s.push_str(&format!(" via {gw}"));
        }
        if let Some(dev) = &p.dev {
            s.push_str(&format!(" dev {}", dev.name_or_index()));
        }
        s.push_str(&format!(" weight {}", p.weight));
        for f in &p.flags {
            s.push(' ');
            s.push_str(f);
        }
        out.push(field("", vec![Span::raw("      "), text::span(&s, DIM)]));
    }
}

/// Tables in the order they are read: main, the numbered ones, default,
/// local last.
fn table_order(table: u32) -> (u8, u32) {
    match table {
        TABLE_MAIN => (0, 0),
        TABLE_LOCAL => (3, 0),
        TABLE_DEFAULT => (2, 0),
        n => (1, n),
    }
}

/// Routes under `label`, grouped by table; `None` when not read.
fn route_lines(
    app: &App,
    label: &'static str,
    routes: Option<Vec<&Route>>,
    out: &mut Vec<Line<'static>>,
) {
    let Some(routes) = routes else {
        out.push(field(label, not_read()));
        return;
    };
    if routes.is_empty() {
        out.push(field(label, vec![Span::styled("none", DIM)]));
        return;
    }
    let mut tables: BTreeMap<(u8, u32), Vec<&Route>> = BTreeMap::new();
    for r in routes {
        tables.entry(table_order(r.table)).or_default().push(r);
    }
    let mut label = label;
    let mut shown = 0;
    let mut left = 0;
    for routes in tables.values() {
        let (hidden, listed): (Vec<&Route>, Vec<&Route>) = routes
            .iter()
            .partition(|r| bookkeeping(r) && !app.show_local);
        for r in listed {
            if shown < MAX_ROUTES {
                push_route(r, out, &mut label);
                shown += 1;
            } else {
                left += 1;
            }
        }
        if !hidden.is_empty() {
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for r in &hidden {
                *kinds.entry(r.kind.as_str()).or_default() += 1;
            }
            let counts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
            out.push(field(
                label,
                vec![
                    Span::styled(format!("{:<6}", "local"), DIM),
                    text::span(&counts.join(", "), DIM),
                    Span::styled("   Space: list them", KEY),
                ],
            ));
            label = "";
        }
    }
    if left > 0 {
        out.push(field(
            "",
            vec![Span::styled(format!("… and {left} more"), DIM)],
        ));
    }
}

/// The namespace's routes, all tables.
pub fn namespace_lines(app: &App, ns: &Namespace, out: &mut Vec<Line<'static>>) {
    let routes = ns.routes.as_ref().map(|r| r.iter().collect());
    route_lines(app, "routes", routes, out);
}

/// The routes that send through interface `ifindex` (their device, or one
/// of their next hops).
pub fn interface_lines(app: &App, ns: &Namespace, ifindex: u32, out: &mut Vec<Line<'static>>) {
    let uses = |r: &&Route| {
        r.dev.as_ref().is_some_and(|d| d.ifindex == ifindex)
            || r.nexthops
                .iter()
                .any(|p| p.dev.as_ref().is_some_and(|d| d.ifindex == ifindex))
    };
    let routes = ns.routes.as_ref().map(|r| r.iter().filter(uses).collect());
    route_lines(app, "routes via it", routes, out);
}

/// Whether `rules` are exactly what a new namespace starts with: IPv4
/// `0 local`, `32766 main`, `32767 default`; IPv6 `0 local`, `32766 main`.
fn just_defaults(rules: &[Rule]) -> bool {
    let plain = |r: &Rule| {
        !r.not
            && r.src.is_none()
            && r.dst.is_none()
            && r.iif.is_none()
            && r.oif.is_none()
            && r.fwmark.is_none()
            && r.tos == 0
            && r.dscp.is_none()
            && r.ipproto.is_none()
            && r.sport.is_none()
            && r.dport.is_none()
            && r.uidrange.is_none()
            && !r.l3mdev
            && r.tun_id.is_none()
            && r.suppress_prefixlength.is_none()
            && r.suppress_ifgroup.is_none()
            && r.action == "lookup"
    };
    let mut seen: Vec<(Family, u32, Option<u32>)> = rules
        .iter()
        .filter(|r| plain(r))
        .map(|r| (r.family, r.priority, r.table))
        .collect();
    seen.sort();
    let defaults = [
        (Family::Inet, 0, Some(TABLE_LOCAL)),
        (Family::Inet, 32766, Some(TABLE_MAIN)),
        (Family::Inet, 32767, Some(TABLE_DEFAULT)),
        (Family::Inet6, 0, Some(TABLE_LOCAL)),
        (Family::Inet6, 32766, Some(TABLE_MAIN)),
    ];
    rules.len() == defaults.len() && seen == defaults
}

/// `100: from 10.0.0.3 lookup 100`, as `ip rule` prints it.
pub fn rule_text(r: &Rule) -> String {
    let mut s = format!("{}: ", r.priority);
    if r.not {
        s.push_str("not ");
    }
    s.push_str(&format!("from {}", r.src.as_deref().unwrap_or("all")));
    if let Some(dst) = &r.dst {
        s.push_str(&format!(" to {dst}"));
    }
    if r.tos != 0 {
        s.push_str(&format!(" tos {:#x}", r.tos));
    }
    match (r.dscp, r.dscp_mask) {
        (Some(d), Some(m)) if m != 0x3f => s.push_str(&format!(" dscp {d}/{m:#x}")),
        (Some(d), _) => s.push_str(&format!(" dscp {d}")),
        (None, _) => {}
    }
    if let Some([label, mask]) = r.flowlabel {
        s.push_str(&format!(" flowlabel {label:#x}/{mask:#x}"));
    }
    if let Some(mark) = r.fwmark {
        match r.fwmask {
            Some(mask) if mask != u32::MAX => s.push_str(&format!(" fwmark {mark:#x}/{mask:#x}")),
            _ => s.push_str(&format!(" fwmark {mark:#x}")),
        }
    }
    if let Some(iif) = &r.iif {
        s.push_str(&format!(" iif {}", iif.as_str()));
        if r.iif_detached {
            s.push_str(" [detached]");
        }
    }
    if let Some(oif) = &r.oif {
        s.push_str(&format!(" oif {}", oif.as_str()));
        if r.oif_detached {
            s.push_str(" [detached]");
        }
    }
    if let Some(p) = r.ipproto {
        s.push_str(&format!(" ipproto {p}"));
    }
    for (word, range, mask) in [
        ("sport", r.sport, r.sport_mask),
        ("dport", r.dport, r.dport_mask),
    ] {
        match (range, mask) {
            (Some([a, _]), Some(m)) if m != u16::MAX => {
                s.push_str(&format!(" {word} {a:#x}/{m:#x}"));
            }
            (Some([a, b]), _) if a == b => s.push_str(&format!(" {word} {a}")),
            (Some([a, b]), _) => s.push_str(&format!(" {word} {a}-{b}")),
            (None, _) => {}
        }
    }
    if let Some([a, b]) = r.uidrange {
        s.push_str(&format!(" uidrange {a}-{b}"));
    }
    if r.l3mdev {
        s.push_str(" l3mdev");
    }
    if let Some(id) = r.tun_id {
        s.push_str(&format!(" tun_id {id}"));
    }
    for k in &r.unknown_selectors {
        s.push_str(&format!(" [attribute {k}]"));
    }
    match (r.action.as_str(), r.table, r.goto) {
        ("lookup", Some(t), _) => s.push_str(&format!(" lookup {}", table_name(t))),
        ("goto", _, Some(g)) => s.push_str(&format!(" goto {g}")),
        (other, _, _) => s.push_str(&format!(" {other}")),
    }
    if let Some(n) = r.suppress_prefixlength {
        s.push_str(&format!(" suppress_prefixlength {n}"));
    }
    if let Some(n) = r.suppress_ifgroup {
        s.push_str(&format!(" suppress_ifgroup {n}"));
    }
    s
}

/// The namespace's policy rules, unless they are the defaults.
pub fn rule_lines(ns: &Namespace, out: &mut Vec<Line<'static>>) {
    let Some(rules) = &ns.rules else {
        out.push(field("rules", not_read()));
        return;
    };
    if just_defaults(rules) {
        out.push(field(
            "rules",
            vec![Span::styled("the defaults (local, main, default)", DIM)],
        ));
        return;
    }
    // As `ip rule` and `ip -6 rule` list them: IPv4, then IPv6, each in
    // the snapshot's (priority) order.
    let mut rules: Vec<&Rule> = rules.iter().collect();
    rules.sort_by_key(|r| r.family);
    for (i, r) in rules.iter().enumerate() {
        let style = match r.action.as_str() {
            "blackhole" | "unreachable" | "prohibit" => ERROR,
            _ => Style::new(),
        };
        out.push(field(
            if i == 0 { "rules" } else { "" },
            vec![
                Span::styled(format!("{:<6}", r.family.word()), DIM),
                text::span(&rule_text(r), style),
            ],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(family: Family, priority: u32, table: u32) -> Rule {
        Rule {
            family,
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

    fn defaults() -> Vec<Rule> {
        vec![
            rule(Family::Inet, 0, TABLE_LOCAL),
            rule(Family::Inet, 32766, TABLE_MAIN),
            rule(Family::Inet, 32767, TABLE_DEFAULT),
            rule(Family::Inet6, 0, TABLE_LOCAL),
            rule(Family::Inet6, 32766, TABLE_MAIN),
        ]
    }

    #[test]
    fn the_kernels_rules_are_the_defaults_and_one_more_is_not() {
        assert!(just_defaults(&defaults()));
        let mut more = defaults();
        let mut from = rule(Family::Inet, 100, 100);
        from.src = Some("10.0.0.3/32".into());
        assert_eq!(rule_text(&from), "100: from 10.0.0.3/32 lookup 100");
        more.push(from);
        assert!(!just_defaults(&more));
        let mut marked = defaults();
        marked[1].fwmark = Some(1);
        assert!(!just_defaults(&marked), "a selector makes it not a default");
    }
}
