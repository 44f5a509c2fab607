//! iptables-legacy (x_tables) tables of the calling thread's namespace,
//! read through their getsockopt interface like `iptables-legacy-save`;
//! arptables-legacy's the same way (`arp_tables_names`, ARPT_SO_GET_*).
//! ebtables-legacy has no names file, and asking for one of its tables
//! creates it (do_ebt_get_ctl → find_table_lock), so it is never asked.
//!
//! The trap (KERNEL-NOTES): IPT_SO_GET_INFO is not side-effect free. For a
//! name the namespace has no table of, do_ipt_get_ctl → get_info →
//! xt_request_find_table_lock calls request_module("iptable_%s"), and
//! xt_find_table_lock instantiates the table from its registered template
//! (e.g. iptable_mangle_table_init) — in a fresh namespace asking for
//! `mangle` creates `mangle`. So nsmap first reads the namespace's own
//! `/proc/thread-self/net/ip_tables_names` (ip6_tables_names), and asks
//! only for the tables listed there. The file exists only while
//! ip_tables (ip6_tables) is loaded, so its absence means "no legacy
//! tables" and nothing is asked at all, and a socket is only made when a
//! file lists a table. `/proc/thread-self`, not `/proc/self`: `/proc/self`
//! is the main thread, whose namespace is not the one this thread entered.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};
use nix::sys::stat::Mode;

use crate::raw::l3::RawXtTable;

pub mod blob;

/// `IPT_SO_GET_INFO` = `IP6T_SO_GET_INFO` = 64 (IPT_BASE_CTL).
const SO_GET_INFO: i32 = 64;
/// `IPT_SO_GET_ENTRIES` = `IP6T_SO_GET_ENTRIES` = 65.
const SO_GET_ENTRIES: i32 = 65;
/// `ARPT_SO_GET_INFO` = 96 (ARPT_BASE_CTL), `ARPT_SO_GET_ENTRIES` = 97.
const ARPT_SO_GET_INFO: i32 = 96;
const ARPT_SO_GET_ENTRIES: i32 = 97;
/// `NFPROTO_ARP`: the family recorded for an arptables-legacy table
/// (AF_INET and AF_INET6 for the others; the numbers do not collide).
pub const NFPROTO_ARP: u8 = 3;
/// A table larger than this is reported, not read (the kernel's own
/// limit is memory; a real ruleset this size would be ~500,000 rules).
const MAX_TABLE: usize = 64 << 20;
/// Reads of one table whose size changed between GET_INFO and
/// GET_ENTRIES (EAGAIN from get_entries) before giving up.
const ATTEMPTS: usize = 3;

/// One x_tables family: where its names are, how its sockets speak.
struct Family {
    af: u8,
    names: &'static str,
    domain: AddressFamily,
    /// getsockopt level: SOL_IP, or SOL_IPV6 (ip6tables' options are
    /// registered for PF_INET6 and reached only through an AF_INET6 socket).
    level: i32,
    /// The GET_INFO and GET_ENTRIES option numbers.
    get: (i32, i32),
    layout: blob::Layout,
    what: (&'static str, &'static str),
}

const FAMILIES: [Family; 3] = [
    Family {
        af: libc::AF_INET as u8,
        names: "/proc/thread-self/net/ip_tables_names",
        domain: AddressFamily::Inet,
        level: libc::SOL_IP,
        get: (SO_GET_INFO, SO_GET_ENTRIES),
        layout: blob::IPV4,
        what: ("IPT_SO_GET_INFO", "IPT_SO_GET_ENTRIES"),
    },
    Family {
        af: libc::AF_INET6 as u8,
        names: "/proc/thread-self/net/ip6_tables_names",
        domain: AddressFamily::Inet6,
        level: libc::SOL_IPV6,
        get: (SO_GET_INFO, SO_GET_ENTRIES),
        layout: blob::IPV6,
        what: ("IP6T_SO_GET_INFO", "IP6T_SO_GET_ENTRIES"),
    },
    // arptables-legacy: its options are registered for PF_INET too
    // (arp_tables.c arpt_sockopts), so an AF_INET socket at SOL_IP.
    Family {
        af: NFPROTO_ARP,
        names: "/proc/thread-self/net/arp_tables_names",
        domain: AddressFamily::Inet,
        level: libc::SOL_IP,
        get: (ARPT_SO_GET_INFO, ARPT_SO_GET_ENTRIES),
        layout: blob::ARP,
        what: ("ARPT_SO_GET_INFO", "ARPT_SO_GET_ENTRIES"),
    },
];

/// Every legacy table of both families. Err: a names file could not be
/// read (permission: only the namespace's root may read it).
pub fn read(buf: &mut [u8]) -> Result<Vec<RawXtTable>, String> {
    let mut tables = Vec::new();
    for family in &FAMILIES {
        let names = names(family.names)?;
        if names.is_empty() {
            continue;
        }
        // A raw socket, as iptables uses; it needs CAP_NET_RAW, the
        // getsockopt CAP_NET_ADMIN (do_ipt_get_ctl).
        let sock = socket(
            family.domain,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::Raw,
        );
        for name in names {
            let problem = match &sock {
                Ok(fd) => match read_table(fd, family, &name, buf) {
                    Ok(chains) => {
                        tables.push(RawXtTable {
                            family: family.af,
                            name,
                            chains,
                            problem: None,
                        });
                        continue;
                    }
                    Err(problem) => problem,
                },
                Err(e) => format!("socket: {}{}", e.desc(), advice(*e)),
            };
            tables.push(RawXtTable {
                family: family.af,
                problem: Some(format!(
                    "cannot read {}-legacy table {name}: {problem}",
                    if family.af == NFPROTO_ARP {
                        "arptables"
                    } else {
                        "iptables"
                    }
                )),
                name,
                chains: Vec::new(),
            });
        }
    }
    Ok(tables)
}

/// The table names a names file lists; empty when the file is absent
/// (the family's x_tables module is not loaded). open, read, close — no
/// stat and no second read: seq_read fills the buffer until the list
/// ends, so a short read is the whole file.
fn names(path: &str) -> Result<Vec<String>, String> {
    let fd = match open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(Vec::new()),
        Err(e) => return Err(names_problem(path, e)),
    };
    let mut text = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        match nix::unistd::read(&fd, &mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                text.extend_from_slice(&chunk[..n]);
                if n < chunk.len() {
                    break;
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(names_problem(path, e)),
        }
    }
    Ok(parse_names(&text))
}

/// One name a line; names longer than XT_TABLE_MAXNAMELEN - 1 cannot be
/// asked for and are skipped (the kernel never lists one).
fn parse_names(text: &[u8]) -> Vec<String> {
    text.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty() && line.len() < blob::TABLE_NAME_LEN)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect()
}

/// GET_INFO then GET_ENTRIES for one listed table, redone when the table
/// was replaced in between (get_entries answers EAGAIN when the size it
/// was asked for is no longer the table's).
fn read_table(
    fd: &OwnedFd,
    family: &Family,
    name: &str,
    buf: &mut [u8],
) -> Result<Vec<crate::raw::l3::RawXtChain>, String> {
    let (info_what, entries_what) = family.what;
    let fd = std::os::fd::AsFd::as_fd(fd);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut whole = [0u8; blob::GETINFO_LEN];
        let request = &mut whole[..family.layout.getinfo_len()];
        request[..name.len()].copy_from_slice(name.as_bytes());
        let len = getsockopt_in_out(fd, family.level, family.get.0, request)
            .map_err(|e| format!("{info_what}: {}{}", e.desc(), advice(e)))?;
        let info = blob::info(family.layout, &request[..len])
            .ok_or_else(|| format!("{info_what}: short answer ({len} bytes)"))?;
        let size = info.size as usize;
        if size > MAX_TABLE {
            return Err(format!("{size} bytes of entries, more than nsmap reads"));
        }
        let total = blob::GET_ENTRIES_LEN + size;
        let mut owned;
        let space: &mut [u8] = if total <= buf.len() {
            &mut buf[..total]
        } else {
            owned = vec![0u8; total];
            &mut owned[..]
        };
        space[..blob::GET_ENTRIES_LEN].fill(0);
        space[..name.len()].copy_from_slice(name.as_bytes());
        space[blob::TABLE_NAME_LEN..blob::TABLE_NAME_LEN + 4]
            .copy_from_slice(&info.size.to_ne_bytes());
        match getsockopt_in_out(fd, family.level, family.get.1, space) {
            Ok(_) => return blob::chains(family.layout, &info, &space[blob::GET_ENTRIES_LEN..]),
            Err(Errno::EAGAIN) if attempt < ATTEMPTS => continue,
            Err(e) => return Err(format!("{entries_what}: {}{}", e.desc(), advice(e))),
        }
    }
}

/// Why a names file could not be read: procfs makes them 0440, owned by
/// the namespace's root (xt_proto_init).
fn names_problem(path: &str, e: Errno) -> String {
    let todo = match e {
        Errno::EPERM | Errno::EACCES => " (only the namespace's root may read it); run as root",
        _ => "",
    };
    format!(
        "cannot read iptables-legacy tables: {path}: {}{todo}",
        e.desc()
    )
}

/// What to do about a socket or getsockopt errno, for the problem string.
fn advice(e: Errno) -> &'static str {
    match e {
        Errno::EPERM | Errno::EACCES => {
            " (needs CAP_NET_ADMIN and CAP_NET_RAW in the namespace); run as root"
        }
        _ => "",
    }
}

/// getsockopt(2) with a buffer that is both the question and the answer:
/// the x_tables GET options read the table name the caller wrote into the
/// buffer and overwrite it with a variable-length answer, which nix's typed
/// `getsockopt` cannot express. Returns the length the kernel wrote.
#[allow(unsafe_code)]
fn getsockopt_in_out(
    fd: BorrowedFd<'_>,
    level: i32,
    option: i32,
    buf: &mut [u8],
) -> Result<usize, Errno> {
    let mut len = libc::socklen_t::try_from(buf.len()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `buf` is a live, exclusively borrowed allocation of exactly
    // `len` bytes for the whole call, the kernel writes at most `len`
    // bytes into it and stores the length written in `len`, a valid
    // socklen_t on our stack; `fd` is an open socket borrowed for the call.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            option,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok((len as usize).min(buf.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_list_one_table_a_line() {
        assert_eq!(parse_names(b"filter\nnat\n"), vec!["filter", "nat"]);
        assert!(parse_names(b"").is_empty());
        let long = [b'x'; 40];
        assert!(parse_names(&long).is_empty(), "cannot be asked for");
    }
}
