//! What lives in a namespace, in the words users think in: processes,
//! containers, pods, the hostname, CNI attachments — and the one label
//! ([`display_name`]) every human view shows for the namespace.
//!
//! These types are filled by `sys::attribution` (the impure reading of
//! /proc and the runtimes' on-disk state, parsed by [`crate::runtime`]) and
//! carried unchanged from the raw scan into the snapshot: nothing here
//! needs resolving. Container, pod and host names are attacker-controlled
//! text (anyone who can start a container picks them), so they are
//! [`Name`]s: escaped in JSON, made terminal-safe before printing.

use serde::{Deserialize, Serialize};

use crate::name::Name;
use crate::snapshot::{Namespace, ProcessSummary, netns_label};

/// Bytes of a command line kept per process (argv joined by spaces).
pub const CMDLINE_MAX: usize = 256;

/// One process whose network namespace this is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    /// `/proc/PID/comm`: the kernel's 15-byte process name.
    pub comm: Name,
    /// argv joined by spaces, cut at [`CMDLINE_MAX`] bytes (then ending in
    /// `…`); empty for kernel threads and zombies.
    pub cmdline: Name,
    /// Effective uid as `ps` shows it: the owner of `/proc/PID` (root for
    /// non-dumpable processes, e.g. setuid programs); null when unreadable.
    pub uid: Option<u32>,
}

/// One container whose processes share the namespace. A Kubernetes pod
/// shows several: its sandbox (`name` null) and each app container.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Container {
    /// `docker`, `podman`, `containerd`, `cri-o`, `lxc`, `nspawn`,
    /// `libvirt`, or `kubernetes` when only the kubepods cgroup told it.
    pub runtime: String,
    /// The runtime's id: 64 hex digits, or the name for lxc/nspawn.
    pub id: Name,
    /// The container's name; null when unknown or for a pod sandbox.
    pub name: Option<Name>,
    /// Kubernetes pod name.
    pub pod: Option<Name>,
    /// Kubernetes namespace of the pod.
    pub pod_namespace: Option<Name>,
    /// `com.docker.compose.project` label.
    pub compose_project: Option<Name>,
    /// `com.docker.compose.service` label.
    pub compose_service: Option<Name>,
}

/// One CNI attachment recorded by libcni in its result cache
/// (`/var/lib/cni/results`): which network put which interface here.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CniAttachment {
    /// The CNI network name (`networkName`).
    pub network: Name,
    /// The interface inside the namespace (`ifName`).
    pub ifname: Name,
    /// The id the runtime gave libcni (a pod sandbox or container id).
    pub container_id: Name,
    /// Addresses of the result (`10.88.0.5/16`).
    pub addresses: Vec<String>,
    /// `K8S_POD_NAME` of the CNI arguments.
    pub pod: Option<Name>,
    /// `K8S_POD_NAMESPACE` of the CNI arguments.
    pub pod_namespace: Option<Name>,
}

impl Container {
    /// `namespace/pod`, or `pod` when the Kubernetes namespace is unknown.
    pub fn pod_label(&self) -> Option<String> {
        pod_label(self.pod.as_ref(), self.pod_namespace.as_ref())
    }
}

fn pod_label(pod: Option<&Name>, namespace: Option<&Name>) -> Option<String> {
    let pod = pod?;
    Some(match namespace {
        Some(ns) => format!("{}/{}", ns.as_str(), pod.as_str()),
        None => pod.as_str().to_string(),
    })
}

/// The first 12 characters of an id, as `docker ps` shows it.
pub fn short_id(id: &str) -> &str {
    match id.char_indices().nth(12) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

/// Everything a namespace's display name is chosen from.
#[derive(Clone, Copy, Debug)]
pub struct LabelSources<'a> {
    pub containers: &'a [Container],
    pub cni: &'a [CniAttachment],
    pub names: &'a [Name],
    pub mounts: &'a [Name],
    pub host: bool,
    /// nsmap's own namespace (labelled `current` when nothing better is known).
    pub current: bool,
    pub process: Option<&'a ProcessSummary>,
    pub inode: u64,
}

/// The best single label of a namespace: its pod (`namespace/pod`), else
/// its first container's name, else [`netns_label`] (ip-netns name,
/// bind-mount path, `host`, `current`, `comm(pid)`, `net:[inode]`).
///
/// The host namespace is never named after a container: containers with
/// host networking share it, and calling the host `web` would mislead.
/// In nsmap's escaped form: print it through [`crate::name::terminal_safe`].
pub fn display_name(s: LabelSources<'_>) -> String {
    if !s.host {
        let pod = s
            .containers
            .iter()
            .find_map(Container::pod_label)
            .or_else(|| {
                s.cni
                    .iter()
                    .find_map(|a| pod_label(a.pod.as_ref(), a.pod_namespace.as_ref()))
            });
        if let Some(pod) = pod {
            return pod;
        }
        if let Some(name) = s.containers.iter().find_map(|c| c.name.as_ref()) {
            return name.as_str().to_string();
        }
    }
    netns_label(s.names, s.mounts, (s.host, s.current), s.process, s.inode)
}

/// Whether a name the user typed names this namespace through what lives
/// in it: a container name, pod (`pod` or `namespace/pod`), container id
/// (12 characters or more of it), or the display name.
pub fn names_namespace(ns: &Namespace, typed: &Name) -> bool {
    let is = |n: &Name| n.matches_typed(typed);
    let is_text = |s: &str| Name::from_escaped(s).matches_typed(typed);
    let id_prefix = |id: &Name| {
        let t = typed.as_str();
        t.len() >= 12 && id.as_str().starts_with(t)
    };
    is_text(&ns.label())
        || ns.containers.iter().any(|c| {
            c.name.as_ref().is_some_and(is)
                || c.pod.as_ref().is_some_and(is)
                || c.pod_label().is_some_and(|p| is_text(&p))
                || id_prefix(&c.id)
        })
        || ns.cni.iter().any(|a| {
            a.pod.as_ref().is_some_and(is)
                || pod_label(a.pod.as_ref(), a.pod_namespace.as_ref()).is_some_and(|p| is_text(&p))
        })
}

/// The parent pid in a `/proc/PID/stat` line. The process name in
/// parentheses may hold spaces and `)`, so fields are counted after the
/// last `)`: state, then ppid.
pub fn parse_stat_ppid(stat: &[u8]) -> Option<u32> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// A `/proc/PID/comm` file as a name (without its newline).
pub fn comm_name(comm: &[u8]) -> Name {
    Name::from_bytes(comm.strip_suffix(b"\n").unwrap_or(comm))
}

/// A `/proc/PID/cmdline` (NUL-separated argv) as one line: arguments
/// joined by spaces, cut at [`CMDLINE_MAX`] bytes with `…` appended.
pub fn short_cmdline(cmdline: &[u8]) -> Name {
    let trimmed = match cmdline.iter().rposition(|&b| b != 0) {
        Some(end) => &cmdline[..=end],
        None => return Name::default(),
    };
    let joined: Vec<u8> = trimmed
        .iter()
        .map(|&b| if b == 0 { b' ' } else { b })
        .collect();
    if joined.len() <= CMDLINE_MAX {
        return Name::from_bytes(&joined);
    }
    let cut = Name::from_bytes(&joined[..CMDLINE_MAX]);
    Name::from_escaped(format!("{}…", cut.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files() {
        let stat = b"42 (a) b) c) S 41 42 42 0 -1 4194560 95 0 0 0 0 0 0 0 20 0 1 0\n";
        assert_eq!(parse_stat_ppid(stat), Some(41));
        assert_eq!(parse_stat_ppid(b"42 (sleep"), None);
        assert_eq!(parse_stat_ppid(b"garbage)"), None);
        assert_eq!(comm_name(b"sleep\n"), Name::from("sleep"));
        assert_eq!(short_cmdline(b"sleep\x00600\x00"), Name::from("sleep 600"));
        assert_eq!(short_cmdline(b""), Name::default());
        assert_eq!(short_cmdline(b"\x00\x00"), Name::default());
        let long = [b'a'; CMDLINE_MAX + 10];
        let cut = short_cmdline(&long);
        assert_eq!(cut.as_str().len(), CMDLINE_MAX + "…".len());
        assert!(cut.as_str().ends_with('…'));
        // A multi-byte character cut in half stays injective (\xNN).
        let mut wide = vec![b'a'; CMDLINE_MAX - 1];
        wide.extend("é".as_bytes());
        assert!(short_cmdline(&wide).as_str().contains("\\xc3"));
    }

    fn ctr(name: Option<&str>, pod: Option<&str>, ns: Option<&str>) -> Container {
        Container {
            runtime: "containerd".into(),
            id: Name::from("0123456789abcdef0123"),
            name: name.map(Name::from),
            pod: pod.map(Name::from),
            pod_namespace: ns.map(Name::from),
            ..Container::default()
        }
    }

    fn sources<'a>(containers: &'a [Container], names: &'a [Name], host: bool) -> LabelSources<'a> {
        LabelSources {
            containers,
            cni: &[],
            names,
            mounts: &[],
            host,
            current: false,
            process: None,
            inode: 7,
        }
    }

    #[test]
    fn pod_beats_container_beats_netns_name() {
        let names = [Name::from("netns-1234")];
        let pod = [
            ctr(None, Some("web-0"), Some("shop")),
            ctr(Some("app"), Some("web-0"), Some("shop")),
        ];
        assert_eq!(display_name(sources(&pod, &names, false)), "shop/web-0");
        let plain = [ctr(Some("db"), None, None)];
        assert_eq!(display_name(sources(&plain, &names, false)), "db");
        assert_eq!(display_name(sources(&[], &names, false)), "netns-1234");
        assert_eq!(display_name(sources(&[], &[], false)), "net:[7]");
    }

    #[test]
    fn the_host_is_not_named_after_a_host_network_container() {
        let plain = [ctr(Some("db"), None, None)];
        assert_eq!(display_name(sources(&plain, &[], true)), "host");
    }

    #[test]
    fn a_cni_pod_names_a_namespace_without_readable_processes() {
        let cni = [CniAttachment {
            pod: Some(Name::from("api")),
            pod_namespace: Some(Name::from("default")),
            ..CniAttachment::default()
        }];
        let s = LabelSources {
            cni: &cni,
            ..sources(&[], &[], false)
        };
        assert_eq!(display_name(s), "default/api");
    }

    #[test]
    fn users_name_namespaces_by_container_pod_or_id() {
        let ns = Namespace {
            inode: 9,
            containers: vec![ctr(Some("app"), Some("web-0"), Some("shop"))],
            ..Namespace::default()
        };
        for typed in ["app", "web-0", "shop/web-0", "0123456789ab"] {
            assert!(names_namespace(&ns, &Name::from(typed)), "{typed}");
        }
        for typed in ["ap", "0123", "shop", "web"] {
            assert!(!names_namespace(&ns, &Name::from(typed)), "{typed}");
        }
    }

    #[test]
    fn short_ids_as_docker_ps_shows_them() {
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}
