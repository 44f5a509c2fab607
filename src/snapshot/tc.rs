//! Queueing disciplines (`Interface.qdiscs`): what `tc -j -s qdisc show`
//! reports, keyed as tc keys it where that is clear, in one set of units:
//! times in microseconds (f64 where the kernel keeps nanoseconds or ticks,
//! so nothing is rounded away), rates in bytes per second, sizes in bytes,
//! probabilities in percent (f64). Kernel ticks are already converted with
//! the host's /proc/net/psched when the scan reads them, as tc does.
//!
//! Only the kinds a user acts on are decoded (netem, tbf, htb, fq_codel);
//! every other kind keeps its kind, handle, parent and counters.

use serde::{Deserialize, Serialize};

/// One qdisc of an interface, as `tc -s qdisc show dev X` lists it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Qdisc {
    /// `TCA_KIND`: "netem", "tbf", "htb", "noqueue", "pfifo_fast", …
    pub kind: String,
    /// tc's text: "8001:" (a qdisc's minor is always 0).
    pub handle: String,
    /// "root", or the parent class as tc prints it ("1:10", "ffff:fff1"
    /// for ingress/clsact).
    pub parent: String,
    #[serde(default)]
    pub netem: Option<Netem>,
    #[serde(default)]
    pub tbf: Option<Tbf>,
    #[serde(default)]
    pub htb: Option<Htb>,
    #[serde(default)]
    pub fq_codel: Option<FqCodel>,
    /// `TCA_STATS2`; null when the kernel sent none.
    #[serde(default)]
    pub stats: Option<TcStats>,
    /// The qdisc's classes (`tc -j -s class show dev X`), read for htb
    /// only; null for every other kind.
    #[serde(default)]
    pub classes: Option<Vec<TcClass>>,
}

impl Qdisc {
    /// Whether two readings are the same setup: equal but for their
    /// counters (the qdisc's, its classes', htb's `direct_packets_stat`).
    pub fn same_setup(&self, other: &Qdisc) -> bool {
        let htb = |q: &Qdisc| {
            q.htb.as_ref().map(|h| Htb {
                direct_packets_stat: 0,
                ..h.clone()
            })
        };
        let classes_match = match (&self.classes, &other.classes) {
            (Some(a), Some(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| {
                        TcClass {
                            stats: None,
                            ..x.clone()
                        } == TcClass {
                            stats: None,
                            ..y.clone()
                        }
                    })
            }
            (a, b) => a.is_none() && b.is_none(),
        };
        self.kind == other.kind
            && self.handle == other.handle
            && self.parent == other.parent
            && self.netem == other.netem
            && self.tbf == other.tbf
            && htb(self) == htb(other)
            && self.fq_codel == other.fq_codel
            && classes_match
    }
}

/// `TCA_STATS_BASIC` and `TCA_STATS_QUEUE`, named as tc -j -s names them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcStats {
    pub bytes: u64,
    pub packets: u64,
    pub drops: u32,
    pub overlimits: u32,
    pub requeues: u32,
    /// Bytes queued now.
    pub backlog: u32,
    /// Packets queued now.
    pub qlen: u32,
}

/// netem (`struct tc_netem_qopt` and its attributes). A zero probability
/// means "off", as tc omits it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Netem {
    /// Packets.
    pub limit: u32,
    pub delay_us: f64,
    pub jitter_us: f64,
    pub delay_correlation: f64,
    /// Random loss (`loss-random` in tc), percent.
    pub loss: f64,
    pub loss_correlation: f64,
    /// "gi" (4-state Markov) or "ge" (Gilbert-Elliott) when a loss model
    /// replaces random loss; its parameters are not decoded.
    #[serde(default)]
    pub loss_model: Option<String>,
    pub duplicate: f64,
    pub duplicate_correlation: f64,
    pub reorder: f64,
    pub reorder_correlation: f64,
    /// Reorder every `gap`-th packet (0: by probability only).
    pub gap: u32,
    pub corrupt: f64,
    pub corrupt_correlation: f64,
    /// Bytes per second; null when netem does not limit the rate.
    #[serde(default)]
    pub rate: Option<u64>,
    pub ecn: bool,
}

/// tbf (`TCA_TBF_PARMS`, `TCA_TBF_RATE64`, `TCA_TBF_PRATE64`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tbf {
    /// Bytes per second.
    pub rate: u64,
    /// Bytes, from the bucket's size in ticks as tc computes it.
    pub burst: u64,
    /// Bytes queued at most.
    pub limit: u32,
    /// The longest a packet can wait, as tc computes `lat`; null where tc
    /// prints none (a negative result).
    #[serde(default)]
    pub lat_us: Option<f64>,
    /// Bytes per second; null without a peak rate.
    #[serde(default)]
    pub peakrate: Option<u64>,
}

/// htb's own options (`TCA_HTB_INIT`, `TCA_HTB_DIRECT_QLEN`); the rates
/// are in its classes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Htb {
    pub r2q: u32,
    /// The minor number of the default class (tc prints it in hex).
    pub default: u32,
    pub direct_packets_stat: u32,
    #[serde(default)]
    pub direct_qlen: Option<u32>,
}

/// One class of a classful qdisc (htb).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TcClass {
    pub kind: String,
    /// tc's text: "1:10".
    pub classid: String,
    /// "root" or the parent class ("1:1").
    pub parent: String,
    /// Bytes per second.
    pub rate: u64,
    pub ceil: u64,
    /// Bytes.
    pub burst: u64,
    pub cburst: u64,
    pub prio: u32,
    pub quantum: u32,
    /// 0 for a leaf.
    pub level: u32,
    #[serde(default)]
    pub stats: Option<TcStats>,
}

/// fq_codel (`TCA_FQ_CODEL_*`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FqCodel {
    /// Packets.
    pub limit: u32,
    pub flows: u32,
    /// Bytes.
    pub quantum: u32,
    pub target_us: f64,
    pub interval_us: f64,
    pub ecn: bool,
}

/// A qdisc's handle as tc prints it: its major number, "8001:" (tc
/// prints "0:" for the kernel's default qdiscs, which have none).
pub fn handle(id: u32) -> String {
    format!("{:x}:", id >> 16)
}

/// A parent or class id as tc prints it (print_tc_classid): "root",
/// "none", "1:", ":10", "1:10", hex numbers.
pub fn classid(id: u32) -> String {
    const TC_H_ROOT: u32 = 0xFFFF_FFFF;
    let (major, minor) = (id >> 16, id & 0xFFFF);
    match id {
        TC_H_ROOT => "root".to_string(),
        0 => "none".to_string(),
        _ if major == 0 => format!(":{minor:x}"),
        _ if minor == 0 => format!("{major:x}:"),
        _ => format!("{major:x}:{minor:x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_ids_print_as_tc_prints_them() {
        assert_eq!(classid(0xFFFF_FFFF), "root");
        assert_eq!(classid(0x8001_0000), "8001:");
        assert_eq!(classid(0x0001_0010), "1:10");
        assert_eq!(classid(0xFFFF_FFF1), "ffff:fff1");
        assert_eq!(classid(0x0000_0010), ":10");
        assert_eq!(classid(0), "none");
        assert_eq!(handle(0), "0:");
        assert_eq!(handle(0x8001_0000), "8001:");
    }
}
