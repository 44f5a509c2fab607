//! The bridges view as rows of a tree: every bridge (and any other master,
//! such as a bond or an OVS datapath) in any namespace, its ports, and for
//! each port with a wire (veth peer or lower link) the interface at the
//! other end. Built once per scan; drawing it is then a slice.

use std::collections::HashSet;

use super::model::{IfPos, Model};

/// One line of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeRow {
    /// A bridge (or other master) and how many ports it has.
    Master {
        pos: IfPos,
        ports: usize,
        collapsed: bool,
    },
    /// A port of the master above; `last` draws `└─` instead of `├─`.
    Port { pos: IfPos, last: bool },
    /// What the port above is wired to (`peer` false: its lower link).
    /// `end` is None when that interface is in a namespace nsmap did not see.
    End {
        port: IfPos,
        end: Option<IfPos>,
        peer: bool,
        last_port: bool,
    },
    /// An interface stacked on the master through its lower link (a
    /// macvlan or vxlan on a bridge): plugged in without being a port.
    Upper { pos: IfPos, last: bool },
    /// A master without ports.
    NoPorts,
}

impl TreeRow {
    /// The interface Enter jumps to from this row.
    pub fn target(&self) -> Option<IfPos> {
        match self {
            TreeRow::Master { pos, .. }
            | TreeRow::Port { pos, .. }
            | TreeRow::Upper { pos, .. } => Some(*pos),
            TreeRow::End { end, .. } => *end,
            TreeRow::NoPorts => None,
        }
    }

    /// The interface of the tree this row stands for (an end row stands
    /// for its port): what keeps the cursor in place across a rescan.
    pub fn anchor(&self) -> Option<IfPos> {
        match self {
            TreeRow::Master { pos, .. }
            | TreeRow::Port { pos, .. }
            | TreeRow::Upper { pos, .. }
            | TreeRow::End { port: pos, .. } => Some(*pos),
            TreeRow::NoPorts => None,
        }
    }

    /// The master this row belongs to is identified by its first row.
    pub fn is_master(&self) -> bool {
        matches!(self, TreeRow::Master { .. })
    }
}

/// The rows, masters in namespace order then ifindex order; ports of a
/// collapsed master (keyed by inode, ifindex) are left out.
pub fn build(model: &Model, collapsed: &HashSet<(u64, u32)>) -> Vec<TreeRow> {
    let mut rows = Vec::new();
    for (n, ns) in model.namespaces().iter().enumerate() {
        for (i, iface) in ns.interfaces.iter().enumerate() {
            let pos = IfPos { ns: n, iface: i };
            let ports = model.ports(pos);
            if !iface.kind_is("bridge") && ports.is_empty() {
                continue;
            }
            let folded = collapsed.contains(&(ns.inode, iface.ifindex));
            rows.push(TreeRow::Master {
                pos,
                ports: ports.len(),
                collapsed: folded,
            });
            if folded {
                continue;
            }
            let uppers = model.uppers(pos);
            if ports.is_empty() && uppers.is_empty() {
                rows.push(TreeRow::NoPorts);
            }
            let children = ports.len() + uppers.len();
            for (k, &port) in ports.iter().enumerate() {
                let last = k + 1 == children;
                rows.push(TreeRow::Port { pos: port, last });
                let Some(p) = model.iface(port) else { continue };
                if let Some(r) = p.peer.as_ref().or(p.link.as_ref()) {
                    rows.push(TreeRow::End {
                        port,
                        end: model.resolve(r),
                        peer: p.peer.is_some(),
                        last_port: last,
                    });
                }
            }
            for (k, &upper) in uppers.iter().enumerate() {
                let last = ports.len() + k + 1 == children;
                rows.push(TreeRow::Upper { pos: upper, last });
            }
        }
    }
    rows
}
