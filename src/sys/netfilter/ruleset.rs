//! One consistent read of a namespace's nftables ruleset: tables, their
//! chains with their rules (decoded, [`super::expr`]), and their sets with
//! their elements.
//!
//! Several dumps cannot be one transaction, so each read is bracketed by the
//! generation ([`super::generation`]): `[GETGEN, GETTABLE]` in one datagram, then
//! `GETCHAIN`, `GETSET`, one `GETSETELEM` per set (a dump names one set),
//! `GETFLOWTABLE`, then `[GETRULE, GETGEN]`. The read is consistent when both
//! generations agree, no dump part was flagged NLM_F_DUMP_INTR, every
//! reply's `res_id` fits the generation, every chain, set, flowtable and rule names a
//! table (and chain) already seen and no set vanished before its elements
//! were asked for; otherwise it is redone, at most
//! [`ATTEMPTS`] times, and the last attempt is returned marked
//! inconsistent. The check is conservative: netlink_dump runs
//! nl_dump_check_consistent on NLMSG_DONE too, so a commit that lands
//! after a dump's last data but before its end flags the dump, and it is
//! redone although what it sent was whole. With no tables the read stops after its first datagram:
//! most namespaces have no firewall, and that costs one send.

use super::socket::{NFT_MSG_NEWCHAIN, NFT_MSG_NEWGEN, NFT_MSG_NEWRULE, NFT_MSG_NEWTABLE};
use super::socket::{
    NFT_MSG_NEWFLOWTABLE, NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NfSocket, Reply, Request,
};
use super::{chain, expr, flowtable, generation, rule, set, table};
use crate::raw::l3::{RawNftFlowtable, RawNftTable};
use crate::sys::netlink::NlError;

/// Reads of the whole ruleset before settling for an inconsistent one.
pub const ATTEMPTS: usize = 3;

/// What a read found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub tables: Vec<RawNftTable>,
    /// The generation before the dumps (None if the kernel sent none).
    pub generation: Option<u32>,
    /// Set when every attempt saw the ruleset change: (the generation
    /// before, the generation after) of the last attempt.
    pub changed: Option<(Option<u32>, Option<u32>)>,
}

/// Reads the ruleset of the socket's namespace.
pub fn read(socket: &mut NfSocket, buf: &mut [u8]) -> Result<Ruleset, NlError> {
    let mut last = Ruleset::default();
    for _ in 0..ATTEMPTS {
        let (ruleset, consistent) = attempt(socket, buf)?;
        if consistent {
            return Ok(ruleset);
        }
        last = ruleset;
    }
    Ok(last)
}

/// One attempt; the flag says whether it was consistent.
fn attempt(socket: &mut NfSocket, buf: &mut [u8]) -> Result<(Ruleset, bool), NlError> {
    let mut read = Reader::default();
    let first = socket.exchange(&[Request::GETGEN, Request::TABLES], buf, |_, reply| {
        read.take(&reply)
    })?;
    read.interrupted |= first.interrupted;
    read.before = read.after.take();
    if !read.tables.is_empty() {
        let chains = socket.exchange(&[Request::CHAINS], buf, |_, reply| read.take(&reply))?;
        read.interrupted |= chains.interrupted;
        let sets = socket.exchange(&[Request::SETS], buf, |_, reply| read.take(&reply))?;
        read.interrupted |= sets.interrupted;
        read.sets_read = true;
        elements(socket, buf, &mut read)?;
        flowtables(socket, buf, &mut read)?;
        let rules = socket.exchange(&[Request::RULES, Request::GETGEN], buf, |_, reply| {
            read.take(&reply)
        })?;
        read.interrupted |= rules.interrupted;
        read.rules_read = true;
    } else {
        // Nothing after the table dump to be inconsistent with.
        read.after = read.before;
    }
    Ok(read.finish())
}

/// The elements of every set, one dump each. A set gone since the set
/// dump answers ENOENT: the ruleset changed, so the attempt is redone.
fn elements(socket: &mut NfSocket, buf: &mut [u8], read: &mut Reader) -> Result<(), NlError> {
    for t in 0..read.tables.len() {
        for s in 0..read.tables[t].sets.len() {
            let family = read.tables[t].raw.family;
            let request =
                Request::set_elements(family, &read.tables[t].name, &read.tables[t].sets[s].name);
            read.tables[t].sets[s].set.elements = Some(Vec::new());
            read.elements_of = (t, s);
            match socket.exchange(&[request], buf, |_, reply| read.take(&reply)) {
                Ok(done) => read.interrupted |= done.interrupted,
                Err(NlError::Kernel(_, code)) if code == -libc::ENOENT => {
                    read.tables[t].sets[s].set.elements = None;
                    read.interrupted = true;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Every flowtable. A kernel without flowtables (before 4.16) refuses
/// the dump: the rest of the ruleset is still read, flowtables unread.
fn flowtables(socket: &mut NfSocket, buf: &mut [u8], read: &mut Reader) -> Result<(), NlError> {
    match socket.exchange(&[Request::FLOWTABLES], buf, |_, reply| read.take(&reply)) {
        Ok(done) => {
            read.interrupted |= done.interrupted;
            read.flowtables_read = true;
            Ok(())
        }
        Err(NlError::Kernel(_, code)) if code == -libc::EOPNOTSUPP => Ok(()),
        Err(e) => Err(e),
    }
}

/// The state of one attempt while replies come in.
#[derive(Default)]
struct Reader {
    tables: Vec<Table>,
    /// The last NEWGEN seen (moved to `before` after the first datagram).
    after: Option<u32>,
    before: Option<u32>,
    /// res_id of every reply so far, once it differs from the first one.
    res_ids: ResIds,
    /// A dump flagged NLM_F_DUMP_INTR, or a chain or rule that named a
    /// table or chain the earlier dump did not have: either way the
    /// ruleset changed while it was read.
    interrupted: bool,
    /// Where the previous rule went: rules come chain by chain.
    cursor: (usize, usize),
    /// The (table, set) whose elements are being dumped.
    elements_of: (usize, usize),
    /// The set, flowtable and rule dumps ended: their lists are whole,
    /// not missing.
    sets_read: bool,
    flowtables_read: bool,
    rules_read: bool,
}

/// A table with the kernel bytes of its name and its chains' names.
struct Table {
    name: Vec<u8>,
    chain_names: Vec<Vec<u8>>,
    sets: Vec<set::Set>,
    flowtables: Vec<RawNftFlowtable>,
    raw: RawNftTable,
}

/// The res_id values of an attempt's dump replies: one value, or several.
#[derive(Default, Clone, Copy)]
enum ResIds {
    #[default]
    None,
    One(u16),
    Several,
}

impl Reader {
    fn take(&mut self, reply: &Reply<'_>) {
        if reply.msg != NFT_MSG_NEWGEN {
            self.res_ids = match self.res_ids {
                ResIds::None => ResIds::One(reply.res_id),
                ResIds::One(r) if r == reply.res_id => ResIds::One(r),
                _ => ResIds::Several,
            };
        }
        match reply.msg {
            NFT_MSG_NEWGEN => self.after = generation::parse(reply.attrs),
            NFT_MSG_NEWTABLE => {
                if let Some((name, raw)) = table::parse(reply) {
                    self.tables.push(Table {
                        name,
                        chain_names: Vec::new(),
                        sets: Vec::new(),
                        flowtables: Vec::new(),
                        raw,
                    });
                }
            }
            NFT_MSG_NEWCHAIN => {
                if let Some((table, name, raw)) = chain::parse(reply) {
                    match self.table(reply.family, &table) {
                        Some(t) => {
                            self.tables[t].chain_names.push(name);
                            self.tables[t].raw.chains.push(raw);
                        }
                        None => self.interrupted = true,
                    }
                }
            }
            NFT_MSG_NEWRULE => {
                if let Some(r) = rule::parse(reply) {
                    self.count(&r);
                }
            }
            NFT_MSG_NEWSET => {
                if let Some(s) = set::parse(reply) {
                    match self.table(s.family, &s.table) {
                        Some(t) => self.tables[t].sets.push(s),
                        None => self.interrupted = true,
                    }
                }
            }
            NFT_MSG_NEWSETELEM => self.elements(reply),
            NFT_MSG_NEWFLOWTABLE => {
                if let Some((table, ft)) = flowtable::parse(reply) {
                    match self.table(reply.family, &table) {
                        Some(t) => self.tables[t].flowtables.push(ft),
                        None => self.interrupted = true,
                    }
                }
            }
            _ => {}
        }
    }

    /// The index of a table, by family and name bytes.
    fn table(&self, family: u8, name: &[u8]) -> Option<usize> {
        self.tables
            .iter()
            .position(|t| t.raw.family == family && t.name == name)
    }

    /// Counts one rule for its chain, trying the previous rule's first.
    fn count(&mut self, r: &rule::Rule<'_>) {
        let (t, c) = self.cursor;
        let here = self.tables.get(t).is_some_and(|table| {
            table.raw.family == r.family
                && table.name == r.table
                && table.chain_names.get(c).is_some_and(|n| n == r.chain)
        });
        let found = if here {
            Some((t, c))
        } else {
            self.table(r.family, r.table).and_then(|t| {
                self.tables[t]
                    .chain_names
                    .iter()
                    .position(|n| n == r.chain)
                    .map(|c| (t, c))
            })
        };
        match found {
            Some((t, c)) => {
                self.cursor = (t, c);
                let chain = &mut self.tables[t].raw.chains[c];
                chain.rules = chain.rules.saturating_add(1);
                chain
                    .rule_list
                    .get_or_insert_with(Vec::new)
                    .push(expr::rule(r));
            }
            None => self.interrupted = true,
        }
    }

    /// Elements for the set being dumped; any other set's mean a stray.
    fn elements(&mut self, reply: &Reply<'_>) {
        let Some((table, name, elems)) = set::elements(reply) else {
            return;
        };
        let (t, s) = self.elements_of;
        let target = self.tables.get_mut(t).and_then(|tb| {
            let ok = tb.raw.family == reply.family && tb.name == table;
            tb.sets.get_mut(s).filter(|st| ok && st.name == name)
        });
        match target {
            Some(st) => st.set.elements.get_or_insert_with(Vec::new).extend(elems),
            None => self.interrupted = true,
        }
    }

    fn finish(self) -> (Ruleset, bool) {
        let fits = match (self.res_ids, self.before) {
            (ResIds::Several, _) => false,
            (ResIds::One(r), Some(g)) => generation::res_id_fits(r, g),
            _ => true,
        };
        let consistent = !self.interrupted && fits && self.before == self.after;
        let (sets_read, rules_read) = (self.sets_read, self.rules_read);
        let flowtables_read = self.flowtables_read;
        let tables = self.tables.into_iter().map(|t| {
            let mut raw = t.raw;
            raw.sets = sets_read.then(|| t.sets.into_iter().map(|s| s.set).collect());
            raw.flowtables = flowtables_read.then_some(t.flowtables);
            if rules_read {
                for c in &mut raw.chains {
                    c.rule_list.get_or_insert_with(Vec::new);
                }
            }
            raw
        });
        let ruleset = Ruleset {
            tables: tables.collect(),
            generation: self.before,
            changed: (!consistent).then_some((self.before, self.after)),
        };
        (ruleset, consistent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(msg: u8, family: u8, res_id: u16, attrs: &[u8]) -> Reply<'_> {
        Reply {
            msg,
            family,
            res_id,
            attrs,
        }
    }

    /// Attributes from (type, value) pairs, padded like the kernel's.
    fn nla(list: &[(u16, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (kind, value) in list {
            out.extend(((4 + value.len()) as u16).to_ne_bytes());
            out.extend(kind.to_ne_bytes());
            out.extend(*value);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out
    }

    #[test]
    fn rules_are_counted_per_chain_and_strays_mean_a_change() {
        let mut read = Reader::default();
        let gen2 = nla(&[(1, &2u32.to_be_bytes())]);
        read.take(&reply(NFT_MSG_NEWGEN, 0, 2, &gen2));
        read.before = read.after.take();
        let t = nla(&[(1, b"filter\0")]);
        read.take(&reply(NFT_MSG_NEWTABLE, 1, 2, &t));
        for name in [&b"input\0"[..], b"common\0"] {
            let c = nla(&[(1, b"filter\0"), (3, name)]);
            read.take(&reply(NFT_MSG_NEWCHAIN, 1, 2, &c));
        }
        for chain in [&b"input\0"[..], b"input\0", b"common\0", b"input\0"] {
            let r = nla(&[(1, b"filter\0"), (2, chain)]);
            read.take(&reply(NFT_MSG_NEWRULE, 1, 2, &r));
        }
        read.take(&reply(NFT_MSG_NEWGEN, 0, 2, &gen2));
        let (ruleset, consistent) = read.finish();
        assert!(consistent);
        assert_eq!(ruleset.generation, Some(2));
        let counts: Vec<u32> = ruleset.tables[0].chains.iter().map(|c| c.rules).collect();
        assert_eq!(counts, vec![3, 1]);

        // A rule of a chain the chain dump did not show.
        let mut read = Reader::default();
        read.take(&reply(NFT_MSG_NEWTABLE, 1, 0, &t));
        let r = nla(&[(1, b"filter\0"), (2, b"gone\0")]);
        read.take(&reply(NFT_MSG_NEWRULE, 1, 0, &r));
        assert!(!read.finish().1);
        // The same table name in another family is another table.
        let mut read = Reader::default();
        read.take(&reply(NFT_MSG_NEWTABLE, 1, 0, &t));
        let c = nla(&[(1, b"filter\0"), (3, b"input\0")]);
        read.take(&reply(NFT_MSG_NEWCHAIN, 2, 0, &c));
        assert!(!read.finish().1);
    }

    #[test]
    fn a_generation_change_is_seen_in_gen_or_res_id() {
        let t = nla(&[(1, b"t\0")]);
        // GETGEN before and after disagree.
        let mut read = Reader {
            before: Some(2),
            after: Some(3),
            ..Reader::default()
        };
        read.take(&reply(NFT_MSG_NEWTABLE, 1, 2, &t));
        let (ruleset, consistent) = read.finish();
        assert!(!consistent);
        assert_eq!(ruleset.changed, Some((Some(2), Some(3))));
        // Replies filled at two generations.
        let mut read = Reader {
            before: Some(2),
            after: Some(2),
            ..Reader::default()
        };
        read.take(&reply(NFT_MSG_NEWTABLE, 1, 2, &t));
        read.take(&reply(NFT_MSG_NEWTABLE, 2, 3, &t));
        assert!(!read.finish().1);
        // One res_id, but not the generation's.
        let mut read = Reader {
            before: Some(2),
            after: Some(2),
            ..Reader::default()
        };
        read.take(&reply(NFT_MSG_NEWTABLE, 1, 5, &t));
        assert!(!read.finish().1);
    }

    #[test]
    fn the_captured_ruleset_counts_like_nft() {
        use crate::sys::netfilter::captures::*;
        let messages = [
            (NFT_MSG_NEWGEN, NEWGEN),
            (NFT_MSG_NEWTABLE, TABLE_INET_FILTER),
            (NFT_MSG_NEWTABLE, TABLE_NETDEV_ING),
            (NFT_MSG_NEWCHAIN, CHAIN_INPUT),
            (NFT_MSG_NEWCHAIN, CHAIN_COMMON),
            (NFT_MSG_NEWCHAIN, CHAIN_INLINE),
            (NFT_MSG_NEWCHAIN, CHAIN_BINDING),
            (NFT_MSG_NEWCHAIN, CHAIN_NETDEV_INGRESS),
            (NFT_MSG_NEWRULE, RULE_IIFNAME_LO),
            (NFT_MSG_NEWRULE, RULE_JUMP_COMMON),
            (NFT_MSG_NEWRULE, RULE_TCP_22),
            (NFT_MSG_NEWRULE, RULE_JUMP_ANONYMOUS),
            (NFT_MSG_NEWRULE, RULE_IN_BINDING),
        ];
        let mut read = Reader::default();
        for (i, (msg, hex)) in messages.iter().enumerate() {
            let payload = unhex(hex);
            read.take(&reply(*msg, &payload));
            if i == 0 {
                read.before = read.after.take();
            }
        }
        read.take(&reply(NFT_MSG_NEWGEN, &unhex(NEWGEN)));
        read.rules_read = true;
        let (ruleset, consistent) = read.finish();
        assert!(consistent);
        assert_eq!(ruleset.generation, Some(2));
        // The decoded rules follow the counts, in order.
        let handles: Vec<Vec<u64>> = ruleset.tables[0]
            .chains
            .iter()
            .map(|c| c.rule_list.iter().flatten().map(|r| r.handle).collect())
            .collect();
        // inline holds `jump { accept }` (9), whose bound chain holds 8.
        assert_eq!(handles, [vec![4, 5], vec![6], vec![9], vec![8]]);
        assert_eq!(ruleset.tables[1].chains[0].rule_list, Some(Vec::new()));
        assert_eq!(ruleset.tables[0].sets, None, "no set dump in this capture");
        let counts: Vec<(u8, &str, &str, u32)> = ruleset
            .tables
            .iter()
            .flat_map(|t| {
                t.chains
                    .iter()
                    .map(move |c| (t.family, t.name.as_str(), c.name.as_str(), c.rules))
            })
            .collect();
        assert_eq!(
            counts,
            vec![
                (1, "filter", "input", 2),
                (1, "filter", "common", 1),
                (1, "filter", "inline", 1),
                (1, "filter", "__chain2", 1),
                (5, "ing", "in0", 0),
            ]
        );
    }

    #[test]
    fn sets_get_their_elements_and_strays_mean_a_change() {
        use crate::sys::netfilter::captures::{reply, unhex};
        use crate::sys::netfilter::captures_rules::*;
        let t = nla(&[(1, b"t\0")]);
        let mut read = Reader::default();
        read.take(&super::tests::reply(NFT_MSG_NEWTABLE, 2, 3, &t));
        for hex in [SET_S2, SET_M1] {
            read.take(&reply(NFT_MSG_NEWSET, &unhex(hex)));
        }
        read.sets_read = true;
        read.elements_of = (0, 1);
        read.take(&reply(NFT_MSG_NEWSETELEM, &unhex(ELEMS_M1)));
        read.take(&reply(NFT_MSG_NEWSETELEM, &unhex(ELEMS_EMPTY)));
        let (ruleset, consistent) = read.finish();
        assert!(consistent);
        let sets = ruleset.tables[0].sets.as_ref().expect("sets read");
        let counts: Vec<(&str, Option<usize>)> = sets
            .iter()
            .map(|s| (s.name.as_str(), s.elements.as_ref().map(Vec::len)))
            .collect();
        assert_eq!(counts, [("s2", None), ("m1", Some(1))]);
        assert_eq!(ruleset.tables[0].chains.len(), 0);

        // Elements of another set than the one asked for.
        let mut read = Reader::default();
        read.take(&super::tests::reply(NFT_MSG_NEWTABLE, 2, 3, &t));
        read.take(&reply(NFT_MSG_NEWSET, &unhex(SET_S2)));
        read.take(&reply(NFT_MSG_NEWSETELEM, &unhex(ELEMS_M1)));
        assert!(!read.finish().1);
        // A set of a table the table dump did not have.
        let mut read = Reader::default();
        read.take(&reply(NFT_MSG_NEWSET, &unhex(SET_S2)));
        let (ruleset, consistent) = read.finish();
        assert!(!consistent);
        assert!(ruleset.tables.is_empty());
    }

    #[test]
    fn flowtables_go_to_their_table_and_strays_mean_a_change() {
        use crate::sys::netfilter::captures::{reply, unhex};
        use crate::sys::netfilter::flowtable::tests::FLOWTABLE_FT;
        let t = nla(&[(1, b"t\0")]);
        let mut read = Reader::default();
        read.take(&super::tests::reply(NFT_MSG_NEWTABLE, 1, 3, &t));
        read.take(&reply(NFT_MSG_NEWFLOWTABLE, &unhex(FLOWTABLE_FT)));
        read.flowtables_read = true;
        let (ruleset, consistent) = read.finish();
        assert!(consistent);
        let names: Vec<&str> = ruleset.tables[0]
            .flowtables
            .iter()
            .flatten()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["ft"]);
        // Not dumped: unread, not empty.
        let mut read = Reader::default();
        read.take(&super::tests::reply(NFT_MSG_NEWTABLE, 1, 3, &t));
        assert_eq!(read.finish().0.tables[0].flowtables, None);
        // Same name, other family (ip): a table the dump did not have.
        let mut read = Reader::default();
        read.take(&super::tests::reply(NFT_MSG_NEWTABLE, 2, 3, &t));
        read.take(&reply(NFT_MSG_NEWFLOWTABLE, &unhex(FLOWTABLE_FT)));
        assert!(!read.finish().1);
    }

    proptest::proptest! {
        #[test]
        fn garbage_replies_never_panic(
            msg in 0u8..24,
            family in proptest::num::u8::ANY,
            res_id in proptest::num::u16::ANY,
            attrs in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
        ) {
            let mut read = Reader::default();
            // A table first, so chains and rules get as far as the lookup.
            let t = nla(&[(1, b"filter\0")]);
            read.take(&reply(NFT_MSG_NEWTABLE, family, res_id, &t));
            read.take(&reply(msg, family, res_id, &attrs));
            let _ = super::rule::parse(&reply(msg, family, res_id, &attrs))
                .map(|r| super::rule::expressions(r.expressions).count());
            let _ = read.finish();
        }
    }

    #[test]
    fn truncated_captures_never_panic() {
        use crate::sys::netfilter::captures::*;
        for (msg, hex) in [
            (NFT_MSG_NEWCHAIN, CHAIN_NETDEV_INGRESS),
            (NFT_MSG_NEWRULE, RULE_JUMP_ANONYMOUS),
            (NFT_MSG_NEWTABLE, TABLE_INET_FILTER),
        ] {
            let payload = unhex(hex);
            for cut in 4..payload.len() {
                let mut read = Reader::default();
                read.take(&reply(msg, &payload[..cut]));
                let _ = read.finish();
            }
        }
    }
}
