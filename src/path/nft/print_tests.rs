//! The printer against `nft list ruleset` on the recorded rulesets, and
//! its fallbacks.

use super::testing::load;
use super::tests::{run, table, tcp};
use super::*;

#[test]
fn printer_matches_nft_list_ruleset() {
    let mut failures = Vec::new();
    let mut count = 0;
    for name in [
        "basic", "jumps", "sets", "vmap", "concat", "ct", "nat", "reject", "fib", "meta", "bridge",
        "icmp6", "map", "prefix",
    ] {
        let f = load(name);
        for (table_name, chain, texts) in &f.texts {
            let t = table(&f, table_name);
            let c = t
                .chains
                .iter()
                .find(|c| c.name.as_str() == chain)
                .expect("chain");
            let rules = c.rules.as_deref().unwrap_or(&[]);
            assert_eq!(rules.len(), texts.len(), "{name} {chain}");
            for (r, want) in rules.iter().zip(texts) {
                count += 1;
                let got = rule_text(t, r);
                if &got != want {
                    failures.push(format!(
                        "{name}/{chain}: got  {got}\n{:width$}want {want}",
                        "",
                        width = name.len() + chain.len() + 3
                    ));
                }
            }
        }
    }
    assert_eq!(count, 74, "every recorded rule compared");
    assert!(
        failures.is_empty(),
        "{} of {count} rules differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn outcomes_carry_the_printed_rule() {
    let r = run("jumps", "t", "fw", &tcp("10.87.3.5", "10.1.1.1", 80));
    let Outcome::Drop {
        by: Some(by),
        reject: false,
    } = &r.outcome
    else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(
        (by.family.as_str(), by.table.as_str(), by.chain.as_str()),
        ("inet", "t", "deny")
    );
    assert_eq!(by.text, r#"log prefix "deny: " drop"#);
}

#[test]
fn unknown_patterns_print_at_register_level_and_names_are_escaped() {
    let f = load("basic");
    let t = table(&f, "t");
    let rule = crate::snapshot::nft::NftRule {
        handle: 1,
        exprs: vec![
            crate::snapshot::nft::Expr::Other {
                name: "exthdr".into(),
                attrs: Vec::new(),
            },
            crate::snapshot::nft::Expr::Immediate {
                dreg: 0,
                data: None,
                verdict: Some(crate::snapshot::nft::Verdict {
                    kind: "drop".into(),
                    chain: None,
                }),
            },
        ],
        comment: Some(Name::from_bytes(b"evil\x1b[2J\"")),
    };
    assert_eq!(
        rule_text(t, &rule),
        r#"[ exthdr ] [ immediate reg 0 drop ] comment "evil\x1b[2J\"""#
    );
    // An interface name with an escape sequence stays inert.
    let mut r = t.chains[0].rules.as_ref().expect("rules")[0].clone();
    if let crate::snapshot::nft::Expr::Cmp { data, .. } = &mut r.exprs[1] {
        data.0 = b"e\x1b]0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
    }
    assert_eq!(rule_text(t, &r), r#"iifname "e\x1b]0" accept"#);
    // A masked address that is not a prefix has no nft syntax here: the
    // whole rule at register level, not a wrong prefix.
    let mut r = t.chains[0].rules.as_ref().expect("rules")[4].clone();
    r.exprs.insert(
        3,
        crate::snapshot::nft::Expr::Bitwise {
            sreg: 1,
            dreg: 1,
            len: 3,
            op: "bool".into(),
            mask: Some(crate::snapshot::nft::Bytes(vec![0xff, 0x0f, 0xff])),
            xor: Some(crate::snapshot::nft::Bytes(vec![0, 0, 0])),
            data: None,
            sreg2: None,
        },
    );
    assert!(
        rule_text(t, &r).starts_with("[ meta load nfproto => reg 1 ]"),
        "{}",
        rule_text(t, &r)
    );
}
