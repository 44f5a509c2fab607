//! Container runtimes as nsmap sees them from the outside: which container
//! a process runs in (its cgroup path) and what the runtime calls it (the
//! runtime's own files on disk). One module per runtime, each a set of pure
//! functions over file contents, so every layout is unit-tested on recorded
//! files (`tests/fixtures/runtime/`) without the runtime installed.
//!
//! Invariants: read-only and local (no engine API, no sockets); every
//! parser returns `None` rather than failing, on any input — these files
//! are written by other programs, change between versions, and may be
//! truncated while we read them. A missing source only means a less
//! helpful name; it never fails a scan. `sys::attribution` does the
//! reading and decides which file to ask for.

pub mod cgroup;
pub mod cni;
pub mod containerd;
pub mod crio;
pub mod docker;
pub mod kubernetes;
pub mod lxc;
pub mod nspawn;
pub mod podman;

use serde_json::Value;

use crate::attribution::Container;
use crate::name::Name;

/// Who runs a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    Docker,
    Podman,
    Containerd,
    CriO,
    Lxc,
    Nspawn,
    Libvirt,
    /// Under `kubepods` with a bare id: some CRI runtime, not yet known.
    Kubernetes,
}

impl Runtime {
    /// The word used in JSON (`containers[].runtime`).
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Lxc => "lxc",
            Runtime::Nspawn => "nspawn",
            Runtime::Libvirt => "libvirt",
            Runtime::Kubernetes => "kubernetes",
        }
    }
}

/// A container as a cgroup path names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CgroupContainer {
    pub runtime: Runtime,
    /// 64 hex digits, or the name for lxc/nspawn/libvirt.
    pub id: String,
    /// A name the cgroup itself carries (lxc, nspawn, libvirt).
    pub name: Option<Name>,
}

/// Names a runtime's own files give a container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    pub name: Option<Name>,
    pub pod: Option<Name>,
    pub pod_namespace: Option<Name>,
    pub compose_project: Option<Name>,
    pub compose_service: Option<Name>,
    /// A pod sandbox (pause/infra) rather than an app container.
    pub sandbox: bool,
}

impl CgroupContainer {
    /// The snapshot's record: the cgroup's identity plus whatever the
    /// runtime's files said (`runtime` may be refined by where they were
    /// found, e.g. a bare kubepods id found in containerd's state).
    pub fn describe(&self, runtime: Runtime, meta: Option<&Metadata>) -> Container {
        let meta = meta.cloned().unwrap_or_default();
        Container {
            runtime: runtime.as_str().to_string(),
            id: Name::from(self.id.as_str()),
            name: if meta.sandbox {
                None
            } else {
                meta.name.or_else(|| self.name.clone())
            },
            pod: meta.pod,
            pod_namespace: meta.pod_namespace,
            compose_project: meta.compose_project,
            compose_service: meta.compose_service,
        }
    }
}

/// A full container id as Docker, podman, containerd and CRI-O make them.
pub fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A string field at `path` in a JSON document.
fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    v.as_str()
}

/// A non-empty string as a name (names come from files others wrote).
fn name(s: Option<&str>) -> Option<Name> {
    s.filter(|s| !s.is_empty()).map(Name::from)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the per-runtime parser tests.

    use std::path::PathBuf;

    /// A recorded runtime file under `tests/fixtures/runtime/`.
    pub fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/runtime")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Runs `parse` on every prefix of `bytes` and on copies with single
    /// bytes flipped: parsers see files truncated mid-write and garbage,
    /// and must never panic on them.
    pub fn survives_damage<T>(bytes: &[u8], parse: impl Fn(&[u8]) -> T) {
        for end in 0..=bytes.len() {
            let _ = parse(&bytes[..end]);
        }
        let mut copy = bytes.to_vec();
        for i in (0..copy.len()).step_by(7) {
            let saved = copy[i];
            for b in [0u8, b'"', b'{', b']', b'\n', b'/', b':', b'-', 0xff] {
                copy[i] = b;
                let _ = parse(&copy);
            }
            copy[i] = saved;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_are_exactly_64_lowercase_hex_digits() {
        assert!(is_hex_id(&"a".repeat(64)));
        assert!(!is_hex_id(&"a".repeat(63)));
        assert!(!is_hex_id(&"A".repeat(64)));
        assert!(!is_hex_id(&"g".repeat(64)));
    }

    #[test]
    fn sandboxes_have_no_container_name() {
        let c = CgroupContainer {
            runtime: Runtime::Containerd,
            id: "a".repeat(64),
            name: None,
        };
        let meta = Metadata {
            name: Some(Name::from("POD")),
            pod: Some(Name::from("web")),
            sandbox: true,
            ..Metadata::default()
        };
        let described = c.describe(Runtime::Containerd, Some(&meta));
        assert_eq!(described.name, None);
        assert_eq!(described.pod, Some(Name::from("web")));
        assert_eq!(described.runtime, "containerd");
    }
}
