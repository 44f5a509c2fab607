//! NSM034: a namespace's conntrack table nearly full. When it is full the
//! kernel drops every packet that would start a new connection ("nf_conntrack:
//! table full, dropping packet"), whatever the rules say, so paths that
//! look open fail for new connections only — a classic of busy container
//! hosts and of NAT gateways.

use super::{Code, Finding};
use crate::snapshot::Snapshot;

/// The share of the table in use from which it is reported, in percent.
const NEARLY_FULL: i64 = 90;

/// NSM034.
pub fn nearly_full(snapshot: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in &snapshot.namespaces {
        let Some(fw) = ns.firewall.as_ref() else {
            continue;
        };
        let (Some(count), Some(max)) = (fw.conntrack_count, fw.conntrack_max) else {
            continue;
        };
        let (count, max) = (i64::from(count), i64::from(max));
        if max <= 0 || count * 100 < max * NEARLY_FULL {
            continue;
        }
        out.push(Finding::new(
            Code::ConntrackNearlyFull,
            Some(ns.inode),
            Vec::new(),
            format!(
                "{}: the conntrack table holds {count} of {max} entries ({}%); when full, new connections are dropped",
                ns.label(),
                count * 100 / max
            ),
            Some("sysctl -w net.netfilter.nf_conntrack_max=<LARGER> (in the host), or find what opens so many connections: conntrack -L".into()),
        ));
    }
    out
}
