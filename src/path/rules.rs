//! Runs one nftables base chain on what a hook sees of the packet: the
//! glue between the hooks a packet crosses ([`super::firewall`], which
//! picks the chains) and the evaluator ([`super::nft`]). What a hook sees
//! ([`Seen`]) becomes the evaluator's [`Packet`], the namespace's routes
//! answer `fib … type` ([`ViewEnv`]), and [`judge`] turns the outcome
//! into a pass, a translation or the [`Stop`] that names the rule.

use std::net::IpAddr;

use super::fib::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP};
use super::firewall::{Hook, Layer, Seen, Translation, crossed, nat_word};
use super::nft::{AddrType, Ct, CtDir, CtState, Dev, Env, Packet, PktType};
use super::view::NsView;
use super::{Code, Stop, nft};
use crate::snapshot::Interface;
use crate::snapshot::l3::{Family, NftChain, NftTable};

const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;
/// ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE (a tun device).
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xfffe;

/// A device as meta expressions see it.
fn dev(iface: &Interface) -> Dev {
    let ll_type = if iface.flags.iter().any(|f| f == "LOOPBACK") {
        ARPHRD_LOOPBACK
    } else if iface.kind_is("tun") && iface.address.is_none() {
        ARPHRD_NONE
    } else {
        ARPHRD_ETHER
    };
    Dev {
        ifindex: iface.ifindex,
        name: iface.ifname.clone(),
        kind: iface.kind.clone(),
        ll_type,
    }
}

/// The evaluator's packet for what `hook` sees in `view`'s namespace;
/// `bridged` for the bridge family (ports as `iif`/`oif`, the bridge
/// above them). None where the packet has no source address yet.
pub fn packet(
    view: &NsView<'_>,
    seen: &Seen,
    hook: Hook,
    bridged: bool,
    priority: i32,
) -> Option<Packet> {
    let src = seen.src?;
    let device = |i: Option<u32>| i.and_then(|i| view.iface(i)).map(dev);
    let (iif, oif) = (device(seen.iif), device(seen.oif));
    let bridge = if bridged { device(seen.bridge) } else { None };
    let (bri_iif, bri_oif) = (
        bridge.clone().filter(|_| iif.is_some()),
        bridge.filter(|_| oif.is_some()),
    );
    let icmp = matches!(seen.proto, IPPROTO_ICMP | IPPROTO_ICMPV6);
    let icmp_type = match (seen.proto, seen.ndp, seen.reply) {
        (IPPROTO_ICMPV6, true, false) => Some(135),
        (IPPROTO_ICMPV6, true, true) => Some(136),
        (IPPROTO_ICMPV6, false, false) => Some(128),
        (IPPROTO_ICMPV6, false, true) => Some(129),
        (IPPROTO_ICMP, _, false) => Some(8),
        (IPPROTO_ICMP, _, true) => Some(0),
        _ => None,
    };
    // A connection's first packet is a SYN, its reply a SYN-ACK.
    let tcp_flags = (seen.proto == IPPROTO_TCP).then_some(if seen.reply {
        TCP_SYN | TCP_ACK
    } else {
        TCP_SYN
    });
    let ct = |state, direction| Ct {
        state,
        direction,
        status: None,
    };
    // Conntrack has not looked at the packet yet at a device's ingress, or
    // at prerouting/output before its hook (NF_IP_PRI_CONNTRACK, -200):
    // `ct state` reads invalid there (nft_ct_get_eval without an entry).
    let before_conntrack = matches!(hook, Hook::Ingress)
        || (matches!(hook, Hook::Prerouting | Hook::Output) && priority < -200 && !bridged);
    let ct = if before_conntrack {
        ct(CtState::Invalid, CtDir::Original)
    } else if seen.ndp {
        // nf_conntrack_icmpv6: neighbour discovery is never tracked.
        ct(CtState::Untracked, CtDir::Original)
    } else if !seen.reply {
        ct(CtState::New, CtDir::Original)
    } else if seen.tracked {
        ct(CtState::Established, CtDir::Reply)
    } else if seen.proto == IPPROTO_TCP || icmp {
        // A reply where the request never passed: a SYN-ACK without an
        // entry (tcp_new: sNO + SYNACK is invalid), an echo reply
        // (icmp_new takes only requests).
        ct(CtState::Invalid, CtDir::Original)
    } else {
        // UDP and the like start an entry with whatever comes first.
        ct(CtState::New, CtDir::Original)
    };
    // What the namespace sends itself has no MAC header before it leaves
    // (output, and postrouting of local traffic); what it received, and
    // every bridged frame, has one.
    let local_out = matches!(hook, Hook::Output | Hook::Postrouting | Hook::Egress)
        && seen.iif.is_none()
        && !bridged;
    let pkttype = if super::net::is_multicast(seen.dst) {
        PktType::Multicast
    } else if bridged && !is_local(view, seen.dst) {
        PktType::OtherHost
    } else {
        PktType::Host
    };
    Some(Packet {
        family: seen.family,
        src,
        dst: seen.dst,
        l4proto: seen.proto,
        sport: if icmp { None } else { seen.sport },
        dport: if icmp { None } else { seen.dport },
        icmp_type,
        icmp_code: icmp.then_some(0),
        tcp_flags,
        ttl: seen.ttl,
        iif,
        oif,
        bri_iif,
        bri_oif,
        mark: seen.mark,
        ct,
        // Only a socket of the namespace's own has an owner nsmap assumes
        // (root, as the routing lookups do); a reply's is not known.
        skuid: (local_out && !seen.reply).then_some(0),
        skgid: (local_out && !seen.reply).then_some(0),
        pkttype,
        has_ll: !local_out,
        ll: None,
        len: None,
    })
}

fn is_local(view: &NsView<'_>, addr: IpAddr) -> bool {
    view.is_local(addr) || view.has_local_route(addr)
}

/// `fib … type` from the namespace's local routes and addresses
/// (inet_dev_addr_type: the local table decides local and broadcast).
pub struct ViewEnv<'v, 'a> {
    pub view: &'v NsView<'a>,
}

impl Env for ViewEnv<'_, '_> {
    fn addrtype(&self, addr: IpAddr, dev: Option<u32>) -> Option<AddrType> {
        let ns = self.view.ns;
        if super::net::is_multicast(addr) {
            return Some(AddrType::Multicast);
        }
        // inet_addr_type: the zero network and the limited broadcast are
        // broadcast before any lookup.
        if let IpAddr::V4(v4) = addr
            && (v4.is_broadcast() || v4.octets()[0] == 0)
        {
            return Some(AddrType::Broadcast);
        }
        let routes = ns.routes.as_ref()?;
        let family = Family::of(addr);
        // __inet_dev_addr_type: the longest match in the local table, its
        // type only where its device is the one asked about.
        let hit = routes
            .iter()
            .filter(|r| r.family == family && r.table == crate::snapshot::l3::TABLE_LOCAL)
            .filter_map(|r| Some((super::net::Prefix::parse(&r.dst)?, r)))
            .filter(|(p, _)| p.contains(addr))
            .max_by_key(|(p, _)| p.len)
            .map(|(_, r)| r);
        let Some(r) = hit else {
            return Some(AddrType::Unicast);
        };
        if dev.is_some_and(|d| r.dev.as_ref().is_none_or(|rd| rd.ifindex != d)) {
            return Some(AddrType::Unicast);
        }
        Some(match r.kind.as_str() {
            "local" => AddrType::Local,
            "broadcast" => AddrType::Broadcast,
            "anycast" => AddrType::Anycast,
            "multicast" => AddrType::Multicast,
            "blackhole" => AddrType::Blackhole,
            "unreachable" => AddrType::Unreachable,
            "prohibit" => AddrType::Prohibit,
            "throw" => AddrType::Throw,
            _ => AddrType::Unicast,
        })
    }
}

/// A chain's verdict on a packet it lets through: a note, the accepting
/// rule (None: the policy), a translation asked for, a mark set.
pub type Judged = (
    String,
    Option<nft::RuleRef>,
    Option<Translation>,
    Option<u32>,
);

/// Runs an nftables base chain with rules on the packet: Ok with a note
/// and the accepting rule (None: the policy) when it lets the packet
/// through; a drop, a translation nsmap does not follow yet, a queue or
/// an undecidable rule is the Stop, naming the rule.
pub fn judge(
    view: &NsView<'_>,
    layer: Layer<'_>,
    hook: Hook,
    seen: &Seen,
    table: &NftTable,
    chain: &NftChain,
    what: &str,
) -> Result<Judged, Stop> {
    let label = view.label();
    let netns = Some(view.inode());
    let step = |verdict: &str, by: Option<&nft::RuleRef>| {
        crossed(hook, &table.family, &table.name, &chain.name, verdict, by)
    };
    // An ARP frame has no IP header; the evaluator models IP packets.
    if seen.ndp && seen.family == Family::Inet {
        return Err(Stop::new(
            Code::FirewallRules,
            netns,
            format!("{label} has {what} with rules on the way of the ARP resolution, which nsmap does not run on ARP frames yet"),
        )
        .with_firewall(step("unknown", None)));
    }
    let bridged = matches!(layer, Layer::Bridge);
    let Some(pkt) = packet(view, seen, hook, bridged, chain.priority.unwrap_or(0)) else {
        return Err(Stop::new(
            Code::FirewallRules,
            netns,
            format!("{label} has {what} with rules, and the packet has no source address yet to run them on"),
        )
        .with_firewall(step("unknown", None)));
    };
    let run = nft::run_chain(table, chain, &pkt, &ViewEnv { view });
    // A mark set to what nsmap cannot know would make every later rule or
    // route that reads it a guess (asked only where the packet goes on).
    let mark = || match run.changes.mark {
        Some(Some(m)) if run.changes_certain => Ok(Some(m)),
        None if run.changes_certain => Ok(None),
        _ => Err(Stop::new(
            Code::FirewallRules,
            netns,
            format!("{label} sets the packet's mark in {what} to a value nsmap cannot know"),
        )
        .with_firewall(step("unknown", None))),
    };

    let by_text = |by: &nft::RuleRef| {
        let within = if by.chain != chain.name {
            format!(" (in chain {})", by.chain.as_str())
        } else {
            String::new()
        };
        // The jumps and gotos that led to it: the trail of rules that
        // matched on the way.
        let reached = jumps_taken(table, &run.trail, by);
        format!("rule {}{within}: {}{reached}", by.handle, by.text)
    };
    match run.outcome {
        nft::Outcome::Accept { by } => {
            let note = match &by {
                Some(r) => format!("passes {what}: accepted by {}", by_text(r)),
                None => format!("passes {what}: no rule decides, the policy accepts"),
            };
            Ok((note, by, None, mark()?))
        }
        nft::Outcome::Drop { by, reject } => {
            let how = if reject { "rejects" } else { "drops" };
            let reason = match &by {
                Some(r) => format!("{label} {how} it: {what}, {}", by_text(r)),
                None => format!("{label} {how} it: {what}, by its policy (no rule accepts it)"),
            };
            let step = step("drop", by.as_ref());
            Err(Stop::new(Code::FirewallDrop, netns, reason).with_firewall(step))
        }
        nft::Outcome::Nat {
            by,
            kind,
            addr,
            port,
        } => {
            let to = match (addr, port) {
                (Some(a), Some((p, _))) => format!(" to {a} port {p}"),
                (Some(a), None) => format!(" to {a}"),
                (None, Some((p, _))) => format!(" to port {p}"),
                (None, None) => String::new(),
            };
            let word = nat_word(kind);
            // A port range is one port per connection, chosen by the
            // kernel: followed only when it is one port.
            let exact_port = port.is_none_or(|(lo, hi)| lo == hi);
            let needs_addr = matches!(kind, nft::NatKind::Dnat | nft::NatKind::Snat);
            if !exact_port || (needs_addr && addr.is_none()) {
                let step = step("unknown", Some(&by));
                return Err(Stop::new(
                    Code::FirewallRules,
                    netns,
                    format!(
                        "{label} translates it ({word}{to}) to an address or port nsmap cannot know: {what}, {}",
                        by_text(&by)
                    ),
                )
                .with_firewall(step));
            }
            let note = format!("{word}{to} in {what}, by {}", by_text(&by));
            let t = Translation {
                kind,
                addr,
                port: port.map(|(p, _)| p),
                rule: by.text.clone(),
            };
            Ok((note, Some(by), Some(t), mark()?))
        }
        nft::Outcome::Queue { by } => {
            let step = step("unknown", Some(&by));
            Err(Stop::new(
                Code::FirewallRules,
                netns,
                format!(
                    "{label} hands it to a userspace queue: {what}, {}",
                    by_text(&by)
                ),
            )
            .with_firewall(step))
        }
        nft::Outcome::Unknown { by, why, .. } => {
            let at = by
                .as_ref()
                .map(|r| format!(", {}", by_text(r)))
                .unwrap_or_default();
            let step = step("unknown", by.as_ref());
            Err(Stop::new(
                Code::FirewallRules,
                netns,
                format!("{label} may or may not let it through: {what}{at}: {why}"),
            )
            .with_firewall(step))
        }
    }
}

/// `, reached by rule 4: ip saddr 10.0.0.0/8 jump deny` for the rules of
/// `trail` that jumped or went to another chain.
fn jumps_taken(table: &NftTable, trail: &[nft::Step], decided: &nft::RuleRef) -> String {
    let mut parts = Vec::new();
    for step in trail {
        let nft::Step::Rule { chain, handle } = step else {
            continue;
        };
        if *handle == decided.handle && *chain == decided.chain {
            continue;
        }
        let rule = table
            .chains
            .iter()
            .chain(&table.bound_chains)
            .filter(|c| c.name == *chain)
            .flat_map(|c| c.rules.iter().flatten())
            .find(|r| r.handle == *handle);
        let Some(rule) = rule else { continue };
        let jumps = rule.exprs.iter().any(|e| {
            matches!(e, crate::snapshot::nft::Expr::Immediate { verdict: Some(v), .. } if v.kind == "jump" || v.kind == "goto")
                || matches!(e, crate::snapshot::nft::Expr::Lookup { dreg: Some(0), .. })
        });
        if jumps {
            parts.push(format!("rule {handle}: {}", nft::rule_text(table, rule)));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(", reached by {}", parts.join(", then "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::testing::Host;

    #[test]
    fn addrtype_is_the_local_table_s_longest_match_on_the_device_asked() {
        let mut h = Host::new();
        let a = h.ns("a");
        let eth0 = h.iface(a, "eth0", Some("veth"));
        h.addr(a, eth0, "10.0.0.1/24");
        let snapshot = h.build();
        let view = NsView::new(&snapshot.namespaces[a.0]);
        let env = ViewEnv { view: &view };
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        assert_eq!(env.addrtype(ip("10.0.0.1"), None), Some(AddrType::Local));
        assert_eq!(env.addrtype(ip("10.0.0.2"), None), Some(AddrType::Unicast));
        assert_eq!(env.addrtype(ip("0.1.2.3"), None), Some(AddrType::Broadcast));
        assert_eq!(
            env.addrtype(ip("224.0.0.1"), None),
            Some(AddrType::Multicast)
        );
        // Asked about another device: not local there.
        assert_eq!(
            env.addrtype(ip("10.0.0.1"), Some(eth0)),
            Some(AddrType::Local)
        );
        assert_eq!(
            env.addrtype(ip("10.0.0.1"), Some(eth0 + 7)),
            Some(AddrType::Unicast)
        );
    }
}
