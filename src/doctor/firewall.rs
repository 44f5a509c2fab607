//! Firewall chains with policy drop where the doctor knows traffic goes:
//! the forward hook of a namespace others route through, and the input
//! hook of a namespace that owns a gateway others use ([`L3::transits`]:
//! the engine's neighbour resolution says who answers for each gateway).
//!
//! At one hook every base chain runs; an accept ends only its own chain,
//! a drop ends the packet (see `path::firewall`). So a chain with policy
//! drop and no rules drops everything reaching that hook — an error —
//! while one with rules drops whatever its rules do not accept, which
//! nsmap does not evaluate: a warning, as it may well be intended.
//! Tables nsmap could not read (null) are skipped; bridge-family chains
//! and bridged traffic through the IP hooks (br_netfilter) are not
//! judged here.

use std::collections::BTreeMap;

use super::l3::{L3, Transit, describe_hop, list};
use super::{Code, End, Finding};
use crate::name::Name;
use crate::snapshot::Namespace;
use crate::snapshot::l3::Family;

/// A base chain with policy drop, as found at a hook.
struct DropChain {
    /// `chain forward of table inet filter`, `iptables-legacy chain FORWARD of table filter`.
    what: String,
    rules: u32,
    /// The command that sets the policy to accept (quoted), if one is
    /// clear.
    accept: Option<String>,
    /// Identity across families (an inet table applies to both).
    key: String,
}

/// An nft identifier as nft's parser takes it: bare when plain, else in
/// double quotes; None when it cannot be written inside a quoted argument.
fn nft_name(name: &Name) -> Option<String> {
    let text = name.as_str();
    let bytes = name.to_bytes();
    if !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(b))
        && bytes[0].is_ascii_alphabetic()
    {
        return Some(text.to_string());
    }
    let printable = bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    printable.then(|| format!("\"{text}\""))
}

fn drop_chains(ns: &Namespace, family: Family, hook: &str) -> Vec<DropChain> {
    let mut out = Vec::new();
    let Some(fw) = ns.firewall.as_ref() else {
        return out;
    };
    let nft_families: &[&str] = match family {
        Family::Inet => &["ip", "inet"],
        Family::Inet6 => &["ip6", "inet"],
    };
    for table in fw.nftables.iter().flatten() {
        if !nft_families.contains(&table.family.as_str())
            || table.flags.iter().any(|f| f == "dormant")
        {
            continue;
        }
        for chain in &table.chains {
            if chain.hook.as_deref() != Some(hook) || chain.policy.as_deref() != Some("drop") {
                continue;
            }
            let accept = nft_name(&table.name)
                .zip(nft_name(&chain.name))
                .map(|(t, c)| {
                    let command = format!("chain {} {t} {c} {{ policy accept; }}", table.family);
                    format!("nft {}", super::fix::quote_bytes(command.as_bytes()))
                });
            out.push(DropChain {
                what: format!(
                    "chain {} of table {} {}",
                    chain.name.as_str(),
                    table.family,
                    table.name.as_str()
                ),
                rules: chain.rule_count,
                accept,
                key: format!("nft {} {} {}", table.family, table.handle, chain.handle),
            });
        }
    }
    let legacy_family = match family {
        Family::Inet => "ip",
        Family::Inet6 => "ip6",
    };
    for table in fw.iptables_legacy.iter().flatten() {
        if table.family != legacy_family || table.problem.is_some() {
            continue;
        }
        for chain in &table.chains {
            if chain.hook.as_deref() != Some(hook) || chain.policy.as_deref() != Some("drop") {
                continue;
            }
            let tool = if family == Family::Inet {
                "iptables-legacy"
            } else {
                "ip6tables-legacy"
            };
            out.push(DropChain {
                what: format!(
                    "iptables-legacy chain {} of table {} ({legacy_family})",
                    chain.name.as_str(),
                    table.name
                ),
                rules: chain.rule_count,
                accept: Some(format!(
                    "{tool} -t {} -P {} ACCEPT",
                    super::fix::quote_bytes(table.name.as_bytes()),
                    super::fix::quote(&chain.name)
                )),
                key: format!("xt {legacy_family} {} {}", table.name, chain.name.as_str()),
            });
        }
    }
    out
}

/// NSM029 and NSM030: a chain with policy drop at the forward hook of a
/// namespace others route through, or at the input hook of one that owns
/// a gateway others use. NSM029 (error) when the chain has no rules:
/// everything reaching the hook is dropped; hint: policy accept (or add
/// the accept rules you mean). NSM030 (warning) when it has rules: what
/// they do not accept is dropped; no hint (read the rules with `nft list
/// chain …`).
pub fn policy_drop(l3: &L3<'_>) -> Vec<Finding> {
    // (router, hook, chain key) → the chain, and who routes through.
    type Group<'t, 'a> = (DropChain, &'static str, Vec<&'t Transit<'a>>);
    let mut groups: BTreeMap<(u64, &'static str, String), Group<'_, '_>> = BTreeMap::new();
    for t in l3.transits() {
        for hook in ["forward", "input"] {
            for chain in drop_chains(t.router, t.family, hook) {
                let key = (t.router.inode, hook, chain.key.clone());
                groups
                    .entry(key)
                    .or_insert_with(|| (chain, hook, Vec::new()))
                    .2
                    .push(t);
            }
        }
    }
    let mut out = Vec::new();
    for ((_, _, _), (chain, hook, transits)) in groups {
        let router = transits[0].router;
        let mut senders: Vec<String> = Vec::new();
        let mut routes: Vec<String> = Vec::new();
        let mut arrivals: Vec<_> = transits.iter().map(|t| t.arrival).collect();
        arrivals.sort_by_key(|a| a.ifindex);
        arrivals.dedup_by_key(|a| a.ifindex);
        let mut refs: Vec<_> = arrivals
            .iter()
            .map(|a| {
                End {
                    ns: router,
                    iface: a,
                }
                .link_ref()
            })
            .collect();
        for t in &transits {
            let label = t.hop.ns.label();
            if !senders.contains(&label) {
                senders.push(label);
            }
            let r = describe_hop(&t.hop);
            if !routes.contains(&r) {
                routes.push(r);
            }
            let dev = End {
                ns: t.hop.ns,
                iface: t.hop.dev,
            }
            .link_ref();
            if !refs.contains(&dev) {
                refs.push(dev);
            }
        }
        let label = router.label();
        let (all, some, role) = if hook == "forward" {
            (
                format!("{label} drops everything it forwards"),
                format!("what {label} forwards"),
                "route through it",
            )
        } else {
            (
                format!("{label} drops everything addressed to it"),
                format!("what is addressed to {label}"),
                "use it as their gateway",
            )
        };
        let (code, message, hint) = if chain.rules == 0 {
            (
                Code::FirewallDropsAll,
                format!(
                    "{} of {label} (hook {hook}, policy drop) has no rules: {all}, and {} {role} ({})",
                    chain.what,
                    list(&senders, 3),
                    list(&routes, 2)
                ),
                chain
                    .accept
                    .as_deref()
                    .and_then(|c| super::fix::exec_in(router, c)),
            )
        } else {
            (
                Code::FirewallPolicyDrop,
                format!(
                    "{} of {label} (hook {hook}, policy drop) has {} rule(s): {some} is dropped unless they accept it, and {} {role} ({}); nsmap does not evaluate the rules",
                    chain.what,
                    chain.rules,
                    list(&senders, 3),
                    list(&routes, 2)
                ),
                None,
            )
        };
        out.push(Finding::new(code, Some(router.inode), refs, message, hint));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::path::testing::{Host, Ns};

    /// a —— r —— b, a's default via r (10.1.0.1), r forwarding.
    fn routed() -> (Host, Ns, Ns) {
        let mut h = Host::new();
        let a = h.ns("a");
        let r = h.ns("r");
        let b = h.ns("b");
        let (ea, ra) = h.veth(a, "eth0", r, "ra");
        let (rb, eb) = h.veth(r, "rb", b, "eth0");
        h.addr(a, ea, "10.1.0.2/24");
        h.addr(r, ra, "10.1.0.1/24");
        h.addr(r, rb, "10.2.0.1/24");
        h.addr(b, eb, "10.2.0.2/24");
        h.route(a, "0.0.0.0/0", Some("10.1.0.1"), ea);
        h.forwarding(r, true);
        (h, a, r)
    }

    fn run(h: &Host) -> Vec<Finding> {
        let s = h.build();
        policy_drop(&L3::new(&s))
    }

    #[test]
    fn an_empty_forward_chain_with_policy_drop_is_an_error() {
        let (mut h, a, r) = routed();
        h.nft_chain(r, "inet", "forward", "drop", 0);
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM029"]);
        assert_eq!(
            found[0].message,
            "chain forward of table inet filter of r (hook forward, policy drop) has no rules: r drops everything it forwards, and a route through it (default via 10.1.0.1)"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip netns exec r nft 'chain inet filter forward { policy accept; }'")
        );
        assert_eq!(
            refs(&found[0]),
            [format!("ra@{}", h.inode(r)), format!("eth0@{}", h.inode(a))]
        );
    }

    #[test]
    fn rules_make_it_a_warning_and_accept_or_other_hooks_nothing() {
        let (mut h, _, r) = routed();
        h.nft_chain(r, "ip", "forward", "drop", 3);
        h.nft_chain(r, "ip", "output", "drop", 0);
        h.nft_chain(r, "ip6", "forward", "drop", 0);
        h.nft_chain(r, "ip", "prerouting", "accept", 0);
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM030"]);
        assert!(found[0].message.contains("has 3 rule(s)"));
        assert_eq!(found[0].hint, None);
    }

    #[test]
    fn the_input_hook_of_a_gateway() {
        let (mut h, _, r) = routed();
        h.nft_chain(r, "ip", "input", "drop", 0);
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM029"]);
        assert!(
            found[0]
                .message
                .contains("r drops everything addressed to it, and a use it as their gateway")
        );
    }

    #[test]
    fn iptables_legacy_too() {
        let (mut h, _, r) = routed();
        if let Some(fw) = h.snapshot.namespaces[r.0].firewall.as_mut() {
            fw.iptables_legacy = Some(vec![crate::snapshot::l3::XtTable {
                family: "ip".into(),
                name: "filter".into(),
                chains: vec![crate::snapshot::l3::XtChain {
                    name: Name::from("FORWARD"),
                    hook: Some("forward".into()),
                    policy: Some("drop".into()),
                    rule_count: 0,
                }],
                problem: None,
            }]);
        }
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM029"]);
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip netns exec r iptables-legacy -t filter -P FORWARD ACCEPT")
        );
    }

    #[test]
    fn nobody_routing_through_or_nothing_read_is_silent() {
        let (mut h, a, r) = routed();
        h.nft_chain(a, "inet", "forward", "drop", 0);
        assert!(
            run(&h).is_empty(),
            "a routes through nobody's forward hook but r's"
        );
        h.nft_chain(r, "inet", "forward", "drop", 0);
        h.snapshot.namespaces[r.0].firewall = None;
        assert!(run(&h).is_empty());
        let demo = demo();
        assert!(policy_drop(&L3::new(&demo)).is_empty());
    }
}
