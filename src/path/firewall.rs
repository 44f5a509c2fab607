//! Firewall hooks a packet crosses, judged from what the snapshot records
//! of them: each base chain's hook, priority, policy and rule count
//! (nftables, iptables-nft included) and each iptables-legacy table's
//! built-in chains. Besides the IP and bridge hooks: a device's own
//! (netdev `ingress`/`egress`, inet `ingress`), which every frame the
//! device receives or sends crosses, and ARP's (arp `input`/`output`/
//! `forward`), which every neighbour resolution over IPv4 crosses.
//!
//! At one hook every base chain runs in priority order; an accept ends only
//! its own chain, a drop ends the packet. So a chain without rules passes
//! the packet on (policy accept) or drops it (policy drop) — decidable —
//! while a chain with rules could do anything: the answer is unknown,
//! naming the namespace, table, chain, hook and policy. (Evaluating the
//! rules themselves belongs here later: the walk asks this module about a
//! packet at a hook and nothing else.)

use std::net::IpAddr;

use super::nft;
use super::rules;
use super::view::NsView;
use super::wire::{Pass, Step};
use super::{Code, FirewallStep, Stop};
use crate::name::Name;
use crate::snapshot::l3::Family;
use crate::snapshot::l3::{NftChain, NftTable};

/// A netfilter hook, as nft names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
    /// A device receives a frame (netif_receive_skb's nf_ingress).
    Ingress,
    /// A device sends a frame (__dev_queue_xmit's nf_hook_egress).
    Egress,
}

impl Hook {
    fn word(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
            Hook::Ingress => "ingress",
            Hook::Egress => "egress",
        }
    }
}

/// What a hook sees of the packet: what its rules may look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub family: Family,
    pub src: Option<IpAddr>,
    pub dst: IpAddr,
    pub proto: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub ttl: u8,
    /// The packet's mark (skb->mark), as rules on the way set it.
    pub mark: u32,
    /// The connection's reply (conntrack: established, reply direction)
    /// rather than its first packet (new, original direction).
    pub reply: bool,
    /// Conntrack in this namespace knows the connection (the request
    /// passed here); a reply where it did not is no reply to conntrack.
    pub tracked: bool,
    /// The devices the hook is given as `in` and `out` (ifindex in this
    /// namespace; for bridged traffic the ports, and at br_netfilter's IP
    /// hooks the bridge itself).
    pub iif: Option<u32>,
    pub oif: Option<u32>,
    /// The bridge of a bridged frame (bridge family: `meta ibrname`).
    pub bridge: Option<u32>,
    /// A neighbour solicitation or advertisement (NDP) sent for the
    /// packet, not the packet itself.
    pub ndp: bool,
    /// The walk applies a translation asked for at this hook; elsewhere
    /// one makes the answer unknown.
    pub follows_nat: bool,
    /// On a reply: what conntrack restores at this hook's nat position
    /// (the destination at prerouting, the source at postrouting), so
    /// that chains after it see the restored packet.
    pub restore: Option<(bool, IpAddr, Option<u16>)>,
    /// The source of a neighbour solicitation sent for the packet
    /// (ndisc_solicit: the packet's own source if it is on the sending
    /// device, else that device's link-local address).
    pub ndp_src: Option<IpAddr>,
}

impl Seen {
    /// The same packet with other devices.
    pub fn on(self, iif: Option<u32>, oif: Option<u32>) -> Seen {
        Seen { iif, oif, ..self }
    }
}

/// What the hooks let through: notes for people, each base chain crossed
/// with its verdict, and a translation a nat chain asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Passed {
    pub notes: Vec<String>,
    pub steps: Vec<FirewallStep>,
    pub nat: Option<Translation>,
    /// A mark a rule set (`meta mark set`), for the hooks and the route
    /// lookups that follow.
    pub mark: Option<u32>,
}

/// A translation a nat rule asks for: the new address (None for a
/// masquerade or redirect, which take the device's) and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    pub kind: nft::NatKind,
    pub addr: Option<IpAddr>,
    pub port: Option<u16>,
    pub rule: String,
}

impl Passed {
    pub fn extend(&mut self, other: Passed) {
        push_new(&mut self.notes, other.notes);
        push_new(&mut self.steps, other.steps);
        if other.nat.is_some() {
            self.nat = other.nat;
        }
        if other.mark.is_some() {
            self.mark = other.mark;
        }
    }
}

/// Appends what `into` does not hold yet (a hook crossed twice on one
/// wire says so once).
pub fn push_new<T: PartialEq>(into: &mut Vec<T>, from: Vec<T>) {
    for x in from {
        if !into.contains(&x) {
            into.push(x);
        }
    }
}

/// Which tables see the packet at a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer<'n> {
    /// The IP stack of the packet's family (ip/ip6 and inet tables).
    Ip(Family),
    /// A bridge's forwarding (bridge tables).
    Bridge,
    /// ARP requests and replies (arp tables, arptables-legacy).
    Arp,
    /// The device named `dev` (netdev tables, and inet ones at ingress
    /// when the frame is `ip` — an IP packet or NDP, not ARP: inet
    /// ingress passes every other protocol, nft_do_chain_inet_ingress).
    Device { dev: &'n Name, ip: bool },
}

/// Whether a chain's device list (`NFTA_HOOK_DEVS`, a prefix written
/// `name*`) takes in `dev`.
fn hooks_device(devices: &[Name], dev: &Name) -> bool {
    let dev = dev.to_bytes();
    devices.iter().any(|d| {
        let d = d.to_bytes();
        d == dev || d.strip_suffix(b"*").is_some_and(|p| dev.starts_with(p))
    })
}

/// The priorities iptables-legacy registers its tables at
/// (include/uapi/linux/netfilter_ipv4.h NF_IP_PRI_*).
fn xt_priority(table: &str, hook: Hook) -> i32 {
    match table {
        "raw" => -300,
        "mangle" => -150,
        "nat" if matches!(hook, Hook::Prerouting | Hook::Output) => -100,
        "nat" => 100,
        "security" => 50,
        _ => 0,
    }
}

/// The tool a legacy table of `family` belongs to.
fn legacy_name(family: &str) -> &'static str {
    if family == "arp" {
        "arptables"
    } else {
        "iptables"
    }
}

/// One chain at a hook, as judged.
struct Chain<'t> {
    priority: i32,
    what: String,
    rules: u32,
    policy: Option<String>,
    /// Family, table and chain, for the step it makes.
    family: String,
    table: Name,
    name: Name,
    /// The nftables table and chain, to run their rules where they were
    /// read (None for iptables-legacy).
    nft: Option<(&'t NftTable, &'t NftChain)>,
}

/// Checks every chain at `hook` for `layer` in `view`'s namespace. Ok
/// carries notes (chains passed); a definitive drop or an undecidable
/// chain is the Stop.
pub fn check(view: &NsView<'_>, layer: Layer<'_>, hook: Hook, seen: &Seen) -> Result<Passed, Stop> {
    let label = view.label();
    // Chains after a nat chain at the same hook see the translated packet.
    let mut seen = *seen;
    let Some(fw) = view.ns.firewall.as_ref() else {
        return Err(Stop::new(
            Code::NotScanned,
            Some(view.inode()),
            format!("nsmap could not read the firewall of {label}"),
        ));
    };
    let Some(tables) = fw.nftables.as_ref() else {
        return Err(Stop::new(
            Code::NotScanned,
            Some(view.inode()),
            format!("nsmap could not read the nftables ruleset of {label} (run as root)"),
        ));
    };
    let mut chains: Vec<Chain> = Vec::new();
    for table in tables {
        let applies = match layer {
            Layer::Ip(Family::Inet) => table.family == "ip" || table.family == "inet",
            Layer::Ip(Family::Inet6) => table.family == "ip6" || table.family == "inet",
            Layer::Bridge => table.family == "bridge",
            Layer::Arp => table.family == "arp",
            Layer::Device { ip, .. } => {
                table.family == "netdev" || (ip && hook == Hook::Ingress && table.family == "inet")
            }
        };
        if !applies || table.flags.iter().any(|f| f == "dormant") {
            continue;
        }
        for chain in &table.chains {
            if chain.hook.as_deref() != Some(hook.word()) {
                continue;
            }
            if let Layer::Device { dev, .. } = layer
                && !hooks_device(&chain.devices, dev)
            {
                continue;
            }
            chains.push(Chain {
                priority: chain.priority.unwrap_or(0),
                what: format!(
                    "chain {} of table {} {} (hook {}{}, priority {}, policy {})",
                    chain.name.as_str(),
                    table.family,
                    table.name.as_str(),
                    hook.word(),
                    match layer {
                        Layer::Device { dev, .. } => format!(" of {}", dev.as_str()),
                        _ => String::new(),
                    },
                    chain.priority.unwrap_or(0),
                    chain.policy.as_deref().unwrap_or("accept")
                ),
                rules: chain.rule_count,
                policy: chain.policy.clone(),
                family: table.family.clone(),
                table: table.name.clone(),
                name: chain.name.clone(),
                nft: Some((table, chain)),
            });
        }
    }
    let legacy_family = match layer {
        Layer::Ip(Family::Inet) => Some("ip"),
        Layer::Ip(Family::Inet6) => Some("ip6"),
        Layer::Arp => Some("arp"),
        Layer::Bridge | Layer::Device { .. } => None,
    };
    if let Some(want) = legacy_family {
        let Some(legacy) = fw.iptables_legacy.as_ref() else {
            return Err(Stop::new(
                Code::NotScanned,
                Some(view.inode()),
                format!("nsmap could not read the iptables-legacy tables of {label} (run as root)"),
            ));
        };
        for table in legacy.iter().filter(|t| t.family == want) {
            if let Some(problem) = &table.problem {
                return Err(Stop::new(
                    Code::FirewallRules,
                    Some(view.inode()),
                    format!(
                        "{label} has an {}-legacy table {} nsmap could not read ({problem})",
                        legacy_name(want),
                        table.name
                    ),
                ));
            }
            for chain in &table.chains {
                if chain.hook.as_deref() != Some(hook.word()) {
                    continue;
                }
                chains.push(Chain {
                    priority: xt_priority(&table.name, hook),
                    what: format!(
                        "{}-legacy chain {} of table {} (policy {})",
                        legacy_name(want),
                        chain.name.as_str(),
                        table.name,
                        chain.policy.as_deref().unwrap_or("accept")
                    ),
                    rules: chain.rule_count,
                    policy: chain.policy.clone(),
                    family: format!("{}-legacy", legacy_name(want)),
                    table: Name::from(table.name.as_str()),
                    name: chain.name.clone(),
                    nft: None,
                });
            }
        }
    }
    // nftables nat chains do not sit at their own priority: nf_nat
    // registers one hook per hook point (NAT_DST at -100 at prerouting and
    // output, NAT_SRC at 100 at postrouting and input) that runs them, in
    // their declared order, from there (nf_nat_register_fn).
    let nat_at = match hook {
        Hook::Prerouting | Hook::Output => -100,
        _ => 100,
    };
    let is_nat = |c: &Chain<'_>| c.nft.is_some_and(|(_, n)| n.kind.as_deref() == Some("nat"));
    chains.sort_by_key(|c| {
        if is_nat(c) {
            (nat_at, c.priority)
        } else {
            (c.priority, c.priority)
        }
    });
    let mut translated = false;
    let mut passed = Passed::default();
    for chain in chains {
        let at = if is_nat(&chain) {
            nat_at
        } else {
            chain.priority
        };
        if at >= nat_at
            && let Some((destination, addr, port)) = seen.restore.take()
        {
            if destination {
                seen.dst = addr;
                seen.dport = port.or(seen.dport);
            } else {
                seen.src = Some(addr);
                seen.sport = port.or(seen.sport);
            }
        }
        let step = |verdict: &str| {
            crossed(
                hook,
                &chain.family,
                &chain.table,
                &chain.name,
                verdict,
                None,
            )
        };
        // A reply belongs to a connection conntrack already translated:
        // nat chains see only a connection's first packet, and never an
        // untracked one (NDP): nf_nat_inet_fn runs them only for a new
        // conntrack entry.
        // Once a nat chain set up the mapping, the others at this hook
        // are not asked (nf_nat_inet_fn: nf_nat_initialized).
        if is_nat(&chain) && (seen.ndp || (seen.reply && seen.tracked) || translated) {
            continue;
        }
        if chain.rules > 0
            && let Some((table, nft_chain)) = chain.nft
            && nft_chain.rules.is_some()
            && !matches!(layer, Layer::Arp)
        {
            let (note, by, nat, mark) =
                rules::judge(view, layer, hook, &seen, table, nft_chain, &chain.what)?;
            if let Some(m) = mark {
                seen.mark = m;
                passed.mark = Some(m);
            }
            passed.notes.push(note);
            passed.steps.push(crossed(
                hook,
                &chain.family,
                &chain.table,
                &chain.name,
                if nat.is_some() { "nat" } else { "accept" },
                by.as_ref(),
            ));
            if let Some(t) = nat {
                if !seen.follows_nat || seen.reply {
                    return Err(Stop::new(
                        Code::FirewallRules,
                        Some(view.inode()),
                        format!(
                            "{label} translates it ({}) at {} {}, where nsmap does not follow address translation yet",
                            nat_word(t.kind),
                            chain.what,
                            t.rule
                        ),
                    ));
                }
                match t.kind {
                    nft::NatKind::Dnat | nft::NatKind::Redirect => {
                        if let Some(a) = t.addr {
                            seen.dst = a;
                        }
                        seen.dport = t.port.or(seen.dport);
                    }
                    nft::NatKind::Snat | nft::NatKind::Masquerade => {
                        if let Some(a) = t.addr {
                            seen.src = Some(a);
                        }
                        seen.sport = t.port.or(seen.sport);
                    }
                }
                passed.nat = Some(t);
                translated = true;
            }
            continue;
        }
        if chain.rules > 0 {
            let why = match chain.nft {
                None => "nsmap does not evaluate iptables-legacy rules yet",
                Some(_) if matches!(layer, Layer::Arp) => {
                    "nsmap does not evaluate rules of arp tables yet"
                }
                Some((_, c)) if c.rules.is_none() => "its rules were not read",
                Some(_) => "nsmap could not evaluate them",
            };
            return Err(Stop::new(
                Code::FirewallRules,
                Some(view.inode()),
                format!(
                    "{label} has {} with {} rule(s) on the way; {why}",
                    chain.what, chain.rules
                ),
            )
            .with_firewall(step("unknown")));
        }
        if chain.policy.as_deref() == Some("drop") {
            return Err(Stop::new(
                Code::FirewallDrop,
                Some(view.inode()),
                format!("{label} drops it: {} has no rules", chain.what),
            )
            .with_firewall(step("drop")));
        }
        passed
            .notes
            .push(format!("passes {} (no rules)", chain.what));
        passed.steps.push(step("accept"));
    }
    Ok(passed)
}

/// One base chain as it judged the packet, for the hop's `firewall`.
pub fn crossed(
    hook: Hook,
    family: &str,
    table: &Name,
    chain: &Name,
    verdict: &str,
    by: Option<&nft::RuleRef>,
) -> FirewallStep {
    FirewallStep {
        hook: hook.word().to_string(),
        family: family.to_string(),
        table: table.clone(),
        chain: chain.clone(),
        verdict: verdict.to_string(),
        rule: by.map(|r| r.text.clone()),
        handle: by.map(|r| r.handle),
        rule_chain: by.map(|r| r.chain.clone()),
    }
}

/// A mark set where the walk does not carry it on (a device's or a
/// bridge's hooks, a local delivery): the later hooks and the route lookup
/// would read it, so the answer is unknown rather than a guess.
pub fn mark_not_carried(view: &NsView<'_>, passed: &Passed, mark: u32) -> Result<(), Stop> {
    match passed.mark {
        Some(m) if m != mark => Err(Stop::new(
            Code::FirewallRules,
            Some(view.inode()),
            format!(
                "{} sets the packet's mark ({m:#x}) at a device, bridge or loopback hook, and nsmap does not carry a mark from there yet",
                view.label()
            ),
        )),
        _ => Ok(()),
    }
}

/// nft's word for a translation.
pub fn nat_word(kind: nft::NatKind) -> &'static str {
    match kind {
        nft::NatKind::Dnat => "dnat",
        nft::NatKind::Snat => "snat",
        nft::NatKind::Masquerade => "masquerade",
        nft::NatKind::Redirect => "redirect",
    }
}

/// Where a namespace stands on the wire a packet crosses: it `sends` the
/// packet (the namespace it leaves), `answers` it (the namespace the
/// neighbour resolution finds), both (a wire inside one namespace), or
/// neither (a bridge's namespace the frames only cross).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Role {
    pub sends: bool,
    pub answers: bool,
}

/// The hooks one namespace of the wire holds for the packet at layer 2:
/// each device's own hook (ingress or egress, `passes`) for the packet;
/// when `asks` (no permanent neighbour entry: ARP or NDP runs first), the
/// request's and the reply's — the devices both ways, ARP's `output` then
/// `input` where the request is sent and `input` then `output` where it is
/// answered (for NDP, ICMPv6, the IPv6 `output`/`postrouting` and
/// `prerouting`/`input`), and ARP's `forward` on a bridge whose ARP
/// br_netfilter hands to arptables. A resolution that dies in a firewall
/// is as dead as the packet: the same verdicts as every other hook.
pub fn wire(
    view: &NsView<'_>,
    steps: &[Step],
    passes: &[Option<Pass>],
    asks: Option<IpAddr>,
    role: Role,
    seen: &Seen,
) -> Result<Passed, Stop> {
    let family = seen.family;
    let mut notes = Passed::default();
    let mut add = |found: Passed| notes.extend(found);
    let v4 = family == Family::Inet;
    let on = |p: Pass| match p {
        Pass::In => Hook::Ingress,
        Pass::Out => Hook::Egress,
    };
    let back = |p: Pass| match p {
        Pass::In => Pass::Out,
        Pass::Out => Pass::In,
    };
    let devices: Vec<(&Name, u32, Pass)> = steps
        .iter()
        .zip(passes)
        .filter_map(|(s, p)| Some((&view.iface(s.ifindex)?.ifname, s.ifindex, (*p)?)))
        .collect();
    // The device a hook of `pass` is given: ingress its `in`, egress its
    // `out`.
    let at = |seen: Seen, dev: u32, pass: Pass| match pass {
        Pass::In => seen.on(Some(dev), None),
        Pass::Out => seen.on(None, Some(dev)),
    };
    // The neighbour messages: a solicitation from the sender (its source
    // address, to the target's solicited-node group; for ARP no IP
    // header) and the advertisement back (ndisc_send_na: from the target,
    // to the solicitation's source). Conntrack leaves NDP untracked.
    let target = asks.unwrap_or(seen.dst);
    // NDP goes with hop limit 255 (the ndisc socket).
    let solicit = Seen {
        ndp: true,
        proto: if v4 { 0 } else { super::fib::IPPROTO_ICMPV6 },
        sport: None,
        dport: None,
        ttl: 255,
        src: seen.ndp_src.or(seen.src),
        dst: super::net::solicited_node(target),
        ..seen.on(None, None)
    };
    let advert = Seen {
        src: Some(target),
        dst: solicit.src.unwrap_or(target),
        reply: true,
        ..solicit
    };
    // Sending a neighbour message, receiving one.
    let out: &[(Layer<'_>, Hook)] = if v4 {
        &[(Layer::Arp, Hook::Output)]
    } else {
        &[
            (Layer::Ip(Family::Inet6), Hook::Output),
            (Layer::Ip(Family::Inet6), Hook::Postrouting),
        ]
    };
    let inn: &[(Layer<'_>, Hook)] = if v4 {
        &[(Layer::Arp, Hook::Input)]
    } else {
        &[
            (Layer::Ip(Family::Inet6), Hook::Prerouting),
            (Layer::Ip(Family::Inet6), Hook::Input),
        ]
    };
    if asks.is_some() {
        if role.sends {
            for &(layer, hook) in out {
                add(check(view, layer, hook, &solicit)?);
            }
        }
        if role.answers {
            for &(layer, hook) in inn {
                add(check(view, layer, hook, &solicit)?);
            }
        }
        if v4 && !role.sends && !role.answers && bridges_arp(view, steps)? {
            add(check(view, Layer::Arp, Hook::Forward, &solicit)?);
        }
        for &(dev, ifindex, pass) in &devices {
            let layer = Layer::Device { dev, ip: !v4 };
            add(check(view, layer, on(pass), &at(solicit, ifindex, pass))?);
            add(check(
                view,
                layer,
                on(back(pass)),
                &at(advert, ifindex, back(pass)),
            )?);
        }
        if role.answers {
            for &(layer, hook) in out {
                add(check(view, layer, hook, &advert)?);
            }
        }
        if role.sends {
            for &(layer, hook) in inn {
                add(check(view, layer, hook, &advert)?);
            }
        }
    }
    for &(dev, ifindex, pass) in &devices {
        add(check(
            view,
            Layer::Device { dev, ip: true },
            on(pass),
            &at(*seen, ifindex, pass),
        )?);
    }
    mark_not_carried(view, &notes, seen.mark)?;
    Ok(notes)
}

/// Whether a bridge among `steps` hands bridged ARP to arptables
/// (br_netfilter's br_nf_forward_arp: `bridge-nf-call-arptables` or the
/// bridge's own `nf_call_arptables`).
fn bridges_arp(view: &NsView<'_>, steps: &[Step]) -> Result<bool, Stop> {
    let mut bridged = false;
    for s in steps {
        let Some(bridge) = view.iface(s.ifindex).filter(|i| i.kind_is("bridge")) else {
            continue;
        };
        if bridge.nf_call_arptables == Some(true) {
            return Ok(true);
        }
        bridged = true;
    }
    if !bridged {
        return Ok(false);
    }
    match view
        .ns
        .firewall
        .as_ref()
        .map(|f| f.bridge_nf_call_arptables)
    {
        // Read; None there means br_netfilter is absent.
        Some(value) => Ok(value.is_some_and(|v| v != 0)),
        None => Err(Stop::new(
            Code::NotScanned,
            Some(view.inode()),
            format!(
                "nsmap could not read whether bridged ARP in {} crosses arptables (bridge-nf-call-arptables)",
                view.label()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_hooks_its_devices_and_prefixes_only() {
        let devs = [Name::from("eth0"), Name::from("veth*")];
        assert!(hooks_device(&devs, &Name::from("eth0")));
        assert!(hooks_device(&devs, &Name::from("veth12")));
        assert!(!hooks_device(&devs, &Name::from("eth1")));
        assert!(!hooks_device(&devs, &Name::from("eth00")));
        assert!(!hooks_device(&[], &Name::from("eth0")));
        // Kernel bytes that are not UTF-8 compare as bytes.
        let odd = Name::from_bytes(b"v\xff");
        assert!(hooks_device(&[Name::from_bytes(b"v*")], &odd));
    }
}
