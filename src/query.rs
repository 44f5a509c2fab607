//! Questions users ask of a snapshot, answered as plain data: "what is the
//! other end of eth0?" ([`peers`]) and "what is plugged into this bridge?"
//! ([`bridges`]). Pure; the CLI renders the rows as tables or JSON, and
//! other views can reuse them.

use serde::Serialize;

use crate::attribution::names_namespace;
use crate::name::Name;
use crate::snapshot::{Index, Interface, LinkRef, Namespace, ProcessSummary, Snapshot};

/// Which namespaces a question covers: all, or those a selector picked.
#[derive(Debug, Clone, Default)]
pub struct Scope(pub Option<Vec<u64>>);

impl Scope {
    pub fn contains(&self, inode: u64) -> bool {
        self.0.as_ref().is_none_or(|set| set.contains(&inode))
    }

    /// Words for messages: "in any namespace" / "in the selected namespace".
    pub fn describe(&self) -> &'static str {
        match self.0 {
            None => "in any namespace",
            Some(_) => "in the selected namespaces",
        }
    }
}

/// An interface and what its wire leads to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerRow {
    pub interface: LinkRef,
    /// Label of the interface's namespace.
    pub netns_name: String,
    pub kind: Option<String>,
    pub operstate: String,
    /// The other end of a veth pair.
    pub peer: Option<LinkRef>,
    pub peer_netns_name: Option<String>,
    pub peer_operstate: Option<String>,
    /// The bridge (or bond) the peer is a port of.
    pub peer_master: Option<LinkRef>,
    /// The lower device (macvlan, vxlan, …), for interfaces without a peer.
    pub link: Option<LinkRef>,
    pub link_netns_name: Option<String>,
}

/// Every interface named `ifname` in `scope`, each with its peer.
pub fn peers(snapshot: &Snapshot, ifname: &Name, scope: &Scope) -> Vec<PeerRow> {
    let index = snapshot.index();
    let mut rows = Vec::new();
    for ns in snapshot
        .namespaces
        .iter()
        .filter(|ns| scope.contains(ns.inode))
    {
        for iface in ns
            .interfaces
            .iter()
            .filter(|i| i.ifname.matches_typed(ifname))
        {
            rows.push(peer_row(&index, ns, iface));
        }
    }
    rows
}

/// `nsmap peers NAME` when NAME is no interface: every interface (but
/// loopback) of the namespaces NAME names by what lives in them — a
/// container, pod or display name ([`names_namespace`]) — with its peer.
pub fn namespace_peers(snapshot: &Snapshot, name: &Name, scope: &Scope) -> Vec<PeerRow> {
    let index = snapshot.index();
    snapshot
        .namespaces
        .iter()
        .filter(|ns| scope.contains(ns.inode) && names_namespace(ns, name))
        .flat_map(|ns| {
            ns.interfaces
                .iter()
                .filter(|i| !i.flags.iter().any(|f| f == "LOOPBACK"))
                .map(|i| peer_row(&index, ns, i))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn peer_row(index: &Index<'_>, ns: &Namespace, iface: &Interface) -> PeerRow {
    let peer_end = iface.peer.as_ref().and_then(|p| index.resolve(p));
    PeerRow {
        interface: self_ref(ns, iface),
        netns_name: ns.label(),
        kind: iface.kind.clone(),
        operstate: iface.operstate.to_string(),
        peer: iface.peer.clone(),
        peer_netns_name: iface.peer.as_ref().and_then(|p| netns_name(index, p)),
        peer_operstate: peer_end.map(|(_, p)| p.operstate.to_string()),
        peer_master: peer_end.and_then(|(_, p)| p.master.clone()),
        link: iface.link.clone(),
        link_netns_name: iface.link.as_ref().and_then(|l| netns_name(index, l)),
    }
}

/// A bridge and its ports, each with where its wire leads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BridgeRow {
    pub bridge: LinkRef,
    pub netns_name: String,
    pub operstate: String,
    pub mtu: u32,
    pub addresses: Vec<String>,
    pub ports: Vec<PortRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortRow {
    pub port: LinkRef,
    pub kind: Option<String>,
    pub operstate: String,
    pub mtu: u32,
    /// STP state (`forwarding`, `blocking`, …).
    pub port_state: Option<String>,
    /// For a veth port: the container-side end.
    pub peer: Option<LinkRef>,
    pub peer_netns_name: Option<String>,
    /// The first process in the peer's namespace: what is plugged in.
    pub peer_process: Option<ProcessSummary>,
    pub peer_addresses: Vec<String>,
}

/// Every bridge in `scope` (optionally only those named `name`).
pub fn bridges(snapshot: &Snapshot, name: Option<&Name>, scope: &Scope) -> Vec<BridgeRow> {
    let index = snapshot.index();
    let mut rows = Vec::new();
    for ns in snapshot
        .namespaces
        .iter()
        .filter(|ns| scope.contains(ns.inode))
    {
        for bridge in ns.interfaces.iter().filter(|i| i.kind_is("bridge")) {
            if name.is_some_and(|n| !bridge.ifname.matches_typed(n)) {
                continue;
            }
            let ports = index
                .ports(ns, bridge.ifindex)
                .into_iter()
                .map(|port| {
                    let peer_end = port.peer.as_ref().and_then(|p| index.resolve(p));
                    PortRow {
                        port: self_ref(ns, port),
                        kind: port.kind.clone(),
                        operstate: port.operstate.to_string(),
                        mtu: port.mtu,
                        port_state: port.port_state.as_deref().map(str::to_string),
                        peer: port.peer.clone(),
                        peer_netns_name: port.peer.as_ref().and_then(|p| netns_name(&index, p)),
                        peer_process: peer_end.and_then(|(pns, _)| pns.process.clone()),
                        peer_addresses: peer_end
                            .map(|(_, p)| p.addresses.clone())
                            .unwrap_or_default(),
                    }
                })
                .collect();
            rows.push(BridgeRow {
                bridge: self_ref(ns, bridge),
                netns_name: ns.label(),
                operstate: bridge.operstate.to_string(),
                mtu: bridge.mtu,
                addresses: bridge.addresses.clone(),
                ports,
            });
        }
    }
    rows
}

/// A reference to an interface of `ns`.
pub fn self_ref(ns: &Namespace, iface: &Interface) -> LinkRef {
    LinkRef {
        netns: Some(ns.inode),
        ifindex: iface.ifindex,
        ifname: Some(iface.ifname.clone()),
    }
}

fn netns_name(index: &Index<'_>, r: &LinkRef) -> Option<String> {
    r.netns.map(|inode| index.label_of(inode))
}
