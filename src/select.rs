//! Namespace selectors (`--ns SEL`): how users name a namespace.
//!
//! A selector is an ip-netns name, a container or pod name (or the
//! namespace's display name, or 12+ characters of a container id), an inode (`4026532453` or
//! `net:[4026532453]`), `pid:N`, or a path (`/run/netns/blue`,
//! `/proc/N/ns/net`, `/run/docker/netns/x`). Paths are matched against the
//! bind mounts in the snapshot; a path that is not one (`/proc/N/ns/net`)
//! is resolved to an inode by the caller (a stat, done in `sys`) before
//! matching, so this module stays pure.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::attribution::names_namespace;
use crate::name::Name;
use crate::snapshot::{Namespace, Snapshot};
use crate::sys::nsfs::parse_ns_link;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// An ip-netns name, container, pod or display name.
    Name(Name),
    Inode(u64),
    Pid(u32),
    /// A path; `inode` is what it resolved to on this host, if anything.
    Path {
        path: Name,
        inode: Option<u64>,
    },
}

impl Selector {
    /// Parses a selector as typed (bytes: names may be non-UTF-8).
    pub fn parse(text: &OsStr) -> Selector {
        let bytes = text.as_bytes();
        if let Some(pid) = bytes.strip_prefix(b"pid:")
            && let Some(pid) = std::str::from_utf8(pid).ok().and_then(|p| p.parse().ok())
        {
            return Selector::Pid(pid);
        }
        if let Some(inode) = parse_ns_link(bytes, "net") {
            return Selector::Inode(inode);
        }
        if !bytes.is_empty()
            && bytes.iter().all(u8::is_ascii_digit)
            && let Some(inode) = std::str::from_utf8(bytes).ok().and_then(|s| s.parse().ok())
        {
            return Selector::Inode(inode);
        }
        if bytes.starts_with(b"/") {
            return Selector::Path {
                path: Name::from_bytes(bytes),
                inode: None,
            };
        }
        Selector::Name(Name::from_bytes(bytes))
    }

    pub fn matches(&self, ns: &Namespace) -> bool {
        match self {
            Selector::Name(name) => ns.names.contains(name) || names_namespace(ns, name),
            Selector::Inode(inode) => ns.inode == *inode,
            Selector::Pid(pid) => {
                ns.pids.binary_search(pid).is_ok() || ns.threads.iter().any(|t| t.tid == *pid)
            }
            Selector::Path { path, inode } => {
                ns.mounts.contains(path)
                    || inode.is_some_and(|i| i == ns.inode)
                    || proc_pid(path).is_some_and(|p| ns.pids.binary_search(&p).is_ok())
            }
        }
    }

    /// Inodes of the namespaces this selector picks.
    pub fn select(&self, snapshot: &Snapshot) -> Vec<u64> {
        snapshot
            .namespaces
            .iter()
            .filter(|ns| self.matches(ns))
            .map(|ns| ns.inode)
            .collect()
    }
}

/// `/proc/N/ns/net` → N, so the path works on recorded snapshots too.
fn proc_pid(path: &Name) -> Option<u32> {
    let rest = path.as_str().strip_prefix("/proc/")?;
    let pid = rest.strip_suffix("/ns/net")?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_selector_parses(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let _ = Selector::parse(OsStr::from_bytes(&bytes));
        }
    }

    #[test]
    fn parses_each_form() {
        let p = |s: &str| Selector::parse(OsStr::new(s));
        assert_eq!(p("blue"), Selector::Name(Name::from("blue")));
        assert_eq!(p("4026532453"), Selector::Inode(4026532453));
        assert_eq!(p("net:[4026532453]"), Selector::Inode(4026532453));
        assert_eq!(p("pid:42"), Selector::Pid(42));
        assert_eq!(p("pid:x"), Selector::Name(Name::from("pid:x")));
        assert_eq!(
            p("/run/netns/blue"),
            Selector::Path {
                path: Name::from("/run/netns/blue"),
                inode: None
            }
        );
        assert_eq!(
            Selector::parse(OsStr::from_bytes(b"a\xff")),
            Selector::Name(Name::from_bytes(b"a\xff"))
        );
    }

    #[test]
    fn matches_names_pids_and_paths() {
        let ns = Namespace {
            inode: 7,
            names: vec![Name::from("blue")],
            mounts: vec![Name::from("/run/netns/blue")],
            pids: vec![3, 9],
            ..Namespace::default()
        };
        assert!(Selector::Name(Name::from("blue")).matches(&ns));
        assert!(Selector::Pid(9).matches(&ns));
        assert!(!Selector::Pid(4).matches(&ns));
        assert!(Selector::parse(OsStr::new("/run/netns/blue")).matches(&ns));
        assert!(Selector::parse(OsStr::new("/proc/3/ns/net")).matches(&ns));
        assert!(
            Selector::Path {
                path: Name::from("/x"),
                inode: Some(7)
            }
            .matches(&ns)
        );
        assert!(!Selector::parse(OsStr::new("red")).matches(&ns));
    }
}
