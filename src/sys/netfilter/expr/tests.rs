//! The decoder against recorded rules ([`super::super::captures_rules`]):
//! each expected value is what `nft --debug=netlink` printed for that rule
//! (quoted in the capture's doc), field by field.

use super::*;
use crate::sys::netfilter::captures::{reply, unhex};
use crate::sys::netfilter::captures_rules::*;
use crate::sys::netfilter::socket::NFT_MSG_NEWRULE;

fn decoded(hex: &str) -> NftRule {
    let payload = unhex(hex);
    let r = rule::parse(&reply(NFT_MSG_NEWRULE, &payload)).expect("a rule");
    super::rule(&r)
}

fn b(bytes: &[u8]) -> Bytes {
    Bytes(bytes.to_vec())
}

fn payload(base: &str, offset: u32, len: u32) -> Expr {
    Expr::Payload {
        base: base.into(),
        offset,
        len,
        dreg: 1,
    }
}

fn meta_load(key: &str) -> Expr {
    Expr::Meta {
        key: key.into(),
        dreg: Some(1),
        sreg: None,
    }
}

fn meta_set(key: &str) -> Expr {
    Expr::Meta {
        key: key.into(),
        dreg: None,
        sreg: Some(1),
    }
}

fn cmp(op: &str, data: &[u8]) -> Expr {
    Expr::Cmp {
        sreg: 1,
        op: op.into(),
        data: b(data),
    }
}

fn verdict(kind: &str) -> Expr {
    Expr::Immediate {
        dreg: 0,
        data: None,
        verdict: Some(Verdict {
            kind: kind.into(),
            chain: None,
        }),
    }
}

fn immediate(dreg: u32, data: &[u8]) -> Expr {
    Expr::Immediate {
        dreg,
        data: Some(b(data)),
        verdict: None,
    }
}

#[test]
fn a_verdict_map_lookup_writes_the_verdict_register() {
    let r = decoded(RULE_VMAP);
    assert_eq!((r.handle, r.comment.clone()), (9, None));
    assert_eq!(
        r.exprs,
        [
            payload("network", 12, 4),
            Expr::Lookup {
                sreg: 1,
                dreg: Some(0),
                set: Name::from("__map0"),
                set_id: None,
                invert: false,
            }
        ]
    );
}

#[test]
fn ct_state_is_a_masked_compare() {
    assert_eq!(
        decoded(RULE_CT_STATE).exprs,
        [
            Expr::Ct {
                key: "state".into(),
                dreg: Some(1),
                sreg: None,
                direction: None
            },
            Expr::Bitwise {
                sreg: 1,
                dreg: 1,
                len: 4,
                op: "bool".into(),
                mask: Some(b(&6u32.to_ne_bytes())),
                xor: Some(b(&[0; 4])),
                data: None,
                sreg2: None,
            },
            cmp("neq", &[0; 4]),
            verdict("accept"),
        ]
    );
}

#[test]
fn a_wildcard_name_compares_its_prefix_and_the_comment_is_read() {
    let r = decoded(RULE_IIFNAME_COMMENT);
    assert_eq!(r.comment, Some(Name::from("hello")));
    assert_eq!(
        r.exprs,
        [meta_load("iifname"), cmp("eq", b"eth"), verdict("accept")]
    );
}

#[test]
fn a_negated_port_range_and_a_counter() {
    assert_eq!(
        decoded(RULE_RANGE_COUNTER).exprs,
        [
            meta_load("l4proto"),
            cmp("eq", &[6]),
            payload("transport", 2, 2),
            Expr::Range {
                sreg: 1,
                op: "neq".into(),
                from: b(&1000u16.to_be_bytes()),
                to: b(&2000u16.to_be_bytes()),
            },
            Expr::Counter {
                packets: 0,
                bytes: 0
            },
            verdict("drop"),
        ]
    );
}

#[test]
fn byteorder_log_and_limit() {
    assert_eq!(
        decoded(RULE_CPU_LOG_LIMIT).exprs,
        [
            meta_load("cpu"),
            Expr::Byteorder {
                sreg: 1,
                dreg: 1,
                op: "hton".into(),
                len: 4,
                size: 4,
            },
            cmp("gte", &1u32.to_be_bytes()),
            cmp("lte", &2u32.to_be_bytes()),
            Expr::Log {
                prefix: Some(Name::from("x")),
                group: None,
                level: Some(4),
            },
            Expr::Limit {
                rate: 10,
                unit: 1,
                burst: 5,
                kind: "pkts".into(),
                invert: false,
            },
        ]
    );
}

#[test]
fn quota_and_reject() {
    assert_eq!(
        decoded(RULE_QUOTA_REJECT).exprs,
        [
            Expr::Quota {
                bytes: 1000,
                consumed: 0,
                invert: false
            },
            Expr::Reject {
                kind: "icmp_unreach".into(),
                code: 1
            },
        ]
    );
}

#[test]
fn fib_immediate_data_and_meta_set() {
    assert_eq!(
        decoded(RULE_FIB_META_SET).exprs,
        [
            Expr::Fib {
                result: "type".into(),
                flags: 2,
                dreg: 1
            },
            cmp("eq", &2u32.to_ne_bytes()),
            immediate(1, &0x10u32.to_ne_bytes()),
            meta_set("mark"),
        ]
    );
}

#[test]
fn an_inverted_lookup_and_ct_set() {
    assert_eq!(
        decoded(RULE_LOOKUP_INV_CT_SET).exprs,
        [
            payload("network", 12, 4),
            Expr::Lookup {
                sreg: 1,
                dreg: None,
                set: Name::from("s2"),
                set_id: None,
                invert: true,
            },
            immediate(1, &5u32.to_ne_bytes()),
            Expr::Ct {
                key: "mark".into(),
                dreg: None,
                sreg: Some(1),
                direction: None
            },
        ]
    );
}

#[test]
fn a_shift_carries_its_amount() {
    let exprs = decoded(RULE_LSHIFT).exprs;
    assert_eq!(exprs[0], meta_load("mark"));
    let Expr::Bitwise { op, data, .. } = &exprs[1] else {
        panic!("bitwise: {:?}", exprs[1]);
    };
    assert_eq!(
        (op.as_str(), data),
        ("lshift", &Some(b(&1u32.to_ne_bytes())))
    );
    assert_eq!(exprs[2], meta_set("mark"));
}

#[test]
fn an_unknown_expression_keeps_its_attributes() {
    let exprs = decoded(RULE_NUMGEN).exprs;
    let Expr::Other { name, attrs } = &exprs[0] else {
        panic!("numgen: {:?}", exprs[0]);
    };
    assert_eq!(name, "numgen");
    // NFTA_NG_DREG 1, NFTA_NG_MODULUS 2, NFTA_NG_TYPE 3 (NFT_NG_INCREMENTAL 0).
    assert!(attrs.contains(&(1, b(&1u32.to_be_bytes()))), "{attrs:?}");
    assert!(attrs.contains(&(2, b(&2u32.to_be_bytes()))), "{attrs:?}");
    assert_eq!(exprs[1], meta_set("mark"));
}

#[test]
fn nat_redirect_and_masquerade_name_their_registers() {
    let dnat = decoded(RULE_DNAT).exprs;
    assert_eq!(dnat[4], immediate(1, &[10, 0, 0, 2]));
    assert_eq!(dnat[5], immediate(2, &80u16.to_be_bytes()));
    assert_eq!(
        dnat[6],
        Expr::Nat {
            kind: "dnat".into(),
            family: "ip".into(),
            addr_min: Some(1),
            addr_max: Some(1),
            proto_min: Some(2),
            proto_max: Some(2),
            flags: 3,
        }
    );
    assert_eq!(
        decoded(RULE_REDIR).exprs[5],
        Expr::Redir {
            flags: 2,
            proto_min: Some(1),
            proto_max: Some(1)
        }
    );
    assert_eq!(
        decoded(RULE_MASQ).exprs,
        [Expr::Masq {
            flags: 0,
            proto_min: None,
            proto_max: None
        }]
    );
    assert_eq!(
        decoded(RULE_SNAT).exprs[1],
        Expr::Nat {
            kind: "snat".into(),
            family: "ip".into(),
            addr_min: Some(1),
            addr_max: Some(1),
            proto_min: None,
            proto_max: None,
            flags: 1,
        }
    );
}

#[test]
fn compat_match_and_target_keep_their_info() {
    let exprs = decoded(RULE_COMPAT).exprs;
    let names: Vec<(String, u32)> = exprs
        .iter()
        .filter_map(|e| match e {
            Expr::Match { name, rev, info } | Expr::Target { name, rev, info } => {
                assert!(!info.0.is_empty(), "{name}'s info blob");
                Some((name.clone(), *rev))
            }
            _ => None,
        })
        .collect();
    assert_eq!(names, [("recent".into(), 1), ("TCPMSS".into(), 0)]);
}

#[test]
fn cut_rules_never_panic_and_keep_what_they_have() {
    for hex in [
        RULE_VMAP,
        RULE_CT_STATE,
        RULE_IIFNAME_COMMENT,
        RULE_RANGE_COUNTER,
        RULE_CPU_LOG_LIMIT,
        RULE_QUOTA_REJECT,
        RULE_FIB_META_SET,
        RULE_LOOKUP_INV_CT_SET,
        RULE_LSHIFT,
        RULE_NUMGEN,
        RULE_DNAT,
        RULE_REDIR,
        RULE_MASQ,
        RULE_SNAT,
        RULE_COMPAT,
    ] {
        let payload = unhex(hex);
        for cut in 4..payload.len() {
            if let Some(r) = rule::parse(&reply(NFT_MSG_NEWRULE, &payload[..cut])) {
                let _ = super::rule(&r);
            }
        }
        // Every byte flipped in turn: garbage values, never a panic.
        for i in 4..payload.len() {
            let mut bad = payload.clone();
            bad[i] ^= 0xff;
            if let Some(r) = rule::parse(&reply(NFT_MSG_NEWRULE, &bad)) {
                let _ = super::rule(&r);
            }
        }
    }
}

#[test]
fn comments_are_found_among_other_tlvs_and_cut_ones_are_none() {
    assert_eq!(comment(b"\x00\x06hello\x00"), Some(Name::from("hello")));
    assert_eq!(comment(b"\x05\x01x\x00\x03ab\x00"), Some(Name::from("ab")));
    assert_eq!(comment(b"\x00\x09hello"), None);
    assert_eq!(comment(b"\x00"), None);
    assert_eq!(comment(b""), None);
}

#[test]
fn expressions_without_their_attributes_are_other() {
    let e = decode(rule::Expr {
        name: b"cmp",
        data: &[],
    });
    assert_eq!(
        e,
        Expr::Other {
            name: "cmp".into(),
            attrs: vec![]
        }
    );
    assert_eq!(keys::meta_key(6), "iifname");
    assert_eq!(keys::meta_key(200), "key 200");
    assert_eq!(keys::ct_key(12), "proto-dst");
    assert_eq!(keys::ct_key(99), "key 99");
}
