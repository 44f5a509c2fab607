//! Reading what lives in each namespace: its processes (comm, cmdline,
//! uid, cgroup), the containers they run in (named from each runtime's
//! on-disk state), the hostname of their UTS namespace, and libcni's
//! result cache. The parsing is pure ([`crate::attribution`],
//! [`crate::runtime`]); this module only reads files and enters UTS
//! namespaces.
//!
//! Cost: four small /proc reads per process; runtime state once per
//! container (cached by id; podman's container list and the CNI cache
//! directory once per scan); one `setns` per distinct UTS namespace.
//! Every source is optional and failures are silent — a process that
//! exits, a runtime that is not installed, a file being rewritten all just
//! leave a field empty. Read-only: no runtime API, no writes.
//!
//! **Hostnames.** The UTS hostname is per UTS namespace and readable only
//! from inside it: `/proc/PID/root/etc/hostname` is a file the runtime
//! wrote (and may since differ), and `/proc/sys/kernel/hostname` shows the
//! *reader's* UTS namespace whatever procfs it is read through. So a
//! dedicated thread of ours `setns(CLONE_NEWUTS)`es into each one and
//! calls `uname` — like the netlink workers, it moves only that thread,
//! which then ends; no other thread ever changes namespace. Only root can
//! do this (unprivileged setns fails, KERNEL-NOTES); otherwise hostnames
//! are null except for namespaces sharing nsmap's own UTS namespace.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sched::{CloneFlags, setns};
use nix::sys::utsname::uname;

use crate::attribution::{
    CniAttachment, Container, Process, comm_name, parse_stat_ppid, short_cmdline,
};
use crate::name::Name;
use crate::raw::RawNamespace;
use crate::runtime::cni::{self, CachedResult};
use crate::runtime::{
    CgroupContainer, Metadata, Runtime, cgroup, containerd, crio, docker, kubernetes, podman,
};
use crate::snapshot::ProcessSummary;

/// Runtime state files are small; anything bigger is not what we expect.
const MAX_STATE_FILE: u64 = 8 << 20;

/// Processes tried per namespace when reading its UTS namespace.
const UTS_TRIES: usize = 3;

/// Fills `processes`, `containers`, `hostname` and `cni` of every
/// namespace from its `pids`.
pub fn attribute(namespaces: &mut [RawNamespace]) {
    let mut read = read_all(namespaces);
    drop_forged_claims(&mut read);
    let mut runtimes = RuntimeState::default();
    for (ns, processes) in namespaces.iter_mut().zip(read) {
        // Distinct containers in order of their lowest pid: the first is
        // usually the one that made the namespace (a pod's sandbox).
        let mut seen: Vec<(&CgroupContainer, u32)> = Vec::new();
        for (process, chain) in &processes {
            if let Some(c) = chain.last()
                && !seen.iter().any(|(s, _)| *s == c)
            {
                seen.push((c, process.pid));
            }
        }
        ns.containers = seen
            .iter()
            .map(|(c, pid)| runtimes.describe(c, *pid))
            .collect();
        // The first process, as the scan saw it, now read once here.
        ns.process = processes
            .first()
            .map(|(p, _)| ProcessSummary {
                pid: p.pid,
                comm: p.comm.clone(),
            })
            .or(ns.process.take());
        ns.processes = processes.into_iter().map(|(p, _)| p).collect();
    }
    let hostnames = hostnames(namespaces);
    for (ns, hostname) in namespaces.iter_mut().zip(hostnames) {
        ns.hostname = hostname;
    }
    attach_cni(namespaces, &read_cni_cache());
}

/// A container belongs to one network namespace. When processes of another
/// namespace claim it only through a cgroup nested below a container of
/// their own (`…/docker-MINE.scope/docker-YOURS.scope`, which a container
/// that may create cgroups can make), that claim is forged: those processes
/// are attributed to their own, outer container instead.
fn drop_forged_claims(read: &mut [Vec<ProcessRead>]) {
    let mut direct: HashMap<CgroupContainer, HashSet<usize>> = HashMap::new();
    for (ns, processes) in read.iter().enumerate() {
        for (_, chain) in processes {
            if chain.len() == 1 {
                direct.entry(chain[0].clone()).or_default().insert(ns);
            }
        }
    }
    for (ns, processes) in read.iter_mut().enumerate() {
        for (_, chain) in processes.iter_mut() {
            while chain.len() > 1
                && chain
                    .last()
                    .and_then(|c| direct.get(c))
                    .is_some_and(|owners| !owners.contains(&ns))
            {
                chain.pop();
            }
        }
    }
}

/// A process and the containers its cgroup path names, outermost first.
type ProcessRead = (Process, Vec<CgroupContainer>);

/// Reads every namespace's processes, spread over one thread per core
/// (procfs reads cost 5–30 µs each here, and hosts run thousands of
/// processes); results in the order of `namespaces`.
fn read_all(namespaces: &[RawNamespace]) -> Vec<Vec<ProcessRead>> {
    let total: usize = namespaces.iter().map(|n| n.pids.len()).sum();
    // One core is left to the scan's dump worker, which runs meanwhile.
    let workers = if total < 256 {
        1
    } else {
        crate::sys::spare_cores()
    };
    let read_ns = |ns: &RawNamespace, buf: &mut Vec<u8>| -> Vec<ProcessRead> {
        ns.pids
            .iter()
            .filter_map(|&pid| read_process(pid, buf))
            .collect()
    };
    if workers == 1 {
        let mut buf = Vec::new();
        return namespaces.iter().map(|ns| read_ns(ns, &mut buf)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut out: Vec<Vec<ProcessRead>> = namespaces.iter().map(|_| Vec::new()).collect();
    let worker = || {
        let mut buf = Vec::new();
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(ns) = namespaces.get(i) else { break };
            mine.push((i, read_ns(ns, &mut buf)));
        }
        mine
    };
    let done: Vec<Vec<(usize, Vec<ProcessRead>)>> = std::thread::scope(|s| {
        // This thread works too, so a thread the system refuses to start
        // only slows the reads down.
        let handles: Vec<_> = (1..workers)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, worker).ok())
            .collect();
        let own = worker();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .chain(std::iter::once(own))
            .collect()
    });
    for (i, processes) in done.into_iter().flatten() {
        out[i] = processes;
    }
    out
}

/// One process: its record and its container (from its cgroup). Three
/// small reads and a stat; `status` (uid, ppid) costs as much as the rest
/// together, so the uid is the owner of /proc/PID, as `ps` takes it, and
/// the parent is read only when a runtime lookup needs it.
fn read_process(pid: u32, buf: &mut Vec<u8>) -> Option<ProcessRead> {
    read_small(&format!("/proc/{pid}/comm"), buf)?;
    let comm = comm_name(buf);
    let cmdline = match read_small(&format!("/proc/{pid}/cmdline"), buf) {
        Some(()) => short_cmdline(buf),
        None => Name::default(),
    };
    let uid = fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid());
    let container = read_small(&format!("/proc/{pid}/cgroup"), buf)
        .map(|()| cgroup::containers_of(buf))
        .unwrap_or_default();
    let process = Process {
        pid,
        comm,
        cmdline,
        uid,
    };
    Some((process, container))
}

/// Reads a small /proc file into `buf`: open and read, without the size
/// probe of `fs::read` (a third of the cost on procfs, where sizes are 0).
/// A short read is the end: these files (seq_file single shows, and
/// cmdline, read page by page) return all they have up to the size asked.
fn read_small(path: &str, buf: &mut Vec<u8>) -> Option<()> {
    buf.clear();
    let mut file = File::open(path).ok()?;
    let mut chunk = [0u8; 4096];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Some(()),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if n < chunk.len() {
                    return Some(());
                }
            }
            Err(_) => return None,
        }
        if buf.len() > 1 << 20 {
            return Some(()); // /proc files this big are not what we expect
        }
    }
}

/// The parent of `pid` (the shim or conmon of a container's first process).
fn parent_of(pid: u32) -> Option<u32> {
    let mut buf = Vec::new();
    read_small(&format!("/proc/{pid}/stat"), &mut buf)?;
    parse_stat_ppid(&buf)
}

/// Reads a runtime state file, from the host's root or — for runtimes
/// running inside a container (a kind node) — through the root of the
/// container's parent process (the shim or conmon), which sees the
/// runtime's own filesystem. Only a parent outside the container's network
/// namespace counts: one inside is the container itself, and its files
/// are the container's to forge.
fn read_state(path: &str, pid: u32) -> Option<Vec<u8>> {
    read_capped(path).or_else(|| {
        let parent = outside_parent(pid)?;
        read_in_root(parent, path)
    })
}

/// The parent of `pid` when it runs outside `pid`'s network namespace: a
/// container's shim or conmon, not a process of the container.
fn outside_parent(pid: u32) -> Option<u32> {
    let parent = parent_of(pid)?;
    let net = |p: u32| fs::read_link(format!("/proc/{p}/ns/net")).ok();
    (net(parent)? != net(pid)?).then_some(parent)
}

/// A state file: opened without following a last-component symlink and
/// without blocking (a FIFO planted there must not hang the scan), read
/// only if it is a regular file, at most [`MAX_STATE_FILE`] bytes.
fn read_capped(path: &str) -> Option<Vec<u8>> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    read_regular(file)
}

/// A state file inside process `pid`'s root, resolved as if that root were
/// `/` (an absolute symlink in there cannot lead into the host).
fn read_in_root(pid: u32, path: &str) -> Option<Vec<u8>> {
    use nix::fcntl::{OFlag, OpenHow, ResolveFlag, open, openat2};
    let root = open(
        Path::new(&format!("/proc/{pid}/root")),
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ok()?;
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(&root, path.trim_start_matches('/'), how).ok()?;
    read_regular(File::from(fd))
}

fn read_regular(file: File) -> Option<Vec<u8>> {
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_STATE_FILE).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Caches of runtime state for one scan.
#[derive(Default)]
struct RuntimeState {
    described: HashMap<CgroupContainer, Container>,
    /// podman/containers-storage id → name, loaded on first need.
    podman_names: Option<HashMap<String, Name>>,
    /// containerd namespaces that have task bundles, listed on first need.
    containerd_namespaces: Option<Vec<String>>,
}

impl RuntimeState {
    /// The container's record; each container is looked up once.
    fn describe(&mut self, c: &CgroupContainer, pid: u32) -> Container {
        if let Some(known) = self.described.get(c) {
            return known.clone();
        }
        let (runtime, meta) = self.lookup(c, pid);
        let described = c.describe(runtime, meta.as_ref());
        self.described.insert(c.clone(), described.clone());
        described
    }

    fn lookup(&mut self, c: &CgroupContainer, pid: u32) -> (Runtime, Option<Metadata>) {
        let id = c.id.as_str();
        match c.runtime {
            Runtime::Docker => (Runtime::Docker, self.docker(id, pid)),
            Runtime::Podman => (Runtime::Podman, self.podman(id, pid)),
            Runtime::Containerd => (Runtime::Containerd, self.containerd(id, pid)),
            Runtime::CriO => (Runtime::CriO, self.crio(id, pid)),
            Runtime::Kubernetes => {
                // The cgroupfs driver does not say which CRI runtime: ask each.
                if let Some(m) = self.containerd(id, pid) {
                    (Runtime::Containerd, Some(m))
                } else if let Some(m) = self.crio(id, pid) {
                    (Runtime::CriO, Some(m))
                } else if let Some(m) = self.docker(id, pid) {
                    (Runtime::Docker, Some(m))
                } else {
                    (Runtime::Kubernetes, None)
                }
            }
            Runtime::Lxc | Runtime::Nspawn | Runtime::Libvirt => (c.runtime, None),
        }
    }

    fn docker(&mut self, id: &str, pid: u32) -> Option<Metadata> {
        docker::parse_config(&read_state(&docker::config_path(id), pid)?)
    }

    fn podman(&mut self, id: &str, pid: u32) -> Option<Metadata> {
        let names = self.podman_names.get_or_insert_with(read_podman_names);
        let name = names
            .get(id)
            .cloned()
            .or_else(|| conmon_of(id, pid)?.name.map(|n| Name::from(n.as_str())))?;
        Some(Metadata {
            name: Some(name),
            ..Metadata::default()
        })
    }

    fn containerd(&mut self, id: &str, pid: u32) -> Option<Metadata> {
        let namespaces = self
            .containerd_namespaces
            .get_or_insert_with(list_containerd_namespaces);
        namespaces.iter().find_map(|ns| {
            let path = format!("{}/{ns}/{id}/config.json", containerd::TASK_DIR);
            containerd::parse_bundle_config(&read_state(&path, pid)?)
        })
    }

    fn crio(&mut self, id: &str, pid: u32) -> Option<Metadata> {
        crio::config_paths(id)
            .iter()
            .find_map(|p| crio::parse_config(&read_state(p, pid)?))
            .or_else(|| {
                // CRI-O's conmon carries the k8s_… name.
                let k = kubernetes::parse_k8s_name(&conmon_of(id, pid)?.name?)?;
                Some(Metadata {
                    name: k.name,
                    pod: k.pod,
                    pod_namespace: k.pod_namespace,
                    sandbox: k.sandbox,
                    ..Metadata::default()
                })
            })
    }
}

/// The conmon process watching container `id`: the parent of its process
/// `pid`, outside the container (a process inside could forge conmon's
/// arguments).
fn conmon_of(id: &str, pid: u32) -> Option<podman::Conmon> {
    let cmdline = fs::read(format!("/proc/{}/cmdline", outside_parent(pid)?)).ok()?;
    podman::parse_conmon_cmdline(&cmdline).filter(|c| c.id == id)
}

/// Every `*-containers/containers.json` of rootful containers/storage.
fn read_podman_names() -> HashMap<String, Name> {
    let Ok(entries) = fs::read_dir(podman::STORAGE_ROOT) else {
        return HashMap::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().as_bytes().ends_with(b"-containers"))
        .filter_map(|e| read_capped(&format!("{}/containers.json", e.path().display())))
        .flat_map(|bytes| podman::parse_containers_json(&bytes))
        .collect()
}

/// containerd namespaces with running tasks, plus the usual ones (for
/// lookups through a parent's root, where the host has none).
fn list_containerd_namespaces() -> Vec<String> {
    let mut names: BTreeSet<String> = ["k8s.io", "default", "moby"]
        .into_iter()
        .map(String::from)
        .collect();
    if let Ok(entries) = fs::read_dir(containerd::TASK_DIR) {
        names.extend(
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(String::from)),
        );
    }
    names.into_iter().collect()
}

/// The hostname of each namespace's processes' UTS namespace (see the
/// module docs), in the order of `namespaces`.
fn hostnames(namespaces: &[RawNamespace]) -> Vec<Option<Name>> {
    let own = uts_inode("/proc/thread-self/ns/uts");
    let own_name = uname()
        .ok()
        .map(|u| Name::from_bytes(u.nodename().as_bytes()));
    // Per namespace: the UTS inode of its first readable process.
    let uts: Vec<Option<(u64, u32)>> = namespaces
        .iter()
        .map(|ns| {
            ns.pids.iter().take(UTS_TRIES).find_map(|&pid| {
                let inode = uts_inode(&format!("/proc/{pid}/ns/uts"))?;
                Some((inode, pid))
            })
        })
        .collect();
    let mut foreign: HashMap<u64, u32> = HashMap::new();
    for &(inode, pid) in uts.iter().flatten() {
        if Some(inode) != own {
            foreign.entry(inode).or_insert(pid);
        }
    }
    let entered = if nix::unistd::geteuid().is_root() && !foreign.is_empty() {
        enter_uts(&foreign)
    } else {
        HashMap::new()
    };
    uts.iter()
        .map(|u| {
            let (inode, _) = (*u)?;
            if Some(inode) == own {
                own_name.clone()
            } else {
                entered.get(&inode).cloned()
            }
        })
        .collect()
}

/// On one thread of our own: enter each UTS namespace, read its hostname.
/// The thread ends afterwards, taking its namespace membership with it.
fn enter_uts(targets: &HashMap<u64, u32>) -> HashMap<u64, Name> {
    std::thread::scope(|s| {
        // Never on this thread (it must stay in nsmap's UTS namespace): no
        // thread, no hostnames.
        let spawned = std::thread::Builder::new().spawn_scoped(s, || {
            let mut out = HashMap::new();
            for (&inode, &pid) in targets {
                let Ok(file) = File::open(format!("/proc/{pid}/ns/uts")) else {
                    continue;
                };
                // The process may have moved on: only its namespace counts.
                if file.metadata().map(|m| m.ino()).ok() != Some(inode) {
                    continue;
                }
                if setns(file.as_fd(), CloneFlags::CLONE_NEWUTS).is_ok()
                    && let Ok(u) = uname()
                {
                    out.insert(inode, Name::from_bytes(u.nodename().as_bytes()));
                }
            }
            out
        });
        spawned.ok().and_then(|h| h.join().ok()).unwrap_or_default()
    })
}

fn uts_inode(path: &str) -> Option<u64> {
    let target = fs::read_link(path).ok()?;
    crate::sys::nsfs::parse_ns_link(target.as_os_str().as_bytes(), "uts")
}

/// Every parsable entry of libcni's result cache.
fn read_cni_cache() -> Vec<CachedResult> {
    let Ok(entries) = fs::read_dir(cni::RESULTS_DIR) else {
        return Vec::new();
    };
    let mut results: Vec<CachedResult> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let bytes = read_capped(&e.path().to_string_lossy())?;
            cni::parse_result_cache(&name.to_string_lossy(), &bytes)
        })
        .collect();
    results.sort_by(|a, b| a.attachment.cmp(&b.attachment));
    results
}

/// Gives each namespace the cache entries made for it: by netns path (a
/// bind mount of it, or `/proc/PID/ns/net` of one of its processes), or
/// by the id of one of its containers. Entries left behind by an unclean
/// teardown match nothing and are dropped.
fn attach_cni(namespaces: &mut [RawNamespace], cache: &[CachedResult]) {
    for ns in namespaces.iter_mut() {
        let found: Vec<CniAttachment> = cache
            .iter()
            .filter(|r| cni_entry_is_for(ns, r))
            .map(|r| r.attachment.clone())
            .collect();
        ns.cni = found;
    }
}

fn cni_entry_is_for(ns: &RawNamespace, r: &CachedResult) -> bool {
    let by_path = r.netns.as_deref().is_some_and(|path| {
        let path = path
            .strip_prefix("/var")
            .filter(|p| p.starts_with("/run/"))
            .unwrap_or(path);
        ns.mounts.iter().any(|m| m.as_str() == path)
            || path
                .strip_prefix("/proc/")
                .and_then(|p| p.strip_suffix("/ns/net"))
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|pid| ns.pids.binary_search(&pid).is_ok())
    });
    by_path
        || ns
            .containers
            .iter()
            .any(|c| c.id == r.attachment.container_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(pid: u32, chain: &[&str]) -> ProcessRead {
        let chain = chain
            .iter()
            .map(|id| CgroupContainer {
                runtime: crate::runtime::Runtime::Docker,
                id: id.to_string(),
                name: None,
            })
            .collect();
        (
            Process {
                pid,
                ..Process::default()
            },
            chain,
        )
    }

    #[test]
    fn a_nested_claim_on_another_namespaces_container_is_dropped() {
        // Namespace 0 holds container "victim" directly; namespace 1's
        // process sits in a cgroup it made below its own container "evil",
        // named after the victim. Namespace 2 is a real nested container
        // (a pod inside a kind node) whose id nobody else claims.
        let mut read = vec![
            vec![claim(10, &["victim"])],
            vec![claim(20, &["evil", "victim"]), claim(21, &["evil"])],
            vec![claim(30, &["node", "pod"])],
        ];
        drop_forged_claims(&mut read);
        let innermost = |ns: usize, i: usize| read[ns][i].1.last().map(|c| c.id.clone());
        assert_eq!(innermost(0, 0).as_deref(), Some("victim"));
        assert_eq!(
            innermost(1, 0).as_deref(),
            Some("evil"),
            "forged claim dropped"
        );
        assert_eq!(innermost(2, 0).as_deref(), Some("pod"), "real nesting kept");
    }

    fn entry(netns: Option<&str>, id: &str) -> CachedResult {
        CachedResult {
            attachment: CniAttachment {
                container_id: Name::from(id),
                ..CniAttachment::default()
            },
            netns: netns.map(String::from),
        }
    }

    #[test]
    fn cni_entries_find_their_namespace_by_path_pid_or_container() {
        let ns = RawNamespace {
            mounts: vec![Name::from("/run/netns/cni-1")],
            pids: vec![10, 42],
            containers: vec![Container {
                id: Name::from("abc"),
                ..Container::default()
            }],
            ..RawNamespace::default()
        };
        // /var/run is a link to /run: mountinfo shows the /run path.
        assert!(cni_entry_is_for(
            &ns,
            &entry(Some("/var/run/netns/cni-1"), "x")
        ));
        assert!(cni_entry_is_for(&ns, &entry(Some("/run/netns/cni-1"), "x")));
        assert!(cni_entry_is_for(&ns, &entry(Some("/proc/42/ns/net"), "x")));
        assert!(cni_entry_is_for(&ns, &entry(None, "abc")));
        // Left behind by an unclean teardown: matches nothing.
        assert!(!cni_entry_is_for(
            &ns,
            &entry(Some("/var/run/netns/cni-2"), "x")
        ));
        assert!(!cni_entry_is_for(&ns, &entry(Some("/proc/43/ns/net"), "y")));
        assert!(!cni_entry_is_for(
            &ns,
            &entry(Some("/var/runx/netns/cni-1"), "y")
        ));
    }

    #[test]
    fn reads_its_own_process() {
        let pid = std::process::id();
        let mut buf = Vec::new();
        let (process, _) = read_process(pid, &mut buf).expect("own process");
        assert_eq!(process.pid, pid);
        assert!(!process.comm.is_empty());
        assert!(!process.cmdline.is_empty());
        assert_eq!(process.uid, Some(nix::unistd::geteuid().as_raw()));
        assert_eq!(parent_of(pid), Some(nix::unistd::getppid().as_raw() as u32));
        assert!(read_process(u32::MAX, &mut buf).is_none());
    }
}
