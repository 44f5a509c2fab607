//! NSM019: names that hold control characters (escape sequences, bidi
//! overrides). nsmap prints them escaped, but every other tool (`ip`,
//! `ls /run/netns`, shell completion, logs) prints them raw, and a name
//! like `\x1b[2J…` can rewrite what an administrator sees there.

use super::fix::{self, quote};
use super::{Code, End, Finding};
use crate::snapshot::Snapshot;

/// NSM019 for interface names and ip-netns names.
pub fn control_chars(snapshot: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in &snapshot.namespaces {
        for name in ns.names.iter().filter(|n| n.has_control()) {
            out.push(Finding::new(
                Code::ControlCharsInName,
                Some(ns.inode),
                Vec::new(),
                format!(
                    "namespace name {} holds control characters: printed raw (ip netns list, ls) it can spoof terminal output",
                    name.as_str()
                ),
                None,
            ));
        }
        for iface in ns.interfaces.iter().filter(|i| i.ifname.has_control()) {
            let end = End { ns, iface };
            out.push(Finding::new(
                Code::ControlCharsInName,
                Some(ns.inode),
                vec![end.link_ref()],
                format!(
                    "interface name {} in {} holds control characters: printed raw (ip link, logs) it can spoof terminal output",
                    iface.ifname.as_str(),
                    ns.label()
                ),
                fix::ip(
                    ns,
                    &format!("link set dev {} name <NEWNAME>", quote(&iface.ifname)),
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::name::Name;

    #[test]
    fn escape_sequences_and_bidi_in_names() {
        let mut evil = iface(2, "x", None);
        evil.ifname = Name::from_bytes(b"\x1b[31mx\x07");
        let mut bidi = iface(3, "y", None);
        bidi.ifname = Name::from_bytes("a\u{202e}b".as_bytes());
        let mut bad = iface(4, "z", None);
        bad.ifname = Name::from_bytes(b"bad\xff"); // not UTF-8, but no control
        let mut ns = named(4026532001, "n", vec![lo(), evil, bidi, bad]);
        ns.names.push(Name::from_bytes(b"\x1b]0;title\x07"));
        let found = control_chars(&snapshot(vec![ns]));
        assert_eq!(codes(&found), ["NSM019", "NSM019", "NSM019"]);
        assert!(found[0].interfaces.is_empty());
        assert_eq!(
            found[1].message,
            "interface name \x1b[31mx\x07 in n holds control characters: printed raw (ip link, logs) it can spoof terminal output"
        );
        assert_eq!(
            found[1].hint.as_deref(),
            Some(r"ip -n n link set dev $'\x1b[31mx\x07' name <NEWNAME>")
        );
        assert_eq!(
            found[2].hint.as_deref(),
            Some(r"ip -n n link set dev $'a\xe2\x80\xaeb' name <NEWNAME>")
        );
    }

    #[test]
    fn ordinary_names_are_fine() {
        assert!(control_chars(&demo()).is_empty());
    }
}
