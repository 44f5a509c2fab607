//! NFT_MSG_NEWRULE replies. [`Rule`] keeps the message borrowed: where
//! it goes (family, table, chain), and its expressions ([`expressions`],
//! decoded by [`super::expr`]) and user data. Attribute numbers: enum
//! nft_rule_attributes, nft_list_attributes, nft_expr_attributes.

use super::attr::{attrs, be64, bytes};
use super::socket::Reply;

const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_HANDLE: u16 = 3;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_RULE_POSITION: u16 = 6;
const NFTA_RULE_USERDATA: u16 = 7;

const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;

/// One rule as the dump sent it, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule<'a> {
    /// `nfgen_family` of the message (the table's family).
    pub family: u8,
    pub table: &'a [u8],
    pub chain: &'a [u8],
    pub handle: u64,
    /// `NFTA_RULE_POSITION`: the handle of the rule before it, if any.
    pub position: Option<u64>,
    /// The `NFTA_RULE_EXPRESSIONS` list, unparsed (see [`expressions`]).
    pub expressions: &'a [u8],
    /// `NFTA_RULE_USERDATA`: libnftnl's TLVs (the comment), unparsed.
    pub userdata: &'a [u8],
}

/// One expression of a rule: its type name (`meta`, `cmp`, `immediate`,
/// `lookup`, …) and its type-specific attributes (`NFTA_EXPR_DATA`,
/// numbered by that type's own enum, e.g. nft_meta_attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expr<'a> {
    pub name: &'a [u8],
    pub data: &'a [u8],
}

/// A rule; None without a table or chain name.
pub fn parse<'a>(reply: &Reply<'a>) -> Option<Rule<'a>> {
    let (mut table, mut chain) = (None, None);
    let mut rule = Rule {
        family: reply.family,
        table: &[],
        chain: &[],
        handle: 0,
        position: None,
        expressions: &[],
        userdata: &[],
    };
    for (kind, value) in attrs(reply.attrs) {
        match kind {
            NFTA_RULE_TABLE => table = Some(bytes(value)),
            NFTA_RULE_CHAIN => chain = Some(bytes(value)),
            NFTA_RULE_HANDLE => rule.handle = be64(value).unwrap_or(0),
            NFTA_RULE_POSITION => rule.position = be64(value),
            NFTA_RULE_EXPRESSIONS => rule.expressions = value,
            NFTA_RULE_USERDATA => rule.userdata = value,
            _ => {}
        }
    }
    rule.table = table?;
    rule.chain = chain?;
    Some(rule)
}

/// The expressions of a rule, in evaluation order.
pub fn expressions<'a>(list: &'a [u8]) -> impl Iterator<Item = Expr<'a>> + 'a {
    attrs(list)
        .filter(|&(kind, _)| kind == NFTA_LIST_ELEM)
        .map(|(_, elem)| {
            let mut expr = Expr {
                name: &[],
                data: &[],
            };
            for (kind, value) in attrs(elem) {
                match kind {
                    NFTA_EXPR_NAME => expr.name = bytes(value),
                    NFTA_EXPR_DATA => expr.data = value,
                    _ => {}
                }
            }
            expr
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netfilter::captures::*;
    use crate::sys::netfilter::socket::NFT_MSG_NEWRULE;

    fn names(r: &Rule<'_>) -> Vec<String> {
        expressions(r.expressions)
            .map(|e| String::from_utf8_lossy(e.name).into_owned())
            .collect()
    }

    #[test]
    fn rules_name_their_table_and_chain() {
        let payload = unhex(RULE_IIFNAME_LO);
        let r = parse(&reply(NFT_MSG_NEWRULE, &payload)).expect("parses");
        assert_eq!(
            (r.family, r.table, r.chain),
            (1, &b"filter"[..], &b"input"[..])
        );
        assert_eq!((r.handle, r.position), (4, None));
        assert_eq!(names(&r), ["meta", "cmp", "immediate"]);
        let payload = unhex(RULE_JUMP_COMMON);
        let r = parse(&reply(NFT_MSG_NEWRULE, &payload)).expect("parses");
        assert_eq!((r.handle, r.position), (5, Some(4)));
        assert_eq!(names(&r), ["immediate"]);
        let payload = unhex(RULE_TCP_22);
        let r = parse(&reply(NFT_MSG_NEWRULE, &payload)).expect("parses");
        assert_eq!(r.chain, b"common");
        assert_eq!(names(&r), ["meta", "cmp", "payload", "cmp", "immediate"]);
    }

    #[test]
    fn expression_data_is_kept_for_an_evaluator() {
        // cmp's data of `iifname "lo"`: NFTA_CMP_DATA { NFTA_DATA_VALUE "lo\0…" }.
        let payload = unhex(RULE_IIFNAME_LO);
        let r = parse(&reply(NFT_MSG_NEWRULE, &payload)).expect("parses");
        let cmp = expressions(r.expressions).nth(1).expect("cmp");
        assert_eq!(cmp.name, b"cmp");
        let data = attrs(cmp.data)
            .find(|&(k, _)| k == 3)
            .expect("NFTA_CMP_DATA")
            .1;
        let value = attrs(data).next().expect("NFTA_DATA_VALUE").1;
        assert_eq!(&value[..3], b"lo\0");
    }

    #[test]
    fn a_rule_needs_its_table_and_chain() {
        let payload = unhex(RULE_IIFNAME_LO);
        for cut in 0..payload.len() {
            let _ = parse(&reply(NFT_MSG_NEWRULE, &payload[..cut.max(4)]));
        }
        assert!(parse(&reply(NFT_MSG_NEWRULE, &payload[..4])).is_none());
    }
}
