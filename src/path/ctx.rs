//! What one trace needs to look things up quickly: the snapshot's index,
//! each namespace's [`NsView`] built on first visit (a trace usually
//! touches a handful of a host's namespaces), and the one index that needs
//! the whole host — which macvlan/macvtap devices sit on which lower
//! device, across namespaces — built once, when a wire first needs it.

use std::cell::OnceCell;

use foldhash::{HashMap, HashMapExt};

use super::view::NsView;
use crate::snapshot::{Index, Interface, LinkRef, Namespace, Snapshot};

/// Lower device (netns, ifindex) → the devices stacked on it.
type Uppers = HashMap<(u64, u32), Vec<(u64, u32)>>;

pub struct Ctx<'a> {
    pub snapshot: &'a Snapshot,
    pub index: Index<'a>,
    position: HashMap<u64, usize>,
    views: Vec<OnceCell<NsView<'a>>>,
    uppers: OnceCell<Uppers>,
}

impl<'a> Ctx<'a> {
    pub fn new(snapshot: &'a Snapshot) -> Ctx<'a> {
        let mut position = HashMap::with_capacity(snapshot.namespaces.len());
        for (i, ns) in snapshot.namespaces.iter().enumerate() {
            position.insert(ns.inode, i);
        }
        Ctx {
            snapshot,
            index: snapshot.index(),
            position,
            views: (0..snapshot.namespaces.len())
                .map(|_| OnceCell::new())
                .collect(),
            uppers: OnceCell::new(),
        }
    }

    pub fn namespace(&self, inode: u64) -> Option<&'a Namespace> {
        self.position
            .get(&inode)
            .and_then(|&i| self.snapshot.namespaces.get(i))
    }

    pub fn view(&self, inode: u64) -> Option<&NsView<'a>> {
        let &i = self.position.get(&inode)?;
        let ns = self.snapshot.namespaces.get(i)?;
        Some(self.views.get(i)?.get_or_init(|| NsView::new(ns)))
    }

    pub fn iface(&self, r: &LinkRef) -> Option<(&'a Namespace, &'a Interface)> {
        self.index.resolve(r)
    }

    pub fn label(&self, inode: u64) -> String {
        self.index.label_of(inode)
    }

    /// `ifname@label` for messages (escaped form).
    pub fn describe(&self, netns: u64, ifindex: u32) -> String {
        let r = self.link_ref(netns, ifindex);
        self.index.describe(&r)
    }

    pub fn link_ref(&self, netns: u64, ifindex: u32) -> LinkRef {
        LinkRef {
            netns: Some(netns),
            ifindex,
            ifname: self
                .namespace(netns)
                .and_then(|n| n.interface(ifindex))
                .map(|i| i.ifname.clone()),
        }
    }

    /// Devices stacked on (netns, ifindex) through their `link`: macvlan,
    /// macvtap (and ipvlan, vlan where they exist), in any namespace.
    pub fn uppers(&self, netns: u64, ifindex: u32) -> &[(u64, u32)] {
        self.uppers
            .get_or_init(|| {
                let mut map: Uppers = HashMap::new();
                for ns in &self.snapshot.namespaces {
                    for iface in &ns.interfaces {
                        if let Some(lower) = &iface.link
                            && let Some(lower_ns) = lower.netns
                        {
                            map.entry((lower_ns, lower.ifindex))
                                .or_default()
                                .push((ns.inode, iface.ifindex));
                        }
                    }
                }
                map
            })
            .get(&(netns, ifindex))
            .map_or(&[], Vec::as_slice)
    }
}
