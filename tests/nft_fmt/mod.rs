//! A printer of nsmap's register-level [`Expr`] and [`NftElem`] in the
//! format of `nft --debug=netlink` (libnftnl's `nftnl_expr_*_snprintf`),
//! so that tests can compare nsmap's reading with the kernel's own tools
//! line for line.

use nsmap::snapshot::nft::{Bytes, Expr, NftElem, Verdict};

/// Bytes as libnftnl prints register data: 32-bit words in host order,
/// the last one zero-padded.
fn words(b: &Bytes, prefix: &str) -> String {
    b.0.chunks(4)
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            format!("{prefix}{:08x}", u32::from_ne_bytes(w))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn verdict(v: &Verdict) -> String {
    match &v.chain {
        Some(c) => format!("{} -> {}", v.kind, c.as_str()),
        None => v.kind.clone(),
    }
}

/// libnftnl's ct key names (nsmap keeps nft's high-level ones).
fn ct_key(key: &str) -> &str {
    match key {
        "saddr" => "src",
        "daddr" => "dst",
        "proto-src" => "proto_src",
        "proto-dst" => "proto_dst",
        "ip saddr" => "src_ip",
        "ip daddr" => "dst_ip",
        "ip6 saddr" => "src_ip6",
        "ip6 daddr" => "dst_ip6",
        other => other,
    }
}

fn regs(pairs: &[(&str, Option<u32>)]) -> String {
    pairs
        .iter()
        .filter_map(|(n, r)| r.map(|r| format!("{n} reg {r} ")))
        .collect()
}

/// One expression as `nft --debug=netlink` prints it (libnftnl's
/// `nftnl_expr_*_snprintf`), between `[ ` and ` ]`.
pub fn libnftnl(e: &Expr) -> String {
    let s = match e {
        Expr::Immediate {
            dreg,
            data,
            verdict: v,
        } => match (v, data) {
            (Some(v), _) => format!("immediate reg {dreg} {}", verdict(v)),
            (None, Some(d)) => format!("immediate reg {dreg} {}", words(d, "0x")),
            (None, None) => format!("immediate reg {dreg}"),
        },
        Expr::Cmp { sreg, op, data } => format!("cmp {op} reg {sreg} {}", words(data, "0x")),
        Expr::Payload {
            base,
            offset,
            len,
            dreg,
        } => format!(
            "payload load {len}b @ {} header + {offset} => reg {dreg}",
            if base == "ll" { "link" } else { base }
        ),
        Expr::Meta { key, dreg, sreg } => match (dreg, sreg) {
            (Some(d), _) => format!("meta load {key} => reg {d}"),
            (_, Some(s)) => format!("meta set {key} with reg {s}"),
            _ => "meta ?".into(),
        },
        Expr::Bitwise {
            sreg,
            dreg,
            op,
            mask,
            xor,
            ..
        } if op == "bool" => format!(
            "bitwise reg {dreg} = ( reg {sreg} & {} ) ^ {}",
            mask.as_ref().map(|m| words(m, "0x")).unwrap_or_default(),
            xor.as_ref().map(|m| words(m, "0x")).unwrap_or_default()
        ),
        Expr::Bitwise {
            sreg,
            dreg,
            op,
            data: Some(d),
            ..
        } if op == "lshift" || op == "rshift" => format!(
            "bitwise reg {dreg} = ( reg {sreg} {} {} )",
            if op == "lshift" { "<<" } else { ">>" },
            words(d, "0x")
        ),
        Expr::Byteorder {
            sreg,
            dreg,
            op,
            len,
            size,
        } => format!("byteorder reg {dreg} = {op}(reg {sreg}, {size}, {len})"),
        Expr::Match { name, rev, .. } => format!("match name {name} rev {rev}"),
        Expr::Target { name, rev, .. } => format!("target name {name} rev {rev}"),
        Expr::Range { sreg, op, from, to } => format!(
            "range {op} reg {sreg} {} {}",
            words(from, "0x"),
            words(to, "0x")
        ),
        Expr::Lookup {
            sreg,
            dreg,
            set,
            invert,
            ..
        } => format!(
            "lookup reg {sreg} set {} {}0x{:x}",
            set.as_str(),
            dreg.map(|d| format!("dreg {d} ")).unwrap_or_default(),
            u32::from(*invert)
        ),
        Expr::Ct {
            key,
            dreg,
            sreg,
            direction,
        } => {
            let mut s = match (dreg, sreg) {
                (Some(d), _) => format!("ct load {} => reg {d}", ct_key(key)),
                (_, Some(r)) => format!("ct set {} with reg {r}", ct_key(key)),
                _ => "ct ?".into(),
            };
            if let Some(d) = direction {
                s += if *d == 0 {
                    " , dir original"
                } else {
                    " , dir reply"
                };
            }
            s
        }
        Expr::Counter { packets, bytes } => format!("counter pkts {packets} bytes {bytes}"),
        Expr::Log { prefix, level, .. } => format!(
            "log {}{}",
            prefix
                .as_ref()
                .map(|p| format!("prefix {} ", p.as_str()))
                .unwrap_or_default(),
            level.map(|l| format!("level {l}")).unwrap_or_default()
        ),
        Expr::Limit {
            rate,
            unit,
            burst,
            kind,
            invert,
        } => format!(
            "limit rate {rate}/{} burst {burst} type {} flags 0x{:x}",
            match unit {
                1 => "second",
                60 => "minute",
                3600 => "hour",
                86400 => "day",
                _ => "week",
            },
            if kind == "pkts" { "packets" } else { "bytes" },
            u32::from(*invert)
        ),
        Expr::Quota {
            bytes,
            consumed,
            invert,
        } => format!(
            "quota bytes {bytes} consumed {consumed} flags {}",
            u32::from(*invert)
        ),
        Expr::Reject { kind, code } => format!(
            "reject type {} code {code}",
            match kind.as_str() {
                "icmp_unreach" => 0,
                "tcp_rst" => 1,
                _ => 2,
            }
        ),
        Expr::Nat {
            kind,
            family,
            addr_min,
            addr_max,
            proto_min,
            proto_max,
            flags,
        } => format!(
            "nat {kind} {family} {}flags 0x{flags:x}",
            regs(&[
                ("addr_min", *addr_min),
                ("addr_max", *addr_max),
                ("proto_min", *proto_min),
                ("proto_max", *proto_max)
            ])
        ),
        Expr::Masq {
            flags,
            proto_min,
            proto_max,
        } => format!(
            "masq {}{}",
            if *flags != 0 {
                format!("flags 0x{flags:x} ")
            } else {
                String::new()
            },
            regs(&[("proto_min", *proto_min), ("proto_max", *proto_max)])
        ),
        Expr::Redir {
            flags,
            proto_min,
            proto_max,
        } => format!(
            "redir {}{}",
            regs(&[("proto_min", *proto_min), ("proto_max", *proto_max)]),
            if *flags != 0 {
                format!("flags 0x{flags:x}")
            } else {
                String::new()
            }
        ),
        Expr::Fib {
            result,
            flags,
            dreg,
        } => {
            let names = [
                (1, "saddr"),
                (2, "daddr"),
                (4, "mark"),
                (8, "iif"),
                (16, "oif"),
            ];
            let on: Vec<&str> = names
                .iter()
                .filter(|(b, _)| flags & b != 0)
                .map(|(_, n)| *n)
                .collect();
            format!(
                "fib {} {result}{} => reg {dreg}",
                on.join(" . "),
                if flags & 32 != 0 { " present" } else { "" }
            )
        }
        other => format!("{other:?}"),
    };
    format!("[ {s} ]")
}

/// One set element as `nft --debug=netlink` lists it.
pub fn element(e: &NftElem) -> String {
    let mut s = format!("element {} ", words(&e.key, ""));
    if let Some(end) = &e.key_end {
        s += &format!(" - {} ", words(end, ""));
    }
    s += " : ";
    if let Some(v) = &e.verdict {
        s += &format!("{} ", verdict(v));
    } else if let Some(d) = &e.data {
        s += &format!("{} ", words(d, ""));
    }
    s += &format!("{} [end]", u32::from(e.interval_end));
    s
}

pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
