//! The evaluator on data maps, masked prefixes, interval sets and
//! notrack (recorded rulesets, like `tests.rs`).

use super::testing::load;
use super::tests::{check, run, short, table, tcp, udp};
use super::*;

#[test]
fn data_maps_write_their_data_into_the_register() {
    // dnat to tcp dport map { 80 : 10.0.0.2, 443 : 10.0.0.3 }: the lookup
    // writes the element's data into reg 1, which the nat reads.
    check(
        "map",
        "nat",
        "pre",
        &tcp("10.9.0.1", "192.0.2.9", 443),
        "Dnat pre/3 Some(10.0.0.3) None",
    );
    // No element for port 81: the lookup breaks. The source port is
    // unknown, so the lookup in { 22 : 1 } forks: on a match the mark is
    // set to 1 and the last rule drops, without one the policy accepts.
    let r = run("map", "nat", "pre", &tcp("10.9.0.1", "192.0.2.9", 81));
    assert_eq!(short(&r.outcome), "unknown pre/5", "{:?}", r.outcome);
    // Source port 22: the mark becomes 1 and the last rule drops.
    let p = Packet {
        sport: Some(22),
        ..tcp("10.9.0.1", "192.0.2.9", 81)
    };
    let r = run("map", "nat", "pre", &p);
    assert_eq!(short(&r.outcome), "drop pre/6");
    assert_eq!(r.changes.mark, Some(Some(1)));
    let p = Packet {
        sport: Some(23),
        ..p
    };
    check("map", "nat", "pre", &p, "accept policy");
}

#[test]
fn notrack_makes_a_packet_without_an_entry_untracked() {
    use crate::snapshot::nft::{Bytes, Expr, NftRule, Verdict};
    let f = load("ct");
    let mut t = table(&f, "t").clone();
    // notrack; ct state untracked accept — on a packet conntrack has not
    // seen (no entry: the invalid bit) the second rule accepts; with an
    // entry, notrack does nothing and the policy drops.
    let accept = Verdict {
        kind: "accept".into(),
        chain: None,
    };
    t.chains[0].rules = Some(vec![
        NftRule {
            handle: 1,
            exprs: vec![Expr::Other {
                name: "notrack".into(),
                attrs: Vec::new(),
            }],
            comment: None,
        },
        NftRule {
            handle: 2,
            exprs: vec![
                Expr::Ct {
                    key: "state".into(),
                    dreg: Some(1),
                    sreg: None,
                    direction: None,
                },
                Expr::Cmp {
                    sreg: 1,
                    op: "eq".into(),
                    data: Bytes(64u32.to_ne_bytes().to_vec()),
                },
                Expr::Immediate {
                    dreg: 0,
                    data: None,
                    verdict: Some(accept),
                },
            ],
            comment: None,
        },
    ]);
    let mut p = tcp("10.0.0.1", "10.0.0.2", 80);
    p.ct.state = CtState::Invalid;
    let r = run_chain(&t, &t.chains[0], &p, &NoEnv);
    assert_eq!(short(&r.outcome), "accept fw/2");
    assert!(r.changes.notrack);
    p.ct.state = CtState::New;
    assert_eq!(
        short(&run_chain(&t, &t.chains[0], &p, &NoEnv).outcome),
        "drop policy"
    );
}

#[test]
fn masked_prefixes_and_interval_sets_of_ports() {
    // ip saddr 10.0.16.0/20: a 3-byte load, & 0xfffff0, == 10.0.16.
    check(
        "prefix",
        "t",
        "fw",
        &udp("10.0.31.255", "10.1.9.9", 5),
        "drop fw/2",
    );
    // 10.0.32.1 is outside; ip daddr 10.1.0.0/16 in the anonymous
    // interval set drops (rule 8), after the tcp rules break on udp.
    check(
        "prefix",
        "t",
        "fw",
        &udp("10.0.32.1", "10.1.9.9", 5),
        "drop fw/8",
    );
    // fd00:0:0:1f::1 is in fd00:0:0:10::/60 (a 7-byte load, & 0xf0).
    check(
        "prefix",
        "t",
        "fw",
        &udp("fd00:0:0:1f::1", "fd01::1", 5),
        "drop fw/3",
    );
    // Outside it a new flow is accepted by ct state new (rule 9) before
    // ip6 nexthdr udp drop (rule 10); an established one reaches rule 10.
    check(
        "prefix",
        "t",
        "fw",
        &udp("fd00:0:0:20::1", "fd01::1", 5),
        "accept fw/9",
    );
    let est = Ct {
        state: CtState::Established,
        direction: CtDir::Original,
        status: None,
    };
    let p = Packet {
        ct: est,
        ..udp("fd00:0:0:20::1", "fd01::1", 5)
    };
    check("prefix", "t", "fw", &p, "drop fw/10");
    // tcp dport != 22 and ip daddr != 10.0.0.0/8: drop; port 22 goes on to
    // the port set { 1000-2000, 3000 } (no), ct state new accepts.
    check(
        "prefix",
        "t",
        "fw",
        &tcp("10.7.0.1", "192.0.2.1", 80),
        "drop fw/4",
    );
    check(
        "prefix",
        "t",
        "fw",
        &tcp("10.7.0.1", "192.0.2.1", 22),
        "accept fw/9",
    );
    let est = Ct {
        state: CtState::Established,
        direction: CtDir::Original,
        status: None,
    };
    // Established, to 10.9.0.1 port 2000 (the range's last port): accept by
    // the set; port 2001 misses it and the ct rule, and reaches the policy.
    let p = Packet {
        ct: est,
        ..tcp("10.7.0.1", "10.9.0.1", 2000)
    };
    check("prefix", "t", "fw", &p, "accept fw/6");
    let p = Packet {
        ct: est,
        ..tcp("10.7.0.1", "10.9.0.1", 2001)
    };
    check("prefix", "t", "fw", &p, "accept policy");
    // 10.3.0.0-10.3.0.7 is one interval: .7 in, .8 out.
    let p = Packet {
        ct: est,
        ..tcp("10.7.0.1", "10.3.0.7", 2001)
    };
    check("prefix", "t", "fw", &p, "drop fw/8");
    let p = Packet {
        ct: est,
        ..tcp("10.7.0.1", "10.3.0.8", 2001)
    };
    check("prefix", "t", "fw", &p, "accept policy");
}

#[test]
fn a_set_the_snapshot_does_not_fully_describe_is_unknown() {
    // Without the field lengths of ip saddr . tcp dport, a whole-key
    // memcmp would put 10.0.0.5 . 80 inside 10.0.0.0 . 22 – 10.0.0.255 . 22.
    let f = load("concat");
    let mut t = table(&f, "t").clone();
    for s in t.sets.iter_mut().flatten() {
        s.field_len.clear();
    }
    let c = t.chains[0].clone();
    let r = run_chain(&t, &c, &tcp("10.0.0.5", "1.1.1.1", 80), &NoEnv);
    assert_eq!(short(&r.outcome), "unknown fw/3", "{:?}", r.outcome);
    for s in t.sets.iter_mut().flatten() {
        s.key_len = 0;
    }
    let r = run_chain(&t, &c, &tcp("10.0.0.5", "1.1.1.1", 80), &NoEnv);
    assert_eq!(short(&r.outcome), "unknown fw/3", "{:?}", r.outcome);
}
