//! Test-only: reads what `nft --debug=netlink list ruleset` prints (each
//! rule's `[ … ]` lines, each set's element lines) together with what
//! `nft list ruleset` prints (chain types, hooks, policies, set flags and
//! the rules as text) into the snapshot's types, so the evaluator and the
//! printer run on register programs recorded from the kernel.

use crate::name::Name;
use crate::snapshot::l3::{NftChain, NftTable};
use crate::snapshot::nft::{Bytes, Expr, NftElem, NftRule, NftSet, Verdict};

/// A recorded ruleset: the tables, and per (table, chain) the rule texts
/// `nft list ruleset` printed, in order.
pub struct Fixture {
    pub tables: Vec<NftTable>,
    pub texts: Vec<(String, String, Vec<String>)>,
}

pub fn load(name: &str) -> Fixture {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nft/");
    let read = |ext: &str| std::fs::read_to_string(format!("{dir}{name}.{ext}")).expect("fixture");
    parse(&read("netlink"), &read("nft"))
}

fn words(tokens: &[&str]) -> Vec<u8> {
    tokens
        .iter()
        .filter_map(|t| u32::from_str_radix(t.trim_start_matches("0x"), 16).ok())
        .flat_map(u32::to_le_bytes)
        .collect()
}

fn table_mut<'a>(tables: &'a mut Vec<NftTable>, family: &str, name: &str) -> &'a mut NftTable {
    let i = match tables
        .iter()
        .position(|t| t.family == family && t.name.as_str() == name)
    {
        Some(i) => i,
        None => {
            tables.push(NftTable {
                family: family.into(),
                name: Name::from(name),
                handle: 0,
                flags: Vec::new(),
                chains: Vec::new(),
                sets: Some(Vec::new()),
                bound_chains: Vec::new(),
                flowtables: None,
            });
            tables.len() - 1
        }
    };
    &mut tables[i]
}

fn chain_mut<'a>(t: &'a mut NftTable, name: &str) -> &'a mut NftChain {
    let i = match t.chains.iter().position(|c| c.name.as_str() == name) {
        Some(i) => i,
        None => {
            t.chains.push(NftChain {
                name: Name::from(name),
                handle: 0,
                hook: None,
                kind: None,
                priority: None,
                policy: None,
                devices: Vec::new(),
                rule_count: 0,
                rules: Some(Vec::new()),
            });
            t.chains.len() - 1
        }
    };
    &mut t.chains[i]
}

pub fn parse(netlink: &str, nft: &str) -> Fixture {
    let mut tables = Vec::new();
    let mut cur_set: Option<(String, String, String)> = None;
    let mut cur_rule: Option<(String, String, String)> = None;
    for line in netlink.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(rest) = t.strip_prefix("element ") {
            let Some((fam, tab, set)) = &cur_set else {
                continue;
            };
            let elem = parse_elem(rest);
            let table = table_mut(&mut tables, fam, tab);
            if let Some(s) = table
                .sets
                .as_mut()
                .and_then(|s| s.iter_mut().find(|s| s.name.as_str() == set))
            {
                s.key_len = s.key_len.max(u32::try_from(elem.key.0.len()).unwrap_or(0));
                s.elements.get_or_insert_with(Vec::new).push(elem);
            }
            continue;
        }
        if let Some(body) = t.strip_prefix("[ ").and_then(|b| b.strip_suffix(" ]")) {
            let Some((fam, tab, chain)) = &cur_rule else {
                continue;
            };
            let expr = parse_expr(body);
            let table = table_mut(&mut tables, fam, tab);
            if let Some(r) = chain_mut(table, chain)
                .rules
                .as_mut()
                .and_then(|r| r.last_mut())
            {
                r.exprs.push(expr);
            }
            continue;
        }
        if let Some(u) = t
            .strip_prefix("userdata = { ")
            .and_then(|u| u.strip_suffix(" }"))
        {
            let Some((fam, tab, chain)) = &cur_rule else {
                continue;
            };
            let bytes = unescape(u);
            // NFTNL_UDATA_RULE_COMMENT (type 0): TLV, NUL-terminated.
            if bytes.first() == Some(&0) && bytes.len() > 2 {
                let len = usize::from(bytes[1]);
                let text = bytes.get(2..2 + len).unwrap_or(&[]);
                let text = text.strip_suffix(&[0]).unwrap_or(text);
                let table = table_mut(&mut tables, fam, tab);
                if let Some(r) = chain_mut(table, chain)
                    .rules
                    .as_mut()
                    .and_then(|r| r.last_mut())
                {
                    r.comment = Some(Name::from_bytes(text));
                }
            }
            continue;
        }
        let f: Vec<&str> = t.split_whitespace().collect();
        if f.len() == 3 && f[2].starts_with('@') {
            let name = &f[2][1..];
            let table = table_mut(&mut tables, f[0], f[1]);
            let mut flags = Vec::new();
            if name.starts_with("__") {
                flags.push("anonymous".to_string());
            }
            table.sets.get_or_insert_with(Vec::new).push(NftSet {
                name: Name::from(name),
                handle: 0,
                id: None,
                flags,
                key_type: 0,
                key_len: 0,
                data_type: None,
                data_len: None,
                field_len: Vec::new(),
                elements: Some(Vec::new()),
            });
            cur_set = Some((f[0].into(), f[1].into(), name.into()));
            cur_rule = None;
        } else if f.len() >= 4 {
            let table = table_mut(&mut tables, f[0], f[1]);
            let chain = chain_mut(table, f[2]);
            chain.rules.get_or_insert_with(Vec::new).push(NftRule {
                handle: f[3].parse().unwrap_or(0),
                exprs: Vec::new(),
                comment: None,
            });
            chain.rule_count += 1;
            cur_rule = Some((f[0].into(), f[1].into(), f[2].into()));
            cur_set = None;
        }
    }
    let texts = apply_listing(&mut tables, nft);
    for t in &mut tables {
        infer_sets(t);
    }
    Fixture { tables, texts }
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(v) = std::str::from_utf8(&b[i + 2..(i + 4).min(b.len())])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn parse_verdict(f: &[&str]) -> Option<Verdict> {
    let kind = (*f.first()?).to_string();
    let chain = (f.get(1) == Some(&"->"))
        .then(|| f.get(2).map(|c| Name::from(*c)))
        .flatten();
    Some(Verdict { kind, chain })
}

fn parse_elem(rest: &str) -> NftElem {
    let (keys, tail) = rest.split_once(" : ").unwrap_or((rest, ""));
    let (key, key_end) = match keys.split_once(" - ") {
        Some((a, b)) => (a, Some(b)),
        None => (keys, None),
    };
    let ktoks: Vec<&str> = key.split_whitespace().collect();
    let tail: Vec<&str> = tail.split_whitespace().filter(|t| *t != "[end]").collect();
    let flags: u32 = tail.last().and_then(|f| f.parse().ok()).unwrap_or(0);
    let body = &tail[..tail.len().saturating_sub(1)];
    let (verdict, data) = match body.first() {
        None => (None, None),
        Some(w)
            if u32::from_str_radix(w.trim_start_matches("0x"), 16).is_ok()
                && !matches!(*w, "accept" | "drop") =>
        {
            (None, Some(Bytes(words(body))))
        }
        Some(_) => (parse_verdict(body), None),
    };
    NftElem {
        key: Bytes(words(&ktoks)),
        key_end: key_end.map(|k| Bytes(words(&k.split_whitespace().collect::<Vec<_>>()))),
        data,
        verdict,
        interval_end: flags & 1 != 0,
    }
}

fn reg_after(f: &[&str], word: &str) -> Option<u32> {
    let i = f.iter().position(|t| *t == word)?;
    if f.get(i + 1) == Some(&"reg") {
        f.get(i + 2)?.parse().ok()
    } else {
        None
    }
}

fn num(f: &[&str], i: usize) -> u32 {
    f.get(i)
        .and_then(|t| t.trim_end_matches(['b', ',']).parse().ok())
        .unwrap_or(0)
}

fn parse_expr(body: &str) -> Expr {
    let f: Vec<&str> = body.split_whitespace().collect();
    let other = || Expr::Other {
        name: f.first().copied().unwrap_or("").into(),
        attrs: Vec::new(),
    };
    match f.first().copied() {
        Some("immediate") => {
            let dreg = num(&f, 2);
            if dreg == 0 {
                Expr::Immediate {
                    dreg,
                    data: None,
                    verdict: parse_verdict(&f[3..]),
                }
            } else {
                Expr::Immediate {
                    dreg,
                    data: Some(Bytes(words(&f[3..]))),
                    verdict: None,
                }
            }
        }
        Some("cmp") => Expr::Cmp {
            sreg: num(&f, 3),
            op: f[1].into(),
            data: Bytes(words(&f[4..])),
        },
        Some("range") => {
            let w = &f[4..];
            let half = w.len() / 2;
            Expr::Range {
                sreg: num(&f, 3),
                op: f[1].into(),
                from: Bytes(words(&w[..half])),
                to: Bytes(words(&w[half..])),
            }
        }
        Some("payload") if f.get(1) == Some(&"load") => Expr::Payload {
            base: f[4].into(),
            offset: num(&f, 7),
            len: num(&f, 2),
            dreg: num(&f, 10),
        },
        Some("meta") if f.get(1) == Some(&"load") => Expr::Meta {
            key: f[2].into(),
            dreg: Some(num(&f, 5)),
            sreg: None,
        },
        Some("meta") if f.get(1) == Some(&"set") => Expr::Meta {
            key: f[2].into(),
            dreg: None,
            sreg: Some(num(&f, 5)),
        },
        Some("ct") if f.get(1) == Some(&"load") => {
            let direction = f
                .iter()
                .position(|t| *t == "dir")
                .and_then(|i| match f.get(i + 1) {
                    Some(&"original") => Some(0),
                    Some(&"reply") => Some(1),
                    _ => None,
                });
            Expr::Ct {
                key: f[2].into(),
                dreg: Some(num(&f, 5)),
                sreg: None,
                direction,
            }
        }
        Some("ct") if f.get(1) == Some(&"set") => Expr::Ct {
            key: f[2].into(),
            dreg: None,
            sreg: Some(num(&f, 5)),
            direction: None,
        },
        Some("bitwise") => {
            // bitwise reg D = ( reg S & MASK… ) ^ XOR…
            let amp = f.iter().position(|t| *t == "&").unwrap_or(0);
            let close = f.iter().position(|t| *t == ")").unwrap_or(0);
            let mask = words(&f[amp + 1..close]);
            let xor = words(&f[close + 2..]);
            let len = u32::try_from(mask.len()).unwrap_or(0);
            Expr::Bitwise {
                sreg: num(&f, 6),
                dreg: num(&f, 2),
                len,
                op: "bool".into(),
                mask: Some(Bytes(mask)),
                xor: Some(Bytes(xor)),
                data: None,
                sreg2: None,
            }
        }
        Some("byteorder") => {
            // byteorder reg D = hton(reg S, SIZE, LEN)
            let op = if body.contains("hton") {
                "hton"
            } else {
                "ntoh"
            };
            let inner = body
                .split_once('(')
                .map(|x| x.1)
                .unwrap_or("")
                .trim_end_matches(')');
            let p: Vec<&str> = inner.split(',').map(str::trim).collect();
            let sreg = p
                .first()
                .and_then(|r| r.trim_start_matches("reg ").parse().ok())
                .unwrap_or(0);
            let size = p.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            let len = p
                .get(2)
                .and_then(|s| s.trim_end_matches(')').trim().parse().ok())
                .unwrap_or(0);
            Expr::Byteorder {
                sreg,
                dreg: num(&f, 2),
                op: op.into(),
                len,
                size,
            }
        }
        Some("lookup") => {
            let flags = f
                .last()
                .and_then(|t| u32::from_str_radix(t.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            Expr::Lookup {
                sreg: num(&f, 2),
                dreg: f.iter().position(|t| *t == "dreg").map(|i| num(&f, i + 1)),
                set: Name::from(f[4]),
                set_id: None,
                invert: flags & 1 != 0,
            }
        }
        Some("counter") => Expr::Counter {
            packets: num(&f, 2).into(),
            bytes: num(&f, 4).into(),
        },
        Some("log") => {
            let prefix = body
                .split_once("prefix ")
                .map(|(_, p)| p.rsplit_once(" level").map_or(p, |x| x.0))
                .map(Name::from);
            Expr::Log {
                prefix,
                group: None,
                level: None,
            }
        }
        Some("limit") => {
            let (rate, unit) = f[2].split_once('/').unwrap_or(("0", "second"));
            let unit = match unit {
                "minute" => 60,
                "hour" => 3600,
                "day" => 86400,
                "week" => 604800,
                _ => 1,
            };
            Expr::Limit {
                rate: rate.parse().unwrap_or(0),
                unit,
                burst: num(&f, 4),
                kind: f
                    .get(6)
                    .copied()
                    .unwrap_or("packets")
                    .trim_end_matches('s')
                    .to_string()
                    + "s",
                invert: f.last().is_some_and(|x| *x == "0x1"),
            }
        }
        Some("reject") => Expr::Reject {
            kind: match num(&f, 2) {
                0 => "icmp_unreach",
                1 => "tcp_rst",
                _ => "icmpx_unreach",
            }
            .into(),
            code: u8::try_from(num(&f, 4)).unwrap_or(0),
        },
        Some("nat") => Expr::Nat {
            kind: f[1].into(),
            family: f[2].into(),
            addr_min: reg_after(&f, "addr_min"),
            addr_max: reg_after(&f, "addr_max"),
            proto_min: reg_after(&f, "proto_min"),
            proto_max: reg_after(&f, "proto_max"),
            flags: flags_of(&f),
        },
        Some("masq") => Expr::Masq {
            flags: flags_of(&f),
            proto_min: reg_after(&f, "proto_min"),
            proto_max: reg_after(&f, "proto_max"),
        },
        Some("redir") => Expr::Redir {
            flags: flags_of(&f),
            proto_min: reg_after(&f, "proto_min"),
            proto_max: reg_after(&f, "proto_max"),
        },
        Some("fib") => {
            // fib FLAG[ . FLAG…] RESULT[ present] => reg N
            let arrow = f.iter().position(|t| *t == "=>").unwrap_or(f.len());
            let mut toks: Vec<&str> = f[1..arrow].iter().copied().filter(|t| *t != ".").collect();
            let mut flags = 0;
            if toks.last() == Some(&"present") {
                flags |= 32;
                toks.pop();
            }
            let result = toks.pop().unwrap_or("").to_string();
            for w in toks {
                flags |= match w {
                    "saddr" => 1,
                    "daddr" => 2,
                    "mark" => 4,
                    "iif" => 8,
                    "oif" => 16,
                    _ => 0,
                };
            }
            Expr::Fib {
                result,
                flags,
                dreg: num(&f, arrow + 2),
            }
        }
        _ => other(),
    }
}

fn flags_of(f: &[&str]) -> u32 {
    f.iter()
        .position(|t| *t == "flags")
        .and_then(|i| f.get(i + 1))
        .and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0)
}

/// Base chain properties and rule texts from `nft list ruleset`.
fn apply_listing(tables: &mut Vec<NftTable>, nft: &str) -> Vec<(String, String, Vec<String>)> {
    let mut texts: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut table: Option<(String, String)> = None;
    let mut chain: Option<String> = None;
    let mut set: Option<String> = None;
    for line in nft.lines() {
        let t = line.trim();
        let f: Vec<&str> = t.split_whitespace().collect();
        if f.first() == Some(&"table") && f.len() >= 3 {
            table = Some((f[1].into(), f[2].into()));
        } else if f.first() == Some(&"chain") && f.len() >= 2 {
            chain = Some(f[1].into());
            if let Some((fam, tab)) = &table {
                let tb = table_mut(tables, fam, tab);
                chain_mut(tb, f[1]);
                texts.push((tab.clone(), f[1].into(), Vec::new()));
            }
        } else if f.first() == Some(&"set") || f.first() == Some(&"map") {
            set = f.get(1).map(|s| s.to_string());
        } else if t == "}" {
            if set.take().is_none() && chain.take().is_none() {
                table = None;
            }
        } else if let (Some(s), Some((fam, tab))) = (&set, &table) {
            if let Some(flags) = t.strip_prefix("flags ") {
                let tb = table_mut(tables, fam, tab);
                if let Some(st) = tb
                    .sets
                    .as_mut()
                    .and_then(|v| v.iter_mut().find(|x| x.name.as_str() == s))
                {
                    st.flags.extend(flags.split(", ").map(str::to_string));
                }
            }
        } else if let (Some(c), Some((fam, tab))) = (&chain, &table) {
            if f.first() == Some(&"type") {
                let tb = table_mut(tables, fam, tab);
                let ch = chain_mut(tb, c);
                ch.kind = f.get(1).map(|s| s.to_string());
                ch.hook = f.get(3).map(|s| s.to_string());
                ch.priority = f.get(5).map(|p| match p.trim_end_matches(';') {
                    "filter" => 0,
                    "dstnat" => -100,
                    "srcnat" => 100,
                    n => n.parse().unwrap_or(0),
                });
                ch.policy = t
                    .split_once("policy ")
                    .map(|(_, p)| p.trim_end_matches(';').to_string());
            } else if !t.is_empty()
                && let Some(last) = texts.last_mut()
            {
                last.2.push(t.to_string());
            }
        }
    }
    texts
}

/// What the listing does not say of a set: its flags from its elements,
/// and the field lengths of a concatenation from the loads that build the
/// key in the rules that use it.
fn infer_sets(t: &mut NftTable) {
    let mut fields: Vec<(String, Vec<u32>)> = Vec::new();
    for c in &t.chains {
        for r in c.rules.iter().flatten() {
            let mut lens = [0u32; 16];
            for e in &r.exprs {
                let (reg, len) = match e {
                    Expr::Payload { dreg, len, .. } => (*dreg, *len),
                    Expr::Meta {
                        dreg: Some(d), key, ..
                    } => (*d, meta_len(key)),
                    Expr::Ct {
                        dreg: Some(d), key, ..
                    } => (*d, if key == "direction" { 1 } else { 4 }),
                    Expr::Lookup { sreg, set, .. } => {
                        let mut idx = reg32(*sreg);
                        let mut fl = Vec::new();
                        while let Some(&l) = lens.get(idx) {
                            if l == 0 {
                                break;
                            }
                            fl.push(l);
                            idx += usize::try_from(l.div_ceil(4)).unwrap_or(1);
                        }
                        fields.push((set.as_str().to_string(), fl));
                        continue;
                    }
                    _ => continue,
                };
                let idx = reg32(reg);
                if let Some(slot) = lens.get_mut(idx) {
                    *slot = len;
                }
            }
        }
    }
    for s in t.sets.iter_mut().flatten() {
        let elems = s.elements.as_deref().unwrap_or(&[]);
        let interval = elems.iter().any(|e| e.interval_end || e.key_end.is_some());
        if interval && !s.flags.iter().any(|f| f == "interval") {
            s.flags.push("interval".into());
        }
        if elems
            .iter()
            .any(|e| e.verdict.is_some() || e.data.is_some())
        {
            s.flags.push("map".into());
            if elems.iter().any(|e| e.verdict.is_some()) {
                s.data_type = Some(0xffff_ff00);
            }
        }
        if let Some((_, fl)) = fields.iter().find(|(n, _)| n == s.name.as_str()) {
            let padded: u32 = fl.iter().map(|l| l.div_ceil(4) * 4).sum();
            if fl.len() > 1 && padded == s.key_len {
                s.field_len = fl.clone();
                s.flags.push("concat".into());
            }
        }
    }
}

fn reg32(reg: u32) -> usize {
    let idx = match reg {
        1..=4 => reg * 4,
        8..=23 => reg - 4,
        _ => 0,
    };
    usize::try_from(idx).unwrap_or(0)
}

fn meta_len(key: &str) -> u32 {
    match key {
        "iifname" | "oifname" | "iifkind" | "oifkind" | "bri_iifname" | "bri_oifname" => 16,
        "nfproto" | "l4proto" | "pkttype" => 1,
        "protocol" | "iiftype" | "oiftype" => 2,
        _ => 4,
    }
}
