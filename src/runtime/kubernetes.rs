//! Kubernetes conventions shared by its runtimes: the `io.kubernetes.*`
//! labels the kubelet puts on every container, the `k8s_…` names of
//! dockershim/cri-dockerd and CRI-O, and the kubepods cgroup tree, where
//! the cgroupfs driver names a container's cgroup by its bare id (the
//! runtime is then found by looking the id up in each runtime's state).

use super::{CgroupContainer, Runtime, is_hex_id, name};
use crate::name::Name;

/// A pod/container identity as Kubernetes names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeName {
    /// The container's name in the pod spec; None for the sandbox.
    pub name: Option<Name>,
    pub pod: Option<Name>,
    pub pod_namespace: Option<Name>,
    /// The pod sandbox (pause container).
    pub sandbox: bool,
}

/// A bare 64-hex id below a `kubepods…` cgroup (the cgroupfs driver).
pub fn from_cgroup(parts: &[&str], i: usize) -> Option<CgroupContainer> {
    let part = parts.get(i)?;
    let under_kubepods = parts[..i].iter().any(|p| p.starts_with("kubepods"));
    (under_kubepods && is_hex_id(part)).then(|| CgroupContainer {
        runtime: Runtime::Kubernetes,
        id: part.to_string(),
        name: None,
    })
}

/// The kubelet's labels (`io.kubernetes.pod.name`, `…pod.namespace`,
/// `…container.name`), when present. The sandbox's container name is
/// `POD` in dockershim's convention.
pub fn from_labels<'a>(label: &dyn Fn(&str) -> Option<&'a str>) -> Option<KubeName> {
    let pod = name(label("io.kubernetes.pod.name"));
    let container = label("io.kubernetes.container.name");
    if pod.is_none() && container.is_none() {
        return None;
    }
    let sandbox = container == Some("POD");
    Some(KubeName {
        name: if sandbox { None } else { name(container) },
        pod,
        pod_namespace: name(label("io.kubernetes.pod.namespace")),
        sandbox,
    })
}

/// Parses `k8s_CONTAINER_POD_NAMESPACE_UID_ATTEMPT` (a container, or the
/// dockershim sandbox with CONTAINER `POD`) and CRI-O's sandbox form
/// `k8s_POD_NAMESPACE_UID_ATTEMPT`. Kubernetes names never hold `_`, so
/// the split is exact.
pub fn parse_k8s_name(full: &str) -> Option<KubeName> {
    let rest = full.strip_prefix("k8s_")?;
    let parts: Vec<&str> = rest.split('_').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    match parts.as_slice() {
        [container, pod, namespace, _uid, _attempt] => Some(KubeName {
            name: (*container != "POD").then(|| Name::from(*container)),
            pod: Some(Name::from(*pod)),
            pod_namespace: Some(Name::from(*namespace)),
            sandbox: *container == "POD",
        }),
        [pod, namespace, _uid, _attempt] => Some(KubeName {
            name: None,
            pod: Some(Name::from(*pod)),
            pod_namespace: Some(Name::from(*namespace)),
            sandbox: true,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k8s_names() {
        let c = parse_k8s_name("k8s_nginx_web-7d9f_shop_0d5d3f7e-8a4b_0").expect("container");
        assert_eq!(c.name, Some(Name::from("nginx")));
        assert_eq!(c.pod, Some(Name::from("web-7d9f")));
        assert_eq!(c.pod_namespace, Some(Name::from("shop")));
        assert!(!c.sandbox);
        let s =
            parse_k8s_name("k8s_POD_web-7d9f_shop_0d5d3f7e-8a4b_0").expect("dockershim sandbox");
        assert!(s.sandbox && s.name.is_none());
        let crio = parse_k8s_name("k8s_podsandbox1_redhat.test.crio_redhat-test-crio_1")
            .expect("cri-o sandbox");
        assert_eq!(crio.pod, Some(Name::from("podsandbox1")));
        assert_eq!(crio.pod_namespace, Some(Name::from("redhat.test.crio")));
        for bad in [
            "web",
            "k8s_",
            "k8s_a_b",
            "k8s_a__c_d_e",
            "k8s_a_b_c_d_e_f_g",
        ] {
            assert_eq!(parse_k8s_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn kubelet_labels() {
        let labels = |k: &str| match k {
            "io.kubernetes.pod.name" => Some("web-0"),
            "io.kubernetes.pod.namespace" => Some("shop"),
            "io.kubernetes.container.name" => Some("app"),
            _ => None,
        };
        let k = from_labels(&labels).expect("labels");
        assert_eq!(k.name, Some(Name::from("app")));
        assert_eq!(from_labels(&|_: &str| None), None);
    }
}
