//! Evaluation terminates on any ruleset: generated chains that jump, goto
//! and return between each other at random (loops included, which the
//! kernel would refuse to load), with random conditions, known and not.

use proptest::prelude::*;

use super::*;
use crate::snapshot::l3::{NftChain, NftTable};
use crate::snapshot::nft::{Bytes, Expr, NftRule, Verdict};

const CHAINS: usize = 5;

/// (condition, verdict) of one rule: condition 0 none, 1 a known mark
/// cmp, 2 an unknown length cmp, 3 a limit; verdict 0 none, 1 accept,
/// 2 drop, 3 return, 4 jump, 5 goto, 6 continue, with its target chain.
fn rule(handle: u64, cond: u8, value: u8, verdict: u8, target: usize) -> NftRule {
    let mut exprs = match cond {
        1 => vec![
            Expr::Meta {
                key: "mark".into(),
                dreg: Some(1),
                sreg: None,
            },
            Expr::Cmp {
                sreg: 1,
                op: "eq".into(),
                data: Bytes(vec![value % 2, 0, 0, 0]),
            },
        ],
        2 => vec![
            Expr::Meta {
                key: "len".into(),
                dreg: Some(1),
                sreg: None,
            },
            Expr::Cmp {
                sreg: 1,
                op: "gt".into(),
                data: Bytes(vec![value, 0, 0, 0]),
            },
        ],
        3 => vec![Expr::Limit {
            rate: 1,
            unit: 1,
            burst: 5,
            kind: "packets".into(),
            invert: false,
        }],
        _ => Vec::new(),
    };
    let kind = match verdict {
        1 => Some("accept"),
        2 => Some("drop"),
        3 => Some("return"),
        4 => Some("jump"),
        5 => Some("goto"),
        6 => Some("continue"),
        _ => None,
    };
    if let Some(kind) = kind {
        let chain =
            matches!(kind, "jump" | "goto").then(|| Name::from(format!("c{target}").as_str()));
        exprs.push(Expr::Immediate {
            dreg: 0,
            data: None,
            verdict: Some(Verdict {
                kind: kind.into(),
                chain,
            }),
        });
    }
    NftRule {
        handle,
        exprs,
        comment: None,
    }
}

fn table(spec: &[Vec<(u8, u8, u8, usize)>]) -> NftTable {
    let chains = spec
        .iter()
        .enumerate()
        .map(|(i, rules)| NftChain {
            name: Name::from(format!("c{i}").as_str()),
            handle: 0,
            hook: (i == 0).then(|| "forward".to_string()),
            kind: Some("filter".into()),
            priority: Some(0),
            policy: (i == 0).then(|| "accept".to_string()),
            devices: Vec::new(),
            rule_count: 0,
            rules: Some(
                rules
                    .iter()
                    .enumerate()
                    .map(|(h, &(c, v, d, t))| rule(u64::try_from(h).unwrap_or(0), c, v, d, t))
                    .collect(),
            ),
        })
        .collect();
    NftTable {
        family: "inet".into(),
        name: Name::from("p"),
        handle: 0,
        flags: Vec::new(),
        chains,
        sets: Some(Vec::new()),
        bound_chains: Vec::new(),
        flowtables: None,
    }
}

fn packet() -> Packet {
    Packet {
        family: crate::snapshot::l3::Family::Inet,
        src: [10, 0, 0, 1].into(),
        dst: [10, 0, 0, 2].into(),
        l4proto: 17,
        sport: None,
        dport: Some(53),
        icmp_type: None,
        icmp_code: None,
        tcp_flags: None,
        ttl: 64,
        iif: None,
        oif: None,
        bri_iif: None,
        bri_oif: None,
        mark: 1,
        ct: Ct {
            state: CtState::New,
            direction: CtDir::Original,
            status: None,
        },
        skuid: None,
        skgid: None,
        pkttype: PktType::Host,
        has_ll: false,
        ll: None,
        len: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn evaluation_terminates_on_generated_rulesets(
        spec in proptest::collection::vec(
            proptest::collection::vec((0u8..4, any::<u8>(), 0u8..7, 0usize..CHAINS), 0..8),
            CHAINS..=CHAINS,
        )
    ) {
        let t = table(&spec);
        let started = std::time::Instant::now();
        let run = run_chain(&t, &t.chains[0], &packet(), &NoEnv);
        prop_assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // A definite answer only from a path that ends: an accept or drop
        // by a rule or the policy; never a queue or nat here.
        let definite = matches!(run.outcome, Outcome::Accept { .. } | Outcome::Drop { .. } | Outcome::Unknown { .. });
        prop_assert!(definite, "{:?}", run.outcome);
        prop_assert!(run.trail.len() <= 64 * (MAX_STEPS + 1) * 9);
    }
}

#[test]
fn loops_are_unknown_not_endless() {
    // c0: goto c1; c1: goto c0 — a goto loop; bounded by MAX_STEPS.
    let t = table(&[vec![(0, 0, 5, 1)], vec![(0, 0, 5, 0)]]);
    let run = run_chain(&t, &t.chains[0], &packet(), &NoEnv);
    let Outcome::Unknown { why, .. } = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert!(why.contains("loop"), "{why}");
    // c0: jump c0 — the stack overflows at 16 levels.
    let t = table(&[vec![(0, 0, 4, 0)]]);
    let run = run_chain(&t, &t.chains[0], &packet(), &NoEnv);
    let Outcome::Unknown { why, .. } = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert!(why.contains("stack"), "{why}");
    // c0: jump c1 (returns at its end), then drop.
    let t = table(&[vec![(0, 0, 4, 1), (0, 0, 2, 0)], vec![(1, 1, 0, 0)]]);
    let run = run_chain(&t, &t.chains[0], &packet(), &NoEnv);
    assert!(
        matches!(&run.outcome, Outcome::Drop { by: Some(r), .. } if r.handle == 1),
        "{:?}",
        run.outcome
    );
}
