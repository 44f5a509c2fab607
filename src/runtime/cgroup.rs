//! Which container a process runs in, from `/proc/PID/cgroup`.
//!
//! Each line is `hierarchy-id:controllers:path` (cgroup v1: one line per
//! hierarchy; v2: the single `0::path`; hybrid systems have both). Every
//! runtime names its container's cgroup after the container — `docker-ID.scope`,
//! `/docker/ID`, `libpod-ID`, `cri-containerd-ID.scope`, `crio-ID`,
//! `lxc.payload.NAME`, `machine-NAME.scope`, a bare id under `kubepods` —
//! and the patterns live in each runtime's module. The path is read from
//! its innermost component outwards, so nested containers (a pod inside a
//! kind node inside Docker) give the innermost one: the one whose network
//! namespace the process is in. Paths are relative to the reader's cgroup
//! namespace; the container's own component is still at the end.

use super::{CgroupContainer, containerd, crio, docker, kubernetes, lxc, nspawn, podman};

/// A runtime's cgroup pattern: does component `i` of `parts` name a
/// container (`parts[..i]` gives the context)?
type Matcher = fn(&[&str], usize) -> Option<CgroupContainer>;

/// Most specific first: `libpod-conmon-…` must be rejected by podman
/// before anything else sees a hex id, and a bare id under `kubepods` is
/// the last resort.
const MATCHERS: &[Matcher] = &[
    podman::from_cgroup,
    docker::from_cgroup,
    containerd::from_cgroup,
    crio::from_cgroup,
    lxc::from_cgroup,
    nspawn::from_cgroup,
    kubernetes::from_cgroup,
];

/// The container of a process, from the contents of its cgroup file.
/// The v2 line is asked first (it is the one systemd and runtimes manage on
/// hybrid hosts), then `name=systemd`, then the v1 controllers.
pub fn container_of(content: &[u8]) -> Option<CgroupContainer> {
    containers_of(content).pop()
}

/// Every container named along the process's cgroup path, outermost first
/// (a kind node, then the pod container inside it). The innermost is the
/// process's own — unless a process forged it: a container that can create
/// cgroups below its own can name one after another container, which is
/// why attribution keeps the whole chain.
pub fn containers_of(content: &[u8]) -> Vec<CgroupContainer> {
    let text = String::from_utf8_lossy(content);
    let mut paths: Vec<(u8, &str)> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let id = fields.next()?;
            let controllers = fields.next()?;
            let path = fields.next()?;
            let rank = match (id, controllers) {
                ("0", "") => 0,
                (_, "name=systemd") => 1,
                _ => 2,
            };
            Some((rank, path))
        })
        .collect();
    paths.sort_by_key(|&(rank, _)| rank);
    paths
        .into_iter()
        .map(|(_, path)| chain(path))
        .find(|chain| !chain.is_empty())
        .unwrap_or_default()
}

/// The innermost container named by one cgroup path.
pub fn in_path(path: &str) -> Option<CgroupContainer> {
    chain(path).pop()
}

/// Every container one cgroup path names, outermost first.
fn chain(path: &str) -> Vec<CgroupContainer> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    (0..parts.len())
        .filter_map(|i| MATCHERS.iter().find_map(|m| m(&parts, i)))
        .fold(Vec::new(), |mut out, c| {
            // A runtime may name a container twice (a scope inside a slice).
            if out.last() != Some(&c) {
                out.push(c);
            }
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::runtime::Runtime;
    use crate::runtime::testing::{fixture, survives_damage};

    const ID: &str = "4f1e8b2c9d0a7e6f5b3c1d2e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a";
    const ID2: &str = "9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c";

    fn found(path: &str) -> Option<(Runtime, String, Option<Name>)> {
        in_path(path).map(|c| (c.runtime, c.id, c.name))
    }

    fn id(runtime: Runtime, id: &str) -> Option<(Runtime, String, Option<Name>)> {
        Some((runtime, id.to_string(), None))
    }

    fn named(runtime: Runtime, name: &str) -> Option<(Runtime, String, Option<Name>)> {
        Some((runtime, name.to_string(), Some(Name::from(name))))
    }

    #[test]
    fn docker_layouts() {
        assert_eq!(
            found(&format!("/system.slice/docker-{ID}.scope")),
            id(Runtime::Docker, ID)
        );
        assert_eq!(found(&format!("/docker/{ID}")), id(Runtime::Docker, ID));
        // systemd inside the container moves it into a child cgroup.
        assert_eq!(
            found(&format!("/system.slice/docker-{ID}.scope/init.scope")),
            id(Runtime::Docker, ID)
        );
        assert_eq!(found("/system.slice/docker.service"), None);
        assert_eq!(found("/docker/not-an-id"), None);
    }

    #[test]
    fn podman_layouts() {
        assert_eq!(
            found(&format!("/libpod_parent/libpod-{ID}")),
            id(Runtime::Podman, ID)
        );
        assert_eq!(
            found(&format!("/machine.slice/libpod-{ID}.scope/container")),
            id(Runtime::Podman, ID)
        );
        assert_eq!(
            found(&format!(
                "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"
            )),
            id(Runtime::Podman, ID)
        );
        assert_eq!(
            found(&format!(
                "/machine.slice/machine-libpod_pod_{ID2}.slice/libpod-{ID}.scope"
            )),
            id(Runtime::Podman, ID)
        );
        // conmon watches the container from outside it.
        assert_eq!(
            found(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
            None
        );
        assert_eq!(
            found(&format!("/machine.slice/machine-libpod_pod_{ID2}.slice")),
            None
        );
    }

    #[test]
    fn kubernetes_layouts() {
        let systemd = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7c3e1f0a_5b2d_4e8f_9a1b_2c3d4e5f6a7b.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(found(&systemd), id(Runtime::Containerd, ID));
        assert_eq!(
            found(&format!(
                "/kubepods.slice/kubepods-pod1.slice/crio-{ID}.scope"
            )),
            id(Runtime::CriO, ID)
        );
        assert_eq!(
            found(&format!(
                "/kubepods.slice/kubepods-pod1.slice/crio-conmon-{ID}.scope"
            )),
            None
        );
        assert_eq!(
            found(&format!(
                "/kubepods/besteffort/pod7c3e1f0a-5b2d-4e8f-9a1b-2c3d4e5f6a7b/{ID}"
            )),
            id(Runtime::Kubernetes, ID)
        );
        assert_eq!(
            found(&format!("/kubepods/burstable/podx/crio-{ID}")),
            id(Runtime::CriO, ID)
        );
        assert_eq!(
            found(&format!(
                "/kubepods.slice/kubepods-pod1.slice/docker-{ID}.scope"
            )),
            id(Runtime::Docker, ID)
        );
        assert_eq!(found("/kubepods/burstable/pod1"), None);
    }

    #[test]
    fn nested_containers_give_the_innermost() {
        // A pod inside a kind node, which is itself a Docker container.
        let kind = format!(
            "/system.slice/docker-{ID2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod1.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(found(&kind), id(Runtime::Containerd, ID));
        assert_eq!(
            found(&format!("/system.slice/docker-{ID2}.scope/kubelet.slice")),
            id(Runtime::Docker, ID2)
        );
        assert_eq!(
            found(&format!("/lxc.payload.box/system.slice/docker-{ID}.scope")),
            id(Runtime::Docker, ID)
        );
    }

    #[test]
    fn lxc_nspawn_and_libvirt_carry_names() {
        assert_eq!(found("/lxc.payload.web"), named(Runtime::Lxc, "web"));
        assert_eq!(
            found("/lxc.payload.web/system.slice/nginx.service"),
            named(Runtime::Lxc, "web")
        );
        assert_eq!(found("/lxc/old-style"), named(Runtime::Lxc, "old-style"));
        assert_eq!(found("/lxc.monitor.web"), None);
        assert_eq!(
            found("/machine.slice/machine-build\\x2dbox.scope"),
            named(Runtime::Nspawn, "build-box")
        );
        assert_eq!(
            found("/machine.slice/machine-build\\x2dbox.scope/payload/system.slice/sshd.service"),
            named(Runtime::Nspawn, "build-box")
        );
        assert_eq!(
            found("/machine.slice/machine-qemu\\x2d3\\x2dwin11.scope/libvirt/emulator"),
            named(Runtime::Libvirt, "win11")
        );
        assert_eq!(
            found("/machine.slice/machine-lxc\\x2d4242\\x2dsandbox.scope"),
            named(Runtime::Libvirt, "sandbox")
        );
    }

    #[test]
    fn plain_processes_are_in_no_container() {
        for path in [
            "/",
            "/init.scope",
            "/system.slice/containerd.service",
            "/system.slice/crio.service",
            "/user.slice/user-1000.slice/session-2.scope",
            "/system.slice/systemd-machined.service",
        ] {
            assert_eq!(found(path), None, "{path}");
        }
    }

    #[test]
    fn recorded_cgroup_files_v1_v2_and_hybrid() {
        let v2 = fixture("cgroup-v2-docker.txt");
        assert_eq!(container_of(&v2).map(|c| c.id), Some(ID.to_string()));
        let v1 = container_of(&fixture("cgroup-v1-docker.txt")).expect("v1 docker");
        assert_eq!((v1.runtime, v1.id.as_str()), (Runtime::Docker, ID));
        let hybrid = container_of(&fixture("cgroup-hybrid-podman.txt")).expect("hybrid podman");
        assert_eq!(hybrid.runtime, Runtime::Podman);
        let kube = container_of(&fixture("cgroup-v1-kubepods-containerd.txt")).expect("v1 kube");
        assert_eq!(kube.runtime, Runtime::Containerd);
        assert_eq!(container_of(&fixture("cgroup-v2-host.txt")), None);
        assert_eq!(container_of(b""), None);
        assert_eq!(container_of(b"garbage\n::\n0::"), None);
    }

    #[test]
    fn damaged_cgroup_files_do_not_panic() {
        for f in [
            "cgroup-v1-docker.txt",
            "cgroup-hybrid-podman.txt",
            "cgroup-v1-kubepods-containerd.txt",
        ] {
            survives_damage(&fixture(f), container_of);
        }
    }
}
