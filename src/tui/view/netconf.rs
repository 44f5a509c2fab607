//! The sysctls that decide where a packet goes, in the details pane. For a
//! namespace: IPv4 `all.forwarding` and `all.rp_filter` with the interfaces
//! whose own value differs, and IPv6 `all.forwarding` (the only one IPv6
//! reads). For an interface: its IPv4 and IPv6 netconf — forwarding and
//! rp_filter always, the rarer knobs only when set, since a set one is
//! what explains a surprise. rp_filter shows the value the kernel applies
//! too: the larger of `all` and the device (`IN_DEV_MAXCONF`).

use ratatui::text::{Line, Span};

use super::details::{field, not_read};
use super::text::{self, DIM, WARN};
use crate::snapshot::l3::Netconf;
use crate::snapshot::{Interface, Namespace};

/// Interfaces named per "differs" list before "+N".
const DIFFERING: usize = 8;

fn rp_word(v: i32) -> &'static str {
    match v {
        0 => "off",
        1 => "strict",
        2 => "loose",
        _ => "?",
    }
}

fn ipv4_all(ns: &Namespace) -> Option<&Netconf> {
    ns.netconf.as_ref()?.ipv4.all.as_ref()
}

fn ipv4_dev(iface: &Interface) -> Option<&Netconf> {
    iface.netconf.as_ref()?.ipv4.as_ref()
}

/// `all 1 (differs: eth0 0, lo 0)`; the interfaces whose own value is
/// not `all`'s.
fn with_differing(ns: &Namespace, all: i32, key: fn(&Netconf) -> Option<i32>) -> String {
    let differ: Vec<String> = ns
        .interfaces
        .iter()
        .filter_map(|i| {
            let v = key(ipv4_dev(i)?)?;
            (v != all).then(|| format!("{} {v}", text::safe(i.ifname.as_str())))
        })
        .collect();
    let mut s = format!("all {all}");
    if !differ.is_empty() {
        let more = differ.len().saturating_sub(DIFFERING);
        s.push_str(&format!(
            " (differs: {}{})",
            differ
                .into_iter()
                .take(DIFFERING)
                .collect::<Vec<_>>()
                .join(", "),
            if more > 0 {
                format!(", +{more}")
            } else {
                String::new()
            }
        ));
    }
    s
}

/// forwarding and rp_filter of a namespace.
pub fn namespace_lines(ns: &Namespace, out: &mut Vec<Line<'static>>) {
    let Some(conf) = &ns.netconf else {
        out.push(field("forwarding", not_read()));
        return;
    };
    let v4 = ipv4_all(ns).and_then(|c| c.forwarding).map_or_else(
        || "ipv4 ?".to_string(),
        |all| format!("ipv4 {}", with_differing(ns, all, |c| c.forwarding)),
    );
    let v6 = conf
        .ipv6
        .all
        .as_ref()
        .and_then(|c| c.forwarding)
        .map_or_else(|| "ipv6 ?".to_string(), |v| format!("ipv6 all {v}"));
    out.push(field("forwarding", vec![Span::raw(format!("{v4} · {v6}"))]));
    if let Some(all) = ipv4_all(ns).and_then(|c| c.rp_filter) {
        out.push(field(
            "rp_filter",
            vec![
                Span::raw(with_differing(ns, all, |c| c.rp_filter)),
                Span::styled("  (0 off, 1 strict, 2 loose)", DIM),
            ],
        ));
    }
}

/// `key value` pairs of one family's netconf: `always` keys, then any
/// other that is set.
fn pairs(conf: &Netconf, always: &[&str]) -> Vec<String> {
    let keys: [(&str, Option<i32>); 10] = [
        ("forwarding", conf.forwarding),
        ("rp_filter", conf.rp_filter),
        ("disable_ipv6", conf.disable_ipv6),
        ("proxy_neigh", conf.proxy_neigh),
        ("accept_local", conf.accept_local),
        ("route_localnet", conf.route_localnet),
        ("arp_ignore", conf.arp_ignore),
        ("arp_filter", conf.arp_filter),
        (
            "ignore_routes_with_linkdown",
            conf.ignore_routes_with_linkdown,
        ),
        ("mc_forwarding", conf.mc_forwarding),
    ];
    keys.iter()
        .filter_map(|&(k, v)| {
            let v = v?;
            (always.contains(&k) || v != 0).then(|| format!("{k} {v}"))
        })
        .collect()
}

/// An interface's own netconf.
pub fn interface_lines(ns: &Namespace, iface: &Interface, out: &mut Vec<Line<'static>>) {
    let Some(conf) = &iface.netconf else {
        out.push(field("netconf", not_read()));
        return;
    };
    match &conf.ipv4 {
        Some(c) => {
            let mut spans = vec![Span::raw(
                pairs(c, &["forwarding", "rp_filter"]).join(" · "),
            )];
            // The kernel applies max(all, device).
            if let (Some(dev), Some(all)) = (c.rp_filter, ipv4_all(ns).and_then(|a| a.rp_filter))
                && all > dev
            {
                spans.push(Span::styled(
                    format!("  (rp_filter: all is {all}, so {} applies)", rp_word(all)),
                    WARN,
                ));
            }
            out.push(field("ipv4 conf", spans));
        }
        None => out.push(field("ipv4 conf", vec![Span::styled("none", DIM)])),
    }
    match &conf.ipv6 {
        Some(c) => out.push(field(
            "ipv6 conf",
            vec![Span::raw(
                pairs(c, &["forwarding", "disable_ipv6"]).join(" · "),
            )],
        )),
        None => out.push(field("ipv6 conf", vec![Span::styled("none", DIM)])),
    }
}
