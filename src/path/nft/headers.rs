//! The header bytes the model knows of a [`Packet`], per payload base:
//! what nft_payload_eval would copy, unknown where the packet does not fix
//! a field (IP id, lengths, checksums, TCP sequence numbers…).

use std::net::IpAddr;

use super::Packet;

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const ICMP: u8 = 1;
pub const ICMPV6: u8 = 58;

/// The images of the link, network and transport headers.
pub struct Headers {
    pub ll: Option<Vec<Option<u8>>>,
    pub network: Vec<Option<u8>>,
    pub transport: Vec<Option<u8>>,
}

fn put(buf: &mut [Option<u8>], at: usize, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if let Some(slot) = buf.get_mut(at + i) {
            *slot = Some(*b);
        }
    }
}

pub fn build(pkt: &Packet) -> Headers {
    let network = match (pkt.src, pkt.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut h = vec![None; 20];
            // Version 4, IHL 5: the model has no options.
            put(&mut h, 0, &[0x45, 0]);
            put(&mut h, 8, &[pkt.ttl, pkt.l4proto]);
            put(&mut h, 12, &s.octets());
            put(&mut h, 16, &d.octets());
            // Flags and fragment offset: an unfragmented packet (the
            // transport header would not be reachable otherwise); DF
            // unknown, so only the offset bits of byte 7 are not modelled.
            h
        }
        (s, d) => {
            let mut h = vec![None; 40];
            // Version 6, traffic class 0; the flow label is unknown.
            h[0] = Some(0x60);
            put(&mut h, 6, &[pkt.l4proto, pkt.ttl]);
            if let IpAddr::V6(s) = s {
                put(&mut h, 8, &s.octets());
            }
            if let IpAddr::V6(d) = d {
                put(&mut h, 24, &d.octets());
            }
            h
        }
    };
    let transport = match pkt.l4proto {
        TCP => {
            let mut h = vec![None; 20];
            if let Some(p) = pkt.sport {
                put(&mut h, 0, &p.to_be_bytes());
            }
            if let Some(p) = pkt.dport {
                put(&mut h, 2, &p.to_be_bytes());
            }
            if let Some(f) = pkt.tcp_flags {
                h[13] = Some(f);
            }
            h
        }
        UDP => {
            let mut h = vec![None; 8];
            if let Some(p) = pkt.sport {
                put(&mut h, 0, &p.to_be_bytes());
            }
            if let Some(p) = pkt.dport {
                put(&mut h, 2, &p.to_be_bytes());
            }
            h
        }
        ICMP | ICMPV6 => {
            let mut h = vec![None; 8];
            h[0] = pkt.icmp_type;
            h[1] = pkt.icmp_code;
            h
        }
        _ => Vec::new(),
    };
    let ll = pkt.has_ll.then(|| match pkt.ll {
        Some(ll) => ll.iter().map(|&b| Some(b)).collect(),
        None => vec![None; 14],
    });
    Headers {
        ll,
        network,
        transport,
    }
}
