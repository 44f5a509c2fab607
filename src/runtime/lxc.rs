//! LXC and LXD/Incus system containers: the cgroup carries the name,
//! `lxc.payload.NAME` since LXC 4 (`lxc.monitor.NAME` is the monitor
//! process outside the container), `/lxc/NAME` before. LXD/Incus prefix
//! the name with the project (`proj_name`) outside the default project.
//! No state file is needed: the name is the identity.

use super::{CgroupContainer, Runtime};
use crate::name::Name;

/// `lxc.payload.NAME`, or `NAME` right under `lxc`.
pub fn from_cgroup(parts: &[&str], i: usize) -> Option<CgroupContainer> {
    let part = parts.get(i)?;
    let name = match part.strip_prefix("lxc.payload.") {
        Some(name) => name,
        // Old layout: only the component directly below `/lxc`.
        None if i == 1 && parts[0] == "lxc" => part,
        None => return None,
    };
    (!name.is_empty()).then(|| CgroupContainer {
        runtime: Runtime::Lxc,
        id: name.to_string(),
        name: Some(Name::from(name)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_and_old_layouts() {
        let name = |p: &str| {
            let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
            (0..parts.len())
                .rev()
                .find_map(|i| from_cgroup(&parts, i))
                .map(|c| c.id)
        };
        assert_eq!(name("/lxc.payload.default_web"), Some("default_web".into()));
        assert_eq!(name("/lxc/web"), Some("web".into()));
        assert_eq!(name("/lxc/web/init.scope"), Some("web".into()));
        assert_eq!(name("/lxc.payload."), None);
        assert_eq!(name("/lxc.monitor.web"), None);
        assert_eq!(name("/system.slice/lxc"), None);
    }
}
