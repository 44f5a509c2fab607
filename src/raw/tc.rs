//! Queueing disciplines and classes as the RTM_GETQDISC / RTM_GETTCLASS
//! dumps gave them: handles and parents still kernel numbers, ifindex not
//! yet a reference. Their options are already in the snapshot's units:
//! the parser converts kernel ticks with /proc/net/psched, the one fact of
//! the host that conversion needs, so nothing later has to know it.

use serde::{Deserialize, Serialize};

use crate::snapshot::tc::{FqCodel, Htb, Netem, Tbf, TcStats};

/// One RTM_NEWQDISC message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RawQdisc {
    pub ifindex: u32,
    pub handle: u32,
    pub parent: u32,
    pub kind: String,
    #[serde(default)]
    pub netem: Option<Netem>,
    #[serde(default)]
    pub tbf: Option<Tbf>,
    #[serde(default)]
    pub htb: Option<Htb>,
    #[serde(default)]
    pub fq_codel: Option<FqCodel>,
    #[serde(default)]
    pub stats: Option<TcStats>,
    /// The qdisc's classes (htb only; null for other kinds, or when the
    /// class dump failed).
    #[serde(default)]
    pub classes: Option<Vec<RawTcClass>>,
}

/// One RTM_NEWTCLASS message of an htb qdisc.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RawTcClass {
    pub ifindex: u32,
    pub handle: u32,
    pub parent: u32,
    pub kind: String,
    pub rate: u64,
    pub ceil: u64,
    pub burst: u64,
    pub cburst: u64,
    pub prio: u32,
    pub quantum: u32,
    pub level: u32,
    #[serde(default)]
    pub stats: Option<TcStats>,
}
