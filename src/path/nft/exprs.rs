//! One expression on one path: what it loads, compares or decides, as the
//! kernel's `*_eval` functions do, with unknown bytes forking.

use super::NatKind;
use super::eval::{Ctx, Leaf, State, nat_addr};
use super::keys::{Meta, ct, fib, meta};
use super::regs::{AREA, compare, equal, known};
use super::sets;
use crate::snapshot::nft::{Expr, Verdict};

/// What an expression does to its path.
pub(super) enum Flow {
    Next,
    /// NFT_BREAK: the rule ends, the next one runs.
    Break,
    /// Next, after writing a map's data into a register.
    Write(u32, Vec<Option<u8>>),
    Verdict(Verdict),
    Leaf(Leaf),
    /// Unknown: each alternative is a possible path.
    Fork(String, Vec<Alt>),
}

pub(super) struct Alt {
    pub flow: Flow,
    /// A register write that goes with this alternative.
    pub write: Option<(u32, Vec<Option<u8>>)>,
}

fn alt(flow: Flow) -> Alt {
    Alt { flow, write: None }
}

/// Next or Break, forking when unknown.
fn cond(ok: Option<bool>, why: impl FnOnce() -> String) -> Flow {
    match ok {
        Some(true) => Flow::Next,
        Some(false) => Flow::Break,
        None => Flow::Fork(why(), vec![alt(Flow::Next), alt(Flow::Break)]),
    }
}

fn unknown(why: impl Into<String>) -> Flow {
    Flow::Leaf(Leaf::Unknown(why.into()))
}

fn bytes(b: &[u8]) -> Vec<Option<u8>> {
    b.iter().map(|&b| Some(b)).collect()
}

fn u32_of(b: &[Option<u8>]) -> Option<u32> {
    let k = known(b.get(..4)?)?;
    Some(u32::from_ne_bytes(k.try_into().ok()?))
}

fn usz(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

pub(super) fn eval_expr(ctx: &mut Ctx, st: &mut State, expr: &Expr) -> Flow {
    match expr {
        Expr::Immediate {
            dreg,
            data,
            verdict,
        } => match (dreg, verdict, data) {
            (0, Some(v), _) => Flow::Verdict(v.clone()),
            (d, None, Some(data)) if *d != 0 => {
                if st.regs.store(*d, &bytes(&data.0)) {
                    Flow::Next
                } else {
                    unknown("immediate to a register out of range")
                }
            }
            _ => unknown("malformed immediate"),
        },
        Expr::Cmp { sreg, op, data } => {
            let Some(r) = st.regs.get(*sreg, data.0.len()) else {
                return unknown("cmp of a register out of range");
            };
            let ok = match op.as_str() {
                "eq" => equal(r, &data.0),
                "neq" => equal(r, &data.0).map(|e| !e),
                "lt" => compare(r, &data.0).map(|o| o.is_lt()),
                "lte" => compare(r, &data.0).map(|o| o.is_le()),
                "gt" => compare(r, &data.0).map(|o| o.is_gt()),
                "gte" => compare(r, &data.0).map(|o| o.is_ge()),
                other => return unknown(format!("cmp op {other}")),
            };
            cond(ok, || {
                "a value the packet does not fix may or may not match".into()
            })
        }
        Expr::Payload {
            base,
            offset,
            len,
            dreg,
        } => {
            let img = match base.as_str() {
                "ll" | "link" => match &ctx.hdr.ll {
                    Some(ll) => ll,
                    // No MAC header: nft_payload_eval fails, NFT_BREAK.
                    None => return Flow::Break,
                },
                "network" => &ctx.hdr.network,
                "transport" => &ctx.hdr.transport,
                _ => &Vec::new(),
            };
            let (o, l) = (usz(*offset), usz(*len));
            if l > AREA {
                return unknown("payload load longer than the registers");
            }
            let mut v = [None; AREA];
            for (i, slot) in v[..l].iter_mut().enumerate() {
                *slot = img.get(o.saturating_add(i)).copied().flatten();
            }
            if st.regs.store(*dreg, &v[..l]) {
                Flow::Next
            } else {
                unknown("payload to a register out of range")
            }
        }
        Expr::PayloadWrite { .. } => unknown("payload mangling is not modelled"),
        Expr::Meta {
            key, dreg: Some(d), ..
        } => match meta(ctx, st, key) {
            Meta::Value(v) => {
                if st.regs.store(*d, &v) {
                    Flow::Next
                } else {
                    unknown("meta to a register out of range")
                }
            }
            Meta::Break => Flow::Break,
            Meta::Unsupported => unknown(format!("meta {key} is not modelled")),
        },
        Expr::Meta {
            key, sreg: Some(s), ..
        } => {
            let v = st.regs.get(*s, 4).and_then(u32_of);
            match key.as_str() {
                "mark" => {
                    st.mark = v;
                    st.changes.mark = Some(v);
                    Flow::Next
                }
                "nftrace" | "priority" => Flow::Next,
                _ => unknown(format!("meta {key} set is not modelled")),
            }
        }
        Expr::Meta { .. } => unknown("meta with neither register"),
        Expr::Bitwise {
            sreg,
            dreg,
            len,
            op,
            mask,
            xor,
            data,
            sreg2,
        } => {
            let l = usz(*len);
            let Some(src) = st.regs.get(*sreg, l) else {
                return unknown("bitwise of a register out of range");
            };
            let out = match op.as_str() {
                "bool" => {
                    let (Some(m), Some(x)) = (mask, xor) else {
                        return unknown("bitwise without mask");
                    };
                    (0..l)
                        .map(|i| {
                            let (m, x) = (
                                m.0.get(i).copied().unwrap_or(0),
                                x.0.get(i).copied().unwrap_or(0),
                            );
                            if m == 0 {
                                Some(x)
                            } else {
                                src[i].map(|b| (b & m) ^ x)
                            }
                        })
                        .collect()
                }
                "lshift" | "rshift" => {
                    let shift = data
                        .as_ref()
                        .and_then(|d| d.0.get(..4))
                        .and_then(|d| d.try_into().ok())
                        .map(u32::from_ne_bytes);
                    match (known(src), shift) {
                        (Some(s), Some(sh)) if sh < 32 && l.is_multiple_of(4) => {
                            bytes(&shift_words(&s, sh, op == "lshift"))
                        }
                        _ => vec![None; l],
                    }
                }
                "and" | "or" | "xor" => {
                    let Some(s2) = sreg2.and_then(|r| st.regs.get(r, l)) else {
                        return unknown("bitwise without a second register");
                    };
                    src.iter()
                        .zip(s2.iter())
                        .map(|(a, b)| match (op.as_str(), a, b) {
                            ("and", Some(0), _) | ("and", _, Some(0)) => Some(0),
                            ("or", Some(0xff), _) | ("or", _, Some(0xff)) => Some(0xff),
                            (_, Some(a), Some(b)) => Some(match op.as_str() {
                                "and" => a & b,
                                "or" => a | b,
                                _ => a ^ b,
                            }),
                            _ => None,
                        })
                        .collect()
                }
                other => return unknown(format!("bitwise {other}")),
            };
            if st.regs.set(*dreg, &out) {
                Flow::Next
            } else {
                unknown("bitwise to a register out of range")
            }
        }
        Expr::Byteorder {
            sreg,
            dreg,
            len,
            size,
            ..
        } => {
            let Some(src) = st.regs.get(*sreg, usz(*len)) else {
                return unknown("byteorder of a register out of range");
            };
            let size = usz(*size);
            if !matches!(size, 2 | 4 | 8) {
                return unknown("byteorder size");
            }
            // Little-endian host: ntoh and hton both swap each word.
            let mut out = src.to_vec();
            for chunk in out.chunks_mut(size) {
                chunk.reverse();
            }
            if st.regs.set(*dreg, &out) {
                Flow::Next
            } else {
                unknown("byteorder to a register out of range")
            }
        }
        Expr::Range { sreg, op, from, to } => {
            let Some(r) = st.regs.get(*sreg, from.0.len()) else {
                return unknown("range of a register out of range");
            };
            let within = match (compare(r, &from.0), compare(r, &to.0)) {
                (Some(a), Some(b)) => Some(a.is_ge() && b.is_le()),
                (Some(a), _) if a.is_lt() => Some(false),
                (_, Some(b)) if b.is_gt() => Some(false),
                _ => None,
            };
            let ok = if op == "neq" {
                within.map(|w| !w)
            } else {
                within
            };
            cond(ok, || {
                "a value the packet does not fix may or may not be in the range".into()
            })
        }
        Expr::Lookup {
            sreg,
            dreg,
            set,
            set_id,
            invert,
        } => lookup(ctx, st, *sreg, *dreg, set.as_str(), *set_id, *invert),
        Expr::Ct {
            key,
            dreg: Some(d),
            direction,
            ..
        } => match ct(ctx, st, key, *direction) {
            Meta::Value(v) => {
                if st.regs.store(*d, &v) {
                    Flow::Next
                } else {
                    unknown("ct to a register out of range")
                }
            }
            Meta::Break => Flow::Break,
            Meta::Unsupported => unknown(format!("ct {key} is not modelled")),
        },
        Expr::Ct {
            key, sreg: Some(s), ..
        } => {
            if key == "mark" {
                let v = st.regs.get(*s, 4).and_then(u32_of);
                st.ct_mark = v;
                st.changes.ct_mark = Some(v);
            }
            // Other ct writes (zone, helper, label) do not decide a verdict.
            Flow::Next
        }
        Expr::Ct { .. } => unknown("ct with neither register"),
        Expr::Counter { .. } | Expr::Log { .. } => Flow::Next,
        Expr::Limit { rate, unit, .. } => cond(None, || {
            format!(
                "limit rate {rate}/{} may or may not match",
                unit_word(*unit)
            )
        }),
        Expr::Quota { bytes, .. } => cond(None, || {
            format!("quota {bytes} bytes may or may not be used up")
        }),
        Expr::Reject { .. } => Flow::Leaf(Leaf::Drop { reject: true }),
        Expr::Nat {
            kind,
            family,
            addr_min,
            addr_max,
            proto_min,
            proto_max,
            flags,
        } => {
            let kind = if kind == "snat" {
                NatKind::Snat
            } else {
                NatKind::Dnat
            };
            let v6 = family == "ip6";
            // nft_nat_inet_eval: in an inet table an `ip`/`ip6` nat
            // statement applies only to packets of its family; for the
            // other it does nothing and the rule goes on.
            let packet_v6 = ctx.pkt.family == crate::snapshot::l3::Family::Inet6;
            if v6 != packet_v6 {
                return Flow::Next;
            }
            let load = |r: &Option<u32>| {
                r.and_then(|r| st.regs.get(r, if v6 { 16 } else { 4 }))
                    .and_then(|b| nat_addr(b, v6))
            };
            let addr = load(addr_min);
            // NF_NAT_RANGE_NETMAP maps each address into a prefix, and a
            // range of addresses is the kernel's hashed choice
            // (find_best_ips_proto): neither is one answer.
            const NETMAP: u32 = 0x40;
            if flags & NETMAP != 0 || (addr_max.is_some() && load(addr_max) != addr) {
                return unknown(
                    "the nat statement maps to a range or prefix of addresses, chosen per connection",
                );
            }
            let port = ports(st, *proto_min, *proto_max);
            Flow::Leaf(Leaf::Nat { kind, addr, port })
        }
        Expr::Masq {
            proto_min,
            proto_max,
            ..
        } => Flow::Leaf(Leaf::Nat {
            kind: NatKind::Masquerade,
            addr: None,
            port: ports(st, *proto_min, *proto_max),
        }),
        Expr::Redir {
            proto_min,
            proto_max,
            ..
        } => Flow::Leaf(Leaf::Nat {
            kind: NatKind::Redirect,
            addr: None,
            port: ports(st, *proto_min, *proto_max),
        }),
        Expr::Fib {
            result,
            flags,
            dreg,
        } => {
            let v = fib(ctx, result, *flags);
            if st.regs.store(*dreg, &v) {
                Flow::Next
            } else {
                unknown("fib to a register out of range")
            }
        }
        Expr::Match { name, .. } if name == "comment" => Flow::Next,
        Expr::Match { name, rev, info } if name == "addrtype" => {
            cond(super::xt::addrtype(ctx.pkt, ctx.env, *rev, &info.0), || {
                "xt match addrtype on an address whose type the snapshot does not say".to_string()
            })
        }
        Expr::Match { name, .. } => cond(None, || format!("xt match {name} is not modelled")),
        Expr::Target { name, rev, info } => {
            match super::xt::nat_target(
                name,
                *rev,
                &info.0,
                ctx.pkt.family == crate::snapshot::l3::Family::Inet6,
            ) {
                Some((kind, addr, port)) => Flow::Leaf(Leaf::Nat { kind, addr, port }),
                None => unknown(format!("xt target {name} is not modelled")),
            }
        }
        Expr::Other { name, .. } if name == "notrack" => {
            st.changes.notrack = true;
            Flow::Next
        }
        Expr::Other { name, .. } => unknown(format!("expression {name} is not modelled")),
    }
}

pub(super) fn unit_word(unit: u64) -> String {
    match unit {
        1 => "second".into(),
        60 => "minute".into(),
        3600 => "hour".into(),
        86400 => "day".into(),
        604800 => "week".into(),
        n => format!("{n}s"),
    }
}

fn shift_words(s: &[u8], sh: u32, left: bool) -> Vec<u8> {
    let words: Vec<u32> = s
        .chunks(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut out = vec![0u32; words.len()];
    let mut carry = 0u32;
    if left {
        for i in (0..words.len()).rev() {
            out[i] = (words[i] << sh) | carry;
            carry = if sh == 0 { 0 } else { words[i] >> (32 - sh) };
        }
    } else {
        for i in 0..words.len() {
            out[i] = carry | (words[i] >> sh);
            carry = if sh == 0 { 0 } else { words[i] << (32 - sh) };
        }
    }
    out.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

fn ports(st: &State, min: Option<u32>, max: Option<u32>) -> Option<(u16, u16)> {
    let port = |r: u32| {
        st.regs
            .get(r, 2)
            .and_then(known)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    let lo = port(min?)?;
    let hi = match max {
        Some(r) => port(r)?,
        None => lo,
    };
    Some((lo, hi))
}

fn lookup(
    ctx: &Ctx,
    st: &State,
    sreg: u32,
    dreg: Option<u32>,
    name: &str,
    id: Option<u32>,
    invert: bool,
) -> Flow {
    let Some(set) = sets::find(ctx.table, name, id) else {
        return unknown(format!("set {name} is not in the snapshot"));
    };
    if let Some(why) = sets::undecidable(set) {
        return unknown(why);
    }
    let Some(key) = st.regs.get(sreg, usz(set.key_len)) else {
        return unknown("lookup of a register out of range");
    };
    let why = || format!("lookup in @{} of a value the packet does not fix", set.name);
    let (Some(elems), Some(key)) = (set.elements.as_ref(), known(key)) else {
        // Unknown key or elements: every element's data, or no match.
        return match (dreg, set.elements.as_ref()) {
            (None, _) => cond(None, why),
            (Some(0), Some(elems)) if !invert => {
                let mut alts = vec![alt(Flow::Break)];
                for e in elems.iter().filter(|e| !e.interval_end) {
                    match &e.verdict {
                        Some(v) => alts.push(alt(Flow::Verdict(v.clone()))),
                        None => return unknown("verdict map element without a verdict"),
                    }
                }
                Flow::Fork(why(), alts)
            }
            (Some(d), _) if d != 0 => {
                let len = usz(set.data_len.unwrap_or(4));
                Flow::Fork(
                    why(),
                    vec![
                        Alt {
                            flow: Flow::Next,
                            write: Some((d, vec![None; len])),
                        },
                        alt(Flow::Break),
                    ],
                )
            }
            _ => unknown(why()),
        };
    };
    let hit = sets::lookup(set, elems, &key);
    if hit.is_some() == invert {
        return Flow::Break;
    }
    match (dreg, hit) {
        (None, _) => Flow::Next,
        (Some(0), Some(e)) => match &e.verdict {
            Some(v) => Flow::Verdict(v.clone()),
            None => unknown("verdict map element without a verdict"),
        },
        (Some(d), Some(e)) => match &e.data {
            Some(data) => Flow::Write(d, bytes(&data.0)),
            None => unknown("map element without data"),
        },
        (Some(_), None) => unknown("inverted map lookup"),
    }
}
