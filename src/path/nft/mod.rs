//! An nftables evaluator and rule printer for the offline path tracer:
//! runs a base chain of a snapshot's table on a modelled packet the way the
//! kernel's `nft_do_chain` does, says which rule decided, and prints rules
//! the way `nft list ruleset` does.
//!
//! API:
//! - [`Packet`] is what the model knows of one packet at one hook; every
//!   `None` is unknown and never guessed.
//! - [`Env`] answers what the packet alone cannot (`fib … type`).
//! - [`run_chain`] gives a [`Run`]: the [`Outcome`], the trail of chains and
//!   matching rules, and the changes the rules made (marks, nat).
//! - [`rule_text`] prints one rule.
//!
//! Verdicts are `nft_do_chain`'s: `accept` ends only this base chain (the
//! caller runs the hook's next one), `drop` and `reject` end the packet,
//! `jump` pushes (16 levels), `goto` does not, `return` or the end of a
//! regular chain pops, the end of the base chain is its policy; a `nat`,
//! `masquerade` or `redirect` statement accepts with its translation;
//! `queue` is reported as such.
//!
//! Unknown values are tracked per register byte. A condition on an unknown
//! byte forks the run (at most [`MAX_LEAVES`] leaves); when every leaf ends
//! the same way the answer stands, otherwise it is [`Outcome::Unknown`]
//! naming the first rule whose uncertainty split the outcome. Never a
//! wrong definite answer: anything not modelled is unknown.

mod elems;
mod eval;
mod exprs;
mod fields;
mod headers;
mod keys;
mod names;
mod print;
#[cfg(test)]
mod print_tests;
#[cfg(test)]
mod proptests;
mod regs;
mod sets;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_more;
mod xt;

use std::net::IpAddr;

use serde::Serialize;

use crate::name::Name;
use crate::snapshot::l3::Family;

pub use eval::{MAX_LEAVES, MAX_STEPS, run_chain};
pub use print::rule_text;

/// A device as the meta expressions see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dev {
    pub ifindex: u32,
    pub name: Name,
    /// `rtnl_link_ops` kind (`veth`, `bridge`…); None for a plain device.
    pub kind: Option<String>,
    /// ARPHRD_* (1 ether, 772 loopback).
    pub ll_type: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CtState {
    New,
    Established,
    Related,
    Invalid,
    Untracked,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CtDir {
    Original,
    Reply,
}

/// The packet's conntrack entry as `ct` sees it. `Invalid` also stands for
/// no entry at all (before conntrack's hook, as in a raw-priority chain):
/// the kernel reads both as the invalid bit and fails every other key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Ct {
    pub state: CtState,
    pub direction: CtDir,
    /// IPS_* bits when known.
    pub status: Option<u32>,
}

/// PACKET_* of the skb.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PktType {
    Host,
    Broadcast,
    Multicast,
    OtherHost,
}

/// One packet at one hook, as far as the model knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Packet {
    /// The packet's layer-3 family (the nfproto an inet table sees).
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4proto: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub tcp_flags: Option<u8>,
    pub ttl: u8,
    /// Input and output devices (`meta iif`/`oif`…); in the bridge family
    /// the bridge ports.
    pub iif: Option<Dev>,
    pub oif: Option<Dev>,
    /// The bridge devices above the input and output ports
    /// (`meta ibrname`/`obrname`, `meta bri_iifname`).
    pub bri_iif: Option<Dev>,
    pub bri_oif: Option<Dev>,
    pub mark: u32,
    pub ct: Ct,
    /// Known only for locally generated packets.
    pub skuid: Option<u32>,
    pub skgid: Option<u32>,
    pub pkttype: PktType,
    /// A MAC header exists (not at output/postrouting of local packets).
    pub has_ll: bool,
    /// The Ethernet header when known.
    pub ll: Option<[u8; 14]>,
    pub len: Option<u16>,
}

/// RTN_* route types, what `fib … type` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AddrType {
    Unspec = 0,
    Unicast = 1,
    Local = 2,
    Broadcast = 3,
    Anycast = 4,
    Multicast = 5,
    Blackhole = 6,
    Unreachable = 7,
    Prohibit = 8,
    Throw = 9,
}

/// What the evaluator asks the rest of the snapshot.
pub trait Env {
    /// The route type of `addr` (in the table of device `dev` when given),
    /// or None when the snapshot does not say.
    fn addrtype(&self, addr: IpAddr, dev: Option<u32>) -> Option<AddrType>;
}

/// An [`Env`] that knows nothing: every `fib` is unknown.
pub struct NoEnv;

impl Env for NoEnv {
    fn addrtype(&self, _: IpAddr, _: Option<u32>) -> Option<AddrType> {
        None
    }
}

/// A rule, by where it lives and what it says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    /// The table's family word (`ip`, `inet`, `bridge`…).
    pub family: String,
    pub table: Name,
    pub chain: Name,
    pub handle: u64,
    /// The rule as `nft list ruleset` prints it.
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NatKind {
    Snat,
    Dnat,
    Masquerade,
    Redirect,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// `by` None: the base chain's policy.
    Accept {
        by: Option<RuleRef>,
    },
    Drop {
        by: Option<RuleRef>,
        reject: bool,
    },
    /// A translation (the packet is accepted); addr/port None when the
    /// registers did not fix them.
    Nat {
        by: RuleRef,
        kind: NatKind,
        addr: Option<IpAddr>,
        port: Option<(u16, u16)>,
    },
    Queue {
        by: RuleRef,
    },
    /// `by` the first rule whose uncertainty split the outcome (None: no
    /// single rule, e.g. a policy that is not known); `outcomes` the
    /// possible ones.
    Unknown {
        by: Option<RuleRef>,
        why: String,
        outcomes: Vec<Outcome>,
    },
}

/// A step of the trail: a chain entered, a rule whose expressions all
/// passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Step {
    Chain { chain: Name },
    Rule { chain: Name, handle: u64 },
}

/// What the rules changed on the packet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// `meta mark set`; `Some(None)`: set to an unknown value.
    pub mark: Option<Option<u32>>,
    pub ct_mark: Option<Option<u32>>,
    /// `notrack` ran: a packet without a conntrack entry stays untracked.
    pub notrack: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Run {
    pub outcome: Outcome,
    /// Of the first path through the chain (the only one when no
    /// condition was unknown).
    pub trail: Vec<Step>,
    pub changes: Changes,
    /// False when leaves with the same outcome disagree on the changes.
    pub changes_certain: bool,
}
