//! The x_tables getsockopt structures, parsed from bytes: `struct
//! ipt_getinfo` (the same layout as `ip6t_getinfo`; `arpt_getinfo` has
//! three hooks, not five) and the entries blob of IPT_SO_GET_ENTRIES /
//! IP6T_SO_GET_ENTRIES / ARPT_SO_GET_ENTRIES, a run of `struct ipt_entry`
//! (or `ip6t_entry`, `arpt_entry`), each followed by its matches and
//! target.
//!
//! The blob as iptables-legacy writes it (libiptc's iptcc_compile_table,
//! checked by the kernel's translate_table): each built-in chain's rules
//! from `hook_entry[hook]` up to `underflow[hook]`, where the chain's
//! policy sits as an unconditional standard target; each user chain as an
//! `ERROR` target naming it (the head), its rules, and a RETURN standard
//! target (the tail); last an `ERROR` target named "ERROR". A standard
//! target's verdict is `-NF_x - 1` for a netfilter verdict (so -2 is
//! ACCEPT, -1 DROP, XT_RETURN -5), or, when ≥ 0, the byte offset of the
//! rule it jumps to.
//!
//! The kernel checked the blob when it was loaded, but nsmap trusts no
//! bytes: every offset is bounds-checked and a malformed blob is an
//! error string, never a panic.

use crate::name::Name;
use crate::raw::l3::RawXtChain;

/// `sizeof(struct ipt_getinfo)`: name[32], valid_hooks, hook_entry[5],
/// underflow[5], num_entries, size (the largest: arpt_getinfo is 68).
pub const GETINFO_LEN: usize = 84;
/// `sizeof(struct ipt_get_entries)` (and ip6t's) before the entries: name[32],
/// size, and padding to the entries' 8-byte alignment.
pub const GET_ENTRIES_LEN: usize = 40;
/// `XT_TABLE_MAXNAMELEN`.
pub const TABLE_NAME_LEN: usize = 32;
/// `NF_INET_NUMHOOKS` (the most: `NF_ARP_NUMHOOKS` is 3).
const HOOKS: usize = 5;
/// `sizeof(struct xt_entry_target)`; a standard target's verdict and an
/// error target's name follow it.
const TARGET_LEN: usize = 32;
/// `XT_FUNCTION_MAXNAMELEN`: an error target's name.
const ERROR_NAME_LEN: usize = 30;
/// `XT_EXTENSION_MAXNAMELEN`: a target's name (after its u16 size).
const TARGET_NAME_LEN: usize = 29;
/// The built-in chains by NF_INET_* hook, as iptables names them.
const INET_HOOKS: &[&str] = &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];
/// The built-in chains by NF_ARP_* hook, as arptables names them.
const ARP_HOOKS: &[&str] = &["INPUT", "OUTPUT", "FORWARD"];

/// Where `struct ipt_entry`, `struct ip6t_entry` or `struct arpt_entry`
/// keeps its fields (checked against the uapi headers with offsetof), and
/// the family's hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `sizeof` the entry: its matches start here.
    pub entry_len: usize,
    /// `offsetof(target_offset)`; `next_offset` follows it.
    pub target_offset_at: usize,
    /// The built-in chains, by hook number.
    pub hooks: &'static [&'static str],
}

impl Layout {
    /// `sizeof` the family's getinfo: name, valid_hooks, hook_entry[],
    /// underflow[], num_entries, size.
    pub fn getinfo_len(&self) -> usize {
        TABLE_NAME_LEN + 4 * (3 + 2 * self.hooks.len())
    }
}

/// `struct ipt_entry`: a 84-byte `ipt_ip`, nfcache, then the offsets.
pub const IPV4: Layout = Layout {
    entry_len: 112,
    target_offset_at: 88,
    hooks: INET_HOOKS,
};
/// `struct ip6t_entry`: a 136-byte `ip6t_ip6` (133 and padding), nfcache,
/// then the offsets.
pub const IPV6: Layout = Layout {
    entry_len: 168,
    target_offset_at: 140,
    hooks: INET_HOOKS,
};
/// `struct arpt_entry`: a 164-byte `arpt_arp`, then the offsets (no
/// nfcache), comefrom and the counters.
pub const ARP: Layout = Layout {
    entry_len: 192,
    target_offset_at: 164,
    hooks: ARP_HOOKS,
};

/// The kernel-filled part of `struct ipt_getinfo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Info {
    pub valid_hooks: u32,
    pub hook_entry: [u32; HOOKS],
    pub underflow: [u32; HOOKS],
    pub num_entries: u32,
    pub size: u32,
}

/// Parses an IPT_SO_GET_INFO answer (or its family's); None when it is
/// cut short.
pub fn info(layout: Layout, bytes: &[u8]) -> Option<Info> {
    let hooks = layout.hooks.len().min(HOOKS);
    let word = |i: usize| -> Option<u32> {
        let at = TABLE_NAME_LEN + 4 * i;
        Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let mut info = Info {
        valid_hooks: word(0)?,
        ..Info::default()
    };
    for hook in 0..hooks {
        info.hook_entry[hook] = word(1 + hook)?;
        info.underflow[hook] = word(1 + hooks + hook)?;
    }
    info.num_entries = word(1 + 2 * hooks)?;
    info.size = word(2 + 2 * hooks)?;
    Some(info)
}

/// What an entry's target is, as far as chains are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// The standard target (name ""): a verdict or a jump offset.
    Standard(i32),
    /// The `ERROR` target: a user chain's head, or the blob's end ("ERROR").
    Error(&'a [u8]),
    /// Any other target (DNAT, REJECT, LOG, …), by name.
    Other(&'a [u8]),
}

/// One entry of the blob, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Its byte offset in the blob (what hook_entry, underflow and jumps name).
    pub offset: usize,
    /// The whole entry: header, matches, target.
    pub bytes: &'a [u8],
    pub target: Target<'a>,
}

/// Splits the blob into entries, checking every offset.
pub fn entries<'a>(layout: Layout, blob: &'a [u8]) -> Result<Vec<Entry<'a>>, String> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < blob.len() {
        let rest = &blob[offset..];
        let field = |at: usize| -> Option<usize> {
            Some(usize::from(u16::from_ne_bytes(
                rest.get(at..at + 2)?.try_into().ok()?,
            )))
        };
        let bad = |what: &str| format!("malformed entry at offset {offset}: {what}");
        let (Some(target_offset), Some(next_offset)) = (
            field(layout.target_offset_at),
            field(layout.target_offset_at + 2),
        ) else {
            return Err(bad("cut short"));
        };
        if next_offset > rest.len() || next_offset % 8 != 0 {
            return Err(bad("next_offset out of bounds"));
        }
        if target_offset < layout.entry_len || target_offset + TARGET_LEN > next_offset {
            return Err(bad("target_offset out of bounds"));
        }
        let bytes = &rest[..next_offset];
        let target = &bytes[target_offset..];
        let target_size = usize::from(u16::from_ne_bytes([target[0], target[1]]));
        if target_size < TARGET_LEN || target_size > target.len() {
            return Err(bad("target size out of bounds"));
        }
        let name = nul_terminated(&target[2..2 + TARGET_NAME_LEN]);
        let data = &target[TARGET_LEN..target_size];
        let target = match name {
            b"" => Target::Standard(
                data.get(..4)
                    .and_then(|v| v.try_into().ok())
                    .map(i32::from_ne_bytes)
                    .ok_or_else(|| bad("standard target without a verdict"))?,
            ),
            b"ERROR" => Target::Error(nul_terminated(&data[..data.len().min(ERROR_NAME_LEN)])),
            other => Target::Other(other),
        };
        out.push(Entry {
            offset,
            bytes,
            target,
        });
        offset += next_offset;
    }
    Ok(out)
}

/// The chains of a table: built-in chains in hook order (hook, policy,
/// rules), then user chains in blob order.
pub fn chains(layout: Layout, info: &Info, blob: &[u8]) -> Result<Vec<RawXtChain>, String> {
    if blob.len() != info.size as usize {
        return Err(format!(
            "entries are {} bytes, the table said {}",
            blob.len(),
            info.size
        ));
    }
    let entries = entries(layout, blob)?;
    if entries.len() != info.num_entries as usize {
        return Err(format!(
            "{} entries, the table said {}",
            entries.len(),
            info.num_entries
        ));
    }
    let index_of = |offset: u32| entries.iter().position(|e| e.offset == offset as usize);
    let mut chains = Vec::new();
    let mut starts = Vec::new();
    for (hook, name) in layout.hooks.iter().enumerate().take(HOOKS) {
        if info.valid_hooks & (1 << hook) == 0 {
            continue;
        }
        let (Some(first), Some(policy)) = (
            index_of(info.hook_entry[hook]),
            index_of(info.underflow[hook]),
        ) else {
            return Err(format!("{name}: hook entry or underflow is not an entry"));
        };
        if first > policy {
            return Err(format!("{name}: underflow before the hook entry"));
        }
        let Target::Standard(verdict) = entries[policy].target else {
            return Err(format!("{name}: the policy is not a standard target"));
        };
        if verdict >= 0 {
            return Err(format!("{name}: the policy is a jump"));
        }
        starts.push(first);
        chains.push(RawXtChain {
            name: Name::from(*name),
            hook: Some(hook as u8),
            // -NF_DROP-1 = -1 → 0, -NF_ACCEPT-1 = -2 → 1.
            policy: Some((-(verdict + 1)) as u32),
            rules: (policy - first) as u32,
        });
    }
    // User chains: from a head to the next head, the next built-in chain
    // or the end; the last entry of that run is the chain's RETURN tail.
    let mut i = 0;
    while i < entries.len() {
        let Target::Error(name) = entries[i].target else {
            i += 1;
            continue;
        };
        if name == b"ERROR" && i + 1 == entries.len() {
            break;
        }
        let end = (i + 1..entries.len())
            .find(|&j| matches!(entries[j].target, Target::Error(_)) || starts.contains(&j))
            .unwrap_or(entries.len());
        if end == i + 1 {
            return Err(format!(
                "user chain {} has no tail",
                String::from_utf8_lossy(name)
            ));
        }
        chains.push(RawXtChain {
            name: Name::from_bytes(name),
            hook: None,
            policy: None,
            rules: (end - i - 2) as u32,
        });
        i = end;
    }
    Ok(chains)
}

fn nul_terminated(v: &[u8]) -> &[u8] {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    &v[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netfilter::captures::unhex;

    /// IPT_SO_GET_INFO answer (all 84 bytes) for "filter" from Linux 6.18, in
    /// a fresh namespace with a veth `v0`, after
    ///   iptables-legacy -N WEB
    ///   iptables-legacy -A WEB -j RETURN
    ///   iptables-legacy -A FORWARD -i v0 -j WEB
    ///   iptables-legacy -P FORWARD DROP
    /// valid_hooks 0x0e (INPUT, FORWARD, OUTPUT); hook_entry { -1, 0, 152,
    /// 456, -1 }, underflow { -1, 0, 304, 456, -1 } (unused hooks are all
    /// ones); num_entries 8; size 1264.
    const INFO: &str = concat!(
        "66696c74657200000000000000000000000000000000000000000000000000000e000000ffffffff0000000098000000",
        "c8010000ffffffffffffffff0000000030010000c8010000ffffffff08000000f0040000",
    );

    /// The IPT_SO_GET_ENTRIES blob (after `struct ipt_get_entries`' 40 bytes)
    /// of the same table: @0 INPUT policy (standard, -2 = ACCEPT); @152
    /// `-i v0 -j WEB` (standard, verdict 784: WEB's first rule); @304 FORWARD
    /// policy (-1 = DROP); @456 OUTPUT policy; @608 ERROR "WEB" (the head,
    /// 176 bytes); @784 `-j RETURN` (-5); @936 WEB's tail (-5); @1088 ERROR
    /// "ERROR", the end.
    const ENTRIES: &str = concat!(
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000007000980002000000",
        "000000000000000000000000000000002800000000000000000000000000000000000000000000000000000000000000",
        "feffffff0000000000000000000000000000000000000000763000000000000000000000000000000000000000000000",
        "0000000000000000ffffff00000000000000000000000000000000000000000000000000000000000000000000000000",
        "700098000400000000000000000000000000000000000000280000000000000000000000000000000000000000000000",
        "000000000000000010030000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000070009800040000000000000000000000000000000000000028000000000000000000000000000000",
        "00000000000000000000000000000000ffffffff00000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000007000980008000000000000000000000000000000000000002800000000000000",
        "000000000000000000000000000000000000000000000000feffffff0000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000007000b0000000000000000000000000000000000000000000",
        "40004552524f520000000000000000000000000000000000000000000000000057454200000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000070009800040000000000000000000000000000000000000028000000000000000000000000000000",
        "00000000000000000000000000000000fbffffff00000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000007000980000000000000000000000000000000000000000002800000000000000",
        "000000000000000000000000000000000000000000000000fbffffff0000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000007000b0000000000000000000000000000000000000000000",
        "40004552524f52000000000000000000000000000000000000000000000000004552524f520000000000000000000000",
        "00000000000000000000000000000000",
    );

    fn captured() -> (Info, Vec<u8>) {
        let info = info(IPV4, &unhex(INFO)).expect("84 bytes");
        (info, unhex(ENTRIES))
    }

    #[test]
    fn getinfo_fields() {
        let (info, blob) = captured();
        assert_eq!(info.valid_hooks, 0x0e);
        assert_eq!(info.hook_entry, [u32::MAX, 0, 152, 456, u32::MAX]);
        assert_eq!(info.underflow, [u32::MAX, 0, 304, 456, u32::MAX]);
        assert_eq!((info.num_entries, info.size), (8, 1264));
        assert_eq!(blob.len(), 1264);
        assert!(super::info(IPV4, &unhex(INFO)[..83]).is_none());
    }

    #[test]
    fn entries_and_their_targets() {
        let (_, blob) = captured();
        let entries = entries(IPV4, &blob).expect("well formed");
        let seen: Vec<(usize, Target<'_>)> = entries.iter().map(|e| (e.offset, e.target)).collect();
        assert_eq!(
            seen,
            vec![
                (0, Target::Standard(-2)),
                (152, Target::Standard(784)),
                (304, Target::Standard(-1)),
                (456, Target::Standard(-2)),
                (608, Target::Error(b"WEB")),
                (784, Target::Standard(-5)),
                (936, Target::Standard(-5)),
                (1088, Target::Error(b"ERROR")),
            ]
        );
        // The rule's `-i v0` is in its ipt_ip (iniface at offset 16).
        assert_eq!(&entries[1].bytes[16..19], b"v0\0");
    }

    #[test]
    fn chains_like_iptables_save() {
        // :INPUT ACCEPT, :FORWARD DROP (1 rule), :OUTPUT ACCEPT, :WEB - (1 rule).
        let (info, blob) = captured();
        let chains = chains(IPV4, &info, &blob).expect("well formed");
        let seen: Vec<(&str, Option<u8>, Option<u32>, u32)> = chains
            .iter()
            .map(|c| (c.name.as_str(), c.hook, c.policy, c.rules))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("INPUT", Some(1), Some(1), 0),
                ("FORWARD", Some(2), Some(0), 1),
                ("OUTPUT", Some(3), Some(1), 0),
                ("WEB", None, None, 1),
            ]
        );
    }

    #[test]
    fn malformed_blobs_are_problems() {
        let (info, blob) = captured();
        // Cut anywhere: an error (or a size mismatch), never a panic.
        for cut in 0..blob.len() {
            assert!(chains(IPV4, &info, &blob[..cut]).is_err());
            let short = Info {
                size: cut as u32,
                ..info
            };
            let _ = chains(IPV4, &short, &blob[..cut]);
        }
        // A next_offset of 0 would loop forever; it is refused.
        let mut bad = blob.clone();
        bad[90..92].copy_from_slice(&0u16.to_ne_bytes());
        assert!(entries(IPV4, &bad).is_err());
        // An underflow that is not an entry.
        let moved = Info {
            underflow: [u32::MAX, 8, 304, 456, u32::MAX],
            ..info
        };
        assert!(chains(IPV4, &moved, &blob).is_err());
        // The same bytes read as IPv6 entries do not fit.
        assert!(chains(IPV6, &info, &blob).is_err());
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(
            blob in proptest::collection::vec(proptest::num::u8::ANY, 0..1200),
            hooks in proptest::collection::vec(0u32..1300, 10),
            valid in 0u32..32,
        ) {
            let mut info = Info {
                valid_hooks: valid,
                num_entries: 4,
                size: blob.len() as u32,
                ..Info::default()
            };
            info.hook_entry.copy_from_slice(&hooks[..5]);
            info.underflow.copy_from_slice(&hooks[5..]);
            for layout in [IPV4, IPV6, ARP] {
                let _ = chains(layout, &info, &blob);
            }
        }

        #[test]
        fn mutated_captures_never_panic(at in 0usize..1264, byte in proptest::num::u8::ANY) {
            let (info, mut blob) = captured();
            blob[at] = byte;
            let _ = chains(IPV4, &info, &blob);
        }
    }

    #[test]
    fn layouts_fit_their_entries() {
        // next_offset follows target_offset; both inside the header.
        for layout in [IPV4, IPV6, ARP] {
            assert!(layout.target_offset_at + 4 <= layout.entry_len);
            assert_eq!(layout.entry_len % 8, 0);
            assert!(layout.getinfo_len() <= GETINFO_LEN);
        }
        assert_eq!((IPV4.getinfo_len(), ARP.getinfo_len()), (84, 68));
    }
}
