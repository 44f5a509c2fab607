//! `nsmap graph`: the topology as a picture — Graphviz DOT ([`dot`]) or
//! Mermaid ([`mermaid`]).
//!
//! Both formats draw the same [`Graph`], built here once from the snapshot:
//! one cluster per namespace (labelled with its best name), one node per
//! interface except `lo`, and three kinds of edges: a veth pair (one edge
//! per pair, across clusters), a bridge port to its bridge, and a stacked
//! device (macvlan, vxlan, …) to its lower device. Down interfaces are
//! marked so each syntax can style them. The syntax modules only escape
//! and print.
//!
//! Ids derive from `(namespace inode, ifindex)` (`n4026531833_8`), and
//! everything is emitted in inode/ifindex order, so the output of an
//! unchanged topology is byte-identical and a changed one diffs line by
//! line. Labels hold kernel names in nsmap's escaped form; each syntax
//! makes them terminal-safe and escapes them for its own quoting rules.

pub mod dot;
pub mod mermaid;

use std::collections::BTreeSet;
use std::io::{self, Write};

use clap::ValueEnum;

use crate::doctor::ipv4::is_ipv6_link_local;
use crate::doctor::is_loopback;
use crate::query::Scope;
use crate::snapshot::{Index, Interface, LinkRef, Namespace, Snapshot};

/// Output syntax of `nsmap graph`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Graphviz DOT: `nsmap graph | dot -Tsvg > map.svg`.
    #[default]
    Dot,
    /// Mermaid flowchart, for Markdown that renders it (GitHub, GitLab).
    Mermaid,
}

/// What a node stands for, which decides its shape and style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Interface,
    Bridge,
    /// The other end of a reference nsmap could not follow (a namespace it
    /// could not open): drawn outside every cluster.
    Unknown,
    /// Stands in for a namespace with nothing else to draw.
    Placeholder,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `n{inode}_{ifindex}` for interfaces; `u…`/`e…` for the others.
    pub id: String,
    /// Label lines, in nsmap's escaped form (not yet terminal-safe).
    pub lines: Vec<String>,
    pub kind: NodeKind,
    /// Administratively down, or without carrier.
    pub down: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub inode: u64,
    /// The namespace's best label ([`Namespace::label`]).
    pub label: String,
    pub nodes: Vec<Node>,
}

/// Edges point downstream, from the host towards what hangs off it, which
/// is also how DOT and Mermaid rank nodes left to right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// A veth (vxcan, netkit) pair: `from` is the end nearer the host (a
    /// bridge port, or in the host's or nsmap's namespace).
    Veth,
    /// A bridge or bond (`from`) to one of its ports (`to`).
    Port,
    /// A lower device (`from`) to a device stacked on it (`to`): macvlan,
    /// vxlan, vlan, ….
    Lower,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
}

/// The picture, independent of syntax.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// One per namespace drawn, by inode.
    pub clusters: Vec<Cluster>,
    /// Nodes outside every cluster ([`NodeKind::Unknown`]).
    pub loose: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Writes the graph of `snapshot` limited to `scope` in `format`.
pub fn write(
    snapshot: &Snapshot,
    scope: &Scope,
    format: Format,
    out: &mut impl Write,
) -> io::Result<()> {
    let graph = Graph::new(snapshot, scope);
    match format {
        Format::Dot => dot::write(&graph, out),
        Format::Mermaid => mermaid::write(&graph, out),
    }
}

/// `(inode, ifindex)` of an interface.
type Key = (u64, u32);

pub fn node_id(inode: u64, ifindex: u32) -> String {
    format!("n{inode}_{ifindex}")
}

fn key_of(r: &LinkRef) -> Option<Key> {
    Some((r.netns?, r.ifindex))
}

fn is_down(iface: &Interface) -> bool {
    !iface.is_up() || matches!(&*iface.operstate, "DOWN" | "LOWERLAYERDOWN" | "NOTPRESENT")
}

impl Graph {
    /// The picture of the namespaces in `scope` and their direct
    /// neighbours. With a scope, a selected namespace is drawn whole; of a
    /// neighbouring one, only the interfaces wired to the selection (veth
    /// peers, lower and upper devices) and the bridges those are ports of.
    pub fn new(snapshot: &Snapshot, scope: &Scope) -> Graph {
        let index = snapshot.index();
        let drawn = |i: &Interface| !is_loopback(i);
        let mut included: BTreeSet<Key> = BTreeSet::new();
        for ns in snapshot
            .namespaces
            .iter()
            .filter(|n| scope.contains(n.inode))
        {
            for iface in ns.interfaces.iter().filter(|i| drawn(i)) {
                included.insert((ns.inode, iface.ifindex));
            }
        }
        if scope.0.is_some() {
            let selected = included.clone();
            let mut neighbours: BTreeSet<Key> = BTreeSet::new();
            for ns in &snapshot.namespaces {
                for iface in &ns.interfaces {
                    let me = (ns.inode, iface.ifindex);
                    for target in [&iface.peer, &iface.link].into_iter().flatten() {
                        let Some(other) = key_of(target) else {
                            continue;
                        };
                        if selected.contains(&me) && index.resolve(target).is_some() {
                            neighbours.insert(other);
                        }
                        if selected.contains(&other) && drawn(iface) {
                            neighbours.insert(me);
                        }
                    }
                }
            }
            for &(inode, ifindex) in &neighbours {
                let master = index
                    .namespace(inode)
                    .and_then(|ns| ns.interface(ifindex))
                    .and_then(|i| i.master.as_ref())
                    .and_then(key_of);
                included.insert((inode, ifindex));
                included.extend(master);
            }
        }

        let mut graph = Graph::default();
        for ns in &snapshot.namespaces {
            let full = scope.contains(ns.inode);
            let mut nodes: Vec<Node> = ns
                .interfaces
                .iter()
                .filter(|i| included.contains(&(ns.inode, i.ifindex)))
                .map(|i| interface_node(ns, i))
                .collect();
            if nodes.is_empty() && !full {
                continue;
            }
            if nodes.is_empty() {
                nodes.push(placeholder(ns));
            }
            graph.clusters.push(Cluster {
                inode: ns.inode,
                label: ns.label(),
                nodes,
            });
        }
        for ns in &snapshot.namespaces {
            for iface in &ns.interfaces {
                let me = (ns.inode, iface.ifindex);
                if included.contains(&me) {
                    graph.add_edges(&index, ns, iface, &included);
                }
            }
        }
        graph
    }

    fn add_edges(
        &mut self,
        index: &Index<'_>,
        ns: &Namespace,
        iface: &Interface,
        included: &BTreeSet<Key>,
    ) {
        let me = (ns.inode, iface.ifindex);
        let from = node_id(ns.inode, iface.ifindex);
        let wires = [
            (&iface.peer, EdgeKind::Veth),
            (&iface.link, EdgeKind::Lower),
        ];
        for (target, kind) in wires {
            let Some(target) = target else { continue };
            match index.resolve(target) {
                Some((tns, tiface)) => {
                    let other = (tns.inode, tiface.ifindex);
                    if !included.contains(&other) {
                        continue;
                    }
                    // A symmetric pair is drawn once, from its smaller end.
                    let points_back = tiface
                        .peer
                        .as_ref()
                        .and_then(key_of)
                        .is_some_and(|k| k == me);
                    if kind == EdgeKind::Veth && points_back && other < me {
                        continue;
                    }
                    let to = node_id(other.0, other.1);
                    let upstream =
                        |n: &Namespace, i: &Interface| (i.master.is_some(), n.host || n.current);
                    let swap = match kind {
                        EdgeKind::Veth => upstream(tns, tiface) > upstream(ns, iface),
                        _ => true,
                    };
                    self.edges.push(if swap {
                        Edge {
                            from: to,
                            to: from.clone(),
                            kind,
                        }
                    } else {
                        Edge {
                            from: from.clone(),
                            to,
                            kind,
                        }
                    });
                }
                None => {
                    let id = format!("u{}_{}", ns.inode, iface.ifindex);
                    let name = target.name_or_index();
                    let place = match target.netns {
                        Some(inode) => format!("in net:[{inode}], not scanned"),
                        None => "in a namespace nsmap could not open".to_string(),
                    };
                    self.loose.push(Node {
                        id: id.clone(),
                        lines: vec![name, place],
                        kind: NodeKind::Unknown,
                        down: false,
                    });
                    self.edges.push(if kind == EdgeKind::Lower {
                        Edge {
                            from: id,
                            to: from.clone(),
                            kind,
                        }
                    } else {
                        Edge {
                            from: from.clone(),
                            to: id,
                            kind,
                        }
                    });
                }
            }
        }
        if let Some(master) = iface.master.as_ref().and_then(key_of)
            && included.contains(&master)
            && index
                .namespace(master.0)
                .and_then(|n| n.interface(master.1))
                .is_some()
        {
            self.edges.push(Edge {
                from: node_id(master.0, master.1),
                to: from,
                kind: EdgeKind::Port,
            });
        }
    }
}

fn interface_node(ns: &Namespace, iface: &Interface) -> Node {
    let down = is_down(iface);
    let mut second = iface.kind.clone().unwrap_or_else(|| "device".into());
    if down {
        second.push_str(", down");
    }
    let mut lines = vec![iface.ifname.as_str().to_string(), second];
    lines.extend(
        iface
            .addresses
            .iter()
            .filter(|a| !is_ipv6_link_local(a))
            .cloned(),
    );
    Node {
        id: node_id(ns.inode, iface.ifindex),
        lines,
        kind: if iface.kind_is("bridge") {
            NodeKind::Bridge
        } else {
            NodeKind::Interface
        },
        down,
    }
}

fn placeholder(ns: &Namespace) -> Node {
    let text = if !ns.scanned {
        "(not scanned)"
    } else if ns.interfaces.is_empty() {
        "(no interfaces)"
    } else {
        "(only lo)"
    };
    Node {
        id: format!("e{}", ns.inode),
        lines: vec![text.to_string()],
        kind: NodeKind::Placeholder,
        down: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::testing::*;

    const H: u64 = 4026531833;
    const WEB: u64 = 4026532180;
    const DB: u64 = 4026532177;

    fn edges(g: &Graph, kind: EdgeKind) -> Vec<(String, String)> {
        g.edges
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| (e.from.clone(), e.to.clone()))
            .collect()
    }

    fn ids(c: &Cluster) -> Vec<&str> {
        c.nodes.iter().map(|n| n.id.as_str()).collect()
    }

    #[test]
    fn demo_has_one_edge_per_veth_pair() {
        let g = Graph::new(&demo(), &Scope(None));
        assert_eq!(g.clusters.len(), 5);
        assert_eq!(g.clusters[0].label, "host");
        let veth = edges(&g, EdgeKind::Veth);
        // 4 host↔container pairs and db↔cache.
        assert_eq!(veth.len(), 5, "{veth:?}");
        let mut ends: Vec<&String> = veth.iter().flat_map(|(a, b)| [a, b]).collect();
        ends.sort();
        ends.dedup();
        assert_eq!(ends.len(), 10, "every end appears once");
        assert_eq!(
            edges(&g, EdgeKind::Port).len(),
            5,
            "4 veths and tap0 on cni0"
        );
        assert_eq!(
            edges(&g, EdgeKind::Lower),
            [
                (format!("n{H}_9"), format!("n{H}_15")),
                (format!("n{H}_9"), format!("n{WEB}_14")),
            ]
        );
        assert!(g.loose.is_empty());
    }

    #[test]
    fn lo_is_not_drawn_and_down_interfaces_are_marked() {
        let g = Graph::new(&demo(), &Scope(None));
        let host = &g.clusters[0];
        assert!(!ids(host).contains(&format!("n{H}_1").as_str()));
        let tap = host
            .nodes
            .iter()
            .find(|n| n.id == format!("n{H}_16"))
            .expect("tap0");
        assert!(tap.down);
        assert_eq!(tap.lines, ["tap0", "tun, down"]);
        let cni0 = host
            .nodes
            .iter()
            .find(|n| n.id == format!("n{H}_8"))
            .expect("cni0");
        assert_eq!(cni0.kind, NodeKind::Bridge);
        assert_eq!(cni0.lines, ["cni0", "bridge", "10.88.0.1/16"]);
        // Up without carrier (its peer is down) is drawn down too.
        let v = host
            .nodes
            .iter()
            .find(|n| n.id == format!("n{H}_12"))
            .expect("veth");
        assert!(v.down);
    }

    #[test]
    fn scope_draws_the_selection_and_its_wired_neighbours() {
        let g = Graph::new(&demo(), &Scope(Some(vec![WEB])));
        let labels: Vec<&str> = g.clusters.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["host", "web"]);
        // From the host: web's veth peer, the bridge it is a port of, and the
        // lower device of web's macvlan. Nothing else of the host.
        assert_eq!(
            ids(&g.clusters[0]),
            [format!("n{H}_8"), format!("n{H}_9"), format!("n{H}_10")]
        );
        assert_eq!(
            ids(&g.clusters[1]),
            [format!("n{WEB}_2"), format!("n{WEB}_14")]
        );
        assert_eq!(g.edges.len(), 3, "{:?}", g.edges);
    }

    #[test]
    fn scope_on_the_host_pulls_in_upper_devices_elsewhere() {
        let g = Graph::new(&demo(), &Scope(Some(vec![H])));
        let web = g.clusters.iter().find(|c| c.inode == WEB).expect("web");
        // eth0 (peer of a host veth) and ext0 (macvlan on the host's br-ext).
        assert_eq!(ids(web), [format!("n{WEB}_2"), format!("n{WEB}_14")]);
        let db = g.clusters.iter().find(|c| c.inode == DB).expect("db");
        assert_eq!(ids(db), [format!("n{DB}_2")], "not db's backend0");
    }

    #[test]
    fn empty_namespaces_get_a_placeholder() {
        let mut unscanned = named(3, "gone", Vec::new());
        unscanned.scanned = false;
        let s = snapshot(vec![named(2, "a", vec![lo()]), unscanned]);
        let g = Graph::new(&s, &Scope(None));
        let lines: Vec<&[String]> = g.clusters.iter().map(|c| &c.nodes[0].lines[..]).collect();
        assert_eq!(lines, [["(only lo)"], ["(not scanned)"]]);
        assert_eq!(g.clusters[0].nodes[0].kind, NodeKind::Placeholder);
    }

    #[test]
    fn unresolved_peers_become_loose_nodes() {
        let mut v = veth(2, "eth0", (9, 5, "x"));
        v.peer = Some(LinkRef {
            netns: None,
            ifindex: 5,
            ifname: None,
        });
        let s = snapshot(vec![named(2, "a", vec![lo(), v])]);
        let g = Graph::new(&s, &Scope(None));
        assert_eq!(g.loose.len(), 1);
        assert_eq!(
            g.loose[0].lines,
            ["if5", "in a namespace nsmap could not open"]
        );
        assert_eq!(edges(&g, EdgeKind::Veth), [("n2_2".into(), "u2_2".into())]);
    }

    #[test]
    fn edges_point_away_from_the_host() {
        let g = Graph::new(&demo(), &Scope(None));
        assert!(g.edges.contains(&Edge {
            from: format!("n{H}_8"),
            to: format!("n{H}_10"),
            kind: EdgeKind::Port
        }));
        // Container-to-container pair: from the end whose namespace is smaller.
        assert!(g.edges.contains(&Edge {
            from: format!("n{DB}_3"),
            to: "n4026532247_3".into(),
            kind: EdgeKind::Veth
        }));
        // A host end with the larger key still comes first.
        let s = snapshot(vec![
            named(2, "a", vec![lo(), veth(2, "eth0", (9, 7, "vh"))]),
            host(9, vec![lo(), veth(7, "vh", (2, 2, "eth0"))]),
        ]);
        let g = Graph::new(&s, &Scope(None));
        assert_eq!(edges(&g, EdgeKind::Veth), [("n9_7".into(), "n2_2".into())]);
    }

    #[test]
    fn asymmetric_pairs_show_both_claims() {
        let s = snapshot(vec![named(
            2,
            "a",
            vec![
                lo(),
                veth(2, "x", (2, 3, "y")),
                veth(3, "y", (2, 4, "z")),
                veth(4, "z", (2, 3, "y")),
            ],
        )]);
        let g = Graph::new(&s, &Scope(None));
        assert_eq!(
            edges(&g, EdgeKind::Veth),
            [
                ("n2_2".into(), "n2_3".into()),
                ("n2_3".into(), "n2_4".into())
            ]
        );
    }
}
