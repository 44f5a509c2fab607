//! Docker (moby): containers in cgroups `docker-ID.scope` (systemd driver)
//! or `/docker/ID` (cgroupfs driver); names in the per-container state file
//! `/var/lib/docker/containers/ID/config.v2.json`.
//!
//! That file holds `Name` (with Docker's leading `/`), `Config.Labels`
//! (Compose's `com.docker.compose.project`/`service`; under Kubernetes with
//! cri-dockerd, the `io.kubernetes.*` labels) and much else nsmap ignores.
//! It is rewritten on every state change, so a read can see it truncated:
//! then it is simply unknown.

use serde_json::Value;

use super::{CgroupContainer, Metadata, Runtime, is_hex_id, kubernetes, name, str_at};

/// Where Docker keeps a container's state, relative to the host root.
pub fn config_path(id: &str) -> String {
    format!("/var/lib/docker/containers/{id}/config.v2.json")
}

/// `docker-ID.scope`, or `ID` right under `docker`.
pub fn from_cgroup(parts: &[&str], i: usize) -> Option<CgroupContainer> {
    let part = parts.get(i)?;
    let id = match part
        .strip_prefix("docker-")
        .and_then(|p| p.strip_suffix(".scope"))
    {
        Some(id) => id,
        None if i > 0 && parts[i - 1] == "docker" => part,
        None => return None,
    };
    is_hex_id(id).then(|| CgroupContainer {
        runtime: Runtime::Docker,
        id: id.to_string(),
        name: None,
    })
}

/// Names from `config.v2.json`.
pub fn parse_config(bytes: &[u8]) -> Option<Metadata> {
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    let label = |key: &str| str_at(&doc, &["Config", "Labels", key]);
    let own_name = str_at(&doc, &["Name"]).map(|n| n.strip_prefix('/').unwrap_or(n));
    let mut meta = Metadata {
        name: name(own_name),
        compose_project: name(label("com.docker.compose.project")),
        compose_service: name(label("com.docker.compose.service")),
        ..Metadata::default()
    };
    if let Some(kube) = kubernetes::from_labels(&label) {
        // cri-dockerd names containers k8s_…; the labels say it plainly.
        meta.name = kube.name;
        meta.pod = kube.pod;
        meta.pod_namespace = kube.pod_namespace;
        meta.sandbox = kube.sandbox || label("io.kubernetes.docker.type") == Some("podsandbox");
    }
    Some(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::runtime::testing::{fixture, survives_damage};

    #[test]
    fn a_compose_service() {
        let meta = parse_config(&fixture("docker-config.v2.json")).expect("parses");
        assert_eq!(meta.name, Some(Name::from("shop-web-1")));
        assert_eq!(meta.compose_project, Some(Name::from("shop")));
        assert_eq!(meta.compose_service, Some(Name::from("web")));
        assert_eq!(meta.pod, None);
        assert!(!meta.sandbox);
    }

    #[test]
    fn a_kubernetes_pod_under_cri_dockerd() {
        let sandbox = parse_config(&fixture("docker-k8s-sandbox.config.v2.json")).expect("parses");
        assert_eq!(sandbox.pod, Some(Name::from("coredns-5d78c9869d-6xk2p")));
        assert_eq!(sandbox.pod_namespace, Some(Name::from("kube-system")));
        assert!(sandbox.sandbox);
    }

    #[test]
    fn hostile_names_stay_data() {
        let meta = parse_config(br#"{"Name":"/\u001b[31mevil","Config":{"Labels":null}}"#)
            .expect("parses");
        assert_eq!(meta.name, Some(Name::from("\x1b[31mevil")));
        assert!(parse_config(b"{}").is_some_and(|m| m.name.is_none()));
        assert_eq!(parse_config(b"[1,2]").map(|m| m.name), Some(None));
        assert_eq!(parse_config(b"not json"), None);
    }

    #[test]
    fn damaged_files_do_not_panic() {
        survives_damage(&fixture("docker-config.v2.json"), parse_config);
        survives_damage(&fixture("docker-k8s-sandbox.config.v2.json"), parse_config);
    }
}
