//! `nsmap capture`: which interfaces a capture listens on, decided on a
//! wiring-only snapshot (pure, so every rule is tested without root).
//!
//! A target is `IFNAME@SEL` (SEL any namespace selector), a selector alone
//! (all of that namespace's interfaces but lo), or a bridge (`--bridge
//! NAME[@SEL]`: the bridge and each of its ports); `--both` adds the other
//! end of every veth. The result names each interface as the pcapng file
//! will (`IFNAME@LABEL`) and says how its namespace can be reopened, since
//! the scan's own namespace files are closed by the time capture starts.

use std::ffi::OsStr;

use crate::error::Error;
use crate::name::Name;
use crate::query::{self, Scope};
use crate::select::Selector;
use crate::snapshot::{Namespace, Snapshot};

pub mod pcapng;

/// What the user asked to capture, as typed (escaped text, like every
/// other name argument).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub targets: Vec<Name>,
    pub bridges: Vec<Name>,
    pub both: bool,
}

/// One interface to capture on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The namespace's inode, and its id where the snapshot has one: the
    /// reopened file must carry both, or it is another namespace.
    pub netns: u64,
    pub netns_id: Option<u64>,
    pub ifindex: u32,
    pub ifname: Name,
    /// `IFNAME@LABEL`: the pcapng `if_name`.
    pub name: String,
    /// The pcapng `if_description`: inode, containers and pods, ifindex.
    pub description: String,
    /// Where the namespace can be opened again, most stable first.
    pub sources: Vec<NsSource>,
}

/// A way into a namespace recorded in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsSource {
    /// nsmap's own namespace: `/proc/thread-self/ns/net` of the main thread
    /// is not needed, a capture thread is already there.
    Current,
    /// A bind mount (`/run/netns/NAME`, a runtime's netns file).
    Mount(Name),
    /// `/proc/PID/ns/net`.
    Pid(u32),
    /// `/proc/PID/task/TID/ns/net`: a thread that moved on its own.
    Thread { pid: u32, tid: u32 },
    /// `/proc/PID/fd/N`: a process holding it open.
    Holder { pid: u32, fd: u32 },
}

/// The interfaces `request` names, in the order asked, each once.
/// `live` resolves path selectors on this host (as `--ns` does).
pub fn endpoints(
    snapshot: &Snapshot,
    request: &Request,
    resolve_path: impl Fn(Selector) -> Selector,
) -> Result<Vec<Endpoint>, Error> {
    let mut picked: Vec<(u64, u32)> = Vec::new();
    for target in &request.targets {
        for key in target_interfaces(snapshot, target, &resolve_path)? {
            add(&mut picked, key);
        }
    }
    for bridge in &request.bridges {
        for key in bridge_interfaces(snapshot, bridge, &resolve_path)? {
            add(&mut picked, key);
        }
    }
    Ok(with_peers(snapshot, picked, request.both))
}

/// One interface (`netns`, `ifindex`), and with `both` the other end of
/// its wire: what the TUI's `c` and `C` capture.
pub fn wire_endpoints(snapshot: &Snapshot, netns: u64, ifindex: u32, both: bool) -> Vec<Endpoint> {
    with_peers(snapshot, vec![(netns, ifindex)], both)
}

/// The endpoints of `picked`, plus each veth's peer when `both`.
fn with_peers(snapshot: &Snapshot, mut picked: Vec<(u64, u32)>, both: bool) -> Vec<Endpoint> {
    if both {
        let index = snapshot.index();
        let peers: Vec<(u64, u32)> = picked
            .iter()
            .filter_map(|&(netns, ifindex)| {
                let iface = index.namespace(netns)?.interface(ifindex)?;
                let peer = iface.peer.as_ref()?;
                Some((peer.netns?, peer.ifindex))
            })
            .filter(|&(netns, ifindex)| {
                index
                    .namespace(netns)
                    .and_then(|ns| ns.interface(ifindex))
                    .is_some()
            })
            .collect();
        for key in peers {
            add(&mut picked, key);
        }
    }
    let index = snapshot.index();
    picked
        .into_iter()
        .filter_map(|(netns, ifindex)| {
            let ns = index.namespace(netns)?;
            let iface = ns.interface(ifindex)?;
            Some(endpoint(ns, ifindex, &iface.ifname))
        })
        .collect()
}

fn add(picked: &mut Vec<(u64, u32)>, key: (u64, u32)) {
    if !picked.contains(&key) {
        picked.push(key);
    }
}

/// `IFNAME@SEL`, or a namespace selector alone.
fn target_interfaces(
    snapshot: &Snapshot,
    target: &Name,
    resolve_path: &impl Fn(Selector) -> Selector,
) -> Result<Vec<(u64, u32)>, Error> {
    let text = target.as_str();
    if let Some((ifname, sel)) = text.split_once('@') {
        let namespaces = select(snapshot, sel, resolve_path);
        if !namespaces.is_empty() {
            let ifname = Name::from_escaped(ifname);
            let found: Vec<(u64, u32)> = namespaces
                .iter()
                .flat_map(|ns| {
                    ns.interfaces
                        .iter()
                        .filter(|i| i.ifname.matches_typed(&ifname))
                        .map(|i| (ns.inode, i.ifindex))
                })
                .collect();
            if found.is_empty() {
                return Err(Error::NoSuchInterface {
                    name: ifname.as_str().to_string(),
                    scope: format!("in namespace '{sel}'"),
                });
            }
            return Ok(found);
        }
        if select(snapshot, text, resolve_path).is_empty() {
            return Err(Error::NoSuchNamespace(sel.to_string()));
        }
    }
    let namespaces = select(snapshot, text, resolve_path);
    if namespaces.is_empty() {
        return Err(Error::NoSuchInterface {
            name: text.to_string(),
            scope: "(a target is IFNAME@NAMESPACE, or a namespace, container or pod)".to_string(),
        });
    }
    let found: Vec<(u64, u32)> = namespaces
        .iter()
        .flat_map(|ns| {
            ns.interfaces
                .iter()
                .filter(|i| !i.kind_is("loopback") && i.ifname.as_str() != "lo")
                .map(|i| (ns.inode, i.ifindex))
        })
        .collect();
    if found.is_empty() {
        return Err(Error::NoSuchInterface {
            name: text.to_string(),
            scope: "with an interface other than lo".to_string(),
        });
    }
    Ok(found)
}

/// `--bridge NAME[@SEL]`: the bridge, then each port.
fn bridge_interfaces(
    snapshot: &Snapshot,
    bridge: &Name,
    resolve_path: &impl Fn(Selector) -> Selector,
) -> Result<Vec<(u64, u32)>, Error> {
    let (name, scope, described) = match bridge.as_str().split_once('@') {
        Some((name, sel)) => {
            let inodes: Vec<u64> = select(snapshot, sel, resolve_path)
                .iter()
                .map(|ns| ns.inode)
                .collect();
            if inodes.is_empty() {
                return Err(Error::NoSuchNamespace(sel.to_string()));
            }
            (
                Name::from_escaped(name),
                Scope(Some(inodes)),
                format!("in namespace '{sel}'"),
            )
        }
        None => (bridge.clone(), Scope(None), "in any namespace".to_string()),
    };
    let rows = query::bridges(snapshot, Some(&name), &scope);
    if rows.is_empty() {
        return Err(Error::NoSuchBridge {
            name: name.as_str().to_string(),
            scope: described,
        });
    }
    Ok(rows
        .iter()
        .flat_map(|row| std::iter::once(&row.bridge).chain(row.ports.iter().map(|p| &p.port)))
        .filter_map(|r| Some((r.netns?, r.ifindex)))
        .collect())
}

fn select<'a>(
    snapshot: &'a Snapshot,
    text: &str,
    resolve_path: &impl Fn(Selector) -> Selector,
) -> Vec<&'a Namespace> {
    let selector = resolve_path(Selector::parse(OsStr::new(text)));
    snapshot
        .namespaces
        .iter()
        .filter(|ns| selector.matches(ns))
        .collect()
}

fn endpoint(ns: &Namespace, ifindex: u32, ifname: &Name) -> Endpoint {
    Endpoint {
        netns: ns.inode,
        netns_id: ns.id,
        ifindex,
        ifname: ifname.clone(),
        name: format!("{}@{}", ifname.as_str(), ns.label()),
        description: description(ns, ifindex),
        sources: sources(ns),
    }
}

/// `net:[INODE] ifindex N`, then what lives there: the containers (and
/// their pods) and the ip-netns names, so a file carries where it was
/// taken even when the label is only one of them.
pub fn description(ns: &Namespace, ifindex: u32) -> String {
    let mut parts = vec![format!("net:[{}]", ns.inode), format!("ifindex {ifindex}")];
    for c in &ns.containers {
        let mut part = format!("{} container ", c.runtime);
        part.push_str(c.name.as_ref().map_or(c.id.as_str(), |n| n.as_str()));
        if let Some(pod) = &c.pod {
            part.push_str(" pod ");
            if let Some(pns) = &c.pod_namespace {
                part.push_str(pns.as_str());
                part.push('/');
            }
            part.push_str(pod.as_str());
        }
        parts.push(part);
    }
    for name in &ns.names {
        parts.push(format!("netns {}", name.as_str()));
    }
    parts.join(", ")
}

/// Every recorded way back into `ns`: its own mounts first (they outlive
/// processes), then processes, threads, holders.
pub fn sources(ns: &Namespace) -> Vec<NsSource> {
    let mut out = Vec::new();
    if ns.current {
        out.push(NsSource::Current);
    }
    out.extend(ns.mounts.iter().cloned().map(NsSource::Mount));
    out.extend(ns.pids.iter().take(4).copied().map(NsSource::Pid));
    out.extend(ns.threads.iter().take(4).map(|t| NsSource::Thread {
        pid: t.pid,
        tid: t.tid,
    }));
    out.extend(ns.holders.iter().take(4).map(|h| NsSource::Holder {
        pid: h.pid,
        fd: h.fd,
    }));
    out
}

#[cfg(test)]
mod tests;
