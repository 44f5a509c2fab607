//! Benchmark of the nftables evaluator: a base chain of 1,000 rules
//! (`ip saddr 10.I.J.0/24 tcp dport P accept`, the register program nft
//! generates for it) run on a packet no rule matches, so every rule is
//! evaluated (the policy decides); and on a packet whose destination port
//! is unknown, so the run forks until its leaf budget is spent. Target:
//! well under a millisecond per run (`RULES=N`, `ROUNDS=N` to change).

use std::hint::black_box;
use std::time::{Duration, Instant};

use nsmap::name::Name;
use nsmap::path::nft::{Ct, CtDir, CtState, Dev, NoEnv, Packet, PktType, run_chain};
use nsmap::snapshot::l3::{Family, NftChain, NftTable};
use nsmap::snapshot::nft::{Bytes, Expr, NftRule, Verdict};

fn cmp(data: Vec<u8>) -> Expr {
    Expr::Cmp {
        sreg: 1,
        op: "eq".into(),
        data: Bytes(data),
    }
}

fn load(base: &str, offset: u32, len: u32) -> Expr {
    Expr::Payload {
        base: base.into(),
        offset,
        len,
        dreg: 1,
    }
}

fn meta(key: &str) -> Expr {
    Expr::Meta {
        key: key.into(),
        dreg: Some(1),
        sreg: None,
    }
}

fn table(rules: usize) -> NftTable {
    let rules = (0..rules)
        .map(|i| {
            let (hi, lo) = (
                u8::try_from(i / 250).unwrap_or(0),
                u8::try_from(i % 250).unwrap_or(0),
            );
            let port = u16::try_from(1000 + i).unwrap_or(0);
            NftRule {
                handle: u64::try_from(i + 2).unwrap_or(0),
                exprs: vec![
                    meta("nfproto"),
                    cmp(vec![2]),
                    meta("l4proto"),
                    cmp(vec![6]),
                    load("network", 12, 3),
                    cmp(vec![10, hi, lo]),
                    load("transport", 2, 2),
                    cmp(port.to_be_bytes().to_vec()),
                    Expr::Counter {
                        packets: 0,
                        bytes: 0,
                    },
                    Expr::Immediate {
                        dreg: 0,
                        data: None,
                        verdict: Some(Verdict {
                            kind: "accept".into(),
                            chain: None,
                        }),
                    },
                ],
                comment: None,
            }
        })
        .collect();
    NftTable {
        family: "inet".into(),
        name: Name::from("bench"),
        handle: 1,
        flags: Vec::new(),
        chains: vec![NftChain {
            name: Name::from("forward"),
            handle: 1,
            hook: Some("forward".into()),
            kind: Some("filter".into()),
            priority: Some(0),
            policy: Some("drop".into()),
            devices: Vec::new(),
            rule_count: 0,
            rules: Some(rules),
        }],
        sets: Some(Vec::new()),
        bound_chains: Vec::new(),
        flowtables: None,
    }
}

fn packet(dport: Option<u16>) -> Packet {
    let dev = |ifindex, name| Dev {
        ifindex,
        name: Name::from(name),
        kind: Some("veth".into()),
        ll_type: 1,
    };
    Packet {
        family: Family::Inet,
        // 10.200.0.0/24 is not in any rule: every rule runs.
        src: [10, 200, 0, 1].into(),
        dst: [10, 9, 9, 9].into(),
        l4proto: 6,
        sport: None,
        dport,
        icmp_type: None,
        icmp_code: None,
        tcp_flags: Some(2),
        ttl: 64,
        iif: Some(dev(2, "veth0")),
        oif: Some(dev(3, "veth1")),
        bri_iif: None,
        bri_oif: None,
        mark: 0,
        ct: Ct {
            state: CtState::New,
            direction: CtDir::Original,
            status: None,
        },
        skuid: None,
        skgid: None,
        pkttype: PktType::Host,
        has_ll: true,
        ll: None,
        len: None,
    }
}

fn case(name: &str, rounds: usize, mut run: impl FnMut() -> String) {
    let first = run();
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            black_box(run());
            t.elapsed()
        })
        .collect();
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<44} median {:>8.3} ms  p99 {:>8.3} ms  min {:>8.3} ms  ({first})",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(0.0).as_secs_f64() * 1e3,
    );
}

fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (n, rounds) = (env("RULES", 1000), env("ROUNDS", 2000));
    let t = table(n);
    let chain = &t.chains[0];
    let known = packet(Some(80));
    case(
        &format!("run_chain, {n} rules, none matches"),
        rounds,
        || {
            format!(
                "{:?}",
                std::mem::discriminant(&run_chain(&t, chain, &known, &NoEnv).outcome)
            )
        },
    );
    let unknown = packet(None);
    let mut t2 = t.clone();
    // Every rule's saddr matches: the unknown port forks at each rule.
    for (i, r) in t2.chains[0].rules.iter_mut().flatten().enumerate() {
        r.exprs[5] = cmp(vec![10, 200, 0]);
        r.handle = u64::try_from(i + 2).unwrap_or(0);
    }
    let chain2 = &t2.chains[0];
    case(
        &format!("run_chain, {n} rules, unknown dport forks"),
        rounds / 10 + 1,
        || {
            format!(
                "{:?}",
                std::mem::discriminant(&run_chain(&t2, chain2, &unknown, &NoEnv).outcome)
            )
        },
    );
}
