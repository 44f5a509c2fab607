//! What changed between two scans, so a refresh can briefly highlight the
//! rows that changed. Pure: two models in, sets of keys of the *new* model
//! out (inodes are unique within one snapshot, so they are safe keys there).
//! Namespaces are matched across scans by [`NsKey`], interfaces by ifindex.

use std::collections::HashSet;

use super::model::{Model, NsKey};
use crate::snapshot::Interface;

/// Rows of the new model that are new or different, and what disappeared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Inodes of namespaces that appeared or whose contents changed.
    pub namespaces: HashSet<u64>,
    /// (inode, ifindex) of interfaces that appeared or changed.
    pub interfaces: HashSet<(u64, u32)>,
    pub namespaces_added: usize,
    pub namespaces_removed: usize,
    /// Namespaces whose processes, names or scan status changed.
    pub namespaces_changed: usize,
    pub interfaces_added: usize,
    pub interfaces_removed: usize,
    pub interfaces_changed: usize,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.namespaces_removed == 0 && self.interfaces_removed == 0
    }

    /// One line for the status bar, e.g. `+1 namespace, 2 interfaces changed`.
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return "no changes".to_string();
        }
        let mut parts = Vec::new();
        let mut push = |n: usize, what: &str, verb: &str| {
            if n > 0 {
                let s = if n == 1 { "" } else { "s" };
                parts.push(format!("{verb}{n} {what}{s}"));
            }
        };
        push(self.namespaces_added, "namespace", "+");
        push(self.namespaces_removed, "namespace", "-");
        push(self.interfaces_added, "interface", "+");
        push(self.interfaces_removed, "interface", "-");
        let mut line = parts.join(", ");
        let mut changed = |n: usize, what: &str| {
            if n > 0 {
                if !line.is_empty() {
                    line.push_str(", ");
                }
                let s = if n == 1 { "" } else { "s" };
                line.push_str(&format!("{n} {what}{s} changed"));
            }
        };
        changed(self.interfaces_changed, "interface");
        changed(self.namespaces_changed, "namespace");
        line
    }
}

/// Compares two scans.
/// Whether two readings of an interface differ only in their counters,
/// which move on every refresh (a change is one in the wiring). Field by
/// field, without copying: this runs for every interface on every
/// refresh. The destructuring names every field, so a new one cannot be
/// left out of the comparison unnoticed.
fn same_but_counters(a: &Interface, b: &Interface) -> bool {
    let Interface {
        ifindex,
        ifname,
        kind,
        slave_kind,
        operstate,
        flags,
        mtu,
        address,
        addresses,
        master,
        peer,
        link,
        port_state,
        port_isolated,
        port_locked,
        vlan_filtering,
        nf_call_iptables,
        nf_call_ip6tables,
        nf_call_arptables,
        macvlan_mode,
        addr_info,
        netconf,
        stats: _,
        qdiscs,
    } = a;
    *ifindex == b.ifindex
        && *ifname == b.ifname
        && *kind == b.kind
        && *slave_kind == b.slave_kind
        && *operstate == b.operstate
        && *flags == b.flags
        && *mtu == b.mtu
        && *address == b.address
        && *addresses == b.addresses
        && *master == b.master
        && *peer == b.peer
        && *link == b.link
        && *port_state == b.port_state
        && *port_isolated == b.port_isolated
        && *port_locked == b.port_locked
        && *vlan_filtering == b.vlan_filtering
        && *nf_call_iptables == b.nf_call_iptables
        && *nf_call_ip6tables == b.nf_call_ip6tables
        && *nf_call_arptables == b.nf_call_arptables
        && *macvlan_mode == b.macvlan_mode
        && *addr_info == b.addr_info
        && *netconf == b.netconf
        && match (qdiscs, &b.qdiscs) {
            (Some(x), Some(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.same_setup(q))
            }
            (x, y) => x.is_none() && y.is_none(),
        }
}

pub fn diff(old: &Model, new: &Model) -> Changes {
    let mut c = Changes::default();
    let mut seen_old = vec![false; old.namespaces().len()];
    for new_ns in new.namespaces() {
        let Some(o) = old.find(NsKey::of(new_ns)) else {
            c.namespaces_added += 1;
            c.interfaces_added += new_ns.interfaces.len();
            c.namespaces.insert(new_ns.inode);
            c.interfaces
                .extend(new_ns.interfaces.iter().map(|i| (new_ns.inode, i.ifindex)));
            continue;
        };
        if let Some(s) = seen_old.get_mut(o) {
            *s = true;
        }
        let Some(old_ns) = old.ns(o) else { continue };
        // Not dumped on one side: nothing to compare, not "all removed".
        if !old_ns.scanned || !new_ns.scanned {
            if old_ns.scanned != new_ns.scanned {
                c.namespaces_changed += 1;
                c.namespaces.insert(new_ns.inode);
            }
            continue;
        }
        let mut changed = old_ns.pids != new_ns.pids
            || old_ns.names != new_ns.names
            || old_ns.scanned != new_ns.scanned;
        if changed {
            c.namespaces_changed += 1;
        }
        for iface in &new_ns.interfaces {
            match old_ns.interface(iface.ifindex) {
                // Counters move on every refresh; a change is in the wiring.
                Some(before) if same_but_counters(before, iface) => continue,
                Some(_) => c.interfaces_changed += 1,
                None => c.interfaces_added += 1,
            }
            changed = true;
            c.interfaces.insert((new_ns.inode, iface.ifindex));
        }
        let removed = old_ns
            .interfaces
            .iter()
            .filter(|i| new_ns.interface(i.ifindex).is_none())
            .count();
        c.interfaces_removed += removed;
        if changed || removed > 0 {
            c.namespaces.insert(new_ns.inode);
        }
    }
    c.namespaces_removed = seen_old.iter().filter(|s| !**s).count();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::snapshot::{Interface, Namespace, Snapshot};

    fn model(namespaces: Vec<Namespace>) -> Model {
        Model::new(Snapshot {
            schema_version: 1,
            scan: Default::default(),
            namespaces,
            warnings: vec![],
        })
    }

    fn ns(inode: u64, ifaces: &[(u32, &str)]) -> Namespace {
        Namespace {
            inode,
            id: Some(inode + 1000),
            scanned: true,
            interfaces: ifaces
                .iter()
                .map(|&(ifindex, name)| Interface {
                    ifindex,
                    ifname: Name::from(name),
                    ..Interface::default()
                })
                .collect(),
            ..Namespace::default()
        }
    }

    #[test]
    fn a_new_process_alone_is_a_change() {
        let a = model(vec![ns(1, &[(1, "lo")])]);
        let mut moved = ns(1, &[(1, "lo")]);
        moved.pids = vec![42];
        let c = diff(&a, &model(vec![moved]));
        assert_eq!(c.summary(), "1 namespace changed");
        assert!(c.namespaces.contains(&1));
    }

    #[test]
    fn identical_scans_have_no_changes() {
        let a = model(vec![ns(1, &[(1, "lo")])]);
        assert!(diff(&a, &a.clone()).is_empty());
    }

    #[test]
    fn added_removed_and_changed_rows_are_counted() {
        let old = model(vec![ns(1, &[(1, "lo"), (2, "eth0")]), ns(2, &[(1, "lo")])]);
        let mut changed = ns(1, &[(1, "lo"), (3, "veth1")]);
        changed.interfaces[0].mtu = 9000;
        let new = model(vec![changed, ns(3, &[(1, "lo")])]);
        let c = diff(&old, &new);
        assert_eq!(c.namespaces_added, 1);
        assert_eq!(c.namespaces_removed, 1);
        assert_eq!(c.interfaces_added, 2);
        assert_eq!(c.interfaces_removed, 1);
        assert_eq!(c.interfaces_changed, 1);
        assert!(c.interfaces.contains(&(1, 1)) && c.interfaces.contains(&(1, 3)));
        assert_eq!(c.namespaces, HashSet::from([1, 3]));
        assert_eq!(
            c.summary(),
            "+1 namespace, -1 namespace, +2 interfaces, -1 interface, 1 interface changed"
        );
    }
}
