//! The snapshot the TUI shows, with the lookups its views need precomputed
//! once per scan (labels, inode/id indexes, reverse lower-link edges), so a
//! frame never does more than a hash lookup per reference it draws.
//!
//! Namespaces are addressed by their position in `snapshot.namespaces`
//! inside one model, and by [`NsKey`] across models: inodes are reused by
//! the kernel, the 64-bit namespace id is not, so a key prefers the id.

use std::collections::HashMap;

use crate::name::terminal_safe;
use crate::snapshot::{Interface, LinkRef, Namespace, Snapshot};

/// Identity of a namespace across rescans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NsKey {
    pub inode: u64,
    /// `NS_GET_ID`; when both sides know it, it decides alone.
    pub id: Option<u64>,
}

impl NsKey {
    pub fn of(ns: &Namespace) -> NsKey {
        NsKey {
            inode: ns.inode,
            id: ns.id,
        }
    }

    /// Whether `ns` is the namespace this key was taken from.
    pub fn matches(&self, ns: &Namespace) -> bool {
        match (self.id, ns.id) {
            (Some(a), Some(b)) => a == b,
            _ => self.inode == ns.inode,
        }
    }
}

/// A place in the map: a namespace and possibly one of its interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub ns: NsKey,
    pub ifindex: Option<u32>,
}

/// An interface inside a model: namespace position and interface position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IfPos {
    pub ns: usize,
    pub iface: usize,
}

/// A snapshot plus the derived lookups the TUI reads every frame.
#[derive(Debug, Clone)]
pub struct Model {
    pub snapshot: Snapshot,
    /// Terminal-safe label of each namespace, by position.
    labels: Vec<String>,
    by_inode: HashMap<u64, usize>,
    by_id: HashMap<u64, usize>,
    /// Interfaces whose lower link (`link`) is the key: macvlans on a NIC,
    /// vxlans on their underlay.
    uppers: HashMap<(u64, u32), Vec<IfPos>>,
    /// Ports of each master (bridge/bond), keyed by the master.
    ports: HashMap<(u64, u32), Vec<IfPos>>,
}

impl Model {
    pub fn new(snapshot: Snapshot) -> Model {
        let labels = snapshot
            .namespaces
            .iter()
            .map(|ns| terminal_safe(&ns.label()).into_owned())
            .collect();
        let mut by_inode = HashMap::new();
        let mut by_id = HashMap::new();
        let mut uppers: HashMap<(u64, u32), Vec<IfPos>> = HashMap::new();
        let mut ports: HashMap<(u64, u32), Vec<IfPos>> = HashMap::new();
        for (n, ns) in snapshot.namespaces.iter().enumerate() {
            by_inode.insert(ns.inode, n);
            if let Some(id) = ns.id {
                by_id.insert(id, n);
            }
            for (i, iface) in ns.interfaces.iter().enumerate() {
                let pos = IfPos { ns: n, iface: i };
                if let Some(l) = &iface.link
                    && let Some(inode) = l.netns
                {
                    uppers.entry((inode, l.ifindex)).or_default().push(pos);
                }
                if let Some(m) = &iface.master {
                    // A master is always in the port's own namespace.
                    ports.entry((ns.inode, m.ifindex)).or_default().push(pos);
                }
            }
        }
        Model {
            snapshot,
            labels,
            by_inode,
            by_id,
            uppers,
            ports,
        }
    }

    pub fn namespaces(&self) -> &[Namespace] {
        &self.snapshot.namespaces
    }

    pub fn ns(&self, n: usize) -> Option<&Namespace> {
        self.snapshot.namespaces.get(n)
    }

    pub fn iface(&self, pos: IfPos) -> Option<&Interface> {
        self.ns(pos.ns)?.interfaces.get(pos.iface)
    }

    /// Terminal-safe label of the namespace at `n`.
    pub fn label(&self, n: usize) -> &str {
        self.labels.get(n).map_or("?", String::as_str)
    }

    /// Terminal-safe label of the namespace with this inode, or `net:[inode]`.
    pub fn label_of_inode(&self, inode: u64) -> String {
        match self.by_inode.get(&inode) {
            Some(&n) => self.label(n).to_string(),
            None => format!("net:[{inode}]"),
        }
    }

    pub fn position_of_inode(&self, inode: u64) -> Option<usize> {
        self.by_inode.get(&inode).copied()
    }

    /// The namespace a key from an earlier (or this) model points at.
    pub fn find(&self, key: NsKey) -> Option<usize> {
        if let Some(id) = key.id
            && let Some(&n) = self.by_id.get(&id)
        {
            return Some(n);
        }
        let n = *self.by_inode.get(&key.inode)?;
        self.ns(n).filter(|ns| key.matches(ns)).map(|_| n)
    }

    /// Position of a [`Location`]'s interface, when both still exist.
    pub fn locate(&self, loc: Location) -> Option<(usize, Option<usize>)> {
        let n = self.find(loc.ns)?;
        let iface = loc
            .ifindex
            .and_then(|ifindex| self.iface_position(n, ifindex));
        Some((n, iface))
    }

    pub fn iface_position(&self, n: usize, ifindex: u32) -> Option<usize> {
        self.ns(n)?
            .interfaces
            .binary_search_by_key(&ifindex, |i| i.ifindex)
            .ok()
    }

    /// The interface a reference points at, when nsmap saw it.
    pub fn resolve(&self, r: &LinkRef) -> Option<IfPos> {
        let n = self.position_of_inode(r.netns?)?;
        let iface = self.iface_position(n, r.ifindex)?;
        Some(IfPos { ns: n, iface })
    }

    /// The interface name a reference points at, terminal-safe: the name
    /// in this scan, else the one the reference carries, else `if<index>`.
    pub fn ifname(&self, r: &LinkRef) -> String {
        match (&r.ifname, self.resolve(r).and_then(|p| self.iface(p))) {
            (_, Some(iface)) => terminal_safe(iface.ifname.as_str()).into_owned(),
            (Some(name), None) => terminal_safe(name.as_str()).into_owned(),
            (None, None) => format!("if{}", r.ifindex),
        }
    }

    /// `ifname @ namespace`, terminal-safe; unknown parts shown as `?`.
    pub fn describe(&self, r: &LinkRef) -> String {
        let ifname = self.ifname(r);
        let ns = match r.netns {
            Some(inode) => self.label_of_inode(inode),
            None => "?".to_string(),
        };
        format!("{ifname} @ {ns}")
    }

    /// `ifname @ namespace` of an interface of this model.
    pub fn describe_pos(&self, pos: IfPos) -> String {
        let ifname = self
            .iface(pos)
            .map_or_else(|| "?".into(), |i| terminal_safe(i.ifname.as_str()));
        format!("{ifname} @ {}", self.label(pos.ns))
    }

    /// Interfaces stacked on this one through their lower link.
    pub fn uppers(&self, pos: IfPos) -> &[IfPos] {
        self.key(pos)
            .and_then(|k| self.uppers.get(&k))
            .map_or(&[], Vec::as_slice)
    }

    /// Ports of this interface when it is a bridge or bond.
    pub fn ports(&self, pos: IfPos) -> &[IfPos] {
        self.key(pos)
            .and_then(|k| self.ports.get(&k))
            .map_or(&[], Vec::as_slice)
    }

    fn key(&self, pos: IfPos) -> Option<(u64, u32)> {
        Some((self.ns(pos.ns)?.inode, self.iface(pos)?.ifindex))
    }

    /// Where Enter on this interface leads: its veth peer, else its lower link.
    pub fn wire(&self, pos: IfPos) -> Option<&LinkRef> {
        let iface = self.iface(pos)?;
        iface.peer.as_ref().or(iface.link.as_ref())
    }

    /// The [`Location`] of an interface of this model.
    pub fn location(&self, n: usize, iface: Option<usize>) -> Option<Location> {
        let ns = self.ns(n)?;
        Some(Location {
            ns: NsKey::of(ns),
            ifindex: iface.and_then(|i| ns.interfaces.get(i)).map(|i| i.ifindex),
        })
    }

    pub fn interface_count(&self) -> usize {
        self.namespaces().iter().map(|n| n.interfaces.len()).sum()
    }

    pub fn bridge_count(&self) -> usize {
        self.namespaces()
            .iter()
            .flat_map(|n| &n.interfaces)
            .filter(|i| i.kind_is("bridge"))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;

    fn ns(inode: u64, id: Option<u64>) -> Namespace {
        Namespace {
            inode,
            id,
            names: vec![Name::from("x\u{1b}")],
            ..Namespace::default()
        }
    }

    #[test]
    fn a_reused_inode_is_not_the_same_namespace() {
        let old = NsKey::of(&ns(7, Some(1)));
        let model = Model::new(Snapshot {
            schema_version: 1,
            scan: Default::default(),
            namespaces: vec![ns(7, Some(2))],
            warnings: vec![],
        });
        assert_eq!(model.find(old), None);
        assert_eq!(model.find(NsKey { inode: 7, id: None }), Some(0));
    }

    #[test]
    fn labels_are_terminal_safe() {
        let model = Model::new(Snapshot {
            schema_version: 1,
            scan: Default::default(),
            namespaces: vec![ns(7, None)],
            warnings: vec![],
        });
        assert_eq!(model.label(0), "x\\x1b");
    }
}
