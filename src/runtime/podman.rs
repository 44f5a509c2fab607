//! Podman (libpod): containers in cgroups `libpod-ID.scope` (systemd) or
//! `/libpod_parent/libpod-ID` (cgroupfs); `libpod-conmon-ID` is the
//! monitor outside the container.
//!
//! Names come from two places, either enough:
//! - containers/storage's container list, `<root>/<driver>-containers/
//!   containers.json` (`[{"id", "names": [...]}]`), which podman keeps even
//!   for `--rootfs` containers. Rootful: `/var/lib/containers/storage`.
//!   Libpod's own database (pods, networks) is BoltDB or SQLite: not read.
//! - conmon's command line (`-c ID -n NAME`): conmon is the container's
//!   parent process, so this also works for rootless podman and any storage
//!   root. CRI-O uses conmon too, with `-n k8s_…`.

use serde_json::Value;

use super::{CgroupContainer, Runtime, is_hex_id};
use crate::name::Name;

/// Where rootful podman's containers/storage keeps its state.
pub const STORAGE_ROOT: &str = "/var/lib/containers/storage";

/// `libpod-ID` or `libpod-ID.scope`, but not `libpod-conmon-ID…`.
pub fn from_cgroup(parts: &[&str], i: usize) -> Option<CgroupContainer> {
    let part = parts.get(i)?;
    let rest = part.strip_prefix("libpod-")?;
    let id = rest.strip_suffix(".scope").unwrap_or(rest);
    is_hex_id(id).then(|| CgroupContainer {
        runtime: Runtime::Podman,
        id: id.to_string(),
        name: None,
    })
}

/// `(id, first name)` of each container in a `containers.json`.
pub fn parse_containers_json(bytes: &[u8]) -> Vec<(String, Name)> {
    let Ok(Value::Array(entries)) = serde_json::from_slice::<Value>(bytes) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let id = e.get("id")?.as_str()?;
            let name = e.get("names")?.as_array()?.first()?.as_str()?;
            (!name.is_empty()).then(|| (id.to_string(), Name::from(name)))
        })
        .collect()
}

/// What a conmon command line says about the container it watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conmon {
    /// `-c`/`--cid`.
    pub id: String,
    /// `-n`/`--name` (podman: the container's name; CRI-O: `k8s_…`).
    pub name: Option<String>,
}

/// Parses `/proc/PID/cmdline` of a conmon process (NUL-separated argv).
/// None when the program is not conmon or carries no container id.
pub fn parse_conmon_cmdline(cmdline: &[u8]) -> Option<Conmon> {
    let args: Vec<&str> = cmdline
        .split(|&b| b == 0)
        .map(|a| std::str::from_utf8(a).unwrap_or(""))
        .collect();
    let program = args.first()?;
    if program.rsplit('/').next() != Some("conmon") {
        return None;
    }
    let mut id = None;
    let mut name = None;
    let mut i = 1;
    while i < args.len() {
        let arg = args[i];
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (arg, None),
        };
        let slot = match flag {
            "-c" | "--cid" => &mut id,
            "-n" | "--name" => &mut name,
            _ => {
                i += 1;
                continue;
            }
        };
        let value = match inline {
            Some(v) => Some(v),
            None => {
                i += 1;
                args.get(i).copied()
            }
        };
        *slot = value.filter(|v| !v.is_empty()).map(str::to_string);
        i += 1;
    }
    Some(Conmon { id: id?, name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::testing::{fixture, survives_damage};

    const ID: &str = "70e440986cf91adfccfc06e79a9f368b5bc6bc50aa6d8e4e4df700d31a812358";

    #[test]
    fn the_storage_container_list() {
        let list = parse_containers_json(&fixture("podman-containers.json"));
        assert_eq!(
            list,
            vec![
                (ID.to_string(), Name::from("nsmap-web")),
                (
                    "88764627e71a4e4ef938037398a6f99011c89f89acb229f292fbf2729a49ab64".to_string(),
                    Name::from("nsmap-db")
                ),
            ]
        );
        assert!(parse_containers_json(b"{}").is_empty());
        assert!(parse_containers_json(b"[{\"id\":\"x\",\"names\":[]}]").is_empty());
    }

    #[test]
    fn conmon_command_lines() {
        let recorded = fixture("podman-conmon.cmdline");
        let c = parse_conmon_cmdline(&recorded).expect("conmon");
        assert_eq!(c.id, ID);
        assert_eq!(c.name.as_deref(), Some("nsmap-web"));
        let long = b"/usr/libexec/crio/conmon\0--cid=abc\0--name=k8s_app_web_shop_u_0\0";
        let c = parse_conmon_cmdline(long).expect("long options");
        assert_eq!(
            (c.id.as_str(), c.name.as_deref()),
            ("abc", Some("k8s_app_web_shop_u_0"))
        );
        assert_eq!(parse_conmon_cmdline(b"/usr/bin/sleep\0-c\0x\0"), None);
        assert_eq!(parse_conmon_cmdline(b"conmon\0-n\0x\0"), None);
        assert_eq!(parse_conmon_cmdline(b"conmon\0-c"), None);
        assert_eq!(parse_conmon_cmdline(b""), None);
    }

    #[test]
    fn damaged_files_do_not_panic() {
        survives_damage(&fixture("podman-containers.json"), parse_containers_json);
        survives_damage(&fixture("podman-conmon.cmdline"), parse_conmon_cmdline);
    }
}
