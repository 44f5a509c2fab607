//! containerd: Kubernetes containers through its CRI plugin (cgroup
//! `cri-containerd-ID.scope`, or a bare id under kubepods with cgroupfs)
//! and nerdctl's (`nerdctl-ID.scope`).
//!
//! Names come from the OCI bundle of the running task,
//! `/run/containerd/io.containerd.runtime.v2.task/NAMESPACE/ID/config.json`
//! (containerd namespace `k8s.io` for Kubernetes, `default` for nerdctl,
//! `moby` for Docker's tasks). The CRI plugin writes the pod identity into
//! its annotations: `io.kubernetes.cri.container-type` (`sandbox` or
//! `container`), `…container-name`, `…sandbox-name`, `…sandbox-namespace`.
//! nerdctl writes `nerdctl/name`.

use serde_json::Value;

use super::{CgroupContainer, Metadata, Runtime, is_hex_id, name, str_at};

/// The directory of containerd's running task bundles, one subdirectory
/// per containerd namespace.
pub const TASK_DIR: &str = "/run/containerd/io.containerd.runtime.v2.task";

/// `cri-containerd-ID.scope` or `nerdctl-ID.scope`.
pub fn from_cgroup(parts: &[&str], i: usize) -> Option<CgroupContainer> {
    let part = parts.get(i)?;
    let rest = part
        .strip_prefix("cri-containerd-")
        .or_else(|| part.strip_prefix("nerdctl-"))?;
    let id = rest.strip_suffix(".scope").unwrap_or(rest);
    is_hex_id(id).then(|| CgroupContainer {
        runtime: Runtime::Containerd,
        id: id.to_string(),
        name: None,
    })
}

/// Names from a task bundle's OCI `config.json`.
pub fn parse_bundle_config(bytes: &[u8]) -> Option<Metadata> {
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    let note = |key: &str| str_at(&doc, &["annotations", key]);
    let sandbox = note("io.kubernetes.cri.container-type") == Some("sandbox");
    Some(Metadata {
        name: name(note("io.kubernetes.cri.container-name").or(note("nerdctl/name"))),
        pod: name(note("io.kubernetes.cri.sandbox-name")),
        pod_namespace: name(note("io.kubernetes.cri.sandbox-namespace")),
        sandbox,
        ..Metadata::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::runtime::testing::{fixture, survives_damage};

    #[test]
    fn a_kubernetes_pod_sandbox_and_its_container() {
        let sandbox =
            parse_bundle_config(&fixture("containerd-cri-sandbox.config.json")).expect("sandbox");
        assert!(sandbox.sandbox);
        assert_eq!(sandbox.pod, Some(Name::from("web-7d9f8c6b5-x2x4q")));
        assert_eq!(sandbox.pod_namespace, Some(Name::from("shop")));
        let app = parse_bundle_config(&fixture("containerd-cri-container.config.json"))
            .expect("container");
        assert!(!app.sandbox);
        assert_eq!(app.name, Some(Name::from("nginx")));
        assert_eq!(app.pod, Some(Name::from("web-7d9f8c6b5-x2x4q")));
        assert_eq!(app.pod_namespace, Some(Name::from("shop")));
    }

    #[test]
    fn nerdctl_names() {
        let meta =
            parse_bundle_config(br#"{"annotations":{"nerdctl/name":"redis"}}"#).expect("parses");
        assert_eq!(meta.name, Some(Name::from("redis")));
        assert_eq!(meta.pod, None);
        let bare = parse_bundle_config(br#"{"ociVersion":"1.1.0"}"#).expect("parses");
        assert_eq!(bare, Metadata::default());
    }

    #[test]
    fn damaged_files_do_not_panic() {
        survives_damage(
            &fixture("containerd-cri-sandbox.config.json"),
            parse_bundle_config,
        );
        survives_damage(
            &fixture("containerd-cri-container.config.json"),
            parse_bundle_config,
        );
    }
}
