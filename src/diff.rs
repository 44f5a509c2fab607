//! What changed between two snapshots, as events (`nsmap watch` prints
//! them as JSON lines; the TUI highlights the same changes).
//!
//! Identity: a namespace is the same across snapshots when its 64-bit id
//! (`NS_GET_ID`) is — inodes are reused as soon as a namespace dies — and by
//! inode only where the kernel has no ids. An interface is (namespace,
//! ifindex). Order: new namespaces and their interfaces, then changes in
//! namespaces present in both (by inode, ifindex), then removals —
//! interfaces before the namespace that held them.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::name::Name;
use crate::snapshot::{Interface, Namespace, Snapshot};

/// One change, as printed by `nsmap watch`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    NamespaceAdded {
        netns: u64,
        id: Option<u64>,
        name: String,
    },
    NamespaceRemoved {
        netns: u64,
        id: Option<u64>,
        name: String,
    },
    InterfaceAdded {
        netns: u64,
        ifindex: u32,
        ifname: Name,
        interface: Box<Interface>,
    },
    InterfaceRemoved {
        netns: u64,
        ifindex: u32,
        ifname: Name,
    },
    /// `changes` maps each changed field to `[old, new]`.
    InterfaceChanged {
        netns: u64,
        ifindex: u32,
        ifname: Name,
        changes: BTreeMap<&'static str, [serde_json::Value; 2]>,
    },
}

impl Event {
    /// The namespace inode the event concerns.
    pub fn netns(&self) -> u64 {
        match self {
            Event::NamespaceAdded { netns, .. }
            | Event::NamespaceRemoved { netns, .. }
            | Event::InterfaceAdded { netns, .. }
            | Event::InterfaceRemoved { netns, .. }
            | Event::InterfaceChanged { netns, .. } => *netns,
        }
    }
}

/// The key that identifies a namespace across snapshots.
fn identity(ns: &Namespace) -> (Option<u64>, u64) {
    match ns.id {
        Some(id) => (Some(id), 0),
        None => (None, ns.inode),
    }
}

/// Events that turn `old` into `new`.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<Event> {
    let before: HashMap<(Option<u64>, u64), &Namespace> =
        old.namespaces.iter().map(|n| (identity(n), n)).collect();
    let after: HashMap<(Option<u64>, u64), &Namespace> =
        new.namespaces.iter().map(|n| (identity(n), n)).collect();
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut removed = Vec::new();

    for ns in &new.namespaces {
        match before.get(&identity(ns)) {
            None => {
                added.push(Event::NamespaceAdded {
                    netns: ns.inode,
                    id: ns.id,
                    name: ns.label(),
                });
                added.extend(ns.interfaces.iter().map(|i| interface_added(ns, i)));
            }
            // A namespace nsmap could not dump this time (or last time) has
            // no interface list to compare: not "every interface removed".
            Some(previous) if previous.scanned && ns.scanned => {
                changed.extend(interfaces(previous, ns))
            }
            Some(_) => {}
        }
    }
    for ns in &old.namespaces {
        if !after.contains_key(&identity(ns)) {
            removed.extend(ns.interfaces.iter().map(|i| Event::InterfaceRemoved {
                netns: ns.inode,
                ifindex: i.ifindex,
                ifname: i.ifname.clone(),
            }));
            removed.push(Event::NamespaceRemoved {
                netns: ns.inode,
                id: ns.id,
                name: ns.label(),
            });
        }
    }
    added.into_iter().chain(changed).chain(removed).collect()
}

fn interface_added(ns: &Namespace, i: &Interface) -> Event {
    Event::InterfaceAdded {
        netns: ns.inode,
        ifindex: i.ifindex,
        ifname: i.ifname.clone(),
        interface: Box::new(i.clone()),
    }
}

/// Interface events within one namespace present in both snapshots.
fn interfaces(old: &Namespace, new: &Namespace) -> Vec<Event> {
    let mut events = Vec::new();
    for i in &new.interfaces {
        match old.interface(i.ifindex) {
            None => events.push(interface_added(new, i)),
            Some(before) if before == i => {}
            Some(before) => {
                let changes = changes(before, i);
                if !changes.is_empty() {
                    events.push(Event::InterfaceChanged {
                        netns: new.inode,
                        ifindex: i.ifindex,
                        ifname: i.ifname.clone(),
                        changes,
                    });
                }
            }
        }
    }
    for i in &old.interfaces {
        if new.interface(i.ifindex).is_none() {
            events.push(Event::InterfaceRemoved {
                netns: new.inode,
                ifindex: i.ifindex,
                ifname: i.ifname.clone(),
            });
        }
    }
    events
}

/// Field-by-field differences, each as `[old, new]` JSON values. Fields
/// are compared typed; only a changed one is turned into JSON (this runs
/// for every interface on every `watch` rescan).
fn changes(old: &Interface, new: &Interface) -> BTreeMap<&'static str, [serde_json::Value; 2]> {
    let mut out = BTreeMap::new();
    macro_rules! field {
        ($($name:ident),*) => {$(
            if old.$name != new.$name {
                out.insert(stringify!($name), [json(&old.$name), json(&new.$name)]);
            }
        )*};
    }
    field!(
        ifname, kind, slave_kind, operstate, flags, mtu, address, addresses, master, peer, link,
        port_state
    );
    out
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::LinkRef;

    fn demo() -> Snapshot {
        serde_json::from_str(include_str!("../tests/fixtures/demo-l2.json")).expect("demo")
    }

    #[test]
    fn no_change_no_events() {
        assert!(diff(&demo(), &demo()).is_empty());
    }

    #[test]
    fn a_new_namespace_comes_with_its_interfaces_and_leaves_after_them() {
        let old = demo();
        let mut new = demo();
        let gone = new.namespaces.remove(1);
        let events = diff(&old, &new);
        let n = gone.interfaces.len();
        assert_eq!(events.len(), n + 1);
        assert!(matches!(events[n], Event::NamespaceRemoved { netns, .. } if netns == gone.inode));
        let events = diff(&new, &old);
        assert!(matches!(&events[0], Event::NamespaceAdded { name, .. } if *name == gone.label()));
        assert!(
            events[1..]
                .iter()
                .all(|e| matches!(e, Event::InterfaceAdded { .. }))
        );
    }

    #[test]
    fn state_master_and_peer_changes_are_named() {
        let old = demo();
        let mut new = demo();
        let iface = &mut new.namespaces[0].interfaces[5];
        iface.operstate = "DOWN".into();
        iface.master = Some(LinkRef {
            netns: Some(1),
            ifindex: 9,
            ifname: None,
        });
        iface.peer = None;
        let events = diff(&old, &new);
        assert_eq!(events.len(), 1);
        let Event::InterfaceChanged { changes, .. } = &events[0] else {
            panic!("{events:?}")
        };
        assert!(changes.contains_key("operstate") && changes.contains_key("master"));
        let json = serde_json::to_value(&events[0]).expect("json");
        assert_eq!(json["event"], "interface_changed");
        assert_eq!(json["changes"]["operstate"][1], "DOWN");
    }

    #[test]
    fn a_namespace_that_could_not_be_dumped_loses_no_interfaces() {
        let old = demo();
        let mut new = demo();
        new.namespaces[1].scanned = false;
        new.namespaces[1].interfaces.clear();
        assert!(diff(&old, &new).is_empty());
        assert!(diff(&new, &old).is_empty());
    }

    #[test]
    fn a_reused_inode_is_a_new_namespace() {
        // Same inode, new id: the old namespace died and its inode was reused.
        let old = demo();
        let mut new = demo();
        new.namespaces[1].id = new.namespaces[1].id.map(|id| id + 1_000_000);
        let events = diff(&old, &new);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::NamespaceAdded { .. }))
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::NamespaceRemoved { .. }))
        );
    }
}
