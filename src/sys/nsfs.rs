//! Opening namespace files and proving they are network namespaces.
//!
//! Any path can lie: a /run/netns entry may be a stale regular file, a path
//! inside a container's root may be a planted symlink, an fd may point at a
//! namespace of another type. So every file nsmap uses as a network
//! namespace is opened, then checked to be on nsfs and, by `NS_GET_NSTYPE`,
//! of type CLONE_NEWNET. Every nsfs file has the same device number (one
//! kernel-internal superblock), so once one file has been proven on nsfs
//! by `fstatfs`, the `fstat` that reads a file's inode proves the
//! filesystem too — one syscall less for each of thousands. This file
//! holds nsmap's only `unsafe` code: the two nsfs ioctls
//! (include/uapi/linux/nsfs.h), which nix cannot wrap safely because their
//! numbers are not in libc.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, open, openat2};
use nix::sys::stat::{Mode, fstat};
use nix::sys::statfs::{NSFS_MAGIC, fstatfs};

const NSIO: u8 = 0xb7;
// NS_GET_NSTYPE = _IO(NSIO, 0x3): returns the CLONE_NEW* type of the namespace.
nix::ioctl_none!(ns_get_nstype, NSIO, 0x3);
// NS_GET_ID = _IOR(NSIO, 13, __u64): the 64-bit namespace id (Linux 6.18+).
nix::ioctl_read!(ns_get_id, NSIO, 13, u64);

/// An open, validated network namespace file.
#[derive(Debug)]
pub struct NetnsFile {
    pub file: File,
    pub inode: u64,
}

/// Why a path is not usable as a network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotNetns {
    /// open/fstat failed with this errno (ENOENT: it vanished; EACCES: no
    /// permission; ELOOP: a symlink where none was allowed).
    Io(Errno),
    /// Not on nsfs: a regular file, a directory, anything else.
    NotNsfs,
    /// A namespace, but not a network namespace (the CLONE_NEW* type).
    OtherType(i32),
}

impl NotNetns {
    fn from_io(e: &std::io::Error) -> NotNetns {
        NotNetns::Io(crate::sys::errno_of(e))
    }
}

/// Where a namespace file is, and how much the path can be trusted.
#[derive(Debug, Clone, Copy)]
pub enum NsPath<'a> {
    /// A `/proc/PID/ns/net`-style link: proc owns it, it always leads to a
    /// namespace, opening it has no side effects.
    ProcLink(&'a Path),
    /// A path someone else may control (a bind mount, `/proc/PID/fd/N`, a
    /// /run/netns entry). `follow: false` refuses a symlink as the last
    /// component (/run/netns entries must be mount points, never links).
    Untrusted { path: &'a Path, follow: bool },
    /// A path inside another process's root (a mount only its mount
    /// namespace sees), resolved as if that root were `/`.
    InRoot { pid: u32, path: &'a Path },
    /// An entry of a directory only root can change (/run/netns): opened
    /// directly, without following a symlink and without blocking (a FIFO
    /// left there cannot hang us), saving the O_PATH round trip.
    RootOwned(&'a Path),
}

/// Opens a namespace file and proves it is a network namespace.
///
/// Untrusted paths are first opened `O_PATH` (no driver open, so a FIFO or
/// a device planted there can neither block nsmap nor react) and checked to
/// be on nsfs; only then are they opened for real, through our own fd.
/// Paths inside a container's root are resolved with `RESOLVE_IN_ROOT`, so
/// an absolute symlink there cannot point into the host.
pub fn open_netns(at: NsPath<'_>) -> Result<NetnsFile, NotNetns> {
    let probe = match at {
        NsPath::ProcLink(path) => {
            let file = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY)
                .open(path)
                .map_err(|e| NotNetns::from_io(&e))?;
            return validate(file);
        }
        NsPath::RootOwned(path) => {
            let file = OpenOptions::new()
                .read(true)
                .custom_flags(
                    libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
                )
                .open(path)
                .map_err(|e| NotNetns::from_io(&e))?;
            return validate(file);
        }
        NsPath::Untrusted { path, follow } => {
            let mut flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
            if !follow {
                flags |= OFlag::O_NOFOLLOW;
            }
            open(path, flags, Mode::empty()).map_err(NotNetns::Io)?
        }
        NsPath::InRoot { pid, path } => {
            let root = open(
                Path::new(&format!("/proc/{pid}/root")),
                OFlag::O_PATH | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(NotNetns::Io)?;
            let relative = path.strip_prefix("/").unwrap_or(path);
            let how = OpenHow::new()
                .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
                .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
            openat2(&root, relative, how).map_err(NotNetns::Io)?
        }
    };
    let meta = fstat(probe.as_fd()).map_err(NotNetns::Io)?;
    if !on_nsfs(probe.as_fd(), meta.st_dev)? {
        return Err(NotNetns::NotNsfs);
    }
    let reopen = format!("/proc/thread-self/fd/{}", probe.as_raw_fd());
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(&reopen)
        .map_err(|e| NotNetns::from_io(&e))?;
    drop(probe);
    validate(file)
}

fn validate(file: File) -> Result<NetnsFile, NotNetns> {
    let meta = fstat(file.as_fd()).map_err(NotNetns::Io)?;
    if !on_nsfs(file.as_fd(), meta.st_dev)? {
        return Err(NotNetns::NotNsfs);
    }
    let nstype = nstype(file.as_fd()).map_err(NotNetns::Io)?;
    if nstype != libc::CLONE_NEWNET {
        return Err(NotNetns::OtherType(nstype));
    }
    Ok(NetnsFile {
        file,
        inode: meta.st_ino,
    })
}

/// nsfs's device number, from the first file `fstatfs` proved on nsfs.
static NSFS_DEV: OnceLock<libc::dev_t> = OnceLock::new();

/// Whether `fd`, whose `st_dev` is `dev`, is on nsfs: a device number
/// names one superblock, so it matches nsfs's exactly when it is nsfs.
fn on_nsfs(fd: BorrowedFd<'_>, dev: libc::dev_t) -> Result<bool, NotNetns> {
    if let Some(&nsfs) = NSFS_DEV.get() {
        return Ok(dev == nsfs);
    }
    let nsfs = fstatfs(fd).map_err(NotNetns::Io)?.filesystem_type() == NSFS_MAGIC;
    if nsfs {
        let _ = NSFS_DEV.set(dev);
    }
    Ok(nsfs)
}

/// The inode of the network namespace at `path` (a `--ns /path` selector),
/// None when the path is not one.
pub fn path_inode(path: &[u8]) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = Path::new(std::ffi::OsStr::from_bytes(path));
    open_netns(NsPath::Untrusted { path, follow: true })
        .ok()
        .map(|ns| ns.inode)
}

/// The CLONE_NEW* type of an nsfs file.
pub fn nstype(fd: BorrowedFd<'_>) -> Result<i32, Errno> {
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd's inode;
    // the fd is borrowed, so it stays open for the call.
    unsafe { ns_get_nstype(fd.as_raw_fd()) }
}

/// The namespace's 64-bit id, or None where the kernel lacks NS_GET_ID.
pub fn ns_id(fd: BorrowedFd<'_>) -> Option<u64> {
    let mut id: u64 = 0;
    // SAFETY: NS_GET_ID writes exactly one u64 to the pointer, which points
    // at a live, aligned local; the fd is borrowed for the call.
    let res = unsafe { ns_get_id(fd.as_raw_fd(), &mut id) };
    res.ok().map(|_| id)
}

/// Parses the `net:[4026531840]` text of a namespace link.
pub fn parse_ns_link(text: &[u8], kind: &str) -> Option<u64> {
    let rest = text.strip_prefix(kind.as_bytes())?.strip_prefix(b":[")?;
    let digits = rest.strip_suffix(b"]")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn namespace_links_parse_exactly(
            inode in proptest::num::u64::ANY,
            junk in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            proptest::prop_assert_eq!(parse_ns_link(format!("net:[{inode}]").as_bytes(), "net"), Some(inode));
            let _ = parse_ns_link(&junk, "net");
        }
    }

    #[test]
    fn parses_namespace_links() {
        assert_eq!(parse_ns_link(b"net:[4026531840]", "net"), Some(4026531840));
        assert_eq!(parse_ns_link(b"mnt:[4026531841]", "mnt"), Some(4026531841));
        assert_eq!(parse_ns_link(b"mnt:[4026531841]", "net"), None);
        assert_eq!(parse_ns_link(b"net:[]", "net"), None);
        assert_eq!(parse_ns_link(b"net:[12a]", "net"), None);
        assert_eq!(parse_ns_link(b"net:[99999999999999999999999]", "net"), None);
        assert_eq!(parse_ns_link(b"/run/netns/x", "net"), None);
    }

    #[test]
    fn own_namespace_validates() {
        let ns = open_netns(NsPath::ProcLink(Path::new("/proc/thread-self/ns/net")))
            .expect("own netns opens");
        assert!(ns.inode > 0);
        assert_eq!(nstype(ns.file.as_fd()), Ok(libc::CLONE_NEWNET));
    }

    #[test]
    fn regular_files_and_other_namespaces_are_refused() {
        assert_eq!(
            open_netns(NsPath::Untrusted {
                path: Path::new("/proc/self/status"),
                follow: true
            })
            .err(),
            Some(NotNetns::NotNsfs)
        );
        assert_eq!(
            open_netns(NsPath::ProcLink(Path::new("/proc/thread-self/ns/uts"))).err(),
            Some(NotNetns::OtherType(libc::CLONE_NEWUTS))
        );
        assert_eq!(
            open_netns(NsPath::Untrusted {
                path: Path::new("/nonexistent/nsmap"),
                follow: true
            })
            .err(),
            Some(NotNetns::Io(Errno::ENOENT))
        );
    }
}
