//! One scan: discover namespaces, dump each one's links and addresses (and,
//! with [`ScanOptions::layer3`], its routes, rules, neighbours, FDB,
//! nexthops, netconf and sysctls) on its own rtnetlink socket, then ask the
//! few RTM_GETNSID questions that resolving peers needs.
//!
//! The steps overlap: a namespace is dumped as soon as discovery has it
//! open, processes are attributed while the dumps run, and each namespace
//! is asked its most likely nsid question (which nsid is nsmap's own
//! namespace, usually the host?) within its dump. What remains after the
//! last dump is only the questions that one did not settle.
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
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};
use nix::sched::{CloneFlags, setns};
use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::error::Error;
use crate::raw::{RAW_SCHEMA_VERSION, RawAddr, RawL3, RawLink, RawNamespace, RawNsid, RawScan};
use crate::resolve::plan_nsid_queries;
use crate::snapshot::{Phases, ScanInfo, Warning, WarningCode};
use crate::sys::discover::{discover_streaming, out_of_fds_warning};
use crate::sys::netlink::l3::L3Problem;
use crate::sys::netlink::qdisc::Psched;
use crate::sys::netlink::{NlError, RECV_BUF, RtSocket};

/// Candidates asked per unresolved nsid in each RTM_GETNSID round; each
/// round only asks what the previous ones left open, the usual host needs
/// one, and the last round asks every remaining candidate.
const NSID_ROUNDS: [Option<usize>; 5] = [Some(1), Some(4), Some(16), Some(64), None];

/// How a scan runs. Every field has a sensible default.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Worker threads for the per-namespace dumps; None = one, plus a
    /// second once discovery and attribution are done (the kernel runs
    /// dumps one at a time under the rtnl mutex; a second worker overlaps
    /// only what they do outside it).
    pub threads: Option<usize>,
    /// Close the namespace files and sockets on a thread of their own
    /// after the scan returns (a few ms for 1,000 namespaces), for a
    /// one-shot caller with better things to do on this one. The
    /// namespaces stay pinned until that thread is done.
    pub close_later: bool,
    /// Also dump each namespace's layer 3: routes, rules, neighbours, FDB,
    /// nexthops, netconf, the sysctls netconf lacks and firewall presence.
    /// Off for the commands that show only wiring, so they never pay for it.
    pub layer3: bool,
    /// Also keep each interface's counters (`IFLA_STATS64`, which every
    /// link message carries) and when they were read. Off for the
    /// wiring-only listings, which then neither copy nor print them.
    pub stats: bool,
    /// Also dump each namespace's queueing disciplines (RTM_GETQDISC).
    pub qdiscs: bool,
}

/// What each namespace's dump includes beyond links and addresses: the
/// part of [`ScanOptions`] the dump workers need.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dumps {
    pub layer3: bool,
    pub stats: bool,
    /// The scheduler clock for the qdisc dumps, read once per scan.
    pub qdiscs: Option<Psched>,
}

impl ScanOptions {
    pub fn dumps(&self) -> Dumps {
        Dumps {
            layer3: self.layer3,
            stats: self.stats,
            qdiscs: self.qdiscs.then(Psched::read),
        }
    }
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
    // Pipelined: each namespace is dumped the moment discovery has it
    // open, and processes are attributed while the dumps run. Dumps hold
    // the rtnl mutex in the kernel, so they run one after another whatever
    // the thread count; walking /proc and reading runtime state do not.
    let gathered = std::thread::scope(|s| -> Result<Gathered, Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let mut dumper = DumpWorkers::start(s, queue, options.threads, options.dumps());
        // Every namespace is asked its nsid for nsmap's own — usually the
        // host, and so the one most of their veths lead to — within its dump.
        let mut own: Option<(u64, Arc<File>)> = None;
        let discovered = discover_streaming(hook, &mut |ns| {
            if ns.current && own.is_none() {
                own = Some((ns.inode, Arc::clone(ns.file)));
            }
            let _ = jobs.send(Job {
                inode: ns.inode,
                current: ns.current,
                file: Arc::clone(ns.file),
                ask: own.clone().filter(|(inode, _)| *inode != ns.inode),
            });
        });
        // Without more jobs the workers end once the queue is empty.
        drop(jobs);
        let discovered = discovered?;
        let discovered_at = Instant::now();
        let (files, mut namespaces): (Vec<Option<Arc<File>>>, Vec<RawNamespace>) = discovered
            .namespaces
            .into_iter()
            .map(|ns| (ns.file, ns.raw))
            .unzip();
        // Lent right after discovery, so `watch` drops subscriptions of
        // namespaces that are gone before they can pin anything for
        // another round.
        let open: Vec<OpenNamespace<'_>> = namespaces
            .iter()
            .zip(&files)
            .filter_map(|(ns, file)| {
                Some(OpenNamespace {
                    inode: ns.inode,
                    current: ns.current,
                    file: file.as_ref()?.as_fd(),
                })
            })
            .collect();
        visit(&open);
        drop(open);
        // What lives in each namespace: processes, containers, hostname,
        // CNI. The workers hold only the namespace files, so the records
        // are this thread's to fill meanwhile.
        let attributing = Instant::now();
        crate::sys::attribution::attribute(&mut namespaces);
        let attribution_ms = ms(attributing, Instant::now());
        // This thread's share is done: a second worker overlaps what the
        // remaining dumps do outside the rtnl mutex (setns, socket setup,
        // copying and parsing): at 1,000 namespaces on two cores the scan
        // ends in ~77 ms instead of ~97.
        if options.threads.is_none()
            && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
        {
            dumper.add();
        }
        let dumps = dumper.results().into_iter().collect();
        Ok(Gathered {
            warnings: discovered.warnings,
            namespaces,
            files,
            dumps,
            discovered_at,
            dumped_at: Instant::now(),
            attribution_ms,
        })
    })?;
    let Gathered {
        mut warnings,
        mut namespaces,
        files,
        mut dumps,
        discovered_at,
        dumped_at,
        attribution_ms,
    } = gathered;
    // Root may still be denied a few processes by an LSM; that is a warning,
    // not a reduced view. Without root (or inside a user namespace) setns fails.
    let mut privileged = nix::unistd::geteuid().is_root();
    let mut sockets: HashMap<u64, RtSocket> = HashMap::new();
    let mut denied_setns = 0usize;
    let mut out_of_fds = 0usize;
    for (ns, file) in namespaces.iter_mut().zip(&files) {
        if file.is_none() {
            continue; // could not be opened; discovery said why
        }
        let dump = dumps.remove(&ns.inode).unwrap_or(Err(DumpError::NoThread));
        match dump {
            Ok(dumped) => {
                for (code, problem) in dumped.problems {
                    warnings.push(Warning::new(
                        Some(ns.inode),
                        code,
                        format!("net:[{}]: {problem}; rescan", ns.inode),
                    ));
                }
                ns.links = dumped.links;
                ns.addrs = dumped.addrs;
                ns.nsids = dumped.nsids;
                ns.l3 = dumped.l3;
                ns.stats_at_ns = dumped.stats_at_ns;
                ns.stats_boottime_ns = dumped.stats_boottime_ns;
                ns.qdiscs = dumped.qdiscs;
                ns.scanned = true;
                if let Some(socket) = dumped.socket {
                    sockets.insert(ns.inode, socket);
                }
            }
            Err(DumpError::Setns(Errno::EPERM)) => denied_setns += 1,
            Err(DumpError::Netlink(NlError::Sys(_, Errno::EMFILE | Errno::ENFILE)))
                if !ns.current =>
            {
                out_of_fds += 1
            }
            Err(e) => {
                if ns.current {
                    return Err(Error::OwnNamespace(e.to_string()));
                }
                warnings.push(Warning::new(
                    Some(ns.inode),
                    WarningCode::ScanFailed,
                    format!("cannot list the interfaces of net:[{}]: {e}", ns.inode),
                ));
            }
        }
    }
    if out_of_fds > 0 {
        warnings.push(out_of_fds_warning(out_of_fds, "dump"));
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

    let fds: HashMap<u64, BorrowedFd<'_>> = namespaces
        .iter()
        .zip(&files)
        .filter_map(|(ns, file)| Some((ns.inode, file.as_ref()?.as_fd())))
        .collect();
    let mut raw = RawScan {
        raw_schema_version: RAW_SCHEMA_VERSION,
        scan: ScanInfo::default(),
        namespaces,
        warnings,
    };
    ask_nsids(&mut raw, &mut sockets, &fds, options.threads);
    let asked_at = Instant::now();

    // Close every socket and namespace file: they pin namespaces.
    drop(fds);
    if options.close_later {
        // Should the thread not start, the closure is dropped unrun, which
        // closes them here and now.
        let _ = std::thread::Builder::new()
            .name("nsmap-close".into())
            .spawn(move || drop((sockets, files)));
    } else {
        drop((sockets, files));
    }
    raw.namespaces.sort_by_key(|n| n.inode);
    let now = Instant::now();
    raw.scan = ScanInfo {
        nsmap_version: env!("CARGO_PKG_VERSION").to_string(),
        duration_ms: Some(ms(started, now)),
        privileged,
        phases_ms: Some(Phases {
            discover: ms(started, discovered_at),
            dump: ms(discovered_at, dumped_at),
            nsids: ms(dumped_at, asked_at),
            attribution: attribution_ms,
        }),
    };
    Ok(raw)
}

fn ms(from: Instant, to: Instant) -> f64 {
    to.duration_since(from).as_secs_f64() * 1000.0
}

/// What the threads of a scan gathered: discovery's records (attributed),
/// their open files (same order) and every namespace's dump.
struct Gathered {
    warnings: Vec<Warning>,
    namespaces: Vec<RawNamespace>,
    files: Vec<Option<Arc<File>>>,
    dumps: HashMap<u64, Dump>,
    discovered_at: Instant,
    dumped_at: Instant,
    attribution_ms: f64,
}

/// A namespace to dump, sent by discovery as soon as it is open.
struct Job {
    inode: u64,
    current: bool,
    file: Arc<File>,
    /// The namespace to ask this one its nsid for.
    ask: Option<(u64, Arc<File>)>,
}

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
    /// None once closed: no question will be asked through it.
    socket: Option<RtSocket>,
    links: Vec<RawLink>,
    addrs: Vec<RawAddr>,
    /// The answer to the question asked within the dump, if any.
    nsids: Vec<RawNsid>,
    /// Layer 3, when the scan asked for it.
    l3: Option<RawL3>,
    /// When the link dump with counters began (statistics scans only):
    /// wall time, and CLOCK_BOOTTIME for intervals.
    stats_at_ns: Option<u64>,
    stats_boottime_ns: Option<u64>,
    /// Queueing disciplines, when the scan asked for them.
    qdiscs: Option<Vec<crate::raw::tc::RawQdisc>>,
    /// What went wrong without losing the rest, as warnings to be.
    problems: Vec<(WarningCode, String)>,
}

type Dump = Result<Dumped, DumpError>;

impl Dumped {
    /// Closes the socket once every nsid of the namespace is answered: it
    /// will be asked nothing else, and a scan holds enough fds already.
    fn close_if_settled(&mut self) {
        if self
            .links
            .iter()
            .filter_map(|l| l.link_netnsid)
            .filter(|&nsid| nsid >= 0)
            .all(|nsid| self.nsids.iter().any(|a| a.nsid == Some(nsid)))
        {
            self.socket = None;
        }
    }
}

/// The dump workers: threads of our own that take namespaces off the
/// queue, enter each and dump it, and hand all their dumps back when the
/// queue has run dry.
struct DumpWorkers<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    queue: Arc<Mutex<Receiver<Job>>>,
    workers: Vec<ScopedJoinHandle<'scope, Vec<(u64, Dump)>>>,
    dumps: Dumps,
}

impl<'scope, 'env> DumpWorkers<'scope, 'env> {
    /// `threads` workers, one unless told otherwise: the kernel serializes
    /// dumps on the rtnl mutex, where a second worker spins while the rest
    /// of the scan needs the cores.
    fn start(
        scope: &'scope Scope<'scope, 'env>,
        queue: Receiver<Job>,
        threads: Option<usize>,
        dumps: Dumps,
    ) -> Self {
        let mut workers = DumpWorkers {
            scope,
            queue: Arc::new(Mutex::new(queue)),
            workers: Vec::new(),
            dumps,
        };
        for _ in 0..threads.unwrap_or(1).max(1) {
            workers.add();
        }
        workers
    }

    /// Starts one more worker. One the system refuses to start leaves its
    /// share to the others; if none starts, the namespaces are reported
    /// unscanned (the main thread must never enter a namespace itself).
    fn add(&mut self) {
        let queue = Arc::clone(&self.queue);
        let dumps = self.dumps;
        if let Ok(worker) = std::thread::Builder::new()
            .name("nsmap-dump".into())
            .spawn_scoped(self.scope, move || dump_worker(&queue, dumps))
        {
            self.workers.push(worker);
        }
    }

    /// Every dump, once the queue has run dry (its sender must be gone).
    /// Collected when the workers end, not one by one: waking this thread
    /// for each of a thousand dumps costs the workers a futex call and the
    /// cores a context switch every time.
    fn results(self) -> Vec<(u64, Dump)> {
        let mut done = Vec::new();
        for worker in self.workers {
            // A worker cannot panic short of a bug; its share is then
            // reported unscanned, like namespaces no worker took.
            done.extend(worker.join().unwrap_or_default());
        }
        if let Ok(queue) = self.queue.lock() {
            done.extend(
                queue
                    .try_iter()
                    .map(|job| (job.inode, Err(DumpError::NoThread))),
            );
        }
        done
    }
}

/// One dump worker's loop. nsmap's own namespace is dumped without setns
/// while this thread is still in it (unprivileged, even that setns fails).
fn dump_worker(queue: &Mutex<Receiver<Job>>, dumps: Dumps) -> Vec<(u64, Dump)> {
    let mut buf = vec![0u8; RECV_BUF];
    let mut moved = false;
    let mut done = Vec::new();
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => break,
        };
        let Ok(job) = job else { break };
        let ask = job.ask.as_ref().map(|(inode, file)| (*inode, file.as_fd()));
        let mut dump = if job.current && !moved {
            dump_here(&mut buf, ask, dumps, job.current)
        } else {
            match setns(job.file.as_fd(), CloneFlags::CLONE_NEWNET) {
                Ok(()) => {
                    moved = true;
                    dump_here(&mut buf, ask, dumps, job.current)
                }
                Err(e) => Err(DumpError::Setns(e)),
            }
        };
        if let Ok(dumped) = &mut dump {
            // Settled by the question asked within the dump: no socket
            // held for the end of the scan.
            dumped.close_if_settled();
        }
        done.push((job.inode, dump));
    }
    done
}

/// Opens a socket in the calling thread's namespace and dumps it, asking
/// its nsid for `ask` on the way; with `qdiscs`, its queueing disciplines
/// (and htb classes) next; with `layer3`, also its routes, rules,
/// neighbours, FDB, nexthops, netconf, sysctls and firewall, in that order
/// after the link and address dumps (the nsid question rides in the
/// address dump, which must follow the link dump).
fn dump_here(
    buf: &mut [u8],
    ask: Option<(u64, BorrowedFd<'_>)>,
    dumps: Dumps,
    current: bool,
) -> Dump {
    let mut socket = RtSocket::open().map_err(DumpError::Netlink)?;
    let stats_at_ns = dumps.stats.then(unix_ns);
    let stats_boottime_ns = dumps.stats.then(boottime_ns).flatten();
    let all = socket
        .dump_all(buf, ask, dumps.layer3, dumps.stats)
        .map_err(DumpError::Netlink)?;
    let mut problems = Vec::new();
    if !all.links.complete {
        problems.push((
            WarningCode::Interrupted,
            "its interface list kept changing while being read, so it may be incomplete"
                .to_string(),
        ));
    }
    // Without addresses the links are still worth showing.
    let addrs = match all.addrs {
        Ok(addrs) => {
            if !addrs.complete {
                problems.push((
                    WarningCode::Interrupted,
                    "its address list kept changing while being read, so it may be incomplete"
                        .to_string(),
                ));
            }
            addrs.items
        }
        Err(e) => {
            problems.push((
                WarningCode::Interrupted,
                format!("cannot list its addresses: {e}"),
            ));
            Vec::new()
        }
    };
    let qdiscs = dumps.qdiscs.and_then(|psched| {
        let dumped = socket.dump_qdiscs(buf, psched);
        problems.extend(dumped.problems.into_iter().map(l3_problem));
        dumped.qdiscs
    });
    let l3 = dumps.layer3.then(|| {
        let dumped = socket.dump_l3(buf, &all.links.items);
        problems.extend(dumped.problems.into_iter().map(l3_problem));
        let mut l3 = dumped.l3;
        let bridged = all
            .links
            .items
            .iter()
            .any(|l| l.kind.as_deref() == Some("bridge"));
        let ipv4 = crate::sys::sysctl::worth_reading(current, &all.links.items, &addrs);
        l3.sysctl = crate::sys::sysctl::read(ipv4, bridged);
        let firewall = crate::sys::netfilter::read(buf);
        // Conntrack's table is worth its lookup only where a firewall is
        // (a ct or nat rule, or an x_tables table, is what uses it).
        let has_firewall = firewall.nftables.as_ref().is_some_and(|t| !t.is_empty())
            || firewall
                .iptables_legacy
                .as_ref()
                .is_some_and(|t| !t.is_empty());
        if has_firewall {
            (l3.sysctl.conntrack_count, l3.sysctl.conntrack_max) = crate::sys::sysctl::conntrack();
        }
        // The reader's problems say what it could not read; the snapshot's
        // firewall has no room for them, so they become the warning.
        if !firewall.problems.is_empty() {
            problems.push((
                WarningCode::ScanFailed,
                format!(
                    "cannot read its firewall ({})",
                    firewall.problems.join("; ")
                ),
            ));
        }
        l3.firewall = Some(firewall);
        l3
    });
    Ok(Dumped {
        socket: Some(socket),
        links: all.links.items,
        addrs,
        nsids: all.nsid.into_iter().collect(),
        l3,
        stats_at_ns,
        stats_boottime_ns,
        qdiscs,
        problems,
    })
}

/// A list that could not be read whole, as a warning to be.
fn l3_problem(problem: L3Problem) -> (WarningCode, String) {
    match problem {
        L3Problem::Failed(what, e) => (
            WarningCode::ScanFailed,
            format!("cannot list its {what} ({e}), so they show null"),
        ),
        L3Problem::Interrupted(what) => (
            WarningCode::Interrupted,
            format!("its {what} kept changing while being read, so they may be incomplete"),
        ),
    }
}

/// Now on CLOCK_BOOTTIME: what intervals between two readings are
/// measured on, since the wall clock can be stepped (NTP) between them;
/// shared by every process of one boot, suspend included.
fn boottime_ns() -> Option<u64> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).ok()?;
    let secs = u64::try_from(t.tv_sec()).ok()?;
    let nanos = u64::try_from(t.tv_nsec()).ok()?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Now as Unix nanoseconds: when a namespace's counters were read, in a
/// form two snapshots (even of two processes) can be compared by.
fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
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
                let spawned = std::thread::Builder::new()
                    .name("nsmap-nsid".into())
                    .spawn_scoped(s, {
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

/// fds a scan reserves up front: two per namespace (its file and its
/// socket) for hosts with up to ~4,000 namespaces.
const FD_TABLE_RESERVE: u64 = 8192;

/// Raises the soft fd limit to the hard one (a scan holds one file and one
/// socket per namespace, which passes 1024 on hosts with 500+ namespaces),
/// then grows the fd table once, up front. Growing it while other threads
/// of the process run waits for an RCU grace period (`expand_fdtable` →
/// `synchronize_rcu`), measured at over 10 ms per doubling here — and the
/// scan's own workers are such threads.
fn raise_fd_limit() {
    let mut limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok()
    {
        limit = hard;
    }
    // F_DUPFD takes the lowest free fd at or above `highest`: the table
    // grows to hold it, and keeps its size after the close.
    if let Ok(highest) = i32::try_from(limit.min(FD_TABLE_RESERVE).saturating_sub(1))
        && let Ok(root) = File::open("/")
        && let Ok(fd) = fcntl(&root, FcntlArg::F_DUPFD_CLOEXEC(highest))
    {
        let _ = nix::unistd::close(fd);
    }
}
