//! CNI result caches: what libcni records after each successful ADD, in
//! `/var/lib/cni/results/NETWORK-CONTAINERID-IFNAME` (containerd's CRI,
//! CRI-O, nerdctl, podman with the CNI backend — anything built on libcni;
//! the plugins themselves write no cache, so plugins run by hand leave
//! none).
//!
//! The current format (`"kind": "cniCacheV1"`) holds `containerId`,
//! `networkName`, `ifName`, `netns` (newer libcni), the runtime's
//! `cniArgs` (Kubernetes runtimes pass `K8S_POD_NAME`,
//! `K8S_POD_NAMESPACE`) and the plugin's `result` (`interfaces` with the
//! `sandbox` netns path, `ips`). Older libcni stored only the result, and
//! the file name then gives network, id and interface.

use serde_json::Value;

use crate::attribution::CniAttachment;
use crate::name::Name;

use super::{is_hex_id, name};

/// libcni's default cache directory for results.
pub const RESULTS_DIR: &str = "/var/lib/cni/results";

/// One cache file: the attachment and the netns path it was made in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedResult {
    pub attachment: CniAttachment,
    /// The netns path the runtime gave (`/var/run/netns/cni-…`,
    /// `/proc/PID/ns/net`), as written; None when the cache lacks it.
    pub netns: Option<String>,
}

/// Parses one cache file; `file_name` is needed only for the old format.
pub fn parse_result_cache(file_name: &str, bytes: &[u8]) -> Option<CachedResult> {
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    if doc.get("kind").and_then(Value::as_str) == Some("cniCacheV1") {
        let ifname = doc.get("ifName")?.as_str()?;
        let result = doc.get("result").unwrap_or(&Value::Null);
        let args = |key: &str| {
            doc.get("cniArgs")?
                .as_array()?
                .iter()
                .filter_map(Value::as_array)
                .find(|pair| pair.first().and_then(Value::as_str) == Some(key))?
                .get(1)?
                .as_str()
        };
        let netns = doc
            .get("netns")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| sandbox_of(result, ifname));
        return Some(CachedResult {
            attachment: CniAttachment {
                network: Name::from(doc.get("networkName")?.as_str()?),
                ifname: Name::from(ifname),
                container_id: Name::from(doc.get("containerId")?.as_str()?),
                addresses: addresses(result, ifname),
                pod: name(args("K8S_POD_NAME")),
                pod_namespace: name(args("K8S_POD_NAMESPACE")),
            },
            netns: netns.map(str::to_string),
        });
    }
    // Old format: the bare result, identity in the file name.
    let (network, id, ifname) = split_file_name(file_name)?;
    doc.get("ips").or(doc.get("interfaces"))?;
    Some(CachedResult {
        attachment: CniAttachment {
            network: Name::from(network),
            ifname: Name::from(ifname),
            container_id: Name::from(id),
            addresses: addresses(&doc, ifname),
            pod: None,
            pod_namespace: None,
        },
        netns: sandbox_of(&doc, ifname).map(str::to_string),
    })
}

/// `NETWORK-ID-IFNAME` where ID is 64 hex digits (network names may hold `-`).
fn split_file_name(file_name: &str) -> Option<(&str, &str, &str)> {
    let (rest, ifname) = file_name.rsplit_once('-')?;
    let split = rest.len().checked_sub(65)?;
    let (network, dash_id) = (rest.get(..split)?, rest.get(split..)?);
    let id = dash_id.strip_prefix('-')?;
    (is_hex_id(id) && !network.is_empty() && !ifname.is_empty()).then_some((network, id, ifname))
}

/// The index of `ifname` among the result's interfaces that sit in a sandbox.
fn interface_index(result: &Value, ifname: &str) -> Option<u64> {
    let interfaces = result.get("interfaces")?.as_array()?;
    interfaces
        .iter()
        .position(|i| i.get("name").and_then(Value::as_str) == Some(ifname))
        .map(|i| i as u64)
}

fn sandbox_of<'a>(result: &'a Value, ifname: &str) -> Option<&'a str> {
    let interfaces = result.get("interfaces")?.as_array()?;
    let named = interfaces
        .iter()
        .find(|i| i.get("name").and_then(Value::as_str) == Some(ifname));
    named
        .into_iter()
        .chain(interfaces.iter())
        .find_map(|i| i.get("sandbox")?.as_str())
        .filter(|s| !s.is_empty())
}

/// Addresses of `ifname` (those whose `interface` index points at it, or
/// that name no interface).
fn addresses(result: &Value, ifname: &str) -> Vec<String> {
    let own = interface_index(result, ifname);
    let Some(ips) = result.get("ips").and_then(Value::as_array) else {
        return Vec::new();
    };
    ips.iter()
        .filter(|ip| match ip.get("interface").and_then(Value::as_u64) {
            Some(i) => own.is_none_or(|own| own == i),
            None => true,
        })
        .filter_map(|ip| ip.get("address")?.as_str())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::testing::{fixture, survives_damage};

    const SANDBOX: &str = "6c1b4a3f2e5d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3";

    #[test]
    fn a_containerd_pod_attachment() {
        let bytes = fixture("cni-cache-v1-containerd.json");
        let r =
            parse_result_cache(&format!("k8s-pod-network-{SANDBOX}-eth0"), &bytes).expect("parses");
        assert_eq!(r.attachment.network, Name::from("k8s-pod-network"));
        assert_eq!(r.attachment.ifname, Name::from("eth0"));
        assert_eq!(r.attachment.container_id, Name::from(SANDBOX));
        assert_eq!(r.attachment.addresses, vec!["10.244.1.17/24".to_string()]);
        assert_eq!(r.attachment.pod, Some(Name::from("web-7d9f8c6b5-x2x4q")));
        assert_eq!(r.attachment.pod_namespace, Some(Name::from("shop")));
        assert_eq!(
            r.netns.as_deref(),
            Some("/var/run/netns/cni-0b0e4f2c-2d7a-5c5e-8c3d-6f0a1b2c3d4e")
        );
    }

    #[test]
    fn the_old_format_is_named_by_its_file() {
        let bytes = fixture("cni-cache-legacy.json");
        let r = parse_result_cache(&format!("my-net-{SANDBOX}-net1"), &bytes).expect("parses");
        assert_eq!(r.attachment.network, Name::from("my-net"));
        assert_eq!(r.attachment.ifname, Name::from("net1"));
        assert_eq!(r.attachment.addresses, vec!["192.168.7.3/24".to_string()]);
        assert_eq!(r.netns.as_deref(), Some("/proc/4242/ns/net"));
        assert_eq!(parse_result_cache("short-eth0", &bytes), None);
        assert_eq!(
            parse_result_cache(&format!("-{SANDBOX}-eth0"), &bytes),
            None
        );
    }

    #[test]
    fn damaged_files_do_not_panic() {
        let name = format!("k8s-pod-network-{SANDBOX}-eth0");
        survives_damage(&fixture("cni-cache-v1-containerd.json"), |b| {
            parse_result_cache(&name, b)
        });
        survives_damage(&fixture("cni-cache-legacy.json"), |b| {
            parse_result_cache(&name, b)
        });
        for n in ["", "-", "a-b-c", "ü-ü-ü", &"x".repeat(70)] {
            let _ = split_file_name(n);
        }
    }
}
