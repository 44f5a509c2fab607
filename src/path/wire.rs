//! Where an egress device's frames can go: the layer-2 segment, followed
//! across namespaces by wire, never by address.
//!
//! From the sending device the walk follows what each kind does with a
//! frame (drivers/net/veth.c, net/bridge/br_input.c and br_forward.c,
//! drivers/net/macvlan.c):
//! - a veth hands it to its peer, which must be up (else the sender has no
//!   carrier);
//! - a device enslaved to a bridge hands what it receives to the bridge:
//!   the ingress port must be forwarding, the bridge up; the bridge
//!   delivers to its own stack (its address) and forwards to every other
//!   port that is up and forwarding (isolated ports not to each other);
//! - a bridge device sending from its own stack forwards to its ports;
//! - a macvlan in bridge mode reaches its bridge-mode siblings directly and
//!   everything else through its lower device's wire — never the lower
//!   device's own stack; frames arriving at a lower device reach it and
//!   its macvlans;
//! - a vxlan, a tap, a physical device or a namespace nsmap could not dump
//!   is an *opening*: frames leave what the snapshot can see.
//!
//! The result lists every receiving interface (an L3 endpoint) with the
//! devices crossed to reach it and the first thing on the way that would
//! stop the frame, so the caller can say exactly why a next hop is not
//! reached.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::rc::Rc;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::Code;
use super::ctx::Ctx;
use super::neigh;
use super::view::{has_carrier, is_up};
use crate::doctor::fix;
use crate::snapshot::l3::Family;
use crate::snapshot::{Interface, Namespace};

/// One device a frame crosses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub netns: u64,
    pub ifindex: u32,
}

/// Which of a device's own hooks (netdev ingress/egress) a frame meets
/// there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The device receives it.
    In,
    /// The device sends it.
    Out,
}

/// For each device of an endpoint's `path`, whether the frame is sent or
/// received there: the sender sends, a bridge sends out of a port, a
/// macvlan sends through its lower device; every other device receives —
/// except a bridge the frame only crosses (br_handle_frame forwards it
/// without passing it up: the bridge device receives only what it
/// delivers to its own stack or to the macvlans on it).
pub fn passes(ctx: &Ctx<'_>, path: &[Step]) -> Vec<Option<Pass>> {
    let iface = |s: &Step| {
        ctx.namespace(s.netns)
            .and_then(|ns| ns.interface(s.ifindex))
    };
    let is = |r: Option<&crate::snapshot::LinkRef>, s: &Step| {
        r.is_some_and(|r| r.netns == Some(s.netns) && r.ifindex == s.ifindex)
    };
    (0..path.len())
        .map(|i| {
            if i == 0 {
                return Some(Pass::Out);
            }
            let (prev, cur) = (&path[i - 1], &path[i]);
            let (Some(p), Some(c)) = (iface(prev), iface(cur)) else {
                return Some(Pass::In);
            };
            let same_ns = prev.netns == cur.netns;
            if same_ns
                && p.kind_is("bridge")
                && c.master.as_ref().is_some_and(|m| m.ifindex == p.ifindex)
            {
                return Some(Pass::Out);
            }
            if (p.kind_is("macvlan") || p.kind_is("macvtap")) && is(p.link.as_ref(), cur) {
                return Some(Pass::Out);
            }
            if same_ns
                && c.kind_is("bridge")
                && p.master.as_ref().is_some_and(|m| m.ifindex == c.ifindex)
            {
                let passed_up = path
                    .get(i + 1)
                    .is_none_or(|next| iface(next).is_some_and(|n| is(n.link.as_ref(), cur)));
                return passed_up.then_some(Pass::In);
            }
            Some(Pass::In)
        })
        .collect()
}

/// What stops frames on the way to an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub code: Code,
    pub netns: u64,
    pub reason: String,
    pub hint: Option<String>,
}

/// An interface whose own stack receives the frames: a next-hop candidate.
#[derive(Clone, Debug)]
pub struct Endpoint<'a> {
    pub netns: u64,
    pub iface: &'a Interface,
    /// Devices crossed from the sending device to this one, both included.
    pub path: Vec<Step>,
    pub blocked: Option<Block>,
}

/// Where frames leave what the snapshot can see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    pub code: Code,
    pub netns: Option<u64>,
    pub reason: String,
    pub path: Vec<Step>,
}

#[derive(Clone, Debug, Default)]
pub struct Segment<'a> {
    pub endpoints: Vec<Endpoint<'a>>,
    pub openings: Vec<Opening>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Dir {
    /// The device transmits (the sender, or a bridge sending to a port).
    Tx,
    /// The device receives from its wire.
    Rx,
}

struct State {
    dir: Dir,
    netns: u64,
    ifindex: u32,
    path: Vec<Step>,
    blocked: Option<Block>,
}

/// What a neighbour lookup is after: the endpoints that might answer for
/// `addr`, or that have the link-layer address `mac`.
#[derive(Clone, Copy, Debug)]
pub struct Want<'w> {
    pub addr: IpAddr,
    pub mac: Option<&'w str>,
}

/// How a walk runs.
#[derive(Clone, Copy)]
struct Opts<'w> {
    /// Only endpoints that may matter for this (None: every endpoint).
    want: Option<Want<'w>>,
    /// Cross bridges through their cached fan-out.
    fanouts: bool,
    /// A bridge whose fan-out is being built: reaching it (or one of its
    /// ports) again means its ports are not independent.
    boundary: Option<(u64, u32)>,
}

/// Every endpoint and opening the frames of `dev` (in `netns`) reach.
pub fn segment<'a>(ctx: &Ctx<'a>, netns: u64, dev: u32) -> Segment<'a> {
    let opts = Opts {
        want: None,
        fanouts: true,
        boundary: None,
    };
    walk(
        ctx,
        start(netns, dev),
        Step {
            netns,
            ifindex: dev,
        },
        opts,
    )
    .0
}

/// The endpoints of `dev`'s segment that may answer for `want` (they hold
/// the address or the MAC, or might answer for others: proxies, AnyIP,
/// namespaces without layer-3 data), and every opening. What the kernel
/// does is the same as [`segment`]; this only skips, on a big bridge, the
/// ports whose far ends cannot be the answer.
pub fn candidates<'a>(ctx: &Ctx<'a>, netns: u64, dev: u32, want: Want<'_>) -> Segment<'a> {
    let opts = Opts {
        want: Some(want),
        fanouts: true,
        boundary: None,
    };
    walk(
        ctx,
        start(netns, dev),
        Step {
            netns,
            ifindex: dev,
        },
        opts,
    )
    .0
}

fn start(netns: u64, ifindex: u32) -> State {
    State {
        dir: Dir::Tx,
        netns,
        ifindex,
        path: vec![Step { netns, ifindex }],
        blocked: None,
    }
}

/// The breadth-first walk: each (direction, device) once, so it ends on
/// any wiring. Returns the segment and whether it crossed `boundary`.
fn walk<'a>(ctx: &Ctx<'a>, first: State, sender: Step, opts: Opts<'_>) -> (Segment<'a>, bool) {
    let mut seg = Segment::default();
    let mut seen: HashSet<(Dir, u64, u32)> = HashSet::new();
    let mut queue = VecDeque::new();
    let mut crossed = false;
    let origin = (first.dir, first.netns, first.ifindex);
    queue.push_back(first);
    while let Some(state) = queue.pop_front() {
        if !seen.insert((state.dir, state.netns, state.ifindex)) {
            continue;
        }
        let Some(ns) = ctx.namespace(state.netns) else {
            seg.openings.push(Opening {
                code: Code::NotScanned,
                netns: Some(state.netns),
                reason: format!("net:[{}] is not in the snapshot", state.netns),
                path: state.path,
            });
            continue;
        };
        let Some(iface) = ns.interface(state.ifindex) else {
            continue;
        };
        if let Some((bns, bridge)) = opts.boundary
            && (state.dir, state.netns, state.ifindex) != origin
            && state.netns == bns
            && (state.ifindex == bridge
                || iface.master.as_ref().is_some_and(|m| m.ifindex == bridge))
        {
            crossed = true;
            continue;
        }
        match state.dir {
            Dir::Tx => transmit(ctx, ns, iface, state, sender, opts, &mut queue, &mut seg),
            Dir::Rx => receive(ctx, ns, iface, state, opts, &mut queue, &mut seg),
        }
    }
    // Two ways to one endpoint (a loop on the sending side): the first,
    // the shortest, counts.
    let mut kept: HashSet<(u64, u32)> = HashSet::new();
    seg.endpoints
        .retain(|e| kept.insert((e.netns, e.iface.ifindex)));
    (seg, crossed)
}

/// What lies behind each port of a bridge, walked once per bridge and
/// kept in the trace's context, with indexes by the addresses of the
/// namespaces behind the ports and by MAC, so that a question about one
/// next hop on a thousand-port bridge looks at the few ports that matter.
#[derive(Debug)]
pub struct Fanout<'a> {
    /// The ports lead apart (no port's wire comes back into the bridge);
    /// otherwise the walk goes port by port.
    tree: bool,
    ports: Vec<PortReach<'a>>,
    by_addr: HashMap<IpAddr, Vec<(usize, usize)>>,
    by_mac: HashMap<&'a str, Vec<(usize, usize)>>,
    /// Endpoints that might answer for addresses they do not hold.
    others4: Vec<(usize, usize)>,
    others6: Vec<(usize, usize)>,
}

#[derive(Debug)]
struct PortReach<'a> {
    port: &'a Interface,
    /// Why the bridge would not send out of this port.
    block: Option<Block>,
    /// What the port reaches, paths starting at the port.
    reach: Segment<'a>,
}

fn fanout<'a>(ctx: &Ctx<'a>, ns: &'a Namespace, bridge: &'a Interface) -> Rc<Fanout<'a>> {
    if let Some(f) = ctx.fanout(ns.inode, bridge.ifindex) {
        return f;
    }
    let opts = Opts {
        want: None,
        fanouts: false,
        boundary: Some((ns.inode, bridge.ifindex)),
    };
    let mut f = Fanout {
        tree: true,
        ports: Vec::new(),
        by_addr: HashMap::new(),
        by_mac: HashMap::new(),
        others4: Vec::new(),
        others6: Vec::new(),
    };
    // Nobody is the direct sender behind a port: a far end that is down
    // reads as down, not as the sender's missing carrier.
    let nobody = Step {
        netns: 0,
        ifindex: 0,
    };
    for port in ctx.index.ports(ns, bridge.ifindex) {
        let (reach, crossed) = walk(ctx, start(ns.inode, port.ifindex), nobody, opts);
        f.tree &= !crossed;
        let pi = f.ports.len();
        for (ei, e) in reach.endpoints.iter().enumerate() {
            if let Some(behind) = ctx.namespace(e.netns) {
                for iface in &behind.interfaces {
                    for a in super::view::iface_addrs(iface) {
                        f.by_addr.entry(a.local).or_default().push((pi, ei));
                    }
                }
                if neigh::may_answer_for_others(behind, e.iface, Family::Inet) {
                    f.others4.push((pi, ei));
                }
                if neigh::may_answer_for_others(behind, e.iface, Family::Inet6) {
                    f.others6.push((pi, ei));
                }
            }
            if let Some(mac) = e.iface.address.as_deref() {
                f.by_mac.entry(mac).or_default().push((pi, ei));
            }
        }
        f.ports.push(PortReach {
            port,
            block: egress_block(ctx, ns, bridge, port),
            reach,
        });
    }
    let f = Rc::new(f);
    ctx.keep_fanout(ns.inode, bridge.ifindex, Rc::clone(&f));
    f
}

impl<'a> Fanout<'a> {
    /// Adds what the bridge reaches out of its ports (all but `ingress`)
    /// to `seg`, after `via` (the state at the bridge).
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        ctx: &Ctx<'a>,
        ns: &Namespace,
        bridge: &Interface,
        ingress: Option<&Interface>,
        via: &State,
        want: Option<Want<'_>>,
        seg: &mut Segment<'a>,
    ) {
        let mut picked: Vec<(usize, usize)> = match want {
            None => self
                .ports
                .iter()
                .enumerate()
                .flat_map(|(pi, p)| (0..p.reach.endpoints.len()).map(move |ei| (pi, ei)))
                .collect(),
            Some(w) => {
                let mut v: Vec<(usize, usize)> =
                    self.by_addr.get(&w.addr).cloned().unwrap_or_default();
                if let Some(mac) = w.mac {
                    v.extend(self.by_mac.get(mac).into_iter().flatten().copied());
                }
                v.extend(match Family::of(w.addr) {
                    Family::Inet => &self.others4,
                    Family::Inet6 => &self.others6,
                });
                v
            }
        };
        picked.sort_unstable();
        picked.dedup();
        let isolated_in = ingress.is_some_and(|i| i.port_isolated == Some(true));
        let from = |p: &PortReach<'a>| ingress.is_some_and(|i| i.ifindex == p.port.ifindex);
        let joined = |rest: &[Step]| {
            let mut path = via.path.clone();
            path.extend_from_slice(rest);
            path
        };
        for (pi, ei) in picked {
            let p = &self.ports[pi];
            if from(p) {
                continue;
            }
            let e = &p.reach.endpoints[ei];
            let isolated = (isolated_in && p.port.port_isolated == Some(true)).then(|| Block {
                code: Code::PortIsolated,
                netns: ns.inode,
                reason: format!(
                    "{} and {} are isolated ports of {}: they never forward to each other",
                    ingress.map_or_else(String::new, |i| name(ctx, ns.inode, i.ifindex)),
                    name(ctx, ns.inode, p.port.ifindex),
                    name(ctx, ns.inode, bridge.ifindex)
                ),
                hint: None,
            });
            seg.endpoints.push(Endpoint {
                netns: e.netns,
                iface: e.iface,
                path: joined(&e.path),
                blocked: via
                    .blocked
                    .clone()
                    .or(isolated)
                    .or_else(|| p.block.clone())
                    .or_else(|| e.blocked.clone()),
            });
        }
        for p in self.ports.iter().filter(|p| !from(p)) {
            for o in &p.reach.openings {
                seg.openings.push(Opening {
                    code: o.code,
                    netns: o.netns,
                    reason: o.reason.clone(),
                    path: joined(&o.path),
                });
            }
        }
    }
}

fn name(ctx: &Ctx<'_>, netns: u64, ifindex: u32) -> String {
    ctx.describe(netns, ifindex)
}

/// `ifname@label`, formatted only if a message needs it (a big bridge
/// has a thousand ports that are all fine).
#[derive(Clone, Copy)]
struct Named<'c, 'a> {
    ctx: &'c Ctx<'a>,
    netns: u64,
    ifindex: u32,
}

impl std::fmt::Display for Named<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.ctx.describe(self.netns, self.ifindex))
    }
}

fn named<'c, 'a>(ctx: &'c Ctx<'a>, netns: u64, ifindex: u32) -> Named<'c, 'a> {
    Named {
        ctx,
        netns,
        ifindex,
    }
}

fn up_hint(ns: &Namespace, iface: &Interface) -> Option<String> {
    fix::ip(
        ns,
        &format!("link set dev {} up", fix::quote(&iface.ifname)),
    )
}

fn push(
    queue: &mut VecDeque<State>,
    from: &State,
    dir: Dir,
    netns: u64,
    ifindex: u32,
    blocked: Option<Block>,
) {
    let mut path = from.path.clone();
    path.push(Step { netns, ifindex });
    queue.push_back(State {
        dir,
        netns,
        ifindex,
        path,
        blocked: from.blocked.clone().or(blocked),
    });
}

fn open(seg: &mut Segment<'_>, state: &State, code: Code, netns: u64, reason: String) {
    seg.openings.push(Opening {
        code,
        netns: Some(netns),
        reason,
        path: state.path.clone(),
    });
}

/// A device sends a frame onto its wire.
#[allow(clippy::too_many_arguments)]
fn transmit<'a>(
    ctx: &Ctx<'a>,
    ns: &'a Namespace,
    iface: &'a Interface,
    state: State,
    sender: Step,
    opts: Opts<'_>,
    queue: &mut VecDeque<State>,
    seg: &mut Segment<'a>,
) {
    let here = named(ctx, ns.inode, iface.ifindex);
    let kind = iface.kind.as_deref().unwrap_or("");
    let is_loopback = iface.flags.iter().any(|f| f == "LOOPBACK");
    match kind {
        "veth" | "vxcan" | "netkit" => {
            let Some(peer) = &iface.peer else {
                open(
                    seg,
                    &state,
                    Code::Unsupported,
                    ns.inode,
                    format!("{here} has no peer"),
                );
                return;
            };
            let Some(peer_ns) = peer.netns else {
                open(
                    seg,
                    &state,
                    Code::NotScanned,
                    ns.inode,
                    format!("the peer of {here} is in a namespace nsmap could not open"),
                );
                return;
            };
            let Some((pns, piface)) = ctx.iface(peer) else {
                let scanned = ctx.namespace(peer_ns).is_some_and(|n| n.scanned);
                let reason = if scanned {
                    format!("the peer of {here} is not in the snapshot")
                } else {
                    format!(
                        "the peer of {here} is in {}, which nsmap could not dump",
                        ctx.label(peer_ns)
                    )
                };
                open(seg, &state, Code::NotScanned, peer_ns, reason);
                return;
            };
            let block = (!is_up(piface)).then(|| {
                let direct = Step {
                    netns: state.netns,
                    ifindex: state.ifindex,
                } == sender;
                Block {
                    code: if direct {
                        Code::NoCarrier
                    } else {
                        Code::LinkDown
                    },
                    netns: pns.inode,
                    reason: if direct {
                        format!(
                            "{here} has no carrier: its peer {} is down",
                            name(ctx, pns.inode, piface.ifindex)
                        )
                    } else {
                        format!("{} is down", name(ctx, pns.inode, piface.ifindex))
                    },
                    hint: up_hint(pns, piface),
                }
            });
            push(queue, &state, Dir::Rx, pns.inode, piface.ifindex, block);
        }
        "bridge" => {
            // The bridge's own stack sends: br_dev_xmit forwards to ports.
            if opts.fanouts {
                let f = fanout(ctx, ns, iface);
                if f.tree {
                    f.emit(ctx, ns, iface, None, &state, opts.want, seg);
                    return;
                }
            }
            for port in ctx.index.ports(ns, iface.ifindex) {
                let block = egress_block(ctx, ns, iface, port);
                push(queue, &state, Dir::Tx, ns.inode, port.ifindex, block);
            }
        }
        "macvlan" | "macvtap" => {
            let mode = iface.macvlan_mode.as_deref();
            let lower = iface.link.as_ref();
            if matches!(mode, None | Some("bridge"))
                && let Some(lower) = lower
                && let Some(lower_ns) = lower.netns
            {
                if mode.is_none() {
                    open(
                        seg,
                        &state,
                        Code::Unsupported,
                        ns.inode,
                        format!("the snapshot does not record the macvlan mode of {here}"),
                    );
                    return;
                }
                for &(sns, sifindex) in ctx.uppers(lower_ns, lower.ifindex) {
                    if (sns, sifindex) == (ns.inode, iface.ifindex) {
                        continue;
                    }
                    let Some(sibling_ns) = ctx.namespace(sns) else {
                        continue;
                    };
                    let Some(sibling) = sibling_ns.interface(sifindex) else {
                        continue;
                    };
                    if sibling.macvlan_mode.as_deref() != Some("bridge") {
                        continue;
                    }
                    let block = (!is_up(sibling)).then(|| Block {
                        code: Code::LinkDown,
                        netns: sns,
                        reason: format!("{} is down", name(ctx, sns, sifindex)),
                        hint: up_hint(sibling_ns, sibling),
                    });
                    // Straight to the sibling's stack (macvlan_queue_xmit).
                    let mut path = state.path.clone();
                    path.push(Step {
                        netns: sns,
                        ifindex: sifindex,
                    });
                    seg.endpoints.push(Endpoint {
                        netns: sns,
                        iface: sibling,
                        path,
                        blocked: state.blocked.clone().or(block),
                    });
                }
            } else if mode == Some("vepa") {
                open(
                    seg,
                    &state,
                    Code::LeavesHost,
                    ns.inode,
                    format!(
                        "{here} is a VEPA macvlan: its siblings are reached only if the switch beyond its lower device sends frames back"
                    ),
                );
            } else if !matches!(mode, Some("private") | Some("passthru")) {
                open(
                    seg,
                    &state,
                    Code::Unsupported,
                    ns.inode,
                    format!(
                        "{here} is a macvlan in {} mode",
                        mode.unwrap_or("an unknown")
                    ),
                );
                return;
            }
            // Everything else goes out of the lower device, onto its wire.
            match lower {
                Some(lower) if lower.netns.is_some() => {
                    let lower_ns = lower.netns.unwrap_or_default();
                    let Some((lns, liface)) = ctx.iface(lower) else {
                        open(
                            seg,
                            &state,
                            Code::NotScanned,
                            lower_ns,
                            format!("the lower device of {here} is not in the snapshot"),
                        );
                        return;
                    };
                    let block = (!is_up(liface)).then(|| Block {
                        code: Code::LinkDown,
                        netns: lns.inode,
                        reason: format!(
                            "{} (the lower device of {here}) is down",
                            name(ctx, lns.inode, liface.ifindex)
                        ),
                        hint: up_hint(lns, liface),
                    });
                    push(queue, &state, Dir::Tx, lns.inode, liface.ifindex, block);
                }
                _ => open(
                    seg,
                    &state,
                    Code::NotScanned,
                    ns.inode,
                    format!("the lower device of {here} is in a namespace nsmap could not open"),
                ),
            }
        }
        "vxlan" | "geneve" | "gretap" | "ip6gretap" => open(
            seg,
            &state,
            Code::Overlay,
            ns.inode,
            format!("{here} is a {kind} tunnel: the frame leaves encapsulated"),
        ),
        "tun" | "tap" => open(
            seg,
            &state,
            Code::UserSpace,
            ns.inode,
            format!("{here} is a tun/tap device: a user-space program (a VM?) reads it"),
        ),
        _ if is_loopback => {}
        "" => open(
            seg,
            &state,
            Code::LeavesHost,
            ns.inode,
            format!("{here} is a physical (or unknown) device: the frame leaves the host"),
        ),
        other => open(
            seg,
            &state,
            Code::Unsupported,
            ns.inode,
            format!("{here} is a {other} device, which nsmap does not follow"),
        ),
    }
}

/// Why a bridge would not send a frame out of `port`.
fn egress_block(
    ctx: &Ctx<'_>,
    ns: &Namespace,
    bridge: &Interface,
    port: &Interface,
) -> Option<Block> {
    let port_name = named(ctx, ns.inode, port.ifindex);
    if !is_up(port) {
        return Some(Block {
            code: Code::LinkDown,
            netns: ns.inode,
            reason: format!("{port_name}, a port of {}, is down", bridge.ifname.as_str()),
            hint: up_hint(ns, port),
        });
    }
    // A port without carrier is disabled by the bridge (br_port_carrier_check):
    // for a veth, the cause to name is its far end being down.
    if port.port_state.as_deref() != Some("forwarding")
        && !has_carrier(port)
        && let Some(peer) = &port.peer
        && let Some((pns, piface)) = ctx.iface(peer)
        && !is_up(piface)
    {
        return Some(Block {
            code: Code::LinkDown,
            netns: pns.inode,
            reason: format!(
                "{} is down, so its peer {port_name}, a port of {}, has no carrier and is disabled",
                named(ctx, pns.inode, piface.ifindex),
                bridge.ifname.as_str()
            ),
            hint: up_hint(pns, piface),
        });
    }
    port_state_block(ns, bridge, port, port_name)
}

fn port_state_block(
    ns: &Namespace,
    bridge: &Interface,
    port: &Interface,
    port_name: Named<'_, '_>,
) -> Option<Block> {
    match port.port_state.as_deref() {
        Some("forwarding") => None,
        Some(state) => Some(Block {
            code: Code::BridgePortBlocked,
            netns: ns.inode,
            reason: format!(
                "{port_name}, a port of {}, is {state}: it does not forward frames",
                bridge.ifname.as_str()
            ),
            hint: None,
        }),
        None => Some(Block {
            code: Code::Unsupported,
            netns: ns.inode,
            reason: format!("the snapshot does not record the port state of {port_name}"),
            hint: None,
        }),
    }
}

/// A device receives a frame from its wire.
fn receive<'a>(
    ctx: &Ctx<'a>,
    ns: &'a Namespace,
    iface: &'a Interface,
    state: State,
    opts: Opts<'_>,
    queue: &mut VecDeque<State>,
    seg: &mut Segment<'a>,
) {
    let here = named(ctx, ns.inode, iface.ifindex);
    if !ns.scanned {
        open(
            seg,
            &state,
            Code::NotScanned,
            ns.inode,
            format!("{} could not be dumped", ctx.label(ns.inode)),
        );
        return;
    }
    if let Some(master) = &iface.master {
        let Some(bridge) = ns.interface(master.ifindex) else {
            return;
        };
        if !bridge.kind_is("bridge") {
            open(
                seg,
                &state,
                Code::Unsupported,
                ns.inode,
                format!(
                    "{here} is a port of {} ({}), which nsmap does not follow",
                    bridge.ifname.as_str(),
                    bridge.kind.as_deref().unwrap_or("unknown kind")
                ),
            );
            return;
        }
        let bridge_name = named(ctx, ns.inode, bridge.ifindex);
        let mut block = None;
        if !is_up(bridge) {
            block = Some(Block {
                code: Code::LinkDown,
                netns: ns.inode,
                reason: format!("bridge {bridge_name} is down"),
                hint: up_hint(ns, bridge),
            });
        }
        block = block.or_else(|| port_state_block(ns, bridge, iface, here));
        if bridge.vlan_filtering == Some(true) {
            open(
                seg,
                &state,
                Code::Unsupported,
                ns.inode,
                format!("bridge {bridge_name} filters VLANs, which nsmap does not model yet"),
            );
            return;
        }
        if iface.port_locked == Some(true) {
            open(
                seg,
                &state,
                Code::Unsupported,
                ns.inode,
                format!("{here} is a locked bridge port (802.1X), which nsmap does not model"),
            );
            return;
        }
        // The bridge's own stack.
        let mut to_bridge = state.path.clone();
        to_bridge.push(Step {
            netns: ns.inode,
            ifindex: bridge.ifindex,
        });
        let bridge_state = State {
            dir: Dir::Rx,
            netns: ns.inode,
            ifindex: bridge.ifindex,
            path: to_bridge,
            blocked: state.blocked.clone().or(block.clone()),
        };
        endpoint_or_uppers(ctx, ns, bridge, &bridge_state, seg);
        if opts.fanouts {
            let f = fanout(ctx, ns, bridge);
            if f.tree {
                f.emit(ctx, ns, bridge, Some(iface), &bridge_state, opts.want, seg);
                return;
            }
        }
        // Every other port.
        for port in ctx.index.ports(ns, bridge.ifindex) {
            if port.ifindex == iface.ifindex {
                continue;
            }
            let isolated = (iface.port_isolated == Some(true) && port.port_isolated == Some(true))
                .then(|| Block {
                    code: Code::PortIsolated,
                    netns: ns.inode,
                    reason: format!(
                        "{here} and {} are isolated ports of {bridge_name}: they never forward to each other",
                        name(ctx, ns.inode, port.ifindex)
                    ),
                    hint: None,
                });
            let egress = egress_block(ctx, ns, bridge, port);
            let via_bridge = State {
                dir: Dir::Rx,
                netns: ns.inode,
                ifindex: bridge.ifindex,
                path: bridge_state.path.clone(),
                blocked: bridge_state.blocked.clone().or(isolated),
            };
            push(queue, &via_bridge, Dir::Tx, ns.inode, port.ifindex, egress);
        }
        return;
    }
    if iface.slave_kind.is_some() {
        open(
            seg,
            &state,
            Code::Unsupported,
            ns.inode,
            format!(
                "{here} is enslaved ({}), which nsmap does not follow",
                iface.slave_kind.as_deref().unwrap_or("?")
            ),
        );
        return;
    }
    endpoint_or_uppers(ctx, ns, iface, &state, seg);
}

/// The receiving device's own stack, and the macvlans on it (frames for
/// their addresses go to them: macvlan_handle_frame).
fn endpoint_or_uppers<'a>(
    ctx: &Ctx<'a>,
    ns: &'a Namespace,
    iface: &'a Interface,
    state: &State,
    seg: &mut Segment<'a>,
) {
    seg.endpoints.push(Endpoint {
        netns: ns.inode,
        iface,
        path: state.path.clone(),
        blocked: state.blocked.clone(),
    });
    for &(uns, uifindex) in ctx.uppers(ns.inode, iface.ifindex) {
        let Some(upper_ns) = ctx.namespace(uns) else {
            continue;
        };
        let Some(upper) = upper_ns.interface(uifindex) else {
            continue;
        };
        if !upper.kind_is("macvlan") && !upper.kind_is("macvtap") {
            continue;
        }
        let mut path = state.path.clone();
        path.push(Step {
            netns: uns,
            ifindex: uifindex,
        });
        let block = (!is_up(upper)).then(|| Block {
            code: Code::LinkDown,
            netns: uns,
            reason: format!("{} is down", name(ctx, uns, uifindex)),
            hint: up_hint(upper_ns, upper),
        });
        if upper.kind_is("macvtap") {
            seg.openings.push(Opening {
                code: Code::UserSpace,
                netns: Some(uns),
                reason: format!(
                    "{} is a macvtap: a user-space program (a VM?) reads it",
                    name(ctx, uns, uifindex)
                ),
                path,
            });
            continue;
        }
        seg.endpoints.push(Endpoint {
            netns: uns,
            iface: upper,
            path,
            blocked: state.blocked.clone().or(block),
        });
    }
}
