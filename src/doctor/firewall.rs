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
    /// Chains of a container runtime in the same table (the drop chain can
    /// jump to them), sorted: its policy is then the runtime's design.
    runtime: Vec<String>,
    /// Which runtime they name (`Docker`), from the first one.
    runtime_name: Option<&'static str>,
}

/// Prefixes of the chains container runtimes and network plugins add,
/// with who adds them. Docker sets `FORWARD` to policy drop and accepts
/// its own bridges' traffic in these; the others add chains of their own
/// next to whatever policy the host has.
const RUNTIME_CHAINS: &[(&str, &str)] = &[
    ("DOCKER", "Docker"),
    ("NETAVARK", "Podman (netavark)"),
    ("CNI-", "CNI"),
    ("KUBE-", "Kubernetes"),
    ("FLANNEL", "flannel"),
    ("cali-", "Calico"),
    ("CILIUM", "Cilium"),
    ("WEAVE", "Weave Net"),
    ("LIBVIRT_", "libvirt"),
];

/// Who adds a chain of this name, if a known runtime does.
fn runtime_of(chain: &Name) -> Option<&'static str> {
    let name = chain.to_bytes();
    RUNTIME_CHAINS
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix.as_bytes()))
        .map(|&(_, who)| who)
}

/// The runtime chains among `names` (sorted) and the runtime of the first.
fn runtime_chains<'n>(
    names: impl Iterator<Item = &'n Name>,
) -> (Vec<String>, Option<&'static str>) {
    let mut found: Vec<(String, &'static str)> = names
        .filter_map(|n| runtime_of(n).map(|who| (n.as_str().to_string(), who)))
        .collect();
    found.sort();
    let who = found.first().map(|&(_, who)| who);
    (found.into_iter().map(|(n, _)| n).collect(), who)
}

/// Whether a container runtime or CNI put `ns` on its network: its
/// chains are written to let such a namespace's traffic through.
fn runtime_managed(ns: &Namespace) -> bool {
    !ns.containers.is_empty() || !ns.cni.is_empty()
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
            let (runtime, runtime_name) = runtime_chains(table.chains.iter().map(|c| &c.name));
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
                runtime,
                runtime_name,
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
            let (runtime, runtime_name) = runtime_chains(table.chains.iter().map(|c| &c.name));
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
                runtime,
                runtime_name,
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
/// chain …`). At the forward hook, a chain with rules whose table also
/// holds a container runtime's chains (Docker's `FORWARD` with `DOCKER-*`)
/// is the runtime's normal setup: its containers' traffic (namespaces
/// with containers or CNI attachments) is what those chains accept, so
/// NSM030 names only the other namespaces that route through it.
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
    for ((_, _, _), (chain, hook, mut transits)) in groups {
        let by_runtime = hook == "forward" && chain.rules > 0 && !chain.runtime.is_empty();
        if by_runtime {
            transits.retain(|t| !runtime_managed(t.hop.ns));
        }
        let Some(first) = transits.first() else {
            continue;
        };
        let router = first.router;
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
        } else if by_runtime {
            (
                Code::FirewallPolicyDrop,
                format!(
                    "{} of {label} (hook forward, policy drop) has {} rule(s) and {}'s chains ({}), which let its own containers through; {} {role} ({}) but {} not on its networks: dropped unless a rule accepts it; nsmap does not evaluate the rules",
                    chain.what,
                    chain.rules,
                    chain.runtime_name.unwrap_or("a container runtime"),
                    list(&chain.runtime, 3),
                    list(&senders, 3),
                    list(&routes, 2),
                    if senders.len() == 1 { "is" } else { "are" },
                ),
                None,
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

    /// A regular (hookless) chain in `ns`'s nftables table of `family`,
    /// as iptables-nft writes Docker's `DOCKER-USER` and friends.
    fn regular_chain(h: &mut Host, ns: Ns, family: &str, name: &str) {
        let tables = h.snapshot.namespaces[ns.0]
            .firewall
            .as_mut()
            .and_then(|fw| fw.nftables.as_mut());
        let Some(table) = tables.and_then(|t| t.iter_mut().find(|t| t.family == family)) else {
            panic!("no {family} table");
        };
        table.chains.push(crate::snapshot::l3::NftChain {
            name: Name::from(name),
            handle: table.chains.len() as u64 + 1,
            hook: None,
            kind: None,
            priority: None,
            policy: None,
            devices: Vec::new(),
            rule_count: 1,
            rules: None,
        });
    }

    /// Docker's forward setup on r: `FORWARD` policy drop with its rules,
    /// and Docker's chains next to it in table ip filter.
    fn docker(h: &mut Host, r: Ns) {
        h.nft_chain(r, "ip", "forward", "drop", 6);
        for chain in [
            "DOCKER",
            "DOCKER-ISOLATION-STAGE-1",
            "DOCKER-ISOLATION-STAGE-2",
            "DOCKER-USER",
        ] {
            regular_chain(h, r, "ip", chain);
        }
    }

    fn container_of(h: &mut Host, ns: Ns, runtime: &str) {
        h.snapshot.namespaces[ns.0]
            .containers
            .push(crate::attribution::Container {
                runtime: runtime.into(),
                id: Name::from("0123abcd"),
                ..Default::default()
            });
    }

    #[test]
    fn dockers_drop_policy_is_not_reported_for_its_containers() {
        // Every Docker host: FORWARD policy drop, DOCKER-* chains, and
        // the containers routing through the host.
        let (mut h, a, r) = routed();
        docker(&mut h, r);
        container_of(&mut h, a, "docker");
        assert!(run(&h).is_empty(), "{:#?}", run(&h));
        // A CNI attachment says the same (a pod, a podman container).
        h.snapshot.namespaces[a.0].containers.clear();
        h.snapshot.namespaces[a.0]
            .cni
            .push(crate::attribution::CniAttachment::default());
        assert!(run(&h).is_empty());
    }

    #[test]
    fn dockers_drop_policy_is_reported_for_a_namespace_that_is_not_its_container() {
        // The classic: a hand-made namespace routed through a Docker host
        // loses its traffic to Docker's FORWARD policy.
        let (mut h, a, r) = routed();
        docker(&mut h, r);
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM030"]);
        assert_eq!(
            found[0].message,
            "chain forward of table ip filter of r (hook forward, policy drop) has 6 rule(s) and Docker's chains (DOCKER, DOCKER-ISOLATION-STAGE-1, DOCKER-ISOLATION-STAGE-2 and 1 more), which let its own containers through; a route through it (default via 10.1.0.1) but is not on its networks: dropped unless a rule accepts it; nsmap does not evaluate the rules"
        );
        assert_eq!(found[0].hint, None);
        // Next to a container, only the namespace that is none is named.
        let c = h.ns("c");
        let (ec, rc) = h.veth(c, "eth0", r, "rc");
        h.addr(c, ec, "10.9.0.2/24");
        h.addr(r, rc, "10.9.0.1/24");
        h.route(c, "0.0.0.0/0", Some("10.9.0.1"), ec);
        container_of(&mut h, c, "docker");
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM030"]);
        assert!(
            found[0]
                .message
                .contains("; a route through it (default via 10.1.0.1) but is not"),
            "{}",
            found[0].message
        );
        assert_eq!(
            refs(&found[0]),
            [format!("ra@{}", h.inode(r)), format!("eth0@{}", h.inode(a))]
        );
    }

    #[test]
    fn runtime_chains_elsewhere_or_at_input_explain_nothing() {
        // Docker's chains in table ip filter do not explain a drop in
        // table inet filter: the inet chain cannot jump to them.
        let (mut h, a, r) = routed();
        docker(&mut h, r);
        h.nft_chain(r, "inet", "forward", "drop", 2);
        container_of(&mut h, a, "docker");
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM030"]);
        assert!(
            found[0]
                .message
                .starts_with("chain forward of table inet filter")
        );
        assert!(found[0].message.contains("has 2 rule(s): what r forwards"));
        // Nor a drop at the input hook (Docker does not set it).
        let (mut h, a, r) = routed();
        h.nft_chain(r, "ip", "input", "drop", 3);
        regular_chain(&mut h, r, "ip", "DOCKER-USER");
        container_of(&mut h, a, "docker");
        assert_eq!(codes(&run(&h)), ["NSM030"]);
        // And an empty drop chain drops everything, runtime or not.
        let (mut h, a, r) = routed();
        h.nft_chain(r, "ip", "forward", "drop", 0);
        regular_chain(&mut h, r, "ip", "DOCKER");
        container_of(&mut h, a, "docker");
        assert_eq!(codes(&run(&h)), ["NSM029"]);
    }

    #[test]
    fn iptables_legacy_docker_too() {
        use crate::snapshot::l3::{XtChain, XtTable};
        let (mut h, a, r) = routed();
        let chain = |name: &str, hook: Option<&str>, policy: Option<&str>| XtChain {
            name: Name::from(name),
            hook: hook.map(Into::into),
            policy: policy.map(Into::into),
            rule_count: 4,
        };
        h.nft_chain(r, "ip", "prerouting", "accept", 0);
        if let Some(fw) = h.snapshot.namespaces[r.0].firewall.as_mut() {
            fw.iptables_legacy = Some(vec![XtTable {
                family: "ip".into(),
                name: "filter".into(),
                chains: vec![
                    chain("FORWARD", Some("forward"), Some("drop")),
                    chain("DOCKER-USER", None, None),
                ],
                problem: None,
            }]);
        }
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM030"]);
        assert!(found[0].message.contains("Docker's chains (DOCKER-USER)"));
        container_of(&mut h, a, "docker");
        assert!(run(&h).is_empty());
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
