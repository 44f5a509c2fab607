//! One scan: discover namespaces, dump each one's links and addresses on
//! its own rtnetlink socket, then ask the few RTM_GETNSID questions that
//! resolving peers needs.
//!
//! `setns(CLONE_NEWNET)` moves only the calling thread, and a socket stays
//! in the namespace it was created in, so worker threads of our own (never
//! a shared pool) enter a namespace, open its socket, dump, and move on; the
//! main thread never leaves nsmap's namespace. Sockets and namespace files
//! live only until the scan returns: holding them would pin deleted
//! namespaces (and their host-side veths).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use nix::errno::Errno;
use nix::sched::{CloneFlags, setns};
use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::error::Error;
use crate::raw::{RAW_SCHEMA_VERSION, RawAddr, RawLink, RawNamespace, RawNsid, RawScan};
use crate::resolve::plan_nsid_queries;
use crate::snapshot::{Phases, ScanInfo, Warning, WarningCode};
use crate::sys::discover::{FoundNetns, discover_with_hook};
use crate::sys::netlink::{NlError, RECV_BUF, RtSocket};

/// Candidates asked per unresolved nsid in each RTM_GETNSID round; each
/// round only asks what the previous ones left open, the usual host needs
/// one, and the last round asks every remaining candidate.
const NSID_ROUNDS: [Option<usize>; 5] = [Some(1), Some(4), Some(16), Some(64), None];

/// How a scan runs. Every field has a sensible default.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Worker threads for the per-namespace dumps; None = one per core.
    pub threads: Option<usize>,
}

/// Scans the host: every namespace nsmap can see, with its interfaces.
/// Fails only when /proc is unusable or nsmap's own namespace cannot be
/// dumped; every other problem is a warning in the result.
pub fn scan(options: &ScanOptions) -> Result<RawScan, Error> {
    scan_with_hook(options, &mut || {})
}

/// [`scan`] with a hook run after the /proc walk and before namespaces are
/// opened, so tests can make a namespace vanish at the worst moment.
#[doc(hidden)]
pub fn scan_with_hook(options: &ScanOptions, hook: &mut dyn FnMut()) -> Result<RawScan, Error> {
    scan_inner(options, hook, &mut |_| {})
}

/// A namespace the scan has open, lent to [`scan_visiting`]'s visitor.
pub struct OpenNamespace<'a> {
    pub inode: u64,
    /// nsmap's own namespace: no setns needed (or allowed, unprivileged).
    pub current: bool,
    pub file: BorrowedFd<'a>,
}

/// [`scan`], lending every namespace it found (and could open) to `visit`
/// right after discovery — how `watch` subscribes to new namespaces without
/// opening them a second time, and drops those that are gone.
pub fn scan_visiting(
    options: &ScanOptions,
    visit: &mut dyn FnMut(&[OpenNamespace<'_>]),
) -> Result<RawScan, Error> {
    scan_inner(options, &mut || {}, visit)
}

fn scan_inner(
    options: &ScanOptions,
    hook: &mut dyn FnMut(),
    visit: &mut dyn FnMut(&[OpenNamespace<'_>]),
) -> Result<RawScan, Error> {
    let started = Instant::now();
    raise_fd_limit();
    let discovered = discover_with_hook(hook)?;
    let discovered_at = Instant::now();
    let mut warnings = discovered.warnings;
    let mut found = discovered.namespaces;
    // Root may still be denied a few processes by an LSM; that is a warning,
    // not a reduced view. Without root (or inside a user namespace) setns fails.
    let mut privileged = nix::unistd::geteuid().is_root();

    // Lent before the dumps, so `watch` drops subscriptions of namespaces
    // that are gone before they can pin anything for another round.
    let open: Vec<OpenNamespace<'_>> = found
        .iter()
        .filter_map(|ns| {
            Some(OpenNamespace {
                inode: ns.raw.inode,
                current: ns.raw.current,
                file: ns.file.as_ref()?.as_fd(),
            })
        })
        .collect();
    visit(&open);
    drop(open);
    let results = dump_all(&found, options.threads);
    let dumped_at = Instant::now();
    let mut sockets: HashMap<u64, RtSocket> = HashMap::new();
    let mut denied_setns = 0usize;
    for (ns, result) in found.iter_mut().zip(results) {
        match result {
            Some(Ok(dumped)) => {
                for problem in dumped.problems {
                    warnings.push(Warning::new(
                        Some(ns.raw.inode),
                        WarningCode::Interrupted,
                        format!("net:[{}]: {problem}; rescan", ns.raw.inode),
                    ));
                }
                ns.raw.links = dumped.links;
                ns.raw.addrs = dumped.addrs;
                ns.raw.scanned = true;
                sockets.insert(ns.raw.inode, dumped.socket);
            }
            Some(Err(DumpError::Setns(Errno::EPERM))) => denied_setns += 1,
            Some(Err(e)) => {
                if ns.raw.current {
                    return Err(Error::OwnNamespace(e.to_string()));
                }
                warnings.push(Warning::new(
                    Some(ns.raw.inode),
                    WarningCode::ScanFailed,
                    format!("cannot list the interfaces of net:[{}]: {e}", ns.raw.inode),
                ));
            }
            None => {} // could not be opened; discovery said why
        }
    }
    if denied_setns > 0 {
        privileged = false;
        warnings.push(Warning::new(
            None,
            WarningCode::PermissionDenied,
            format!(
                "cannot enter {denied_setns} network namespace(s) (operation not permitted), so their interfaces are not listed; run as root (CAP_SYS_ADMIN) to see them"
            ),
        ));
    }

    let mut raw = RawScan {
        raw_schema_version: RAW_SCHEMA_VERSION,
        scan: ScanInfo::default(),
        namespaces: Vec::new(),
        warnings,
    };
    // Move the records into the raw scan; keep only the open files here.
    let (held, namespaces): (Vec<Held>, Vec<RawNamespace>) = found
        .into_iter()
        .map(|ns| ((ns.raw.inode, ns.raw.current, ns.file), ns.raw))
        .unzip();
    raw.namespaces = namespaces;
    let files: HashMap<u64, BorrowedFd<'_>> = held
        .iter()
        .filter_map(|(inode, _, file)| Some((*inode, file.as_ref()?.as_fd())))
        .collect();
    ask_nsids(&mut raw, &mut sockets, &files, options.threads);
    let asked_at = Instant::now();

    // Close every socket and namespace file now: they pin namespaces.
    drop(files);
    drop(sockets);
    drop(held);
    // What lives in each namespace: processes, containers, hostname, CNI.
    let attributing = Instant::now();
    crate::sys::attribution::attribute(&mut raw.namespaces);
    raw.namespaces.sort_by_key(|n| n.inode);
    let ms = |from: Instant, to: Instant| to.duration_since(from).as_secs_f64() * 1000.0;
    let now = Instant::now();
    raw.scan = ScanInfo {
        nsmap_version: env!("CARGO_PKG_VERSION").to_string(),
        duration_ms: Some(ms(started, now)),
        privileged,
        phases_ms: Some(Phases {
            discover: ms(started, discovered_at),
            dump: ms(discovered_at, dumped_at),
            nsids: ms(dumped_at, asked_at),
            attribution: ms(attributing, now),
        }),
    };
    Ok(raw)
}

/// A namespace file held for the rest of a scan: (inode, current, file).
type Held = (u64, bool, Option<File>);

#[derive(Debug)]
enum DumpError {
    Setns(Errno),
    Netlink(NlError),
    /// No worker thread could be started to enter the namespace.
    NoThread,
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpError::Setns(e) => write!(f, "setns: {}", e.desc()),
            DumpError::Netlink(e) => write!(f, "{e}"),
            DumpError::NoThread => write!(
                f,
                "no thread could be started to enter it (thread limit reached?)"
            ),
        }
    }
}

/// One namespace's dump: its socket (kept for RTM_GETNSID), what it said,
/// and what went wrong without losing the rest.
struct Dumped {
    socket: RtSocket,
    links: Vec<RawLink>,
    addrs: Vec<RawAddr>,
    problems: Vec<String>,
}

type Dump = Result<Dumped, DumpError>;

/// Dumps every openable namespace, the own one on this thread and the others
/// on worker threads that each enter one namespace after another.
fn dump_all(found: &[FoundNetns], threads: Option<usize>) -> Vec<Option<Dump>> {
    let mut results: Vec<Option<Dump>> = found.iter().map(|_| None).collect();
    let jobs: Vec<usize> = (0..found.len())
        .filter(|&i| found[i].file.is_some() && !found[i].raw.current)
        .collect();
    let mut buf = vec![0u8; RECV_BUF];
    for (i, _) in found.iter().enumerate().filter(|(_, ns)| ns.raw.current) {
        // Never setns into our own namespace: unprivileged, even that fails.
        results[i] = Some(dump_here(&mut buf));
    }
    let workers = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let done: Vec<Vec<(usize, Dump)>> = std::thread::scope(|s| {
        // A worker the system refuses to start leaves its share to the
        // others; if none starts, the namespaces are reported unscanned
        // below (the main thread must never enter a namespace itself).
        let handles: Vec<_> = (0..workers)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .spawn_scoped(s, || {
                        let mut buf = vec![0u8; RECV_BUF];
                        let mut out = Vec::new();
                        loop {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&i) = jobs.get(k) else { break };
                            let Some(file) = &found[i].file else { continue };
                            let dump = match setns(file.as_fd(), CloneFlags::CLONE_NEWNET) {
                                Ok(()) => dump_here(&mut buf),
                                Err(e) => Err(DumpError::Setns(e)),
                            };
                            out.push((i, dump));
                        }
                        out
                    })
                    .ok()
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (i, dump) in done.into_iter().flatten() {
        results[i] = Some(dump);
    }
    for &i in &jobs {
        if results[i].is_none() {
            results[i] = Some(Err(DumpError::NoThread));
        }
    }
    results
}

/// Opens a socket in the calling thread's namespace and dumps it.
fn dump_here(buf: &mut [u8]) -> Dump {
    let mut socket = RtSocket::open().map_err(DumpError::Netlink)?;
    let links = socket.dump_links(buf).map_err(DumpError::Netlink)?;
    let mut problems = Vec::new();
    if !links.complete {
        problems.push(
            "its interface list kept changing while being read, so it may be incomplete"
                .to_string(),
        );
    }
    // Without addresses the links are still worth showing.
    let addrs = match socket.dump_addrs(buf) {
        Ok(addrs) => {
            if !addrs.complete {
                problems.push(
                    "its address list kept changing while being read, so it may be incomplete"
                        .to_string(),
                );
            }
            addrs.items
        }
        Err(e) => {
            problems.push(format!("cannot list its addresses: {e}"));
            Vec::new()
        }
    };
    Ok(Dumped {
        socket,
        links: links.items,
        addrs,
        problems,
    })
}

/// Runs the RTM_GETNSID rounds planned by [`plan_nsid_queries`], recording
/// every answer (and every question that could not be asked, as
/// `nsid: None`) in the asking namespace's `nsids`.
fn ask_nsids(
    raw: &mut RawScan,
    sockets: &mut HashMap<u64, RtSocket>,
    files: &HashMap<u64, BorrowedFd<'_>>,
    threads: Option<usize>,
) {
    let position: HashMap<u64, usize> = raw
        .namespaces
        .iter()
        .enumerate()
        .map(|(i, n)| (n.inode, i))
        .collect();
    for limit in NSID_ROUNDS {
        let queries = plan_nsid_queries(raw, limit);
        if queries.is_empty() {
            break;
        }
        let mut by_asker: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for q in queries {
            by_asker.entry(q.asker).or_default().push(q.target);
        }
        let mut work: Vec<NsidWork<'_, '_>> = Vec::new();
        let mut unanswerable: Vec<(u64, RawNsid)> = Vec::new();
        let mut socket_refs: HashMap<u64, &mut RtSocket> =
            sockets.iter_mut().map(|(k, v)| (*k, v)).collect();
        for (asker, targets) in by_asker {
            let (with_fd, without): (Vec<u64>, Vec<u64>) =
                targets.into_iter().partition(|t| files.contains_key(t));
            unanswerable.extend(without.iter().map(|&t| {
                (
                    asker,
                    RawNsid {
                        netns: t,
                        nsid: None,
                    },
                )
            }));
            match socket_refs.remove(&asker) {
                Some(socket) => {
                    let fds = with_fd.iter().map(|t| (*t, files[t])).collect();
                    work.push((asker, socket, fds, with_fd));
                }
                None => unanswerable.extend(with_fd.iter().map(|&t| {
                    (
                        asker,
                        RawNsid {
                            netns: t,
                            nsid: None,
                        },
                    )
                })),
            }
        }
        let answers = run_nsid_work(work, threads);
        for (asker, result) in answers {
            let Some(&i) = position.get(&asker) else {
                continue;
            };
            match result {
                Ok(found) => raw.namespaces[i].nsids.extend(found),
                Err((e, targets)) => {
                    raw.warnings.push(Warning::new(
                        Some(asker),
                        WarningCode::ScanFailed,
                        format!("cannot map nsids of net:[{asker}]: {e}"),
                    ));
                    raw.namespaces[i]
                        .nsids
                        .extend(targets.into_iter().map(|t| RawNsid {
                            netns: t,
                            nsid: None,
                        }));
                }
            }
        }
        for (asker, answer) in unanswerable {
            if let Some(&i) = position.get(&asker) {
                raw.namespaces[i].nsids.push(answer);
            }
        }
    }
    for ns in &mut raw.namespaces {
        ns.nsids.sort();
        ns.nsids.dedup();
    }
}

type NsidWork<'a, 'f> = (u64, &'a mut RtSocket, Vec<(u64, BorrowedFd<'f>)>, Vec<u64>);
type NsidResult = (u64, Result<Vec<RawNsid>, (NlError, Vec<u64>)>);

/// Sends the queries, spread over threads when there are many (sockets are
/// already bound to their namespaces, so any thread may use them).
fn run_nsid_work(work: Vec<NsidWork<'_, '_>>, threads: Option<usize>) -> Vec<NsidResult> {
    let total: usize = work.iter().map(|w| w.2.len()).sum();
    let workers = if total < 256 {
        1
    } else {
        threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .clamp(1, work.len().max(1))
    };
    let run = |chunk: Vec<NsidWork<'_, '_>>| -> Vec<NsidResult> {
        let mut buf = vec![0u8; RECV_BUF];
        chunk
            .into_iter()
            .map(|(asker, socket, fds, targets)| {
                (
                    asker,
                    socket.nsids(&fds, &mut buf).map_err(|e| (e, targets)),
                )
            })
            .collect()
    };
    if workers == 1 {
        return run(work);
    }
    let mut chunks: Vec<Vec<NsidWork<'_, '_>>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, w) in work.into_iter().enumerate() {
        chunks[i % workers].push(w);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| {
                // Sockets are bound to their namespaces already: if no
                // thread can be started, this one asks.
                let (tx, rx) = std::sync::mpsc::channel();
                let spawned = std::thread::Builder::new().spawn_scoped(s, {
                    let run = &run;
                    move || match rx.recv() {
                        Ok(c) => run(c),
                        Err(_) => Vec::new(),
                    }
                });
                match spawned {
                    Ok(h) => {
                        let _ = tx.send(c);
                        Ok(h)
                    }
                    Err(_) => Err(c),
                }
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h {
                Ok(h) => h.join().unwrap_or_default(),
                Err(c) => run(c),
            })
            .collect()
    })
}

/// Raises the soft fd limit to the hard one: a scan holds one file and one
/// socket per namespace, which passes 1024 on hosts with 500+ namespaces.
fn raise_fd_limit() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
