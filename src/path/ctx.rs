//! What one trace needs to look things up quickly: the snapshot's index,
//! each namespace's [`NsView`] built on first visit (a trace usually
//! touches a handful of a host's namespaces), and the one index that needs
//! the whole host — which macvlan/macvtap devices sit on which lower
//! device, across namespaces — built once, when a wire first needs it.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use foldhash::{HashMap, HashMapExt};

use super::view::NsView;
use super::wire::Fanout;
use crate::snapshot::{Index, Interface, LinkRef, Namespace, Snapshot};

/// Lower device (netns, ifindex) → the devices stacked on it.
type Uppers = HashMap<(u64, u32), Vec<(u64, u32)>>;

pub struct Ctx<'a> {
    pub snapshot: &'a Snapshot,
    pub index: Index<'a>,
    position: HashMap<u64, usize>,
    views: Vec<OnceCell<NsView<'a>>>,
    uppers: OnceCell<Uppers>,
    /// What lies behind each port of a bridge, per bridge (netns, ifindex),
    /// built the first time a walk crosses it: a host bridge with a
    /// thousand ports is walked once, not once per question.
    fanouts: RefCell<HashMap<(u64, u32), Rc<Fanout<'a>>>>,
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
            fanouts: RefCell::new(HashMap::new()),
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

    /// The cached fan-out of a bridge, or None before it is built.
    pub fn fanout(&self, netns: u64, bridge: u32) -> Option<Rc<Fanout<'a>>> {
        self.fanouts.borrow().get(&(netns, bridge)).cloned()
    }

    pub fn keep_fanout(&self, netns: u64, bridge: u32, fanout: Rc<Fanout<'a>>) {
        self.fanouts.borrow_mut().insert((netns, bridge), fanout);
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
