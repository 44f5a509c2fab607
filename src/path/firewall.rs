//! Firewall hooks a packet crosses, judged from what the snapshot records
//! of them: each base chain's hook, priority, policy and rule count
//! (nftables, iptables-nft included) and each iptables-legacy table's
//! built-in chains.
//!
//! At one hook every base chain runs in priority order; an accept ends only
//! its own chain, a drop ends the packet. So a chain without rules passes
//! the packet on (policy accept) or drops it (policy drop) — decidable —
//! while a chain with rules could do anything: the answer is unknown,
//! naming the namespace, table, chain, hook and policy. (Evaluating the
//! rules themselves belongs here later: the walk asks this module about a
//! packet at a hook and nothing else.)

use super::view::NsView;
use super::{Code, Stop};
use crate::snapshot::l3::Family;

/// A netfilter hook, as nft names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    fn word(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }
}

/// Which tables see the packet at a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// The IP stack of the packet's family (ip/ip6 and inet tables).
    Ip(Family),
    /// A bridge's forwarding (bridge tables).
    Bridge,
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

/// One chain at a hook, as judged.
struct Chain {
    priority: i32,
    what: String,
    rules: u32,
    policy: Option<String>,
}

/// Checks every chain at `hook` for `layer` in `view`'s namespace. Ok
/// carries notes (chains passed); a definitive drop or an undecidable
/// chain is the Stop.
pub fn check(view: &NsView<'_>, layer: Layer, hook: Hook) -> Result<Vec<String>, Stop> {
    let label = view.label();
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
        };
        if !applies || table.flags.iter().any(|f| f == "dormant") {
            continue;
        }
        for chain in &table.chains {
            if chain.hook.as_deref() != Some(hook.word()) {
                continue;
            }
            chains.push(Chain {
                priority: chain.priority.unwrap_or(0),
                what: format!(
                    "chain {} of table {} {} (hook {}, priority {}, policy {})",
                    chain.name.as_str(),
                    table.family,
                    table.name.as_str(),
                    hook.word(),
                    chain.priority.unwrap_or(0),
                    chain.policy.as_deref().unwrap_or("accept")
                ),
                rules: chain.rule_count,
                policy: chain.policy.clone(),
            });
        }
    }
    if let Layer::Ip(family) = layer {
        let Some(legacy) = fw.iptables_legacy.as_ref() else {
            return Err(Stop::new(
                Code::NotScanned,
                Some(view.inode()),
                format!("nsmap could not read the iptables-legacy tables of {label} (run as root)"),
            ));
        };
        let want = match family {
            Family::Inet => "ip",
            Family::Inet6 => "ip6",
        };
        for table in legacy.iter().filter(|t| t.family == want) {
            if let Some(problem) = &table.problem {
                return Err(Stop::new(
                    Code::FirewallRules,
                    Some(view.inode()),
                    format!(
                        "{label} has an iptables-legacy table {} nsmap could not read ({problem})",
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
                        "iptables-legacy chain {} of table {} (policy {})",
                        chain.name.as_str(),
                        table.name,
                        chain.policy.as_deref().unwrap_or("accept")
                    ),
                    rules: chain.rule_count,
                    policy: chain.policy.clone(),
                });
            }
        }
    }
    chains.sort_by_key(|c| c.priority);
    let mut notes = Vec::new();
    for chain in chains {
        if chain.rules > 0 {
            return Err(Stop::new(
                Code::FirewallRules,
                Some(view.inode()),
                format!(
                    "{label} has {} with {} rule(s) on the way; nsmap does not evaluate firewall rules yet",
                    chain.what, chain.rules
                ),
            ));
        }
        if chain.policy.as_deref() == Some("drop") {
            return Err(Stop::new(
                Code::FirewallDrop,
                Some(view.inode()),
                format!("{label} drops it: {} has no rules", chain.what),
            ));
        }
        notes.push(format!("passes {} (no rules)", chain.what));
    }
    Ok(notes)
}
