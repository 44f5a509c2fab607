//! Finding every network namespace on the host, deduplicated by nsfs inode.
//!
//! Sources (any one is enough to know a namespace exists):
//! 1. `/proc/PID/ns/net`, and `/proc/PID/task/TID/ns/net` where a thread
//!    differs from its process (a thread can setns alone);
//! 2. `/proc/PID/fd/*` pointing at a namespace (kept alive only by an fd);
//! 3. nsfs bind mounts in every mount namespace (`/proc/PID/mountinfo`, read
//!    once per mount namespace), opened through `/proc/PID/root/…` when the
//!    mount is not visible from nsmap's own mount namespace;
//! 4. `/run/netns` (and `/var/run/netns` if it is another directory), whose
//!    entry names are the `ip netns` names;
//! 5. nsmap's own namespace.
//!
//! Every namespace is then opened once, from the cheapest source that works,
//! and validated (see [`super::nsfs`]). The open files are what the scanner
//! enters; dropping them (end of scan) unpins the namespaces. Processes and
//! mounts that vanish while we look are normal: they are skipped, and a
//! namespace whose every source vanished becomes a warning.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::{CString, OsStr};
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{OFlag, readlinkat};
use nix::sys::resource::{Resource, getrlimit};
use nix::sys::stat::Mode;

use crate::doctor::fix::remove_stale;
use crate::error::Error;
use crate::name::Name;
use crate::raw::RawNamespace;
use crate::snapshot::{Holder, ThreadRef, Warning, WarningCode};
use crate::sys::mountinfo::netns_mounts;
use crate::sys::nsfs::{NetnsFile, NotNetns, NsPath, ns_id, open_netns, parse_ns_link};

/// Directories where `ip netns` keeps its named namespaces.
const NETNS_DIRS: &[&str] = &["/run/netns", "/var/run/netns"];

/// What discovery found: namespaces (each opened when possible) and what it
/// could not see.
#[derive(Debug)]
pub struct Discovered {
    pub namespaces: Vec<FoundNetns>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug)]
pub struct FoundNetns {
    /// Identity and discovery data; `links`/`addrs` are filled by the scan.
    pub raw: RawNamespace,
    /// The open namespace, None when no source could be opened. Shared:
    /// the scan's dump workers already hold it (see [`discover_streaming`]).
    pub file: Option<Arc<File>>,
}

/// A namespace discovery has just opened, handed out at once so the scan
/// can dump it while discovery goes on.
pub struct Opened<'a> {
    pub inode: u64,
    /// nsmap's own namespace.
    pub current: bool,
    pub file: &'a Arc<File>,
}

/// A place a namespace can be opened from, in order of preference
/// (cheapest and least likely to vanish first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    /// A mount visible in nsmap's own mount namespace.
    Mount(PathBuf),
    Process(u32),
    Thread(u32, u32),
    Fd(u32, u32),
    /// A mount in another mount namespace, through `/proc/PID/root`.
    ForeignMount(u32, PathBuf),
}

impl Source {
    /// Opens and validates the namespace this source leads to, as carefully
    /// as its path deserves (see [`NsPath`]).
    fn open(&self) -> Result<NetnsFile, NotNetns> {
        match self {
            Source::Mount(path) => open_netns(NsPath::Untrusted { path, follow: true }),
            Source::Process(pid) => {
                open_netns(NsPath::ProcLink(Path::new(&format!("/proc/{pid}/ns/net"))))
            }
            Source::Thread(pid, tid) => open_netns(NsPath::ProcLink(Path::new(&format!(
                "/proc/{pid}/task/{tid}/ns/net"
            )))),
            // The process may swap what fd N is between our readlink and open.
            Source::Fd(pid, fd) => open_netns(NsPath::Untrusted {
                path: Path::new(&format!("/proc/{pid}/fd/{fd}")),
                follow: true,
            }),
            Source::ForeignMount(pid, path) => open_netns(NsPath::InRoot { pid: *pid, path }),
        }
    }
}

#[derive(Debug, Default)]
struct Found {
    pids: BTreeSet<u32>,
    threads: BTreeSet<ThreadRef>,
    holders: BTreeSet<Holder>,
    names: BTreeSet<Name>,
    mounts: BTreeSet<Name>,
    sources: BTreeSet<Source>,
    file: Option<Arc<File>>,
    /// Opened, but past the fd ceiling: listed unscanned, not vanished.
    past_ceiling: bool,
}

/// What the /proc walk needs to know, shared by its threads.
struct WalkContext {
    own_pid: u32,
    own_mnt: Option<u64>,
    /// Mount namespaces whose mountinfo some thread has read (nsmap's own
    /// is read before the walk).
    seen_mnt: Mutex<HashSet<u64>>,
}

/// What one thread of the /proc walk found.
#[derive(Default)]
struct ProcWalk {
    found: BTreeMap<u64, Found>,
    /// fds that read as a path rather than `net:[…]`: (pid, fd, target).
    /// One opened through a bind mount reads as the mount point, or `/`
    /// once unmounted; only those are examined after the walk.
    path_fds: Vec<(u32, u32, Vec<u8>)>,
    /// Every nsfs mount point seen in any mountinfo.
    nsfs_points: HashSet<Vec<u8>>,
    /// Processes whose namespace link could not be read (EACCES/EPERM).
    denied: Vec<u32>,
    /// Reused for every mountinfo read (they run to tens of KiB).
    buf: Vec<u8>,
}

struct Walker<'a> {
    found: BTreeMap<u64, Found>,
    warnings: Vec<Warning>,
    keeper: Keeper<'a>,
    /// Namespaces left unopened for want of file descriptors.
    out_of_fds: usize,
}

/// Where every namespace file discovery opens goes: kept in its record
/// and handed out at once — or, past the fd ceiling, closed.
struct Keeper<'a> {
    own_inode: u64,
    /// Namespace files are kept below this fd number (see [`FD_HEADROOM`]).
    fd_ceiling: i32,
    /// Told of every namespace as soon as it is open.
    opened: &'a mut dyn FnMut(Opened<'_>),
}

/// File descriptors discovery leaves free for the rest of the scan (a
/// netlink socket per namespace being dumped, /proc reads): it holds one
/// per namespace, and on a host with more namespaces than the fd limit
/// allows, scanning most of them beats scanning none.
const FD_HEADROOM: u64 = 64;

impl Keeper<'_> {
    fn new(own_inode: u64, opened: &mut dyn FnMut(Opened<'_>)) -> Keeper<'_> {
        let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
        Keeper {
            own_inode,
            fd_ceiling: i32::try_from(limit.saturating_sub(FD_HEADROOM)).unwrap_or(i32::MAX),
            opened,
        }
    }

    /// Keeps `file` as `inode`'s open file (unless it has one) and hands
    /// it out — or, past the fd ceiling, closes it and marks the record,
    /// so that it is listed unscanned.
    fn keep(&mut self, found: &mut Found, inode: u64, file: File) {
        if found.file.is_some() {
            return;
        }
        if file.as_raw_fd() >= self.fd_ceiling {
            found.past_ceiling = true;
            return;
        }
        let file = found.file.insert(Arc::new(file));
        (self.opened)(Opened {
            inode,
            current: inode == self.own_inode,
            file,
        });
    }
}

/// Processes per /proc-walk thread below which one thread is cheaper.
const PIDS_PER_THREAD: usize = 128;

/// Finds every network namespace this process can see. Fails only when
/// /proc itself is unusable; everything else is a warning.
pub fn discover() -> Result<Discovered, Error> {
    discover_streaming(&mut || {}, &mut |_| {})
}

/// [`discover`], telling `opened` of each namespace the moment it is open
/// (nsmap's own first), so the scan dumps while discovery goes on. `hook`
/// runs after the /proc walk, before /run/netns is read and the other
/// namespaces are opened (tests make namespaces vanish there).
pub fn discover_streaming(
    hook: &mut dyn FnMut(),
    opened: &mut dyn FnMut(Opened<'_>),
) -> Result<Discovered, Error> {
    let own = open_netns(NsPath::ProcLink(Path::new("/proc/thread-self/ns/net"))).map_err(|e| {
        Error::Proc {
            what: "open /proc/thread-self/ns/net".into(),
            reason: format!("{e:?}"),
        }
    })?;
    let own_inode = own.inode;
    let own_file = Arc::new(own.file);
    opened(Opened {
        inode: own_inode,
        current: true,
        file: &own_file,
    });
    let context = WalkContext {
        own_pid: std::process::id(),
        own_mnt: readlink_ns("/proc/self/ns/mnt", "mnt").ok(),
        seen_mnt: Mutex::new(HashSet::new()),
    };
    let proc_dir = fs::read_dir("/proc").map_err(|e| Error::Proc {
        what: "read /proc".into(),
        reason: e.to_string(),
    })?;
    let pids: Vec<u32> = proc_dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
        .collect();
    // nsmap's own mount namespace first, from /proc/self: its paths are
    // the ones valid here (another process of it may be chrooted).
    let mut own_mounts = ProcWalk::default();
    if let Some(mnt) = context.own_mnt
        && own_mounts.read_mountinfo("/proc/self/mountinfo")
    {
        own_mounts.record_mounts(None);
        if let Ok(mut seen) = context.seen_mnt.lock() {
            seen.insert(mnt);
        }
    }
    let mut walk = walk_processes(&context, &pids);
    walk.merge(own_mounts);
    walk.type_path_fds();
    let mut denied = std::mem::take(&mut walk.denied);
    denied.sort_unstable();
    let mut walker = Walker {
        found: walk.found,
        warnings: Vec::new(),
        keeper: Keeper::new(own_inode, opened),
        out_of_fds: 0,
    };
    walker.found.entry(own_inode).or_default().file = Some(own_file);
    hook();
    walker.netns_dirs();

    let host = match readlink_ns("/proc/1/ns/net", "net") {
        Ok(inode) => Some(inode),
        Err(e) => kernel_thread_netns().or_else(|| {
            walker.warnings.push(Warning::new(
                None,
                WarningCode::HostUnknown,
                format!(
                    "cannot read /proc/1/ns/net ({}): the host namespace cannot be identified, so none is marked as host (nsmap runs in a container or sandbox?)",
                    e.desc()
                ),
            ));
            None
        }),
    };
    if !denied.is_empty() {
        let root = nix::unistd::geteuid().is_root();
        let count = denied.len();
        let sample: Vec<String> = denied.iter().take(8).map(u32::to_string).collect();
        let more = if count > sample.len() { ", …" } else { "" };
        let message = if root {
            format!(
                "cannot read the network namespace of {count} process(es) even as root (pid {}{more}): a security module or sandbox denies it; namespaces only they use are missing",
                sample.join(", ")
            )
        } else {
            format!(
                "cannot see the network namespace of {count} process(es) of other users (permission denied); run as root to see every namespace"
            )
        };
        walker
            .warnings
            .push(Warning::new(None, WarningCode::PermissionDenied, message));
    }
    Ok(walker.finish(own_inode, host))
}

/// Walks /proc on a few threads (reading /proc is CPU time in the kernel,
/// mostly generating mountinfo text) and merges what they found. One core
/// is left to the scan's dump worker, which runs meanwhile.
fn walk_processes(context: &WalkContext, pids: &[u32]) -> ProcWalk {
    let threads = crate::sys::spare_cores()
        .min(pids.len() / PIDS_PER_THREAD)
        .max(1);
    if threads == 1 {
        let mut walk = ProcWalk::default();
        pids.iter().for_each(|&pid| walk.process(context, pid));
        return walk;
    }
    let walk_chunk = |chunk: &[u32]| {
        let mut walk = ProcWalk::default();
        chunk.iter().for_each(|&pid| walk.process(context, pid));
        walk
    };
    let parts: Vec<ProcWalk> = std::thread::scope(|s| {
        let handles: Vec<_> = pids
            .chunks(pids.len().div_ceil(threads))
            .map(|chunk| {
                // A thread the system refuses (pids limit) is not fatal:
                // this thread walks that chunk itself.
                std::thread::Builder::new()
                    .spawn_scoped(s, move || walk_chunk(chunk))
                    .map_err(|_| chunk)
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().unwrap_or_default(),
                Err(chunk) => walk_chunk(chunk),
            })
            .collect()
    });
    let mut merged = ProcWalk::default();
    for part in parts {
        merged.merge(part);
    }
    merged
}

impl ProcWalk {
    fn merge(&mut self, other: ProcWalk) {
        for (inode, found) in other.found {
            let entry = self.found.entry(inode).or_default();
            entry.pids.extend(found.pids);
            entry.threads.extend(found.threads);
            entry.holders.extend(found.holders);
            entry.mounts.extend(found.mounts);
            entry.sources.extend(found.sources);
        }
        self.path_fds.extend(other.path_fds);
        self.nsfs_points.extend(other.nsfs_points);
        self.denied.extend(other.denied);
    }

    fn process(&mut self, context: &WalkContext, pid: u32) {
        let net = match readlink_ns(&format!("/proc/{pid}/ns/net"), "net") {
            Ok(inode) => inode,
            Err(Errno::EACCES) | Err(Errno::EPERM) => {
                self.denied.push(pid);
                return;
            }
            Err(_) => return, // exited meanwhile, or a kernel thread
        };
        let entry = self.found.entry(net).or_default();
        entry.pids.insert(pid);
        entry.sources.insert(Source::Process(pid));
        // nsmap's own threads enter namespaces to dump them while this
        // walk runs: they are not holders, nor are its own fds.
        if pid != context.own_pid {
            self.threads(pid, net);
            self.fds(pid);
        }
        self.mounts(context, pid);
    }

    /// Threads that entered another namespace than their process.
    fn threads(&mut self, pid: u32, process_net: u64) {
        let task = format!("/proc/{pid}/task");
        // Its link count is 2 + the number of threads: most processes have
        // one thread, and a stat is cheaper than listing the directory.
        if fs::metadata(&task).is_ok_and(|m| m.nlink() <= 3) {
            return;
        }
        let Ok(dir) = fs::read_dir(task) else {
            return;
        };
        for entry in dir.filter_map(|e| e.ok()) {
            let Some(tid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if tid == pid {
                continue;
            }
            if let Ok(net) = readlink_ns(&format!("/proc/{pid}/task/{tid}/ns/net"), "net")
                && net != process_net
            {
                let entry = self.found.entry(net).or_default();
                entry.threads.insert(ThreadRef { pid, tid });
                entry.sources.insert(Source::Thread(pid, tid));
            }
        }
    }

    /// File descriptors that hold a namespace open. An fd opened through a
    /// bind mount reads as the mount's path (or "/" once unmounted), not
    /// `net:[…]`, so path-like targets are stat'ed and kept when on nsfs.
    fn fds(&mut self, pid: u32) {
        let Ok(mut dir) = Dir::open(
            format!("/proc/{pid}/fd").as_str(),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            return;
        };
        let fds: Vec<(u32, CString)> = dir
            .iter()
            .filter_map(|e| e.ok())
            .filter_map(|entry| {
                let name = entry.file_name();
                let fd = name.to_str().ok()?.parse::<u32>().ok()?;
                Some((fd, name.to_owned()))
            })
            .collect();
        for (fd, name) in fds {
            // Relative to the listed directory: each path lookup through
            // /proc/PID/ costs a revalidation of the process, thousands of
            // times per scan.
            let Ok(target) = readlinkat(dir.as_fd(), name.as_c_str()) else {
                continue;
            };
            let target = target.as_bytes();
            if let Some(net) = parse_ns_link(target, "net") {
                let entry = self.found.entry(net).or_default();
                entry.holders.insert(Holder { pid, fd });
                entry.sources.insert(Source::Fd(pid, fd));
            } else if target.starts_with(b"/") {
                // Not stat'ed here: a stat of every open file would touch
                // every filesystem, and one dead NFS mount would hang us.
                self.path_fds.push((pid, fd, target.to_vec()));
            }
        }
    }

    /// nsfs mounts of this process's mount namespace, once per namespace.
    fn mounts(&mut self, context: &WalkContext, pid: u32) {
        let Ok(mnt) = readlink_ns(&format!("/proc/{pid}/ns/mnt"), "mnt") else {
            return;
        };
        let seen = |mnt| {
            context
                .seen_mnt
                .lock()
                .map(|s| s.contains(&mnt))
                .unwrap_or(true)
        };
        if seen(mnt) || !self.read_mountinfo(&format!("/proc/{pid}/mountinfo")) {
            return;
        }
        // Marked only once read: if this process exited meanwhile, another
        // one of the same mount namespace gets its turn.
        let first = context
            .seen_mnt
            .lock()
            .map(|mut s| s.insert(mnt))
            .unwrap_or(false);
        if first {
            self.record_mounts(Some(pid));
        }
    }

    /// Reads a mountinfo file into `buf` in one go (seq_file regenerates
    /// the text on every read call).
    fn read_mountinfo(&mut self, path: &str) -> bool {
        self.buf.clear();
        self.buf.reserve(64 * 1024);
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut self.buf))
            .is_ok()
    }

    /// Records the nsfs mounts in `buf`: nsmap's own (`pid` None) by their
    /// path, another mount namespace's as `/proc/PID/root/PATH` — the path
    /// that reaches it from here, never to be mistaken for a host path.
    fn record_mounts(&mut self, pid: Option<u32>) {
        for mount in netns_mounts(&self.buf) {
            let path = PathBuf::from(OsStr::from_bytes(&mount.mount_point));
            let entry = self.found.entry(mount.inode).or_default();
            match pid {
                None => {
                    entry.mounts.insert(Name::from_bytes(&mount.mount_point));
                    entry.sources.insert(Source::Mount(path));
                }
                Some(pid) => {
                    let mut shown = format!("/proc/{pid}/root").into_bytes();
                    shown.extend_from_slice(&mount.mount_point);
                    entry.mounts.insert(Name::from_bytes(&shown));
                    entry.sources.insert(Source::ForeignMount(pid, path));
                }
            }
            self.nsfs_points.insert(mount.mount_point);
        }
    }

    /// fds that read as a path: those whose path is `/` or an nsfs mount
    /// point are opened (carefully) and kept when they are network
    /// namespaces.
    fn type_path_fds(&mut self) {
        for (pid, fd, target) in std::mem::take(&mut self.path_fds) {
            if target != b"/" && !self.nsfs_points.contains(&target) {
                continue;
            }
            if let Ok(ns) = Source::Fd(pid, fd).open() {
                let entry = self.found.entry(ns.inode).or_default();
                entry.holders.insert(Holder { pid, fd });
                entry.sources.insert(Source::Fd(pid, fd));
            }
        }
    }
}

impl Walker<'_> {
    /// `ip netns` names. An entry that is not a network namespace mount is a
    /// warning naming the path; links are never followed.
    fn netns_dirs(&mut self) {
        let mut seen_dirs = HashSet::new();
        for dir in NETNS_DIRS {
            let Ok(meta) = fs::metadata(dir) else {
                continue;
            };
            if !seen_dirs.insert((meta.dev(), meta.ino())) {
                continue;
            }
            let Ok(entries) = fs::read_dir(dir) else {
                self.warnings.push(Warning::new(
                    None,
                    WarningCode::PermissionDenied,
                    format!("cannot list {dir}: ip netns names are missing; run as root"),
                ));
                continue;
            };
            let mut entries: Vec<PathBuf> =
                entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            entries.sort();
            // Only root can plant anything in a root-owned, not group- or
            // world-writable directory: its entries need less caution.
            let root_owned = meta.uid() == 0 && meta.mode() & 0o022 == 0;
            for path in entries {
                self.netns_entry(&path, root_owned);
            }
        }
    }

    fn netns_entry(&mut self, path: &Path, root_owned: bool) {
        let shown = Name::from_bytes(path.as_os_str().as_bytes());
        let name = Name::from_bytes(path.file_name().map(|n| n.as_bytes()).unwrap_or_default());
        let stale = |what: &str| {
            Warning::new(
                None,
                WarningCode::StaleNetnsEntry,
                format!(
                    "{} is {what}, not a network namespace mount (left by an unclean `ip netns delete`?); remove it with `{}`",
                    shown.as_str(),
                    remove_stale(&shown, what)
                ),
            )
            .with_path(shown.clone())
        };
        let at = if root_owned {
            NsPath::RootOwned(path)
        } else {
            NsPath::Untrusted {
                path,
                follow: false,
            }
        };
        match open_netns(at) {
            Ok(ns) => {
                let entry = self.found.entry(ns.inode).or_default();
                entry.names.insert(name);
                entry.mounts.insert(shown);
                self.keeper.keep(entry, ns.inode, ns.file);
            }
            Err(NotNetns::Io(Errno::ELOOP)) => {
                self.warnings.push(stale("a symbolic link (not followed)"))
            }
            Err(NotNetns::Io(Errno::ENOENT)) => {} // deleted meanwhile
            // Out of file descriptors: nothing wrong with the entry. Its
            // namespace is known from mountinfo, by this mount point;
            // `finish` reports it unopened.
            Err(NotNetns::Io(Errno::EMFILE | Errno::ENFILE)) => {
                if let Some(found) = self.found.values_mut().find(|f| f.mounts.contains(&shown)) {
                    found.names.insert(name);
                    found.past_ceiling = true;
                }
            }
            Err(NotNetns::Io(Errno::EACCES)) | Err(NotNetns::Io(Errno::EPERM)) => {
                self.warnings.push(Warning::new(
                    None,
                    WarningCode::PermissionDenied,
                    format!(
                        "cannot open {} (permission denied); run as root",
                        shown.as_str()
                    ),
                ))
            }
            Err(NotNetns::Io(e)) => self
                .warnings
                .push(stale(&format!("unreadable ({})", e.desc()))),
            Err(NotNetns::NotNsfs) => {
                let what = match fs::symlink_metadata(path) {
                    Ok(m) if m.is_symlink() => "a symbolic link (not followed)",
                    Ok(m) if m.is_dir() => "a directory",
                    Ok(m) if m.is_file() && m.len() == 0 => "an empty file",
                    Ok(m) if m.is_file() => "a regular file",
                    _ => "a file",
                };
                self.warnings.push(stale(what));
            }
            Err(NotNetns::OtherType(t)) => self.warnings.push(stale(&format!(
                "a mount of a {} namespace",
                namespace_type_name(t)
            ))),
        }
    }

    /// Opens each namespace once and builds the records.
    fn finish(mut self, own_inode: u64, host: Option<u64>) -> Discovered {
        let mut namespaces = Vec::with_capacity(self.found.len());
        for (inode, mut found) in std::mem::take(&mut self.found) {
            let mut last_error = None;
            if found.file.is_none() {
                for source in &found.sources {
                    match source.open() {
                        Ok(ns) if ns.inode == inode => {
                            self.keeper.keep(&mut found, inode, ns.file);
                            break;
                        }
                        Ok(_) => last_error = Some(Errno::ESTALE), // moved meanwhile
                        Err(NotNetns::Io(Errno::EMFILE | Errno::ENFILE)) => {
                            found.past_ceiling = true;
                        }
                        Err(NotNetns::Io(e)) => last_error = Some(e),
                        Err(_) => last_error = Some(Errno::EINVAL),
                    }
                }
            }
            if found.file.is_none() {
                match last_error {
                    // Known to exist but not openable: listed, not scanned.
                    _ if found.past_ceiling => self.out_of_fds += 1,
                    Some(Errno::EACCES) | Some(Errno::EPERM) => {}
                    _ => {
                        self.warnings.push(Warning::new(
                            Some(inode),
                            WarningCode::Vanished,
                            format!("net:[{inode}] vanished during the scan (its last process exited or it was unmounted)"),
                        ));
                        continue;
                    }
                }
            }
            // `process` is filled in by attribution, which reads every
            // process anyway.
            let process = None;
            namespaces.push(FoundNetns {
                raw: RawNamespace {
                    inode,
                    id: found.file.as_ref().and_then(|f| ns_id(f.as_fd())),
                    current: inode == own_inode,
                    host: Some(inode) == host,
                    names: found.names.into_iter().collect(),
                    mounts: found.mounts.into_iter().collect(),
                    pids: found.pids.into_iter().collect(),
                    threads: found.threads.into_iter().collect(),
                    holders: found.holders.into_iter().collect(),
                    process,
                    ..RawNamespace::default()
                },
                file: found.file,
            });
        }
        if self.out_of_fds > 0 {
            self.warnings
                .push(out_of_fds_warning(self.out_of_fds, "open"));
        }
        Discovered {
            namespaces,
            warnings: self.warnings,
        }
    }
}

/// The one warning for every namespace a scan could not `what` (open,
/// dump) for want of file descriptors.
pub fn out_of_fds_warning(count: usize, what: &str) -> Warning {
    let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft);
    Warning::new(
        None,
        WarningCode::ScanFailed,
        format!(
            "cannot {what} {count} network namespace(s): out of file descriptors (limit {limit}), so they are listed without interfaces; a scan holds about one per namespace: raise the limit (`ulimit -n`, or LimitNOFILE= for a service) and rescan"
        ),
    )
}

/// The namespace of kthreadd, when PID 1's cannot be read. Kernel threads
/// always run in the initial namespaces (init_nsproxy), so this is exact,
/// not a guess — provided PID 2 really is the kernel's kthreadd (flag
/// PF_KTHREAD, parent 0), which is only so in the initial PID namespace.
fn kernel_thread_netns() -> Option<u64> {
    const PF_KTHREAD: u32 = 0x0020_0000;
    let stat = procfs::process::Process::new(2).ok()?.stat().ok()?;
    if stat.comm != "kthreadd" || stat.ppid != 0 || stat.flags & PF_KTHREAD == 0 {
        return None;
    }
    readlink_ns("/proc/2/ns/net", "net").ok()
}

/// Reads a `/proc/…/ns/*` link and returns the namespace inode.
fn readlink_ns(path: &str, kind: &str) -> Result<u64, Errno> {
    match fs::read_link(path) {
        Ok(target) => parse_ns_link(target.as_os_str().as_bytes(), kind).ok_or(Errno::EINVAL),
        Err(e) => Err(crate::sys::errno_of(&e)),
    }
}

fn namespace_type_name(t: i32) -> &'static str {
    match t {
        libc::CLONE_NEWNS => "mount",
        libc::CLONE_NEWUTS => "uts",
        libc::CLONE_NEWIPC => "ipc",
        libc::CLONE_NEWUSER => "user",
        libc::CLONE_NEWPID => "pid",
        libc::CLONE_NEWCGROUP => "cgroup",
        libc::CLONE_NEWTIME => "time",
        _ => "non-network",
    }
}
