//! The chain walk of `nft_do_chain` over a register file whose bytes may
//! be unknown; an unknown condition forks the walk (see the module docs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::exprs::{Alt, Flow, eval_expr};
use super::headers::{self, Headers};
use super::regs::Regs;
use super::{Changes, Env, NatKind, Outcome, Packet, RuleRef, Run, Step, rule_text};
use crate::snapshot::l3::{NftChain, NftTable};
use crate::snapshot::nft::{NftRule, Verdict};

/// Paths a run may fork into before it gives up as unknown.
pub const MAX_LEAVES: usize = 64;
/// Chains a path may enter (jumps and gotos): the kernel rejects loops at
/// load time, generated input may hold them.
pub const MAX_STEPS: usize = 4096;
/// NFT_JUMP_STACK_SIZE.
const STACK: usize = 16;

pub(super) struct Ctx<'a> {
    pub table: &'a NftTable,
    pub pkt: &'a Packet,
    pub env: &'a dyn Env,
    pub hdr: Headers,
    leaves: usize,
}

/// Where one path of the run is, and what it carries.
#[derive(Clone)]
pub(super) struct State<'a> {
    pub regs: Regs,
    chain: &'a NftChain,
    rule: usize,
    expr: usize,
    stack: Vec<(&'a NftChain, usize)>,
    trail: Vec<Step>,
    pub changes: Changes,
    /// The packet's mark and its conntrack's, as the run changed them
    /// (None: unknown).
    pub mark: Option<u32>,
    pub ct_mark: Option<u32>,
    entered: usize,
}

/// A verdict of the register-0 kind, before the walk acts on it.
#[derive(Clone, Debug)]
pub(super) enum Leaf {
    Accept,
    Drop {
        reject: bool,
    },
    Nat {
        kind: NatKind,
        addr: Option<IpAddr>,
        port: Option<(u16, u16)>,
    },
    Queue,
    Unknown(String),
}

struct Done {
    outcome: Outcome,
    trail: Vec<Step>,
    changes: Changes,
    certain: bool,
}

enum Res {
    Done(Done),
    Split {
        by: Option<RuleRef>,
        why: String,
        outcomes: Vec<Outcome>,
        first: Done,
    },
}

/// Runs base chain `chain` of `table` on `pkt`.
pub fn run_chain(table: &NftTable, chain: &NftChain, pkt: &Packet, env: &dyn Env) -> Run {
    let mut ctx = Ctx {
        table,
        pkt,
        env,
        hdr: headers::build(pkt),
        leaves: 1,
    };
    let st = State {
        regs: Regs::new(),
        chain,
        rule: 0,
        expr: 0,
        stack: Vec::new(),
        trail: vec![Step::Chain {
            chain: chain.name.clone(),
        }],
        changes: Changes::default(),
        mark: Some(pkt.mark),
        ct_mark: None,
        entered: 1,
    };
    match go(&mut ctx, st) {
        Res::Done(d) => Run {
            outcome: d.outcome,
            trail: d.trail,
            changes: d.changes,
            changes_certain: d.certain,
        },
        Res::Split {
            by,
            why,
            outcomes,
            first,
        } => Run {
            outcome: Outcome::Unknown { by, why, outcomes },
            trail: first.trail,
            changes: first.changes,
            changes_certain: false,
        },
    }
}

fn rule_ref(ctx: &Ctx, chain: &NftChain, rule: &NftRule) -> RuleRef {
    rule_ref_in(ctx.table, chain, rule)
}

fn rule_ref_in(table: &NftTable, chain: &NftChain, rule: &NftRule) -> RuleRef {
    RuleRef {
        family: table.family.clone(),
        table: table.name.clone(),
        chain: chain.name.clone(),
        handle: rule.handle,
        text: rule_text(table, rule),
    }
}

fn finish(st: State, outcome: Outcome) -> Res {
    Res::Done(Done {
        outcome,
        trail: st.trail,
        changes: st.changes,
        certain: true,
    })
}

fn leaf_outcome(leaf: Leaf, by: Option<RuleRef>) -> Outcome {
    match (leaf, by) {
        (Leaf::Accept, by) => Outcome::Accept { by },
        (Leaf::Drop { reject }, by) => Outcome::Drop { by, reject },
        (Leaf::Nat { kind, addr, port }, Some(by)) => Outcome::Nat {
            by,
            kind,
            addr,
            port,
        },
        (Leaf::Queue, Some(by)) => Outcome::Queue { by },
        (Leaf::Unknown(why), by) => Outcome::Unknown {
            by,
            why,
            outcomes: Vec::new(),
        },
        (_, None) => Outcome::Unknown {
            by: None,
            why: "verdict without a rule".into(),
            outcomes: Vec::new(),
        },
    }
}

/// Runs one path to its end.
fn go<'a>(ctx: &mut Ctx<'a>, mut st: State<'a>) -> Res {
    loop {
        let Some(rules) = st.chain.rules.as_ref() else {
            let why = format!("the rules of chain {} were not read", st.chain.name);
            return finish(st, leaf_outcome(Leaf::Unknown(why), None));
        };
        let Some(rule) = rules.get(st.rule) else {
            // End of the chain: back to the caller, or the policy.
            match st.stack.pop() {
                Some((chain, rule)) => {
                    st.chain = chain;
                    st.rule = rule;
                    st.expr = 0;
                    continue;
                }
                None => return policy(st),
            }
        };
        let Some(expr) = rule.exprs.get(st.expr) else {
            st.trail.push(Step::Rule {
                chain: st.chain.name.clone(),
                handle: rule.handle,
            });
            st.rule += 1;
            st.expr = 0;
            continue;
        };
        match eval_expr(ctx, &mut st, expr) {
            Flow::Next => st.expr += 1,
            Flow::Write(reg, bytes) => {
                if !st.regs.store(reg, &bytes) {
                    let why = "map data to a register out of range".to_string();
                    let by = rule_ref(ctx, st.chain, rule);
                    return finish(st, leaf_outcome(Leaf::Unknown(why), Some(by)));
                }
                st.expr += 1;
            }
            Flow::Break => {
                st.rule += 1;
                st.expr = 0;
            }
            Flow::Verdict(v) => {
                st.trail.push(Step::Rule {
                    chain: st.chain.name.clone(),
                    handle: rule.handle,
                });
                if let Some(res) = verdict(ctx, &mut st, &v, rule) {
                    return res;
                }
            }
            Flow::Leaf(leaf) => {
                st.trail.push(Step::Rule {
                    chain: st.chain.name.clone(),
                    handle: rule.handle,
                });
                let by = rule_ref(ctx, st.chain, rule);
                return finish(st, leaf_outcome(leaf, Some(by)));
            }
            Flow::Fork(why, alts) => return fork(ctx, st, rule, why, alts),
        }
    }
}

fn policy(st: State) -> Res {
    let outcome = match (st.chain.hook.as_ref(), st.chain.policy.as_deref()) {
        (Some(_), Some("accept")) => Outcome::Accept { by: None },
        (Some(_), Some("drop")) => Outcome::Drop {
            by: None,
            reject: false,
        },
        (Some(_), p) => leaf_outcome(
            Leaf::Unknown(format!("base chain {} has policy {p:?}", st.chain.name)),
            None,
        ),
        (None, _) => leaf_outcome(
            Leaf::Unknown(format!(
                "end of regular chain {}: the caller decides",
                st.chain.name
            )),
            None,
        ),
    };
    finish(st, outcome)
}

/// Acts on a verdict; None when the walk goes on.
fn verdict<'a>(ctx: &mut Ctx<'a>, st: &mut State<'a>, v: &Verdict, rule: &NftRule) -> Option<Res> {
    let leaf = |ctx: &Ctx, st: &State<'a>, leaf: Leaf| {
        let by = rule_ref(ctx, st.chain, rule);
        Some(finish(st.clone(), leaf_outcome(leaf, Some(by))))
    };
    match v.kind.as_str() {
        "accept" => leaf(ctx, st, Leaf::Accept),
        "drop" => leaf(ctx, st, Leaf::Drop { reject: false }),
        "queue" => leaf(ctx, st, Leaf::Queue),
        "continue" | "break" => {
            st.rule += 1;
            st.expr = 0;
            None
        }
        "return" => {
            match st.stack.pop() {
                Some((chain, next)) => {
                    st.chain = chain;
                    st.rule = next;
                    st.expr = 0;
                    None
                }
                // A return in the base chain: its policy.
                None => Some(policy(st.clone())),
            }
        }
        "jump" | "goto" => {
            let target = v.chain.as_ref().and_then(|name| {
                ctx.table
                    .chains
                    .iter()
                    .chain(ctx.table.bound_chains.iter())
                    .find(|c| c.name == *name)
            });
            let Some(target) = target else {
                return leaf(
                    ctx,
                    st,
                    Leaf::Unknown(format!("{} to a chain not in the table", v.kind)),
                );
            };
            st.entered += 1;
            if st.entered > MAX_STEPS {
                return leaf(
                    ctx,
                    st,
                    Leaf::Unknown(format!("more than {MAX_STEPS} chains entered: a loop")),
                );
            }
            if v.kind == "jump" {
                if st.stack.len() >= STACK {
                    return leaf(
                        ctx,
                        st,
                        Leaf::Unknown("jump stack overflow (16 levels)".into()),
                    );
                }
                st.stack.push((st.chain, st.rule + 1));
            }
            st.trail.push(Step::Chain {
                chain: target.name.clone(),
            });
            st.chain = target;
            st.rule = 0;
            st.expr = 0;
            None
        }
        other => leaf(ctx, st, Leaf::Unknown(format!("verdict {other}"))),
    }
}

fn fork<'a>(ctx: &mut Ctx<'a>, st: State<'a>, rule: &NftRule, why: String, alts: Vec<Alt>) -> Res {
    // The rule's printed form only where an answer names it.
    let (table, chain) = (ctx.table, st.chain);
    let by = || rule_ref_in(table, chain, rule);
    let why = format!(
        "rule {} of {} {}/{}: {why}",
        rule.handle, ctx.table.family, ctx.table.name, st.chain.name
    );
    if ctx.leaves + alts.len() > MAX_LEAVES + 1 {
        let why = format!("{why}; more than {MAX_LEAVES} paths");
        return finish(st, leaf_outcome(Leaf::Unknown(why), Some(by())));
    }
    ctx.leaves += alts.len().saturating_sub(1);
    let mut acc: Option<Res> = None;
    for alt in alts {
        let mut branch = st.clone();
        if let Some((reg, bytes)) = &alt.write {
            branch.regs.store(*reg, bytes);
        }
        let res = match alt.flow {
            Flow::Next => {
                branch.expr += 1;
                go(ctx, branch)
            }
            Flow::Break => {
                branch.rule += 1;
                branch.expr = 0;
                go(ctx, branch)
            }
            Flow::Verdict(v) => {
                branch.trail.push(Step::Rule {
                    chain: branch.chain.name.clone(),
                    handle: rule.handle,
                });
                match verdict(ctx, &mut branch, &v, rule) {
                    Some(res) => res,
                    None => go(ctx, branch),
                }
            }
            Flow::Leaf(leaf) => finish(branch, leaf_outcome(leaf, Some(by()))),
            Flow::Write(reg, bytes) => {
                branch.regs.store(reg, &bytes);
                branch.expr += 1;
                go(ctx, branch)
            }
            Flow::Fork(..) => finish(branch, leaf_outcome(Leaf::Unknown(why.clone()), Some(by()))),
        };
        acc = Some(match acc {
            None => res,
            Some(prev) => combine(prev, res, &by, &why),
        });
    }
    acc.unwrap_or_else(|| finish(st, leaf_outcome(Leaf::Unknown(why), Some(by()))))
}

/// Whether two outcomes are the same decision (the deciding rule may
/// differ: a `limit` on a rule that accepts anyway changes nothing).
fn same(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Outcome::Accept { .. }, Outcome::Accept { .. })
        | (Outcome::Queue { .. }, Outcome::Queue { .. }) => true,
        (Outcome::Drop { reject: r1, .. }, Outcome::Drop { reject: r2, .. }) => r1 == r2,
        (
            Outcome::Nat {
                kind: k1,
                addr: a1,
                port: p1,
                ..
            },
            Outcome::Nat {
                kind: k2,
                addr: a2,
                port: p2,
                ..
            },
        ) => k1 == k2 && a1 == a2 && p1 == p2,
        (
            Outcome::Unknown {
                by: b1, why: w1, ..
            },
            Outcome::Unknown {
                by: b2, why: w2, ..
            },
        ) => b1 == b2 && w1 == w2,
        _ => false,
    }
}

fn outcomes(r: &Res) -> Vec<Outcome> {
    match r {
        Res::Done(d) => vec![d.outcome.clone()],
        Res::Split { outcomes, .. } => outcomes.clone(),
    }
}

fn subset(a: &[Outcome], b: &[Outcome]) -> bool {
    a.iter().all(|x| b.iter().any(|y| same(x, y)))
}

fn union(mut a: Vec<Outcome>, b: Vec<Outcome>) -> Vec<Outcome> {
    for o in b {
        if !a.iter().any(|x| same(x, &o)) {
            a.push(o);
        }
    }
    a
}

/// Joins the results of two branches of a fork at rule `by`: the same
/// possible outcomes on both sides keep the first side's answer (and its
/// own split, if any); different ones make this fork the one that split.
fn combine(a: Res, b: Res, by: &dyn Fn() -> RuleRef, why: &str) -> Res {
    let (oa, ob) = (outcomes(&a), outcomes(&b));
    let equal = subset(&oa, &ob) && subset(&ob, &oa);
    match (a, b) {
        (Res::Done(mut x), Res::Done(y)) if equal => {
            x.certain = x.certain && y.certain && x.changes == y.changes;
            Res::Done(x)
        }
        (split @ Res::Split { .. }, _) if equal => split,
        (a, _) => {
            let first = match a {
                Res::Done(d) => d,
                Res::Split { first, .. } => first,
            };
            Res::Split {
                by: Some(by()),
                why: why.to_string(),
                outcomes: union(oa, ob),
                first,
            }
        }
    }
}

/// The address in register bytes of a nat expression, when known.
pub(super) fn nat_addr(bytes: &[Option<u8>], v6: bool) -> Option<IpAddr> {
    let b = super::regs::known(bytes)?;
    if v6 {
        let arr: [u8; 16] = b.get(..16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(arr)))
    } else {
        let arr: [u8; 4] = b.get(..4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(arr)))
    }
}
