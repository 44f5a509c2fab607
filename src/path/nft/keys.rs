//! What `meta`, `ct` and `fib` load for a packet, as nft_meta_get_eval,
//! nft_ct_get_eval and nft_fib_eval would: a value (bytes maybe unknown),
//! or a failed load (NFT_BREAK) where the kernel has nothing to load.

use std::net::IpAddr;

use super::eval::{Ctx, State};
use super::{CtDir, CtState, Dev, PktType};
use crate::snapshot::l3::Family;

fn bytes(b: &[u8]) -> Vec<Option<u8>> {
    b.iter().map(|&b| Some(b)).collect()
}

pub(super) enum Meta {
    Value(Vec<Option<u8>>),
    Break,
    Unsupported,
}

fn name16(name: &crate::name::Name) -> Vec<Option<u8>> {
    let mut b = name.to_bytes();
    b.resize(16, 0);
    bytes(&b)
}

fn kind16(kind: &Option<String>) -> Vec<Option<u8>> {
    let mut b = kind.as_deref().unwrap_or("").as_bytes().to_vec();
    b.resize(16, 0);
    bytes(&b)
}

fn dev(d: &Option<Dev>, f: impl Fn(&Dev) -> Vec<Option<u8>>) -> Meta {
    match d {
        Some(d) => Meta::Value(f(d)),
        // An absent device: the kernel's load fails, NFT_BREAK.
        None => Meta::Break,
    }
}

fn nfproto(ctx: &Ctx) -> u8 {
    match ctx.table.family.as_str() {
        "bridge" => 7,
        "netdev" => 5,
        "arp" => 3,
        _ => match ctx.pkt.family {
            Family::Inet => 2,
            Family::Inet6 => 10,
        },
    }
}

pub(super) fn meta(ctx: &Ctx, st: &State, key: &str) -> Meta {
    let p = ctx.pkt;
    let v32 = |v: u32| Meta::Value(bytes(&v.to_ne_bytes()));
    match key {
        "len" | "length" => match p.len {
            Some(l) => v32(u32::from(l)),
            None => Meta::Value(vec![None; 4]),
        },
        "protocol" => Meta::Value(bytes(
            &match p.family {
                Family::Inet => 0x0800u16,
                Family::Inet6 => 0x86dd,
            }
            .to_be_bytes(),
        )),
        "nfproto" => Meta::Value(vec![Some(nfproto(ctx))]),
        "l4proto" => Meta::Value(vec![Some(p.l4proto)]),
        "mark" => Meta::Value(match st.mark {
            Some(m) => bytes(&m.to_ne_bytes()),
            None => vec![None; 4],
        }),
        "iif" => dev(&p.iif, |d| bytes(&d.ifindex.to_ne_bytes())),
        "oif" => dev(&p.oif, |d| bytes(&d.ifindex.to_ne_bytes())),
        "iifname" => dev(&p.iif, |d| name16(&d.name)),
        "oifname" => dev(&p.oif, |d| name16(&d.name)),
        "iiftype" => dev(&p.iif, |d| bytes(&d.ll_type.to_ne_bytes())),
        "oiftype" => dev(&p.oif, |d| bytes(&d.ll_type.to_ne_bytes())),
        "iifkind" => dev(&p.iif, |d| kind16(&d.kind)),
        "oifkind" => dev(&p.oif, |d| kind16(&d.kind)),
        "bri_iifname" | "ibrname" => dev(&p.bri_iif, |d| name16(&d.name)),
        "bri_oifname" | "obrname" => dev(&p.bri_oif, |d| name16(&d.name)),
        "skuid" => match p.skuid {
            Some(u) => v32(u),
            None => Meta::Break,
        },
        "skgid" => match p.skgid {
            Some(g) => v32(g),
            None => Meta::Break,
        },
        "pkttype" => Meta::Value(vec![Some(match p.pkttype {
            PktType::Host => 0,
            PktType::Broadcast => 1,
            PktType::Multicast => 2,
            PktType::OtherHost => 3,
        })]),
        "cpu" | "prandom" | "random" | "iifgroup" | "oifgroup" | "cgroup" | "priority" | "time"
        | "day" | "hour" | "secmark" | "sdif" | "sdifname" => Meta::Value(vec![None; 4]),
        _ => Meta::Unsupported,
    }
}

pub(super) fn ct(ctx: &Ctx, st: &State, key: &str, _dir: Option<u8>) -> Meta {
    let mut c = ctx.pkt.ct;
    // notrack latches IP_CT_UNTRACKED on a packet without an entry
    // (nft_notrack_eval); an entry present ignores it.
    if st.changes.notrack && c.state == CtState::Invalid {
        c.state = CtState::Untracked;
    }
    if key == "state" {
        let bit: u32 = match c.state {
            CtState::Invalid => 1,
            CtState::Established => 2,
            CtState::Related => 4,
            CtState::New => 8,
            CtState::Untracked => 64,
        };
        return Meta::Value(bytes(&bit.to_ne_bytes()));
    }
    // No conntrack entry: every other key fails (nft_ct_get_eval).
    if matches!(c.state, CtState::Invalid | CtState::Untracked) {
        return Meta::Break;
    }
    match key {
        "direction" => Meta::Value(vec![Some(match c.direction {
            CtDir::Original => 0,
            CtDir::Reply => 1,
        })]),
        "status" => Meta::Value(match c.status {
            Some(s) => bytes(&s.to_ne_bytes()),
            None => vec![None; 4],
        }),
        "mark" => Meta::Value(match st.ct_mark {
            Some(m) => bytes(&m.to_ne_bytes()),
            None => vec![None; 4],
        }),
        "l3proto" | "protocol" => Meta::Value(vec![None; 1]),
        "proto-src" | "proto-dst" | "zone" => Meta::Value(vec![None; 2]),
        "expiration" | "id" | "secmark" | "saddr" | "daddr" | "ip saddr" | "ip daddr" => {
            Meta::Value(vec![
                None;
                if ctx.pkt.family == Family::Inet6 {
                    16
                } else {
                    4
                }
            ])
        }
        "bytes" | "packets" | "avgpkt" => Meta::Value(vec![None; 8]),
        "label" | "helper" | "ip6 saddr" | "ip6 daddr" => Meta::Value(vec![None; 16]),
        _ => Meta::Unsupported,
    }
}

pub(super) fn fib(ctx: &Ctx, result: &str, flags: u32) -> Vec<Option<u8>> {
    const SADDR: u32 = 1;
    const DADDR: u32 = 2;
    const IIF: u32 = 8;
    const OIF: u32 = 16;
    let p = ctx.pkt;
    match result {
        "type" => {
            let addr: Option<IpAddr> = match (flags & SADDR != 0, flags & DADDR != 0) {
                (true, false) => Some(p.src),
                (false, true) => Some(p.dst),
                _ => None,
            };
            let dev = if flags & IIF != 0 {
                p.iif.as_ref().map(|d| d.ifindex)
            } else if flags & OIF != 0 {
                p.oif.as_ref().map(|d| d.ifindex)
            } else {
                None
            };
            match addr.and_then(|a| ctx.env.addrtype(a, dev)) {
                Some(t) => bytes(&(t as u32).to_ne_bytes()),
                None => vec![None; 4],
            }
        }
        "oifname" => vec![None; 16],
        _ => vec![None; 4],
    }
}
