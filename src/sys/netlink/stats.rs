//! RTM_GETSTATS with only `IFLA_STATS_LINK_64`: every device's
//! `rtnl_link_stats64` and its ifindex, nothing else. A link dump fills a
//! whole RTM_NEWLINK per device (names, flags, the IPv6 devconf, and for
//! each veth a walk of the namespace's nsid table to name its peer's);
//! this asks the kernel only to sum the counters — what `top` needs every
//! tick, with the names taken now and then from a link dump.

use super::link::{attrs, stats64};
use crate::snapshot::LinkStats;

pub const RTM_NEWSTATS: u16 = 92;
pub const RTM_GETSTATS: u16 = 94;
/// `struct if_stats_msg`: family, two pad fields, ifindex, filter_mask.
const IF_STATS_MSG_LEN: usize = 12;
const IFLA_STATS_LINK_64: u16 = 1;

/// The request's `if_stats_msg`: any family, every device (a dump), only
/// the 64-bit link counters (`IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64)`).
pub fn request() -> Vec<u8> {
    let mut msg = vec![0u8; IF_STATS_MSG_LEN];
    let mask: u32 = 1 << (IFLA_STATS_LINK_64 - 1);
    msg[8..12].copy_from_slice(&mask.to_ne_bytes());
    msg
}

/// One RTM_NEWSTATS message → (ifindex, counters); None when it carries
/// no 64-bit counters (or is too short to be one).
pub fn parse(payload: &[u8]) -> Option<(u32, LinkStats)> {
    let header = payload.get(..IF_STATS_MSG_LEN)?;
    let ifindex = u32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
    let (_, value) =
        attrs(payload.get(IF_STATS_MSG_LEN..)?).find(|(kind, _)| *kind == IFLA_STATS_LINK_64)?;
    Some((ifindex, stats64(value)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RTM_NEWSTATS payload as the kernel builds it: the header, then
    /// one attribute holding `counters` u64s (rx_packets first).
    fn message(ifindex: u32, counters: &[u64]) -> Vec<u8> {
        let mut m = vec![0u8; IF_STATS_MSG_LEN];
        m[4..8].copy_from_slice(&ifindex.to_ne_bytes());
        let len = 4 + counters.len() * 8;
        m.extend((len as u16).to_ne_bytes());
        m.extend(IFLA_STATS_LINK_64.to_ne_bytes());
        for c in counters {
            m.extend(c.to_ne_bytes());
        }
        m
    }

    #[test]
    fn parses_ifindex_and_counters_in_kernel_order() {
        let counters: Vec<u64> = (1..=25).collect();
        let (ifindex, s) = parse(&message(7, &counters)).expect("parses");
        assert_eq!(ifindex, 7);
        assert_eq!(
            (s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes),
            (1, 2, 3, 4)
        );
        assert_eq!((s.rx_dropped, s.tx_dropped), (7, 8));
        assert_eq!(s.rx_otherhost_dropped, Some(25));
    }

    #[test]
    fn short_or_empty_messages_are_skipped() {
        assert!(parse(&[0; 8]).is_none());
        assert!(parse(&message(1, &[])).is_none());
        assert!(parse(&message(1, &[1; 10])).is_none());
        assert_eq!(request().len(), IF_STATS_MSG_LEN);
        assert_eq!(request()[8], 1);
    }
}
