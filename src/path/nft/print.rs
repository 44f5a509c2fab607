//! Rules as `nft list ruleset` prints them, for the common patterns; any
//! rule with something the printer does not know is printed whole in the
//! register-level form of `nft --debug=netlink`, never mistranslated.

use super::elems::elements;
use super::fields::{L3, meta_sel, payload_field, reject};
use super::names::{self, Ty, addr_bits, bits, quoted, value};
use crate::name::terminal_safe;
use crate::snapshot::l3::NftTable;
use crate::snapshot::nft::{Expr, NftRule, NftSet};

/// What a register holds, for printing.
#[derive(Clone, Debug)]
struct Sel {
    text: String,
    ty: Ty,
    /// Bytes loaded, and the full width of the field (a shorter load of
    /// an address is a prefix).
    len: usize,
    full: usize,
    mask: Option<Vec<u8>>,
}

/// A dependency nft adds and hides again (`meta nfproto ipv4` before
/// `ip saddr`, `meta l4proto tcp` before `tcp dport`).
enum Dep {
    L3(L3, String),
    L4(u8, String),
}

/// What a register holds for a statement to use: a constant, or a data
/// map's result (`tcp dport map { 80 : 10.0.0.2 }`), printed in the
/// statement's type.
#[derive(Clone, Debug)]
enum Operand {
    Bytes(Vec<u8>),
    Map {
        key: String,
        set: String,
        fields: Vec<(Ty, usize)>,
    },
}

struct P<'a> {
    table: &'a NftTable,
    regs: Vec<Option<Sel>>,
    imm: Vec<Option<Operand>>,
    deps: Vec<Dep>,
    l3: Option<L3>,
    l4: Option<u8>,
    out: Vec<String>,
}

fn idx(reg: u32) -> Option<usize> {
    super::regs::offset(reg).map(|o| o / 4)
}

pub fn rule_text(table: &NftTable, rule: &NftRule) -> String {
    let mut s = translate(table, rule).unwrap_or_else(|| {
        rule.exprs
            .iter()
            .map(names::netlink)
            .collect::<Vec<_>>()
            .join(" ")
    });
    if let Some(c) = &rule.comment {
        s.push_str(" comment ");
        s.push_str(&quoted(&c.to_bytes()));
    }
    s
}

fn translate(table: &NftTable, rule: &NftRule) -> Option<String> {
    let l3 = match table.family.as_str() {
        "ip" => Some(L3::V4),
        "ip6" => Some(L3::V6),
        _ => None,
    };
    let mut p = P {
        table,
        regs: vec![None; 16],
        imm: vec![None; 16],
        deps: Vec::new(),
        l3,
        l4: None,
        out: Vec::new(),
    };
    let mut i = 0;
    while i < rule.exprs.len() {
        i += p.expr(&rule.exprs, i)?;
    }
    p.flush();
    Some(p.out.join(" "))
}

impl P<'_> {
    fn flush(&mut self) {
        for d in self.deps.drain(..) {
            self.out.push(match d {
                Dep::L3(_, s) | Dep::L4(_, s) => s,
            });
        }
    }

    fn put(&mut self, s: String) {
        self.flush();
        self.out.push(s);
    }

    fn set_reg(&mut self, reg: u32, sel: Option<Sel>) -> Option<()> {
        let i = idx(reg)?;
        *self.regs.get_mut(i)? = sel;
        *self.imm.get_mut(i)? = None;
        Some(())
    }

    fn sel(&self, reg: u32) -> Option<Sel> {
        self.regs.get(idx(reg)?)?.clone()
    }

    /// Uses (hides) the dependency a header load needs.
    fn need_l3(&mut self) -> Option<L3> {
        if let Some(pos) = self.deps.iter().position(|d| matches!(d, Dep::L3(..)))
            && let Dep::L3(l, _) = self.deps.remove(pos)
        {
            self.l3 = Some(l);
        }
        self.l3
    }

    fn need_l4(&mut self) -> Option<u8> {
        if let Some(pos) = self.deps.iter().position(|d| matches!(d, Dep::L4(..)))
            && let Dep::L4(l, _) = self.deps.remove(pos)
        {
            self.l4 = Some(l);
        }
        self.l4
    }

    /// Handles expression `i`; returns how many it consumed.
    fn expr(&mut self, exprs: &[Expr], i: usize) -> Option<usize> {
        match &exprs[i] {
            Expr::Meta {
                key, dreg: Some(d), ..
            } => {
                let (text, ty, len) = meta_sel(key)?;
                self.set_reg(
                    *d,
                    Some(Sel {
                        text,
                        ty,
                        len,
                        full: len,
                        mask: None,
                    }),
                )?;
            }
            Expr::Meta {
                key, sreg: Some(s), ..
            } => {
                let (text, ty, _) = meta_sel(key)?;
                let v = self.operand(*s, ty)?;
                self.put(format!("{text} set {v}"));
            }
            Expr::Ct {
                key,
                dreg: Some(d),
                direction: None,
                ..
            } => {
                let (ty, len) = match key.as_str() {
                    "state" => (Ty::CtState, 4),
                    "status" => (Ty::CtStatus, 4),
                    "direction" => (Ty::CtDir, 1),
                    "mark" => (Ty::Mark, 4),
                    _ => return None,
                };
                self.set_reg(
                    *d,
                    Some(Sel {
                        text: format!("ct {key}"),
                        ty,
                        len,
                        full: len,
                        mask: None,
                    }),
                )?;
            }
            Expr::Ct {
                key, sreg: Some(s), ..
            } if key == "mark" => {
                let v = self.operand(*s, Ty::Mark)?;
                self.put(format!("ct mark set {v}"));
            }
            Expr::Payload {
                base,
                offset,
                len,
                dreg,
            } => {
                let sel = self.payload(base, *offset, *len)?;
                self.set_reg(*dreg, Some(sel))?;
            }
            Expr::Bitwise {
                sreg,
                dreg,
                op,
                mask: Some(m),
                xor: Some(x),
                ..
            } if op == "bool" && sreg == dreg => {
                let mut sel = self.sel(*sreg)?;
                if x.0.iter().any(|&b| b != 0) || sel.mask.is_some() {
                    return None;
                }
                sel.mask = Some(m.0.clone());
                self.set_reg(*dreg, Some(sel))?;
            }
            Expr::Byteorder {
                sreg,
                dreg,
                op,
                size: 4,
                len: 4,
            } if op == "hton" && sreg == dreg => {
                let mut sel = self.sel(*sreg)?;
                if sel.ty != Ty::Decimal {
                    return None;
                }
                sel.ty = Ty::BeDecimal;
                self.set_reg(*dreg, Some(sel))?;
            }
            Expr::Fib {
                result,
                flags,
                dreg,
            } => {
                let mut words = Vec::new();
                for (bit, w) in [
                    (1, "saddr"),
                    (2, "daddr"),
                    (4, "mark"),
                    (8, "iif"),
                    (16, "oif"),
                ] {
                    if flags & bit != 0 {
                        words.push(w);
                    }
                }
                if flags & !0x3f != 0 {
                    return None;
                }
                let (ty, len) = match (result.as_str(), flags & 32 != 0) {
                    ("type", false) => (Ty::FibType, 4),
                    ("oif", true) => (Ty::FibPresent, 4),
                    _ => return None,
                };
                let text = format!("fib {} {result}", words.join(" . "));
                self.set_reg(
                    *dreg,
                    Some(Sel {
                        text,
                        ty,
                        len,
                        full: len,
                        mask: None,
                    }),
                )?;
            }
            Expr::Immediate {
                dreg,
                data: Some(d),
                ..
            } if *dreg != 0 => {
                self.set_reg(*dreg, None)?;
                *self.imm.get_mut(idx(*dreg)?)? = Some(Operand::Bytes(d.0.clone()));
            }
            Expr::Cmp { sreg, op, data } => {
                let sel = self.sel(*sreg)?;
                // nft's range: gte then lte on the same register.
                if op == "gte"
                    && let Some(Expr::Cmp {
                        sreg: s2,
                        op: op2,
                        data: d2,
                    }) = exprs.get(i + 1)
                    && s2 == sreg
                    && op2 == "lte"
                    && sel.mask.is_none()
                {
                    let text = format!(
                        "{} {}-{}",
                        sel.text,
                        value(sel.ty, &data.0)?,
                        value(sel.ty, &d2.0)?
                    );
                    self.put(text);
                    return Some(2);
                }
                self.cmp(&sel, op, &data.0)?;
            }
            Expr::Range { sreg, op, from, to } => {
                let sel = self.sel(*sreg)?;
                let neg = if op == "neq" { "!= " } else { "" };
                let text = format!(
                    "{} {neg}{}-{}",
                    sel.text,
                    value(sel.ty, &from.0)?,
                    value(sel.ty, &to.0)?
                );
                self.put(text);
            }
            Expr::Lookup {
                sreg,
                dreg,
                set,
                invert,
                ..
            } => {
                let s = super::sets::find(self.table, set.as_str(), None)?;
                if let Some(text) = self.lookup(*sreg, *dreg, s, *invert)? {
                    self.put(text);
                }
            }
            Expr::Counter { packets, bytes } => {
                self.put(format!("counter packets {packets} bytes {bytes}"))
            }
            Expr::Log {
                prefix,
                group: None,
                level: None | Some(4),
            } => self.put(match prefix {
                Some(p) => format!("log prefix {}", quoted(&p.to_bytes())),
                None => "log".into(),
            }),
            Expr::Limit {
                rate,
                unit,
                burst,
                kind,
                invert: false,
            } if kind == "packets" => {
                let unit = super::exprs::unit_word(*unit);
                let burst = if *burst == 5 {
                    String::new()
                } else {
                    format!(" burst {burst} packets")
                };
                self.put(format!("limit rate {rate}/{unit}{burst}"));
            }
            Expr::Reject { kind, code } => {
                let text = self.reject(kind, *code)?;
                self.put(text);
            }
            Expr::Nat {
                kind,
                family,
                addr_min,
                addr_max,
                proto_min,
                proto_max,
                flags,
            } => {
                if flags & !3 != 0 {
                    return None;
                }
                let (ty, fam) = match family.as_str() {
                    "ip" => (Ty::Ipv4, "ip "),
                    "ip6" => (Ty::Ipv6, "ip6 "),
                    _ => return None,
                };
                let fam = if self.table.family == "inet" { fam } else { "" };
                let addr = match (addr_min, addr_max) {
                    (Some(a), b) => {
                        let lo = self.operand(*a, ty)?;
                        let hi = match b {
                            Some(b) if b != a => {
                                format!("-{}", self.operand(*b, ty)?)
                            }
                            _ => String::new(),
                        };
                        let lo = if ty == Ty::Ipv6 && proto_min.is_some() {
                            format!("[{lo}]")
                        } else {
                            lo
                        };
                        format!("{lo}{hi}")
                    }
                    (None, _) => String::new(),
                };
                let ports = self.ports(*proto_min, *proto_max)?;
                self.put(format!("{kind} {fam}to {addr}{ports}"));
            }
            Expr::Masq {
                flags: 0,
                proto_min,
                proto_max,
            } => {
                let ports = self.ports(*proto_min, *proto_max)?;
                self.put(if ports.is_empty() {
                    "masquerade".into()
                } else {
                    format!("masquerade to {ports}")
                });
            }
            Expr::Redir {
                flags,
                proto_min,
                proto_max,
            } if flags & !2 == 0 => {
                let ports = self.ports(*proto_min, *proto_max)?;
                self.put(if ports.is_empty() {
                    "redirect".into()
                } else {
                    format!("redirect to {ports}")
                });
            }
            Expr::Immediate {
                dreg: 0,
                verdict: Some(v),
                ..
            } => self.put(names::verdict(v)),
            Expr::Match { name, .. } if name == "comment" => {}
            _ => return None,
        }
        Some(1)
    }

    fn ports(&self, min: Option<u32>, max: Option<u32>) -> Option<String> {
        let Some(min) = min else {
            return Some(String::new());
        };
        let lo = self.operand(min, Ty::Port)?;
        let hi = match max {
            Some(m) if m != min => {
                let hi = self.operand(m, Ty::Port)?;
                if hi == lo {
                    String::new()
                } else {
                    format!("-{hi}")
                }
            }
            _ => String::new(),
        };
        Some(format!(":{lo}{hi}"))
    }

    fn reject(&self, kind: &str, code: u8) -> Option<String> {
        reject(kind, code, self.l3, &self.table.family)
    }

    fn payload(&mut self, base: &str, offset: u32, len: u32) -> Option<Sel> {
        let l3 = if base == "network" {
            self.need_l3()
        } else {
            self.l3
        };
        let l4 = if base == "transport" {
            self.need_l4()
        } else {
            self.l4
        };
        // icmp implies ipv4, icmpv6 ipv6: their nfproto is hidden too.
        if base == "transport" && matches!(l4, Some(1 | 58)) {
            self.need_l3();
        }
        let (text, ty, full) = payload_field(&self.table.family, l3, l4, base, offset, len)?;
        let len = usize::try_from(len).ok()?;
        Some(Sel {
            text: text.into(),
            ty,
            len,
            full,
            mask: None,
        })
    }

    fn cmp(&mut self, sel: &Sel, op: &str, data: &[u8]) -> Option<()> {
        let opw = match op {
            "eq" => "",
            "neq" => "!= ",
            "lt" => "< ",
            "gt" => "> ",
            "lte" => "<= ",
            "gte" => ">= ",
            _ => return None,
        };
        // Dependencies are held back until something uses or follows them.
        if op == "eq" && sel.mask.is_none() {
            match (sel.text.as_str(), data.first()) {
                ("meta nfproto", Some(2)) => {
                    return self.dep(Dep::L3(L3::V4, "meta nfproto ipv4".into()));
                }
                ("meta nfproto", Some(10)) => {
                    return self.dep(Dep::L3(L3::V6, "meta nfproto ipv6".into()));
                }
                ("meta l4proto", Some(&p)) => {
                    let text = format!("meta l4proto {}", value(Ty::L4proto, data)?);
                    return self.dep(Dep::L4(p, text));
                }
                _ => {}
            }
        }
        if let Some(bits_ty) =
            matches!(sel.ty, Ty::CtState | Ty::CtStatus | Ty::TcpFlags).then_some(sel.ty)
        {
            // ( reg & M ) != 0: any of M's bits.
            let m = sel.mask.as_ref()?;
            if op != "neq" || data.iter().any(|&b| b != 0) {
                return None;
            }
            let mut w = [0u8; 4];
            for (i, b) in m.iter().take(4).enumerate() {
                w[i] = *b;
            }
            let text = format!("{} {}", sel.text, bits(bits_ty, u32::from_le_bytes(w))?);
            self.put(text);
            return Some(());
        }
        if sel.ty == Ty::FibPresent {
            let word = match (op, data.iter().all(|&b| b == 0)) {
                ("eq", true) => "missing",
                ("neq", true) => "exists",
                _ => return None,
            };
            self.put(format!("{} {word}", sel.text));
            return Some(());
        }
        let v = self.value_of(sel, data)?;
        self.put(format!("{} {opw}{v}", sel.text));
        Some(())
    }

    fn dep(&mut self, d: Dep) -> Option<()> {
        self.deps.push(d);
        Some(())
    }

    /// A value, with the prefix a short load or a mask makes.
    fn value_of(&self, sel: &Sel, data: &[u8]) -> Option<String> {
        let Some(bits) = addr_bits(sel.ty) else {
            if sel.mask.is_some() || sel.len != sel.full && sel.ty != Ty::Ifname {
                return None;
            }
            return value(sel.ty, data);
        };
        let mut prefix = u32::try_from(sel.len.min(data.len()) * 8).ok()?;
        if let Some(m) = &sel.mask {
            let ones: u32 = m.iter().map(|b| b.count_ones()).sum();
            let contiguous = m
                .iter()
                .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1))
                .skip_while(|&x| x == 1)
                .all(|x| x == 0);
            if !contiguous {
                return None;
            }
            prefix = prefix.min(ones);
        }
        let v = value(sel.ty, &data[..sel.len.min(data.len())])?;
        Some(if prefix == bits {
            v
        } else {
            format!("{v}/{prefix}")
        })
    }

    fn lookup(
        &mut self,
        sreg: u32,
        dreg: Option<u32>,
        set: &NftSet,
        invert: bool,
    ) -> Option<Option<String>> {
        // The selectors that build the key, register after register.
        let mut sels = Vec::new();
        let mut at = idx(sreg)?;
        let mut covered = 0;
        while covered < usize::try_from(set.key_len).ok()? {
            let s = self.regs.get(at)?.clone()?;
            if s.mask.is_some() || s.len != s.full {
                return None;
            }
            let words = s.len.div_ceil(4);
            covered += words * 4;
            at += words;
            sels.push(s);
        }
        if sels.is_empty() || (sels.len() == 1 && covered != sels[0].len.div_ceil(4) * 4) {
            return None;
        }
        let key = sels
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" . ");
        let neg = if invert { "!= " } else { "" };
        let anonymous =
            set.flags.iter().any(|f| f == "anonymous") || set.name.as_str().starts_with("__");
        let fields: Vec<(Ty, usize)> = sels.iter().map(|s| (s.ty, s.len)).collect();
        if let Some(d) = dreg.filter(|&d| d != 0) {
            if invert {
                return None;
            }
            let op = Operand::Map {
                key,
                set: set.name.as_str().to_string(),
                fields,
            };
            self.set_reg(d, None)?;
            *self.imm.get_mut(idx(d)?)? = Some(op);
            return Some(None);
        }
        if !anonymous {
            if dreg == Some(0) {
                return Some(Some(format!(
                    "{key} vmap @{}",
                    terminal_safe(set.name.as_str())
                )));
            }
            return Some(Some(format!(
                "{key} {neg}@{}",
                terminal_safe(set.name.as_str())
            )));
        }
        let elems = elements(set.elements.as_deref()?, &fields, None)?;
        let body = elems.join(", ");
        Some(Some(match dreg {
            None => format!("{key} {neg}{{ {body} }}"),
            Some(0) if !invert => format!("{key} vmap {{ {body} }}"),
            _ => return None,
        }))
    }

    /// A register a statement uses, in the statement's type.
    fn operand(&self, reg: u32, ty: Ty) -> Option<String> {
        match self.imm.get(idx(reg)?)?.as_ref()? {
            Operand::Bytes(b) => value(ty, b),
            Operand::Map { key, set, fields } => {
                let set = super::sets::find(self.table, set, None)?;
                let anonymous = set.flags.iter().any(|f| f == "anonymous")
                    || set.name.as_str().starts_with("__");
                if !anonymous {
                    return Some(format!("{key} map @{}", terminal_safe(set.name.as_str())));
                }
                let elems = elements(set.elements.as_deref()?, fields, Some(ty))?;
                Some(format!("{key} map {{ {} }}", elems.join(", ")))
            }
        }
    }
}
