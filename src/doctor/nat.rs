//! NSM033: a port forward (an nftables `dnat to ADDR`) whose target is on
//! one of the namespace's own subnets, where nobody on this host has that
//! address — a container that was removed or re-addressed, its forward
//! left behind. Targets outside the namespace's connected subnets may be
//! other hosts and are not judged.
//!
//! The target is read from the rule as the kernel holds it: the address
//! register a `nat` expression names, loaded by an `immediate` before it
//! in the same rule (how `nft` compiles `dnat to 10.88.0.5`). A target
//! taken from a map or a set is not judged.

use std::collections::HashSet;
use std::net::IpAddr;

use super::fix::quote;
use super::l3::L3;
use super::{Code, Finding};
use crate::path::net::Prefix;
use crate::path::view::{iface_addrs, usable};
use crate::snapshot::nft::Expr;
use crate::snapshot::{Namespace, Snapshot};

/// Every address a namespace of the snapshot holds.
fn held(snapshot: &Snapshot) -> HashSet<IpAddr> {
    snapshot
        .namespaces
        .iter()
        .flat_map(|ns| ns.interfaces.iter())
        .flat_map(iface_addrs)
        .filter(usable)
        .map(|a| a.local)
        .collect()
}

/// The constant `dnat` targets of a namespace's rules, with where they are
/// (`ip nat PRE handle 4`, as `nft delete rule` takes it).
fn dnat_targets(ns: &Namespace) -> Vec<(IpAddr, String)> {
    let mut out = Vec::new();
    let Some(tables) = ns.firewall.as_ref().and_then(|f| f.nftables.as_ref()) else {
        return out;
    };
    for table in tables {
        for chain in table.chains.iter().chain(&table.bound_chains) {
            for rule in chain.rules.iter().flatten() {
                let mut loaded: Vec<(u32, &[u8])> = Vec::new();
                for e in &rule.exprs {
                    match e {
                        Expr::Immediate {
                            dreg,
                            data: Some(d),
                            ..
                        } => loaded.push((*dreg, &d.0)),
                        Expr::Nat {
                            kind,
                            addr_min: Some(reg),
                            ..
                        } if kind == "dnat" => {
                            let Some((_, bytes)) = loaded.iter().rev().find(|(r, _)| r == reg)
                            else {
                                continue;
                            };
                            let addr = match bytes.len() {
                                4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                                16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                                _ => None,
                            };
                            if let Some(addr) = addr {
                                out.push((
                                    addr,
                                    format!(
                                        "{} {} {} handle {}",
                                        table.family,
                                        quote(&table.name),
                                        quote(&chain.name),
                                        rule.handle
                                    ),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// NSM033.
pub fn dnat_target_missing(l3: &L3<'_>) -> Vec<Finding> {
    let snapshot = l3.ctx.snapshot;
    let mut held_addrs: Option<HashSet<IpAddr>> = None;
    let mut out = Vec::new();
    for ns in &snapshot.namespaces {
        let targets = dnat_targets(ns);
        if targets.is_empty() {
            continue;
        }
        let held_addrs = held_addrs.get_or_insert_with(|| held(snapshot));
        for (addr, where_) in targets {
            if held_addrs.contains(&addr) {
                continue;
            }
            // On which of the namespace's own subnets the target sits.
            let on = ns.interfaces.iter().find(|i| {
                iface_addrs(i).iter().any(|a| {
                    a.family == crate::snapshot::l3::Family::of(addr)
                        && a.prefixlen < if addr.is_ipv4() { 32 } else { 128 }
                        && Prefix::parse(&format!("{}/{}", a.local, a.prefixlen))
                            .is_some_and(|p| p.contains(addr))
                })
            });
            let Some(iface) = on else { continue };
            out.push(Finding::new(
                Code::DnatTargetMissing,
                Some(ns.inode),
                vec![crate::snapshot::LinkRef {
                    netns: Some(ns.inode),
                    ifindex: iface.ifindex,
                    ifname: Some(iface.ifname.clone()),
                }],
                format!(
                    "{} forwards to {addr} (rule {where_}), on the subnet of {}, and nothing on this host has that address",
                    ns.label(),
                    iface.ifname.as_str()
                ),
                super::fix::exec_in(ns, &format!("nft delete rule {where_}")),
            ));
        }
    }
    out
}
