//! Finding network-namespace bind mounts in `/proc/PID/mountinfo`.
//!
//! Parsed as bytes, not text: a mount point may hold any byte but NUL, and
//! one non-UTF-8 path must not hide the other mounts of that mount
//! namespace (general-purpose parsers that read lines as `String` fail the
//! whole file). The kernel writes space, tab, newline and backslash in paths
//! as octal escapes (`\040`, fs/proc_namespace.c: mangle), undone here. For
//! nsfs mounts the root field reads `net:[INODE]`, which names the
//! namespace without opening it. Pure, so it is tested without root.

use crate::sys::nsfs::parse_ns_link;

/// One nsfs mount of a network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetnsMount {
    /// Mount point, unescaped, relative to the reading process's root.
    pub mount_point: Vec<u8>,
    /// The namespace inode from the root field.
    pub inode: u64,
}

/// Every nsfs mount of a *network* namespace in a mountinfo file. Lines
/// that do not parse are skipped: the kernel's format is fixed, so a bad
/// line means a truncated read, not something to stop for.
pub fn netns_mounts(content: &[u8]) -> Vec<NetnsMount> {
    content
        .split(|&b| b == b'\n')
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &[u8]) -> Option<NetnsMount> {
    let mut fields = line.split(|&b| b == b' ');
    let _mount_id = fields.next()?;
    let _parent_id = fields.next()?;
    let _dev = fields.next()?;
    let root = fields.next()?;
    let mount_point = fields.next()?;
    // Skip the mount options and the optional fields up to the "-" separator.
    let mut fields = fields.skip_while(|f| *f != b"-");
    fields.next()?;
    let fstype = fields.next()?;
    if fstype != b"nsfs" {
        return None;
    }
    let inode = parse_ns_link(root, "net")?;
    Some(NetnsMount {
        mount_point: unescape(mount_point),
        inode,
    })
}

/// Undoes the kernel's `\ooo` octal escapes; anything else is kept as is.
pub fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && let Some(digits) = field.get(i + 1..i + 4)
            && digits.iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(field[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded from this machine after `ip netns add blue` and a bind mount
    // of a namespace to a path with a space and a non-UTF-8 byte.
    const SAMPLE: &[u8] = b"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n\
652 27 0:4 net:[4026532453] /run/netns/blue rw,relatime shared:300 - nsfs nsfs rw\n\
653 27 0:4 net:[4026532999] /tmp/my\\040ns\xff rw - nsfs nsfs rw\n\
654 27 0:4 mnt:[4026532111] /tmp/mntns rw - nsfs nsfs rw\n\
655 27 0:4 net:[4026532453] /run/net\\134ns rw master:1 propagate_from:2 - nsfs nsfs rw\n\
garbage line\n";

    #[test]
    fn finds_only_network_namespace_mounts() {
        let mounts = netns_mounts(SAMPLE);
        assert_eq!(
            mounts,
            vec![
                NetnsMount {
                    mount_point: b"/run/netns/blue".to_vec(),
                    inode: 4026532453
                },
                NetnsMount {
                    mount_point: b"/tmp/my ns\xff".to_vec(),
                    inode: 4026532999
                },
                NetnsMount {
                    mount_point: b"/run/net\\ns".to_vec(),
                    inode: 4026532453
                },
            ]
        );
    }

    #[test]
    fn unescape_keeps_malformed_escapes() {
        assert_eq!(unescape(b"a\\040b"), b"a b");
        assert_eq!(unescape(b"a\\04"), b"a\\04");
        assert_eq!(unescape(b"a\\999"), b"a\\999");
        assert_eq!(unescape(b"\\777"), b"\\777");
    }

    /// The kernel's mangle(): space, tab, newline and backslash as octal.
    fn mangle(path: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in path {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\\') {
                out.extend(format!("\\{b:03o}").bytes());
            } else {
                out.push(b);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panic(content in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = netns_mounts(&content);
        }

        #[test]
        fn any_mount_path_survives_the_round_trip(
            path in proptest::collection::vec(1u8..=255, 1..64),
            inode in proptest::num::u64::ANY,
        ) {
            let mut line = b"652 27 0:4 ".to_vec();
            line.extend(format!("net:[{inode}] ").bytes());
            line.extend(mangle(&path));
            line.extend(b" rw shared:1 - nsfs nsfs rw\n");
            let found = netns_mounts(&line);
            proptest::prop_assert_eq!(found, vec![NetnsMount { mount_point: path, inode }]);
        }
    }

    #[test]
    fn truncated_lines_are_skipped() {
        for cut in 0..SAMPLE.len() {
            let _ = netns_mounts(&SAMPLE[..cut]);
        }
    }
}
