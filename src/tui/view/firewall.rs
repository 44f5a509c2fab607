//! Firewall presence in the details pane: every nftables base chain by
//! hook, in the order a packet meets them (hook, then priority), with its
//! policy and rule count — a chain with rules is where a trace turns
//! `unknown`, a `drop` policy without rules where it dies — then
//! iptables-legacy's tables, and whether bridged traffic is sent through
//! the ip hooks (`bridge-nf-call-iptables`).

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::details::{field, not_read};
use super::text::{self, DIM, ERROR, WARN};
use crate::snapshot::Namespace;
use crate::snapshot::l3::{NftChain, NftTable, XtTable};

/// Where a hook comes on a packet's way.
fn hook_order(hook: &str) -> u8 {
    match hook {
        "ingress" => 0,
        "prerouting" => 1,
        "input" => 2,
        "forward" => 3,
        "output" => 4,
        "postrouting" => 5,
        "egress" => 6,
        _ => 7,
    }
}

fn policy_style(policy: Option<&str>) -> Style {
    match policy {
        Some(p) if p.eq_ignore_ascii_case("drop") => ERROR,
        _ => Style::new(),
    }
}

fn rules(n: u32) -> String {
    format!("{n} rule{}", if n == 1 { "" } else { "s" })
}

fn nft_lines(tables: &[NftTable], label: &mut &'static str, out: &mut Vec<Line<'static>>) {
    if tables.is_empty() {
        out.push(field(label, vec![Span::styled("nftables: no tables", DIM)]));
        *label = "";
        return;
    }
    let mut base: Vec<(&NftTable, &NftChain, &str)> = Vec::new();
    let mut regular = 0;
    for t in tables {
        for c in &t.chains {
            match c.hook.as_deref() {
                Some(h) => base.push((t, c, h)),
                None => regular += 1,
            }
        }
    }
    base.sort_by_key(|(_, c, h)| (hook_order(h), c.priority.unwrap_or(0)));
    let names: Vec<String> = base
        .iter()
        .map(|(t, c, _)| {
            text::safe(&format!(
                "{} {}/{}",
                t.family,
                t.name.as_str(),
                c.name.as_str()
            ))
        })
        .collect();
    let hook_w = base.iter().map(|(_, _, h)| h.len()).max().unwrap_or(0);
    let name_w = names.iter().map(|n| n.width()).max().unwrap_or(0);
    out.push(field(
        label,
        vec![Span::styled(
            format!(
                "nftables: {} table{}",
                tables.len(),
                if tables.len() == 1 { "" } else { "s" }
            ),
            DIM,
        )],
    ));
    *label = "";
    for ((_, c, hook), name) in base.iter().zip(names) {
        let pad = name_w.saturating_sub(name.width());
        let policy = c.policy.as_deref();
        let count_style = if c.rule_count > 0 { WARN } else { DIM };
        out.push(field(
            "",
            vec![
                text::span(&format!("  {hook:<hook_w$}  "), Style::new()),
                Span::raw(format!("{name}{}  ", " ".repeat(pad))),
                text::span(
                    &format!("{:<7}", policy.unwrap_or("-")),
                    policy_style(policy),
                ),
                Span::styled(rules(c.rule_count), count_style),
                Span::styled(
                    c.kind
                        .as_deref()
                        .map_or_else(String::new, |k| format!("  {}", text::safe(k))),
                    DIM,
                ),
                Span::styled(
                    c.priority
                        .map_or_else(String::new, |p| format!(" prio {p}")),
                    DIM,
                ),
            ],
        ));
    }
    if regular > 0 {
        out.push(field(
            "",
            vec![Span::styled(
                format!(
                    "  + {regular} regular chain{} (jumped to from the base chains)",
                    if regular == 1 { "" } else { "s" }
                ),
                DIM,
            )],
        ));
    }
}

fn xt_lines(tables: &[XtTable], label: &mut &'static str, out: &mut Vec<Line<'static>>) {
    if tables.is_empty() {
        out.push(field(
            label,
            vec![Span::styled("iptables-legacy: no tables", DIM)],
        ));
        *label = "";
        return;
    }
    for t in tables {
        let mut spans = vec![text::span(
            &format!("iptables-legacy {} {}: ", t.family, t.name),
            Style::new(),
        )];
        if let Some(problem) = &t.problem {
            spans.push(text::span(&format!("unread: {problem}"), WARN));
        }
        for (i, c) in t.chains.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", DIM));
            }
            let policy = c.policy.as_deref();
            spans.push(text::span(&format!("{} ", c.name.as_str()), Style::new()));
            spans.push(text::span(policy.unwrap_or("-"), policy_style(policy)));
            spans.push(Span::styled(
                format!(" {}", c.rule_count),
                if c.rule_count > 0 { WARN } else { DIM },
            ));
        }
        out.push(field(label, spans));
        *label = "";
    }
}

/// The namespace's firewalls.
pub fn lines(ns: &Namespace, out: &mut Vec<Line<'static>>) {
    let Some(fw) = &ns.firewall else {
        out.push(field("firewall", not_read()));
        return;
    };
    let mut label = "firewall";
    match &fw.nftables {
        Some(t) => nft_lines(t, &mut label, out),
        None => {
            out.push(field(
                label,
                vec![Span::styled("nftables: could not be read", WARN)],
            ));
            label = "";
        }
    }
    match &fw.iptables_legacy {
        Some(t) => xt_lines(t, &mut label, out),
        None => out.push(field(
            label,
            vec![Span::styled("iptables-legacy: could not be read", WARN)],
        )),
    }
    let br = [
        ("iptables", fw.bridge_nf_call_iptables),
        ("ip6tables", fw.bridge_nf_call_ip6tables),
        ("arptables", fw.bridge_nf_call_arptables),
    ];
    let set: Vec<String> = br
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
        .collect();
    out.push(field(
        "",
        vec![Span::styled(
            if set.is_empty() {
                "br_netfilter not loaded: bridged frames skip the ip hooks".to_string()
            } else {
                format!("bridge-nf-call: {}", set.join(" · "))
            },
            DIM,
        )],
    ));
}
