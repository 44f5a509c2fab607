//! The `/` filter: which namespaces and interfaces a query matches, and
//! where in a cell's text to highlight it.
//!
//! Matching is a substring test, ASCII-case-insensitive, on the
//! terminal-safe text the user sees (so `\x1b` finds a name holding an
//! escape byte, exactly as it is displayed). Numbers (pids, inodes, ids)
//! are matched as their decimal text, so the list narrows as digits are
//! typed. ASCII-only case folding keeps byte offsets valid for highlighting.

use std::ops::Range;

use crate::name::terminal_safe;
use crate::snapshot::{Interface, Namespace};

/// A non-empty query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    query: String,
}

impl Filter {
    /// None for an empty query: an empty filter shows everything.
    pub fn new(query: &str) -> Option<Filter> {
        (!query.is_empty()).then(|| Filter {
            query: query.to_string(),
        })
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn matches(&self, text: &str) -> bool {
        find(text, &self.query, 0).is_some()
    }

    /// Every non-overlapping occurrence in `text`, as byte ranges.
    pub fn ranges(&self, text: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(start) = find(text, &self.query, from) {
            let end = start + self.query.len();
            out.push(start..end);
            from = end;
        }
        out
    }

    /// The namespace's own fields: label, names, mounts, pids, inode, id,
    /// first process (`label` is the already terminal-safe label).
    pub fn namespace_matches(&self, ns: &Namespace, label: &str) -> bool {
        self.matches(label)
            || ns
                .names
                .iter()
                .chain(&ns.mounts)
                .any(|n| self.matches(&terminal_safe(n.as_str())))
            || self.matches(&ns.inode.to_string())
            || ns.id.is_some_and(|id| self.matches(&id.to_string()))
            || ns.pids.iter().any(|p| self.matches(&p.to_string()))
            || ns
                .process
                .as_ref()
                .is_some_and(|p| self.matches(&terminal_safe(p.comm.as_str())))
    }

    /// The interface's fields: ifname, kind, MAC, IP addresses.
    pub fn interface_matches(&self, iface: &Interface) -> bool {
        self.matches(&terminal_safe(iface.ifname.as_str()))
            || iface
                .kind
                .as_deref()
                .is_some_and(|k| self.matches(&terminal_safe(k)))
            || iface
                .address
                .as_deref()
                .is_some_and(|a| self.matches(&terminal_safe(a)))
            || iface
                .addresses
                .iter()
                .any(|a| self.matches(&terminal_safe(a)))
    }
}

/// First ASCII-case-insensitive occurrence of `needle` at or after `from`.
fn find(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (from..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;

    #[test]
    fn matching_ignores_ascii_case_and_finds_every_occurrence() {
        let f = Filter::new("Eth").expect("non-empty");
        assert!(f.matches("veth0"));
        assert_eq!(f.ranges("eth0-ETH1"), vec![0..3, 5..8]);
        assert!(Filter::new("").is_none());
    }

    #[test]
    fn ranges_stay_on_char_boundaries() {
        let f = Filter::new("é0").expect("non-empty");
        let text = "vethé0";
        for r in f.ranges(text) {
            assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
        }
    }

    #[test]
    fn hostile_names_match_in_their_displayed_form() {
        let iface = Interface {
            ifname: Name::from_bytes(b"\x1b[31mevil"),
            ..Interface::default()
        };
        assert!(
            Filter::new("\\x1b")
                .expect("query")
                .interface_matches(&iface)
        );
    }

    #[test]
    fn namespaces_match_by_pid_inode_and_mount() {
        let ns = Namespace {
            inode: 4026532177,
            pids: vec![5945],
            mounts: vec![Name::from("/run/netns/db")],
            ..Namespace::default()
        };
        for q in ["594", "4026532177", "netns/db"] {
            assert!(
                Filter::new(q).expect("q").namespace_matches(&ns, "db"),
                "{q}"
            );
        }
        assert!(!Filter::new("web").expect("q").namespace_matches(&ns, "db"));
    }
}
