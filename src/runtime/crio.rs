//! CRI-O: Kubernetes containers in cgroups `crio-ID.scope` (systemd) or
//! `crio-ID` (cgroupfs); `crio-conmon-ID` is the monitor outside them.
//!
//! CRI-O keeps each container's OCI config in containers/storage,
//! `/run/containers/storage/overlay-containers/ID/userdata/config.json`
//! (and `/var/lib/…` for the persistent copy). Its annotations carry the
//! pod: `io.kubernetes.cri-o.ContainerType` (`sandbox`/`container`), the
//! kubelet's labels as a JSON string in `io.kubernetes.cri-o.Labels`, the
//! container metadata in `…Metadata`, the pod namespace in `…Namespace`
//! and `k8s_…` names in `…Name` / `…SandboxName`. Podman writes some
//! `io.kubernetes.cri-o.*` annotations too (shared code), but marks its
//! bundles `io.container.manager: libpod`: those are not CRI-O's.

use serde_json::Value;

use super::{CgroupContainer, Metadata, Runtime, is_hex_id, kubernetes, name, str_at};

/// Where CRI-O's bundle config of a container may be, most current first.
pub fn config_paths(id: &str) -> [String; 2] {
    [
        format!("/run/containers/storage/overlay-containers/{id}/userdata/config.json"),
        format!("/var/lib/containers/storage/overlay-containers/{id}/userdata/config.json"),
    ]
}

/// `crio-ID.scope` or `crio-ID`, but not `crio-conmon-ID…`.
pub fn from_cgroup(parts: &[&str], i: usize) -> Option<CgroupContainer> {
    let part = parts.get(i)?;
    let rest = part.strip_prefix("crio-")?;
    let id = rest.strip_suffix(".scope").unwrap_or(rest);
    is_hex_id(id).then(|| CgroupContainer {
        runtime: Runtime::CriO,
        id: id.to_string(),
        name: None,
    })
}

/// Names from a CRI-O bundle `config.json`; None for podman's bundles.
pub fn parse_config(bytes: &[u8]) -> Option<Metadata> {
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    let note = |key: &str| str_at(&doc, &["annotations", key]);
    if note("io.container.manager") == Some("libpod") {
        return None;
    }
    let labels: Value = note("io.kubernetes.cri-o.Labels")
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let metadata: Value = note("io.kubernetes.cri-o.Metadata")
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or(Value::Null);
    let from_labels = kubernetes::from_labels(&label).unwrap_or_default();
    let own = note("io.kubernetes.cri-o.Name")
        .and_then(kubernetes::parse_k8s_name)
        .unwrap_or_default();
    let of_sandbox = note("io.kubernetes.cri-o.SandboxName")
        .and_then(kubernetes::parse_k8s_name)
        .unwrap_or_default();
    let sandbox = note("io.kubernetes.cri-o.ContainerType") == Some("sandbox");
    Some(Metadata {
        name: from_labels
            .name
            .or(own.name)
            .or_else(|| name(metadata.get("name").and_then(Value::as_str))),
        pod: from_labels
            .pod
            .or_else(|| name(note("io.kubernetes.cri-o.KubeName")))
            .or(own.pod)
            .or(of_sandbox.pod),
        pod_namespace: from_labels
            .pod_namespace
            .or_else(|| name(note("io.kubernetes.cri-o.Namespace")))
            .or(own.pod_namespace)
            .or(of_sandbox.pod_namespace),
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
    fn a_container_started_by_the_kubelet() {
        let meta = parse_config(&fixture("crio-container.config.json")).expect("parses");
        assert_eq!(meta.name, Some(Name::from("redis")));
        assert_eq!(meta.pod, Some(Name::from("cache-0")));
        assert_eq!(meta.pod_namespace, Some(Name::from("shop")));
        assert!(!meta.sandbox);
    }

    #[test]
    fn a_sandbox_made_with_crictl() {
        let meta = parse_config(&fixture("crio-sandbox.config.json")).expect("parses");
        assert!(meta.sandbox);
        assert_eq!(meta.pod, Some(Name::from("podsandbox1")));
        assert_eq!(meta.pod_namespace, Some(Name::from("redhat.test.crio")));
    }

    #[test]
    fn podman_bundles_are_not_cri_o() {
        assert_eq!(parse_config(&fixture("podman-bundle.config.json")), None);
    }

    #[test]
    fn damaged_files_do_not_panic() {
        survives_damage(&fixture("crio-container.config.json"), parse_config);
        survives_damage(&fixture("crio-sandbox.config.json"), parse_config);
    }
}
